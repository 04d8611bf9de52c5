//! Spooled subprocess runs (DESIGN §7 and §11).
//!
//! A [`Runner`] starts a child process whose standard output and standard
//! error *are* two unnamed temporary files (the "spools") in a spool
//! directory. The child writes to them directly: its output never passes
//! through the parent, so the parent's memory does not grow with the size of
//! the output. When the child is done, the [`Run`] hands the spools back for
//! scanning (for example by mapping them).
//!
//! [`Runner::run`] waits for the child. [`Runner::start`] returns a
//! [`Running`] child instead, whose spools can be followed while it runs
//! ([`Running::stdout_follower`]: retained events as soon as their lines are
//! complete), then waited for with the same timeout, cap and clean-up.
//!
//! Process control:
//!
//! * The child runs in its own process group. A timeout sends `SIGTERM` (then
//!   `SIGCONT`, so that a stopped group can act on it) to the whole group,
//!   waits for the grace period, then sends `SIGKILL` to the group.
//! * After the child itself has exited, normally or not, every process left in
//!   its process group (grandchildren that inherited the spools) is killed with
//!   `SIGKILL`, so nothing keeps appending to a spool while it is scanned.
//!   Processes that leave the group (`setsid`, `setpgid`) escape this.
//! * An optional size cap ([`Runner::max_spool`]) applies to stdout and
//!   stderr separately. The parent checks the spool sizes while it waits; when
//!   a spool exceeds the cap, the group is killed with `SIGKILL` and the spool
//!   is truncated back to the cap. The run is still returned, with
//!   [`Run::fault`] set, so that callers can scan what was written and mark the
//!   result as truncated.
//! * A full disk cannot be seen by the parent directly (the child gets the
//!   write error). The parent watches the free space of the spool file system
//!   while the child runs and after it exits, and a child killed by `SIGXFSZ`
//!   or a spool that reached the file size limit is treated the same way: the
//!   run carries a [`SpoolFault`] naming the spool directory, so a truncated
//!   spool is never passed off as complete.
//!
//! Temporary files are created with [`tempfile::tempfile_in`], which uses
//! `O_TMPFILE` on Linux: the files never have a name, so they disappear when
//! their last descriptor is closed, on every path (errors, panics, or the
//! parent being killed). On file systems without `O_TMPFILE`, tempfile creates
//! a named file and unlinks it immediately.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Seek, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{Pid, Signal};

use crate::follow::Follower;
use crate::scanner::Scanner;

/// The environment variable naming the default spool directory.
pub const SPOOL_DIR_ENV: &str = "SPOOLSCAN_DIR";

/// `f_type` of a tmpfs file system (`statfs(2)`).
const TMPFS_MAGIC: u32 = 0x0102_1994;
/// `f_type` of a ramfs file system (`statfs(2)`).
const RAMFS_MAGIC: u32 = 0x8584_58f6;

/// The default grace period between `SIGTERM` and `SIGKILL`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// First sleep of the wait loop; it doubles up to the maximum below.
const POLL_MIN: Duration = Duration::from_millis(1);
/// Longest sleep of the wait loop without a size cap.
const POLL_MAX: Duration = Duration::from_millis(25);
/// Longest sleep of the wait loop with a size cap (bounds the overshoot a
/// fast writer can put on disk before it is stopped).
const POLL_MAX_CAPPED: Duration = Duration::from_millis(5);
/// How long to wait for killed group members to die before giving up.
const GROUP_DEATH_WAIT: Duration = Duration::from_secs(2);

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
    /// A spool grew past the cap set with [`Runner::max_spool`]. The child's
    /// process group was killed and the spool truncated to `cap` bytes.
    #[error("{stream} spool exceeded the spool size cap (max_spool) of {cap} bytes in {}", dir.display())]
    CapExceeded {
        /// The stream that exceeded the cap.
        stream: Stream,
        /// The cap, in bytes.
        cap: u64,
        /// The spool directory.
        dir: PathBuf,
    },
    /// The file system of the spool directory ran out of space while the
    /// child was writing: writes to the spools may have failed.
    #[error(
        "spool directory {} is full (no space left on device): the child's output may be incomplete",
        dir.display()
    )]
    DiskFull {
        /// The spool directory.
        dir: PathBuf,
    },
    /// The child hit its file size limit (`RLIMIT_FSIZE`, `SIGXFSZ`/`EFBIG`):
    /// writes to the spools may have failed.
    #[error(
        "the child hit its file size limit (RLIMIT_FSIZE){}: spooled output in {} may be incomplete",
        match stream { Some(s) => format!(" writing its {s} spool"), None => String::new() },
        dir.display()
    )]
    FileSizeLimit {
        /// The stream whose spool reached the limit, when known (a child
        /// killed by `SIGXFSZ` may have been writing anywhere).
        stream: Option<Stream>,
        /// The spool directory.
        dir: PathBuf,
    },
}

