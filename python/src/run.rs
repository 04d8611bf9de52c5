//! `run`: a command spooled by spoolscan's `Runner`, waited for with the
//! interpreter released, its stdout scanned and/or summarized.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use spoolscan::{
    Event as RustEvent, Profile, Report, Run, RunStdin, Runner, Running, Scanner, Selector, Sink,
    SpoolError, Summarizer,
};

use crate::errors::{run_error, scan_error};
use crate::events::{Event, Owned};
use crate::options::{RuleSpec, ScanOptions};
use crate::report_dict;

/// At most this much of the child's stderr is kept (DESIGN §11).
const STDERR_TAIL: usize = 64 << 10;
/// The wait loop returns to Python (to look for Ctrl-C) this often.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Everything about the command and how to run it.
pub struct RunSpec {
    pub(crate) argv: Vec<OsString>,
    pub(crate) timeout: Option<f64>,
    pub(crate) grace: f64,
    pub(crate) max_spool: Option<u64>,
    pub(crate) spool_dir: Option<PathBuf>,
    pub(crate) stdin: RunStdin,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) env: Option<Vec<(OsString, OsString)>>,
    pub(crate) profile: Option<Profile>,
    /// The scan of the stdout spool: `None` without `keep`/`contains`.
    pub(crate) scanner: Option<Scanner>,
    pub(crate) options: ScanOptions,
}

fn seconds(name: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        PyValueError::new_err(format!(
            "{name} must be a non-negative number of seconds, got {s}"
        ))
    })
}

impl RunSpec {
    pub(crate) fn runner(&self) -> PyResult<Runner> {
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..]);
        if let Some(d) = &self.cwd {
            cmd.current_dir(d);
        }
        if let Some(env) = &self.env {
            cmd.env_clear();
            cmd.envs(env.iter().map(|(k, v)| (k, v)));
        }
        let mut r = Runner::new(cmd);
        r.grace(seconds("grace", self.grace)?);
        if let Some(t) = self.timeout {
            r.timeout(seconds("timeout", t)?);
        }
        if let Some(cap) = self.max_spool {
            r.max_spool(cap);
        }
        if let Some(d) = &self.spool_dir {
            r.spool_dir(d);
        }
        r.stdin(self.stdin.clone());
        Ok(r)
    }

    /// The longest nap of the wait loop: short with a size cap (a fast writer overshoots
    /// the cap by what it writes in one nap).
    fn nap_max(&self) -> Duration {
        Duration::from_millis(if self.max_spool.is_some() { 5 } else { 20 })
    }
}

/// What a finished run gives Python (converted to a dict by [`Outcome::into_dict`]).
pub struct Outcome {
    returncode: i32,
    exit_status: i32,
    timed_out: bool,
    elapsed: f64,
    stderr_tail: Vec<u8>,
    warnings: Vec<String>,
    fault: Option<spoolscan::SpoolFault>,
    report: Report,
    summary: Option<String>,
    events: Option<Vec<Owned>>,
}

impl Outcome {
    pub(crate) fn into_dict(self, py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("returncode", self.returncode)?;
        d.set_item("exit_status", self.exit_status)?;
        d.set_item("timed_out", self.timed_out)?;
        d.set_item("elapsed", self.elapsed)?;
        d.set_item(
            "stderr_tail",
            pyo3::types::PyBytes::new(py, &self.stderr_tail),
        )?;
        d.set_item("warnings", self.warnings)?;
        d.set_item("report", report_dict(py, &self.report)?)?;
        let summary = match self.summary {
            Some(json) => Some(py.import("json")?.call_method1("loads", (json,))?),
            None => None,
        };
        d.set_item("summary", summary)?;
        let events = match self.events {
            Some(evs) => {
                let list = PyList::empty(py);
                for o in evs {
                    list.append(Event::from_owned(py, o))?;
                }
                Some(list)
            }
            None => None,
        };
        d.set_item("events", events)?;
        let fault = match &self.fault {
            Some(f) => {
                let fd = PyDict::new(py);
                fd.set_item("message", f.to_string())?;
                fd.set_item(
                    "stream",
                    f.stream().map(|s| match s {
                        spoolscan::Stream::Stdout => "stdout",
                        spoolscan::Stream::Stderr => "stderr",
                    }),
                )?;
                let cap = match f {
                    spoolscan::SpoolFault::CapExceeded { cap, .. } => Some(*cap),
                    _ => None,
                };
                fd.set_item("cap", cap)?;
                fd.set_item("directory", f.dir().as_os_str())?;
                Some(fd)
            }
            None => None,
        };
        d.set_item("fault", fault)?;
        Ok(d)
    }
}

/// Keeps owned copies of the retained lines (a run's `events`), or only counts them.
struct Collect(Option<Vec<Owned>>);

impl Sink for Collect {
    type Error = spoolscan::Error;
    fn retained(&mut self, event: &mut RustEvent<'_>) -> Result<bool, spoolscan::Error> {
        if let Some(v) = &mut self.0 {
            v.push(Owned {
                line: event.number(),
                offset: event.offset(),
                raw: event.bytes().to_vec(),
            });
        }
        Ok(true)
    }
}

