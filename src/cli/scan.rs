//! `spoolscan scan`: print the retained lines of a file or stdin.

use std::fs::File;
use std::io::{self, IsTerminal, Seek, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use spoolscan::{Event, Follower, Report, Scanner, Sink};

use super::args::ScanOptions;
use super::direct::{Direct, Step};
use super::{Exit, Output, write_stats, write_text};

/// Arguments of `spoolscan scan`.
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// The NDJSON files to scan, in order (the output is that of their concatenation, lines
    /// numbered per file); `-` or nothing reads stdin, as it arrives.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub options: ScanOptions,
    /// Write the report as one JSON object to FILE (`-` for stderr). With several FILEs, one
    /// report per file, as JSON Lines, each with a `path` field.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// Follow FILE as it grows, like `tail -f`: print each retained line as soon as its LF is
    /// written. Ctrl-C (or SIGTERM) ends it: the rest of the file is scanned and the report
    /// written. Needs exactly one FILE (not stdin).
    #[arg(long)]
    pub follow: bool,
    /// Stop after N retained lines (across all FILEs); the report covers the lines read up to
    /// there, and files not reached get no report.
    #[arg(long, short = 'm', value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_count: Option<u64>,
    /// Threads to scan a FILE with (at least 1; default: the available cores). Stdin from a
    /// pipe and --follow are scanned on one thread whatever N.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Writes each retained line, LF-terminated, byte-identical to the input (CR excluded).
pub struct LineWriter<W: Write> {
    out: W,
    progress: Progress,
    /// Retained lines still to write before stopping (`--max-count`).
    remaining: Option<u64>,
    /// Flush after every line (following a file).
    flush_each: bool,
    /// Set when stdout was closed by the reader (`| head`): the scan stops quietly.
    pub closed: bool,
    /// Runs of retained lines written straight from the input file, when `out` is stdout
    /// ([`LineWriter::direct`]); `None`: every line is copied through `out`.
    direct: Option<Direct>,
    /// Nothing is written: stdout is `/dev/null` ([`LineWriter::direct`]).
    null: bool,
}

impl<W: Write> LineWriter<W> {
    pub fn new(out: W, quiet: bool) -> LineWriter<W> {
        LineWriter {
            out,
            progress: Progress::new(quiet),
            remaining: None,
            flush_each: false,
            closed: false,
            direct: None,
            null: false,
        }
    }

    /// The error of a failed write: the input file's, worded as the scan's, when it shrank
    /// under a run written from it (see [`super::direct`]).
    fn write_error(&self, e: io::Error) -> Output {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            return Output::Scan(spoolscan::Error::Io {
                path: self.direct.as_ref().and_then(|d| d.path.clone()),
                source: e,
            });
        }
        Output::Write(e)
    }

    /// Writes long runs of adjacent retained lines straight from the input file to stdout
    /// (see [`super::direct`]), and nothing at all when stdout is `/dev/null`; `out` must be
    /// (a buffer over) stdout.
    pub fn direct(mut self) -> LineWriter<W> {
        self.direct = Some(Direct::default());
        self.null = super::direct::stdout_is_dev_null();
        super::direct::widen_stdout_pipe();
        self
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let pending = match &mut self.direct {
            Some(d) => d.write_pending(&mut self.out),
            None => Ok(()),
        };
        match pending.and_then(|()| self.out.flush()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r,
        }
    }

    /// Whether `--max-count` lines have been written.
    fn done(&self) -> bool {
        self.remaining == Some(0)
    }
}

impl<W: Write> Sink for LineWriter<W> {
    type Error = Output;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Output> {
        if self.null {
            // Counted (`--max-count`), not written.
            if let Some(n) = &mut self.remaining {
                *n -= 1;
            }
            return Ok(!self.done());
        }
        let r = match &mut self.direct {
            Some(d) if d.active() && !self.flush_each => {
                let (offset, len) = (event.offset(), event.bytes().len() as u64);
                let mut step = d.offer(offset, len);
                let mut r = Ok(());
                if step == Step::Flush {
                    r = d.write_pending(&mut self.out);
                    step = d.offer(offset, len);
                }
                if step == Step::Ready {
                    r = r.and_then(|()| d.write_ready(&mut self.out));
                }
                r.map(|()| step == Step::Copy)
            }
            _ => Ok(true),
        };
        let mut r = r.and_then(|copy| {
            if copy {
                self.out.write_all(event.bytes())?;
                self.out.write_all(b"\n")?;
            }
            Ok(())
        });
        if self.flush_each {
            r = r.and_then(|()| self.out.flush());
        }
        match r {
            Ok(()) => {
                if let Some(n) = &mut self.remaining {
                    *n -= 1;
                }
                Ok(!self.done())
            }
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(false)
            }
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::FAULT.raw_os_error()) => {
                // write(2) could not read the line: the mapped file was cut under it (the
                // kernel says EFAULT where a read of ours raises SIGBUS). Reading a byte of each
                // page here lets the SIGBUS guard flag the scan, which then reports the file
                // that shrank instead of this error.
                let touched = event.bytes().iter().step_by(4096).fold(0u8, |a, &b| a ^ b);
                std::hint::black_box(touched);
                Err(Output::Write(e))
            }
            Err(e) => Err(self.write_error(e)),
        }
    }

    fn progress(&mut self, scanned: u64, total: u64) {
        self.progress.update(scanned, total);
    }

    fn waiting(&mut self) -> Result<(), Output> {
        self.flush().map_err(Output::Write)
    }

    fn input_file(&mut self, file: &File, path: Option<&Path>) {
        if let Some(d) = &mut self.direct {
            d.set_source(file, path);
        }
    }

    fn finish(&mut self, _report: &Report) -> Result<(), Output> {
        self.progress.clear();
        // The run still pending is written while its file is at hand.
        let r = match &mut self.direct {
            Some(d) if !self.closed => d.write_pending(&mut self.out),
            _ => Ok(()),
        };
        let r = match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r.map_err(|e| self.write_error(e)),
        };
        if let Some(d) = &mut self.direct {
            d.clear();
        }
        r
    }
}

