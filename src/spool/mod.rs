//! Spooled subprocess runs.
//!
//! A [`Runner`] starts a child process whose standard output and standard error are pipes. A
//! pump thread of spoolscan moves what arrives on them into two unnamed temporary files (the
//! "spools") in a spool directory, with `splice(2)`: the bytes go from the pipe to the file
//! inside the kernel, never through spoolscan's memory, so its memory does not grow with the
//! size of the output. When the child is done, the [`Run`] hands the spools back for scanning
//! (for example by mapping them).
//!
//! [`Runner::run`] waits for the child. [`Runner::start`] returns a [`Running`] child instead,
//! whose spools can be followed while the pump writes them ([`Running::stdout_follower`]:
//! retained events as soon as their lines are complete), then waited for with the same
//! timeout, cap and clean-up.
//!
//! # Why pipes
//!
//! Only spoolscan holds the spool files: the child, its grandchildren, and anything they start
//! hold a pipe, not the file. So
//!
//! * nobody else can truncate a spool (a mapped spool that shrinks would kill spoolscan with
//!   `SIGBUS`), rewind it, or grow it: the pump writes at offsets of its own (not `O_APPEND`,
//!   which `splice` refuses) and stops exactly at the cap ([`Runner::max_spool`]);
//! * every write failure is spoolscan's own: a full disk (`ENOSPC`), the file size limit
//!   (`EFBIG`; the CLI ignores `SIGXFSZ`) or any other error stops the run with a
//!   [`SpoolFault`] naming the spool directory, and the run is marked truncated. Space freed a
//!   moment later changes nothing: the bytes that could not be written are counted lost.
//!
//! The module is split by concern: `runner` (options, spawning), `running` (the wait loop:
//! timeout, signals, faults), `group` (the process group), `pump` (pipes to spools) and `dir`
//! (choosing the spool directory).
//!
//! # Process control
//!
//! * The child runs in its own process group. A timeout sends `SIGTERM` (then `SIGCONT`, so
//!   that a stopped group can act on it) to the whole group, waits for the grace period, then
//!   sends `SIGKILL` to the group.
//! * After the child itself has exited, normally or not, every process left in its process
//!   group is killed with `SIGKILL`. A process that left the group (`setsid`, `setpgid`) and
//!   still holds a pipe gets a short grace ([`ESCAPE_GRACE`]) to finish writing; then the pump
//!   stops reading, and the run carries a warning naming the process. What it writes later is
//!   never read, and it cannot reach the spool.
//! * A size cap, a full disk or a write error makes the pump kill the group with `SIGKILL` at
//!   once and stop reading that stream; the run is returned with [`Run::fault`] set, so that
//!   callers can scan what was written and mark the result as truncated.
//! * Nothing outlives spoolscan: the child gets `PR_SET_PDEATHSIG(SIGKILL)`, so when spoolscan
//!   dies (even by `SIGKILL`) the child is killed. The kernel sends that signal when the
//!   *thread* that spawned the child ends, so call [`Runner::start`] or [`Runner::run`] from a
//!   thread that lives as long as the run (the main thread, in the CLI). The command's own
//!   children do not inherit it: a watchdog process (`/bin/sh`, in a group of its own) kills
//!   the command's whole process group when spoolscan dies before the run ends. Processes that
//!   left the group lose their reader (the pipes close with spoolscan) and get `SIGPIPE` or
//!   `EPIPE` when they write.
//!
//! Temporary files are created with [`tempfile::tempfile_in`], which uses `O_TMPFILE` on
//! Linux: the files never have a name, so they disappear when their last descriptor is closed,
//! on every path (errors, panics, or spoolscan being killed). On file systems without
//! `O_TMPFILE`, tempfile creates a named file and unlinks it immediately.

mod dir;
mod group;
mod pump;
mod runner;
mod running;

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

pub use self::dir::SPOOL_DIR_ENV;
pub(crate) use self::dir::resolve_spool_dir;
pub use self::runner::Runner;
pub use self::running::Running;

/// The default grace period between `SIGTERM` and `SIGKILL`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// How long a process that left the command's process group (`setsid`) may keep the output
/// pipes open once the command has exited and its group is gone; then the pump stops reading
/// them and the run gets a warning naming the process.
pub const ESCAPE_GRACE: Duration = Duration::from_millis(500);

/// Which of the child's output streams a spool or a fault is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The child's standard output (fd 1).
    Stdout,
    /// The child's standard error (fd 2).
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        })
    }
}

