//! The parallel scan of a whole input (a mapping or a slice), for `threads(n)` with `n > 1`.
//!
//! The calling thread cuts the input into chunks at LF boundaries as the scan goes: a chunk
//! that starts at `from` ends after the first LF at or after `from + chunk`. The cutter looks
//! for it within [`WINDOW`] bytes itself; a line that goes on further (a giant line) is
//! searched by the workers, a chunk-sized piece each, several at once, and the first LF of the
//! first piece that has one ends the chunk (up to `n - 1` pieces past it are searched for
//! nothing). A giant line is not searched again: the worker that settles the chunk is told
//! that no LF lies between the nominal cut and the chunk's last byte. Workers, each with a
//! scanner of its own, settle the lines of a chunk with the same [`Scanner::settle`] as the sequential scan, into a private
//! recording sink: what the real sink would have been told (retained lines as offsets and
//! lengths, dropped, malformed and unclassified lines), with line numbers relative to the
//! chunk, and the chunk's counts. The calling thread takes the chunks back in file order,
//! corrects the line numbers by the lines of the chunks before, and makes the real sink
//! calls: retained lines become [`Event`]s again there, in order, so decoding stays lazy and
//! the sink never leaves the calling thread.
//!
//! Bounds: at most [`IN_FLIGHT_PER_THREAD`] chunks per worker are cut and not yet merged;
//! workers release the pages behind them and their whole chunk when done, the calling thread
//! releases behind the lines it hands on; a worker whose records of one chunk exceed
//! [`RECORD_BUDGET`] (a chunk of tiny malformed lines) stops there, and the calling thread
//! settles the rest of that chunk itself, straight into the sink.
//!
//! A sink that stops the scan stops the workers (a flag they check at every line); the
//! report is then the sequential scan's: the stopping chunk's lines up to the stopping line
//! are counted again, without a sink.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread;

use memchr::memchr;

use crate::block::RELEASE_EVERY;
use crate::decode::Event;
use crate::lines::{Line, content_end, first_line_start};
use crate::report::{Dropped, Malformed, Report};
use crate::scanner::{At, Body, Scanner, Settled};
use crate::sink::Sink;
use crate::source::Pager;

/// The default nominal chunk size.
pub(crate) const DEFAULT_CHUNK: usize = 8 << 20;
/// Chunks cut and not yet merged, per worker.
const IN_FLIGHT_PER_THREAD: usize = 2;
/// A worker stops recording a chunk once its records take about this many bytes.
const RECORD_BUDGET: usize = 2 << 20;
/// LFs are searched in pieces of this size, releasing the pages behind each.
const SEARCH_CHUNK: usize = 1 << 20;
/// Progress is reported about this often (in bytes).
const PROGRESS_STEP: usize = 16 << 20;

/// A chunk of the input: whole lines.
#[derive(Clone, Copy, Debug)]
struct Span {
    /// Its first byte: the start of a line.
    from: usize,
    /// One past its last byte: past an LF, or the end of the input.
    to: usize,
    /// No LF lies in `[lf_free_from, to - 1)` (the cutter searched those bytes).
    lf_free_from: usize,
    /// Whether the byte at `to - 1` is an LF.
    ends_lf: bool,
}

/// The cutter looks this far past a nominal cut for its LF itself; a line that goes on
/// further (a giant line) is searched by the workers, in pieces of the chunk size.
const WINDOW: usize = 64 << 10;

/// What the cutter found at the nominal cut of the chunk that starts at `from`: the chunk, or
/// where the workers must search on (no LF within the window).
enum Cut {
    Chunk(Span),
    SearchFrom { nominal: usize, at: usize },
}

