//! A started child: the wait loop (timeout, forwarded signals, spool faults), followers over
//! the spools while the pump writes them, and the end of the run.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::group::Group;
use super::pump::Pump;
use super::{ESCAPE_GRACE, Run, Spool, SpoolError, SpoolFault, Stream};
use crate::follow::Follower;
use crate::scanner::Scanner;

/// First sleep of the wait loop; it doubles up to the maximum below.
pub(super) const POLL_MIN: Duration = Duration::from_millis(1);
/// Longest sleep of the wait loop (and the longest nap of a follower over a spool).
pub(super) const POLL_MAX: Duration = Duration::from_millis(25);
/// How long to wait for killed group members to die before giving up.
const GROUP_DEATH_WAIT: Duration = Duration::from_secs(2);

/// A child started by [`Runner::start`](super::Runner::start) that may still be running.
///
/// Its stdout and stderr spools can be followed while it runs
/// ([`Running::stdout_follower`]); [`Running::try_wait`] enforces the
/// timeout, forwards signals and notices spool faults without blocking, and
/// [`Running::wait`] waits for the end and returns the [`Run`] (exactly what
/// [`Runner::run`](super::Runner::run) returns). Dropping it before `wait` kills the child's
/// process group and reaps the child.
///
/// # Example: live events while the child runs
///
/// ```
/// use std::process::Command;
/// use spoolscan::{Runner, Scanner, Selector, sinks::Raw};
///
/// let mut cmd = Command::new("sh");
/// cmd.args(["-c", r#"echo '{"type":"a"}'; sleep 0.1; echo '{"type":"b"}'; printf '{"type":"a"'"#]);
/// let mut running = Runner::new(cmd).start()?;
/// let scanner = Scanner::builder().select(Selector::new().equals("type", ["a"])?).build()?;
/// let mut follower = running.stdout_follower(scanner)?;
/// let mut seen = vec![];
/// let mut sink = Raw::new(|line| {
///     seen.push(line.number()); // each event as soon as its line is complete
///     Ok(true)
/// });
/// // Follow until the child exits (an error in try_wait shows up again in wait).
/// follower.follow(&mut sink, || running.try_wait().unwrap_or(true))?;
/// let run = running.wait()?;
/// let mut report = follower.finish(&mut sink)?;
/// report.truncated |= run.is_truncated();
/// drop(sink);
/// assert_eq!(seen, [1]);
/// // The last line was cut short: the same report as a full scan of the spool.
/// assert!(report.truncated);
/// assert_eq!((report.lines, report.retained, report.malformed_total), (3, 1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Running {
    // Dropped first: the pump stops (and can no longer signal the group) before the group is
    // killed and its leader reaped.
    pub(super) pump: Pump,
    pub(super) group: Group,
    pub(crate) out: File,
    pub(super) err: File,
    pub(super) dir: PathBuf,
    pub(super) warnings: Vec<String>,
    pub(super) program: String,
    pub(super) start: Instant,
    pub(super) deadline: Option<Instant>,
    pub(super) grace: Duration,
    pub(crate) max_spool: Option<u64>,
    pub(crate) poll_max: Duration,
    pub(super) nap: Duration,
    pub(super) timed_out: bool,
    pub(super) kill_at: Option<Instant>,
    pub(super) killed: bool,
    pub(super) fault: Option<SpoolFault>,
    /// When the leader was first seen to have exited.
    pub(super) exited_at: Option<Instant>,
    /// Signals to forward to the group (see [`Runner::forward_signals`](super::Runner::forward_signals)).
    pub(super) forward: Option<Arc<AtomicUsize>>,
}

