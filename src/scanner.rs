//! The scanner: configuration, entry points per input kind, and the scan loop.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::decode::Decoder;
use crate::error::{ConfigError, Error};
use crate::lines::{content_end, first_line_start};
use crate::mapped_lines::{ALONE, search_lf};
use crate::probe::{Outcome, Probe};
use crate::report::Report;
use crate::select::Selector;
pub(crate) use crate::settle::{At, Body, Settled};
use crate::sink::Sink;
use crate::source::{self, Pager};

/// Default `probe`: 4 KiB.
pub const DEFAULT_PROBE: usize = 4 << 10;
/// Default `max_line`: 16 MiB.
pub const DEFAULT_MAX_LINE: usize = 16 << 20;
/// Default `ceiling`: 64 MiB.
pub const DEFAULT_CEILING: usize = 64 << 20;

/// Progress is reported about this often (in bytes).
const PROGRESS_STEP: usize = 16 << 20;

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) selector: Selector,
    /// Bytes of an oversize line the probe may look at.
    pub(crate) probe: usize,
    /// Lines up to this length are classified exactly.
    pub(crate) max_line: usize,
    /// Retained lines over this length are dropped, never decoded.
    pub(crate) ceiling: usize,
    /// Compare values exactly instead of ASCII case-insensitively.
    pub(crate) case_sensitive: bool,
    /// Parse every line up to the ceiling, not only retained ones.
    pub(crate) validate_all: bool,
    /// Map files (true) or copy them into an unnamed spool first (false).
    pub(crate) mmap: bool,
    /// Where readers (and files, with `mmap(false)`) are spooled.
    pub(crate) spool_dir: Option<PathBuf>,
    /// Worker threads for a scan of a whole input (1: sequential; see `parallel`).
    pub(crate) threads: usize,
    /// Nominal chunk size of a parallel scan.
    pub(crate) chunk: usize,
}

/// Builds a [`Scanner`].
///
/// ```
/// use spoolscan::{Scanner, Selector};
///
/// let scanner = Scanner::builder()
///     .select(Selector::new().equals("type", ["error"])?)
///     .probe(1024)
///     .max_line(1 << 20)
///     .ceiling(8 << 20)
///     .build()?;
/// # let _ = scanner;
/// # Ok::<(), spoolscan::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ScannerBuilder {
    config: Config,
}

impl Default for ScannerBuilder {
    fn default() -> Self {
        ScannerBuilder::new()
    }
}

impl ScannerBuilder {
    /// A builder with the default configuration.
    pub fn new() -> ScannerBuilder {
        ScannerBuilder {
            config: Config {
                selector: Selector::new(),
                probe: DEFAULT_PROBE,
                max_line: DEFAULT_MAX_LINE,
                ceiling: DEFAULT_CEILING,
                case_sensitive: false,
                validate_all: false,
                mmap: true,
                spool_dir: None,
                threads: 1,
                chunk: crate::parallel::DEFAULT_CHUNK,
            },
        }
    }

    /// Sets the selector: which lines are retained.
    ///
    /// Default: the empty selector, which retains (and validates) every non-blank line.
    pub fn select(&mut self, selector: Selector) -> &mut ScannerBuilder {
        self.config.selector = selector;
        self
    }

    /// Bytes of a line longer than `max_line` that classification may look at.
    ///
    /// Default: 4 KiB.
    pub fn probe(&mut self, bytes: usize) -> &mut ScannerBuilder {
        self.config.probe = bytes;
        self
    }

    /// Lines up to this length (inclusive, terminator excluded) are classified exactly: the
    /// probe may scan the whole line. Longer lines are classified from their first `probe`
    /// bytes only.
    ///
    /// Default: 16 MiB.
    pub fn max_line(&mut self, bytes: usize) -> &mut ScannerBuilder {
        self.config.max_line = bytes;
        self
    }

    /// A retained line longer than this is never decoded: it is dropped and logged with reason
    /// `over_ceiling`.
    ///
    /// Default: 64 MiB.
    pub fn ceiling(&mut self, bytes: usize) -> &mut ScannerBuilder {
        self.config.ceiling = bytes;
        self
    }

    /// Compare values exactly rather than ASCII case-insensitively. Keys are always compared
    /// exactly.
    ///
    /// Default: disabled (case-insensitive).
    pub fn case_sensitive(&mut self, yes: bool) -> &mut ScannerBuilder {
        self.config.case_sensitive = yes;
        self
    }

