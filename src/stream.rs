//! Streaming scans of readers (a pipe, stdin, a socket): lines are settled as their LF is
//! read, so a retained line reaches the sink as soon as it is complete, in bounded memory.
//!
//! A reader cannot be read back, unlike a mapped file or a followed one. A line is kept in
//! memory only while it is short (up to `hold = max(probe, min(1 MiB, max_line))` bytes); a
//! longer one becomes a *long* line, of which memory keeps only the first bytes (the head) and
//! a few facts (length, blank, last byte, the streaming completeness check [`Complete`]):
//!
//! * While the long line may have to be parsed or classified whole (it is at most the ceiling,
//!   and: the selector is empty, or `validate_all` is set, or it is at most `max_line` and its
//!   head has not decided it, or its first `probe` bytes retain it), its bytes are also
//!   appended to an unnamed spool file, which is mapped when the line ends and settled like a
//!   line of a mapped file (pages released as the probe goes).
//! * Otherwise it is read through: its other bytes only move the offset.
//!
//! Lines are settled by [`Scanner::settle`] exactly as a full scan does, with [`Body::Whole`]
//! for short and spooled lines and [`Body::Head`] for lines read through, so the sink calls
//! and the report equal those of a scan of the same bytes from a file, with one exception: a
//! last line without LF, read through (not retained, longer than `hold`, at most the
//! ceiling), is checked for completeness structurally (strings closed, brackets balanced), as
//! lines over the ceiling always are, where a file scan parses it. Only `truncated` can
//! differ, and only for such a line that is balanced but not valid JSON.
//!
//! Memory: the read buffer, one head, the probe's state and the decoder's copy of a retained
//! line; a long line is never held whole on the heap, however long it is.

use std::io::{self, Read};

use memchr::memchr;

use std::fs::File;
use std::io::Write;

use crate::complete::Complete;
use crate::error::Error;
use crate::lines::{BOM, content_end, is_blank};
use crate::probe::Outcome;
use crate::report::Report;
use crate::scanner::{At, Body, Scanner, Settled};
use crate::sink::Sink;
use crate::source::{self, Pager, RELEASE_STEP};

/// Bytes asked of the reader at a time.
const READ_CHUNK: usize = 256 << 10;
/// A pending line is first looked at when it reaches `max(probe, min(HOLD, max_line))` bytes.
const HOLD: usize = 1 << 20;
/// Progress is reported about this often (in bytes).
const PROGRESS_STEP: u64 = 16 << 20;

/// Scans everything `reader` yields, settling each line as its LF arrives.
pub(crate) fn scan<R: Read, S: Sink>(
    scanner: &mut Scanner,
    reader: R,
    sink: &mut S,
) -> Result<Report, S::Error> {
    let (probe, max_line, _) = scanner.limits();
    let hold = probe.max(HOLD.min(max_line));
    let mut s = Streamer {
        scanner,
        buf: Vec::new(),
        cur: Cursor::default(),
        hold,
        long: None,
        report: Report::default(),
        read: 0,
        next_progress: PROGRESS_STEP,
        bom_checked: false,
        stopped: false,
    };
    s.run(reader, sink)
}

struct Streamer<'s> {
    scanner: &'s mut Scanner,
    /// Input bytes from offset `cur.base`: settled lines not yet dropped, then the pending
    /// line from `cur.start` (empty while a line is read through).
    buf: Vec<u8>,
    cur: Cursor,
    hold: usize,
    /// The pending line, when it is longer than `hold`.
    long: Option<Long>,
    report: Report,
    /// Bytes read so far.
    read: u64,
    next_progress: u64,
    bom_checked: bool,
    stopped: bool,
}

/// A pending line longer than `hold`, of which memory keeps only the first bytes.
struct Long {
    /// Offset of the line's first byte.
    offset: u64,
    /// The first bytes (at least `hold` of them; only `probe` once it is over `max_line`).
    head: Vec<u8>,
    /// Bytes of the line seen so far (no LF among them).
    raw: u64,
    /// Whether every byte seen so far is blank.
    blank: bool,
    /// The last byte seen (a CR there belongs to the terminator if an LF follows).
    last: u8,
    /// The structural completeness check, fed every byte of the line.
    structure: Complete,
    /// Every byte of the line, while it may have to be settled whole.
    spool: Option<File>,
    /// Whether the line has been decided again since it passed `max_line`.
    checked_over_max_line: bool,
}

