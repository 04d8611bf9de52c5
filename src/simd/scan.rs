//! Resumable scans over indexed blocks, for the probe: the end of a string, the end of a
//! container. Each takes the bytes seen so far and a carried state, and either finds its end
//! or says where to resume once more bytes are at hand.
//!
//! Each comes in a second form, `_lf`, for bytes that may run past the end of the line (the
//! probe's pass that finds the line's end as it classifies it): it also stops at the first LF,
//! wherever it is (inside a string or not), and returns its index as the end. The caller tells
//! the two ends apart by the byte there.

use super::{Carry, Index, Kernel, Raw, below, block_at, dispatch, escaped};

/// What a resumable scan found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// The end, at this index of the scanned slice.
    At(usize),
    /// The slice ended first: call again from its end with more bytes and the same state.
    More,
}

/// The state of a string scan carried between calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Str {
    /// 1 when the next byte is escaped by a backslash before it.
    escape: u64,
    /// Whether the body seen so far holds a backslash.
    pub(crate) had_escape: bool,
}

dispatch! {
    /// Finds the closing quote of a string body in `w[from..]`: the first quote not escaped by
    /// an odd run of backslashes. `st` starts as `Str::default()` at the first byte of the body
    /// and records whether the body holds a backslash.
    pub(crate) fn string_end / string_end_at(w: &[u8], from: usize, st: &mut Str) -> Found = string_end_k;
}

dispatch! {
    /// [`string_end`], stopping at the first LF too: `Found::At(i)` with `w[i] == b'\n'`
    /// when an LF comes before the closing quote.
    pub(crate) fn string_end_lf / string_end_lf_at(w: &[u8], from: usize, st: &mut Str) -> Found = string_end_lf_k;
}

#[inline(always)]
fn string_end_k<K: Kernel>(w: &[u8], from: usize, st: &mut Str) -> Found {
    string_end_g::<K, false>(w, from, st)
}

#[inline(always)]
fn string_end_lf_k<K: Kernel>(w: &[u8], from: usize, st: &mut Str) -> Found {
    string_end_g::<K, true>(w, from, st)
}

/// [`string_end`], and with `LF` [`string_end_lf`].
#[inline(always)]
fn string_end_g<K: Kernel, const LF: bool>(w: &[u8], from: usize, st: &mut Str) -> Found {
    // The state lives in registers through the loop and goes back into `st` on the way out.
    // Full blocks first (their `n` is a constant 64), then the partial last one, padded.
    let (mut escape, mut had) = (st.escape, st.had_escape);
    let mut j = from;
    let found = loop {
        if let Some(block) = w.get(j..j.saturating_add(64)) {
            let block = block.try_into().expect("64 bytes");
            if let Some(end) = string_block::<K, LF>(block, 64, &mut escape, &mut had) {
                break Found::At(j + end);
            }
            j += 64;
        } else {
            if j < w.len() {
                let mut pad = [b' '; 64];
                let n = w.len() - j;
                if let Some(end) =
                    string_block::<K, LF>(block_at(w, j, &mut pad), n, &mut escape, &mut had)
                {
                    break Found::At(j + end);
                }
            }
            break Found::More;
        }
    };
    (st.escape, st.had_escape) = (escape, had);
    found
}

/// One block of [`string_end`]: the closing quote among the first `n` bytes of `block`, if
/// there is one (with `LF`, or an LF before it); else the carries go on to the next block.
#[inline(always)]
fn string_block<K: Kernel, const LF: bool>(
    block: &[u8; 64],
    n: usize,
    escape: &mut u64,
    had: &mut bool,
) -> Option<usize> {
    // SAFETY: `string_end_k::<K>` runs only inside `dispatch!`, after K's features were
    // detected.
    let (q, b) = unsafe { K::strings(block) };
    let b = b & below(n);
    let carried = *escape;
    let esc = escaped(b, escape);
    let mut q = q & !esc & below(n);
    if LF {
        // SAFETY: as above.
        q |= unsafe { K::lfs(block) } & below(n);
    }
    if q != 0 {
        let end = q.trailing_zeros() as usize;
        *had |= carried != 0 || b & below(end) != 0;
        return Some(end);
    }
    *had |= b != 0;
    if n < 64 {
        // The carry out of a partial block is whether its last byte ends an odd run.
        *escape = esc >> n & 1;
    }
    None
}

