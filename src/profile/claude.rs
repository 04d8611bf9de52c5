//! The Claude Code profile: transcripts of `claude -p --output-format stream-json --verbose`.
//!
//! * The model and session id come from the `system` event with subtype `init` (the session id
//!   is updated from every decoded event that carries one; without an `init`, the model of the
//!   last assistant message is used).
//! * The answer, `is_error`, `subtype`, `num_turns`, `duration_ms`, `total_cost_usd` and `usage`
//!   come from the final `result` event, which is also the summary's `event` (decode it with
//!   [`ResultEvent`]). A result with `is_error: true` has no answer: its text is the error.
//! * Errors come from a `result` with `is_error` or an `error_*` subtype (its message: the
//!   `result` text, else its `errors` list, else the usual message keys, else the subtype), and
//!   from `assistant` messages that carry `error` (the message text, prefixed with the error
//!   code). The failing result's error wins; otherwise the last error wins.
//! * Only `system`, `assistant` and `result` lines are decoded ([`selector`]): giant `user`
//!   tool-result lines are classified by their type and never decoded. Assistant lines are
//!   decoded into a small typed head (model, session id, error); their content is decoded only
//!   when they carry an error.
//! * A `result` line after the last decoded one that was not decoded (over the ceiling,
//!   undecidable within the probe, malformed) makes the status `stale_answer`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    At, Draft, Errors, Finish, Lost, Maybe, Notes, Peek, Raw, cut_message, extract_message, lenient,
};
use crate::error::Error;
use crate::select::Selector;

/// The selection rules of the Claude profile: `type` equals `system`, `assistant` or `result`.
pub fn selector() -> Selector {
    Selector::new()
        .equals("type", ["system", "assistant", "result"])
        .expect("valid rules")
}

/// A `system` event (subtype `init` opens the stream).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct System {
    /// `init` for the first event.
    #[serde(deserialize_with = "lenient::string")]
    pub subtype: Option<String>,
    /// The session id.
    #[serde(deserialize_with = "lenient::string")]
    pub session_id: Option<String>,
    /// The model.
    #[serde(deserialize_with = "lenient::string")]
    pub model: Option<String>,
    /// The working directory.
    #[serde(deserialize_with = "lenient::string")]
    pub cwd: Option<String>,
    /// The tools available.
    pub tools: Vec<Value>,
}

/// An `assistant` event: one message of the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Assistant {
    /// The message.
    pub message: AssistantMessage,
    /// An error code (`rate_limit`, `authentication_failed`, ...) when the message reports an
    /// API error.
    #[serde(deserialize_with = "lenient::value")]
    pub error: Option<Value>,
    /// The session id.
    #[serde(deserialize_with = "lenient::string")]
    pub session_id: Option<String>,
}

/// The message of an [`Assistant`] event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssistantMessage {
    /// The message id.
    #[serde(deserialize_with = "lenient::string")]
    pub id: Option<String>,
    /// The model.
    #[serde(deserialize_with = "lenient::string")]
    pub model: Option<String>,
    /// The content blocks.
    pub content: Vec<ContentBlock>,
    /// Why the model stopped (`end_turn`, `tool_use`, ...).
    #[serde(deserialize_with = "lenient::string")]
    pub stop_reason: Option<String>,
    /// Token usage of this message.
    #[serde(deserialize_with = "lenient::value")]
    pub usage: Option<Value>,
}

/// A content block of a message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContentBlock {
    /// `text`, `tool_use`, `thinking`, ...
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: Option<String>,
    /// The text of a `text` block.
    #[serde(deserialize_with = "lenient::string")]
    pub text: Option<String>,
    /// The tool name of a `tool_use` block.
    #[serde(deserialize_with = "lenient::string")]
    pub name: Option<String>,
}

/// Token usage of a run (`result.usage`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Usage {
    /// Input tokens.
    pub input_tokens: u64,
    /// Input tokens written to the cache.
    pub cache_creation_input_tokens: u64,
    /// Input tokens read from the cache.
    pub cache_read_input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

