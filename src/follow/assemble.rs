//! Line assembly: the bytes read are settled line by line, a pending line longer than `hold`
//! keeping only its first bytes (long mode) until its LF arrives.

use std::time::Instant;

use memchr::memchr;

use crate::lines::is_blank;
use crate::scanner::{At, Body, Settled};
use crate::sink::Sink;

use super::{Follower, KEEP_WHOLE, Long, POLL_BUDGET, PROGRESS_STEP, READ_CHUNK};

impl Follower {
    /// Reads and settles until the file has nothing new. Returns whether anything was read.
    /// With `budget`, returns after about [`POLL_BUDGET`] of work even when more is there, so
    /// that a writer faster than the scan cannot keep [`Follower::follow`] from asking
    /// whether it is done (a child's timeout and size cap are enforced there).
    pub(super) fn pump<S: Sink>(&mut self, sink: &mut S, budget: bool) -> Result<bool, S::Error> {
        let mut got = false;
        let until = budget.then(|| Instant::now() + POLL_BUDGET);
        while !self.stopped {
            if got && until.is_some_and(|t| Instant::now() >= t) {
                break;
            }
            let n = self.read_chunk()?;
            if n == 0 {
                break;
            }
            got = true;
            self.settle_read(n, sink)?;
            if self.report.bytes >= self.next_progress {
                sink.progress(self.report.bytes, self.known_len);
                self.next_progress = self.report.bytes + PROGRESS_STEP;
            }
        }
        Ok(got)
    }

    /// Settles what the last read of `n` bytes completed.
    pub(super) fn settle_read<S: Sink>(&mut self, n: usize, sink: &mut S) -> Result<(), S::Error> {
        if let Some(mut long) = self.long {
            let hold = self.hold;
            let new = &self.buf[hold..];
            debug_assert_eq!(new.len(), n);
            match memchr(b'\n', new) {
                None => {
                    long.raw += n as u64;
                    long.blank = long.blank && is_blank(new);
                    long.last = new[n - 1];
                    self.long = Some(long);
                    self.buf.truncate(hold);
                    return Ok(());
                }
                Some(i) => {
                    long.raw += i as u64;
                    long.blank = long.blank && is_blank(&new[..i]);
                    if i > 0 {
                        long.last = new[i - 1];
                    }
                    self.settle_long(long, true, sink)?;
                    // The bytes after the LF start the next lines.
                    self.buf.drain(..hold + i + 1);
                    self.cur.base = long.offset + long.raw + 1;
                    self.cur.start = 0;
                    self.cur.searched = 0;
                    self.long = None;
                    self.report.bytes = self.cur.base;
                    if self.stopped {
                        return Ok(());
                    }
                }
            }
        }
        self.check_bom(false);
        self.settle_buffered(sink)
    }

    /// Decides whether the input starts with a BOM, once enough bytes are there (or at the
    /// end, `at_end`). Until then no line is settled.
    pub(super) fn check_bom(&mut self, at_end: bool) {
        if self.bom_checked || self.cur.base != 0 {
            self.bom_checked = true;
            return;
        }
        self.bom_checked = self.cur.skip_bom(&self.buf, at_end);
    }

    /// Settles the complete lines in `buf` (normal mode), compacts it, and switches to long
    /// mode when the pending line has grown past `hold`.
    pub(super) fn settle_buffered<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        if !self.bom_checked || self.long.is_some() {
            return Ok(());
        }
        if !self.stopped {
            // `report.bytes` follows the settled lines (`Follower::offset`).
            self.stopped = self.cur.settle_complete(
                &self.buf,
                &mut self.scanner,
                &mut self.report,
                sink,
                |report, end| report.bytes = end,
            )?;
        }
        self.cur.compact(&mut self.buf);
        if !self.stopped && self.buf.len() > self.hold {
            let b = &self.buf[..];
            self.long = Some(Long {
                offset: self.cur.base,
                raw: b.len() as u64,
                blank: is_blank(b),
                last: b[b.len() - 1],
            });
            self.buf.truncate(self.hold);
        }
        if self.buf.capacity() > 4 * (self.hold + READ_CHUNK) {
            self.buf.shrink_to(self.hold + READ_CHUNK);
        }
        Ok(())
    }

    /// Settles a long line (its first `hold` bytes are `buf[..hold]`), reading it back from
    /// the file when the scanner needs all of it.
    pub(super) fn settle_long<S: Sink>(
        &mut self,
        long: Long,
        has_lf: bool,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        let (_, _, ceiling) = self.scanner.limits();
        let cr = long.raw > 0 && long.last == b'\r';
        let len = usize::try_from(long.raw - u64::from(cr)).unwrap_or(usize::MAX);
        self.cur.number += 1;
        let at = At {
            number: self.cur.number,
            offset: long.offset,
            len,
            has_lf,
            known_valid: false,
            decided: None,
        };
        let complete = if !has_lf && !long.blank && len > ceiling {
            Some(self.structurally_complete(long.offset, len as u64)?)
        } else {
            None
        };
        let head = Body::Head {
            bytes: &self.buf[..self.hold],
            blank: long.blank,
            complete,
        };
        let mut r = self
            .scanner
            .settle(&at, head, &mut self.report, sink, &mut |_| {})?;
        if r == Settled::NeedWhole {
            debug_assert!(len <= ceiling);
            self.read_whole(long.offset, len)?;
            r = self.scanner.settle(
                &at,
                Body::Whole(&self.whole),
                &mut self.report,
                sink,
                &mut |_| {},
            )?;
            debug_assert_ne!(r, Settled::NeedWhole);
            if self.whole.capacity() > KEEP_WHOLE {
                self.whole = Vec::new();
            }
        }
        self.stopped |= r == Settled::Stop;
        Ok(())
    }
}
