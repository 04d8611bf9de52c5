//! `spoolscan run`: spool a command's output to disk, then scan its stdout like `scan`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use spoolscan::{Run, RunStdin, Runner};

use super::args::{ScanOptions, parse_duration, parse_size};
use super::scan::LineWriter;
use super::{Exit, Output, write_stats};

/// At most this much of the child's stderr is passed on when it fails.
pub const STDERR_TAIL: usize = 64 << 10;

/// Arguments of `spoolscan run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Stop the command (its whole process group: TERM, grace period, KILL) after DUR
    /// (`500ms`, `30s`, `5m`, `1h`, or seconds). Exit status 124. Default: no timeout.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Time between TERM and KILL on timeout.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "5s")]
    pub grace: Duration,
    /// Cap each of the command's stdout and stderr spools at SIZE; a command that exceeds it
    /// is stopped (exit status 125).
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
    /// codex, claude, gemini or auto.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
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
        runner
    }
}

/// Spools the command, printing warnings; maps start failures to 126/127/125.
pub fn spool(args: &RunArgs) -> Result<Run, Exit> {
    let run = args.runner().run().map_err(|e| {
        eprintln!("spoolscan: {e}");
        Exit::Code(e.exit_code())
    })?;
    for w in &run.warnings {
        eprintln!("spoolscan: warning: {w}");
    }
    Ok(run)
}

/// When the run failed: says why, and passes on the tail of the child's stderr.
pub fn report_failure(run: &Run, extracted: Option<&str>) {
    if let Some(fault) = &run.fault {
        eprintln!("spoolscan: {fault}");
    }
    if run.timed_out {
        eprintln!("spoolscan: the command timed out after {:.1?}", run.elapsed);
    } else if let Some(sig) = run.signal() {
        eprintln!("spoolscan: the command was killed by signal {sig}");
    } else if run.exit_code() != 0 && run.fault.is_none() {
        eprintln!("spoolscan: the command exited with status {}", run.exit_code());
    }
    if let Some(msg) = extracted {
        eprintln!("spoolscan: error: {msg}");
        return;
    }
    if let Ok(tail) = run.stderr.tail(STDERR_TAIL)
        && !tail.is_empty()
    {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "---- stderr of the command (last {} bytes) ----", tail.len());
        let _ = err.write_all(&tail);
        if !tail.ends_with(b"\n") {
            let _ = writeln!(err);
        }
        let _ = writeln!(err, "----");
    }
}

pub fn run(args: &RunArgs) -> Result<(), Exit> {
    if let Some(p) = &args.profile {
        return Err(Exit::Usage(format!("--profile {p}: summaries are not wired yet")));
    }
    let mut scanner = args
        .options
        .builder()
        .map_err(Exit::Usage)?
        .build()
        .map_err(|e| Exit::Usage(e.to_string()))?;
    let run = spool(args)?;
    let stdout = io::stdout();
    let mut sink = LineWriter::new(io::BufWriter::with_capacity(256 << 10, stdout.lock()), args.quiet);
    let mut report = scanner.scan_file(run.stdout.file(), &mut sink)?;
    let _ = run.stdout.drop_cache();
    sink.flush().map_err(Output::Write)?;
    report.truncated |= run.is_truncated();
    write_stats(args.stats.as_deref(), &report)?;
    let code = run.exit_code();
    if code != 0 {
        report_failure(&run, None);
        return Err(Exit::Code(code));
    }
    Ok(())
}
