//! The Qwen Code profile: transcripts of `qwen -p PROMPT --output-format stream-json`.
//!
//! Qwen Code's stream is Claude-like: `system` (subtype `init`: `uuid`, `session_id`, `cwd`,
//! `tools`, `model`, `permission_mode`, `qwen_code_version`, ...), `assistant`
//! (`message.content` blocks `thinking`, `text`, `tool_use`; `message.usage` per message),
//! `user` (tool results, the giant lines) and a final `result` (`subtype` `success`,
//! `error_max_turns` or `error_during_execution`; `uuid`, `session_id`, `is_error`,
//! `duration_ms`, `duration_api_ms`, `num_turns`, `result` on success, `error.message` on
//! failure, `usage`, `permission_denials`).
//!
//! * **Answer**: the result's `result`; a failed result has none and its `error.message` is
//!   the error. **Event**: the `result` as decoded.
//! * **Usage**: the result's `usage` as it is (the run's totals: `input_tokens`,
//!   `output_tokens`, `cache_read_input_tokens`, `total_tokens`). **Cost**: none (Qwen Code
//!   reports none).
//! * **Model** and **session id**: from `system` init.
//! * Only `system`, `assistant` and `result` lines are decoded ([`selector`]).

use super::claude::{Collector, Flavor};
use crate::select::Selector;

/// The selection rules of the Qwen profile: `type` equals `system`, `assistant` or `result`.
///
/// ```
/// use spoolscan::{Profile, Status, summarize};
///
/// let s = summarize(&br#"{"type":"result","subtype":"error_during_execution","uuid":"u","session_id":"s","is_error":true,"duration_ms":5,"duration_api_ms":0,"num_turns":0,"usage":{"input_tokens":0,"output_tokens":0},"permission_denials":[],"error":{"message":"[API Error: 401 invalid api key]"}}"#[..], Profile::Qwen)?;
/// assert_eq!((s.status, s.error.as_deref()), (Status::Failed, Some("[API Error: 401 invalid api key]")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn selector() -> Selector {
    super::claude::selector()
}

pub(crate) fn collector() -> Collector {
    Collector::with(Flavor::Qwen)
}