impl SpoolFault {
    /// The stream the fault is about, when it is about one stream.
    pub fn stream(&self) -> Option<Stream> {
        match self {
            SpoolFault::CapExceeded { stream, .. } => Some(*stream),
            SpoolFault::DiskFull { .. } => None,
            SpoolFault::FileSizeLimit { stream, .. } => *stream,
        }
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        match self {
            SpoolFault::CapExceeded { dir, .. }
            | SpoolFault::DiskFull { dir }
            | SpoolFault::FileSizeLimit { dir, .. } => dir,
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
        /// The program, as given to the [`Command`].
        program: String,
        /// The error from starting it.
        source: io::Error,
    },
    /// The program exists but cannot be executed: permission denied, not an
    /// executable format, a missing interpreter (exit status 126 in the CLI).
    #[error("{program}: cannot execute: {source}")]
    NotExecutable {
        /// The program, as given to the [`Command`].
        program: String,
        /// The error from starting it.
        source: io::Error,
    },
    /// The program could not be started for another reason (for example a
    /// missing working directory, or a resource limit).
    #[error("{program}: cannot start: {source}")]
    Spawn {
        /// The program, as given to the [`Command`].
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
        /// The program, as given to the [`Command`].
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
/// The file's offset is at 0 when the run is returned. [`Spool::head`] and
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

    /// The length of the spool in bytes, when the run finished (after
    /// truncation to the cap, if any).
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
    /// Warnings (spool directory fallback, RAM-backed spool directory,
    /// processes that survived `SIGKILL`). Each was also logged with
    /// `log::warn!`.
    pub warnings: Vec<String>,
    /// Why the spools are incomplete, if they are.
    pub fault: Option<SpoolFault>,
}

impl Run {
    /// The exit status `spoolscan run` gives this run: 125 when the spools have a
    /// [`fault`](Run::fault) (cap exceeded, disk full); 124 when it timed
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

/// Chooses the spool directory: `explicit`, else `$SPOOLSCAN_DIR`, else
/// [`std::env::temp_dir`]. Returns the directory and warnings.
///
/// See [`resolve_spool_dir_from`] for the rules; this reads the environment.
/// The warnings are not logged here ([`Runner::run`] logs them).
#[doc(hidden)] // Not part of the API: public for tests/spool.rs only.
pub fn resolve_spool_dir(explicit: Option<&Path>) -> (PathBuf, Vec<String>) {
    let env = std::env::var_os(SPOOL_DIR_ENV);
    resolve_spool_dir_from(explicit, env.as_deref())
}

/// Chooses the spool directory from an explicit choice and the value of
/// `SPOOLSCAN_DIR` (passed in, so that callers and tests need not touch the
/// process environment). Returns the directory and warnings.
///
/// * `explicit` wins and is not checked here (creating a spool in it fails
///   with [`SpoolError::SpoolDir`] if it is unusable: the user asked for it).
/// * Else `env`, when set: a value that is not a writable directory (missing,
///   not a directory, empty, or a probe file cannot be created in it) gives
///   exactly one warning and falls back to [`std::env::temp_dir`].
/// * Else [`std::env::temp_dir`].
///
/// A chosen directory on tmpfs or ramfs adds a warning that the spool will be
/// held in RAM.
#[doc(hidden)] // Not part of the API: public for tests/spool.rs only.
pub fn resolve_spool_dir_from(
    explicit: Option<&Path>,
    env: Option<&OsStr>,
) -> (PathBuf, Vec<String>) {
    let mut warnings = Vec::new();
    let dir = if let Some(dir) = explicit {
        dir.to_path_buf()
    } else if let Some(value) = env {
        match check_writable_dir(Path::new(value)) {
            Ok(()) => PathBuf::from(value),
            Err(why) => {
                let fallback = std::env::temp_dir();
                warnings.push(format!(
                    "{SPOOL_DIR_ENV}={} is not a writable directory ({why}); spooling in {} instead",
                    Path::new(value).display(),
                    fallback.display()
                ));
                fallback
            }
        }
    } else {
        std::env::temp_dir()
    };
    if let Ok(Some(fs)) = ram_backed(&dir) {
        warnings.push(format!(
            "spool directory {} is on {fs}: spooled output will be held in RAM \
             (set {SPOOL_DIR_ENV} or the spool directory to a disk-backed one)",
            dir.display()
        ));
    }
    (dir, warnings)
}

/// Whether `dir` is on a RAM-backed file system: `Some("tmpfs")` or
/// `Some("ramfs")`, else `None`.
#[doc(hidden)] // Not part of the API: public for tests/spool.rs only.
pub fn ram_backed(dir: &Path) -> io::Result<Option<&'static str>> {
    let st = rustix::fs::statfs(dir)?;
    // f_type is a 32-bit magic number stored in a word of varying type.
    #[allow(clippy::unnecessary_cast)]
    let magic = st.f_type as u64 as u32;
    Ok(match magic {
        TMPFS_MAGIC => Some("tmpfs"),
        RAMFS_MAGIC => Some("ramfs"),
        _ => None,
    })
}

fn check_writable_dir(dir: &Path) -> Result<(), String> {
    if dir.as_os_str().is_empty() {
        return Err("empty path".into());
    }
    let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("not a directory".into());
    }
    // The only reliable writability test (root ignores modes, read-only
    // mounts, ACLs, quotas): create an unnamed file and drop it.
    tempfile::tempfile_in(dir).map_err(|e| e.to_string())?;
    Ok(())
}

/// Runs a child with its stdout and stderr spooled to unnamed temporary
/// files. Build it from a [`Command`], set options, then [`run`](Runner::run).
///
/// The [`Command`]'s stdin, stdout, stderr and process group are overridden.
///
/// # Example
///
/// ```
/// use std::process::Command;
/// use std::time::Duration;
/// use spoolscan::Runner;
///
/// let mut cmd = Command::new("sh");
/// cmd.args(["-c", "echo '{\"type\":\"hello\"}'; echo oops >&2; exit 3"]);
/// let run = Runner::new(cmd).timeout(Duration::from_secs(30)).run()?;
/// run.check()?; // the spools are complete
/// assert_eq!(run.stdout.head(1024)?, b"{\"type\":\"hello\"}\n");
/// assert_eq!(run.stderr.tail(64 * 1024)?, b"oops\n");
/// assert_eq!(run.exit_code(), 3);
/// assert!(!run.timed_out);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Runner {
    cmd: Command,
    spool_dir: Option<PathBuf>,
    timeout: Option<Duration>,
    grace: Duration,
    stdin: RunStdin,
    max_spool: Option<u64>,
    forward: Option<Arc<AtomicUsize>>,
}

