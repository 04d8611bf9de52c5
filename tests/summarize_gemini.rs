//! The Gemini CLI profile (issue 4): the sample, errors and a failed result, turns ended by a
//! tool call or a user message, a stale chunk; and Claude's model without system/init.

use serde_json::json;
use spoolscan::{Profile, Status, gemini, summarize};

#[path = "common/transcripts.rs"]
mod transcripts;
use transcripts::*;

#[test]
fn gemini_sample() {
    let s = summarize(samples().join("gemini.ndjson").as_path(), Profile::Gemini).unwrap();
    check(&s);
    assert_eq!(s.status, Status::Ok);
    assert_eq!(
        s.answer.as_deref(),
        Some(
            "Fixed the off-by-one in `parse_range`: it now returns `start..=end`, so `1-5` includes 5. All 12 tests and the doc test pass."
        )
    );
    assert_eq!(s.model.as_deref(), Some("gemini-2.5-pro"));
    assert_eq!(
        s.session_id.as_deref(),
        Some("c81f3a5e-94d2-4b7a-8e60-1d2c3b4a5f69")
    );
    let stats: gemini::Stats = s.decode_usage().unwrap().unwrap();
    assert_eq!((stats.total_tokens, stats.tool_calls), (41873, 4));
    assert_eq!(s.cost_usd, None);
    assert_eq!(s.report.skipped, 4, "tool_result lines are not decoded");
}

#[test]
fn gemini_errors_and_failed_result() {
    let data = ndjson(&[
        json!({"type":"init","session_id":"g","model":"gemini-2.5-flash"}),
        json!({"type":"error","severity":"warning","message":"Loop detected, stopping"}),
        json!({"type":"error","severity":"error","message":"Quota exceeded"}),
        json!({"type":"message","role":"assistant","content":"partial","delta":true}),
        json!({"type":"result","status":"error","error":{"type":"FatalError","message":"API error 500"}}),
    ]);
    let s = summarize(&data, Profile::Gemini).unwrap();
    check(&s);
    assert_eq!(s.status, Status::Failed);
    assert_eq!(s.errors, ["Quota exceeded", "API error 500"]);
    assert_eq!(s.error.as_deref(), Some("API error 500"));
    assert!(warns(&s, "gemini warning on line 2: Loop detected"));
    assert_eq!(s.answer.as_deref(), Some("partial"));
}

#[test]
fn gemini_turn_followed_by_a_tool_call_is_no_answer() {
    let data = ndjson(&[
        json!({"type":"message","role":"assistant","content":"Let me check.","delta":true}),
        json!({"type":"tool_use","tool_name":"read_file","tool_id":"t1","parameters":{}}),
        json!({"type":"tool_result","tool_id":"t1","status":"success","output":"x"}),
    ]);
    let s = summarize(&data, Profile::Gemini).unwrap();
    assert_eq!((s.status, s.answer.as_deref()), (Status::NoAnswer, None));
    assert!(warns(&s, "followed by a tool call on line 2"));
}

#[test]
fn gemini_stale_chunk() {
    let data = ndjson(&[
        json!({"type":"message","role":"assistant","content":"a","delta":true}),
        json!({"type":"message","role":"assistant","content":"b".repeat(20000),"delta":true}),
        json!({"type":"message","role":"assistant","content":"c","delta":true}),
        json!({"type":"result","status":"success","stats":{}}),
    ]);
    let s = small_limits(Profile::Gemini).summarize(&data).unwrap();
    check(&s);
    assert_eq!((s.status, s.answer.as_deref()), (Status::StaleAnswer, None));
    // A lost chunk of an earlier turn does not matter.
    let data = ndjson(&[
        json!({"type":"message","role":"assistant","content":"b".repeat(20000),"delta":true}),
        json!({"type":"tool_use","tool_name":"ls","tool_id":"t","parameters":{}}),
        json!({"type":"message","role":"assistant","content":"done","delta":true}),
    ]);
    let s = small_limits(Profile::Gemini).summarize(&data).unwrap();
    assert_eq!((s.status, s.answer.as_deref()), (Status::Ok, Some("done")));
}

#[test]
fn gemini_user_message_ends_a_turn_and_claude_model_fallback() {
    let data = ndjson(&[
        json!({"type":"message","role":"assistant","content":"first run","delta":true}),
        json!({"type":"message","role":"user","content":"and now?"}),
        json!({"type":"message","role":"assistant","content":"second ","delta":true}),
        json!({"type":"message","role":"assistant","content":"run","delta":true}),
    ]);
    let s = summarize(&data, Profile::Gemini).unwrap();
    assert_eq!(s.answer.as_deref(), Some("second run"));
    // Without system/init, Claude's model is the last assistant message's.
    let data = ndjson(&[
        json!({"type":"assistant","message":{"model":"claude-haiku-4-5","content":[{"type":"text","text":"hi"}]},"session_id":"s"}),
        json!({"type":"result","subtype":"success","is_error":false,"result":"hi"}),
    ]);
    let s = summarize(&data, Profile::Claude).unwrap();
    assert_eq!(
        (s.model.as_deref(), s.session_id.as_deref()),
        (Some("claude-haiku-4-5"), Some("s"))
    );
}
