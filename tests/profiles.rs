//! The OpenCode, Cursor, Amp, Qwen Code and Copilot CLI profiles (issue 15): every summary
//! field on the samples against naive oracles that parse every line with serde_json and apply
//! the rule each profile documents; giant tool outputs holding fake answer and result events
//! (summary unchanged); a cut last line (`truncated`); an answer line over the ceiling
//! (`stale_answer`); error transcripts (`failed`); `auto` on every sample and on NDJSON of no
//! profile.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use spoolscan::{Profile, Status, Summarizer, Summary, summarize};

const MIB: usize = 1 << 20;

const NEW: [(Profile, &str); 5] = [
    (Profile::Opencode, "opencode"),
    (Profile::Cursor, "cursor"),
    (Profile::Amp, "amp"),
    (Profile::Qwen, "qwen"),
    (Profile::Copilot, "copilot"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(root().join("samples").join(format!("{name}.ndjson"))).unwrap()
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/data").join(name)).unwrap()
}

/// Every line that parses as a JSON object, in order (the oracles' view of a transcript).
fn objects(bytes: &[u8]) -> Vec<Map<String, Value>> {
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|l| match serde_json::from_slice::<Value>(l) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect()
}

fn ty(m: &Map<String, Value>) -> &str {
    m.get("type").and_then(Value::as_str).unwrap_or("")
}

/// What a summary must say, computed by an oracle.
#[derive(Debug, PartialEq)]
struct Facts {
    answer: Option<String>,
    usage: Option<Value>,
    cost: Option<f64>,
    session: Option<String>,
    model: Option<String>,
    event: Option<Value>,
}

impl Facts {
    fn of(s: &Summary) -> Facts {
        Facts {
            answer: s.answer.clone(),
            usage: s.usage.clone(),
            cost: s.cost_usd,
            session: s.session_id.clone(),
            model: s.model.clone(),
            event: s.event.clone(),
        }
    }
}

/// Sums numbers key by key, as the OpenCode and Amp rules say (`max_tokens` left out).
fn add(sum: &mut Map<String, Value>, u: &Map<String, Value>) {
    for (k, v) in u {
        if let Some(n) = v.as_u64().filter(|_| k != "max_tokens") {
            let old = sum.get(k).and_then(Value::as_u64).unwrap_or(0);
            sum.insert(k.clone(), json!(old + n));
        } else if let Some(inner) = v.as_object() {
            let e = sum.entry(k.clone()).or_insert_with(|| json!({}));
            add(e.as_object_mut().unwrap(), inner);
        }
    }
}

fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut v = v;
    for k in path {
        v = v.get(k)?;
    }
    v.as_str().map(str::to_string)
}

/// Claude-compatible CLIs: the last result; Amp sums the assistant messages' usage.
fn claude_like_oracle(bytes: &[u8], sum_usage: bool) -> Facts {
    let objs = objects(bytes);
    let result = objs.iter().rev().find(|m| ty(m) == "result").cloned();
    let init_model = objs
        .iter()
        .find(|m| ty(m) == "system")
        .and_then(|m| m.get("model")?.as_str().map(str::to_string));
    let assistant_model = objs
        .iter()
        .rev()
        .filter(|m| ty(m) == "assistant")
        .find_map(|m| str_at(&Value::Object((*m).clone()), &["message", "model"]));
    let session = objs
        .iter()
        .rev()
        .find_map(|m| m.get("session_id")?.as_str().map(str::to_string));
    let r = result.map(Value::Object);
    let mut usage = r.as_ref().and_then(|r| r.get("usage").cloned());
    if sum_usage && usage.is_none() {
        let mut sum = Map::new();
        for m in objs.iter().filter(|m| ty(m) == "assistant") {
            if let Some(u) = m
                .get("message")
                .and_then(|x| x.get("usage"))
                .and_then(Value::as_object)
            {
                add(&mut sum, u);
            }
        }
        usage = Some(Value::Object(sum));
    }
    Facts {
        answer: r
            .as_ref()
            .filter(|r| r.get("is_error") != Some(&json!(true)))
            .and_then(|r| str_at(r, &["result"])),
        usage,
        cost: None,
        session,
        model: init_model.or(assistant_model),
        event: r,
    }
}

