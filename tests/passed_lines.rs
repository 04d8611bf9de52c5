//! `Sink::passed` and `Sink::read_back` (the bytes a sink gets of the lines the scan does not
//! hand on, and the input read back at the end), checked against the input itself and across
//! every way of scanning: a slice, a mapped file, a copied file, a parallel scan, a reader
//! scanned as it arrives, a follower.

use std::io::Write;

use proptest::prelude::*;
use spoolscan::{
    Category, Event, Follower, Input, Passed, Report, Scanner, ScannerBuilder, Selector, Sink,
};

/// One `passed` call: number, offset, len, category, the bytes given, whether whole.
type Call = (u64, u64, u64, Category, Vec<u8>, bool);

#[derive(Default)]
struct Log {
    skipped: bool,
    calls: Vec<Call>,
    retained: Vec<u64>,
    back: Option<Vec<u8>>,
}

impl Sink for Log {
    type Error = spoolscan::Error;
    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Self::Error> {
        self.retained.push(event.number());
        Ok(true)
    }
    fn wants_skipped(&self) -> bool {
        self.skipped
    }
    fn passed(&mut self, l: &Passed<'_>) -> Result<bool, Self::Error> {
        self.calls.push((
            l.number(),
            l.offset(),
            l.len(),
            l.category(),
            l.bytes().to_vec(),
            l.is_whole(),
        ));
        Ok(true)
    }
    fn read_back(&mut self, input: &Input<'_>, report: &Report) -> Result<(), Self::Error> {
        assert_eq!(input.len(), report.bytes);
        let mut all = Vec::new();
        // Read in odd pieces, backwards, as a walk would.
        let mut end = input.len();
        while end > 0 {
            let from = end.saturating_sub(7);
            let mut piece = input.read(from, (end - from) as usize)?;
            piece.extend_from_slice(&all);
            all = piece;
            end = from;
        }
        assert!(input.read(input.len(), 5)?.is_empty());
        self.back = Some(all);
        Ok(())
    }
}

fn builder() -> ScannerBuilder {
    let mut b = Scanner::builder();
    b.select(Selector::new().equals("type", ["keep"]).unwrap())
        .probe(16)
        .max_line(64)
        .ceiling(128);
    b
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"{\"type\":\"keep\",\"n\":1}".to_vec()),
        Just(b"{\"type\":\"other\"}".to_vec()),
        Just(b"[1,2]".to_vec()),
        Just(b"Reading prompt".to_vec()),
        Just(b"{\"type\":\"keep\",\"bad\":}".to_vec()),
        Just(b"".to_vec()),
        (0usize..300).prop_map(
            |n| format!("{{\"pad\":\"{}\",\"type\":\"keep\"}}", "x".repeat(n)).into_bytes()
        ),
        (0usize..300).prop_map(
            |n| format!("{{\"type\":\"keep\",\"pad\":\"{}\"}}", "x".repeat(n)).into_bytes()
        ),
        (0usize..300).prop_map(
            |n| format!("{{\"type\":\"no\",\"pad\":\"{}\"}}", "x".repeat(n)).into_bytes()
        ),
        (0usize..300).prop_map(|n| format!("[\"{}\"]", "y".repeat(n)).into_bytes()),
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(line(), 0..30), any::<bool>()).prop_map(|(lines, lf)| {
        let mut d = lines.join(&b"\n"[..]);
        if lf && !d.is_empty() {
            d.push(b'\n');
        }
        d
    })
}

/// Every call's bytes are the input's bytes at its offset: the whole line when `is_whole`,
/// else a head of at least `probe` bytes.
fn check_bytes(data: &[u8], log: &Log) {
    for (number, offset, len, cat, bytes, whole) in &log.calls {
        let line = &data[*offset as usize..(*offset + *len) as usize];
        assert!(line.starts_with(bytes), "line {number}");
        assert_eq!(*whole, bytes.len() == line.len());
        assert!(bytes.len() >= line.len().min(16), "line {number} {cat:?}");
    }
}

