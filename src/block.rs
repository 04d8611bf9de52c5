//! The probe's scans through strings and skipped containers.
//!
//! Most keys and short values close within 16 bytes: [`string_end`] tests that case inline
//! with [`wide`]'s safe 16-byte vectors. Everything longer goes to the resumable scans of
//! [`crate::simd`] (64-byte blocks at the widest level this CPU has), fed in pieces of
//! [`RELEASE_EVERY`] bytes so that a long scan can tell the scanner which pages it has passed.

use wide::u8x16;

use crate::simd::{self, Container, Found, Str};

/// Long scans report their progress every this many bytes (see [`Release`]).
pub(crate) const RELEASE_EVERY: usize = 1 << 20;

/// Told, every [`RELEASE_EVERY`] bytes of a long scan, the offset in the scanned slice before
/// which the scan will not look again: the scanner releases those mapped pages, so reading a
/// 16 MiB line does not keep 16 MiB resident.
pub(crate) type Release<'r> = &'r mut dyn FnMut(usize);

#[inline(always)]
fn block(w: &[u8], at: usize) -> Option<u8x16> {
    let chunk: &[u8; 16] = w.get(at..at + 16)?.try_into().ok()?;
    Some(u8x16::new(*chunk))
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

/// [`string_end`] past the short case.
#[inline(never)]
fn string_end_blocks(w: &[u8], from: usize, release: Release<'_>) -> Option<(usize, bool)> {
    let mut st = Str::default();
    in_pieces(w, from, release, |w, j| {
        Ok::<_, ()>(simd::string_end(w, j, &mut st))
    })
    .ok()?
    .map(|end| (end, st.had_escape))
}

/// Finds the closing quote of the string whose body starts at `w[from]`, like
/// [`string_end`] but without saying whether the body holds an escape: for strings that are
/// skipped.
#[inline(always)]
pub(crate) fn skip_string(w: &[u8], from: usize, release: Release<'_>) -> Option<usize> {
    short_string(w, from).or_else(|| string_end_blocks(w, from, release).map(|e| e.0))
}

/// Finds the bracket that closes the object or array opening at `w[from]`, checking that the
/// brackets inside pair up (see [`simd::skip_container`]). `Ok(None)` when `w` ends first;
/// `Err` with the index of a bracket that does not pair and what is wrong with it.
pub(crate) fn skip_container(
    w: &[u8],
    from: usize,
    st: &mut Container,
    release: Release<'_>,
) -> Result<Option<usize>, (usize, &'static str)> {
    st.reset();
    in_pieces(w, from, release, |w, j| simd::skip_container(w, j, st))
}

/// Runs a resumable scan over `w[from..]` in pieces of [`RELEASE_EVERY`] bytes, telling
/// `release` each piece done.
#[inline(always)]
fn in_pieces<E>(
    w: &[u8],
    from: usize,
    release: Release<'_>,
    mut scan: impl FnMut(&[u8], usize) -> Result<Found, E>,
) -> Result<Option<usize>, E> {
    let mut j = from;
    loop {
        let end = w.len().min(j.saturating_add(RELEASE_EVERY));
        if j >= end {
            return Ok(None);
        }
        match scan(&w[..end], j)? {
            Found::At(i) => return Ok(Some(i)),
            Found::More if end == w.len() => return Ok(None),
            Found::More => {
                release(end);
                j = end;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
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
        let mut numbers = b"[".to_vec();
        numbers.extend(b"1,".repeat(n / 2));
        numbers.push(b']');
        let end = numbers.len() - 1;
        check(&numbers, end, &|w, r| {
            skip_container(w, 0, &mut Container::default(), r).unwrap()
        });
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
