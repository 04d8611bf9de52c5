//! The checks of the fuzz targets (`fuzz/fuzz_targets/{lines,probe,scan}.rs`), shared with the
//! corpus replay test (`tests/fuzz_corpus.rs`) so that both run exactly the same assertions.
//!
//! Only the public API is used, plus the serde_json oracle of `tests/oracle/mod.rs`. Every
//! assertion is one DESIGN.md guarantees; where serde_json is not a faithful oracle (its
//! recursion limit of 128, numbers out of f64 range) nothing that depends on validity is
//! asserted.
//!
//! Input formats (also used by the checked-in seeds under `fuzz/corpus/<target>/`):
//!
//! - `lines`: the input is the data.
//! - `probe`: 7 header bytes, then one line (cut at its first LF):
//!   - byte 0: options ([`Options::from_byte`]), plus bit 5: no LF after the line; bit 6: raw
//!     limits (may be out of order: the builder must then refuse them); bit 7: default limits.
//!   - bytes 1-2, 3-4, 5-6 (little endian): the limits. Normally `probe = 1 + a % 512`,
//!     `max_line = probe + b % 1024`, `ceiling = max_line + c % 2048`, so that short lines
//!     exercise the oversize paths; with bit 6 they are taken as they are.
//! - `scan`: 1 header byte ([`Options::from_byte`], plus bit 5: also scan through
//!   `Scanner::scan_reader`, the spooled and mapped path), then the data. Default limits.
#![allow(dead_code)]

#[path = "../oracle/mod.rs"]
mod oracle;

use spoolscan::{LineIter, Report, Scanner, Selector, sinks::Raw};

use self::oracle::{J, Rule as ORule};

#[path = "json_oracle.rs"]
mod json_oracle;

/// A selector and the same rules for the oracle.
pub struct Rules {
    pub name: &'static str,
    pub selector: Selector,
    pub oracle: Vec<ORule>,
}

/// A selector as data: a name and its rules as (path, contains, values).
type Spec = (
    &'static str,
    &'static [(&'static str, bool, &'static [&'static str])],
);

/// The selectors the fuzz targets choose from.
pub fn rules(index: u8) -> Rules {
    // (path, contains, values)
    let spec: Spec = match index % 6 {
        0 => (
            "codex",
            &[
                ("type", false, &["turn.completed", "error", "turn.failed"]),
                ("item.type", false, &["agent_message"]),
            ],
        ),
        1 => ("empty", &[]),
        2 => (
            "contains",
            &[
                ("item.text", true, &["todo", "Fix"]),
                ("type", true, &["err"]),
            ],
        ),
        3 => (
            "nested_and_prefix_paths",
            &[
                ("a", false, &["y"]),
                ("a.b.c", false, &["x", "X2"]),
                ("a.b", true, &["z"]),
            ],
        ),
        4 => (
            "odd_values_and_keys",
            &[
                ("t", false, &["", "\u{e9}", "A\"b\\"]),
                ("k\u{e9}y.\u{1F600}", false, &["v"]),
                ("sp ace", true, &["\n"]),
            ],
        ),
        _ => (
            "same_path_twice",
            &[
                ("type", false, &["error"]),
                ("type", true, &["rr", "\u{c9}"]),
            ],
        ),
    };
    let mut selector = Selector::new();
    let mut oracle = Vec::new();
    for &(path, contains, values) in spec.1 {
        selector = if contains {
            selector.contains(path, values.iter().copied())
        } else {
            selector.equals(path, values.iter().copied())
        }
        .expect("fuzz selectors are valid");
        oracle.push(ORule::new(path, contains, values));
    }
    Rules {
        name: spec.0,
        selector,
        oracle,
    }
}

/// Scan options taken from a header byte: bits 0-2 the selector, bit 3 case-sensitive,
/// bit 4 validate-all.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub rules: u8,
    pub case_sensitive: bool,
    pub validate_all: bool,
}

