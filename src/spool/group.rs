//! The child's process group: checking on the leader, signalling and reaping, and finding
//! live members.

use std::io;
use std::process::{Child, ExitStatus};
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
}

impl Group {
    pub(super) fn new(child: Child) -> Group {
        let pgid = Pid::from_child(&child);
        Group {
            child,
            pgid,
            reaped: false,
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
