//! Spooled subprocess runs (DESIGN §7, §11), driven through the
//! `spoolscan-test-child` helper (tests/support/child.rs).

#[path = "common/child.rs"]
mod child;

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spoolscan::{RunStdin, Runner, SPOOL_DIR_ENV, SpoolError, SpoolFault, Stream};

fn child(args: &[&str]) -> Command {
    let mut cmd = Command::new(child::child());
    cmd.args(args);
    cmd
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn stderr_text(run: &spoolscan::Run) -> String {
    String::from_utf8_lossy(&run.stderr.head(1 << 20).unwrap()).into_owned()
}

/// The pid printed by the `hold` grandchild (`grandchild-pid=N`).
fn grandchild_pid(run: &spoolscan::Run) -> i32 {
    let text = stderr_text(run);
    text.lines()
        .find_map(|l| l.strip_prefix("grandchild-pid="))
        .unwrap_or_else(|| panic!("no grandchild pid in stderr: {text:?}"))
        .parse()
        .unwrap()
}

/// Gone, or a zombie (orphaned zombies may linger where pid 1 does not reap;
/// they hold no files). `kill(pid, 0)` succeeds on zombies, so read /proc.
fn process_dead(pid: i32) -> bool {
    proc_stat(pid).is_none_or(|(live, _)| !live)
}

/// From /proc/PID/stat: whether the process is live (not a zombie) and its process group.
/// `None` when there is no such process.
fn proc_stat(pid: i32) -> Option<(bool, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = stat[stat.rfind(')')? + 1..].split_whitespace();
    let live = !matches!(rest.next()?, "Z" | "X");
    let pgrp = rest.nth(1)?.parse().ok()?;
    Some((live, pgrp))
}

fn wait_dead(pid: i32) -> bool {
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if process_dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

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
fn size_cap_stops_a_flooding_child() {
    let dir = tempdir();
    let cap = 1 << 20;
    let started = Instant::now();
    let run = Runner::new(child(&["flood"]))
        .spool_dir(dir.path())
        .max_spool(cap)
        .timeout(Duration::from_secs(20))
        .run()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        run.fault,
        Some(SpoolFault::CapExceeded {
            stream: Stream::Stdout,
            cap,
            dir: dir.path().to_path_buf()
        })
    );
    assert!(!run.timed_out);
    assert!(run.is_truncated());
    assert_eq!(run.signal(), Some(9), "{:?}", run.status);
    assert_eq!(run.exit_code(), 125);
    assert_eq!(run.stdout.len(), cap);
    assert_eq!(run.stdout.file().metadata().unwrap().len(), cap);
    assert!(run.stdout.tail(10).unwrap().iter().all(|&b| b == b'y'));
    let err = run.check().unwrap_err();
    assert_eq!(err.exit_code(), 125);
    assert_eq!(
        err.to_string(),
        format!(
            "stdout spool exceeded the spool size cap (max_spool) of 1048576 bytes in {}",
            dir.path().display()
        )
    );
}

#[test]
fn size_cap_applies_to_stderr_separately() {
    let cap = 256 * 1024;
    let run = Runner::new(child(&["bytes", "400000", "flood-err"]))
        .max_spool(cap)
        .run()
        .unwrap();
    // Each stream is checked against the cap: stdout (written first) is
    // over it here, stderr in the second run.
    let fault = run.fault.clone().unwrap();
    assert_eq!(fault.stream(), Some(Stream::Stdout), "{fault}");
    let run = Runner::new(child(&["bytes", "1000", "flood-err"]))
        .max_spool(cap)
        .run()
        .unwrap();
    let fault = run.fault.clone().unwrap();
    assert_eq!(fault.stream(), Some(Stream::Stderr), "{fault}");
    assert!(
        fault.to_string().starts_with(
            "stderr spool exceeded the spool size cap (max_spool) of 262144 bytes in "
        )
    );
    assert_eq!(run.stdout.len(), 1000);
    assert_eq!(run.stderr.len(), cap);
}

#[test]
fn output_under_the_cap_is_not_a_fault() {
    let run = Runner::new(child(&["out", "100", "err", "x"]))
        .max_spool(1 << 20)
        .run()
        .unwrap();
    assert!(run.fault.is_none(), "{:?}", run.fault);
    assert_eq!(run.exit_code(), 0);
    // Exactly at the cap is fine too.
    let run = Runner::new(child(&["bytes", "4096"]))
        .max_spool(4096)
        .run()
        .unwrap();
    assert!(run.fault.is_none(), "{:?}", run.fault);
    assert_eq!(run.stdout.len(), 4096);
}

#[test]
fn timeout_kills_the_group_with_a_grandchild_holding_stdout() {
    let started = Instant::now();
    let run = Runner::new(child(&["fork-hold", "30000", "sleep", "30000"]))
        .timeout(Duration::from_millis(300))
        .grace(Duration::from_millis(1000))
        .run()
        .unwrap();
    let took = started.elapsed();
    // TERM works here, so well before timeout + grace.
    assert!(took < Duration::from_millis(1300), "{took:?}");
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(run.timed_out);
    assert_eq!(run.signal(), Some(15), "{:?}", run.status);
    assert_eq!(run.exit_code(), 124);
    assert!(run.fault.is_none(), "{:?}", run.fault);
    let gc = grandchild_pid(&run);
    assert!(wait_dead(gc), "grandchild {gc} survived");
    // The grandchild was writing; nothing appends any more.
    assert!(run.stdout.head(5).unwrap() == b"tick\n");
    let len = run.stdout.file().metadata().unwrap().len();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(run.stdout.file().metadata().unwrap().len(), len);
}

#[test]
fn grandchild_is_killed_when_the_child_exits() {
    let started = Instant::now();
    let run = Runner::new(child(&["fork-hold", "30000", "sleep", "100", "exit", "0"]))
        .run()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!run.timed_out);
    assert_eq!(run.exit_code(), 0);
    let gc = grandchild_pid(&run);
    assert!(wait_dead(gc), "grandchild {gc} survived");
    let len = run.stdout.file().metadata().unwrap().len();
    assert_eq!(len, run.stdout.len());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(run.stdout.file().metadata().unwrap().len(), len);
}

