//! The `spoolscan` binary, end to end: hostile inputs, exit statuses, reports, `run`.
//!
//! Each report is also checked against the counting identity of DESIGN §5.

mod common;

use std::process::Stdio;

use serde_json::Value;

use common::{Dir, bin, child, ok, run, stderr};

const CODEX: [&str; 4] = [
    "--keep",
    "type=turn.completed,error,turn.failed",
    "--keep",
    "item.type=agent_message",
];

/// Scans `data` (from a file) with `args` and returns (stdout, report).
fn scan(data: &[u8], args: &[&str]) -> (Vec<u8>, Value) {
    let dir = Dir::new();
    let input = dir.file("in.ndjson", data);
    let report = dir.path("report.json");
    let mut a = vec![
        "scan",
        input.to_str().unwrap(),
        "--stats",
        report.to_str().unwrap(),
    ];
    a.extend_from_slice(args);
    let out = run(&a, None);
    ok(&out);
    let rep: Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    check_identity(&rep);
    (out.stdout, rep)
}

fn check_identity(r: &Value) {
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("{k} in {r}"));
    let sum = [
        "retained",
        "skipped",
        "oversize_skipped",
        "oversize_unclassified",
        "dropped_total",
        "malformed_total",
        "blank",
    ]
    .iter()
    .map(|k| n(k))
    .sum::<u64>();
    assert_eq!(sum, n("lines"), "{r}");
    assert!(r["truncated"].is_boolean());
}

#[test]
fn truncated_last_line_is_malformed_and_flagged() {
    let data = b"{\"type\":\"error\"}\n{\"type\":\"error\",\"message\":\"cut";
    let (out, r) = scan(data, &CODEX);
    assert_eq!(out, b"{\"type\":\"error\"}\n");
    assert_eq!(r["truncated"], true);
    assert_eq!(r["malformed"][0]["line"], 2);
    assert_eq!(r["malformed"][0]["offset"], 17);
    // A final line decided as skipped before the cut stays skipped, and flags truncation.
    let (_, r) = scan(
        b"{\"type\":\"x\",\"item\":{\"type\":\"y\"},\"m\":\"cut",
        &CODEX,
    );
    assert_eq!(
        (r["skipped"].as_u64(), r["truncated"].as_bool()),
        (Some(1), Some(true))
    );
    // A complete final line without LF is not truncated.
    let (_, r) = scan(b"{\"type\":\"x\"}", &CODEX);
    assert_eq!(r["truncated"], false);
}

#[test]
fn invalid_utf8_in_a_retained_line_is_malformed() {
    let (out, r) = scan(
        b"{\"type\":\"error\",\"m\":\"\xff\"}\n{\"type\":\"error\"}\n",
        &CODEX,
    );
    assert_eq!(out, b"{\"type\":\"error\"}\n");
    assert_eq!(r["malformed_total"], 1);
    assert!(
        r["malformed"][0]["error"]
            .as_str()
            .unwrap()
            .contains("UTF-8")
    );
    // In a skipped string it is not looked at.
    let (_, r) = scan(b"{\"type\":\"x\",\"m\":\"\xff\"}\n", &CODEX);
    assert_eq!(r["skipped"], 1);
}

#[test]
fn output_is_byte_identical_without_cr() {
    let data = b"  {\"type\" : \"ERROR\" }\t\r\n{\"type\":\"error\",\"s\":\"\\u00e9\\n\"}\r\n";
    let (out, _) = scan(data, &CODEX);
    assert_eq!(
        out,
        b"  {\"type\" : \"ERROR\" }\t\n{\"type\":\"error\",\"s\":\"\\u00e9\\n\"}\n"
    );
}

#[test]
fn deep_nesting_is_skipped_or_malformed_never_a_crash() {
    let n = 200_000;
    let mut skipped = br#"{"type":"x","d":"#.to_vec();
    skipped.extend(std::iter::repeat_n(b'[', n));
    skipped.extend(std::iter::repeat_n(b']', n));
    skipped.extend_from_slice(b"}\n");
    let mut retained = br#"{"type":"error","d":"#.to_vec();
    retained.extend(std::iter::repeat_n(b'[', n));
    retained.extend(std::iter::repeat_n(b']', n));
    retained.extend_from_slice(b"}\n");
    let data = [skipped, retained].concat();
    let (out, r) = scan(&data, &CODEX);
    assert!(out.is_empty());
    assert_eq!(r["skipped"], 1);
    assert_eq!(r["malformed_total"], 1);
    assert!(
        r["malformed"][0]["error"]
            .as_str()
            .unwrap()
            .contains("1024")
    );
}

