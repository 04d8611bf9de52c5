//! The fast walk: the grammar checked a block at a time with bit arithmetic, so that strings,
//! keys and separators (most of a line's tokens) cost no work of their own. Only brackets
//! (a stack of open containers), numbers and literals (their grammar) are looked at one by
//! one. It only says whether the line is valid; the precise walk explains an invalid line.
//!
//! A JSON text is valid when these hold (`next(x)`: the first byte after `x` that is not
//! whitespace, or the end of the line):
//!
//! 1. the line's first token starts a value (a string, a number or literal, `{` or `[`);
//! 2. `next` of every separator starts a value;
//! 3. `next` of every closing quote is a separator, a closing bracket or the end;
//! 4. `next` of every number, literal and closing bracket is `,`, a closing bracket or the end;
//! 5. `next` of `{` is a quote or `}`; `next` of `[` starts a value or is `]`;
//! 6. brackets pair up, at most [`MAX_DEPTH`] deep; no separator is outside every container;
//!    arrays hold no `:`; an object's own separators alternate `:`, `,`, `:`, ... and the
//!    object ends after a `:` (or is empty);
//! 7. strings close, hold no control bytes and only valid escapes (checked by [`Blocks`]);
//!    numbers and literals follow their grammar; on the levels that check UTF-8 in the same
//!    pass ([`Kernel::UTF8`]), the bytes are UTF-8 (checked by [`Blocks`] too).
//!
//! Rules 1-3 hold for a whole block at once: `next` of a set of bytes is where an addition
//! carries each of them across the whitespace after it (the carry out goes to the next block).
//! Rules 4 and 5 are checked at each number, literal and bracket, and rule 6 at each bracket
//! and for the separators between two brackets (a prefix XOR tells odd from even ones).
//! Together they say what the precise walk's state machine says (tested on every line the
//! tests and fuzz targets make).

use super::{Blocks, MAX_DEPTH};
use crate::simd::Kernel;

/// Whether `w[from..]`, after whitespace, ends or goes on with `,`, `}` or `]`: what may follow
/// a value inside a container (or at the end of the line).
#[inline(always)]
fn ends_value(w: &[u8], from: usize, lf_ends: bool) -> bool {
    matches!(next_byte(w, from, lf_ends), None | Some(b',' | b'}' | b']'))
}

/// The first byte of `w[from..]` that is not JSON whitespace, or `None` at the end of the
/// line. With `lf_ends`, an LF ends the line (see [`Blocks::until_lf`]); else it is
/// whitespace.
#[inline(always)]
fn next_byte(w: &[u8], mut from: usize, lf_ends: bool) -> Option<u8> {
    loop {
        match *w.get(from)? {
            b' ' | b'\t' | b'\r' => from += 1,
            b'\n' if !lf_ends => from += 1,
            b'\n' => return None,
            b => return Some(b),
        }
    }
}

/// The last byte of `w[..to]` that is not JSON whitespace.
#[inline(always)]
fn prev_byte(w: &[u8], to: usize) -> Option<u8> {
    w[..to]
        .iter()
        .rev()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Whether the number or literal at `w[at]` is valid and followed by what may follow a value
/// (rule 4).
#[inline(always)]
fn scalar_ok(w: &[u8], at: usize, lf_ends: bool) -> bool {
    let rest = &w[at..];
    let len = match rest[0] {
        b'0'..=b'9' | b'-' => number_len(rest),
        b't' if rest.starts_with(b"true") => Some(4),
        b'n' if rest.starts_with(b"null") => Some(4),
        b'f' if rest.starts_with(b"false") => Some(5),
        _ => None,
    };
    len.is_some_and(|n| ends_value(w, at + n, lf_ends))
}

/// The length of the number at the start of `r`, if one starts there.
#[inline(always)]
fn number_len(r: &[u8]) -> Option<usize> {
    let digits = |mut i: usize| {
        while i < r.len() && r[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = (r[0] == b'-') as usize;
    match r.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i + 1),
        _ => return None,
    }
    if r.get(i) == Some(&b'.') {
        let j = digits(i + 1);
        if j == i + 1 {
            return None;
        }
        i = j;
    }
    if let Some(b'e' | b'E') = r.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = r.get(i) {
            i += 1;
        }
        let j = digits(i);
        if j == i {
            return None;
        }
        i = j;
    }
    Some(i)
}

/// The bytes that `next` of `from` lands on (see the module docs), given the block's gaps;
/// `carry` brings in bit 0 what the previous block carried out and takes out what this block
/// carries into the next.
#[inline(always)]
fn next_of(from: u64, gap: u64, carry: &mut u64) -> u64 {
    let (sum, over) = (from << 1 | *carry).overflowing_add(gap);
    *carry = from >> 63 | over as u64;
    sum & !gap
}

