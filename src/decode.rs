//! Decoding retained lines with simd-json, through one reused padded scratch buffer, only when
//! the consumer asks for a value.

use serde::Deserialize;
use simd_json::{Buffers, INPUT_PADDING, Tape};

use crate::lines::Line;

/// The scratch buffer is shrunk back after a line larger than this, so one huge retained line
/// does not pin its memory for the rest of the scan.
const KEEP_CAPACITY: usize = 4 << 20;

/// Parses lines into a reused tape. The mapping is read-only and simd-json unescapes in place,
/// so each line is first copied into `buf` (with [`INPUT_PADDING`] bytes of slack).
pub(crate) struct Decoder {
    buf: Vec<u8>,
    buffers: Buffers,
    tape: Tape<'static>,
}

/// A successfully parsed line: its tape, which goes back to the decoder when dropped.
pub(crate) struct Parsed<'d> {
    tape: Tape<'d>,
    home: &'d mut Tape<'static>,
}

impl Drop for Parsed<'_> {
    fn drop(&mut self) {
        *self.home = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
    }
}

impl Decoder {
    pub(crate) fn new() -> Decoder {
        Decoder {
            buf: Vec::new(),
            buffers: Buffers::new(4096),
            tape: Tape(Vec::new()),
        }
    }

    /// Parses `line`, or says why it is not valid JSON (with the byte position in the line).
    pub(crate) fn parse<'d>(&'d mut self, line: &[u8]) -> Result<Parsed<'d>, String> {
        let Decoder { buf, buffers, tape } = self;
        if buf.capacity() > KEEP_CAPACITY && line.len() + INPUT_PADDING <= KEEP_CAPACITY {
            *buf = Vec::new();
            *buffers = Buffers::new(4096);
        }
        buf.clear();
        buf.reserve(line.len() + INPUT_PADDING);
        buf.extend_from_slice(line);
        buf.resize(line.len() + INPUT_PADDING, 0);
        let mut t: Tape<'d> = std::mem::replace(tape, Tape(Vec::new())).reset();
        match simd_json::fill_tape_padded(&mut buf[..], line.len(), buffers, &mut t) {
            Ok(()) => Ok(Parsed {
                tape: t,
                home: tape,
            }),
            Err(e) => {
                *tape = t.reset();
                Err(describe(&e))
            }
        }
    }
}

fn describe(e: &simd_json::Error) -> String {
    use simd_json::ErrorType as T;
    let what = match e.error() {
        T::Eof => "unexpected end of line".to_string(),
        T::TrailingData => "trailing characters after the JSON value".to_string(),
        T::InvalidUtf8 => "invalid UTF-8".to_string(),
        T::InvalidUnicodeCodepoint | T::InvalidUnicodeEscape => {
            "invalid \\u escape (an unpaired surrogate?)".to_string()
        }
        T::DepthLimitExceeded => "nested deeper than 1024 levels".to_string(),
        other => format!("{other:?}"),
    };
    format!("invalid JSON: {what} (near byte {})", e.index())
}

/// A retained line, validated, handed to a [`Sink`](crate::Sink).
///
/// Nothing is decoded until [`Event::decode`] is called: printing or copying a retained line
/// costs no parsing. It borrows the input (for [`Event::bytes`]) and the scanner's decode
/// buffer, so it lives only for the duration of the sink call: copy out what you need to keep.
pub struct Event<'a> {
    line: Line<'a>,
    decoder: Option<&'a mut Decoder>,
    parsed: Option<Parsed<'a>>,
}

