//! Peak-RSS test: `spoolscan scan` in fresh processes on a tiny transcript and on a generated
//! one of at least 256 MiB with skipped lines of 32 MiB and more. The large run's peak RSS may
//! exceed the tiny run's by at most 16 MiB (DESIGN §6, §11), and both must report the right
//! retained count. Peak RSS comes from `wait4`'s rusage (`ru_maxrss`); RssAnon and RssFile are
//! sampled from /proc while the child runs, so a regression can be diagnosed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const MIB: usize = 1 << 20;
const SLACK_KIB: i64 = 16 * 1024;

/// Writes a Codex-style transcript and returns (bytes, expected retained lines).
///
/// `big_lines` giant tool outputs of 32 MiB + i MiB each; around them, small events. Every
/// fourth giant line puts its `type` after the giant field (undecidable from the probe).
fn write_transcript(path: &Path, big_lines: usize) -> (u64, u64) {
    let mut w = BufWriter::with_capacity(MIB, File::create(path).unwrap());
    let mut retained = 0;
    let mut bytes = 0u64;
    let mut put = |w: &mut BufWriter<File>, s: &[u8]| {
        w.write_all(s).unwrap();
        bytes += s.len() as u64;
    };
    put(&mut w, br#"{"type":"thread.started","thread_id":"t-rss"}"#);
    put(&mut w, b"\n");
    let chunk = "x\\\"type\\\":\\\"error\\\" ".repeat(MIB / 24);
    for i in 0..big_lines {
        put(&mut w, br#"{"type":"turn.started"}"#);
        put(&mut w, b"\n");
        for j in 0..50 {
            let line = format!(
                r#"{{"type":"item.completed","item":{{"id":"r{i}_{j}","type":"reasoning","text":"thinking about step {j}"}}}}"#
            );
            put(&mut w, line.as_bytes());
            put(&mut w, b"\n");
        }
        let late_type = i % 4 == 3;
        if late_type {
            put(&mut w, br#"{"item":{"id":"c","aggregated_output":""#);
        } else {
            put(
                &mut w,
                br#"{"type":"item.completed","item":{"id":"c","type":"command_execution","command":"cat big","aggregated_output":""#,
            );
        }
        for _ in 0..(32 + i % 8) * 24 {
            put(&mut w, chunk.as_bytes());
        }
        if late_type {
            put(
                &mut w,
                br#"","type":"command_execution"},"type":"item.completed"}"#,
            );
        } else {
            put(&mut w, br#"","exit_code":0,"status":"completed"}}"#);
        }
        put(&mut w, b"\n");
        // A retained agent message of 256 KiB, and the turn's usage.
        let text = "answer ".repeat(256 * 1024 / 7);
        let msg = format!(
            r#"{{"type":"item.completed","item":{{"id":"m{i}","type":"agent_message","text":"{text}"}}}}"#
        );
        put(&mut w, msg.as_bytes());
        put(&mut w, b"\r\n");
        put(
            &mut w,
            br#"{"type":"turn.completed","usage":{"input_tokens":100,"output_tokens":10}}"#,
        );
        put(&mut w, b"\n");
        retained += 2;
    }
    w.flush().unwrap();
    drop(w);
    (bytes, retained)
}

struct Run {
    maxrss_kib: i64,
    rss_anon_kib: i64,
    rss_file_kib: i64,
    report: serde_json::Value,
}

fn status_kib(pid: u32, field: &str) -> Option<i64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `spoolscan scan` on `input` (as a path, or piped through stdin) in a fresh process.
fn run(input: &Path, dir: &Path, via_pipe: bool) -> Run {
    let report = dir.join(if via_pipe { "pipe.json" } else { "file.json" });
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_spoolscan"));
    cmd.args(["scan", "--quiet", "--stats"])
        .arg(&report)
        .args(["--keep", "type=turn.completed,error,turn.failed"])
        .args(["--keep", "item.type=agent_message"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if via_pipe {
        cmd.arg("-").stdin(Stdio::piped());
    } else {
        cmd.arg(input).stdin(Stdio::null());
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let feeder = child.stdin.take().map(|mut stdin| {
        let input = input.to_path_buf();
        std::thread::spawn(move || {
            let mut f = File::open(input).unwrap();
            std::io::copy(&mut f, &mut stdin).unwrap();
        })
    });
    let sampler = std::thread::spawn(move || {
        let (mut anon, mut file) = (0, 0);
        while let Some(a) = status_kib(pid, "RssAnon:") {
            anon = anon.max(a);
            file = file.max(status_kib(pid, "RssFile:").unwrap_or(0));
            std::thread::sleep(Duration::from_millis(2));
        }
        (anon, file)
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std's Child never waited on it); wait4
    // writes only to the two valid out-pointers.
    let r = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut usage) };
    assert_eq!(r, pid as i32, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}"
    );
    std::mem::forget(child);
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    let (rss_anon_kib, rss_file_kib) = sampler.join().unwrap();
    let report = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    Run {
        maxrss_kib: usage.ru_maxrss,
        rss_anon_kib,
        rss_file_kib,
        report,
    }
}

#[test]
fn peak_rss_is_independent_of_file_and_skipped_line_size() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny.ndjson");
    let large = dir.path().join("large.ndjson");
    let (_, tiny_retained) = write_transcript(&tiny, 0);
    let (bytes, large_retained) = write_transcript(&large, 7);
    assert!(bytes >= 256 * MIB as u64, "{bytes}");
    assert_eq!(tiny_retained, 0);

    for via_pipe in [false, true] {
        let t = run(&tiny, dir.path(), via_pipe);
        let l = run(&large, dir.path(), via_pipe);
        eprintln!(
            "via_pipe={via_pipe}: tiny maxrss {} KiB (anon {} file {}), large maxrss {} KiB (anon {} file {})",
            t.maxrss_kib,
            t.rss_anon_kib,
            t.rss_file_kib,
            l.maxrss_kib,
            l.rss_anon_kib,
            l.rss_file_kib
        );
        assert_eq!(t.report["retained"], 0);
        assert_eq!(l.report["retained"], large_retained);
        assert_eq!(l.report["bytes"], bytes);
        assert_eq!(l.report["oversize_unclassified"], 1);
        assert_eq!(l.report["oversize_skipped"], 6);
        assert_eq!(l.report["malformed_total"], 0);
        assert!(
            l.maxrss_kib - t.maxrss_kib <= SLACK_KIB,
            "peak RSS grew by {} KiB (> {SLACK_KIB} KiB) on a {} MiB input",
            l.maxrss_kib - t.maxrss_kib,
            bytes >> 20
        );
    }
}
