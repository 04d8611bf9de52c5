//! The portable 128-bit kernel: `wide`'s safe vectors (SSE2 on x86_64, NEON on aarch64,
//! scalar code elsewhere), four 16-byte vectors per block.

use wide::u8x16;

use super::{Kernel, Raw};

/// The portable 128-bit level.
pub(crate) struct Portable;

impl Kernel for Portable {
    #[inline(always)]
    unsafe fn raw(block: &[u8; 64]) -> Raw {
        let mut r = Raw::default();
        for k in 0..4 {
            let c: [u8; 16] = block[16 * k..16 * k + 16].try_into().expect("16 bytes");
            let v = u8x16::new(c);
            let m = |x: u8x16| (x.move_mask() as u16 as u64) << (16 * k);
            let eq = |b: u8| v.cmp_eq(u8x16::splat(b));
            // Setting bit 0x20 maps `[` to `{` and `]` to `}`, and no other byte to either.
            let folded = v | u8x16::splat(0x20);
            let lf = eq(b'\n');
            r.quote |= m(eq(b'"'));
            r.backslash |= m(eq(b'\\'));
            r.open |= m(folded.cmp_eq(u8x16::splat(b'{')));
            r.close |= m(folded.cmp_eq(u8x16::splat(b'}')));
            r.brace |= m(eq(b'{') | eq(b'}'));
            r.sep |= m(eq(b':') | eq(b','));
            r.colon |= m(eq(b':'));
            r.ws |= m(eq(b' ') | eq(b'\t') | eq(b'\r') | lf);
            r.ctrl |= m(v.min(u8x16::splat(0x1f)).cmp_eq(v));
            r.lf |= m(lf);
            r.high |= m(v);
        }
        r
    }

    #[inline(always)]
    unsafe fn lfs(block: &[u8; 64]) -> u64 {
        let mut m = 0;
        for k in 0..4 {
            let c: [u8; 16] = block[16 * k..16 * k + 16].try_into().expect("16 bytes");
            let lf = u8x16::new(c).cmp_eq(u8x16::splat(b'\n'));
            m |= (lf.move_mask() as u16 as u64) << (16 * k);
        }
        m
    }

    #[inline(always)]
    unsafe fn escape_letters(block: &[u8; 64]) -> u64 {
        let mut m = 0;
        for k in 0..4 {
            let c: [u8; 16] = block[16 * k..16 * k + 16].try_into().expect("16 bytes");
            let v = u8x16::new(c);
            let eq = |b: u8| v.cmp_eq(u8x16::splat(b));
            let hit = eq(b'"') | eq(b'\\') | eq(b'/') | eq(b'b') | eq(b'f') | eq(b'n') | eq(b'r');
            m |= ((hit | eq(b't')).move_mask() as u16 as u64) << (16 * k);
        }
        m
    }
}
