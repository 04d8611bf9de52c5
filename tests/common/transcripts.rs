//! Helpers of the summary tests: NDJSON written as the CLIs write it, Codex events, and the
//! checks every summary must pass.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use spoolscan::{Profile, Status, Summarizer, Summary, summarize};

pub const MIB: usize = 1 << 20;

pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// One line of JSON with `type` first in every object, as the CLIs write it (`json!` sorts
/// keys, which would put `item` before `type` and change what a probe window decides).
pub fn to_line(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|k| *k != "type");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                to_line(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_line(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

/// NDJSON from JSON values, LF-terminated.
pub fn ndjson(events: &[Value]) -> Vec<u8> {
    let mut out = String::new();
    for e in events {
        to_line(e, &mut out);
        out.push('\n');
    }
    out.into_bytes()
}

pub fn codex(data: &[u8]) -> Summary {
    summarize(data, Profile::Codex).unwrap()
}

pub fn small_limits(profile: Profile) -> Summarizer {
    let mut s = Summarizer::new(profile);
    s.probe(1024).max_line(8 << 10).ceiling(16 << 10);
    s
}

pub fn agent(id: &str, text: &str) -> Value {
    json!({"type":"item.completed","item":{"id":id,"type":"agent_message","text":text}})
}

pub fn command(id: &str, output: &str) -> Value {
    json!({"type":"item.completed","item":{"id":id,"type":"command_execution","command":"ls",
        "aggregated_output":output,"exit_code":0,"status":"completed"}})
}

pub fn warns(s: &Summary, needle: &str) -> bool {
    s.warnings.iter().any(|w| w.contains(needle))
}

/// Every summary: fields of DESIGN §9, report consistent, status consistent with truncation.
pub fn check(s: &Summary) {
    assert!(s.report.is_consistent(), "{:?}", s.report);
    assert_eq!(s.status == Status::Truncated, s.report.truncated);
    let v: Value = serde_json::from_str(&s.to_json()).unwrap();
    for k in [
        "profile",
        "status",
        "answer",
        "model",
        "session_id",
        "usage",
        "cost_usd",
        "error",
        "errors",
        "event",
        "warnings",
        "report",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    if let Some(e) = &s.error {
        assert!(!e.is_empty() && e.chars().count() <= 2000);
    }
}
