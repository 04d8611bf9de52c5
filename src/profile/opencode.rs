//! The OpenCode profile: transcripts of `opencode run --format json`.
//!
//! Every line is `{"type", "timestamp", "sessionID", ...}`; the events are `step_start`,
//! `text`, `reasoning`, `tool_use`, `step_finish` (each with a `part`) and `error` (with an
//! `error` object `{name, data: {message}}`). There is no final result event, so the summary
//! is assembled:
//!
//! * **Answer**: the `part.text` of the `text` events of the last step (from a `step_start`
//!   to its `step_finish`), concatenated in order, capped at the ceiling (with a warning). A
//!   step that finishes with reason `tool-calls` goes on with tools, so its text is
//!   commentary, not the answer. A transcript that ends inside a step (no `step_finish`)
//!   keeps that step's text, with a warning.
//! * **Usage**: the *sum* over the `step_finish` events of `part.tokens` (`input`, `output`,
//!   `reasoning`, `total`, `cache.read`, `cache.write`): OpenCode reports them per step.
//!   **Cost**: the sum of `part.cost` (US dollars).
//! * **Session id**: the last `sessionID`. **Model**: OpenCode's JSON events do not name it;
//!   `model` is null.
//! * **Errors**: each `error` event, with the message `error.data.message`, else
//!   `error.message`, else `error.name`. No answer and an error: `failed`.
//! * **Event**: the last `step_finish` event as decoded.
//! * Only `step_start`, `text`, `step_finish` and `error` lines are decoded ([`selector`]):
//!   `tool_use` lines, which carry the tools' whole output, are classified by their type and
//!   never decoded. A `text` line of the last step that was not decoded (over the ceiling,
//!   undecidable within the probe, malformed) makes the status `stale_answer`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::claude::add_usage;
use super::{
    At, Draft, Errors, Finish, Lost, Maybe, Notes, Peek, Raw, cut_message, lenient, message_in,
};
use crate::error::Error;
use crate::select::Selector;

/// The selection rules of the OpenCode profile: `type` equals `step_start`, `text`,
/// `step_finish` or `error`.
///
/// ```
/// use spoolscan::{Scanner, opencode, sinks::Raw};
///
/// let mut scanner = Scanner::builder().select(opencode::selector()).build()?;
/// let data = br#"{"type":"tool_use","timestamp":1,"sessionID":"ses_1","part":{"type":"tool","state":{"output":"{\"type\":\"text\"}"}}}
/// {"type":"text","timestamp":2,"sessionID":"ses_1","part":{"type":"text","text":"Done."}}
/// "#;
/// let mut kept = vec![];
/// scanner.scan_slice(data, Raw::new(|line| { kept.push(line.number()); Ok(true) }))?;
/// assert_eq!(kept, [2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn selector() -> Selector {
    Selector::new()
        .equals("type", ["step_start", "text", "step_finish", "error"])
        .expect("valid rules")
}

/// Token counts of one step (`step_finish.part.tokens`); the summary's `usage` is their sum
/// over the steps, in the same shape.
///
/// ```
/// use spoolscan::{Profile, opencode, summarize};
///
/// let s = summarize(&br#"{"type":"step_finish","sessionID":"ses_1","part":{"type":"step-finish","reason":"tool-calls","tokens":{"input":10,"output":2,"reasoning":0,"cache":{"read":4,"write":0}},"cost":0.5}}
/// {"type":"step_finish","sessionID":"ses_1","part":{"type":"step-finish","reason":"stop","tokens":{"input":12,"output":3,"reasoning":1,"cache":{"read":0,"write":1}},"cost":0.25}}
/// "#[..], Profile::Opencode)?;
/// let usage: opencode::Tokens = s.decode_usage().unwrap()?;
/// assert_eq!((usage.input, usage.output, usage.cache.read), (22, 5, 4));
/// assert_eq!(s.cost_usd, Some(0.75));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tokens {
    /// All tokens (newer releases).
    pub total: u64,
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Reasoning tokens.
    pub reasoning: u64,
    /// Cache reads and writes.
    pub cache: Cache,
}

