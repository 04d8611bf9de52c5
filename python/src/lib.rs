//! The extension module of the `spoolscan` Python package (`spoolscan._spoolscan`).
//!
//! It is a thin layer over the spoolscan crate's public API: scans run on a background
//! thread and hand owned copies of the retained lines to Python through a bounded channel;
//! commands are waited for with the interpreter released, looking for Ctrl-C every 50 ms.
//! The Python package (`spoolscan/__init__.py`) turns arguments into the forms taken here and
//! builds the result objects.

use pyo3::prelude::*;
use spoolscan::Report;

mod errors;
mod events;
mod follow;
mod options;
mod reader;
mod run;
mod scan;

/// A report as a dict with the field names of DESIGN §5.
pub(crate) fn report_dict<'py>(py: Python<'py>, report: &Report) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?
        .call_method1("loads", (report.to_json(),))
}

/// Summarizes a transcript: the summary object of DESIGN §9 as a dict.
#[pyfunction]
#[pyo3(signature = (kind, source, profile, probe, max_line, ceiling, threads))]
#[allow(clippy::too_many_arguments)]
fn summarize<'py>(
    py: Python<'py>,
    kind: &str,
    source: &Bound<'py, PyAny>,
    profile: &str,
    probe: Option<usize>,
    max_line: Option<usize>,
    ceiling: Option<usize>,
    threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    use pyo3::exceptions::PyValueError;
    use spoolscan::{Profile, Source, Summarizer};
    let profile: Profile = profile
        .parse()
        .map_err(|e: spoolscan::UnknownProfile| PyValueError::new_err(e.to_string()))?;
    let mut s = Summarizer::new(profile);
    s.threads(options::check_threads(threads)?);
    if let Some(p) = probe {
        s.probe(p);
    }
    if let Some(m) = max_line {
        s.max_line(m);
    }
    if let Some(c) = ceiling {
        s.ceiling(c);
    }
    let json = match kind {
        "path" => {
            let path: std::path::PathBuf = source.extract()?;
            py.detach(move || s.summarize(Source::Path(&path)))
                .map_err(errors::scan_error)?
                .to_json()
        }
        "bytes" => {
            let bytes: pyo3::pybacked::PyBackedBytes = source.extract()?;
            py.detach(move || s.summarize(Source::Bytes(&bytes)))
                .map_err(errors::scan_error)?
                .to_json()
        }
        "reader" => {
            let reader = reader::PyReader::new(source.clone().unbind());
            let error = reader.error.clone();
            let r = py.detach(move || s.summarize(Source::reader(reader)));
            match r {
                Ok(sum) => sum.to_json(),
                Err(e) => {
                    let kept = error.lock().unwrap_or_else(|p| p.into_inner()).take();
                    return Err(kept.unwrap_or_else(|| errors::scan_error(e)));
                }
            }
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown source kind {other:?}"
            )));
        }
    };
    py.import("json")?.call_method1("loads", (json,))
}

#[pymodule]
fn _spoolscan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<events::Event>()?;
    m.add_class::<scan::Scan>()?;
    m.add_class::<follow::FollowRun>()?;
    m.add("SpoolError", m.py().get_type::<errors::SpoolError>())?;
    m.add_function(wrap_pyfunction!(scan::scan, m)?)?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_function(wrap_pyfunction!(follow::follow_run, m)?)?;
    m.add_function(wrap_pyfunction!(summarize, m)?)?;
    Ok(())
}
