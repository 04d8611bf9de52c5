//! The inputs of a summary: [`Source`], and [`IntoSource`] for everything the scanner's
//! `scan_*` methods accept (paths, files, readers such as stdin, bytes).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{ChildStderr, ChildStdout};

/// The input of a summary.
///
/// [`summarize`](crate::summarize) and [`Summarizer::summarize`](crate::Summarizer::summarize)
/// take any [`IntoSource`]: a path, a file, a reader or bytes, as the scanner's `scan_*`
/// methods do, so a `Source` rarely needs to be named.
#[non_exhaustive]
pub enum Source<'a> {
    /// A file, memory-mapped read-only (see [`ScannerBuilder::mmap`](crate::ScannerBuilder::mmap)),
    /// as [`Scanner::scan_path`](crate::Scanner::scan_path) does.
    Path(&'a Path),
    /// A file, by an owned path.
    OwnedPath(PathBuf),
    /// An open file, memory-mapped read-only from offset 0 (whatever its position), as
    /// [`Scanner::scan_file`](crate::Scanner::scan_file) does.
    File(&'a File),
    /// An open file, owned (closed when the summary is done).
    OwnedFile(File),
    /// A reader (stdin, a pipe, a socket), read from where it is to its end: first copied
    /// into an unnamed temporary file by [`Scanner::spool`](crate::Scanner::spool) (the
    /// summary reads some lines again: detection, the last-object fallback).
    Reader(Box<dyn Read + 'a>),
    /// Bytes in memory.
    Bytes(&'a [u8]),
}

impl<'a> Source<'a> {
    /// A source reading from `reader` (any [`Read`], also those without an [`IntoSource`]
    /// implementation of their own).
    pub fn reader(reader: impl Read + 'a) -> Source<'a> {
        Source::Reader(Box::new(reader))
    }
}

impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Path(p) => f.debug_tuple("Path").field(p).finish(),
            Source::OwnedPath(p) => f.debug_tuple("OwnedPath").field(p).finish(),
            Source::File(file) => f.debug_tuple("File").field(file).finish(),
            Source::OwnedFile(file) => f.debug_tuple("OwnedFile").field(file).finish(),
            Source::Reader(_) => f.write_str("Reader(..)"),
            Source::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
        }
    }
}

/// What a summary can be read from: the inputs of the scanner's `scan_*` methods.
///
/// | argument | read as |
/// | --- | --- |
/// | `&str`, `String`, `&Path`, `PathBuf`, `&OsStr`, `OsString` | a path, like [`Scanner::scan_path`](crate::Scanner::scan_path) (mapped) |
/// | `&File`, `File` | an open file from offset 0, like [`Scanner::scan_file`](crate::Scanner::scan_file) |
/// | `Stdin`, `StdinLock`, `ChildStdout`, `ChildStderr`, `TcpStream`, `UnixStream`, `BufReader<R>`, `Box<dyn Read>`, `&mut R` | a reader, like [`Scanner::scan_reader`](crate::Scanner::scan_reader), spooled to an unnamed file first |
/// | `&[u8]`, `&[u8; N]`, `&Vec<u8>` | bytes, like [`Scanner::scan_slice`](crate::Scanner::scan_slice) |
/// | [`Source`] | itself |
///
/// A string is a *path*, as for `scan_path`: pass text in memory as `text.as_bytes()`. Any
/// other reader goes through [`Source::reader`], or `&mut reader`.
///
/// ```no_run
/// use spoolscan::{Profile, summarize};
///
/// let from_path = summarize("transcript.ndjson", Profile::Auto)?;
/// let from_stdin = summarize(std::io::stdin().lock(), Profile::Codex)?;
/// let file = std::fs::File::open("transcript.ndjson")?;
/// let from_file = summarize(&file, Profile::Claude)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait IntoSource<'a> {
    /// The source.
    fn into_source(self) -> Source<'a>;
}

impl<'a> IntoSource<'a> for Source<'a> {
    fn into_source(self) -> Source<'a> {
        self
    }
}

macro_rules! into_source {
    ($($t:ty => |$x:ident| $e:expr;)*) => {
        $(impl<'a> IntoSource<'a> for $t {
            fn into_source(self) -> Source<'a> {
                let $x = self;
                $e
            }
        })*
    };
}

into_source! {
    &'a Path => |p| Source::Path(p);
    &'a PathBuf => |p| Source::Path(p);
    PathBuf => |p| Source::OwnedPath(p);
    &'a str => |p| Source::Path(Path::new(p));
    &'a String => |p| Source::Path(Path::new(p));
    String => |p| Source::OwnedPath(p.into());
    &'a OsStr => |p| Source::Path(Path::new(p));
    OsString => |p| Source::OwnedPath(p.into());
    &'a File => |f| Source::File(f);
    File => |f| Source::OwnedFile(f);
    &'a [u8] => |b| Source::Bytes(b);
    &'a Vec<u8> => |b| Source::Bytes(b);
    io::Stdin => |r| Source::reader(r);
    ChildStdout => |r| Source::reader(r);
    ChildStderr => |r| Source::reader(r);
    std::net::TcpStream => |r| Source::reader(r);
    std::os::unix::net::UnixStream => |r| Source::reader(r);
    Box<dyn Read + 'a> => |r| Source::Reader(r);
}

impl<'a, const N: usize> IntoSource<'a> for &'a [u8; N] {
    fn into_source(self) -> Source<'a> {
        Source::Bytes(self)
    }
}

impl<'a, 'l: 'a> IntoSource<'a> for io::StdinLock<'l> {
    fn into_source(self) -> Source<'a> {
        Source::reader(self)
    }
}

impl<'a, R: Read + 'a> IntoSource<'a> for io::BufReader<R> {
    fn into_source(self) -> Source<'a> {
        Source::reader(self)
    }
}

impl<'a, R: Read + ?Sized> IntoSource<'a> for &'a mut R {
    fn into_source(self) -> Source<'a> {
        Source::reader(self)
    }
}

impl<'a> From<&'a Path> for Source<'a> {
    fn from(p: &'a Path) -> Source<'a> {
        Source::Path(p)
    }
}

impl<'a> From<&'a PathBuf> for Source<'a> {
    fn from(p: &'a PathBuf) -> Source<'a> {
        Source::Path(p)
    }
}

impl<'a> From<&'a File> for Source<'a> {
    fn from(f: &'a File) -> Source<'a> {
        Source::File(f)
    }
}

impl<'a> From<&'a [u8]> for Source<'a> {
    fn from(b: &'a [u8]) -> Source<'a> {
        Source::Bytes(b)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Source<'a> {
    fn from(b: &'a [u8; N]) -> Source<'a> {
        Source::Bytes(b)
    }
}

impl<'a> From<&'a Vec<u8>> for Source<'a> {
    fn from(b: &'a Vec<u8>) -> Source<'a> {
        Source::Bytes(b)
    }
}
