//! The profile sink (what the scanner pushes, turned into collector calls) and the helpers
//! the profiles share.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::summarizer::Limits;
use super::walk::{self, Fallback};
use super::{ERRORS_CAP, LIST_CAP, MESSAGE_CUT};
use crate::decode::Event;
use crate::error::Error;
use crate::probe::{Outcome, Probe};
use crate::readback::Input;
use crate::report::{Malformed, Report};
use crate::select::Selector;
use crate::sink::{Category, Passed, Sink};

// ---------------------------------------------------------------------------------------------
// The profile sink: what the scanner pushes, turned into collector calls

/// Where a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct At {
    pub(crate) line: u64,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

impl At {
    /// The offset just after the line's content.
    pub(crate) fn end(self) -> u64 {
        self.offset + self.len
    }
}

/// A retained line, decoded on demand: from the scanner's tape, or a repaired value.
pub(crate) enum Raw<'e, 'a> {
    Event(&'e mut Event<'a>),
    Value(Value),
}

impl Raw<'_, '_> {
    /// The whole line as an owned JSON value (numbers as in the input).
    pub(crate) fn value(&mut self) -> Result<Value, String> {
        match self {
            Raw::Event(e) => e.decode::<Value>().map_err(|e| e.message),
            Raw::Value(v) => Ok(v.clone()),
        }
    }

    /// The line as a typed struct.
    pub(crate) fn decode<T: DeserializeOwned>(&mut self) -> Result<T, String> {
        match self {
            Raw::Event(e) => e.decode::<T>().map_err(|e| e.message),
            Raw::Value(v) => T::deserialize(&*v).map_err(|e| e.to_string()),
        }
    }
}

/// Why a selected (or possibly selected) line was not decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    OverCeiling,
    Unclassified { probe: usize },
    Malformed(String),
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::OverCeiling => f.write_str("it is over the ceiling"),
            Why::Unclassified { probe } => {
                write!(f, "its type is undecidable within the first {probe} bytes")
            }
            Why::Malformed(e) => write!(f, "it is malformed ({e})"),
        }
    }
}

/// A line that was not decoded, with its first `probe` bytes.
pub(crate) struct Lost<'p> {
    pub(crate) at: At,
    pub(crate) why: Why,
    pub(crate) prefix: &'p [u8],
}

impl Lost<'_> {
    /// "line 16 (offset 10300, 20600 bytes): it is over the ceiling".
    pub(crate) fn describe(&self) -> String {
        format!(
            "line {} (offset {}, {} bytes) was not decoded: {}",
            self.at.line, self.at.offset, self.at.len, self.why
        )
    }
}

/// What a profile does with the lines of a scan.
pub(crate) trait Collector: Send {
    /// A decoded (or repaired) selected line. Returns false to end the scan.
    fn event(&mut self, at: At, raw: &mut Raw<'_, '_>) -> bool;
    /// A line that may be one the profile selects but was not decoded.
    fn lost(&mut self, lost: &Lost<'_>);
    /// Builds the summary's fields once the scan is over.
    fn finish(&mut self, fin: &mut Finish<'_, '_>) -> Result<Draft, Error>;
}

impl<C: Collector + ?Sized> Collector for Box<C> {
    fn event(&mut self, at: At, raw: &mut Raw<'_, '_>) -> bool {
        (**self).event(at, raw)
    }
    fn lost(&mut self, lost: &Lost<'_>) {
        (**self).lost(lost)
    }
    fn finish(&mut self, fin: &mut Finish<'_, '_>) -> Result<Draft, Error> {
        (**self).finish(fin)
    }
}

/// The profile-specific part of a [`Summary`](crate::Summary).
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub(crate) answer: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) usage: Option<Value>,
    pub(crate) cost_usd: Option<f64>,
    pub(crate) error: Option<String>,
    pub(crate) errors: Vec<String>,
    pub(crate) event: Option<Value>,
    /// Some event was parsed (else, with no `event`, the status is `no_events`).
    pub(crate) parsed_any: bool,
    /// Why the run failed (a "failed: ..." message).
    pub(crate) failed: Option<String>,
    /// Why the answer is stale (a "stale answer: ..." message).
    pub(crate) stale: Option<String>,
    /// Why there is no answer (a "no answer: ..." message).
    pub(crate) no_answer: Option<String>,
    pub(crate) notes: Vec<String>,
}