#[test]
fn sigterm_ignoring_child_is_killed_after_the_grace_period() {
    let started = Instant::now();
    let run = Runner::new(child(&["ignore-term", "pid", "sleep", "30000"]))
        .timeout(Duration::from_millis(300))
        .grace(Duration::from_millis(300))
        .run()
        .unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(stderr_text(&run).contains("pid="), "{}", stderr_text(&run));
    assert!(run.timed_out);
    assert_eq!(run.signal(), Some(9), "{:?}", run.status);
    assert_eq!(run.exit_code(), 124);
}

#[test]
fn child_killed_by_a_signal_reports_it() {
    let run = Runner::new(child(&["out", "1", "kill-self", "10"]))
        .run()
        .unwrap();
    assert_eq!(run.status.signal(), Some(10));
    assert_eq!(run.signal(), Some(10));
    assert!(!run.timed_out);
    assert_eq!(run.exit_code(), 128 + 10);
    assert_eq!(run.stdout.len(), 22);
    let run = Runner::new(child(&["kill-self", "15"])).run().unwrap();
    assert_eq!(run.exit_code(), 143);
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

const INNER_FSIZE: &str = "SPOOLSCAN_TEST_INNER_FSIZE";

/// The child's own file size limit does not apply to its output (it writes into a pipe);
/// spoolscan's does, to the pump's writes: EFBIG is a fault naming the spool directory. The
/// second half runs in a re-executed test process with the limit lowered and SIGXFSZ
/// ignored (as the CLI does).
#[test]
fn file_size_limit_is_a_fault() {
    if let Some(dir) = std::env::var_os(INNER_FSIZE) {
        let dir = PathBuf::from(dir);
        // SAFETY: SIG_IGN installs no handler; this re-executed process runs one test.
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
        let limit = rustix::process::Rlimit {
            current: Some(100_000),
            maximum: None,
        };
        rustix::process::setrlimit(rustix::process::Resource::Fsize, limit).unwrap();
        let run = Runner::new(child(&["bytes", "200000"]))
            .spool_dir(&dir)
            .run()
            .unwrap();
        assert_eq!(
            run.fault,
            Some(SpoolFault::FileSizeLimit {
                stream: Some(Stream::Stdout),
                dir: dir.clone()
            })
        );
        assert_eq!(run.exit_code(), 125);
        // Exactly what fitted under the limit.
        assert_eq!(run.stdout.len(), 100_000);
        let msg = run.check().unwrap_err().to_string();
        assert!(msg.contains(&*dir.to_string_lossy()), "{msg}");
        assert!(msg.contains("EFBIG"), "{msg}");
        return;
    }
    let dir = tempdir();
    let run = Runner::new(child(&["fsize", "100000", "bytes", "200000"]))
        .spool_dir(dir.path())
        .run()
        .unwrap();
    assert!(run.fault.is_none(), "{:?}", run.fault);
    assert_eq!(run.exit_code(), 0, "{}", stderr_text(&run));
    assert_eq!(run.stdout.len(), 200_000);
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "file_size_limit_is_a_fault",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER_FSIZE, dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

/// A tmpfs mounted for one test, unmounted on drop.
struct Mount(tempfile::TempDir);

impl Mount {
    fn tmpfs(size: &str) -> Result<Mount, String> {
        let dir = tempdir();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Mount(dir))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

#[test]
fn full_disk_is_a_fault_naming_the_spool_dir() {
    let mount = match Mount::tmpfs("1m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!("skipping: cannot mount a small tmpfs ({why})");
            return;
        }
    };
    let dir = mount.0.path();
    {
        let run = Runner::new(child(&["bytes", "2097152"]))
            .spool_dir(dir)
            .run()
            .unwrap();
        assert_eq!(
            run.fault,
            Some(SpoolFault::DiskFull {
                dir: dir.to_path_buf()
            })
        );
        assert!(run.is_truncated());
        assert_eq!(run.exit_code(), 125);
        assert!(run.stdout.len() < 2097152);
        let err = run.check().unwrap_err();
        assert_eq!(err.exit_code(), 125);
        let msg = err.to_string();
        assert!(msg.contains(&*dir.to_string_lossy()), "{msg}");
        assert!(msg.contains("full"), "{msg}");
    }
    // The space is back once the run is dropped: a small run is complete.
    let run = Runner::new(child(&["out", "10"]))
        .spool_dir(dir)
        .run()
        .unwrap();
    assert!(run.fault.is_none(), "{:?}", run.fault);
    drop(run);
    // Spooling stdin bytes that do not fit: an error naming the directory.
    let err = Runner::new(child(&["cat"]))
        .spool_dir(dir)
        .stdin(RunStdin::Bytes(vec![b'x'; 2 << 20]))
        .run()
        .unwrap_err();
    assert!(matches!(err, SpoolError::SpoolDir { .. }), "{err:?}");
    assert!(err.to_string().contains(&*dir.to_string_lossy()), "{err}");
}

/// CPU time (user + system, clock ticks) of the calling thread.
fn thread_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after comm start at field 3 (state); utime is 14, stime 15.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

#[test]
fn waiting_does_not_burn_cpu() {
    let Some(before) = thread_cpu_ticks() else {
        eprintln!("skipping: no /proc/thread-self/stat");
        return;
    };
    let run = Runner::new(child(&["sleep", "1000"]))
        .max_spool(1 << 20)
        .run()
        .unwrap();
    let used = thread_cpu_ticks().unwrap() - before;
    assert_eq!(run.exit_code(), 0);
    assert!(run.elapsed >= Duration::from_millis(1000));
    // Ticks are usually 10 ms: a busy loop would use about 100.
    assert!(used <= 10, "{used} ticks of CPU while waiting 1 s");
}

/// Live (not zombie) processes in process group `pgid`.
fn group_members(pgid: u32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let name = e.ok()?.file_name();
            let pid: i32 = name.to_str()?.parse().ok()?;
            let (live, pgrp) = proc_stat(pid)?;
            (live && pgrp == pgid).then_some(pid)
        })
        .collect()
}

