//! Following a growing file (issue 6): a writer appends NDJSON in chunks that split lines,
//! escapes and UTF-8 sequences anywhere, with pauses; the follower's sink calls and report must
//! equal a full scan of the finished file. Also: giant lines written slowly, and a writer
//! stopping mid-line. The `Follower`'s other behaviour is in tests/follow_api.rs, spooled runs
//! and `spoolscan run --follow` in tests/follow_run.rs, peak RSS in tests/follow_rss.rs.

#[path = "common/follow.rs"]
mod follow_util;

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use follow_util::{
    Call, Limits, Record, Rng, SMALL, assert_same, file, full_scan, object, string_body,
};
use spoolscan::{Follower, Report, Scanner, ScannerBuilder, Selector};

const MIB: usize = 1 << 20;

fn builders(l: &Limits) -> Vec<(&'static str, ScannerBuilder)> {
    let codex = Selector::new()
        .equals("type", ["turn.completed", "error", "turn.failed"])
        .unwrap()
        .equals("item.type", ["agent_message"])
        .unwrap();
    let contains = Selector::new()
        .contains("item.text", ["中文", "TYPE"])
        .unwrap();
    let mut out = Vec::new();
    for (name, sel, va, cs) in [
        ("codex", codex.clone(), false, false),
        ("codex-validate-all", codex.clone(), true, false),
        ("codex-case-sensitive", codex, false, true),
        ("no-rules", Selector::new(), false, false),
        ("contains", contains, false, false),
    ] {
        let mut b = Scanner::builder();
        b.select(sel)
            .validate_all(va)
            .case_sensitive(cs)
            .probe(l.probe)
            .max_line(l.max_line)
            .ceiling(l.ceiling);
        out.push((name, b));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Writers.

/// Appends `data` to `path` in random chunks with random short pauses (another thread),
/// while following it on this thread. Returns the follower's calls and report.
fn follow_threaded(
    b: &ScannerBuilder,
    path: &Path,
    data: &[u8],
    seed: u64,
    hold: Option<usize>,
) -> (Vec<Call>, Report) {
    File::create(path).unwrap();
    let mut follower = Follower::open(b.build().unwrap(), path).unwrap();
    if let Some(h) = hold {
        follower.hold(h);
    }
    let done = AtomicBool::new(false);
    let mut rec = Record::default();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut f = OpenOptions::new().append(true).open(path).unwrap();
            let mut r = Rng(seed);
            let mut at = 0;
            while at < data.len() {
                let max = match r.below(10) {
                    0..=3 => 4,
                    4..=7 => 300,
                    _ => 20_000,
                };
                let n = (1 + r.below(max)).min(data.len() - at);
                f.write_all(&data[at..at + n]).unwrap();
                at += n;
                if r.below(50) == 0 {
                    std::thread::sleep(Duration::from_micros(r.below(1500) as u64));
                }
            }
            done.store(true, Ordering::Release);
        });
        follower
            .follow(&mut rec, || done.load(Ordering::Acquire))
            .unwrap();
    });
    let report = follower.finish(&mut rec).unwrap();
    assert!(follower.is_finished());
    (rec.calls, report)
}

/// Appends `data` one byte at a time and polls after each byte (one thread): every split
/// point is a chunk boundary, and no line may be yielded before its LF.
fn follow_bytewise(
    b: &ScannerBuilder,
    path: &Path,
    data: &[u8],
    hold: Option<usize>,
) -> (Vec<Call>, Report) {
    File::create(path).unwrap();
    let mut follower = Follower::open(b.build().unwrap(), path).unwrap();
    if let Some(h) = hold {
        follower.hold(h);
    }
    let written = std::rc::Rc::new(Cell::new(0));
    let mut rec = Record {
        written: Some(written.clone()),
        data: Some(std::rc::Rc::new(data.to_vec())),
        ..Record::default()
    };
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    for (i, byte) in data.iter().enumerate() {
        f.write_all(&[*byte]).unwrap();
        written.set(i + 1);
        follower.poll(&mut rec).unwrap();
        assert!(follower.offset() <= (i + 1) as u64);
    }
    // The writer is done: a last line without LF may now be yielded.
    rec.written = None;
    let report = follower.finish(&mut rec).unwrap();
    (rec.calls, report)
}

