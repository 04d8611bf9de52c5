//! The line's blocks as both walks see them: indexed by [`crate::simd`], checked for what the
//! masks alone tell (control bytes in strings, escapes, UTF-8 on the levels that check it in
//! the pass), and reduced to the masks of the grammar.

use super::{Invalid, escape};
use crate::simd::{Carry, Index, Kernel, below, block_at, escaped};

/// How far ahead of the block it works on the validator asks for the bytes it will need.
const PREFETCH: usize = 1024;

/// The line's 64-byte blocks, indexed, each checked for what its masks alone tell (control
/// bytes inside strings, escapes) and reduced to the masks both walks need. Shared by both
/// walks.
pub(super) struct Blocks<'w> {
    w: &'w [u8],
    /// Offset of the next block.
    j: usize,
    carry: Carry,
    /// 1 when the previous block ended inside a number or literal.
    prev_scalar: u64,
    /// Escapes are checked from here on (a `\u` escape checks the bytes after it).
    escapes_from: usize,
    /// Whether the line ends at the first LF of `w` (see [`Blocks::until_lf`]).
    until_lf: bool,
    /// With `until_lf`, once the LF is found: its offset, and whether a string was open
    /// before it.
    lf: Option<(usize, bool)>,
    /// Whether UTF-8 is checked block by block ([`Kernel::utf8_errors`]).
    utf8: bool,
    /// The bytes over 0x7f of the previous block.
    prev_high: u64,
    pad: [u8; 64],
}

/// One block of a line, as the walks see it: bit `i` of each mask is byte `j + i`, and every
/// mask but `gap` holds bytes of the line only (none past its end).
#[derive(Clone, Copy, Debug)]
pub(super) struct Block {
    /// Offset of the block in the line.
    pub(super) j: usize,
    /// `{` and `[` outside strings.
    pub(super) open: u64,
    /// `}` and `]` outside strings.
    pub(super) close: u64,
    /// `:` and `,` outside strings.
    pub(super) sep: u64,
    /// `:` outside strings.
    pub(super) colon: u64,
    /// Quotes that open a string.
    pub(super) open_quote: u64,
    /// Quotes that close a string.
    pub(super) close_quote: u64,
    /// First bytes of numbers and literals (and of any other run of bytes outside strings
    /// that is neither whitespace nor punctuation: the scalar check rejects those).
    pub(super) scalar_start: u64,
    /// Whitespace outside strings, and every byte past the end of the line.
    pub(super) gap: u64,
}

impl Block {
    /// The bytes that start a token: a bracket, a separator, a string, a number or literal.
    #[inline(always)]
    pub(super) fn tokens(&self) -> u64 {
        self.open | self.close | self.sep | self.open_quote | self.scalar_start
    }
}

impl<'w> Blocks<'w> {
    #[inline(always)]
    pub(super) fn new(w: &'w [u8]) -> Blocks<'w> {
        Blocks {
            w,
            j: 0,
            carry: Carry::default(),
            prev_scalar: 0,
            escapes_from: 0,
            until_lf: false,
            lf: None,
            utf8: false,
            prev_high: 0,
            pad: [b' '; 64],
        }
    }

    /// The blocks of the line that starts at `w[0]` and ends before the first LF of `w`: the
    /// bytes from the LF on count as past the end of the line.
    #[inline(always)]
    pub(super) fn until_lf(w: &'w [u8]) -> Blocks<'w> {
        Blocks {
            until_lf: true,
            ..Blocks::new(w)
        }
    }

    /// These blocks with UTF-8 checked block by block (an error ends them with "invalid
    /// UTF-8", with no place: the caller finds it), when `yes`.
    #[inline(always)]
    pub(super) fn checking_utf8(self, yes: bool) -> Blocks<'w> {
        Blocks { utf8: yes, ..self }
    }

    /// With UTF-8 checked: whether the end of the line does not cut a sequence that the block
    /// checks could not see cut (a last block that is full: a shorter one is padded with
    /// spaces, and a line that ends at an LF has the LF after it).
    pub(super) fn utf8_ends_whole(&self) -> bool {
        let w = self.w;
        if !self.utf8
            || self.lf.is_some()
            || !w.len().is_multiple_of(64)
            || self.prev_high >> 61 == 0
        {
            return true;
        }
        let back = |k: usize| w.len().checked_sub(k).map_or(0, |i| w[i]);
        !(back(1) >= 0xc0 || back(2) >= 0xe0 || back(3) >= 0xf0)
    }

    /// The bytes walked (with [`Blocks::until_lf`], the line and what follows it).
    pub(super) fn line(&self) -> &'w [u8] {
        self.w
    }

