//! Inputs: mapping files read-only, spooling readers to disk, releasing pages behind the cursor,
//! and the opt-in SIGBUS guard over mappings of files another process may truncate.
//!
//! # The SIGBUS guard
//!
//! Reading a page of a mapping that lies past the end of its file (another process truncated
//! it) raises `SIGBUS`, which kills the process. [`guard_sigbus`] installs a process-wide
//! handler (`sigaction` with `SA_SIGINFO`) for that case. Every mapping made here is registered
//! (its address range, in a fixed table of 64 entries that the handler reads without
//! locks). When the faulting address (`si_addr`) lies in a registered mapping, the handler maps
//! anonymous zero pages over the rest of that mapping (`mmap` with `MAP_FIXED`, a plain system
//! call that is safe in a handler), flags the mapping, and returns: the read is retried and sees
//! zeros. The scan loop checks the flag at each line and ends with an I/O error, "FILE: shrank
//! from X to Y bytes during the scan", rather than a crash; what it pushed to the sink before
//! is real data, lines read over the zero pages are never reported as retained (the error ends
//! the scan first, and a NUL byte is not valid JSON anyway). A fault anywhere else goes to the
//! handler that was there before (the Rust runtime's, or the default action).
//!
//! The handler is process-wide, so the library leaves it off: call [`guard_sigbus`] once (the
//! `spoolscan` binary does, at start-up). Without it a truncated mapped file still kills the
//! process; `mmap(false)` avoids mapping user files altogether.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use memmap2::{Advice, Mmap, UncheckedAdvice};

use crate::error::Error;

/// How many mappings the SIGBUS guard can watch at once; a mapping made while all are in use
/// is not guarded (the scan works as without the guard).
pub(crate) const SLOTS: usize = 64;

/// Start address of each guarded mapping (0: the slot is free).
static STARTS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
/// Length of each guarded mapping.
static LENS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
/// Set by the handler when a guarded mapping faulted.
static FAULTED: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
/// The page size, for the handler.
static PAGE: AtomicUsize = AtomicUsize::new(4096);
/// The action for SIGBUS before [`guard_sigbus`]; set once, before the handler is installed.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();
/// The result of installing the handler (once per process).
static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();

/// Installs the process-wide SIGBUS guard (see the module docs of `source`, and "Memory maps
/// and safety" in the crate docs): from then on, a file mapped by a scan that another process
/// truncates makes the scan fail with an [`Error::Io`] ("shrank from X to Y bytes during the
/// scan") instead of killing the process. Idempotent; returns the error of the first attempt if
/// it failed. Up to 64 mappings are watched at once (scans running in parallel); a mapping made
/// while all are in use is not guarded.
///
/// The kernel does not raise `SIGBUS` when it reads a cut mapping on the process's behalf
/// (`write(2)` of a retained line's bytes fails with `EFAULT`): a sink that gets such an error
/// can read a byte of each page of the line, which lets the guard see the cut, and return its
/// error; the scan then fails with the "shrank" error instead of the sink's (the CLI does this).
///
/// It replaces the process's `SIGBUS` action; faults outside spoolscan's mappings are passed to
/// the action that was installed before (the Rust runtime's stack-overflow handler, or the
/// default: death by `SIGBUS`). Applications with their own `SIGBUS` handling should install
/// theirs first, or not call this.
///
/// # Example
///
/// ```
/// spoolscan::guard_sigbus()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn guard_sigbus() -> io::Result<()> {
    let r = INSTALLED.get_or_init(|| {
        PAGE.store(rustix::param::page_size(), Ordering::Relaxed);
        // SAFETY: sigaction with a zeroed struct as the "old action" output, then with a
        // handler that only touches atomics and makes async-signal-safe calls (mmap,
        // sigaction). PREVIOUS is set before the handler can run.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) != 0 {
                return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
            let _ = PREVIOUS.set(old);
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
        }
        Ok(())
    });
    r.map_err(io::Error::from_raw_os_error)
}

/// The SIGBUS handler: zero pages over the rest of a guarded mapping that faulted.
extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO; si_addr is the faulting
    // address for SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for i in 0..SLOTS {
        let start = STARTS[i].load(Ordering::Acquire);
        if start == 0 {
            continue;
        }
        let len = LENS[i].load(Ordering::Acquire);
        if addr < start || addr >= start + len {
            continue;
        }
        let from = addr & !(page - 1);
        let to = (start + len).div_ceil(page) * page;
        // SAFETY: [from, to) lies inside a mapping this process made and still holds (the slot
        // is cleared before it is unmapped); replacing its pages with private anonymous zero
        // pages changes what reads of it return (zeros instead of a fault) and nothing else.
        // The Mmap's own munmap later removes these pages with the rest.
        let r = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                to - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if r != libc::MAP_FAILED {
            FAULTED[i].store(true, Ordering::Release);
            return;
        }
        break;
    }
    // Not ours (or the remap failed): hand the fault to the previous action, which sees it
    // again when the faulting instruction is retried.
    // SAFETY: sigaction is async-signal-safe; PREVIOUS was read from the kernel.
    unsafe {
        match PREVIOUS.get() {
            Some(prev) => libc::sigaction(libc::SIGBUS, prev, std::ptr::null_mut()),
            None => {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
                0
            }
        };
    }
}

