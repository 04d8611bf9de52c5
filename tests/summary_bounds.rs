//! Summaries in bounded memory and linear time (issue 11, item 7): the Codex `event` exactly as
//! the seed parser returned it, the last-object fallback over giant and countless lines,
//! assembled answers capped at the ceiling, warnings capped.

use std::process::Command;

use serde_json::{Value, json};
use spoolscan::{Profile, Status, Summarizer, summarize};

#[path = "common/transcripts.rs"]
mod transcripts;
use transcripts::*;

/// The seed parser's selection, re-implemented naively over serde_json (every line parsed):
/// the first `result` wins as it is; else the last completed agent message, merged with the
/// usage event's `usage`/`model` and the thread id; else the usage event with the thread id;
/// else the last object as it is; else null.
fn seed_event(data: &[u8]) -> Option<Value> {
    let (mut agent, mut usage, mut last, mut thread) = (None, None, None, None::<String>);
    for line in data.split(|b| *b == b'\n') {
        let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let ty = m
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        last = Some(m.clone());
        if ty == "result" {
            return Some(Value::Object(m));
        }
        if ty == "thread.started"
            && let Some(t) = m
                .get("thread_id")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
        {
            thread = Some(t.to_string());
        }
        if ty == "item.completed"
            && m.get("item").and_then(|i| i.get("type")) == Some(&json!("agent_message"))
        {
            agent = Some(m.clone());
        }
        if ty == "session.end" || ty == "turn.completed" {
            usage = Some(m);
        }
    }
    let with_thread = |mut m: serde_json::Map<String, Value>| {
        if let Some(t) = &thread {
            m.insert("thread_id".into(), json!(t));
        }
        Some(Value::Object(m))
    };
    if let Some(mut a) = agent {
        if let Some(u) = &usage {
            for k in ["usage", "model"] {
                if let Some(x) = u.get(k) {
                    a.insert(k.into(), x.clone());
                }
            }
        }
        return with_thread(a);
    }
    if let Some(u) = usage {
        return with_thread(u);
    }
    last.map(Value::Object)
}

#[test]
fn codex_event_is_what_the_seed_returned() {
    let thread = json!({"type":"thread.started","thread_id":"th-1"});
    let usage = json!({"type":"turn.completed","model":"gpt-5","usage":{"input_tokens":4,"output_tokens":1}});
    let cases: Vec<Vec<Value>> = vec![
        // A result: returned as it is (no thread id, no usage or model merged).
        vec![
            thread.clone(),
            usage.clone(),
            json!({"type":"result","result":"r","usage":{"x":1}}),
        ],
        vec![
            thread.clone(),
            agent("a1", "hi"),
            json!({"type":"result","text":"t"}),
            usage.clone(),
        ],
        // An agent message: merged.
        vec![thread.clone(), agent("a1", "hi"), usage.clone()],
        vec![
            agent("a1", "hi"),
            json!({"type":"session.end","usage":null}),
        ],
        // The usage event: with the thread id.
        vec![thread.clone(), usage.clone(), command("c", "out")],
        // The last object: as it is.
        vec![
            thread.clone(),
            json!({"type":"turn.started"}),
            command("c", "out"),
            json!([1]),
        ],
        vec![thread.clone()],
        vec![
            command("c", "out"),
            json!({"type":"item.started","item":{"id":"x","type":"reasoning","text":"hm"}}),
        ],
    ];
    for events in cases {
        let data = ndjson(&events);
        let s = codex(&data);
        check(&s);
        assert_eq!(
            s.event,
            seed_event(&data),
            "{}",
            String::from_utf8_lossy(&data)
        );
        if events.contains(&thread) {
            assert_eq!(s.session_id.as_deref(), Some("th-1"));
        }
    }
}

