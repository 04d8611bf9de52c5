//! The Gemini CLI profile: transcripts of `gemini --output-format stream-json`.
//!
//! * The model and session id come from the `init` event.
//! * The answer is the concatenation of the `content` of the last assistant turn's `message`
//!   events (`delta` chunks in order), capped at the ceiling (the longest line the scanner
//!   decodes) so that millions of chunks cannot grow it without bound; a capped answer comes
//!   with a warning giving the bytes left out. A turn is a run of assistant messages; a `tool_use`
//!   event or a user message ends it. When the transcript's last assistant turn is followed by
//!   a tool call (the run stopped while working), there is no answer (`no_answer`).
//! * The status and stats come from the final `result` event (the summary's `event`; its
//!   `stats` are the summary's `usage`, see [`Stats`]). A `status` other than `success` means
//!   the run failed, with the message of its `error`.
//! * `error` events with severity `error` (or none) are errors; with severity `warning` they are
//!   listed in the summary's warnings.
//! * Only `init`, `message`, `tool_use`, `error` and `result` lines are decoded ([`selector`]):
//!   giant `tool_result` lines are classified by their type and never decoded.
//! * An assistant message of the last turn that was not decoded (over the ceiling, undecidable
//!   within the probe, malformed) makes the status `stale_answer`: the concatenation would miss
//!   a chunk.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    At, Draft, Errors, Finish, Lost, Maybe, Notes, Peek, Raw, cut_message, extract_message,
    lenient, message_in,
};
use crate::error::Error;
use crate::select::Selector;

/// The selection rules of the Gemini profile: `type` equals `init`, `message`, `tool_use`,
/// `error` or `result`.
pub fn selector() -> Selector {
    Selector::new()
        .equals("type", ["init", "message", "tool_use", "error", "result"])
        .expect("valid rules")
}

/// The `init` event that opens the stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Init {
    /// The session id.
    #[serde(deserialize_with = "lenient::string")]
    pub session_id: Option<String>,
    /// The model.
    #[serde(deserialize_with = "lenient::string")]
    pub model: Option<String>,
    /// When it was emitted (ISO 8601).
    #[serde(deserialize_with = "lenient::string")]
    pub timestamp: Option<String>,
}

/// A `message` event: a user prompt, or a chunk (`delta: true`) of an assistant message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    /// `user` or `assistant`.
    #[serde(deserialize_with = "lenient::string")]
    pub role: Option<String>,
    /// The text.
    #[serde(deserialize_with = "lenient::string")]
    pub content: Option<String>,
    /// True for a streamed chunk of a longer message.
    #[serde(deserialize_with = "lenient::bool")]
    pub delta: Option<bool>,
    /// When it was emitted.
    #[serde(deserialize_with = "lenient::string")]
    pub timestamp: Option<String>,
}

/// A `tool_use` event: the model calls a tool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolUse {
    /// The tool.
    #[serde(deserialize_with = "lenient::string")]
    pub tool_name: Option<String>,
    /// The call id (matches the `tool_result`).
    #[serde(deserialize_with = "lenient::string")]
    pub tool_id: Option<String>,
    /// The arguments.
    #[serde(deserialize_with = "lenient::value")]
    pub parameters: Option<Value>,
}

/// An `error` event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorEvent {
    /// `error` or `warning`.
    #[serde(deserialize_with = "lenient::string")]
    pub severity: Option<String>,
    /// The message.
    #[serde(deserialize_with = "lenient::string")]
    pub message: Option<String>,
}

/// The final `result` event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResultEvent {
    /// `success` or `error`.
    #[serde(deserialize_with = "lenient::string")]
    pub status: Option<String>,
    /// What failed (`type`, `message`).
    #[serde(deserialize_with = "lenient::value")]
    pub error: Option<Value>,
    /// Run statistics (see [`Stats`]).
    #[serde(deserialize_with = "lenient::value")]
    pub stats: Option<Value>,
}

/// The statistics of a run (`result.stats`), the summary's `usage`.
///
/// ```
/// use spoolscan::{Profile, gemini, summarize};
///
/// let s = summarize(&br#"{"type":"result","status":"success","stats":{"total_tokens":30,"input_tokens":20,"output_tokens":10,"duration_ms":900,"tool_calls":1}}"#[..], Profile::Gemini)?;
/// let stats: gemini::Stats = s.decode_usage().unwrap()?;
/// assert_eq!((stats.total_tokens, stats.tool_calls), (30, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Stats {
    /// All tokens.
    pub total_tokens: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens served from the cache.
    pub cached: u64,
    /// Input tokens not from the cache.
    pub input: u64,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// Number of tool calls.
    pub tool_calls: u64,
}

