//! Validation without decoding: is a line one valid JSON text (RFC 8259), and if not, what is
//! wrong and where.
//!
//! The line is indexed in 64-byte blocks ([`crate::simd`]). Two walks go over the blocks: the
//! fast one ([`fast`]) checks the grammar a block at a time with bit arithmetic and only says
//! whether the line is valid; the precise one, run only on lines the fast one rejects, is a
//! state machine over the tokens (brackets, separators, string starts, scalar starts) that
//! says what it expected where. The masks check string contents (no control bytes) and the
//! one-letter escapes; `\u` escapes are looked at one by one. Numbers and literals are checked
//! by their grammar only, so a number of any magnitude is valid. UTF-8 is checked over the
//! whole line (`simdutf8`). Two readings are stricter than RFC 8259, as the decoder is:
//! nesting deeper than [`MAX_DEPTH`] levels and unpaired surrogate escapes (`"\ud800"`) are
//! invalid.

use std::fmt;

use self::blocks::Blocks;

use crate::simd::{Kernel, dispatch};

/// Deepest nesting of arrays and objects a valid line may have.
pub(crate) const MAX_DEPTH: usize = 1024;

/// Why a line is not valid JSON, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// Byte offset in the line.
    pub(crate) at: usize,
    /// What was expected or is wrong.
    pub(crate) what: &'static str,
    /// The byte found there (`None` at the end of the line).
    pub(crate) found: Option<u8>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.at, self.what)?;
        match self.found {
            None if self.what == END => Ok(()),
            None => write!(f, ", found the end of the line"),
            Some(b) if b.is_ascii_graphic() => write!(f, ", found '{}'", b as char),
            Some(b' ') => write!(f, ", found ' '"),
            Some(b) => write!(f, ", found byte 0x{b:02x}"),
        }
    }
}

const END: &str = "unexpected end of line";

/// Checks that `line` holds exactly one JSON value (surrounded by optional whitespace) in
/// valid UTF-8.
pub(crate) fn validate(line: &[u8]) -> Result<(), Invalid> {
    check(line)
}

dispatch! {
    /// [`validate`] at a given level (for the tests and the fuzz target).
    pub(crate) fn check / check_at(line: &[u8]) -> Result<(), Invalid> = check_k;
}

/// The UTF-8 error of `w`, if it has one: where the first invalid sequence starts.
fn utf8_error(w: &[u8]) -> Option<Invalid> {
    let at = std::str::from_utf8(w).err()?.valid_up_to();
    Some(Invalid {
        at,
        what: "invalid UTF-8",
        found: w.get(at).copied(),
    })
}

/// The fast walk says whether the line is valid (its UTF-8 too, on the levels that check it
/// in the same pass); only an invalid line is walked again, by the precise walk, to say what
/// is wrong and where. A grammar error comes before a UTF-8 error.
#[inline(always)]
fn check_k<K: Kernel>(w: &[u8]) -> Result<(), Invalid> {
    if fast::valid::<K>(w) && (K::UTF8 || simdutf8::basic::from_utf8(w).is_ok()) {
        return Ok(());
    }
    precise_k::<K>(w)?;
    // The walks are tested to agree; should they not, the line is still not passed off as
    // valid.
    Err(utf8_error(w).unwrap_or(Invalid {
        at: 0,
        what: "invalid JSON",
        found: w.first().copied(),
    }))
}

dispatch! {
    /// The grammar by the precise walk alone, UTF-8 aside (for the tests and the fuzz target:
    /// with a UTF-8 check it must agree with [`check`]). Only the `_at` form is called.
    #[allow(dead_code)]
    pub(crate) fn precise / precise_at(line: &[u8]) -> Result<(), Invalid> = precise_k;
}

dispatch! {
    /// Finds the end of the line that starts at `line_and_more[0]` (its first LF) and
    /// validates the line in the same pass: `Some(lf)` when an LF is found at `lf` and the
    /// line before it is valid JSON (grammar and UTF-8). `None` when `line_and_more` holds no
    /// LF, or the line is not valid, or (rarely: a line that ends in a number or literal
    /// followed by whitespace) the pass looked past the LF: search the LF and validate again.
    pub(crate) fn line / line_at(line_and_more: &[u8]) -> Option<usize> = line_k;
}

