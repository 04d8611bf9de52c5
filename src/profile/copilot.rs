//! The GitHub Copilot CLI profile: transcripts of `copilot -p PROMPT --output-format json`.
//!
//! Every line is `{"type", "data", "id", "timestamp", "parentId", "ephemeral"?}` with dotted
//! types (`session.*`, `user.message`, `assistant.turn_start`, `assistant.message_delta`,
//! `assistant.message`, `tool.execution_start`, `tool.execution_complete`, ...), and the run
//! ends with `{"type":"result","sessionId","exitCode","usage":{...}}`.
//!
//! * **Answer**: `data.content` of the last top-level `assistant.message` (one without
//!   `data.parentToolCallId`, which marks a subagent's message) that requests no tools. A
//!   later message that requests tools means the agent went on working: no answer
//!   (`no_answer`) unless another message follows.
//! * **Usage**: the result's `usage` object as it is (`premiumRequests`,
//!   `totalApiDurationMs`, `sessionDurationMs`, `codeChanges`). Copilot reports no token
//!   totals there; the `outputTokens` of each message are not summed. **Cost**: none
//!   (premium requests are not dollars).
//! * **Model**: `data.model` of the last assistant message (else of `session.tools_updated`,
//!   else of `session.model_change`'s `newModel`). **Session id**: the result's `sessionId`.
//! * **Errors**: `session.error` events (`data.message`); a result with a non-zero
//!   `exitCode` means the run failed. **Event**: the `result` event as decoded.
//! * Only `assistant.message`, `session.error`, `session.tools_updated`,
//!   `session.model_change` and `result` lines are decoded ([`selector`]): tool results
//!   (`tool.execution_complete`), deltas and user messages are classified by their type and
//!   never decoded. An `assistant.message` after the last decoded one that was not decoded
//!   makes the status `stale_answer`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    At, Draft, Errors, Finish, Lost, Maybe, Notes, Peek, Raw, cut_message, lenient, message_in,
};
use crate::error::Error;
use crate::select::Selector;

/// The selection rules of the Copilot profile: `type` equals `assistant.message`,
/// `session.error`, `session.tools_updated`, `session.model_change` or `result`.
pub fn selector() -> Selector {
    Selector::new()
        .equals(
            "type",
            [
                "assistant.message",
                "session.error",
                "session.tools_updated",
                "session.model_change",
                "result",
            ],
        )
        .expect("valid rules")
}

