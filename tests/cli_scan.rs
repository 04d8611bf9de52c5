//! `spoolscan scan` as a filter and over several files (issue 12): streaming stdin, several
//! FILEs with per-file reports, `--max-count`, `--threads`, `--follow`, completions and the
//! man page. Expected lines come from serde_json over the same bytes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{BIN, bin, ok, run, stderr, write};

/// The oracle: the lines of `data` whose `type` is one of `types` (serde_json), LF-terminated.
fn expected(data: &[u8], types: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        if v.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| types.iter().any(|k| k.eq_ignore_ascii_case(t)))
        {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    out
}

const A: &[u8] =
    b"{\"type\":\"keep\",\"n\":1}\n{\"type\":\"skip\"}\n\n{\"type\":\"keep\",\"n\":2}\n";
const B: &[u8] = b"{\"type\":\"skip\"}\nplain text\n{\"type\":\"KEEP\",\"n\":3}";

#[test]
fn several_files_concatenate_with_one_report_each() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "a.ndjson", A);
    let b = write(&dir, "b.ndjson", B);
    let stats = dir.path().join("stats.jsonl");
    let (a_s, b_s, st) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        stats.to_str().unwrap(),
    );
    let out = run(
        &["scan", a_s, b_s, "--keep", "type=keep", "--stats", st],
        None,
    );
    ok(&out);
    let mut want = expected(A, &["keep"]);
    want.extend(expected(B, &["keep"]));
    assert_eq!(out.stdout, want);
    let text = std::fs::read_to_string(&stats).unwrap();
    let reports: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 2, "{text}");
    // Each is the report of that file scanned alone, plus its path (first).
    for (r, (path, data)) in reports.iter().zip([(a_s, A), (b_s, B)]) {
        assert!(text.contains(&format!(
            "{{\"path\":{}",
            serde_json::to_string(path).unwrap()
        )));
        assert_eq!(r["path"], path);
        let alone_stats = dir.path().join("alone.json");
        let alone = run(
            &[
                "scan",
                path,
                "--keep",
                "type=keep",
                "--stats",
                alone_stats.to_str().unwrap(),
            ],
            None,
        );
        ok(&alone);
        let mut alone: Value =
            serde_json::from_slice(&std::fs::read(&alone_stats).unwrap()).unwrap();
        alone["path"] = Value::String(path.into());
        assert_eq!(r, &alone);
        assert_eq!(r["bytes"], data.len() as u64);
    }
    // Lines are numbered per file: B's malformed line is its line 2.
    assert_eq!(reports[1]["malformed"][0]["line"], 2);
    assert_eq!(reports[1]["malformed"][0]["offset"], 16);
}