#[inline(always)]
fn line_k<K: Kernel>(w: &[u8]) -> Option<usize> {
    let mut blocks = Blocks::until_lf(w).checking_utf8(K::UTF8);
    if !fast::walk::<K>(&mut blocks) {
        return None;
    }
    let lf = blocks.lf()?;
    if !K::UTF8 {
        simdutf8::basic::from_utf8(&w[..lf]).ok()?;
    }
    Some(lf)
}

/// What the state machine expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// A value (at the top, after `:`, after `,` in an array).
    Value,
    /// A value or `]` (after `[`).
    ValueOrClose,
    /// A key or `}` (after `{`).
    KeyOrClose,
    /// A key (after `,` in an object).
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or the closing bracket of the container.
    CommaOrClose,
    /// Nothing: the top-level value is complete.
    Done,
}

/// The open containers: a bit per level, set for an object.
struct Stack {
    depth: usize,
    kinds: [u64; MAX_DEPTH / 64],
}

impl Stack {
    #[inline(always)]
    fn push(&mut self, object: bool) -> bool {
        if self.depth == MAX_DEPTH {
            return false;
        }
        let (w, b) = (self.depth / 64, self.depth % 64);
        self.kinds[w] = self.kinds[w] & !(1 << b) | (object as u64) << b;
        self.depth += 1;
        true
    }

    #[inline(always)]
    fn top_is_object(&self) -> bool {
        let d = self.depth - 1;
        self.kinds[d / 64] >> (d % 64) & 1 == 1
    }

    /// After a value: what comes next.
    #[inline(always)]
    fn after_value(&self) -> Expect {
        if self.depth == 0 {
            Expect::Done
        } else {
            Expect::CommaOrClose
        }
    }
}

/// The precise walk: a state machine that names what it expected at the first error.
#[inline(always)]
fn precise_k<K: Kernel>(w: &[u8]) -> Result<(), Invalid> {
    let err = |at: usize, what: &'static str| Invalid {
        at,
        what,
        found: w.get(at).copied(),
    };
    let mut stack = Stack {
        depth: 0,
        kinds: [0; MAX_DEPTH / 64],
    };
    let mut expect = Expect::Value;
    let mut blocks = Blocks::new(w);
    // SAFETY: `precise_k::<K>` runs only inside `dispatch!` (directly or through
    // `structure_k`), after K's features were detected.
    while let Some(block) = unsafe { blocks.next::<K>() } {
        let block = block?;
        let (j, mut tokens) = (block.j, block.tokens());
        while tokens != 0 {
            let at = j + tokens.trailing_zeros() as usize;
            tokens &= tokens - 1;
            let c = w[at];
            expect = match (c, expect) {
                (b'"', Expect::Value | Expect::ValueOrClose) => stack.after_value(),
                (b'"', Expect::KeyOrClose | Expect::Key) => Expect::Colon,
                (b'{' | b'[', Expect::Value | Expect::ValueOrClose) => {
                    if !stack.push(c == b'{') {
                        return Err(err(at, "nested deeper than 1024 levels"));
                    }
                    if c == b'{' {
                        Expect::KeyOrClose
                    } else {
                        Expect::ValueOrClose
                    }
                }
                (b'}', Expect::KeyOrClose | Expect::CommaOrClose) if stack.top_is_object() => {
                    stack.depth -= 1;
                    stack.after_value()
                }
                (b']', Expect::ValueOrClose | Expect::CommaOrClose) if !stack.top_is_object() => {
                    stack.depth -= 1;
                    stack.after_value()
                }
                (b':', Expect::Colon) => Expect::Value,
                (b',', Expect::CommaOrClose) if stack.top_is_object() => Expect::Key,
                (b',', Expect::CommaOrClose) => Expect::Value,
                (b'{' | b'[' | b'}' | b']' | b':' | b',' | b'"', e) => {
                    return Err(err(at, expected(e, &stack)));
                }
                (_, Expect::Value | Expect::ValueOrClose) => {
                    scalar_value(w, at)?;
                    stack.after_value()
                }
                (_, e) => return Err(err(at, expected(e, &stack))),
            };
        }
    }
    if blocks.in_string() {
        return Err(Invalid {
            at: w.len(),
            what: "unterminated string",
            found: None,
        });
    }
    if expect != Expect::Done {
        return Err(Invalid {
            at: w.len(),
            what: END,
            found: None,
        });
    }
    Ok(())
}

