//! Throughput benchmarks: spoolscan against its practical limit (memchr over the mapping) and
//! against per-line parsing with serde_json and simd-json, in the same criterion groups so
//! that ratios are read off one run.
//!
//! ```text
//! cargo bench --bench scan                       # everything, 256 MiB inputs
//! SPOOLSCAN_BENCH_MIB=1024 cargo bench --bench scan -- select
//! ```
//!
//! Inputs (generated deterministically before anything is timed, written to a temporary file
//! and mapped; `examples/gen.rs` writes the same bytes):
//! (a) `transcript`: an agent transcript, ~60% of its bytes in tool-output lines of 8-64 MiB;
//! (b) `logs`: small log-like lines of 100 B - 2 KiB, ~2% retained;
//! (c) `events`: GitHub-Archive-like events of 0.2-20 KiB, about half `PushEvent`.
//!
//! Groups:
//! - `newlines`: memchr newline count over the mapping, `BufRead::read_until` over the file,
//!   spoolscan's `LineIter` over the mapping.
//! - `select`: the Codex selection (`type` in turn.completed, error, turn.failed;
//!   `item.type` = agent_message). `spoolscan` is `Scanner::scan_path` as the CLI runs it
//!   (fresh mapping, page release); `spoolscan_no_release` scans a fresh mapping without
//!   releasing pages; `spoolscan_slice` scans the already-resident mapping (CPU only).
//!   Baselines: `memchr_limit` (newline count over the resident mapping), `memchr_fresh_map`
//!   (the same over a fresh mapping: the page-fault cost every mapped scan pays),
//!   `simd_json_per_line` and `serde_json_per_line` making the same selection, and
//!   `decode_retained_only` (simd-json on the retained lines alone: the decoding any design
//!   must do, so `memchr_limit` plus it bounds what `spoolscan` can reach).
//! - `events` (input c): `spoolscan_all` keeps every line (each validated in full, grammar and
//!   UTF-8, nothing decoded), `spoolscan_push_event` keeps `type` = PushEvent (about half);
//!   baselines `serde_json_validate_per_line` (serde_json `IgnoredAny` over every line: the
//!   same validation by serde) and `simd_json_per_line_all` (simd-json's full parse of every
//!   line, into a reused tape).
//! - `probe`: classification on sets of lines of one shape each (scan_slice over many copies;
//!   every line is skipped except in `retained_agent_message`, which includes decoding).
//!
//! Environment: `SPOOLSCAN_BENCH_MIB` (input size, default 256), `SPOOLSCAN_BENCH_DIR` (where
//! the inputs are written, default the system temporary directory).

use std::borrow::Cow;
use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use memmap2::{Advice, Mmap};
use serde::Deserialize;
use simd_json::prelude::*;
use spoolscan::{Line, LineIter, Report, Scanner, Selector, sinks::Raw};

#[path = "gen/mod.rs"]
mod generator;

use generator::Kind;

/// One generated input, on disk and mapped.
struct Input {
    kind: Kind,
    path: PathBuf,
    map: Mmap,
    stats: generator::Stats,
}

impl Input {
    fn create(dir: &std::path::Path, kind: Kind, size: u64) -> Input {
        let path = dir.join(format!("{}.ndjson", kind.name()));
        let mut out = std::io::BufWriter::with_capacity(1 << 20, File::create(&path).unwrap());
        let stats = generator::write(kind, size, generator::SEED, &mut out).unwrap();
        std::io::Write::flush(&mut out).unwrap();
        drop(out);
        let file = File::open(&path).unwrap();
        // SAFETY: a file this process just wrote in its own temporary directory and does not
        // modify while mapped.
        let map = unsafe { Mmap::map(&file) }.unwrap();
        let _ = map.advise(Advice::WillNeed);
        eprintln!(
            "input {}: {} bytes, {} lines, {} retained, {} lines over 1 MiB ({:.0}% of bytes), \
             longest {} bytes",
            kind.name(),
            stats.bytes,
            stats.lines,
            stats.retained,
            stats.giant_lines,
            stats.giant_bytes as f64 * 100.0 / stats.bytes as f64,
            stats.longest
        );
        Input {
            kind,
            path,
            map,
            stats,
        }
    }

