//! The summarizer: sources, limits, and the scan that feeds a profile's collector.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::collect::ProfileSink;
use super::input::{IntoSource, Source};
use super::{Collector, Profile, Summary, amp, claude, codex, copilot, cursor, detect, gemini};
use super::{opencode, qwen};
use crate::error::Error;
use crate::report::Report;
use crate::scanner::{DEFAULT_CEILING, DEFAULT_MAX_LINE, DEFAULT_PROBE, Scanner, ScannerBuilder};
use crate::select::Selector;
use crate::sink::Sink;

// ---------------------------------------------------------------------------------------------
// The summarizer

/// Summarizes a transcript with the default limits (probe 4 KiB, max_line 16 MiB, ceiling
/// 64 MiB). See [`Summarizer`] to change them.
///
/// `source` is anything the scanner's `scan_*` methods take ([`IntoSource`]): a path
/// (`"x.ndjson"`, a `Path`), a file, a reader (`std::io::stdin().lock()`), or bytes.
///
/// # Errors
///
/// [`Error::Io`] when the input cannot be opened, read or spooled (the path is named).
/// Problems inside the input never fail: they are in the summary's status, warnings and report.
///
/// # Example
///
/// ```
/// use spoolscan::{Profile, Status, summarize};
///
/// let transcript = br#"{"type":"thread.started","thread_id":"t1"}
/// {"type":"item.completed","item":{"id":"i1","type":"command_execution","command":"ls","aggregated_output":"a\nb\n","exit_code":0,"status":"completed"}}
/// {"type":"item.completed","item":{"id":"i2","type":"agent_message","text":"Done."}}
/// {"type":"turn.completed","usage":{"input_tokens":12,"cached_input_tokens":0,"output_tokens":3}}
/// "#;
/// let summary = summarize(transcript, Profile::Auto)?;
/// assert_eq!(summary.profile, Profile::Codex);
/// assert_eq!(summary.status, Status::Ok);
/// assert_eq!(summary.answer.as_deref(), Some("Done."));
/// assert_eq!(summary.session_id.as_deref(), Some("t1"));
/// assert_eq!(summary.usage.as_ref().unwrap()["input_tokens"], 12);
/// // The command output was classified by its type and never decoded.
/// assert_eq!((summary.report.retained, summary.report.skipped), (3, 1));
/// println!("{}", summary.to_json());
/// # Ok::<(), spoolscan::Error>(())
/// ```
pub fn summarize<'a>(source: impl IntoSource<'a>, profile: Profile) -> Result<Summary, Error> {
    Summarizer::new(profile).summarize(source)
}

/// Summarizes transcripts with a profile and limits.
///
/// ```
/// use spoolscan::{Profile, Summarizer, Status};
///
/// let mut s = Summarizer::new(Profile::Claude);
/// s.probe(1 << 10).max_line(1 << 20).ceiling(8 << 20);
/// let summary = s.summarize(&br#"{"type":"result","subtype":"success","is_error":false,"result":"ok","total_cost_usd":0.01}"#[..])?;
/// assert_eq!((summary.status, summary.cost_usd), (Status::Ok, Some(0.01)));
/// # Ok::<(), spoolscan::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Summarizer {
    pub(super) profile: Profile,
    pub(super) limits: Limits,
    mmap: bool,
    pub(super) spool_dir: Option<PathBuf>,
    threads: usize,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) probe: usize,
    pub(crate) max_line: usize,
    pub(crate) ceiling: usize,
}

impl Summarizer {
    /// A summarizer with the default limits.
    pub fn new(profile: Profile) -> Summarizer {
        Summarizer {
            profile,
            limits: Limits {
                probe: DEFAULT_PROBE,
                max_line: DEFAULT_MAX_LINE,
                ceiling: DEFAULT_CEILING,
            },
            mmap: true,
            spool_dir: None,
            threads: 1,
        }
    }

    /// See [`ScannerBuilder::probe`]. Default: 4 KiB.
    pub fn probe(&mut self, bytes: usize) -> &mut Summarizer {
        self.limits.probe = bytes;
        self
    }

