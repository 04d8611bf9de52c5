//! Spooled subprocess runs (DESIGN §7, §11), driven through the
//! `spoolscan-test-child` helper (tests/support/child.rs): where the spools live (the spool
//! directory, `SPOOLSCAN_DIR`, tmpfs), what they hold, exit codes, stdin, and programs that
//! cannot be run. Faults are in tests/spool_faults.rs, timeouts and signals in
//! tests/spool_process.rs.

#[path = "common/spool.rs"]
mod spool_util;
use spool_util::{child, stderr_text, tempdir};

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use spoolscan::{RunStdin, Runner, SPOOL_DIR_ENV, SpoolError, Stream};

fn dir_entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

fn env_warnings(warnings: &[String]) -> Vec<&String> {
    warnings
        .iter()
        .filter(|w| w.contains(SPOOL_DIR_ENV))
        .collect()
}

#[test]
fn explicit_dir_holds_unnamed_spools() {
    let dir = tempdir();
    let run = Runner::new(child(&["out", "3", "err", "hello"]))
        .spool_dir(dir.path())
        .run()
        .unwrap();
    assert_eq!(run.dir, dir.path());
    assert_eq!(run.stdout.dir(), dir.path());
    assert_eq!(run.stderr.dir(), dir.path());
    assert_eq!(run.stdout.stream(), Stream::Stdout);
    assert!(run.fault.is_none(), "{:?}", run.fault);
    assert_eq!(run.exit_code(), 0);
    let expected =
        b"{\"type\":\"line\",\"n\":0}\n{\"type\":\"line\",\"n\":1}\n{\"type\":\"line\",\"n\":2}\n";
    assert_eq!(run.stdout.len(), expected.len() as u64);
    assert_eq!(run.stdout.head(4096).unwrap(), expected);
    assert_eq!(run.stderr.head(4096).unwrap(), b"hello\n");
    // The spools are on the chosen file system but have no name there.
    assert_eq!(dir_entries(dir.path()), 0);
    let spool_dev = run.stdout.file().metadata().unwrap().dev();
    assert_eq!(spool_dev, std::fs::metadata(dir.path()).unwrap().dev());
    assert_eq!(run.stdout.file().metadata().unwrap().nlink(), 0);
}

#[test]
fn file_offset_starts_at_zero_and_into_file_reads_all() {
    let run = Runner::new(child(&["out", "1000"])).run().unwrap();
    let len = run.stdout.len();
    let head = run.stdout.head(30).unwrap();
    let tail = run.stdout.tail(30).unwrap();
    assert_eq!(head.len(), 30);
    assert_eq!(tail.len(), 30);
    assert!(
        tail.ends_with(b"\"n\":999}\n"),
        "{}",
        String::from_utf8_lossy(&tail)
    );
    run.stdout.drop_cache().unwrap();
    let mut all = Vec::new();
    run.stdout.into_file().read_to_end(&mut all).unwrap();
    assert_eq!(all.len() as u64, len);
    assert!(all.starts_with(&head));
    assert!(all.ends_with(&tail));
    assert_eq!(all.iter().filter(|&&b| b == b'\n').count(), 1000);
}

#[test]
fn zero_output_child() {
    let run = Runner::new(child(&["exit", "0"])).run().unwrap();
    assert!(run.stdout.is_empty() && run.stderr.is_empty());
    assert_eq!(run.stdout.len(), 0);
    assert_eq!(run.stdout.file().metadata().unwrap().len(), 0);
    assert!(run.stdout.head(100).unwrap().is_empty());
    assert!(run.stderr.tail(100).unwrap().is_empty());
    assert!(run.status.success());
    assert!(!run.timed_out);
    assert!(run.fault.is_none());
    run.check().unwrap();
    assert_eq!(run.exit_code(), 0);
}

#[test]
fn exit_code_and_stderr_tail_pass_through() {
    let run = Runner::new(child(&["err", "boom", "exit", "7"]))
        .run()
        .unwrap();
    assert_eq!(run.status.code(), Some(7));
    assert_eq!(run.exit_code(), 7);
    assert_eq!(run.stderr.tail(64 * 1024).unwrap(), b"boom\n");
    assert_eq!(run.stderr.tail(3).unwrap(), b"om\n");
    assert!(run.fault.is_none());
}

/// Warnings captured from the `log` facade (in the re-executed test process
/// of `env_var_end_to_end` only).
static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record<'_>) {
        if r.level() == log::Level::Warn {
            LOGGED.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

const INNER: &str = "SPOOLSCAN_TEST_INNER";

/// Runs through the real environment lookup: the test re-executes itself with
/// `SPOOLSCAN_DIR` set (setting variables in this multithreaded process
/// would be unsound), and the inner run checks `Run::warnings` and the log.
#[test]
fn env_var_end_to_end() {
    if let Some(expect) = std::env::var_os(INNER) {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Warn);
        let run = Runner::new(child(&["out", "1"])).run().unwrap();
        let env_dir = PathBuf::from(std::env::var_os(SPOOL_DIR_ENV).unwrap());
        let logged = LOGGED.lock().unwrap().clone();
        if expect == "fallback" {
            assert_eq!(run.dir, std::env::temp_dir());
            assert_eq!(env_warnings(&run.warnings).len(), 1, "{:?}", run.warnings);
            assert_eq!(env_warnings(&logged).len(), 1, "{logged:?}");
        } else {
            assert_eq!(run.dir, env_dir);
            assert_eq!(run.stdout.dir(), env_dir);
            assert!(env_warnings(&run.warnings).is_empty(), "{:?}", run.warnings);
            assert!(env_warnings(&logged).is_empty(), "{logged:?}");
        }
        assert_eq!(run.warnings, logged);
        assert_eq!(run.stdout.len(), 22);
        return;
    }
    let dir = tempdir();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    for (value, expect) in [(dir.path(), "valid"), (&*file, "fallback")] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "env_var_end_to_end",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SPOOL_DIR_ENV, value)
            .env(INNER, expect)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{expect}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }
}

