//! Property test: random NDJSON through every entry point (slice, mapped file, spooled
//! reader) against the serde_json oracle in `oracle/mod.rs`.

mod oracle;

use std::io::Write;

use proptest::prelude::*;
use spoolscan::{Report, Rule, Scanner, Selector, sinks::Raw};

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
    fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
}

/// JSON string bodies (already escaped): escapes, unicode, fake keys inside strings.
const STRINGS: &[&str] = &[
    "error",
    "ERROR",
    "Error",
    "err\\u006fr",
    "errors",
    "turn.completed",
    "Turn.Completed",
    "turn.failed",
    "item.completed",
    "agent_message",
    "AGENT_MESSAGE",
    "agent\\u005fmessage",
    "agent message",
    "command_execution",
    "{\\\"type\\\":\\\"error\\\"}",
    "\\\"type\\\":\\\"turn.failed\\\"",
    "a TODO here",
    "to\\u0064o",
    "fixme",
    "é ü 😀",
    "\\ud83d\\ude00",
    "line\\nbreak\\r\\n",
    "tab\\t\\\\ backslash \\/",
    "",
    "x",
];

const KEYS: &[&str] = &[
    "type",
    "type",
    "type",
    "item",
    "item",
    "text",
    "id",
    "typ",
    "types",
    "Type",
    "ty\\u0070e",
    "it\\u0065m",
    "usage",
    "payload",
    "item.type",
    "",
];

/// Pieces of long string bodies (each a valid escaped sequence): runs of backslashes and
/// escaped quotes across the probe's 16- and 64-byte blocks, JSON inside a string.
const PIECES: &[&str] = &[
    "x",
    "abcdefgh",
    " ",
    "\\\"",
    "\\\\",
    "\\\\\\\"",
    "\\\\\\\\",
    "\\n",
    "\\u0041",
    "{\\\"type\\\":\\\"error\\\"}",
    "\\\"item\\\":{",
];

/// A string value of 0 to about 600 bytes made of [`PIECES`].
fn long_string(r: &mut Rng, out: &mut String) {
    out.push('"');
    for _ in 0..r.below(120) {
        out.push_str(r.pick(PIECES));
    }
    out.push('"');
}

fn gen_value(r: &mut Rng, depth: usize, out: &mut String) {
    let k = if depth >= 4 { r.below(5) } else { r.below(8) };
    match k {
        0 if r.chance(30) => long_string(r, out),
        0 | 1 => {
            out.push('"');
            out.push_str(r.pick(STRINGS));
            out.push('"');
        }
        2 => out.push_str(r.pick(&["0", "-1", "3.25", "1e3", "-0.5e+3", "12345678901234567890"])),
        3 => out.push_str(r.pick(&["true", "false", "null"])),
        4 => out.push_str(r.pick(&["[]", "{}", "[\"error\"]", "{\"type\":\"error\"}"])),
        5 | 6 => gen_object(r, depth + 1, out),
        _ => {
            out.push('[');
            for i in 0..r.below(4) {
                if i > 0 {
                    out.push(',');
                }
                gen_value(r, depth + 1, out);
            }
            out.push(']');
        }
    }
}

fn ws(r: &mut Rng, out: &mut String) {
    if r.chance(15) {
        out.push_str(r.pick(&[" ", "\t", "  ", " \t "]));
    }
}

fn gen_object(r: &mut Rng, depth: usize, out: &mut String) {
    out.push('{');
    ws(r, out);
    for i in 0..r.below(5) {
        if i > 0 {
            out.push(',');
            ws(r, out);
        }
        out.push('"');
        out.push_str(r.pick(KEYS));
        out.push('"');
        ws(r, out);
        out.push(':');
        ws(r, out);
        gen_value(r, depth, out);
        ws(r, out);
    }
    out.push('}');
}