/// A read-only mapping of a file, registered with the SIGBUS guard while it lives.
pub(crate) struct Mapped {
    map: Mmap,
    slot: Option<usize>,
    /// A duplicate of the mapped file's descriptor, to report its size after a fault.
    file: Option<File>,
    path: Option<PathBuf>,
}

impl std::ops::Deref for Mapped {
    type Target = Mmap;

    fn deref(&self) -> &Mmap {
        &self.map
    }
}

impl Mapped {
    fn new(map: Mmap, file: &File, path: Option<&Path>) -> Mapped {
        let start = map.as_ptr() as usize;
        let slot = if map.is_empty() {
            None
        } else {
            (0..SLOTS).find(|&i| {
                // Claim a free slot; the length is stored before the start makes it visible.
                if STARTS[i].load(Ordering::Acquire) != 0 {
                    return false;
                }
                LENS[i].store(map.len(), Ordering::Release);
                FAULTED[i].store(false, Ordering::Release);
                STARTS[i]
                    .compare_exchange(0, start, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            })
        };
        if slot.is_none() && !map.is_empty() {
            log::debug!("all {SLOTS} SIGBUS guard slots are in use: mapping unguarded");
        }
        Mapped {
            map,
            slot,
            file: file.try_clone().ok(),
            path: path.map(Path::to_path_buf),
        }
    }

    /// The error to end the scan with when the file shrank under the mapping (the SIGBUS
    /// guard caught a read past its new end), else `None`.
    #[inline]
    pub(crate) fn shrunk(&self) -> Option<Error> {
        let i = self.slot?;
        if !FAULTED[i].load(Ordering::Acquire) {
            return None;
        }
        self.shrunk_error()
    }

    /// [`Mapped::shrunk`]'s error, once the guard has flagged the mapping.
    #[cold]
    fn shrunk_error(&self) -> Option<Error> {
        let now = self
            .file
            .as_ref()
            .and_then(|f| rustix::fs::fstat(f).ok())
            .map_or_else(|| "?".to_string(), |st| st.st_size.to_string());
        let e = io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "shrank from {} to {now} bytes during the scan",
                self.map.len()
            ),
        );
        Some(Error::io(self.path.as_deref(), e))
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            // Unregister before the mapping goes (the fields drop after this).
            STARTS[i].store(0, Ordering::Release);
        }
    }
}

/// Pages behind the cursor are released in steps of this many bytes: small enough to keep
/// resident memory low, large enough that madvise calls cost nothing measurable.
pub(crate) const RELEASE_STEP: usize = 2 << 20;

/// Maps `file` read-only and advises sequential access.
///
/// # Safety
///
/// The caller promises that nobody modifies the file while the mapping lives (a modified one
/// changes bytes under `&[u8]` borrows), and that nobody truncates it, unless [`guard_sigbus`]
/// is installed: a truncated mapped file raises SIGBUS on access, which the guard turns into
/// zero pages and a flag ([`Mapped::shrunk`]).
pub(crate) unsafe fn map(file: &File, path: Option<&Path>) -> Result<Mapped, Error> {
    // SAFETY: passed on from the caller (see above).
    let map = unsafe { Mmap::map(file) }.map_err(|e| Error::io(path, e))?;
    if let Err(e) = map.advise(Advice::Sequential) {
        log::debug!("madvise(SEQUENTIAL) failed, continuing: {e}");
    }
    Ok(Mapped::new(map, file, path))
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
    map: Option<&'m Mapped>,
    released: usize,
    page: usize,
    /// [`Pager::release_before`] releases once this much has accumulated.
    step: usize,
}

impl<'m> Pager<'m> {
    /// A pager for a mapping, or one that does nothing (`None`, for slices).
    pub(crate) fn new(map: Option<&'m Mapped>) -> Pager<'m> {
        Pager {
            map,
            released: 0,
            page: rustix::param::page_size(),
            step: RELEASE_STEP,
        }
    }

    /// A pager over the same mapping for a scan that starts at `offset` (a chunk of a
    /// parallel scan): it releases nothing before `offset`.
    pub(crate) fn at(&self, offset: usize) -> Pager<'m> {
        Pager {
            map: self.map,
            released: offset,
            page: self.page,
            step: self.step,
        }
    }

    /// This pager with [`Pager::release_before`] releasing once `step` bytes have accumulated
    /// (at least [`RELEASE_STEP`]).
    pub(crate) fn with_step(mut self, step: usize) -> Pager<'m> {
        self.step = step.max(RELEASE_STEP);
        self
    }

    /// The error to end the scan with when the mapped file shrank under it (see
    /// [`Mapped::shrunk`]): checked by the scan loop at each line.
    #[inline]
    pub(crate) fn shrunk(&self) -> Option<Error> {
        self.map.and_then(Mapped::shrunk)
    }

    /// Tells the pager that no byte before `offset` will be read again without a refault,
    /// and that no borrow of those bytes is alive. Releases whole pages once a step's worth
    /// has accumulated.
    #[inline]
    pub(crate) fn release_before(&mut self, offset: usize) {
        if self.map.is_none() || offset < self.released + self.step {
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
        // one else can open them; a truncation caught by the SIGBUS guard turned the pages
        // past the end into anonymous zero pages, which DONTNEED zero-fills again, and ends
        // the scan with an error). MADV_DONTNEED on such a mapping only drops our page-table
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