/// After the command: the scan of its stdout (with a scanner), the summary (with a
/// profile), the stderr tail. `report` is given when the scan was already done by a
/// follower.
pub(crate) fn conclude(
    spec: &RunSpec,
    scanner: Option<Scanner>,
    run: &Run,
    followed: Option<Report>,
) -> Result<Outcome, spoolscan::Error> {
    let mut events = None;
    let mut report = match (followed, scanner) {
        (Some(r), _) => Some(r),
        (None, Some(mut s)) => {
            let mut sink = Collect(Some(Vec::new()));
            let r = s.scan_file(run.stdout.file(), &mut sink)?;
            events = sink.0;
            Some(r)
        }
        (None, None) => None,
    };
    let mut summary = None;
    if let Some(profile) = spec.profile {
        let mut s = Summarizer::new(profile);
        let o = &spec.options;
        if let Some(p) = o.probe {
            s.probe(p);
        }
        if let Some(m) = o.max_line {
            s.max_line(m);
        }
        if let Some(c) = o.ceiling {
            s.ceiling(c);
        }
        s.threads(o.threads);
        if let Some(d) = &spec.spool_dir {
            s.spool_dir(d);
        }
        // The library applies the run's outcome: truncated on a spool fault, failed when the
        // command failed (as `spoolscan run --profile`).
        let sum = s.summarize_run(run)?;
        if report.is_none() {
            report = Some(sum.report.clone());
        }
        summary = Some(sum.to_json());
    }
    let mut report = match report {
        Some(r) => r,
        None => {
            // Neither keep nor profile: the report of a scan with the empty selector.
            let mut s = spec.options.scanner_with(Selector::new())?;
            s.scan_file(run.stdout.file(), Collect(None))?
        }
    };
    report.truncated |= run.is_truncated();
    let _ = run.stdout.drop_cache();
    Ok(Outcome {
        returncode: run
            .status
            .code()
            .or_else(|| run.status.signal().map(|s| -s))
            .unwrap_or(-1),
        exit_status: run.exit_code(),
        timed_out: run.timed_out,
        elapsed: run.elapsed.as_secs_f64(),
        stderr_tail: run.stderr.tail(STDERR_TAIL).unwrap_or_default(),
        warnings: run.warnings.clone(),
        fault: run.fault.clone(),
        report,
        summary,
        events,
    })
}

/// Polls the child for up to [`SIGNAL_CHECK`]: whether it has exited.
fn poll(running: &mut Running, nap_max: Duration) -> Result<bool, SpoolError> {
    let until = Instant::now() + SIGNAL_CHECK;
    let mut nap = Duration::from_millis(1);
    loop {
        if running.try_wait()? {
            return Ok(true);
        }
        let now = Instant::now();
        if now >= until {
            return Ok(false);
        }
        std::thread::sleep(nap.min(until - now));
        nap = (nap * 2).min(nap_max);
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn make_spec(
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
    options: ScanOptions,
) -> PyResult<RunSpec> {
    if argv.is_empty() {
        return Err(PyValueError::new_err("argv must name a program"));
    }
    let profile = profile
        .map(str::parse::<Profile>)
        .transpose()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    // The limits are checked before the command runs: a bad option never starts it.
    options
        .scanner_with(Selector::new())
        .map_err(crate::errors::scan_error)?;
    let scanner = match rules {
        Some(rules) => Some(
            ScanOptions {
                rules,
                ..options.clone()
            }
            .scanner()?,
        ),
        None => None,
    };
    let stdin = match stdin {
        None => RunStdin::Null,
        Some(s) if s.is_none() => RunStdin::Null,
        Some(s) => match s.extract::<pyo3::pybacked::PyBackedBytes>() {
            Ok(b) => RunStdin::Bytes(b.to_vec()),
            Err(_) => RunStdin::File(s.extract()?),
        },
    };
    let spec = RunSpec {
        argv,
        timeout,
        grace,
        max_spool,
        spool_dir,
        stdin,
        cwd,
        env,
        profile,
        scanner,
        options,
    };
    spec.runner()?; // durations
    Ok(spec)
}

/// `_spoolscan.run(...)`: runs the command to the end and returns a dict of its outcome.
#[pyfunction]
#[pyo3(signature = (argv, timeout, grace, max_spool, spool_dir, stdin, cwd, env, profile, rules, case_sensitive, probe, max_line, ceiling, validate_all, threads))]
#[allow(clippy::too_many_arguments)]
pub fn run<'py>(
    py: Python<'py>,
    argv: Vec<OsString>,
    timeout: Option<f64>,
    grace: f64,
    max_spool: Option<u64>,
    spool_dir: Option<PathBuf>,
    stdin: Option<&Bound<'py, PyAny>>,
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
) -> PyResult<Bound<'py, PyDict>> {
    let options = ScanOptions {
        rules: Vec::new(),
        case_sensitive,
        probe,
        max_line,
        ceiling,
        validate_all,
        threads: crate::options::check_threads(threads)?,
    };
    let mut spec = make_spec(
        argv, timeout, grace, max_spool, spool_dir, stdin, cwd, env, profile, rules, options,
    )?;
    let mut runner = spec.runner()?;
    let mut running = py.detach(move || runner.start()).map_err(run_error)?;
    let nap_max = spec.nap_max();
    loop {
        let (r, back) = py.detach(move || {
            let r = poll(&mut running, nap_max);
            (r, running)
        });
        running = back;
        match r {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => return Err(run_error(e)),
        }
        if let Err(e) = py.check_signals() {
            // Ctrl-C: dropping the Running kills the command's process group and reaps it.
            py.detach(move || drop(running));
            return Err(e);
        }
    }
    let run = py.detach(move || running.wait()).map_err(run_error)?;
    let scanner = spec.scanner.take();
    let outcome = py
        .detach(move || conclude(&spec, scanner, &run, None))
        .map_err(scan_error)?;
    outcome.into_dict(py)
}
