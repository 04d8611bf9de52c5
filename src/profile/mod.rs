//! Agent transcript profiles: summaries of Codex, Claude Code, Gemini CLI, OpenCode, Cursor
//! Agent, Amp, Qwen Code and GitHub Copilot CLI transcripts.
//!
//! A *profile* knows one CLI's event format. It chooses the selection rules so that only the
//! events it needs are decoded (giant tool outputs are classified by their `type` and skipped
//! undecoded), decodes them into typed serde structs, and builds a [`Summary`]: the answer,
//! usage, model, session id, cost, errors and a [`Status`], plus the scan [`Report`].
//!
//! The entry points are [`summarize`] (default limits) and [`Summarizer`] (limits, spool
//! directory), over anything that is [`IntoSource`] (a path, a file, a reader such as
//! `stdin().lock()`, bytes), and [`Summarizer::run`] / [`Summarizer::summarize_run`] for the
//! stdout of a [`Runner`](crate::Runner)'s command, with the run's outcome (exit status,
//! timeout, spool cap) applied to the summary; [`Summarizer::run_live`] and [`LiveSummary`]
//! summarize while the transcript is written. Each profile module ([`codex`], [`claude`], [`gemini`], [`opencode`], [`cursor`],
//! [`amp`], [`qwen`], [`copilot`]) also exposes its selection rules (`selector()`) and typed
//! structs for its usage or events.
//!
//! # How summaries stay in bounded memory
//!
//! * Only the lines the profile selects are decoded; every other line is classified by the
//!   prefix probe and skipped. The summary keeps a handful of decoded events (the answer
//!   candidate, the usage event, the last event), never the whole transcript; answers
//!   assembled from chunks (Gemini, OpenCode) are capped at the ceiling, with a warning.
//! * The Codex last-object fallback walks back from the end in chunks it reads once (time
//!   proportional to the bytes), and decodes no line over 256 KiB.
//! * A selected line that could not be decoded (over the ceiling, undecidable within the
//!   probe, malformed) is not silently ignored: the profile looks at its first `probe` bytes
//!   (those the scanner passes it, [`Sink::passed`](crate::Sink::passed); never the whole
//!   line) and, when it could have been the answer, the summary's status is `stale_answer`
//!   with the line and offset in `warnings`.
//! * A selected line with invalid UTF-8 is rejected by the decoder (and counted as malformed in
//!   the report); the summarizer checks the UTF-8 of every malformed line within the ceiling
//!   that the scan passes whole (not the error text: the validator already read such a line),
//!   and when it is not valid UTF-8, replaces the invalid bytes with U+FFFD, decodes it again,
//!   and uses it, with a warning naming the line.
//! * Every byte comes through the scanner: retained events, passed lines
//!   ([`Sink::passed`](crate::Sink::passed)), and the input read back at the end
//!   ([`Sink::read_back`](crate::Sink::read_back)) for the Codex fallback. `auto` detection is
//!   a scan of the first lines that retains nothing. Readers (stdin, pipes) are copied with
//!   [`Scanner::spool`](crate::Scanner::spool) first, since detection and the fallback read
//!   them again.
//! * A live follow ([`LiveSummary`]) feeds the same collectors as it follows a growing file:
//!   the summary of a running command comes out of the pass that follows it.

pub mod amp;
pub mod claude;
pub mod codex;
mod collect;
pub mod copilot;
pub mod cursor;
mod detect;
pub mod gemini;
mod input;
mod live;
pub mod opencode;
pub mod qwen;
mod run;
mod summarizer;
mod walk;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::report::Report;
use crate::select::Selector;
pub(crate) use collect::{
    At, Collector, Draft, Errors, Finish, Lost, Maybe, Notes, Peek, Raw, cut_message,
    extract_message, lenient, message_in, str_of,
};
pub use input::{IntoSource, Source};
pub use live::LiveSummary;
pub use run::{RunError, RunSummary};
pub use summarizer::{Summarizer, summarize};
pub(crate) use walk::{Fallback, parse_object};

/// Error messages are cut to this many characters.
pub const MESSAGE_CUT: usize = 2000;

/// At most this many messages are kept in [`Summary::errors`] (the count of the others is given
/// in a warning), so a transcript with millions of error events stays in bounded memory.
pub const ERRORS_CAP: usize = 1000;

/// The head of the input that `--profile auto` looks at.
pub(crate) const DETECT_HEAD: usize = 64 << 10;
/// At most this many lines of the head are looked at.
pub(crate) const DETECT_LINES: usize = 64;
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
    /// OpenCode, `opencode run --format json`.
    Opencode,
    /// Cursor Agent, `cursor-agent -p --output-format stream-json`.
    Cursor,
    /// Amp, `amp -x --stream-json`.
    Amp,
    /// Qwen Code, `qwen -p --output-format stream-json`.
    Qwen,
    /// GitHub Copilot CLI, `copilot -p --output-format json`.
    Copilot,
    /// Detect the format from the first events (the summary names the profile chosen, and a
    /// warning says why).
    #[default]
    Auto,
}

impl Profile {
    /// Every concrete profile (all but [`Profile::Auto`]).
    pub const ALL: [Profile; 8] = [
        Profile::Codex,
        Profile::Claude,
        Profile::Gemini,
        Profile::Opencode,
        Profile::Cursor,
        Profile::Amp,
        Profile::Qwen,
        Profile::Copilot,
    ];

    /// The profile's name: `codex`, `claude`, `gemini`, `opencode`, `cursor`, `amp`, `qwen`,
    /// `copilot` or `auto`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Codex => "codex",
            Profile::Claude => "claude",
            Profile::Gemini => "gemini",
            Profile::Opencode => "opencode",
            Profile::Cursor => "cursor",
            Profile::Amp => "amp",
            Profile::Qwen => "qwen",
            Profile::Copilot => "copilot",
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
            Profile::Opencode => Some(opencode::selector()),
            Profile::Cursor => Some(cursor::selector()),
            Profile::Amp => Some(amp::selector()),
            Profile::Qwen => Some(qwen::selector()),
            Profile::Copilot => Some(copilot::selector()),
            Profile::Auto => None,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is none of `codex`, `claude`, `gemini`, `opencode`, `cursor`, `amp`,
/// `qwen`, `copilot`, `auto`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown profile {0:?}: expected codex, claude, gemini, opencode, cursor, amp, qwen, copilot \
     or auto"
)]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    /// Parses a profile name, ASCII case-insensitively.
    fn from_str(s: &str) -> Result<Profile, UnknownProfile> {
        let name = s.trim().to_ascii_lowercase();
        if name == "auto" {
            return Ok(Profile::Auto);
        }
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| UnknownProfile(s.to_string()))
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

    /// Applies the outcome of the run whose stdout this summarizes, as
    /// [`Summarizer::summarize_run`] does: `truncated` when its spool hit its cap, a full disk
    /// or a write error, `failed` when the command timed out, was killed or exited non-zero.
    /// For a summary made another way, such as a [`LiveSummary`] of the run.
    pub fn apply_run(&mut self, run: &crate::spool::Run) {
        run::apply(self, run);
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
