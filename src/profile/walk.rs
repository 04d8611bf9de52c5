//! Positioned reads of the input and the backward walk of the last-object fallback.
//!
//! The walk reads the input backwards in chunks of [`WALK_CHUNK`] bytes that it keeps while it
//! looks for line starts, so passing N bytes costs O(N) time whatever the number of lines, and
//! it decodes only lines of at most [`FALLBACK_MAX`] bytes. A larger candidate is validated
//! with a streaming parser that holds no more than one chunk and never builds a value.

use std::borrow::Cow;
use std::io::{self, Read};

use memchr::memrchr;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::At;
use crate::error::Error;
use crate::lines::{BOM, is_blank};
use crate::readback::Input;
use crate::report::Report;

/// Reads of the backward walk use chunks of this size.
pub(crate) const WALK_CHUNK: usize = 64 << 10;

/// The largest line the last-object fallback decodes into a JSON value. A JSON value costs up
/// to about 24 times its text (`[0,0,...]`: 32 bytes per 2-byte element, plus the growth of
/// its vector), so this keeps the fallback's decoding under 8 MiB (DESIGN §11: the summary's
/// memory is a small constant plus the decoder's cost of the largest *retained* line; the
/// fallback's line is not one the profile retains).
pub(crate) const FALLBACK_MAX: usize = 256 << 10;

/// Where the first line starts (after a BOM).
pub(crate) fn data_start(input: &Input<'_>) -> Result<u64, Error> {
    Ok(if input.read(0, BOM.len())? == BOM {
        BOM.len() as u64
    } else {
        0
    })
}

/// One chunk of the input kept by the backward walk.
struct Window<'x, 'a> {
    access: &'x Input<'a>,
    start: u64,
    buf: Vec<u8>,
}

impl Window<'_, '_> {
    fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    fn holds(&self, pos: u64) -> bool {
        pos >= self.start && pos < self.end()
    }

    /// Makes the window end at `hi` (exclusive), starting no lower than `lo`.
    fn load_before(&mut self, lo: u64, hi: u64) -> Result<(), Error> {
        let start = hi.saturating_sub(WALK_CHUNK as u64).max(lo);
        self.access
            .read_into(start, (hi - start) as usize, &mut self.buf)?;
        self.start = start;
        Ok(())
    }

    /// The position of the last LF in `[lo, hi)`; every byte is read at most once over a walk
    /// that moves backwards.
    fn rfind_lf(&mut self, lo: u64, mut hi: u64) -> Result<Option<u64>, Error> {
        while hi > lo {
            if !(hi > self.start && hi <= self.end()) {
                self.load_before(lo, hi)?;
                if self.buf.is_empty() {
                    return Ok(None);
                }
            }
            let from = lo.max(self.start);
            let hay = &self.buf[(from - self.start) as usize..(hi - self.start) as usize];
            if let Some(i) = memrchr(b'\n', hay) {
                return Ok(Some(from + i as u64));
            }
            hi = from;
        }
        Ok(None)
    }

    /// The byte at `pos` (`pos` within the input).
    fn byte(&mut self, pos: u64) -> Result<Option<u8>, Error> {
        if self.holds(pos) {
            return Ok(Some(self.buf[(pos - self.start) as usize]));
        }
        Ok(self.access.read(pos, 1)?.first().copied())
    }

    /// The first byte of `[s, e)` that is not a space, tab or CR.
    fn first_significant(&mut self, s: u64, e: u64) -> Result<Option<u8>, Error> {
        let mut pos = s;
        while pos < e {
            if self.holds(pos) {
                let hay = &self.buf[(pos - self.start) as usize..];
                let hay = &hay[..hay.len().min((e - pos) as usize)];
                if let Some(b) = hay.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\r')) {
                    return Ok(Some(*b));
                }
                pos += hay.len() as u64;
            } else {
                let chunk = self.access.read(pos, WALK_CHUNK.min((e - pos) as usize))?;
                if chunk.is_empty() {
                    return Ok(None);
                }
                if let Some(b) = chunk.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\r')) {
                    return Ok(Some(*b));
                }
                pos += chunk.len() as u64;
            }
        }
        Ok(None)
    }
}

/// What the last-object fallback found.
#[derive(Debug, PartialEq)]
pub(crate) enum Fallback {
    /// The last object line: its number and value (`true`: invalid UTF-8 was repaired).
    Found(u64, Value, bool),
    /// The last object line is larger than [`FALLBACK_MAX`]: it is valid JSON, but decoding
    /// it could cost many times its size, so it is not decoded.
    TooLarge(At),
    /// No line after `after` is a JSON object.
    Nothing,
}

