//! Following a growing file (issue 6): a writer appends NDJSON in chunks that split lines,
//! escapes and UTF-8 sequences anywhere, with pauses; the follower's sink calls and report must
//! equal a full scan of the finished file. Also: wake-up latency, idle CPU, a writer stopping
//! mid-line, spooled runs, `spoolscan run --follow`, and peak RSS in a fresh process.

#[path = "common/child.rs"]
mod child;

#[path = "common/peak.rs"]
mod peak;

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use spoolscan::{
    Dropped, Event, Follower, Malformed, Report, Runner, Scanner, ScannerBuilder, Selector, Sink,
};

const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------
// A recording sink: every call, in order.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Retained(u64, u64, Vec<u8>),
    Dropped(Dropped),
    Malformed(Malformed),
    Unclassified(u64, u64, u64),
    Finish,
}

#[derive(Default)]
struct Record {
    calls: Vec<Call>,
    /// When each retained event arrived.
    times: Vec<Instant>,
    /// Bytes written so far by a single-threaded writer, to check that no line is yielded
    /// before its LF.
    written: Option<std::rc::Rc<Cell<usize>>>,
    data: Option<std::rc::Rc<Vec<u8>>>,
}

impl Sink for Record {
    type Error = spoolscan::Error;

    fn retained(&mut self, e: &mut Event<'_>) -> Result<bool, Self::Error> {
        if let (Some(w), Some(d)) = (&self.written, &self.data) {
            let end = (e.offset() as usize) + e.bytes().len();
            // The line's terminator is in the file already (CR LF: both bytes).
            let lf = if d.get(end) == Some(&b'\r') {
                end + 1
            } else {
                end
            };
            assert_eq!(d.get(lf), Some(&b'\n'), "line {} has no LF", e.number());
            assert!(
                lf < w.get(),
                "line {} yielded before its LF was written",
                e.number()
            );
        }
        self.times.push(Instant::now());
        self.calls
            .push(Call::Retained(e.number(), e.offset(), e.bytes().to_vec()));
        Ok(true)
    }
    fn dropped(&mut self, d: &Dropped) -> Result<bool, Self::Error> {
        self.calls.push(Call::Dropped(d.clone()));
        Ok(true)
    }
    fn malformed(&mut self, m: &Malformed) -> Result<bool, Self::Error> {
        self.calls.push(Call::Malformed(m.clone()));
        Ok(true)
    }
    fn unclassified(&mut self, line: u64, offset: u64, len: u64) -> Result<bool, Self::Error> {
        self.calls.push(Call::Unclassified(line, offset, len));
        Ok(true)
    }
    fn finish(&mut self, _report: &Report) -> Result<(), Self::Error> {
        self.calls.push(Call::Finish);
        Ok(())
    }
}

fn full_scan(b: &ScannerBuilder, path: &Path) -> (Vec<Call>, Report) {
    let mut rec = Record::default();
    let report = b.build().unwrap().scan_path(path, &mut rec).unwrap();
    (rec.calls, report)
}

fn assert_same(label: &str, got: &(Vec<Call>, Report), want: &(Vec<Call>, Report)) {
    assert_eq!(got.1, want.1, "{label}: reports differ");
    assert_eq!(got.0.len(), want.0.len(), "{label}: call counts differ");
    for (i, (g, w)) in got.0.iter().zip(&want.0).enumerate() {
        assert_eq!(g, w, "{label}: call {i} differs");
    }
    assert!(got.1.is_consistent());
}

// ---------------------------------------------------------------------------------------------
// Generated NDJSON.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const TYPES: &[&str] = &[
    "item.completed",
    "item.started",
    "turn.completed",
    "error",
    "ERROR",
    "err\\u006fr",
    "turn.failed",
    "thread.started",
];
const ITEM_TYPES: &[&str] = &[
    "agent_message",
    "agent\\u005fmessage",
    "reasoning",
    "command_execution",
];
/// String pieces: escapes and multi-byte UTF-8, so chunk boundaries fall inside them.
const PIECES: &[&str] = &[
    "abc",
    "é",
    "😀",
    "中文",
    "\\\"",
    "\\\\",
    "\\n",
    "\\u00e9",
    "\\ud83d\\ude00",
    "\\/",
    " ",
    "\\\"type\\\":\\\"error\\\"",
    "{[",
];