impl Running {
    /// The child's process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.group.child.id()
    }

    /// The spool directory used.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Warnings so far (the spool directory's); [`Run::warnings`] has these
    /// and any found while waiting.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Time since the child was started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Whether the timeout expired and the group was sent `SIGTERM`.
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// A [`Follower`] over the child's stdout spool: it yields the retained
    /// events of the scan as the pump writes their lines into the spool. It
    /// polls at most every 25 ms while idle.
    ///
    /// To end the follow with the same report as a full scan of the
    /// finished spool: follow until [`try_wait`](Running::try_wait) returns
    /// true, call [`wait`](Running::wait) (which kills what is left of the
    /// process group and lets the pump write the last bytes), then
    /// [`Follower::finish`], and set `truncated` when [`Run::is_truncated`].
    ///
    /// # Errors
    ///
    /// [`SpoolError::SpoolDir`] when the spool's descriptor cannot be
    /// duplicated.
    pub fn stdout_follower(&self, scanner: Scanner) -> Result<Follower, SpoolError> {
        self.follower(Stream::Stdout, scanner)
    }

    /// A [`Follower`] over the spool of `stream` (see
    /// [`stdout_follower`](Running::stdout_follower)).
    ///
    /// # Errors
    ///
    /// [`SpoolError::SpoolDir`] when the spool's descriptor cannot be
    /// duplicated.
    pub fn follower(&self, stream: Stream, scanner: Scanner) -> Result<Follower, SpoolError> {
        let file = match stream {
            Stream::Stdout => &self.out,
            Stream::Stderr => &self.err,
        };
        let file = file.try_clone().map_err(|e| self.spool_err(e))?;
        let mut f = Follower::new(scanner, file);
        f.max_wait(self.poll_max);
        if let Some(cap) = self.max_spool {
            f.limit(cap);
        }
        Ok(f)
    }

    fn spool_err(&self, source: io::Error) -> SpoolError {
        SpoolError::SpoolDir {
            dir: self.dir.clone(),
            source,
        }
    }

    fn wait_err(&self, source: io::Error) -> SpoolError {
        SpoolError::Wait {
            program: self.program.clone(),
            source,
        }
    }

    /// Without blocking: enforces the timeout (sending `SIGTERM`, then
    /// `SIGKILL` after the grace period), forwards a pending signal, takes
    /// note of a spool fault (the pump has then killed the group already), and
    /// says whether the child has exited. Once it has, call
    /// [`wait`](Running::wait), which then returns at once.
    ///
    /// Only the child itself is waited for here; [`wait`](Running::wait)
    /// kills the rest of its process group.
    ///
    /// # Errors
    ///
    /// [`SpoolError::Wait`] when checking on or signalling the child fails.
    pub fn try_wait(&mut self) -> Result<bool, SpoolError> {
        if self.exited_at.is_some() {
            return Ok(true);
        }
        if self.group.leader_exited().map_err(|e| self.wait_err(e))? {
            self.exited_at = Some(Instant::now());
            return Ok(true);
        }
        if self.fault.is_none()
            && let Some(fault) = self.pump.fault()
        {
            // The pump killed the group when it hit the fault.
            self.fault = Some(fault);
            self.killed = true;
        }
        let now = Instant::now();
        self.forward_pending(now)?;
        if !self.killed {
            if let Some(at) = self.kill_at {
                if now >= at {
                    self.group
                        .signal(Signal::KILL)
                        .map_err(|e| self.wait_err(e))?;
                    self.killed = true;
                }
            } else if self.deadline.is_some_and(|d| now >= d) {
                self.timed_out = true;
                self.stop_group(Signal::TERM, now)?;
            }
        }
        Ok(false)
    }

    /// Sends a pending forwarded signal to the group, and starts the grace period.
    fn forward_pending(&mut self, now: Instant) -> Result<(), SpoolError> {
        let Some(pending) = &self.forward else {
            return Ok(());
        };
        let raw = pending.swap(0, Ordering::SeqCst);
        if raw == 0 || self.killed {
            return Ok(());
        }
        let Some(sig) = i32::try_from(raw).ok().and_then(Signal::from_named_raw) else {
            log::debug!("not forwarding unknown signal {raw}");
            return Ok(());
        };
        log::info!(
            "forwarding signal {raw} to the process group of {}",
            self.program
        );
        self.stop_group(sig, now)?;
        // Wake up promptly to see the child go.
        self.nap = POLL_MIN;
        Ok(())
    }

    /// Sends `sig` to the group, then `SIGCONT` (a stopped process acts on a signal only once
    /// continued), and starts the grace period after which the group is killed.
    fn stop_group(&mut self, sig: Signal, now: Instant) -> Result<(), SpoolError> {
        self.group.signal(sig).map_err(|e| self.wait_err(e))?;
        self.group
            .signal(Signal::CONT)
            .map_err(|e| self.wait_err(e))?;
        if self.kill_at.is_none() {
            self.kill_at = Some(later(now, self.grace));
        }
        Ok(())
    }

    /// The next sleep of the wait loop: doubling from 1 ms up to the
    /// maximum, and never past the next deadline.
    fn next_nap(&mut self) -> Duration {
        let next = if self.killed {
            None
        } else {
            self.kill_at.or(self.deadline)
        };
        let mut sleep = self.nap;
        if let Some(next) = next {
            sleep = sleep.min(next.saturating_duration_since(Instant::now()));
        }
        self.nap = (self.nap * 2).min(self.poll_max);
        sleep
    }

    /// Waits for the child to exit (enforcing the timeout and forwarding
    /// signals), kills what is left of its process group, lets the pump write
    /// what the pipes still hold, and returns the run, as [`Runner::run`](super::Runner::run)
    /// does.
    ///
    /// A process outside the group (one that called `setsid`) that still
    /// holds the output pipes gets [`ESCAPE_GRACE`] to close them; then the
    /// pump stops reading, and [`Run::warnings`] names the process.
    ///
    /// # Errors
    ///
    /// As for [`Runner::run`](super::Runner::run), once the child was started.
    pub fn wait(mut self) -> Result<Run, SpoolError> {
        while !self.try_wait()? {
            std::thread::sleep(self.next_nap());
        }
        let exited_at = self.exited_at.unwrap_or_else(Instant::now);
        let elapsed = exited_at.saturating_duration_since(self.start);
        // The leader has exited but is not reaped yet, so its pid (the group
        // id) cannot be reused: kill what is left of the group, then reap.
        self.group
            .signal(Signal::KILL)
            .map_err(|e| self.wait_err(e))?;
        let program = self.program.clone();
        if !self.group.wait_members_dead(GROUP_DEATH_WAIT) {
            self.warn(format!(
                "processes of {program}'s process group were still running after SIGKILL; \
                 their output after that was not read"
            ));
        }
        // One warning per set of holders (usually one process holding both pipes).
        let mut held: Vec<(String, Vec<Stream>)> = Vec::new();
        for (stream, holders) in self.pump.finish(ESCAPE_GRACE) {
            let who = if holders.is_empty() {
                "a process outside its process group".to_string()
            } else {
                holders
                    .iter()
                    .map(|(pid, name)| format!("process {pid} ({name})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            match held.iter_mut().find(|(w, _)| *w == who) {
                Some((_, streams)) => streams.push(stream),
                None => held.push((who, vec![stream])),
            }
        }
        for (who, streams) in held {
            let streams = streams
                .iter()
                .map(Stream::to_string)
                .collect::<Vec<_>>()
                .join(" and ");
            self.warn(format!(
                "{who} escaped {program}'s process group (setsid or setpgid) and still held its \
                 {streams} {:.1?} after it ended; stopped reading: what it writes now is not \
                 spooled",
                ESCAPE_GRACE
            ));
        }
        if self.fault.is_none() {
            self.fault = self.pump.fault();
        }
        let status = self.group.reap().map_err(|e| self.wait_err(e))?;
        let stdout_len = self.pump.len(Stream::Stdout);
        let stderr_len = self.pump.len(Stream::Stderr);
        let Running {
            out,
            err,
            dir,
            warnings,
            timed_out,
            fault,
            ..
        } = self;
        Ok(Run {
            status,
            timed_out,
            elapsed,
            stdout: Spool {
                file: out,
                len: stdout_len,
                dir: dir.clone(),
                stream: Stream::Stdout,
            },
            stderr: Spool {
                file: err,
                len: stderr_len,
                dir: dir.clone(),
                stream: Stream::Stderr,
            },
            dir,
            warnings,
            fault,
        })
    }

    fn warn(&mut self, w: String) {
        log::warn!("{w}");
        self.warnings.push(w);
    }
}

/// `at + d`, saturating: a duration too large to add (`--timeout 9223372036854775807`) means
/// "not in the lifetime of this process" (about 136 years from `at`), never a panic.
pub(super) fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(at)
}