fn counts(log: &Log, report: &Report) {
    let n = |c: Category| log.calls.iter().filter(|x| x.3 == c).count() as u64;
    assert_eq!(n(Category::Dropped), report.dropped_total);
    assert_eq!(n(Category::Malformed), report.malformed_total);
    assert_eq!(
        n(Category::OversizeUnclassified),
        report.oversize_unclassified
    );
    if log.skipped {
        assert_eq!(n(Category::Skipped), report.skipped);
        assert_eq!(n(Category::OversizeSkipped), report.oversize_skipped);
        assert_eq!(
            log.calls.len() as u64 + report.retained + report.blank,
            report.lines
        );
    } else {
        assert_eq!(n(Category::Skipped) + n(Category::OversizeSkipped), 0);
    }
}

/// The calls without their bytes (a reader or a follower holds only a head of some lines).
fn shape(log: &Log) -> Vec<(u64, u64, u64, Category)> {
    log.calls.iter().map(|c| (c.0, c.1, c.2, c.3)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn passed_lines_agree_everywhere(data in input(), skipped in any::<bool>()) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&data).unwrap();

        let mut slice = Log { skipped, ..Log::default() };
        let report = builder().build().unwrap().scan_slice(&data, &mut slice).unwrap();
        check_bytes(&data, &slice);
        counts(&slice, &report);
        // A slice and a file hold every line whole.
        prop_assert!(slice.calls.iter().all(|c| c.5));
        prop_assert_eq!(slice.back.as_deref(), Some(&data[..]));

        for (how, mut b) in [("mapped", builder()), ("copied", builder()), ("parallel", builder())] {
            match how {
                "copied" => { b.mmap(false); }
                "parallel" => { b.threads(3).chunk_size(64); }
                _ => {}
            }
            let mut log = Log { skipped, ..Log::default() };
            let r = b.build().unwrap().scan_path(file.path(), &mut log).unwrap();
            prop_assert_eq!(&r, &report, "{}", how);
            prop_assert_eq!(&log.calls, &slice.calls, "{}", how);
            prop_assert_eq!(&log.retained, &slice.retained, "{}", how);
            prop_assert_eq!(log.back.as_deref(), Some(&data[..]), "{}", how);
        }

        // A reader scanned as it arrives: same calls, heads where it did not keep a line;
        // it cannot read back.
        let mut reader = Log { skipped, ..Log::default() };
        let r = builder().build().unwrap().scan_reader(&data[..], &mut reader).unwrap();
        prop_assert_eq!(r.lines, report.lines);
        check_bytes(&data, &reader);
        prop_assert_eq!(shape(&reader), shape(&slice));
        prop_assert!(reader.back.is_none());

        // A follower reads the file back at the end.
        let mut follower = Log { skipped, ..Log::default() };
        let mut f = Follower::new(builder().build().unwrap(), file.reopen().unwrap());
        f.poll(&mut follower).unwrap();
        let r = f.finish(&mut follower).unwrap();
        prop_assert_eq!(r.lines, report.lines);
        check_bytes(&data, &follower);
        prop_assert_eq!(shape(&follower), shape(&slice));
        prop_assert_eq!(follower.back.as_deref(), Some(&data[..]));
    }
}

/// A sink that stops in `passed` stops the scan there, as any other call does.
#[test]
fn passed_can_stop_the_scan() {
    struct StopAtMalformed(u64);
    impl Sink for StopAtMalformed {
        type Error = spoolscan::Error;
        fn retained(&mut self, _e: &mut Event<'_>) -> Result<bool, Self::Error> {
            Ok(true)
        }
        fn passed(&mut self, l: &Passed<'_>) -> Result<bool, Self::Error> {
            self.0 = l.number();
            Ok(l.category() != Category::Malformed)
        }
    }
    let data = b"{\"type\":\"keep\"}\n{\"type\":\"x\"}\nReading\n{\"type\":\"keep\"}\n";
    let mut s = StopAtMalformed(0);
    let r = builder().build().unwrap().scan_slice(data, &mut s).unwrap();
    assert_eq!((s.0, r.lines, r.retained), (3, 3, 1));
}
