//! Agent transcript profiles: summaries of Codex, Claude Code and Gemini CLI transcripts.
//!
//! A *profile* knows one CLI's event format. It chooses the selection rules so that only the
//! events it needs are decoded (giant tool outputs are classified by their `type` and skipped
//! undecoded), decodes them into typed serde structs, and builds a [`Summary`]: the answer,
//! usage, model, session id, cost, errors and a [`Status`], plus the scan [`Report`].
//!
//! The entry points are [`summarize`] (default limits) and [`Summarizer`] (limits, spool
//! directory). Each profile module ([`codex`], [`claude`], [`gemini`]) also exposes its
//! selection rules (`selector()`) and its typed event structs.
//!
//! # How summaries stay in bounded memory
//!
//! * Only the lines the profile selects are decoded; every other line is classified by the
//!   prefix probe and skipped. The summary keeps a handful of decoded events (the answer
//!   candidate, the usage event, the last event), never the whole transcript.
//! * A selected line that could not be decoded (over the ceiling, undecidable within the
//!   probe, malformed) is not silently ignored: the profile looks at its first `probe` bytes
//!   (a positioned read, never the whole line) and, when it could have been the answer, the
//!   summary's status is `stale_answer` with the line and offset in `warnings`.
//! * A selected line with invalid UTF-8 is rejected by the decoder (and counted as malformed in
//!   the report); the summarizer re-reads it (it is no larger than the ceiling), replaces the
//!   invalid bytes with U+FFFD, decodes it again, and uses it, with a warning naming the line.
//! * Readers (stdin, pipes) are spooled to an unnamed temporary file first, so every input can
//!   be read at an offset.

pub mod claude;
pub mod codex;
pub mod gemini;

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use memchr::memrchr;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::decode::Event;
use crate::error::Error;
use crate::lines::{BOM, is_blank};
use crate::probe::{Outcome, Probe};
use crate::report::{Dropped, Malformed, Report};
use crate::scanner::{DEFAULT_CEILING, DEFAULT_MAX_LINE, DEFAULT_PROBE, Scanner, ScannerBuilder};
use crate::select::Selector;
use crate::sink::Sink;

/// Error messages are cut to this many characters.
pub const MESSAGE_CUT: usize = 2000;

/// At most this many messages are kept in [`Summary::errors`] (the count of the others is given
/// in a warning), so a transcript with millions of error events stays in bounded memory.
pub const ERRORS_CAP: usize = 1000;

/// The head of the input that `--profile auto` looks at.
const DETECT_HEAD: usize = 64 << 10;
/// At most this many lines of the head are looked at.
const DETECT_LINES: usize = 64;
/// Positioned reads of the backward walk use chunks of this size.
const WALK_CHUNK: usize = 64 << 10;
/// At most this many line numbers are listed in a warning.
const LIST_CAP: usize = 10;

// ---------------------------------------------------------------------------------------------
// Profiles, statuses, summaries

/// Which CLI's transcript format to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Profile {
    /// OpenAI Codex, `codex exec --json`.
    Codex,
    /// Claude Code, `claude -p --output-format stream-json --verbose`.
    Claude,
    /// Gemini CLI, `gemini --output-format stream-json`.
    Gemini,
    /// Detect the format from the first events (the summary names the profile chosen, and a
    /// warning says why).
    #[default]
    Auto,
}

impl Profile {
    /// The profile's name: `codex`, `claude`, `gemini` or `auto`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Codex => "codex",
            Profile::Claude => "claude",
            Profile::Gemini => "gemini",
            Profile::Auto => "auto",
        }
    }

    /// The selection rules of the profile (`None` for [`Profile::Auto`], which picks a profile
    /// first).
    ///
    /// ```
    /// use spoolscan::Profile;
    ///
    /// let sel = Profile::Claude.selector().unwrap();
    /// assert_eq!(sel.rules()[0].path(), ["type"]);
    /// assert!(Profile::Auto.selector().is_none());
    /// ```
    pub fn selector(self) -> Option<Selector> {
        match self {
            Profile::Codex => Some(codex::selector()),
            Profile::Claude => Some(claude::selector()),
            Profile::Gemini => Some(gemini::selector()),
            Profile::Auto => None,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is none of `codex`, `claude`, `gemini`, `auto`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile {0:?}: expected codex, claude, gemini or auto")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    /// Parses a profile name, ASCII case-insensitively.
    fn from_str(s: &str) -> Result<Profile, UnknownProfile> {
        match s.trim().to_ascii_lowercase().as_str() {
            "codex" => Ok(Profile::Codex),
            "claude" => Ok(Profile::Claude),
            "gemini" => Ok(Profile::Gemini),
            "auto" => Ok(Profile::Auto),
            _ => Err(UnknownProfile(s.to_string())),
        }
    }
}

/// The outcome of a run, as far as the transcript tells.
///
/// When several apply, the status is the first in this order (the declaration order) and
/// every one that applies is described in [`Summary::warnings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// The input ended inside a line (no final LF, incomplete JSON), or the spool it came from
    /// hit its size cap or a full disk.
    Truncated,
    /// An error event decided the run failed (a terminal error, a result with `is_error`, or
    /// errors and no answer), or the child exited non-zero.
    Failed,
    /// The line that would have been the answer was not decoded (over the ceiling, undecidable
    /// within the probe, or malformed): `answer` is null rather than an older message.
    StaleAnswer,
    /// Nothing usable was parsed; `event` is null.
    NoEvents,
    /// Events were parsed but no answer was found.
    NoAnswer,
    /// An answer was found and nothing went wrong.
    Ok,
}