fn string_body(r: &mut Rng, len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        let piece: &&str = r.pick(PIECES);
        s.push_str(piece);
    }
    s
}

/// An object whose string field makes it about `size` bytes; `late`: the `type` comes last.
fn object(r: &mut Rng, size: usize, late: bool) -> String {
    let ty = r.pick(TYPES);
    let it = r.pick(ITEM_TYPES);
    let body = string_body(r, size.saturating_sub(80));
    if late {
        format!(r#"{{"item":{{"text":"{body}","type":"{it}"}},"type":"{ty}"}}"#)
    } else {
        format!(r#"{{"type":"{ty}","item":{{"type":"{it}","text":"{body}"}}}}"#)
    }
}

struct Limits {
    probe: usize,
    max_line: usize,
    ceiling: usize,
}

fn line(r: &mut Rng, l: &Limits) -> Vec<u8> {
    let kind = r.below(100);
    let late2 = r.below(2) == 0;
    let late3 = r.below(3) == 0;
    let late4 = r.below(4) == 0;
    let near = |r: &mut Rng, x: usize| x + r.below(21) - 10;
    let s = match kind {
        0..=49 => {
            let n = r.below(300);
            object(r, n, late4)
        }
        50..=55 => r.pick(&["", " ", "\t \r", "  "]).to_string(),
        56..=61 => r
            .pick(&[
                "Reading prompt from stdin...",
                "{\"type\":\"error\"",
                "\u{c}{}",
                "{\"type\":\"x\",\"n\":[1,2}",
                "{\"type\":\"error\",\"x\":tru}",
                "{\"type\":\"turn.completed\"} trailing",
            ])
            .to_string(),
        62..=65 => r
            .pick(&["[1,2]", "\"s\"", "42", "null", "[{\"type\":\"error\"}]"])
            .to_string(),
        66..=71 => {
            let n = near(r, l.max_line);
            object(r, n, late2)
        }
        72..=77 => {
            let n = near(r, l.ceiling);
            object(r, n, late2)
        }
        78..=89 => {
            let n = l.max_line + r.below(3 * l.ceiling);
            object(r, n, late3)
        }
        90..=92 => " ".repeat(l.probe + r.below(2 * l.ceiling)),
        93..=95 => {
            // Malformed after a long prefix (unterminated, or garbage late).
            let n = l.probe + r.below(2 * l.ceiling);
            let mut o = object(r, n, late2);
            let mut cut = o.len() / 2;
            while !o.is_char_boundary(cut) {
                cut -= 1;
            }
            o.truncate(cut);
            o.push_str("}}");
            o
        }
        _ => {
            let n = near(r, l.probe);
            object(r, n, late2)
        }
    };
    s.into_bytes()
}

/// A file of `n` lines; `end`: 0 = ends with LF, 1 = last line complete without LF, 2 = last
/// line cut inside.
fn file(r: &mut Rng, l: &Limits, n: usize, end: usize) -> Vec<u8> {
    let mut out = Vec::new();
    if r.below(8) == 0 {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    for i in 0..n {
        let mut line = line(r, l);
        let last = i + 1 == n;
        if last && end == 2 && line.len() > 1 {
            line.truncate(1 + r.below(line.len() - 1));
        }
        out.extend_from_slice(&line);
        if !last || end == 0 {
            out.extend_from_slice(match r.below(10) {
                0 => b"\r\n",
                1 => b"\r\r\n",
                _ => b"\n",
            });
        } else if r.below(4) == 0 {
            out.push(b'\r');
        }
    }
    out
}

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

const SMALL: Limits = Limits {
    probe: 64,
    max_line: 2048,
    ceiling: 8192,
};

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

// ---------------------------------------------------------------------------------------------
// Waking up and idling.

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: an all-zero timespec is a valid value; clock_gettime writes only to it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and a valid out-pointer.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn wakes_soon_after_a_line_completes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wake.ndjson");
    File::create(&path).unwrap();
    let b = Scanner::builder();
    let mut follower = Follower::open(b.build().unwrap(), &path).unwrap();
    let done = AtomicBool::new(false);
    let mut rec = Record::default();
    let mut completed = Vec::new();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut f = OpenOptions::new().append(true).open(&path).unwrap();
            let mut at = Vec::new();
            for i in 0..6 {
                // Idle long enough for the back-off to reach its maximum.
                std::thread::sleep(Duration::from_millis(300));
                if i % 2 == 0 {
                    // In one write, after the idle time: the follower is at its longest nap.
                    f.write_all(format!("{{\"n\":{i},\"x\":1}}\n").as_bytes())
                        .unwrap();
                } else {
                    // In two writes: the LF comes while the follower naps briefly.
                    f.write_all(format!("{{\"n\":{i},").as_bytes()).unwrap();
                    std::thread::sleep(Duration::from_millis(20));
                    f.write_all(b"\"x\":1}\n").unwrap();
                }
                at.push(Instant::now());
            }
            done.store(true, Ordering::Release);
            at
        });
        follower
            .follow(&mut rec, || done.load(Ordering::Acquire))
            .unwrap();
        completed = writer.join().unwrap();
    });
    follower.finish(&mut rec).unwrap();
    assert_eq!(rec.times.len(), 6);
    let delays: Vec<Duration> = rec
        .times
        .iter()
        .zip(&completed)
        .map(|(e, c)| e.saturating_duration_since(*c))
        .collect();
    eprintln!("wake-up delays after a line's LF: {delays:?}");
    for d in delays {
        assert!(
            d < Duration::from_secs(1),
            "woke {d:?} after the LF (DESIGN §11: within 1 s)"
        );
    }
}

