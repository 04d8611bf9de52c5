//! The lines of an input held whole (a mapping, or a slice): finding each line's LF in steps
//! that release the pages behind them, and settling the line found. Shared by the sequential
//! scan loop and the parallel scan's workers and calling thread, so that both find, number,
//! release and settle lines alike.

use crate::report::Report;
use crate::scanner::Scanner;
use crate::settle::{At, Body, Settled};
use crate::simd;
use crate::sink::Sink;
use crate::source::{Pager, RELEASE_STEP};

/// How far into a long line a scan loop goes before it releases the pages behind it: in its
/// LF search, and as the probe reads it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Steps {
    /// The LF is searched for `search` bytes at a time.
    pub(crate) search: usize,
    /// The probe's reading is released every `release` bytes.
    pub(crate) release: usize,
}

/// The sequential scan's steps: a giant line is never resident as a whole, and few large
/// releases keep the madvise calls cheap.
pub(crate) const ALONE: Steps = Steps {
    search: 4 << 20,
    release: RELEASE_STEP,
};

/// The parallel scan's workers' steps. Several workers may be in long lines at once, so each
/// holds less than the sequential scan; but each release that unmaps pages interrupts the
/// cores running the scan's other threads (a TLB shootdown: an inter-processor interrupt, dear
/// on virtual machines), so the steps are not small. The LF search releases every 2 MiB (the
/// largest folio a fault maps): two threads on 161 MB of giant lines made 98 `madvise` calls
/// instead of 284 with 1 MiB steps, and spent 40% less CPU time on the interrupts; 4 MiB steps
/// (70 calls) let two workers in 16 MiB lines hold up to 16 MiB of the file, against 10 MiB
/// with 1 MiB steps and 13 MiB with 2 MiB. The probe, reading long lines, releases every 1 MiB.
pub(crate) const SHARED: Steps = Steps {
    search: 2 << 20,
    release: 1 << 20,
};

const _: () = assert!(RELEASE_STEP <= ALONE.search);

/// The first LF in `data[at..limit]`, searched `step` bytes at a time; `searched(from, to)`
/// is told each step `data[from..to]` that holds none, to release its pages.
#[inline]
pub(crate) fn search_lf(
    data: &[u8],
    mut at: usize,
    limit: usize,
    step: usize,
    mut searched: impl FnMut(usize, usize),
) -> Option<usize> {
    while at < limit {
        let stop = limit.min(at + step);
        if let Some(i) = simd::find_lf(&data[at..stop]) {
            return Some(at + i);
        }
        searched(at, stop);
        at = stop;
    }
    None
}

impl Scanner {
    /// Settles the line `at` of `data` ([`Scanner::settle`]), releasing the pages of a long
    /// line as its classification goes past them (every `steps.release` bytes), and again
    /// those it read behind the pager's watermark.
    #[inline]
    pub(crate) fn settle_found<S: Sink>(
        &mut self,
        data: &[u8],
        at: &At,
        steps: Steps,
        pager: &mut Pager<'_>,
        report: &mut Report,
        sink: &mut S,
    ) -> Result<Settled, S::Error> {
        if self.skipped_as_decided(at, report, sink) {
            // Decided within the probe's window, read before the LF search released anything:
            // no page to release again.
            return Ok(Settled::Go);
        }
        let start = at.offset as usize;
        let bytes = &data[start..start + at.len];
        // A long line read again by the probe: release what it has gone past, in steps (at
        // once, not at the watermark: other workers may be in long lines too).
        let mut again = start;
        let mut release = |i: usize| {
            if start + i >= again + steps.release {
                pager.release_range(again, start + i);
                again = start + i;
            }
        };
        let settled = self
            .settle(at, Body::Whole(bytes), report, sink, &mut release)
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
        const STEP: usize = 1000;
        let mut data = vec![b'x'; 2 * STEP + 100];
        let mut steps = vec![];
        assert_eq!(
            search_lf(&data, 5, data.len(), STEP, |a, b| steps.push((a, b))),
            None
        );
        let len = data.len();
        let want = [(5, 5 + STEP), (5 + STEP, 5 + 2 * STEP)];
        assert_eq!(steps[..2], want);
        assert_eq!(steps[2], (5 + 2 * STEP, len));
        data[STEP + 7] = b'\n';
        steps.clear();
        let lf = search_lf(&data, 5, data.len(), STEP, |a, b| steps.push((a, b)));
        assert_eq!(lf, Some(STEP + 7));
        assert_eq!(steps, [(5, 5 + STEP)]);
        // Nothing past `limit` is searched.
        assert_eq!(search_lf(&data, 5, STEP + 7, STEP, |_, _| {}), None);
        assert_eq!(search_lf(&data, 9, 9, STEP, |_, _| panic!("no step")), None);
    }
}
