//! Structural indexing of JSON text in 64-byte blocks, at the widest SIMD level this CPU has.
//!
//! This module owns every SIMD intrinsic of the crate. It works like simdjson's stage 1:
//!
//! 1. a *kernel* classifies 64 bytes at once into bit masks ([`Raw`]: quotes, backslashes,
//!    brackets, separators, whitespace, control bytes, LF), one bit per byte;
//! 2. portable bit arithmetic ([`Index::next`]) resolves escapes (odd backslash runs) and
//!    string interiors (a prefix XOR of the real quotes), carrying the odd-backslash and
//!    in-string states from one block to the next.
//!
//! The kernels come in four levels ([`Level`]): AVX-512 (BW), AVX2, a portable 128-bit level
//! (`wide`: SSE2 on x86_64, NEON on aarch64) and a scalar reference. The level is detected once,
//! at run time (never from `-C target-cpu`); the `SPOOLSCAN_SIMD` environment variable
//! (`scalar`, `portable`, `avx2`, `avx512`) lowers it, which is how the tests run every level
//! this machine has. Each level is tested against the scalar one on random bytes at every
//! alignment and length (`tests.rs`), and a fuzz target does the same.
//!
//! Above the kernels sit pure primitives, generic over the kernel and compiled once per level
//! (the [`dispatch!`] macro): [`string_end`], [`skip_container`] (and their forms that also
//! stop at an LF, [`string_end_lf`], [`skip_container_lf`]) and the validator of
//! [`crate::validate`]. They take bytes and a carried state and return positions; they never
//! release pages or call back. The x86_64 levels also check UTF-8 a block at a time (`utf8`,
//! for the validator) and give a prefetch hint.
//!
//! Kernels use macros, never closures, for repeated steps: a closure is not compiled with the
//! target features of the function it is written in, so the intrinsics inside it are not
//! inlined and each becomes a call. (Closures in the AVX2 kernels once made that level 4x
//! slower than the AVX-512 one, and slower than the portable one.)

use std::sync::atomic::{AtomicU8, Ordering};

pub(crate) mod portable;
pub(crate) mod scalar;
#[cfg(target_arch = "x86_64")]
mod utf8;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

mod check;
mod lf;
mod scan;
#[cfg(test)]
mod tests;

pub use check::check_levels;
pub(crate) use lf::{find_lf, find_lf_at};
pub(crate) use scan::{
    Container, Found, Mismatch, Str, skip_container, skip_container_lf, string_end, string_end_lf,
};

/// One bit per byte of a 64-byte block (bit `i` is byte `i`), for each class of byte the
/// indexer needs. Bytes past the end of the input are classified as spaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Raw {
    /// `"`
    pub(crate) quote: u64,
    /// `\`
    pub(crate) backslash: u64,
    /// `{` and `[`
    pub(crate) open: u64,
    /// `}` and `]`
    pub(crate) close: u64,
    /// `{` and `}` (tells an object's brackets from an array's)
    pub(crate) brace: u64,
    /// `:` and `,`
    pub(crate) sep: u64,
    /// `:` (tells a member's separator from an element's)
    pub(crate) colon: u64,
    /// JSON whitespace: space, tab, CR, LF
    pub(crate) ws: u64,
    /// bytes below 0x20 (control characters, LF, tab and CR included)
    pub(crate) ctrl: u64,
    /// LF
    pub(crate) lf: u64,
    /// bytes of 0x80 and above (not ASCII)
    pub(crate) high: u64,
}

/// A SIMD level's block classifier.
pub(crate) trait Kernel {
    /// Classifies the 64 bytes of `block`.
    ///
    /// # Safety
    ///
    /// The CPU supports the target features of the kernel's [`Level`].
    unsafe fn raw(block: &[u8; 64]) -> Raw;

    /// The quote and backslash masks of `block` only (what a string scan needs).
    ///
    /// # Safety
    ///
    /// As for [`Kernel::raw`].
    #[inline(always)]
    unsafe fn strings(block: &[u8; 64]) -> (u64, u64) {
        // SAFETY: passed on from the caller.
        let r = unsafe { Self::raw(block) };
        (r.quote, r.backslash)
    }

