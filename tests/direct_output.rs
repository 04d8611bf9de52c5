//! `spoolscan scan` and `run` write long runs of adjacent retained lines straight from the
//! input file (`sendfile`, see `src/cli/direct.rs`). The output must be the bytes the oracle
//! (serde_json over the same input) says, whatever the destination (a pipe, a regular file,
//! an `O_APPEND` file where `sendfile` is refused, `/dev/null`), the threads, `--no-mmap`,
//! `--max-count`, and however runs are broken (skipped, blank, malformed and CR LF lines).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek};
use std::process::Stdio;

use serde_json::Value;

mod common;

use common::{bin, ok, output, stderr};

/// A deterministic input: long runs of retained lines (some of them large) broken by skipped,
/// blank, malformed and CR LF lines; `bom` puts a BOM first, `last_lf` ends it with an LF.
fn input(seed: u64, lines: usize, bom: bool, last_lf: bool) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(b"\xef\xbb\xbf");
    }
    for i in 0..lines {
        let pad = match next(100) {
            0 => 200_000 + next(100_000) as usize,
            1..=10 => 5_000 + next(20_000) as usize,
            _ => next(3_000) as usize,
        };
        let text = "x".repeat(pad);
        match next(40) {
            0 => out.extend_from_slice(format!("{{\"type\":\"skip\",\"i\":{i}}}\n").as_bytes()),
            1 => out.extend_from_slice(b"\n"),
            2 => out.extend_from_slice(format!("{{\"type\":\"keep\",\"i\":{i},\n").as_bytes()),
            3 => out.extend_from_slice(
                format!("{{\"type\":\"keep\",\"i\":{i},\"t\":\"{text}\"}}\r\n").as_bytes(),
            ),
            4 => out.extend_from_slice(format!("  {{\"type\":\"KEEP\",\"i\":{i}}}  \n").as_bytes()),
            _ => out.extend_from_slice(
                format!("{{\"type\":\"keep\",\"i\":{i},\"t\":\"{text}\"}}\n").as_bytes(),
            ),
        }
    }
    if !last_lf {
        out.extend_from_slice(b"{\"type\":\"keep\",\"last\":true}");
    }
    out
}

/// The oracle: every line (terminator and BOM removed) that serde_json reads as an object
/// whose `type` is `keep` (ASCII case-insensitive), LF-terminated; the first `max` of them.
fn expected(data: &[u8], max: usize) -> Vec<u8> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    let mut out = Vec::new();
    let mut n = 0;
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        if n < max
            && v.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("keep"))
        {
            out.extend_from_slice(line);
            out.push(b'\n');
            n += 1;
        }
    }
    out
}

/// Runs `spoolscan scan FILE ARGS` with stdout to a pipe, a new file, an `O_APPEND` file
/// that already holds a line, and `/dev/null`, and checks each output against `want`.
fn check_destinations(file: &std::path::Path, args: &[&str], want: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.arg("scan").arg(file).args(args);
    // A pipe.
    let out = output(&mut cmd, None);
    ok(&out);
    assert!(
        out.stdout == want,
        "pipe, {args:?}: output differs ({} bytes, {} wanted)",
        out.stdout.len(),
        want.len()
    );
    // A regular file, and one opened for appending (sendfile refuses it: the copy fallback).
    for append in [false, true] {
        let path = dir.path().join(format!("out-{append}"));
        std::fs::write(&path, b"before\n").unwrap();
        let f = if append {
            OpenOptions::new().append(true).open(&path).unwrap()
        } else {
            File::create(&path).unwrap()
        };
        let status = bin()
            .arg("scan")
            .arg(file)
            .args(args)
            .stdout(Stdio::from(f))
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{args:?}, append {append}: {status}");
        let mut got = Vec::new();
        let mut f = File::open(&path).unwrap();
        f.rewind().unwrap();
        f.read_to_end(&mut got).unwrap();
        let got = if append {
            got.strip_prefix(b"before\n")
                .expect("appended after the first line")
                .to_vec()
        } else {
            got
        };
        assert!(
            got == want,
            "file (append {append}), {args:?}: output differs ({} bytes, {} wanted)",
            got.len(),
            want.len()
        );
    }
    // /dev/null: the run succeeds.
    let status = bin()
        .arg("scan")
        .arg(file)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn long_runs_written_from_the_file_equal_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, bom, last_lf) in [(1, false, true), (2, true, false), (3, true, true)] {
        let data = input(seed, 600, bom, last_lf);
        let path = dir.path().join(format!("in-{seed}.ndjson"));
        std::fs::write(&path, &data).unwrap();
        let want = expected(&data, usize::MAX);
        assert!(
            want.len() > 1 << 20,
            "runs longer than the direct threshold"
        );
        for threads in ["1", "3"] {
            check_destinations(
                &path,
                &["--keep", "type=keep", "--threads", threads, "-q"],
                &want,
            );
        }
        check_destinations(&path, &["--keep", "type=keep", "--no-mmap", "-q"], &want);
        // --max-count stops inside a long run: the run is cut at the last line counted.
        for max in [1usize, 37, 300] {
            let m = max.to_string();
            let args = ["--keep", "type=keep", "--threads", "2", "-m", &m, "-q"];
            let out = output(bin().arg("scan").arg(&path).args(args), None);
            ok(&out);
            assert!(
                out.stdout == expected(&data, max),
                "-m {max}: output differs"
            );
        }
    }
}

