//! Replays the checked-in fuzz corpus (`fuzz/corpus/{lines,probe,scan}/`) through the same
//! checks as the fuzz targets (`tests/fuzz_checks/mod.rs`), on stable, as a regular test.
//!
//! To add a regression: drop the input (for example a file from `fuzz/artifacts/<target>/`)
//! into `fuzz/corpus/<target>/` under a descriptive name.

#[path = "fuzz_checks/mod.rs"]
mod fuzz_checks;

use std::path::{Path, PathBuf};

/// The corpus files of `target`, or `None` (with a message) in a packaged crate, which does
/// not ship `fuzz/`.
fn corpus(target: &str) -> Option<Vec<PathBuf>> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    if !fuzz.is_dir() {
        eprintln!(
            "{}: no fuzz/ directory (the packaged crate does not ship it): {target} corpus replay skipped",
            fuzz.display()
        );
        return None;
    }
    let dir = fuzz.join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no corpus files", dir.display());
    Some(files)
}

fn replay(target: &str, check: fn(&[u8])) {
    for path in corpus(target).unwrap_or_default() {
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| check(&data));
        if let Err(e) = r {
            eprintln!("{target}: {} failed", path.display());
            std::panic::resume_unwind(e);
        }
    }
}

#[test]
fn lines_corpus() {
    replay("lines", fuzz_checks::check_lines);
}

#[test]
fn probe_corpus() {
    replay("probe", fuzz_checks::check_probe);
}

#[test]
fn scan_corpus() {
    replay("scan", fuzz_checks::check_scan);
}

#[test]
fn simd_corpus() {
    replay("simd", fuzz_checks::check_simd);
}
