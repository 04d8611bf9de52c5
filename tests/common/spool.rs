//! Helpers of the spooled-run tests (tests/spool.rs, tests/spool_faults.rs,
//! tests/spool_process.rs: `#[path = "common/spool.rs"] mod spool_util;`): the scripted test
//! child as a command, a temporary directory, and a run's stderr as text.
#![allow(dead_code)]

#[path = "child.rs"]
mod child;

use std::process::Command;

pub fn child(args: &[&str]) -> Command {
    let mut cmd = Command::new(child::child());
    cmd.args(args);
    cmd
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub fn stderr_text(run: &spoolscan::Run) -> String {
    String::from_utf8_lossy(&run.stderr.head(1 << 20).unwrap()).into_owned()
}