impl Runner {
    /// A runner for `cmd`, with no timeout, a grace period of 5 s, stdin from
    /// `/dev/null`, no size cap, and the spool directory from
    /// [`resolve_spool_dir`].
    pub fn new(cmd: Command) -> Runner {
        Runner {
            cmd,
            spool_dir: None,
            timeout: None,
            grace: DEFAULT_GRACE,
            stdin: RunStdin::Null,
            max_spool: None,
            forward: None,
        }
    }

    /// Forwards signals to the child's process group while waiting for it.
    ///
    /// The child runs in a process group of its own, so a terminal's Ctrl-C (which goes to the
    /// foreground group) or a `SIGTERM` sent to this process does not reach it. Install
    /// handlers that store the number of the signal received into `pending` (with signal-hook,
    /// `signal_hook::flag::register_usize(sig, pending.clone(), sig as usize)`); the wait loop
    /// takes it (storing 0) within a few tens of milliseconds, sends that signal and `SIGCONT`
    /// to the group, and, unless the child has exited by the end of the grace period, kills
    /// the group, as a timeout does. The run then ends normally: the spools hold what the
    /// child wrote, and [`Run::signal`] usually names the forwarded signal. `spoolscan run`
    /// forwards `SIGINT`, `SIGTERM`, `SIGHUP` and `SIGQUIT` this way.
    ///
    /// # Example
    ///
    /// ```
    /// use std::process::Command;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use spoolscan::Runner;
    ///
    /// let pending = Arc::new(AtomicUsize::new(0));
    /// let mut cmd = Command::new("sleep");
    /// cmd.arg("30");
    /// let running = Runner::new(cmd).forward_signals(pending.clone()).start()?;
    /// // What a signal handler would do on Ctrl-C.
    /// pending.store(2, Ordering::SeqCst); // SIGINT
    /// let run = running.wait()?; // at once, not in 30 s
    /// assert_eq!(run.signal(), Some(2));
    /// assert_eq!(run.exit_code(), 130);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn forward_signals(&mut self, pending: Arc<AtomicUsize>) -> &mut Self {
        self.forward = Some(pending);
        self
    }

    /// The directory for the spools (and spooled stdin), instead of
    /// `$SPOOLSCAN_DIR` or the system temporary directory.
    pub fn spool_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// Stops the child's process group after `d` (`SIGTERM`, the grace
    /// period, then `SIGKILL`). Default: no timeout.
    pub fn timeout(&mut self, d: Duration) -> &mut Self {
        self.timeout = Some(d);
        self
    }

    /// Time between `SIGTERM` and `SIGKILL` on timeout. Default: 5 s.
    pub fn grace(&mut self, d: Duration) -> &mut Self {
        self.grace = d;
        self
    }

    /// What the child reads on stdin. Default: [`RunStdin::Null`].
    pub fn stdin(&mut self, s: RunStdin) -> &mut Self {
        self.stdin = s;
        self
    }

    /// Caps each of the stdout and stderr spools at `bytes`. A child whose
    /// output grows past it is killed (with its process group) and the spool
    /// is truncated to `bytes`; the run reports
    /// [`SpoolFault::CapExceeded`]. Sizes are checked while waiting (every
    /// few milliseconds), so the file may briefly exceed the cap on disk.
    pub fn max_spool(&mut self, bytes: u64) -> &mut Self {
        self.max_spool = Some(bytes);
        self
    }

    /// The command to run, to adjust it further.
    pub fn command_mut(&mut self) -> &mut Command {
        &mut self.cmd
    }

    /// Runs the child to completion and returns its spooled output: the same
    /// as [`start`](Runner::start) then [`Running::wait`].
    ///
    /// Warnings about the spool directory are logged with `log::warn!` and
    /// returned in [`Run::warnings`]. Errors: the program could not be
    /// started ([`SpoolError::NotFound`], [`SpoolError::NotExecutable`],
    /// [`SpoolError::Spawn`]), the spools could not be created
    /// ([`SpoolError::SpoolDir`]), stdin could not be opened, or waiting
    /// failed. A child that ran but whose spools are incomplete is returned
    /// with [`Run::fault`] set.
    pub fn run(&mut self) -> Result<Run, SpoolError> {
        self.start()?.wait()
    }

    /// Starts the child and returns at once, so that its output can be
    /// followed while it runs ([`Running::stdout_follower`]). The timeout,
    /// the size cap and the free-space watch are enforced by
    /// [`Running::try_wait`] and [`Running::wait`]: call one of them
    /// regularly (every few milliseconds to tens of milliseconds).
    ///
    /// Dropping the [`Running`] without waiting kills the child's process
    /// group. Errors: as for [`run`](Runner::run), except that waiting has
    /// not started.
    pub fn start(&mut self) -> Result<Running, SpoolError> {
        let (dir, warnings) = resolve_spool_dir(self.spool_dir.as_deref());
        for w in &warnings {
            log::warn!("{w}");
        }
        let spool_err = |source: io::Error| SpoolError::SpoolDir {
            dir: dir.clone(),
            source,
        };
        let out = tempfile::tempfile_in(&dir).map_err(spool_err)?;
        let err = tempfile::tempfile_in(&dir).map_err(spool_err)?;
        let stdin = match &self.stdin {
            RunStdin::Null => Stdio::null(),
            RunStdin::Bytes(bytes) => {
                let mut f = tempfile::tempfile_in(&dir).map_err(spool_err)?;
                f.write_all(bytes).map_err(spool_err)?;
                f.rewind().map_err(spool_err)?;
                Stdio::from(f)
            }
            RunStdin::File(path) => {
                Stdio::from(File::open(path).map_err(|source| SpoolError::Stdin {
                    path: path.clone(),
                    source,
                })?)
            }
        };
        let program = self.cmd.get_program().to_string_lossy().into_owned();
        self.cmd
            .stdin(stdin)
            .stdout(Stdio::from(out.try_clone().map_err(spool_err)?))
            .stderr(Stdio::from(err.try_clone().map_err(spool_err)?))
            .process_group(0);
        let start = Instant::now();
        let spawned = self.cmd.spawn();
        // Drop the Command's copies of the spool and stdin descriptors.
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = match spawned {
            Ok(child) => child,
            Err(e) => return Err(classify_spawn_error(&self.cmd, program, e)),
        };
        Ok(Running {
            group: Group::new(child),
            out,
            err,
            dir,
            warnings,
            program,
            start,
            deadline: self.timeout.map(|t| start + t),
            grace: self.grace,
            max_spool: self.max_spool,
            poll_max: if self.max_spool.is_some() {
                POLL_MAX_CAPPED
            } else {
                POLL_MAX
            },
            nap: POLL_MIN,
            timed_out: false,
            kill_at: None,
            killed: false,
            fault: None,
            disk_full: false,
            exited_at: None,
            forward: self.forward.clone(),
        })
    }
}

