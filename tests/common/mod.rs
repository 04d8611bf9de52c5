//! Helpers of the tests that run the `spoolscan` binary (tests/cli.rs, tests/cli_scan.rs,
//! tests/harden*.rs: `mod common;`): the binary, a run with stdin fed from memory and the
//! output captured, temporary input files, and the checks on a finished run.
//!
//! The other files of this folder are included on their own by the tests that need them
//! (`#[path = "common/peak.rs"] mod peak;`); `child` (the scripted test child) is also
//! reachable here as `common::child`.
#![allow(dead_code)]

pub mod child;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The path of the `spoolscan` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_spoolscan");

/// A command running the `spoolscan` binary.
pub fn bin() -> Command {
    Command::new(BIN)
}

/// Runs `spoolscan` with `args`, stdin from `input` (or /dev/null); see [`output`].
pub fn run(args: &[&str], input: Option<&[u8]>) -> Output {
    output(bin().args(args), input)
}

/// Runs `cmd` to the end with stdout and stderr captured and stdin from `input` (written by a
/// thread of its own, so a command that does not read it all cannot block the test), or from
/// /dev/null.
pub fn output(cmd: &mut Command, input: Option<&[u8]>) -> Output {
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = input {
        let mut stdin = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            // A command may exit before reading all of it: a broken pipe is fine.
            let _ = stdin.write_all(&data);
        });
    }
    child.wait_with_output().unwrap()
}

/// The run's stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that the run exited 0, showing its stderr if not.
#[track_caller]
pub fn ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
}

/// Asserts that the run did not panic (whatever its status).
#[track_caller]
pub fn no_panic(out: &Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
}

/// Writes `data` to the file `name` in `dir`; returns its path.
pub fn write(dir: impl AsRef<Path>, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.as_ref().join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// A temporary directory for a test's files, removed on drop.
pub struct Dir(pub tempfile::TempDir);

impl Dir {
    pub fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    /// Writes `data` to the file `name`; returns its path.
    pub fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        write(&self.0, name, data)
    }

    /// The path of `name` in the directory (not created).
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}