#[test]
fn codex_fallback_does_not_decode_a_giant_last_line() {
    // One 16 MiB line of numbers that no rule keeps: valid JSON the seed would have returned,
    // but decoding it would cost about 70 times its size. `event` is null, with a warning.
    let mut data = b"{\"type\":\"turn.started\"}\n{\"x\":[".to_vec();
    while data.len() < 16 * MIB - 16 {
        data.extend_from_slice(b"0,");
    }
    data.extend_from_slice(b"0]}\n");
    let s = codex(&data);
    check(&s);
    assert_eq!(s.event, None);
    assert!(
        warns(&s, "the last object of the transcript, line 2"),
        "{:?}",
        s.warnings
    );
    // A small last object after it is still found; an invalid giant one is passed over.
    let mut more = data.clone();
    more.extend_from_slice(b"{\"type\":\"item.started\"}\n");
    assert_eq!(codex(&more).event, Some(json!({"type":"item.started"})));
    let mut bad = data[..data.len() - 3].to_vec();
    bad.extend_from_slice(b"\n");
    let s = codex(&bad);
    assert_eq!(s.event, Some(json!({"type":"turn.started"})));
}

#[test]
fn codex_fallback_walk_is_linear_in_bytes() {
    // 10^6 short lines that are not objects: the walk passes all of them. It used to read
    // 64 KiB per line (10 s here); now it reads each byte once. Compared with `scan` of the
    // same file on the same machine, with a generous margin for a loaded machine.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ones.ndjson");
    std::fs::write(&path, b"[1]\n".repeat(1_000_000)).unwrap();
    let time = |args: &[&str]| {
        let t = std::time::Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_spoolscan"))
            .args(args)
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success());
        (t.elapsed(), out.stdout)
    };
    let (scan, _) = time(&["scan", "--keep", "type=x"]);
    let (summ, out) = time(&["summarize", "--profile", "codex"]);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["status"], "no_events");
    assert_eq!(v["report"]["skipped"], 1_000_000);
    eprintln!("scan {scan:?}, summarize {summ:?}");
    assert!(
        summ < scan * 10 + std::time::Duration::from_millis(1500),
        "summarize took {summ:?} against {scan:?} for scan"
    );
}

#[test]
fn gemini_assembled_answer_is_capped_at_the_ceiling() {
    let chunk = "ab\u{e9}cd".repeat(200); // 1200 bytes, a 2-byte character inside
    let mut events = vec![json!({"type":"init","session_id":"g","model":"m"})];
    for _ in 0..100 {
        events.push(json!({"type":"message","role":"assistant","content":chunk,"delta":true}));
    }
    events.push(json!({"type":"result","status":"success","stats":{}}));
    let data = ndjson(&events);
    let mut sum = Summarizer::new(Profile::Gemini);
    sum.probe(1024).max_line(32 << 10).ceiling(64 << 10 | 1);
    let s = sum.summarize(&data).unwrap();
    check(&s);
    let full = chunk.repeat(100);
    let answer = s.answer.as_deref().unwrap();
    assert!(answer.len() <= (64 << 10 | 1) && answer.len() > (64 << 10) - 4);
    assert!(full.starts_with(answer));
    assert_eq!(s.status, Status::Ok);
    assert!(
        warns(&s, "the answer is cut at the ceiling"),
        "{:?}",
        s.warnings
    );
    // Under the ceiling: whole, no warning.
    let s = summarize(&data, Profile::Gemini).unwrap();
    assert_eq!(s.answer.as_deref(), Some(full.as_str()));
    assert!(!warns(&s, "cut at the ceiling"));
}

#[test]
fn warnings_stay_bounded() {
    // 100,000 Gemini warning events and undecodable Claude heads: each becomes a warning,
    // but at most 100 are listed per kind of source, plus one line counting the rest.
    let mut data = Vec::new();
    for i in 0..100_000 {
        data.extend_from_slice(
            format!(r#"{{"type":"error","severity":"warning","message":"w{i}"}}"#).as_bytes(),
        );
        data.push(b'\n');
    }
    let s = summarize(&data, Profile::Gemini).unwrap();
    check(&s);
    assert!(s.warnings.len() <= 110, "{}", s.warnings.len());
    assert!(warns(&s, "99900 more warnings"), "{:?}", s.warnings.last());
    let mut data = Vec::new();
    for _ in 0..50_000 {
        data.extend_from_slice(b"{\"type\":\"assistant\",\"message\":\"not an object\"}\n");
    }
    let s = summarize(&data, Profile::Claude).unwrap();
    assert!(s.warnings.len() <= 110, "{}", s.warnings.len());
}