    /// Whether an LF ends the line ([`Blocks::until_lf`]).
    pub(super) fn lf_ends(&self) -> bool {
        self.until_lf
    }

    /// With [`Blocks::until_lf`], the offset of the LF, once the walk has reached it.
    pub(super) fn lf(&self) -> Option<usize> {
        self.lf.map(|(at, _)| at)
    }

    /// The next block, or `None` after the last one.
    ///
    /// # Safety
    ///
    /// The CPU supports K's level (the caller runs inside `dispatch!`).
    #[inline(always)]
    pub(super) unsafe fn next<K: Kernel>(&mut self) -> Option<Result<Block, Invalid>> {
        let w = self.w;
        let j = loop {
            let j = self.j;
            if j >= w.len() {
                return None;
            }
            self.j += 64;
            // SAFETY: passed on from the caller; the address is only a hint (`wrapping_add`:
            // it may lie past the end of `w`).
            unsafe { K::prefetch(w.as_ptr().wrapping_add(j + PREFETCH)) };
            if self.carry.in_string == 0 || w.len() - j < 64 {
                break j;
            }
            // A block inside a string that goes on past it holds no token: it is checked and
            // passed over, not handed to the walks. (Every carry of the fast walk is 0 across
            // it: a block that ends inside a string leaves no separator, quote, scalar or
            // first token waiting for its next byte.)
            // SAFETY: passed on from the caller.
            match unsafe { self.inside_string::<K>(j) } {
                Some(Ok(())) => {}
                Some(Err(e)) => return Some(Err(e)),
                None => break j,
            }
        };
        let mut valid = below(w.len() - j);
        let bytes = block_at(w, j, &mut self.pad);
        let in_string_before = self.carry.in_string != 0;
        // SAFETY: passed on from the caller.
        let ix = unsafe { Index::next::<K>(bytes, &mut self.carry) };
        if self.until_lf && ix.raw.lf & valid != 0 {
            // The line ends here: what follows the LF is past its end, and there is no next
            // block.
            let cut = (ix.raw.lf & valid).trailing_zeros() as usize;
            valid = below(cut);
            let open = match cut {
                0 => in_string_before,
                _ => ix.in_string >> (cut - 1) & 1 == 1,
            };
            self.lf = Some((j + cut, open));
            self.j = w.len();
        }
        if self.utf8 {
            // The block that holds the LF is checked up to it (spaces after).
            let cut;
            let checked = match self.lf {
                Some((lf, _)) => {
                    let mut spaced = [b' '; 64];
                    spaced[..lf - j].copy_from_slice(&bytes[..lf - j]);
                    cut = spaced;
                    &cut
                }
                None => bytes,
            };
            // SAFETY: passed on from the caller.
            let high = ix.raw.high & valid;
            if let Err(e) = unsafe { utf8_block::<K>(w, j, checked, high, &mut self.prev_high) } {
                return Some(Err(e));
            }
        }
        let quote = ix.quote & valid;
        let open_quote = quote & ix.in_string;
        let body = ix.in_string & !open_quote & valid;
        let bad = ix.raw.ctrl & body;
        if bad != 0 {
            let at = j + bad.trailing_zeros() as usize;
            return Some(Err(Invalid {
                at,
                what: "control character in a string",
                found: Some(w[at]),
            }));
        }
        // SAFETY: passed on from the caller.
        let esc = ix.escaped & body;
        if let Err(e) = unsafe { escapes_block::<K>(w, j, bytes, esc, &mut self.escapes_from) } {
            return Some(Err(e));
        }
        let outside = !ix.in_string & !quote & valid;
        let (open, close, sep) = (
            ix.raw.open & outside,
            ix.raw.close & outside,
            ix.raw.sep & outside,
        );
        let scalar = outside & !ix.raw.ws & !(open | close | sep);
        let scalar_start = scalar & !(scalar << 1 | self.prev_scalar);
        self.prev_scalar = scalar >> 63;
        Some(Ok(Block {
            j,
            open,
            close,
            sep,
            colon: ix.raw.colon & outside,
            open_quote,
            close_quote: quote & !ix.in_string,
            scalar_start,
            gap: (ix.raw.ws & !ix.in_string) | !valid,
        }))
    }