    /// Parse every line up to the ceiling, so that invalid lines that would be skipped are
    /// counted as malformed.
    ///
    /// Default: disabled (only retained lines are parsed).
    pub fn validate_all(&mut self, yes: bool) -> &mut ScannerBuilder {
        self.config.validate_all = yes;
        self
    }

    /// Whether [`Scanner::scan_path`] and [`Scanner::scan_file`] map the file directly.
    ///
    /// **WARNING**: a mapped file that another process truncates while it is scanned kills
    /// the process with SIGBUS. With `mmap(false)` the file is first copied into an unnamed
    /// spool (like a pipe), which nobody else can touch: slower, but immune.
    ///
    /// Default: enabled.
    pub fn mmap(&mut self, yes: bool) -> &mut ScannerBuilder {
        self.config.mmap = yes;
        self
    }

    /// Directory for the unnamed spool files that readers are copied into.
    ///
    /// Default: the system temporary directory.
    pub fn spool_dir(&mut self, dir: impl Into<PathBuf>) -> &mut ScannerBuilder {
        self.config.spool_dir = Some(dir.into());
        self
    }

    /// Threads to scan a whole input with (0 is read as 1): [`Scanner::scan_path`],
    /// [`Scanner::scan_file`] and [`Scanner::scan_slice`] cut the input into chunks at LF
    /// boundaries and settle them on `n` worker threads, while the calling thread hands the
    /// results to the sink in file order. The sink sees the same calls, with the same line
    /// numbers and offsets, and the scan returns the same report as with one thread (a sink
    /// that stops the scan stops the workers too). The sink itself is called on the calling
    /// thread only, so it need not be `Send`.
    ///
    /// Inputs that arrive as they are scanned stay sequential whatever `n`:
    /// [`Scanner::scan_reader`] and the follower.
    ///
    /// ```
    /// use spoolscan::{Scanner, sinks::Raw};
    ///
    /// let data = b"{\"a\":1}\nnot json\n{\"b\":2}\n".repeat(1000);
    /// let mut numbers = vec![];
    /// let report = Scanner::builder().threads(2).build()?.scan_slice(&data, Raw::new(|line| {
    ///     numbers.push(line.number());
    ///     Ok(true)
    /// }))?;
    /// assert_eq!(numbers.len(), 2000);
    /// assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    /// assert_eq!((report.retained, report.malformed_total), (2000, 1000));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Default: 1.
    pub fn threads(&mut self, n: usize) -> &mut ScannerBuilder {
        self.config.threads = n.max(1);
        self
    }

    /// The nominal size of the chunks of a parallel scan (a chunk ends at the first LF at or
    /// after it). For tests; 0 is read as 1. Default: 4 MiB.
    #[doc(hidden)]
    pub fn chunk_size(&mut self, bytes: usize) -> &mut ScannerBuilder {
        self.config.chunk = bytes.max(1);
        self
    }

    /// Builds the scanner.
    ///
    /// # Errors
    ///
    /// [`ConfigError::LimitsOutOfOrder`] unless `probe <= max_line <= ceiling`, and
    /// [`ConfigError::LimitOutOfRange`] for a zero limit or one over 4 GiB.
    pub fn build(&self) -> Result<Scanner, ConfigError> {
        let c = &self.config;
        for (name, value) in [
            ("probe", c.probe),
            ("max_line", c.max_line),
            ("ceiling", c.ceiling),
        ] {
            if value == 0 || value as u64 > u32::MAX as u64 {
                return Err(ConfigError::LimitOutOfRange { name, value });
            }
        }
        if !(c.probe <= c.max_line && c.max_line <= c.ceiling) {
            return Err(ConfigError::LimitsOutOfOrder {
                probe: c.probe,
                max_line: c.max_line,
                ceiling: c.ceiling,
            });
        }
        Ok(Scanner {
            probe: Probe::new(&c.selector, c.case_sensitive),
            decoder: Decoder::new(),
            config: c.clone(),
        })
    }
}