    /// The masks a container's scan needs: quotes, backslashes, and brackets of both kinds
    /// (`{`, `[`, `}`, `]`: [`Raw::open`] and [`Raw::close`] together; the scan tells them
    /// apart by their bytes).
    ///
    /// # Safety
    ///
    /// As for [`Kernel::raw`].
    #[inline(always)]
    unsafe fn brackets(block: &[u8; 64]) -> (u64, u64, u64) {
        // SAFETY: passed on from the caller.
        let r = unsafe { Self::raw(block) };
        (r.quote, r.backslash, r.open | r.close)
    }

    /// The LF mask of `block` only (what a scan that stops at the end of a line adds).
    ///
    /// # Safety
    ///
    /// As for [`Kernel::raw`].
    #[inline(always)]
    unsafe fn lfs(block: &[u8; 64]) -> u64 {
        // SAFETY: passed on from the caller.
        unsafe { Self::raw(block) }.lf
    }

    /// The masks a string's body needs, for a block read inside a string: quotes,
    /// backslashes, bytes below 0x20 and bytes of 0x80 and above (as [`Kernel::raw`] gives
    /// them).
    ///
    /// # Safety
    ///
    /// As for [`Kernel::raw`].
    #[inline(always)]
    unsafe fn string_bytes(block: &[u8; 64]) -> (u64, u64, u64, u64) {
        // SAFETY: passed on from the caller.
        let r = unsafe { Self::raw(block) };
        (r.quote, r.backslash, r.ctrl, r.high)
    }

    /// The bytes of `block` that are the letter of a one-letter escape when a backslash
    /// escapes them: `"`, `\\`, `/`, `b`, `f`, `n`, `r`, `t`.
    ///
    /// # Safety
    ///
    /// As for [`Kernel::raw`].
    #[inline(always)]
    unsafe fn escape_letters(block: &[u8; 64]) -> u64 {
        scalar::escape_letters(block)
    }

    /// Whether the level checks UTF-8 inside the validator's pass ([`Kernel::utf8_errors`]);
    /// else the validator checks the whole line with `simdutf8` after its walk.
    const UTF8: bool = false;

    /// Whether `block`, after the block `prev` (zeros before the first block), holds a UTF-8
    /// error; a sequence that starts in the last three bytes of `block` and would go on past
    /// it is left to the next block's check. Only called when [`Kernel::UTF8`] is set.
    ///
    /// # Safety
    ///
    /// As for [`Kernel::raw`].
    #[inline(always)]
    unsafe fn utf8_errors(prev: &[u8; 64], block: &[u8; 64]) -> bool {
        let _ = (prev, block);
        unreachable!("a level without UTF8 is never asked")
    }

    /// Asks the CPU to bring the cache line holding `p` into the cache (a hint: it reads
    /// nothing and cannot fault, whatever `p` points to). A walk that does work for every block
    /// keeps too few loads in flight to stream from memory at full speed on its own.
    ///
    /// # Safety
    ///
    /// As for [`Kernel::raw`].
    #[inline(always)]
    unsafe fn prefetch(p: *const u8) {
        let _ = p;
    }

    /// The prefix XOR of `x`: bit `i` of the result is the XOR of bits `0..=i`.
    ///
    /// # Safety
    ///
    /// As for [`Kernel::raw`].
    #[inline(always)]
    unsafe fn prefix_xor(x: u64) -> u64 {
        prefix_xor(x)
    }
}

/// [`Kernel::prefix_xor`] by shifts: six steps of a parallel prefix.
#[inline(always)]
pub(crate) fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The SIMD levels, from the reference to the widest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// One byte at a time: the reference every other level is tested against.
    Scalar = 1,
    /// 128-bit vectors through `wide` (SSE2 on x86_64, NEON on aarch64, scalar elsewhere).
    Portable = 2,
    /// x86_64 AVX2 (with BMI1 and PCLMULQDQ).
    Avx2 = 3,
    /// x86_64 AVX-512 F and BW (with BMI1 and PCLMULQDQ).
    Avx512 = 4,
}