impl Status {
    /// The status as written in the summary: `ok`, `failed`, `stale_answer`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Truncated => "truncated",
            Status::Failed => "failed",
            Status::StaleAnswer => "stale_answer",
            Status::NoEvents => "no_events",
            Status::NoAnswer => "no_answer",
            Status::Ok => "ok",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The summary of one transcript. Serialized (see [`Summary::to_json`]) it is this JSON
/// object:
///
/// ```text
/// {"profile":"codex","status":"ok","answer":"Done.","model":"gpt-5","session_id":"t1",
///  "usage":{...}|null,"cost_usd":null,"error":null,"errors":[...],
///  "event":{...}|null,"warnings":[...],"report":{...}}
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// The profile used (the detected one with [`Profile::Auto`]).
    pub profile: Profile,
    /// The status; see [`Status`] for the order of precedence.
    pub status: Status,
    /// The final answer text; `None` when there is none, or when it is stale.
    pub answer: Option<String>,
    /// The model, where the transcript names it.
    pub model: Option<String>,
    /// The thread (Codex) or session (Claude, Gemini) id: the last one seen before the scan
    /// ended.
    pub session_id: Option<String>,
    /// The CLI's raw usage object: Codex `usage`, Claude `result.usage`, Gemini
    /// `result.stats`. Numbers are as in the input. See [`Summary::decode_usage`].
    pub usage: Option<Value>,
    /// Claude's `total_cost_usd`; `None` for the other CLIs.
    pub cost_usd: Option<f64>,
    /// The error message that decided the outcome (at most [`MESSAGE_CUT`] characters).
    pub error: Option<String>,
    /// Every error message found, in file order (each cut to [`MESSAGE_CUT`] characters; at
    /// most [`ERRORS_CAP`] of them).
    pub errors: Vec<String>,
    /// Codex: the selected event after the usage/model/thread-id merges, exactly as the Python
    /// parser this profile replaces returned it. Claude and Gemini: the final `result` event as decoded.
    pub event: Option<Value>,
    /// Human-readable notes: every status that applies (with line numbers), repairs,
    /// undecodable lines, how `auto` chose. Rebuilt by [`Summary::mark_truncated`] and
    /// [`Summary::mark_failed`].
    pub warnings: Vec<String>,
    /// The scan report: every skipped, dropped and malformed line is counted there.
    pub report: Report,
    /// Every status that applies, with its explanation.
    #[serde(skip)]
    conditions: Vec<(Status, String)>,
    /// Warnings that are not statuses.
    #[serde(skip)]
    notes: Vec<String>,
}

impl Summary {
    fn new(profile: Profile, draft: Draft, report: Report, mut notes: Vec<String>) -> Summary {
        let mut conditions = Vec::new();
        if report.truncated {
            conditions.push((
                Status::Truncated,
                format!(
                    "truncated: the input ends inside line {} (no final LF, and the line is not \
                     complete JSON)",
                    report.lines
                ),
            ));
        }
        if let Some(m) = draft.failed {
            conditions.push((Status::Failed, m));
        }
        if let Some(m) = draft.stale {
            conditions.push((Status::StaleAnswer, m));
        }
        if draft.event.is_none() && !draft.parsed_any {
            conditions.push((
                Status::NoEvents,
                format!(
                    "no events: no {} event could be parsed ({} lines, {} malformed, {} dropped)",
                    profile, report.lines, report.malformed_total, report.dropped_total
                ),
            ));
        } else if let Some(m) = draft.no_answer {
            conditions.push((Status::NoAnswer, m));
        }
        notes.extend(draft.notes);
        let mut s = Summary {
            profile,
            status: Status::Ok,
            answer: draft.answer,
            model: draft.model,
            session_id: draft.session_id,
            usage: draft.usage.filter(|u| !u.is_null()),
            cost_usd: draft.cost_usd,
            error: draft.error,
            errors: draft.errors,
            event: draft.event,
            warnings: Vec::new(),
            report,
            conditions,
            notes,
        };
        s.refresh();
        s
    }