/// Starts `cmd` with signal forwarding, waits (bounded) until its process group has `members`
/// live processes, then plays the signal handler: stores `sig` for the wait loop to forward.
/// Returns the run and the members seen.
fn run_and_forward(
    cmd: Command,
    grace: Duration,
    sig: usize,
    members: usize,
) -> (spoolscan::Run, Vec<i32>) {
    let pending = Arc::new(AtomicUsize::new(0));
    let mut running = Runner::new(cmd)
        .grace(grace)
        .forward_signals(pending.clone())
        .start()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    let seen = loop {
        let seen = group_members(running.id());
        if seen.len() >= members {
            break seen;
        }
        assert!(!running.try_wait().unwrap(), "the child exited early");
        assert!(
            Instant::now() < until,
            "the group never had {members} members"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    pending.store(sig, Ordering::SeqCst);
    let run = running.wait().unwrap();
    assert_eq!(
        pending.load(Ordering::SeqCst),
        0,
        "the signal was not taken"
    );
    (run, seen)
}

#[test]
fn forwarded_signal_reaches_the_whole_group() {
    let started = Instant::now();
    let (run, members) = run_and_forward(
        child(&["fork-hold", "30000", "sleep", "30000"]),
        Duration::from_secs(5),
        2, // SIGINT
        2,
    );
    assert!(started.elapsed() < Duration::from_secs(5), "not forwarded");
    assert!(!run.timed_out);
    assert_eq!(run.signal(), Some(2), "{:?}", run.status);
    assert_eq!(run.exit_code(), 130);
    assert!(run.fault.is_none(), "{:?}", run.fault);
    for pid in members {
        assert!(wait_dead(pid), "{pid} of the group survived");
    }
}

#[test]
fn forwarded_signal_the_group_ignores_ends_in_sigkill_after_the_grace_period() {
    let started = Instant::now();
    let (run, members) = run_and_forward(
        child(&["ignore-term", "fork-hold", "30000", "sleep", "30000"]),
        Duration::from_millis(300),
        15, // SIGTERM
        2,
    );
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!run.timed_out);
    assert_eq!(run.signal(), Some(9), "{:?}", run.status);
    assert_eq!(run.exit_code(), 137);
    for pid in members {
        assert!(wait_dead(pid), "{pid} of the group survived");
    }
}

/// A grandchild that left the group (`setsid`) and keeps stdout open: the run ends
/// `ESCAPE_GRACE` after the command, with a warning naming the process, and the spool holds
/// only what the pump read until then (the command's own lines intact, in order).
#[test]
fn escaped_writer_is_named_and_cut_off() {
    let dir = tempdir();
    let pidfile = dir.path().join("escaped.pid");
    let mut cmd = child(&["out", "3", "escape-tick", "3000"]);
    cmd.env("SPOOLSCAN_TEST_PIDFILE", &pidfile);
    let started = Instant::now();
    let run = Runner::new(cmd).max_spool(8 << 20).run().unwrap();
    let took = started.elapsed();
    assert!(took >= spoolscan::ESCAPE_GRACE, "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let named: Vec<&String> = run
        .warnings
        .iter()
        .filter(|w| w.contains(&format!("process {}", pid.trim())) && w.contains("escaped"))
        .collect();
    assert!(run.fault.is_none(), "{:?}", run.fault);
    assert_eq!(run.exit_code(), 0);
    assert_eq!(named.len(), 1, "{:?}", run.warnings);
    assert!(named[0].contains("stdout and stderr"), "{}", named[0]);
    let head = run.stdout.head(66).unwrap();
    assert_eq!(
        head,
        b"{\"type\":\"line\",\"n\":0}\n{\"type\":\"line\",\"n\":1}\n{\"type\":\"line\",\"n\":2}\n"
    );
    assert!(run.stdout.len() <= 8 << 20);
    // The spool does not grow any more: only the pump wrote it, and the pump is gone.
    let len = run.stdout.file().metadata().unwrap().len();
    assert_eq!(len, run.stdout.len());
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(run.stdout.file().metadata().unwrap().len(), len);
}
