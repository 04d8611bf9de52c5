//! Following a file that another process is still appending to (a spool of a running child, a
//! log being written): retained events come out as their lines are completed.
//!
//! The follower reads the file with positioned reads (`pread`) into a bounded buffer, never a
//! mapping (a file that is still growing cannot be mapped safely). A line is complete only at
//! its LF; a line that has not ended is never classified as if it had.
//!
//! Memory. While a line is pending, at most its first `hold = max(probe, min(1 MiB,
//! max_line))` bytes are kept; later bytes only move the offset. When the line ends, a long one
//! is settled from those first bytes whenever the contract allows it (a line over `max_line` is
//! classified from its first `probe` bytes; a shorter one whose prefix already decided it is
//! decided the same way on the whole line, since the probe stops where it decides). Only a line
//! that must be decoded or validated (retained, `validate_all`, or the last line without LF),
//! or that is at most `max_line` and undecided by its prefix, is read back from the file once
//! complete, and only up to the ceiling: the lines a full scan parses or scans whole too. So
//! the bytes held are bounded by a small constant plus what a full scan holds (DESIGN §6),
//! however long the run and however large the skipped lines.
//!
//! The last line of the finished file, when it lacks an LF, is checked for completeness as a
//! full scan does: parsed when it is at most the ceiling (read back from the file), checked
//! structurally above it (streamed from the file through [`Complete`](crate::complete::Complete), the same check as the
//! probe's `is_complete`, chunk by chunk).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;
use crate::report::Report;
use crate::scanner::Scanner;
use crate::sink::Sink;
use crate::stream::Cursor;

mod assemble;
mod read;

use read::file_id;

/// Bytes read from the file at a time.
const READ_CHUNK: usize = 1 << 20;
/// A pending line keeps at most its first `max(probe, min(HOLD, max_line))` bytes.
const HOLD: usize = 1 << 20;
/// The buffer for lines read back whole is freed after a line larger than this.
const KEEP_WHOLE: usize = 4 << 20;
/// The first nap of [`Follower::follow`] when nothing new was found; it doubles up to the
/// maximum wait.
const NAP_MIN: Duration = Duration::from_millis(1);
/// The default longest nap of [`Follower::follow`].
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_millis(50);
/// [`Follower::poll`] returns after about this much work, even if more is there.
const POLL_BUDGET: Duration = Duration::from_millis(20);
/// Bytes before the read position kept to check that the file was not rewritten.
const TAIL: usize = 64;
/// Progress is reported about this often (in bytes).
const PROGRESS_STEP: u64 = 16 << 20;