    fn refresh(&mut self) {
        self.conditions.sort_by_key(|c| c.0);
        self.status = self.conditions.first().map_or(Status::Ok, |c| c.0);
        self.warnings = self
            .conditions
            .iter()
            .map(|c| c.1.clone())
            .chain(self.notes.iter().cloned())
            .collect();
    }

    /// Every status that applies, in order of precedence (the first is [`Summary::status`];
    /// empty when the status is `ok`).
    pub fn statuses(&self) -> Vec<Status> {
        self.conditions.iter().map(|c| c.0).collect()
    }

    /// Marks the summary truncated: the spool the transcript came from hit its size cap or a
    /// full disk (`reason` says which). Sets `report.truncated` and recomputes `status` and
    /// `warnings`.
    pub fn mark_truncated(&mut self, reason: impl fmt::Display) {
        self.report.truncated = true;
        self.conditions
            .push((Status::Truncated, format!("truncated: {reason}")));
        self.refresh();
    }

    /// Marks the run failed for a reason the transcript does not show (typically: the child
    /// exited non-zero). Recomputes `status` and `warnings`.
    pub fn mark_failed(&mut self, reason: impl fmt::Display) {
        self.conditions
            .push((Status::Failed, format!("failed: {reason}")));
        self.refresh();
    }

    /// Decodes [`Summary::usage`] into a typed struct, e.g. [`codex::Usage`],
    /// [`claude::Usage`] or [`gemini::Stats`]. `None` when there is no usage.
    ///
    /// # Errors
    ///
    /// When the usage object does not fit `T`.
    pub fn decode_usage<T: DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        self.usage.as_ref().map(T::deserialize)
    }

    /// Decodes [`Summary::event`] into a typed struct, e.g. [`claude::ResultEvent`]. `None`
    /// when there is no event.
    ///
    /// # Errors
    ///
    /// When the event does not fit `T`.
    pub fn decode_event<T: DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        self.event.as_ref().map(T::deserialize)
    }

    /// The summary as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary always serializes")
    }
}

// ---------------------------------------------------------------------------------------------
// Sources and the summarizer