#[test]
fn a_missing_file_among_several_is_an_io_error_without_reports() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "a.ndjson", A);
    let stats = dir.path().join("stats.jsonl");
    let out = run(
        &[
            "scan",
            a.to_str().unwrap(),
            dir.path().join("missing.ndjson").to_str().unwrap(),
            "--stats",
            stats.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.ndjson"));
    assert!(!stats.exists());
}

#[test]
fn max_count_stops_after_n_retained_lines() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "a.ndjson", A);
    let b = write(&dir, "b.ndjson", B);
    let stats = dir.path().join("s.jsonl");
    for (n, from_stdin) in [(1, false), (2, false), (3, false), (1, true), (9, true)] {
        let n_s = n.to_string();
        let mut args = vec!["scan", "--keep", "type=keep", "--max-count", &n_s];
        args.extend(["--stats", stats.to_str().unwrap()]);
        let out = if from_stdin {
            run(&args, Some(A))
        } else {
            args.extend([a.to_str().unwrap(), b.to_str().unwrap()]);
            run(&args, None)
        };
        ok(&out);
        let mut all = expected(A, &["keep"]);
        if !from_stdin {
            all.extend(expected(B, &["keep"]));
        }
        let want: Vec<u8> = all
            .split_inclusive(|&b| b == b'\n')
            .take(n)
            .flatten()
            .copied()
            .collect();
        assert_eq!(out.stdout, want, "n={n} stdin={from_stdin}");
        let text = std::fs::read_to_string(&stats).unwrap();
        let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        // The report covers the lines read: the last one is the N-th retained line.
        if n == 1 {
            assert_eq!((&last["retained"], &last["lines"]), (&1.into(), &1.into()));
        }
        if n == 2 && !from_stdin {
            assert_eq!(text.lines().count(), 1, "b.ndjson was not reached: {text}");
            assert_eq!((&last["retained"], &last["lines"]), (&2.into(), &4.into()));
        }
    }
    let out = run(&["scan", "--max-count", "0"], Some(A));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn threads_is_accepted_and_zero_is_a_usage_error() {
    let out = run(&["scan", "--keep", "type=keep", "--threads", "4"], Some(A));
    ok(&out);
    assert_eq!(out.stdout, expected(A, &["keep"]));
    let out = run(&["scan", "--threads", "0"], Some(A));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

/// A pipe is scanned as it arrives: the first retained line comes out while the writer is
/// still sleeping, and the output and report equal those of the same bytes from a file.
#[test]
fn stdin_pipe_is_a_filter() {
    let mut child = bin()
        .args(["scan", "--keep", "type=keep", "--stats", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Let the process start before timing.
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    stdin
        .write_all(b"{\"type\":\"skip\"}\n{\"type\":\"keep\",\"n\":1}\n")
        .unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let latency = t.elapsed();
    assert_eq!(line, "{\"type\":\"keep\",\"n\":1}\n");
    assert!(latency < Duration::from_millis(200), "{latency:?}");
    std::thread::sleep(Duration::from_secs(1));
    stdin.write_all(b"{\"type\":\"keep\",\"n\":2}\n").unwrap();
    drop(stdin);
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "{\"type\":\"keep\",\"n\":2}\n");
    let out = child.wait_with_output().unwrap();
    ok(&out);
    let report: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(
        (&report["lines"], &report["retained"]),
        (&3.into(), &2.into())
    );
}

/// Through a pipe, long lines (over max_line and over the ceiling) give the output and the
/// report of a file scan.
#[test]
fn stdin_pipe_report_equals_file_report() {
    let mut data = Vec::new();
    let big = "z".repeat(3 << 20);
    for (i, ty) in ["keep", "skip", "keep", "other"].iter().enumerate() {
        data.extend_from_slice(
            format!("{{\"type\":\"{ty}\",\"i\":{i},\"out\":\"{big}\"}}\n").as_bytes(),
        );
        data.extend_from_slice(format!("{{\"out\":\"{big}\",\"type\":\"{ty}\"}}\r\n").as_bytes());
        data.extend_from_slice(A);
    }
    data.extend_from_slice(b"{\"type\":\"keep\",\"cut");
    let dir = tempfile::tempdir().unwrap();
    let f = write(&dir, "in.ndjson", &data);
    let args = [
        "--keep",
        "type=keep",
        "--probe",
        "1KiB",
        "--max-line",
        "1MiB",
        "--ceiling",
        "2MiB",
        "--stats",
        "-",
    ];
    let mut file_args = vec!["scan", f.to_str().unwrap()];
    file_args.extend(args);
    let from_file = run(&file_args, None);
    ok(&from_file);
    let mut pipe_args = vec!["scan"];
    pipe_args.extend(args);
    let from_pipe = run(&pipe_args, Some(&data));
    ok(&from_pipe);
    assert_eq!(from_pipe.stdout, from_file.stdout);
    assert_eq!(from_pipe.stderr, from_file.stderr);
    let report: Value = serde_json::from_slice(&from_pipe.stderr).unwrap();
    assert_eq!(report["truncated"], true);
    assert_eq!(report["dropped_total"], 2, "{report}");
    assert_eq!(report["oversize_unclassified"], 4, "{report}");
}

#[test]
fn follow_prints_lines_as_written_and_reports_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "grow.ndjson", b"");
    let stats = dir.path().join("stats.json");
    let mut child = bin()
        .args(["scan", "--follow", "--keep", "type=keep", "--stats"])
        .arg(&stats)
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    file.write_all(A).unwrap();
    let t = Instant::now();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(line.as_bytes(), &expected(A, &["keep"])[..22]);
    file.write_all(b"{\"type\":\"keep\",\"half").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let mut all = line.into_bytes();
    std::io::Read::read_to_end(&mut stdout, &mut all).unwrap();
    let out = child.wait_with_output().unwrap();
    ok(&out);
    assert_eq!(all, expected(A, &["keep"]));
    // The report is that of a scan of the file as it was at the end.
    let report: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let full = run(
        &[
            "scan",
            path.to_str().unwrap(),
            "--keep",
            "type=keep",
            "--stats",
            "-",
        ],
        None,
    );
    let want: Value = serde_json::from_slice(&full.stderr).unwrap();
    assert_eq!(report, want);
    assert_eq!(report["truncated"], true);
}

