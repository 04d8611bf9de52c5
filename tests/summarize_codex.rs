//! The Codex profile (issue 4): one test per rule of the seed contract and the fixes of the
//! seed's mistakes: the answer, usage and model merged, the thread id, the fallbacks, the error
//! signals and messages.

use serde_json::{Value, json};
use spoolscan::{Profile, Status, codex, summarize};

#[path = "common/transcripts.rs"]
mod transcripts;
use transcripts::*;

#[test]
fn codex_sample() {
    let s = summarize(samples().join("codex.ndjson").as_path(), Profile::Codex).unwrap();
    check(&s);
    assert_eq!(s.status, Status::Ok);
    assert!(
        s.answer
            .as_deref()
            .unwrap()
            .starts_with("Fixed the off-by-one")
    );
    assert_eq!(
        s.session_id.as_deref(),
        Some("0199a7c2-5e3b-7d41-9f0a-3c8e2b1d4a67")
    );
    let usage: codex::Usage = s.decode_usage().unwrap().unwrap();
    assert_eq!(usage.input_tokens, 24763);
    assert_eq!(
        s.errors,
        Vec::<String>::new(),
        "a nested {{\"type\":\"error\"}} is no error"
    );
    // Only thread.started, the agent message and turn.completed are decoded.
    assert_eq!(s.report.retained, 3);
    assert_eq!(s.report.lines, 13);
    let ev = s.event.as_ref().unwrap();
    assert_eq!(ev["type"], "item.completed");
    assert_eq!(ev["thread_id"], "0199a7c2-5e3b-7d41-9f0a-3c8e2b1d4a67");
    assert_eq!(ev["usage"]["cached_input_tokens"], 20352);
}

#[test]
fn codex_result_event_short_circuits() {
    let data = ndjson(&[
        json!({"type":"thread.started","thread_id":"t1"}),
        agent("i1", "older"),
        json!({"type":"turn.completed","usage":{"input_tokens":5}}),
        json!({"type":"result","result":"final answer"}),
        agent("i2", "after the result"),
        json!({"type":"thread.started","thread_id":"t2"}),
        json!({"type":"turn.failed","error":{"message":"never seen"}}),
    ]);
    let s = codex(&data);
    check(&s);
    assert_eq!(s.status, Status::Ok);
    assert_eq!(s.answer.as_deref(), Some("final answer"));
    assert_eq!(
        s.session_id.as_deref(),
        Some("t1"),
        "the scan ended at the result"
    );
    assert!(s.errors.is_empty());
    assert_eq!(s.report.lines, 4, "lines after the result are not read");
    // The seed returned a `result` event as it is: no usage, model or thread id merged in
    // (the summary's usage still comes from the usage event, its session id from the thread).
    assert_eq!(
        s.event,
        Some(json!({"type":"result","result":"final answer"}))
    );
    assert_eq!(s.usage, Some(json!({"input_tokens":5})));
    assert!(warns(&s, "ended the scan"));
}

#[test]
fn codex_result_with_is_error_fails() {
    let data = ndjson(&[json!({"type":"result","is_error":true,"result":"  quota exceeded "})]);
    let s = codex(&data);
    assert_eq!(s.status, Status::Failed);
    assert_eq!(s.answer, None);
    assert_eq!(s.error.as_deref(), Some("quota exceeded"));
}

#[test]
fn codex_usage_and_model_merge_null_overwrites_missing_keeps() {
    // The usage event's `usage: null` replaces the answer's usage; its `model` too.
    let data = ndjson(&[
        json!({"type":"item.completed","item":{"id":"i1","type":"agent_message","text":"a"},
               "usage":{"own":1},"model":"own-model"}),
        json!({"type":"session.end","usage":null,"model":"gpt-5"}),
    ]);
    let s = codex(&data);
    check(&s);
    let ev = s.event.as_ref().unwrap();
    assert_eq!(ev["usage"], Value::Null);
    assert!(ev.as_object().unwrap().contains_key("usage"));
    assert_eq!(ev["model"], "gpt-5");
    assert_eq!(s.usage, None);
    assert_eq!(s.model.as_deref(), Some("gpt-5"));

    // A usage event without the keys keeps the answer's own values.
    let data = ndjson(&[
        json!({"type":"item.completed","item":{"id":"i1","type":"agent_message","text":"a"},
               "usage":{"own":1},"model":"own-model"}),
        json!({"type":"turn.completed"}),
    ]);
    let s = codex(&data);
    let ev = s.event.as_ref().unwrap();
    assert_eq!(ev["usage"], json!({"own":1}));
    assert_eq!(ev["model"], "own-model");
    assert_eq!(s.model.as_deref(), Some("own-model"));
}

