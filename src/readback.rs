//! Reading the input back at the end of a scan ([`Input`], [`Sink::read_back`]), and
//! [`Scanner::spool`] for readers that must be read back.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::Error;
use crate::scanner::Scanner;
use crate::source::Pager;

#[cfg(doc)]
use crate::sink::Sink;

/// Releases mapped pages a read has gone past, and tells whether the mapped file shrank.
pub(crate) trait Release {
    fn release(&mut self, from: usize, to: usize);
    fn shrunk(&self) -> Option<Error>;
}

impl Release for Pager<'_> {
    fn release(&mut self, from: usize, to: usize) {
        self.release_range(from, to);
    }

    fn shrunk(&self) -> Option<Error> {
        Pager::shrunk(self)
    }
}

/// The input of a finished scan, read back by offset ([`Sink::read_back`]).
///
/// Reads copy into the caller's buffer, so what a sink reads back costs no more memory than
/// its buffer: the pages of a mapped file that a read has gone past are released again, and
/// a followed file is read with positioned reads. Offsets are those of the report and of the
/// sink calls ([`Event::offset`](crate::Event::offset), [`Passed::offset`](crate::Passed::offset)).
///
/// ```
/// use spoolscan::{Event, Input, Report, Scanner, Sink};
///
/// /// Keeps the last 16 bytes of the input (say, to see how it ended).
/// #[derive(Default)]
/// struct Ending(Vec<u8>);
///
/// impl Sink for Ending {
///     type Error = spoolscan::Error;
///     fn retained(&mut self, _event: &mut Event<'_>) -> Result<bool, Self::Error> {
///         Ok(true)
///     }
///     fn read_back(&mut self, input: &Input<'_>, report: &Report) -> Result<(), Self::Error> {
///         assert_eq!(input.len(), report.bytes);
///         let from = input.len().saturating_sub(16);
///         self.0 = input.read(from, 16)?;
///         Ok(())
///     }
/// }
///
/// let mut scanner = Scanner::builder().build()?;
/// let mut ending = Ending::default();
/// scanner.scan_slice(b"{\"a\":1}\n{\"status\":\"done\"}\n", &mut ending)?;
/// assert_eq!(ending.0, b"status\":\"done\"}\n");
/// # Ok::<(), spoolscan::Error>(())
/// ```
pub struct Input<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Slice {
        data: &'a [u8],
        pager: Option<RefCell<&'a mut (dyn Release + 'a)>>,
    },
    File {
        file: &'a File,
        len: u64,
        path: Option<&'a Path>,
    },
}

impl<'a> Input<'a> {
    /// A slice, or a mapping whose pages `pager` releases after each read.
    pub(crate) fn slice(data: &'a [u8], pager: Option<&'a mut (dyn Release + 'a)>) -> Input<'a> {
        Input {
            inner: Inner::Slice {
                data,
                pager: pager.map(RefCell::new),
            },
        }
    }

    /// The first `len` bytes of a file, read with positioned reads.
    pub(crate) fn file(file: &'a File, len: u64, path: Option<&'a Path>) -> Input<'a> {
        Input {
            inner: Inner::File { file, len, path },
        }
    }

    /// The input's length in bytes (its BOM and line terminators included).
    pub fn len(&self) -> u64 {
        match &self.inner {
            Inner::Slice { data, .. } => data.len() as u64,
            Inner::File { len, .. } => *len,
        }
    }

    /// Whether the input is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the bytes at `offset` into `buf`, as many as fit or as there are: returns how
    /// many (0 at or past the end).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when reading a file fails, or a mapped file shrank under the scan (with
    /// [`guard_sigbus`](crate::guard_sigbus) installed).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        let total = self.len();
        let start = offset.min(total);
        let n = (buf.len() as u64).min(total - start) as usize;
        match &self.inner {
            Inner::Slice { data, pager } => {
                let s = start as usize;
                buf[..n].copy_from_slice(&data[s..s + n]);
                if let Some(p) = pager {
                    let mut p = p.borrow_mut();
                    // A file truncated under the mapping reads as zeros (the SIGBUS guard):
                    // an error, as in the scan.
                    if let Some(e) = p.shrunk() {
                        return Err(e);
                    }
                    p.release(s, s + n);
                }
                Ok(n)
            }
            Inner::File { file, path, .. } => {
                let mut got = 0;
                while got < n {
                    match file.read_at(&mut buf[got..n], start + got as u64) {
                        Ok(0) => break,
                        Ok(k) => got += k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Error::io(*path, e)),
                    }
                }
                Ok(got)
            }
        }
    }

    /// Up to `n` bytes at `offset` (fewer at the end of the input), in a new vector.
    ///
    /// # Errors
    ///
    /// As for [`Input::read_at`].
    pub fn read(&self, offset: u64, n: usize) -> Result<Vec<u8>, Error> {
        let mut v = Vec::new();
        self.read_into(offset, n, &mut v)?;
        Ok(v)
    }

    /// Like [`Input::read`], into `buf` (cleared first, so that one buffer serves many reads).
    ///
    /// # Errors
    ///
    /// As for [`Input::read_at`].
    pub fn read_into(&self, offset: u64, n: usize, buf: &mut Vec<u8>) -> Result<(), Error> {
        let n = (n as u64).min(self.len().saturating_sub(offset)) as usize;
        buf.clear();
        buf.resize(n, 0);
        let got = self.read_at(offset, buf)?;
        buf.truncate(got);
        Ok(())
    }
}

impl std::fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::Slice { .. } => "slice",
            Inner::File { .. } => "file",
        };
        f.debug_struct("Input")
            .field("kind", &kind)
            .field("len", &self.len())
            .finish()
    }
}

impl Scanner {
    /// Copies everything `reader` yields into an unnamed file in the scanner's spool directory
    /// ([`ScannerBuilder::spool_dir`](crate::ScannerBuilder::spool_dir), else the system
    /// temporary directory), through a bounded buffer. The file is removed when it is closed.
    ///
    /// [`Scanner::scan_reader`] scans a reader as it arrives, but cannot read it back; a
    /// spooled reader is scanned like a file ([`Scanner::scan_file`]): mapped, on several
    /// threads, as often as needed, and with [`Sink::read_back`].
    ///
    /// ```
    /// use spoolscan::{Scanner, sinks::Raw};
    ///
    /// let mut scanner = Scanner::builder().build()?;
    /// let spool = scanner.spool(&b"{\"a\":1}\n[2]\n"[..])?;
    /// let first = scanner.scan_file(&spool, Raw::new(|_| Ok(true)))?;
    /// let again = scanner.scan_file(&spool, Raw::new(|_| Ok(true)))?;
    /// assert_eq!((first.retained, first), (2, again));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when reading fails, or the file cannot be created or written (naming the
    /// spool directory when one was set).
    pub fn spool(&self, reader: impl Read) -> Result<File, Error> {
        crate::source::spool(reader, self.spool_dir())
    }
}
