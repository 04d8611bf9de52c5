//! Following a running child: `Running::stdout_follower` on a spooled run (its calls and report
//! equal a full scan of the spool; it stops at the spool cap) and `spoolscan run --follow`
//! (lines printed while the child runs, the cap and timeout with a fast writer, `--profile`'s
//! live status on a terminal).

#[path = "common/child.rs"]
mod child;

#[path = "common/follow.rs"]
mod follow_util;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use follow_util::{Call, Record, Rng, SMALL, assert_same, codex_builder, file};
use spoolscan::{Report, Runner, ScannerBuilder};

// ---------------------------------------------------------------------------------------------
// Spooled runs.

/// Follows a running child through `Running::stdout_follower`; returns the calls, the report
/// (marked truncated as the CLI does) and the run.
fn follow_child(b: &ScannerBuilder, runner: &mut Runner) -> (Vec<Call>, Report, spoolscan::Run) {
    let mut running = runner.start().unwrap();
    let mut follower = running.stdout_follower(b.build().unwrap()).unwrap();
    let mut rec = Record::default();
    follower
        .follow(&mut rec, || running.try_wait().unwrap())
        .unwrap();
    let run = running.wait().unwrap();
    let mut report = follower.finish(&mut rec).unwrap();
    report.truncated |= run.is_truncated();
    (rec.calls, report, run)
}

#[test]
fn spooled_run_follow_equals_full_scan_of_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let b = codex_builder();
    for seed in 0..3u64 {
        let mut r = Rng(seed + 500);
        let data = file(&mut r, &SMALL, 200, (seed % 3) as usize);
        let input = dir.path().join(format!("in{seed}.ndjson"));
        std::fs::write(&input, &data).unwrap();
        let mut cmd = Command::new(child::child());
        cmd.arg("drip").arg(&input);
        let (calls, report, run) = follow_child(&b, &mut Runner::new(cmd));
        assert_eq!(run.exit_code(), 0);
        assert_eq!(run.stdout.len(), data.len() as u64);
        let mut rec = Record::default();
        let want = b
            .build()
            .unwrap()
            .scan_file(run.stdout.file(), &mut rec)
            .unwrap();
        assert_same(
            &format!("seed {seed}"),
            &(calls, report),
            &(rec.calls, want),
        );
    }
}

#[test]
fn spooled_run_follow_stops_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let b = codex_builder();
    let mut r = Rng(77);
    let data = file(&mut r, &SMALL, 400, 0);
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, &data).unwrap();
    let cap = data.len() as u64 / 2;
    let mut cmd = Command::new(child::child());
    cmd.arg("drip").arg(&input);
    let (calls, report, run) = follow_child(&b, Runner::new(cmd).max_spool(cap));
    assert!(run.fault.is_some(), "the cap was hit");
    assert_eq!(run.stdout.len(), cap);
    assert!(report.truncated);
    assert_eq!(report.bytes, cap);
    let mut rec = Record::default();
    let mut want = b
        .build()
        .unwrap()
        .scan_file(run.stdout.file(), &mut rec)
        .unwrap();
    want.truncated = true;
    assert_same("capped", &(calls, report), &(rec.calls, want));
}

// ---------------------------------------------------------------------------------------------
// The CLI.

#[test]
fn cli_run_follow_prints_lines_while_the_child_runs() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let script = r#"echo '{"type":"x","n":1}'; echo '{"type":"y"}'; sleep 2; echo '{"type":"x","n":2}'; printf '{"type":"x"'; exit 3"#;
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_spoolscan"))
        .args(["run", "--follow", "--keep", "type=x", "--stats"])
        .arg(&stats)
        .args(["--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let first_at = start.elapsed();
    assert_eq!(first, "{\"type\":\"x\",\"n\":1}\n");
    assert!(
        first_at < Duration::from_millis(1500),
        "the first line came {first_at:?} after the start, the child sleeps 2 s after it"
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(rest, "{\"type\":\"x\",\"n\":2}\n");
    assert_eq!(status.code(), Some(3));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(report["lines"], 4);
    assert_eq!(report["retained"], 2);
    assert_eq!(report["malformed_total"], 1);
    assert_eq!(report["truncated"], true);

    // The same as without --follow.
    let plain_stats = dir.path().join("plain.json");
    let plain = Command::new(env!("CARGO_BIN_EXE_spoolscan"))
        .args(["run", "--keep", "type=x", "--stats"])
        .arg(&plain_stats)
        .args(["--", "sh", "-c", &script.replace("sleep 2", "true")])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&plain.stdout),
        format!("{first}{rest}")
    );
    let plain_report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plain_stats).unwrap()).unwrap();
    assert_eq!(plain_report, report);
}

/// A child that writes faster than the follower scans still hits its cap (and its timeout):
/// `follow` asks whether the child is done at least every few tens of milliseconds.
#[test]
fn cli_run_follow_enforces_cap_and_timeout_with_a_fast_writer() {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_spoolscan"))
        .args([
            "run",
            "--follow",
            "--max-spool",
            "4MiB",
            "--keep",
            "type=none",
        ])
        .args(["--", "sh", "-c", "yes '{\"type\":\"x\"}'"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(125),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("spool size cap (max_spool)"));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let out = Command::new(env!("CARGO_BIN_EXE_spoolscan"))
        .args([
            "run",
            "--follow",
            "--timeout",
            "300ms",
            "--grace",
            "100ms",
            "--keep",
            "type=x",
        ])
        .args([
            "--",
            "sh",
            "-c",
            "while :; do echo '{\"type\":\"x\"}'; done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(124),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.starts_with(b"{\"type\":\"x\"}\n"));
}

/// `run --follow --profile`: a live status line on a terminal (through script(1)'s pty), none
/// otherwise, and the summary on stdout at the end.
#[test]
fn cli_run_follow_profile_shows_a_live_status_on_a_terminal() {
    if !Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("skipped: no script(1) to provide a terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agent.sh");
    std::fs::write(
        &agent,
        r#"echo '{"type":"thread.started","thread_id":"t1"}'
echo '{"type":"item.started","item":{"id":"1","type":"command_execution","command":"cargo test --release"}}'
sleep 0.5
echo '{"type":"item.completed","item":{"id":"2","type":"agent_message","text":"All tests pass."}}'
echo '{"type":"turn.completed","usage":{"input_tokens":1234,"output_tokens":56}}'
sleep 0.5
"#,
    )
    .unwrap();
    let out = dir.path().join("summary.json");
    let bin = env!("CARGO_BIN_EXE_spoolscan");
    let cmd = format!(
        "'{bin}' run --follow --profile codex -- sh '{}' > '{}'",
        agent.display(),
        out.display()
    );
    let tty = Command::new("script")
        .args(["-qc", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.contains("$ cargo test --release"), "{tty:?}");
    assert!(tty.contains("| > All tests pass."), "{tty:?}");
    assert!(
        tty.contains("tokens 1234 in / 56 out | $ cargo test --release"),
        "{tty:?}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(summary["status"], "ok");
    assert_eq!(summary["answer"], "All tests pass.");
    assert_eq!(summary["session_id"], "t1");

    let plain = Command::new(bin)
        .args(["run", "--follow", "--profile", "codex", "--", "sh"])
        .arg(&agent)
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(0));
    assert!(
        plain.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let plain: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(plain, summary);
}