/// Whether /proc/mounts says `dir` is a tmpfs mount point.
fn is_tmpfs_mount(dir: &str) -> bool {
    std::fs::read_to_string("/proc/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            let mut f = l.split_whitespace();
            f.nth(1) == Some(dir) && f.next() == Some("tmpfs")
        })
    })
}

#[test]
fn tmpfs_spool_dir_warns_about_ram() {
    // The rules themselves are unit tests of src/spool/dir.rs; this is the warning of a run.
    let shm = Path::new("/dev/shm");
    if !is_tmpfs_mount("/dev/shm") {
        eprintln!("skipping: /dev/shm is not a tmpfs here");
        return;
    }
    let run = Runner::new(child(&["out", "1"]))
        .spool_dir(shm)
        .run()
        .unwrap();
    let ram: Vec<_> = run.warnings.iter().filter(|w| w.contains("RAM")).collect();
    assert_eq!(ram.len(), 1, "{:?}", run.warnings);
    assert!(
        ram[0].contains("/dev/shm") && ram[0].contains("tmpfs"),
        "{}",
        ram[0]
    );
    // A disk-backed directory does not warn.
    let dir = tempdir();
    let run = Runner::new(child(&["out", "1"]))
        .spool_dir(dir.path())
        .run()
        .unwrap();
    if !is_tmpfs_mount(&dir.path().to_string_lossy()) && !is_tmpfs_mount("/tmp") {
        assert!(
            !run.warnings.iter().any(|w| w.contains("RAM")),
            "{:?}",
            run.warnings
        );
    }
}

#[test]
fn program_not_found() {
    let dir = tempdir();
    for program in [
        "/nonexistent/spoolscan-no-such-program",
        "spoolscan-no-such-program-xyz",
    ] {
        let err = Runner::new(Command::new(program))
            .spool_dir(dir.path())
            .run()
            .unwrap_err();
        assert!(matches!(err, SpoolError::NotFound { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 127);
        assert!(err.to_string().contains(program), "{err}");
    }
    assert_eq!(dir_entries(dir.path()), 0, "spools left behind");
}

#[test]
fn program_not_executable() {
    let dir = tempdir();
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, b"echo hi\n").unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    let script = dir.path().join("bad-interpreter");
    std::fs::write(&script, b"#!/nonexistent/interpreter\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let subdir = dir.path().join("a-directory");
    std::fs::create_dir(&subdir).unwrap();
    let spools = tempdir();
    for program in [&plain, &script, &subdir] {
        let err = Runner::new(Command::new(program))
            .spool_dir(spools.path())
            .run()
            .unwrap_err();
        assert!(
            matches!(err, SpoolError::NotExecutable { .. }),
            "{program:?}: {err:?}"
        );
        assert_eq!(err.exit_code(), 126);
        assert!(
            err.to_string().contains(&*program.to_string_lossy()),
            "{err}"
        );
    }
    // Through PATH, by bare name.
    let mut cmd = Command::new("bad-interpreter");
    cmd.env("PATH", dir.path());
    let err = Runner::new(cmd).run().unwrap_err();
    assert_eq!(err.exit_code(), 126, "{err:?}");
    assert_eq!(dir_entries(spools.path()), 0, "spools left behind");
}

#[test]
fn unusable_explicit_spool_dir_is_an_error_naming_it() {
    let err = Runner::new(child(&["out", "1"]))
        .spool_dir("/nonexistent/spool-dir")
        .run()
        .unwrap_err();
    assert!(matches!(err, SpoolError::SpoolDir { .. }), "{err:?}");
    assert_eq!(err.exit_code(), 125);
    assert!(err.to_string().contains("/nonexistent/spool-dir"), "{err}");
}

#[test]
fn stdin_bytes_round_trip() {
    let mut bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    bytes.extend_from_slice(b"\0\n{\"type\":\"x\"}\n");
    let dir = tempdir();
    let run = Runner::new(child(&["cat"]))
        .spool_dir(dir.path())
        .stdin(RunStdin::Bytes(bytes.clone()))
        .run()
        .unwrap();
    assert_eq!(run.exit_code(), 0, "{}", stderr_text(&run));
    assert_eq!(run.stdout.len(), bytes.len() as u64);
    assert_eq!(run.stdout.head(bytes.len() + 10).unwrap(), bytes);
    assert_eq!(dir_entries(dir.path()), 0);
    // From a file, and from nothing.
    let input = dir.path().join("input");
    std::fs::write(&input, b"from a file\n").unwrap();
    let run = Runner::new(child(&["cat"]))
        .stdin(RunStdin::File(input))
        .run()
        .unwrap();
    assert_eq!(run.stdout.head(100).unwrap(), b"from a file\n");
    let run = Runner::new(child(&["cat"])).run().unwrap();
    assert!(run.stdout.is_empty());
    let err = Runner::new(child(&["cat"]))
        .stdin(RunStdin::File("/nonexistent/input".into()))
        .run()
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/input"), "{err}");
}