/// Scans NDJSON input: finds lines, classifies them with the probe, decodes the retained ones
/// and pushes them to a [`Sink`], and returns the [`Report`].
///
/// A scanner holds reusable buffers (the decode scratch, the probe's state), so reuse one
/// scanner for many inputs rather than building a new one each time.
///
/// # Example
///
/// ```
/// use spoolscan::{Scanner, Selector, sinks::Raw};
///
/// let data = br#"{"type":"item.completed","item":{"type":"agent_message","text":"Done."}}
/// {"type":"item.completed","item":{"type":"command_execution","aggregated_output":"..."}}
/// {"type":"turn.completed","usage":{"input_tokens":10}}
/// "#;
/// let mut scanner = Scanner::builder()
///     .select(Selector::new()
///         .equals("type", ["turn.completed", "error", "turn.failed"])?
///         .equals("item.type", ["agent_message"])?)
///     .build()?;
/// let mut kept = vec![];
/// let report = scanner.scan_slice(data, Raw::new(|line| {
///     kept.push(line.number());
///     Ok(true)
/// }))?;
/// assert_eq!(kept, [1, 3]);
/// assert_eq!((report.lines, report.retained, report.skipped), (3, 2, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Scanner {
    config: Config,
    pub(crate) probe: Probe,
    pub(crate) decoder: Decoder,
}

impl Scanner {
    /// A builder with the default configuration.
    pub fn builder() -> ScannerBuilder {
        ScannerBuilder::new()
    }

    /// Scans a byte slice. Pages are not released (the slice is the caller's).
    ///
    /// # Errors
    ///
    /// Only what the sink returns.
    pub fn scan_slice<S: Sink>(&mut self, data: &[u8], mut sink: S) -> Result<Report, S::Error> {
        self.run(data, &mut Pager::new(None), &mut sink)
    }