/// The input of a summary.
pub enum Source<'a> {
    /// A file, memory-mapped read-only (see [`ScannerBuilder::mmap`]).
    Path(&'a Path),
    /// An open file, memory-mapped read-only from offset 0.
    File(&'a File),
    /// A reader (stdin, a pipe): first copied into an unnamed temporary file.
    Reader(Box<dyn Read + 'a>),
    /// Bytes in memory.
    Bytes(&'a [u8]),
}

impl<'a> Source<'a> {
    /// A source reading from `reader`.
    pub fn reader(reader: impl Read + 'a) -> Source<'a> {
        Source::Reader(Box::new(reader))
    }
}

impl<'a> From<&'a Path> for Source<'a> {
    fn from(p: &'a Path) -> Source<'a> {
        Source::Path(p)
    }
}

impl<'a> From<&'a PathBuf> for Source<'a> {
    fn from(p: &'a PathBuf) -> Source<'a> {
        Source::Path(p)
    }
}

impl<'a> From<&'a File> for Source<'a> {
    fn from(f: &'a File) -> Source<'a> {
        Source::File(f)
    }
}

impl<'a> From<&'a [u8]> for Source<'a> {
    fn from(b: &'a [u8]) -> Source<'a> {
        Source::Bytes(b)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Source<'a> {
    fn from(b: &'a [u8; N]) -> Source<'a> {
        Source::Bytes(b)
    }
}

impl<'a> From<&'a Vec<u8>> for Source<'a> {
    fn from(b: &'a Vec<u8>) -> Source<'a> {
        Source::Bytes(b)
    }
}

impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Path(p) => f.debug_tuple("Path").field(p).finish(),
            Source::File(file) => f.debug_tuple("File").field(file).finish(),
            Source::Reader(_) => f.write_str("Reader(..)"),
            Source::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
        }
    }
}

/// Summarizes a transcript with the default limits (probe 4 KiB, max_line 16 MiB, ceiling
/// 64 MiB). See [`Summarizer`] to change them.
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
pub fn summarize<'a>(source: impl Into<Source<'a>>, profile: Profile) -> Result<Summary, Error> {
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
    profile: Profile,
    limits: Limits,
    mmap: bool,
    spool_dir: Option<PathBuf>,
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

    fn builder(&self, selector: Selector) -> ScannerBuilder {
        let mut b = ScannerBuilder::new();
        b.select(selector)
            .probe(self.limits.probe)
            .max_line(self.limits.max_line)
            .ceiling(self.limits.ceiling)
            .mmap(self.mmap);
        if let Some(d) = &self.spool_dir {
            b.spool_dir(d);
        }
        b
    }

    /// Summarizes `source`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the limits are out of order (checked before any input is read),
    /// [`Error::Io`] when the input cannot be opened, read or spooled.
    pub fn summarize<'a>(&self, source: impl Into<Source<'a>>) -> Result<Summary, Error> {
        self.builder(Selector::new()).build()?;
        match source.into() {
            Source::Bytes(b) => self.run(Access::Slice(b), Target::Slice(b)),
            Source::Path(p) => {
                let file = File::open(p).map_err(|e| Error::io(Some(p), e))?;
                let meta = file.metadata().map_err(|e| Error::io(Some(p), e))?;
                if meta.is_dir() {
                    let e = io::Error::new(io::ErrorKind::IsADirectory, "is a directory");
                    return Err(Error::io(Some(p), e));
                }
                let access = Access::File {
                    file: &file,
                    len: meta.len(),
                    path: Some(p),
                };
                self.run(access, Target::File(&file))
                    .map_err(|e| with_path(e, p))
            }
            Source::File(f) => {
                let len = f.metadata().map_err(|e| Error::io(None, e))?.len();
                let access = Access::File {
                    file: f,
                    len,
                    path: None,
                };
                self.run(access, Target::File(f))
            }
            Source::Reader(r) => {
                let spool = crate::source::spool(r, self.spool_dir.as_deref())?;
                let len = spool.metadata().map_err(|e| Error::io(None, e))?.len();
                let access = Access::File {
                    file: &spool,
                    len,
                    path: None,
                };
                self.run(access, Target::Spool(&spool))
            }
        }
    }

    fn run(&self, access: Access<'_>, target: Target<'_>) -> Result<Summary, Error> {
        let mut notes = Vec::new();
        let profile = match self.profile {
            Profile::Auto => {
                let (p, note) = detect(&access)?;
                notes.push(note);
                p
            }
            p => p,
        };
        match profile {
            Profile::Codex => {
                self.run_with(profile, codex::Collector::new(), access, target, notes)
            }
            Profile::Claude => {
                self.run_with(profile, claude::Collector::new(), access, target, notes)
            }
            Profile::Gemini | Profile::Auto => self.run_with(
                Profile::Gemini,
                gemini::Collector::new(),
                access,
                target,
                notes,
            ),
        }
    }

    fn run_with<C: Collector>(
        &self,
        profile: Profile,
        mut collector: C,
        access: Access<'_>,
        target: Target<'_>,
        mut notes: Vec<String>,
    ) -> Result<Summary, Error> {
        let selector = profile.selector().expect("a concrete profile");
        let mut scanner: Scanner = self.builder(selector.clone()).build()?;
        let mut sink = ProfileSink {
            collector: &mut collector,
            access: &access,
            limits: self.limits,
            repair: Probe::new(&selector, false),
            repaired: Vec::new(),
            repaired_total: 0,
            unclassified: Vec::new(),
            unclassified_total: 0,
        };
        let report = match target {
            Target::Slice(b) => scanner.scan_slice(b, &mut sink)?,
            Target::File(f) => scanner.scan_file(f, &mut sink)?,
            Target::Spool(f) => scanner.scan_spool(f, &mut sink)?,
        };
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
        let mut fin = Finish {
            access: &access,
            limits: self.limits,
            report: &report,
            repaired: Vec::new(),
        };
        let draft = collector.finish(&mut fin)?;
        for line in fin.repaired {
            notes.push(format!(
                "repaired invalid UTF-8 (U+FFFD) in line {line}, the last object of the transcript"
            ));
        }
        Ok(Summary::new(profile, draft, report, notes))
    }
}

/// How the scanner reads the input.
enum Target<'a> {
    Slice(&'a [u8]),
    File(&'a File),
    Spool(&'a File),
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

// ---------------------------------------------------------------------------------------------
// Random access to the input

/// Positioned reads of the input, independent of how the scanner reads it.
pub(crate) enum Access<'a> {
    Slice(&'a [u8]),
    File {
        file: &'a File,
        len: u64,
        path: Option<&'a Path>,
    },
}

impl Access<'_> {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Access::Slice(b) => b.len() as u64,
            Access::File { len, .. } => *len,
        }
    }

    /// Up to `n` bytes at `offset` (fewer at the end of the input).
    pub(crate) fn read(&self, offset: u64, n: usize) -> Result<Cow<'_, [u8]>, Error> {
        let total = self.len();
        let start = offset.min(total);
        let n = (n as u64).min(total - start) as usize;
        match self {
            Access::Slice(b) => Ok(Cow::Borrowed(&b[start as usize..start as usize + n])),
            Access::File { file, path, .. } => {
                let mut buf = vec![0; n];
                let mut got = 0;
                while got < n {
                    match file.read_at(&mut buf[got..], start + got as u64) {
                        Ok(0) => break,
                        Ok(k) => got += k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Error::io(*path, e)),
                    }
                }
                buf.truncate(got);
                Ok(Cow::Owned(buf))
            }
        }
    }

    /// Where the first line starts (after a BOM).
    fn data_start(&self) -> Result<u64, Error> {
        Ok(if self.read(0, BOM.len())?.as_ref() == BOM {
            BOM.len() as u64
        } else {
            0
        })
    }

    /// The position of the last LF in `[lo, hi)`.
    fn rfind_lf(&self, lo: u64, hi: u64) -> Result<Option<u64>, Error> {
        let mut hi = hi;
        while hi > lo {
            let start = hi.saturating_sub(WALK_CHUNK as u64).max(lo);
            let chunk = self.read(start, (hi - start) as usize)?;
            if let Some(i) = memrchr(b'\n', &chunk) {
                return Ok(Some(start + i as u64));
            }
            hi = start;
        }
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------------
// The profile sink: what the scanner pushes, turned into collector calls

/// Where a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct At {
    pub(crate) line: u64,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

impl At {
    /// The offset just after the line's content.
    pub(crate) fn end(self) -> u64 {
        self.offset + self.len
    }
}

/// A retained line, decoded on demand: from the scanner's tape, or a repaired value.
pub(crate) enum Raw<'e, 'a> {
    Event(&'e mut Event<'a>),
    Value(Value),
}

impl Raw<'_, '_> {
    /// The whole line as an owned JSON value (numbers as in the input).
    pub(crate) fn value(&mut self) -> Result<Value, String> {
        match self {
            Raw::Event(e) => e.decode::<Value>().map_err(|e| e.message),
            Raw::Value(v) => Ok(v.clone()),
        }
    }

    /// The line as a typed struct.
    pub(crate) fn decode<T: DeserializeOwned>(&mut self) -> Result<T, String> {
        match self {
            Raw::Event(e) => e.decode::<T>().map_err(|e| e.message),
            Raw::Value(v) => T::deserialize(&*v).map_err(|e| e.to_string()),
        }
    }
}

/// Why a selected (or possibly selected) line was not decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    OverCeiling,
    Unclassified { probe: usize },
    Malformed(String),
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::OverCeiling => f.write_str("it is over the ceiling"),
            Why::Unclassified { probe } => {
                write!(f, "its type is undecidable within the first {probe} bytes")
            }
            Why::Malformed(e) => write!(f, "it is malformed ({e})"),
        }
    }
}

