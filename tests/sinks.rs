//! The closure sinks and the pull iterator (issue 12): `?` in a `Raw` closure on I/O and user
//! errors, `Typed` over owned and borrowed types with mismatched events skipped or fatal, and
//! `Scanner::events` yielding what a `Raw` sink sees. Expected values come from serde_json over
//! the same bytes.

use std::io::{self, Write};

use serde::Deserialize;
use serde_json::Value;
use spoolscan::sinks::{EventType, Raw, Typed};
use spoolscan::{DecodeError, Scanner, Selector, SinkError};

const CODEX: &[u8] = include_bytes!("../samples/codex.ndjson");

fn codex_scanner() -> Scanner {
    Scanner::builder()
        .select(
            Selector::new()
                .equals("type", ["turn.completed", "error", "turn.failed"])
                .unwrap()
                .equals("item.type", ["agent_message"])
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// The oracle: (line number, value) of every line serde_json parses whose `type` or
/// `item.type` the Codex selection names.
fn oracle(data: &[u8]) -> Vec<(u64, Value)> {
    data.split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(i, l)| Some((i as u64 + 1, serde_json::from_slice::<Value>(l).ok()?)))
        .filter(|(_, v)| {
            let t = v["type"].as_str().unwrap_or("");
            ["turn.completed", "error", "turn.failed"].contains(&t)
                || v["item"]["type"].as_str() == Some("agent_message")
        })
        .collect()
}

/// A writer that fails after `ok` bytes.
struct Failing {
    ok: usize,
}

impl Write for Failing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() > self.ok {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        self.ok -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
struct TooLong(usize);

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line of {} bytes is too long", self.0)
    }
}

impl std::error::Error for TooLong {}

#[test]
fn question_mark_in_a_raw_closure() {
    let mut scanner = codex_scanner();
    // I/O errors.
    let mut out = Vec::new();
    scanner
        .scan_slice(
            CODEX,
            Raw::new(|line| {
                out.write_all(line.bytes())?;
                out.write_all(b"\n")?;
                Ok(true)
            }),
        )
        .unwrap();
    let want: Vec<u8> = oracle(CODEX)
        .iter()
        .flat_map(|(n, _)| {
            let mut l = CODEX
                .split(|&b| b == b'\n')
                .nth(*n as usize - 1)
                .unwrap()
                .to_vec();
            l.push(b'\n');
            l
        })
        .collect();
    assert_eq!(out, want);
    let mut failing = Failing { ok: 10 };
    let err = scanner
        .scan_slice(
            CODEX,
            Raw::new(|line| {
                failing.write_all(line.bytes())?;
                Ok(true)
            }),
        )
        .unwrap_err();
    assert_eq!(
        err.downcast_ref::<io::Error>().map(io::Error::kind),
        Some(io::ErrorKind::StorageFull)
    );
    let io: io::Error = err.into();
    assert_eq!(io.kind(), io::ErrorKind::StorageFull);
    // The caller's own error type, then out through `Box<dyn Error>`.
    fn run(scanner: &mut Scanner) -> Result<(), Box<dyn std::error::Error>> {
        scanner.scan_slice(
            CODEX,
            Raw::new(|line| {
                if line.len() > 100 {
                    Err(TooLong(line.len()))?;
                }
                Ok(true)
            }),
        )?;
        Ok(())
    }
    let e = run(&mut scanner).unwrap_err();
    let first_long = oracle(CODEX)
        .iter()
        .map(|(n, _)| {
            CODEX
                .split(|&b| b == b'\n')
                .nth(*n as usize - 1)
                .unwrap()
                .len()
        })
        .find(|&l| l > 100)
        .unwrap();
    assert_eq!(
        e.to_string(),
        format!("line of {first_long} bytes is too long")
    );
    assert!(e.downcast_ref::<TooLong>().is_some());
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    text: &'a str,
}

#[derive(Deserialize)]
struct Completed<'a> {
    #[serde(borrow)]
    item: Item<'a>,
}

struct CompletedItems;

impl EventType for CompletedItems {
    type Of<'a> = Completed<'a>;
}