impl Level {
    /// Every level, narrowest first.
    pub const ALL: [Level; 4] = [Level::Scalar, Level::Portable, Level::Avx2, Level::Avx512];

    /// The level's name, as `SPOOLSCAN_SIMD` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the level.
    pub fn is_supported(self) -> bool {
        match self {
            Level::Scalar | Level::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("bmi1")
                    && is_x86_feature_detected!("pclmulqdq")
            }
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => {
                Level::Avx2.is_supported()
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Level::Avx2 | Level::Avx512 => false,
        }
    }

    /// [`Level::is_supported`], from a cache: the level in use and every level below it are
    /// supported (checked once by `detect`), the others are asked again.
    #[inline(always)]
    pub(crate) fn is_supported_cached(self) -> bool {
        self <= level() || self.is_supported()
    }

    #[inline(always)]
    fn from_u8(v: u8) -> Option<Level> {
        // A match, not a search of `ALL`: it runs at every dispatch.
        match v {
            1 => Some(Level::Scalar),
            2 => Some(Level::Portable),
            3 => Some(Level::Avx2),
            4 => Some(Level::Avx512),
            _ => None,
        }
    }
}

/// The level in use; 0 until detected.
static LEVEL: AtomicU8 = AtomicU8::new(0);

/// The SIMD level the scanner uses on this CPU: the widest supported one, or the one
/// `SPOOLSCAN_SIMD` names when that is narrower (a testing and debugging switch).
#[inline]
pub fn level() -> Level {
    match Level::from_u8(LEVEL.load(Ordering::Relaxed)) {
        Some(l) => l,
        None => detect(),
    }
}

#[cold]
fn detect() -> Level {
    let best = Level::ALL
        .into_iter()
        .rev()
        .find(|l| l.is_supported())
        .unwrap_or(Level::Scalar);
    let chosen = match std::env::var("SPOOLSCAN_SIMD") {
        Ok(name) => match Level::ALL.into_iter().find(|l| l.name() == name) {
            Some(l) if l <= best => l,
            _ => {
                log::warn!(
                    "SPOOLSCAN_SIMD={name:?} is not a level this CPU supports \
                     (scalar, portable, ... {}); using {}",
                    best.name(),
                    best.name()
                );
                best
            }
        },
        Err(_) => best,
    };
    LEVEL.store(chosen as u8, Ordering::Relaxed);
    chosen
}

