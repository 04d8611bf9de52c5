//! Settling the lines of a chunk (or of the rest of one) with [`Scanner::settle`].

use memchr::memchr;

use super::SEARCH_CHUNK;
use super::cut::Span;
use crate::lines::content_end;
use crate::report::Report;
use crate::scanner::{At, Body, Scanner, Settled};
use crate::settle::RELEASE_EVERY;
use crate::sink::Sink;
use crate::source::Pager;

/// Where [`settle_lines`] got to.
pub(super) struct Reached {
    /// The start of the first line not settled (`span.to` when all were).
    pub(super) pos: usize,
    /// Lines settled.
    pub(super) lines: u64,
    /// The sink asked to stop.
    pub(super) stopped: bool,
}

/// Settles the lines of `span` from `from` (a line start) on, numbering them after
/// `before`, until the end of the span, a sink that stops, a shrunk mapping, or `pause` (asked
/// before each line with the sink and the lines settled so far).
#[allow(clippy::too_many_arguments)]
pub(super) fn settle_lines<S: Sink>(
    scanner: &mut Scanner,
    data: &[u8],
    span: Span,
    from: usize,
    before: u64,
    pager: &mut Pager<'_>,
    report: &mut Report,
    sink: &mut S,
    pause: &mut dyn FnMut(&S, u64) -> bool,
) -> Result<Reached, S::Error> {
    let mut pos = from;
    let mut lines = 0u64;
    while pos < span.to {
        if pause(sink, lines) || pager.shrunk().is_some() {
            break;
        }
        pager.release_before(pos);
        lines += 1;
        let start = pos;
        let limit = span.lf_free_from.min(span.to);
        let known = scanner.one_pass(data, start, limit);
        let mut at = start;
        let term = known.unwrap_or_else(|| {
            loop {
                if at >= limit {
                    // Past the cutter's search: the chunk's last byte ends this line.
                    break if span.ends_lf { span.to - 1 } else { span.to };
                }
                let stop = limit.min(at + SEARCH_CHUNK);
                if let Some(i) = memchr(b'\n', &data[at..stop]) {
                    break at + i;
                }
                // Released at once (not at the watermark's step): several workers search at once.
                pager.release_range(at, stop);
                at = stop;
            }
        });
        let has_lf = term < span.to;
        pos = if has_lf { term + 1 } else { span.to };
        let end = content_end(data, start, term);
        let bytes = &data[start..end];
        let at = At {
            number: before + lines,
            offset: start as u64,
            len: bytes.len(),
            has_lf,
            known_valid: known.is_some(),
        };
        // A long line read again by the probe: release what it has gone past, at every step
        // of the probe (several workers may be in long lines at once).
        let mut again = start;
        let mut release = |i: usize| {
            if start + i >= again + RELEASE_EVERY {
                pager.release_range(again, start + i);
                again = start + i;
            }
        };
        let settled = scanner.settle(&at, Body::Whole(bytes), report, sink, &mut release)?;
        pager.release_again_from(start);
        match settled {
            Settled::Go => {}
            Settled::Stop => {
                return Ok(Reached {
                    pos,
                    lines,
                    stopped: true,
                });
            }
            Settled::NeedWhole => unreachable!("a whole line is never sent back"),
        }
    }
    Ok(Reached {
        pos,
        lines,
        stopped: false,
    })
}
