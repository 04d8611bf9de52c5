//! `--profile auto`: which CLI wrote a transcript, told from its first events.
//!
//! Only top-level keys count: a line's `type` is read by the structural probe, and where the
//! type is shared by several CLIs (`system`, `result`, `tool_use`, `error`, `session.*`) the
//! line, when it holds at most [`DETECT_HEAD`] bytes, is parsed and its top-level keys are
//! looked at (a longer line, a tool output, counts by its type alone; its end is found by a
//! search, so a giant first line does not hide the events after it). At most
//! [`DETECT_LINES`] lines are looked at. Text
//! inside a value (a tool output holding `"type":"result"`) never counts. A stream that fits
//! no profile is not guessed: the summary keeps the profile `auto`, decodes nothing, and a
//! warning names what was seen.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::summarizer::Target;
use super::{
    At, DETECT_HEAD, DETECT_LINES, Draft, Finish, Lost, Profile, Raw, Summarizer, parse_object,
};
use crate::decode::Event;
use crate::error::Error;
use crate::probe::{Outcome, Probe};
use crate::report::Report;
use crate::select::Selector;
use crate::sink::{Passed, Sink};

/// What a line says about the CLI.
enum Clue {
    Is(Profile),
    /// Claude Code or a Claude-compatible CLI, not told which.
    ClaudeLike,
    Nothing,
}

fn has(m: &Map<String, Value>, key: &str) -> bool {
    m.contains_key(key)
}

/// The clue of one line with type `ty` (`obj`: the line parsed, when it is whole and small).
fn clue(ty: &str, obj: Option<&Map<String, Value>>) -> Clue {
    use Profile::*;
    let Some(m) = obj else {
        // Types that tell without the rest of the line.
        return match ty {
            t if ["thread.", "turn.", "item.", "task."]
                .iter()
                .any(|p| t.starts_with(p)) =>
            {
                Clue::Is(Codex)
            }
            t if ["assistant.", "user.", "tool.", "subagent.", "hook."]
                .iter()
                .any(|p| t.starts_with(p)) =>
            {
                Clue::Is(Copilot)
            }
            "thinking" | "tool_call" => Clue::Is(Cursor),
            "init" | "message" | "tool_result" => Clue::Is(Gemini),
            "step_start" | "step_finish" => Clue::Is(Opencode),
            _ => Clue::Nothing,
        };
    };
    match ty {
        t if t.starts_with("session.") => Clue::Is(if has(m, "data") { Copilot } else { Codex }),
        "system" => {
            let session = m.get("session_id").and_then(Value::as_str).unwrap_or("");
            if has(m, "qwen_code_version") {
                Clue::Is(Qwen)
            } else if has(m, "claude_code_version") {
                Clue::Is(Claude)
            } else if session.starts_with("T-") {
                Clue::Is(Amp)
            } else if has(m, "apiKeySource") && !has(m, "tools") {
                Clue::Is(Cursor)
            } else if has(m, "tools") && has(m, "model") {
                Clue::Is(Claude)
            } else {
                Clue::ClaudeLike
            }
        }
        "result" => {
            if has(m, "exitCode") || has(m, "sessionId") {
                Clue::Is(Copilot)
            } else if has(m, "stats") || (has(m, "status") && !has(m, "subtype")) {
                Clue::Is(Gemini)
            } else if has(m, "total_cost_usd") {
                Clue::Is(Claude)
            } else if m
                .get("usage")
                .and_then(Value::as_object)
                .is_some_and(|u| has(u, "inputTokens"))
            {
                Clue::Is(Cursor)
            } else if m
                .get("session_id")
                .and_then(Value::as_str)
                .is_some_and(|s| s.starts_with("T-"))
            {
                Clue::Is(Amp)
            } else if ["subtype", "is_error", "num_turns", "duration_ms"]
                .iter()
                .any(|k| has(m, k))
            {
                Clue::ClaudeLike
            } else {
                Clue::Is(Codex)
            }
        }
        "tool_use" => Clue::Is(if has(m, "part") { Opencode } else { Gemini }),
        "text" | "reasoning" if has(m, "part") || has(m, "sessionID") => Clue::Is(Opencode),
        "error" if has(m, "sessionID") => Clue::Is(Opencode),
        "error" if has(m, "severity") => Clue::Is(Gemini),
        "assistant" | "user" | "stream_event" => Clue::ClaudeLike,
        t => clue(t, None),
    }
}

/// How much of a long line the probe reads for its type.
const PREFIX: usize = 4 << 10;

/// The detection scan's sink: each line from the start of the input, as its first bytes
/// (the whole line when it holds at most [`DETECT_HEAD`] bytes, else its first [`PREFIX`]
/// bytes), comes from the scanner ([`Sink::passed`] for every line: the detection scan
/// retains nothing); it stops the scan at the first clue, or after [`DETECT_LINES`] lines.
pub(crate) struct Detector {
    types: Probe,
    seen: BTreeMap<String, u64>,
    not_json: u64,
    untyped: u64,
    claude_like: Option<u64>,
    /// Lines looked at.
    number: u64,
    found: Option<(Profile, String)>,
}

