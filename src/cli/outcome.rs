//! The end of `spoolscan run`: the report or the summary of the finished run, its exit
//! status, and, when it failed, why and the tail of the command's stderr (made safe to print).

use std::io::{self, Write};
use std::path::Path;

use spoolscan::{Report, Run, Summarizer, Summary};

use super::{Exit, write_stats};

/// At most this much of the child's stderr is passed on when it fails.
pub const STDERR_TAIL: usize = 64 << 10;

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
        eprintln!(
            "spoolscan: the command exited with status {}",
            run.exit_code()
        );
    }
    if let Some(msg) = extracted {
        eprintln!("spoolscan: error: {}", escape_text(msg.as_bytes(), false));
        return;
    }
    if let Ok(tail) = run.stderr.tail(STDERR_TAIL)
        && !tail.is_empty()
    {
        let mut err = io::stderr().lock();
        let _ = writeln!(
            err,
            "---- stderr of the command (last {} bytes) ----",
            tail.len()
        );
        let _ = err.write_all(escape_text(&tail, true).as_bytes());
        if !tail.ends_with(b"\n") {
            let _ = writeln!(err);
        }
        let _ = writeln!(err, "----");
    }
}

/// Prints the summary of the finished run's stdout spool (DESIGN §9), with the run's outcome
/// applied by the library ([`Summarizer::summarize_run`]: truncated when the spool is
/// incomplete, failed when the command failed); writes its report to `stats`; returns the
/// command's exit status.
pub fn summary(summarizer: &Summarizer, stats: Option<&Path>, run: &Run) -> Result<(), Exit> {
    print_summary(summarizer.summarize_run(run), stats, run)
}

/// Prints a summary of the run's stdout (made by [`summary`], or by a live follow), writes
/// its report to `stats`, and returns the command's exit status.
pub fn print_summary(
    summary: Result<Summary, spoolscan::Error>,
    stats: Option<&Path>,
    run: &Run,
) -> Result<(), Exit> {
    let summary = match summary {
        Ok(summary) => summary,
        Err(spoolscan::Error::Config(e)) => return Err(Exit::Usage(e.to_string())),
        Err(e) => return Err(Exit::Io(e.to_string())),
    };
    write_stats(stats, &summary.report)?;
    let mut json = summary.to_json();
    json.push('\n');
    let mut out = io::stdout().lock();
    match out.write_all(json.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(Exit::Io(format!("writing the summary: {e}"))),
    }
    let code = run.exit_code();
    if code != 0 {
        report_failure(run, summary.error.as_deref());
        return Err(Exit::Code(code));
    }
    Ok(())
}

/// After the scan: the report (marked truncated when the spool is incomplete), the child's
/// exit status, and the reason and stderr tail when it failed.
pub fn conclude(stats: Option<&Path>, run: &Run, mut report: Report) -> Result<(), Exit> {
    report.truncated |= run.is_truncated();
    write_stats(stats, &report)?;
    let code = run.exit_code();
    if code != 0 {
        report_failure(run, None);
        return Err(Exit::Code(code));
    }
    Ok(())
}

/// The child's text made safe to pass on to a terminal or a log: control characters are
/// escaped (`\u{1b}`), so the text can neither move the cursor, recolour the terminal, nor
/// start a line that looks like spoolscan's own. With `keep_lines`, LF and tab stay as they
/// are (a block of stderr between dividers); otherwise they are escaped too (one line).
/// Invalid UTF-8 is replaced (U+FFFD).
pub fn escape_text(bytes: &[u8], keep_lines: bool) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let keep = keep_lines && (c == '\n' || c == '\t');
        if c.is_control() && !keep {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