#[test]
fn codex_usage_is_the_last_not_a_sum() {
    let data = ndjson(&[
        agent("i1", "A"),
        json!({"type":"turn.completed","usage":{"input_tokens":1}}),
        agent("i2", "B"),
        json!({"type":"turn.completed","usage":{"input_tokens":2}}),
    ]);
    let s = codex(&data);
    assert_eq!(s.answer.as_deref(), Some("B"));
    assert_eq!(s.usage, Some(json!({"input_tokens":2})));
}

#[test]
fn codex_last_answer_wins_and_only_item_completed_counts() {
    let data = ndjson(&[
        agent("i1", "first"),
        agent("i2", "second"),
        json!({"type":"item.started","item":{"id":"i3","type":"agent_message","text":"started"}}),
        json!({"type":"item.updated","item":{"id":"i3","type":"agent_message","text":"updated"}}),
        json!({"type":"item.completed","item":"agent_message"}),
        json!({"type":"item.completed","item":{"id":"i4","type":"Agent_Message","text":"case"}}),
    ]);
    let s = codex(&data);
    check(&s);
    assert_eq!(s.answer.as_deref(), Some("second"));
    assert_eq!(s.event.as_ref().unwrap()["item"]["id"], "i2");
}

#[test]
fn codex_thread_id_is_the_last_non_empty_string() {
    let data = ndjson(&[
        json!({"type":"thread.started","thread_id":"t1"}),
        json!({"type":"thread.started","thread_id":"t2"}),
        json!({"type":"thread.started","thread_id":""}),
        json!({"type":"thread.started","thread_id":7}),
        json!({"type":"turn.started","thread_id":"not-a-thread-event"}),
        agent("i1", "x"),
    ]);
    let s = codex(&data);
    assert_eq!(s.session_id.as_deref(), Some("t2"));
    assert_eq!(s.event.as_ref().unwrap()["thread_id"], "t2");
}

#[test]
fn codex_only_usage_fallback() {
    let data = ndjson(&[
        json!({"type":"thread.started","thread_id":"T"}),
        json!({"type":"turn.completed","usage":{"input_tokens":3}}),
        command("c1", "out"),
    ]);
    let s = codex(&data);
    check(&s);
    assert_eq!(s.status, Status::NoAnswer);
    assert_eq!(s.answer, None);
    assert_eq!(
        s.event,
        Some(json!({"type":"turn.completed","usage":{"input_tokens":3},"thread_id":"T"}))
    );
    assert!(warns(&s, "no answer"));
}

#[test]
fn codex_last_object_fallback() {
    // No answer, no usage event: the last line that parses as an object, even one the
    // selector skips, found by walking back from the end.
    let data = ndjson(&[
        json!({"type":"thread.started","thread_id":"T"}),
        json!({"type":"turn.started"}),
        command("c1", "first"),
        command("c2", "second"),
        json!([1, 2]),
    ]);
    let mut data = data;
    data.extend_from_slice(b"{not json\n\n");
    let s = codex(&data);
    check(&s);
    assert_eq!(s.status, Status::NoAnswer);
    // The last object exactly as in the file (the seed merged nothing into it).
    let line4: Value = serde_json::from_slice(data.split(|b| *b == b'\n').nth(3).unwrap()).unwrap();
    assert_eq!(s.event.as_ref(), Some(&line4));
    assert_eq!(s.event.as_ref().unwrap()["item"]["id"], "c2");
    assert_eq!(s.session_id.as_deref(), Some("T"));
    assert!(warns(&s, "the last object, line 4"), "{:?}", s.warnings);

    // The last object is a decoded (selected) one.
    let data = ndjson(&[command("c1", "x"), json!({"type":"error","message":"oops"})]);
    let s = codex(&data);
    assert_eq!(s.event, Some(json!({"type":"error","message":"oops"})));
    assert_eq!(s.status, Status::Failed, "no answer and an error");
    assert!(s.statuses().contains(&Status::NoAnswer));
}

#[test]
fn codex_last_object_fallback_passes_over_giant_lines() {
    let giant = command("big", &"x".repeat(20 << 10));
    let data = ndjson(&[command("c1", "small"), giant]);
    let s = small_limits(Profile::Codex).summarize(&data).unwrap();
    check(&s);
    assert_eq!(s.report.oversize_skipped, 1);
    assert_eq!(s.event.as_ref().unwrap()["item"]["id"], "c1");
}

