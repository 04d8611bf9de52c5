//! The x86_64 kernels: AVX2 (two 32-byte vectors per block) and AVX-512 BW (one 64-byte
//! vector, compares straight into mask registers). Both use PCLMULQDQ for the prefix XOR.
//!
//! Every function here is `#[inline(always)]` and only ever inlined into a function compiled
//! with the level's target features (see `dispatch!`), which is only called after
//! `Level::is_supported` detected them.

use core::arch::x86_64::*;

use super::{Kernel, Raw};

/// The AVX2 level.
pub(crate) struct Avx2;

/// The AVX-512 level.
pub(crate) struct Avx512;

/// Prefix XOR by carry-less multiplication with all ones.
///
/// # Safety
///
/// The CPU supports SSE2 and PCLMULQDQ.
#[inline(always)]
unsafe fn clmul_prefix_xor(x: u64) -> u64 {
    // SAFETY: the caller guarantees PCLMULQDQ (and SSE2, baseline on x86_64); no memory is
    // accessed.
    unsafe {
        let a = _mm_set_epi64x(0, x as i64);
        let ones = _mm_set1_epi8(-1);
        _mm_cvtsi128_si64(_mm_clmulepi64_si128::<0>(a, ones)) as u64
    }
}

/// The nibble tables of [`Kernel::escape_letters`]: a byte is an escape letter when the
/// entry of its high nibble and the entry of its low nibble share a bit. One bit per high
/// nibble that holds letters: 2 (`"` `/`), 5 (`\\`), 6 (`b` `f` `n`), 7 (`r` `t`).
const ESCAPE_HI: [i8; 16] = [0, 0, 1, 0, 0, 2, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0];
/// The low nibbles: 2 (`"` `b` `r`), 4 (`t`), 6 (`f`), 0xc (`\\`), 0xe (`n`), 0xf (`/`).
const ESCAPE_LO: [i8; 16] = [0, 0, 1 | 4 | 8, 0, 8, 0, 4, 0, 0, 0, 0, 0, 2, 0, 4, 1];

/// [`Kernel::prefetch`] on x86_64 (SSE, baseline).
#[inline(always)]
fn prefetch(p: *const u8) {
    // SAFETY: a prefetch is a hint that reads no memory and never faults, whatever the
    // address; SSE is baseline on x86_64.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
}

// The AVX2 kernels' repeated steps, as macros, not closures or functions: a closure is not
// compiled with the caller's target features, so the intrinsics in it would not be inlined
// (each would be a call); they expand inside the kernels, which run only where AVX2 was
// detected.

/// The two 32-byte halves of the 64-byte block `$block` (two unaligned loads, at offsets 0
/// and 32).
macro_rules! halves {
    ($block:expr) => {{
        let p = $block.as_ptr();
        (
            _mm256_loadu_si256(p.cast()),
            _mm256_loadu_si256(p.add(32).cast()),
        )
    }};
}

/// The 64-bit mask of the byte masks `$l` and `$h` of the two halves (bit `i`: byte `i`).
macro_rules! bits {
    ($l:expr, $h:expr) => {
        (_mm256_movemask_epi8($l) as u32 as u64) | ((_mm256_movemask_epi8($h) as u32 as u64) << 32)
    };
}

/// The mask of the bytes equal to `$c` (a splatted vector) in the halves `$lo`, `$hi`.
macro_rules! eq_bits {
    ($lo:expr, $hi:expr, $c:expr) => {
        bits!(_mm256_cmpeq_epi8($lo, $c), _mm256_cmpeq_epi8($hi, $c))
    };
}

impl Kernel for Avx2 {
    #[inline(always)]
    unsafe fn lfs(block: &[u8; 64]) -> u64 {
        // SAFETY: the caller guarantees AVX2; `halves!` reads the 64 bytes of `block`.
        unsafe {
            let (lo, hi) = halves!(block);
            eq_bits!(lo, hi, _mm256_set1_epi8(b'\n' as i8))
        }
    }

    #[inline(always)]
    unsafe fn strings(block: &[u8; 64]) -> (u64, u64) {
        // SAFETY: the caller guarantees AVX2; `halves!` reads the 64 bytes of `block`.
        unsafe {
            let (lo, hi) = halves!(block);
            let (q, b) = (_mm256_set1_epi8(b'"' as i8), _mm256_set1_epi8(b'\\' as i8));
            (eq_bits!(lo, hi, q), eq_bits!(lo, hi, b))
        }
    }

    #[inline(always)]
    unsafe fn brackets(block: &[u8; 64]) -> (u64, u64, u64) {
        // SAFETY: the caller guarantees AVX2; `halves!` reads the 64 bytes of `block`.
        unsafe {
            let (lo, hi) = halves!(block);
            let (q, b) = (_mm256_set1_epi8(b'"' as i8), _mm256_set1_epi8(b'\\' as i8));
            let (fold, open, close) = (
                _mm256_set1_epi8(0x20),
                _mm256_set1_epi8(b'{' as i8),
                _mm256_set1_epi8(b'}' as i8),
            );
            // Setting bit 0x20 maps `[` to `{` and `]` to `}`, and no other byte to either.
            macro_rules! brackets {
                ($v:expr) => {{
                    let folded = _mm256_or_si256($v, fold);
                    _mm256_or_si256(
                        _mm256_cmpeq_epi8(folded, open),
                        _mm256_cmpeq_epi8(folded, close),
                    )
                }};
            }
            (
                eq_bits!(lo, hi, q),
                eq_bits!(lo, hi, b),
                bits!(brackets!(lo), brackets!(hi)),
            )
        }
    }

