//! The parallel scan (`ScannerBuilder::threads`) against the sequential scan of the same bytes:
//! for random NDJSON (giant lines, blank lines, CR LF, invalid lines, no final LF, a BOM),
//! random thread counts and random chunk sizes down to one byte, every sink call (retained
//! lines with their number, offset, bytes and decoded value; dropped, malformed and
//! unclassified lines), their order, and the report are the same; also when the sink stops
//! the scan at a random call. The line numbers and offsets are also checked against a plain
//! count of the LFs before each offset.

use std::io::Write;

use proptest::prelude::*;
use spoolscan::{Dropped, Event, Malformed, Report, Scanner, ScannerBuilder, Selector, Sink};

/// A tiny deterministic PRNG (xorshift), so one proptest seed gives one input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const TYPES: &[&str] = &["error", "turn.completed", "item.completed", "x", "ERROR"];
const ITEM_TYPES: &[&str] = &["agent_message", "reasoning", "command_execution"];

fn line(r: &mut Rng, out: &mut Vec<u8>) {
    match r.below(20) {
        0..=8 => {
            let t = r.pick(TYPES);
            let it = r.pick(ITEM_TYPES);
            let s = match r.below(3) {
                0 => format!(r#"{{"type":"{t}","n":{}}}"#, r.below(1000)),
                1 => format!(r#"{{"type":"{t}","item":{{"type":"{it}","text":"a\"b\\c"}}}}"#),
                _ => format!(r#"{{"item":{{"id":"i","type":"{it}"}},"type":"{t}"}}"#),
            };
            out.extend_from_slice(s.as_bytes());
        }
        9 | 10 => out.extend_from_slice(r.pick(&["", " ", "\t", "\r", " \t"]).as_bytes()),
        11 | 12 => out.extend_from_slice(
            r.pick(&[
                "not json",
                "{\"type\":\"error\"",
                "{\"type\":\"error\",}",
                "[1,2",
                "{\"type\":\"error\"} x",
            ])
            .as_bytes(),
        ),
        13 => out.extend_from_slice(b"{\"type\":\"error\",\"t\":\"\xff\"}"),
        14 => out.extend_from_slice(r.pick(&["[1,2]", "3", "\"s\"", "null"]).as_bytes()),
        _ => {
            // A giant line: its deciding key before or after a long string, sometimes cut.
            let body = "x\\\"y".repeat(r.below(400) + 20);
            let t = r.pick(TYPES);
            let s = if r.below(2) == 0 {
                format!(r#"{{"type":"{t}","out":"{body}"}}"#)
            } else {
                format!(r#"{{"out":"{body}","item":{{"type":"agent_message"}},"type":"{t}"}}"#)
            };
            let s = if r.below(6) == 0 {
                &s[..s.len() / 2]
            } else {
                &s[..]
            };
            out.extend_from_slice(s.as_bytes());
        }
    }
}

fn gen_file(seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    let mut out = Vec::new();
    if r.below(8) == 0 {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    for _ in 0..r.below(120) {
        line(&mut r, &mut out);
        out.extend_from_slice(if r.below(5) == 0 { b"\r\n" } else { b"\n" });
    }
    if r.below(3) == 0 {
        line(&mut r, &mut out); // no final LF
    }
    out
}

/// One sink call.
#[derive(Debug, PartialEq)]
enum Call {
    Retained {
        number: u64,
        offset: u64,
        bytes: Vec<u8>,
        value: Option<serde_json::Value>,
    },
    Dropped(Dropped),
    Malformed(Malformed),
    Unclassified(u64, u64, u64),
    Finish(Report),
}

/// Records every call; stops (returns `Ok(false)`) at call number `stop_at`; decodes every
/// other retained line.
struct Record {
    calls: Vec<Call>,
    stop_at: usize,
}

impl Record {
    fn go(&mut self, call: Call) -> Result<bool, spoolscan::Error> {
        self.calls.push(call);
        Ok(self.calls.len() != self.stop_at)
    }
}

impl Sink for Record {
    type Error = spoolscan::Error;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Self::Error> {
        let value = self.calls.len().is_multiple_of(2).then(|| {
            event
                .decode::<serde_json::Value>()
                .expect("a retained line decodes")
        });
        self.go(Call::Retained {
            number: event.number(),
            offset: event.offset(),
            bytes: event.bytes().to_vec(),
            value,
        })
    }
    fn dropped(&mut self, entry: &Dropped) -> Result<bool, Self::Error> {
        self.go(Call::Dropped(entry.clone()))
    }
    fn malformed(&mut self, entry: &Malformed) -> Result<bool, Self::Error> {
        self.go(Call::Malformed(entry.clone()))
    }
    fn unclassified(&mut self, line: u64, offset: u64, len: u64) -> Result<bool, Self::Error> {
        self.go(Call::Unclassified(line, offset, len))
    }
    fn finish(&mut self, report: &Report) -> Result<(), Self::Error> {
        self.calls.push(Call::Finish(report.clone()));
        Ok(())
    }
}

fn builder(r: &mut Rng) -> ScannerBuilder {
    let mut b = Scanner::builder();
    match r.below(4) {
        0 => {}
        1 => {
            b.select(Selector::new().equals("type", ["error"]).unwrap());
        }
        _ => {
            b.select(
                Selector::new()
                    .equals("type", ["turn.completed", "error"])
                    .unwrap()
                    .equals("item.type", ["agent_message"])
                    .unwrap(),
            );
        }
    }
    if r.below(2) == 0 {
        // Small limits: oversize lines (skipped, unclassified) and drops over the ceiling.
        b.probe(24).max_line(200).ceiling(800);
    }
    b.validate_all(r.below(4) == 0)
        .case_sensitive(r.below(4) == 0);
    b
}

/// The line number of `offset` by counting LFs: the independent check of numbering.
fn number_at(data: &[u8], offset: u64) -> u64 {
    data[..offset as usize]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

fn check(seed: u64, threads: usize, chunk: usize, stop_seed: u64, via_file: bool) {
    let data = gen_file(seed);
    let mut r = Rng(seed.rotate_left(17) | 1);
    let mut b = builder(&mut r);
    let scan = |b: &ScannerBuilder, stop_at: usize| -> (Vec<Call>, Report) {
        let mut sink = Record {
            calls: vec![],
            stop_at,
        };
        let mut scanner = b.build().unwrap();
        let report = if via_file {
            let mut f = tempfile::NamedTempFile::new().unwrap();
            f.write_all(&data).unwrap();
            f.flush().unwrap();
            scanner.scan_path(f.path(), &mut sink).unwrap()
        } else {
            scanner.scan_slice(&data, &mut sink).unwrap()
        };
        (sink.calls, report)
    };
    let (all, _) = scan(&b, usize::MAX);
    // Stop at a random call (or never).
    let stop_at = (stop_seed as usize) % (all.len() + 2);
    let stop_at = if stop_at == 0 { usize::MAX } else { stop_at };
    let (seq, seq_report) = scan(&b, stop_at);
    b.threads(threads).chunk_size(chunk);
    let (par, par_report) = scan(&b, stop_at);
    assert_eq!(par_report, seq_report, "report; seed {seed}");
    assert_eq!(par.len(), seq.len(), "number of calls; seed {seed}");
    for (i, (p, s)) in par.iter().zip(&seq).enumerate() {
        assert_eq!(p, s, "call {i}; seed {seed}");
    }
    for call in &seq {
        let (number, offset) = match call {
            Call::Retained { number, offset, .. } => (*number, *offset),
            Call::Dropped(d) => (d.line, d.offset),
            Call::Malformed(m) => (m.line, m.offset),
            Call::Unclassified(n, o, _) => (*n, *o),
            Call::Finish(_) => continue,
        };
        assert_eq!(number, number_at(&data, offset), "seed {seed}");
    }
    assert!(par_report.is_consistent());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn parallel_equals_sequential(
        seed in any::<u64>(),
        threads in 2usize..=8,
        chunk in prop_oneof![1usize..16, 16usize..400, 400usize..4000],
        stop in any::<u64>(),
    ) {
        check(seed, threads, chunk, stop, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 60, ..ProptestConfig::default() })]

    /// The same through a mapped file (the pager releases pages behind the workers).
    #[test]
    fn parallel_equals_sequential_on_a_mapped_file(
        seed in any::<u64>(),
        threads in 2usize..=8,
        chunk in 1usize..600,
        stop in any::<u64>(),
    ) {
        check(seed, threads, chunk, stop, true);
    }
}

/// Many chunks, a sink that stops at the first retained line: the scan stops there (the
/// workers do not go on to the end), with the sequential report.
#[test]
fn a_sink_that_stops_stops_the_scan() {
    let mut data = Vec::new();
    for i in 0..200_000 {
        writeln!(
            data,
            r#"{{"type":"{}","i":{i}}}"#,
            if i == 1000 { "error" } else { "x" }
        )
        .unwrap();
    }
    let sel = || Selector::new().equals("type", ["error"]).unwrap();
    let mut seq = Scanner::builder().select(sel()).build().unwrap();
    let mut par = Scanner::builder()
        .select(sel())
        .threads(4)
        .chunk_size(4096)
        .build()
        .unwrap();
    let (mut a, mut b) = (vec![], vec![]);
    let ra = seq
        .scan_slice(
            &data,
            spoolscan::sinks::Raw::new(|line| {
                a.push(line.number());
                Ok(false)
            }),
        )
        .unwrap();
    let rb = par
        .scan_slice(
            &data,
            spoolscan::sinks::Raw::new(|line| {
                b.push(line.number());
                Ok(false)
            }),
        )
        .unwrap();
    assert_eq!((a, b.clone()), (vec![1001], vec![1001]));
    assert_eq!(ra, rb);
    assert_eq!((rb.lines, rb.skipped, rb.retained), (1001, 1000, 1));
}

/// Every sink call of a scan of `data` that keeps `type=error`, with `threads` and `chunk`.
fn errors_kept(data: &[u8], threads: usize, chunk: usize) -> Vec<Call> {
    let mut sink = Record {
        calls: vec![],
        stop_at: usize::MAX,
    };
    Scanner::builder()
        .select(Selector::new().equals("type", ["error"]).unwrap())
        .threads(threads)
        .chunk_size(chunk)
        .build()
        .unwrap()
        .scan_slice(data, &mut sink)
        .unwrap();
    sink.calls
}

/// Chunks of tiny malformed lines fill a worker's record budget: the calling thread settles
/// the rest of those chunks itself, and the calls and report are still the sequential ones.
#[test]
fn chunks_over_the_record_budget() {
    let data = b"x\n{\"type\":\"error\"}\n".repeat(300_000);
    let calls: Vec<_> = [1, 3]
        .map(|threads| errors_kept(&data, threads, 4 << 20))
        .into();
    assert_eq!(calls[0].len(), 600_001);
    assert!(calls[0] == calls[1]);
}

/// Workers copy the retained lines of a chunk for the calling thread up to a budget
/// (256 KiB) and record the rest by offset: chunks that retain several MiB of distinct lines
/// of every size hand on each one's own bytes, in order, past the budget too.
#[test]
fn retained_lines_copied_and_not() {
    let mut data = Vec::new();
    for i in 0..40_000usize {
        let pad = "p".repeat(i * 7919 % 600);
        data.extend_from_slice(
            format!("{{\"type\":\"error\",\"n\":{i},\"pad\":\"{pad}\"}}\n").as_bytes(),
        );
        if i % 5 == 0 {
            data.extend_from_slice(format!("{{\"type\":\"x\",\"n\":{i}}}\n").as_bytes());
        }
    }
    let scan = |threads: usize| errors_kept(&data, threads, 3 << 20);
    let seq = scan(1);
    assert_eq!(seq.len(), 40_001);
    for threads in [2, 3] {
        let par = scan(threads);
        assert_eq!(par.len(), seq.len());
        for (a, b) in seq.iter().zip(&par) {
            assert_eq!(a, b, "{threads} threads");
        }
    }
}

/// `Summarizer::threads`: the summary of a Codex transcript larger than a chunk (with
/// invalid and unclassified lines) is the sequential one.
#[test]
fn summaries_are_the_same_with_threads() {
    use spoolscan::{Profile, Summarizer};
    let mut data = String::from("{\"type\":\"thread.started\",\"thread_id\":\"t1\"}\n");
    let big = "y".repeat(64 << 10);
    for i in 0..40_000 {
        data.push_str("{\"type\":\"turn.started\"}\n");
        data.push_str(&format!(
            "{{\"type\":\"item.completed\",\"item\":{{\"id\":\"m{i}\",\"type\":\"agent_message\",\"text\":\"answer {i}\"}}}}\n"
        ));
        if i % 1000 == 7 {
            data.push_str("not json\n");
            data.push_str(&format!(
                "{{\"item\":{{\"id\":\"c{i}\",\"aggregated_output\":\"{big}\"}},\"type\":\"item.completed\"}}\n"
            ));
        }
        data.push_str(&format!(
            "{{\"type\":\"turn.completed\",\"usage\":{{\"input_tokens\":{i},\"output_tokens\":1}}}}\n"
        ));
    }
    assert!(data.len() > 8 << 20, "{}", data.len());
    let summary = |threads| {
        let mut s = Summarizer::new(Profile::Codex);
        s.threads(threads).max_line(16 << 10).probe(1 << 10);
        s.summarize(data.as_bytes()).unwrap()
    };
    let (seq, par) = (summary(1), summary(3));
    assert_eq!(par, seq);
    assert_eq!(seq.report.oversize_unclassified, 40);
    assert_eq!(seq.report.lines, 120_081);
}

/// An absurd thread count is capped (no more workers than chunks, nor than 256), not an
/// attempt to start millions of threads.
#[test]
fn a_huge_thread_count_is_capped() {
    let data = b"{\"type\":\"error\"}\n{\"type\":\"x\"}\nnot json\n".repeat(2000);
    let sel = || Selector::new().equals("type", ["error"]).unwrap();
    let scan = |threads: usize, chunk: usize| {
        let mut sink = Record {
            calls: vec![],
            stop_at: usize::MAX,
        };
        let report = Scanner::builder()
            .select(sel())
            .threads(threads)
            .chunk_size(chunk)
            .build()
            .unwrap()
            .scan_slice(&data, &mut sink)
            .unwrap();
        (sink.calls, report)
    };
    let seq = scan(1, 1 << 20);
    assert_eq!(scan(usize::MAX, 64), seq);
    assert_eq!(scan(1_000_000, 1), seq);
    assert_eq!((seq.1.retained, seq.1.skipped), (2000, 4000));
}

/// `spoolscan scan --threads N` writes the same lines and the same report as `--threads 1`,
/// also with `--max-count` (a sink that stops) and `--validate-all`.
#[test]
fn the_cli_output_is_the_same_with_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.ndjson");
    let mut data = Vec::new();
    let mut r = Rng(7);
    while data.len() < 12 << 20 {
        line(&mut r, &mut data);
        data.extend_from_slice(if r.below(5) == 0 { b"\r\n" } else { b"\n" });
    }
    std::fs::write(&path, &data).unwrap();
    let run = |threads: &str, extra: &[&str]| {
        let stats = dir.path().join(format!("stats-{threads}.json"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_spoolscan"))
            .args([
                "scan",
                "-q",
                "--keep",
                "type=error,turn.completed",
                "--threads",
                threads,
            ])
            .args(extra)
            .arg("--stats")
            .arg(&stats)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (out.stdout, std::fs::read_to_string(&stats).unwrap())
    };
    for extra in [&[][..], &["--max-count", "5000"], &["--validate-all"]] {
        let seq = run("1", extra);
        assert!(!seq.0.is_empty());
        assert!(seq.0.len() < data.len());
        for threads in ["2", "5"] {
            let par = run(threads, extra);
            assert!(
                par.0 == seq.0,
                "output differs with --threads {threads} {extra:?}"
            );
            assert_eq!(par.1, seq.1, "--threads {threads} {extra:?}");
        }
    }
}
