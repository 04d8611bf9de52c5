//! The `spoolscan` command line, built on the public library API only.

pub mod args;
pub mod direct;
pub mod harden;
pub mod live;
pub mod outcome;
pub mod run;
pub mod scan;
pub mod summarize;

use std::io::{self, Write};
use std::path::Path;

use spoolscan::Report;

/// How a subcommand failed, and so which exit status it gets.
#[derive(Debug)]
pub enum Exit {
    /// A usage or configuration error: exit 2, no report.
    Usage(String),
    /// An I/O error on the input or the output: exit 1.
    Io(String),
    /// A fixed exit status (e.g. the child's, for `run`), message already printed.
    Code(i32),
}

impl Exit {
    pub fn code(&self) -> i32 {
        match self {
            Exit::Usage(_) => 2,
            Exit::Io(_) => 1,
            Exit::Code(c) => *c,
        }
    }
}

/// The error type of the CLI's sinks.
#[derive(Debug)]
pub enum Output {
    Scan(spoolscan::Error),
    Write(io::Error),
}

impl From<spoolscan::Error> for Output {
    fn from(e: spoolscan::Error) -> Output {
        Output::Scan(e)
    }
}

impl From<Output> for Exit {
    fn from(o: Output) -> Exit {
        match o {
            Output::Scan(spoolscan::Error::Config(e)) => Exit::Usage(e.to_string()),
            Output::Scan(e) => Exit::Io(e.to_string()),
            Output::Write(e) => Exit::Io(format!("writing output: {e}")),
        }
    }
}

/// Writes the report to `--stats FILE` (or stderr for `-`).
pub fn write_stats(dest: Option<&Path>, report: &Report) -> Result<(), Exit> {
    let Some(dest) = dest else { return Ok(()) };
    let mut json = report.to_json();
    json.push('\n');
    write_text(dest, &json)
}

/// Writes `text` to the file `dest`, or to stderr for `-`.
pub fn write_text(dest: &Path, text: &str) -> Result<(), Exit> {
    if dest.as_os_str() == "-" {
        io::stderr()
            .write_all(text.as_bytes())
            .map_err(|e| Exit::Io(format!("writing the report to stderr: {e}")))
    } else {
        std::fs::write(dest, text)
            .map_err(|e| Exit::Io(format!("{}: writing the report: {e}", dest.display())))
    }
}
