//! Inputs: mapping files read-only, spooling readers to disk, releasing pages behind the cursor.

use std::fs::File;
use std::io;
use std::path::Path;

use memmap2::{Advice, Mmap, UncheckedAdvice};

use crate::error::Error;

/// Pages behind the cursor are released in steps of this many bytes: small enough to keep
/// resident memory low, large enough that madvise calls cost nothing measurable.
pub(crate) const RELEASE_STEP: usize = 2 << 20;

/// Maps `file` read-only and advises sequential access.
///
/// # Safety
///
/// The caller promises that nobody truncates or modifies the file while the mapping lives:
/// a truncated mapped file raises SIGBUS on access, a modified one changes bytes under `&[u8]`
/// borrows.
pub(crate) unsafe fn map(file: &File, path: Option<&Path>) -> Result<Mmap, Error> {
    // SAFETY: passed on from the caller (see above).
    let map = unsafe { Mmap::map(file) }.map_err(|e| Error::io(path, e))?;
    if let Err(e) = map.advise(Advice::Sequential) {
        log::debug!("madvise(SEQUENTIAL) failed, continuing: {e}");
    }
    Ok(map)
}

/// Copies `reader` into an unnamed temporary file (`O_TMPFILE` on Linux) through a bounded
/// buffer, and returns the file, rewound.
pub(crate) fn spool(mut reader: impl io::Read, dir: Option<&Path>) -> Result<File, Error> {
    let mut file = match dir {
        Some(d) => tempfile::tempfile_in(d).map_err(|e| Error::io(Some(d), e))?,
        None => tempfile::tempfile().map_err(|e| Error::io(Some(&std::env::temp_dir()), e))?,
    };
    io::copy(&mut reader, &mut file).map_err(|e| Error::io(dir, e))?;
    Ok(file)
}

/// Drops the page cache of a file we are done with (a spool): cheap insurance for containers,
/// where page cache counts toward the memory limit.
pub(crate) fn drop_cache(file: &File) {
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
}

/// Releases mapped pages behind the scan cursor with `madvise(MADV_DONTNEED)`.
pub(crate) struct Pager<'m> {
    map: Option<&'m Mmap>,
    released: usize,
    page: usize,
}

impl<'m> Pager<'m> {
    /// A pager for a mapping, or one that does nothing (`None`, for slices).
    pub(crate) fn new(map: Option<&'m Mmap>) -> Pager<'m> {
        Pager {
            map,
            released: 0,
            page: rustix::param::page_size(),
        }
    }

    /// Tells the pager that no byte before `offset` will be read again without a refault,
    /// and that no borrow of those bytes is alive. Releases whole pages once a step's worth
    /// has accumulated.
    #[inline]
    pub(crate) fn release_before(&mut self, offset: usize) {
        if self.map.is_none() || offset < self.released + RELEASE_STEP {
            return;
        }
        let end = offset & !(self.page - 1);
        self.release_range(self.released, end);
        self.released = end;
    }

    /// Releases the pages of `[from, to)` whatever the watermark (the page holding `from`
    /// included, the one holding `to` not): pages read again behind the watermark, or pages
    /// of a long line that its classification has gone past.
    pub(crate) fn release_range(&mut self, from: usize, to: usize) {
        let Some(map) = self.map else { return };
        let start = from & !(self.page - 1);
        let end = to.min(map.len()) & !(self.page - 1);
        if start >= end {
            return;
        }
        // SAFETY: the mapping is a read-only, shared mapping of a file that nobody modifies or
        // truncates while we scan (the caller's promise when mapping; spools are unnamed so no
        // one else can open them). MADV_DONTNEED on such a mapping only drops our page-table
        // entries: a later access refaults the same bytes from the page cache or the file, so
        // slices into the mapping stay valid and unchanged. The range [start, end) is
        // page-aligned (both ends are multiples of the page size) and inside the mapping.
        let r =
            unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start) };
        if let Err(e) = r {
            log::debug!("madvise(DONTNEED) failed, continuing: {e}");
        }
    }

    /// Releases again the pages from `from` up to the watermark: a line whose LF search
    /// released its first pages and that was then read again (to classify or decode it)
    /// refaulted them, and the watermark alone would never release them a second time.
    #[inline]
    pub(crate) fn release_again_from(&mut self, from: usize) {
        // Usually the line starts past the watermark: nothing was released under it.
        if from < self.released {
            self.release_range(from, self.released);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn rss_file_kib() -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("RssFile:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Released pages read back identically, and stop counting as resident.
    #[test]
    fn release_keeps_bytes_and_drops_residency() {
        let mut f = tempfile::tempfile().unwrap();
        let chunk: Vec<u8> = (0..(1 << 20)).map(|i| (i % 251) as u8).collect();
        for _ in 0..32 {
            f.write_all(&chunk).unwrap();
        }
        // SAFETY: an unnamed temporary file nobody else can open.
        let map = unsafe { map(&f, None) }.unwrap();
        let sum = |m: &[u8]| m.iter().map(|&b| b as u64).sum::<u64>();
        let before = sum(&map);
        let resident = rss_file_kib();
        let mut pager = Pager::new(Some(&map));
        pager.release_before(map.len());
        let after_release = rss_file_kib();
        assert!(
            after_release + 16 * 1024 < resident,
            "RssFile {resident} kB -> {after_release} kB"
        );
        assert_eq!(sum(&map), before);
    }
}
