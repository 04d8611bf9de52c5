//! The parallel scan of a whole input (a mapping or a slice), for `threads(n)` with `n > 1`.
//!
//! The calling thread cuts the input into chunks at LF boundaries as the scan goes: a chunk
//! that starts at `from` ends after the first LF at or after `from + chunk`. The cutter looks
//! for it within [`cut::WINDOW`] bytes itself; a line that goes on further (a giant line) is
//! searched by the workers, a chunk-sized piece each, several at once, and the first LF of the
//! first piece that has one ends the chunk (up to `n - 1` pieces past it are searched for
//! nothing). A giant line is not searched again: the worker that settles the chunk is told
//! that no LF lies between the nominal cut and the chunk's last byte. Workers, each with a
//! scanner of its own, settle the lines of a chunk with the same [`Scanner::settle`] as the sequential scan, into a private
//! recording sink: what the real sink would have been told (retained lines, copied up to
//! [`record::COPY_BUDGET`] bytes a chunk and past it as offsets and lengths; dropped,
//! malformed and unclassified lines), with line numbers relative to the chunk, and the
//! chunk's counts. (The copies spare the calling thread mapping again the pages the worker
//! has released, and releasing them once more: every release that unmaps pages interrupts
//! the other cores.) The calling thread takes the chunks back in file order,
//! corrects the line numbers by the lines of the chunks before, and makes the real sink
//! calls: retained lines become [`Event`]s again there, in order, so decoding stays lazy and
//! the sink never leaves the calling thread.
//!
//! Bounds: at most [`IN_FLIGHT_PER_THREAD`] chunks per worker are cut and not yet merged
//! (with their copies, at most [`record::COPY_BUDGET`] bytes each);
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

mod chunk;
mod cut;
mod record;

use chunk::settle_lines;
use cut::{Cut, Searching, Span, cut, search};
use record::{Discard, Rec, Recorder, passed};

use crate::decode::Event;
use crate::lines::{Line, first_line_start};
use crate::report::Report;
use crate::scanner::Scanner;
use crate::sink::{Category, Sink};
use crate::source::Pager;

/// The default nominal chunk size.
pub(crate) const DEFAULT_CHUNK: usize = 4 << 20;
/// At most this many workers, whatever `threads` says.
const MAX_WORKERS: usize = 256;
/// Chunks cut and not yet merged, per worker.
const IN_FLIGHT_PER_THREAD: usize = 2;
/// A worker stops recording a chunk once its records take about this many bytes.
const RECORD_BUDGET: usize = 2 << 20;
/// A worker releases the pages behind it once a chunk's worth (at most this much) has
/// accumulated, and its whole chunk when done. Each release that unmaps pages costs a TLB
/// shootdown on every core running the scan's other threads, an interrupt that is dear on
/// virtual machines: fewer, larger ones (half the shootdowns of 2 MiB steps on small lines).
const WORKER_RELEASE_MAX: usize = 8 << 20;
/// Progress is reported about this often (in bytes).
const PROGRESS_STEP: usize = 16 << 20;

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
    /// The bytes of the retained lines recorded as copied.
    copies: Vec<u8>,
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
        let step = scanner.config().chunk.min(WORKER_RELEASE_MAX);
        let mut pager = pager.at(span.from).with_step(step);
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
            copies: recorder.copies,
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
        let mut copies = &c.copies[..];
        for rec in c.recs {
            let (go, number) = match rec {
                Rec::Retained {
                    number,
                    offset,
                    len,
                    copied,
                } => {
                    let (o, len) = (offset as usize, len as usize);
                    self.pager.release_before(o);
                    let bytes = if copied {
                        let (bytes, rest) = copies.split_at(len);
                        copies = rest;
                        bytes
                    } else {
                        &data[o..o + len]
                    };
                    let line = Line::new(base + number, offset, bytes);
                    let mut event = Event::new(line, &mut scanner.decoder);
                    // As in the sequential scan: a sink that failed because the file shrank
                    // under the line fails with the error that says so.
                    let go = sink
                        .retained(&mut event)
                        .map_err(|e| self.pager.shrunk().map_or(e, Into::into))?;
                    (go, number)
                }
                Rec::Dropped(mut d) => {
                    let number = d.line;
                    d.line += base;
                    let go = sink.dropped(&d)?
                        && sink.passed(&passed(
                            data,
                            &(d.line, d.offset, d.len),
                            Category::Dropped,
                        ))?;
                    self.report.push_dropped(*d);
                    (go, number)
                }
                Rec::Malformed(mut m) => {
                    let number = m.line;
                    m.line += base;
                    let go = sink.malformed(&m)?
                        && sink.passed(&passed(
                            data,
                            &(m.line, m.offset, m.len),
                            Category::Malformed,
                        ))?;
                    self.report.push_malformed(*m);
                    (go, number)
                }
                Rec::Unclassified {
                    number,
                    offset,
                    len,
                } => {
                    let at = (base + number, offset, len);
                    let go = sink.unclassified(at.0, offset, len)?
                        && sink.passed(&passed(data, &at, Category::OversizeUnclassified))?;
                    (go, number)
                }
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
    let chunk = scanner.config().chunk.max(1);
    let len = data.len();
    // No more workers than chunks, nor than MAX_WORKERS.
    let threads = scanner
        .config()
        .threads
        .clamp(1, MAX_WORKERS)
        .min(len / chunk + 1);
    let first = first_line_start(data);
    let mut merge = Merge {
        report: Report {
            bytes: len as u64,
            ..Report::default()
        },
        base: 0,
        next_progress: PROGRESS_STEP,
        // The retained lines handed on are read again here: released a chunk's worth at a
        // time, as the workers release theirs (each release interrupts the workers' cores).
        pager: pager.at(first).with_step(chunk.min(WORKER_RELEASE_MAX)),
    };
    let stop = AtomicBool::new(false);
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Msg>();
    // A sink that wants every skipped line (`Sink::wants_skipped`) gets them on this thread.
    let threads = if sink.wants_skipped() { 0 } else { threads };
    let workers: Vec<Scanner> = (0..threads).map(|_| scanner.rebuild()).collect();
    let merged: Result<(), S::Error> = thread::scope(|s| {
        let mut spawned = 0;
        for w in workers {
            let (done, jobs, stop, p) = (done_tx.clone(), &job_rx, &stop, pager.at(first));
            let worker = thread::Builder::new().name(format!("spoolscan-{spawned}"));
            match worker.spawn_scoped(s, move || work(w, data, p, jobs, done, stop)) {
                Ok(_) => spawned += 1,
                Err(e) => {
                    log::debug!("could not start a scan thread ({e}): {spawned} started");
                    break;
                }
            }
        }
        drop(done_tx);
        if spawned == 0 {
            // Not one thread could start: the calling thread scans alone.
            let span = Span {
                from: first,
                to: len,
                lf_free_from: len,
                ends_lf: data.last() == Some(&b'\n'),
            };
            let mut p = pager.at(first);
            let report = &mut merge.report;
            return settle_lines(
                scanner,
                data,
                span,
                first,
                0,
                &mut p,
                report,
                sink,
                &mut |_, _| false,
            )
            .map(|_| ());
        }
        let threads = spawned;
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
    sink.read_back(&crate::readback::Input::slice(data, Some(pager)), &report)?;
    sink.finish(&report)?;
    Ok(report)
}