impl Streamer<'_> {
    fn run<R: Read, S: Sink>(&mut self, mut reader: R, sink: &mut S) -> Result<Report, S::Error> {
        let mut chunk = Vec::new();
        while !self.stopped {
            // The reader may block now: let the sink hand on what it holds.
            sink.waiting()?;
            if self.long.is_some() {
                chunk.resize(READ_CHUNK, 0);
                let n = read(&mut reader, &mut chunk)?;
                if n == 0 {
                    break;
                }
                self.read += n as u64;
                let lf = memchr(b'\n', &chunk[..n]);
                self.consume_long(&chunk[..lf.unwrap_or(n)])?;
                let Some(i) = lf else { continue };
                self.settle_long(true, sink)?;
                self.buf.clear();
                self.buf.extend_from_slice(&chunk[i + 1..n]);
                if self.stopped {
                    break;
                }
            } else {
                let old = self.buf.len();
                self.buf.resize(old + READ_CHUNK, 0);
                let n = match read(&mut reader, &mut self.buf[old..]) {
                    Ok(n) => n,
                    Err(e) => {
                        self.buf.truncate(old);
                        return Err(e.into());
                    }
                };
                self.buf.truncate(old + n);
                if n == 0 {
                    break;
                }
                self.read += n as u64;
            }
            self.settle_buffered(false, sink)?;
            if self.read >= self.next_progress {
                sink.progress(self.read, 0);
                self.next_progress = self.read + PROGRESS_STEP;
            }
        }
        if !self.stopped {
            self.settle_buffered(true, sink)?;
        }
        if !self.stopped {
            if self.long.is_some() {
                self.settle_long(false, sink)?;
            } else {
                self.cur
                    .settle_unterminated(&self.buf, self.scanner, &mut self.report, sink)?;
            }
        }
        self.report.bytes = self.read;
        debug_assert!(self.report.is_consistent(), "{:?}", self.report);
        sink.progress(self.read, self.read);
        sink.finish(&self.report)?;
        Ok(std::mem::take(&mut self.report))
    }

    /// Settles the complete lines in `buf`, drops them, and decides what to do with a pending
    /// line that has grown. At the end of input (`at_end`) a short input decides the BOM.
    fn settle_buffered<S: Sink>(&mut self, at_end: bool, sink: &mut S) -> Result<(), S::Error> {
        if self.long.is_some() {
            return Ok(());
        }
        if !self.bom_checked {
            if !self.cur.skip_bom(&self.buf, at_end) {
                return Ok(());
            }
            self.bom_checked = true;
        }
        if !self.stopped {
            self.stopped = self.cur.settle_complete(
                &self.buf,
                self.scanner,
                &mut self.report,
                sink,
                |_, _| {},
            )?;
        }
        self.cur.compact(&mut self.buf);
        if !self.stopped && !at_end && self.buf.len() > self.hold {
            self.start_long()?;
        }
        let keep = self.hold + READ_CHUNK;
        if self.buf.capacity() > 4 * keep && self.buf.len() <= keep {
            self.buf.shrink_to(keep);
        }
        Ok(())
    }

    /// Whether a long line of `raw` bytes so far, with these first bytes, may still have to
    /// be settled whole (parsed, or classified on all of it).
    fn may_need_whole(&mut self, head: &[u8], raw: u64) -> bool {
        let (probe, max_line, ceiling) = self.scanner.limits();
        // A CR at the end may be the terminator's: a line is known to be over a limit only
        // once it has a byte more than the limit plus that CR.
        if raw > ceiling as u64 + 1 {
            return false;
        }
        if raw > max_line as u64 + 1 {
            // Classified from its first `probe` bytes: a decision there is final.
            return matches!(
                self.scanner.classify_prefix(&head[..probe]),
                None | Some(Outcome::Retain(_))
            );
        }
        // At most max_line so far: classified exactly. A prefix that decided it decides the
        // whole line alike (the probe stops where it decides). The last byte is left out: a
        // CR there may be the terminator's, not the line's.
        let prefix = &head[..head.len().saturating_sub(1).min(max_line)];
        matches!(
            self.scanner.classify_prefix(prefix),
            None | Some(Outcome::Retain(_) | Outcome::Undecided)
        )
    }

    /// The pending line (all of `buf`) has grown past `hold`: from now on only its head is
    /// kept in memory, and all of it in a spool while it may have to be settled whole.
    fn start_long(&mut self) -> Result<(), Error> {
        let head = std::mem::take(&mut self.buf);
        let raw = head.len() as u64;
        let spool = if self.may_need_whole(&head, raw) {
            let mut f = self.new_spool()?;
            f.write_all(&head).map_err(|e| self.spool_err(e))?;
            Some(f)
        } else {
            None
        };
        let mut structure = Complete::new();
        structure.feed(&head);
        self.long = Some(Long {
            offset: self.cur.base,
            raw,
            blank: is_blank(&head),
            last: head[head.len() - 1],
            head,
            structure,
            spool,
            checked_over_max_line: false,
        });
        self.cur.start = 0;
        self.cur.searched = 0;
        Ok(())
    }

    /// More bytes of the long line (no LF among them).
    fn consume_long(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let (probe, max_line, ceiling) = self.scanner.limits();
        let Some(&b) = bytes.last() else {
            return Ok(());
        };
        let l = self.long.as_mut().expect("a long line");
        l.raw += bytes.len() as u64;
        l.blank = l.blank && is_blank(bytes);
        l.last = b;
        l.structure.feed(bytes);
        if l.raw > ceiling as u64 + 1 {
            l.spool = None;
        }
        if l.raw > max_line as u64 + 1 && !l.checked_over_max_line {
            // Only the first `probe` bytes matter from now on.
            l.checked_over_max_line = true;
            l.head.truncate(probe);
            l.head.shrink_to_fit();
            if l.spool.is_some() {
                let (head, raw) = (std::mem::take(&mut l.head), l.raw);
                let keep = self.may_need_whole(&head, raw);
                let l = self.long.as_mut().expect("a long line");
                l.head = head;
                if !keep {
                    l.spool = None;
                }
            }
        }
        let l = self.long.as_mut().expect("a long line");
        if let Some(f) = &mut l.spool
            && let Err(e) = f.write_all(bytes)
        {
            return Err(self.spool_err(e));
        }
        Ok(())
    }

    /// Settles the long line: its LF has just been read (`has_lf`), or the input ended.
    fn settle_long<S: Sink>(&mut self, has_lf: bool, sink: &mut S) -> Result<(), S::Error> {
        let l = self.long.take().expect("a long line");
        let (_, _, ceiling) = self.scanner.limits();
        let cr = l.raw > 0 && l.last == b'\r';
        let len = usize::try_from(l.raw - u64::from(cr)).unwrap_or(usize::MAX);
        self.cur.number += 1;
        self.cur.base = l.offset + l.raw + u64::from(has_lf);
        self.cur.start = 0;
        self.cur.searched = 0;
        let r = if let Some(spool) = &l.spool {
            let at = At {
                number: self.cur.number,
                offset: l.offset,
                len,
                has_lf,
                known_valid: false,
                decided: None,
            };
            // SAFETY: an unnamed temporary file that only this process holds and that nobody
            // else can open: no one truncates or modifies it while it is mapped.
            let map = unsafe { source::map(spool, self.spool_dir()) }?;
            let mut pager = Pager::new(Some(&map));
            let mut again = 0;
            let mut release = |i: usize| {
                if i >= again + RELEASE_STEP {
                    pager.release_range(again, i);
                    again = i;
                }
            };
            let r = self.scanner.settle(
                &at,
                Body::Whole(&map[..len]),
                &mut self.report,
                sink,
                &mut release,
            )?;
            drop(map);
            source::drop_cache(spool);
            r
        } else {
            let complete = l.structure.complete();
            // A last line without LF is checked structurally here (see the module docs):
            // settled as if it had an LF, then `truncated` is set from the structural check.
            let checked_here = !has_lf && !l.blank && len <= ceiling;
            let at = At {
                number: self.cur.number,
                offset: l.offset,
                len,
                has_lf: has_lf || checked_here,
                known_valid: false,
                decided: None,
            };
            let body = Body::Head {
                bytes: &l.head,
                blank: l.blank,
                complete: (!has_lf && len > ceiling).then_some(complete),
            };
            let r = self
                .scanner
                .settle(&at, body, &mut self.report, sink, &mut |_| {})?;
            if checked_here && !complete {
                self.report.truncated = true;
            }
            r
        };
        debug_assert_ne!(r, Settled::NeedWhole, "a long line needs no more");
        self.stopped |= r == Settled::Stop;
        Ok(())
    }

    fn spool_dir(&self) -> Option<&std::path::Path> {
        self.scanner.spool_dir()
    }

    /// An unnamed spool file for a long line.
    fn new_spool(&self) -> Result<File, Error> {
        match self.spool_dir() {
            Some(d) => tempfile::tempfile_in(d).map_err(|e| Error::io(Some(d), e)),
            None => tempfile::tempfile().map_err(|e| Error::io(Some(&std::env::temp_dir()), e)),
        }
    }

    fn spool_err(&self, e: io::Error) -> Error {
        let dir = self
            .spool_dir()
            .map_or_else(std::env::temp_dir, |d| d.to_path_buf());
        Error::io(Some(&dir), e)
    }
}