#[test]
fn idle_follower_uses_little_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idle.ndjson");
    std::fs::write(&path, b"{\"type\":\"a\"}\n{\"type\":\"b\"").unwrap();
    let mut follower = Follower::open(Scanner::builder().build().unwrap(), &path).unwrap();
    let mut rec = Record::default();
    // Measured on the follower's own thread, inside its `done` check: CPU time over one idle
    // second (after the first look, which reads the file).
    let mut start: Option<(Instant, Duration)> = None;
    let mut used = Duration::ZERO;
    let mut looks = 0;
    follower
        .follow(&mut rec, || {
            looks += 1;
            let (t0, c0) = *start.get_or_insert_with(|| (Instant::now(), thread_cpu()));
            if t0.elapsed() >= Duration::from_secs(1) {
                used = thread_cpu() - c0;
                return true;
            }
            false
        })
        .unwrap();
    eprintln!("idle second: {used:?} of CPU, {looks} looks at the file");
    assert!(
        used < Duration::from_millis(50),
        "an idle follower used {used:?} of CPU in 1 s"
    );
    assert!(looks < 200, "{looks} looks in an idle second");
    let report = follower.finish(&mut rec).unwrap();
    assert_eq!(
        (report.retained, report.malformed_total, report.truncated),
        (1, 1, true)
    );
}

// ---------------------------------------------------------------------------------------------
// Spooled runs.

fn codex_builder() -> ScannerBuilder {
    let mut b = Scanner::builder();
    b.select(
        Selector::new()
            .equals("type", ["turn.completed", "error", "turn.failed"])
            .unwrap()
            .equals("item.type", ["agent_message"])
            .unwrap(),
    )
    .probe(64)
    .max_line(2048)
    .ceiling(8192);
    b
}

