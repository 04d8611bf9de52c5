//! Short byte searches in 16-byte blocks, for the probe.
//!
//! `memchr` is the fastest way through long spans, but the probe mostly looks for the next
//! quote or bracket a few dozen bytes away (escape-dense strings, small containers), where
//! the cost of a call and of its setup dominates. These helpers test a few 16-byte blocks
//! inline (with [`wide`]'s safe SIMD types: SSE2 on x86_64, NEON on aarch64, scalar code
//! elsewhere) and hand longer spans to `memchr`.

use memchr::memchr2;
use wide::u8x16;

/// Blocks tested inline before a search is handed to `memchr`.
const INLINE_BLOCKS: usize = 4;

#[inline(always)]
fn block(w: &[u8], at: usize) -> Option<u8x16> {
    let chunk: &[u8; 16] = w.get(at..at + 16)?.try_into().ok()?;
    Some(u8x16::new(*chunk))
}

/// The index of the first `"` or `\` in `w[from..]`, like `memchr2(b'"', b'\\', ..)`.
#[inline(always)]
pub(crate) fn quote_or_backslash(w: &[u8], from: usize) -> Option<usize> {
    let quote = u8x16::splat(b'"');
    let backslash = u8x16::splat(b'\\');
    let mut j = from;
    for _ in 0..INLINE_BLOCKS {
        let Some(v) = block(w, j) else {
            return w
                .get(j..)?
                .iter()
                .position(|&b| b == b'"' || b == b'\\')
                .map(|k| j + k);
        };
        let m = (v.cmp_eq(quote) | v.cmp_eq(backslash)).move_mask();
        if m != 0 {
            return Some(j + m.trailing_zeros() as usize);
        }
        j += 16;
    }
    memchr2(b'"', b'\\', &w[j..]).map(|k| j + k)
}

/// The index of the first byte of `"{}[]` in `w[from..]`: the next byte that changes the
/// nesting or starts a string, when skipping a container.
#[inline(always)]
pub(crate) fn structural(w: &[u8], from: usize) -> Option<usize> {
    let quote = u8x16::splat(b'"');
    // Setting bit 0x20 maps `[` (0x5B) to `{` (0x7B) and `]` (0x5D) to `}` (0x7D), and no
    // other byte to either.
    let fold = u8x16::splat(0x20);
    let (open, close) = (u8x16::splat(b'{'), u8x16::splat(b'}'));
    let mut j = from;
    loop {
        let Some(v) = block(w, j) else {
            return w
                .get(j..)?
                .iter()
                .position(|&b| matches!(b, b'"' | b'{' | b'}' | b'[' | b']'))
                .map(|k| j + k);
        };
        let folded = v | fold;
        let m = (v.cmp_eq(quote) | folded.cmp_eq(open) | folded.cmp_eq(close)).move_mask();
        if m != 0 {
            return Some(j + m.trailing_zeros() as usize);
        }
        j += 16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fold_maps_exactly_the_brackets() {
        for b in 0..=255u8 {
            let hit = b | 0x20 == b'{' || b | 0x20 == b'}';
            assert_eq!(hit, matches!(b, b'{' | b'}' | b'[' | b']'), "{b:#x}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_naive_search(
            w in proptest::collection::vec(
                prop_oneof![Just(b'"'), Just(b'\\'), Just(b'{'), Just(b']'), Just(b'y'), any::<u8>()],
                0..200,
            ),
            from in 0usize..210,
        ) {
            let naive2 = w.get(from..).and_then(|t| {
                t.iter().position(|&b| b == b'"' || b == b'\\').map(|k| from + k)
            });
            prop_assert_eq!(quote_or_backslash(&w, from), naive2);
            let naive5 = w.get(from..).and_then(|t| {
                t.iter()
                    .position(|&b| matches!(b, b'"' | b'{' | b'}' | b'[' | b']'))
                    .map(|k| from + k)
            });
            prop_assert_eq!(structural(&w, from), naive5);
        }
    }
}
