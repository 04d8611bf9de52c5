//! An independent oracle for spoolscan's scan semantics, written with serde_json.
//!
//! It splits lines naively, parses every non-blank line fully with serde_json (into a value
//! that keeps the *first* of duplicate keys, as DESIGN §2 says), and applies the rules to the
//! parsed value. It models a scan with `validate_all` on and every line within `max_line`
//! and the ceiling, where the contract fully determines each line's category: valid JSON is
//! retained or skipped by the rules, invalid JSON is malformed. (Without `validate_all`, the
//! same holds for inputs whose lines are all valid.)
#![allow(dead_code)]

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value whose objects keep every key in order (so lookups can take the first).
#[derive(Debug)]
pub enum J {
    Str(String),
    Obj(Vec<(String, J)>),
    Other,
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<J, E> {
                Ok(J::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<J, E> {
                Ok(J::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<J, E> {
                Ok(J::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<J, E> {
                Ok(J::Other)
            }
            fn visit_str<E>(self, s: &str) -> Result<J, E> {
                Ok(J::Str(s.to_owned()))
            }
            fn visit_unit<E>(self) -> Result<J, E> {
                Ok(J::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                while a.next_element::<J>()?.is_some() {}
                Ok(J::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry::<String, J>()? {
                    v.push((k, x));
                }
                Ok(J::Obj(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl J {
    pub fn at(&self, path: &[String]) -> Option<&J> {
        let mut cur = self;
        for key in path {
            let J::Obj(kv) = cur else { return None };
            cur = &kv.iter().find(|(k, _)| k == key)?.1;
        }
        Some(cur)
    }
}

/// A rule as the oracle sees it.
#[derive(Clone, Debug)]
pub struct Rule {
    pub path: Vec<String>,
    pub contains: bool,
    pub values: Vec<String>,
}

impl Rule {
    pub fn new(path: &str, contains: bool, values: &[&str]) -> Rule {
        Rule {
            path: path.split('.').map(String::from).collect(),
            contains,
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn matches(&self, v: &J, case_sensitive: bool) -> bool {
        let J::Str(s) = v else { return false };
        self.values
            .iter()
            .any(|want| match (self.contains, case_sensitive) {
                (false, true) => s == want,
                (false, false) => s.eq_ignore_ascii_case(want),
                (true, true) => s.contains(want.as_str()),
                (true, false) => s.to_ascii_lowercase().contains(&want.to_ascii_lowercase()),
            })
    }
}

/// What the oracle expects of a scan.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub bytes: u64,
    pub lines: u64,
    pub blank: u64,
    pub skipped: u64,
    /// (line number, offset, bytes) of each retained line.
    pub retained: Vec<(u64, u64, Vec<u8>)>,
    /// (line number, offset, len) of each malformed line.
    pub malformed: Vec<(u64, u64, u64)>,
    pub truncated: bool,
}

/// Splits `data` into (number, offset, content) by hand: BOM, LF, CR LF, final CR.
pub fn naive_lines(data: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut off = if data.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let body = &data[off..];
    if body.is_empty() {
        return out;
    }
    let mut parts: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    if body.ends_with(b"\n") {
        parts.pop();
    }
    for (i, p) in parts.iter().enumerate() {
        let c = p.strip_suffix(b"\r").unwrap_or(p);
        out.push((i as u64 + 1, off as u64, c.to_vec()));
        off += p.len() + 1;
    }
    out
}

pub fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r'))
}

/// The oracle.
pub fn expect(data: &[u8], rules: &[Rule], case_sensitive: bool) -> Expected {
    let mut e = Expected {
        bytes: data.len() as u64,
        ..Expected::default()
    };
    let lines = naive_lines(data);
    let n = lines.len();
    for (i, (num, off, bytes)) in lines.into_iter().enumerate() {
        e.lines += 1;
        if is_blank(&bytes) {
            e.blank += 1;
            continue;
        }
        let parsed = serde_json::from_slice::<J>(&bytes);
        if i + 1 == n && !data.ends_with(b"\n") && parsed.is_err() {
            e.truncated = true;
        }
        match parsed {
            Err(_) => e.malformed.push((num, off, bytes.len() as u64)),
            Ok(v) => {
                let keep = rules.is_empty()
                    || (matches!(v, J::Obj(_))
                        && rules
                            .iter()
                            .any(|r| v.at(&r.path).is_some_and(|x| r.matches(x, case_sensitive))));
                if keep {
                    e.retained.push((num, off, bytes));
                } else {
                    e.skipped += 1;
                }
            }
        }
    }
    e
}

/// Deserialization errors for the oracle's value type are serde_json's.
pub type OracleError = de::value::Error;