impl Detector {
    /// Looks at line `number`; false once detection is over.
    fn line(&mut self, number: u64, line: &[u8], whole: bool) -> bool {
        if number > DETECT_LINES as u64 {
            self.number = DETECT_LINES as u64;
            return false;
        }
        self.number = number;
        let go = number < DETECT_LINES as u64;
        let ty = match self.types.classify(line, false) {
            Outcome::Retain(_) => String::from_utf8_lossy(self.types.matched_value()).into_owned(),
            Outcome::Malformed { .. } => {
                self.not_json += 1;
                return go;
            }
            Outcome::Skip | Outcome::NotObject if !crate::lines::is_blank(line) => {
                self.untyped += 1;
                return go;
            }
            _ => return go,
        };
        if self.seen.len() < 12 || self.seen.contains_key(&ty) {
            *self.seen.entry(ty.clone()).or_default() += 1;
        }
        let parsed = whole.then(|| parse_object(line)).flatten();
        let obj = parsed.as_ref().and_then(|(v, _)| v.as_object());
        match clue(&ty, obj) {
            Clue::Is(p) => {
                let note = format!("profile auto: detected {p} from line {number} (type {ty:?})");
                self.found = Some((p, note));
                return false;
            }
            Clue::ClaudeLike => {
                self.claude_like.get_or_insert(number);
            }
            Clue::Nothing => {}
        }
        go
    }

    fn take(&mut self, line: &Passed<'_>) -> bool {
        let whole = line.len() as usize <= DETECT_HEAD && line.is_whole();
        let bytes = if whole {
            line.bytes()
        } else {
            line.head(PREFIX)
        };
        self.line(line.number(), bytes, whole)
    }
}

impl Sink for Detector {
    type Error = Error;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Error> {
        // The detection selector retains nothing; a line it did would be looked at the same.
        let bytes = event.bytes();
        let whole = bytes.len() <= DETECT_HEAD;
        let bytes = if whole { bytes } else { &bytes[..PREFIX] };
        Ok(self.line(event.number(), bytes, whole))
    }

    fn wants_skipped(&self) -> bool {
        true
    }

    fn passed(&mut self, line: &Passed<'_>) -> Result<bool, Error> {
        Ok(self.take(line))
    }

    fn finish(&mut self, report: &Report) -> Result<(), Error> {
        if self.found.is_none() && self.number < DETECT_LINES as u64 {
            // Blank lines count as lines looked at, up to the end of the input.
            self.number = report.lines.min(DETECT_LINES as u64);
        }
        Ok(())
    }
}

impl Detector {
    pub(crate) fn new() -> Detector {
        let sel = Selector::new()
            .contains("type", [""])
            .expect("a valid rule");
        Detector {
            types: Probe::new(&sel, true),
            seen: BTreeMap::new(),
            not_json: 0,
            untyped: 0,
            claude_like: None,
            number: 0,
            found: None,
        }
    }

    /// Whether detection is over before the end of the input: a clue was found, or the lines
    /// it looks at are all seen.
    pub(crate) fn decided(&self) -> bool {
        self.found.is_some() || self.number >= DETECT_LINES as u64
    }

    /// The profile found (`None` when none fits), with a note saying why.
    pub(crate) fn conclude(self) -> (Option<Profile>, String) {
        if let Some((p, note)) = self.found {
            return (Some(p), note);
        }
        if let Some(line) = self.claude_like {
            return (
                Some(Profile::Claude),
                format!(
                    "profile auto: Claude-compatible events from line {line}, but no event told \
                     which CLI wrote them (Claude Code, Cursor, Amp or Qwen Code); assumed claude"
                ),
            );
        }
        let seen = if self.seen.is_empty() {
            "no event types".to_string()
        } else {
            self.seen
                .iter()
                .map(|(t, n)| format!("{t:?} x{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        (
            None,
            format!(
                "profile auto: no profile fits the first {} line(s) (seen: {seen}; {} \
                 line(s) not JSON, {} without a string type); nothing was summarized",
                self.number, self.not_json, self.untyped
            ),
        )
    }
}

/// Picks a profile from the first events, with a note saying why; `None` when none fits.
/// The lines come from a scan of `target` with `s`'s limits that retains nothing and stops
/// at the first clue.
pub(crate) fn detect(
    s: &Summarizer,
    target: &Target<'_>,
) -> Result<(Option<Profile>, String), Error> {
    let mut d = Detector::new();
    let mut scanner = s.builder(nothing_selector()).threads(1).build()?;
    target.scan(&mut scanner, &mut d)?;
    Ok(d.conclude())
}

/// A selector that retains (almost) nothing, for a stream no profile fits: the scan still
/// counts every line for the report.
pub(crate) fn nothing_selector() -> Selector {
    Selector::new()
        .equals("type", ["\u{0}spoolscan: no profile"])
        .expect("a valid rule")
}

/// The collector of a stream no profile fits: it keeps nothing.
pub(crate) struct Nothing;

impl super::Collector for Nothing {
    fn event(&mut self, _at: At, _raw: &mut Raw<'_, '_>) -> bool {
        true
    }

    fn lost(&mut self, _lost: &Lost<'_>) {}

    fn finish(&mut self, _fin: &mut Finish<'_, '_>) -> Result<Draft, Error> {
        Ok(Draft::default())
    }
}