/// A line that was not decoded, with its first `probe` bytes.
pub(crate) struct Lost<'p> {
    pub(crate) at: At,
    pub(crate) why: Why,
    pub(crate) prefix: &'p [u8],
}

impl Lost<'_> {
    /// "line 16 (offset 10300, 20600 bytes): it is over the ceiling".
    pub(crate) fn describe(&self) -> String {
        format!(
            "line {} (offset {}, {} bytes) was not decoded: {}",
            self.at.line, self.at.offset, self.at.len, self.why
        )
    }
}

/// What a profile does with the lines of a scan.
pub(crate) trait Collector {
    /// A decoded (or repaired) selected line. Returns false to end the scan.
    fn event(&mut self, at: At, raw: &mut Raw<'_, '_>) -> bool;
    /// A line that may be one the profile selects but was not decoded.
    fn lost(&mut self, lost: &Lost<'_>);
    /// Builds the summary's fields once the scan is over.
    fn finish(&mut self, fin: &mut Finish<'_, '_>) -> Result<Draft, Error>;
}

/// The profile-specific part of a [`Summary`].
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub(crate) answer: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) usage: Option<Value>,
    pub(crate) cost_usd: Option<f64>,
    pub(crate) error: Option<String>,
    pub(crate) errors: Vec<String>,
    pub(crate) event: Option<Value>,
    /// Some event was parsed (else, with no `event`, the status is `no_events`).
    pub(crate) parsed_any: bool,
    /// Why the run failed (a "failed: ..." message).
    pub(crate) failed: Option<String>,
    /// Why the answer is stale (a "stale answer: ..." message).
    pub(crate) stale: Option<String>,
    /// Why there is no answer (a "no answer: ..." message).
    pub(crate) no_answer: Option<String>,
    pub(crate) notes: Vec<String>,
}

