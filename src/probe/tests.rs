//! The probe against its seed table and hostile cases, and the resumable walk fed in pieces;
//! the fast path against the resumable walk is in `tests/fast.rs`.

use super::*;
use crate::select::Selector;

mod fast;

fn codex() -> Probe {
    let sel = Selector::new()
        .equals("type", ["turn.completed", "error", "turn.failed"])
        .unwrap()
        .equals("item.type", ["agent_message"])
        .unwrap();
    Probe::new(&sel, false)
}

fn exact(p: &mut Probe, line: &str) -> Outcome {
    p.classify(line.as_bytes(), true)
}

fn retained(o: Outcome) -> bool {
    matches!(o, Outcome::Retain(_))
}

#[test]
fn seed_table() {
    let mut p = codex();
    // (line, retained?) -- every line here is decided within the line.
    let table: &[(&str, bool)] = &[
        (r#"{"type":"error"}"#, true),
        (r#"{"type":"ERROR"}"#, true),
        (r#"{"type":"err\u006fr"}"#, true),
        (r#"{"typ\u0065":"error"}"#, true),
        (r#"{"type":"errors"}"#, false),
        (
            r#"{"type":"item.completed","item":{"type":"agent_message"}}"#,
            true,
        ),
        (
            r#"{"type":"item.completed","item":{"type":"agent\u005fmessage"}}"#,
            true,
        ),
        (r#"{"item":{"id":1,"type":"agent_message"}}"#, true),
        (r#"{"item":{"item":{"type":"agent_message"}}}"#, false),
        (r#"{"payload":{"type":"error"}}"#, false),
        (r#"{"text":"\"type\":\"error\""}"#, false),
        (r#"{"output":"{\"type\":\"error\"}","type":"x"}"#, false),
        (r#"{"type":5}"#, false),
        (r#"{"type":null}"#, false),
        (r#"{"type":["error"]}"#, false),
        (r#"{"type":{"type":"error"}}"#, false),
        (r#"{"type":"x","type":"error"}"#, false),
        (r#"{"type":"error","type":"x"}"#, true),
        (r#"{"item":"agent_message"}"#, false),
        (
            r#"{"item":{"type":"x"},"item":{"type":"agent_message"}}"#,
            false,
        ),
        (r#"{"type.x":"error","item.type":"agent_message"}"#, false),
        (r#"  {  "type" : "error" }  "#, true),
        (r#"{}"#, false),
        (r#"{"a":[{"b":"}"}],"type":"error"}"#, true),
    ];
    for (line, want) in table {
        let got = exact(&mut p, line);
        assert_eq!(retained(got), *want, "{line}: {got:?}");
        if !want {
            assert_eq!(got, Outcome::Skip, "{line}");
        }
    }
}

#[test]
fn non_objects_and_garbage() {
    let mut p = codex();
    for line in [
        "[1,2]", "\"s\"", "42", "-1", "true", "false", "null", "[", "nul",
    ] {
        assert_eq!(exact(&mut p, line), Outcome::NotObject, "{line}");
    }
    for line in [
        "Reading prompt from stdin...",
        "\x0c{}",
        "}",
        "{\"type\":\"x\"]",
    ] {
        assert!(
            matches!(exact(&mut p, line), Outcome::Malformed { .. }),
            "{line}"
        );
    }
}

#[test]
fn syntax_errors_before_decision() {
    let mut p = codex();
    // The item.type rule is still open when the bracket mismatch is seen.
    let o = exact(&mut p, r#"{"type":"turn.started","n":[1,2}"#);
    assert_eq!(
        o,
        Outcome::Malformed {
            at: 31,
            what: "mismatched bracket"
        }
    );
    // Decided before the garbage: skipped, not malformed (the probe is not a validator).
    assert_eq!(
        exact(
            &mut p,
            r#"{"type":"item.started","item":{"type":"x","x":tru}}"#
        ),
        Outcome::Skip
    );
    assert!(matches!(
        exact(&mut p, r#"{"type":"turn.completed","usage":{"in"#),
        Outcome::Retain(_)
    ));
    assert!(matches!(
        exact(&mut p, r#"{"type":"x","#),
        Outcome::Malformed { .. }
    ));
    assert!(matches!(
        exact(&mut p, r#"{"type":"\ud800"}"#),
        Outcome::Malformed { .. }
    ));
    assert!(matches!(
        exact(&mut p, r#"{"type":"\q"}"#),
        Outcome::Malformed { .. }
    ));
}

#[test]
fn probe_boundary() {
    let mut p = codex();
    let line = br#"{"type":"error"}"#;
    // The closing quote must lie inside the window.
    assert_eq!(p.classify(&line[..14], false), Outcome::Undecided);
    assert!(retained(p.classify(&line[..15], false)));
    let skip = br#"{"type":"x","item":{"type":"reasoning"}}"#;
    for n in 0..skip.len() {
        let o = p.classify(&skip[..n], false);
        assert!(o == Outcome::Undecided || o == Outcome::Skip, "{n}: {o:?}");
    }
    assert_eq!(p.classify(skip, false), Outcome::Skip);
}

#[test]
fn type_after_a_huge_field() {
    let mut p = codex();
    let mut line = br#"{"aggregated_output":""#.to_vec();
    line.extend(std::iter::repeat_n(b'x', 4 << 20));
    line.extend_from_slice(br#"\"type\":\"error\"","type":"error"}"#);
    assert!(retained(p.classify(&line, true)));
    assert_eq!(p.classify(&line, false), Outcome::Retain(0));
    assert_eq!(p.classify(&line[..4096], false), Outcome::Undecided);
}

#[test]
fn deep_nesting_uses_bounded_stack() {
    let mut p = codex();
    let n = 200_000;
    let mut line = br#"{"x":"#.to_vec();
    line.extend(std::iter::repeat_n(b'[', n));
    line.extend(std::iter::repeat_n(b']', n));
    line.extend_from_slice(br#","type":"error"}"#);
    assert!(retained(p.classify(&line, true)));
    let mut line = br#"{"x":"#.to_vec();
    line.extend(std::iter::repeat_n(b'{', n));
    assert_eq!(p.classify(&line, false), Outcome::Undecided);
    assert!(matches!(p.classify(&line, true), Outcome::Malformed { .. }));
}

#[test]
fn case_sensitive_and_contains() {
    let sel = Selector::new()
        .equals("type", ["Error"])
        .unwrap()
        .contains("item.text", ["TODO"])
        .unwrap();
    let mut cs = Probe::new(&sel, true);
    let mut ci = Probe::new(&sel, false);
    for (line, want_cs, want_ci) in [
        (r#"{"type":"Error"}"#, true, true),
        (r#"{"type":"error"}"#, false, true),
        (r#"{"item":{"text":"a TODO b"}}"#, true, true),
        (r#"{"item":{"text":"a todo b"}}"#, false, true),
        (r#"{"item":{"text":"a t\u004fdo b"}}"#, false, true),
        (r#"{"item":{"text":["TODO"]}}"#, false, false),
    ] {
        assert_eq!(retained(exact(&mut cs, line)), want_cs, "cs {line}");
        assert_eq!(retained(exact(&mut ci, line)), want_ci, "ci {line}");
    }
}

#[test]
fn matched_value_keeps_spelling() {
    let mut p = codex();
    assert!(retained(exact(&mut p, r#"{"type":"ERR\u004fR"}"#)));
    assert_eq!(p.matched_value(), b"ERROR");
    let sel = Selector::new().contains("t", ["x"]).unwrap();
    let mut p = Probe::new(&sel, false);
    let long = format!(r#"{{"t":"X{}"}}"#, "é".repeat(200));
    assert!(retained(exact(&mut p, &long)));
    assert!(p.matched_value().len() <= VALUE_CUT);
    assert!(std::str::from_utf8(p.matched_value()).is_ok());
}

/// Keys and values are told apart by their length and first eight bytes first, then the
/// rest: a single differing byte anywhere, or one byte more or less, never matches, for keys
/// and values of every length around the word size and past the 63-byte length bucket.
#[test]
fn keys_and_values_differing_in_one_byte_never_match() {
    let text = |n: usize| -> String { (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect() };
    for n in [1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 62, 63, 64, 70] {
        let (key, value) = (text(n), text(n).to_uppercase());
        let path = format!("{key}.{key}");
        for case_sensitive in [false, true] {
            let sel = Selector::new().equals(&path, [value.as_str()]).unwrap();
            let mut p = Probe::new(&sel, case_sensitive);
            let line = |k: &str, v: &str| format!(r#"{{"{k}":{{"{k}":"{v}"}}}}"#);
            assert!(retained(exact(&mut p, &line(&key, &value))), "{n}");
            let lower = value.to_lowercase();
            assert_eq!(
                retained(exact(&mut p, &line(&key, &lower))),
                !case_sensitive,
                "{n}"
            );
            for at in 0..n {
                let mut k = key.clone().into_bytes();
                k[at] = b'_';
                let k = String::from_utf8(k).unwrap();
                assert!(!retained(exact(&mut p, &line(&k, &value))), "key {k}");
                let mut v = value.clone().into_bytes();
                v[at] = b'_';
                let v = String::from_utf8(v).unwrap();
                assert!(!retained(exact(&mut p, &line(&key, &v))), "value {v}");
            }
            for (k, v) in [
                (format!("{key}x"), value.clone()),
                (key[..n - 1].to_string(), value.clone()),
                (key.clone(), format!("{value}X")),
                (key.clone(), value[..n - 1].to_string()),
            ] {
                assert!(!retained(exact(&mut p, &line(&k, &v))), "{k}: {v}");
            }
        }
    }
}

/// Thousands of values on one path and thousands of paths (looked up through hash maps)
/// give what the rules give one by one: the first rule that matches.
#[test]
fn many_rules_agree_with_one_by_one() {
    let values: Vec<String> = (0..3000).map(|i| format!("Event{i}")).collect();
    let mut sel = Selector::new()
        .contains("msg", ["needle"])
        .unwrap()
        .equals("type", values.iter().map(String::as_str))
        .unwrap();
    for i in 0..2000 {
        sel = sel.equals(&format!("k{i}.x"), [format!("v{i}")]).unwrap();
    }
    sel = sel.equals("type", ["event7", "late"]).unwrap();
    for case_sensitive in [false, true] {
        let mut p = Probe::new(&sel, case_sensitive);
        // (line, the index of the first rule that should match)
        let table: Vec<(String, Option<usize>)> = vec![
            (r#"{"type":"Event17"}"#.into(), Some(1)),
            (
                r#"{"type":"event17"}"#.into(),
                (!case_sensitive).then_some(1),
            ),
            (r#"{"type":"Event3000"}"#.into(), None),
            (r#"{"type":"late"}"#.into(), Some(2002)),
            (
                r#"{"type":"event7"}"#.into(),
                Some(if case_sensitive { 2002 } else { 1 }),
            ),
            (r#"{"msg":"a needle","type":"Event1"}"#.into(), Some(0)),
            (r#"{"type":"Event1","msg":"a needle"}"#.into(), Some(1)),
            (r#"{"k1999":{"x":"v1999"}}"#.into(), Some(2001)),
            (r#"{"k1999":{"x":"v1998"},"k5":{"x":"v5"}}"#.into(), Some(7)),
            (r#"{"k2000":{"x":"v2000"}}"#.into(), None),
            (r#"{"typ\u0065":"Ev\u0065nt9"}"#.into(), Some(1)),
        ];
        for (line, want) in table {
            let got = exact(&mut p, &line);
            let want = want.map_or(Outcome::Skip, Outcome::Retain);
            assert_eq!(got, want, "{line} (case_sensitive: {case_sensitive})");
        }
    }
}

#[test]
fn unescape_cases() {
    let mut out = Vec::new();
    unescape(br#"a\"b\\c\/\n\u00e9\ud83d\ude00"#, &mut out).unwrap();
    assert_eq!(out, "a\"b\\c/\né😀".as_bytes());
    assert!(unescape(br"\ud800", &mut out).is_err());
    assert!(unescape(br"\udc00", &mut out).is_err());
    assert!(unescape(br"\u12", &mut out).is_err());
    assert!(unescape(br"\", &mut out).is_err());
}

/// The probe fed `line` in pieces ending at `cuts` (then all of it), as the scanner feeds a
/// long line: its outcome and the value that decided it.
fn fed_in_pieces(p: &mut Probe, line: &[u8], exact: bool, cuts: &[usize]) -> (Outcome, Vec<u8>) {
    let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(line.len())).collect();
    ends.sort_unstable();
    ends.push(line.len());
    p.start();
    for (k, &upto) in ends.iter().enumerate() {
        match p.resume(line, upto, exact) {
            Progress::Done(o) => return (o, p.matched_value().to_vec()),
            Progress::Paused => assert!(upto < line.len(), "paused at the end ({k})"),
        }
    }
    unreachable!("the last piece ends the line")
}

/// Fragments the lines of the property test below are made of: the rules' keys and values
/// (plain, escaped, in other case), punctuation, scalars, strings with escapes and quotes,
/// whitespace, and bytes that break the grammar.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    " ",
    "\n",
    "\t",
    r#""type""#,
    r#""item""#,
    r#""typ\u0065""#,
    r#""error""#,
    r#""ERROR""#,
    r#""agent_message""#,
    r#""agent\u005fmessage""#,
    r#""turn.failed""#,
    r#""x\"y""#,
    r#""\\""#,
    r#""a\\\"b""#,
    r#""\q""#,
    r#""\ud800""#,
    "1",
    "-2.5e3",
    "true",
    "null",
    "fals",
    "\"",
    "\\",
    "x",
    r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa""#,
];

/// Lines that are mostly objects: a `{`, then fragments.
fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0..FRAGMENTS.len(), 0..60).prop_map(|ix| {
        let mut line = b"{".to_vec();
        for i in ix {
            line.extend_from_slice(FRAGMENTS[i].as_bytes());
        }
        line
    })
}

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Fed in pieces of any size (down to one byte), the probe decides what it decides on the
    /// whole line, with the same matched value, whether the line is exact or a window.
    #[test]
    fn fed_in_pieces_equals_whole(
        line in line_strategy(),
        cuts in proptest::collection::vec(0usize..400, 0..12),
        exact in any::<bool>(),
        one_by_one in any::<bool>(),
    ) {
        let mut p = codex();
        let whole = p.classify(&line, exact);
        let whole_value = p.matched_value().to_vec();
        let cuts: Vec<usize> = if one_by_one { (0..line.len()).collect() } else { cuts };
        let mut q = codex();
        let (fed, fed_value) = fed_in_pieces(&mut q, &line, exact, &cuts);
        prop_assert_eq!(fed, whole, "{}", String::from_utf8_lossy(&line));
        if matches!(whole, Outcome::Retain(_)) {
            prop_assert_eq!(fed_value, whole_value);
        }
        // A probe that has paused on one line starts the next one afresh.
        prop_assert_eq!(q.classify(&line, exact), whole);
    }
}

/// Pieces that end inside each kind of token: a key, a value compared, a skipped string, a
/// skipped container, a number, whitespace.
#[test]
fn pauses_inside_every_token() {
    let lines: &[&[u8]] = &[
        br#"{"aggregated_output":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"yy","type":"error"}"#,
        br#"{"x":[1,{"a":"}"},[[[]]],"\"]"],"item":{"id":"i","type":"agent_message"}}"#,
        br#"{"n":-12345678901234567890e-5,   "type"   :   "turn.failed"   }"#,
        br#"{"x":[1,2},"type":"error"}"#,
        br#"{"typ\u0065":"t\u0075rn.failed"}"#,
        br#"{"item":{"type":"agent_message_long_value_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}"#,
    ];
    for line in lines {
        for exact in [true, false] {
            let whole = codex().classify(line, exact);
            for cut in 0..line.len() {
                let (fed, _) = fed_in_pieces(&mut codex(), line, exact, &[cut]);
                assert_eq!(fed, whole, "{} cut at {cut}", String::from_utf8_lossy(line));
            }
        }
    }
}