/// OpenCode: the text of the last step that did not end in tool calls; per-step sums.
fn opencode_oracle(bytes: &[u8]) -> Facts {
    let (mut text, mut answer, mut usage, mut cost) = (String::new(), None, Map::new(), None);
    let (mut session, mut event) = (None, None);
    for m in objects(bytes) {
        if let Some(s) = m.get("sessionID").and_then(Value::as_str) {
            session = Some(s.to_string());
        }
        let v = Value::Object(m.clone());
        match ty(&m) {
            "step_start" => text.clear(),
            "text" => text.push_str(&str_at(&v, &["part", "text"]).unwrap_or_default()),
            "step_finish" => {
                if let Some(t) = v["part"]["tokens"].as_object() {
                    add(&mut usage, t);
                }
                if let Some(c) = v["part"]["cost"].as_f64() {
                    cost = Some(cost.unwrap_or(0.0) + c);
                }
                if !text.is_empty() {
                    answer = (v["part"]["reason"] != "tool-calls").then(|| text.clone());
                }
                text.clear();
                event = Some(v);
            }
            _ => {}
        }
    }
    Facts {
        answer,
        usage: (!usage.is_empty()).then_some(Value::Object(usage)),
        cost,
        session,
        model: None,
        event,
    }
}

/// Copilot: the last top-level assistant message, if it asks for no tools; the result.
fn copilot_oracle(bytes: &[u8]) -> Facts {
    let objs = objects(bytes);
    let top: Vec<Value> = objs
        .iter()
        .filter(|m| ty(m) == "assistant.message")
        .map(|m| Value::Object(m.clone()))
        .filter(|v| v["data"].get("parentToolCallId").is_none())
        .collect();
    let last = top.last();
    let answer = last
        .filter(|v| {
            v["data"]["toolRequests"]
                .as_array()
                .is_none_or(Vec::is_empty)
        })
        .and_then(|v| str_at(v, &["data", "content"]))
        .filter(|c| !c.trim().is_empty());
    let model = top
        .iter()
        .rev()
        .find_map(|v| str_at(v, &["data", "model"]))
        .or_else(|| {
            objs.iter()
                .find(|m| ty(m) == "session.tools_updated")
                .and_then(|m| str_at(&Value::Object(m.clone()), &["data", "model"]))
        });
    let result = objs
        .iter()
        .rev()
        .find(|m| ty(m) == "result")
        .map(|m| Value::Object(m.clone()));
    Facts {
        answer,
        usage: result.as_ref().and_then(|r| r.get("usage").cloned()),
        cost: None,
        session: result.as_ref().and_then(|r| str_at(r, &["sessionId"])),
        model,
        event: result,
    }
}

fn oracle(p: Profile, bytes: &[u8]) -> Facts {
    match p {
        Profile::Opencode => opencode_oracle(bytes),
        Profile::Copilot => copilot_oracle(bytes),
        Profile::Amp => claude_like_oracle(bytes, true),
        _ => claude_like_oracle(bytes, false),
    }
}

fn check(s: &Summary) {
    assert!(s.report.is_consistent(), "{:?}", s.report);
    assert_eq!(s.status == Status::Truncated, s.report.truncated);
    let v: Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(v["profile"], s.profile.name());
}

#[test]
fn samples_match_their_oracles() {
    for (p, name) in NEW {
        let bytes = sample(name);
        let s = summarize(&bytes, p).unwrap();
        check(&s);
        let want = oracle(p, &bytes);
        assert!(want.answer.is_some(), "{name}: the sample has an answer");
        assert!(want.usage.is_some() && want.session.is_some(), "{name}");
        assert_eq!(Facts::of(&s), want, "{name}: {:?}", s.warnings);
        assert_eq!(s.status, Status::Ok, "{name}: {:?}", s.warnings);
        assert!(s.errors.is_empty() && s.error.is_none(), "{name}");
    }
    // What the oracles found, spelled out for the record.
    let s = summarize(&sample("opencode"), Profile::Opencode).unwrap();
    assert_eq!(s.usage.as_ref().unwrap()["input"], 4215 + 4397);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("sums over 2 step_finish"))
    );
    let s = summarize(&sample("amp"), Profile::Amp).unwrap();
    assert_eq!(s.usage.as_ref().unwrap()["output_tokens"], 36 + 11);
    assert!(s.usage.as_ref().unwrap().get("max_tokens").is_none());
}

