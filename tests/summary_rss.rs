//! Peak-RSS tests of `spoolscan summarize` in fresh processes (issue 11, item 7; issue 15):
//! a 16 MiB line that no rule keeps (the Codex last-object fallback), 100 MB of Gemini answer
//! deltas (the assembled answer is capped at the ceiling), and a transcript of one of the
//! newer profiles with giant tool outputs. Each is compared with a tiny transcript of the same
//! profile: the growth may be at most 16 MiB (DESIGN §11), plus the ceiling where an
//! assembled answer of that size is printed. Measured as `tests/rss.rs` does (GNU time).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Stdio;

#[path = "common/peak.rs"]
mod peak;

const MIB: usize = 1 << 20;
const SLACK_KIB: i64 = 16 * 1024;

/// Runs `spoolscan summarize ARGS FILE` with stdout to a file; returns the peak and the
/// summary.
fn summarize(input: &Path, args: &[&str]) -> (peak::Peak, serde_json::Value) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let out_path = std::env::temp_dir().join(format!(
        "spoolscan-summary-rss-{}-{}.json",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let out = File::create(&out_path).unwrap();
    let mut cmd = peak::command(env!("CARGO_BIN_EXE_spoolscan"));
    cmd.arg("summarize")
        .args(args)
        .arg(input)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::inherit());
    let peak = peak::measure(&mut cmd, |_| {});
    let summary = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out_path);
    (peak, summary)
}

fn grew(tiny: &peak::Peak, large: &peak::Peak) -> i64 {
    eprintln!("tiny {tiny:?}, large {large:?}");
    large.maxrss_kib - tiny.maxrss_kib
}

#[test]
fn codex_fallback_over_a_16_mib_line_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny.ndjson");
    std::fs::write(&tiny, b"{\"type\":\"turn.started\"}\n{\"x\":[0,0]}\n").unwrap();
    let large = dir.path().join("large.ndjson");
    let mut w = BufWriter::new(File::create(&large).unwrap());
    w.write_all(b"{\"x\":[").unwrap();
    for _ in 0..(8 * MIB - 8) {
        w.write_all(b"0,").unwrap();
    }
    w.write_all(b"0]}\n").unwrap();
    w.flush().unwrap();
    drop(w);
    assert!(std::fs::metadata(&large).unwrap().len() <= 16 * MIB as u64);
    let (t, ts) = summarize(&tiny, &["--profile", "codex"]);
    let (l, ls) = summarize(&large, &["--profile", "codex"]);
    assert_eq!(ts["event"], serde_json::json!({"x":[0,0]}));
    assert_eq!(ls["event"], serde_json::Value::Null);
    assert_eq!(ls["report"]["skipped"], 1);
    let g = grew(&t, &l);
    assert!(
        g <= SLACK_KIB,
        "peak RSS grew by {g} KiB (> {SLACK_KIB} KiB)"
    );
}

/// 100 MB of assistant deltas: the answer is capped at the ceiling, so the peak grows by at
/// most 16 MiB plus the ceiling (the answer held once, and written out as it is serialized).
#[test]
fn gemini_100_mb_of_deltas_are_capped_at_the_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &Path, chunks: usize| {
        let mut w = BufWriter::new(File::create(path).unwrap());
        writeln!(w, r#"{{"type":"init","timestamp":"2025-10-10T12:00:00.000Z","session_id":"s","model":"gemini-2.5-pro"}}"#).unwrap();
        let text = "All work and no play makes Jack a dull boy. ".repeat(22); // 990 bytes
        for _ in 0..chunks {
            writeln!(w, r#"{{"type":"message","timestamp":"2025-10-10T12:00:01.000Z","role":"assistant","content":"{text}","delta":true}}"#).unwrap();
        }
        writeln!(w, r#"{{"type":"result","timestamp":"2025-10-10T12:00:09.000Z","status":"success","stats":{{"total_tokens":1}}}}"#).unwrap();
        w.flush().unwrap();
    };
    let tiny = dir.path().join("tiny.ndjson");
    let large = dir.path().join("large.ndjson");
    write(&tiny, 2);
    write(&large, 100_000);
    for (ceiling, args) in [
        (
            8 * MIB,
            &[
                "--profile",
                "gemini",
                "--max-line",
                "1MiB",
                "--ceiling",
                "8MiB",
            ][..],
        ),
        (64 * MIB, &["--profile", "gemini"][..]),
    ] {
        let (t, _) = summarize(&tiny, args);
        let (l, ls) = summarize(&large, args);
        let answer = ls["answer"].as_str().unwrap();
        assert!(answer.len() <= ceiling && answer.len() > ceiling - 1000);
        assert!(ls["warnings"].to_string().contains("cut at the ceiling"));
        let g = grew(&t, &l);
        let bound = SLACK_KIB + (ceiling >> 10) as i64;
        assert!(g <= bound, "peak RSS grew by {g} KiB (> {bound} KiB)");
    }
}

/// OpenCode (issue 15): a transcript with 5 tool outputs of 40 MiB and more (200+ MiB) costs
/// at most 16 MiB more than the sample: the `tool_use` lines are skipped by their type.
#[test]
fn opencode_giant_tool_outputs_stay_small() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/opencode.ndjson");
    let text = std::fs::read_to_string(&sample).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let large = dir.path().join("large.ndjson");
    let mut w = BufWriter::new(File::create(&large).unwrap());
    let chunk = "x".repeat(MIB - 64)
        + "\\n{\\\"type\\\":\\\"text\\\",\\\"part\\\":{\\\"text\\\":\\\"FAKE\\\"}}\\n";
    for (i, line) in lines.iter().enumerate() {
        if i == 2 || i == 6 {
            for k in 0..(if i == 2 { 3 } else { 2 }) {
                write!(
                    w,
                    r#"{{"type":"tool_use","timestamp":1,"sessionID":"ses_f7a1cca5effeqTi40Z3Us6CDVK","part":{{"type":"tool","tool":"bash","callID":"c{k}","state":{{"status":"completed","input":{{"command":"cat big.log"}},"output":""#
                )
                .unwrap();
                for _ in 0..(40 + k) {
                    w.write_all(chunk.as_bytes()).unwrap();
                }
                writeln!(
                    w,
                    r#"","metadata":{{"exit":0}},"title":"cat big.log"}}}}}}"#
                )
                .unwrap();
            }
        }
        writeln!(w, "{line}").unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let bytes = std::fs::metadata(&large).unwrap().len();
    assert!(bytes >= 200 * MIB as u64, "{bytes}");
    let args = ["--profile", "opencode"];
    let (t, ts) = summarize(&sample, &args);
    let (l, ls) = summarize(&large, &args);
    for k in [
        "answer",
        "usage",
        "cost_usd",
        "session_id",
        "status",
        "event",
    ] {
        assert_eq!(ts[k], ls[k], "{k}");
    }
    assert_eq!(ls["report"]["oversize_skipped"], 5);
    let g = grew(&t, &l);
    assert!(
        g <= SLACK_KIB,
        "peak RSS grew by {g} KiB (> {SLACK_KIB} KiB)"
    );
}