    /// A fresh read-only mapping of the file, advised sequential (as spoolscan maps).
    fn fresh_map(&self) -> Mmap {
        let file = File::open(&self.path).unwrap();
        // SAFETY: as in `create`.
        let map = unsafe { Mmap::map(&file) }.unwrap();
        let _ = map.advise(Advice::Sequential);
        map
    }
}

fn codex_selector() -> Selector {
    Selector::new()
        .equals("type", ["turn.completed", "error", "turn.failed"])
        .unwrap()
        .equals("item.type", ["agent_message"])
        .unwrap()
}

fn scanner() -> Scanner {
    Scanner::builder().select(codex_selector()).build().unwrap()
}

/// The selection, as the baselines apply it to a parsed value.
fn keep(ty: Option<&str>, item_ty: Option<&str>) -> bool {
    ty.is_some_and(|t| {
        ["turn.completed", "error", "turn.failed"]
            .iter()
            .any(|w| t.eq_ignore_ascii_case(w))
    }) || item_ty.is_some_and(|t| t.eq_ignore_ascii_case("agent_message"))
}

/// A sink callback that keeps going.
fn yes(_: Line<'_>) -> Result<bool, spoolscan::Error> {
    Ok(true)
}

/// Counts retained lines; every retained line has been parsed by simd-json.
fn spoolscan_count(scanner: &mut Scanner, data: &[u8]) -> Report {
    scanner.scan_slice(data, Raw(yes)).unwrap()
}

/// The serde_json baseline: a typed, borrowing decode of every line (the fastest way to use
/// serde_json per line: it skips the fields it does not need without building them).
#[derive(Deserialize)]
struct SerdeSel<'a> {
    #[serde(borrow, rename = "type")]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    item: Option<SerdeItem<'a>>,
}

#[derive(Deserialize)]
struct SerdeItem<'a> {
    #[serde(borrow, rename = "type")]
    ty: Option<Cow<'a, str>>,
}

fn serde_json_per_line(data: &[u8]) -> u64 {
    let mut kept = 0;
    for line in data.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        if let Ok(v) = serde_json::from_slice::<SerdeSel<'_>>(line) {
            kept += keep(
                v.ty.as_deref(),
                v.item.as_ref().and_then(|i| i.ty.as_deref()),
            ) as u64;
        }
    }
    kept
}

/// The simd-json baseline: every line copied into one reused padded buffer and parsed into a
/// reused tape (`fill_tape_padded`, simd-json's fastest API), then looked up.
fn simd_json_per_line(data: &[u8]) -> u64 {
    let mut buf: Vec<u8> = Vec::new();
    let mut buffers = simd_json::Buffers::default();
    let mut tape = simd_json::Tape::null();
    let mut kept = 0;
    for line in memchr::memchr_iter(b'\n', data).scan(0, |start, end| {
        let l = &data[*start..end];
        *start = end + 1;
        Some(l)
    }) {
        if line.is_empty() {
            continue;
        }
        buf.clear();
        buf.extend_from_slice(line);
        buf.resize(line.len() + simd_json::INPUT_PADDING, 0);
        let mut t = tape.reset();
        if simd_json::fill_tape_padded(&mut buf, line.len(), &mut buffers, &mut t).is_ok() {
            let v = t.as_value();
            let ty = v.get("type");
            let item = v.get("item");
            let item_ty = item.as_ref().and_then(|i| i.get("type"));
            let (ty, item_ty) = (
                ty.as_ref().and_then(|x| x.as_str()),
                item_ty.as_ref().and_then(|x| x.as_str()),
            );
            kept += keep(ty, item_ty) as u64;
        }
        tape = t.reset();
    }
    kept
}

/// (offset, len) of every line the Codex selection retains.
fn retained_lines(scanner: &mut Scanner, data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    scanner
        .scan_slice(
            data,
            Raw::new(|l: Line<'_>| {
                out.push((l.offset() as usize, l.len()));
                Ok(true)
            }),
        )
        .unwrap();
    out
}

