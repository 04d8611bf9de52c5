//! Process-wide signal dispositions the CLI sets before doing anything else.

/// Installs the SIGBUS guard ([`spoolscan::guard_sigbus`]): a file another process truncates
/// while it is mapped ends the scan with an I/O error (exit status 1) naming the file and its
/// sizes, instead of killing spoolscan. Then ignores `SIGXFSZ`, so that a write past the file size limit (`ulimit -f`) fails with
/// `EFBIG` and becomes an error naming the file or spool directory (exit status 1, or 125 for
/// `run`), instead of killing spoolscan without a word (exit status 153). Commands started by
/// `run` get the default disposition back before they exec.
pub fn setup() {
    if let Err(e) = spoolscan::guard_sigbus() {
        log::debug!("cannot install the SIGBUS guard: {e}");
    }
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code; it is
    // done once, at start-up, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
