//! Scanner options as the Python functions pass them: rules and limits.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use spoolscan::{Scanner, ScannerBuilder, Selector};

/// `threads` as the extension takes it: at least 1, or a `ValueError` naming the option.
pub fn check_threads(threads: usize) -> PyResult<usize> {
    if threads == 0 {
        return Err(PyValueError::new_err(
            "threads must be a positive number of worker threads, got 0",
        ));
    }
    Ok(threads)
}

/// One selection rule: a key path, `equals` or `contains`, and the values.
pub type RuleSpec = (String, String, Vec<String>);

/// The options shared by `scan`, `run` and `follow_run`.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    pub rules: Vec<RuleSpec>,
    pub case_sensitive: bool,
    pub probe: Option<usize>,
    pub max_line: Option<usize>,
    pub ceiling: Option<usize>,
    pub validate_all: bool,
    /// Worker threads for a scan of a whole input (`ScannerBuilder::threads`); 0 is read as 1
    /// (the Python layer rejects it first with a `ValueError`).
    pub threads: usize,
}

impl ScanOptions {
    /// The selector of the rules (a `ValueError` for an empty path or no values).
    pub fn selector(&self) -> PyResult<Selector> {
        let mut sel = Selector::new();
        for (path, kind, values) in &self.rules {
            sel = match kind.as_str() {
                "equals" => sel.equals(path, values),
                "contains" => sel.contains(path, values),
                other => return Err(PyValueError::new_err(format!("unknown matcher {other:?}"))),
            }
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        }
        Ok(sel)
    }

    /// The builder with the limits set (the selector is set separately).
    pub fn builder(&self) -> ScannerBuilder {
        let mut b = ScannerBuilder::new();
        b.case_sensitive(self.case_sensitive)
            .validate_all(self.validate_all)
            .threads(self.threads);
        if let Some(p) = self.probe {
            b.probe(p);
        }
        if let Some(m) = self.max_line {
            b.max_line(m);
        }
        if let Some(c) = self.ceiling {
            b.ceiling(c);
        }
        b
    }

    /// A scanner with these limits and another selector.
    pub fn scanner_with(&self, selector: Selector) -> Result<Scanner, spoolscan::Error> {
        let mut b = self.builder();
        b.select(selector);
        Ok(b.build()?)
    }

    /// The scanner, or a `ValueError` naming what does not fit.
    pub fn scanner(&self) -> PyResult<Scanner> {
        let mut b = self.builder();
        b.select(self.selector()?);
        b.build().map_err(|e| PyValueError::new_err(e.to_string()))
    }
}
