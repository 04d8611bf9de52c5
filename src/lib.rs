//! spoolscan reads huge NDJSON files (above all the transcripts that AI coding-agent CLIs print)
//! fast and in bounded memory.
//!
//! (Full crate documentation below is completed in a later step.)

#![deny(missing_docs)]

mod decode;
mod error;
mod lines;
mod probe;
mod report;
mod scanner;
mod select;
mod sink;
mod source;
mod spool;

pub use crate::decode::{DecodeError, Event};
pub use crate::error::{ConfigError, Error};
pub use crate::lines::{Line, LineIter};
pub use crate::report::{Dropped, LOG_CAP, Malformed, Report};
pub use crate::scanner::{DEFAULT_CEILING, DEFAULT_MAX_LINE, DEFAULT_PROBE, Scanner, ScannerBuilder};
pub use crate::select::{Matcher, Rule, Selector};
pub use crate::sink::{Sink, sinks};
pub use crate::spool::*;
