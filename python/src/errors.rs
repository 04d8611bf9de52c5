//! spoolscan's errors as Python exceptions: `OSError` subclasses chosen by errno (with the
//! path), `ValueError` for configuration, `SpoolError` for spool faults.

use std::io;
use std::path::Path;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use spoolscan::{SpoolError as RustSpoolError, SpoolFault, Stream};

pyo3::create_exception!(
    spoolscan,
    SpoolError,
    PyOSError,
    "A spool fault: a spool hit its size cap, the spool directory is full or unusable, or the \
     child hit its file size limit. Attributes: `stream` ('stdout', 'stderr' or None), `cap` \
     (bytes or None), `directory` (the spool directory), `result` (the run's result when the \
     child ran, else None)."
);

/// The errno of an I/O error, also for errors made from a kind alone.
fn errno_of(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or(match e.kind() {
        io::ErrorKind::NotFound => Some(2),
        io::ErrorKind::PermissionDenied => Some(13),
        io::ErrorKind::IsADirectory => Some(21),
        io::ErrorKind::NotADirectory => Some(20),
        io::ErrorKind::StorageFull => Some(28),
        io::ErrorKind::InvalidInput => Some(22),
        _ => None,
    })
}

/// `OSError(errno, strerror, filename)`: Python picks the subclass (`FileNotFoundError`,
/// `IsADirectoryError`, ...) from the errno.
pub fn os_error(e: &io::Error, path: Option<&Path>) -> PyErr {
    let msg = match e.raw_os_error() {
        // io::Error's Display adds " (os error N)"; strerror is the plain text.
        Some(_) => e
            .to_string()
            .split(" (os error")
            .next()
            .unwrap_or("")
            .to_owned(),
        None => e.to_string(),
    };
    Python::attach(|py| {
        let os_error = py.get_type::<PyOSError>();
        let made = match (errno_of(e), path) {
            (Some(n), Some(p)) => os_error.call1((n, msg, p.as_os_str())),
            (Some(n), None) => os_error.call1((n, msg)),
            (None, Some(p)) => return PyOSError::new_err(format!("{}: {msg}", p.display())),
            (None, None) => return PyOSError::new_err(msg),
        };
        match made {
            Ok(v) => PyErr::from_value(v),
            Err(e) => e,
        }
    })
}

/// A scan error: `OSError` naming the path, or `ValueError`.
pub fn scan_error(e: spoolscan::Error) -> PyErr {
    match e {
        spoolscan::Error::Io { path, source } => os_error(&source, path.as_deref()),
        spoolscan::Error::Config(c) => PyValueError::new_err(c.to_string()),
        other => PyOSError::new_err(other.to_string()),
    }
}

fn stream_name(s: Stream) -> &'static str {
    match s {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    }
}

/// A `SpoolError` with its attributes set.
pub fn spool_error(
    message: String,
    stream: Option<Stream>,
    cap: Option<u64>,
    directory: Option<&Path>,
) -> PyErr {
    Python::attach(|py| {
        let err = SpoolError::new_err(message);
        let v = err.value(py);
        let set = || -> PyResult<()> {
            v.setattr("stream", stream.map(stream_name))?;
            v.setattr("cap", cap)?;
            v.setattr("directory", directory.map(Path::as_os_str))?;
            v.setattr("result", py.None())?;
            Ok(())
        };
        match set() {
            Ok(()) => err,
            Err(e) => e,
        }
    })
}

/// The fault of a run as a `SpoolError`.
pub fn fault_error(f: &SpoolFault) -> PyErr {
    let cap = match f {
        SpoolFault::CapExceeded { cap, .. } => Some(*cap),
        _ => None,
    };
    spool_error(f.to_string(), f.stream(), cap, Some(f.dir()))
}

/// A run that could not be started or waited for: `FileNotFoundError` / `PermissionError` /
/// `OSError` naming the program, `SpoolError` for the spool directory, `OSError` naming the
/// stdin file.
pub fn run_error(e: RustSpoolError) -> PyErr {
    match e {
        RustSpoolError::NotFound { program, source }
        | RustSpoolError::NotExecutable { program, source }
        | RustSpoolError::Spawn { program, source }
        | RustSpoolError::Wait { program, source } => os_error(&source, Some(Path::new(&program))),
        RustSpoolError::Stdin { path, source } => os_error(&source, Some(&path)),
        RustSpoolError::SpoolDir { ref dir, .. } => {
            let dir = dir.clone();
            spool_error(e.to_string(), None, None, Some(&dir))
        }
        RustSpoolError::Fault(f) => fault_error(&f),
        other => PyOSError::new_err(other.to_string()),
    }
}