#[test]
fn codex_empty_input() {
    for data in [
        &b""[..],
        b"\n\n  \r\n",
        b"\xEF\xBB\xBF",
        b"Reading prompt from stdin...\n[1]\n",
    ] {
        let s = codex(data);
        check(&s);
        assert_eq!(s.status, Status::NoEvents, "{data:?}");
        assert_eq!((s.event.as_ref(), s.answer.as_ref()), (None, None));
        assert!(warns(&s, "no events"));
    }
}

#[test]
fn codex_error_signals() {
    let data = ndjson(&[
        json!({"type":"error","message":"Reconnecting... 1/5"}),
        json!({"type":"Stream_ERROR","detail":"lower-cased type"}),
        json!({"type":"task.FAILED","reason":"failed in type"}),
        json!({"type":"result","is_error":true,"result":"is_error"}),
    ]);
    let s = codex(&data);
    assert_eq!(
        s.errors,
        [
            "Reconnecting... 1/5",
            "lower-cased type",
            "failed in type",
            "is_error"
        ]
    );
    // A top-level error key on a selected event signals an error; `item.type == "error"` does
    // not (classification is structural: top-level type only).
    let data = ndjson(&[
        json!({"type":"item.completed","item":{"id":"e","type":"error","message":"item error"}}),
        json!({"type":"turn.completed","usage":{},"error":{"reason":"key"}}),
        agent("i1", "done"),
    ]);
    let s = codex(&data);
    assert_eq!(s.errors, ["key"]);
    assert_eq!(s.status, Status::Ok, "an answer and no terminal error");
    assert_eq!(s.error.as_deref(), Some("key"));
}

#[test]
fn codex_terminal_error_order() {
    let data = ndjson(&[
        json!({"type":"error","message":"Reconnecting to Codex..."}),
        json!({"type":"turn.failed","error":{"message":"Access denied"}}),
        json!({"type":"error","message":"later, not terminal"}),
        agent("i1", "partial"),
    ]);
    let s = codex(&data);
    check(&s);
    assert_eq!(s.status, Status::Failed, "terminal even with an answer");
    assert_eq!(s.error.as_deref(), Some("Access denied"));
    assert_eq!(
        s.errors,
        [
            "Reconnecting to Codex...",
            "Access denied",
            "later, not terminal"
        ]
    );
    assert_eq!(s.answer.as_deref(), Some("partial"));
    // Without a terminal error, the last error wins.
    let data = ndjson(&[
        json!({"type":"error","message":"one"}),
        json!({"type":"error","message":"two"}),
    ]);
    let s = codex(&data);
    assert_eq!(s.error.as_deref(), Some("two"));
    // The last terminal error wins among terminal ones.
    let data = ndjson(&[
        json!({"type":"session.failed","message":"s"}),
        json!({"type":"task.failed","message":"t"}),
        json!({"type":"error","message":"e"}),
    ]);
    assert_eq!(codex(&data).error.as_deref(), Some("t"));
}

#[test]
fn codex_nested_error_messages() {
    let data = ndjson(&[json!({"type":"turn.failed","error":{
        "code": 429,
        "message": "   ",
        "detail": [null, "", {"reason": {"output": "  deep reason  "}}, "not this"],
        "reason": "not this either"
    }})]);
    assert_eq!(codex(&data).error.as_deref(), Some("deep reason"));
    // Key order: error, message, detail, reason, output, result.
    let data = ndjson(&[json!({"type":"error","result":"r","output":"o","reason":"re"})]);
    assert_eq!(codex(&data).error.as_deref(), Some("re"));
    // No message anywhere.
    let data = ndjson(&[json!({"type":"turn.failed","error":{"code":1}})]);
    let s = codex(&data);
    assert_eq!(
        s.error.as_deref(),
        Some("turn.failed event without a message")
    );
}

#[test]
fn codex_messages_are_cut_to_2000_characters() {
    let long = "é".repeat(5000);
    let data = ndjson(&[json!({"type":"turn.failed","error":{"message":long}})]);
    let s = codex(&data);
    let e = s.error.as_deref().unwrap();
    assert_eq!(e.chars().count(), 2000);
    assert!(e.chars().all(|c| c == 'é'));
    assert_eq!(s.errors[0], e);
}