/// Follows a file that another process appends to, and scans it like a full scan as its lines
/// are completed.
///
/// Retained lines are pushed to a [`Sink`] as soon as the LF that ends them is in the file,
/// with the same selectors, limits, decoding and [`Report`] as [`Scanner::scan_path`]: once
/// the writer is done, [`Follower::finish`] handles the last line (one without LF is checked
/// for completeness as in a full scan) and returns a report equal to a full scan's of the
/// finished file. The sink gets the same [`retained`](Sink::retained),
/// [`dropped`](Sink::dropped), [`malformed`](Sink::malformed) and
/// [`unclassified`](Sink::unclassified) calls, in the same order, then
/// [`finish`](Sink::finish).
///
/// Three ways to drive it:
///
/// * [`Follower::follow`] blocks, polling the file with a bounded back-off (1 ms doubling up to
///   [`Follower::max_wait`], 50 ms by default; an idle follower costs a few `fstat` calls a
///   second), until a closure says the writer is done. Then call [`Follower::finish`].
/// * [`Follower::poll`] handles the complete lines the file holds now and returns without
///   waiting, for callers with their own loop.
/// * For a child process, [`Running::stdout_follower`](crate::Running::stdout_follower) gives a
///   follower over its stdout spool.
///
/// Memory stays bounded however long the run: at most the first 1 MiB (or `probe` bytes, if
/// more) of a line still being written are kept, and the rest of a skipped line only moves the
/// offset. A line that must be parsed (a retained one, up to the ceiling) is read back from the
/// file once its LF is there, as a full scan would parse it.
///
/// The file must only grow by appends while it is followed. A file that does otherwise is
/// reported, never silently skipped or misread: one that shrinks (below what was read, or below
/// its size at the last look: `copytruncate`, `> file`) or whose last bytes read change
/// (truncated and written again past the read position) makes [`poll`](Follower::poll),
/// [`follow`](Follower::follow) and [`finish`](Follower::finish) fail with an [`Error::Io`]
/// naming the file ("shrank from X to Y bytes while it was followed", "was rewritten while it
/// was followed"); for a follower made with [`Follower::open`], a path that comes to name
/// another file (rotation by rename) fails the same way when the follower finds nothing new
/// ("was replaced by another file"). A rewrite that leaves the 64 bytes before the read
/// position and the size unchanged cannot be told from an append. Only regular files can be
/// followed (positioned reads).
///
/// # Example
///
/// ```
/// use std::io::Write;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use spoolscan::{Follower, Scanner, Selector, sinks::Raw};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("events.ndjson");
/// let mut file = std::fs::File::create(&path)?;
/// let done = AtomicBool::new(false);
/// let scanner = Scanner::builder()
///     .select(Selector::new().equals("item.type", ["agent_message"])?)
///     .build()?;
/// let mut follower = Follower::open(scanner, &path)?;
///
/// let mut seen = vec![];
/// std::thread::scope(|s| -> Result<(), Box<dyn std::error::Error>> {
///     s.spawn(|| {
///         // The writer: a line in two pieces, then one more line and a half-written one.
///         file.write_all(br#"{"type":"item.completed","item":{"type":"agent_"#).unwrap();
///         file.write_all(b"message\",\"text\":\"Hi\"}}\n{\"type\":\"turn.started\"}\n").unwrap();
///         file.write_all(br#"{"type":"item.completed","item":{"type":"agent_message""#).unwrap();
///         done.store(true, Ordering::Release);
///     });
///     let mut sink = Raw::new(|line| {
///         seen.push(String::from_utf8_lossy(line.bytes()).into_owned());
///         Ok(true)
///     });
///     follower.follow(&mut sink, || done.load(Ordering::Acquire))?;
///     let report = follower.finish(&mut sink)?;
///     // The last line ended without LF inside the JSON: truncated, and logged as malformed.
///     assert!(report.truncated);
///     assert_eq!((report.lines, report.retained, report.malformed_total), (3, 1, 1));
///     Ok(())
/// })?;
/// assert_eq!(seen, [r#"{"type":"item.completed","item":{"type":"agent_message","text":"Hi"}}"#]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Follower {
    scanner: Scanner,
    file: File,
    path: Option<PathBuf>,
    /// Never read at or past this offset.
    limit: u64,
    max_wait: Duration,
    /// A pending line longer than this keeps only this many first bytes.
    hold: usize,
    /// Bytes of the file from offset `cur.base`. In normal mode, complete lines not yet
    /// settled and then the pending line, from `cur.start`. In long mode, the first `hold`
    /// bytes of the pending line, and transiently the bytes just read after them.
    buf: Vec<u8>,
    cur: Cursor,
    /// Set while the pending line is longer than `hold`.
    long: Option<Long>,
    /// Lines read back whole from the file.
    whole: Vec<u8>,
    report: Report,
    bom_checked: bool,
    /// The sink asked to stop.
    stopped: bool,
    finished: bool,
    /// The file's length at the last look (capped at the limit).
    known_len: u64,
    /// The file's size at the last look (not capped): a smaller size later means it shrank.
    raw_len: u64,
    /// The last bytes read, just before the read position (up to [`TAIL`]), compared with the
    /// file when more is read: a file rewritten under the follower (copytruncate, then new
    /// writes that already reach past the read position) is caught there.
    tail: Vec<u8>,
    /// Device and inode of the followed file, to notice a path that now names another file.
    id: Option<(u64, u64)>,
    next_progress: u64,
}