    /// See [`ScannerBuilder::max_line`]. Default: 16 MiB. Also the largest line the
    /// last-object fallback of the Codex profile decodes.
    pub fn max_line(&mut self, bytes: usize) -> &mut Summarizer {
        self.limits.max_line = bytes;
        self
    }

    /// See [`ScannerBuilder::ceiling`]. Default: 64 MiB.
    pub fn ceiling(&mut self, bytes: usize) -> &mut Summarizer {
        self.limits.ceiling = bytes;
        self
    }

    /// See [`ScannerBuilder::mmap`]. Default: enabled.
    pub fn mmap(&mut self, yes: bool) -> &mut Summarizer {
        self.mmap = yes;
        self
    }

    /// Directory for the unnamed spool files that readers are copied into. Default: the
    /// system temporary directory.
    pub fn spool_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Summarizer {
        self.spool_dir = Some(dir.into());
        self
    }

    /// See [`ScannerBuilder::threads`]: a file, a spool or bytes are scanned on `n` threads
    /// (a reader is spooled first, so it is too). The summary is the same. Default: 1.
    ///
    /// ```
    /// use spoolscan::{Profile, Summarizer};
    ///
    /// let line = br#"{"type":"result","subtype":"success","is_error":false,"result":"ok"}"#;
    /// let data = [&b"{\"type\":\"system\"}\n".repeat(10_000)[..], line].concat();
    /// let mut s = Summarizer::new(Profile::Claude);
    /// let one = s.summarize(&data[..])?;
    /// let four = s.threads(4).summarize(&data[..])?;
    /// assert_eq!(one, four);
    /// # Ok::<(), spoolscan::Error>(())
    /// ```
    pub fn threads(&mut self, n: usize) -> &mut Summarizer {
        self.threads = n.max(1);
        self
    }

    pub(super) fn builder(&self, selector: Selector) -> ScannerBuilder {
        let mut b = ScannerBuilder::new();
        b.select(selector)
            .threads(self.threads)
            .probe(self.limits.probe)
            .max_line(self.limits.max_line)
            .ceiling(self.limits.ceiling)
            .mmap(self.mmap);
        if let Some(d) = &self.spool_dir {
            b.spool_dir(d);
        }
        b
    }