/// Parses the given lines with simd-json as spoolscan's decoder does (copy into a reused
/// padded buffer, `fill_tape_padded`). Returns how many parsed.
fn simd_json_lines(data: &[u8], lines: &[(usize, usize)]) -> u64 {
    let mut buf: Vec<u8> = Vec::new();
    let mut buffers = simd_json::Buffers::default();
    let mut tape = simd_json::Tape::null();
    let mut ok = 0;
    for &(off, len) in lines {
        buf.clear();
        buf.extend_from_slice(&data[off..off + len]);
        buf.resize(len + simd_json::INPUT_PADDING, 0);
        let mut t = tape.reset();
        ok += simd_json::fill_tape_padded(&mut buf, len, &mut buffers, &mut t).is_ok() as u64;
        tape = t.reset();
    }
    ok
}

fn read_until_count(input: &Input) -> u64 {
    let mut r = BufReader::with_capacity(64 << 10, File::open(&input.path).unwrap());
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf).unwrap() == 0 {
            return n;
        }
        n += 1;
    }
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
}

fn newlines(c: &mut Criterion, inputs: &[Input]) {
    let mut g = c.benchmark_group("newlines");
    configure(&mut g);
    for input in inputs {
        let name = input.kind.name();
        g.throughput(Throughput::Bytes(input.stats.bytes));
        g.bench_function(BenchmarkId::new("memchr_count", name), |b| {
            b.iter(|| memchr::memchr_iter(b'\n', black_box(&input.map[..])).count())
        });
        g.bench_function(BenchmarkId::new("read_until", name), |b| {
            b.iter(|| read_until_count(input))
        });
        g.bench_function(BenchmarkId::new("spoolscan_lines", name), |b| {
            b.iter(|| LineIter::new(black_box(&input.map[..])).count())
        });
    }
    g.finish();
}

fn select(c: &mut Criterion, inputs: &[Input]) {
    let mut g = c.benchmark_group("select");
    configure(&mut g);
    let mut sc = scanner();
    for input in inputs {
        let name = input.kind.name();
        g.throughput(Throughput::Bytes(input.stats.bytes));
        g.bench_function(BenchmarkId::new("memchr_limit", name), |b| {
            b.iter(|| memchr::memchr_iter(b'\n', black_box(&input.map[..])).count())
        });
        g.bench_function(BenchmarkId::new("memchr_fresh_map", name), |b| {
            b.iter(|| memchr::memchr_iter(b'\n', &input.fresh_map()[..]).count())
        });
        g.bench_function(BenchmarkId::new("spoolscan", name), |b| {
            b.iter(|| sc.scan_path(&input.path, Raw(yes)).unwrap())
        });
        g.bench_function(BenchmarkId::new("spoolscan_no_release", name), |b| {
            b.iter(|| spoolscan_count(&mut sc, &input.fresh_map()[..]))
        });
        g.bench_function(BenchmarkId::new("spoolscan_slice", name), |b| {
            b.iter(|| spoolscan_count(&mut sc, black_box(&input.map[..])))
        });
        // The decoding every design must do: simd-json on the retained lines only (their
        // positions found beforehand, untimed). With `memchr_limit` it bounds `spoolscan`.
        let retained = retained_lines(&mut sc, &input.map);
        g.bench_function(BenchmarkId::new("decode_retained_only", name), |b| {
            b.iter(|| simd_json_lines(black_box(&input.map[..]), &retained))
        });
        g.bench_function(BenchmarkId::new("simd_json_per_line", name), |b| {
            b.iter(|| simd_json_per_line(black_box(&input.map[..])))
        });
        g.bench_function(BenchmarkId::new("serde_json_per_line", name), |b| {
            b.iter(|| serde_json_per_line(black_box(&input.map[..])))
        });
    }
    g.finish();
}