/// Cuts the chunk that starts at `from`, when its LF is near the nominal cut.
fn cut(data: &[u8], from: usize, chunk: usize) -> Cut {
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
    match memchr(b'\n', &data[nominal..window]) {
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

/// The first LF in `data[from..to]`, searched in steps that release the pages behind them.
fn search(data: &[u8], from: usize, to: usize, pager: &mut Pager<'_>) -> Option<usize> {
    let mut at = from;
    while at < to {
        let stop = to.min(at + SEARCH_CHUNK);
        if let Some(i) = memchr(b'\n', &data[at..stop]) {
            pager.release_range(from, at + i);
            return Some(at + i);
        }
        pager.release_range(at, stop);
        at = stop;
    }
    None
}

/// A giant line's LF being searched by the workers, piece by piece.
struct Searching {
    /// Which search (results of an earlier one still arriving are ignored).
    id: u64,
    /// Where the chunk starts, and its nominal cut.
    from: usize,
    nominal: usize,
    /// The next piece to hand out.
    at: usize,
    /// Every piece before this one has no LF.
    checked: usize,
    /// Pieces searched, by start: the LF found in each.
    found: BTreeMap<usize, Option<usize>>,
    /// Pieces handed out and not back.
    out: usize,
}

impl Searching {
    /// The chunk, once the pieces searched in order reach an LF or the end.
    fn resolve(&mut self, len: usize, piece: usize) -> Option<Span> {
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

/// Where [`settle_lines`] got to.
struct Reached {
    /// The start of the first line not settled (`span.to` when all were).
    pos: usize,
    /// Lines settled.
    lines: u64,
    /// The sink asked to stop.
    stopped: bool,
}

/// Settles the lines of `span` from `from` (a line start) on, numbering them after
/// `before`, until the end of the span, a sink that stops, a shrunk mapping, or `pause` (asked
/// before each line with the sink and the lines settled so far).
#[allow(clippy::too_many_arguments)]
fn settle_lines<S: Sink>(
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
        let mut at = start;
        let term = loop {
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
        };
        let has_lf = term < span.to;
        pos = if has_lf { term + 1 } else { span.to };
        let end = content_end(data, start, term);
        let bytes = &data[start..end];
        let at = At {
            number: before + lines,
            offset: start as u64,
            len: bytes.len(),
            has_lf,
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

/// One sink call a worker recorded, with its line number relative to the chunk.
enum Rec {
    Retained { number: u64, offset: u64, len: u64 },
    Dropped(Box<Dropped>),
    Malformed(Box<Malformed>),
    Unclassified { number: u64, offset: u64, len: u64 },
}

/// The workers' sink: records the calls, in order.
#[derive(Default)]
struct Recorder {
    recs: Vec<Rec>,
    /// About how many bytes the records take.
    bytes: usize,
}

impl Recorder {
    fn push(&mut self, rec: Rec, extra: usize) -> Result<bool, crate::Error> {
        self.bytes += std::mem::size_of::<Rec>() + extra;
        self.recs.push(rec);
        Ok(true)
    }
}

impl Sink for Recorder {
    type Error = crate::Error;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, crate::Error> {
        let line = event.line();
        let rec = Rec::Retained {
            number: line.number(),
            offset: line.offset(),
            len: line.len() as u64,
        };
        self.push(rec, 0)
    }

    fn dropped(&mut self, entry: &Dropped) -> Result<bool, crate::Error> {
        let extra = std::mem::size_of::<Dropped>() + entry.value.as_ref().map_or(0, String::len);
        self.push(Rec::Dropped(Box::new(entry.clone())), extra)
    }

    fn malformed(&mut self, entry: &Malformed) -> Result<bool, crate::Error> {
        let extra = std::mem::size_of::<Malformed>() + entry.error.len();
        self.push(Rec::Malformed(Box::new(entry.clone())), extra)
    }

    fn unclassified(&mut self, number: u64, offset: u64, len: u64) -> Result<bool, crate::Error> {
        let rec = Rec::Unclassified {
            number,
            offset,
            len,
        };
        self.push(rec, 0)
    }
}

/// A sink that takes everything: for counting lines again.
struct Discard;

impl Sink for Discard {
    type Error = crate::Error;

    fn retained(&mut self, _event: &mut Event<'_>) -> Result<bool, crate::Error> {
        Ok(true)
    }
}

/// What a worker is asked to do.
enum Job {
    /// Settle the lines of a chunk.
    Settle { index: usize, span: Span },
    /// Find the first LF in `data[from..to]` (a piece of a giant line).
    Search { id: u64, from: usize, to: usize },
}

/// A settled chunk.
struct Chunk {
    index: usize,
    span: Span,
    /// Where the worker stopped: `span.to` unless it paused.
    reached: usize,
    /// Lines the worker settled.
    lines: u64,
    /// Their counts (the logs are rebuilt from `recs`).
    report: Report,
    recs: Vec<Rec>,
}

enum Msg {
    Done(Box<Chunk>),
    /// The first LF of a piece, for search `id`.
    Found {
        id: u64,
        from: usize,
        lf: Option<usize>,
    },
    /// A worker panicked: the scope re-raises the panic once the calling thread lets go.
    Panicked,
}

/// Tells the calling thread when a worker unwinds, so that it does not wait for it.
struct PanicNotice(mpsc::Sender<Msg>);

impl Drop for PanicNotice {
    fn drop(&mut self) {
        if thread::panicking() {
            let _ = self.0.send(Msg::Panicked);
        }
    }
}

/// A worker: settles the chunks it is given until there are no more, or the scan stops.
fn work(
    mut scanner: Scanner,
    data: &[u8],
    pager: Pager<'_>,
    jobs: &Mutex<mpsc::Receiver<Job>>,
    done: mpsc::Sender<Msg>,
    stop: &AtomicBool,
) {
    let _notice = PanicNotice(done.clone());
    loop {
        let job = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let (index, span) = match job {
            Ok(Job::Settle { index, span }) => (index, span),
            Ok(Job::Search { id, from, to }) => {
                let lf = search(data, from, to, &mut pager.at(from));
                if done.send(Msg::Found { id, from, lf }).is_err() {
                    return;
                }
                continue;
            }
            Err(_) => return,
        };
        let mut pager = pager.at(span.from);
        let mut report = Report::default();
        let mut recorder = Recorder::default();
        let mut pause =
            |r: &Recorder, _: u64| stop.load(Ordering::Relaxed) || r.bytes >= RECORD_BUDGET;
        let reached = settle_lines(
            &mut scanner,
            data,
            span,
            span.from,
            0,
            &mut pager,
            &mut report,
            &mut recorder,
            &mut pause,
        )
        .expect("the recorder never fails");
        pager.release_range(span.from, span.to);
        let chunk = Chunk {
            index,
            span,
            reached: reached.pos,
            lines: reached.lines,
            report,
            recs: recorder.recs,
        };
        if done.send(Msg::Done(Box::new(chunk))).is_err() {
            return;
        }
    }
}

/// The calling thread's side of the merge.
struct Merge<'m> {
    report: Report,
    /// Lines in the chunks merged so far.
    base: u64,
    next_progress: usize,
    /// Releases behind the lines handed on.
    pager: Pager<'m>,
}

/// Adds the counts of `part` (not the logs, nor their totals: those are pushed entry by
/// entry).
fn add_counts(report: &mut Report, part: &Report) {
    report.lines += part.lines;
    report.blank += part.blank;
    report.retained += part.retained;
    report.skipped += part.skipped;
    report.oversize_skipped += part.oversize_skipped;
    report.oversize_unclassified += part.oversize_unclassified;
    report.truncated |= part.truncated;
}

impl Merge<'_> {
    /// Makes the sink calls of a chunk, in order, and counts it. `Ok(false)`: the sink
    /// stopped the scan.
    fn chunk<S: Sink>(
        &mut self,
        scanner: &mut Scanner,
        data: &[u8],
        c: Chunk,
        sink: &mut S,
    ) -> Result<bool, S::Error> {
        if let Some(e) = self.pager.shrunk() {
            return Err(e.into());
        }
        let base = self.base;
        for rec in c.recs {
            let (go, number) = match rec {
                Rec::Retained {
                    number,
                    offset,
                    len,
                } => {
                    let o = offset as usize;
                    self.pager.release_before(o);
                    let line = Line::new(base + number, offset, &data[o..o + len as usize]);
                    let mut event = Event::new(line, &mut scanner.decoder);
                    (sink.retained(&mut event)?, number)
                }
                Rec::Dropped(mut d) => {
                    let number = d.line;
                    d.line += base;
                    let go = sink.dropped(&d)?;
                    self.report.push_dropped(*d);
                    (go, number)
                }
                Rec::Malformed(mut m) => {
                    let number = m.line;
                    m.line += base;
                    let go = sink.malformed(&m)?;
                    self.report.push_malformed(*m);
                    (go, number)
                }
                Rec::Unclassified {
                    number,
                    offset,
                    len,
                } => (sink.unclassified(base + number, offset, len)?, number),
            };
            if !go {
                // Count the chunk's lines up to this one, as the sequential scan would have.
                let mut part = Report::default();
                let mut pager = self.pager.at(c.span.from);
                settle_lines(
                    scanner,
                    data,
                    c.span,
                    c.span.from,
                    0,
                    &mut pager,
                    &mut part,
                    &mut Discard,
                    &mut |_, n| n >= number,
                )
                .expect("discarding never fails");
                add_counts(&mut self.report, &part);
                return Ok(false);
            }
        }
        add_counts(&mut self.report, &c.report);
        self.base += c.lines;
        if c.reached < c.span.to {
            // The worker paused (its record budget): the rest of the chunk is settled here.
            let mut pager = self.pager.at(c.reached);
            let r = settle_lines(
                scanner,
                data,
                c.span,
                c.reached,
                self.base,
                &mut pager,
                &mut self.report,
                sink,
                &mut |_, _| false,
            )?;
            pager.release_range(c.reached, c.span.to);
            self.base += r.lines;
            if let Some(e) = self.pager.shrunk() {
                return Err(e.into());
            }
            if r.stopped {
                return Ok(false);
            }
        }
        self.pager.release_before(c.span.to);
        if c.span.to >= self.next_progress {
            sink.progress(c.span.to as u64, data.len() as u64);
            self.next_progress = c.span.to + PROGRESS_STEP;
        }
        Ok(true)
    }
}

/// The parallel scan of `data` (see the module documentation), with the scanner's `threads`
/// and `chunk`.
pub(crate) fn run<S: Sink>(
    scanner: &mut Scanner,
    data: &[u8],
    pager: &mut Pager<'_>,
    sink: &mut S,
) -> Result<Report, S::Error> {
    let threads = scanner.config().threads.max(1);
    let chunk = scanner.config().chunk.max(1);
    let len = data.len();
    let first = first_line_start(data);
    let mut merge = Merge {
        report: Report {
            bytes: len as u64,
            ..Report::default()
        },
        base: 0,
        next_progress: PROGRESS_STEP,
        pager: pager.at(first),
    };
    let stop = AtomicBool::new(false);
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Msg>();
    let workers: Vec<Scanner> = (0..threads).map(|_| scanner.rebuild()).collect();
    let merged: Result<(), S::Error> = thread::scope(|s| {
        for w in workers {
            let (done, jobs, stop, p) = (done_tx.clone(), &job_rx, &stop, pager.at(first));
            s.spawn(move || work(w, data, p, jobs, done, stop));
        }
        drop(done_tx);
        let mut go = || -> Result<(), S::Error> {
            let mut next = first;
            let (mut sent, mut merged) = (0usize, 0usize);
            let mut pending = BTreeMap::new();
            let mut searching: Option<Searching> = None;
            let mut searches = 0u64;
            loop {
                // Cut while chunks may be in flight; a giant line's LF is searched by the
                // workers, several pieces at once.
                loop {
                    if let Some(sr) = &mut searching {
                        if let Some(span) = sr.resolve(len, chunk) {
                            next = span.to;
                            let _ = job_tx.send(Job::Settle { index: sent, span });
                            sent += 1;
                            searching = None;
                            continue;
                        }
                        while sr.out < threads && sr.at < len {
                            let to = len.min(sr.at + chunk);
                            let (id, from) = (sr.id, sr.at);
                            let _ = job_tx.send(Job::Search { id, from, to });
                            sr.out += 1;
                            sr.at = to;
                        }
                        break;
                    }
                    if sent - merged >= threads * IN_FLIGHT_PER_THREAD || next >= len {
                        break;
                    }
                    match cut(data, next, chunk) {
                        Cut::Chunk(span) => {
                            next = span.to;
                            let _ = job_tx.send(Job::Settle { index: sent, span });
                            sent += 1;
                        }
                        Cut::SearchFrom { nominal, at } => {
                            searches += 1;
                            searching = Some(Searching {
                                id: searches,
                                from: next,
                                nominal,
                                at,
                                checked: at,
                                found: BTreeMap::new(),
                                out: 0,
                            });
                        }
                    }
                }
                if merged == sent && searching.is_none() {
                    return Ok(());
                }
                match done_rx.recv() {
                    Ok(Msg::Done(c)) => {
                        pending.insert(c.index, c);
                    }
                    Ok(Msg::Found { id, from, lf }) => {
                        if let Some(sr) = searching.as_mut().filter(|sr| sr.id == id) {
                            sr.found.insert(from, lf);
                            sr.out -= 1;
                        }
                    }
                    // The scope re-raises the worker's panic.
                    Ok(Msg::Panicked) | Err(_) => return Ok(()),
                }
                while let Some(c) = pending.remove(&merged) {
                    merged += 1;
                    if !merge.chunk(scanner, data, *c, sink)? {
                        return Ok(());
                    }
                }
            }
        };
        let r = go();
        stop.store(true, Ordering::Relaxed);
        drop(job_tx);
        r
    });
    merged?;
    if let Some(e) = pager.shrunk() {
        return Err(e.into());
    }
    let report = merge.report;
    debug_assert!(report.is_consistent(), "{report:?}");
    sink.progress(len as u64, len as u64);
    sink.finish(&report)?;
    Ok(report)
}
