//! spoolscan reads huge NDJSON files (above all the transcripts that AI coding-agent CLIs print)
//! fast and in bounded memory: it decodes only the few lines you keep, skips the giant ones by
//! offset, and reports every line it did not hand you.
//!
//! # Overview
//!
//! A scan flows through five stages, each in its own module:
//!
//! * **source**: a file is memory-mapped read-only ([`Scanner::scan_path`],
//!   [`Scanner::scan_file`]); a byte slice is used as is ([`Scanner::scan_slice`]); a pipe or any
//!   [`std::io::Read`] is scanned as it arrives, each line as soon as its LF is read, in
//!   bounded memory ([`Scanner::scan_reader`]). A child process can write straight into such
//!   spools ([`Runner`], which can also pass on the signals this process receives:
//!   [`Runner::forward_signals`]).
//! * **lines**: SIMD newline search (memchr) finds zero-copy [`Line`]s with 1-based numbers and
//!   byte offsets; CR LF, a leading BOM, blank lines and a missing final LF are handled as
//!   [`LineIter`] describes (it exposes the same splitting on its own).
//! * **probe**: a structural, escape-aware scan of each line's JSON follows the key paths of the
//!   rules (`type`, `item.type`), compares the unescaped string values it finds there, and stops
//!   as soon as the line is decided. Lines over `max_line` are decided from their first `probe`
//!   bytes only, so a 60 MiB tool output costs a few KiB of work.
//! * **select**: a [`Selector`] is a list of [`Rule`]s, OR-ed: `equals` or `contains` on a key
//!   path, ASCII case-insensitive by default.
//! * **validate and decode**: only retained lines are validated in full (JSON grammar and
//!   UTF-8, by a SIMD validator that builds nothing; an invalid line is logged with what is wrong
//!   and at which byte); a [`Sink`] receives each one as an [`Event`], which is parsed
//!   (simd-json, through one reused padded buffer) only if the sink asks for a value.
//!
//! The probe's string and container scans and the validator run on a structural index of the
//! line built 64 bytes at a time at the widest SIMD level the CPU has (AVX-512, AVX2, 128-bit,
//! or scalar), detected at run time.
//!
//! Every scan returns a [`Report`]: counts that always add up to the number of lines, and logs
//! (with line number, offset and length) of dropped and malformed lines. Nothing is dropped
//! silently.
//!
//! A file that another process is still writing (a running child's spool, a growing log) can
//! be *followed*: a [`Follower`] reads it with positioned reads as it grows and pushes each
//! retained event as soon as the LF that completes its line is written, with the same
//! selection, limits and report as a full scan of the finished file
//! ([`Running::stdout_follower`] for a child started with [`Runner::start`]).
//!
//! # Example: keep agent messages from a byte slice
//!
//! ```
//! use spoolscan::{Scanner, Selector, sinks::Raw};
//!
//! let transcript = br#"{"type":"thread.started","thread_id":"t1"}
//! {"type":"item.completed","item":{"id":"c1","type":"command_execution","aggregated_output":"{\"type\":\"error\"}"}}
//! {"type":"item.completed","item":{"id":"m1","type":"agent_message","text":"Done."}}
//! {"type":"turn.completed","usage":{"input_tokens":10,"output_tokens":2}}
//! "#;
//! let mut scanner = Scanner::builder()
//!     .select(Selector::new()
//!         .equals("type", ["turn.completed", "error", "turn.failed"])?
//!         .equals("item.type", ["agent_message"])?)
//!     .build()?;
//! let mut kept = vec![];
//! let report = scanner.scan_slice(transcript, Raw::new(|line| {
//!     kept.push(line.number());
//!     Ok(true)
//! }))?;
//! // The fake `"type":"error"` inside the tool output does not count: only line 3 and 4 match.
//! assert_eq!(kept, [3, 4]);
//! assert_eq!((report.lines, report.retained, report.skipped), (4, 2, 2));
//! assert!(report.is_consistent());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: typed decoding
//!
//! [`Event::decode`] deserializes a retained line into any `serde::Deserialize` type, borrowing
//! strings from the scanner's buffer where the type allows it.
//!
//! ```
//! use serde::Deserialize;
//! use spoolscan::{Event, Scanner, Selector, Sink};
//!
//! #[derive(Deserialize)]
//! struct Item<'a> { #[serde(rename = "type")] kind: &'a str, text: Option<&'a str> }
//! #[derive(Deserialize)]
//! struct Completed<'a> { #[serde(borrow)] item: Item<'a> }
//!
//! struct LastAnswer(Option<String>);
//!
//! impl Sink for LastAnswer {
//!     type Error = Box<dyn std::error::Error>;
//!     fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Self::Error> {
//!         let c: Completed = event.decode()?;
//!         assert_eq!(c.item.kind, "agent_message");
//!         self.0 = c.item.text.map(str::to_owned);
//!         Ok(true)
//!     }
//! }
//!
//! let data = b"{\"type\":\"item.completed\",\"item\":{\"type\":\"agent_message\",\"text\":\"caf\\u00e9\"}}\n";
//! let mut scanner = Scanner::builder()
//!     .select(Selector::new().equals("item.type", ["agent_message"])?)
//!     .build()?;
//! let mut sink = LastAnswer(None);
//! scanner.scan_slice(data, &mut sink)?;
//! assert_eq!(sink.0.as_deref(), Some("café"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: pull events instead of pushing them
//!
//! [`Scanner::events`] is an iterator over the retained events of a file (the scan runs on a
//! helper thread), for code that wants a `for` loop rather than a [`Sink`]:
//!
//! ```
//! use spoolscan::{Scanner, Selector};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("app.ndjson");
//! std::fs::write(&path, "{\"level\":\"error\",\"msg\":\"disk full\"}\n{\"level\":\"info\"}\n")?;
//! let scanner = Scanner::builder().select(Selector::new().equals("level", ["error"])?).build()?;
//! for event in scanner.events(&path)? {
//!     let event = event?;
//!     let v: serde_json::Value = event.decode()?;
//!     assert_eq!((event.number, v["msg"].as_str()), (1, Some("disk full")));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: summarize an agent's transcript
//!
//! [`summarize`] reads a transcript of any of the supported agent CLIs (the profile is
//! detected from the first lines with [`Profile::Auto`]) and returns the final answer, token
//! usage, errors and a [`Status`], with the scan's [`Report`]. It takes a path, a file, a reader
//! or bytes. [`Summarizer`] sets the limits and the number of threads.
//!
//! ```
//! use spoolscan::{Profile, Status, summarize};
//!
//! let transcript = br#"{"type":"system","subtype":"init","session_id":"s1","model":"m"}
//! {"type":"result","subtype":"success","is_error":false,"result":"All tests pass.","total_cost_usd":0.12}
//! "#;
//! let summary = summarize(&transcript[..], Profile::Auto)?;
//! assert_eq!((summary.profile, summary.status), (Profile::Claude, Status::Ok));
//! assert_eq!(summary.answer.as_deref(), Some("All tests pass."));
//! assert_eq!(summary.cost_usd, Some(0.12));
//! # Ok::<(), spoolscan::Error>(())
//! ```
//!
//! # Example: run an agent and summarize it while it writes
//!
//! [`Summarizer::run_live`] starts the command with its output spooled to disk (a [`Runner`]:
//! timeout, process-group kill, size cap), follows the spool as it grows, and summarizes it in
//! that one pass; the exit status and truncation rules of `spoolscan run` apply
//! ([`RunSummary::exit_code`]). [`Summarizer::run`] does the same after the command exits.
//!
//! ```
//! use std::process::Command;
//! use spoolscan::{Profile, Runner, Status, Summarizer};
//!
//! let mut cmd = Command::new("sh");
//! cmd.args(["-c", r#"echo '{"type":"thread.started","thread_id":"t1"}'
//! echo '{"type":"item.completed","item":{"id":"i1","type":"agent_message","text":"Done."}}'
//! echo '{"type":"turn.completed","usage":{"input_tokens":5,"output_tokens":1}}'"#]);
//! let done = Summarizer::new(Profile::Codex).run_live(&mut Runner::new(cmd), ())?;
//! assert_eq!((done.summary.status, done.exit_code()), (Status::Ok, 0));
//! assert_eq!(done.summary.answer.as_deref(), Some("Done."));
//! # Ok::<(), spoolscan::RunError>(())
//! ```
//!
//! # Every core
//!
//! [`ScannerBuilder::threads`] (and [`Summarizer::threads`]) scans a file, a spool or a slice on
//! several threads: the input is cut into chunks at LFs, workers classify and validate them,
//! and the sink still receives every call in file order, on the calling thread, with the
//! report of a sequential scan. Readers and followers stay sequential.
//!
//! # Limits
//!
//! | limit | default | meaning |
//! | --- | --- | --- |
//! | [`probe`](ScannerBuilder::probe) | 4 KiB | bytes of an oversize line that classification may look at |
//! | [`max_line`](ScannerBuilder::max_line) | 16 MiB | lines up to this size are classified exactly |
//! | [`ceiling`](ScannerBuilder::ceiling) | 64 MiB | a retained line larger than this is dropped and reported, never decoded |
//!
//! # Why
//!
//! Agent CLIs print tens to hundreds of MiB of NDJSON per run, nearly all of it tool output
//! nobody needs, around a handful of events everybody needs (the final answer, token usage,
//! errors). Reading that into memory, or parsing every line, is what got orchestrators
//! OOM-killed. spoolscan keeps peak resident memory at a small constant plus the largest
//! retained line, whatever the file size and the size of skipped lines, and spends its time on
//! newline search rather than on parsing.
//!
//! # Memory maps and safety
//!
//! Mapped pages behind the cursor are released with `madvise(MADV_DONTNEED)` (they are file
//! pages, so they read back identically if touched again), and access is advised as sequential.
//! A mapped file that *another process truncates* during the scan makes the process die with
//! SIGBUS, unless [`guard_sigbus`] was called (the CLI does): then the scan ends with an
//! [`Error::Io`] ("shrank from X to Y bytes during the scan"). Without the guard, for files you
//! do not control, use [`ScannerBuilder::mmap`]`(false)` (the CLI's `--no-mmap`), which copies
//! the file into an unnamed spool first. Spools (child output, the long lines of a reader) are
//! unnamed `O_TMPFILE` files that only this process holds, so they are always mapped.

