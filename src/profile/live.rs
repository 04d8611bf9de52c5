//! Live summaries: a transcript summarized while it is written, in the same pass that follows
//! it ([`LiveSummary`], [`Summarizer::live`], [`Summarizer::run_live`]).

use std::fs::File;
use std::time::Duration;

use super::collect::ProfileSink;
use super::detect::{self, Detector};
use super::run::RunSummary;
use super::{Collector, Profile, RunError, Summarizer, Summary};
use crate::decode::Event;
use crate::error::Error;
use crate::follow::{DEFAULT_MAX_WAIT, Follower};
use crate::readback::Input;
use crate::report::{Dropped, Malformed, Report};
use crate::sink::{Passed, Sink};
use crate::spool::{Runner, Running};

/// Naps between polls start at this and double up to the follower's `max_wait`.
const NAP_MIN: Duration = Duration::from_millis(1);

/// A transcript summarized while it is written: it follows a growing file (a running
/// command's stdout spool, or a file another process appends to) with the profile's
/// selector, and feeds every line to the profile as it is completed, so that the summary
/// comes out of the same pass, with no second scan. With [`Profile::Auto`] the first lines
/// are read once more: the profile is detected from them as they arrive (at most 64 lines),
/// then the file is followed from its start with the profile found.
///
/// An *observer* (any [`Sink`] with the crate's [`Error`]) can see the lines as they are
/// followed, for a live display: it gets the retained events, the passed lines (skipped ones
/// too when it [`wants_skipped`](Sink::wants_skipped)), and can stop the follow.
///
/// The summary equals the one of [`Summarizer::summarize`] over the finished file. Nothing is
/// scanned twice: the lines go to the profile as the follower settles them, and only the
/// Codex last-object fallback reads back, from the end of the file, as it does for a file
/// ([`Sink::read_back`]).
///
/// A `LiveSummary` is `Send`: it can be created on one thread and followed on another (an
/// orchestrator's worker thread, `tokio::task::spawn_blocking`).
///
/// ```
/// use std::io::Write;
/// use spoolscan::{Profile, Status, Summarizer};
///
/// let mut file = tempfile::NamedTempFile::new()?;
/// let summarizer = Summarizer::new(Profile::Auto);
/// let mut live = summarizer.live_file(file.reopen()?);
/// writeln!(file, r#"{{"type":"thread.started","thread_id":"t1"}}"#)?;
/// live.poll()?; // reads what is there, never waits
/// writeln!(file, r#"{{"type":"item.completed","item":{{"id":"i","type":"agent_message","text":"Done."}}}}"#)?;
/// writeln!(file, r#"{{"type":"turn.completed","usage":{{"input_tokens":3}}}}"#)?;
/// // The writer is done: read the rest and summarize.
/// let summary = live.finish()?;
/// assert_eq!((summary.profile, summary.status), (Profile::Codex, Status::Ok));
/// assert_eq!(summary.answer.as_deref(), Some("Done."));
/// assert_eq!(summary, summarizer.summarize(file.path())?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LiveSummary {
    summarizer: Summarizer,
    /// The followed file, kept to follow it again from the start once the profile is known.
    file: File,
    limit: Option<u64>,
    max_wait: Duration,
    state: State,
}

enum State {
    Detecting {
        follower: Follower,
        detector: Box<Detector>,
    },
    Following {
        follower: Follower,
        profile: Profile,
        sink: Box<ProfileSink<Box<dyn Collector>>>,
        notes: Vec<String>,
    },
    /// The follow could not start (the limits are out of order, the file's descriptor could
    /// not be duplicated): the error, returned by the next call.
    Failed(Error),
    /// Between states, and after an error.
    Gone,
}

impl std::fmt::Debug for LiveSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSummary")
            .field("profile", &self.profile())
            .finish_non_exhaustive()
    }
}

impl Summarizer {
    /// A live summary of the file `file` as it grows (see [`LiveSummary`]).
    pub fn live_file(&self, file: File) -> LiveSummary {
        LiveSummary::new(self.clone(), file, None, DEFAULT_MAX_WAIT)
    }

