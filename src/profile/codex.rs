//! The Codex profile: transcripts of `codex exec --json`.
//!
//! # The contract kept from the parser it replaces
//!
//! Callers of the Python parser this profile replaces can switch without changes:
//!
//! * A top-level `result` event (older releases) is the answer and ends the scan.
//! * Otherwise the answer is the **last** `item.completed` whose `item` is an object with
//!   `item.type == "agent_message"` (agent messages in `item.started` / `item.updated` do not
//!   count).
//! * The usage event is the last `turn.completed` or `session.end`. When it has the key
//!   `usage`, that value replaces the answer's (a JSON null too); likewise `model`. Usage is not
//!   summed: Codex reports cumulative figures.
//! * The thread id is the last non-empty string `thread_id` of a `thread.started` event; it is
//!   added as `thread_id` to a selected agent message or usage event, never to a `result` event
//!   or the last-object fallback, which the seed returned as they are (the summary's
//!   `session_id` carries it in every case). A `result` event is not merged with the usage
//!   event either; the summary's `usage` and `model` then come from the usage event when the
//!   result has none.
//! * Fallbacks: no answer, then the usage event; neither, then the last line that parsed as a
//!   JSON object; nothing, then an empty summary with status `no_events`. The last object is
//!   decoded only when it is at most 256 KiB: a larger one (valid JSON, checked by a streaming
//!   parser that builds nothing) leaves `event` null with a warning, so that one line cannot
//!   cost many times its size in memory (the seed decoded lines of up to 16 MiB).
//! * An event signals an error when its lower-cased `type` contains `error` or `failed`, when
//!   `is_error` is true, or when it has a top-level `error` key. Its message is the first
//!   non-empty of `error`, `message`, `detail`, `reason`, `output`, `result` (strings trimmed;
//!   objects searched recursively in that key order; lists give their first element that
//!   yields one). `turn.failed`, `task.failed` and `session.failed` are terminal and win over
//!   other errors; otherwise the last error wins. Messages are cut to 2,000 characters.
//! * Invalid UTF-8 inside a selected event is repaired (U+FFFD) and counted, not fatal.
//!
//! # What that parser got wrong, fixed
//!
//! * **No stale answers.** When an `item.completed` agent message (or a `result`) after the
//!   last decoded answer was not decoded (over the ceiling, undecidable within the probe, or
//!   malformed), the status is `stale_answer`, `answer` is null and a warning gives its line and
//!   offset. `event` stays what that parser would have selected (the older answer, merged), so its
//!   callers see the same object and the status tells them it is stale.
//! * **Every drop is visible** in the summary's `report`.
//! * **Classification is structural**: lines are selected by their top-level `type` and their
//!   direct `item.type` only, so a `{"type":"error"}` deep inside a tool result never makes a
//!   giant line selected (and never counts as an error).
//! * **Truncation is reported**: a last line without LF that is not complete JSON, or a spool
//!   that hit its cap or a full disk ([`Summary::mark_truncated`](crate::Summary::mark_truncated)),
//!   gives the status `truncated` with the reason.
//!
//! # What is decoded
//!
//! [`selector`] selects the events above by `type` and `item.type`; every other line (command
//! output, reasoning, file changes, ...) is classified by its type and skipped undecoded. The
//! contract's error signals `is_error` and a top-level `error` key are therefore checked on
//! the selected events only (Codex's schema has no other event carrying them). The last-object
//! fallback, needed only when there is neither an answer nor a usage event (typically a run
//! killed early), walks back from the end of the input to the last line after the last decoded
//! event that parses as an object, in chunks it reads once (time proportional to the bytes it
//! passes, whatever the number of lines). It decodes only lines that start with `{` and are at
//! most 256 KiB, validates larger ones up to `max_line` without decoding them, and passes over
//! lines longer than `max_line` (the seed's bounded reader skipped those).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    At, Draft, Errors, Fallback, Finish, Lost, Maybe, Notes, Peek, Raw, cut_message,
    extract_message, str_of,
};
use crate::error::Error;
use crate::select::Selector;

