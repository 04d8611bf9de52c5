//! Peak resident memory of a command run in a fresh process: `wait4`'s `ru_maxrss`, plus
//! `RssAnon` and `RssFile` sampled from /proc while it runs (so a regression can be diagnosed).
#![allow(dead_code)]

use std::process::Command;
use std::time::Duration;

/// What a run cost.
#[derive(Debug)]
pub struct Peak {
    /// Peak RSS of the process (and of its reaped children, as `wait4` reports it), KiB.
    pub maxrss_kib: i64,
    /// Largest `RssAnon` sampled, KiB.
    pub anon_kib: i64,
    /// Largest `RssFile` sampled, KiB.
    pub file_kib: i64,
}

fn status_kib(pid: u32, field: &str) -> Option<i64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Spawns `cmd`, runs `feed` (e.g. writing its stdin) while it runs, waits for it with
/// `wait4`, asserts it exited with status 0, and returns its peak memory.
pub fn measure(cmd: &mut Command, feed: impl FnOnce(&mut std::process::Child)) -> Peak {
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let sampler = std::thread::spawn(move || {
        let (mut anon, mut file) = (0, 0);
        while let Some(a) = status_kib(pid, "RssAnon:") {
            anon = anon.max(a);
            file = file.max(status_kib(pid, "RssFile:").unwrap_or(0));
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
    Peak {
        maxrss_kib: usage.ru_maxrss,
        anon_kib,
        file_kib,
    }
}