/// What a collector may use once the scan is over.
pub(crate) struct Finish<'x, 'a> {
    access: &'x Access<'a>,
    limits: Limits,
    pub(crate) report: &'x Report,
    repaired: Vec<u64>,
}

impl Finish<'_, '_> {
    /// True when the input holds more than a line terminator after offset `end`.
    pub(crate) fn more_after(&self, end: u64) -> Result<bool, Error> {
        let t = self.access.read(end, 2)?;
        let term = if t.starts_with(b"\r\n") {
            2
        } else if t.starts_with(b"\n") || t.as_ref() == b"\r" {
            1
        } else {
            0
        };
        Ok(self.access.len() > end + term)
    }

    /// The last line after offset `after` (the end of the last decoded line, or 0) that parses
    /// as a JSON object, with its line number: a walk backwards from the end of the input.
    /// Lines longer than `max_line` are passed over undecoded; invalid UTF-8 is repaired.
    pub(crate) fn last_object_after(&mut self, after: u64) -> Result<Option<(u64, Value)>, Error> {
        let a = self.access;
        let start0 = a.data_start()?;
        let lo = after.max(start0);
        let total = a.len();
        let mut e = total;
        if e > lo && a.read(e - 1, 1)?.as_ref() == b"\n" {
            e -= 1;
        }
        let mut number = self.report.lines;
        loop {
            let (s, last) = match a.rfind_lf(lo, e)? {
                Some(p) => (p + 1, false),
                None if lo == start0 && after <= start0 => (lo, true),
                None => return Ok(None),
            };
            let mut end = e;
            if end > s && a.read(end - 1, 1)?.as_ref() == b"\r" {
                end -= 1;
            }
            let len = end - s;
            if len > 0 && len <= self.limits.max_line as u64 {
                let bytes = a.read(s, len as usize)?;
                if let Some((v, repaired)) = parse_object(&bytes) {
                    if repaired {
                        self.repaired.push(number);
                    }
                    return Ok(Some((number, v)));
                }
            }
            if last || s == 0 {
                return Ok(None);
            }
            e = s - 1;
            number = number.saturating_sub(1);
        }
    }
}

/// A line's bytes as a JSON object (invalid UTF-8 replaced by U+FFFD: then `true`).
pub(crate) fn parse_object(bytes: &[u8]) -> Option<(Value, bool)> {
    if is_blank(bytes) {
        return None;
    }
    let first = bytes.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\r'))?;
    if *first != b'{' {
        return None;
    }
    let (text, repaired) = match std::str::from_utf8(bytes) {
        Ok(t) => (Cow::Borrowed(t), false),
        Err(_) => (String::from_utf8_lossy(bytes), true),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => Some((v, repaired)),
        _ => None,
    }
}

struct ProfileSink<'x, 'a, C> {
    collector: &'x mut C,
    access: &'x Access<'a>,
    limits: Limits,
    /// The profile's selector, to check that a repaired line is one it selects.
    repair: Probe,
    repaired: Vec<u64>,
    repaired_total: u64,
    unclassified: Vec<u64>,
    unclassified_total: u64,
}

impl<C: Collector> ProfileSink<'_, '_, C> {
    fn lost(&mut self, at: At, why: Why) -> Result<(), Error> {
        let prefix = self
            .access
            .read(at.offset, (at.len as usize).min(self.limits.probe))?;
        self.collector.lost(&Lost {
            at,
            why,
            prefix: &prefix,
        });
        Ok(())
    }

    /// Repairs a selected line the decoder rejected for invalid UTF-8.
    fn repair(&mut self, m: &Malformed) -> Result<Option<Value>, Error> {
        if !m.error.contains("UTF-8") || m.len > self.limits.ceiling as u64 {
            return Ok(None);
        }
        let bytes = self.access.read(m.offset, m.len as usize)?;
        if std::str::from_utf8(&bytes).is_ok() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&bytes);
        if !matches!(
            self.repair.classify(text.as_bytes(), true),
            Outcome::Retain(_)
        ) {
            return Ok(None);
        }
        Ok(match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => None,
        })
    }
}

impl<C: Collector> Sink for ProfileSink<'_, '_, C> {
    type Error = Error;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Error> {
        let at = At {
            line: event.number(),
            offset: event.offset(),
            len: event.bytes().len() as u64,
        };
        Ok(self.collector.event(at, &mut Raw::Event(event)))
    }