/// Reads into `buf`, retrying on `Interrupted`.
/// Where a buffered line reader (the streamer, the follower) stands in its buffer: the buffer
/// holds the input from offset `base`, the pending line starts at `start`,
/// `buf[start..searched]` holds no LF, and `number` lines have been settled.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cursor {
    pub(crate) base: u64,
    pub(crate) start: usize,
    pub(crate) searched: usize,
    pub(crate) number: u64,
}

impl Cursor {
    /// At the start of the input (nothing settled yet): skips a BOM at the front of `buf`.
    /// Returns whether that is decided: not while `buf` holds only the first bytes of a BOM,
    /// unless the input ends there (`at_end`); no line may be settled before.
    pub(crate) fn skip_bom(&mut self, buf: &[u8], at_end: bool) -> bool {
        if buf.len() < BOM.len() && BOM.starts_with(buf) && !at_end {
            return false;
        }
        if buf.starts_with(BOM) {
            self.start = BOM.len();
            self.searched = BOM.len();
        }
        true
    }

    /// Settles the complete (LF-ended) lines of `buf` from `start` on, as a full scan does,
    /// calling `settled` with the offset just past each one's LF. Returns whether the sink
    /// asked to stop (then no further line is settled).
    pub(crate) fn settle_complete<S: Sink>(
        &mut self,
        buf: &[u8],
        scanner: &mut Scanner,
        report: &mut Report,
        sink: &mut S,
        mut settled: impl FnMut(&mut Report, u64),
    ) -> Result<bool, S::Error> {
        loop {
            let Some(i) = memchr(b'\n', &buf[self.searched..]) else {
                self.searched = buf.len();
                return Ok(false);
            };
            let term = self.searched + i;
            let end = content_end(buf, self.start, term);
            let at = self.next_line(end, true);
            let body = Body::Whole(&buf[self.start..end]);
            let r = scanner.settle(&at, body, report, sink, &mut |_| {})?;
            debug_assert_ne!(r, Settled::NeedWhole);
            self.start = term + 1;
            self.searched = term + 1;
            settled(report, self.base + self.start as u64);
            if r == Settled::Stop {
                return Ok(true);
            }
        }
    }

