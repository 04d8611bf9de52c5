//! The child's process group: checking on the leader, signalling and reaping, finding live
//! members, and the watchdog that kills the group if spoolscan dies.
//!
//! # The watchdog
//!
//! `PR_SET_PDEATHSIG` (set on the command before exec) kills the command when spoolscan dies,
//! even by `SIGKILL`, but not the command's own children. So each run also starts a tiny
//! watchdog, `/bin/sh -c 'read -r g || exit; read -r x; [ "$x" = done ] || kill -s KILL -- -"$g"'`,
//! in a process group of its own, reading a pipe whose only writer is spoolscan. The watchdog
//! starts before the command ([`Watchdog::start`]), and is told the command's group id as soon
//! as the command is spawned: a spoolscan killed while the command starts leaves no window in
//! which the command's children outlive it with no watchdog (starting `/bin/sh` after the
//! command left one of a few milliseconds, which a loaded machine widened). When the run ends,
//! spoolscan writes `done` (before the leader is reaped, so the group id cannot have been
//! reused) and reaps the watchdog. When spoolscan dies first, the pipe closes, `read` returns
//! at once, and the watchdog kills the whole group. Without `/bin/sh` there is no watchdog
//! (logged): the command still dies with spoolscan, its children may not.

use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{Pid, Signal};

/// First sleep while waiting for killed members to die; it doubles up to 20 ms.
const POLL_MIN: Duration = Duration::from_millis(1);

/// The child and its process group. Dropping it before the child was reaped
/// (an error or a panic in the wait loop) kills the group and reaps the child,
/// so no process outlives the run and no zombie is left.
#[derive(Debug)]
pub(super) struct Group {
    pub(super) child: Child,
    pub(super) pgid: Pid,
    reaped: bool,
    /// The watchdog and the write end of its pipe.
    watchdog: Option<(Child, ChildStdin)>,
}

/// The watchdog's script: the first line it reads is the process group id. (A spoolscan that
/// dies before writing it closes the pipe: the first `read` fails and the watchdog exits.)
const WATCHDOG: &str = r#"read -r g || exit; read -r x; [ "$x" = done ] || kill -s KILL -- -"$g""#;

/// The watchdog, started before the command (see the module documentation).
pub(super) struct Watchdog(Option<(Child, ChildStdin)>);

impl Watchdog {
    /// Starts the watchdog (`/bin/sh`); without it, logs why and goes on.
    pub(super) fn start() -> Watchdog {
        let watchdog = Command::new("/bin/sh")
            .args(["-c", WATCHDOG, "spoolscan-watchdog"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| log::warn!("cannot start the process group watchdog (/bin/sh): {e}"))
            .ok()
            .and_then(|mut w| {
                let input = w.stdin.take()?;
                Some((w, input))
            });
        Watchdog(watchdog)
    }
}

impl Drop for Watchdog {
    /// A watchdog never handed a group (the command did not start): closing its pipe ends it;
    /// it is reaped.
    fn drop(&mut self) {
        if let Some((mut w, input)) = self.0.take() {
            drop(input);
            let _ = w.wait();
        }
    }
}

impl Group {
    /// The group of `child`, watched by `watchdog` (told the group id here).
    pub(super) fn new(child: Child, mut watchdog: Watchdog) -> Group {
        let pgid = Pid::from_child(&child);
        let watchdog = watchdog.0.take().and_then(|(mut w, mut input)| {
            match writeln!(input, "{}", pgid.as_raw_nonzero()) {
                Ok(()) => Some((w, input)),
                Err(e) => {
                    log::warn!("cannot reach the process group watchdog: {e}");
                    drop(input);
                    let _ = w.kill();
                    let _ = w.wait();
                    None
                }
            }
        });
        Group {
            child,
            pgid,
            reaped: false,
            watchdog,
        }
    }

    /// Tells the watchdog the run ended normally (it exits without killing anything) and
    /// reaps it. Called before the leader is reaped.
    fn release_watchdog(&mut self) {
        let Some((mut w, mut input)) = self.watchdog.take() else {
            return;
        };
        let _ = input.write_all(b"done\n");
        drop(input);
        let until = Instant::now() + Duration::from_secs(1);
        loop {
            match w.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() >= until => {
                    let _ = w.kill();
                    let _ = w.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(POLL_MIN),
            }
        }
    }

    /// Whether the leader has exited, without reaping it (`WNOWAIT`): while
    /// it is a zombie its pid stays reserved, so signalling its group id
    /// cannot hit an unrelated group.
    pub(super) fn leader_exited(&self) -> io::Result<bool> {
        use rustix::process::{WaitId, WaitIdOptions, waitid};
        let opts = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match waitid(WaitId::Pid(self.pgid), opts) {
            Ok(status) => Ok(status.is_some()),
            Err(Errno::INTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Signals the whole group. A group that is gone is not an error.
    pub(super) fn signal(&self, sig: Signal) -> io::Result<()> {
        match rustix::process::kill_process_group(self.pgid, sig) {
            Ok(()) | Err(Errno::SRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn reap(&mut self) -> io::Result<ExitStatus> {
        self.release_watchdog();
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(status)
    }

    /// Waits up to `limit` for every member of the group to be dead (gone, or
    /// a zombie: a zombie has closed its files). Returns false on timeout.
    pub(super) fn wait_members_dead(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let mut nap = POLL_MIN;
        loop {
            if !group_has_live_members(self.pgid) {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(20));
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = rustix::process::kill_process_group(self.pgid, Signal::KILL);
            self.release_watchdog();
            let _ = self.child.wait();
        }
    }
}

/// Whether a process of group `pgid` is alive and not a zombie. Orphaned
/// zombies count as dead: where the reaper of orphans does not reap (some
/// containers), they linger, but they hold no files.
pub(super) fn group_has_live_members(pgid: Pid) -> bool {
    // EPERM (a member of another user) still means a member exists.
    if let Err(Errno::SRCH) = rustix::process::test_kill_process_group(pgid) {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // No procfs: the signal probe is all we have.
        return true;
    };
    let pgid = pgid.as_raw_nonzero().get();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold anything, so split
        // after its last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let pgrp = fields.nth(1).and_then(|s| s.parse::<i32>().ok());
        if pgrp == Some(pgid) && state != "Z" && state != "X" {
            return true;
        }
    }
    false
}