/// The last line after offset `after` (the end of the last decoded line, or 0) that parses as
/// a JSON object: a walk backwards from the end of the input. Lines longer than `max_line`
/// are passed over (the scanner skipped them by their first bytes, as the seed parser did);
/// lines over [`FALLBACK_MAX`] are validated without being decoded.
pub(crate) fn last_object_after(
    access: &Input<'_>,
    report: &Report,
    max_line: usize,
    after: u64,
) -> Result<Fallback, Error> {
    let start0 = data_start(access)?;
    let lo = after.max(start0);
    let mut w = Window {
        access,
        start: 0,
        buf: Vec::with_capacity(WALK_CHUNK),
    };
    let mut e = access.len();
    if e > lo && w.byte(e - 1)? == Some(b'\n') {
        e -= 1;
    }
    let mut number = report.lines;
    loop {
        let (s, last) = match w.rfind_lf(lo, e)? {
            Some(p) => (p + 1, false),
            None if lo == start0 && after <= start0 => (lo, true),
            None => return Ok(Fallback::Nothing),
        };
        let mut end = e;
        if end > s && w.byte(end - 1)? == Some(b'\r') {
            end -= 1;
        }
        let len = end - s;
        if len > 0 && len <= max_line as u64 && w.first_significant(s, end)? == Some(b'{') {
            if len <= FALLBACK_MAX as u64 {
                let bytes = access.read(s, len as usize)?;
                if let Some((v, repaired)) = parse_object(&bytes) {
                    return Ok(Fallback::Found(number, v, repaired));
                }
            } else if is_valid_json(access, s, len)? {
                return Ok(Fallback::TooLarge(At {
                    line: number,
                    offset: s,
                    len,
                }));
            }
        }
        if last || s == 0 {
            return Ok(Fallback::Nothing);
        }
        e = s - 1;
        number = number.saturating_sub(1);
    }
}

/// A reader over `[offset, offset + len)` of the input.
struct Span<'x, 'a> {
    access: &'x Input<'a>,
    pos: u64,
    end: u64,
    error: Option<Error>,
}

impl Read for Span<'_, '_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out.len().min((self.end - self.pos) as usize);
        if n == 0 {
            return Ok(0);
        }
        match self.access.read(self.pos, n) {
            Ok(b) => {
                out[..b.len()].copy_from_slice(&b);
                self.pos += b.len() as u64;
                Ok(b.len())
            }
            Err(e) => {
                self.error = Some(e);
                Err(io::Error::other("read failed"))
            }
        }
    }
}

/// Whether the line at `[offset, offset + len)` is one complete JSON value, checked by a
/// streaming parser through a buffer of [`WALK_CHUNK`] bytes (no value is built). Nesting
/// deeper than serde_json's limit (128) counts as invalid.
fn is_valid_json(access: &Input<'_>, offset: u64, len: u64) -> Result<bool, Error> {
    let mut span = Span {
        access,
        pos: offset,
        end: offset + len,
        error: None,
    };
    let ok = {
        let reader = io::BufReader::with_capacity(WALK_CHUNK, &mut span);
        serde_json::from_reader::<_, IgnoredAny>(reader).is_ok()
    };
    match span.error {
        Some(e) => Err(e),
        None => Ok(ok),
    }
}

/// A line's bytes as a JSON object (invalid UTF-8 replaced by U+FFFD: then `true`).
pub(crate) fn parse_object(bytes: &[u8]) -> Option<(Value, bool)> {
    if is_blank(bytes) {
        return None;
    }
    let first = bytes.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\r'))?;
    if *first != b'{' {
        return None;
    }
    let (text, repaired) = match std::str::from_utf8(bytes) {
        Ok(t) => (Cow::Borrowed(t), false),
        Err(_) => (String::from_utf8_lossy(bytes), true),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => Some((v, repaired)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(data: &[u8], lines: u64, after: u64) -> Fallback {
        let report = Report {
            lines,
            ..Report::default()
        };
        last_object_after(&Input::slice(data, None), &report, 16 << 20, after).unwrap()
    }

    #[test]
    fn last_object_walk() {
        let data = b"\xEF\xBB\xBF{\"a\":1}\r\n[2]\n\n{\"b\":2}\r\n{bad\n  \n";
        assert_eq!(
            walk(data, 6, 0),
            Fallback::Found(4, serde_json::json!({"b": 2}), false)
        );
        // After line 4's end: nothing.
        assert_eq!(walk(data, 6, data.len() as u64 - 10), Fallback::Nothing);
        // Only line 1.
        let data = b"\xEF\xBB\xBF{\"a\":1}";
        assert!(matches!(walk(data, 1, 0), Fallback::Found(1, ..)));
        assert_eq!(walk(data, 1, 10), Fallback::Nothing);
        assert_eq!(walk(b"", 0, 0), Fallback::Nothing);
    }

    #[test]
    fn walk_crosses_chunks_and_long_lines() {
        // Lines longer than a chunk, whitespace before the brace, many short lines.
        let mut data = Vec::new();
        data.extend_from_slice(b"{\"first\":true}\n");
        let long = format!("  {{\"k\":\"{}\"}}\n", "x".repeat(3 * WALK_CHUNK + 7));
        data.extend_from_slice(long.as_bytes());
        for _ in 0..50_000 {
            data.extend_from_slice(b"[1]\n");
        }
        match walk(&data, 50_002, 0) {
            Fallback::Found(2, v, false) => {
                assert_eq!(v["k"].as_str().unwrap().len(), 3 * WALK_CHUNK + 7)
            }
            other => panic!("{other:?}"),
        }
        // A valid object over FALLBACK_MAX is reported, not decoded; an invalid one is passed.
        let mut data = b"{\"small\":1}\n".to_vec();
        let big = format!("{{\"x\":[{}0]}}\n", "0,".repeat(FALLBACK_MAX));
        data.extend_from_slice(big.as_bytes());
        assert_eq!(
            walk(&data, 2, 0),
            Fallback::TooLarge(At {
                line: 2,
                offset: 12,
                len: big.len() as u64 - 1
            })
        );
        data.truncate(data.len() - 2);
        data.extend_from_slice(b"\n");
        assert!(matches!(walk(&data, 2, 0), Fallback::Found(1, ..)));
    }
}
