//! Line splitting: LF terminators, CR LF, a leading BOM, blank lines.
//!
//! This module holds the byte-level rules of DESIGN §1 and §10 in one place. The scanner uses
//! the same helpers ([`content_end`], [`is_blank`], [`BOM`]) as [`LineIter`], so both always
//! agree on numbering, offsets and lengths.

use memchr::memchr;

/// The UTF-8 byte order mark, skipped when it starts the input.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One line of the input, without its terminator.
///
/// `bytes()` never includes the LF, nor a single CR directly before it (nor a final CR at the
/// very end of the input). The line number is 1-based and counts blank lines; the offset is the
/// byte offset of the line's first byte in the whole input (a leading BOM counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    number: u64,
    offset: u64,
    bytes: &'a [u8],
}

impl<'a> Line<'a> {
    pub(crate) fn new(number: u64, offset: u64, bytes: &'a [u8]) -> Line<'a> {
        Line {
            number,
            offset,
            bytes,
        }
    }

    /// The 1-based line number. Blank lines are counted.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The byte offset of the line's first byte in the input.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The line's bytes, without the terminator (LF, or CR LF).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The line's length in bytes, without the terminator.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when the line has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// True when the line is empty or holds only spaces, tabs and CRs.
    ///
    /// Form feed and vertical tab are not JSON whitespace, so a line holding them is not blank.
    pub fn is_blank(&self) -> bool {
        is_blank(self.bytes)
    }
}

/// True for the bytes DESIGN §10 calls blank: empty, or only space, tab, CR.
#[inline]
pub(crate) fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// The end of a line's content, given the position of its LF (or of the end of input).
///
/// Strips exactly one CR before the terminator.
#[inline]
pub(crate) fn content_end(data: &[u8], start: usize, terminator: usize) -> usize {
    if terminator > start && data[terminator - 1] == b'\r' {
        terminator - 1
    } else {
        terminator
    }
}

/// Where the first line starts: after a UTF-8 BOM, if there is one.
#[inline]
pub(crate) fn first_line_start(data: &[u8]) -> usize {
    if data.starts_with(BOM) { BOM.len() } else { 0 }
}

/// An iterator over every line of a byte slice, blank lines included.
///
/// Lines are found with memchr's SIMD newline search and borrowed from the slice (zero copy).
/// A leading UTF-8 BOM is skipped, a CR directly before an LF (or at the very end of the
/// input) is not part of the line, and a last line without LF is still a line.
///
/// # Example
///
/// ```
/// use spoolscan::LineIter;
///
/// let data = b"\xEF\xBB\xBF{\"a\":1}\r\n\n{\"b\":2}";
/// let lines: Vec<_> = LineIter::new(data)
///     .map(|l| (l.number(), l.offset(), l.bytes().to_vec(), l.is_blank()))
///     .collect();
/// assert_eq!(lines, vec![
///     (1, 3, b"{\"a\":1}".to_vec(), false),
///     (2, 12, b"".to_vec(), true),
///     (3, 13, b"{\"b\":2}".to_vec(), false),
/// ]);
/// ```
#[derive(Clone, Debug)]
pub struct LineIter<'a> {
    data: &'a [u8],
    pos: usize,
    number: u64,
}

impl<'a> LineIter<'a> {
    /// Iterates over the lines of `data`.
    pub fn new(data: &'a [u8]) -> LineIter<'a> {
        LineIter {
            data,
            pos: first_line_start(data),
            number: 0,
        }
    }
}

impl<'a> Iterator for LineIter<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.pos >= self.data.len() {
            return None;
        }
        let start = self.pos;
        let (term, next) = match memchr(b'\n', &self.data[start..]) {
            Some(i) => (start + i, start + i + 1),
            None => (self.data.len(), self.data.len()),
        };
        let end = content_end(self.data, start, term);
        self.pos = next;
        self.number += 1;
        Some(Line::new(self.number, start as u64, &self.data[start..end]))
    }
}

impl std::iter::FusedIterator for LineIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oracle: a plain split on LF, then the rules of DESIGN §1 applied by hand.
    fn naive(data: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
        let mut out = Vec::new();
        let mut off = if data.starts_with(BOM) { 3 } else { 0 };
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

    fn lines(data: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
        LineIter::new(data)
            .map(|l| (l.number(), l.offset(), l.bytes().to_vec()))
            .collect()
    }

    #[test]
    fn awkward_cases() {
        for data in [
            &b""[..],
            b"\n",
            b"\r",
            b"\r\n",
            b"a",
            b"a\n",
            b"a\r",
            b"a\r\r\n",
            b"a\n\nb",
            b"\xEF\xBB\xBF",
            b"\xEF\xBB\xBF\n",
            b"\xEF\xBB\xBFa\r\nb\r",
            b"\xEF\xBBa",
            b"x\xEF\xBB\xBF\n",
        ] {
            assert_eq!(lines(data), naive(data), "{data:?}");
        }
    }

    #[test]
    fn bom_only_has_no_lines() {
        assert_eq!(LineIter::new(b"\xEF\xBB\xBF").count(), 0);
        assert_eq!(LineIter::new(b"").count(), 0);
    }

    #[test]
    fn cr_cr_lf_keeps_first_cr() {
        let l: Vec<_> = LineIter::new(b"a\r\r\nb").collect();
        assert_eq!(l[0].bytes(), b"a\r");
        assert_eq!(l[1].offset(), 4);
    }

    #[test]
    fn blank_lines() {
        assert!(is_blank(b""));
        assert!(is_blank(b" \t\r\r "));
        assert!(!is_blank(b"\x0c"));
        assert!(!is_blank(b"\x0b"));
        assert!(!is_blank(b" x"));
    }

    proptest::proptest! {
        #[test]
        fn matches_naive_split(data in proptest::collection::vec(
            proptest::sample::select(vec![b'a', b'\n', b'\r', b' ', 0xEF, 0xBB, 0xBF]), 0..64)) {
            proptest::prop_assert_eq!(lines(&data), naive(&data));
        }
    }
}
