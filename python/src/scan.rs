//! `scan`: a scan on a background thread, handed to Python as an iterator of events.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use spoolscan::{Report, Scanner};

use crate::errors::{os_error, scan_error};
use crate::events::{BatchSink, CHANNEL_DEPTH, Event, Inbox, Next};
use crate::options::{RuleSpec, ScanOptions, check_threads};
use crate::reader::PyReader;
use crate::report_dict;

/// What a scan reads.
pub enum Input {
    /// A file opened by the caller's thread (so a file object closed right after `scan()`
    /// returns cannot be swapped under it), and its path for messages.
    File(File, PathBuf),
    Bytes(PyBackedBytes),
    Reader(PyReader),
}

/// How a scan ended: the report, or the error with the Python exception of a reader.
type Outcome = Result<Report, (spoolscan::Error, Option<PyErr>)>;

/// An iterator over the retained events of a scan running on a background thread. `report`
/// is the scan's report (a dict, DESIGN §5) once the iterator is exhausted, `None` before.
#[pyclass(module = "spoolscan")]
pub struct Scan {
    inbox: std::sync::Mutex<Inbox<Outcome>>,
    stop: Arc<AtomicBool>,
    report: Option<Py<PyAny>>,
}

impl Drop for Scan {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn run_scan(mut scanner: Scanner, input: Input, sink: &mut BatchSink<'_, Outcome>) -> Outcome {
    match input {
        Input::File(f, path) => scanner.scan_file(&f, &mut *sink).map_err(|e| match e {
            spoolscan::Error::Io { path: None, source } => (
                spoolscan::Error::Io {
                    path: Some(path),
                    source,
                },
                None,
            ),
            e => (e, None),
        }),
        Input::Bytes(b) => scanner.scan_slice(&b, &mut *sink).map_err(|e| (e, None)),
        Input::Reader(r) => {
            let error = r.error.clone();
            scanner.scan_reader(r, &mut *sink).map_err(|e| {
                let py = error.lock().unwrap_or_else(|p| p.into_inner()).take();
                (e, py)
            })
        }
    }
}

impl Scan {
    /// Starts the scan of `input` on a thread of its own.
    pub fn start(scanner: Scanner, input: Input) -> Scan {
        let (tx, rx) = sync_channel(CHANNEL_DEPTH);
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        std::thread::spawn(move || {
            let mut sink = BatchSink::new(tx, thread_stop);
            let outcome = run_scan(scanner, input, &mut sink);
            if sink.flush() {
                sink.send(crate::events::Msg::End(outcome));
            }
        });
        Scan {
            inbox: std::sync::Mutex::new(Inbox::new(rx)),
            stop,
            report: None,
        }
    }
}

#[pymethods]
impl Scan {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Event>> {
        let inbox = self.inbox.get_mut().unwrap_or_else(|p| p.into_inner());
        match inbox.next(py) {
            Ok(Next::Event(o)) => Ok(Some(Event::from_owned(py, o))),
            Ok(Next::Done) => Ok(None),
            Ok(Next::End(Ok(report))) => {
                self.report = Some(report_dict(py, &report)?.unbind());
                Ok(None)
            }
            Ok(Next::End(Err((e, py_err)))) => Err(py_err.unwrap_or_else(|| scan_error(e))),
            Err(e) => {
                // Ctrl-C (or another signal's exception): stop the scan, pass it on.
                self.stop.store(true, Ordering::SeqCst);
                Err(e)
            }
        }
    }

    /// The report (a dict with the fields of DESIGN §5) once the iterator is exhausted;
    /// `None` before.
    #[getter]
    fn report(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.report.as_ref().map(|r| r.clone_ref(py))
    }

    /// Stops the scan; the iterator yields nothing more and `report` stays `None`.
    fn close(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let inbox = self.inbox.get_mut().unwrap_or_else(|p| p.into_inner());
        *inbox = Inbox::closed();
    }
}

/// `_spoolscan.scan(kind, source, rules, ...)`: `kind` is `path` (a str or PathLike),
/// `bytes` (a bytes object) or `reader` (a binary file object read with `read(n)`).
#[pyfunction]
#[pyo3(signature = (kind, source, rules, case_sensitive, probe, max_line, ceiling, validate_all, threads))]
#[allow(clippy::too_many_arguments)]
pub fn scan(
    kind: &str,
    source: &Bound<'_, PyAny>,
    rules: Vec<RuleSpec>,
    case_sensitive: bool,
    probe: Option<usize>,
    max_line: Option<usize>,
    ceiling: Option<usize>,
    validate_all: bool,
    threads: usize,
) -> PyResult<Scan> {
    let opts = ScanOptions {
        rules,
        case_sensitive,
        probe,
        max_line,
        ceiling,
        validate_all,
        threads: check_threads(threads)?,
    };
    let scanner = opts.scanner()?;
    let input = match kind {
        "path" => {
            let path: PathBuf = source.extract()?;
            let opened = File::open(&path).and_then(|f| {
                if f.metadata()?.is_dir() {
                    return Err(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        "is a directory",
                    ));
                }
                Ok(f)
            });
            match opened {
                Ok(f) => Input::File(f, path),
                Err(e) => return Err(os_error(&e, Some(&path))),
            }
        }
        "bytes" => Input::Bytes(source.extract()?),
        "reader" => Input::Reader(PyReader::new(source.clone().unbind())),
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown source kind {other:?}"
            )));
        }
    };
    Ok(Scan::start(scanner, input))
}
