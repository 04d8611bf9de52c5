//! Spooled subprocess runs (DESIGN §7, §11) and their process group, driven through the
//! `spoolscan-test-child` helper (tests/support/child.rs): timeouts, grandchildren, signals
//! (received, forwarded, ignored), waiting without burning CPU, and escaped writers.

#[path = "common/spool.rs"]
mod spool_util;
use spool_util::{child, stderr_text, tempdir};

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use spoolscan::Runner;

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
