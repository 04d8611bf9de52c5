//! Agent transcript profiles (issue 4) through the general API: `auto`, the sources, I/O and
//! configuration errors, the marks on a summary, and the `summarize` CLI. Each profile's own
//! rules are in tests/summarize_codex.rs, tests/summarize_codex_input.rs,
//! tests/summarize_claude.rs and tests/summarize_gemini.rs.

use std::path::Path;

use serde_json::Value;
use spoolscan::{Profile, Source, Status, Summarizer, summarize};

mod common;
#[path = "common/transcripts.rs"]
mod transcripts;
use transcripts::*;

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
// Marks

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