/// Follows a running child through `Running::stdout_follower`; returns the calls, the report
/// (marked truncated as the CLI does) and the run.
fn follow_child(b: &ScannerBuilder, runner: &mut Runner) -> (Vec<Call>, Report, spoolscan::Run) {
    let mut running = runner.start().unwrap();
    let mut follower = running.stdout_follower(b.build().unwrap()).unwrap();
    let mut rec = Record::default();
    follower
        .follow(&mut rec, || running.try_wait().unwrap())
        .unwrap();
    let run = running.wait().unwrap();
    let mut report = follower.finish(&mut rec).unwrap();
    report.truncated |= run.is_truncated();
    (rec.calls, report, run)
}

#[test]
fn spooled_run_follow_equals_full_scan_of_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let b = codex_builder();
    for seed in 0..3u64 {
        let mut r = Rng(seed + 500);
        let data = file(&mut r, &SMALL, 200, (seed % 3) as usize);
        let input = dir.path().join(format!("in{seed}.ndjson"));
        std::fs::write(&input, &data).unwrap();
        let mut cmd = Command::new(child::child());
        cmd.arg("drip").arg(&input);
        let (calls, report, run) = follow_child(&b, &mut Runner::new(cmd));
        assert_eq!(run.exit_code(), 0);
        assert_eq!(run.stdout.len(), data.len() as u64);
        let mut rec = Record::default();
        let want = b
            .build()
            .unwrap()
            .scan_file(run.stdout.file(), &mut rec)
            .unwrap();
        assert_same(
            &format!("seed {seed}"),
            &(calls, report),
            &(rec.calls, want),
        );
    }
}

#[test]
fn spooled_run_follow_stops_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let b = codex_builder();
    let mut r = Rng(77);
    let data = file(&mut r, &SMALL, 400, 0);
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, &data).unwrap();
    let cap = data.len() as u64 / 2;
    let mut cmd = Command::new(child::child());
    cmd.arg("drip").arg(&input);
    let (calls, report, run) = follow_child(&b, Runner::new(cmd).max_spool(cap));
    assert!(run.fault.is_some(), "the cap was hit");
    assert_eq!(run.stdout.len(), cap);
    assert!(report.truncated);
    assert_eq!(report.bytes, cap);
    let mut rec = Record::default();
    let mut want = b
        .build()
        .unwrap()
        .scan_file(run.stdout.file(), &mut rec)
        .unwrap();
    want.truncated = true;
    assert_same("capped", &(calls, report), &(rec.calls, want));
}

// ---------------------------------------------------------------------------------------------
// The CLI.

#[test]
fn cli_run_follow_prints_lines_while_the_child_runs() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let script = r#"echo '{"type":"x","n":1}'; echo '{"type":"y"}'; sleep 2; echo '{"type":"x","n":2}'; printf '{"type":"x"'; exit 3"#;
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_spoolscan"))
        .args(["run", "--follow", "--keep", "type=x", "--stats"])
        .arg(&stats)
        .args(["--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let first_at = start.elapsed();
    assert_eq!(first, "{\"type\":\"x\",\"n\":1}\n");
    assert!(
        first_at < Duration::from_millis(1500),
        "the first line came {first_at:?} after the start, the child sleeps 2 s after it"
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(rest, "{\"type\":\"x\",\"n\":2}\n");
    assert_eq!(status.code(), Some(3));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(report["lines"], 4);
    assert_eq!(report["retained"], 2);
    assert_eq!(report["malformed_total"], 1);
    assert_eq!(report["truncated"], true);

    // The same as without --follow.
    let plain_stats = dir.path().join("plain.json");
    let plain = Command::new(env!("CARGO_BIN_EXE_spoolscan"))
        .args(["run", "--keep", "type=x", "--stats"])
        .arg(&plain_stats)
        .args(["--", "sh", "-c", &script.replace("sleep 2", "true")])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&plain.stdout),
        format!("{first}{rest}")
    );
    let plain_report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plain_stats).unwrap()).unwrap();
    assert_eq!(plain_report, report);
}

