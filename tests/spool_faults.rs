//! Spooled subprocess runs (DESIGN §7, §11) that hit a limit, driven through the
//! `spoolscan-test-child` helper (tests/support/child.rs): the spool size cap, the file size
//! limit, and a full disk, each a fault naming the spool directory.

#[path = "common/spool.rs"]
mod spool_util;
use spool_util::{child, stderr_text, tempdir};

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use spoolscan::{RunStdin, Runner, SpoolError, SpoolFault, Stream};

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