#[test]
fn borrowed_typed_skips_what_does_not_fit() {
    let mut scanner = codex_scanner();
    let mut texts: Vec<(u64, String)> = Vec::new();
    let mut sink = Typed::borrowed::<CompletedItems>(|line, ev| {
        assert_eq!(ev.item.kind, "agent_message");
        texts.push((line.number(), ev.item.text.to_owned()));
        Ok(true)
    })
    .skip_mismatched();
    let report = scanner.scan_slice(CODEX, &mut sink).unwrap();
    let mismatched: Vec<u64> = sink.mismatched().iter().map(|e| e.line).collect();
    let total = sink.mismatched_total();
    drop(sink);
    let want = oracle(CODEX);
    let want_texts: Vec<(u64, String)> = want
        .iter()
        .filter_map(|(n, v)| Some((*n, v["item"]["text"].as_str()?.to_owned())))
        .collect();
    let want_mismatched: Vec<u64> = want
        .iter()
        .filter(|(_, v)| v["item"]["text"].as_str().is_none())
        .map(|(n, _)| *n)
        .collect();
    assert!(!want_texts.is_empty() && !want_mismatched.is_empty());
    assert_eq!(texts, want_texts);
    assert_eq!(mismatched, want_mismatched);
    assert_eq!(total, want_mismatched.len() as u64);
    assert_eq!(report.retained, want.len() as u64);

    // Without skip_mismatched, the first event that does not fit ends the scan with its
    // DecodeError.
    let err = scanner
        .scan_slice(
            CODEX,
            Typed::borrowed::<CompletedItems>(|_line, _ev| Ok(true)),
        )
        .unwrap_err();
    let d = err.downcast_ref::<DecodeError>().expect("a DecodeError");
    assert_eq!(d.line, want_mismatched[0]);
}

#[test]
fn owned_typed_and_errors_from_the_closure() {
    #[derive(Deserialize)]
    struct Usage {
        input_tokens: u64,
        output_tokens: u64,
    }
    #[derive(Deserialize)]
    struct TurnCompleted {
        usage: Usage,
    }
    let mut scanner = Scanner::builder()
        .select(Selector::new().equals("type", ["turn.completed"]).unwrap())
        .build()
        .unwrap();
    let mut tokens = 0;
    scanner
        .scan_slice(
            CODEX,
            Typed::new(|_line, t: TurnCompleted| {
                tokens += t.usage.input_tokens + t.usage.output_tokens;
                Ok(true)
            }),
        )
        .unwrap();
    let want: u64 = oracle(CODEX)
        .iter()
        .filter(|(_, v)| v["type"] == "turn.completed")
        .map(|(_, v)| {
            v["usage"]["input_tokens"].as_u64().unwrap()
                + v["usage"]["output_tokens"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(tokens, want);
    let err = scanner
        .scan_slice(
            CODEX,
            Typed::new(|_line, _t: TurnCompleted| Err(SinkError::msg("enough"))),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "enough");
}

#[test]
fn pull_iterator_yields_what_raw_sees() {
    let dir = tempfile::tempdir().unwrap();
    // The sample, with a malformed line and a long line in between.
    let mut data = CODEX.to_vec();
    data.extend_from_slice(b"{\"type\":\"error\",\"message\":\"cut\n");
    data.extend_from_slice(
        format!(
            "{{\"type\":\"error\",\"message\":\"{}\"}}\n",
            "m".repeat(300_000)
        )
        .as_bytes(),
    );
    let path = dir.path().join("t.ndjson");
    std::fs::write(&path, &data).unwrap();
    let mut scanner = codex_scanner();
    let mut pushed = Vec::new();
    let want_report = scanner
        .scan_slice(
            &data,
            Raw::new(|l| {
                pushed.push((l.number(), l.offset(), l.bytes().to_vec()));
                Ok(true)
            }),
        )
        .unwrap();
    for from_reader in [false, true] {
        let mut events = if from_reader {
            scanner.events_reader(io::Cursor::new(data.clone()))
        } else {
            scanner.events(&path).unwrap()
        };
        let mut pulled = Vec::new();
        for e in &mut events {
            let e = e.unwrap();
            let v: Value = e.decode().unwrap();
            assert_eq!(v, serde_json::from_slice::<Value>(&e.bytes).unwrap());
            pulled.push((e.number, e.offset, e.bytes));
        }
        assert_eq!(pulled, pushed);
        assert_eq!(events.report(), Some(&want_report));
        assert!(events.next().is_none());
    }
    // Stopping early is fine (the scanning thread ends), and a missing file is an error now.
    let mut events = scanner.events(&path).unwrap();
    let first = events.next().unwrap().unwrap();
    assert_eq!(first.number, pushed[0].0);
    // Decode errors read like serde_json's, with the line's place.
    #[derive(Debug, Deserialize)]
    struct NeedsUsage {
        #[allow(dead_code)]
        usage: Value,
    }
    let e = first.decode::<NeedsUsage>().unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "line {}, offset {}: missing field `usage`",
            first.number, first.offset
        )),
        "{e}"
    );
    drop(events);
    let err = scanner.events(dir.path().join("missing")).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

/// Dropping the iterator of a reader that is still open does not wait for its writer.
#[test]
fn dropping_a_reader_iterator_does_not_block() {
    struct Stalls(Option<std::sync::mpsc::Receiver<()>>, bool);
    impl io::Read for Stalls {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !std::mem::replace(&mut self.1, true) {
                let line = b"{\"type\":\"error\"}\n";
                buf[..line.len()].copy_from_slice(line);
                return Ok(line.len());
            }
            // Blocks until the test ends (the sender is never used).
            let _ = self.0.take().map(|rx| rx.recv());
            Ok(0)
        }
    }
    let (_tx, rx) = std::sync::mpsc::channel();
    let scanner = codex_scanner();
    let t = std::time::Instant::now();
    let mut events = scanner.events_reader(Stalls(Some(rx), false));
    assert_eq!(events.next().unwrap().unwrap().number, 1);
    drop(events);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
}

