//! The Codex profile (issue 4) on hard input: giant tool output, stale answers over the
//! ceiling and every drop in the report, CR LF, invalid UTF-8, a truncated last line, and
//! numbers that must round-trip.

use serde_json::{Value, json};
use spoolscan::{Profile, Status};

#[path = "common/transcripts.rs"]
mod transcripts;
use transcripts::*;

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