/// The `usage` of Copilot's final `result` event (the summary's `usage`).
///
/// ```
/// use spoolscan::{Profile, copilot, summarize};
///
/// let s = summarize(&br#"{"type":"result","timestamp":"2026-03-30T22:19:28.097Z","sessionId":"aa77","exitCode":0,"usage":{"premiumRequests":6,"totalApiDurationMs":6866,"sessionDurationMs":12927}}"#[..], Profile::Copilot)?;
/// let usage: copilot::Usage = s.decode_usage().unwrap()?;
/// assert_eq!((usage.premium_requests, usage.total_api_duration_ms), (6, 6866));
/// assert_eq!(s.session_id.as_deref(), Some("aa77"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Usage {
    /// Premium requests used by the run.
    pub premium_requests: u64,
    /// Time spent in API calls.
    #[serde(rename = "totalApiDurationMs")]
    pub total_api_duration_ms: u64,
    /// Wall time of the session.
    pub session_duration_ms: u64,
    /// Lines added and removed, files modified.
    pub code_changes: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Head {
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    kind: Option<String>,
    data: Data,
    #[serde(rename = "sessionId", deserialize_with = "lenient::string")]
    session_id: Option<String>,
    #[serde(rename = "exitCode", deserialize_with = "lenient::value")]
    exit_code: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Data {
    #[serde(deserialize_with = "lenient::string")]
    content: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    model: Option<String>,
    #[serde(rename = "newModel", deserialize_with = "lenient::string")]
    new_model: Option<String>,
    #[serde(rename = "parentToolCallId", deserialize_with = "lenient::value")]
    parent_tool_call_id: Option<Value>,
    #[serde(rename = "toolRequests", deserialize_with = "lenient::value")]
    tool_requests: Option<Value>,
    #[serde(deserialize_with = "lenient::value")]
    message: Option<Value>,
    #[serde(rename = "errorType", deserialize_with = "lenient::string")]
    error_type: Option<String>,
}

/// The Copilot collector.
pub(crate) struct Collector {
    session_id: Option<String>,
    model: Option<String>,
    /// The last top-level assistant message: (line, content if it is an answer).
    last_message: Option<(u64, Option<String>)>,
    result: Option<(At, Value, Option<i64>)>,
    errors: Errors,
    last_error: Option<(At, String)>,
    stale: Option<String>,
    parsed_any: bool,
    notes: Notes,
    peek_message: Peek,
    peek_result: Peek,
}

impl Collector {
    pub(crate) fn new() -> Collector {
        Collector {
            session_id: None,
            model: None,
            last_message: None,
            result: None,
            errors: Errors::default(),
            last_error: None,
            stale: None,
            parsed_any: false,
            notes: Notes::default(),
            peek_message: Peek::equals("type", &["assistant.message"]),
            peek_result: Peek::equals("type", &["result"]),
        }
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
        let data = head.data;
        match head.kind.as_deref() {
            Some("assistant.message") => {
                if data.parent_tool_call_id.is_some() {
                    return true; // a subagent's message
                }
                if let Some(m) = data.model {
                    self.model = Some(m);
                }
                let asks_tools = data
                    .tool_requests
                    .as_ref()
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
                let answer = data.content.filter(|c| !c.trim().is_empty() && !asks_tools);
                self.last_message = Some((at.line, answer));
                self.stale = None;
            }
            Some("session.tools_updated") if self.model.is_none() => self.model = data.model,
            Some("session.model_change") => {
                if let Some(m) = data.new_model {
                    self.model = Some(m);
                }
            }
            Some("session.error") => {
                let msg = data
                    .message
                    .as_ref()
                    .and_then(message_in)
                    .or(data.error_type)
                    .unwrap_or_else(|| "session.error event without a message".to_string());
                let msg = cut_message(msg);
                self.errors.push(&msg);
                self.last_error = Some((at, msg));
            }
            Some("result") => {
                if let Some(s) = head.session_id.filter(|s| !s.is_empty()) {
                    self.session_id = Some(s);
                }
                let code = head.exit_code.as_ref().and_then(Value::as_i64);
                match raw.value() {
                    Ok(v) => self.result = Some((at, v, code)),
                    Err(e) => self
                        .notes
                        .push(format!("line {} could not be decoded: {e}", at.line)),
                }
            }
            _ => {}
        }
        true
    }

    fn lost(&mut self, lost: &Lost<'_>) {
        let m = self.peek_message.check(lost.prefix);
        if m.possible() && self.peek_result.check(lost.prefix) != Maybe::Yes {
            let what = if m == Maybe::Yes {
                "an assistant message"
            } else {
                "possibly an assistant message"
            };
            self.stale = Some(format!(
                "stale answer: line {} (offset {}, {} bytes), {what} that would be the answer, \
                 was not decoded: {}; `answer` is null",
                lost.at.line, lost.at.offset, lost.at.len, lost.why
            ));
        } else if self.peek_result.check(lost.prefix) == Maybe::Yes {
            self.notes.push(format!(
                "{}, and it is the result event: exit code and usage are missing",
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
        let message = self.last_message.take();
        d.answer = message.as_ref().and_then(|m| m.1.clone());
        let has_answer = d.answer.is_some();
        if let Some((at, v, code)) = self.result.take() {
            d.usage = v.get("usage").cloned();
            if let Some(c) = code.filter(|c| *c != 0) {
                d.failed = Some(format!(
                    "failed: the result on line {} has exitCode {c}",
                    at.line
                ));
            }
            d.event = Some(v);
        }
        if let Some(m) = self.stale.take() {
            d.answer = None;
            d.stale = Some(m);
        }
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
            d.no_answer = Some(match message {
                Some((line, None)) => format!(
                    "no answer: the last assistant message (line {line}) has no text or requests \
                     tools, and no message came after it"
                ),
                _ => "no answer: no assistant message was decoded".to_string(),
            });
        }
        d.error = self.last_error.as_ref().map(|e| e.1.clone());
        d.notes = self.notes.take();
        d.notes.extend(self.errors.note());
        d.errors = std::mem::take(&mut self.errors.list);
        Ok(d)
    }
}