/// The lines of `data` (LF-separated, none empty in the generated inputs).
fn lines_of(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// serde_json's validation of every line (`IgnoredAny`: the grammar and UTF-8, no value
/// built). Returns how many lines are valid.
fn serde_json_validate_per_line(data: &[u8]) -> u64 {
    lines_of(data)
        .filter(|l| serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok())
        .count() as u64
}

/// simd-json's full parse of every line (copied into a reused padded buffer, a reused tape).
/// Returns how many lines parse.
fn simd_json_per_line_all(data: &[u8]) -> u64 {
    let mut buf: Vec<u8> = Vec::new();
    let mut buffers = simd_json::Buffers::default();
    let mut tape = simd_json::Tape::null();
    let mut ok = 0;
    for line in lines_of(data) {
        buf.clear();
        buf.extend_from_slice(line);
        buf.resize(line.len() + simd_json::INPUT_PADDING, 0);
        let mut t = tape.reset();
        ok +=
            simd_json::fill_tape_padded(&mut buf, line.len(), &mut buffers, &mut t).is_ok() as u64;
        tape = t.reset();
    }
    ok
}

fn events(c: &mut Criterion, input: &Input) {
    let mut g = c.benchmark_group("events");
    configure(&mut g);
    let name = input.kind.name();
    g.throughput(Throughput::Bytes(input.stats.bytes));
    let mut all = Scanner::builder().build().unwrap();
    let mut push = Scanner::builder()
        .select(Selector::new().equals("type", ["PushEvent"]).unwrap())
        .case_sensitive(true)
        .build()
        .unwrap();
    g.bench_function(BenchmarkId::new("memchr_limit", name), |b| {
        b.iter(|| memchr::memchr_iter(b'\n', black_box(&input.map[..])).count())
    });
    g.bench_function(BenchmarkId::new("spoolscan_all", name), |b| {
        b.iter(|| spoolscan_count(&mut all, black_box(&input.map[..])))
    });
    g.bench_function(BenchmarkId::new("spoolscan_push_event", name), |b| {
        b.iter(|| spoolscan_count(&mut push, black_box(&input.map[..])))
    });
    g.bench_function(
        BenchmarkId::new("serde_json_validate_per_line", name),
        |b| b.iter(|| serde_json_validate_per_line(black_box(&input.map[..]))),
    );
    g.bench_function(BenchmarkId::new("simd_json_per_line_all", name), |b| {
        b.iter(|| simd_json_per_line_all(black_box(&input.map[..])))
    });
    g.finish();
}

/// The `events` input's counts agree: every line valid for spoolscan, serde_json and
/// simd-json; spoolscan keeps the generator's PushEvents.
fn check_events(input: &Input) {
    let r = Scanner::builder()
        .build()
        .unwrap()
        .scan_slice(&input.map, Raw(yes))
        .unwrap();
    assert_eq!(
        (r.retained, r.malformed_total),
        (input.stats.lines, 0),
        "{r:?}"
    );
    assert_eq!(serde_json_validate_per_line(&input.map), input.stats.lines);
    assert_eq!(simd_json_per_line_all(&input.map), input.stats.lines);
    let push = Scanner::builder()
        .select(Selector::new().equals("type", ["PushEvent"]).unwrap())
        .case_sensitive(true)
        .build()
        .unwrap()
        .scan_slice(&input.map, Raw(yes))
        .unwrap();
    assert_eq!(push.retained, input.stats.push_events, "{push:?}");
}

/// Lines of one shape each, for the `probe` group: (name, line).
fn probe_shapes() -> Vec<(&'static str, String)> {
    let prose = "the test suite passes now, I will check whether the parser handles \\\"escaped\\\" \
                 quotes and newlines\\n in tool output ";
    let long_text = prose.repeat(8);
    let numbers: Vec<String> = (0..120)
        .map(|i| format!("0.{:06}", i * 7919 % 1_000_000))
        .collect();
    vec![
        // Decided by `item.type` a few bytes in; the rest of the line is never read.
        (
            "item_type_early_skip",
            format!(
                r#"{{"type":"item.completed","item":{{"id":"item_7","type":"reasoning","text":"{long_text}"}}}}"#
            ),
        ),
        // No `item` key: the probe reads the whole line, jumping through strings.
        (
            "no_item_full_scan",
            format!(
                r#"{{"timestamp":"2026-11-25T10:11:12.345Z","type":"log","level":"INFO","target":"codex_core::exec","spans":[{{"name":"turn","id":5}}],"fields":{{"elapsed_ms":17,"message":"{long_text}"}}}}"#
            ),
        ),
        // Strings dense with escapes: memchr2 stops at every backslash.
        (
            "escape_dense_full_scan",
            format!(
                r#"{{"type":"exec_command_output_delta","chunk":"{}"}}"#,
                "a\\\"b\\\\c\\n".repeat(100)
            ),
        ),
        // Nested numeric arrays before the deciding key: the bracket scan walks every byte.
        (
            "nested_numbers_full_scan",
            format!(
                r#"{{"meta":{{"scores":[[{}]],"ok":true}},"type":"log","payload":{{"embedding":[{}]}}}}"#,
                numbers.join(","),
                numbers.join(",")
            ),
        ),
        // Escaped keys and values at the deciding path.
        (
            "escaped_keys_skip",
            format!(
                r#"{{"typ\u0065":"item.upd\u0061ted","it\u0065m":{{"id":"x","typ\u0065":"r\u0065asoning","text":"{prose}"}}}}"#
            ),
        ),
        // Retained: classification plus simd-json decoding of the line.
        (
            "retained_agent_message",
            format!(
                r#"{{"type":"item.completed","item":{{"id":"item_9","type":"agent_message","text":"{long_text}"}}}}"#
            ),
        ),
    ]
}

fn probe(c: &mut Criterion) {
    let mut g = c.benchmark_group("probe");
    configure(&mut g);
    let mut sc = scanner();
    for (name, line) in probe_shapes() {
        let copies = (8 << 20) / (line.len() + 1);
        let mut data = Vec::with_capacity(copies * (line.len() + 1));
        for _ in 0..copies {
            data.extend_from_slice(line.as_bytes());
            data.push(b'\n');
        }
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(BenchmarkId::new("classify", name), |b| {
            // Checked here, so that only the benchmarks selected by a filter run it.
            let r = spoolscan_count(&mut sc, &data);
            let want = if name.starts_with("retained") {
                (copies as u64, 0)
            } else {
                (0, copies as u64)
            };
            assert_eq!((r.retained, r.skipped), want, "{name}: {r:?}");
            b.iter(|| spoolscan_count(&mut sc, black_box(&data)))
        });
    }
    g.finish();
}

/// Every method must make the same selection, or the comparison is meaningless.
fn check(inputs: &[Input]) {
    let mut sc = scanner();
    for input in inputs {
        let want = input.stats.retained;
        let r = sc.scan_path(&input.path, Raw(yes)).unwrap();
        assert_eq!(
            r.retained,
            want,
            "spoolscan on {}: {r:?}",
            input.kind.name()
        );
        assert_eq!(r.malformed_total, 0, "{r:?}");
        assert_eq!(
            simd_json_per_line(&input.map),
            want,
            "simd-json on {}",
            input.kind.name()
        );
        assert_eq!(
            serde_json_per_line(&input.map),
            want,
            "serde_json on {}",
            input.kind.name()
        );
        assert_eq!(LineIter::new(&input.map).count() as u64, input.stats.lines);
        assert_eq!(read_until_count(input), input.stats.lines);
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mib: u64 = std::env::var("SPOOLSCAN_BENCH_MIB")
        .ok()
        .map(|s| {
            s.parse()
                .expect("SPOOLSCAN_BENCH_MIB: a whole number of MiB")
        })
        .unwrap_or(256);
    let base = std::env::var_os("SPOOLSCAN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("spoolscan-bench-")
        .tempdir_in(base)
        .unwrap();
    let inputs: Vec<Input> = [Kind::Transcript, Kind::Logs]
        .into_iter()
        .map(|k| Input::create(dir.path(), k, mib << 20))
        .collect();
    let event_input = Input::create(dir.path(), Kind::Events, mib << 20);
    // Not when profiling (`--profile-time`): the check would dominate the profile.
    if !std::env::args().any(|a| a == "--profile-time") {
        check(&inputs);
        check_events(&event_input);
    }
    newlines(&mut c, &inputs);
    select(&mut c, &inputs);
    events(&mut c, &event_input);
    probe(&mut c);
    c.final_summary();
}
