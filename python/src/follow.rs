//! `follow_run`: a command whose stdout is followed on a background thread while it runs,
//! each retained event handed to Python as soon as its line is complete.

use std::cell::RefCell;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use pyo3::prelude::*;
use spoolscan::{Profile, Runner, Scanner, Selector, SpoolError};

use crate::errors::{run_error, scan_error};
use crate::events::{BatchSink, CHANNEL_DEPTH, Event, Inbox, Msg, Next};
use crate::options::{RuleSpec, ScanOptions};
use crate::run::{Outcome, RunSpec, conclude, make_spec};

/// How a followed run ended.
enum Ended {
    Done(Box<Outcome>),
    Start(SpoolError),
    Scan(spoolscan::Error),
}

/// An iterator over the retained events of a command's stdout while the command runs.
/// `result` is the outcome (a dict) once the iterator is exhausted.
#[pyclass(module = "spoolscan")]
pub struct FollowRun {
    inbox: std::sync::Mutex<Inbox<Ended>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    result: Option<Py<PyAny>>,
}

impl FollowRun {
    /// Stops the command and waits for the thread to have killed its group. The channel is
    /// closed first, so a thread blocked sending into a full channel is released.
    fn halt(&mut self, py: Python<'_>) {
        self.stop.store(true, Ordering::SeqCst);
        *self.inbox.get_mut().unwrap_or_else(|p| p.into_inner()) = Inbox::closed();
        if let Some(t) = self.thread.take() {
            // The thread sees the flag within its poll interval, kills the group and ends.
            py.detach(move || {
                let _ = t.join();
            });
        }
    }
}

