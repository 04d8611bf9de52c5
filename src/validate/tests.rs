//! The validator against serde_json (the oracle), and at every SIMD level.

use proptest::prelude::*;

use super::*;
use crate::simd::Level;

/// The oracle (shared with the fuzz checks): RFC 8259 as serde_json reads it, plus the two
/// stricter readings.
#[path = "../../tests/fuzz_checks/json_oracle.rs"]
mod json_oracle;
use json_oracle::json_oracle as oracle;

fn levels() -> Vec<Level> {
    Level::ALL
        .into_iter()
        .filter(|l| l.is_supported())
        .collect()
}

/// Validates at every level, checks they agree, and returns the verdict.
fn check(line: &[u8]) -> Result<(), Invalid> {
    let got = validate(line);
    for level in levels() {
        let at_level = check_at(level, line);
        // The fast walk and the precise walk agree (`check` runs the precise one only on what
        // the fast one rejects).
        assert_eq!(
            precise_at(level, line).is_ok() && std::str::from_utf8(line).is_ok(),
            at_level.is_ok(),
            "{level:?}: the walks disagree on {:?}",
            String::from_utf8_lossy(line)
        );
        assert_eq!(
            at_level,
            got,
            "{level:?} disagrees on {:?}",
            String::from_utf8_lossy(line)
        );
    }
    got
}

#[test]
fn table() {
    let valid: &[&[u8]] = &[
        b"{}",
        b"[]",
        b" { \"a\" : [ 1 , -0.5e+3 , true , false , null , \"x\" ] } ",
        b"\"s\"",
        b"0",
        b"-0",
        b"1e400",
        b"[1e+9999]",
        b"100000000000000000000000000000000",
        b"\"\\u00e9\\ud83d\\ude00\\n\\/\"",
        "\"caf\u{e9} \u{1F600}\"".as_bytes(),
        b"{\"a\":{\"b\":[[],{}]}}",
        b"\t[1]\r",
    ];
    for line in valid {
        assert_eq!(check(line), Ok(()), "{:?}", String::from_utf8_lossy(line));
        assert!(oracle(line), "oracle {:?}", String::from_utf8_lossy(line));
    }
    let invalid: &[(&[u8], usize, &str)] = &[
        (b"", 0, "unexpected end of line"),
        (b"   ", 3, "unexpected end of line"),
        (b"{", 1, "unexpected end of line"),
        (b"{\"a\"", 4, "unexpected end of line"),
        (b"{\"a\":}", 5, "expected a value"),
        (b"{\"a\" 1}", 5, "expected ':'"),
        (b"{1:2}", 1, "expected a key or '}'"),
        (b"{\"a\":1,}", 7, "expected a key"),
        (b"[1,]", 3, "expected a value"),
        (b"[1 2]", 3, "expected ',' or ']'"),
        (b"{\"a\":1]", 6, "expected ',' or '}'"),
        (b"[1}", 2, "expected ',' or ']'"),
        (b"{} x", 3, "trailing characters after the JSON value"),
        (b"{}{}", 2, "trailing characters after the JSON value"),
        (b"<html>", 0, "expected a value"),
        (b"tru", 0, "invalid literal"),
        (b"nulls", 0, "invalid literal"),
        (b"01", 1, "invalid number"),
        (b"1.", 2, "invalid number"),
        (b"-", 1, "invalid number"),
        (b"1e", 2, "invalid number"),
        (b".5", 0, "expected a value"),
        (b"+1", 0, "expected a value"),
        (b"\"abc", 4, "unterminated string"),
        (b"\"a\tb\"", 2, "control character in a string"),
        (b"\"\\q\"", 1, "invalid escape"),
        (b"\"\\u12\"", 1, "invalid \\u escape"),
        (b"\"\\ud800\"", 1, "unpaired surrogate escape"),
        (b"\"\\udc00\"", 1, "unpaired surrogate escape"),
        (b"\"\\ud800\\u0041\"", 1, "unpaired surrogate escape"),
        (b"[\"\xff\"]", 2, "invalid UTF-8"),
        (b"\x0c{}", 0, "expected a value"),
        (b"[1]\\", 3, "trailing characters after the JSON value"),
    ];
    for (line, at, what) in invalid {
        let e = check(line).expect_err(&String::from_utf8_lossy(line));
        assert_eq!(
            (e.at, e.what),
            (*at, *what),
            "{:?}",
            String::from_utf8_lossy(line)
        );
        assert!(!oracle(line), "oracle {:?}", String::from_utf8_lossy(line));
    }
}