/// What the child reads on its standard input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RunStdin {
    /// `/dev/null` (the default).
    #[default]
    Null,
    /// These bytes. They are written to an unnamed temporary file in the
    /// spool directory first, so the parent never blocks feeding a pipe.
    Bytes(Vec<u8>),
    /// The file at this path, opened for reading.
    ///
    /// The child runs in its own process group, which is not the terminal's
    /// foreground group: a child reading from a terminal (`/dev/tty`) is
    /// stopped by `SIGTTIN`.
    File(PathBuf),
}

/// A problem with the spools of a run that completed: the output is
/// incomplete.
///
/// A run with a fault is still returned by [`Runner::run`] (callers may scan
/// the partial output and mark it truncated); [`Run::check`] turns it into a
/// [`SpoolError`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolFault {
    /// The child wrote more than the cap set with [`Runner::max_spool`]. The spool holds
    /// exactly the first `cap` bytes; the child's process group was killed.
    #[error("{stream} spool exceeded the spool size cap (max_spool) of {cap} bytes in {}", dir.display())]
    CapExceeded {
        /// The stream that exceeded the cap.
        stream: Stream,
        /// The cap, in bytes.
        cap: u64,
        /// The spool directory.
        dir: PathBuf,
    },
    /// The file system of the spool directory ran out of space (`ENOSPC`) while the pump
    /// was writing a spool: the output is incomplete, and the child's process group was
    /// killed.
    #[error(
        "spool directory {} is full (no space left on device): the command's output is incomplete",
        dir.display()
    )]
    DiskFull {
        /// The spool directory.
        dir: PathBuf,
    },
    /// A spool reached spoolscan's file size limit (`RLIMIT_FSIZE`: the write failed with
    /// `EFBIG`; a process that does not ignore `SIGXFSZ` is killed instead): the output is
    /// incomplete, and the child's process group was killed.
    #[error(
        "file too large (EFBIG: the file size limit, ulimit -f){}: the command's output in {} is incomplete",
        match stream { Some(s) => format!(" writing the {s} spool"), None => String::new() },
        dir.display()
    )]
    FileSizeLimit {
        /// The stream whose spool reached the limit.
        stream: Option<Stream>,
        /// The spool directory.
        dir: PathBuf,
    },
    /// Another error writing a spool (or reading the child's pipe): the output is
    /// incomplete, and the child's process group was killed.
    #[error("cannot write the {stream} spool in {}: {error}", dir.display())]
    WriteFailed {
        /// The stream.
        stream: Stream,
        /// The spool directory.
        dir: PathBuf,
        /// The error, as text (faults are cloneable and comparable).
        error: String,
    },
}

impl SpoolFault {
    /// The stream the fault is about, when it is about one stream.
    pub fn stream(&self) -> Option<Stream> {
        match self {
            SpoolFault::CapExceeded { stream, .. } => Some(*stream),
            SpoolFault::DiskFull { .. } => None,
            SpoolFault::FileSizeLimit { stream, .. } => *stream,
            SpoolFault::WriteFailed { stream, .. } => Some(*stream),
        }
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        match self {
            SpoolFault::CapExceeded { dir, .. }
            | SpoolFault::DiskFull { dir }
            | SpoolFault::FileSizeLimit { dir, .. }
            | SpoolFault::WriteFailed { dir, .. } => dir,
        }
    }
}