/// Depth of the bracket-kind stack: deeper nesting is counted but its pairing not checked.
pub(crate) const KIND_BITS: usize = 64 * 64;

/// The state of a container scan carried between calls.
#[derive(Clone, Debug)]
pub(crate) struct Container {
    carry: Carry,
    depth: usize,
    /// Bit `d`: the bracket open at depth `d` is `{` (else `[`).
    kinds: [u64; KIND_BITS / 64],
}

impl Default for Container {
    fn default() -> Container {
        Container {
            carry: Carry::default(),
            depth: 0,
            kinds: [0; KIND_BITS / 64],
        }
    }
}

impl Container {
    /// Resets the state for a new container.
    pub(crate) fn reset(&mut self) {
        self.carry = Carry::default();
        self.depth = 0;
    }
}

/// A bracket that does not close the one open: its index and what is wrong.
pub(crate) type Mismatch = (usize, &'static str);

dispatch! {
    /// Finds the bracket that closes the object or array opening at `w[from]` (on the first
    /// call; later calls resume where the previous one stopped), skipping strings and checking
    /// that brackets pair up (to [`KIND_BITS`] levels). Nothing else is validated.
    pub(crate) fn skip_container / skip_container_at(w: &[u8], from: usize, st: &mut Container)
        -> Result<Found, Mismatch> = skip_container_k;
}

dispatch! {
    /// [`skip_container`], stopping at the first LF too: `Ok(Found::At(i))` with
    /// `w[i] == b'\n'` when an LF comes before the closing bracket (and before any bracket
    /// that does not pair).
    pub(crate) fn skip_container_lf / skip_container_lf_at(w: &[u8], from: usize, st: &mut Container)
        -> Result<Found, Mismatch> = skip_container_lf_k;
}

#[inline(always)]
fn skip_container_k<K: Kernel>(
    w: &[u8],
    from: usize,
    st: &mut Container,
) -> Result<Found, Mismatch> {
    skip_container_g::<K, false>(w, from, st)
}

#[inline(always)]
fn skip_container_lf_k<K: Kernel>(
    w: &[u8],
    from: usize,
    st: &mut Container,
) -> Result<Found, Mismatch> {
    skip_container_g::<K, true>(w, from, st)
}

/// [`skip_container`], and with `LF` [`skip_container_lf`].
#[inline(always)]
fn skip_container_g<K: Kernel, const LF: bool>(
    w: &[u8],
    from: usize,
    st: &mut Container,
) -> Result<Found, Mismatch> {
    // The carries and the depth live in registers through the loop and go back into `st` on
    // the way out (the bracket kinds stay in memory: only brackets touch them). Full blocks
    // first (their `n` is a constant 64), then the partial last one, padded.
    let (mut carry, mut depth) = (st.carry, st.depth);
    let mut j = from;
    let found = loop {
        if let Some(block) = w.get(j..j.saturating_add(64)) {
            let block = block.try_into().expect("64 bytes");
            match container_block::<K, LF>(block, 64, j, &mut carry, &mut depth, &mut st.kinds) {
                Ok(None) => j += 64,
                Ok(Some(end)) => break Ok(Found::At(end)),
                Err(e) => break Err(e),
            }
            if carry.in_string != 0 {
                match string_rest::<K, LF>(w, j, &mut carry) {
                    Ok(next) => j = next,
                    Err(lf) => break Ok(Found::At(lf)),
                }
            }
        } else {
            if j < w.len() {
                let mut pad = [b' '; 64];
                let (n, block) = (w.len() - j, block_at(w, j, &mut pad));
                match container_block::<K, LF>(block, n, j, &mut carry, &mut depth, &mut st.kinds) {
                    Ok(None) => {}
                    Ok(Some(end)) => break Ok(Found::At(end)),
                    Err(e) => break Err(e),
                }
            }
            break Ok(Found::More);
        }
    };
    (st.carry, st.depth) = (carry, depth);
    found
}

/// Inside a container, in a string that goes on at `w[j]` (`carry` says so): the string's
/// closing quote found by the string scan alone (quotes and backslashes, the cheapest block
/// kernel), over the full blocks from `j`. Returns where the container's scan goes on: just
/// past the quote (outside any string), or at the first block not read (with `carry` the
/// state there). With `LF`, `Err` with the index of an LF that comes first.
#[inline(always)]
fn string_rest<K: Kernel, const LF: bool>(
    w: &[u8],
    mut j: usize,
    carry: &mut Carry,
) -> Result<usize, usize> {
    let mut had = false;
    while let Some(block) = w.get(j..j.saturating_add(64)) {
        let block: &[u8; 64] = block.try_into().expect("64 bytes");
        if let Some(end) = string_block::<K, LF>(block, 64, &mut carry.escape, &mut had) {
            if LF && block[end] == b'\n' {
                return Err(j + end);
            }
            *carry = Carry::default();
            return Ok(j + end + 1);
        }
        j += 64;
    }
    Ok(j)
}

/// One block of [`skip_container`], the first `n` bytes of `block`, at `j` in the input: the
/// index of the closing bracket, if it is there (with `LF`, or of an LF before it); else the
/// carries and the depth go on to the next block.
#[inline(always)]
fn container_block<K: Kernel, const LF: bool>(
    block: &[u8; 64],
    n: usize,
    j: usize,
    carry: &mut Carry,
    depth: &mut usize,
    kinds: &mut [u64; KIND_BITS / 64],
) -> Result<Option<usize>, Mismatch> {
    // SAFETY: `skip_container_k::<K>` runs only inside `dispatch!`, after K's features were
    // detected.
    let (quote, backslash, brackets) = unsafe { K::brackets(block) };
    let raw = Raw {
        quote,
        backslash,
        ..Raw::default()
    };
    // SAFETY: as above.
    let ix = unsafe { Index::from_raw::<K>(raw, carry) };
    let live = !ix.in_string & below(n);
    let mut brackets = brackets & live;
    let lf = if LF {
        // SAFETY: as above.
        let lf = unsafe { K::lfs(block) };
        lf & below(n)
    } else {
        0
    };
    if lf != 0 {
        // Only the brackets before the line's end count.
        brackets &= below(lf.trailing_zeros() as usize);
    }
    while brackets != 0 {
        let i = brackets.trailing_zeros() as usize;
        brackets &= brackets - 1;
        // `{` and `}` have bit 0x20 set, `[` and `]` not; `{` and `[` have bit 0x02 set, `}`
        // and `]` not.
        let (brace, open) = (block[i] & 0x20 != 0, block[i] & 0x02 != 0);
        if open {
            if *depth < KIND_BITS {
                let (word, b) = (*depth / 64, *depth % 64);
                kinds[word] = kinds[word] & !(1 << b) | (brace as u64) << b;
            }
            *depth += 1;
        } else {
            if *depth == 0 {
                return Err((j + i, "unbalanced bracket"));
            }
            *depth -= 1;
            if *depth < KIND_BITS && (kinds[*depth / 64] >> (*depth % 64) & 1 == 1) != brace {
                return Err((j + i, "mismatched bracket"));
            }
            if *depth == 0 {
                return Ok(Some(j + i));
            }
        }
    }
    if lf != 0 {
        return Ok(Some(j + lf.trailing_zeros() as usize));
    }
    if n < 64 {
        // Carries out of a partial block: the states after its last byte.
        carry.escape = ix.escaped >> n & 1;
        carry.in_string = 0u64.wrapping_sub(ix.in_string >> (n - 1) & 1);
    }
    Ok(None)
}