impl Drop for FollowRun {
    fn drop(&mut self) {
        // Not waiting here: the thread kills the command's group on its own.
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The selector that follows a profile: its own rules, or every profile's for `auto`.
fn profile_selector(p: Profile) -> Selector {
    match p.selector() {
        Some(s) => s,
        None => {
            let mut all = Selector::new();
            for q in Profile::ALL {
                for r in q.selector().map(|s| s.rules().to_vec()).unwrap_or_default() {
                    all = all.rule(r);
                }
            }
            all
        }
    }
}

/// The body of a followed run's thread: returns how it ended, or `None` when the consumer
/// stopped it (the command's group is then killed).
fn follow_thread(
    spec: RunSpec,
    scanner: Scanner,
    mut runner: Runner,
    tx: &SyncSender<Msg<Ended>>,
    stop: &Arc<AtomicBool>,
) -> Option<Ended> {
    let running = match runner.start() {
        Ok(r) => r,
        Err(e) => return Some(Ended::Start(e)),
    };
    let mut follower = match running.stdout_follower(scanner) {
        Ok(f) => f,
        Err(e) => return Some(Ended::Start(e)),
    };
    let cell = RefCell::new(Some(running));
    // The timeout, the size cap and the disk watch are enforced in try_wait, also while a
    // slow consumer keeps the channel full.
    let try_wait = || match cell.borrow_mut().as_mut() {
        Some(r) => r.try_wait().unwrap_or(true),
        None => true,
    };
    let (followed, flushed) = {
        let mut sink = BatchSink::<Ended>::new(tx.clone(), stop.clone());
        sink.eager = true;
        sink.on_block = Some(Box::new(|| {
            let _ = try_wait();
            true
        }));
        let r = follower.follow(&mut sink, || stop.load(Ordering::SeqCst) || try_wait());
        let flushed = r.is_ok() && sink.flush();
        (r, flushed)
    };
    let running = cell.into_inner()?;
    if let Err(e) = followed {
        drop(running); // kills the group
        return Some(Ended::Scan(e));
    }
    if stop.load(Ordering::SeqCst) || !flushed {
        drop(running);
        return None;
    }
    let run = match running.wait() {
        Ok(r) => r,
        Err(e) => return Some(Ended::Start(e)),
    };
    let mut sink = BatchSink::<Ended>::new(tx.clone(), stop.clone());
    let report = match follower.finish(&mut sink) {
        Ok(r) => r,
        Err(e) => return Some(Ended::Scan(e)),
    };
    if !sink.flush() {
        return None;
    }
    match conclude(&spec, None, &run, Some(report)) {
        Ok(o) => Some(Ended::Done(Box::new(o))),
        Err(e) => Some(Ended::Scan(e)),
    }
}

#[pymethods]
impl FollowRun {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Event>> {
        let inbox = self.inbox.get_mut().unwrap_or_else(|p| p.into_inner());
        let next = inbox.next(py);
        match next {
            Ok(Next::Event(o)) => Ok(Some(Event::from_owned(py, o))),
            Ok(Next::Done) => Ok(None),
            Ok(Next::End(ended)) => {
                if let Some(t) = self.thread.take() {
                    py.detach(move || {
                        let _ = t.join();
                    });
                }
                match ended {
                    Ended::Done(o) => {
                        self.result = Some(o.into_dict(py)?.into_any().unbind());
                        Ok(None)
                    }
                    Ended::Start(e) => Err(run_error(e)),
                    Ended::Scan(e) => Err(scan_error(e)),
                }
            }
            Err(e) => {
                // Ctrl-C: stop the command (its group is killed) before passing it on.
                self.halt(py);
                Err(e)
            }
        }
    }

    /// The outcome (a dict) once the iterator is exhausted; `None` before.
    #[getter]
    fn result(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.result.as_ref().map(|r| r.clone_ref(py))
    }

    /// Stops following: the command's process group is killed, and nothing more is yielded.
    fn close(&mut self, py: Python<'_>) {
        self.halt(py);
    }
}

/// `_spoolscan.follow_run(...)`: starts the command and returns the iterator of its events.
#[pyfunction]
#[pyo3(signature = (argv, timeout, grace, max_spool, spool_dir, stdin, cwd, env, profile, rules, case_sensitive, probe, max_line, ceiling, validate_all, threads))]
#[allow(clippy::too_many_arguments)]
pub fn follow_run(
    argv: Vec<OsString>,
    timeout: Option<f64>,
    grace: f64,
    max_spool: Option<u64>,
    spool_dir: Option<PathBuf>,
    stdin: Option<&Bound<'_, PyAny>>,
    cwd: Option<PathBuf>,
    env: Option<Vec<(OsString, OsString)>>,
    profile: Option<&str>,
    rules: Option<Vec<RuleSpec>>,
    case_sensitive: bool,
    probe: Option<usize>,
    max_line: Option<usize>,
    ceiling: Option<usize>,
    validate_all: bool,
    threads: usize,
) -> PyResult<FollowRun> {
    let options = ScanOptions {
        rules: Vec::new(),
        case_sensitive,
        probe,
        max_line,
        ceiling,
        validate_all,
        threads: crate::options::check_threads(threads)?,
    };
    let has_rules = rules.is_some();
    let mut spec = make_spec(
        argv, timeout, grace, max_spool, spool_dir, stdin, cwd, env, profile, rules, options,
    )?;
    let scanner = match (spec.scanner.take(), spec.profile) {
        (Some(s), _) => s,
        (None, Some(p)) => spec
            .options
            .scanner_with(profile_selector(p))
            .map_err(scan_error)?,
        (None, None) => spec
            .options
            .scanner_with(Selector::new())
            .map_err(scan_error)?,
    };
    debug_assert!(has_rules || spec.scanner.is_none());
    let runner = spec.runner()?;
    let (tx, rx) = sync_channel(CHANNEL_DEPTH);
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = stop.clone();
    let thread = std::thread::spawn(move || {
        if let Some(ended) = follow_thread(spec, scanner, runner, &tx, &thread_stop) {
            let _ = tx.send(Msg::End(ended));
        }
    });
    Ok(FollowRun {
        inbox: std::sync::Mutex::new(Inbox::new(rx)),
        stop,
        thread: Some(thread),
        result: None,
    })
}