    /// Checks the whole block at `j` when it lies inside a string that goes on past it (the
    /// block after a string left open holds no quote that closes it, and no control byte),
    /// with the masks a string's body needs only, the cheapest kernel. `None` (nothing
    /// changed) when the block is not such a block.
    ///
    /// # Safety
    ///
    /// As for [`Blocks::next`].
    #[inline(always)]
    unsafe fn inside_string<K: Kernel>(&mut self, j: usize) -> Option<Result<(), Invalid>> {
        let bytes: &[u8; 64] = self.w[j..j + 64].try_into().expect("64 bytes");
        // SAFETY: passed on from the caller.
        let (quote, backslash, ctrl, high) = unsafe { K::string_bytes(bytes) };
        if ctrl != 0 {
            // An LF or a control byte: the whole classification says what it is.
            return None;
        }
        let mut escape = self.carry.escape;
        let escaped = escaped(backslash, &mut escape);
        if quote & !escaped != 0 {
            return None;
        }
        // The string goes on through the block and after it.
        self.carry.escape = escape;
        self.prev_scalar = 0;
        if self.utf8 {
            // SAFETY: passed on from the caller.
            if let Err(e) = unsafe { utf8_block::<K>(self.w, j, bytes, high, &mut self.prev_high) }
            {
                return Some(Err(e));
            }
        }
        // SAFETY: passed on from the caller.
        if let Err(e) =
            unsafe { escapes_block::<K>(self.w, j, bytes, escaped, &mut self.escapes_from) }
        {
            return Some(Err(e));
        }
        Some(Ok(()))
    }

    /// Whether a string is still open after the last byte. (The carry out of the last block
    /// counts the padding after the line, but a string open after the last byte is open at the
    /// end of the padding too.)
    pub(super) fn in_string(&self) -> bool {
        match self.lf {
            Some((_, open)) => open,
            None => self.carry.in_string != 0 && !self.w.is_empty(),
        }
    }
}

/// Checks the UTF-8 of the block at `j` of `w` (`bytes`; `high`: its bytes over 0x7f) after
/// the block before it (`prev_high`: that block's, then this one's).
///
/// # Safety
///
/// The CPU supports K's level.
#[inline(always)]
unsafe fn utf8_block<K: Kernel>(
    w: &[u8],
    j: usize,
    bytes: &[u8; 64],
    high: u64,
    prev_high: &mut u64,
) -> Result<(), Invalid> {
    // A block of ASCII after one that ends in ASCII needs no check.
    if high != 0 || *prev_high >> 61 != 0 {
        let prev: &[u8; 64] = match j.checked_sub(64) {
            // Every block but the last is whole.
            Some(p) => w[p..j].try_into().expect("64 bytes"),
            None => &[0; 64],
        };
        // SAFETY: passed on from the caller.
        if unsafe { K::utf8_errors(prev, bytes) } {
            return Err(Invalid {
                at: j,
                what: "invalid UTF-8",
                found: None,
            });
        }
    }
    *prev_high = high;
    Ok(())
}

/// Checks the escapes of the block at `j` of `w` (`bytes`; `esc`: its escaped bytes inside
/// strings). One-letter escapes are checked by their mask; `\u` escapes (and bad ones)
/// one by one. (No backslash inside a `\u` escape's span escapes one of those letters.)
///
/// # Safety
///
/// The CPU supports K's level.
#[inline(always)]
unsafe fn escapes_block<K: Kernel>(
    w: &[u8],
    j: usize,
    bytes: &[u8; 64],
    esc: u64,
    escapes_from: &mut usize,
) -> Result<(), Invalid> {
    if esc == 0 {
        return Ok(());
    }
    // SAFETY: passed on from the caller.
    let mut other = esc & !unsafe { K::escape_letters(bytes) };
    while other != 0 {
        let at = j + other.trailing_zeros() as usize;
        other &= other - 1;
        if at >= *escapes_from {
            *escapes_from = escape(w, at)?;
        }
    }
    Ok(())
}