/// What a collector may use once the scan is over.
pub(crate) struct Finish<'x, 'a> {
    /// The input read back ([`Sink::read_back`]); `None` when the scan could not read it back.
    pub(crate) input: Option<&'x Input<'a>>,
    pub(crate) limits: Limits,
    pub(crate) report: &'x Report,
    pub(crate) repaired: Vec<u64>,
}

impl Finish<'_, '_> {
    /// True when the input holds more than a line terminator after offset `end`.
    pub(crate) fn more_after(&self, end: u64) -> Result<bool, Error> {
        let Some(input) = self.input else {
            return Ok(false);
        };
        let t = input.read(end, 2)?;
        let term = if t.starts_with(b"\r\n") {
            2
        } else if t.starts_with(b"\n") || t == b"\r" {
            1
        } else {
            0
        };
        Ok(input.len() > end + term)
    }

    /// The last-object fallback: the last line after offset `after` (the end of the last
    /// decoded line, or 0) that parses as a JSON object (see [`walk::last_object_after`]).
    pub(crate) fn last_object_after(&mut self, after: u64) -> Result<Fallback, Error> {
        let Some(input) = self.input else {
            return Ok(Fallback::Nothing);
        };
        let found = walk::last_object_after(input, self.report, self.limits.max_line, after)?;
        if let Fallback::Found(line, _, true) = &found {
            self.repaired.push(*line);
        }
        Ok(found)
    }
}

/// The profile sink: the scanner's calls turned into collector calls. Every byte it looks at
/// comes from the scanner: retained events, the bytes of the lines it passed ([`Passed`]:
/// the first `probe` bytes of a lost line, a malformed line whole for its repair), and the
/// input read back at the end ([`Input`]: the last-object fallback), where the collector
/// finishes.
pub(crate) struct ProfileSink<C> {
    pub(crate) collector: C,
    pub(crate) limits: Limits,
    /// The profile's selector, to check that a repaired line is one it selects.
    pub(crate) repair: Probe,
    pub(crate) repaired: Vec<u64>,
    pub(crate) repaired_total: u64,
    pub(crate) unclassified: Vec<u64>,
    pub(crate) unclassified_total: u64,
    /// What the collector made of the scan, once finished ([`Sink::read_back`]).
    pub(crate) done: Option<(Draft, Vec<u64>)>,
    /// The error of the malformed line whose bytes come next.
    malformed: Option<String>,
}

impl<C: Collector> ProfileSink<C> {
    pub(crate) fn new(collector: C, selector: &Selector, limits: Limits) -> Self {
        ProfileSink {
            collector,
            limits,
            repair: Probe::new(selector, false),
            repaired: Vec::new(),
            repaired_total: 0,
            unclassified: Vec::new(),
            unclassified_total: 0,
            done: None,
            malformed: None,
        }
    }

    fn lost(&mut self, at: At, why: Why, line: &Passed<'_>) {
        self.collector.lost(&Lost {
            at,
            why,
            prefix: line.head(self.limits.probe),
        });
    }

    /// Repairs a selected line the decoder rejected for invalid UTF-8: only a line within the
    /// ceiling that is not valid UTF-8 (whatever the error says), held whole by the scan.
    fn repair(&mut self, line: &Passed<'_>) -> Option<Value> {
        if line.len() > self.limits.ceiling as u64 || !line.is_whole() {
            return None;
        }
        let bytes = line.bytes();
        if std::str::from_utf8(bytes).is_ok() {
            return None;
        }
        let text = String::from_utf8_lossy(bytes);
        if !matches!(
            self.repair.classify(text.as_bytes(), true),
            Outcome::Retain(_)
        ) {
            return None;
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => None,
        }
    }

