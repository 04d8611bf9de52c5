//! The probe against its seed table and hostile cases.

use super::*;
use crate::select::Selector;

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

/// The resumable walk alone, given the whole line at once (what [`Probe::classify`] falls back
/// to when the fast path gives up).
fn resumable(p: &mut Probe, line: &[u8], exact: bool) -> (Outcome, Vec<u8>) {
    p.start();
    match p.resume(line, line.len(), exact) {
        Progress::Done(o) => (o, p.matched_value().to_vec()),
        Progress::Paused => unreachable!("a walk given the whole window never pauses"),
    }
}

/// Well-formed objects (most of them) with the rules' keys at random places and depths, other
/// keys, escapes in keys and values, whitespace or none, and now and then one broken byte.
fn object_strategy() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        Just("type"),
        Just("item"),
        Just("typ\\u0065"),
        Just("id"),
        Just("text"),
        Just("a_rather_long_key_name"),
        Just("items"),
    ];
    let string = prop_oneof![
        Just("error"),
        Just("Turn.Failed"),
        Just("agent_message"),
        Just("agent\\u005fmessage"),
        Just("item.completed"),
        Just("x\\\"y\\\\"),
        Just("\\ud800"),
        Just(""),
        Just("a string long enough to leave the inline sixteen and thirty-two byte checks"),
    ];
    let scalar = prop_oneof![
        string.prop_map(|s| format!("\"{s}\"")),
        Just("12".to_string()),
        Just("-0.5e3".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("[1,{\"type\":\"error\"},[]]".to_string()),
    ];
    let leaf = scalar.boxed();
    let object = |members: Vec<(&str, String, bool)>| {
        let body: Vec<String> = members
            .into_iter()
            .map(|(k, v, ws)| match ws {
                true => format!(" \"{k}\" : {v} "),
                false => format!("\"{k}\":{v}"),
            })
            .collect();
        format!("{{{}}}", body.join(","))
    };
    let inner_key = key.clone();
    let value = leaf.prop_recursive(3, 30, 5, move |inner| {
        proptest::collection::vec((inner_key.clone(), inner, any::<bool>()), 0..5).prop_map(object)
    });
    let top = proptest::collection::vec((key, value, any::<bool>()), 0..6).prop_map(object);
    let byte = prop_oneof![
        3 => proptest::sample::select(b"{}[]:,\"\\ x0".to_vec()),
        1 => any::<u8>(),
    ];
    (top, any::<bool>(), byte, any::<usize>()).prop_map(|(top, break_it, b, at)| {
        let mut line = top.into_bytes();
        // Broken at a structural byte (where the fast path must give up), or not at all.
        let marks: Vec<usize> = (0..line.len())
            .filter(|&i| b"{}[]:,\"".contains(&line[i]))
            .collect();
        if break_it && !marks.is_empty() {
            line[marks[at % marks.len()]] = b;
        }
        line
    })
}

/// The Codex selection and a `contains` rule on a nested key, for the fast path's tests.
fn fast_path_probe(case_sensitive: bool) -> Probe {
    let sel = Selector::new()
        .equals("type", ["turn.completed", "error", "turn.failed"])
        .unwrap()
        .equals("item.type", ["agent_message"])
        .unwrap()
        .contains("item.text", ["long enough"])
        .unwrap();
    Probe::new(&sel, case_sensitive)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The fast path decides what the resumable walk decides, with the same matched value, on
    /// every line it decides; on the others it gives up and the resumable walk decides.
    #[test]
    fn fast_path_agrees_with_the_resumable_walk(
        line in prop_oneof![object_strategy(), line_strategy()],
        exact in any::<bool>(),
        sensitive in any::<bool>(),
    ) {
        let mut p = fast_path_probe(sensitive);
        let want = resumable(&mut p, &line, exact);
        if let Some(got) = p.whole(&line) {
            prop_assert_eq!(got, want.0, "{}", String::from_utf8_lossy(&line));
            if matches!(got, Outcome::Retain(_)) {
                prop_assert_eq!(p.matched_value(), &want.1[..]);
            }
        }
        prop_assert_eq!(p.classify(&line, exact), want.0);
    }

    /// The fast path's LF form, given the line and what follows it (its LF, another line),
    /// decides what the fast path decides on the line's bytes alone (up to the first LF, a
    /// CR before it left out), never reads past the LF, and says where it stopped: at or before
    /// the LF.
    #[test]
    fn fast_path_finds_the_line_end_as_it_goes(
        line in prop_oneof![object_strategy(), line_strategy()],
        term in proptest::sample::select(vec![&b"\n"[..], b"\r\n", b" \n", b""]),
        cut in any::<usize>(),
        tail in prop_oneof![object_strategy(), line_strategy()],
        sensitive in any::<bool>(),
    ) {
        // The line cut anywhere, by its end: the rest of it (which, read, could decide) and
        // another line follow.
        let mut p = fast_path_probe(sensitive);
        let k = cut % (line.len() + 1);
        let mut more = line[..k].to_vec();
        more.extend_from_slice(term);
        more.extend_from_slice(&line[k..]);
        more.push(b'\n');
        more.extend_from_slice(&tail);
        let lf = more.iter().position(|&b| b == b'\n');
        let content = match lf {
            Some(i) => more[..i].strip_suffix(b"\r").unwrap_or(&more[..i]),
            None => &more[..],
        };
        let want = p.whole(content).map(|o| (o, p.matched_value().to_vec()));
        let got = p.whole_lf(&more);
        prop_assert_eq!(got.map(|g| g.0), want.as_ref().map(|w| w.0),
            "{}", String::from_utf8_lossy(&more));
        if let Some((o, reach)) = got {
            prop_assert!(reach <= lf.unwrap_or(more.len()), "reach {} past the LF", reach);
            if matches!(o, Outcome::Retain(_)) {
                prop_assert_eq!(p.matched_value(), &want.unwrap().1[..]);
            }
        }
    }
}

