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

use super::{
    Access, At, DETECT_HEAD, DETECT_LINES, Draft, Finish, Lost, Profile, Raw, parse_object,
};
use crate::error::Error;
use crate::probe::{Outcome, Probe};
use crate::select::Selector;

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

/// The lines of the input from its start, each as its first bytes: the whole line when it
/// holds at most [`DETECT_HEAD`] bytes, else its first [`PREFIX`] bytes (`whole` false). The
/// end of a long line is found by a search through a reused chunk: nothing grows with it.
struct Lines<'x, 'a> {
    access: &'x Access<'a>,
    pos: u64,
    chunk: Vec<u8>,
}

/// How much of a long line the probe reads for its type.
const PREFIX: usize = 4 << 10;

impl Lines<'_, '_> {
    fn next_line(&mut self) -> Result<Option<(Vec<u8>, bool)>, Error> {
        let total = self.access.len();
        if self.pos >= total {
            return Ok(None);
        }
        let start = self.pos;
        let mut end = None;
        let mut at = start;
        while at < total {
            self.access
                .read_into(at, super::walk::WALK_CHUNK, &mut self.chunk)?;
            if self.chunk.is_empty() {
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &self.chunk) {
                end = Some(at + i as u64);
                break;
            }
            at += self.chunk.len() as u64;
        }
        let (len, next) = match end {
            Some(e) => (e - start, e + 1),
            None => (total - start, total),
        };
        self.pos = next;
        let whole = len as usize <= DETECT_HEAD;
        let take = if whole { len as usize } else { PREFIX };
        let mut bytes = self.access.read(start, take)?.into_owned();
        if whole && bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Ok(Some((bytes, whole)))
    }
}

/// Picks a profile from the first events, with a note saying why; `None` when none fits.
pub(crate) fn detect(access: &Access<'_>) -> Result<(Option<Profile>, String), Error> {
    let sel = Selector::new()
        .contains("type", [""])
        .expect("a valid rule");
    let mut types = Probe::new(&sel, true);
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let (mut not_json, mut untyped, mut claude_like) = (0u64, 0u64, None);
    let mut lines = Lines {
        access,
        pos: access.data_start()?,
        chunk: Vec::with_capacity(super::walk::WALK_CHUNK),
    };
    let mut number = 0u64;
    while (number as usize) < DETECT_LINES {
        let Some((line, whole)) = lines.next_line()? else {
            break;
        };
        number += 1;
        let ty = match types.classify(&line, false) {
            Outcome::Retain(_) => String::from_utf8_lossy(types.matched_value()).into_owned(),
            Outcome::Malformed { .. } => {
                not_json += 1;
                continue;
            }
            Outcome::Skip | Outcome::NotObject if !crate::lines::is_blank(&line) => {
                untyped += 1;
                continue;
            }
            _ => continue,
        };
        if seen.len() < 12 || seen.contains_key(&ty) {
            *seen.entry(ty.clone()).or_default() += 1;
        }
        let parsed = whole.then(|| parse_object(&line)).flatten();
        let obj = parsed.as_ref().and_then(|(v, _)| v.as_object());
        match clue(&ty, obj) {
            Clue::Is(p) => {
                return Ok((
                    Some(p),
                    format!("profile auto: detected {p} from line {number} (type {ty:?})"),
                ));
            }
            Clue::ClaudeLike => {
                claude_like.get_or_insert(number);
            }
            Clue::Nothing => {}
        }
    }
    if let Some(line) = claude_like {
        return Ok((
            Some(Profile::Claude),
            format!(
                "profile auto: Claude-compatible events from line {line}, but no event told \
                 which CLI wrote them (Claude Code, Cursor, Amp or Qwen Code); assumed claude"
            ),
        ));
    }
    let seen = if seen.is_empty() {
        "no event types".to_string()
    } else {
        seen.iter()
            .map(|(t, n)| format!("{t:?} x{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok((
        None,
        format!(
            "profile auto: no profile fits the first {number} line(s) (seen: {seen}; {not_json} \
             line(s) not JSON, {untyped} without a string type); nothing was summarized"
        ),
    ))
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