/// An error running a spooled child.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// The program was not found (exit status 127 in the CLI).
    #[error("{program}: command not found")]
    NotFound {
        /// The program, as given to the [`Command`](std::process::Command).
        program: String,
        /// The error from starting it.
        source: io::Error,
    },
    /// The program exists but cannot be executed: permission denied, not an
    /// executable format, a missing interpreter (exit status 126 in the CLI).
    #[error("{program}: cannot execute: {source}")]
    NotExecutable {
        /// The program, as given to the [`Command`](std::process::Command).
        program: String,
        /// The error from starting it.
        source: io::Error,
    },
    /// The program could not be started for another reason (for example a
    /// missing working directory, or a resource limit).
    #[error("{program}: cannot start: {source}")]
    Spawn {
        /// The program, as given to the [`Command`](std::process::Command).
        program: String,
        /// The error from starting it.
        source: io::Error,
    },
    /// A spool file (or the spooled standard input) could not be created or
    /// written in the spool directory.
    #[error("cannot spool in {}: {source}", dir.display())]
    SpoolDir {
        /// The spool directory.
        dir: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file given with [`RunStdin::File`] could not be opened.
    #[error("cannot open stdin file {}: {source}", path.display())]
    Stdin {
        /// The path given.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Waiting for, or signalling, the child failed.
    #[error("{program}: waiting for the child failed: {source}")]
    Wait {
        /// The program, as given to the [`Command`](std::process::Command).
        program: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The run completed but its spools are incomplete (see [`Run::check`]).
    #[error(transparent)]
    Fault(#[from] SpoolFault),
}

impl SpoolError {
    /// The exit status `spoolscan run` gives this error: 127 when the program is
    /// not found, 126 when it cannot be executed, 125 for everything else
    /// (spoolscan itself failed).
    pub fn exit_code(&self) -> i32 {
        match self {
            SpoolError::NotFound { .. } => 127,
            SpoolError::NotExecutable { .. } => 126,
            _ => 125,
        }
    }
}

/// One spooled output stream of a finished run: an unnamed temporary file.
///
/// Only spoolscan ever held the file (the child wrote into a pipe), so its size and contents
/// are final. The file's offset is at 0 when the run is returned. [`Spool::head`] and
/// [`Spool::tail`] use positioned reads and do not move it. The file is
/// deleted when it is dropped (it never had a name).
#[derive(Debug)]
pub struct Spool {
    file: File,
    len: u64,
    dir: PathBuf,
    stream: Stream,
}

impl Spool {
    /// The spool file, open for reading and writing. Map it or read it.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The length of the spool in bytes (at most the cap, if one was set).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the child wrote nothing to this stream.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The spool directory the file lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Which stream this spool holds.
    pub fn stream(&self) -> Stream {
        self.stream
    }

    /// The first `n` bytes of the spool (fewer if it is shorter).
    pub fn head(&self, n: usize) -> io::Result<Vec<u8>> {
        let n = usize::try_from(self.len).map_or(n, |len| len.min(n));
        self.read_range(0, n)
    }

    /// The last `n` bytes of the spool (fewer if it is shorter). `spoolscan run`
    /// passes on the last 64 KiB of stderr on failure: `tail(64 * 1024)`.
    pub fn tail(&self, n: usize) -> io::Result<Vec<u8>> {
        let n = usize::try_from(self.len).map_or(n, |len| len.min(n));
        self.read_range(self.len - n as u64, n)
    }

    /// Gives up the spool and returns its file (still unnamed).
    pub fn into_file(self) -> File {
        self.file
    }

    /// Drops the spool's pages from the page cache
    /// (`posix_fadvise(POSIX_FADV_DONTNEED)`), typically after it has been
    /// scanned: page cache counts toward a container's memory limit.
    pub fn drop_cache(&self) -> io::Result<()> {
        rustix::fs::fadvise(&self.file, 0, None, rustix::fs::Advice::DontNeed)?;
        Ok(())
    }

    fn read_range(&self, offset: u64, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        let mut got = 0;
        while got < n {
            match self.file.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(got);
        Ok(buf)
    }
}

/// The result of a spooled run.
///
/// A run is returned whenever the child was started, including when it timed
/// out or its spools hit a fault; check [`Run::fault`] (or call
/// [`Run::check`]) before treating the output as complete.
#[derive(Debug)]
#[non_exhaustive]
pub struct Run {
    /// The child's exit status. A child killed by a signal reports it through
    /// [`ExitStatusExt::signal`].
    pub status: ExitStatus,
    /// Whether the timeout expired and the group was sent `SIGTERM`.
    pub timed_out: bool,
    /// Time from starting the child to its exit.
    pub elapsed: Duration,
    /// The child's standard output.
    pub stdout: Spool,
    /// The child's standard error.
    pub stderr: Spool,
    /// The spool directory used.
    pub dir: PathBuf,
    /// Warnings (spool directory fallback, RAM-backed spool directory, processes that
    /// survived `SIGKILL`, processes outside the group that held the output pipes open after
    /// the command ended). Each was also logged with `log::warn!`.
    pub warnings: Vec<String>,
    /// Why the spools are incomplete, if they are.
    pub fault: Option<SpoolFault>,
}

impl Run {
    /// The exit status `spoolscan run` gives this run: 125 when the spools have a
    /// [`fault`](Run::fault) (cap exceeded, disk full, write error); 124 when it timed
    /// out; `128 + N` when the child was killed by signal `N`; otherwise the
    /// child's exit code.
    pub fn exit_code(&self) -> i32 {
        if self.fault.is_some() {
            125
        } else if self.timed_out {
            124
        } else if let Some(sig) = self.status.signal() {
            128 + sig
        } else {
            self.status.code().unwrap_or(125)
        }
    }

    /// The signal that killed the child, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    /// Whether the spooled output is incomplete (a [`fault`](Run::fault) is
    /// set): the report's `truncated`.
    pub fn is_truncated(&self) -> bool {
        self.fault.is_some()
    }

    /// `Ok` when the spools are complete, else the fault as an error.
    pub fn check(&self) -> Result<(), SpoolError> {
        match &self.fault {
            None => Ok(()),
            Some(f) => Err(SpoolError::Fault(f.clone())),
        }
    }

    /// The spool of `stream`.
    pub fn spool(&self, stream: Stream) -> &Spool {
        match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }
}
