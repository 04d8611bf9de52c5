//! Helpers of the hardening tests (tests/harden.rs, tests/harden_children.rs:
//! `#[path = "common/harden.rs"] mod harden_util;`): a small tmpfs mounted for one test.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// A tmpfs mounted for one test, unmounted on drop.
pub struct Mount(tempfile::TempDir);

impl Mount {
    pub fn tmpfs(size: &str) -> Option<Mount> {
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

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}