/// Defines a function that runs a generic primitive at the level in use: one copy of the
/// primitive is compiled per level, with that level's target features enabled, so the kernel
/// and the bit arithmetic inline into one loop.
///
/// `dispatch!(fn name / name_at(args) -> Ret = generic);` where
/// `generic::<K: Kernel>(args) -> Ret` is an `#[inline(always)]` function defines `name(args)`,
/// at [`level()`], and `name_at(level, args)`, at a given supported level (for tests).
macro_rules! dispatch {
    ($(#[$m:meta])* $vis:vis fn $name:ident / $name_at:ident($($arg:ident: $ty:ty),* $(,)?)
        -> $ret:ty = $generic:ident;) => {
        $(#[$m])*
        #[inline]
        $vis fn $name($($arg: $ty),*) -> $ret {
            $name_at($crate::simd::level(), $($arg),*)
        }

        /// Runs at `level`, which must be supported (else the scalar level runs).
        #[inline]
        $vis fn $name_at(level: $crate::simd::Level, $($arg: $ty),*) -> $ret {
            #[allow(unused_imports)]
            use $crate::simd::{Level, portable::Portable, scalar::Scalar};
            match level {
                #[cfg(target_arch = "x86_64")]
                Level::Avx512 if Level::Avx512.is_supported_cached() => {
                    #[target_feature(enable = "avx2,bmi1,pclmulqdq,avx512f,avx512bw")]
                    unsafe fn at_level($($arg: $ty),*) -> $ret {
                        $generic::<$crate::simd::x86::Avx512>($($arg),*)
                    }
                    // SAFETY: the guard checked that the CPU has every feature enabled above
                    // (detected at run time by `Level::is_supported`).
                    unsafe { at_level($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                Level::Avx2 if Level::Avx2.is_supported_cached() => {
                    #[target_feature(enable = "avx2,bmi1,pclmulqdq")]
                    unsafe fn at_level($($arg: $ty),*) -> $ret {
                        $generic::<$crate::simd::x86::Avx2>($($arg),*)
                    }
                    // SAFETY: the guard checked that the CPU has every feature enabled above
                    // (detected at run time by `Level::is_supported`).
                    unsafe { at_level($($arg),*) }
                }
                Level::Portable => $generic::<Portable>($($arg),*),
                _ => $generic::<Scalar>($($arg),*),
            }
        }
    };
}
pub(crate) use dispatch;

/// The escape and string states carried from one 64-byte block into the next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Carry {
    /// 1 when the previous block ended in an odd run of backslashes (its first byte is
    /// escaped).
    pub(crate) escape: u64,
    /// All ones when the previous block ended inside a string.
    pub(crate) in_string: u64,
}

/// One indexed block: the raw classes plus what the carries resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Index {
    pub(crate) raw: Raw,
    /// Bytes escaped by a backslash (the byte after an odd run).
    pub(crate) escaped: u64,
    /// Quotes that are not escaped.
    pub(crate) quote: u64,
    /// The inside of strings: from an opening quote (included) to the closing quote
    /// (excluded).
    pub(crate) in_string: u64,
}

impl Index {
    /// Indexes `block` given the carry of the previous block, and updates the carry.
    ///
    /// # Safety
    ///
    /// As for [`Kernel::raw`].
    #[inline(always)]
    pub(crate) unsafe fn next<K: Kernel>(block: &[u8; 64], carry: &mut Carry) -> Index {
        // SAFETY: passed on from the caller.
        unsafe { Index::from_raw::<K>(K::raw(block), carry) }
    }

    /// [`Index::next`] from a block already classified.
    ///
    /// # Safety
    ///
    /// As for [`Kernel::raw`].
    #[inline(always)]
    pub(crate) unsafe fn from_raw<K: Kernel>(raw: Raw, carry: &mut Carry) -> Index {
        let escaped = escaped(raw.backslash, &mut carry.escape);
        let quote = raw.quote & !escaped;
        // SAFETY: passed on from the caller.
        let in_string = unsafe { K::prefix_xor(quote) } ^ carry.in_string;
        carry.in_string = ((in_string as i64) >> 63) as u64;
        Index {
            raw,
            escaped,
            quote,
            in_string,
        }
    }
}

/// The bytes escaped by a backslash among 64, given the mask of backslashes and whether the
/// first byte is escaped by a backslash that ended the previous block (`carry`, updated for
/// the next block). An odd run of backslashes escapes the byte after it; an even run does not.
/// This is simdjson's `find_escaped`.
#[inline(always)]
pub(crate) fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    // Most blocks hold no backslash: one test says so (the arithmetic below gives 0 too).
    if backslash == 0 && *carry == 0 {
        return 0;
    }
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let backslash = backslash & !*carry;
    let follows = (backslash << 1) | *carry;
    let odd_starts = backslash & !EVEN & !follows;
    let (even_starts, overflow) = odd_starts.overflowing_add(backslash);
    *carry = overflow as u64;
    (EVEN ^ (even_starts << 1)) & follows
}

/// The 64 bytes at `w[at..]`, padded with spaces past the end of `w`: a reference into `w`
/// when 64 bytes remain, else a copy in `pad`.
#[inline(always)]
pub(crate) fn block_at<'a>(w: &'a [u8], at: usize, pad: &'a mut [u8; 64]) -> &'a [u8; 64] {
    match w.get(at..at + 64) {
        Some(b) => b.try_into().expect("64 bytes"),
        None => {
            let rest = w.get(at..).unwrap_or(&[]);
            *pad = [b' '; 64];
            pad[..rest.len()].copy_from_slice(rest);
            pad
        }
    }
}

/// Bits below bit `n` (all of them for `n >= 64`).
#[inline(always)]
pub(crate) fn below(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}