#[test]
fn messages_say_what_and_where() {
    let e = validate(b"{\"a\":<}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid JSON at byte 5: expected a value, found '<'"
    );
    let e = validate(b"{\"a\":1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid JSON at byte 6: unexpected end of line"
    );
    let e = validate(b"[\x01]").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid JSON at byte 1: expected a value, found byte 0x01"
    );
}

#[test]
fn depth_limit() {
    for level in levels() {
        let ok = format!("{}{}", "[".repeat(1024), "]".repeat(1024));
        assert_eq!(check_at(level, ok.as_bytes()), Ok(()), "{level:?}");
        let deep = format!("{}{}", "[".repeat(1025), "]".repeat(1025));
        let e = check_at(level, deep.as_bytes()).unwrap_err();
        assert_eq!((e.at, e.what), (1024, "nested deeper than 1024 levels"));
        let deep = "{\"a\":".repeat(2000);
        assert!(check_at(level, deep.as_bytes()).is_err());
    }
}

/// The fast walk checks separators and what follows strings a block at a time: lines whose
/// members, separators and whitespace runs fall on every side of a 64-byte boundary, with
/// objects nested in objects and arrays, valid and broken by one change each.
#[test]
fn block_rules_across_boundaries() {
    let shapes: &[(&str, bool)] = &[
        (r#"{"k":{"a":1,"b":[1,{"c":"d"}]},"e":{}}"#, true),
        (r#"{"k":[{"a":{}},{"b":[]}],"e":"f"}"#, true),
        (r#"{"k":{"a":1,"b"},"e":2}"#, false),
        (r#"{"k":{"a":1,{}},"e":2}"#, false),
        (r#"{"k":{"a","b":1},"e":2}"#, false),
        (r#"{"k":["a":1],"e":2}"#, false),
        (r#"{"k":{"a":"b":1},"e":2}"#, false),
        (r#"{"k":{"a":1},"e":2,"f"}"#, false),
        (r#"{"k":{"a":1}:2}"#, false),
        (r#"{"k":"a""b"}"#, false),
        (r#"{"k":{"a":1}"e":2}"#, false),
        (r#"{"k":1 "e":2}"#, false),
        (r#"{"k":{},}"#, false),
        (r#"{"k":{ }}"#, true),
        (r#"{"k":{"x" }}"#, false),
        (r#"{"k":[ ]}"#, true),
        (r#"{"k":[,]}"#, false),
        (r#"{"k":true:1}"#, false),
        (r#""k":1"#, false),
        (r#"[1],2"#, false),
    ];
    for (shape, ok) in shapes {
        for pad in 0..70 {
            for ws in ["", " ", "  \t "] {
                // The padding moves every byte across a block boundary; the whitespace goes
                // around every separator.
                let spaced = shape
                    .replace(':', &format!("{ws}:{ws}"))
                    .replace(',', &format!("{ws},{ws}"));
                let key = "x".repeat(pad);
                let line = format!(r#"{{"{key}":{spaced}}}"#);
                let got = check(line.as_bytes());
                assert_eq!(got.is_ok(), *ok, "{line}: {got:?}");
                assert_eq!(oracle(line.as_bytes()), *ok, "oracle {line}");
            }
        }
    }
}

/// Tokens and bytes that make JSON interesting, to mutate valid lines with.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            &b"\""[..],
            b"\\",
            b"{",
            b"}",
            b"[",
            b"]",
            b":",
            b",",
            b" ",
            b"\t",
            b"\n",
            b"0",
            b"-",
            b"e",
            b".",
            b"\\u",
            b"\\ud800",
            b"\\udc00",
            b"\\ud83d\\ude00",
            b"\\u00e9",
            b"1e400",
            b"true",
            b"nul",
            b"\x01",
            b"\x7f",
            b"\xc3\xa9",
            b"\xff",
            b"\xe2\x82",
        ])
        .prop_map(|s| s.to_vec()),
        any::<u8>().prop_map(|b| vec![b]),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[ -~é😀\\\\\"\n\t\u{1}]{0,40}".prop_map(Value::String),
        "[a-z]{60,200}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::vec(("[a-z_\"\\\\]{0,8}", inner), 0..8)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn agrees_with_serde_json(
        v in json_value(),
        pretty in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, noise()), 0..3),
    ) {
        let mut line = if pretty {
            serde_json::to_vec_pretty(&v).unwrap()
        } else {
            serde_json::to_vec(&v).unwrap()
        };
        // Lines never hold LF: pretty output is folded onto one line with tabs.
        for b in &mut line {
            if *b == b'\n' {
                *b = b'\t';
            }
        }
        for (at, kind, bytes) in edits {
            let i = at.index(line.len() + 1);
            match kind {
                0 => { line.splice(i..i, bytes); }
                1 if i < line.len() => { line.remove(i); }
                _ if i < line.len() => { line.splice(i..i + 1, bytes); }
                _ => {}
            }
        }
        let got = check(&line);
        prop_assert_eq!(got.is_ok(), oracle(&line), "{:?}: {:?}", String::from_utf8_lossy(&line), got);
        if let Err(e) = got {
            prop_assert!(e.at <= line.len());
        }
    }

    #[test]
    fn random_bytes_agree_with_serde_json(
        line in prop::collection::vec(noise(), 0..40).prop_map(|v| v.concat()),
    ) {
        let got = check(&line);
        prop_assert_eq!(got.is_ok(), oracle(&line), "{:?}: {:?}", String::from_utf8_lossy(&line), got);
    }

    /// The one-pass line end and validation agrees with an LF search and [`validate`], at every
    /// level: what it passes is the line up to the first LF, valid without its CR; and it
    /// passes every valid line.
    #[test]
    fn line_finds_the_lf_and_validates_in_one_pass(
        parts in prop::collection::vec((json_value(), any::<bool>(), 0u8..4, noise()), 1..4),
        at in any::<prop::sample::Index>(),
    ) {
        let mut w = Vec::new();
        for (v, cr, edit, bytes) in parts {
            let mut line = serde_json::to_vec(&v).unwrap();
            if edit == 0 {
                let i = at.index(line.len() + 1);
                line.splice(i..i, bytes);
            }
            w.extend_from_slice(&line);
            if cr {
                w.push(b'\r');
            }
            w.push(b'\n');
        }
        let got = line(&w);
        for level in levels() {
            prop_assert_eq!(line_at(level, &w), got, "{:?}", level);
        }
        let lf = w.iter().position(|&b| b == b'\n').unwrap();
        let content = w[..lf].strip_suffix(b"\r").unwrap_or(&w[..lf]);
        let valid = validate(content).is_ok();
        match got {
            Some(i) => {
                prop_assert_eq!(i, lf);
                prop_assert!(valid, "{:?}", String::from_utf8_lossy(content));
                prop_assert!(validate(&w[..lf]).is_ok());
            }
            None => prop_assert!(!valid, "a valid line was not passed: {:?}", String::from_utf8_lossy(content)),
        }
        // Without an LF, never.
        prop_assert_eq!(line(&w[..lf]), None);
    }

    /// UTF-8 in strings that cross block boundaries anywhere: valid characters of one to four
    /// bytes among stray continuations, overlongs, surrogates, too-large and cut sequences.
    #[test]
    fn utf8_across_blocks_agrees_with_std(
        pad in 0usize..130,
        soup in prop::collection::vec(prop_oneof![
            6 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
            2 => Just(b"a".to_vec()),
            1 => prop::sample::select(vec![
                &b"\x80"[..], b"\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xc2", b"\xe0\x80\x80",
                b"\xe0\xa0", b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xef\xbf\xbf",
                b"\xf0\x8f\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf",
                b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\xe2\x82",
            ]).prop_map(|b| b.to_vec()),
        ], 0..40),
        tail in 0usize..70,
    ) {
        let mut line = b"[\"".to_vec();
        line.extend(std::iter::repeat_n(b'x', pad));
        for piece in soup {
            // No quote, backslash or control byte: the string stays one string.
            if !piece.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
                line.extend_from_slice(&piece);
            }
        }
        line.extend(std::iter::repeat_n(b'y', tail));
        line.extend_from_slice(b"\"]");
        let got = check(&line);
        prop_assert_eq!(got.is_ok(), std::str::from_utf8(&line).is_ok(), "{:?}", got);
        prop_assert_eq!(got.is_ok(), oracle(&line));
        if let Err(e) = got {
            prop_assert_eq!(e.what, "invalid UTF-8");
            prop_assert_eq!(e.at, std::str::from_utf8(&line).unwrap_err().valid_up_to());
        }
        let mut more = line.clone();
        more.extend_from_slice(b"\n\xff\xc3\n");
        for level in levels() {
            prop_assert_eq!(line_at(level, &more), got.is_ok().then_some(line.len()), "{:?}", level);
        }
    }
}

/// A piece of a long string's body: plain runs that carry it over block boundaries, escapes
/// good and bad, control bytes, an LF, UTF-8, and a quote that closes the string early.
fn string_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (0usize..150).prop_map(|n| vec![b'x'; n]),
        1 => prop::sample::select(vec![
            &br"\n"[..], br#"\""#, br"\\", br"\/", br"\u00e9", br"\ud83d\ude00", br"\q", br"\u12",
            br"\ud800", br"\udc00x", b"\x01", b"\t", b"\n", b"\x7f", "é".as_bytes(),
            "😀".as_bytes(), b"\xc3", b"\"", b"\\",
        ]).prop_map(|b| b.to_vec()),
    ]
}

proptest! {
    /// Strings running over several blocks (whole blocks inside a string are checked by the
    /// cheaper masks of a string's body) agree with the oracle, at every level, whole and with
    /// the line found by its LF.
    #[test]
    fn long_strings_across_blocks_agree_with_serde_json(
        pad in 0usize..64,
        pieces in prop::collection::vec(string_piece(), 0..12),
        after in prop::sample::select(vec!["\"]", "\",1]", "\"", "\"]]", "\"] "]),
    ) {
        let mut line = b"[\"".to_vec();
        line.extend(std::iter::repeat_n(b'y', pad));
        pieces.into_iter().for_each(|p| line.extend(p));
        line.extend_from_slice(after.as_bytes());
        let got = check(&line);
        prop_assert_eq!(got.is_ok(), oracle(&line), "{:?}: {:?}", String::from_utf8_lossy(&line), got);
        if !line.contains(&b'\n') {
            let mut more = line.clone();
            more.extend_from_slice(b"\n[\"\x01\n");
            for level in levels() {
                prop_assert_eq!(line_at(level, &more), got.is_ok().then_some(line.len()), "{:?}", level);
            }
        }
    }
}

/// An escape, a control byte or an LF at every offset of a string that runs over several
/// blocks, at every level: the same verdict and error as the oracle and the precise walk.
#[test]
fn string_bytes_at_every_offset_across_blocks() {
    for piece in [
        &br#"\""#[..],
        br"\\",
        br"\u00e9",
        br"\ud83d\ude00",
        br"\q",
        br"\ud800",
        b"\x01",
        b"\n",
        "é".as_bytes(),
        b"\xe9",
    ] {
        for k in 0..200 {
            let mut line = b"[\"".to_vec();
            line.extend(std::iter::repeat_n(b'x', k));
            line.extend_from_slice(piece);
            line.extend(std::iter::repeat_n(b'z', 150));
            line.extend_from_slice(b"\"]");
            let got = check(&line);
            assert_eq!(got.is_ok(), oracle(&line), "{k} {piece:?}: {got:?}");
        }
    }
}