impl Options {
    pub fn from_byte(b: u8) -> Options {
        Options {
            rules: b & 7,
            case_sensitive: b & 8 != 0,
            validate_all: b & 16 != 0,
        }
    }
}

/// How serde_json sees one non-blank line.
pub enum Verdict {
    /// Valid JSON, and whether the rules keep it.
    Valid { keep: bool, value: J },
    /// Not valid JSON.
    Invalid,
    /// serde_json failed for a reason of its own (nesting over 128, a number out of f64
    /// range): validity is unknown, so nothing depending on it is asserted.
    Unknown,
}

pub fn verdict(line: &[u8], rules: &[ORule], case_sensitive: bool) -> Verdict {
    match serde_json::from_slice::<J>(line) {
        Ok(value) => {
            let keep = rules.is_empty()
                || (matches!(value, J::Obj(_))
                    && rules
                        .iter()
                        .any(|r| rule_matches(r, &value, case_sensitive)));
            Verdict::Valid { keep, value }
        }
        Err(e) => {
            let msg = e.to_string();
            if msg.contains("recursion limit exceeded") || msg.contains("number out of range") {
                Verdict::Unknown
            } else {
                Verdict::Invalid
            }
        }
    }
}

/// The oracle's rule match, exposed per value (oracle::Rule::matches is private).
fn rule_matches(r: &ORule, value: &J, case_sensitive: bool) -> bool {
    let Some(J::Str(s)) = value.at(&r.path) else {
        return false;
    };
    r.values
        .iter()
        .any(|want| match (r.contains, case_sensitive) {
            (false, true) => s == want,
            (false, false) => s.eq_ignore_ascii_case(want),
            (true, true) => s.contains(want.as_str()),
            (true, false) => s.to_ascii_lowercase().contains(&want.to_ascii_lowercase()),
        })
}

