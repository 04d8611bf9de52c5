//! `spoolscan run`: spool a command's output to disk (through pipes that spoolscan splices into
//! files only it holds), then scan its stdout like `scan`.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use spoolscan::{Event, Profile, Run, RunStdin, Runner, Scanner, Sink, Summarizer};

use super::args::{ScanOptions, parse_duration, parse_size};
use super::live::{LiveStatus, StatusSink};
use super::outcome::{conclude, print_summary, summary};
use super::scan::LineWriter;
use super::{Exit, Output};

/// Arguments of `spoolscan run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Stop the command (its whole process group: TERM, grace period, KILL) after DUR
    /// (`500ms`, `30s`, `5m`, `1h`, or seconds). Exit status 124. Default: no timeout. A value
    /// too large for the clock saturates (never, in practice).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Time between TERM and KILL on timeout (or after a forwarded signal).
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "5s")]
    pub grace: Duration,
    /// Cap each of the command's stdout and stderr spools at SIZE, exactly: the spool holds the
    /// first SIZE bytes, and a command that writes more is killed with its process group
    /// (exit status 125, report `truncated`).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_spool: Option<usize>,
    /// Directory for the (unnamed) spool files. Default: $SPOOLSCAN_DIR, else the system
    /// temporary directory.
    #[arg(long, value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// Feed FILE to the command's stdin (default: /dev/null).
    #[arg(long, value_name = "FILE")]
    pub stdin: Option<PathBuf>,
    /// Print a summary of an agent CLI's transcript instead of the retained lines:
    /// codex, claude, gemini, opencode, cursor, amp, qwen, copilot or auto. The profile
    /// selects the events: --keep, --keep-contains, --case-sensitive and --validate-all are
    /// usage errors with it.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Follow the command's stdout while it runs: print each retained line as soon as the
    /// command has written it (flushed per line), instead of after it exits. With --profile,
    /// summarize the transcript as it is written (no second scan) and show a one-line live
    /// status on stderr instead (when stderr is a terminal), then print the summary.
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub options: ScanOptions,
    /// Write the scan report as one JSON object to FILE (`-` for stderr).
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

impl RunArgs {
    /// The runner for these arguments.
    pub fn runner(&self) -> Runner {
        let mut cmd = Command::new(&self.command[0]);
        cmd.args(&self.command[1..]);
        let mut runner = Runner::new(cmd);
        runner.grace(self.grace);
        if let Some(t) = self.timeout {
            runner.timeout(t);
        }
        if let Some(cap) = self.max_spool {
            runner.max_spool(cap as u64);
        }
        if let Some(d) = &self.spool_dir {
            runner.spool_dir(d);
        }
        if let Some(f) = &self.stdin {
            runner.stdin(RunStdin::File(f.clone()));
        }
        if let Some(f) = forwarding() {
            runner.forward_signals(f.pending.clone());
        }
        runner
    }
}

impl RunArgs {
    /// The summarizer of `--profile` with these limits (copies, with `--no-mmap`, go to the
    /// run's spool directory: see [`Summarizer::summarize_run`]).
    pub fn summarizer(&self, profile: Profile) -> Summarizer {
        let limits = &self.options.limits;
        let mut s = Summarizer::new(profile);
        s.probe(limits.probe)
            .max_line(limits.max_line)
            .ceiling(limits.ceiling)
            .mmap(!limits.no_mmap)
            .threads(super::args::cores());
        s
    }
}

/// Signal handlers that pass signals on to the command while it runs.
struct Forwarding {
    /// The signal received and not yet forwarded (0: none).
    pending: Arc<AtomicUsize>,
    /// Set once the command has exited: signals then act as if no handler were installed.
    done: Arc<AtomicBool>,
}