    fn dropped(&mut self, d: &Dropped) -> Result<bool, Error> {
        let at = At {
            line: d.line,
            offset: d.offset,
            len: d.len,
        };
        self.lost(at, Why::OverCeiling)?;
        Ok(true)
    }

    fn malformed(&mut self, m: &Malformed) -> Result<bool, Error> {
        let at = At {
            line: m.line,
            offset: m.offset,
            len: m.len,
        };
        if let Some(v) = self.repair(m)? {
            self.repaired_total += 1;
            if self.repaired.len() < LIST_CAP {
                self.repaired.push(m.line);
            }
            return Ok(self.collector.event(at, &mut Raw::Value(v)));
        }
        self.lost(at, Why::Malformed(m.error.clone()))?;
        Ok(true)
    }

    fn unclassified(&mut self, line: u64, offset: u64, len: u64) -> Result<bool, Error> {
        self.unclassified_total += 1;
        if self.unclassified.len() < LIST_CAP {
            self.unclassified.push(line);
        }
        let at = At { line, offset, len };
        self.lost(
            at,
            Why::Unclassified {
                probe: self.limits.probe,
            },
        )?;
        Ok(true)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the profiles

/// Decides one rule from a line's first bytes: does the line match, not match, or can't tell?
pub(crate) struct Peek(Probe);

/// The answer of a [`Peek`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Maybe {
    Yes,
    No,
    Unknown,
}

impl Maybe {
    pub(crate) fn possible(self) -> bool {
        self != Maybe::No
    }
}

impl Peek {
    /// A case-sensitive `equals` rule.
    pub(crate) fn equals(path: &str, values: &[&str]) -> Peek {
        let sel = Selector::new()
            .equals(path, values.iter().copied())
            .expect("a valid rule");
        Peek(Probe::new(&sel, true))
    }

    /// An ASCII case-insensitive `contains` rule.
    pub(crate) fn contains(path: &str, values: &[&str]) -> Peek {
        let sel = Selector::new()
            .contains(path, values.iter().copied())
            .expect("a valid rule");
        Peek(Probe::new(&sel, false))
    }

    pub(crate) fn check(&mut self, prefix: &[u8]) -> Maybe {
        match self.0.classify(prefix, false) {
            Outcome::Retain(_) => Maybe::Yes,
            Outcome::Undecided => Maybe::Unknown,
            Outcome::Skip | Outcome::NotObject | Outcome::Malformed { .. } => Maybe::No,
        }
    }
}

/// The keys an error message is looked for under, in order (the seed parser's order).
pub(crate) const MESSAGE_KEYS: [&str; 6] =
    ["error", "message", "detail", "reason", "output", "result"];

/// The first non-empty message of an object under [`MESSAGE_KEYS`]: strings trimmed, objects
/// searched recursively in the same key order, lists give their first element that yields one.
pub(crate) fn extract_message(obj: &Map<String, Value>) -> Option<String> {
    MESSAGE_KEYS
        .iter()
        .find_map(|k| obj.get(*k).and_then(message_in))
}

/// The message a value holds (see [`extract_message`]).
pub(crate) fn message_in(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_string())
        }
        Value::Object(m) => extract_message(m),
        Value::Array(a) => a.iter().find_map(message_in),
        _ => None,
    }
}

/// Cuts a message to [`MESSAGE_CUT`] characters.
pub(crate) fn cut_message(mut s: String) -> String {
    if let Some((i, _)) = s.char_indices().nth(MESSAGE_CUT) {
        s.truncate(i);
    }
    s
}

/// Every error message, in order, capped at [`ERRORS_CAP`].
#[derive(Debug, Default)]
pub(crate) struct Errors {
    pub(crate) list: Vec<String>,
    pub(crate) total: u64,
}

impl Errors {
    pub(crate) fn push(&mut self, msg: &str) {
        self.total += 1;
        if self.list.len() < ERRORS_CAP {
            self.list.push(msg.to_string());
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// A note when some messages were not listed.
    pub(crate) fn note(&self) -> Option<String> {
        (self.total > self.list.len() as u64).then(|| {
            format!(
                "{} error messages found; `errors` lists the first {}",
                self.total,
                self.list.len()
            )
        })
    }
}

/// The string value of `key`, if it is a non-empty string.
pub(crate) fn str_of<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Lenient field deserializers for the typed event structs: a field whose JSON type is not the
/// expected one reads as `None` instead of failing the whole event.
pub(crate) mod lenient {
    // Each field is decoded as a JSON value first, then converted: events are few and small
    // next to the lines the scan skips.
    use super::*;

    fn any<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    /// A string, or `None`.
    pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match any(d)? {
            Value::String(s) => Some(s),
            _ => None,
        })
    }