/// A child started by [`Runner::start`] that may still be running.
///
/// Its stdout and stderr spools can be followed while it runs
/// ([`Running::stdout_follower`]); [`Running::try_wait`] enforces the
/// timeout, the size cap and the free-space watch without blocking, and
/// [`Running::wait`] waits for the end and returns the [`Run`] (exactly what
/// [`Runner::run`] returns). Dropping it before `wait` kills the child's
/// process group and reaps the child.
///
/// # Example: live events while the child runs
///
/// ```
/// use std::process::Command;
/// use spoolscan::{Runner, Scanner, Selector, sinks::Raw};
///
/// let mut cmd = Command::new("sh");
/// cmd.args(["-c", r#"echo '{"type":"a"}'; sleep 0.1; echo '{"type":"b"}'; printf '{"type":"a"'"#]);
/// let mut running = Runner::new(cmd).start()?;
/// let scanner = Scanner::builder().select(Selector::new().equals("type", ["a"])?).build()?;
/// let mut follower = running.stdout_follower(scanner)?;
/// let mut seen = vec![];
/// let mut sink = Raw::new(|line| {
///     seen.push(line.number()); // each event as soon as its line is complete
///     Ok(true)
/// });
/// // Follow until the child exits (an error in try_wait shows up again in wait).
/// follower.follow(&mut sink, || running.try_wait().unwrap_or(true))?;
/// let run = running.wait()?;
/// let mut report = follower.finish(&mut sink)?;
/// report.truncated |= run.is_truncated();
/// drop(sink);
/// assert_eq!(seen, [1]);
/// // The last line was cut short: the same report as a full scan of the spool.
/// assert!(report.truncated);
/// assert_eq!((report.lines, report.retained, report.malformed_total), (3, 1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Running {
    group: Group,
    out: File,
    err: File,
    dir: PathBuf,
    warnings: Vec<String>,
    program: String,
    start: Instant,
    deadline: Option<Instant>,
    grace: Duration,
    max_spool: Option<u64>,
    poll_max: Duration,
    nap: Duration,
    timed_out: bool,
    kill_at: Option<Instant>,
    killed: bool,
    fault: Option<SpoolFault>,
    disk_full: bool,
    /// When the leader was first seen to have exited.
    exited_at: Option<Instant>,
    /// Signals to forward to the group (see [`Runner::forward_signals`]).
    forward: Option<Arc<AtomicUsize>>,
}