/// What every selected line is decoded into first.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Head {
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    kind: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    session_id: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    model: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    role: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    content: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    severity: Option<String>,
    #[serde(deserialize_with = "lenient::value")]
    message: Option<Value>,
}

/// The Gemini collector.
pub(crate) struct Collector {
    session_id: Option<String>,
    model: Option<String>,
    /// The text of the current (or last) assistant turn.
    turn: String,
    /// The line of the turn's first message, if there was a turn.
    turn_line: Option<u64>,
    /// True while no tool call or user message followed the turn.
    turn_open: bool,
    /// What closed the last turn: (line, what).
    closed_by: Option<(u64, &'static str)>,
    /// The most bytes the answer may hold (the ceiling).
    cap: usize,
    /// The line of the first chunk of the turn that did not fit under `cap`, and the bytes
    /// left out.
    capped: Option<(u64, u64)>,
    result: Option<(At, Value, ResultEvent)>,
    errors: Errors,
    result_error: Option<(At, String)>,
    last_error: Option<(At, String)>,
    stale: Option<String>,
    parsed_any: bool,
    notes: Notes,
    peek_message: Peek,
    peek_user: Peek,
    peek_tool_use: Peek,
    peek_result: Peek,
}

impl Collector {
    /// A collector whose assembled answer holds at most `cap` bytes (the ceiling).
    pub(crate) fn new(cap: usize) -> Collector {
        Collector {
            session_id: None,
            model: None,
            turn: String::new(),
            turn_line: None,
            turn_open: false,
            closed_by: None,
            cap,
            capped: None,
            result: None,
            errors: Errors::default(),
            result_error: None,
            last_error: None,
            stale: None,
            parsed_any: false,
            notes: Notes::default(),
            peek_message: Peek::equals("type", &["message"]),
            peek_user: Peek::equals("role", &["user"]),
            peek_tool_use: Peek::equals("type", &["tool_use"]),
            peek_result: Peek::equals("type", &["result"]),
        }
    }

    fn close_turn(&mut self, line: u64, what: &'static str) {
        if self.turn_open {
            self.turn_open = false;
            self.closed_by = Some((line, what));
        }
        // A chunk lost before this boundary belongs to a turn that is not the last.
        self.stale = None;
    }

    /// Appends a chunk to the turn, up to `cap` bytes (cut at a character boundary).
    fn append(&mut self, line: u64, chunk: &str) {
        let room = self.cap.saturating_sub(self.turn.len());
        if chunk.len() <= room && self.capped.is_none() {
            self.turn.push_str(chunk);
            return;
        }
        let mut cut = room.min(chunk.len());
        while !chunk.is_char_boundary(cut) {
            cut -= 1;
        }
        self.turn.push_str(&chunk[..cut]);
        let left = (chunk.len() - cut) as u64;
        let (first, total) = self.capped.unwrap_or((line, 0));
        self.capped = Some((first, total + left));
    }

