//! Every level against the scalar reference, at every alignment and length.

use proptest::prelude::*;

use super::scan::{
    Container, Found, Str, skip_container_at, skip_container_lf_at, string_end_at, string_end_lf_at,
};
use super::*;

/// The levels this machine can run.
fn levels() -> Vec<Level> {
    Level::ALL
        .into_iter()
        .filter(|l| l.is_supported())
        .collect()
}

/// [`Kernel::raw`] at `level`.
fn raw_at(level: Level, block: &[u8; 64]) -> Raw {
    assert!(level.is_supported());
    // SAFETY: each arm runs only on a supported level (asserted above).
    unsafe {
        match level {
            Level::Scalar => scalar::Scalar::raw(block),
            Level::Portable => portable::Portable::raw(block),
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => x86::Avx2::raw(block),
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => x86::Avx512::raw(block),
            #[allow(unreachable_patterns)]
            _ => unreachable!(),
        }
    }
}

/// What a level's [`Kernel::strings`], [`Kernel::prefix_xor`], [`Kernel::escape_letters`],
/// [`Kernel::string_bytes`], [`Kernel::brackets`] and [`Kernel::lfs`] give.
type Strings = (
    (u64, u64),
    u64,
    u64,
    (u64, u64, u64, u64),
    (u64, u64, u64),
    u64,
);

/// [`Strings`] at `level`.
fn strings_at(level: Level, block: &[u8; 64]) -> Strings {
    let x = u64::from_le_bytes(block[..8].try_into().unwrap());
    fn at<K: Kernel>(block: &[u8; 64], x: u64) -> Strings {
        // SAFETY: only called for a supported level (asserted in `strings_at`).
        unsafe {
            (
                K::strings(block),
                K::prefix_xor(x),
                K::escape_letters(block),
                K::string_bytes(block),
                K::brackets(block),
                K::lfs(block),
            )
        }
    }
    assert!(level.is_supported());
    match level {
        Level::Scalar => at::<scalar::Scalar>(block, x),
        Level::Portable => at::<portable::Portable>(block, x),
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => at::<x86::Avx2>(block, x),
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => at::<x86::Avx512>(block, x),
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    }
}

/// Bytes that matter to JSON, often, and any byte, sometimes.
fn json_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => prop::sample::select(&b"\"\\{}[]:, \t\r\nax0"[..]),
        1 => any::<u8>(),
    ]
}

#[test]
fn every_byte_at_every_position() {
    for level in levels() {
        for b in 0..=255u8 {
            for pos in [0, 1, 15, 16, 31, 32, 33, 47, 63] {
                let mut block = [b'a'; 64];
                block[pos] = b;
                assert_eq!(
                    raw_at(level, &block),
                    scalar::raw(&block),
                    "{level:?} byte {b:#x} at {pos}"
                );
                assert_eq!(strings_at(level, &block), strings_at(Level::Scalar, &block));
            }
        }
    }
}

#[test]
fn prefix_xor_matches_a_running_parity() {
    for x in [
        0u64,
        1,
        0x8000_0000_0000_0000,
        0xdead_beef_1234_5678,
        u64::MAX,
    ] {
        let mut want = 0u64;
        let mut parity = 0u64;
        for i in 0..64 {
            parity ^= x >> i & 1;
            want |= parity << i;
        }
        assert_eq!(prefix_xor(x), want);
        for level in levels() {
            let mut block = [0u8; 64];
            block[..8].copy_from_slice(&x.to_le_bytes());
            assert_eq!(strings_at(level, &block).1, want, "{level:?}");
        }
    }
}

/// The reference: one byte at a time, the escape and string states of JSON text.
/// Returns per byte (escaped, real quote, in string as `Index::in_string` defines it).
fn sequential(w: &[u8]) -> Vec<(bool, bool, bool)> {
    let mut out = Vec::with_capacity(w.len());
    let (mut escape, mut inside) = (false, false);
    for &b in w {
        let esc = escape;
        escape = !esc && b == b'\\';
        let quote = b == b'"' && !esc;
        if quote {
            inside = !inside;
        }
        // An opening quote is inside its string, a closing one is not.
        out.push((esc, quote, inside));
    }
    out
}