#[test]
fn a_line_over_every_limit() {
    let big = "y".repeat(3 << 20);
    let data = format!(
        "{{\"type\":\"error\",\"m\":\"{big}\"}}\n{{\"type\":\"x\",\"item\":{{\"type\":\"y\"}},\"m\":\"{big}\"}}\n{{\"m\":\"{big}\",\"type\":\"error\"}}\n{{\"type\":\"turn.failed\"}}\n"
    );
    let (out, r) = scan(
        data.as_bytes(),
        &[
            &CODEX[..],
            &["--probe", "1KiB", "--max-line", "1MiB", "--ceiling", "2MiB"],
        ]
        .concat(),
    );
    assert_eq!(out, b"{\"type\":\"turn.failed\"}\n");
    assert_eq!(r["dropped_total"], 1);
    assert_eq!(r["dropped"][0]["value"], "error");
    assert_eq!(r["dropped"][0]["reason"], "over_ceiling");
    assert_eq!(r["dropped"][0]["len"], (3 << 20) + 23);
    assert_eq!(r["oversize_skipped"], 1);
    assert_eq!(r["oversize_unclassified"], 1);
}

#[test]
fn empty_file_bom_only_and_blank_lines() {
    for data in [&b""[..], b"\xEF\xBB\xBF"] {
        let (out, r) = scan(data, &CODEX);
        assert!(out.is_empty());
        assert_eq!(r["lines"], 0);
        assert_eq!(r["bytes"], data.len());
    }
    let (_, r) = scan(b"\n \n\t\r\n\r", &CODEX);
    assert_eq!(
        (r["lines"].as_u64(), r["blank"].as_u64()),
        (Some(4), Some(4))
    );
}

#[test]
fn non_object_and_plain_text_lines() {
    let (out, r) = scan(
        b"[1]\n\"s\"\n7\nnull\nReading prompt from stdin...\n\x0c{}\n",
        &CODEX,
    );
    assert!(out.is_empty());
    assert_eq!(r["skipped"], 4);
    assert_eq!(r["malformed_total"], 2);
}

#[test]
fn stdin_pipe_and_redirected_file_agree() {
    let data = b"{\"type\":\"error\"}\n{\"type\":\"x\"}\n{\"item\":{\"type\":\"agent_message\"}}";
    let piped = run(
        &[&["scan", "-", "--stats", "-"][..], &CODEX].concat(),
        Some(data),
    );
    assert_eq!(piped.status.code(), Some(0));
    let dir = Dir::new();
    let f = std::fs::File::open(dir.file("in", data)).unwrap();
    let redirected = bin()
        .args([&["scan", "--stats", "-"][..], &CODEX].concat())
        .stdin(f)
        .output()
        .unwrap();
    assert_eq!(piped.stdout, redirected.stdout);
    assert_eq!(piped.stderr, redirected.stderr);
    assert_eq!(
        piped.stdout,
        b"{\"type\":\"error\"}\n{\"item\":{\"type\":\"agent_message\"}}\n"
    );
}

#[test]
fn no_mmap_gives_the_same_result() {
    let data = b"{\"type\":\"error\"}\r\n\n{\"type\":\"x\"}\n{\"type\":\"turn.failed\"";
    let a = scan(data, &CODEX);
    let b = scan(data, &[&CODEX[..], &["--no-mmap"]].concat());
    assert_eq!(a, b);
}