    fn error(&mut self, at: At, msg: String) -> (At, String) {
        let msg = cut_message(msg);
        self.errors.push(&msg);
        self.last_error = Some((at, msg.clone()));
        (at, msg)
    }
}

impl super::Collector for Collector {
    fn event(&mut self, at: At, raw: &mut Raw<'_, '_>) -> bool {
        let head: Head = match raw.decode() {
            Ok(h) => h,
            Err(e) => {
                self.notes
                    .push(format!("line {} could not be decoded: {e}", at.line));
                return true;
            }
        };
        self.parsed_any = true;
        match head.kind.as_deref() {
            Some("init") => {
                if let Some(s) = head.session_id.filter(|s| !s.is_empty()) {
                    self.session_id = Some(s);
                }
                if let Some(m) = head.model {
                    self.model = Some(m);
                }
            }
            Some("message") if head.role.as_deref() == Some("assistant") => {
                if !self.turn_open {
                    self.turn.clear();
                    self.turn_open = true;
                    self.turn_line = Some(at.line);
                    self.closed_by = None;
                    self.capped = None;
                }
                let chunk = head.content.as_deref().unwrap_or("");
                self.append(at.line, chunk);
            }
            Some("message") => self.close_turn(at.line, "a user message"),
            Some("tool_use") => self.close_turn(at.line, "a tool call"),
            Some("error") => {
                let msg = head
                    .message
                    .as_ref()
                    .and_then(message_in)
                    .unwrap_or_else(|| "error event without a message".to_string());
                if head.severity.as_deref() == Some("warning") {
                    self.notes.push(cut_message(format!(
                        "gemini warning on line {}: {msg}",
                        at.line
                    )));
                } else {
                    self.error(at, msg);
                }
            }
            Some("result") => {
                let v = match raw.value() {
                    Ok(v) => v,
                    Err(e) => {
                        self.notes
                            .push(format!("line {} could not be decoded: {e}", at.line));
                        return true;
                    }
                };
                let r = ResultEvent::deserialize(&v).unwrap_or_default();
                self.result_error = match r.status.as_deref() {
                    Some(s) if s != "success" => {
                        let msg = r
                            .error
                            .as_ref()
                            .and_then(|e| match e {
                                Value::Object(m) => extract_message(m),
                                other => message_in(other),
                            })
                            .unwrap_or_else(|| format!("result status {s:?}"));
                        Some(self.error(at, msg))
                    }
                    _ => None,
                };
                self.result = Some((at, v, r));
            }
            _ => {}
        }
        true
    }

    fn lost(&mut self, lost: &Lost<'_>) {
        let m = self.peek_message.check(lost.prefix);
        let t = self.peek_tool_use.check(lost.prefix);
        if t == Maybe::Yes {
            self.close_turn(lost.at.line, "a tool call (not decoded)");
        } else if m == Maybe::Yes && self.peek_user.check(lost.prefix) == Maybe::Yes {
            self.close_turn(lost.at.line, "a user message (not decoded)");
        } else if m.possible() || t.possible() {
            let what = if m == Maybe::Yes {
                "a message"
            } else {
                "possibly a message"
            };
            self.stale = Some(format!(
                "stale answer: line {} (offset {}, {} bytes), {what} of the last assistant turn, \
                 was not decoded: {}; `answer` is null",
                lost.at.line, lost.at.offset, lost.at.len, lost.why
            ));
        } else if self.peek_result.check(lost.prefix) == Maybe::Yes {
            self.notes.push(format!(
                "{}, and it is the result event: status and stats are missing",
                lost.describe()
            ));
        }
    }

    fn finish(&mut self, _fin: &mut Finish<'_, '_>) -> Result<Draft, Error> {
        let mut d = Draft {
            parsed_any: self.parsed_any,
            session_id: self.session_id.clone(),
            model: self.model.clone(),
            ..Draft::default()
        };
        if self.turn_open {
            d.answer = Some(std::mem::take(&mut self.turn));
            if let Some((line, left)) = self.capped {
                self.notes.push(format!(
                    "the answer is cut at the ceiling ({} bytes): the assistant message chunks \
                     from line {line} on hold {left} more bytes, left out",
                    self.cap
                ));
            }
        }
        let result = self.result.take();
        if let Some((at, v, r)) = &result {
            d.usage = r.stats.clone();
            if let Some(s) = r.status.as_deref().filter(|s| *s != "success") {
                d.failed = Some(format!(
                    "failed: the result on line {} has status {s:?}",
                    at.line
                ));
            }
            d.event = Some(v.clone());
        }
        if let Some(m) = self.stale.take() {
            d.answer = None;
            d.stale = Some(m);
        }
        let has_answer = self.turn_open;
        if d.failed.is_none()
            && !has_answer
            && let Some((at, msg)) = &self.last_error
        {
            d.failed = Some(format!(
                "failed: no answer, and {} error(s), the last on line {}: {msg}",
                self.errors.total, at.line
            ));
        }
        if !has_answer && self.parsed_any {
            d.no_answer = Some(match (self.turn_line, self.closed_by) {
                (Some(t), Some((l, what))) => format!(
                    "no answer: the last assistant turn (from line {t}) is followed by {what} on \
                     line {l}, and no assistant message came after it"
                ),
                _ => "no answer: no assistant message was decoded".to_string(),
            });
        }
        d.error = self
            .result_error
            .as_ref()
            .or(self.last_error.as_ref())
            .map(|e| e.1.clone());
        d.notes = self.notes.take();
        d.notes.extend(self.errors.note());
        d.errors = std::mem::take(&mut self.errors.list);
        Ok(d)
    }
}
