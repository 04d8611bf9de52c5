//! Issue 11: `spoolscan run` (and the scans) against an adversarial user: huge durations,
//! misplaced options, file size limits, forged stderr text, a killed spoolscan, escaped
//! writers, disk full, and user files truncated during a scan. Each test failed on the code
//! before the fix it checks.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = env!("CARGO_BIN_EXE_spoolscan-test-child");

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spoolscan"))
}

/// Runs spoolscan with `args`, stdin from `input` (or /dev/null).
fn spoolscan(args: &[&str], input: Option<&[u8]>) -> Output {
    output(bin().args(args), input)
}

fn output(cmd: &mut Command, input: Option<&[u8]>) -> Output {
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = input {
        let mut stdin = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn no_panic(out: &Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
}

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
    let out = spoolscan(
        &["run", "--timeout", "9223372036854775807", "--", "true"],
        None,
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The grace period is added when the timeout fires; the command dies on TERM.
    let started = Instant::now();
    let out = spoolscan(
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
    let out = spoolscan(&["run", "--timeout", &nines, "--", "true"], None);
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
            let out = spoolscan(&args, None);
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
            .args(["--", CHILD, "out", "3"])
            .env("TMPDIR", "/nonexistent/tmpdir"),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
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
        a.extend_from_slice(&["--", CHILD, "bytes", "600000"]);
        a
    };
    let out = spoolscan(&args(false), None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = spoolscan(&args(true), None);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(d), "{}", stderr(&out));
}

/// Under `ulimit -f`, spoolscan's own writes fail with EFBIG: an error, not death by SIGXFSZ.
#[test]
fn file_size_limit_is_an_error_not_a_signal() {
    let exe = env!("CARGO_BIN_EXE_spoolscan");
    // `scan` of a pipe spools it first: 200 KB against a limit of 100 blocks (50 KiB).
    let data: Vec<u8> = b"{\"type\":\"x\"}\n".repeat(16_000);
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
    let out = spoolscan(&["run", "--", "sh", "-c", script], None);
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
    let out = spoolscan(
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
            wait_dead(pid, Duration::from_millis(500)),
            "the command {pid} outlived spoolscan (follow: {follow})"
        );
    }
}