/// Cache token counts of a step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cache {
    /// Tokens read from the cache.
    pub read: u64,
    /// Tokens written to the cache.
    pub write: u64,
}

/// What every selected line is decoded into.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Head {
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    kind: Option<String>,
    #[serde(rename = "sessionID", deserialize_with = "lenient::string")]
    session_id: Option<String>,
    part: Part,
    #[serde(deserialize_with = "lenient::value")]
    error: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Part {
    #[serde(deserialize_with = "lenient::string")]
    text: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    reason: Option<String>,
    #[serde(deserialize_with = "lenient::value")]
    tokens: Option<Value>,
    #[serde(deserialize_with = "lenient::f64")]
    cost: Option<f64>,
}

/// The OpenCode collector.
pub(crate) struct Collector {
    session_id: Option<String>,
    /// The text of the current step.
    text: String,
    /// The line of the current step's start (or first text), if any.
    step_line: Option<u64>,
    /// The current step has text.
    step_text: bool,
    /// The answer: the text of the last finished step that did not go on with tools.
    answer: Option<(u64, String)>,
    /// A step is open (a `step_start` or `text` without its `step_finish`).
    open: bool,
    cap: usize,
    capped: Option<u64>,
    answer_capped: Option<u64>,
    tokens: Option<Map<String, Value>>,
    cost: Option<f64>,
    steps: u64,
    last_finish: Option<(At, Value)>,
    errors: Errors,
    last_error: Option<(At, String)>,
    stale: Option<String>,
    parsed_any: bool,
    notes: Notes,
    peek_text: Peek,
    peek_finish: Peek,
    peek_start: Peek,
    peek_error: Peek,
}

impl Collector {
    /// A collector whose assembled answer holds at most `cap` bytes (the ceiling).
    pub(crate) fn new(cap: usize) -> Collector {
        Collector {
            session_id: None,
            text: String::new(),
            step_line: None,
            step_text: false,
            answer: None,
            open: false,
            cap,
            capped: None,
            answer_capped: None,
            tokens: None,
            cost: None,
            steps: 0,
            last_finish: None,
            errors: Errors::default(),
            last_error: None,
            stale: None,
            parsed_any: false,
            notes: Notes::default(),
            peek_text: Peek::equals("type", &["text"]),
            peek_finish: Peek::equals("type", &["step_finish"]),
            peek_start: Peek::equals("type", &["step_start"]),
            peek_error: Peek::equals("type", &["error"]),
        }
    }

    fn start_step(&mut self, line: u64) {
        self.text.clear();
        self.step_text = false;
        self.step_line = Some(line);
        self.capped = None;
        self.stale = None;
        self.open = true;
    }

    fn append(&mut self, line: u64, chunk: &str) {
        if !self.open {
            self.start_step(line);
        }
        self.step_text = true;
        let room = self.cap.saturating_sub(self.text.len());
        if chunk.len() <= room {
            self.text.push_str(chunk);
            return;
        }
        let mut cut = room;
        while !chunk.is_char_boundary(cut) {
            cut -= 1;
        }
        self.text.push_str(&chunk[..cut]);
        self.capped.get_or_insert(line);
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
        if let Some(s) = head.session_id.filter(|s| !s.is_empty()) {
            self.session_id = Some(s);
        }
        match head.kind.as_deref() {
            Some("step_start") => self.start_step(at.line),
            Some("text") => self.append(at.line, head.part.text.as_deref().unwrap_or("")),
            Some("step_finish") => {
                self.steps += 1;
                if let Some(Value::Object(t)) = &head.part.tokens {
                    add_usage(self.tokens.get_or_insert_with(Map::new), t);
                }
                if let Some(c) = head.part.cost {
                    *self.cost.get_or_insert(0.0) += c;
                }
                if head.part.reason.as_deref() != Some("tool-calls") && self.step_text {
                    self.answer = Some((at.line, std::mem::take(&mut self.text)));
                    self.answer_capped = self.capped;
                    if let Some(s) = self.stale.take() {
                        // The lost chunk belongs to this answer.
                        self.answer = None;
                        self.stale = Some(s);
                    }
                } else if self.step_text {
                    // Commentary before tool calls: a later step holds the answer.
                    self.answer = None;
                    self.stale = None;
                }
                self.open = false;
                self.step_text = false;
                self.text.clear();
                match raw.value() {
                    Ok(v) => self.last_finish = Some((at, v)),
                    Err(e) => self
                        .notes
                        .push(format!("line {} could not be decoded: {e}", at.line)),
                }
            }
            Some("error") => {
                let msg = head
                    .error
                    .as_ref()
                    .and_then(|e| {
                        e.get("data")
                            .and_then(|d| d.get("message"))
                            .and_then(message_in)
                            .or_else(|| e.get("message").and_then(message_in))
                            .or_else(|| e.get("name").and_then(message_in))
                            .or_else(|| message_in(e))
                    })
                    .unwrap_or_else(|| "error event without a message".to_string());
                let msg = cut_message(msg);
                self.errors.push(&msg);
                self.last_error = Some((at, msg));
            }
            _ => {}
        }
        true
    }