#[test]
fn tool_outputs_are_never_decoded() {
    // Lines the selectors must skip by their type: in each sample, the ones whose top-level
    // type is a tool's (or a prompt's, a delta's, a thought's).
    for (p, name) in NEW {
        let bytes = sample(name);
        let s = summarize(&bytes, p).unwrap();
        let skipped_types: &[&str] = match p {
            Profile::Opencode => &["tool_use"],
            Profile::Copilot => &[
                "session.mcp_servers_loaded",
                "user.message",
                "assistant.turn_start",
                "assistant.turn_end",
                "assistant.message_delta",
                "tool.execution_start",
                "tool.execution_complete",
            ],
            _ => &["user", "thinking", "tool_call"],
        };
        // Plus the lines that are no objects (stderr text such as `[DEBUG] ...`).
        let want = objects(&bytes)
            .iter()
            .filter(|m| skipped_types.contains(&ty(m)))
            .count() as u64
            + bytes
                .split(|b| *b == b'\n')
                .filter(|l| l.first() == Some(&b'['))
                .count() as u64;
        assert_eq!(s.report.skipped, want, "{name}");
    }
}

/// A tool output of `size` bytes in the shape of profile `p`, holding fake answer, result and
/// error events (as a tool's output holds them: inside a string).
fn giant_tool_line(p: Profile, size: usize) -> String {
    let fake = concat!(
        r#"{"type":"result","subtype":"success","is_error":false,"result":"FAKE","exitCode":1}"#,
        "\n",
        r#"{"type":"text","part":{"text":"FAKE"}}"#,
        "\n",
        r#"{"type":"assistant.message","data":{"content":"FAKE"}}"#,
        "\n",
        r#"{"type":"error","message":"FAKE"}"#,
        "\n",
    );
    let mut out = String::with_capacity(size + 1024);
    while out.len() < size {
        out.push_str(fake);
    }
    let out = serde_json::to_string(&out).unwrap();
    match p {
        Profile::Opencode => format!(
            r#"{{"type":"tool_use","timestamp":1,"sessionID":"ses_fake","part":{{"type":"tool","tool":"bash","callID":"c","state":{{"status":"completed","input":{{"command":"cat log"}},"output":{out},"metadata":{{"exit":0}},"title":"cat log"}}}}}}"#
        ),
        Profile::Cursor => format!(
            r#"{{"type":"tool_call","subtype":"completed","call_id":"c","tool_call":{{"readToolCall":{{"args":{{"path":"log"}},"result":{{"success":{{"content":{out}}}}}}}}},"session_id":"fake"}}"#
        ),
        Profile::Copilot => format!(
            r#"{{"type":"tool.execution_complete","data":{{"toolCallId":"c","success":true,"result":{{"content":{out}}}}},"id":"x","timestamp":"t"}}"#
        ),
        _ => format!(
            r#"{{"type":"user","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"c","content":{out}}}]}},"session_id":"fake"}}"#
        ),
    }
}

/// The sample with `line` inserted before its line `at` (1-based).
fn insert(bytes: &[u8], at: usize, line: &str) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(at - 1, line);
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