/// A pending line longer than `hold`, of which only the first `hold` bytes are kept.
#[derive(Clone, Copy, Debug)]
struct Long {
    /// Offset of the line's first byte.
    offset: u64,
    /// Bytes of the line seen so far (no LF among them).
    raw: u64,
    /// Whether every byte seen so far is blank.
    blank: bool,
    /// The last byte seen (a CR there is the terminator's if an LF follows).
    last: u8,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("path", &self.path)
            .field("offset", &self.offset())
            .field("lines", &self.report.lines)
            .field("stopped", &self.stopped)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Follower {
    /// A follower over `file`, from offset 0 (whatever the file's position), with the
    /// scanner's selector, limits and options (`mmap` and `spool_dir` do not apply).
    pub fn new(scanner: Scanner, file: File) -> Follower {
        let (probe, max_line, _) = scanner.limits();
        Follower {
            scanner,
            file,
            path: None,
            limit: u64::MAX,
            max_wait: DEFAULT_MAX_WAIT,
            hold: probe.max(HOLD.min(max_line)),
            buf: Vec::new(),
            cur: Cursor::default(),
            long: None,
            whole: Vec::new(),
            report: Report::default(),
            bom_checked: false,
            stopped: false,
            finished: false,
            known_len: 0,
            raw_len: 0,
            tail: Vec::with_capacity(TAIL),
            id: None,
            next_progress: PROGRESS_STEP,
        }
    }

    /// A follower over the file at `path` (which may still be empty).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the path when it is missing, a directory, or unreadable.
    pub fn open(scanner: Scanner, path: impl AsRef<Path>) -> Result<Follower, Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(Some(path), e))?;
        let meta = file.metadata().map_err(|e| Error::io(Some(path), e))?;
        if meta.is_dir() {
            let e = io::Error::new(io::ErrorKind::IsADirectory, "is a directory");
            return Err(Error::io(Some(path), e));
        }
        let mut f = Follower::new(scanner, file);
        f.path = Some(path.to_path_buf());
        f.id = Some(file_id(&meta));
        Ok(f)
    }

    /// Never reads at or past offset `bytes`: the input ends there, even if the file grows
    /// further (a spool that is cut back to a size cap when its writer is done).
    ///
    /// Default: no limit.
    pub fn limit(&mut self, bytes: u64) -> &mut Follower {
        self.limit = bytes;
        self
    }

    /// The longest nap of [`Follower::follow`] between two looks at an idle file: the bound
    /// on the delay between a line's LF being written and its event being pushed (plus the
    /// time to read and settle it).
    ///
    /// Default: 50 ms.
    pub fn max_wait(&mut self, d: Duration) -> &mut Follower {
        self.max_wait = d.max(NAP_MIN);
        self
    }

    /// How many first bytes of a pending line are kept in memory (at least `probe`; longer
    /// lines are read back from the file when they must be parsed). A testing knob: the
    /// results do not depend on it. Call it before the first poll.
    ///
    /// Default: `max(probe, min(1 MiB, max_line))`.
    #[doc(hidden)]
    pub fn hold(&mut self, bytes: usize) -> &mut Follower {
        assert!(
            self.report.bytes == 0 && self.buf.is_empty(),
            "Follower::hold after a poll"
        );
        let (probe, _, _) = self.scanner.limits();
        self.hold = bytes.max(probe);
        self
    }

    /// The report of the lines settled so far. `bytes` is the offset just past the last
    /// settled line until [`Follower::finish`] sets it to the input's size.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The offset up to which the input has been settled: every line that ends before it
    /// has been counted (and pushed, if retained).
    pub fn offset(&self) -> u64 {
        self.report.bytes
    }

    /// Whether the sink asked to stop (returned `Ok(false)`): the follower reads no further.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Whether [`Follower::finish`] has run.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Gives the scanner back (to build another follower or scan something else).
    pub fn into_scanner(self) -> Scanner {
        self.scanner
    }

    /// Reads what the file holds now and settles every line completed by an LF, pushing
    /// retained events to `sink`. Never waits for more, and returns after about 20 ms of work
    /// even if more is there (so a loop around it keeps control while a fast writer is ahead):
    /// returns whether new bytes were read, and if so, call it again soon.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when reading the file fails; or what the sink returns (the follower
    /// should then be dropped).
    pub fn poll<S: Sink>(&mut self, mut sink: S) -> Result<bool, S::Error> {
        if self.finished {
            return Ok(false);
        }
        let got = self.pump(&mut sink, true)?;
        if !got {
            self.check_replaced()?;
        }
        Ok(got)
    }

    /// Polls the file until `done()` returns true, napping with a bounded back-off (1 ms,
    /// doubling up to [`Follower::max_wait`]) while nothing new arrives. `done` is asked
    /// before each look, so every byte written before it returned true is read by a last
    /// poll before this returns. Returns early when the sink asks to stop.
    ///
    /// This does not finish the scan: call [`Follower::finish`] next (for a child process,
    /// after it has been waited for).
    ///
    /// # Errors
    ///
    /// As for [`Follower::poll`].
    pub fn follow<S: Sink>(
        &mut self,
        mut sink: S,
        mut done: impl FnMut() -> bool,
    ) -> Result<(), S::Error> {
        let mut nap = NAP_MIN;
        loop {
            let last = done();
            let got = self.poll(&mut sink)?;
            if last || self.stopped || self.finished {
                return Ok(());
            }
            if got {
                nap = NAP_MIN;
            } else {
                std::thread::sleep(nap);
                nap = (nap * 2).min(self.max_wait);
            }
        }
    }

    /// The writer is done: reads the rest of the file, settles the last line (one without LF
    /// is checked for complete JSON as in a full scan, and may set `truncated`), calls
    /// [`Sink::finish`] and returns the report, equal to a full scan's of the file.
    ///
    /// Calling it again returns the same report without calling the sink.
    ///
    /// # Errors
    ///
    /// As for [`Follower::poll`].
    pub fn finish<S: Sink>(&mut self, mut sink: S) -> Result<Report, S::Error> {
        if self.finished {
            return Ok(self.report.clone());
        }
        let sink = &mut sink;
        self.pump(sink, false)?;
        let len = self.file_len()?;
        if !self.stopped {
            if !self.bom_checked {
                self.check_bom(true);
                self.settle_buffered(sink)?;
            }
            if let Some(long) = self.long {
                self.settle_long(long, false, sink)?;
            } else if !self.stopped {
                self.stopped = self.cur.settle_unterminated(
                    &self.buf,
                    &mut self.scanner,
                    &mut self.report,
                    sink,
                )?;
            }
        }
        self.report.bytes = len;
        self.finished = true;
        self.buf = Vec::new();
        self.whole = Vec::new();
        debug_assert!(self.report.is_consistent(), "{:?}", self.report);
        sink.progress(len, len);
        let input = crate::readback::Input::file(&self.file, len, self.path.as_deref());
        sink.read_back(&input, &self.report)?;
        sink.finish(&self.report)?;
        Ok(self.report.clone())
    }
}
