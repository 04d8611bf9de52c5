//! A binary file object of Python's as a `std::io::Read`.

use std::io;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Reads a Python binary file object with `read(n)`, attaching to the interpreter for each
/// call. A Python exception raised by `read` is kept in `error` (to be raised again as it
/// was) and reported to the scan as an I/O error.
pub struct PyReader {
    file: Py<PyAny>,
    pub error: Arc<Mutex<Option<PyErr>>>,
}

impl PyReader {
    pub fn new(file: Py<PyAny>) -> PyReader {
        PyReader {
            file,
            error: Arc::new(Mutex::new(None)),
        }
    }
}

impl io::Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let got = self
                .file
                .bind(py)
                .call_method1("read", (buf.len(),))
                .and_then(|b| {
                    if b.is_none() {
                        // A non-blocking stream with nothing ready: read again.
                        return Ok(None);
                    }
                    let b = b.cast_into::<PyBytes>().map_err(PyErr::from)?;
                    let bytes = b.as_bytes();
                    let n = bytes.len().min(buf.len());
                    buf[..n].copy_from_slice(&bytes[..n]);
                    Ok(Some(n))
                });
            match got {
                Ok(Some(n)) => Ok(n),
                Ok(None) => Err(io::Error::from(io::ErrorKind::Interrupted)),
                Err(e) => {
                    let msg = e.to_string();
                    *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    Err(io::Error::other(msg))
                }
            }
        })
    }
}