#[test]
fn giant_tool_outputs_with_fake_events_change_nothing() {
    for (p, name) in NEW {
        let bytes = sample(name);
        let base = summarize(&bytes, p).unwrap();
        let giant = giant_tool_line(p, 40 * MIB);
        let n = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        // Before the answer-bearing lines, and last of all.
        for at in [n - 1, n + 1] {
            let data = insert(&bytes, at, &giant);
            let s = summarize(&data, p).unwrap();
            check(&s);
            assert_eq!(Facts::of(&s), Facts::of(&base), "{name} at {at}");
            assert_eq!(
                (s.status, &s.errors),
                (base.status, &base.errors),
                "{name}: {:?}",
                s.warnings
            );
            assert_eq!(s.report.oversize_skipped, 1, "{name}");
            assert_eq!(s.report.retained, base.report.retained, "{name}");
        }
    }
}

#[test]
fn a_cut_last_line_is_truncated() {
    for (p, name) in NEW {
        let bytes = sample(name);
        let last_start = bytes[..bytes.len() - 1]
            .iter()
            .rposition(|b| *b == b'\n')
            .unwrap()
            + 1;
        let cut = &bytes[..last_start + (bytes.len() - last_start) / 2];
        let s = summarize(cut, p).unwrap();
        check(&s);
        assert_eq!(s.status, Status::Truncated, "{name}");
        assert!(s.report.truncated);
    }
}

/// The sample with the answer text on its answer-bearing line replaced by `with`.
fn replace_answer(p: Profile, bytes: &[u8], with: &str) -> Vec<u8> {
    let answer = oracle(p, bytes).answer.unwrap();
    let text = std::str::from_utf8(bytes).unwrap();
    let old = serde_json::to_string(&answer).unwrap();
    let new = serde_json::to_string(with).unwrap();
    // The answer-bearing line is the last holding the answer.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let i = lines.iter().rposition(|l| l.contains(&old)).unwrap();
    lines[i] = lines[i].replace(&old, &new);
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

#[test]
fn an_answer_over_the_ceiling_is_stale() {
    for (p, name) in NEW {
        let bytes = replace_answer(p, &sample(name), &"lorem ipsum ".repeat(2000));
        let mut sum = Summarizer::new(p);
        sum.probe(1024).max_line(8 << 10).ceiling(16 << 10);
        let s = sum.summarize(&bytes).unwrap();
        check(&s);
        assert_eq!(
            (s.status, s.answer.as_deref()),
            (Status::StaleAnswer, None),
            "{name}: {:?}",
            s.warnings
        );
        assert_eq!(s.report.dropped_total, 1, "{name}");
        let line = s.report.dropped[0].line;
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains(&format!("line {line} "))),
            "{name}: {:?}",
            s.warnings
        );
        // The same line under the ceiling: the long answer, whole.
        let s = summarize(&bytes, p).unwrap();
        assert_eq!(
            s.answer.as_deref(),
            Some("lorem ipsum ".repeat(2000).as_str()),
            "{name}"
        );
    }
}

#[test]
fn error_transcripts_fail_with_their_message() {
    for (p, file, msg) in [
        (
            Profile::Opencode,
            "opencode_error.ndjson",
            "Rate limit exceeded",
        ),
        (
            Profile::Cursor,
            "cursor_error.ndjson",
            "Request failed due to upstream error.",
        ),
        (
            Profile::Amp,
            "amp_error.ndjson",
            "Out of free credits for today",
        ),
        (
            Profile::Qwen,
            "qwen_error.ndjson",
            "[API Error: 401 Incorrect API key provided.]",
        ),
        (
            Profile::Copilot,
            "copilot_error.ndjson",
            "Failed to get response from the AI model; retried 5 times",
        ),
    ] {
        let bytes = data(file);
        for profile in [p, Profile::Auto] {
            let s = summarize(&bytes, profile).unwrap();
            check(&s);
            assert_eq!(s.profile, p, "{file}");
            assert_eq!(s.status, Status::Failed, "{file}: {:?}", s.warnings);
            assert_eq!(s.error.as_deref(), Some(msg), "{file}");
            assert_eq!(s.errors, [msg], "{file}");
            assert_eq!(s.answer, None);
        }
    }
}