/// Indexes `w` from `from` in blocks at `level`, as the scans do.
fn indexed(level: Level, w: &[u8], from: usize) -> Vec<(bool, bool, bool)> {
    let mut out = Vec::new();
    let mut carry = Carry::default();
    let mut pad = [0u8; 64];
    let mut j = from;
    while j < w.len() {
        let n = (w.len() - j).min(64);
        let raw = raw_at(level, block_at(w, j, &mut pad));
        // SAFETY: `raw_at` asserted the level is supported; `from_raw` runs its prefix XOR.
        let ix = unsafe {
            match level {
                #[cfg(target_arch = "x86_64")]
                Level::Avx2 => Index::from_raw::<x86::Avx2>(raw, &mut carry),
                #[cfg(target_arch = "x86_64")]
                Level::Avx512 => Index::from_raw::<x86::Avx512>(raw, &mut carry),
                _ => Index::from_raw::<scalar::Scalar>(raw, &mut carry),
            }
        };
        for i in 0..n {
            out.push((
                ix.escaped >> i & 1 == 1,
                ix.quote >> i & 1 == 1,
                ix.in_string >> i & 1 == 1,
            ));
        }
        j += 64;
    }
    out
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

/// The reference container skip: one byte at a time. As in the indexer, a backslash escapes
/// a quote or backslash after it wherever it is (outside strings it is invalid JSON anyway).
fn naive_container(w: &[u8], from: usize) -> Result<Option<usize>, usize> {
    let mut stack = Vec::new();
    let mut j = from;
    while j < w.len() {
        match w[j] {
            b'\\' if matches!(w.get(j + 1), Some(b'"' | b'\\')) => j += 1,
            b'"' => match naive_string_end(w, j + 1) {
                Some((e, _)) => j = e,
                None => return Ok(None),
            },
            b @ (b'{' | b'[') => stack.push(b),
            b @ (b'}' | b']') => {
                let open = stack.pop().ok_or(j)?;
                if (open == b'{') != (b == b'}') {
                    return Err(j);
                }
                if stack.is_empty() {
                    return Ok(Some(j));
                }
            }
            _ => {}
        }
        j += 1;
    }
    Ok(None)
}

/// The first LF at or after `from`.
fn naive_lf(w: &[u8], from: usize) -> Option<usize> {
    let at = w.get(from..)?.iter().position(|&b| b == b'\n')?;
    Some(from + at)
}

/// The reference for [`string_end_lf_at`]: the closing quote or the first LF, whichever
/// comes first.
fn naive_string_end_lf(w: &[u8], from: usize) -> Option<usize> {
    match (naive_string_end(w, from).map(|e| e.0), naive_lf(w, from)) {
        (Some(q), Some(lf)) => Some(q.min(lf)),
        (q, lf) => q.or(lf),
    }
}

/// The reference for [`skip_container_lf_at`]: the container scan of the bytes before the
/// first LF, and the LF when that scan finds no end.
fn naive_container_lf(w: &[u8], from: usize) -> Result<Option<usize>, usize> {
    match naive_lf(w, from) {
        None => naive_container(w, from),
        Some(lf) => match naive_container(&w[..lf], from) {
            Ok(None) => Ok(Some(lf)),
            r => r,
        },
    }
}

/// [`skip_container_lf_at`] from a fresh state, as the references give it.
fn container_lf(level: Level, w: &[u8], from: usize) -> Result<Option<usize>, usize> {
    skip_container_lf_at(level, w, from, &mut Container::default())
        .map(found)
        .map_err(|e| e.0)
}

fn found(f: Found) -> Option<usize> {
    match f {
        Found::At(i) => Some(i),
        Found::More => None,
    }
}

/// Runs a resumable scan over `w[..]` fed in pieces ending at `cuts`.
fn in_pieces<S>(
    w: &[u8],
    from: usize,
    cuts: &[usize],
    st: &mut S,
    mut scan: impl FnMut(&[u8], usize, &mut S) -> Result<Found, usize>,
) -> Result<Option<usize>, usize> {
    let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(w.len())).collect();
    ends.push(w.len());
    ends.sort_unstable();
    let mut j = from;
    for end in ends {
        if end <= j {
            continue;
        }
        match scan(&w[..end], j, st)? {
            Found::At(i) => return Ok(Some(i)),
            Found::More => j = end,
        }
    }
    Ok(None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn raw_matches_scalar(block in prop::collection::vec(json_byte(), 64)) {
        let block: [u8; 64] = block.try_into().unwrap();
        for level in levels() {
            prop_assert_eq!(raw_at(level, &block), scalar::raw(&block), "{:?}", level);
            prop_assert_eq!(strings_at(level, &block), strings_at(Level::Scalar, &block), "{:?}", level);
        }
    }

    #[test]
    fn index_matches_sequential(w in prop::collection::vec(json_byte(), 0..300)) {
        for from in 0..w.len().min(70) {
            let want = sequential(&w[from..]);
            for level in levels() {
                prop_assert_eq!(&indexed(level, &w, from), &want, "{:?} from {}", level, from);
            }
        }
    }

    #[test]
    fn string_end_matches_naive(
        w in prop::collection::vec(
            prop_oneof![6 => Just(b'\\'), 2 => Just(b'"'), 6 => Just(b'a'), 1 => any::<u8>()],
            0..300,
        ),
        cuts in prop::collection::vec(0usize..300, 0..4),
    ) {
        for from in 0..w.len().min(70) {
            let want = naive_string_end(&w, from);
            for level in levels() {
                let mut st = Str::default();
                let got = in_pieces(&w, from, &cuts, &mut st, |w, f, st| {
                    Ok(string_end_at(level, w, f, st))
                });
                prop_assert_eq!(got, Ok(want.map(|e| e.0)), "{:?} from {}", level, from);
                if let Some((_, esc)) = want {
                    prop_assert_eq!(st.had_escape, esc, "{:?} from {}", level, from);
                }
            }
        }
    }

    #[test]
    fn skip_container_matches_naive(
        body in prop::collection::vec(json_byte(), 0..300),
        open in prop::sample::select(&b"{["[..]),
        cuts in prop::collection::vec(0usize..300, 0..4),
        lead in 0usize..64,
    ) {
        let mut w = vec![b' '; lead];
        w.push(open);
        w.extend_from_slice(&body);
        let want = naive_container(&w, lead);
        for level in levels() {
            let mut st = Container::default();
            let got = in_pieces(&w, lead, &cuts, &mut st, |w, f, st| {
                skip_container_at(level, w, f, st).map_err(|e| e.0)
            });
            prop_assert_eq!(got, want, "{:?}", level);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The forms that stop at an LF, at every level, on bytes where LFs come anywhere (inside
    /// strings, escaped, between brackets).
    #[test]
    fn lf_scans_match_naive(
        w in prop::collection::vec(
            prop_oneof![
                6 => Just(b'\\'), 2 => Just(b'"'), 6 => Just(b'a'), 1 => Just(b'\n'),
                2 => prop::sample::select(&b"{}[]"[..]), 1 => any::<u8>(),
            ],
            0..300,
        ),
    ) {
        for from in 0..w.len().min(70) {
            let want = naive_string_end_lf(&w, from);
            let want_c = matches!(w[from], b'{' | b'[').then(|| naive_container_lf(&w, from));
            for level in levels() {
                let got = found(string_end_lf_at(level, &w, from, &mut Str::default()));
                prop_assert_eq!(got, want, "{:?} string from {}", level, from);
                if let Some(want_c) = want_c {
                    let got = container_lf(level, &w, from);
                    prop_assert_eq!(got, want_c, "{:?} container from {}", level, from);
                }
            }
        }
    }

    /// Containers with long strings, with an LF put anywhere (or nowhere).
    #[test]
    fn skip_container_lf_over_long_strings(
        body in long_string_container(),
        lead in 0usize..64,
        lf in prop::option::of(0usize..1200),
    ) {
        let mut w = vec![b' '; lead];
        w.extend_from_slice(&body);
        if let Some(lf) = lf {
            let at = lead + 1 + lf % w.len().saturating_sub(lead).max(1);
            w.insert(at.min(w.len()), b'\n');
        }
        let want = naive_container_lf(&w, lead);
        for level in levels() {
            let got = container_lf(level, &w, lead);
            prop_assert_eq!(got, want, "{:?}", level);
        }
    }
}

/// The LF forms with the LF (or the quote, or an escaped LF) at every alignment around the
/// block boundaries.
#[test]
fn lf_scans_at_every_alignment_and_length() {
    for level in levels() {
        for pad in 0..140 {
            for tail in [&b"\n\""[..], b"\\\n\"", b"\"\n", b"\\\"x\n", b"]\n]"] {
                let mut w = b"[\"".to_vec();
                w.extend(std::iter::repeat_n(b'y', pad));
                w.extend_from_slice(tail);
                for len in 2..=w.len() {
                    let w = &w[..len];
                    let got = found(string_end_lf_at(level, w, 2, &mut Str::default()));
                    assert_eq!(
                        got,
                        naive_string_end_lf(w, 2),
                        "{level:?} {pad} {len} {tail:?}"
                    );
                    let got = container_lf(level, w, 0);
                    assert_eq!(
                        got,
                        naive_container_lf(w, 0),
                        "{level:?} {pad} {len} {tail:?}"
                    );
                }
            }
        }
    }
}

/// Containers whose strings run over several blocks (the container scan hands them to the
/// string scan), with escapes and brackets inside them, and the string's end, an escaped
/// quote or a run of backslashes at every offset around the block boundaries.
fn long_string_container() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        (0usize..200).prop_map(|n| vec![b'x'; n]),
        Just(b"\\\"".to_vec()),
        Just(b"\\\\".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"]}[{".to_vec()),
        Just(b"\"".to_vec()),
    ];
    let string = prop::collection::vec(piece, 0..6).prop_map(|ps| {
        let mut s = b"\"".to_vec();
        ps.into_iter().for_each(|p| s.extend(p));
        s.push(b'"');
        s
    });
    let member = prop_oneof![
        string.clone(),
        Just(b",".to_vec()),
        Just(b"[1,".to_vec()),
        Just(b"]".to_vec()),
        Just(b"{\"k\":".to_vec()),
        Just(b"}".to_vec()),
    ];
    prop::collection::vec(member, 0..12).prop_map(|ms| {
        let mut w = b"[".to_vec();
        ms.into_iter().for_each(|m| w.extend(m));
        w
    })
}

/// A string inside a container running over block boundaries with an escape at every offset
/// around them: the string scan takes over the container's state (an odd backslash run
/// carried into the next block) and hands it back after the closing quote.
#[test]
fn skip_container_strings_with_escapes_at_every_offset() {
    for level in levels() {
        for k in 0..200 {
            for esc in [&b"\\\""[..], b"\\\\", b"\\\\\\\"", b"\\]"] {
                let mut w = b"[\"".to_vec();
                w.extend(std::iter::repeat_n(b'x', k));
                w.extend_from_slice(esc);
                w.extend_from_slice(b"yy\"]\"z\"]");
                let want = naive_container(&w, 0);
                let got = match skip_container_at(level, &w, 0, &mut Container::default()) {
                    Ok(Found::At(i)) => Ok(Some(i)),
                    Ok(Found::More) => Ok(None),
                    Err(e) => Err(e.0),
                };
                assert_eq!(got, want, "{level:?} k {k} {esc:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn skip_container_over_long_strings(
        body in long_string_container(),
        lead in 0usize..64,
        cuts in prop::collection::vec(0usize..1200, 0..4),
        end in prop::option::of(0usize..1200),
    ) {
        let mut w = vec![b' '; lead];
        w.extend_from_slice(&body);
        if let Some(end) = end {
            w.truncate(end.max(lead + 1));
        }
        let want = naive_container(&w, lead);
        for level in levels() {
            let whole = match skip_container_at(level, &w, lead, &mut Container::default()) {
                Ok(Found::At(i)) => Ok(Some(i)),
                Ok(Found::More) => Ok(None),
                Err(e) => Err(e.0),
            };
            prop_assert_eq!(whole, want, "{:?}", level);
            let mut st = Container::default();
            let got = in_pieces(&w, lead, &cuts, &mut st, |w, f, st| {
                skip_container_at(level, w, f, st).map_err(|e| e.0)
            });
            prop_assert_eq!(got, want, "{:?} in pieces", level);
        }
    }
}

#[test]
fn string_end_at_every_alignment_and_length() {
    for level in levels() {
        for pad in 0..140 {
            for tail in [&b"\\\"x\""[..], b"\\\\\"", b"\\\\\\\"\"", b"\"", b"\\"] {
                let mut w = vec![b'y'; pad];
                w.extend_from_slice(tail);
                for len in 0..=w.len() {
                    let want = naive_string_end(&w[..len], 0).map(|e| e.0);
                    let got = string_end_at(level, &w[..len], 0, &mut Str::default());
                    let got = match got {
                        Found::At(i) => Some(i),
                        Found::More => None,
                    };
                    assert_eq!(got, want, "{level:?} pad {pad} len {len} {tail:?}");
                }
            }
        }
    }
}

#[test]
fn deep_containers_keep_their_kinds() {
    for level in levels() {
        let n = 5000;
        let mut w = "[{".repeat(n).into_bytes();
        w.extend("}]".repeat(n).bytes());
        let got = skip_container_at(level, &w, 0, &mut Container::default());
        assert_eq!(got, Ok(Found::At(w.len() - 1)), "{level:?}");
        // A mismatch within the checked depth is found.
        let mut bad = w.clone();
        let last_brace = w.len() - 2;
        bad[last_brace] = b']';
        assert!(
            skip_container_at(level, &bad, 0, &mut Container::default()).is_err(),
            "{level:?}"
        );
    }
}

/// Nesting 150 levels deep (past a word of the kinds' bit array), down, up and back, with each
/// closing bracket in turn of the wrong kind: every level finds the mismatch the reference
/// finds.
#[test]
fn kinds_deep_down_and_back() {
    let mut w = Vec::new();
    // Up to 150 levels, down to 40, up to 130, all closed: kinds alternate irregularly.
    let kind = |d: usize| if (d * 7 + d / 3) % 5 < 2 { b'{' } else { b'[' };
    let mut stack = Vec::new();
    for (from, to) in [(0usize, 150usize), (150, 40), (40, 130), (130, 0)] {
        if to > from {
            for d in from..to {
                w.push(kind(d));
                stack.push(kind(d));
            }
        } else {
            for _ in to..from {
                let open = stack.pop().unwrap();
                w.push(if open == b'{' { b'}' } else { b']' });
            }
        }
    }
    for level in levels() {
        let got = skip_container_at(level, &w, 0, &mut Container::default()).map_err(|e| e.0);
        assert_eq!(got, Ok(Found::At(w.len() - 1)), "{level:?}");
        for at in (0..w.len()).filter(|&i| matches!(w[i], b'}' | b']')) {
            let mut bad = w.clone();
            bad[at] = if w[at] == b'}' { b']' } else { b'}' };
            let got = skip_container_at(level, &bad, 0, &mut Container::default())
                .map(found)
                .map_err(|e| e.0);
            assert_eq!(got, naive_container(&bad, 0), "{level:?} at {at}");
        }
    }
}