    /// At the end of the input: settles the pending line of `buf`, if it has any byte, as a
    /// last line without LF. Returns whether the sink asked to stop.
    pub(crate) fn settle_unterminated<S: Sink>(
        &mut self,
        buf: &[u8],
        scanner: &mut Scanner,
        report: &mut Report,
        sink: &mut S,
    ) -> Result<bool, S::Error> {
        if buf.len() <= self.start {
            return Ok(false);
        }
        let end = content_end(buf, self.start, buf.len());
        let at = self.next_line(end, false);
        let body = Body::Whole(&buf[self.start..end]);
        Ok(scanner.settle(&at, body, report, sink, &mut |_| {})? == Settled::Stop)
    }

    /// Counts the pending line, whose content ends at `end` in the buffer: its place.
    fn next_line(&mut self, end: usize, has_lf: bool) -> At {
        self.number += 1;
        At {
            number: self.number,
            offset: self.base + self.start as u64,
            len: end - self.start,
            has_lf,
            known_valid: false,
            decided: None,
        }
    }

    /// Drops the settled lines from the front of `buf`.
    pub(crate) fn compact(&mut self, buf: &mut Vec<u8>) {
        if self.start > 0 {
            buf.drain(..self.start);
            self.base += self.start as u64;
            self.searched -= self.start;
            self.start = 0;
        }
    }
}

fn read(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, Error> {
    loop {
        match reader.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(None, e)),
        }
    }
}