/// The selection rules of the Codex profile: `type` equals one of `thread.started`,
/// `turn.completed`, `session.end`, `result`; or `type` contains `error` or `failed`; or
/// `item.type` equals `agent_message` (all ASCII case-insensitive, like every selector; the
/// profile then compares the decoded values exactly, as that parser did).
///
/// ```
/// use spoolscan::{Scanner, codex, sinks::Raw};
///
/// let mut scanner = Scanner::builder().select(codex::selector()).build()?;
/// let data = br#"{"type":"item.completed","item":{"type":"command_execution","aggregated_output":"{\"type\":\"error\"}"}}
/// {"type":"item.completed","item":{"type":"agent_message","text":"Done."}}
/// "#;
/// let mut kept = vec![];
/// scanner.scan_slice(data, Raw::new(|line| { kept.push(line.number()); Ok(true) }))?;
/// assert_eq!(kept, [2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn selector() -> Selector {
    Selector::new()
        .equals(
            "type",
            ["thread.started", "turn.completed", "session.end", "result"],
        )
        .and_then(|s| s.contains("type", ["error", "failed"]))
        .and_then(|s| s.equals("item.type", ["agent_message"]))
        .expect("valid rules")
}

/// Token usage of a turn (`turn.completed.usage`): cumulative for the thread.
///
/// ```
/// use spoolscan::{Profile, codex, summarize};
///
/// let s = summarize(&br#"{"type":"turn.completed","usage":{"input_tokens":9,"output_tokens":2}}"#[..], Profile::Codex)?;
/// let usage: codex::Usage = s.decode_usage().unwrap()?;
/// assert_eq!((usage.input_tokens, usage.output_tokens), (9, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Usage {
    /// Input tokens.
    pub input_tokens: u64,
    /// Input tokens served from the cache.
    pub cached_input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Reasoning tokens (newer releases).
    pub reasoning_output_tokens: u64,
}

/// One event of `codex exec --json`, typed.
///
/// ```
/// use spoolscan::codex::{ItemKind, ThreadEvent};
///
/// let ev: ThreadEvent = serde_json::from_str(
///     r#"{"type":"item.completed","item":{"id":"i2","type":"agent_message","text":"Done."}}"#)?;
/// let ThreadEvent::ItemCompleted { item } = ev else { panic!() };
/// assert_eq!((item.kind, item.text.as_deref()), (ItemKind::AgentMessage, Some("Done.")));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum ThreadEvent {
    /// `thread.started`: the thread (session) id.
    #[serde(rename = "thread.started")]
    ThreadStarted {
        /// The thread id.
        thread_id: String,
    },
    /// `turn.started`.
    #[serde(rename = "turn.started")]
    TurnStarted,
    /// `turn.completed`: cumulative usage.
    #[serde(rename = "turn.completed")]
    TurnCompleted {
        /// Token usage so far.
        #[serde(default)]
        usage: Option<Usage>,
    },
    /// `turn.failed`: a terminal error.
    #[serde(rename = "turn.failed")]
    TurnFailed {
        /// What failed.
        error: ThreadError,
    },
    /// `item.started`.
    #[serde(rename = "item.started")]
    ItemStarted {
        /// The item.
        item: Item,
    },
    /// `item.updated`.
    #[serde(rename = "item.updated")]
    ItemUpdated {
        /// The item.
        item: Item,
    },
    /// `item.completed`: the final state of an item (the answer is the last completed
    /// `agent_message`).
    #[serde(rename = "item.completed")]
    ItemCompleted {
        /// The item.
        item: Item,
    },
    /// `error`: a non-terminal error (e.g. a reconnection).
    #[serde(rename = "error")]
    Error {
        /// The message.
        message: String,
    },
    /// Any other event type.
    #[serde(other)]
    Other,
}