/// Installs the handlers for the signals `run` forwards, once. `None` (with a logged reason)
/// when a handler cannot be installed: the command then does not see those signals.
fn forwarding() -> Option<&'static Forwarding> {
    static FORWARDING: OnceLock<Option<Forwarding>> = OnceLock::new();
    FORWARDING
        .get_or_init(|| {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
            let f = Forwarding {
                pending: Arc::new(AtomicUsize::new(0)),
                done: Arc::new(AtomicBool::new(false)),
            };
            for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
                // The default action first: once `done` is set it ends this process as usual.
                let r = signal_hook::flag::register_conditional_default(sig, f.done.clone())
                    .and_then(|_| {
                        signal_hook::flag::register_usize(sig, f.pending.clone(), sig as usize)
                    });
                if let Err(e) = r {
                    log::warn!("cannot install a handler for signal {sig}: {e}");
                    return None;
                }
            }
            Some(f)
        })
        .as_ref()
}

/// The command has exited: from now on the forwarded signals act on spoolscan itself again.
pub fn stop_forwarding() {
    if let Some(f) = forwarding() {
        f.done.store(true, Ordering::SeqCst);
    }
}

/// Spools the command, printing warnings; maps start failures to 126/127/125.
pub fn spool(args: &RunArgs) -> Result<Run, Exit> {
    let run = args.runner().run();
    stop_forwarding();
    let run = run.map_err(|e| {
        eprintln!("spoolscan: {e}");
        Exit::Code(e.exit_code())
    })?;
    for w in &run.warnings {
        eprintln!("spoolscan: warning: {w}");
    }
    Ok(run)
}

pub fn run(args: &RunArgs) -> Result<(), Exit> {
    if args.follow {
        return follow(args);
    }
    if let Some(p) = &args.profile {
        let profile = p
            .parse::<Profile>()
            .map_err(|e| Exit::Usage(e.to_string()))?;
        reject_selection(args)?;
        // Check the limits before the command runs: a usage error never starts it.
        let mut b = spoolscan::ScannerBuilder::new();
        args.options.limits.apply(&mut b);
        b.build().map_err(|e| Exit::Usage(e.to_string()))?;
        let run = spool(args)?;
        let r = summary(&args.summarizer(profile), args.stats.as_deref(), &run);
        let _ = run.stdout.drop_cache();
        return r;
    }
    // Check the options before the command runs; the scanner copies (--no-mmap) into the
    // spool directory the run picked.
    scanner(args, None)?;
    let run = spool(args)?;
    let mut scanner = scanner(args, Some(&run.dir))?;
    let stdout = io::stdout();
    let mut sink = LineWriter::new(
        io::BufWriter::with_capacity(256 << 10, stdout.lock()),
        args.quiet,
    )
    .direct();
    let report = scanner.scan_file(run.stdout.file(), &mut sink)?;
    let _ = run.stdout.drop_cache();
    sink.flush().map_err(Output::Write)?;
    conclude(args.stats.as_deref(), &run, report)
}

/// The scanner of the scan options (a usage error when they do not fit together). With
/// `--no-mmap` the spool is copied into `dir`, the run's spool directory (`--spool-dir`, else
/// `$SPOOLSCAN_DIR`, else the system temporary directory).
fn scanner(args: &RunArgs, dir: Option<&std::path::Path>) -> Result<Scanner, Exit> {
    let mut b = args.options.builder().map_err(Exit::Usage)?;
    // The scan starts once the command has finished: its spool can be scanned on every core.
    b.threads(super::args::cores());
    if let Some(d) = dir {
        b.spool_dir(d);
    }
    b.build().map_err(|e| Exit::Usage(e.to_string()))
}

/// `--profile` selects with the profile's own rules: the selection options of `scan` are a
/// usage error with it (DESIGN §11: `summarize` takes the limits only), never silently ignored.
fn reject_selection(args: &RunArgs) -> Result<(), Exit> {
    let o = &args.options;
    let given = [
        (!o.keep.is_empty(), "--keep"),
        (!o.keep_contains.is_empty(), "--keep-contains"),
        (o.case_sensitive, "--case-sensitive"),
        (o.validate_all, "--validate-all"),
    ];
    match given.iter().find(|(on, _)| *on) {
        Some((_, flag)) => Err(Exit::Usage(format!(
            "{flag} cannot be used with --profile: the profile selects the events"
        ))),
        None => Ok(()),
    }
}