impl Running {
    /// The child's process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.group.child.id()
    }

    /// The spool directory used.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Warnings so far (the spool directory's); [`Run::warnings`] has these
    /// and any found while waiting.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Time since the child was started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Whether the timeout expired and the group was sent `SIGTERM`.
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// A [`Follower`] over the child's stdout spool: it yields the retained
    /// events of the scan as the child completes their lines. It reads no
    /// further than the size cap (the spool is cut back to it at the end),
    /// and polls at most every 25 ms (5 ms with a cap) while idle.
    ///
    /// To end the follow with the same report as a full scan of the
    /// finished spool: follow until [`try_wait`](Running::try_wait) returns
    /// true, call [`wait`](Running::wait) (which kills what is left of the
    /// process group and cuts the spool to the cap), then
    /// [`Follower::finish`], and set `truncated` when [`Run::is_truncated`].
    ///
    /// # Errors
    ///
    /// [`SpoolError::SpoolDir`] when the spool's descriptor cannot be
    /// duplicated.
    pub fn stdout_follower(&self, scanner: Scanner) -> Result<Follower, SpoolError> {
        self.follower(Stream::Stdout, scanner)
    }

    /// A [`Follower`] over the spool of `stream` (see
    /// [`stdout_follower`](Running::stdout_follower)).
    ///
    /// # Errors
    ///
    /// [`SpoolError::SpoolDir`] when the spool's descriptor cannot be
    /// duplicated.
    pub fn follower(&self, stream: Stream, scanner: Scanner) -> Result<Follower, SpoolError> {
        let file = match stream {
            Stream::Stdout => &self.out,
            Stream::Stderr => &self.err,
        };
        let file = file.try_clone().map_err(|e| self.spool_err(e))?;
        let mut f = Follower::new(scanner, file);
        f.max_wait(self.poll_max);
        if let Some(cap) = self.max_spool {
            f.limit(cap);
        }
        Ok(f)
    }

    fn spool_err(&self, source: io::Error) -> SpoolError {
        SpoolError::SpoolDir {
            dir: self.dir.clone(),
            source,
        }
    }

    fn wait_err(&self, source: io::Error) -> SpoolError {
        SpoolError::Wait {
            program: self.program.clone(),
            source,
        }
    }

    /// Without blocking: enforces the timeout (sending `SIGTERM`, then
    /// `SIGKILL` after the grace period), the size cap and the free-space
    /// watch, and says whether the child has exited. Once it has, call
    /// [`wait`](Running::wait), which then returns at once.
    ///
    /// Only the child itself is waited for here; [`wait`](Running::wait)
    /// kills the rest of its process group.
    ///
    /// # Errors
    ///
    /// [`SpoolError::Wait`] when checking on or signalling the child fails,
    /// [`SpoolError::SpoolDir`] when a spool's size cannot be read.
    pub fn try_wait(&mut self) -> Result<bool, SpoolError> {
        if self.exited_at.is_some() {
            return Ok(true);
        }
        if self.group.leader_exited().map_err(|e| self.wait_err(e))? {
            self.exited_at = Some(Instant::now());
            return Ok(true);
        }
        if self.fault.is_none() {
            if let Some(cap) = self.max_spool {
                let spools = [(Stream::Stdout, &self.out), (Stream::Stderr, &self.err)];
                for (stream, f) in spools {
                    if file_len(f).map_err(|e| self.spool_err(e))? > cap {
                        self.fault = Some(SpoolFault::CapExceeded {
                            stream,
                            cap,
                            dir: self.dir.clone(),
                        });
                        self.group
                            .signal(Signal::KILL)
                            .map_err(|e| self.wait_err(e))?;
                        self.killed = true;
                        break;
                    }
                }
            }
            self.disk_full |= fs_full(&self.out);
        }
        let now = Instant::now();
        self.forward_pending(now)?;
        if !self.killed {
            if let Some(at) = self.kill_at {
                if now >= at {
                    self.group
                        .signal(Signal::KILL)
                        .map_err(|e| self.wait_err(e))?;
                    self.killed = true;
                }
            } else if self.deadline.is_some_and(|d| now >= d) {
                self.timed_out = true;
                self.stop_group(Signal::TERM, now)?;
            }
        }
        Ok(false)
    }

    /// Sends a pending forwarded signal to the group, and starts the grace period.
    fn forward_pending(&mut self, now: Instant) -> Result<(), SpoolError> {
        let Some(pending) = &self.forward else {
            return Ok(());
        };
        let raw = pending.swap(0, Ordering::SeqCst);
        if raw == 0 || self.killed {
            return Ok(());
        }
        let Some(sig) = i32::try_from(raw).ok().and_then(Signal::from_named_raw) else {
            log::debug!("not forwarding unknown signal {raw}");
            return Ok(());
        };
        log::info!(
            "forwarding signal {raw} to the process group of {}",
            self.program
        );
        self.stop_group(sig, now)?;
        // Wake up promptly to see the child go.
        self.nap = POLL_MIN;
        Ok(())
    }

    /// Sends `sig` to the group, then `SIGCONT` (a stopped process acts on a signal only once
    /// continued), and starts the grace period after which the group is killed.
    fn stop_group(&mut self, sig: Signal, now: Instant) -> Result<(), SpoolError> {
        self.group.signal(sig).map_err(|e| self.wait_err(e))?;
        self.group
            .signal(Signal::CONT)
            .map_err(|e| self.wait_err(e))?;
        if self.kill_at.is_none() {
            self.kill_at = Some(now + self.grace);
        }
        Ok(())
    }

    /// The next sleep of the wait loop: doubling from 1 ms up to the
    /// maximum, and never past the next deadline.
    fn next_nap(&mut self) -> Duration {
        let next = if self.killed {
            None
        } else {
            self.kill_at.or(self.deadline)
        };
        let mut sleep = self.nap;
        if let Some(next) = next {
            sleep = sleep.min(next.saturating_duration_since(Instant::now()));
        }
        self.nap = (self.nap * 2).min(self.poll_max);
        sleep
    }

    /// Waits for the child to exit (enforcing the timeout, the size cap and
    /// the free-space watch), kills what is left of its process group, and
    /// returns the run, as [`Runner::run`] does.
    ///
    /// # Errors
    ///
    /// As for [`Runner::run`], once the child was started.
    pub fn wait(mut self) -> Result<Run, SpoolError> {
        while !self.try_wait()? {
            std::thread::sleep(self.next_nap());
        }
        let exited_at = self.exited_at.unwrap_or_else(Instant::now);
        let elapsed = exited_at.saturating_duration_since(self.start);
        let Running {
            mut group,
            out,
            err,
            dir,
            mut warnings,
            program,
            max_spool,
            timed_out,
            mut fault,
            disk_full,
            ..
        } = self;
        let wait_err = |source: io::Error| SpoolError::Wait {
            program: program.clone(),
            source,
        };
        let spool_err = |source: io::Error| SpoolError::SpoolDir {
            dir: dir.clone(),
            source,
        };
        // The leader has exited but is not reaped yet, so its pid (the group
        // id) cannot be reused: kill what is left of the group, then reap.
        group.signal(Signal::KILL).map_err(wait_err)?;
        let status = group.reap().map_err(wait_err)?;
        if !group.wait_members_dead(GROUP_DEATH_WAIT) {
            let w = format!(
                "processes of {program}'s process group were still running after SIGKILL; \
                 its spools may still grow"
            );
            log::warn!("{w}");
            warnings.push(w);
        }

        let spools = [(Stream::Stdout, &out), (Stream::Stderr, &err)];
        let mut lens = [0u64; 2];
        for (i, (stream, f)) in spools.into_iter().enumerate() {
            let mut len = file_len(f).map_err(spool_err)?;
            if let Some(cap) = max_spool
                && len > cap
            {
                rustix::fs::ftruncate(f, cap)
                    .map_err(io::Error::from)
                    .map_err(spool_err)?;
                len = cap;
                if fault.is_none() {
                    fault = Some(SpoolFault::CapExceeded {
                        stream,
                        cap,
                        dir: dir.clone(),
                    });
                }
            }
            lens[i] = len;
        }
        if fault.is_none() {
            fault = fsize_fault(&status, &lens, &dir);
        }
        if fault.is_none() && (disk_full || fs_full(&out)) {
            fault = Some(SpoolFault::DiskFull { dir: dir.clone() });
        }
        let mut out = out;
        let mut err = err;
        out.rewind().map_err(spool_err)?;
        err.rewind().map_err(spool_err)?;
        Ok(Run {
            status,
            timed_out,
            elapsed,
            stdout: Spool {
                file: out,
                len: lens[0],
                dir: dir.clone(),
                stream: Stream::Stdout,
            },
            stderr: Spool {
                file: err,
                len: lens[1],
                dir: dir.clone(),
                stream: Stream::Stderr,
            },
            dir,
            warnings,
            fault,
        })
    }
}