/// The error of a `turn.failed` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadError {
    /// The message.
    pub message: String,
}

/// What an item is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ItemKind {
    /// A message of the agent (`text`): the last completed one is the answer.
    AgentMessage,
    /// Reasoning summary (`text`).
    Reasoning,
    /// A shell command (`command`, `aggregated_output`, `exit_code`, `status`).
    CommandExecution,
    /// File edits.
    FileChange,
    /// A call of an MCP tool.
    McpToolCall,
    /// A web search.
    WebSearch,
    /// The agent's to-do list.
    TodoList,
    /// A non-fatal error (`message`).
    Error,
    /// Any other kind.
    #[serde(other)]
    Other,
}

/// An item of `item.*` events. Only the common fields are typed; decode the event into
/// `serde_json::Value` for the others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The item id.
    #[serde(default)]
    pub id: String,
    /// What the item is.
    #[serde(rename = "type")]
    pub kind: ItemKind,
    /// The text of agent messages and reasoning.
    #[serde(default)]
    pub text: Option<String>,
    /// The command of a command execution.
    #[serde(default)]
    pub command: Option<String>,
    /// The output (stdout and stderr) of a command execution.
    #[serde(default)]
    pub aggregated_output: Option<String>,
    /// The exit code of a command execution.
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// `in_progress`, `completed`, `failed`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// The message of an error item.
    #[serde(default)]
    pub message: Option<String>,
}

/// A decoded event kept for the summary.
struct Slot {
    at: At,
    value: Arc<Value>,
}

/// The line that would have been the answer but was not decoded.
struct Stale {
    at: At,
    what: &'static str,
    why: String,
}

/// The Codex collector: the seed's selection, merges and error rules.
pub(crate) struct Collector {
    thread_id: Option<String>,
    answer: Option<Slot>,
    usage_event: Option<Slot>,
    last: Option<Slot>,
    errors: Errors,
    /// (where, type, message) of the last terminal error and of the last error.
    terminal: Option<(At, String, String)>,
    last_error: Option<(At, String, String)>,
    result_stop: Option<At>,
    stale: Option<Stale>,
    parsed_any: bool,
    notes: Notes,
    peek_result: Peek,
    peek_completed: Peek,
    peek_agent: Peek,
    peek_error: Peek,
}

impl Collector {
    pub(crate) fn new() -> Collector {
        Collector {
            thread_id: None,
            answer: None,
            usage_event: None,
            last: None,
            errors: Errors::default(),
            terminal: None,
            last_error: None,
            result_stop: None,
            stale: None,
            parsed_any: false,
            notes: Notes::default(),
            peek_result: Peek::equals("type", &["result"]),
            peek_completed: Peek::equals("type", &["item.completed"]),
            peek_agent: Peek::equals("item.type", &["agent_message"]),
            peek_error: Peek::contains("type", &["error", "failed"]),
        }
    }
}

/// True when the event signals an error (the seed's rule).
fn signals_error(obj: &Map<String, Value>, ty: Option<&str>) -> bool {
    ty.is_some_and(|t| {
        let t = t.to_lowercase();
        t.contains("error") || t.contains("failed")
    }) || obj.get("is_error") == Some(&Value::Bool(true))
        || obj.contains_key("error")
}

fn is_agent_message(obj: &Map<String, Value>) -> bool {
    obj.get("item")
        .and_then(Value::as_object)
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str)
        == Some("agent_message")
}

