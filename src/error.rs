//! Errors: configuration mistakes and I/O failures, each saying what went wrong and where.

use std::io;
use std::path::{Path, PathBuf};

/// A configuration that cannot work, found when a [`Scanner`](crate::Scanner) or a
/// [`Rule`](crate::Rule) is built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The limits must satisfy `probe <= max_line <= ceiling`.
    #[error(
        "limits out of order: need probe ({probe}) <= max_line ({max_line}) <= ceiling ({ceiling})"
    )]
    LimitsOutOfOrder {
        /// The probe size.
        probe: usize,
        /// The max_line size.
        max_line: usize,
        /// The ceiling.
        ceiling: usize,
    },
    /// A limit of zero bytes, or over the 4 GiB the decoder accepts.
    #[error("limit {name} = {value} is out of range (1 byte to 4 GiB)")]
    LimitOutOfRange {
        /// The limit's name.
        name: &'static str,
        /// Its value.
        value: usize,
    },
    /// A key path that is empty or has an empty segment (`item..type`).
    #[error("invalid key path {path:?}: segments must be non-empty keys separated by '.'")]
    BadPath {
        /// The path as given.
        path: String,
    },
    /// A rule with no values to compare.
    #[error("rule on {path:?} has no values")]
    NoValues {
        /// The rule's path.
        path: String,
    },
}

/// An error that stops a scan: an input that cannot be opened, mapped or read.
///
/// Problems *inside* the input (malformed or oversize lines) never stop a scan: they are
/// counted and logged in the [`Report`](crate::Report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on the input, naming the path when there is one.
    #[error("{}: {source}", path.as_deref().map_or_else(|| "<input>".into(), |p| p.display().to_string()))]
    Io {
        /// The input's path, if it has one.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A configuration error.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Error {
    pub(crate) fn io(path: Option<&Path>, source: io::Error) -> Error {
        Error::Io {
            path: path.map(Path::to_path_buf),
            source,
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Io { source, .. } => source.kind(),
            Error::Config(_) => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e.to_string())
    }
}
