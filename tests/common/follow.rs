//! Helpers of the tests of following a growing file (tests/follow.rs, tests/follow_api.rs,
//! tests/follow_run.rs: `#[path = "common/follow.rs"] mod follow_util;`): a sink recording every
//! call, a full scan to compare with, generated NDJSON whose chunk boundaries fall anywhere, and
//! the limits and selection the tests share.
#![allow(dead_code)]

use std::cell::Cell;
use std::path::Path;
use std::time::Instant;

use spoolscan::{Dropped, Event, Malformed, Report, Scanner, ScannerBuilder, Selector, Sink};

// ---------------------------------------------------------------------------------------------
// A recording sink: every call, in order.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Retained(u64, u64, Vec<u8>),
    Dropped(Dropped),
    Malformed(Malformed),
    Unclassified(u64, u64, u64),
    Finish,
}

#[derive(Default)]
pub struct Record {
    pub calls: Vec<Call>,
    /// When each retained event arrived.
    pub times: Vec<Instant>,
    /// Bytes written so far by a single-threaded writer, to check that no line is yielded
    /// before its LF.
    pub written: Option<std::rc::Rc<Cell<usize>>>,
    pub data: Option<std::rc::Rc<Vec<u8>>>,
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

pub fn full_scan(b: &ScannerBuilder, path: &Path) -> (Vec<Call>, Report) {
    let mut rec = Record::default();
    let report = b.build().unwrap().scan_path(path, &mut rec).unwrap();
    (rec.calls, report)
}

pub fn assert_same(label: &str, got: &(Vec<Call>, Report), want: &(Vec<Call>, Report)) {
    assert_eq!(got.1, want.1, "{label}: reports differ");
    assert_eq!(got.0.len(), want.0.len(), "{label}: call counts differ");
    for (i, (g, w)) in got.0.iter().zip(&want.0).enumerate() {
        assert_eq!(g, w, "{label}: call {i} differs");
    }
    assert!(got.1.is_consistent());
}

// ---------------------------------------------------------------------------------------------
// Generated NDJSON.

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
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

pub fn string_body(r: &mut Rng, len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        let piece: &&str = r.pick(PIECES);
        s.push_str(piece);
    }
    s
}

/// An object whose string field makes it about `size` bytes; `late`: the `type` comes last.
pub fn object(r: &mut Rng, size: usize, late: bool) -> String {
    let ty = r.pick(TYPES);
    let it = r.pick(ITEM_TYPES);
    let body = string_body(r, size.saturating_sub(80));
    if late {
        format!(r#"{{"item":{{"text":"{body}","type":"{it}"}},"type":"{ty}"}}"#)
    } else {
        format!(r#"{{"type":"{ty}","item":{{"type":"{it}","text":"{body}"}}}}"#)
    }
}

pub struct Limits {
    pub probe: usize,
    pub max_line: usize,
    pub ceiling: usize,
}

pub fn line(r: &mut Rng, l: &Limits) -> Vec<u8> {
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
pub fn file(r: &mut Rng, l: &Limits, n: usize, end: usize) -> Vec<u8> {
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

pub const SMALL: Limits = Limits {
    probe: 64,
    max_line: 2048,
    ceiling: 8192,
};

/// The Codex selection, with small limits.
pub fn codex_builder() -> ScannerBuilder {
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