    /// Finishes the collector (once): with the input read back, or without it.
    pub(crate) fn finish_with(
        &mut self,
        input: Option<&Input<'_>>,
        report: &Report,
    ) -> Result<(), Error> {
        if self.done.is_some() {
            return Ok(());
        }
        let mut fin = Finish {
            input,
            limits: self.limits,
            report,
            repaired: Vec::new(),
        };
        let draft = self.collector.finish(&mut fin)?;
        self.done = Some((draft, fin.repaired));
        Ok(())
    }
}

impl<C: Collector> Sink for ProfileSink<C> {
    type Error = Error;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Error> {
        let at = At {
            line: event.number(),
            offset: event.offset(),
            len: event.bytes().len() as u64,
        };
        Ok(self.collector.event(at, &mut Raw::Event(event)))
    }

    fn passed(&mut self, line: &Passed<'_>) -> Result<bool, Error> {
        let at = At {
            line: line.number(),
            offset: line.offset(),
            len: line.len(),
        };
        match line.category() {
            Category::Dropped => self.lost(at, Why::OverCeiling, line),
            Category::Malformed => {
                if let Some(v) = self.repair(line) {
                    self.repaired_total += 1;
                    if self.repaired.len() < LIST_CAP {
                        self.repaired.push(at.line);
                    }
                    return Ok(self.collector.event(at, &mut Raw::Value(v)));
                }
                let error = self.malformed.take().unwrap_or_default();
                self.lost(at, Why::Malformed(error), line);
            }
            Category::OversizeUnclassified => {
                self.unclassified_total += 1;
                if self.unclassified.len() < LIST_CAP {
                    self.unclassified.push(at.line);
                }
                let probe = self.limits.probe;
                self.lost(at, Why::Unclassified { probe }, line);
            }
            _ => {}
        }
        Ok(true)
    }

    fn malformed(&mut self, m: &Malformed) -> Result<bool, Error> {
        // The error, for the `passed` call that follows with the line's bytes.
        self.malformed = Some(m.error.clone());
        Ok(true)
    }

    fn read_back(&mut self, input: &Input<'_>, report: &Report) -> Result<(), Error> {
        self.finish_with(Some(input), report)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the profiles

/// Decides one rule from a line's first bytes: does the line match, not match, or can't tell?
pub(crate) struct Peek(Probe);

/// The answer of a [`Peek`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Maybe {
    Yes,
    No,
    Unknown,
}

impl Maybe {
    pub(crate) fn possible(self) -> bool {
        self != Maybe::No
    }
}

impl Peek {
    /// A case-sensitive `equals` rule.
    pub(crate) fn equals(path: &str, values: &[&str]) -> Peek {
        let sel = Selector::new()
            .equals(path, values.iter().copied())
            .expect("a valid rule");
        Peek(Probe::new(&sel, true))
    }

    /// An ASCII case-insensitive `contains` rule.
    pub(crate) fn contains(path: &str, values: &[&str]) -> Peek {
        let sel = Selector::new()
            .contains(path, values.iter().copied())
            .expect("a valid rule");
        Peek(Probe::new(&sel, false))
    }

    pub(crate) fn check(&mut self, prefix: &[u8]) -> Maybe {
        match self.0.classify(prefix, false) {
            Outcome::Retain(_) => Maybe::Yes,
            Outcome::Undecided => Maybe::Unknown,
            Outcome::Skip | Outcome::NotObject | Outcome::Malformed { .. } => Maybe::No,
        }
    }
}

/// The keys an error message is looked for under, in order (the seed parser's order).
pub(crate) const MESSAGE_KEYS: [&str; 6] =
    ["error", "message", "detail", "reason", "output", "result"];

/// The first non-empty message of an object under [`MESSAGE_KEYS`]: strings trimmed, objects
/// searched recursively in the same key order, lists give their first element that yields one.
pub(crate) fn extract_message(obj: &Map<String, Value>) -> Option<String> {
    MESSAGE_KEYS
        .iter()
        .find_map(|k| obj.get(*k).and_then(message_in))
}

/// The message a value holds (see [`extract_message`]).
pub(crate) fn message_in(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_string())
        }
        Value::Object(m) => extract_message(m),
        Value::Array(a) => a.iter().find_map(message_in),
        _ => None,
    }
}