#[test]
fn follow_needs_exactly_one_file() {
    for args in [
        &["scan", "--follow"][..],
        &["scan", "--follow", "-"],
        &["scan", "--follow", "a", "b"],
    ] {
        let out = run(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = run(&["scan", "--follow", "/nonexistent/x.ndjson"], None);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell], None);
        ok(&out);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("spoolscan"), "{shell}");
        assert!(
            text.contains("max-count"),
            "{shell}: scan's flags are completed"
        );
    }
    assert_eq!(run(&["completions", "nosh"], None).status.code(), Some(2));
    let out = run(&["man"], None);
    ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(".ie") || text.contains(".TH spoolscan 1"),
        "{text}"
    );
    assert!(text.contains("summarize"));
}

/// Runs `spoolscan scan ARGS` with stdin a regular file open at `offset`.
fn run_stdin_file_at(args: &[&str], path: &std::path::Path, offset: u64) -> Output {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    bin().args(args).stdin(Stdio::from(f)).output().unwrap()
}

/// Stdin redirected from a regular file is read from its current offset (where the shell or
/// an earlier command left it), mapped or not (issue 11, item 8): output and report equal
/// those of a scan of the bytes from that offset on, by path; line 1 is the line there.
#[test]
fn redirected_stdin_starts_at_its_current_offset() {
    let mut data = Vec::new();
    let big = "y".repeat(300 << 10);
    for i in 0..6 {
        data.extend_from_slice(A);
        data.extend_from_slice(
            format!("{{\"type\":\"keep\",\"i\":{i},\"out\":\"{big}\"}}\n").as_bytes(),
        );
    }
    data.extend_from_slice(B);
    let dir = tempfile::tempdir().unwrap();
    let whole = write(&dir, "whole.ndjson", &data);
    let second_line = A.iter().position(|&b| b == b'\n').unwrap() as u64 + 1;
    let offsets = [
        0,
        second_line,
        10,
        (data.len() / 2) as u64,
        data.len() as u64,
    ];
    for offset in offsets {
        let rest = write(&dir, "rest.ndjson", &data[offset as usize..]);
        for extra in [
            &[][..],
            &["--no-mmap"][..],
            &["--probe", "1KiB", "--max-line", "64KiB"],
        ] {
            let mut args = vec!["scan", "--keep", "type=keep", "--stats", "-"];
            args.extend(extra);
            let from_stdin = run_stdin_file_at(&args, &whole, offset);
            ok(&from_stdin);
            let mut by_path = args.clone();
            by_path.push(rest.to_str().unwrap());
            let from_path = run(&by_path, None);
            ok(&from_path);
            let what = format!("offset {offset}, {extra:?}");
            let want_lines = expected(&data[offset as usize..], &["keep"]);
            assert!(
                from_stdin.stdout == want_lines,
                "{what}: {} bytes out, {} expected",
                from_stdin.stdout.len(),
                want_lines.len()
            );
            let report: Value = serde_json::from_slice(&from_stdin.stderr).unwrap();
            let want: Value = serde_json::from_slice(&from_path.stderr).unwrap();
            assert_eq!(report, want, "{what}");
            assert_eq!(report["bytes"], data.len() as u64 - offset, "{what}");
        }
    }

    // The shell's own `read` leaves the offset after the first line.
    for extra in ["", "--no-mmap"] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "(read -r first; exec \"$0\" scan --keep type=keep --stats - {extra}) < \"$1\""
            ))
            .arg(BIN)
            .arg(&whole)
            .output()
            .unwrap();
        ok(&out);
        let from = second_line as usize;
        let want_lines = expected(&data[from..], &["keep"]);
        assert!(
            out.stdout == want_lines,
            "{extra}: {} bytes out, {} expected",
            out.stdout.len(),
            want_lines.len()
        );
        let report: Value = serde_json::from_slice(&out.stderr).unwrap();
        assert_eq!(report["bytes"], (data.len() - from) as u64, "{extra}");
    }
}
