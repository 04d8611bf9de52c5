//! `spoolscan scan`: print the retained lines of a file or stdin.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;

use spoolscan::{Event, Report, Scanner, Sink};

use super::args::ScanOptions;
use super::{Exit, Output, write_stats};

/// Arguments of `spoolscan scan`.
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// The NDJSON file to scan; `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub options: ScanOptions,
    /// Write the report as one JSON object to FILE (`-` for stderr).
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Writes each retained line, LF-terminated, byte-identical to the input (CR excluded).
pub struct LineWriter<W: Write> {
    out: W,
    progress: Progress,
    /// Set when stdout was closed by the reader (`| head`): the scan stops quietly.
    pub closed: bool,
}

impl<W: Write> LineWriter<W> {
    pub fn new(out: W, quiet: bool) -> LineWriter<W> {
        LineWriter {
            out,
            progress: Progress::new(quiet),
            closed: false,
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.out.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            r => r,
        }
    }
}

impl<W: Write> Sink for LineWriter<W> {
    type Error = Output;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Output> {
        let r = self
            .out
            .write_all(event.bytes())
            .and_then(|()| self.out.write_all(b"\n"));
        match r {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(false)
            }
            Err(e) => Err(Output::Write(e)),
        }
    }

    fn progress(&mut self, scanned: u64, total: u64) {
        self.progress.update(scanned, total);
    }

    fn finish(&mut self, _report: &Report) -> Result<(), Output> {
        self.progress.clear();
        Ok(())
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

/// Runs a scanner over FILE, `-` or stdin (mapping stdin directly when it is a regular file).
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
                let f = File::from(fd);
                if f.metadata().map(|m| m.is_file()).unwrap_or(false) {
                    return scanner.scan_file(&f, sink);
                }
            }
            scanner.scan_reader(stdin.lock(), sink)
        }
    }
}

pub fn run(args: &ScanArgs) -> Result<(), Exit> {
    let mut scanner = args
        .options
        .builder()
        .map_err(Exit::Usage)?
        .build()
        .map_err(|e| Exit::Usage(e.to_string()))?;
    let stdout = io::stdout();
    let mut sink = LineWriter::new(
        io::BufWriter::with_capacity(256 << 10, stdout.lock()),
        args.quiet,
    );
    let report = scan_input(&mut scanner, args.file.as_ref(), &mut sink)?;
    sink.flush().map_err(Output::Write)?;
    write_stats(args.stats.as_deref(), &report)?;
    Ok(())
}