/// The string values at the rules' paths that match, for checking a dropped entry's value.
fn matching_values<'v>(rules: &[ORule], value: &'v J, case_sensitive: bool) -> Vec<&'v str> {
    rules
        .iter()
        .filter(|r| rule_matches(r, value, case_sensitive))
        .filter_map(|r| match value.at(&r.path) {
            Some(J::Str(s)) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

/// A dropped entry's value is the matching value, cut to at most 256 bytes on a character
/// boundary (DESIGN §10).
fn value_is_cut_of(got: &str, full: &str) -> bool {
    full.starts_with(got) && (got.len() == full.len() || (got.len() <= 256 && got.len() > 252))
}

/// Scans `data` and collects the retained lines as (number, offset, bytes).
fn scan(scanner: &mut Scanner, data: &[u8]) -> (Report, Vec<(u64, u64, Vec<u8>)>) {
    let mut kept = Vec::new();
    let report = scanner
        .scan_slice(
            data,
            Raw::new(|l: spoolscan::Line<'_>| {
                kept.push((l.number(), l.offset(), l.bytes().to_vec()));
                Ok(true)
            }),
        )
        .expect("a slice scan with a Raw sink cannot fail");
    (report, kept)
}

fn check_report_shape(r: &Report, data: &[u8]) {
    assert!(r.is_consistent(), "inconsistent report {r:?}");
    assert_eq!(r.bytes, data.len() as u64);
    let mut prev = 0;
    for m in &r.malformed {
        assert!(m.line > prev, "malformed log out of order: {r:?}");
        prev = m.line;
    }
    let mut prev = 0;
    for d in &r.dropped {
        assert!(d.line > prev, "dropped log out of order: {r:?}");
        assert_eq!(d.reason, "over_ceiling");
        prev = d.line;
    }
}

// ---------------------------------------------------------------------------------------------
// lines

/// `LineIter` equals a naive split on LF with the rules of DESIGN §1 applied by hand.
pub fn check_lines(data: &[u8]) {
    let got: Vec<(u64, u64, Vec<u8>)> = LineIter::new(data)
        .map(|l| {
            assert_eq!(l.len(), l.bytes().len());
            assert_eq!(l.is_empty(), l.bytes().is_empty());
            assert_eq!(l.is_blank(), oracle::is_blank(l.bytes()));
            (l.number(), l.offset(), l.bytes().to_vec())
        })
        .collect();
    let want = oracle::naive_lines(data);
    assert_eq!(got, want);
    // Every line is a slice of the input at its offset.
    for (_, off, bytes) in &want {
        assert_eq!(
            &data[*off as usize..*off as usize + bytes.len()],
            &bytes[..]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// probe

/// One line through the whole scanner, with limits from the header: the classification must
/// agree with serde_json wherever the contract decides it.
pub fn check_probe(input: &[u8]) {
    if input.len() < 7 {
        return;
    }
    let opts = Options::from_byte(input[0]);
    let no_lf = input[0] & 32 != 0;
    let raw_limits = input[0] & 64 != 0;
    let default_limits = input[0] & 128 != 0;
    let u = |i: usize| u16::from_le_bytes([input[i], input[i + 1]]) as usize;
    let (a, b, c) = (u(1), u(3), u(5));
    let body = &input[7..];
    let line = match memchr::memchr(b'\n', body) {
        Some(i) => &body[..i],
        None => body,
    };
    let mut data = line.to_vec();
    if !no_lf {
        data.push(b'\n');
    }

    let rules = rules(opts.rules);
    // The probe fed the line in pieces (as the scanner feeds a long one) decides what it
    // decides on the whole line.
    for exact in [true, false] {
        let (whole, fed) = spoolscan::__private::probe_whole_and_in_pieces(
            &rules.selector,
            opts.case_sensitive,
            line,
            exact,
            &[a % 64, b % 512, c % 4096],
        );
        assert_eq!(whole, fed, "probe fed in pieces, exact {exact}");
    }
    // The fast path's LF form, given the line and what follows it, decides what the fast
    // path decides on the line alone, and never reads past the line's LF.
    let (fast, lf_form, within) =
        spoolscan::__private::probe_fast_and_lf_form(&rules.selector, opts.case_sensitive, body);
    assert_eq!(fast, lf_form, "the probe's LF form");
    assert!(within, "the probe's LF form read past the LF");
    let mut builder = Scanner::builder();
    builder
        .select(rules.selector.clone())
        .case_sensitive(opts.case_sensitive)
        .validate_all(opts.validate_all);
    let (probe, max_line, ceiling) = if default_limits {
        (
            spoolscan::DEFAULT_PROBE,
            spoolscan::DEFAULT_MAX_LINE,
            spoolscan::DEFAULT_CEILING,
        )
    } else if raw_limits {
        (a, b, c)
    } else {
        let p = 1 + a % 512;
        let m = p + b % 1024;
        (p, m, m + c % 2048)
    };
    builder.probe(probe).max_line(max_line).ceiling(ceiling);
    let ordered = 0 < probe && probe <= max_line && max_line <= ceiling;
    let mut scanner = match builder.build() {
        Ok(s) => {
            assert!(ordered, "limits {probe}/{max_line}/{ceiling} accepted");
            s
        }
        Err(e) => {
            assert!(!ordered, "limits {probe}/{max_line}/{ceiling} refused: {e}");
            return;
        }
    };

    let (r, kept) = scan(&mut scanner, &data);
    check_report_shape(&r, &data);
    let naive = oracle::naive_lines(&data);
    assert_eq!(r.lines, naive.len() as u64, "{r:?}");
    let Some((_, offset, content)) = naive.into_iter().next() else {
        return;
    };
    let l = content.len();
    if oracle::is_blank(&content) {
        assert_eq!((r.blank, r.lines), (1, 1), "{r:?}");
        assert!(!r.truncated);
        return;
    }
    for (num, off, bytes) in &kept {
        assert_eq!((*num, *off, &bytes[..]), (1, offset, &content[..]));
    }
    for m in &r.malformed {
        assert_eq!((m.line, m.offset, m.len), (1, offset, l as u64));
    }
    for d in &r.dropped {
        assert_eq!((d.line, d.offset, d.len), (1, offset, l as u64));
        assert_eq!(d.value.is_none(), rules.oracle.is_empty(), "{d:?}");
    }
    if no_lf {
        // Nothing else is asserted about `truncated` here: it depends on validity (below).
    } else {
        assert!(
            !r.truncated,
            "a line ending in LF is never truncated: {r:?}"
        );
    }
    let oversize = l > max_line;
    let over_ceiling = l > ceiling;
    match verdict(&content, &rules.oracle, opts.case_sensitive) {
        Verdict::Valid { keep, value } => {
            // A valid line is never malformed: the probe only reports real syntax errors,
            // and the decoder accepts what serde_json accepts.
            assert_eq!(r.malformed_total, 0, "valid line reported malformed: {r:?}");
            assert!(!r.truncated, "a valid last line is complete: {r:?}");
            if !oversize {
                // Classified exactly: the oracle's outcome.
                let want = if keep { (1, 0) } else { (0, 1) };
                assert_eq!((r.retained, r.skipped), want, "{}: {r:?}", rules.name);
            } else {
                assert_eq!(r.skipped, 0, "{r:?}");
                if rules.oracle.is_empty() {
                    // No selector: every line is retained.
                    assert_eq!(
                        (r.retained, r.dropped_total),
                        if over_ceiling { (0, 1) } else { (1, 0) },
                        "{r:?}"
                    );
                } else if keep {
                    // Decided from the probe window or undecided, never decided wrongly.
                    assert_eq!(
                        r.oversize_skipped, 0,
                        "{}: wrongly skipped {r:?}",
                        rules.name
                    );
                } else {
                    assert_eq!(
                        r.retained + r.dropped_total,
                        0,
                        "{}: wrongly retained {r:?}",
                        rules.name
                    );
                }
                if over_ceiling {
                    assert_eq!(r.retained, 0, "{r:?}");
                } else {
                    assert_eq!(r.dropped_total, 0, "{r:?}");
                }
            }
            if let Some(d) = r.dropped.first()
                && let Some(v) = &d.value
            {
                let candidates = matching_values(&rules.oracle, &value, opts.case_sensitive);
                assert!(
                    candidates.iter().any(|full| value_is_cut_of(v, full)),
                    "dropped value {v:?} is not a cut of a matching value {candidates:?}"
                );
            }
        }
        Verdict::Invalid => {
            assert_eq!(r.retained, 0, "invalid line yielded: {r:?}");
            if !oversize {
                assert_eq!(
                    r.oversize_skipped + r.oversize_unclassified + r.dropped_total,
                    0
                );
            }
            if opts.validate_all && !over_ceiling {
                assert_eq!(r.malformed_total, 1, "validate_all: {r:?}");
            }
            if no_lf && !over_ceiling {
                assert!(
                    r.truncated,
                    "an invalid last line without LF is truncated: {r:?}"
                );
            }
        }
        Verdict::Unknown => {}
    }
}

// ---------------------------------------------------------------------------------------------
// scan

/// The whole pipeline on arbitrary bytes: no panic, a consistent report, and the retained
/// lines exactly the oracle's.
pub fn check_scan(input: &[u8]) {
    let Some((&head, data)) = input.split_first() else {
        return;
    };
    let opts = Options::from_byte(head);
    let through_reader = head & 32 != 0;
    let rules = rules(opts.rules);
    let mut scanner = Scanner::builder()
        .select(rules.selector.clone())
        .case_sensitive(opts.case_sensitive)
        .validate_all(opts.validate_all)
        .build()
        .expect("default limits are valid");
    let (r, kept) = scan(&mut scanner, data);
    check_report_shape(&r, data);

    if through_reader {
        let mut again = Vec::new();
        let r2 = scanner
            .scan_reader(
                data,
                Raw::new(|l: spoolscan::Line<'_>| {
                    again.push((l.number(), l.offset(), l.bytes().to_vec()));
                    Ok(true)
                }),
            )
            .expect("spooling a few bytes to the temporary directory");
        assert_eq!(r2, r, "scan_reader and scan_slice disagree");
        assert_eq!(again, kept);
    }

    let lines = oracle::naive_lines(data);
    assert_eq!(r.lines, lines.len() as u64);
    assert_eq!(
        r.blank,
        lines.iter().filter(|(_, _, b)| oracle::is_blank(b)).count() as u64
    );
    // Fuzz inputs are far below the default limits.
    assert_eq!(
        r.oversize_skipped + r.oversize_unclassified + r.dropped_total,
        0,
        "{r:?}"
    );

    let mut unknown = false;
    let mut valid_kept = Vec::new();
    for (num, off, bytes) in &lines {
        if oracle::is_blank(bytes) {
            continue;
        }
        match verdict(bytes, &rules.oracle, opts.case_sensitive) {
            Verdict::Valid { keep: true, .. } => valid_kept.push((*num, *off, bytes.clone())),
            Verdict::Valid { .. } | Verdict::Invalid => {}
            Verdict::Unknown => unknown = true,
        }
    }
    if unknown {
        // Some line is beyond serde_json: only check that what was retained is well placed.
        for k in &kept {
            assert!(
                lines.contains(k),
                "retained line {k:?} is not a line of the input"
            );
        }
        return;
    }
    let e = oracle::expect(data, &rules.oracle, opts.case_sensitive);
    assert_eq!(e.retained, valid_kept);
    assert_eq!(
        kept, e.retained,
        "{}: retained lines differ from the oracle",
        rules.name
    );
    assert_eq!(r.retained, e.retained.len() as u64);
    assert_eq!((r.lines, r.blank, r.bytes), (e.lines, e.blank, e.bytes));
    assert_eq!(r.truncated, e.truncated, "truncated: {r:?}");
    let logged: Vec<(u64, u64, u64)> = r
        .malformed
        .iter()
        .map(|m| (m.line, m.offset, m.len))
        .collect();
    if opts.validate_all {
        // Every line parsed: the categories are exactly the oracle's.
        assert_eq!(r.skipped, e.skipped, "{r:?}");
        assert_eq!(r.malformed_total, e.malformed.len() as u64, "{r:?}");
        let cap = e.malformed.len().min(spoolscan::LOG_CAP);
        assert_eq!(logged, e.malformed[..cap], "malformed lines differ");
    } else {
        // The probe is not a validator: an invalid line may be skipped, but a line reported
        // malformed really is invalid.
        for m in &logged {
            assert!(
                e.malformed.contains(m),
                "valid line {m:?} reported malformed: {r:?}"
            );
        }
        assert_eq!(
            r.skipped + r.malformed_total,
            e.skipped + e.malformed.len() as u64
        );
    }
}

/// Fuzz target `simd`: every SIMD level this CPU supports agrees with the scalar reference
/// (block classification, escape and string carries, string and container scans, validation)
/// on any bytes, from every alignment.
pub fn check_simd(data: &[u8]) {
    spoolscan::__private::check_levels(data);
    check_validate(data);
}

/// Fuzz target `simd`, second part: the validator agrees with serde_json on every line of
/// `data` (see `json_oracle`).
pub fn check_validate(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        let got = spoolscan::__private::validate(line);
        assert_eq!(
            got.is_ok(),
            json_oracle::json_oracle(line),
            "{:?}: {got:?}",
            String::from_utf8_lossy(line)
        );
    }
}
