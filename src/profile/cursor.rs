//! The Cursor Agent profile: transcripts of `cursor-agent -p --output-format stream-json`
//! (the binary is also installed as `agent`).
//!
//! The stream is Claude-like: `system` (subtype `init`: `session_id`, `model`, `cwd`,
//! `apiKeySource`, `permissionMode`), `user` (the prompt), `thinking` (subtypes `delta`,
//! `completed`), `tool_call` (subtypes `started` and `completed`; a completed call carries the
//! tool's whole result), `assistant` (`message.content[].text`) and a final `result`
//! (`subtype`, `is_error`, `result`, `session_id`, `duration_ms`, `duration_api_ms`, and in
//! newer builds `request_id` and a camelCase `usage`).
//!
//! * **Answer**: the result's `result` (the text of the whole run); a result with
//!   `is_error: true` has none, its text is the error. **Event**: the `result` as decoded.
//! * **Usage**: the result's `usage` as it is (`inputTokens`, `outputTokens`,
//!   `cacheReadTokens`, `cacheWriteTokens`; see [`Usage`]); null in older builds that report
//!   none. **Cost**: none (Cursor reports no cost).
//! * **Model** and **session id**: from `system` init (the session id from every event that
//!   carries one).
//! * Only `system`, `assistant` and `result` lines are decoded ([`selector`]): `tool_call`,
//!   `thinking` and `user` lines are classified by their type and never decoded. A `result`
//!   line that was not decoded makes the status `stale_answer`.

use serde::{Deserialize, Serialize};

use super::claude::{Collector, Flavor};
use crate::select::Selector;

/// The selection rules of the Cursor profile: `type` equals `system`, `assistant` or
/// `result` (as for Claude Code).
pub fn selector() -> Selector {
    super::claude::selector()
}

/// Token usage of a run (`result.usage`, camelCase; absent in older builds).
///
/// ```
/// use spoolscan::{Profile, cursor, summarize};
///
/// let s = summarize(&br#"{"type":"result","subtype":"success","duration_ms":1200,"duration_api_ms":1200,"is_error":false,"result":"ok","session_id":"c6b6","request_id":"r1","usage":{"inputTokens":120,"outputTokens":30,"cacheReadTokens":40,"cacheWriteTokens":0}}"#[..], Profile::Cursor)?;
/// let usage: cursor::Usage = s.decode_usage().unwrap()?;
/// assert_eq!((usage.input_tokens, usage.output_tokens), (120, 30));
/// assert_eq!((s.answer.as_deref(), s.cost_usd), (Some("ok"), None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Usage {
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the cache.
    pub cache_write_tokens: u64,
}

pub(crate) fn collector() -> Collector {
    Collector::with(Flavor::Cursor)
}