    /// A boolean, or `None`.
    pub(crate) fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(any(d)?.as_bool())
    }

    /// A non-negative integer (or a float holding one), or `None`.
    pub(crate) fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let v = any(d)?;
        Ok(v.as_u64().or_else(|| {
            let f = v.as_f64()?;
            (f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64).then_some(f as u64)
        }))
    }

    /// A number, or `None`.
    pub(crate) fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(any(d)?.as_f64())
    }

    /// Any value except null.
    pub(crate) fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Ok(Some(any(d)?).filter(|v| !v.is_null()))
    }
}

// ---------------------------------------------------------------------------------------------
// Format detection

/// Picks a profile from the `type` of the first events, with a note saying why.
fn detect(access: &Access<'_>) -> Result<(Profile, String), Error> {
    let start = access.data_start()?;
    let head = access.read(start, DETECT_HEAD)?;
    let cut = head.len() as u64 + start < access.len();
    let sel = Selector::new()
        .contains("type", [""])
        .expect("a valid rule");
    let mut types = Probe::new(&sel, true);
    let mut pos = 0;
    let mut number = 0u64;
    while pos < head.len() && (number as usize) < DETECT_LINES {
        number += 1;
        let (line, whole) = match memchr::memchr(b'\n', &head[pos..]) {
            Some(i) => (&head[pos..pos + i], true),
            None => (&head[pos..], !cut),
        };
        pos += line.len() + 1;
        let ty = match types.classify(line, false) {
            Outcome::Retain(_) => String::from_utf8_lossy(types.matched_value()).into_owned(),
            _ => continue,
        };
        let found = match ty.as_str() {
            t if ["thread.", "turn.", "item.", "session.", "task."]
                .iter()
                .any(|p| t.starts_with(p)) =>
            {
                Some(Profile::Codex)
            }
            "system" | "assistant" | "user" | "stream_event" => Some(Profile::Claude),
            "init" | "message" | "tool_use" | "tool_result" => Some(Profile::Gemini),
            "result" if whole => match parse_object(line) {
                Some((Value::Object(m), _)) => Some(
                    if ["subtype", "total_cost_usd", "num_turns", "duration_api_ms"]
                        .iter()
                        .any(|k| m.contains_key(*k))
                    {
                        Profile::Claude
                    } else if m.contains_key("stats") || m.contains_key("status") {
                        Profile::Gemini
                    } else {
                        Profile::Codex
                    },
                ),
                _ => None,
            },
            _ => None,
        };
        if let Some(p) = found {
            return Ok((
                p,
                format!("profile auto: detected {p} from line {number} (type {ty:?})"),
            ));
        }
    }
    Ok((
        Profile::Codex,
        "profile auto: no known event type in the first lines; assumed codex".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let v: Value = serde_json::json!({
            "error": {"code": 5, "message": "  "},
            "message": [" ", {"detail": " deep "}],
        });
        assert_eq!(
            extract_message(v.as_object().unwrap()).as_deref(),
            Some("deep")
        );
        let v: Value = serde_json::json!({"error": null, "output": "x"});
        assert_eq!(
            extract_message(v.as_object().unwrap()).as_deref(),
            Some("x")
        );
        assert_eq!(cut_message("é".repeat(2001)).chars().count(), 2000);
        assert_eq!(cut_message("ab".into()), "ab");
    }

    #[test]
    fn last_object_walk() {
        let report = |lines| Report {
            lines,
            ..Report::default()
        };
        let data = b"\xEF\xBB\xBF{\"a\":1}\r\n[2]\n\n{\"b\":2}\r\n{bad\n  \n";
        let access = Access::Slice(data);
        let r = report(6);
        let mut fin = Finish {
            access: &access,
            limits: Summarizer::new(Profile::Codex).limits,
            report: &r,
            repaired: vec![],
        };
        let (n, v) = fin.last_object_after(0).unwrap().unwrap();
        assert_eq!((n, v), (4, serde_json::json!({"b": 2})));
        // After line 4's end: nothing.
        let end = data.len() as u64 - 10;
        assert_eq!(fin.last_object_after(end).unwrap(), None);
        // Only line 1.
        let data = b"\xEF\xBB\xBF{\"a\":1}";
        let access = Access::Slice(data);
        let r = report(1);
        fin.access = &access;
        fin.report = &r;
        assert_eq!(fin.last_object_after(0).unwrap().unwrap().0, 1);
        assert_eq!(fin.last_object_after(10).unwrap(), None);
        let access = Access::Slice(b"");
        fin.access = &access;
        assert_eq!(fin.last_object_after(0).unwrap(), None);
    }
}
