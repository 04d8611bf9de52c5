//! Settling the lines of a chunk (or of the rest of one) with [`Scanner::settle`].

use super::cut::Span;
use crate::lines::content_end;
use crate::mapped_lines::{SHARED, search_lf};
use crate::report::Report;
use crate::scanner::{At, Scanner, Settled};
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
        let ahead = scanner.ahead(data, start, limit);
        // Past the cutter's search (`limit`), the chunk's last byte ends this line. The pages
        // searched are released at once, not at the watermark: several workers search at once.
        // The last step, up to `limit`, is not: the whole chunk is released when done, and
        // each release that unmaps pages interrupts the other workers' cores (a chunk's last
        // line would otherwise cost one more, of a page or two, in every chunk).
        let term = ahead
            .lf
            .or_else(|| {
                search_lf(data, ahead.from, limit, SHARED.search, |a, b| {
                    if b < limit {
                        pager.release_range(a, b)
                    }
                })
            })
            .unwrap_or(if span.ends_lf { span.to - 1 } else { span.to });
        let has_lf = term < span.to;
        pos = if has_lf { term + 1 } else { span.to };
        let at = At {
            number: before + lines,
            offset: start as u64,
            len: content_end(data, start, term) - start,
            has_lf,
            known_valid: ahead.known_valid,
            decided: ahead.decided,
        };
        let settled = scanner.settle_found(data, &at, SHARED, pager, report, sink)?;
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
