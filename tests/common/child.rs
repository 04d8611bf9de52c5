//! The path of `spoolscan-test-child` (tests/support/child.rs), a scripted child process.
//!
//! It is an example target, not a binary, so that `cargo install` does not install it. A plain
//! `cargo test` builds every example before running the tests; when a test file is run alone
//! (`cargo test --test spool`) the example may not be built, and this builds it once with the
//! same cargo, profile and target directory.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const NAME: &str = "spoolscan-test-child";

/// The child's path, built on first use if needed.
pub fn child() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        // target/<profile>/deps/<test binary>
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("the test binary lives in target/<profile>/deps")
            .to_path_buf();
        let path = profile_dir.join("examples").join(NAME);
        if !path.is_file() {
            build(&profile_dir);
        }
        assert!(path.is_file(), "{} was not built", path.display());
        path.to_string_lossy().into_owned()
    })
}

fn build(profile_dir: &std::path::Path) {
    let target_dir: PathBuf = profile_dir
        .parent()
        .expect("target/<profile>")
        .to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--example", NAME, "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("running cargo to build the test child");
    assert!(status.success(), "building {NAME} failed: {status}");
}
