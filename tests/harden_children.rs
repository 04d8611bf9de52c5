//! Issue 11, items 1-5: `spoolscan run` against a command that misbehaves. Nothing outlives a
//! killed spoolscan (the command, its process group); escaped grandchildren and writers, a
//! disk full for a moment and a reopened stdout cannot crash a run, overwrite its spool, get
//! past its cap or lose an event. Each test failed on the code before the fix it checks.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;

#[path = "common/harden.rs"]
mod harden_util;
use harden_util::Mount;

use common::{bin, child, no_panic, ok, output, run, stderr};

// ---------------------------------------------------------------------------------------------
// Item 5: nothing outlives spoolscan.

/// Gone, or a zombie (an orphaned zombie may linger where pid 1 does not reap).
fn process_dead(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    let state = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .next()
        .unwrap_or("");
    matches!(state, "Z" | "X")
}

fn wait_dead(pid: i32, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if process_dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Waits (bounded) for `path` to hold a pid written by a shell.
fn read_pid(path: &Path) -> i32 {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(s) = std::fs::read_to_string(path)
            && let Ok(pid) = s.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < until, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn killing_spoolscan_kills_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!(
        "echo $$ > {}.tmp && mv {0}.tmp {0} && exec sleep 30",
        pidfile.display()
    );
    for follow in [false, true] {
        let _ = std::fs::remove_file(&pidfile);
        let mut args = vec!["run", "--timeout", "1s"];
        if follow {
            args.push("--follow");
        }
        args.extend_from_slice(&["--", "sh", "-c", &script]);
        let mut spoolscan = bin()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = read_pid(&pidfile);
        spoolscan.kill().unwrap(); // SIGKILL: no handler runs
        spoolscan.wait().unwrap();
        assert!(
            wait_dead(pid, Duration::from_secs(2)),
            "the command {pid} outlived spoolscan (follow: {follow})"
        );
    }
}

/// The command's children in its process group die with spoolscan too (the watchdog).
#[test]
fn killing_spoolscan_kills_the_commands_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    // A grandchild in the group, and a shell that waits for it (not exec'd away).
    let script = format!(
        "sleep 30 & echo $! > {}.tmp && mv {0}.tmp {0}; wait; echo done",
        pidfile.display()
    );
    let mut spoolscan = bin()
        .args(["run", "--timeout", "1s", "--", "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = read_pid(&pidfile);
    spoolscan.kill().unwrap();
    spoolscan.wait().unwrap();
    assert!(
        wait_dead(pid, Duration::from_secs(2)),
        "the command's child {pid} outlived spoolscan"
    );
}

// ---------------------------------------------------------------------------------------------
// Items 1-4: pipe-fed spools. The command and everything it starts hold pipes, never the spool.

/// The `{"type":"line","n":N}` lines of `out N`.
fn lines(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| format!("{{\"type\":\"line\",\"n\":{i}}}\n").into_bytes())
        .collect()
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Item 1: an escaped grandchild truncating its stdout while spoolscan scans the spool.
#[test]
fn escaped_grandchild_truncating_stdout_cannot_crash_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("r.json");
    let n = 300_000;
    for mode in ["plain", "profile", "follow"] {
        let mut args = vec!["run", "--stats", stats.to_str().unwrap()];
        match mode {
            "profile" => args.extend_from_slice(&["--profile", "codex"]),
            "follow" => args.push("--follow"),
            _ => {}
        }
        let count = n.to_string();
        args.extend_from_slice(&[
            "--",
            child::child(),
            "out",
            &count,
            "escape-truncate",
            "1500",
        ]);
        let started = Instant::now();
        let out = run(&args, None);
        no_panic(&out);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", stderr(&out));
        let r = report(&stats);
        assert_eq!(r["lines"], n as u64, "{mode}: {r}");
        assert_eq!(r["truncated"], false, "{mode}: {r}");
        if mode != "profile" {
            assert!(out.stdout == lines(n), "{mode}: the output differs");
        }
        // The escaped process held the pipes past the command's end: named in a warning.
        let err = stderr(&out);
        assert!(
            err.contains("escaped") && err.contains("process "),
            "{mode}: {err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

/// Item 2: an escaped writer flooding stdout cannot rewind the spool and overwrite the first
/// lines. (Its flood may hit the cap: exit 125 then, with the command's lines intact.)
#[test]
fn escaped_writer_cannot_overwrite_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("r.json");
    for round in 0..3 {
        let out = run(
            &[
                "run",
                "--max-spool",
                "4MiB",
                "--keep",
                "type=line",
                "--stats",
                stats.to_str().unwrap(),
                "--",
                child::child(),
                "out",
                "3",
                "escape-write",
                "2000",
            ],
            None,
        );
        let r = report(&stats);
        let code = out.status.code();
        assert!(
            code == Some(0) || (code == Some(125) && r["truncated"] == true),
            "round {round}: {code:?} {r}: {}",
            stderr(&out)
        );
        assert!(
            r["bytes"].as_u64().unwrap() <= 4 << 20,
            "round {round}: {r}"
        );
        assert_eq!(out.stdout, lines(3), "round {round}");
        assert_eq!(r["retained"], 3, "round {round}: {r}");
        // Only a last line cut at the cap may be malformed: nothing was overwritten.
        let malformed = r["malformed"].as_array().unwrap();
        assert!(
            malformed.iter().all(|m| m["line"] == r["lines"]),
            "round {round}: {r}"
        );
    }
}

/// Item 3: an escaped writer cannot grow the spool past the cap, during the run or after.
#[test]
fn escaped_writer_cannot_bypass_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("r.json");
    let pidfile = dir.path().join("escaped.pid");
    let out = output(
        bin()
            .args(["run", "--max-spool", "64KiB", "--stats"])
            .arg(&stats)
            .args(["--", child::child(), "out", "3", "escape-write", "5000"])
            .env("SPOOLSCAN_TEST_PIDFILE", &pidfile),
        None,
    );
    let r = report(&stats);
    assert!(r["bytes"].as_u64().unwrap() <= 64 << 10, "{r}");
    let code = out.status.code();
    // Within the cap while the pump read (exit 0), or over it (125, truncated).
    assert!(
        code == Some(0) || (code == Some(125) && r["truncated"] == true),
        "{code:?} {r}: {}",
        stderr(&out)
    );
    // Once spoolscan is gone the escaped writer has nowhere to write: its next write fails.
    let pid = read_pid(&pidfile);
    assert!(
        wait_dead(pid, Duration::from_secs(2)),
        "the escaped writer {pid} still writes after spoolscan exited"
    );
}

/// Item 4: a disk that is full for a moment is seen by spoolscan itself: exit 125, the report
/// truncated, an error naming the spool directory; never a silently incomplete spool.
#[test]
fn brief_disk_full_is_a_fault() {
    for round in 0..3 {
        let Some(mount) = Mount::tmpfs("1m") else {
            return;
        };
        let d = mount.path();
        let filler = d.join("filler");
        let stats = tempfile::NamedTempFile::new().unwrap();
        let out = output(
            bin()
                .args(["run", "--stats"])
                .arg(stats.path())
                .args(["--spool-dir"])
                .arg(d)
                .args(["--", child::child(), "out", "1", "fill"])
                .arg(&filler)
                .args(["try-bytes", "3000000", "rm"])
                .arg(&filler)
                .args(["out", "1"]),
            None,
        );
        let _ = std::fs::remove_file(&filler);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "round {round}: {err}");
        assert!(err.contains(&*d.to_string_lossy()), "{err}");
        assert!(err.contains("full"), "{err}");
        assert_eq!(report(stats.path())["truncated"], true);
    }
}

/// Item 6: a command that reopens its stdout (`> /dev/stdout` truncates a regular file and
/// writes at offset 0) loses nothing: plain `run` and `run --follow` print every event.
#[test]
fn reopened_stdout_loses_no_event_with_or_without_follow() {
    let script = r#"i=0; while [ $i -lt 1000 ]; do echo "{\"type\":\"x\",\"i\":$i}"; i=$((i+1)); done; sleep .3; echo '{"type":"final"}' > /dev/stdout"#;
    let mut want: Vec<u8> = (0..1000)
        .flat_map(|i| format!("{{\"type\":\"x\",\"i\":{i}}}\n").into_bytes())
        .collect();
    want.extend_from_slice(b"{\"type\":\"final\"}\n");
    for follow in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let stats = dir.path().join("r.json");
        let mut args = vec!["run", "--stats", stats.to_str().unwrap()];
        if follow {
            args.push("--follow");
        }
        args.extend_from_slice(&["--", "sh", "-c", script]);
        let out = run(&args, None);
        ok(&out);
        assert!(
            out.stdout == want,
            "follow {follow}: {}",
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .unwrap_or("")
        );
        let r = report(&stats);
        assert_eq!(r["lines"], 1001, "{r}");
        assert_eq!(r["bytes"], want.len() as u64, "{r}");
    }
}