fn file_len(f: &File) -> io::Result<u64> {
    let st = rustix::fs::fstat(f)?;
    Ok(u64::try_from(st.st_size).unwrap_or(0))
}

/// Whether the file system holding `f` has no space left for ordinary
/// writers (`f_bavail == 0`). A writer without root privileges gets `ENOSPC`
/// at that point; root may go on into the reserved blocks, but then
/// `f_bavail` stays 0 until it fails too. Errors count as "not full".
fn fs_full(f: &File) -> bool {
    rustix::fs::fstatvfs(f).is_ok_and(|st| st.f_blocks > 0 && st.f_bavail == 0)
}

/// A file size limit fault: the child was killed by `SIGXFSZ`, or a spool
/// reached the file size limit the child inherited from this process.
fn fsize_fault(status: &ExitStatus, lens: &[u64; 2], dir: &Path) -> Option<SpoolFault> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Fsize).current;
    let stream = limit.and_then(|limit| {
        [Stream::Stdout, Stream::Stderr]
            .into_iter()
            .zip(lens)
            .find(|(_, len)| **len >= limit)
            .map(|(s, _)| s)
    });
    if stream.is_some() || status.signal() == Some(Signal::XFSZ.as_raw()) {
        Some(SpoolFault::FileSizeLimit {
            stream,
            dir: dir.to_path_buf(),
        })
    } else {
        None
    }
}