    #[inline(always)]
    unsafe fn string_bytes(block: &[u8; 64]) -> (u64, u64, u64, u64) {
        // SAFETY: the caller guarantees AVX2; `halves!` reads the 64 bytes of `block`.
        unsafe {
            let (lo, hi) = halves!(block);
            let (q, b, c) = (
                _mm256_set1_epi8(b'"' as i8),
                _mm256_set1_epi8(b'\\' as i8),
                _mm256_set1_epi8(0x1f),
            );
            // Bytes below 0x20: those the unsigned minimum with 0x1f leaves unchanged.
            macro_rules! ctrl {
                ($v:expr) => {
                    _mm256_cmpeq_epi8(_mm256_min_epu8($v, c), $v)
                };
            }
            (
                eq_bits!(lo, hi, q),
                eq_bits!(lo, hi, b),
                bits!(ctrl!(lo), ctrl!(hi)),
                bits!(lo, hi),
            )
        }
    }

    #[inline(always)]
    unsafe fn raw(block: &[u8; 64]) -> Raw {
        // SAFETY: the caller guarantees AVX2; the two loads read 32 bytes each at offsets 0
        // and 32 of the 64-byte `block` (unaligned loads are allowed).
        unsafe {
            let p = block.as_ptr();
            let halves = [
                _mm256_loadu_si256(p.cast()),
                _mm256_loadu_si256(p.add(32).cast()),
            ];
            let mut r = Raw::default();
            for (k, v) in halves.into_iter().enumerate() {
                let shift = 32 * k;
                macro_rules! eq {
                    ($x:expr, $b:expr) => {
                        _mm256_cmpeq_epi8($x, _mm256_set1_epi8($b as i8))
                    };
                }
                macro_rules! bits {
                    ($x:expr) => {
                        (_mm256_movemask_epi8($x) as u32 as u64) << shift
                    };
                }
                // Setting bit 0x20 maps `[` to `{` and `]` to `}`, and no other byte to either.
                let folded = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
                let lf = eq!(v, b'\n');
                r.quote |= bits!(eq!(v, b'"'));
                r.backslash |= bits!(eq!(v, b'\\'));
                r.open |= bits!(eq!(folded, b'{'));
                r.close |= bits!(eq!(folded, b'}'));
                r.brace |= bits!(_mm256_or_si256(eq!(v, b'{'), eq!(v, b'}')));
                let colon = eq!(v, b':');
                r.sep |= bits!(_mm256_or_si256(colon, eq!(v, b',')));
                r.colon |= bits!(colon);
                let sp_tab = _mm256_or_si256(eq!(v, b' '), eq!(v, b'\t'));
                r.ws |= bits!(_mm256_or_si256(sp_tab, _mm256_or_si256(eq!(v, b'\r'), lf)));
                let low = _mm256_min_epu8(v, _mm256_set1_epi8(0x1f));
                r.ctrl |= bits!(_mm256_cmpeq_epi8(low, v));
                r.lf |= bits!(lf);
                r.high |= bits!(v);
            }
            r
        }
    }

    #[inline(always)]
    unsafe fn escape_letters(block: &[u8; 64]) -> u64 {
        // SAFETY: the caller guarantees AVX2; the loads read 32 bytes each at offsets 0 and 32
        // of the 64-byte `block`, and 16 bytes of each 16-entry table.
        unsafe {
            let p = block.as_ptr();
            let hi_t = _mm256_broadcastsi128_si256(_mm_loadu_si128(ESCAPE_HI.as_ptr().cast()));
            let lo_t = _mm256_broadcastsi128_si256(_mm_loadu_si128(ESCAPE_LO.as_ptr().cast()));
            let nib = _mm256_set1_epi8(0x0f);
            // A macro, not a closure (see the macros above `impl Kernel for Avx2`).
            macro_rules! hits {
                ($v:expr) => {{
                    let v = $v;
                    let hi =
                        _mm256_shuffle_epi8(hi_t, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
                    let lo = _mm256_shuffle_epi8(lo_t, _mm256_and_si256(v, nib));
                    let none = _mm256_cmpeq_epi8(_mm256_and_si256(hi, lo), _mm256_setzero_si256());
                    !(_mm256_movemask_epi8(none) as u32) as u64
                }};
            }
            hits!(_mm256_loadu_si256(p.cast())) | hits!(_mm256_loadu_si256(p.add(32).cast())) << 32
        }
    }

    const UTF8: bool = true;

    #[inline(always)]
    unsafe fn utf8_errors(prev: &[u8; 64], block: &[u8; 64]) -> bool {
        // SAFETY: the caller guarantees AVX2.
        unsafe { super::utf8::errors_avx2(prev, block) }
    }

    #[inline(always)]
    unsafe fn prefetch(p: *const u8) {
        prefetch(p)
    }

    #[inline(always)]
    unsafe fn prefix_xor(x: u64) -> u64 {
        // SAFETY: the AVX2 level requires PCLMULQDQ (`Level::is_supported`).
        unsafe { clmul_prefix_xor(x) }
    }
}

impl Kernel for Avx512 {
    #[inline(always)]
    unsafe fn lfs(block: &[u8; 64]) -> u64 {
        // SAFETY: the caller guarantees AVX-512 F and BW; the load reads the 64 bytes of
        // `block`.
        unsafe {
            let v = _mm512_loadu_si512(block.as_ptr().cast());
            _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\n' as i8))
        }
    }