/// A progress bar on stderr, shown only on a terminal, for inputs of 64 MiB and more.
pub struct Progress {
    enabled: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            enabled: !quiet && io::stderr().is_terminal(),
            bar: None,
        }
    }

    pub fn update(&mut self, scanned: u64, total: u64) {
        if !self.enabled || total < (64 << 20) {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec})",
                )
                .expect("a valid template"),
            );
            bar
        });
        bar.set_position(scanned);
    }

    pub fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Runs a scanner over FILE, `-` or stdin.
///
/// Stdin that is a regular file (`spoolscan scan < FILE`) is read from its current offset,
/// as `cat` would, whether mapped or not: at offset 0 it is scanned like a FILE (mapped, or
/// copied with `--no-mmap`); past it (the shell or an earlier command read part of it:
/// `(head -n 1 >/dev/null; spoolscan scan) < FILE`) the rest is streamed like a pipe, and
/// line numbers, offsets and `bytes` count from there (line 1 is the line at that offset).
pub fn scan_input<S: Sink>(
    scanner: &mut Scanner,
    file: Option<&PathBuf>,
    sink: S,
) -> Result<Report, S::Error> {
    match file {
        Some(p) if p.as_os_str() != "-" => scanner.scan_path(p, sink),
        _ => {
            let stdin = io::stdin();
            if let Ok(fd) = stdin.as_fd().try_clone_to_owned() {
                // The duplicate shares stdin's file offset.
                let mut f = File::from(fd);
                if f.metadata().map(|m| m.is_file()).unwrap_or(false) {
                    return match f.stream_position() {
                        Ok(0) => scanner.scan_file(&f, sink),
                        // A mapping (and `scan_file`) starts at offset 0; the stream reads on
                        // from where stdin is. An unknown position streams too.
                        _ => scanner.scan_reader(&f, sink),
                    };
                }
            }
            scanner.scan_reader(stdin.lock(), sink)
        }
    }
}

pub fn run(args: &ScanArgs) -> Result<(), Exit> {
    let threads = match args.threads {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => super::args::cores(),
    };
    let mut scanner = args
        .options
        .builder()
        .map_err(Exit::Usage)?
        .threads(threads)
        .build()
        .map_err(|e| Exit::Usage(e.to_string()))?;
    let stdout = io::stdout();
    let mut sink = LineWriter::new(
        io::BufWriter::with_capacity(256 << 10, stdout.lock()),
        args.quiet,
    )
    .direct();
    sink.remaining = args.max_count;
    if args.follow {
        let [file] = &args.files[..] else {
            return Err(Exit::Usage(
                "--follow needs exactly one FILE (not stdin)".into(),
            ));
        };
        if file.as_os_str() == "-" {
            return Err(Exit::Usage("--follow needs a FILE, not stdin".into()));
        }
        sink.flush_each = true;
        let report = follow(scanner, file, &mut sink)?;
        sink.flush().map_err(Output::Write)?;
        return write_stats(args.stats.as_deref(), &report);
    }
    if args.files.len() <= 1 {
        let report = scan_input(&mut scanner, args.files.first(), &mut sink)?;
        sink.flush().map_err(Output::Write)?;
        return write_stats(args.stats.as_deref(), &report);
    }
    // Several files: scanned in order into one output, one report each.
    let mut reports = Vec::new();
    for file in &args.files {
        if sink.done() || sink.closed {
            break;
        }
        let report = scan_input(&mut scanner, Some(file), &mut sink)?;
        reports.push(PathReport {
            path: file.to_string_lossy().into_owned(),
            report,
        });
    }
    sink.flush().map_err(Output::Write)?;
    write_stats_lines(args.stats.as_deref(), &reports)
}

/// A report with the path of the file it is about (`--stats` with several FILEs).
#[derive(serde::Serialize)]
struct PathReport {
    path: String,
    #[serde(flatten)]
    report: Report,
}

/// Writes one report per line to `--stats FILE` (or stderr for `-`).
fn write_stats_lines(dest: Option<&Path>, reports: &[PathReport]) -> Result<(), Exit> {
    let Some(dest) = dest else { return Ok(()) };
    let mut out = String::new();
    for r in reports {
        out.push_str(&serde_json::to_string(r).expect("a report always serializes"));
        out.push('\n');
    }
    write_text(dest, &out)
}

/// `scan --follow FILE`: follows the file until Ctrl-C or SIGTERM (a second one acts as
/// usual), then scans the rest and returns the report.
fn follow<S: Sink<Error = Output>>(
    scanner: Scanner,
    path: &Path,
    mut sink: S,
) -> Result<Report, Exit> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut follower = Follower::open(scanner, path).map_err(|e| Exit::Io(e.to_string()))?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        // The first signal sets `stop`; a second one, with `stop` set, ends the process.
        signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone())
            .and_then(|_| signal_hook::flag::register(sig, stop.clone()))
            .map_err(|e| Exit::Io(format!("installing the signal handler: {e}")))?;
    }
    follower.follow(&mut sink, || stop.load(Ordering::Relaxed))?;
    Ok(follower.finish(&mut sink)?)
}