#[test]
fn random_chunks_equal_a_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grow.ndjson");
    let builders = builders(&SMALL);
    for seed in 0..12u64 {
        let mut r = Rng(seed);
        let data = file(&mut r, &SMALL, 150, (seed % 3) as usize);
        std::fs::write(&path, &data).unwrap();
        for (name, b) in &builders {
            let want = full_scan(b, &path);
            // A small hold puts lines under max_line on the read-back path too.
            for hold in [None, Some(SMALL.probe), Some(700)] {
                let got = follow_threaded(b, &path, &data, seed * 31 + 7, hold);
                assert_same(&format!("seed {seed} {name} hold {hold:?}"), &got, &want);
                std::fs::write(&path, &data).unwrap();
            }
        }
    }
}

#[test]
fn every_split_point_equals_a_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bytes.ndjson");
    let limits = Limits {
        probe: 32,
        max_line: 300,
        ceiling: 900,
    };
    let builders = builders(&limits);
    for seed in 100..103u64 {
        let mut r = Rng(seed);
        let data = file(&mut r, &limits, 40, (seed % 3) as usize);
        std::fs::write(&path, &data).unwrap();
        for (i, (name, b)) in builders.iter().enumerate() {
            let want = full_scan(b, &path);
            let hold = [None, Some(100)][(i + seed as usize) % 2];
            let got = follow_bytewise(b, &path, &data, hold);
            assert_same(&format!("seed {seed} {name} hold {hold:?}"), &got, &want);
            std::fs::write(&path, &data).unwrap();
        }
    }
}

/// 64 MiB lines written slowly with the default limits (and 1 MiB limits, where the contract
/// is the same and oversize lines are cheaper): events and report equal a full scan.
#[test]
fn giant_lines_written_slowly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("giant.ndjson");
    let mut data = Vec::new();
    let mut r = Rng(7);
    let small = |r: &mut Rng, data: &mut Vec<u8>| {
        for _ in 0..20 {
            let n = r.below(200);
            data.extend_from_slice(object(r, n, false).as_bytes());
            data.push(b'\n');
        }
    };
    small(&mut r, &mut data);
    // Skipped, decided by the probe.
    data.extend_from_slice(&giant(
        &mut r,
        64 * MIB,
        "item.completed",
        "command_execution",
        false,
    ));
    small(&mut r, &mut data);
    // Its type after the output: undecided by the probe.
    data.extend_from_slice(&giant(
        &mut r,
        64 * MIB,
        "item.completed",
        "command_execution",
        true,
    ));
    small(&mut r, &mut data);
    // Retained, 20 MiB: decoded (read back from the file).
    data.extend_from_slice(&giant(
        &mut r,
        20 * MIB,
        "item.completed",
        "agent_message",
        false,
    ));
    small(&mut r, &mut data);
    // Retained and over the ceiling: dropped.
    data.extend_from_slice(&giant(&mut r, 65 * MIB, "error", "x", false));
    small(&mut r, &mut data);
    std::fs::write(&path, &data).unwrap();

    let codex = Selector::new()
        .equals("type", ["turn.completed", "error", "turn.failed"])
        .unwrap()
        .equals("item.type", ["agent_message"])
        .unwrap();
    let mut default = Scanner::builder();
    default.select(codex.clone());
    let mut mib = Scanner::builder();
    mib.select(codex).max_line(MIB).ceiling(32 * MIB);
    for (name, b) in [("default limits", default), ("1 MiB limits", mib)] {
        let want = full_scan(&b, &path);
        let t = Instant::now();
        let got = follow_slowly(&b, &path, &data);
        eprintln!(
            "{name}: followed {} MiB in {:.2?}",
            data.len() >> 20,
            t.elapsed()
        );
        assert_same(name, &got, &want);
        assert!(
            got.1.oversize_skipped + got.1.oversize_unclassified >= 2,
            "{:?}",
            got.1
        );
        assert_eq!(got.1.dropped_total, 1);
    }
}