/// A container's separators so far: none yet, or whether their count is odd (the last one
/// was a `:`).
const NO_SEP: u8 = 0;
const ODD: u8 = 1;
const EVEN: u8 = 2;
/// Set in a stack entry for an object.
const OBJECT: u8 = 4;

/// Whether `w` is one valid JSON value (its UTF-8 too on the levels that check it block by
/// block, [`Kernel::UTF8`]; else checked elsewhere).
#[inline(always)]
pub(super) fn valid<K: Kernel>(w: &[u8]) -> bool {
    walk::<K>(&mut Blocks::new(w).checking_utf8(K::UTF8))
}

/// [`valid`] over `blocks`.
#[inline(always)]
pub(super) fn walk<K: Kernel>(blocks: &mut Blocks<'_>) -> bool {
    let (w, lf_ends) = (blocks.line(), blocks.lf_ends());
    // The containers the open ones are in, as `OBJECT | separators`; the innermost one is in
    // `top` (0 outside every container, at depth 0).
    let mut stack = [0u8; MAX_DEPTH];
    let mut depth = 0usize;
    let mut top = 0u8;
    // Carries of rules 1-3 from block to block; `first` is set until the first token is seen.
    let (mut first, mut after_sep, mut after_quote) = (1u64, 0u64, 0u64);
    // SAFETY: `walk::<K>` runs only inside `dispatch!` (through `structure_k` and `line_k`),
    // after K's features were detected.
    while let Some(block) = unsafe { blocks.next::<K>() } {
        let Ok(b) = block else {
            return false;
        };
        let value = b.open_quote | b.scalar_start | b.open;
        // Rule 1.
        if first != 0 {
            let land = next_of(0, b.gap, &mut first);
            if land & !value != 0 {
                return false;
            }
            first &= (land == 0) as u64;
        }
        // Rules 2 and 3.
        if next_of(b.sep, b.gap, &mut after_sep) & !value != 0
            || next_of(b.close_quote, b.gap, &mut after_quote) & !(b.sep | b.close) != 0
        {
            return false;
        }
        // Rule 4 for numbers and literals, and their grammar.
        let mut scalars = b.scalar_start;
        while scalars != 0 {
            if !scalar_ok(w, b.j + scalars.trailing_zeros() as usize, lf_ends) {
                return false;
            }
            scalars &= scalars - 1;
        }
        // Rules 4-6 at each bracket, and rule 6 for the separators before it.
        let mut brackets = b.open | b.close;
        // The separators not yet checked (those after the last bracket handled).
        let mut rest = b.sep;
        loop {
            // The next bracket's bit (0 when none is left: the separators up to the block's
            // end are then checked).
            let next = brackets & brackets.wrapping_neg();
            let seps = rest & next.wrapping_sub(1);
            if seps != 0 {
                if top & OBJECT == 0 {
                    // Separators at depth 0, or a `:` in an array.
                    if depth == 0 || b.colon & seps != 0 {
                        return false;
                    }
                } else {
                    // SAFETY: as for `blocks.next` above.
                    let px = unsafe { K::prefix_xor(seps) };
                    let odd = px & seps;
                    let colons = if top & ODD == 0 { odd } else { seps & !odd };
                    if b.colon & seps != colons {
                        return false;
                    }
                    // Whether their count is odd: the prefix XOR's last bit.
                    let flip = (px >> 63) as u8;
                    top = OBJECT | if (top & ODD) ^ flip == 1 { ODD } else { EVEN };
                }
            }
            if brackets == 0 {
                break;
            }
            brackets ^= next;
            rest &= (next << 1).wrapping_neg();
            let at = b.j + next.trailing_zeros() as usize;
            match w[at] {
                c @ (b'{' | b'[') => {
                    if depth == MAX_DEPTH {
                        return false;
                    }
                    let ok = match (c, next_byte(w, at + 1, lf_ends)) {
                        (b'{', n) => matches!(n, Some(b'"' | b'}')),
                        (_, n) => !matches!(n, None | Some(b',' | b':' | b'}')),
                    };
                    if !ok {
                        return false;
                    }
                    stack[depth] = top;
                    depth += 1;
                    top = if c == b'{' { OBJECT | NO_SEP } else { NO_SEP };
                }
                c => {
                    let is_object = c == b'}';
                    if depth == 0 || (top & OBJECT != 0) != is_object {
                        return false;
                    }
                    // An object ends after a member's value, or is empty.
                    if is_object
                        && top & ODD == 0
                        && (top & EVEN != 0 || prev_byte(w, at) != Some(b'{'))
                    {
                        return false;
                    }
                    if !ends_value(w, at + 1, lf_ends) {
                        return false;
                    }
                    depth -= 1;
                    top = stack[depth];
                }
            }
        }
    }
    first == 0 && depth == 0 && !blocks.in_string() && blocks.utf8_ends_whole()
}