/// The final `result` event.
///
/// ```
/// use spoolscan::{Profile, claude, summarize};
///
/// let s = summarize(&br#"{"type":"result","subtype":"success","is_error":false,"num_turns":3,"duration_ms":1500,"result":"Done.","total_cost_usd":0.02,"usage":{"input_tokens":10,"output_tokens":4}}"#[..], Profile::Claude)?;
/// let r: claude::ResultEvent = s.decode_event().unwrap()?;
/// assert_eq!((r.num_turns, r.duration_ms, r.is_error), (Some(3), Some(1500), Some(false)));
/// let usage: claude::Usage = s.decode_usage().unwrap()?;
/// assert_eq!(usage.output_tokens, 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResultEvent {
    /// `success`, or `error_max_turns`, `error_during_execution`, ...
    #[serde(deserialize_with = "lenient::string")]
    pub subtype: Option<String>,
    /// True when the run failed.
    #[serde(deserialize_with = "lenient::bool")]
    pub is_error: Option<bool>,
    /// The answer (or, with `is_error`, the error text).
    #[serde(deserialize_with = "lenient::string")]
    pub result: Option<String>,
    /// Error messages of `error_*` results (newer releases).
    pub errors: Vec<Value>,
    /// Number of turns.
    #[serde(deserialize_with = "lenient::u64")]
    pub num_turns: Option<u64>,
    /// Wall time of the run.
    #[serde(deserialize_with = "lenient::u64")]
    pub duration_ms: Option<u64>,
    /// Time spent in API calls.
    #[serde(deserialize_with = "lenient::u64")]
    pub duration_api_ms: Option<u64>,
    /// Cost of the run in US dollars.
    #[serde(deserialize_with = "lenient::f64")]
    pub total_cost_usd: Option<f64>,
    /// Cost of the run in US dollars (older releases).
    #[serde(deserialize_with = "lenient::f64")]
    pub cost_usd: Option<f64>,
    /// Token usage (see [`Usage`]).
    #[serde(deserialize_with = "lenient::value")]
    pub usage: Option<Value>,
    /// The session id.
    #[serde(deserialize_with = "lenient::string")]
    pub session_id: Option<String>,
}

impl ResultEvent {
    /// True when the result reports a failure: `is_error`, or an `error_*` subtype.
    pub fn signals_error(&self) -> bool {
        self.is_error == Some(true)
            || self
                .subtype
                .as_deref()
                .is_some_and(|s| s.to_ascii_lowercase().starts_with("error"))
    }
}

/// What every selected line is decoded into first (cheap: content is skipped).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Head {
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    kind: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    subtype: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    session_id: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    model: Option<String>,
    #[serde(deserialize_with = "lenient::value")]
    error: Option<Value>,
    message: Option<MessageHead>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MessageHead {
    #[serde(deserialize_with = "lenient::string")]
    model: Option<String>,
    #[serde(deserialize_with = "lenient::value")]
    usage: Option<Value>,
}

/// Which Claude-compatible CLI a [`Collector`] reads: they share the event format and differ
/// in where usage and cost come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Claude Code: usage and `total_cost_usd` from the result.
    Claude,
    /// Cursor Agent: camelCase usage on the result (absent in older builds), no cost.
    Cursor,
    /// Amp: usage only on assistant messages (summed), no cost.
    Amp,
    /// Qwen Code: usage on the result, no cost; errors as `error.message`.
    Qwen,
}

/// The Claude collector (and that of the Claude-compatible CLIs, see [`Flavor`]).
pub(crate) struct Collector {
    flavor: Flavor,
    /// The sum of the assistant messages' usage (Amp), and how many were summed.
    usage_sum: Option<serde_json::Map<String, Value>>,
    usage_messages: u64,
    session_id: Option<String>,
    init_model: Option<String>,
    assistant_model: Option<String>,
    result: Option<(At, Value, ResultEvent)>,
    errors: Errors,
    /// The error of the final result, if it failed.
    result_error: Option<(At, String)>,
    last_error: Option<(At, String)>,
    stale: Option<(At, String)>,
    parsed_any: bool,
    notes: Notes,
    peek_result: Peek,
}

impl Collector {
    pub(crate) fn new() -> Collector {
        Collector::with(Flavor::Claude)
    }

    /// A collector for a Claude-compatible CLI.
    pub(crate) fn with(flavor: Flavor) -> Collector {
        Collector {
            flavor,
            usage_sum: None,
            usage_messages: 0,
            session_id: None,
            init_model: None,
            assistant_model: None,
            result: None,
            errors: Errors::default(),
            result_error: None,
            last_error: None,
            stale: None,
            parsed_any: false,
            notes: Notes::default(),
            peek_result: Peek::equals("type", &["result"]),
        }
    }

    fn error(&mut self, at: At, msg: String) -> (At, String) {
        let msg = cut_message(msg);
        self.errors.push(&msg);
        self.last_error = Some((at, msg.clone()));
        (at, msg)
    }
}

/// The message of an assistant event with an error: "code: text".
fn assistant_error(code: &Value, full: Option<Assistant>) -> String {
    let code = super::message_in(code);
    let text = full.and_then(|a| {
        a.message
            .content
            .into_iter()
            .filter_map(|b| b.text)
            .map(|t| t.trim().to_string())
            .find(|t| !t.is_empty())
    });
    match (code, text) {
        (Some(c), Some(t)) => format!("{c}: {t}"),
        (Some(c), None) => c,
        (None, Some(t)) => t,
        (None, None) => "assistant message with an error".to_string(),
    }
}