#![deny(missing_docs)]

// Memory maps with madvise, O_TMPFILE spools, splice, process groups and /proc: Linux only.
// Say so plainly rather than fail on the first missing API.
#[cfg(not(target_os = "linux"))]
compile_error!("spoolscan supports Linux only (madvise, O_TMPFILE spools, splice, process groups)");

mod block;
mod complete;
mod decode;
mod error;
mod events;
mod follow;
mod lines;
mod mapped_lines;
mod parallel;
mod passed;
mod probe;
mod profile;
mod readback;
mod report;
mod scanner;
mod select;
mod settle;
mod simd;
mod sink;
mod source;
mod spool;
mod stream;
mod validate;

pub use crate::decode::{DecodeError, Event};
pub use crate::error::{ConfigError, Error};
pub use crate::events::{Events, OwnedEvent};
pub use crate::follow::{DEFAULT_MAX_WAIT, Follower};
pub use crate::lines::{Line, LineIter};
pub use crate::profile::{
    ERRORS_CAP, IntoSource, LiveSummary, MESSAGE_CUT, Profile, RunError, RunSummary, Source,
    Status, Summarizer, Summary, UnknownProfile, amp, claude, codex, copilot, cursor, gemini,
    opencode, qwen, summarize,
};
pub use crate::report::{Dropped, LOG_CAP, Malformed, Report};
pub use crate::scanner::{
    DEFAULT_CEILING, DEFAULT_MAX_LINE, DEFAULT_PROBE, Scanner, ScannerBuilder,
};
pub use crate::select::{Matcher, Rule, Selector};
pub use crate::sink::{Category, Input, Passed, Sink, SinkError, sinks};
pub use crate::source::guard_sigbus;
pub use crate::spool::*;