    /// A live summary of a running command's stdout spool, with the run's spool cap and
    /// polling pace (see [`LiveSummary`]); apply the run's outcome to the summary at the end
    /// with [`Summary::apply_run`]. [`Summarizer::run_live`] does all of it.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the spool's descriptor cannot be duplicated.
    pub fn live(&self, running: &Running) -> Result<LiveSummary, Error> {
        let file = running
            .out
            .try_clone()
            .map_err(|e| Error::io(Some(running.dir()), e))?;
        let mut s = self.clone();
        if s.spool_dir.is_none() {
            s.spool_dir(running.dir());
        }
        Ok(LiveSummary::new(
            s,
            file,
            running.max_spool,
            running.poll_max,
        ))
    }

    /// Runs the command of `runner` and summarizes its stdout *while it runs*: the summary
    /// comes out of the pass that follows the spool ([`LiveSummary`]), and `observer` sees
    /// the lines as they are completed (pass `()` for none). Then the run's outcome is
    /// applied as [`Summarizer::run`] does.
    ///
    /// ```
    /// use std::process::Command;
    /// use spoolscan::{Event, Profile, Runner, Sink, Status, Summarizer};
    ///
    /// /// Counts the events as they come.
    /// struct Ticker(u64);
    /// impl Sink for Ticker {
    ///     type Error = spoolscan::Error;
    ///     fn retained(&mut self, _event: &mut Event<'_>) -> Result<bool, Self::Error> {
    ///         self.0 += 1;
    ///         Ok(true)
    ///     }
    /// }
    ///
    /// let mut cmd = Command::new("sh");
    /// cmd.arg("-c").arg(concat!(
    ///     r#"echo '{"type":"system","subtype":"init","session_id":"s1","claude_code_version":"2"}'; "#,
    ///     "sleep 0.1; ",
    ///     r#"echo '{"type":"result","subtype":"success","is_error":false,"result":"ok","total_cost_usd":0.5}'"#,
    /// ));
    /// let mut ticker = Ticker(0);
    /// let done = Summarizer::new(Profile::Auto).run_live(&mut Runner::new(cmd), &mut ticker)?;
    /// assert_eq!((done.summary.profile, done.summary.status), (Profile::Claude, Status::Ok));
    /// assert_eq!(done.summary.answer.as_deref(), Some("ok"));
    /// assert_eq!(ticker.0, 2);
    /// assert_eq!(done.exit_code(), 0);
    /// # Ok::<(), spoolscan::RunError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Summarizer::run`]; an error of the observer is a [`RunError::Summary`].
    pub fn run_live<O: Sink<Error = Error>>(
        &self,
        runner: &mut Runner,
        mut observer: O,
    ) -> Result<RunSummary, RunError> {
        self.builder(crate::select::Selector::new())
            .build()
            .map_err(Error::from)?;
        let mut running = runner.start()?;
        let mut live = self.live(&running)?;
        let followed = {
            let mut done = || running.try_wait().unwrap_or(true);
            live.follow_with(&mut observer, &mut done)
        };
        let run = running.wait()?;
        followed?;
        let mut summary = live.finish_with(&mut observer)?;
        summary.apply_run(&run);
        let _ = run.stdout.drop_cache();
        Ok(RunSummary { run, summary })
    }
}

/// The observer of nothing.
impl Sink for () {
    type Error = Error;

    fn retained(&mut self, _event: &mut Event<'_>) -> Result<bool, Error> {
        Ok(true)
    }
}

impl LiveSummary {
    fn new(summarizer: Summarizer, file: File, limit: Option<u64>, max_wait: Duration) -> Self {
        let mut live = LiveSummary {
            summarizer,
            file,
            limit,
            max_wait,
            state: State::Gone,
        };
        live.state = match live.summarizer.profile {
            Profile::Auto => match live.follower(detect::nothing_selector()) {
                Ok(follower) => State::Detecting {
                    follower,
                    detector: Box::new(Detector::new()),
                },
                Err(e) => State::Failed(e),
            },
            p => live.following(p, Vec::new()).unwrap_or_else(State::Failed),
        };
        live
    }