/// The message of a `Typed` sink's decode error reads like serde_json's over the same line
/// (serde_json's own message without its ` at line 1 column N`), after spoolscan's `line N,
/// offset O: ` prefix; never simd-json's `Serde("...") at character 0`.
#[test]
fn typed_mismatch_messages_read_like_serde_json() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Turn {
        #[serde(rename = "type")]
        kind: String,
        usage: TurnUsage,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct TurnUsage {
        input_tokens: u64,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    #[serde(tag = "type")]
    enum Tagged {
        #[serde(rename = "turn.completed")]
        Completed { usage: Value },
    }
    let lines: &[&str] = &[
        r#"{"type":"turn.completed"}"#,
        r#"{"type":"turn.completed","usage":{}}"#,
        r#"{"type":"turn.completed","usage":{"input_tokens":"many"}}"#,
        r#"{"type":"turn.completed","usage":{"input_tokens":-1}}"#,
        r#"{"type":"turn.completed","usage":[1]}"#,
        r#"{"type":7,"usage":{"input_tokens":1}}"#,
        r#"{"type":"turn.started","usage":{"input_tokens":1}}"#,
    ];
    let mut data = Vec::new();
    let mut offsets = Vec::new();
    for l in lines {
        offsets.push(data.len() as u64);
        data.extend_from_slice(l.as_bytes());
        data.push(b'\n');
    }
    let serde_message = |e: serde_json::Error| {
        let s = e.to_string();
        match s.rfind(" at line ") {
            Some(i) => s[..i].to_string(),
            None => s,
        }
    };
    fn check(got: &DecodeError, want: &str, n: usize, offset: u64) {
        assert_eq!((got.line, got.offset), (n as u64 + 1, offset));
        assert!(!got.message.contains("at character"), "{got}");
        assert!(!got.message.contains("Serde("), "{got}");
        let prefix = format!("line {}, offset {offset}: ", n + 1);
        assert_eq!(got.to_string(), format!("{prefix}{}", got.message));
        // Type mismatches found by the tape deserializer itself do not name the value found
        // (serde_json's "invalid type: string \"many\", expected u64", "invalid value:
        // integer `-1`, expected u64"), and serde's internally tagged enums word the same
        // mismatch a little differently over the two deserializers: they agree that the
        // value does not fit.
        if want.starts_with("invalid type") || want.starts_with("invalid value") {
            assert!(
                got.message.starts_with("invalid type: expected ")
                    || got.message.starts_with("invalid value: "),
                "{got} / {want}"
            );
        } else {
            assert_eq!(got.message, want);
        }
    }
    let mut scanner = Scanner::builder().build().unwrap();
    let mut sink = Typed::new(|_line, _t: Turn| Ok(true)).skip_mismatched();
    scanner.scan_slice(&data, &mut sink).unwrap();
    let want: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(n, l)| Some((n, serde_message(serde_json::from_str::<Turn>(l).err()?))))
        .collect();
    assert_eq!(sink.mismatched().len(), want.len());
    for (got, (n, w)) in sink.mismatched().iter().zip(&want) {
        check(got, w, *n, offsets[*n]);
    }
    let mut sink = Typed::new(|_line, _t: Tagged| Ok(true)).skip_mismatched();
    scanner.scan_slice(&data, &mut sink).unwrap();
    let want: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(n, l)| Some((n, serde_message(serde_json::from_str::<Tagged>(l).err()?))))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(sink.mismatched().len(), want.len());
    for (got, (n, w)) in sink.mismatched().iter().zip(&want) {
        check(got, w, *n, offsets[*n]);
    }
}