/// Not part of the API: hooks for the fuzz targets, which are a separate crate.
#[doc(hidden)]
pub mod __private {
    pub use crate::simd::check_levels;

    /// Validates one line as the scanner does: `Err` with the error message when it is not
    /// one valid JSON value.
    pub fn validate(line: &[u8]) -> Result<(), String> {
        crate::validate::validate(line).map_err(|e| e.to_string())
    }

    /// The probe's outcome on `line` (and the value that decided it) read whole, and read fed
    /// in pieces ending at `cuts` as the scanner feeds a long line: both, to compare.
    pub fn probe_whole_and_in_pieces(
        selector: &crate::Selector,
        case_sensitive: bool,
        line: &[u8],
        exact: bool,
        cuts: &[usize],
    ) -> (String, String) {
        use crate::probe::{Probe, Progress};
        let mut p = Probe::new(selector, case_sensitive);
        let whole = p.classify(line, exact);
        let whole = format!("{whole:?} {:?}", p.matched_value());
        let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(line.len())).collect();
        ends.sort_unstable();
        ends.push(line.len());
        let mut q = Probe::new(selector, case_sensitive);
        q.start();
        for upto in ends {
            if let Progress::Done(o) = q.resume(line, upto, exact) {
                return (whole, format!("{o:?} {:?}", q.matched_value()));
            }
        }
        (whole, "paused at the end of the line".into())
    }

    /// The probe's fast path on the first line of `bytes` (up to its first LF, a CR before the
    /// LF left out), and its LF form on all of `bytes` (which stops at that LF), each with
    /// the value that decided it; and whether the LF form stopped at or before the LF.
    pub fn probe_fast_and_lf_form(
        selector: &crate::Selector,
        case_sensitive: bool,
        bytes: &[u8],
    ) -> (Option<String>, Option<String>, bool) {
        let mut p = crate::probe::Probe::new(selector, case_sensitive);
        let lf = memchr::memchr(b'\n', bytes);
        let line = match lf {
            Some(i) => bytes[..i].strip_suffix(b"\r").unwrap_or(&bytes[..i]),
            None => bytes,
        };
        let fast = p
            .whole(line)
            .map(|o| format!("{o:?} {:?}", p.matched_value()));
        let (lf_form, within) = match p.whole_lf(bytes) {
            Some((o, reach)) => (
                Some(format!("{o:?} {:?}", p.matched_value())),
                reach <= lf.unwrap_or(bytes.len()),
            ),
            None => (None, true),
        };
        (fast, lf_form, within)
    }
}

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
