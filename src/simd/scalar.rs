//! The scalar reference kernel: one byte at a time.

use super::{Kernel, Raw};

/// The scalar level.
pub(crate) struct Scalar;

impl Kernel for Scalar {
    #[inline(always)]
    unsafe fn raw(block: &[u8; 64]) -> Raw {
        raw(block)
    }
}

/// Classifies 64 bytes, one at a time.
pub(crate) fn raw(block: &[u8; 64]) -> Raw {
    let mut r = Raw::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        let set = |mask: &mut u64, yes: bool| {
            if yes {
                *mask |= bit;
            }
        };
        set(&mut r.quote, b == b'"');
        set(&mut r.backslash, b == b'\\');
        set(&mut r.open, b == b'{' || b == b'[');
        set(&mut r.close, b == b'}' || b == b']');
        set(&mut r.brace, b == b'{' || b == b'}');
        set(&mut r.sep, b == b':' || b == b',');
        set(&mut r.colon, b == b':');
        set(&mut r.ws, matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        set(&mut r.ctrl, b < 0x20);
        set(&mut r.lf, b == b'\n');
        set(&mut r.high, b >= 0x80);
    }
    r
}

/// [`Kernel::escape_letters`], one byte at a time.
pub(crate) fn escape_letters(block: &[u8; 64]) -> u64 {
    let mut m = 0;
    for (i, &b) in block.iter().enumerate() {
        if matches!(b, b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') {
            m |= 1 << i;
        }
    }
    m
}