    /// The profile followed: `None` while [`Profile::Auto`] is still detecting it.
    pub fn profile(&self) -> Option<Profile> {
        match &self.state {
            State::Following { profile, .. } => Some(*profile),
            _ => None,
        }
    }

    /// A follower of the file from its start.
    fn follower(&self, selector: crate::select::Selector) -> Result<Follower, Error> {
        let scanner = self.summarizer.builder(selector).build()?;
        let file = self.file.try_clone().map_err(|e| Error::io(None, e))?;
        let mut f = Follower::new(scanner, file);
        f.max_wait(self.max_wait);
        if let Some(cap) = self.limit {
            f.limit(cap);
        }
        Ok(f)
    }

    fn following(&self, profile: Profile, notes: Vec<String>) -> Result<State, Error> {
        let selector = profile.selector().unwrap_or_else(detect::nothing_selector);
        let follower = self.follower(selector.clone())?;
        let collector = self.summarizer.collector(profile);
        let sink = ProfileSink::new(collector, &selector, self.summarizer.limits);
        Ok(State::Following {
            follower,
            profile,
            sink: Box::new(sink),
            notes,
        })
    }

    /// Reads what the file holds now and feeds it to the profile; never waits. Returns
    /// whether new bytes were read (then call it again soon). See [`Follower::poll`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, or shrank (see [`Follower`]).
    pub fn poll(&mut self) -> Result<bool, Error> {
        self.poll_with(&mut ())
    }

    /// [`LiveSummary::poll`], showing the lines to `observer` too.
    ///
    /// # Errors
    ///
    /// As for [`LiveSummary::poll`], and what the observer returns.
    pub fn poll_with<O: Sink<Error = Error>>(&mut self, observer: &mut O) -> Result<bool, Error> {
        match &mut self.state {
            State::Detecting { follower, detector } => {
                let got = follower.poll(&mut **detector)?;
                if detector.decided() {
                    self.detected()?;
                    return Ok(self.poll_with(observer)? || got);
                }
                Ok(got)
            }
            State::Following { follower, sink, .. } => follower.poll(Tee {
                profile: &mut **sink,
                observer,
            }),
            State::Failed(_) | State::Gone => Err(self.gone()),
        }
    }

    /// The profile is detected (or the input is over): follow it from the start.
    fn detected(&mut self) -> Result<(), Error> {
        let State::Detecting { detector, .. } = std::mem::replace(&mut self.state, State::Gone)
        else {
            return Ok(());
        };
        let (profile, note) = detector.conclude();
        self.state = self.following(profile.unwrap_or(Profile::Auto), vec![note])?;
        Ok(())
    }

    /// Polls until `done()` returns true (asked before each look, so every byte written
    /// before it returned true is read), napping while nothing new arrives; returns early when
    /// the observer or the profile stops the scan (a Codex `result` event). As
    /// [`Follower::follow`].
    ///
    /// # Errors
    ///
    /// As for [`LiveSummary::poll`].
    pub fn follow(&mut self, done: impl FnMut() -> bool) -> Result<(), Error> {
        self.follow_with(&mut (), done)
    }

    /// [`LiveSummary::follow`], showing the lines to `observer` too.
    ///
    /// # Errors
    ///
    /// As for [`LiveSummary::poll_with`].
    pub fn follow_with<O: Sink<Error = Error>>(
        &mut self,
        observer: &mut O,
        mut done: impl FnMut() -> bool,
    ) -> Result<(), Error> {
        let mut nap = NAP_MIN;
        loop {
            let last = done();
            let got = self.poll_with(observer)?;
            let over = match &self.state {
                State::Following { follower, .. } => follower.is_stopped(),
                _ => false,
            };
            if last || over {
                return Ok(());
            }
            if got {
                nap = NAP_MIN;
            } else {
                std::thread::sleep(nap);
                nap = (nap * 2).min(self.max_wait);
            }
        }
    }

