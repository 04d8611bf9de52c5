//! Issue 11: `spoolscan run` (and the scans) against an adversarial user: huge durations,
//! misplaced options, file size limits, forged stderr text, a killed spoolscan, escaped
//! writers, disk full, and user files truncated during a scan. Each test failed on the code
//! before the fix it checks.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{BIN, bin, child, no_panic, ok, output, run, stderr};

/// A tmpfs mounted for one test, unmounted on drop.
struct Mount(tempfile::TempDir);

impl Mount {
    fn tmpfs(size: &str) -> Option<Mount> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Mount(dir)),
            Ok(o) => {
                eprintln!(
                    "skipping: cannot mount a small tmpfs: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipping: cannot run mount: {e}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

// ---------------------------------------------------------------------------------------------
// Item 8: the small ones.

#[test]
fn huge_timeout_and_grace_saturate_instead_of_panicking() {
    let out = run(
        &["run", "--timeout", "9223372036854775807", "--", "true"],
        None,
    );
    no_panic(&out);
    ok(&out);
    // The grace period is added when the timeout fires; the command dies on TERM.
    let started = Instant::now();
    let out = run(
        &[
            "run",
            "--timeout",
            "200ms",
            "--grace",
            "9223372036854775807",
            "--",
            "sleep",
            "30",
        ],
        None,
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
    // Values a duration cannot hold at all are usage errors.
    let nines = "9".repeat(400);
    let out = run(&["run", "--timeout", &nines, "--", "true"], None);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn run_profile_rejects_selection_options_before_running_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("ran");
    let script = format!("touch {}", mark.display());
    for extra in [
        &["--keep", "type=a"][..],
        &["--keep", "a..b=x"],
        &["--keep-contains", "type=a"],
        &["--case-sensitive"],
        &["--validate-all"],
    ] {
        for follow in [false, true] {
            let mut args = vec!["run", "--profile", "codex"];
            if follow {
                args.push("--follow");
            }
            args.extend_from_slice(extra);
            args.extend_from_slice(&["--", "sh", "-c", &script]);
            let out = run(&args, None);
            no_panic(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).contains(extra[0]), "{}", stderr(&out));
            assert!(out.stdout.is_empty());
            assert!(!mark.exists(), "{args:?}: the command ran");
        }
    }
}

/// `--no-mmap` copies the spool before scanning it; the copy goes to the spool directory, not
/// to `$TMPDIR` (here a directory that does not exist).
#[test]
fn run_no_mmap_copies_into_the_spool_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = output(
        bin()
            .args(["run", "--no-mmap", "--spool-dir"])
            .arg(dir.path())
            .args(["--", child::child(), "out", "3"])
            .env("TMPDIR", "/nonexistent/tmpdir"),
        None,
    );
    ok(&out);
    assert_eq!(
        out.stdout,
        b"{\"type\":\"line\",\"n\":0}\n{\"type\":\"line\",\"n\":1}\n{\"type\":\"line\",\"n\":2}\n"
    );
}

/// `run --profile --no-mmap` copies the spool too: in a spool directory with room for the
/// spool but not for a copy of it, the copy fails and says where.
#[test]
fn run_profile_honours_no_mmap() {
    let Some(mount) = Mount::tmpfs("1m") else {
        return;
    };
    let d = mount.path().to_str().unwrap();
    let args = |no_mmap: bool| {
        let mut a = vec!["run", "--profile", "codex", "--spool-dir", d];
        if no_mmap {
            a.push("--no-mmap");
        }
        a.extend_from_slice(&["--", child::child(), "bytes", "600000"]);
        a
    };
    let out = run(&args(false), None);
    ok(&out);
    let out = run(&args(true), None);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(d), "{}", stderr(&out));
}

