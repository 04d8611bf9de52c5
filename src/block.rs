//! The probe's scans through strings and skipped containers, resumable: each is fed the bytes
//! at hand (every call a longer prefix of the same line) and either finds its end or says that
//! it needs more, carrying its state. They release nothing: the scanner, which feeds the probe
//! piece by piece, releases the pages behind each piece.
//!
//! Most keys and short values close within 32 bytes: [`StringScan`] tests that case inline
//! with [`wide`]'s safe 16-byte vectors. Everything longer goes to the resumable scans of
//! [`crate::simd`] (64-byte blocks at the widest level this CPU has).

use wide::u8x16;

use crate::simd::{self, Container, Found, Mismatch, Str};

#[inline(always)]
fn block(w: &[u8], at: usize) -> Option<u8x16> {
    let chunk: &[u8; 16] = w.get(at..at + 16)?.try_into().ok()?;
    Some(u8x16::new(*chunk))
}

/// The end of a string body that closes within the 32 bytes at `w[from..]` (the 16 when
/// fewer follow) before any backslash (with `LF`, and before any LF): most keys and short
/// values. Inlined at every call; the rest is not.
#[inline(always)]
fn short_string<const LF: bool>(w: &[u8], from: usize) -> Option<usize> {
    let marks = |v: u8x16| {
        let q = v.cmp_eq(u8x16::splat(b'"')).move_mask() as u32;
        let mut b = v.cmp_eq(u8x16::splat(b'\\'));
        if LF {
            b |= v.cmp_eq(u8x16::splat(b'\n'));
        }
        (q, b.move_mask() as u32)
    };
    let (mut q, mut b) = marks(block(w, from)?);
    if q == 0 && b == 0 {
        let (q2, b2) = block(w, from + 16).map_or((0, 0), marks);
        (q, b) = (q2 << 16, b2 << 16);
    }
    // The first quote comes before any backslash.
    if q != 0 && (b == 0 || q.trailing_zeros() < b.trailing_zeros()) {
        Some(from + q.trailing_zeros() as usize)
    } else {
        None
    }
}

/// The closing quote of the string whose body starts at `body`, and whether the body holds a
/// backslash, when `w` holds it; for a string read in one call ([`StringScan`] carries the scan
/// over calls). With `LF`, for bytes that may run past the end of the line: `None` too when an
/// LF comes before the closing quote.
#[inline(always)]
pub(crate) fn string_end<const LF: bool>(w: &[u8], body: usize) -> Option<(usize, bool)> {
    match short_string::<LF>(w, body) {
        Some(end) => Some((end, false)),
        None => long_string_end::<LF>(w, body),
    }
}

/// [`string_end`] past the short case.
#[inline(never)]
fn long_string_end<const LF: bool>(w: &[u8], body: usize) -> Option<(usize, bool)> {
    let mut st = Str::default();
    let found = if LF {
        simd::string_end_lf(w, body, &mut st)
    } else {
        simd::string_end(w, body, &mut st)
    };
    match found {
        // With `LF`, the end found may be the LF.
        Found::At(end) if w[end] == b'"' => Some((end, st.had_escape)),
        _ => None,
    }
}

/// The scan for the closing quote of a string: the first quote not escaped by an odd run of
/// backslashes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StringScan {
    /// Where the body starts.
    body: usize,
    /// Where the next call goes on.
    from: usize,
    st: Str,
}

impl StringScan {
    /// A scan of the string whose body starts at `body` (just after its opening quote).
    #[inline(always)]
    pub(crate) fn new(body: usize) -> StringScan {
        StringScan {
            body,
            from: body,
            st: Str::default(),
        }
    }

    /// The closing quote's index in `w` and whether the body holds a backslash; `None` when
    /// `w` ends first: call again with a longer prefix of the same line.
    #[inline(always)]
    pub(crate) fn end(&mut self, w: &[u8]) -> Option<(usize, bool)> {
        if self.from == self.body
            && let Some(end) = short_string::<false>(w, self.body)
        {
            return Some((end, false));
        }
        self.long(w)
    }

    /// [`StringScan::end`] past the short case.
    #[inline(never)]
    fn long(&mut self, w: &[u8]) -> Option<(usize, bool)> {
        match simd::string_end(w, self.from, &mut self.st) {
            Found::At(end) => Some((end, self.st.had_escape)),
            Found::More => {
                self.from = self.from.max(w.len());
                None
            }
        }
    }
}

/// The scan for the bracket that closes an object or array, checking that the brackets inside
/// pair up (see [`simd::skip_container`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct ContainerScan {
    /// Where the next call goes on (the opening bracket on the first call).
    from: usize,
    st: Container,
}