    /// The writer is done: reads the rest of the file, finishes the scan and returns the
    /// summary (equal to [`Summarizer::summarize`] of the finished file).
    ///
    /// # Errors
    ///
    /// As for [`LiveSummary::poll`].
    pub fn finish(mut self) -> Result<Summary, Error> {
        self.finish_observed(&mut ())?;
        self.summary()
    }

    /// [`LiveSummary::finish`], showing the last lines to `observer` too (its
    /// [`Sink::finish`] is called with the report).
    ///
    /// # Errors
    ///
    /// As for [`LiveSummary::poll_with`].
    pub fn finish_with<O: Sink<Error = Error>>(
        mut self,
        observer: &mut O,
    ) -> Result<Summary, Error> {
        self.finish_observed(observer)?;
        self.summary()
    }

    fn finish_observed<O: Sink<Error = Error>>(&mut self, observer: &mut O) -> Result<(), Error> {
        if let State::Detecting { follower, detector } = &mut self.state {
            follower.finish(&mut **detector)?;
            self.detected()?;
        }
        match &mut self.state {
            State::Following { follower, sink, .. } => {
                follower.finish(Tee {
                    profile: &mut **sink,
                    observer,
                })?;
                Ok(())
            }
            _ => Err(self.gone()),
        }
    }

    /// The error of a live summary that cannot go on: why it could not start, once.
    fn gone(&mut self) -> Error {
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Failed(e) => e,
            _ => Error::io(
                None,
                std::io::Error::other("the live summary failed earlier and cannot go on"),
            ),
        }
    }

    fn summary(mut self) -> Result<Summary, Error> {
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Following {
                follower,
                profile,
                sink,
                notes,
            } => {
                let report = follower.report().clone();
                self.summarizer.summary_of(profile, *sink, report, notes)
            }
            other => {
                self.state = other;
                Err(self.gone())
            }
        }
    }
}

/// The profile's sink and an observer, fed the same calls.
struct Tee<'a, P, O> {
    profile: &'a mut P,
    observer: &'a mut O,
}

impl<P: Sink<Error = Error>, O: Sink<Error = Error>> Sink for Tee<'_, P, O> {
    type Error = Error;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Error> {
        let seen = self.observer.retained(event)?;
        Ok(self.profile.retained(event)? && seen)
    }
    fn dropped(&mut self, entry: &Dropped) -> Result<bool, Error> {
        let seen = self.observer.dropped(entry)?;
        Ok(self.profile.dropped(entry)? && seen)
    }
    fn malformed(&mut self, entry: &Malformed) -> Result<bool, Error> {
        let seen = self.observer.malformed(entry)?;
        Ok(self.profile.malformed(entry)? && seen)
    }
    fn unclassified(&mut self, line: u64, offset: u64, len: u64) -> Result<bool, Error> {
        let seen = self.observer.unclassified(line, offset, len)?;
        Ok(self.profile.unclassified(line, offset, len)? && seen)
    }
    fn passed(&mut self, line: &Passed<'_>) -> Result<bool, Error> {
        let seen = self.observer.passed(line)?;
        Ok(self.profile.passed(line)? && seen)
    }
    fn wants_skipped(&self) -> bool {
        self.observer.wants_skipped() || self.profile.wants_skipped()
    }
    fn read_back(&mut self, input: &Input<'_>, report: &Report) -> Result<(), Error> {
        self.observer.read_back(input, report)?;
        self.profile.read_back(input, report)
    }
    fn progress(&mut self, scanned: u64, total: u64) {
        self.observer.progress(scanned, total);
    }
    fn finish(&mut self, report: &Report) -> Result<(), Error> {
        self.observer.finish(report)?;
        self.profile.finish(report)
    }
}

#[cfg(test)]
mod send {
    /// A live summary can move to another thread (an orchestrator's worker).
    #[test]
    fn live_summary_is_send() {
        fn send<T: Send>() {}
        send::<super::LiveSummary>();
        send::<crate::Summary>();
    }
}