/// What the state `e` expected, for an error message.
fn expected(e: Expect, stack: &Stack) -> &'static str {
    match e {
        Expect::Value => "expected a value",
        Expect::ValueOrClose => "expected a value or ']'",
        Expect::KeyOrClose => "expected a key or '}'",
        Expect::Key => "expected a key",
        Expect::Colon => "expected ':'",
        Expect::CommaOrClose if stack.top_is_object() => "expected ',' or '}'",
        Expect::CommaOrClose => "expected ',' or ']'",
        Expect::Done => "trailing characters after the JSON value",
    }
}

/// Whether `b` may follow a number or literal.
#[inline(always)]
pub(super) fn delimiter(b: Option<&u8>) -> bool {
    matches!(
        b,
        None | Some(b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' | b'{' | b'}' | b'[' | b']' | b'"')
    )
}

/// Checks the number or literal that starts at `w[at]`.
#[inline(always)]
pub(super) fn scalar_value(w: &[u8], at: usize) -> Result<(), Invalid> {
    let literal = |text: &[u8]| -> Result<(), Invalid> {
        if w[at..].starts_with(text) && delimiter(w.get(at + text.len())) {
            Ok(())
        } else {
            Err(Invalid {
                at,
                what: "invalid literal",
                found: Some(w[at]),
            })
        }
    };
    match w[at] {
        b't' => literal(b"true"),
        b'f' => literal(b"false"),
        b'n' => literal(b"null"),
        b'-' | b'0'..=b'9' => number(w, at),
        b => Err(Invalid {
            at,
            what: "expected a value",
            found: Some(b),
        }),
    }
}

/// Checks the number that starts at `w[at]`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number(w: &[u8], at: usize) -> Result<(), Invalid> {
    let digit = |i: usize| w.get(i).is_some_and(u8::is_ascii_digit);
    let digits = |mut i: usize| {
        while digit(i) {
            i += 1;
        }
        i
    };
    let bad = |i: usize| Invalid {
        at: i,
        what: "invalid number",
        found: w.get(i).copied(),
    };
    let mut i = at;
    if w[i] == b'-' {
        i += 1;
    }
    match w.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i + 1),
        _ => return Err(bad(i)),
    }
    if w.get(i) == Some(&b'.') {
        if !digit(i + 1) {
            return Err(bad(i + 1));
        }
        i = digits(i + 1);
    }
    if let Some(b'e' | b'E') = w.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = w.get(i) {
            i += 1;
        }
        if !digit(i) {
            return Err(bad(i));
        }
        i = digits(i);
    }
    if delimiter(w.get(i)) {
        Ok(())
    } else {
        Err(bad(i))
    }
}

/// Checks the escape whose letter is `w[at]` (the byte after a backslash), and returns the
/// index of the first byte after it.
#[inline(always)]
pub(super) fn escape(w: &[u8], at: usize) -> Result<usize, Invalid> {
    let bad = |what| Invalid {
        at: at - 1,
        what,
        found: Some(b'\\'),
    };
    match w[at] {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(at + 1),
        b'u' => {
            let hi = hex4(w, at + 1).ok_or_else(|| bad("invalid \\u escape"))?;
            match hi {
                0xD800..=0xDBFF => {
                    let lo = match w.get(at + 5..at + 7) {
                        Some(b"\\u") => hex4(w, at + 7),
                        _ => None,
                    };
                    match lo {
                        Some(0xDC00..=0xDFFF) => Ok(at + 11),
                        _ => Err(bad("unpaired surrogate escape")),
                    }
                }
                0xDC00..=0xDFFF => Err(bad("unpaired surrogate escape")),
                _ => Ok(at + 5),
            }
        }
        _ => Err(bad("invalid escape")),
    }
}

/// The value of the four hex digits at `w[at..]`, if there are four.
pub(crate) fn hex4(w: &[u8], at: usize) -> Option<u32> {
    let h = w.get(at..at + 4)?;
    let mut v = 0;
    for &d in h {
        v = v * 16 + (d as char).to_digit(16)?;
    }
    Some(v)
}

mod blocks;
mod fast;
#[cfg(test)]
mod tests;
