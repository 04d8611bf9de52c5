//! The Claude Code profile (issue 4): the sample, giant user lines never decoded, error
//! results and subtypes, and a stale result.

use serde_json::json;
use spoolscan::{Profile, Status, claude, summarize};

#[path = "common/transcripts.rs"]
mod transcripts;
use transcripts::*;

#[test]
fn claude_sample() {
    let s = summarize(samples().join("claude.ndjson").as_path(), Profile::Claude).unwrap();
    check(&s);
    assert_eq!(s.status, Status::Ok);
    assert!(
        s.answer
            .as_deref()
            .unwrap()
            .starts_with("Fixed the off-by-one")
    );
    assert_eq!(s.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(
        s.session_id.as_deref(),
        Some("5f2c8e1a-7b3d-4c9e-a1f0-2d6b8e4c7a93")
    );
    assert_eq!(s.cost_usd, Some(0.0487215));
    let r: claude::ResultEvent = s.decode_event().unwrap().unwrap();
    assert_eq!(
        (r.num_turns, r.duration_ms, r.subtype.as_deref()),
        (Some(9), Some(21873), Some("success"))
    );
    let u: claude::Usage = s.decode_usage().unwrap().unwrap();
    assert_eq!(u.cache_read_input_tokens, 82639);
    // user tool-result lines are skipped, never decoded.
    assert_eq!((s.report.retained, s.report.skipped), (7, 4));
}

#[test]
fn claude_giant_user_lines_are_never_decoded() {
    let sys = json!({"type":"system","subtype":"init","session_id":"s","model":"m"});
    let user = |n: usize| {
        json!({"type":"user","message":{"role":"user","content":[{"type":"tool_result",
            "tool_use_id":"t","content":"u".repeat(n),"is_error":true}]},"session_id":"s"})
    };
    let result = json!({"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"s"});
    let s = summarize(
        &ndjson(&[sys, user(17 * MIB), user(3 * MIB), result]),
        Profile::Claude,
    )
    .unwrap();
    check(&s);
    assert_eq!(s.status, Status::Ok);
    assert_eq!(
        (
            s.report.oversize_skipped,
            s.report.skipped,
            s.report.retained
        ),
        (1, 1, 2)
    );
}

#[test]
fn claude_error_result() {
    let data = ndjson(&[
        json!({"type":"system","subtype":"init","session_id":"s1","model":"claude-opus-4-1"}),
        json!({"type":"assistant","message":{"model":"claude-opus-4-1","content":[{"type":"text","text":"API Error: 529 overloaded"}]},
               "error":"server_error","session_id":"s1"}),
        json!({"type":"result","subtype":"success","is_error":true,"result":"API Error: 529 overloaded","session_id":"s2",
               "total_cost_usd":0,"usage":{"input_tokens":0}}),
    ]);
    let s = summarize(&data, Profile::Claude).unwrap();
    check(&s);
    assert_eq!(s.status, Status::Failed);
    assert_eq!(s.answer, None);
    assert_eq!(s.session_id.as_deref(), Some("s2"));
    assert_eq!(s.error.as_deref(), Some("API Error: 529 overloaded"));
    assert_eq!(
        s.errors,
        [
            "server_error: API Error: 529 overloaded",
            "API Error: 529 overloaded"
        ]
    );
    assert_eq!(s.cost_usd, Some(0.0));
    assert_eq!(s.event.as_ref().unwrap()["is_error"], true);
}

#[test]
fn claude_error_subtype_and_assistant_errors() {
    let data = ndjson(&[
        json!({"type":"result","subtype":"error_max_turns","is_error":false,
        "num_turns":10,"errors":["Reached maximum number of turns (10)"]}),
    ]);
    let s = summarize(&data, Profile::Claude).unwrap();
    assert_eq!(s.status, Status::Failed, "no answer and an error");
    assert_eq!(
        s.error.as_deref(),
        Some("Reached maximum number of turns (10)")
    );
    // An assistant error without a result.
    let data = ndjson(&[json!({"type":"assistant","message":{"content":[]},"error":"rate_limit"})]);
    let s = summarize(&data, Profile::Claude).unwrap();
    assert_eq!(
        (s.status, s.error.as_deref()),
        (Status::Failed, Some("rate_limit"))
    );
    assert!(s.statuses().contains(&Status::NoAnswer));
}

#[test]
fn claude_stale_result() {
    let data = ndjson(&[
        json!({"type":"system","subtype":"init","session_id":"s","model":"m"}),
        json!({"type":"result","subtype":"success","is_error":false,"result":"r".repeat(20000)}),
    ]);
    let s = small_limits(Profile::Claude).summarize(&data).unwrap();
    check(&s);
    assert_eq!(s.status, Status::StaleAnswer);
    assert!(warns(&s, "line 2 (offset"));
    assert_eq!(s.event, None);
}