#[test]
fn errors_and_exit_statuses() {
    let dir = Dir::new();
    // A directory: exit 1, named.
    let d = dir.0.path().to_str().unwrap();
    let out = run(&["scan", d], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(d));
    // A missing file: exit 1, named, no report.
    let report = dir.path("r.json");
    let missing = dir.path("missing.ndjson");
    let out = run(
        &[
            "scan",
            missing.to_str().unwrap(),
            "--stats",
            report.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.ndjson"));
    assert!(!report.exists());
    // Usage and configuration errors: exit 2, no report.
    let input = dir.file("in", b"{}\n");
    let input = input.to_str().unwrap();
    let rp = report.to_str().unwrap();
    for bad in [
        &["--probe", "4TiB"][..],
        &["--probe", "1.5KiB"],
        &["--max-line", "10", "--probe", "11"],
        &["--max-line", "2MiB", "--ceiling", "1MiB"],
        &["--keep", "type"],
        &["--keep", "item..type=x"],
        &["--probe", "0"],
    ] {
        let out = run(&[&["scan", input, "--stats", rp][..], bad].concat(), None);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(!out.stderr.is_empty());
        assert!(!report.exists(), "{bad:?}");
    }
    // Decimal and binary suffixes are accepted.
    let out = run(
        &[
            "scan",
            input,
            "--probe",
            "4kb",
            "--max-line",
            "1M",
            "--ceiling",
            "1GB",
        ],
        None,
    );
    ok(&out);
}

#[test]
fn stdout_closed_early_is_not_an_error() {
    let line =
        b"{\"type\":\"error\",\"pad\":\"................................................\"}\n";
    let data: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(line.len() * 200_000)
        .collect();
    let dir = Dir::new();
    let input = dir.file("in", &data);
    let mut child = bin()
        .args(["scan", input.to_str().unwrap(), "--keep", "type=error"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    use std::io::Read;
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    ok(&out);
}

#[test]
fn run_scans_the_spooled_stdout_and_passes_the_status() {
    let dir = Dir::new();
    let report = dir.path("r.json");
    let script = r#"echo '{"type":"thread.started"}'; echo '{"type":"error","message":"x"}'; echo 'noise on stderr' >&2; exit 3"#;
    let out = run(
        &[
            &["run", "--stats", report.to_str().unwrap()][..],
            &CODEX,
            &["--", "sh", "-c", script],
        ]
        .concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stdout, b"{\"type\":\"error\",\"message\":\"x\"}\n");
    assert!(stderr(&out).contains("noise on stderr"));
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    check_identity(&r);
    assert_eq!(
        (r["lines"].as_u64(), r["retained"].as_u64()),
        (Some(2), Some(1))
    );
}

#[test]
fn run_exit_statuses() {
    let out = run(
        &[
            "run",
            "--timeout",
            "300ms",
            "--grace",
            "200ms",
            "--",
            "sleep",
            "10",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(124));
    let out = run(&["run", "--", "/no/such/program"], None);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("/no/such/program"));
    let dir = Dir::new();
    let not_exec = dir.file("script", b"#!/bin/sh\necho hi\n");
    let out = run(&["run", "--", not_exec.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(126));
    let out = run(&["run", "--", "sh", "-c", "kill -TERM $$"], None);
    assert_eq!(out.status.code(), Some(128 + 15));
    let out = run(&["run", "--timeout", "5x", "--", "true"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_size_cap_is_exit_125_and_truncated() {
    let dir = Dir::new();
    let report = dir.path("r.json");
    let out = run(
        &[
            "run",
            "--max-spool",
            "64KiB",
            "--stats",
            report.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "yes '{\"type\":\"x\"}'",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("stdout"));
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["truncated"], true);
    assert!(r["bytes"].as_u64().unwrap() <= 64 << 10);
}

/// Ctrl-C (or an orchestrator's SIGTERM) sent to `spoolscan run` reaches the command, which
/// runs in a process group of its own; spoolscan then reports what the command had written
/// and exits like the command did.
#[test]
fn run_forwards_signals_to_the_command() {
    use std::io::{BufRead, BufReader, Read};
    for (sig, want) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let mut child = bin()
            .args(["run", "--follow", "--"])
            // One process: a shell could be caught forking `sleep` by the signal, and then
            // wait for a `sleep` that never saw it.
            .args([child::child(), "out", "1", "sleep", "30000", "out", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        // With --follow the first line arrives while the command sleeps.
        out.read_line(&mut first).unwrap();
        assert_eq!(first, "{\"type\":\"line\",\"n\":0}\n");
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: kill(2) with a pid we spawned and have not reaped.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        let status = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(want), "signal {sig}: {err}");
        assert_eq!(rest, "", "the command went on after the signal");
        assert!(err.contains(&format!("signal {sig}")), "{err}");
    }
}

/// Malformed entries say what is wrong and at which byte of the line, whether the probe or the
/// validator found it, and never pass on a parser's internal error names.
#[test]
fn malformed_errors_say_what_and_where() {
    let data = b"Reading prompt from stdin...\n\
        {\"type\":\"x\",\"n\":[1,2}\n\
        {\"type\":\"error\",\"x\":<}\n\
        {\"type\":\"error\",\"x\":\"\\ud800\"}\n\
        {\"type\":\"error\",\"x\":1e400} trailing\n\
        {\"type\":\"error\",\"n\":1e400}\n";
    // (Two rules, so that line 2 is still undecided at its bad bracket.)
    let (out, r) = scan(
        data,
        &["--keep", "type=error", "--keep", "item.type=agent_message"],
    );
    // A number of any magnitude is valid JSON.
    assert_eq!(out, b"{\"type\":\"error\",\"n\":1e400}\n");
    let errors: Vec<&str> = r["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["error"].as_str().unwrap())
        .collect();
    assert_eq!(
        errors,
        [
            "invalid JSON at byte 0: expected a JSON object, found 'R'",
            "invalid JSON at byte 20: mismatched bracket, found '}'",
            "invalid JSON at byte 20: expected a value, found '<'",
            "invalid JSON at byte 21: unpaired surrogate escape, found '\\'",
            "invalid JSON at byte 27: trailing characters after the JSON value, found 't'",
        ]
    );
}