    /// Summarizes `source`: a path, a file, a reader or bytes (see [`IntoSource`]).
    ///
    /// Every byte the summary uses comes through the scanner: the retained events, the
    /// first bytes of the lines it passes ([`Sink::passed`]), and the
    /// input read back at the end ([`Sink::read_back`]) for the
    /// Codex last-object fallback. A reader is first copied with [`Scanner::spool`] (it is
    /// read again: by the detection of [`Profile::Auto`], and by the fallback).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the limits are out of order (checked before any input is read),
    /// [`Error::Io`] when the input cannot be opened, read or spooled.
    pub fn summarize<'a>(&self, source: impl IntoSource<'a>) -> Result<Summary, Error> {
        let scanner = self.builder(Selector::new()).build()?;
        match source.into_source() {
            Source::Bytes(b) => self.summarize_target(Target::Slice(b)),
            Source::Path(p) => self.summarize_path(p),
            Source::OwnedPath(p) => self.summarize_path(&p),
            Source::File(f) => self.summarize_target(Target::File(f)),
            Source::OwnedFile(f) => self.summarize_target(Target::File(&f)),
            Source::Reader(r) => {
                let spool = scanner.spool(r)?;
                self.summarize_target(Target::Spool(&spool))
            }
        }
    }

    fn summarize_path(&self, p: &Path) -> Result<Summary, Error> {
        let file = File::open(p).map_err(|e| Error::io(Some(p), e))?;
        let meta = file.metadata().map_err(|e| Error::io(Some(p), e))?;
        if meta.is_dir() {
            let e = io::Error::new(io::ErrorKind::IsADirectory, "is a directory");
            return Err(Error::io(Some(p), e));
        }
        self.summarize_target(Target::File(&file))
            .map_err(|e| with_path(e, p))
    }

    pub(super) fn summarize_target(&self, target: Target<'_>) -> Result<Summary, Error> {
        if let (Target::File(f), Profile::Auto, false) = (&target, self.profile, self.mmap) {
            // Copied once (with `mmap(false)` each scan of a file would copy it): detection and
            // the summary then scan the copy.
            let copy = self.builder(Selector::new()).build()?.spool(*f)?;
            return self.summarize_target(Target::Spool(&copy));
        }
        let mut notes = Vec::new();
        let profile = match self.profile {
            Profile::Auto => {
                let (p, note) = detect::detect(self, &target)?;
                notes.push(note);
                p
            }
            p => Some(p),
        };
        let profile = profile.unwrap_or(Profile::Auto);
        let selector = profile.selector().unwrap_or_else(detect::nothing_selector);
        let mut scanner: Scanner = self.builder(selector.clone()).build()?;
        let mut sink = ProfileSink::new(self.collector(profile), &selector, self.limits);
        let report = target.scan(&mut scanner, &mut sink)?;
        self.summary_of(profile, sink, report, notes)
    }

    /// The collector of `profile` ([`Profile::Auto`]: no profile fits, the scan still runs
    /// for its report, nothing is decoded).
    pub(super) fn collector(&self, profile: Profile) -> Box<dyn Collector> {
        let ceiling = self.limits.ceiling;
        match profile {
            Profile::Codex => Box::new(codex::Collector::new()),
            Profile::Claude => Box::new(claude::Collector::new()),
            Profile::Gemini => Box::new(gemini::Collector::new(ceiling)),
            Profile::Opencode => Box::new(opencode::Collector::new(ceiling)),
            Profile::Cursor => Box::new(cursor::collector()),
            Profile::Amp => Box::new(amp::collector()),
            Profile::Qwen => Box::new(qwen::collector()),
            Profile::Copilot => Box::new(copilot::Collector::new()),
            Profile::Auto => Box::new(detect::Nothing),
        }
    }

    /// The summary of a finished scan into `sink` (finishing the collector without the input
    /// when the scan could not read it back).
    pub(super) fn summary_of<C: Collector>(
        &self,
        profile: Profile,
        mut sink: ProfileSink<C>,
        report: Report,
        mut notes: Vec<String>,
    ) -> Result<Summary, Error> {
        sink.finish_with(None, &report)?;
        if sink.repaired_total > 0 {
            notes.push(format!(
                "repaired invalid UTF-8 (U+FFFD) in {} selected line(s), used in the summary \
                 and counted as malformed in the report: line {}",
                sink.repaired_total,
                list(&sink.repaired, sink.repaired_total)
            ));
        }
        if sink.unclassified_total > 0 {
            notes.push(format!(
                "{} line(s) over max_line could not be classified from their first {} bytes \
                 and were skipped undecoded: line {}",
                sink.unclassified_total,
                self.limits.probe,
                list(&sink.unclassified, sink.unclassified_total)
            ));
        }
        let (draft, repaired) = sink.done.take().expect("the collector was finished");
        for line in repaired {
            notes.push(format!(
                "repaired invalid UTF-8 (U+FFFD) in line {line}, the last object of the transcript"
            ));
        }
        Ok(Summary::new(profile, draft, report, notes))
    }
}

/// How the scanner reads the input.
pub(super) enum Target<'a> {
    Slice(&'a [u8]),
    File(&'a File),
    /// A reader copied by [`Scanner::spool`]: mapped whatever `mmap` says (it is not copied
    /// again).
    Spool(&'a File),
}

impl Target<'_> {
    pub(super) fn scan<S: Sink<Error = Error>>(
        &self,
        scanner: &mut Scanner,
        sink: S,
    ) -> Result<Report, Error> {
        match self {
            Target::Slice(b) => scanner.scan_slice(b, sink),
            Target::File(f) => scanner.scan_file(f, sink),
            Target::Spool(f) => scanner.scan_spool(f, sink),
        }
    }
}

fn with_path(e: Error, p: &Path) -> Error {
    match e {
        Error::Io { path: None, source } => Error::io(Some(p), source),
        e => e,
    }
}

/// "3, 9, 12" (and "and N more").
fn list(lines: &[u64], total: u64) -> String {
    let mut s = lines
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if total > lines.len() as u64 {
        s.push_str(&format!(" and {} more", total - lines.len() as u64));
    }
    s
}
