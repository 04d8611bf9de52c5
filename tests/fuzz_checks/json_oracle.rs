//! The validator's oracle, shared by the fuzz checks (`mod.rs`) and the validator's unit tests
//! (`src/validate/tests.rs`).

use serde::Deserialize;

/// The oracle: RFC 8259 as serde_json reads it, with numbers of any magnitude (skipping a
/// value with `IgnoredAny` checks a number's syntax without converting it) and no recursion
/// limit, plus the two stricter readings: at most 1024 levels, no unpaired surrogate escape
/// (serde_json rejects those when it decodes a string, so they are checked by decoding into a
/// `Value` unless a number is out of `f64`'s range).
pub fn json_oracle(line: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    if serde::de::IgnoredAny::deserialize(&mut de)
        .and_then(|_| de.end())
        .is_err()
    {
        return false;
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    match serde_json::Value::deserialize(&mut de) {
        Ok(v) => depth(&v) <= 1024,
        // serde_json cannot decode the line; its grammar is valid, so the readings are checked
        // by a naive walk instead.
        Err(e) if e.to_string().contains("number out of range") => {
            naive_depth(line) <= 1024 && naive_surrogates_paired(line)
        }
        Err(_) => false,
    }
}

/// The deepest nesting of a valid line, one byte at a time.
fn naive_depth(line: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in line {
        match (in_str, esc, b) {
            (true, true, _) => esc = false,
            (true, false, b'\\') => esc = true,
            (true, false, b'"') | (false, _, b'"') => in_str = !in_str,
            (false, _, b'[' | b'{') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, _, b']' | b'}') => depth -= 1,
            _ => {}
        }
    }
    max
}

/// Whether every `\u` surrogate escape of a valid line is paired, one escape at a time.
fn naive_surrogates_paired(line: &[u8]) -> bool {
    let hex = |i: usize| {
        std::str::from_utf8(line.get(i..i + 4)?)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    let mut i = 0;
    while i < line.len() {
        if line[i] != b'\\' {
            i += 1;
            continue;
        }
        if line.get(i + 1) != Some(&b'u') {
            i += 2;
            continue;
        }
        match hex(i + 2) {
            Some(0xD800..=0xDBFF) => {
                let lo = (line.get(i + 6..i + 8) == Some(b"\\u"))
                    .then(|| hex(i + 8))
                    .flatten();
                if !matches!(lo, Some(0xDC00..=0xDFFF)) {
                    return false;
                }
                i += 12;
            }
            Some(0xDC00..=0xDFFF) => return false,
            _ => i += 6,
        }
    }
    true
}

fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