impl ContainerScan {
    /// Starts the scan of the container whose opening bracket is at `at`.
    pub(crate) fn start(&mut self, at: usize) {
        self.from = at;
        self.st.reset();
    }

    /// The closing bracket's index in `w`; `Ok(None)` when `w` ends first (call again with a
    /// longer prefix of the same line); `Err` with the index of a bracket that does not pair
    /// and what is wrong with it.
    pub(crate) fn end(&mut self, w: &[u8]) -> Result<Option<usize>, Mismatch> {
        match simd::skip_container(w, self.from, &mut self.st)? {
            Found::At(end) => Ok(Some(end)),
            Found::More => {
                self.from = self.from.max(w.len());
                Ok(None)
            }
        }
    }

    /// [`ContainerScan::end`] in bytes that may run past the end of the line, in one call:
    /// `Ok(None)` too when an LF comes before the closing bracket (the scan is then not
    /// resumed).
    pub(crate) fn end_lf(&mut self, w: &[u8]) -> Result<Option<usize>, Mismatch> {
        match simd::skip_container_lf(w, self.from, &mut self.st)? {
            Found::At(end) if w[end] != b'\n' => Ok(Some(end)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The scan fed the prefixes of `w` that end at `cuts` (then all of it).
    fn string_end_fed(w: &[u8], from: usize, cuts: &[usize]) -> Option<(usize, bool)> {
        let mut scan = StringScan::new(from);
        let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(w.len())).collect();
        ends.sort_unstable();
        ends.push(w.len());
        ends.into_iter().find_map(|e| scan.end(&w[..e]))
    }

    fn string_end(w: &[u8], from: usize) -> Option<(usize, bool)> {
        StringScan::new(from).end(w)
    }

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
            cuts in proptest::collection::vec(0usize..420, 0..6),
        ) {
            prop_assert_eq!(string_end(&w, from), naive_string_end(&w, from));
            prop_assert_eq!(string_end_fed(&w, from, &cuts), naive_string_end(&w, from));
        }

        #[test]
        fn string_end_on_long_plain_runs(
            runs in proptest::collection::vec((0usize..300, prop_oneof![
                Just(&b"\\"[..]), Just(&b"\\\\"[..]), Just(&b"\\\""[..]), Just(&b"\""[..]),
                Just(&b"\\\\\""[..]),
            ]), 0..6),
            from in 0usize..20,
            cuts in proptest::collection::vec(0usize..1000, 0..6),
        ) {
            let mut w = Vec::new();
            for (n, tail) in runs {
                w.extend(std::iter::repeat_n(b'x', n));
                w.extend_from_slice(tail);
            }
            prop_assert_eq!(string_end(&w, from), naive_string_end(&w, from));
            prop_assert_eq!(string_end_fed(&w, from, &cuts), naive_string_end(&w, from));
        }

        /// A container scan fed in pieces finds what the scan of the whole finds.
        #[test]
        fn container_end_fed_in_pieces(
            body in proptest::collection::vec(
                prop_oneof![
                    Just(b'['), Just(b']'), Just(b'{'), Just(b'}'), Just(b'"'), Just(b'\\'),
                    Just(b'a'), Just(b','),
                ],
                0..300,
            ),
            cuts in proptest::collection::vec(0usize..310, 0..6),
        ) {
            let mut w = b"[".to_vec();
            w.extend(body);
            let mut whole = ContainerScan::default();
            whole.start(0);
            let want = whole.end(&w);
            let mut fed = ContainerScan::default();
            fed.start(0);
            let mut ends: Vec<usize> = cuts.iter().map(|&c| c.clamp(1, w.len())).collect();
            ends.sort_unstable();
            ends.push(w.len());
            let mut got = Ok(None);
            for e in ends {
                got = fed.end(&w[..e]);
                if !matches!(got, Ok(None)) {
                    break;
                }
            }
            prop_assert_eq!(got, want);
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
            assert_eq!(string_end(w, 0), *want, "{:?}", String::from_utf8_lossy(w));
        }
        // Escapes across the 64-byte block boundary, at every alignment, whole and cut there.
        for pad in 0..140 {
            for tail in [&b"\\\"x\""[..], b"\\\\\"", b"\\\\\\\"\""] {
                let mut w = vec![b'y'; pad];
                w.extend_from_slice(tail);
                assert_eq!(string_end(&w, 0), naive_string_end(&w, 0), "{pad} {tail:?}");
                for cut in pad..w.len() {
                    assert_eq!(
                        string_end_fed(&w, 0, &[cut]),
                        naive_string_end(&w, 0),
                        "{pad} {tail:?} cut at {cut}"
                    );
                }
            }
        }
    }
}