/// The LF form of the fast path stops at the line's end wherever it comes: between tokens,
/// inside a key, a value, a skipped string or container.
#[test]
fn fast_path_lf_form_stops_at_the_line_end() {
    let mut p = codex();
    let next = "\n{\"type\":\"error\"}\n";
    // Each line is cut at the `|`, and read on (as if there were no LF) it would be retained.
    let retained = r#","item":{"type":"agent_message"}}"#;
    for line in [
        r#"{"item":{"type":"x"},|"type":"error"}"#,
        r#"{"item":{"type":"x"}|,"type":"error"}"#,
        r#"{"ty|pe":"error"}"#,
        r#"{"type":|"error"}"#,
        r#"{"type":"err|or"}"#,
        r#"{"type":"error|"}"#,
        r#"{"type":"x","skipped":[{"a":"b|"}]$"#,
        r#"{"type":"x","skipped":"abc|"$"#,
        r#"{"type":"x","skipped":"a\|n"$"#,
        r#"{"type":"x","skipped":[1,"]",|2]$"#,
        r#"{"type":"x","skipped":[1,"]|"]$"#,
        r#"{"type":"x","skipped":{"a":"b"}|$"#,
        r#"{"type":"x","n":12|$"#,
        r#"{"type":"x","s":"a long string that leaves the short checks behind, and goes on|"$"#,
        r#"{"type":"x","s":[{"a":"a long string, longer than a block of sixty-four bytes|"}]$"#,
    ] {
        let (head, rest) = line.split_once('|').unwrap();
        let rest = rest.replace('$', retained);
        let whole = format!("{head}{rest}");
        assert!(
            matches!(p.whole(whole.as_bytes()), Some(Outcome::Retain(_))),
            "{whole}"
        );
        for lf in ["\n", "\r\n"] {
            let more = format!("{head}{lf}{rest}{next}");
            assert_eq!(p.whole(head.as_bytes()), None, "{line}");
            assert_eq!(p.whole_lf(more.as_bytes()), None, "{line}");
        }
    }
    // With `type` the only rule, any value for it (an LF taken for one) would decide.
    let sel = Selector::new().equals("type", ["error"]).unwrap();
    let mut only_type = Probe::new(&sel, false);
    for (head, rest) in [
        ("{\"type\":", "\"error\"}"),
        ("{\"type\": ", "\"error\"}"),
        ("{", "\"type\":1}"),
    ] {
        for lf in ["\n", "\r\n"] {
            let more = format!("{head}{lf}{rest}{next}");
            assert_eq!(only_type.whole_lf(more.as_bytes()), None, "{more}");
        }
    }
    // Decided lines: where the walk stopped.
    let line = r#"{"type":"turn.started","n":1}"#;
    let more = format!("{line}{next}");
    assert_eq!(
        p.whole_lf(more.as_bytes()),
        Some((Outcome::Skip, line.len()))
    );
    let line = r#"{"type":"error","n":1}"#;
    let more = format!("{line}{next}");
    let want = r#"{"type":"error""#.len();
    assert_eq!(
        p.whole_lf(more.as_bytes()),
        Some((Outcome::Retain(0), want))
    );
}

/// The fast path takes the common lines itself: compact or spaced objects, nested or not,
/// whatever they hold after the decision.
#[test]
fn fast_path_decides_common_lines() {
    let mut p = codex();
    for line in [
        r#"{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"hi"}}"#,
        r#"{"type":"turn.started"}"#,
        r#"{ "type" : "error" , "message" : "x" }"#,
        r#"{"a":[1,{"b":"}"}],"n":-1.5,"t":true,"s":"a\"b","item":{"type":"reasoning"}}"#,
        r#"{"item":{}, "type":"x"}"#,
        "[1,2]",
    ] {
        let fast = p.whole(line.as_bytes());
        let (want, _) = resumable(&mut p, line.as_bytes(), true);
        assert_eq!(fast, Some(want), "{line}");
    }
    // It gives up where the resumable walk has something to say.
    for line in [
        r#"{"type":"x","n":[1,2}"#,
        r#"{"typ\u0065":"error"}"#,
        r#"{"type":"x""#,
        r#"{"type":"x"]"item":{"type":"agent_message"}}"#,
        "Reading prompt",
    ] {
        assert_eq!(p.whole(line.as_bytes()), None, "{line}");
    }
}
