//! The Amp profile: transcripts of `amp -x PROMPT --stream-json` (`--execute`).
//!
//! Amp's stream JSON is Claude Code compatible: `system` (subtype `init`: `cwd`,
//! `session_id` `T-...`, `tools`, `mcp_servers`; no model), `user` (prompts and tool results,
//! the giant lines), `assistant` (`message.content`, `message.stop_reason`,
//! `message.usage`) and a final `result` (`subtype`, `duration_ms`, `is_error`, `num_turns`,
//! `result` or, when it failed, `error`, `session_id`).
//!
//! * **Answer**: the result's `result`; a result with `is_error: true` has none and its
//!   `error` is the error message. **Event**: the `result` as decoded.
//! * **Usage**: Amp reports usage only on assistant messages, per message: the summary's
//!   `usage` is their **sum**, key by key (`input_tokens`, `cache_creation_input_tokens`,
//!   `cache_read_input_tokens`, `output_tokens`; `max_tokens` and `service_tier` are left
//!   out), with a warning saying so. A `usage` on the result, where a build reports one, is
//!   used as it is instead. **Cost**: none.
//! * **Model**: `message.model` of the last assistant message where there is one, else null.
//!   **Session id**: the thread id (`T-...`).
//! * Only `system`, `assistant` and `result` lines are decoded ([`selector`]).

use super::claude::{Collector, Flavor};
use crate::select::Selector;

/// The selection rules of the Amp profile: `type` equals `system`, `assistant` or `result`.
///
/// ```
/// use spoolscan::{Profile, summarize};
///
/// let s = summarize(&br#"{"type":"system","subtype":"init","cwd":"/w","session_id":"T-1","tools":["Bash"],"mcp_servers":[]}
/// {"type":"assistant","message":{"type":"message","role":"assistant","content":[{"type":"text","text":"4"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":2,"max_tokens":9000}},"parent_tool_use_id":null,"session_id":"T-1"}
/// {"type":"assistant","message":{"type":"message","role":"assistant","content":[{"type":"text","text":"4."}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":3,"max_tokens":9000}},"parent_tool_use_id":null,"session_id":"T-1"}
/// {"type":"result","subtype":"success","duration_ms":2906,"is_error":false,"num_turns":1,"result":"4.","session_id":"T-1"}
/// "#[..], Profile::Amp)?;
/// assert_eq!(s.usage, Some(serde_json::json!({"input_tokens":22,"output_tokens":5})));
/// assert_eq!((s.answer.as_deref(), s.session_id.as_deref()), (Some("4."), Some("T-1")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn selector() -> Selector {
    super::claude::selector()
}

pub(crate) fn collector() -> Collector {
    Collector::with(Flavor::Amp)
}