    #[inline(always)]
    unsafe fn strings(block: &[u8; 64]) -> (u64, u64) {
        // SAFETY: as in `raw` below.
        unsafe {
            let v = _mm512_loadu_si512(block.as_ptr().cast());
            (
                _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8)),
                _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\\' as i8)),
            )
        }
    }

    #[inline(always)]
    unsafe fn brackets(block: &[u8; 64]) -> (u64, u64, u64) {
        // SAFETY: the caller guarantees AVX-512 F and BW; the load reads the 64 bytes of
        // `block`.
        unsafe {
            let v = _mm512_loadu_si512(block.as_ptr().cast());
            // Setting bit 0x20 maps `[` to `{` and `]` to `}`, and no other byte to either.
            let folded = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
            (
                _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8)),
                _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\\' as i8)),
                _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8(b'{' as i8))
                    | _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8(b'}' as i8)),
            )
        }
    }

    #[inline(always)]
    unsafe fn string_bytes(block: &[u8; 64]) -> (u64, u64, u64, u64) {
        // SAFETY: the caller guarantees AVX-512 F and BW; the load reads the 64 bytes of
        // `block`.
        unsafe {
            let v = _mm512_loadu_si512(block.as_ptr().cast());
            (
                _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8)),
                _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\\' as i8)),
                _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(0x1f)),
                _mm512_movepi8_mask(v),
            )
        }
    }

    #[inline(always)]
    unsafe fn raw(block: &[u8; 64]) -> Raw {
        // SAFETY: the caller guarantees AVX-512 F and BW; the load reads the 64 bytes of
        // `block`, unaligned loads being allowed.
        unsafe {
            let v = _mm512_loadu_si512(block.as_ptr().cast());
            macro_rules! eq {
                ($x:expr, $b:expr) => {
                    _mm512_cmpeq_epi8_mask($x, _mm512_set1_epi8($b as i8))
                };
            }
            // Setting bit 0x20 maps `[` to `{` and `]` to `}`, and no other byte to either.
            let folded = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
            let lf = eq!(v, b'\n');
            let colon = eq!(v, b':');
            Raw {
                quote: eq!(v, b'"'),
                backslash: eq!(v, b'\\'),
                open: eq!(folded, b'{'),
                close: eq!(folded, b'}'),
                brace: eq!(v, b'{') | eq!(v, b'}'),
                sep: colon | eq!(v, b','),
                colon,
                ws: eq!(v, b' ') | eq!(v, b'\t') | eq!(v, b'\r') | lf,
                ctrl: _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(0x1f)),
                lf,
                high: _mm512_movepi8_mask(v),
            }
        }
    }

    #[inline(always)]
    unsafe fn escape_letters(block: &[u8; 64]) -> u64 {
        // SAFETY: the caller guarantees AVX-512 F and BW; the loads read the 64 bytes of
        // `block` and 16 bytes of each 16-entry table.
        unsafe {
            let v = _mm512_loadu_si512(block.as_ptr().cast());
            let hi_t = _mm512_broadcast_i32x4(_mm_loadu_si128(ESCAPE_HI.as_ptr().cast()));
            let lo_t = _mm512_broadcast_i32x4(_mm_loadu_si128(ESCAPE_LO.as_ptr().cast()));
            let nib = _mm512_set1_epi8(0x0f);
            let hi = _mm512_shuffle_epi8(hi_t, _mm512_and_si512(_mm512_srli_epi16(v, 4), nib));
            let lo = _mm512_shuffle_epi8(lo_t, _mm512_and_si512(v, nib));
            _mm512_test_epi8_mask(hi, lo)
        }
    }

    const UTF8: bool = true;

    #[inline(always)]
    unsafe fn utf8_errors(prev: &[u8; 64], block: &[u8; 64]) -> bool {
        // SAFETY: the caller guarantees AVX-512 F and BW.
        unsafe { super::utf8::errors_avx512(prev, block) }
    }

    #[inline(always)]
    unsafe fn prefetch(p: *const u8) {
        prefetch(p)
    }

    #[inline(always)]
    unsafe fn prefix_xor(x: u64) -> u64 {
        // SAFETY: the AVX-512 level requires PCLMULQDQ (`Level::is_supported`).
        unsafe { clmul_prefix_xor(x) }
    }
}
