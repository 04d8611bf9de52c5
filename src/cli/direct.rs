//! Runs of adjacent retained lines written to stdout straight from the input file.
//!
//! When the scan reads a file it maps (a FILE, stdin that is a regular file, a command's
//! spool), [`Sink::input_file`](spoolscan::Sink::input_file) hands the file over. A retained
//! line that directly follows the one before it (one LF between them) extends a run, and a run
//! of at least [`DIRECT_MIN`] bytes is not copied line by line into the output buffer: it is
//! written with `sendfile(2)` from the file's page cache when the run ends (a line that is
//! not retained, or the end of the scan), and [`DIRECT_STEP`] bytes at a time while it goes
//! on. Its bytes are then never copied by the process
//! (none at all for `/dev/null`), and the calling thread of a parallel scan never maps again
//! the pages its workers released. Runs only extend over LF-only terminators, so the output is
//! the same bytes as the copying path's (lines without CR, each followed by an LF).
//!
//! Shorter runs are copied as before: a `sendfile` costs a system call and the buffer's flush.
//! Where `sendfile` to stdout is refused (`O_APPEND`, a terminal on some kernels), the run is
//! read with `pread` and written instead.
//!
//! When stdout is `/dev/null` ([`stdout_is_dev_null`]) nothing is written at all, as GNU grep
//! does: the bytes would be thrown away, and `sendfile` to `/dev/null` still reads the pages
//! through the page cache's bookkeeping (a tenth of a scan that keeps every line).

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustix::io::Errno;

/// Whether stdout is the null device: a character device with the device number of
/// `/dev/null`.
pub fn stdout_is_dev_null() -> bool {
    is_dev_null(io::stdout())
}

/// Whether `fd` is the null device (see [`stdout_is_dev_null`]).
fn is_dev_null(fd: impl std::os::fd::AsFd) -> bool {
    use rustix::fs::{FileType, fstat, stat};
    let (Ok(out), Ok(null)) = (fstat(fd), stat("/dev/null")) else {
        return false;
    };
    let chr = |mode| FileType::from_raw_mode(mode) == FileType::CharacterDevice;
    chr(out.st_mode) && chr(null.st_mode) && out.st_rdev == null.st_rdev
}

/// The pipe buffer asked for when stdout is a pipe (at most what `/proc/sys/fs/pipe-max-size`
/// lets an unprivileged process ask for by default).
const PIPE_SIZE: usize = 1 << 20;

/// When stdout is a pipe, widens its buffer to [`PIPE_SIZE`] (from the kernel's 64 KiB), so
/// that the writer and the reader take turns a sixteenth as often; left as it is when the
/// kernel refuses (a lower `pipe-max-size`, or a pipe already wider).
pub fn widen_stdout_pipe() {
    use rustix::fs::{FileType, fstat};
    use rustix::pipe::{fcntl_getpipe_size, fcntl_setpipe_size};
    let out = io::stdout();
    let Ok(st) = fstat(&out) else { return };
    if FileType::from_raw_mode(st.st_mode) != FileType::Fifo {
        return;
    }
    if fcntl_getpipe_size(&out).is_ok_and(|size| size < PIPE_SIZE) {
        let _ = fcntl_setpipe_size(&out, PIPE_SIZE);
    }
}

/// Runs of at least this many bytes are written from the file; shorter ones are copied.
pub const DIRECT_MIN: u64 = 64 << 10;

/// A run that goes on is written this many bytes at a time: a reader that stops reading
/// (`| head`) stops the scan within that much, and what is written is never far behind the
/// scan.
pub const DIRECT_STEP: u64 = 4 << 20;

/// What [`Direct::offer`] decided for a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Taken into the pending run: nothing to write now.
    Deferred,
    /// Copy the line (and its LF) into the output buffer.
    Copy,
    /// Write the pending run first ([`Direct::write_pending`]), then offer the line again.
    Flush,
    /// Taken into the run, whose bytes before the line are ready to be written
    /// ([`Direct::write_ready`]).
    Ready,
}

/// The input file and the run of retained lines not yet written from it.
#[derive(Debug, Default)]
pub struct Direct {
    src: Option<File>,
    /// The source's path, when the scan was given one (for the error of a file that shrank).
    pub path: Option<PathBuf>,
    /// The source's size when the scan started.
    len: u64,
    /// `[start, end)` of the input: retained lines with an LF between each two, written
    /// followed by an LF.
    pending: Option<(u64, u64)>,
    /// `[start, end)` of the input: the first lines of a run that goes on, LF after each, to
    /// write before the pending run.
    ready: Option<(u64, u64)>,
    /// The end of the last line copied, and the bytes of the run of adjacent lines it ends
    /// (LFs included).
    copied: Option<(u64, u64)>,
    /// Set once `sendfile` to stdout was refused: `pread` and `write` from then on.
    no_sendfile: bool,
}

impl Direct {
    /// The scan's input file and its path (a duplicate is kept; without one, every line is
    /// copied).
    pub fn set_source(&mut self, file: &File, path: Option<&Path>) {
        self.src = file.try_clone().ok();
        self.path = path.map(Path::to_path_buf);
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
                if offset - start >= DIRECT_STEP {
                    self.ready = Some((start, offset));
                    self.pending = Some((offset, offset + len));
                    return Step::Ready;
                }
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
        self.write_ready(out)?;
        let Some((start, end)) = self.pending.take() else {
            return Ok(());
        };
        self.send(out, start, end)?;
        out.write_all(b"\n")
    }

    /// Writes the first lines of a run that goes on ([`Step::Ready`]), if any.
    pub fn write_ready(&mut self, out: &mut impl Write) -> io::Result<()> {
        match self.ready.take() {
            Some((start, end)) => self.send(out, start, end),
            None => Ok(()),
        }
    }

    /// Writes `[at, end)` of the source to stdout, after what `out` holds.
    fn send(&mut self, out: &mut impl Write, mut at: u64, end: u64) -> io::Result<()> {
        let Some(src) = &self.src else {
            return Ok(());
        };
        out.flush()?;
        let stdout = io::stdout();
        let mut buf = Vec::new();
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
            buf.resize(want.min(256 << 10), 0);
            let got = match src.read_at(&mut buf, at) {
                Ok(0) => return Err(shrank(self.len, src)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            out.write_all(&buf[..got])?;
            at += got as u64;
        }
        Ok(())
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
    fn only_the_null_device_is_dev_null() {
        assert!(is_dev_null(File::open("/dev/null").unwrap()));
        assert!(!is_dev_null(File::open("/dev/zero").unwrap()));
        let file = tempfile::tempfile().unwrap();
        assert!(!is_dev_null(&file));
        let (r, w) = rustix::pipe::pipe().unwrap();
        assert!(!is_dev_null(&r) && !is_dev_null(&w));
    }

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
        // A run that goes on is handed over DIRECT_STEP bytes at a time.
        let mut at = next + 200 + DIRECT_MIN + 1;
        let mut readies = Vec::new();
        while at < 3 * DIRECT_STEP {
            if d.offer(at, 999) == Step::Ready {
                readies.push(d.ready.take().unwrap());
            }
            at += 1000;
        }
        assert_eq!(readies.len(), 2, "{readies:?}");
        assert_eq!(readies[0].0, next + 200);
        assert_eq!(readies[1].0, readies[0].1);
        assert!(
            readies
                .iter()
                .all(|(s, e)| e - s >= DIRECT_STEP && e - s < DIRECT_STEP + 1000)
        );
        // The rest of the run is pending from where the last part handed over ends.
        assert_eq!(d.pending.unwrap(), (readies[1].1, at - 1));
    }
}
