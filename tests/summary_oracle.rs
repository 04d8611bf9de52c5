//! The summary's byte-level answers against independent oracles (issue 11): the Codex
//! last-object fallback against a serde_json re-implementation of "the last line that parses
//! as a JSON object", over every kind of input the summarizer takes (bytes, a file, a path, a
//! reader, several threads), and profile detection read from a reader against the same bytes
//! in memory.

use std::io::Write;

use proptest::prelude::*;
use serde_json::Value;
use spoolscan::{Profile, Source, Status, Summarizer, Summary};

/// Line kinds that the Codex profile does not select (so the fallback decides `event`), plus
/// the thread start, which it selects and decodes (the fallback looks after it).
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0u32..1000).prop_map(|n| format!("{{\"x\":{n}}}").into_bytes()),
        (0u32..1000)
            .prop_map(|n| format!("  {{\"type\":\"item.started\",\"n\":{n}}}").into_bytes()),
        Just(b"[1]".to_vec()),
        Just(b"\"text\"".to_vec()),
        Just(b"{bad".to_vec()),
        Just(b"{\"a\":1} trailing".to_vec()),
        Just(b"{\"a\":[1,2}".to_vec()),
        Just(b"Reading prompt from stdin...".to_vec()),
        Just(b"".to_vec()),
        Just(b"   ".to_vec()),
        Just(b"{\"bad_utf8\":\"\xff\xfe\"}".to_vec()),
        Just(b"{\"cr\":1}\r".to_vec()),
        (0u32..1000).prop_map(|n| format!("{{\"nested\":{{\"k\":[{n},{{}}]}}}}").into_bytes()),
        Just(b"{\"type\":\"thread.started\",\"thread_id\":\"t9\"}".to_vec()),
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        prop::collection::vec(line(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(bom, lines, final_lf)| {
            let mut data = Vec::new();
            if bom {
                data.extend_from_slice(b"\xEF\xBB\xBF");
            }
            let n = lines.len();
            for (i, l) in lines.into_iter().enumerate() {
                data.extend_from_slice(&l);
                if i + 1 < n || final_lf {
                    data.push(b'\n');
                }
            }
            data
        })
}

/// The oracle: the last line (LF-separated, one CR before the LF dropped, BOM skipped) that
/// serde_json parses as an object, invalid UTF-8 replaced by U+FFFD.
fn last_object(data: &[u8]) -> Option<Value> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut found = None;
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Ok(v @ Value::Object(_)) = serde_json::from_str(&String::from_utf8_lossy(line)) {
            found = Some(v);
        }
    }
    found
}

fn check(s: &Summary, want: &Option<Value>, how: &str) {
    assert_eq!(&s.event, want, "{how}");
    let status = if want.is_some() {
        Status::NoAnswer
    } else {
        Status::NoEvents
    };
    if s.report.truncated {
        assert_eq!(s.status, Status::Truncated, "{how}");
    } else {
        assert_eq!(s.status, status, "{how}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn codex_fallback_is_the_last_object(data in input()) {
        let want = last_object(&data);
        let s = Summarizer::new(Profile::Codex);
        check(&s.summarize(&data[..]).unwrap(), &want, "bytes");
        check(&s.summarize(Source::reader(&data[..])).unwrap(), &want, "reader");
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        check(&s.summarize(f.path()).unwrap(), &want, "path");
        check(&s.summarize(f.as_file()).unwrap(), &want, "file");
        let mut copy = s.clone();
        check(&copy.mmap(false).summarize(f.path()).unwrap(), &want, "copied");
    }

    #[test]
    fn detection_from_a_reader_equals_bytes(data in input(), tail in prop::sample::select(vec![
        &b"{\"type\":\"system\",\"subtype\":\"init\",\"claude_code_version\":\"1\"}\n"[..],
        &b"{\"type\":\"init\",\"session_id\":\"g\"}\n"[..],
        &b"{\"type\":\"step_start\",\"part\":{}}\n"[..],
        &b"{\"type\":\"assistant.message\",\"data\":{}}\n"[..],
        &b"[2]\n"[..],
    ])) {
        let data = [&data[..], b"\n", tail].concat();
        let s = Summarizer::new(Profile::Auto);
        let a = s.summarize(&data[..]).unwrap();
        let b = s.summarize(Source::reader(&data[..])).unwrap();
        prop_assert_eq!(&a, &b);
        // A file copied before it is scanned (`mmap(false)`: copied once, scanned twice).
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        let mut copy = s.clone();
        let c = copy.mmap(false).summarize(f.path()).unwrap();
        prop_assert_eq!(&a, &c);
    }
}

/// The fallback over a large input on four threads (the scan runs in parallel, the walk reads
/// the mapped input back) equals the oracle, and the sequential summary.
#[test]
fn codex_fallback_in_parallel() {
    let mut data = Vec::new();
    let mut i = 0u64;
    while data.len() < 20 << 20 {
        let l = match i % 5 {
            0 => format!("{{\"type\":\"item.started\",\"n\":{i}}}\n"),
            1 => "[1,2,3]\n".to_string(),
            2 => format!("{{\"x\":\"{}\"}}\n", "y".repeat((i % 300) as usize)),
            3 => "{broken\n".to_string(),
            _ => "\n".to_string(),
        };
        data.extend_from_slice(l.as_bytes());
        i += 1;
    }
    data.extend_from_slice(b"{\"last\":true}\n[0]\n{not json}\n");
    let want = last_object(&data);
    assert_eq!(want, Some(serde_json::json!({"last": true})));
    let mut s = Summarizer::new(Profile::Codex);
    let one = s.summarize(&data[..]).unwrap();
    let four = s.threads(4).summarize(&data[..]).unwrap();
    check(&four, &want, "four threads");
    assert_eq!(one, four);
}

/// A million lines `[1]`: the fallback walks back over all of them, in time proportional to
/// the bytes (issue 11: it read 64 KiB per line).
#[test]
fn fallback_over_a_million_short_lines_is_linear() {
    let mut data = b"{\"first\":1}\n".to_vec();
    data.extend_from_slice(&b"[1]\n".repeat(1_000_000));
    let t = std::time::Instant::now();
    let s = spoolscan::summarize(&data[..], Profile::Codex).unwrap();
    let took = t.elapsed();
    assert_eq!(s.event, Some(serde_json::json!({"first": 1})));
    assert!(
        took < std::time::Duration::from_secs(3),
        "took {took:?} for 4 MB"
    );
}
