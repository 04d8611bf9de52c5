//! Cutting the input into chunks at LFs; the search of a giant line's LF in pieces.

use std::collections::BTreeMap;

use crate::mapped_lines::{SHARED, search_lf};
use crate::simd;
use crate::source::Pager;

/// A chunk of the input: whole lines.
#[derive(Clone, Copy, Debug)]
pub(super) struct Span {
    /// Its first byte: the start of a line.
    pub(super) from: usize,
    /// One past its last byte: past an LF, or the end of the input.
    pub(super) to: usize,
    /// No LF lies in `[lf_free_from, to - 1)` (the cutter searched those bytes).
    pub(super) lf_free_from: usize,
    /// Whether the byte at `to - 1` is an LF.
    pub(super) ends_lf: bool,
}

/// The cutter looks this far past a nominal cut for its LF itself; a line that goes on
/// further (a giant line) is searched by the workers, in pieces of the chunk size.
pub(super) const WINDOW: usize = 64 << 10;

/// What the cutter found at the nominal cut of the chunk that starts at `from`: the chunk, or
/// where the workers must search on (no LF within the window).
pub(super) enum Cut {
    Chunk(Span),
    SearchFrom { nominal: usize, at: usize },
}

/// Cuts the chunk that starts at `from`, when its LF is near the nominal cut.
pub(super) fn cut(data: &[u8], from: usize, chunk: usize) -> Cut {
    let len = data.len();
    let nominal = from.saturating_add(chunk);
    if nominal >= len {
        return Cut::Chunk(Span {
            from,
            to: len,
            lf_free_from: len,
            ends_lf: data.last() == Some(&b'\n'),
        });
    }
    let window = len.min(nominal + WINDOW.min(chunk));
    match simd::find_lf(&data[nominal..window]) {
        Some(i) => Cut::Chunk(Span {
            from,
            to: nominal + i + 1,
            lf_free_from: nominal,
            ends_lf: true,
        }),
        None if window == len => Cut::Chunk(Span {
            from,
            to: len,
            lf_free_from: nominal,
            ends_lf: false,
        }),
        None => Cut::SearchFrom {
            nominal,
            at: window,
        },
    }
}

/// A fault may map this much past the bytes read (a whole large folio of the page cache).
const FOLIO_MAX: usize = 2 << 20;

/// The first LF in `data[from..to]`, searched in steps that release the pages behind them.
///
/// The last faults of a piece may map (fault-around, a large folio of the page cache) pages
/// past `to` that the worker of the next piece has already gone past and released: those
/// are released here too, or every boundary between pieces of a giant line would leave up to
/// a folio resident until the whole line is done (measured: 48 MiB on 700 MiB lines searched
/// in 2 MiB pieces).
pub(super) fn search(data: &[u8], from: usize, to: usize, pager: &mut Pager<'_>) -> Option<usize> {
    let tail = data.len().min(to + FOLIO_MAX);
    // The last step releases the folio past the piece in the same call: every release that
    // unmaps pages interrupts the cores running the scan's other threads.
    let lf = search_lf(data, from, to, SHARED.search, |a, b| {
        pager.release_range(a, if b == to { tail } else { b })
    });
    match lf {
        Some(lf) => {
            pager.release_range(from, lf);
            pager.release_range(to, tail);
        }
        None if from == to => pager.release_range(to, tail),
        None => {}
    }
    lf
}

/// A giant line's LF being searched by the workers, piece by piece.
pub(super) struct Searching {
    /// Which search (results of an earlier one still arriving are ignored).
    pub(super) id: u64,
    /// Where the chunk starts, and its nominal cut.
    pub(super) from: usize,
    pub(super) nominal: usize,
    /// The next piece to hand out.
    pub(super) at: usize,
    /// Every piece before this one has no LF.
    pub(super) checked: usize,
    /// Pieces searched, by start: the LF found in each.
    pub(super) found: BTreeMap<usize, Option<usize>>,
    /// Pieces handed out and not back.
    pub(super) out: usize,
}

impl Searching {
    /// The chunk, once the pieces searched in order reach an LF or the end.
    pub(super) fn resolve(&mut self, len: usize, piece: usize) -> Option<Span> {
        while let Some(lf) = self.found.remove(&self.checked) {
            if let Some(lf) = lf {
                return Some(Span {
                    from: self.from,
                    to: lf + 1,
                    lf_free_from: self.nominal,
                    ends_lf: true,
                });
            }
            self.checked = len.min(self.checked + piece);
        }
        (self.checked >= len).then_some(Span {
            from: self.from,
            to: len,
            lf_free_from: self.nominal,
            ends_lf: false,
        })
    }
}
