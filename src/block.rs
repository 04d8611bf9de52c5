//! Byte scans in SIMD blocks, for the probe.
//!
//! `memchr` is the fastest way through long spans, but the probe mostly looks for the next
//! quote or bracket a few dozen bytes away, in short or escape-dense strings and small
//! containers, where the cost of a call per escape dominates. These helpers test 16- and
//! 64-byte blocks inline with [`wide`]'s safe SIMD types (SSE2 on x86_64, NEON on aarch64,
//! scalar code elsewhere): a string body is scanned a block at a time with its escapes
//! resolved by bit arithmetic (as simdjson does), and long plain runs go to `memchr`.

use memchr::{memchr, memchr2};
use wide::u8x16;

/// 64-byte blocks without quote or backslash after which a string scan hands over to
/// `memchr2`, which is faster on long plain runs (measured on the benchmark inputs).
const PLAIN_BLOCKS: usize = 1;

/// Escaped quotes after which [`skip_string`] goes on in blocks rather than with `memchr`.
const ESCAPED_QUOTES: usize = 2;

/// Long scans report their progress every this many bytes (see [`Release`]).
pub(crate) const RELEASE_EVERY: usize = 1 << 20;

/// Told, every [`RELEASE_EVERY`] bytes of a long scan, the offset in the scanned slice before
/// which the scan will not look again: the scanner releases those mapped pages, so reading a
/// 16 MiB line does not keep 16 MiB resident.
pub(crate) type Release<'r> = &'r mut dyn FnMut(usize);

/// `find` over `w[from..]` in pieces of [`RELEASE_EVERY`] bytes, reporting each piece done.
fn find_releasing(
    w: &[u8],
    from: usize,
    release: Release<'_>,
    find: impl Fn(&[u8]) -> Option<usize>,
) -> Option<usize> {
    let mut j = from;
    loop {
        let end = w.len().min(j + RELEASE_EVERY);
        if let Some(k) = find(w.get(j..end)?) {
            return Some(j + k);
        }
        if end == w.len() {
            return None;
        }
        release(end);
        j = end;
    }
}

#[inline(always)]
fn block(w: &[u8], at: usize) -> Option<u8x16> {
    let chunk: &[u8; 16] = w.get(at..at + 16)?.try_into().ok()?;
    Some(u8x16::new(*chunk))
}

/// Bit masks of the quotes and backslashes in the 64 bytes at `w[at..]`, zero-padded past the
/// end of `w`.
#[inline(always)]
fn masks64(w: &[u8], at: usize) -> (u64, u64) {
    let quote = u8x16::splat(b'"');
    let backslash = u8x16::splat(b'\\');
    let mut pad = [0u8; 64];
    let chunk: &[u8] = match w.get(at..at + 64) {
        Some(c) => c,
        None => {
            let rest = &w[at.min(w.len())..];
            pad[..rest.len()].copy_from_slice(rest);
            &pad
        }
    };
    let (mut q, mut b) = (0u64, 0u64);
    for (k, c) in chunk.chunks_exact(16).enumerate() {
        let v = u8x16::new(c.try_into().expect("16-byte chunk"));
        q |= (v.cmp_eq(quote).move_mask() as u16 as u64) << (16 * k);
        b |= (v.cmp_eq(backslash).move_mask() as u16 as u64) << (16 * k);
    }
    (q, b)
}

/// The bytes escaped by a backslash among 64, given the mask of backslashes and whether the
/// first byte is escaped by a backslash that ended the previous block (`carry`, updated for
/// the next block). An odd run of backslashes escapes the byte after it; an even run does not.
/// This is simdjson's `find_escaped`.
#[inline(always)]
fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let backslash = backslash & !*carry;
    let follows = (backslash << 1) | *carry;
    let odd_starts = backslash & !EVEN & !follows;
    let (even_starts, overflow) = odd_starts.overflowing_add(backslash);
    *carry = overflow as u64;
    (EVEN ^ (even_starts << 1)) & follows
}

/// Finds the closing quote of the string whose body starts at `w[from]`: the index of the
/// first quote not escaped by a backslash, and whether the body holds a backslash. `None`
/// when `w` ends first.
#[inline(always)]
pub(crate) fn string_end(w: &[u8], from: usize, release: Release<'_>) -> Option<(usize, bool)> {
    match short_string(w, from) {
        Some(end) => Some((end, false)),
        None => string_end_blocks(w, from, release),
    }
}