fn classify_spawn_error(cmd: &Command, program: String, e: io::Error) -> SpoolError {
    if let Some(cwd) = cmd.get_current_dir()
        && !cwd.is_dir()
    {
        let source = io::Error::new(
            e.kind(),
            format!("working directory {}: {e}", cwd.display()),
        );
        return SpoolError::Spawn { program, source };
    }
    match e.raw_os_error().map(Errno::from_raw_os_error) {
        Some(Errno::NOENT) => {
            // ENOENT also comes from an existing script whose interpreter
            // (`#!`) is missing: that program exists, so it is 126.
            if program_exists(cmd) {
                SpoolError::NotExecutable { program, source: e }
            } else {
                SpoolError::NotFound { program, source: e }
            }
        }
        Some(Errno::ACCESS | Errno::NOEXEC | Errno::ISDIR | Errno::PERM | Errno::TXTBSY) => {
            SpoolError::NotExecutable { program, source: e }
        }
        _ => SpoolError::Spawn { program, source: e },
    }
}

/// Whether the program names an existing file, directly or through `PATH`.
fn program_exists(cmd: &Command) -> bool {
    let program = Path::new(cmd.get_program());
    if program.as_os_str().is_empty() {
        return false;
    }
    if program.as_os_str().as_encoded_bytes().contains(&b'/') {
        let p = match cmd.get_current_dir() {
            Some(cwd) => cwd.join(program),
            None => program.to_path_buf(),
        };
        return p.is_file();
    }
    let path: Option<OsString> = cmd
        .get_envs()
        .find(|(k, _)| *k == "PATH")
        .map(|(_, v)| v.map(OsStr::to_os_string))
        .unwrap_or_else(|| std::env::var_os("PATH"));
    path.is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
}