fn gen_line(r: &mut Rng) -> Vec<u8> {
    let mut s = String::new();
    match r.below(100) {
        0..=69 => {
            ws(r, &mut s);
            gen_object(r, 0, &mut s);
            ws(r, &mut s);
        }
        70..=74 => gen_value(r, 3, &mut s),
        75..=81 => s.push_str(r.pick(&["", " ", "\t", "\r", " \r\t"])),
        82..=89 => {
            // A valid object cut short.
            gen_object(r, 0, &mut s);
            let mut cut = r.below(s.len().max(1));
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
        _ => {
            // Garbage: trailing data, plain text, form feed, bad escapes, invalid UTF-8.
            match r.below(6) {
                0 => {
                    gen_object(r, 0, &mut s);
                    s.push_str(" trailing");
                }
                1 => s.push_str("Reading prompt from stdin..."),
                2 => s.push_str("\u{c}{\"type\":\"error\"}"),
                3 => s.push_str("{\"type\":\"error\\q\"}"),
                4 => s.push_str("{\"type\":\"item\",\"n\":[1,2}"),
                _ => {
                    let mut b = b"{\"type\":\"error\",\"text\":\"".to_vec();
                    b.push(0xFF);
                    b.extend_from_slice(b"\"}");
                    return b;
                }
            }
        }
    }
    s.into_bytes()
}

fn gen_file(seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    let mut out = Vec::new();
    if r.chance(10) {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let n = r.below(40);
    for i in 0..n {
        out.extend(gen_line(&mut r));
        if i + 1 < n || r.chance(70) {
            out.extend_from_slice(if r.chance(20) { b"\r\n" } else { b"\n" });
        }
    }
    out
}

fn rule_sets() -> Vec<Vec<oracle::Rule>> {
    use oracle::Rule as R;
    vec![
        vec![],
        vec![
            R::new("type", false, &["turn.completed", "error", "turn.failed"]),
            R::new("item.type", false, &["agent_message"]),
        ],
        vec![R::new("item.text", true, &["TODO", "fixme"])],
        vec![
            R::new("type", false, &["Error"]),
            R::new("type", true, &["turn"]),
        ],
        vec![
            R::new("item", false, &["x"]),
            R::new("item.type", false, &["error"]),
        ],
    ]
}

fn scanner_for(rules: &[oracle::Rule], case_sensitive: bool, validate_all: bool) -> Scanner {
    let sel: Selector = rules
        .iter()
        .map(|r| {
            let path = r.path.join(".");
            if r.contains {
                Rule::contains(&path, r.values.clone()).unwrap()
            } else {
                Rule::equals(&path, r.values.clone()).unwrap()
            }
        })
        .collect();
    Scanner::builder()
        .select(sel)
        .case_sensitive(case_sensitive)
        .validate_all(validate_all)
        .build()
        .unwrap()
}

type Seen = Vec<(u64, u64, Vec<u8>)>;

fn collect(f: impl FnOnce(&mut Seen) -> Result<Report, spoolscan::Error>) -> (Seen, Report) {
    let mut seen = Vec::new();
    let report = f(&mut seen).unwrap();
    (seen, report)
}

fn check(
    data: &[u8],
    rules: &[oracle::Rule],
    cs: bool,
    validate_all: bool,
) -> Result<(), TestCaseError> {
    let want = oracle::expect(data, rules, cs);
    let mut scanner = scanner_for(rules, cs, validate_all);
    fn raw(
        seen: &mut Seen,
    ) -> Raw<impl FnMut(spoolscan::Line<'_>) -> Result<bool, spoolscan::Error> + '_> {
        Raw(move |l: spoolscan::Line<'_>| {
            seen.push((l.number(), l.offset(), l.bytes().to_vec()));
            Ok(true)
        })
    }
    let slice = collect(|s| scanner.scan_slice(data, raw(s)));
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(data).unwrap();
    let mapped = collect(|s| scanner.scan_path(f.path(), raw(s)));
    let spooled = collect(|s| scanner.scan_reader(data, raw(s)));
    prop_assert_eq!(&slice, &mapped);
    prop_assert_eq!(&slice, &spooled);
    let (seen, rep) = slice;
    prop_assert!(rep.is_consistent(), "{:?}", rep);
    prop_assert_eq!(rep.bytes, want.bytes);
    prop_assert_eq!(rep.lines, want.lines);
    prop_assert_eq!(rep.blank, want.blank);
    prop_assert_eq!(rep.truncated, want.truncated);
    if validate_all {
        prop_assert_eq!(&seen, &want.retained);
        prop_assert_eq!(rep.skipped, want.skipped);
        let malformed: Vec<_> = rep
            .malformed
            .iter()
            .map(|m| (m.line, m.offset, m.len))
            .collect();
        prop_assert_eq!(malformed, want.malformed);
    } else {
        // Without validation, invalid lines may be skipped, but every valid line lands where
        // the oracle says, and every retained line is valid.
        let bad: Vec<u64> = want.malformed.iter().map(|m| m.0).collect();
        let seen_valid: Seen = seen
            .iter()
            .filter(|l| !bad.contains(&l.0))
            .cloned()
            .collect();
        prop_assert_eq!(&seen_valid, &want.retained);
        prop_assert_eq!(seen.len(), want.retained.len());
        prop_assert!(rep.malformed.iter().all(|m| bad.contains(&m.line)));
    }
    prop_assert_eq!(rep.retained as usize, seen.len());
    prop_assert_eq!(rep.dropped_total, 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn scan_agrees_with_serde_json(seed in any::<u64>(), rs in 0usize..5, cs in any::<bool>(), va in any::<bool>()) {
        let data = gen_file(seed);
        let rules = &rule_sets()[rs];
        check(&data, rules, cs, va)?;
    }
}

#[test]
fn generator_covers_the_hostile_cases() {
    let all: Vec<u8> = (1..200u64).flat_map(gen_file).collect();
    let has = |needle: &[u8]| all.windows(needle.len()).any(|w| w == needle);
    for needle in [
        &b"\r\n"[..],
        b"\\u005f",
        b"\\\"type\\\"",
        b"\xEF\xBB\xBF",
        b" trailing",
        b"\xFF",
        b"\\ud83d",
    ] {
        assert!(has(needle), "{:?}", String::from_utf8_lossy(needle));
    }
    // Long strings with escapes, which the probe scans in 64-byte blocks.
    let text = String::from_utf8_lossy(&all);
    let long_escaped = text
        .lines()
        .any(|l| l.len() > 300 && l.matches("\\\\\\\"").count() > 2);
    assert!(long_escaped, "no long string with runs of backslashes");
}