    fn lost(&mut self, lost: &Lost<'_>) {
        let t = self.peek_text.check(lost.prefix);
        if self.peek_start.check(lost.prefix) == Maybe::Yes {
            self.start_step(lost.at.line);
        } else if t.possible() && self.peek_finish.check(lost.prefix) != Maybe::Yes {
            let what = if t == Maybe::Yes {
                "a text part"
            } else {
                "possibly a text part"
            };
            if !self.open {
                self.start_step(lost.at.line);
            }
            self.step_text = true;
            self.stale = Some(format!(
                "stale answer: line {} (offset {}, {} bytes), {what} of the last step, was not \
                 decoded: {}; `answer` is null",
                lost.at.line, lost.at.offset, lost.at.len, lost.why
            ));
        } else if self.peek_finish.check(lost.prefix) == Maybe::Yes {
            self.notes.push(format!(
                "{}, and it is a step_finish event: its tokens and cost are not in the sums",
                lost.describe()
            ));
        } else if self.peek_error.check(lost.prefix) == Maybe::Yes {
            self.notes.push(format!(
                "{}, and it is an error event: the error is not in `errors`",
                lost.describe()
            ));
        }
    }

    fn finish(&mut self, _fin: &mut Finish<'_, '_>) -> Result<Draft, Error> {
        let mut d = Draft {
            parsed_any: self.parsed_any,
            session_id: self.session_id.clone(),
            cost_usd: self.cost,
            ..Draft::default()
        };
        if self.open && self.step_text {
            // The transcript ends inside a step: its text is the best answer there is.
            self.notes.push(format!(
                "the last step (from line {}) has no step_finish: the answer is its text so far",
                self.step_line.unwrap_or(0)
            ));
            self.answer = Some((self.step_line.unwrap_or(0), std::mem::take(&mut self.text)));
            self.answer_capped = self.capped;
        }
        if let Some(line) = self.answer_capped {
            self.notes.push(format!(
                "the answer is cut at the ceiling ({} bytes), from the text part on line {line}",
                self.cap
            ));
        }
        d.answer = self.answer.take().map(|a| a.1);
        if let Some(t) = self.tokens.take() {
            d.usage = Some(Value::Object(t));
            self.notes.push(format!(
                "usage and cost are the sums over {} step_finish event(s) (OpenCode reports \
                 them per step)",
                self.steps
            ));
        }
        if let Some((_, v)) = self.last_finish.take() {
            d.event = Some(v);
        }
        let has_answer = d.answer.is_some();
        if let Some(m) = self.stale.take() {
            d.answer = None;
            d.stale = Some(m);
        }
        if !has_answer && let Some((at, msg)) = &self.last_error {
            d.failed = Some(format!(
                "failed: no answer, and {} error(s), the last on line {}: {msg}",
                self.errors.total, at.line
            ));
        }
        if !has_answer && self.parsed_any {
            d.no_answer = Some(
                "no answer: no step ended with text (a step that finished with reason \
                 tool-calls is commentary)"
                    .to_string(),
            );
        }
        d.error = self.last_error.as_ref().map(|e| e.1.clone());
        d.notes = self.notes.take();
        d.notes.extend(self.errors.note());
        d.errors = std::mem::take(&mut self.errors.list);
        Ok(d)
    }
}