// ---------------------------------------------------------------------------------------------
// Peak RSS in a fresh process.

struct Peak {
    maxrss_kib: i64,
    anon_kib: i64,
    file_kib: i64,
    report: serde_json::Value,
}

/// `spoolscan run --follow` of `spoolscan-test-child transcript N` in a fresh process.
fn follow_transcript(dir: &Path, rounds: u32) -> Peak {
    let stats = dir.join(format!("stats{rounds}.json"));
    let mut cmd = peak::command(env!("CARGO_BIN_EXE_spoolscan"));
    cmd.args(["run", "--follow", "--quiet", "--spool-dir"])
        .arg(dir)
        .arg("--stats")
        .arg(&stats)
        .args([
            "--keep",
            "type=turn.completed,error,turn.failed",
            "--keep",
            "item.type=agent_message",
        ])
        .args(["--", child::child(), "transcript", &rounds.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let p = peak::measure(&mut cmd, |_| {});
    Peak {
        // wait4 reports the larger of spoolscan's peak and its (reaped) child's.
        maxrss_kib: p.maxrss_kib,
        anon_kib: p.anon_kib,
        file_kib: p.file_kib,
        report: serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap(),
    }
}

#[test]
fn follow_peak_rss_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = follow_transcript(dir.path(), 0);
    let t = Instant::now();
    let large = follow_transcript(dir.path(), 4);
    let took = t.elapsed();
    eprintln!(
        "run --follow: tiny maxrss {} KiB (anon {} file {}); 4 x 64 MiB lines: maxrss {} KiB (anon {} file {}), {} MiB in {took:.2?}",
        tiny.maxrss_kib,
        tiny.anon_kib,
        tiny.file_kib,
        large.maxrss_kib,
        large.anon_kib,
        large.file_kib,
        large.report["bytes"].as_u64().unwrap() >> 20,
    );
    assert_eq!(tiny.report["lines"], 1);
    assert!(large.report["bytes"].as_u64().unwrap() >= 256 << 20);
    assert_eq!(large.report["retained"], 8);
    assert_eq!(large.report["oversize_skipped"], 2);
    assert_eq!(large.report["oversize_unclassified"], 2);
    assert_eq!(large.report["malformed_total"], 0);
    assert_eq!(large.report["truncated"], false);
    assert!(
        large.maxrss_kib - tiny.maxrss_kib <= 16 * 1024,
        "peak RSS grew by {} KiB (> 16 MiB) following 4 x 64 MiB lines",
        large.maxrss_kib - tiny.maxrss_kib
    );
}

// ---------------------------------------------------------------------------------------------
// Stopping, fast writers, the API's shape.

/// Stops after `n` retained events.
struct StopAfter(usize, Record);

impl Sink for StopAfter {
    type Error = spoolscan::Error;
    fn retained(&mut self, e: &mut Event<'_>) -> Result<bool, Self::Error> {
        self.1.retained(e)?;
        self.0 -= 1;
        Ok(self.0 > 0)
    }
    fn malformed(&mut self, m: &Malformed) -> Result<bool, Self::Error> {
        self.1.malformed(m)
    }
    fn finish(&mut self, report: &Report) -> Result<(), Self::Error> {
        self.1.finish(report)
    }
}

#[test]
fn a_sink_that_stops_stops_the_follower_as_it_stops_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stop.ndjson");
    let mut r = Rng(4242);
    let data = file(&mut r, &SMALL, 200, 0);
    std::fs::write(&path, &data).unwrap();
    let b = codex_builder();
    let mut want = StopAfter(3, Record::default());
    let want_report = b.build().unwrap().scan_path(&path, &mut want).unwrap();
    let mut follower = Follower::open(b.build().unwrap(), &path).unwrap();
    let mut got = StopAfter(3, Record::default());
    follower.follow(&mut got, || false).unwrap();
    assert!(follower.is_stopped());
    let report = follower.finish(&mut got).unwrap();
    assert_eq!(report, want_report);
    assert_eq!(got.1.calls, want.1.calls);
    assert!(report.lines < 200);
}

