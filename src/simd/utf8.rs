//! UTF-8 checked a 64-byte block at a time, inside the validator's pass (x86_64 levels only;
//! the other levels check the whole line with `simdutf8` after the walk).
//!
//! The algorithm is Keiser and Lemire's ("Validating UTF-8 in less than one instruction per
//! byte", 2021), as simdjson and simdutf8 use it: three 16-entry table lookups, on the high
//! and low nibbles of the previous byte and the high nibble of the byte, say which two-byte
//! errors a pair of bytes makes (too short, too long, overlong, surrogate, too large); the
//! bytes two and three places after a three- and four-byte lead must be continuations, which
//! the lookups cannot see, so that is checked by saturated subtraction and XORed in. A block
//! is checked with the block before it (its last three bytes start the sequences that go on
//! into this one). The tests check every level against `std::str::from_utf8` on whole lines.

use core::arch::x86_64::*;

const TOO_SHORT: u8 = 1 << 0;
const TOO_LONG: u8 = 1 << 1;
const OVERLONG_3: u8 = 1 << 2;
const TOO_LARGE: u8 = 1 << 3;
const SURROGATE: u8 = 1 << 4;
const OVERLONG_2: u8 = 1 << 5;
const TOO_LARGE_1000: u8 = 1 << 6;
const OVERLONG_4: u8 = 1 << 6;
const TWO_CONTS: u8 = 1 << 7;
const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

/// By the high nibble of the first byte of a pair.
static BYTE_1_HIGH: [u8; 16] = [
    // 0xxx: ASCII
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    // 10xx: a continuation
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    // 1100, 1101: a two-byte lead
    TOO_SHORT | OVERLONG_2,
    TOO_SHORT,
    // 1110: a three-byte lead
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    // 1111: a four-byte lead
    TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
];

/// By the low nibble of the first byte of a pair.
static BYTE_1_LOW: [u8; 16] = [
    CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
    CARRY | OVERLONG_2,
    CARRY,
    CARRY,
    CARRY | TOO_LARGE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
];

/// By the high nibble of the second byte of a pair.
static BYTE_2_HIGH: [u8; 16] = [
    // 0xxx: ASCII
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    // 1000, 1001, 101x: continuations
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    // 11xx: a lead
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
];

/// Whether `block`, after `prev`, holds a UTF-8 error (a sequence that starts in the last
/// three bytes of `block` and goes on past it is not one: the next block sees it).
///
/// # Safety
///
/// The CPU supports AVX-512 F and BW.
#[inline(always)]
pub(super) unsafe fn errors_avx512(prev: &[u8; 64], block: &[u8; 64]) -> bool {
    // SAFETY: the caller guarantees AVX-512 F and BW; the loads read the 64 bytes of `prev`
    // and of `block`, and the 16 bytes of each table.
    unsafe {
        let input = _mm512_loadu_si512(block.as_ptr().cast());
        let before = _mm512_loadu_si512(prev.as_ptr().cast());
        // Macros, not closures (see `errors_avx2`).
        macro_rules! table {
            ($t:expr) => {
                _mm512_broadcast_i32x4(_mm_loadu_si128($t.as_ptr().cast()))
            };
        }
        let nib = _mm512_set1_epi8(0x0f);
        macro_rules! high {
            ($v:expr) => {
                _mm512_and_si512(_mm512_srli_epi16::<4>($v), nib)
            };
        }
        // Lane i of `shifted` is lane i - 1 of `input` (lane 0: the last lane of `before`), so
        // that a byte-wise align within lanes gives the bytes 1, 2 and 3 places back.
        let shifted = _mm512_alignr_epi64::<6>(input, before);
        let prev1 = _mm512_alignr_epi8::<15>(input, shifted);
        let prev2 = _mm512_alignr_epi8::<14>(input, shifted);
        let prev3 = _mm512_alignr_epi8::<13>(input, shifted);
        let special = _mm512_and_si512(
            _mm512_and_si512(
                _mm512_shuffle_epi8(table!(BYTE_1_HIGH), high!(prev1)),
                _mm512_shuffle_epi8(table!(BYTE_1_LOW), _mm512_and_si512(prev1, nib)),
            ),
            _mm512_shuffle_epi8(table!(BYTE_2_HIGH), high!(input)),
        );
        let third = _mm512_subs_epu8(prev2, _mm512_set1_epi8((0xe0u8 - 0x80) as i8));
        let fourth = _mm512_subs_epu8(prev3, _mm512_set1_epi8((0xf0u8 - 0x80) as i8));
        let must_continue = _mm512_and_si512(
            _mm512_or_si512(third, fourth),
            _mm512_set1_epi8(0x80u8 as i8),
        );
        _mm512_test_epi8_mask(
            _mm512_xor_si512(must_continue, special),
            _mm512_set1_epi8(-1),
        ) != 0
    }
}

/// [`errors_avx512`] with AVX2.
///
/// # Safety
///
/// The CPU supports AVX2.
#[inline(always)]
pub(super) unsafe fn errors_avx2(prev: &[u8; 64], block: &[u8; 64]) -> bool {
    // SAFETY: the caller guarantees AVX2; the loads read 32 bytes at offset 32 of `prev`, at
    // offsets 0 and 32 of `block`, and the 16 bytes of each table.
    // Macros, not closures: a closure is not compiled with the caller's target features, so
    // the intrinsics in it would not be inlined (each would be a call).
    unsafe {
        macro_rules! table {
            ($t:expr) => {
                _mm256_broadcastsi128_si256(_mm_loadu_si128($t.as_ptr().cast()))
            };
        }
        let (t1h, t1l, t2h) = (table!(BYTE_1_HIGH), table!(BYTE_1_LOW), table!(BYTE_2_HIGH));
        let nib = _mm256_set1_epi8(0x0f);
        macro_rules! high {
            ($v:expr) => {
                _mm256_and_si256(_mm256_srli_epi16::<4>($v), nib)
            };
        }
        macro_rules! half {
            ($input:expr, $before:expr) => {{
                let (input, before) = ($input, $before);
                // The high lane of `before` and the low lane of `input`: lane-wise aligns then
                // reach back across the lane boundary.
                let shifted = _mm256_permute2x128_si256::<0x21>(before, input);
                let prev1 = _mm256_alignr_epi8::<15>(input, shifted);
                let prev2 = _mm256_alignr_epi8::<14>(input, shifted);
                let prev3 = _mm256_alignr_epi8::<13>(input, shifted);
                let special = _mm256_and_si256(
                    _mm256_and_si256(
                        _mm256_shuffle_epi8(t1h, high!(prev1)),
                        _mm256_shuffle_epi8(t1l, _mm256_and_si256(prev1, nib)),
                    ),
                    _mm256_shuffle_epi8(t2h, high!(input)),
                );
                let third = _mm256_subs_epu8(prev2, _mm256_set1_epi8((0xe0u8 - 0x80) as i8));
                let fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8((0xf0u8 - 0x80) as i8));
                let must_continue = _mm256_and_si256(
                    _mm256_or_si256(third, fourth),
                    _mm256_set1_epi8(0x80u8 as i8),
                );
                _mm256_xor_si256(must_continue, special)
            }};
        }
        let p = block.as_ptr();
        let lo = _mm256_loadu_si256(p.cast());
        let hi = _mm256_loadu_si256(p.add(32).cast());
        let before = _mm256_loadu_si256(prev.as_ptr().add(32).cast());
        let err = _mm256_or_si256(half!(lo, before), half!(hi, lo));
        _mm256_testz_si256(err, err) == 0
    }
}