#[test]
fn auto_tells_every_sample_apart() {
    let all = [
        (Profile::Codex, "codex"),
        (Profile::Claude, "claude"),
        (Profile::Gemini, "gemini"),
    ];
    for (p, name) in NEW.iter().chain(all.iter()) {
        let bytes = sample(name);
        let s = summarize(&bytes, Profile::Auto).unwrap();
        assert_eq!(s.profile, *p, "{name}: {:?}", s.warnings);
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains(&format!("detected {}", p.name())))
        );
        // The same summary as with the profile named.
        let named = summarize(&bytes, *p).unwrap();
        assert_eq!(Facts::of(&s), Facts::of(&named), "{name}");
    }
    // Tool outputs that quote another CLI's events do not fool it: a giant first line whose
    // text holds every other CLI's init events is classified by its own top-level type.
    for (p, name) in NEW {
        let size = if p == Profile::Opencode {
            40 * MIB
        } else {
            64 << 10
        };
        let bytes = insert(&sample(name), 1, &giant_tool_line(p, size));
        let s = summarize(&bytes, Profile::Auto).unwrap();
        assert_eq!(s.profile, p, "{name}: {:?}", s.warnings);
    }
}

#[test]
fn auto_warns_on_ndjson_of_no_profile() {
    for file in ["other_app_log.ndjson", "other_types.ndjson"] {
        let bytes = data(file);
        let s = summarize(&bytes, Profile::Auto).unwrap();
        check(&s);
        assert_eq!(
            (s.profile, s.status),
            (Profile::Auto, Status::NoEvents),
            "{file}"
        );
        assert_eq!(s.event, None);
        let note = s
            .warnings
            .iter()
            .find(|w| w.contains("no profile fits"))
            .unwrap();
        if file == "other_types.ndjson" {
            for t in ["\"ping\" x1", "\"trade\" x1", "\"heartbeat\" x1"] {
                assert!(note.contains(t), "{note}");
            }
        } else {
            assert!(note.contains("3 without a string type"), "{note}");
        }
        assert_eq!(s.report.lines, 3);
        assert_eq!(s.report.retained, 0);
    }
}

#[test]
fn cli_run_profile_works_for_every_profile() {
    for (p, name) in NEW {
        let path = root().join("samples").join(format!("{name}.ndjson"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_spoolscan"))
            .args(["run", "--profile", p.name(), "--", "cat"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let want = oracle(p, &sample(name));
        assert_eq!(v["profile"], name);
        assert_eq!(v["status"], "ok");
        assert_eq!(v["answer"].as_str(), want.answer.as_deref(), "{name}");
        assert_eq!(v["session_id"].as_str(), want.session.as_deref(), "{name}");
    }
}

#[test]
fn opencode_assembled_answer_is_capped_at_the_ceiling() {
    let part = "0123456789".repeat(100); // 1000 bytes
    let mut data = String::from(
        r#"{"type":"step_start","timestamp":1,"sessionID":"ses_cap","part":{"type":"step-start"}}"#,
    );
    data.push('\n');
    for _ in 0..100 {
        data.push_str(&format!(
            r#"{{"type":"text","timestamp":2,"sessionID":"ses_cap","part":{{"type":"text","text":"{part}"}}}}"#
        ));
        data.push('\n');
    }
    data.push_str(r#"{"type":"step_finish","timestamp":3,"sessionID":"ses_cap","part":{"type":"step-finish","reason":"stop","tokens":{"input":1,"output":1},"cost":0}}"#);
    data.push('\n');
    let mut sum = Summarizer::new(Profile::Opencode);
    sum.probe(1024).max_line(16 << 10).ceiling(32 << 10);
    let s = sum.summarize(data.as_bytes()).unwrap();
    check(&s);
    assert_eq!(s.status, Status::Ok);
    let want = opencode_oracle(data.as_bytes()).answer.unwrap();
    assert_eq!(s.answer.as_deref(), Some(&want[..32 << 10]));
    assert!(
        s.warnings.iter().any(|w| w.contains("cut at the ceiling")),
        "{:?}",
        s.warnings
    );
    let s = summarize(data.as_bytes(), Profile::Opencode).unwrap();
    assert_eq!(s.answer, Some(want));
}