/// The end of a string body that closes within the 16 bytes at `w[from..]` before any
/// backslash: most keys and short values. Inlined at every call; the rest is not.
#[inline(always)]
fn short_string(w: &[u8], from: usize) -> Option<usize> {
    let v = block(w, from)?;
    let q = v.cmp_eq(u8x16::splat(b'"')).move_mask() as u32;
    let b = v.cmp_eq(u8x16::splat(b'\\')).move_mask() as u32;
    // The first quote comes before any backslash.
    if q != 0 && (b == 0 || q.trailing_zeros() < b.trailing_zeros()) {
        Some(from + q.trailing_zeros() as usize)
    } else {
        None
    }
}

/// [`string_end`] past the short case: 64-byte blocks.
#[inline(never)]
fn string_end_blocks(w: &[u8], from: usize, release: Release<'_>) -> Option<(usize, bool)> {
    let mut j = from;
    let mut carry = 0u64;
    let mut esc = false;
    let mut clean_blocks = 0;
    let mut report_at = from + RELEASE_EVERY;
    while j < w.len() {
        if j >= report_at {
            release(j);
            report_at = j + RELEASE_EVERY;
        }
        let (q, b) = masks64(w, j);
        if b == 0 && carry == 0 {
            if q != 0 {
                return Some((j + q.trailing_zeros() as usize, esc));
            }
            clean_blocks += 1;
            if clean_blocks == PLAIN_BLOCKS {
                // A long plain run: let memchr find the next quote or backslash, and go on
                // in blocks from there (the byte before it is neither, so nothing carries).
                if j + 64 > w.len() {
                    return None;
                }
                let k = find_releasing(w, j + 64, release, |h| memchr2(b'"', b'\\', h))?;
                if w[k] == b'"' {
                    return Some((k, esc));
                }
                clean_blocks = 0;
                j = k;
                continue;
            }
            j += 64;
            continue;
        }
        let had_carry = carry != 0;
        let q = q & !escaped(b, &mut carry);
        if q != 0 {
            let end = q.trailing_zeros();
            let before = if end == 0 {
                0
            } else {
                b & (u64::MAX >> (64 - end))
            };
            return Some((j + end as usize, esc || had_carry || before != 0));
        }
        esc = true;
        clean_blocks = 0;
        j += 64;
    }
    None
}

/// Finds the closing quote of the string whose body starts at `w[from]`, like
/// [`string_end`] but without saying whether the body holds an escape: for strings that are
/// skipped. It searches quotes only (with `memchr`, fast through long bodies whatever their
/// other escapes) and keeps the first one preceded by an even run of backslashes; after a few
/// escaped quotes it goes on like [`string_end`].
#[inline(always)]
pub(crate) fn skip_string(w: &[u8], from: usize, release: Release<'_>) -> Option<usize> {
    short_string(w, from).or_else(|| skip_string_long(w, from, release))
}

/// [`skip_string`] past the short case.
#[inline(never)]
fn skip_string_long(w: &[u8], from: usize, release: Release<'_>) -> Option<usize> {
    let mut j = from;
    for _ in 0..ESCAPED_QUOTES {
        let k = find_releasing(w, j, release, |h| memchr(b'"', h))?;
        // The byte before the body is its opening quote, so the run stops there.
        let run = w[from..k].iter().rev().take_while(|&&b| b == b'\\').count();
        if run % 2 == 0 {
            return Some(k);
        }
        j = k + 1;
    }
    // Dense with escaped quotes (JSON inside a string): blocks cost the same whatever the
    // escapes. The byte after an escaped quote starts afresh, so nothing carries into `j`.
    string_end(w, j, release).map(|(end, _)| end)
}