impl<'a> Event<'a> {
    pub(crate) fn new(line: Line<'a>, decoder: &'a mut Decoder) -> Event<'a> {
        Event {
            line,
            decoder: Some(decoder),
            parsed: None,
        }
    }

    /// The line (number, offset and raw bytes without terminator).
    pub fn line(&self) -> Line<'a> {
        self.line
    }

    /// The 1-based line number.
    pub fn number(&self) -> u64 {
        self.line.number()
    }

    /// The byte offset of the line in the input.
    pub fn offset(&self) -> u64 {
        self.line.offset()
    }

    /// The raw bytes of the line as they are in the input, without the terminator.
    pub fn bytes(&self) -> &'a [u8] {
        self.line.bytes()
    }

    /// Decodes the line into any `serde::Deserialize` type, borrowing strings from the
    /// scanner's buffer where the type allows (`&'a str` fields, `serde_json::Value` owns
    /// them). The line is parsed (simd-json) on the first call; later calls, with the same or
    /// other types, reuse the parse.
    ///
    /// # Errors
    ///
    /// When the line's JSON does not fit `T`, or, rarely, when the line is valid JSON that
    /// the decoder cannot hold (a number beyond `f64`'s range, such as `1e400`).
    pub fn decode<T: Deserialize<'a>>(&mut self) -> Result<T, DecodeError> {
        let err = |line: &Line<'_>, message: String| DecodeError {
            line: line.number(),
            offset: line.offset(),
            message,
        };
        if self.parsed.is_none() {
            let decoder = self
                .decoder
                .take()
                .ok_or_else(|| err(&self.line, "the line could not be decoded".into()))?;
            let parsed = decoder
                .parse(self.line.bytes())
                .map_err(|e| err(&self.line, e))?;
            self.parsed = Some(parsed);
        }
        let parsed = self.parsed.as_mut().expect("parsed above");
        let tape = std::mem::replace(&mut parsed.tape, Tape(Vec::new()));
        let mut de = simd_json::Deserializer::from_tape(tape);
        let out = T::deserialize(&mut de);
        parsed.tape = de.into_tape();
        out.map_err(|e| err(&self.line, mismatch(&e)))
    }
}

/// What did not fit, as serde_json would say it: the message of the type's `Deserialize`
/// (`missing field `usage``, `invalid type: integer `1`, expected a string`) rather than
/// simd-json's `Serde("...") at character 0` (the tape deserializer has no position in the
/// line; the line and offset are in [`DecodeError`]).
fn mismatch(e: &simd_json::Error) -> String {
    use simd_json::ErrorType as T;
    let expected = |what: &str| format!("invalid type: expected {what}");
    match e.error() {
        T::Serde(msg) => msg.clone(),
        T::ExpectedArray => expected("an array"),
        T::ExpectedBoolean => expected("a boolean"),
        T::ExpectedEnum => expected("an enum (a string, or an object with one key)"),
        T::ExpectedFloat => expected("a floating-point number"),
        T::ExpectedInteger => expected("an integer"),
        T::ExpectedMap => expected("an object"),
        T::ExpectedNull => expected("null"),
        T::ExpectedNumber => expected("a number"),
        T::ExpectedSigned => expected("a signed integer"),
        T::ExpectedString => expected("a string"),
        T::ExpectedUnsigned => expected("an unsigned integer"),
        T::Overflow => "number out of range for the type".to_string(),
        other => format!("{other:?}"),
    }
}

impl std::fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("line", &self.line.number())
            .field("offset", &self.line.offset())
            .field("bytes", &String::from_utf8_lossy(self.line.bytes()))
            .finish()
    }
}

/// A retained line whose JSON does not fit the type asked for by [`Event::decode`].
///
/// Displayed as `line N, offset O: MESSAGE`, where the message reads like serde_json's
/// (`missing field `usage``, `invalid type: integer `1`, expected a string`). Only spoolscan
/// constructs it (it may gain fields).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("line {line}, offset {offset}: {message}")]
pub struct DecodeError {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line.
    pub offset: u64,
    /// What did not fit.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid() {
        let mut d = Decoder::new();
        for ok in [
            &b"{}"[..],
            b"[1,2]",
            b" {\"a\":1} ",
            b"\"s\"",
            b"1e5",
            b"123456789012345678901234567890",
        ] {
            assert!(d.parse(ok).is_ok(), "{:?}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"{"[..],
            b"{\"a\":1} x",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":\"\\ud800\"}",
            b"{\"a\":\"\\udc00\"}",
            b"\x0c{}",
            b"",
            b"{\"a\":tru}",
        ] {
            assert!(d.parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn depth_limit() {
        let mut d = Decoder::new();
        let ok = format!("{}{}", "[".repeat(1024), "]".repeat(1024));
        assert!(d.parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(1025), "]".repeat(1025));
        assert!(d.parse(deep.as_bytes()).is_err());
    }
}