/// The child and its process group. Dropping it before the child was reaped
/// (an error or a panic in the wait loop) kills the group and reaps the child,
/// so no process outlives the run and no zombie is left.
#[derive(Debug)]
struct Group {
    child: Child,
    pgid: Pid,
    reaped: bool,
}

impl Group {
    fn new(child: Child) -> Group {
        let pgid = Pid::from_child(&child);
        Group {
            child,
            pgid,
            reaped: false,
        }
    }

    /// Whether the leader has exited, without reaping it (`WNOWAIT`): while
    /// it is a zombie its pid stays reserved, so signalling its group id
    /// cannot hit an unrelated group.
    fn leader_exited(&self) -> io::Result<bool> {
        use rustix::process::{WaitId, WaitIdOptions, waitid};
        let opts = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match waitid(WaitId::Pid(self.pgid), opts) {
            Ok(status) => Ok(status.is_some()),
            Err(Errno::INTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Signals the whole group. A group that is gone is not an error.
    fn signal(&self, sig: Signal) -> io::Result<()> {
        match rustix::process::kill_process_group(self.pgid, sig) {
            Ok(()) | Err(Errno::SRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn reap(&mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(status)
    }

    /// Waits up to `limit` for every member of the group to be dead (gone, or
    /// a zombie: a zombie has closed its files). Returns false on timeout.
    fn wait_members_dead(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let mut nap = POLL_MIN;
        loop {
            if !group_has_live_members(self.pgid) {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(20));
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = rustix::process::kill_process_group(self.pgid, Signal::KILL);
            let _ = self.child.wait();
        }
    }
}

/// Whether a process of group `pgid` is alive and not a zombie. Orphaned
/// zombies count as dead: where the reaper of orphans does not reap (some
/// containers), they linger, but they hold no files.
fn group_has_live_members(pgid: Pid) -> bool {
    // EPERM (a member of another user) still means a member exists.
    if let Err(Errno::SRCH) = rustix::process::test_kill_process_group(pgid) {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // No procfs: the signal probe is all we have.
        return true;
    };
    let pgid = pgid.as_raw_nonzero().get();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold anything, so split
        // after its last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let pgrp = fields.nth(1).and_then(|s| s.parse::<i32>().ok());
        if pgrp == Some(pgid) && state != "Z" && state != "X" {
            return true;
        }
    }
    false
}
