//! A self-check of the SIMD levels for fuzzing: every level this CPU supports must agree with
//! the scalar reference on any input. Public (hidden) so that the fuzz target, which is a
//! separate crate, can call it.

use super::scan::{
    Container, Found, Str, skip_container_at, skip_container_lf_at, string_end_at, string_end_lf_at,
};
use super::{Carry, Index, Kernel, Level, block_at, find_lf_at, portable, scalar};
use crate::validate::{check_at, line_at, precise_at};

/// Runs the SIMD primitives at every supported level over `data` (the whole of it, and from
/// each of its first 64 offsets) and panics when a level disagrees with the scalar reference.
pub fn check_levels(data: &[u8]) {
    let levels: Vec<Level> = Level::ALL
        .into_iter()
        .filter(|l| *l != Level::Scalar && l.is_supported())
        .collect();
    for from in 0..data.len().min(64) {
        let want = (
            index_all::<scalar::Scalar>(data, from),
            string_end_at(Level::Scalar, data, from, &mut Str::default()),
            skip_container_at(Level::Scalar, data, from, &mut Container::default()),
            check_at(Level::Scalar, &data[from..]),
            string_end_lf_at(Level::Scalar, data, from, &mut Str::default()),
            skip_container_lf_at(Level::Scalar, data, from, &mut Container::default()),
        );
        for &level in &levels {
            let got = (
                index_at(level, data, from),
                string_end_at(level, data, from, &mut Str::default()),
                skip_container_at(level, data, from, &mut Container::default()),
                check_at(level, &data[from..]),
                string_end_lf_at(level, data, from, &mut Str::default()),
                skip_container_lf_at(level, data, from, &mut Container::default()),
            );
            assert_eq!(got, want, "{level:?} from {from}");
        }
        // The one-pass line end and validation: the same at every level, and only ever the
        // first LF before a line the validator passes.
        let one = line_at(Level::Scalar, &data[from..]);
        if let Some(lf) = one {
            let line = &data[from..from + lf];
            assert_eq!(memchr::memchr(b'\n', &data[from..]), Some(lf));
            let content = line.strip_suffix(b"\r").unwrap_or(line);
            assert!(
                crate::validate::validate(content).is_ok(),
                "one pass passed an invalid line"
            );
        }
        for &level in &levels {
            assert_eq!(
                line_at(level, &data[from..]),
                one,
                "{level:?} one pass from {from}"
            );
        }
        let lf = memchr::memchr(b'\n', &data[from..]);
        for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
            assert_eq!(
                find_lf_at(level, &data[from..]),
                lf,
                "{level:?} LF from {from}"
            );
        }
        for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
            let line = &data[from..];
            assert_eq!(
                precise_at(level, line).is_ok() && std::str::from_utf8(line).is_ok(),
                check_at(level, line).is_ok(),
                "{level:?} from {from}: the fast and precise walks disagree"
            );
        }
    }
    // Resumed in two pieces, a scan finds what it finds in one.
    if data.len() > 1 {
        let cut = data[0] as usize % data.len();
        let whole = string_end_at(Level::Scalar, data, 0, &mut Str::default());
        for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
            let mut st = Str::default();
            let got = match string_end_at(level, &data[..cut], 0, &mut st) {
                Found::More => string_end_at(level, data, cut, &mut st),
                found => found,
            };
            assert_eq!(got, whole, "{level:?} resumed at {cut}");
        }
    }
}

fn index_at(level: Level, data: &[u8], from: usize) -> Vec<Index> {
    match level {
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => index_all::<super::x86::Avx512>(data, from),
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => index_all::<super::x86::Avx2>(data, from),
        Level::Portable => index_all::<portable::Portable>(data, from),
        _ => index_all::<scalar::Scalar>(data, from),
    }
}

/// Indexes `data[from..]` block by block with kernel `K`.
fn index_all<K: Kernel>(data: &[u8], from: usize) -> Vec<Index> {
    let mut out = Vec::new();
    let mut carry = Carry::default();
    let mut pad = [0u8; 64];
    let mut j = from;
    while j < data.len() {
        // SAFETY: `index_at` picks K only for a level `Level::is_supported` detected (the
        // levels checked by `check_levels`), so the CPU has K's features.
        out.push(unsafe { Index::next::<K>(block_at(data, j, &mut pad), &mut carry) });
        j += 64;
    }
    out
}
