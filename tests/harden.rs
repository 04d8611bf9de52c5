//! Issue 11: `spoolscan run` (and the scans) against an adversarial user, item 8: the command
//! line and the limits a run meets: huge durations, misplaced options, `--no-mmap` copies,
//! file size limits, forged stderr text. A killed spoolscan, escaped writers and disk full are
//! tested in tests/harden_children.rs, user files truncated during a scan in
//! tests/harden_truncated.rs. Each test failed on the code before the fix it checks.

use std::process::Command;
use std::time::{Duration, Instant};

mod common;

#[path = "common/harden.rs"]
mod harden_util;
use harden_util::Mount;

use common::{BIN, bin, child, no_panic, ok, output, run, stderr};

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