/// Cuts a message to [`MESSAGE_CUT`] characters.
pub(crate) fn cut_message(mut s: String) -> String {
    if let Some((i, _)) = s.char_indices().nth(MESSAGE_CUT) {
        s.truncate(i);
    }
    s
}

/// At most this many warnings of one collector are listed (the others are counted).
pub(crate) const NOTES_CAP: usize = 100;

/// A collector's warnings, capped at [`NOTES_CAP`] so that millions of odd lines (undecodable
/// events, Gemini warnings) cannot grow a summary without bound.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    list: Vec<String>,
    more: u64,
}

impl Notes {
    pub(crate) fn push(&mut self, note: String) {
        if self.list.len() < NOTES_CAP {
            self.list.push(note);
        } else {
            self.more += 1;
        }
    }

    /// The warnings, with one more saying how many were left out.
    pub(crate) fn take(&mut self) -> Vec<String> {
        let mut v = std::mem::take(&mut self.list);
        if self.more > 0 {
            v.push(format!(
                "{} more warnings of this kind were not listed (at most {NOTES_CAP} are)",
                std::mem::take(&mut self.more)
            ));
        }
        v
    }
}

/// Every error message, in order, capped at [`ERRORS_CAP`].
#[derive(Debug, Default)]
pub(crate) struct Errors {
    pub(crate) list: Vec<String>,
    pub(crate) total: u64,
}

impl Errors {
    pub(crate) fn push(&mut self, msg: &str) {
        self.total += 1;
        if self.list.len() < ERRORS_CAP {
            self.list.push(msg.to_string());
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// A note when some messages were not listed.
    pub(crate) fn note(&self) -> Option<String> {
        (self.total > self.list.len() as u64).then(|| {
            format!(
                "{} error messages found; `errors` lists the first {}",
                self.total,
                self.list.len()
            )
        })
    }
}

/// The string value of `key`, if it is a non-empty string.
pub(crate) fn str_of<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Lenient field deserializers for the typed event structs: a field whose JSON type is not the
/// expected one reads as `None` instead of failing the whole event.
pub(crate) mod lenient {
    // Each field is decoded as a JSON value first, then converted: events are few and small
    // next to the lines the scan skips.
    use super::*;

    fn any<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    /// A string, or `None`.
    pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match any(d)? {
            Value::String(s) => Some(s),
            _ => None,
        })
    }

    /// A boolean, or `None`.
    pub(crate) fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(any(d)?.as_bool())
    }

    /// A non-negative integer (or a float holding one), or `None`.
    pub(crate) fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let v = any(d)?;
        Ok(v.as_u64().or_else(|| {
            let f = v.as_f64()?;
            (f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64).then_some(f as u64)
        }))
    }

    /// A number, or `None`.
    pub(crate) fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(any(d)?.as_f64())
    }

    /// Any value except null.
    pub(crate) fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Ok(Some(any(d)?).filter(|v| !v.is_null()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let v: Value = serde_json::json!({
            "error": {"code": 5, "message": "  "},
            "message": [" ", {"detail": " deep "}],
        });
        assert_eq!(
            extract_message(v.as_object().unwrap()).as_deref(),
            Some("deep")
        );
        let v: Value = serde_json::json!({"error": null, "output": "x"});
        assert_eq!(
            extract_message(v.as_object().unwrap()).as_deref(),
            Some("x")
        );
        assert_eq!(cut_message("é".repeat(2001)).chars().count(), 2000);
        assert_eq!(cut_message("ab".into()), "ab");
    }
}