/// Adds the numbers of `u` to `sum`, key by key (nested objects too); other values are
/// left out (`service_tier`), and so is `max_tokens`, a limit rather than a count.
pub(crate) fn add_usage(
    sum: &mut serde_json::Map<String, Value>,
    u: &serde_json::Map<String, Value>,
) {
    for (k, v) in u {
        match v {
            Value::Number(n) if k != "max_tokens" => {
                let add = |old: Option<&Value>| -> Value {
                    match (old.and_then(Value::as_u64), n.as_u64()) {
                        (Some(a), Some(b)) => Value::from(a.saturating_add(b)),
                        (None, Some(b)) if old.is_none() => Value::from(b),
                        _ => {
                            let a = old.and_then(Value::as_f64).unwrap_or(0.0);
                            Value::from(a + n.as_f64().unwrap_or(0.0))
                        }
                    }
                };
                let new = add(sum.get(k));
                sum.insert(k.clone(), new);
            }
            Value::Object(inner) => {
                if let Value::Object(s) = sum
                    .entry(k.clone())
                    .or_insert_with(|| Value::Object(Default::default()))
                {
                    add_usage(s, inner);
                }
            }
            _ => {}
        }
    }
}

/// The message of a failing result.
fn result_error(v: &Value, r: &ResultEvent) -> String {
    if let Some(t) = r.result.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        return t.to_string();
    }
    let listed: Vec<String> = r.errors.iter().filter_map(super::message_in).collect();
    if !listed.is_empty() {
        return listed.join("; ");
    }
    v.as_object()
        .and_then(extract_message)
        .or_else(|| r.subtype.clone())
        .unwrap_or_else(|| "result with is_error: true".to_string())
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
            Some("system") => {
                if head.subtype.as_deref() == Some("init")
                    && let Some(m) = head.model
                {
                    self.init_model = Some(m);
                }
            }
            Some("assistant") => {
                let message = head.message.unwrap_or_default();
                if let Some(m) = message.model {
                    self.assistant_model = Some(m);
                }
                if self.flavor == Flavor::Amp
                    && let Some(Value::Object(u)) = message.usage
                {
                    add_usage(self.usage_sum.get_or_insert_with(Default::default), &u);
                    self.usage_messages += 1;
                }
                if let Some(code) = head.error {
                    let full = raw.decode::<Assistant>().ok();
                    let msg = assistant_error(&code, full);
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
                self.result_error = if r.signals_error() {
                    let msg = result_error(&v, &r);
                    Some(self.error(at, msg))
                } else {
                    None
                };
                self.result = Some((at, v, r));
                self.stale = None;
            }
            _ => {}
        }
        true
    }

    fn lost(&mut self, lost: &Lost<'_>) {
        let r = self.peek_result.check(lost.prefix);
        if r.possible() {
            let what = if r == Maybe::Yes {
                "a result event"
            } else {
                "possibly the result event"
            };
            self.stale = Some((
                lost.at,
                format!(
                    "stale answer: line {} (offset {}, {} bytes), {what} that would hold the \
                     answer, was not decoded: {}; `answer` is null",
                    lost.at.line, lost.at.offset, lost.at.len, lost.why
                ),
            ));
        }
    }

    fn finish(&mut self, _fin: &mut Finish<'_, '_>) -> Result<Draft, Error> {
        let mut d = Draft {
            parsed_any: self.parsed_any,
            session_id: self.session_id.clone(),
            model: self
                .init_model
                .clone()
                .or_else(|| self.assistant_model.clone()),
            ..Draft::default()
        };
        let result = self.result.take();
        if let Some((at, v, r)) = &result {
            if r.is_error != Some(true) {
                d.answer = r.result.clone();
            }
            d.usage = r.usage.clone();
            if self.flavor == Flavor::Claude {
                d.cost_usd = r.total_cost_usd.or(r.cost_usd);
            }
            if r.is_error == Some(true) {
                d.failed = Some(format!(
                    "failed: the result on line {} has is_error: true (subtype {})",
                    at.line,
                    r.subtype.as_deref().unwrap_or("none")
                ));
            }
            d.event = Some(v.clone());
        }
        if d.usage.is_none()
            && let Some(sum) = self.usage_sum.take()
        {
            d.usage = Some(Value::Object(sum));
            self.notes.push(format!(
                "usage is the sum of the usage of {} assistant message(s) (the result reports \
                 none)",
                self.usage_messages
            ));
        }
        if let Some((_, m)) = self.stale.take() {
            d.answer = None;
            d.stale = Some(m);
        }
        let has_answer = result
            .as_ref()
            .is_some_and(|(_, _, r)| r.is_error != Some(true) && r.result.is_some());
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
            d.no_answer = Some(match &result {
                None => "no answer: no result event was decoded".to_string(),
                Some((at, ..)) => {
                    format!("no answer: the result on line {} has no answer", at.line)
                }
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
