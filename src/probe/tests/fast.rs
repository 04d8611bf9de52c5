//! The probe's fast path ([`Probe::whole`], and its LF form [`Probe::whole_lf`]) against the
//! resumable walk: property tests on generated objects and lines, and hand-picked lines
//! where the LF form must stop or the fast path must decide.

use super::*;
use proptest::prelude::*;

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
