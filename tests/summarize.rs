//! Agent transcript profiles (issue 4): one test per rule of the Codex contract, the fixes of
//! the seed's mistakes, the Claude and Gemini profiles, `auto`, and the `summarize` CLI.

use std::path::Path;

use serde_json::{Value, json};
use spoolscan::{Profile, Source, Status, Summarizer, claude, codex, gemini, summarize};

mod common;
#[path = "common/transcripts.rs"]
mod transcripts;
use transcripts::*;

// ---------------------------------------------------------------------------------------------
// Codex: the seed contract

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

#[test]
fn codex_17_mib_tool_output_before_the_answer() {
    // A nested {"type":"error"} inside the output must not select the line.
    let mut output = "y".repeat(17 * MIB);
    output.replace_range(100..130, r#"{"type":"error","message":"x"}"#);
    let data = ndjson(&[
        json!({"type":"thread.started","thread_id":"T"}),
        command("c1", &output),
        agent("i2", "done"),
        json!({"type":"turn.completed","usage":{"input_tokens":1}}),
    ]);
    let s = codex(&data);
    check(&s);
    assert_eq!(s.status, Status::Ok);
    assert_eq!(s.answer.as_deref(), Some("done"));
    assert!(s.errors.is_empty());
    assert_eq!(
        s.report.oversize_skipped, 1,
        "classified from its prefix, not decoded"
    );
    assert_eq!(s.report.retained, 3);
    // The same under max_line: skipped by exact classification, still not decoded.
    let mut data2 = Vec::new();
    data2.extend_from_slice(&ndjson(&[
        command("c1", &"z".repeat(15 * MIB)),
        agent("i", "ok"),
    ]));
    let s = codex(&data2);
    assert_eq!((s.report.skipped, s.report.retained), (1, 1));
}

#[test]
fn codex_stale_answer_over_the_ceiling() {
    let data = ndjson(&[
        json!({"type":"thread.started","thread_id":"t17"}),
        agent("i8", "Intermediate"),
        agent("i9", &"lorem ipsum ".repeat(2000)),
        json!({"type":"turn.completed","usage":{"input_tokens":9}}),
    ]);
    let s = small_limits(Profile::Codex).summarize(&data).unwrap();
    check(&s);
    assert_eq!(s.status, Status::StaleAnswer);
    assert_eq!(s.answer, None);
    // `event` is what the seed selected: the older answer, merged.
    assert_eq!(
        s.event,
        Some(
            json!({"type":"item.completed","item":{"id":"i8","type":"agent_message","text":"Intermediate"},
                    "usage":{"input_tokens":9},"thread_id":"t17"})
        )
    );
    assert_eq!(s.report.dropped_total, 1);
    assert_eq!(s.report.dropped[0].line, 3);
    let offset = s.report.dropped[0].offset;
    assert!(
        warns(&s, &format!("line 3 (offset {offset},")),
        "{:?}",
        s.warnings
    );
    // A later decoded answer makes it current again.
    let mut more = data.clone();
    more.extend_from_slice(&ndjson(&[agent("i10", "final")]));
    let s = small_limits(Profile::Codex).summarize(&more).unwrap();
    assert_eq!((s.status, s.answer.as_deref()), (Status::Ok, Some("final")));
    // A dropped item.updated agent message is no answer candidate.
    let data = ndjson(&[
        agent("i8", "answer"),
        json!({"type":"item.updated","item":{"id":"i9","type":"agent_message","text":"x".repeat(20000)}}),
    ]);
    let s = small_limits(Profile::Codex).summarize(&data).unwrap();
    assert_eq!(
        (s.status, s.answer.as_deref()),
        (Status::Ok, Some("answer"))
    );
    assert_eq!(s.report.dropped_total, 1);
}

#[test]
fn codex_stale_answer_undecidable_within_the_probe() {
    // Keys in an order that puts the type after the probe window: oversize_unclassified.
    let line = format!(
        r#"{{"item":{{"id":"i9","text":"{}","type":"agent_message"}},"type":"item.completed"}}"#,
        "w".repeat(10000)
    );
    let mut data = ndjson(&[agent("i8", "older")]);
    data.extend_from_slice(line.as_bytes());
    data.push(b'\n');
    let s = small_limits(Profile::Codex).summarize(&data).unwrap();
    check(&s);
    assert_eq!(s.report.oversize_unclassified, 1);
    assert_eq!(s.status, Status::StaleAnswer);
    assert!(warns(&s, "line 2 (offset"), "{:?}", s.warnings);
    assert!(warns(&s, "undecidable"));
}

#[test]
fn codex_every_drop_is_in_the_report() {
    let data = ndjson(&[
        json!({"type":"error","message":"e".repeat(20000)}),
        agent("i1", "ok"),
        json!({"type":"turn.failed","error":{"message":"f".repeat(20000)}}),
    ]);
    let s = small_limits(Profile::Codex).summarize(&data).unwrap();
    assert_eq!(s.report.dropped_total, 2);
    assert_eq!(
        s.report.dropped.iter().map(|d| d.line).collect::<Vec<_>>(),
        [1, 3]
    );
    // Dropped error events are named in the warnings: their errors are not in `errors`.
    assert!(warns(&s, "line 3 ("), "{:?}", s.warnings);
    assert!(s.errors.is_empty());
}

#[test]
fn codex_crlf_transcripts() {
    let events = [
        json!({"type":"thread.started","thread_id":"T"}),
        command("c1", "a\r\nb\r\n"),
        agent("i2", "done"),
        json!({"type":"turn.completed","usage":{}}),
    ];
    let lf = ndjson(&events);
    let crlf: Vec<u8> = String::from_utf8(lf.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let (a, b) = (codex(&lf), codex(&crlf));
    check(&b);
    assert_eq!(b.status, Status::Ok);
    assert_eq!(
        (&a.answer, &a.event, &a.usage),
        (&b.answer, &b.event, &b.usage)
    );
    // The last-object fallback handles CR LF too.
    let crlf =
        b"{\"type\":\"turn.started\"}\r\n{\"type\":\"item.started\",\"item\":{\"id\":\"c\"}}\r\n";
    let s = codex(crlf);
    assert_eq!(s.event.as_ref().unwrap()["item"]["id"], "c");
}

#[test]
fn codex_invalid_utf8_in_the_answer_is_repaired() {
    let mut data = ndjson(&[json!({"type":"thread.started","thread_id":"T"})]);
    data.extend_from_slice(
        b"{\"type\":\"item.completed\",\"item\":{\"id\":\"i1\",\"type\":\"agent_message\",\"text\":\"caf\xe9 ok\"}}\n",
    );
    data.extend_from_slice(&ndjson(&[
        json!({"type":"turn.completed","usage":{"input_tokens":1}}),
    ]));
    let s = codex(&data);
    check(&s);
    assert_eq!(s.status, Status::Ok);
    assert_eq!(s.answer.as_deref(), Some("caf\u{FFFD} ok"));
    assert_eq!(
        s.report.malformed_total, 1,
        "the core report still counts it"
    );
    assert!(warns(&s, "repaired invalid UTF-8"), "{:?}", s.warnings);
    assert!(warns(&s, "line 2"));
}

#[test]
fn codex_truncated_final_line() {
    let mut data = ndjson(&[
        agent("i1", "older"),
        json!({"type":"turn.completed","usage":{}}),
    ]);
    data.extend_from_slice(
        br#"{"type":"item.completed","item":{"id":"i2","type":"agent_message","text":"cut he"#,
    );
    let s = codex(&data);
    check(&s);
    assert_eq!(s.status, Status::Truncated);
    assert!(s.report.truncated);
    assert!(s.statuses().contains(&Status::StaleAnswer));
    assert!(warns(&s, "truncated: the input ends inside line 3"));
    assert!(warns(&s, "stale answer: line 3"));
    assert_eq!(s.answer, None);
    // A complete last line without LF is no truncation.
    let mut data = ndjson(&[agent("i1", "a")]);
    data.extend_from_slice(br#"{"type":"turn.completed","usage":{}}"#);
    assert_eq!(codex(&data).status, Status::Ok);
}

#[test]
fn codex_numbers_round_trip() {
    let data = br#"{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"t"}}
{"type":"turn.completed","usage":{"input_tokens":18446744073709551615,"neg":-5,"f":0.1,"e":1.5e-7,"z":0}}
"#;
    let s = codex(data);
    let j: Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(
        j["usage"],
        json!({"input_tokens":18446744073709551615u64,"neg":-5,"f":0.1,"e":1.5e-7,"z":0})
    );
}

#[test]
fn summary_marks() {
    let mut s = codex(&ndjson(&[agent("i", "x")]));
    assert_eq!(s.status, Status::Ok);
    s.mark_failed("the child exited with status 3");
    assert_eq!(s.status, Status::Failed);
    s.mark_truncated("stdout spool exceeded --max-spool 1024 bytes");
    assert_eq!(s.status, Status::Truncated);
    assert!(s.report.truncated);
    assert_eq!(s.statuses(), [Status::Truncated, Status::Failed]);
    assert!(warns(&s, "truncated: stdout spool exceeded"));
    assert!(warns(&s, "failed: the child exited"));
    check(&s);
}

// ---------------------------------------------------------------------------------------------
// Claude Code

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

// ---------------------------------------------------------------------------------------------
// Gemini CLI

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

// ---------------------------------------------------------------------------------------------
// auto, sources

#[test]
fn auto_detects_each_sample() {
    for (file, profile) in [
        ("codex.ndjson", Profile::Codex),
        ("claude.ndjson", Profile::Claude),
        ("gemini.ndjson", Profile::Gemini),
    ] {
        let s = summarize(samples().join(file).as_path(), Profile::Auto).unwrap();
        assert_eq!(s.profile, profile, "{file}");
        assert_eq!(s.status, Status::Ok, "{file}");
        assert!(
            warns(&s, &format!("profile auto: detected {profile}")),
            "{:?}",
            s.warnings
        );
    }
    // A Claude result alone is told from a Gemini one by its keys.
    let s = summarize(
        &br#"{"type":"result","subtype":"success","result":"x"}"#[..],
        Profile::Auto,
    )
    .unwrap();
    assert_eq!(s.profile, Profile::Claude);
    let s = summarize(
        &br#"{"type":"result","status":"success","stats":{}}"#[..],
        Profile::Auto,
    )
    .unwrap();
    assert_eq!(s.profile, Profile::Gemini);
    // Nothing to tell from: no guess, a warning.
    let s = summarize(&b""[..], Profile::Auto).unwrap();
    assert_eq!((s.profile, s.status), (Profile::Auto, Status::NoEvents));
    assert!(warns(&s, "no profile fits"));
}

#[test]
fn sources_agree() {
    let path = samples().join("codex.ndjson");
    let bytes = std::fs::read(&path).unwrap();
    let a = summarize(path.as_path(), Profile::Codex).unwrap();
    let b = summarize(&bytes, Profile::Codex).unwrap();
    let c = summarize(Source::reader(&bytes[..]), Profile::Codex).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let d = summarize(&file, Profile::Codex).unwrap();
    let mut e = Summarizer::new(Profile::Codex);
    e.mmap(false);
    let e = e.summarize(path.as_path()).unwrap();
    for s in [&b, &c, &d, &e] {
        assert_eq!(s, &a);
    }
}

#[test]
fn io_and_config_errors() {
    let missing = Path::new("/nonexistent/spoolscan/transcript.ndjson");
    let e = summarize(missing, Profile::Codex).unwrap_err();
    assert!(e.to_string().contains("transcript.ndjson"), "{e}");
    let mut s = Summarizer::new(Profile::Codex);
    s.probe(2 << 20).max_line(1 << 20);
    assert!(matches!(
        s.summarize(&b"{}"[..]),
        Err(spoolscan::Error::Config(_))
    ));
    assert!("Codex".parse::<Profile>().is_ok());
    assert!("cursor".parse::<Profile>().is_ok());
    assert!("kiro".parse::<Profile>().is_err());
}

// ---------------------------------------------------------------------------------------------
// The CLI

fn cli(args: &[&str], stdin: Option<&[u8]>) -> (i32, Value, String) {
    // Usage errors exit before reading stdin: a broken pipe is fine (`common::output` ignores it).
    let out = common::run(args, stdin);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v = if stdout.trim().is_empty() {
        Value::Null
    } else {
        assert_eq!(
            stdout.matches('\n').count(),
            1,
            "one JSON object, one line: {stdout}"
        );
        serde_json::from_str(&stdout).unwrap()
    };
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_summarize_file_and_stdin() {
    let path = samples().join("codex.ndjson");
    let p = path.to_str().unwrap();
    let (code, v, _) = cli(&["summarize", "--profile", "codex", p], None);
    assert_eq!(code, 0);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["profile"], "codex");
    assert_eq!(v["report"]["lines"], 13);
    let data = std::fs::read(&path).unwrap();
    for args in [&["summarize", "-"][..], &["summarize"][..]] {
        let (code, w, _) = cli(args, Some(&data));
        assert_eq!(code, 0);
        assert_eq!(w["answer"], v["answer"]);
        assert_eq!(w["profile"], "codex", "auto by default");
    }
    // Whatever the status, a summary is exit 0.
    let (code, v, _) = cli(
        &["summarize", "--profile", "codex", "-"],
        Some(b"{\"type\":\"turn.failed\"}\n"),
    );
    assert_eq!((code, v["status"].as_str()), (0, Some("failed")));
}

#[test]
fn cli_summarize_limits_and_errors() {
    let data = ndjson(&[agent("i8", "old"), agent("i9", &"x".repeat(20000))]);
    let (code, v, _) = cli(
        &[
            "summarize",
            "--probe",
            "1KiB",
            "--max-line",
            "8kib",
            "--ceiling",
            "16KiB",
            "-",
        ],
        Some(&data),
    );
    assert_eq!((code, v["status"].as_str()), (0, Some("stale_answer")));
    let (code, v, err) = cli(
        &["summarize", "/nonexistent/no-such-transcript.ndjson"],
        None,
    );
    assert_eq!((code, v), (1, Value::Null));
    assert!(err.contains("no-such-transcript.ndjson"), "{err}");
    for args in [
        &["summarize", "--probe", "2MiB", "--max-line", "1MiB", "-"][..],
        &["summarize", "--profile", "kiro", "-"][..],
        &["summarize", "--ceiling", "12XB", "-"][..],
    ] {
        let (code, v, err) = cli(args, Some(b"{}\n"));
        assert_eq!((code, v), (2, Value::Null), "{args:?}");
        assert!(!err.is_empty());
    }
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