#[test]
fn several_files_and_stdin_mix_direct_and_copied_lines() {
    let dir = tempfile::tempdir().unwrap();
    let a = input(7, 200, false, false);
    let b = input(8, 200, true, true);
    let (pa, pb) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&pa, &a).unwrap();
    std::fs::write(&pb, &b).unwrap();
    let mut want = expected(&a, usize::MAX);
    want.extend(expected(&b, usize::MAX));
    let mut cmd = bin();
    cmd.arg("scan")
        .arg(&pa)
        .arg(&pb)
        .args(["--keep", "type=keep", "-q"]);
    let out = output(&mut cmd, None);
    ok(&out);
    assert!(out.stdout == want, "two files: output differs");
    // A file between two readings of stdin from a pipe (stdin is copied line by line).
    let mut cmd = bin();
    cmd.arg("scan")
        .arg(&pa)
        .args(["-", "--keep", "type=keep", "-q"]);
    let out = output(&mut cmd, Some(&b));
    ok(&out);
    assert!(out.stdout == want, "a file, then stdin: output differs");
}

#[test]
fn run_writes_the_spooled_output_from_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let data = input(9, 300, false, true);
    let path = dir.path().join("child-out");
    std::fs::write(&path, &data).unwrap();
    let out = output(
        bin()
            .args(["run", "--keep", "type=keep", "-q", "--", "cat"])
            .arg(&path),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        out.stdout == expected(&data, usize::MAX),
        "run: output differs"
    );
}

/// A reader that stops reading (`| head`) stops the scan soon, as with the copied output: a
/// run is written a few MiB at a time, not held back to its end.
#[test]
fn a_closed_pipe_stops_the_scan_within_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all-kept.ndjson");
    let line = format!("{{\"type\":\"keep\",\"t\":\"{}\"}}\n", "y".repeat(1000));
    let lines = 40_000; // 40 MB, every line kept: one run
    std::fs::write(&path, line.repeat(lines)).unwrap();
    let stats = dir.path().join("stats.json");
    let mut child = bin()
        .arg("scan")
        .arg(&path)
        .args(["--threads", "1", "-q", "--stats"])
        .arg(&stats)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe closes here; the scan stops quietly (exit 0) with the report of what it read.
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(first.starts_with(b"{\"type\":\"keep\""));
    let report: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let read = report["lines"].as_u64().unwrap();
    assert!(
        read < lines as u64 / 2,
        "read {read} of {lines} lines after the reader left"
    );
}

/// Into `/dev/null` spoolscan writes nothing (as GNU grep does), and reports what it reports
/// into a pipe: the same counts and exit status, `--max-count` stopping at the same line.
#[test]
fn dev_null_gets_the_report_a_pipe_gets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.ndjson");
    std::fs::write(&path, input(11, 300, true, false)).unwrap();
    let cases: [&[&str]; 4] = [
        &["--threads", "1"],
        &["-m", "5", "--threads", "1"],
        &["--keep", "type=keep", "--threads", "2"],
        &["--keep", "type=keep", "-m", "40", "--threads", "3"],
    ];
    for args in cases {
        let run = |null: bool| {
            let stats = dir.path().join(format!("stats-{null}.json"));
            let mut cmd = bin();
            cmd.arg("scan")
                .arg(&path)
                .args(args)
                .arg("--stats")
                .arg(&stats);
            cmd.stderr(Stdio::null());
            let status = if null {
                cmd.stdout(Stdio::from(File::create("/dev/null").unwrap()))
                    .status()
                    .unwrap()
            } else {
                let out = cmd.stdout(Stdio::piped()).output().unwrap();
                assert!(!out.stdout.is_empty(), "{args:?}: nothing into the pipe");
                out.status
            };
            let report: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
            (status.code(), report)
        };
        assert_eq!(run(true), run(false), "{args:?}");
    }
}

/// Into a pipe, spoolscan widens the pipe's buffer to 1 MiB (fewer turns between it and the
/// reader), where the system lets it.
#[test]
fn a_pipe_to_stdout_is_widened() {
    let max: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if max < 1 << 20 {
        eprintln!("pipe-max-size {max}: not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.ndjson");
    std::fs::write(&path, input(12, 50, false, true)).unwrap();
    let mut child = bin()
        .arg("scan")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut got = Vec::new();
    out.read_to_end(&mut got).unwrap();
    child.wait().unwrap();
    assert!(!got.is_empty());
    // The read end is the same pipe.
    assert_eq!(rustix::pipe::fcntl_getpipe_size(&out).unwrap(), 1 << 20);
}
