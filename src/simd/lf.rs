//! Finding the next LF: what every scan loop does first with each line.
//!
//! At the AVX-512 level, two 64-byte compares into mask registers a step (128 bytes) and a
//! masked load for the last bytes; below it, memchr, whose own run-time dispatch picks AVX2 or
//! SSE2 (it has no AVX-512 path). memchr is the reference every level is tested against.
//! Measured against memchr's AVX2 (one thread, 256 MiB inputs, `perf stat` task-clock over 11
//! runs): 6-10% less CPU time on the agent transcript, whose giant lines are mostly LF search,
//! and 3% less on the small-line logs. Four compares a step (256 bytes) did as well on the
//! transcript but 1-4% worse than memchr on the logs' 1 KiB lines.

use super::Level;

/// The index of the first LF in `w`, at the level in use.
#[inline]
pub(crate) fn find_lf(w: &[u8]) -> Option<usize> {
    find_lf_at(super::level(), w)
}

/// [`find_lf`] at `level`, which must be supported (else memchr runs).
#[inline]
pub(crate) fn find_lf_at(level: Level, w: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if level == Level::Avx512 && Level::Avx512.is_supported_cached() {
        // SAFETY: the CPU has AVX-512 F and BW (detected at run time by
        // `Level::is_supported`), the only features `find_lf_avx512` enables.
        return unsafe { find_lf_avx512(w) };
    }
    let _ = level;
    memchr::memchr(b'\n', w)
}

/// [`find_lf`] with AVX-512 BW.
///
/// # Safety
///
/// The CPU supports AVX-512 F and BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn find_lf_avx512(w: &[u8]) -> Option<usize> {
    use core::arch::x86_64::*;

    let (ptr, len) = (w.as_ptr(), w.len());
    let lf = _mm512_set1_epi8(b'\n' as i8);
    let mut i = 0;
    while i + 128 <= len {
        // SAFETY: `i + 128 <= len`: the two unaligned 64-byte loads read `w[i..i + 128]`.
        let (a, b) = unsafe {
            let p = ptr.add(i);
            (
                _mm512_cmpeq_epi8_mask(_mm512_loadu_si512(p.cast()), lf),
                _mm512_cmpeq_epi8_mask(_mm512_loadu_si512(p.add(64).cast()), lf),
            )
        };
        if a | b != 0 {
            let k = if a != 0 {
                a.trailing_zeros()
            } else {
                64 + b.trailing_zeros()
            };
            return Some(i + k as usize);
        }
        i += 128;
    }
    while i < len {
        let n = (len - i).min(64);
        let keep = u64::MAX >> (64 - n);
        // SAFETY: a masked load reads only the bytes its mask selects, `w[i..i + n]` here
        // (`i + n <= len`); the others are neither read nor able to fault (Intel SDM, AVX-512
        // fault suppression), and come back as zeros.
        let m = unsafe {
            let v = _mm512_maskz_loadu_epi8(keep, ptr.add(i).cast());
            _mm512_cmpeq_epi8_mask(v, lf) & keep
        };
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn levels() -> Vec<Level> {
        Level::ALL
            .into_iter()
            .filter(|l| l.is_supported())
            .collect()
    }

    /// Every level finds what memchr finds: every start (alignment) and length up to 700
    /// bytes, with an LF at every position, none, or several.
    #[test]
    fn every_alignment_length_and_position() {
        let mut buf = vec![b'x'; 64 + 700];
        for level in levels() {
            for from in 0..64 {
                for len in 0..700 {
                    let w = &buf[from..from + len];
                    assert_eq!(find_lf_at(level, w), None, "{level:?} {from} {len}");
                }
            }
            for from in [0, 1, 31, 63] {
                for len in [1, 63, 64, 65, 255, 256, 257, 511, 600, 700] {
                    for at in 0..len {
                        buf[from + at] = b'\n';
                        let w = &buf[from..from + len];
                        let want = memchr::memchr(b'\n', w);
                        assert_eq!(find_lf_at(level, w), want, "{level:?} {from} {len} {at}");
                        buf[from + at] = b'x';
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn agrees_with_memchr(
            w in prop::collection::vec(prop_oneof![20 => any::<u8>(), 1 => Just(b'\n')], 0..1200),
            from in 0usize..64,
        ) {
            let w = &w[from.min(w.len())..];
            let want = memchr::memchr(b'\n', w);
            for level in levels() {
                prop_assert_eq!(find_lf_at(level, w), want, "{:?}", level);
            }
        }
    }
}
