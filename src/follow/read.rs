//! Reading the followed file: its length (capped at the limit), new bytes, lines read back
//! whole or streamed through the completeness check, and the checks that it only grew by
//! appends (it did not shrink, the bytes before the read position did not change, its path
//! still names it).

use std::io;
use std::os::unix::fs::FileExt;

use crate::complete::Complete;
use crate::error::Error;

use super::{Follower, READ_CHUNK, TAIL};

impl Follower {
    pub(super) fn io_err(&self, e: io::Error) -> Error {
        Error::io(self.path.as_deref(), e)
    }

    /// The file's length, capped at the limit. A file that shrank since the last look, or
    /// below what was read, is an error: it was truncated (copytruncate, `> file`) or
    /// rewritten, and following on would skip or misread lines.
    pub(super) fn file_len(&mut self) -> Result<u64, Error> {
        let st = rustix::fs::fstat(&self.file).map_err(|e| self.io_err(e.into()))?;
        let raw = u64::try_from(st.st_size).unwrap_or(0);
        let pos = self.read_pos();
        if raw < self.raw_len || raw.min(self.limit) < pos {
            let e = io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "shrank from {} to {raw} bytes while it was followed (truncated or \
                     rewritten; {pos} bytes had been read)",
                    self.raw_len.max(pos)
                ),
            );
            return Err(self.io_err(e));
        }
        self.raw_len = raw;
        let len = raw.min(self.limit);
        self.known_len = len;
        Ok(len)
    }

    /// Whether the bytes just before `pos` are still the ones read there; an error if not.
    pub(super) fn check_tail(&mut self, pos: u64) -> Result<(), Error> {
        if self.tail.is_empty() {
            return Ok(());
        }
        let at = pos - self.tail.len() as u64;
        let mut now = [0u8; TAIL];
        let now = &mut now[..self.tail.len()];
        let mut got = 0;
        while got < now.len() {
            match self.file.read_at(&mut now[got..], at + got as u64) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_err(e)),
            }
        }
        if now[..got] != self.tail[..] {
            let e = io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "was rewritten while it was followed: the bytes before offset {pos} \
                     changed (truncated and written again?)"
                ),
            );
            return Err(self.io_err(e));
        }
        Ok(())
    }

    /// Remembers the last bytes read (`new` just read, ending at the read position).
    pub(super) fn push_tail(&mut self, new: &[u8]) {
        if new.len() >= TAIL {
            self.tail.clear();
            self.tail.extend_from_slice(&new[new.len() - TAIL..]);
        } else {
            let keep = (TAIL - new.len()).min(self.tail.len());
            self.tail.drain(..self.tail.len() - keep);
            self.tail.extend_from_slice(new);
        }
    }

    /// For a follower opened by path: an error when the path now names another file (the
    /// log was rotated and a new file created in its place). A path that is gone is not an
    /// error (the writer may still append to the unlinked file).
    pub(super) fn check_replaced(&self) -> Result<(), Error> {
        let (Some(path), Some(id)) = (&self.path, self.id) else {
            return Ok(());
        };
        match std::fs::metadata(path) {
            Ok(meta) if file_id(&meta) != id => {
                let e = io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "was replaced by another file while it was followed ({} bytes of the \
                         old file were read)",
                        self.read_pos()
                    ),
                );
                Err(self.io_err(e))
            }
            _ => Ok(()),
        }
    }

    /// The offset of the next byte to read.
    pub(super) fn read_pos(&self) -> u64 {
        match self.long {
            Some(long) => long.offset + long.raw,
            None => self.cur.base + self.buf.len() as u64,
        }
    }

    /// Appends up to [`READ_CHUNK`] new bytes of the file to `buf`; returns how many.
    pub(super) fn read_chunk(&mut self) -> Result<usize, Error> {
        let pos = self.read_pos();
        let len = self.file_len()?;
        if len <= pos {
            return Ok(0);
        }
        let want = usize::try_from(len - pos)
            .unwrap_or(usize::MAX)
            .min(READ_CHUNK);
        self.check_tail(pos)?;
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        let mut got = 0;
        while got < want {
            match self
                .file
                .read_at(&mut self.buf[old + got..], pos + got as u64)
            {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(self.io_err(e));
                }
            }
        }
        self.buf.truncate(old + got);
        let new = &self.buf[old..old + got];
        let new: Vec<u8> = new[new.len().saturating_sub(TAIL)..].to_vec();
        self.push_tail(&new);
        Ok(got)
    }

    /// Reads `len` bytes at `offset` into `whole`.
    pub(super) fn read_whole(&mut self, offset: u64, len: usize) -> Result<(), Error> {
        self.whole.clear();
        self.whole.resize(len, 0);
        let mut got = 0;
        while got < len {
            match self
                .file
                .read_at(&mut self.whole[got..], offset + got as u64)
            {
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the file shrank while it was followed (offset {offset})"),
                    );
                    return Err(self.io_err(e));
                }
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_err(e)),
            }
        }
        Ok(())
    }

    /// Streams `len` bytes at `offset` through [`Complete`].
    pub(super) fn structurally_complete(&mut self, offset: u64, len: u64) -> Result<bool, Error> {
        let mut s = Complete::new();
        let mut chunk = vec![0; READ_CHUNK];
        let mut at = 0u64;
        while at < len && !s.failed() {
            let want = usize::try_from(len - at)
                .unwrap_or(usize::MAX)
                .min(READ_CHUNK);
            match self.file.read_at(&mut chunk[..want], offset + at) {
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the file shrank while it was followed (offset {offset})"),
                    );
                    return Err(self.io_err(e));
                }
                Ok(k) => {
                    s.feed(&chunk[..k]);
                    at += k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_err(e)),
            }
        }
        Ok(s.complete())
    }
}

/// Device and inode of a file.
pub(super) fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}
