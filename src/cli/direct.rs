//! Runs of adjacent retained lines written to stdout straight from the input file.
//!
//! When the scan reads a file it maps (a FILE, stdin that is a regular file, a command's
//! spool), [`Sink::input_file`](spoolscan::Sink::input_file) hands the file over. A retained
//! line that directly follows the one before it (one LF between them) extends a run, and a run
//! of at least [`DIRECT_MIN`] bytes is not copied line by line into the output buffer: it is
//! written with one `sendfile(2)` from the file's page cache when the run ends (a line that is
//! not retained, or the end of the scan). Its bytes are then never copied by the process
//! (none at all for `/dev/null`), and the calling thread of a parallel scan never maps again
//! the pages its workers released. Runs only extend over LF-only terminators, so the output is
//! the same bytes as the copying path's (lines without CR, each followed by an LF).
//!
//! Shorter runs are copied as before: a `sendfile` costs a system call and the buffer's flush.
//! Where `sendfile` to stdout is refused (`O_APPEND`, a terminal on some kernels), the run is
//! read with `pread` and written instead.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use rustix::io::Errno;

/// Runs of at least this many bytes are written from the file; shorter ones are copied.
pub const DIRECT_MIN: u64 = 64 << 10;

/// What [`Direct::offer`] decided for a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Taken into the pending run: nothing to write now.
    Deferred,
    /// Copy the line (and its LF) into the output buffer.
    Copy,
    /// Write the pending run first ([`Direct::write_pending`]), then offer the line again.
    Flush,
}

/// The input file and the run of retained lines not yet written from it.
#[derive(Debug, Default)]
pub struct Direct {
    src: Option<File>,
    /// The source's size when the scan started.
    len: u64,
    /// `[start, end)` of the input: retained lines with an LF between each two, written
    /// followed by an LF.
    pending: Option<(u64, u64)>,
    /// The end of the last line copied, and the bytes of the run of adjacent lines it ends
    /// (LFs included).
    copied: Option<(u64, u64)>,
    /// Cleared once `sendfile` to stdout was refused: `pread` and `write` from then on.
    no_sendfile: bool,
}

impl Direct {
    /// The scan's input file (a duplicate is kept; without one, every line is copied).
    pub fn set_source(&mut self, file: &File) {
        self.src = file.try_clone().ok();
        self.len = file.metadata().map_or(0, |m| m.len());
        self.pending = None;
        self.copied = None;
    }

    /// Whether lines are offered (a source is set).
    pub fn active(&self) -> bool {
        self.src.is_some()
    }

    /// Offers the retained line of `len` bytes at `offset` of the source.
    pub fn offer(&mut self, offset: u64, len: u64) -> Step {
        if let Some((start, end)) = self.pending {
            if offset == end + 1 {
                self.pending = Some((start, offset + len));
                return Step::Deferred;
            }
            return Step::Flush;
        }
        let run = match self.copied {
            Some((end, run)) if offset == end + 1 => run + len + 1,
            _ => len + 1,
        };
        if run >= DIRECT_MIN {
            self.pending = Some((offset, offset + len));
            self.copied = None;
            Step::Deferred
        } else {
            self.copied = Some((offset + len, run));
            Step::Copy
        }
    }

    /// Writes the pending run, if any, and its final LF: `out` (the buffer over stdout) is
    /// flushed first, the run goes straight to stdout (or through `out` where `sendfile` is
    /// refused), the LF into `out`.
    pub fn write_pending(&mut self, out: &mut impl Write) -> io::Result<()> {
        let (Some((mut at, end)), Some(src)) = (self.pending.take(), &self.src) else {
            return Ok(());
        };
        out.flush()?;
        let stdout = io::stdout();
        while at < end {
            let want = usize::try_from(end - at).unwrap_or(usize::MAX).min(1 << 30);
            if !self.no_sendfile {
                match rustix::fs::sendfile(&stdout, src, Some(&mut at), want) {
                    Ok(0) => return Err(shrank(self.len, src)),
                    Ok(_) | Err(Errno::INTR) => {}
                    Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => self.no_sendfile = true,
                    Err(e) => return Err(e.into()),
                }
                continue;
            }
            let mut buf = vec![0; want.min(256 << 10)];
            let got = match src.read_at(&mut buf, at) {
                Ok(0) => return Err(shrank(self.len, src)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            out.write_all(&buf[..got])?;
            at += got as u64;
        }
        out.write_all(b"\n")
    }

    /// Forgets the source (at the end of its scan, after [`Direct::write_pending`]).
    pub fn clear(&mut self) {
        *self = Direct {
            no_sendfile: self.no_sendfile,
            ..Direct::default()
        };
    }
}

/// The error of a run cut short because the input file shrank (another process truncated
/// it): worded as the scan's own error for a mapping that shrank, which the caller names the
/// file in.
fn shrank(len: u64, src: &File) -> io::Error {
    let now = src
        .metadata()
        .map_or_else(|_| "?".to_string(), |m| m.len().to_string());
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("shrank from {len} to {now} bytes during the scan"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_extend_over_adjacent_lines_only() {
        let mut d = Direct::default();
        // Short lines are copied until their run reaches DIRECT_MIN.
        assert_eq!(d.offer(0, 9), Step::Copy);
        assert_eq!(d.offer(10, DIRECT_MIN - 20), Step::Copy);
        let next = 10 + DIRECT_MIN - 20 + 1;
        assert_eq!(d.offer(next, 100), Step::Deferred);
        assert_eq!(d.pending, Some((next, next + 100)));
        // Adjacent: the run grows; a gap (a skipped line, or CR LF) ends it.
        assert_eq!(d.offer(next + 101, 5), Step::Deferred);
        assert_eq!(d.pending, Some((next, next + 106)));
        assert_eq!(d.offer(next + 108, 5), Step::Flush);
        d.pending = None;
        // After a gap the count starts again.
        assert_eq!(d.offer(next + 108, 5), Step::Copy);
        // A line that is a long run alone is deferred at once.
        assert_eq!(d.offer(next + 200, DIRECT_MIN), Step::Deferred);
    }
}