fn giant(r: &mut Rng, size: usize, ty: &str, it: &str, late: bool) -> Vec<u8> {
    let piece = string_body(r, 64 << 10);
    let mut body = String::with_capacity(size);
    while body.len() + piece.len() < size {
        body.push_str(&piece);
    }
    let line = if late {
        format!(r#"{{"item":{{"aggregated_output":"{body}","type":"{it}"}},"type":"{ty}"}}"#)
    } else {
        format!(r#"{{"type":"{ty}","item":{{"type":"{it}","aggregated_output":"{body}"}}}}"#)
    };
    let mut v = line.into_bytes();
    v.push(b'\n');
    v
}

/// Writes `data` in chunks of up to 1 MiB, cut at odd sizes, with a short pause every few
/// chunks; follows on this thread.
fn follow_slowly(b: &ScannerBuilder, path: &Path, data: &[u8]) -> (Vec<Call>, Report) {
    File::create(path).unwrap();
    let mut follower = Follower::open(b.build().unwrap(), path).unwrap();
    let done = AtomicBool::new(false);
    let mut rec = Record::default();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut f = OpenOptions::new().append(true).open(path).unwrap();
            let mut r = Rng(99);
            let mut at = 0;
            while at < data.len() {
                let n = (1 + r.below(MIB)).min(data.len() - at);
                f.write_all(&data[at..at + n]).unwrap();
                at += n;
                if r.below(8) == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            done.store(true, Ordering::Release);
        });
        follower
            .follow(&mut rec, || done.load(Ordering::Acquire))
            .unwrap();
    });
    let report = follower.finish(&mut rec).unwrap();
    (rec.calls, report)
}

// ---------------------------------------------------------------------------------------------
// The writer stopping mid-line.

#[test]
fn writer_stopping_mid_line_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.ndjson");
    let head = b"{\"type\":\"error\",\"message\":\"a\"}\n{\"type\":\"x\"}\n".to_vec();
    let big =
        |n: usize, ty: &str| format!(r#"{{"type":"{ty}","text":"{}"#, "y".repeat(n)).into_bytes();
    let mut b = Scanner::builder();
    b.select(Selector::new().equals("type", ["error"]).unwrap())
        .probe(64)
        .max_line(4096)
        .ceiling(64 << 10);
    // (the tail the writer stops after, truncated?)
    let cases: Vec<(Vec<u8>, bool)> = vec![
        (b"{\"type\":\"error\",\"mess".to_vec(), true),
        (b"{\"type\":\"x\",\"mess".to_vec(), true),
        (b"{\"type\":\"error\"}".to_vec(), false),
        (b"{\"type\":\"x\"}\r".to_vec(), false),
        (b"   ".to_vec(), false),
        (b"{\"type\":\"error\",\"t\":\"\xC3".to_vec(), true),
        (b"{\"type\":\"error\",\"t\":\"\\".to_vec(), true),
        // Longer than max_line, under the ceiling: read back and parsed.
        (big(10_000, "x"), true),
        (big(10_000, "error"), true),
        ([big(10_000, "x"), b"\"}".to_vec()].concat(), false),
        // Over the ceiling: streamed through the structural check.
        (big(200_000, "x"), true),
        (big(200_000, "error"), true),
        ([big(200_000, "error"), b"\"}".to_vec()].concat(), false),
        ([big(200_000, "error"), b"\"]".to_vec()].concat(), true),
    ];
    for (i, (tail, truncated)) in cases.iter().enumerate() {
        let data = [head.clone(), tail.clone()].concat();
        std::fs::write(&path, &data).unwrap();
        let want = full_scan(&b, &path);
        assert_eq!(want.1.truncated, *truncated, "case {i}: the full scan");
        let got = follow_threaded(&b, &path, &data, i as u64, None);
        assert_same(&format!("case {i}"), &got, &want);
        let got = follow_threaded(&b, &path, &data, i as u64, Some(64));
        assert_same(&format!("case {i}, small hold"), &got, &want);
    }
}