/// The index of the first byte of `"{}[]` in `w[from..]`: the next byte that changes the
/// nesting or starts a string, when skipping a container.
#[inline(always)]
pub(crate) fn structural(w: &[u8], from: usize, release: Release<'_>) -> Option<usize> {
    let quote = u8x16::splat(b'"');
    // Setting bit 0x20 maps `[` (0x5B) to `{` (0x7B) and `]` (0x5D) to `}` (0x7D), and no
    // other byte to either.
    let fold = u8x16::splat(0x20);
    let (open, close) = (u8x16::splat(b'{'), u8x16::splat(b'}'));
    let mut j = from;
    let mut report_at = from + RELEASE_EVERY;
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
        if j >= report_at {
            release(j);
            report_at = j + RELEASE_EVERY;
        }
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
            let naive5 = w.get(from..).and_then(|t| {
                t.iter()
                    .position(|&b| matches!(b, b'"' | b'{' | b'}' | b'[' | b']'))
                    .map(|k| from + k)
            });
            prop_assert_eq!(structural(&w, from, &mut |_| {}), naive5);
        }

        #[test]
        fn string_end_agrees_with_a_sequential_scan(
            w in proptest::collection::vec(
                prop_oneof![
                    8 => Just(b'\\'),
                    2 => Just(b'"'),
                    6 => Just(b'a'),
                    1 => any::<u8>(),
                ],
                0..400,
            ),
            from in 0usize..410,
        ) {
            prop_assert_eq!(string_end(&w, from, &mut |_| {}), naive_string_end(&w, from));
            prop_assert_eq!(skip_string(&w, from, &mut |_| {}), naive_string_end(&w, from).map(|e| e.0));
        }

        #[test]
        fn string_end_on_long_plain_runs(
            runs in proptest::collection::vec((0usize..300, prop_oneof![
                Just(&b"\\"[..]), Just(&b"\\\\"[..]), Just(&b"\\\""[..]), Just(&b"\""[..]),
                Just(&b"\\\\\""[..]),
            ]), 0..6),
            from in 0usize..20,
        ) {
            let mut w = Vec::new();
            for (n, tail) in runs {
                w.extend(std::iter::repeat_n(b'x', n));
                w.extend_from_slice(tail);
            }
            prop_assert_eq!(string_end(&w, from, &mut |_| {}), naive_string_end(&w, from));
            prop_assert_eq!(skip_string(&w, from, &mut |_| {}), naive_string_end(&w, from).map(|e| e.0));
        }
    }

    fn naive_string_end(w: &[u8], from: usize) -> Option<(usize, bool)> {
        let mut j = from;
        let mut esc = false;
        while j < w.len() {
            match w[j] {
                b'"' => return Some((j, esc)),
                b'\\' => {
                    esc = true;
                    j += 2;
                }
                _ => j += 1,
            }
        }
        None
    }

    /// Long scans report their progress, in order, and never past what they have read.
    #[test]
    fn long_scans_report_progress() {
        let n = 5 * RELEASE_EVERY + 100;
        let check = |w: &[u8], end: usize, scan: &dyn Fn(&[u8], Release<'_>) -> Option<usize>| {
            let mut seen = Vec::new();
            assert_eq!(scan(w, &mut |i| seen.push(i)), Some(end));
            assert!(seen.len() >= 4, "{seen:?}");
            assert!(seen.windows(2).all(|p| p[0] < p[1]), "{seen:?}");
            assert!(seen.iter().all(|&i| i <= end), "{seen:?}");
        };
        // A plain string, one dense with escaped quotes, and a container of numbers.
        let mut plain = vec![b'a'; n];
        plain.push(b'"');
        check(&plain, n, &|w, r| skip_string(w, 0, r));
        check(&plain, n, &|w, r| string_end(w, 0, r).map(|e| e.0));
        let mut dense = b"\\\"".repeat(n / 2);
        dense.push(b'"');
        let end = dense.len() - 1;
        check(&dense, end, &|w, r| skip_string(w, 0, r));
        check(&dense, end, &|w, r| string_end(w, 0, r).map(|e| e.0));
        let mut numbers = b"1,".repeat(n / 2);
        numbers.push(b']');
        let end = numbers.len() - 1;
        check(&numbers, end, &|w, r| structural(w, 0, r));
    }

    #[test]
    fn string_end_cases() {
        type Case = (&'static [u8], Option<(usize, bool)>);
        let cases: &[Case] = &[
            (b"abc\"", Some((3, false))),
            (b"a\\\"b\"", Some((4, true))),
            (b"a\\\\\"", Some((3, true))),
            (b"a\\", None),
            (b"", None),
        ];
        for (w, want) in cases {
            assert_eq!(
                string_end(w, 0, &mut |_| {}),
                *want,
                "{:?}",
                String::from_utf8_lossy(w)
            );
        }
        // Escapes across the 64-byte block boundary, at every alignment.
        for pad in 0..140 {
            for tail in [&b"\\\"x\""[..], b"\\\\\"", b"\\\\\\\"\""] {
                let mut w = vec![b'y'; pad];
                w.extend_from_slice(tail);
                assert_eq!(
                    string_end(&w, 0, &mut |_| {}),
                    naive_string_end(&w, 0),
                    "{pad} {tail:?}"
                );
                let want = naive_string_end(&w, 0).map(|e| e.0);
                assert_eq!(skip_string(&w, 0, &mut |_| {}), want, "{pad} {tail:?}");
            }
        }
    }
}