/// The answer text of an answer event.
fn answer_text(obj: &Map<String, Value>) -> Option<String> {
    if obj.get("type").and_then(Value::as_str) == Some("result") {
        if obj.get("is_error") == Some(&Value::Bool(true)) {
            return None;
        }
        return ["result", "text"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_str))
            .map(str::to_string);
    }
    obj.get("item")
        .and_then(Value::as_object)
        .and_then(|i| i.get("text"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

impl super::Collector for Collector {
    fn event(&mut self, at: At, raw: &mut Raw<'_, '_>) -> bool {
        let v = match raw.value() {
            Ok(v) => Arc::new(v),
            Err(e) => {
                self.notes
                    .push(format!("line {} could not be decoded: {e}", at.line));
                return true;
            }
        };
        let Some(obj) = v.as_object() else {
            return true;
        };
        self.parsed_any = true;
        let slot = || Slot {
            at,
            value: Arc::clone(&v),
        };
        self.last = Some(slot());
        let ty = obj.get("type").and_then(Value::as_str);
        if ty == Some("thread.started")
            && let Some(t) = str_of(obj, "thread_id")
        {
            self.thread_id = Some(t.to_string());
        }
        if signals_error(obj, ty) {
            let msg =
                cut_message(extract_message(obj).unwrap_or_else(|| {
                    format!("{} event without a message", ty.unwrap_or("error"))
                }));
            self.errors.push(&msg);
            let e = (at, ty.unwrap_or("").to_string(), msg);
            if matches!(ty, Some("turn.failed" | "task.failed" | "session.failed")) {
                self.terminal = Some(e.clone());
            }
            self.last_error = Some(e);
        }
        match ty {
            Some("result") => {
                self.answer = Some(slot());
                self.stale = None;
                self.result_stop = Some(at);
                return false;
            }
            Some("item.completed") if is_agent_message(obj) => {
                self.answer = Some(slot());
                self.stale = None;
            }
            Some("turn.completed" | "session.end") => self.usage_event = Some(slot()),
            _ => {}
        }
        true
    }

    fn lost(&mut self, lost: &Lost<'_>) {
        let r = self.peek_result.check(lost.prefix);
        let c = self.peek_completed.check(lost.prefix);
        let a = self.peek_agent.check(lost.prefix);
        if r.possible() || (c.possible() && a.possible()) {
            let what = if r == Maybe::Yes {
                "a result event"
            } else if c == Maybe::Yes && a == Maybe::Yes {
                "an agent message (item.completed)"
            } else {
                "possibly an agent message or a result event"
            };
            self.stale = Some(Stale {
                at: lost.at,
                what,
                why: lost.why.to_string(),
            });
        } else if self.peek_error.check(lost.prefix) == Maybe::Yes {
            self.notes.push(format!(
                "{}, and it is an error event: the error is not in `errors`",
                lost.describe()
            ));
        }
    }

    fn finish(&mut self, fin: &mut Finish<'_, '_>) -> Result<Draft, Error> {
        let mut d = Draft {
            parsed_any: self.parsed_any,
            ..Draft::default()
        };
        let answer = self.answer.take();
        let usage_event = self.usage_event.take();
        let last = self.last.take();
        // The seed's selection: the answer, else the usage event, else the last object. The
        // seed returns a `result` event and the last object as they are; it merges the usage
        // event's `usage` and `model` into an agent message, and the thread id into an agent
        // message and into the usage event.
        let mut merge = false;
        let (selected, source): (Option<Arc<Value>>, String) = if let Some(a) = &answer {
            let is_result = a.value.get("type").and_then(Value::as_str) == Some("result");
            merge = !is_result;
            (
                Some(Arc::clone(&a.value)),
                format!("the answer from line {}", a.at.line),
            )
        } else if let Some(u) = &usage_event {
            let ty = u.value.get("type").and_then(Value::as_str).unwrap_or("");
            merge = true;
            (
                Some(Arc::clone(&u.value)),
                format!("the usage event ({ty}) from line {}", u.at.line),
            )
        } else {
            let after = last.as_ref().map_or(0, |s| s.at.end());
            match fin.last_object_after(after)? {
                Fallback::Found(line, v, _) => {
                    d.parsed_any = true;
                    (Some(Arc::new(v)), format!("the last object, line {line}"))
                }
                Fallback::TooLarge(at) => {
                    self.notes.push(format!(
                        "the last object of the transcript, line {} (offset {}, {} bytes), is \
                         larger than the {} bytes the last-object fallback decodes: `event` is \
                         null",
                        at.line,
                        at.offset,
                        at.len,
                        super::walk::FALLBACK_MAX
                    ));
                    (None, String::new())
                }
                Fallback::Nothing => match &last {
                    Some(s) => (
                        Some(Arc::clone(&s.value)),
                        format!("the last object, line {}", s.at.line),
                    ),
                    None => (None, String::new()),
                },
            }
        };
        drop(last);
        let mut event: Option<Value> = selected.map(|rc| (*rc).clone());
        if merge && let Some(Value::Object(ev)) = event.as_mut() {
            if answer.is_some()
                && let Some(u) = usage_event.as_ref().and_then(|u| u.value.as_object())
            {
                for key in ["usage", "model"] {
                    if let Some(x) = u.get(key) {
                        ev.insert(key.to_string(), x.clone());
                    }
                }
            }
            if let Some(t) = &self.thread_id {
                ev.insert("thread_id".to_string(), Value::String(t.clone()));
            }
        }
        let ev = event.as_ref().and_then(Value::as_object);
        // A `result` event is returned unmerged; the summary's usage and model then still come
        // from the usage event when the result has none.
        let usage_obj = usage_event.as_ref().and_then(|u| u.value.as_object());
        d.usage = ev
            .and_then(|e| e.get("usage"))
            .or_else(|| usage_obj.and_then(|u| u.get("usage")))
            .cloned();
        d.model = ev
            .and_then(|e| e.get("model"))
            .or_else(|| usage_obj.and_then(|u| u.get("model")))
            .and_then(Value::as_str)
            .map(str::to_string);
        d.session_id = self.thread_id.clone();
        d.answer = answer
            .as_ref()
            .and_then(|a| a.value.as_object())
            .and_then(answer_text);

        if let Some(s) = &self.stale {
            d.answer = None;
            let event_is = if event.is_some() {
                source.clone()
            } else {
                "null".to_string()
            };
            d.stale = Some(format!(
                "stale answer: line {} (offset {}, {} bytes), {} that would be the answer, was \
                 not decoded: {}; `answer` is null and `event` is {event_is}",
                s.at.line, s.at.offset, s.at.len, s.what, s.why
            ));
        }

        // Errors: the terminal one wins, else the last.
        let chosen = self.terminal.as_ref().or(self.last_error.as_ref());
        d.error = chosen.map(|e| e.2.clone());
        let result_error = answer.as_ref().filter(|a| {
            a.value.get("type").and_then(Value::as_str) == Some("result")
                && a.value.get("is_error") == Some(&Value::Bool(true))
        });
        d.failed = if let Some((at, ty, msg)) = &self.terminal {
            Some(format!("failed: {ty} on line {}: {msg}", at.line))
        } else if let Some(a) = result_error {
            Some(format!(
                "failed: the result event on line {} has is_error: true",
                a.at.line
            ))
        } else if answer.is_none() && !self.errors.is_empty() {
            let (at, _, msg) = self.last_error.as_ref().expect("an error");
            Some(format!(
                "failed: no answer, and {} error event(s), the last on line {}: {msg}",
                self.errors.total, at.line
            ))
        } else {
            None
        };
        if answer.is_none() && event.is_some() {
            d.no_answer = Some(format!(
                "no answer: no agent message (item.completed) or result event was decoded; \
                 `event` is {source}"
            ));
        }
        d.notes = self.notes.take();
        d.notes.extend(self.errors.note());
        d.errors = std::mem::take(&mut self.errors.list);
        if let Some(at) = self.result_stop
            && fin.more_after(at.end())?
        {
            d.notes.push(format!(
                "the result event on line {} ended the scan (as in the seed parser): the lines \
                 after it were not read",
                at.line
            ));
        }
        d.event = event;
        Ok(d)
    }
}