/// Under `ulimit -f`, spoolscan's own writes fail with EFBIG: an error, not death by SIGXFSZ.
#[test]
fn file_size_limit_is_an_error_not_a_signal() {
    let exe = BIN;
    // `scan` of a pipe spools a line over 1 MiB that it must validate (with no rules, every
    // line): 2 MiB against a limit of 100 blocks (50 KiB).
    let mut data = b"[\"".to_vec();
    data.extend(std::iter::repeat_n(b'x', 2 << 20));
    data.extend_from_slice(b"\"]\n");
    let out = output(
        Command::new("sh").args(["-c", "ulimit -f 100 && exec \"$0\" scan", exe]),
        Some(&data),
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("too large"),
        "no EFBIG message: {}",
        stderr(&out)
    );
}

#[test]
fn passed_on_stderr_is_escaped() {
    let script = r#"printf 'line one\n\033[31mred\rspoolscan: forged\n' >&2; exit 1"#;
    let out = run(&["run", "--", "sh", "-c", script], None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
    assert!(err.contains("line one\n"), "{err:?}");
    assert!(
        err.contains("\\u{1b}[31mred\\rspoolscan: forged"),
        "{err:?}"
    );
    // The error text a profile extracts is one line.
    let event = r#"{"type":"error","message":"bad\n\u001b[2Jspoolscan: forged"}"#;
    let script = format!("printf '%s\\n' '{event}'; exit 1");
    let out = run(
        &["run", "--profile", "codex", "--", "sh", "-c", &script],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(
        !err.lines().any(|l| l.starts_with("spoolscan: forged")),
        "{err:?}"
    );
    assert!(err.contains("bad\\n\\u{1b}[2Jspoolscan: forged"), "{err:?}");
}

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

// ---------------------------------------------------------------------------------------------
// No SIGBUS on user files: a mapped file truncated by another process during a scan.

/// A file of `n` lines `{"type":"line","n":N}` padded to 1 KiB each.
fn padded_lines(n: usize) -> Vec<u8> {
    padded_lines_of(n, 1024)
}

/// `n` lines `{"type":"line","n":I,"pad":"ppp…"}` of `size` bytes each (LF included).
fn padded_lines_of(n: usize, size: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(n * size);
    for i in 0..n {
        let head = format!("{{\"type\":\"line\",\"n\":{i},\"pad\":\"");
        data.extend_from_slice(head.as_bytes());
        data.extend(std::iter::repeat_n(b'p', size - head.len() - 3));
        data.extend_from_slice(b"\"}\n");
    }
    data
}

/// Runs `spoolscan ARGS PATH` and cuts the file to `cut_to` bytes part-way through: once 4 KiB
/// of output arrived (`scan`, which then blocks on the full pipe), else after 20 ms.
fn run_and_cut(args: &[&str], path: &Path, cut_to: u64) -> std::process::Output {
    use std::io::Read;
    let mut child = bin()
        .args(args)
        .arg(path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    if args[0] == "scan" {
        let mut first = [0u8; 4096];
        stdout.read_exact(&mut first).unwrap();
    } else {
        std::thread::sleep(Duration::from_millis(20));
    }
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_len(cut_to).unwrap();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    child.wait_with_output().unwrap()
}

/// `message` names `path` and says it shrank from `from` to `to` bytes.
fn says_shrank(message: &str, path: &Path, from: usize, to: usize) -> bool {
    message.contains(&*path.to_string_lossy())
        && message.contains(&format!("shrank from {from} to {to} bytes during the scan"))
}

/// The library: with the guard installed, a sink that truncates the file it is fed from makes
/// the scan fail with an I/O error naming the file and both sizes.
#[test]
fn guarded_scan_of_a_file_truncated_mid_scan_is_an_error() {
    spoolscan::guard_sigbus().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinks.ndjson");
    let data = padded_lines(16 * 1024); // 16 MiB
    std::fs::write(&path, &data).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let mut seen = 0u64;
    let mut scanner = spoolscan::Scanner::builder().build().unwrap();
    let r = scanner.scan_path(
        &path,
        spoolscan::sinks::Raw::new(|line| {
            seen += 1;
            if line.number() == 10 {
                // Another writer cuts the file to 64 KiB while the scan is at line 10.
                file.set_len(64 << 10).unwrap();
            }
            Ok(true)
        }),
    );
    let e = r.unwrap_err();
    let msg = e.to_string();
    assert!(says_shrank(&msg, &path, data.len(), 64 << 10), "{msg}");
    // Lines after the cut were not pushed as retained (64 whole lines were still there).
    assert!(seen <= 64, "{seen} lines pushed");
}

/// The CLI: `scan` and `summarize` of a file another process truncates are I/O errors (exit
/// status 1) naming the file, never a death by SIGBUS (exit 135). The scan is held part-way
/// through by a full stdout pipe while the test truncates the file.
#[test]
fn cli_scan_of_a_file_truncated_mid_scan_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinks.ndjson");
    let data = padded_lines(64 * 1024); // 64 MiB
    for cmd in ["scan", "summarize"] {
        std::fs::write(&path, &data).unwrap();
        // The scan blocks once the pipe is full; summarize prints nothing until the end.
        let out = run_and_cut(&[cmd], &path, 1 << 20);
        let err = stderr(&out);
        if cmd == "summarize" && out.status.code() == Some(0) {
            // The scan finished before the cut (a fast machine): nothing to check.
            eprintln!("summarize finished before the truncation");
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "{cmd}: {err}");
        assert!(
            says_shrank(&err, &path, data.len(), 1 << 20),
            "{cmd}: {err}"
        );
    }
}

/// A retained line larger than the output buffer goes to write(2) straight from the mapping:
/// when the file was cut under it, the kernel says EFAULT instead of raising SIGBUS. The CLI
/// still reports the file that shrank, not "Bad address".
#[test]
fn cli_scan_of_a_file_truncated_under_a_large_retained_line_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinks-large.ndjson");
    let data = padded_lines_of(128, 512 << 10); // 64 MiB of 512 KiB lines
    std::fs::write(&path, &data).unwrap();
    let out = run_and_cut(&["scan", "--threads", "1"], &path, 1 << 20);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(says_shrank(&err, &path, data.len(), 1 << 20), "{err}");
}

/// The library: a sink that fails because the line it writes was cut from the mapped file
/// (write(2) says EFAULT: the kernel reads the mapping, no SIGBUS) and reads the line, as the
/// CLI does, gets the scan's "shrank" error instead of its own, at one thread or several.
#[test]
fn guarded_scan_reports_the_shrink_behind_a_sinks_write_error() {
    use std::io::Write;
    spoolscan::guard_sigbus().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinks-write.ndjson");
    let data = padded_lines(16 * 1024); // 16 MiB
    for threads in [1, 2] {
        std::fs::write(&path, &data).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let mut out = tempfile::tempfile().unwrap();
        let mut scanner = spoolscan::Scanner::builder()
            .threads(threads)
            .chunk_size(1 << 20)
            .build()
            .unwrap();
        let r = scanner.scan_path(
            &path,
            spoolscan::sinks::Raw::new(|line| {
                if line.offset() >= 12 << 20 {
                    // Another writer cuts the file to 64 KiB; the line is gone from the mapping.
                    file.set_len(64 << 10).unwrap();
                    let e = out.write_all(line.bytes()).unwrap_err();
                    assert_eq!(e.raw_os_error(), Some(14), "{e}"); // EFAULT
                    let touched = line.bytes().iter().step_by(4096).fold(0u8, |a, &b| a ^ b);
                    std::hint::black_box(touched);
                    return Err(e.into());
                }
                Ok(true)
            }),
        );
        let msg = r.unwrap_err().to_string();
        assert!(
            says_shrank(&msg, &path, data.len(), 64 << 10),
            "{threads} threads: {msg}"
        );
    }
}