/// A child that writes faster than the follower scans still hits its cap (and its timeout):
/// `follow` asks whether the child is done at least every few tens of milliseconds.
#[test]
fn cli_run_follow_enforces_cap_and_timeout_with_a_fast_writer() {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_spoolscan"))
        .args([
            "run",
            "--follow",
            "--max-spool",
            "4MiB",
            "--keep",
            "type=none",
        ])
        .args(["--", "sh", "-c", "yes '{\"type\":\"x\"}'"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(125),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("spool size cap (max_spool)"));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let out = Command::new(env!("CARGO_BIN_EXE_spoolscan"))
        .args([
            "run",
            "--follow",
            "--timeout",
            "300ms",
            "--grace",
            "100ms",
            "--keep",
            "type=x",
        ])
        .args([
            "--",
            "sh",
            "-c",
            "while :; do echo '{\"type\":\"x\"}'; done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(124),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.starts_with(b"{\"type\":\"x\"}\n"));
}

/// `poll` returns after a bounded amount of work while the file holds more, so a loop around
/// it (and `follow`, which asks `done` each time) keeps control behind a fast writer.
#[test]
fn poll_returns_while_more_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backlog.ndjson");
    let data = "{\"type\":\"x\"}\n".repeat(4 << 20);
    std::fs::write(&path, &data).unwrap();
    let mut follower = Follower::open(codex_builder().build().unwrap(), &path).unwrap();
    let mut rec = Record::default();
    let t = Instant::now();
    assert!(follower.poll(&mut rec).unwrap());
    let took = t.elapsed();
    assert!(
        follower.offset() < data.len() as u64,
        "one poll scanned all {} MiB in {took:?}",
        data.len() >> 20
    );
    let mut polls = 1;
    while follower.poll(&mut rec).unwrap() {
        polls += 1;
    }
    assert_eq!(follower.offset(), data.len() as u64);
    eprintln!(
        "first poll: {took:?}; {polls} polls for {} MiB",
        data.len() >> 20
    );
    assert!(polls > 1);
}

#[test]
fn follower_and_running_are_send() {
    fn send<T: Send>() {}
    send::<Follower>();
    send::<spoolscan::Running>();
}

/// `run --follow --profile`: a live status line on a terminal (through script(1)'s pty), none
/// otherwise, and the summary on stdout at the end.
#[test]
fn cli_run_follow_profile_shows_a_live_status_on_a_terminal() {
    if !Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("skipped: no script(1) to provide a terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agent.sh");
    std::fs::write(
        &agent,
        r#"echo '{"type":"thread.started","thread_id":"t1"}'
echo '{"type":"item.started","item":{"id":"1","type":"command_execution","command":"cargo test --release"}}'
sleep 0.5
echo '{"type":"item.completed","item":{"id":"2","type":"agent_message","text":"All tests pass."}}'
echo '{"type":"turn.completed","usage":{"input_tokens":1234,"output_tokens":56}}'
sleep 0.5
"#,
    )
    .unwrap();
    let out = dir.path().join("summary.json");
    let bin = env!("CARGO_BIN_EXE_spoolscan");
    let cmd = format!(
        "'{bin}' run --follow --profile codex -- sh '{}' > '{}'",
        agent.display(),
        out.display()
    );
    let tty = Command::new("script")
        .args(["-qc", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.contains("$ cargo test --release"), "{tty:?}");
    assert!(tty.contains("| > All tests pass."), "{tty:?}");
    assert!(
        tty.contains("tokens 1234 in / 56 out | $ cargo test --release"),
        "{tty:?}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(summary["status"], "ok");
    assert_eq!(summary["answer"], "All tests pass.");
    assert_eq!(summary["session_id"], "t1");

    let plain = Command::new(bin)
        .args(["run", "--follow", "--profile", "codex", "--", "sh"])
        .arg(&agent)
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(0));
    assert!(
        plain.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let plain: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(plain, summary);
}

// ---------------------------------------------------------------------------------------------
// Issue 11: a followed file that shrinks, is rewritten, or is replaced is reported, never
// silently skipped or misread.

fn xlines(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"type\":\"{tag}\",\"i\":{i}}}\n"))
        .collect()
}

/// logrotate's copytruncate: the file is cut to 0 and the writer goes on at its own offset or
/// from the start. Shorter than what was read: "shrank".
#[test]
fn follower_reports_a_truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.ndjson");
    std::fs::write(&path, xlines("old", 10)).unwrap();
    let mut follower = Follower::open(Scanner::builder().build().unwrap(), &path).unwrap();
    let mut rec = Record::default();
    while follower.poll(&mut rec).unwrap() {}
    assert_eq!(follower.report().retained, 10);
    // Truncated, and a first new line written (shorter than what was read).
    std::fs::write(&path, xlines("new", 1)).unwrap();
    let err = follower.poll(&mut rec).unwrap_err().to_string();
    assert!(err.contains(&*path.to_string_lossy()), "{err}");
    assert!(err.contains("shrank from"), "{err}");
    // finish says the same: the follow cannot be completed as if nothing happened.
    let err = follower.finish(&mut rec).unwrap_err().to_string();
    assert!(err.contains("shrank from"), "{err}");
}

