//! Peak RSS of following (issue 6): `spoolscan run --follow` of a child writing giant lines
//! slowly, in a fresh process, stays within a bound of a tiny run's.

#[path = "common/child.rs"]
mod child;

#[path = "common/peak.rs"]
mod peak;

use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

struct Peak {
    maxrss_kib: i64,
    anon_kib: i64,
    file_kib: i64,
    report: serde_json::Value,
}

/// `spoolscan run --follow` of `spoolscan-test-child transcript N` in a fresh process.
fn follow_transcript(dir: &Path, rounds: u32) -> Peak {
    let stats = dir.join(format!("stats{rounds}.json"));
    let mut cmd = peak::command(env!("CARGO_BIN_EXE_spoolscan"));
    cmd.args(["run", "--follow", "--quiet", "--spool-dir"])
        .arg(dir)
        .arg("--stats")
        .arg(&stats)
        .args([
            "--keep",
            "type=turn.completed,error,turn.failed",
            "--keep",
            "item.type=agent_message",
        ])
        .args(["--", child::child(), "transcript", &rounds.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let p = peak::measure(&mut cmd, |_| {});
    Peak {
        // wait4 reports the larger of spoolscan's peak and its (reaped) child's.
        maxrss_kib: p.maxrss_kib,
        anon_kib: p.anon_kib,
        file_kib: p.file_kib,
        report: serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap(),
    }
}

#[test]
fn follow_peak_rss_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = follow_transcript(dir.path(), 0);
    let t = Instant::now();
    let large = follow_transcript(dir.path(), 4);
    let took = t.elapsed();
    eprintln!(
        "run --follow: tiny maxrss {} KiB (anon {} file {}); 4 x 64 MiB lines: maxrss {} KiB (anon {} file {}), {} MiB in {took:.2?}",
        tiny.maxrss_kib,
        tiny.anon_kib,
        tiny.file_kib,
        large.maxrss_kib,
        large.anon_kib,
        large.file_kib,
        large.report["bytes"].as_u64().unwrap() >> 20,
    );
    assert_eq!(tiny.report["lines"], 1);
    assert!(large.report["bytes"].as_u64().unwrap() >= 256 << 20);
    assert_eq!(large.report["retained"], 8);
    assert_eq!(large.report["oversize_skipped"], 2);
    assert_eq!(large.report["oversize_unclassified"], 2);
    assert_eq!(large.report["malformed_total"], 0);
    assert_eq!(large.report["truncated"], false);
    assert!(
        large.maxrss_kib - tiny.maxrss_kib <= 16 * 1024,
        "peak RSS grew by {} KiB (> 16 MiB) following 4 x 64 MiB lines",
        large.maxrss_kib - tiny.maxrss_kib
    );
}