    /// Scans the file at `path`, memory-mapped read-only (see [`ScannerBuilder::mmap`] for the
    /// SIGBUS caveat and the copying alternative). An empty file works.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the path when it is missing, a directory, or unreadable; or what
    /// the sink returns.
    pub fn scan_path<S: Sink>(
        &mut self,
        path: impl AsRef<Path>,
        sink: S,
    ) -> Result<Report, S::Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(Some(path), e))?;
        let meta = file.metadata().map_err(|e| Error::io(Some(path), e))?;
        if meta.is_dir() {
            let e = io::Error::new(io::ErrorKind::IsADirectory, "is a directory");
            return Err(Error::io(Some(path), e).into());
        }
        log::debug!("scanning {} ({} bytes)", path.display(), meta.len());
        self.scan_file_at(&file, Some(path), sink)
    }

    /// Scans an open file, memory-mapped read-only (or spooled, with `mmap(false)`). The scan
    /// starts at offset 0 whatever the file's position.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be mapped; or what the sink returns.
    pub fn scan_file<S: Sink>(&mut self, file: &File, sink: S) -> Result<Report, S::Error> {
        self.scan_file_at(file, None, sink)
    }

    fn scan_file_at<S: Sink>(
        &mut self,
        file: &File,
        path: Option<&Path>,
        mut sink: S,
    ) -> Result<Report, S::Error> {
        if self.config.mmap && is_regular(file) {
            // SAFETY: mapping a file the caller named. The documented contract of scan_path /
            // scan_file (and ScannerBuilder::mmap) is that the file is not truncated or
            // modified during the scan; callers that cannot promise it use mmap(false).
            let map = unsafe { source::map(file, path) }?;
            sink.input_file(file, path);
            self.scan_map(&map, sink)
        } else {
            log::debug!(
                "spooling {} before scanning",
                path.map_or("<file>".into(), |p| p.display().to_string())
            );
            let mut f = file;
            let spool = source::spool(&mut f, self.config.spool_dir.as_deref())
                .map_err(|e| with_path(e, path))?;
            self.scan_spool(&spool, sink)
        }
    }

    /// Scans everything `reader` yields (a pipe, stdin, a socket) *as it arrives*: each line
    /// is settled as soon as its LF is read, so a retained line reaches the sink while the
    /// writer is still writing (before each read that may block, the sink's
    /// [`Sink::waiting`] is called, where an output can be flushed).
    ///
    /// Memory stays bounded however much the reader yields: a line is kept whole only while
    /// it may have to be parsed (retained and within the ceiling, or within `max_line` and
    /// not yet decided by its first bytes); other long lines are read through. The sink
    /// calls and the report are those of a scan of the same bytes from a file, except that a
    /// last line without LF that is read through is checked for completeness structurally
    /// (only `truncated` can differ, for such a line that is balanced but invalid JSON).
    /// When the sink stops the scan, `bytes` counts the bytes read so far.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when reading fails; or what the sink returns.
    pub fn scan_reader<S: Sink>(
        &mut self,
        reader: impl io::Read,
        mut sink: S,
    ) -> Result<Report, S::Error> {
        crate::stream::scan(self, reader, &mut sink)
    }

    /// For drivers that cannot read a line back (a reader): what the probe says of the first
    /// bytes of a line still arriving, or `None` when every line is parsed anyway (no
    /// selector, or `validate_all`).
    pub(crate) fn classify_prefix(&mut self, prefix: &[u8]) -> Option<Outcome> {
        if self.config.validate_all || self.config.selector.is_empty() {
            return None;
        }
        Some(self.probe.classify(prefix, false))
    }

    /// Scans an unnamed spool file (one that nobody else can open, truncate or modify).
    pub(crate) fn scan_spool<S: Sink>(
        &mut self,
        spool: &File,
        mut sink: S,
    ) -> Result<Report, S::Error> {
        // SAFETY: an unnamed (O_TMPFILE) or already unlinked spool that only this process holds:
        // nobody else can name it, so nobody can truncate or modify it while it is mapped.
        let map = unsafe { source::map(spool, None) }?;
        sink.input_file(spool, None);
        let r = self.scan_map(&map, sink);
        drop(map);
        source::drop_cache(spool);
        r
    }

    fn scan_map<S: Sink>(&mut self, map: &source::Mapped, mut sink: S) -> Result<Report, S::Error> {
        self.run(&map[..], &mut Pager::new(Some(map)), &mut sink)
    }

    /// The scan loop.
    fn run<S: Sink>(
        &mut self,
        data: &[u8],
        pager: &mut Pager<'_>,
        sink: &mut S,
    ) -> Result<Report, S::Error> {
        if self.config.threads > 1 && data.len() > self.config.chunk {
            return crate::parallel::run(self, data, pager, sink);
        }
        let len = data.len();
        let mut report = Report {
            bytes: len as u64,
            ..Report::default()
        };
        let mut pos = first_line_start(data);
        let mut number = 0u64;
        let mut next_progress = PROGRESS_STEP;
        while pos < len {
            // The mapped file shrank under us (the SIGBUS guard zero-filled the rest): stop.
            if let Some(e) = pager.shrunk() {
                return Err(e.into());
            }
            pager.release_before(pos);
            if pos >= next_progress {
                sink.progress(pos as u64, len as u64);
                next_progress = pos + PROGRESS_STEP;
            }
            number += 1;
            let start = pos;
            let ahead = self.ahead(data, start, len);
            let term = ahead
                .lf
                .or_else(|| {
                    search_lf(data, ahead.from, len, ALONE.search, |_, stop| {
                        if stop < len {
                            pager.release_before(stop);
                        }
                    })
                })
                .unwrap_or(len);
            let has_lf = term < len;
            pos = if has_lf { term + 1 } else { len };
            let at = At {
                number,
                offset: start as u64,
                len: content_end(data, start, term) - start,
                has_lf,
                known_valid: ahead.known_valid,
                decided: ahead.decided,
            };
            let settled = self.settle_found(data, &at, ALONE, pager, &mut report, sink)?;
            match settled {
                Settled::Go => {}
                Settled::Stop => break,
                Settled::NeedWhole => unreachable!("a whole line is never sent back"),
            }
        }
        if let Some(e) = pager.shrunk() {
            return Err(e.into());
        }
        debug_assert!(report.is_consistent(), "{report:?}");
        sink.progress(len as u64, len as u64);
        sink.read_back(&crate::readback::Input::slice(data, Some(pager)), &report)?;
        sink.finish(&report)?;
        Ok(report)
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// A new scanner with this one's configuration (for a scan on another thread).
    pub(crate) fn rebuild(&self) -> Scanner {
        ScannerBuilder {
            config: self.config.clone(),
        }
        .build()
        .expect("a configuration that built once builds again")
    }

    /// The directory for unnamed spool files (`None`: the system temporary directory).
    pub(crate) fn spool_dir(&self) -> Option<&Path> {
        self.config.spool_dir.as_deref()
    }

    /// The limits `(probe, max_line, ceiling)`.
    pub(crate) fn limits(&self) -> (usize, usize, usize) {
        (self.config.probe, self.config.max_line, self.config.ceiling)
    }
}

fn is_regular(file: &File) -> bool {
    file.metadata().map(|m| m.is_file()).unwrap_or(false)
}

fn with_path(e: Error, path: Option<&Path>) -> Error {
    match (e, path) {
        (Error::Io { path: None, source }, Some(p)) => Error::io(Some(p), source),
        (e, _) => e,
    }
}
