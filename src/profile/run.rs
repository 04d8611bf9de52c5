//! Run and summarize: a [`Runner`]'s command spooled, its stdout summarized, and the run's
//! outcome (exit status, spool faults) applied to the summary as `spoolscan run --profile`
//! does.

use super::{Summarizer, Summary};
use crate::error::Error;
use crate::spool::{Run, Runner, SpoolError};

/// A finished run and the summary of its standard output (see [`Summarizer::run`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct RunSummary {
    /// The run: exit status, spools (stderr for its tail), warnings, fault.
    pub run: Run,
    /// The summary of the run's stdout, with the run's outcome applied (see
    /// [`Summarizer::summarize_run`]).
    pub summary: Summary,
}

impl RunSummary {
    /// The exit status `spoolscan run --profile` gives this run: see [`Run::exit_code`].
    pub fn exit_code(&self) -> i32 {
        self.run.exit_code()
    }
}

/// Why [`Summarizer::run`] gave no summary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The command could not be started or waited for (see [`SpoolError::exit_code`]).
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The command ran, but its stdout spool could not be summarized (the limits are out of
    /// order, or the spool could not be mapped or copied).
    #[error("summarizing the command's stdout: {0}")]
    Summary(#[from] Error),
}

impl Summarizer {
    /// Runs the command of `runner` to its end (timeout, spool cap and clean-up as
    /// [`Runner::run`]), then summarizes its stdout with [`Summarizer::summarize_run`]. The
    /// limits are checked before the command starts: [`RunError::Summary`] with
    /// [`Error::Config`] never runs it.
    ///
    /// Call it from a thread that lives as long as the run: the command gets
    /// `PR_SET_PDEATHSIG`, so it is killed when the thread that started it ends.
    ///
    /// # Errors
    ///
    /// [`RunError::Spool`] when the command cannot be started or waited for;
    /// [`RunError::Summary`] when the limits are out of order or the spool cannot be read.
    /// A command that fails, times out or overflows its spool is not an error: that is in
    /// the summary's status and warnings, and in [`RunSummary::exit_code`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::process::Command;
    /// use spoolscan::{Profile, Runner, Status, Summarizer};
    ///
    /// let mut cmd = Command::new("sh");
    /// cmd.arg("-c").arg(concat!(
    ///     r#"echo '{"type":"thread.started","thread_id":"t1"}'; "#,
    ///     r#"echo '{"type":"item.completed","item":{"id":"i1","type":"agent_message","text":"Done."}}'; "#,
    ///     "exit 3",
    /// ));
    /// let mut runner = Runner::new(cmd);
    /// let done = Summarizer::new(Profile::Codex).run(&mut runner)?;
    /// assert_eq!(done.summary.answer.as_deref(), Some("Done."));
    /// // The command exited with status 3: the run failed, whatever the transcript says.
    /// assert_eq!(done.summary.status, Status::Failed);
    /// assert!(done.summary.warnings[0].contains("exited with status 3"));
    /// assert_eq!(done.exit_code(), 3);
    /// # Ok::<(), spoolscan::RunError>(())
    /// ```
    pub fn run(&self, runner: &mut Runner) -> Result<RunSummary, RunError> {
        self.builder(crate::select::Selector::new())
            .build()
            .map_err(Error::from)?;
        let run = runner.run()?;
        let summary = self.summarize_run(&run)?;
        let _ = run.stdout.drop_cache();
        Ok(RunSummary { run, summary })
    }

    /// Summarizes the stdout spool of a finished run, and applies the run's outcome as
    /// `spoolscan run --profile` does:
    ///
    /// * a spool that hit its cap, a full disk or a write error ([`Run::fault`]) marks the
    ///   summary `truncated` ([`Summary::mark_truncated`], with the fault as the reason);
    /// * a command that timed out, was killed by a signal or exited with a non-zero status
    ///   marks it `failed` ([`Summary::mark_failed`], saying which). A command that exited 0
    ///   is not failed, even when its spool is incomplete (it is `truncated`).
    ///
    /// With no [`Summarizer::spool_dir`] of its own, copies (`mmap(false)`) go to the run's
    /// spool directory. The spool can also be followed while the command runs
    /// ([`Running::stdout_follower`](crate::Running::stdout_follower)) and summarized here
    /// after [`Running::wait`](crate::Running::wait).
    ///
    /// # Errors
    ///
    /// As [`Summarizer::summarize`]: the limits are out of order, or the spool cannot be
    /// mapped or copied.
    pub fn summarize_run(&self, run: &Run) -> Result<Summary, Error> {
        let mut s = self.clone();
        if s.spool_dir.is_none() {
            s.spool_dir(&run.dir);
        }
        let mut summary = s.summarize(run.stdout.file())?;
        apply(&mut summary, run);
        Ok(summary)
    }
}

/// Applies the outcome of `run` to the summary of its stdout (see
/// [`Summarizer::summarize_run`]).
pub(crate) fn apply(summary: &mut Summary, run: &Run) {
    if let Some(fault) = &run.fault {
        summary.mark_truncated(fault);
    }
    if let Some(why) = failure(run) {
        summary.mark_failed(why);
    }
}

/// Why the command failed, if it did: a timeout, a signal, or a non-zero exit status.
pub(crate) fn failure(run: &Run) -> Option<String> {
    if run.timed_out {
        Some(format!("the command timed out after {:.1?}", run.elapsed))
    } else if let Some(sig) = run.signal() {
        Some(format!("the command was killed by signal {sig}"))
    } else {
        match run.status.code() {
            Some(0) => None,
            Some(code) => Some(format!("the command exited with status {code}")),
            None => Some(format!("the command ended abnormally ({})", run.status)),
        }
    }
}
