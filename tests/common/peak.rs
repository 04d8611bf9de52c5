//! Peak resident memory of a command run in a fresh process, plus `RssAnon` and `RssFile`
//! sampled from /proc while it runs (so a regression can be diagnosed).
//!
//! The peak comes from GNU time (`/usr/bin/time -f %M`) when it is installed, else from
//! `wait4`'s `ru_maxrss`. The difference matters: a process started by the test binary
//! inherits the test binary's high-water mark in its `ru_maxrss` (its task shared or copied
//! the parent's memory before `exec`), so `wait4` reports at least the test's own peak, 13 MiB
//! or more, which hides a small run's true peak (about 4 MiB) and loosens every "within
//! 16 MiB of a tiny run" bound by the difference. GNU time forks the command from a 1 MiB
//! process. `.ci/run` installs it; [`Peak::exact`] says which was used.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const TIME: &str = "/usr/bin/time";

/// What a run cost.
#[derive(Debug)]
pub struct Peak {
    /// Peak RSS of the process (and of its reaped children, as `wait4` reports it), KiB.
    pub maxrss_kib: i64,
    /// Largest `RssAnon` sampled, KiB.
    pub anon_kib: i64,
    /// Largest `RssFile` sampled, KiB.
    pub file_kib: i64,
    /// Whether `maxrss_kib` is the command's own (GNU time), not raised to the test's.
    pub exact: bool,
}

fn status_kib(pid: u32, field: &str) -> Option<i64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A command for [`measure`]: `program` run through GNU time when it is installed. Add the
/// arguments and the stdio set-up as to `Command::new(program)`.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    static N: AtomicUsize = AtomicUsize::new(0);
    if !Path::new(TIME).exists() || std::env::var_os("SPOOLSCAN_RSS_NO_TIME").is_some() {
        eprintln!("{TIME} not found: peak RSS includes the test process's own (looser bounds)");
        return Command::new(program);
    }
    let out = std::env::temp_dir().join(format!(
        "spoolscan-peak-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut cmd = Command::new(TIME);
    cmd.args(["-f", "%M", "-o"]).arg(out).arg(program);
    cmd
}

/// The output file of a [`command`] that goes through GNU time.
fn time_output(cmd: &Command) -> Option<PathBuf> {
    if cmd.get_program() != TIME {
        return None;
    }
    cmd.get_args().nth(3).map(PathBuf::from)
}

/// The process to sample: `pid`, or its child when `pid` is GNU time.
fn target(pid: u32, through_time: bool) -> Option<u32> {
    if !through_time {
        return Some(pid);
    }
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// Spawns `cmd` (made with [`command`]), runs `feed` (e.g. writing its stdin) while it runs,
/// waits for it with `wait4`, asserts it exited with status 0, and returns its peak memory.
pub fn measure(cmd: &mut Command, feed: impl FnOnce(&mut std::process::Child)) -> Peak {
    let out = time_output(cmd);
    let through_time = out.is_some();
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let sampler = std::thread::spawn(move || {
        let (mut anon, mut file) = (0, 0);
        while status_kib(pid, "VmRSS:").is_some() {
            if let Some(t) = target(pid, through_time) {
                anon = anon.max(status_kib(t, "RssAnon:").unwrap_or(0));
                file = file.max(status_kib(t, "RssFile:").unwrap_or(0));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        (anon, file)
    });
    feed(&mut child);
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
    let (anon_kib, file_kib) = sampler.join().unwrap();
    let (maxrss_kib, exact) = match out {
        Some(path) => {
            let text = std::fs::read_to_string(&path).unwrap();
            let _ = std::fs::remove_file(&path);
            let kib = text
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or_else(|| panic!("GNU time wrote {text:?}"));
            (kib, true)
        }
        None => (usage.ru_maxrss, false),
    };
    Peak {
        maxrss_kib,
        anon_kib,
        file_kib,
        exact,
    }
}