/// `run --follow`: scans the stdout spool while the command runs. The retained lines are
/// printed as they are completed; with `--profile`, the spool is followed by the profile's
/// live summary ([`spoolscan::LiveSummary`]: the summary comes out of this same pass), with a
/// live status line on a terminal. The report, the exit status and the stderr tail are as
/// without `--follow`.
fn follow(args: &RunArgs) -> Result<(), Exit> {
    let profile = args
        .profile
        .as_deref()
        .map(str::parse::<Profile>)
        .transpose()
        .map_err(|e| Exit::Usage(e.to_string()))?;
    let scanner = match profile {
        Some(_) => {
            reject_selection(args)?;
            // Check the limits before the command runs: a usage error never starts it.
            let mut b = spoolscan::ScannerBuilder::new();
            args.options.limits.apply(&mut b);
            b.build().map_err(|e| Exit::Usage(e.to_string()))?;
            None
        }
        None => Some(scanner(args, None)?),
    };
    let mut running = args.runner().start().map_err(|e| {
        stop_forwarding();
        eprintln!("spoolscan: {e}");
        Exit::Code(e.exit_code())
    })?;
    for w in running.warnings() {
        eprintln!("spoolscan: warning: {w}");
    }
    let warned = running.warnings().len();
    match (scanner, profile) {
        (Some(scanner), _) => {
            let mut follower = running.stdout_follower(scanner).map_err(|e| {
                eprintln!("spoolscan: {e}");
                Exit::Code(e.exit_code())
            })?;
            // No progress bar: the spool grows, and the lines are the progress.
            let mut sink = Flushing {
                out: io::BufWriter::with_capacity(64 << 10, io::stdout().lock()),
                closed: false,
            };
            // An error in try_wait shows up again in wait, which reports it.
            follower.follow(&mut sink, || running.try_wait().unwrap_or(true))?;
            let run = wait(running, warned)?;
            let report = follower.finish(&mut sink)?;
            let _ = run.stdout.drop_cache();
            conclude(args.stats.as_deref(), &run, report)
        }
        (None, Some(p)) => {
            // The summarizer's threads do not apply: a follow reads the spool once, in order.
            let summarizer = args.summarizer(p);
            let mut live = summarizer
                .live(&running)
                .map_err(|e| Exit::Io(e.to_string()))?;
            let enabled = !args.quiet && io::stderr().is_terminal();
            let mut status = StatusSink::new(LiveStatus::new(enabled));
            let followed = live.follow_with(&mut status, || running.try_wait().unwrap_or(true));
            let run = wait(running, warned);
            status.clear();
            let run = run?;
            let summary = followed.and_then(|()| live.finish_with(&mut status));
            status.clear();
            let summary = summary.map(|mut s| {
                s.apply_run(&run);
                s
            });
            let _ = run.stdout.drop_cache();
            print_summary(summary, args.stats.as_deref(), &run)
        }
        (None, None) => unreachable!("a scanner without a profile"),
    }
}

/// Waits for the command (after following it), printing the warnings not printed yet.
fn wait(running: spoolscan::Running, warned: usize) -> Result<Run, Exit> {
    let run = running.wait();
    stop_forwarding();
    let run = run.map_err(|e| {
        eprintln!("spoolscan: {e}");
        Exit::Code(e.exit_code())
    })?;
    for w in run.warnings.iter().skip(warned) {
        eprintln!("spoolscan: warning: {w}");
    }
    Ok(run)
}

/// Writes each retained line like `scan` (byte-identical, LF-terminated) and flushes it at
/// once, so a reader sees it as soon as the command has completed it.
struct Flushing<W: Write> {
    out: W,
    /// stdout was closed by the reader (`| head`): the follow stops quietly.
    closed: bool,
}

impl<W: Write> Sink for Flushing<W> {
    type Error = Output;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Output> {
        let r = self
            .out
            .write_all(event.bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        match r {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(false)
            }
            Err(e) => Err(Output::Write(e)),
        }
    }
}