/// Truncated and written again past the read position before the follower looked: the size
/// alone looks like an append, the bytes before the read position tell.
#[test]
fn follower_reports_a_rewritten_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.ndjson");
    std::fs::write(&path, xlines("old", 10)).unwrap();
    let mut follower = Follower::open(Scanner::builder().build().unwrap(), &path).unwrap();
    let mut rec = Record::default();
    while follower.poll(&mut rec).unwrap() {}
    let read = follower.offset();
    // Rewrite in place (same inode) with different, longer content.
    let new = xlines("rewritten-event", 50);
    assert!(new.len() as u64 > read);
    let mut f = OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(0).unwrap();
    f.write_all(new.as_bytes()).unwrap();
    drop(f);
    let err = follower.poll(&mut rec).unwrap_err().to_string();
    assert!(err.contains("rewritten"), "{err}");
    // Only the 10 old lines were pushed; no fragment was logged as malformed.
    assert_eq!(follower.report().retained, 10);
    assert_eq!(follower.report().malformed_total, 0);
}

/// Rotation by rename: a new file takes the path; the followed one no longer grows.
#[test]
fn follower_reports_a_replaced_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.ndjson");
    std::fs::write(&path, xlines("old", 3)).unwrap();
    let mut follower = Follower::open(Scanner::builder().build().unwrap(), &path).unwrap();
    let mut rec = Record::default();
    while follower.poll(&mut rec).unwrap() {}
    let fresh = dir.path().join("fresh");
    std::fs::write(&fresh, xlines("fresh", 3)).unwrap();
    std::fs::rename(&fresh, &path).unwrap();
    let err = follower.poll(&mut rec).unwrap_err().to_string();
    assert!(err.contains("replaced"), "{err}");
    // A path that is simply gone is not an error: the writer may still append.
    let dir2 = tempfile::tempdir().unwrap();
    let p2 = dir2.path().join("gone.ndjson");
    std::fs::write(&p2, xlines("a", 2)).unwrap();
    let mut f2 = Follower::open(Scanner::builder().build().unwrap(), &p2).unwrap();
    let mut rec2 = Record::default();
    while f2.poll(&mut rec2).unwrap() {}
    std::fs::remove_file(&p2).unwrap();
    assert!(!f2.poll(&mut rec2).unwrap());
    assert_eq!(f2.finish(&mut rec2).unwrap().retained, 2);
}
