//! The lines of an input held whole (a mapping, or a slice): finding each line's LF in steps
//! that release the pages behind them, and settling the line found. Shared by the sequential
//! scan loop and the parallel scan's workers and calling thread, so that both find, number,
//! release and settle lines alike.

use memchr::memchr;

use crate::lines::content_end;
use crate::report::Report;
use crate::scanner::Scanner;
use crate::settle::{At, Body, Settled};
use crate::sink::Sink;
use crate::source::{Pager, RELEASE_STEP};

/// A line's LF is searched for in steps of this size, the pages of each step without one
/// released behind it: a giant line is never resident as a whole. (Each release that unmaps
/// pages also interrupts the cores running the scan's other threads: fewer, larger steps.)
pub(crate) const SEARCH_STEP: usize = 4 << 20;

const _: () = assert!(RELEASE_STEP <= SEARCH_STEP);

/// The first LF in `data[at..limit]`, searched in steps of [`SEARCH_STEP`]; `searched(from, to)`
/// is told each step `data[from..to]` that holds none, to release its pages.
#[inline]
pub(crate) fn search_lf(
    data: &[u8],
    mut at: usize,
    limit: usize,
    mut searched: impl FnMut(usize, usize),
) -> Option<usize> {
    while at < limit {
        let stop = limit.min(at + SEARCH_STEP);
        if let Some(i) = memchr(b'\n', &data[at..stop]) {
            return Some(at + i);
        }
        searched(at, stop);
        at = stop;
    }
    None
}

/// A line a scan loop found in `data`.
pub(crate) struct Found {
    /// Its first byte.
    pub(crate) start: usize,
    /// Its LF, or the end of the input (or of a chunk's last line without LF).
    pub(crate) term: usize,
    /// Whether `term` is an LF.
    pub(crate) has_lf: bool,
    /// Whether the pass that found the LF also found the line valid JSON.
    pub(crate) known_valid: bool,
}

impl Scanner {
    /// Settles the line `found` of `data` as line `number` ([`Scanner::settle`], without its
    /// CR), releasing the pages of a long line as its classification goes past them, and
    /// again those it read behind the pager's watermark.
    #[inline]
    pub(crate) fn settle_found<S: Sink>(
        &mut self,
        data: &[u8],
        found: &Found,
        number: u64,
        pager: &mut Pager<'_>,
        report: &mut Report,
        sink: &mut S,
    ) -> Result<Settled, S::Error> {
        let start = found.start;
        let bytes = &data[start..content_end(data, start, found.term)];
        let at = At {
            number,
            offset: start as u64,
            len: bytes.len(),
            has_lf: found.has_lf,
            known_valid: found.known_valid,
        };
        // A long line read again by the probe: release what it has gone past, in steps (at
        // once, not at the watermark: other workers may be in long lines too).
        let mut again = start;
        let mut release = |i: usize| {
            if start + i >= again + RELEASE_STEP {
                pager.release_range(again, start + i);
                again = start + i;
            }
        };
        let settled = self
            .settle(&at, Body::Whole(bytes), report, sink, &mut release)
            // A sink that failed because the file shrank under the line (write(2) of a
            // mapped line says EFAULT) fails with the error that says so.
            .map_err(|e| pager.shrunk().map_or(e, Into::into))?;
        // Classifying or decoding may have read pages the LF search had released.
        pager.release_again_from(start);
        Ok(settled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_lf_reports_each_step_without_one() {
        let mut data = vec![b'x'; 2 * SEARCH_STEP + 100];
        let mut steps = vec![];
        assert_eq!(
            search_lf(&data, 5, data.len(), |a, b| steps.push((a, b))),
            None
        );
        let len = data.len();
        let want = [(5, 5 + SEARCH_STEP), (5 + SEARCH_STEP, 5 + 2 * SEARCH_STEP)];
        assert_eq!(steps[..2], want);
        assert_eq!(steps[2], (5 + 2 * SEARCH_STEP, len));
        data[SEARCH_STEP + 7] = b'\n';
        steps.clear();
        let lf = search_lf(&data, 5, data.len(), |a, b| steps.push((a, b)));
        assert_eq!(lf, Some(SEARCH_STEP + 7));
        assert_eq!(steps, [(5, 5 + SEARCH_STEP)]);
        // Nothing past `limit` is searched.
        assert_eq!(search_lf(&data, 5, SEARCH_STEP + 7, |_, _| {}), None);
        assert_eq!(search_lf(&data, 9, 9, |_, _| panic!("no step")), None);
    }
}
