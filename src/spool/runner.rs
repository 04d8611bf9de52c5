//! The [`Runner`]: options, and starting the child with its output on pipes that the pump
//! moves into the spools.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Seek, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::Signal;

use super::group::{Group, Watchdog};
use super::pump::{Pipes, Pump};
use super::running::{POLL_MAX, POLL_MIN, Running, later};
use super::{DEFAULT_GRACE, Run, RunStdin, SpoolError, resolve_spool_dir};

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
    /// `/dev/null`, no size cap, and the default spool directory: `SPOOLSCAN_DIR` when it
    /// names a writable directory (else a warning in [`Run::warnings`]), else the system
    /// temporary directory.
    pub fn new(mut cmd: Command) -> Runner {
        let parent = rustix::process::getpid();
        // SAFETY: the closure runs in the forked child before exec, and only makes
        // async-signal-safe system calls (signal, prctl, getppid); it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                // spoolscan ignores SIGXFSZ (its writes then fail with EFBIG); an ignored
                // signal stays ignored across exec, so give the command the default back.
                libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
                // Nothing outlives spoolscan: the command is killed when the thread that
                // spawned it ends (the process, for a thread that lives as long as the run).
                rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
                // The parent may have died before the prctl: then nobody would kill us.
                if rustix::process::getppid() != Some(parent) {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
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
    /// period, then `SIGKILL`). A duration too large to add to the clock
    /// (`Duration::MAX`) saturates: no timeout in practice. Default: no
    /// timeout.
    pub fn timeout(&mut self, d: Duration) -> &mut Self {
        self.timeout = Some(d);
        self
    }

    /// Time between `SIGTERM` and `SIGKILL` on timeout (or a forwarded
    /// signal). A duration too large to add saturates, as for
    /// [`timeout`](Runner::timeout). Default: 5 s.
    pub fn grace(&mut self, d: Duration) -> &mut Self {
        self.grace = d;
        self
    }

    /// What the child reads on stdin. Default: [`RunStdin::Null`].
    pub fn stdin(&mut self, s: RunStdin) -> &mut Self {
        self.stdin = s;
        self
    }

    /// Caps each of the stdout and stderr spools at `bytes`, exactly: the
    /// pump writes the first `bytes` bytes of a stream and no more. A child
    /// that writes more is killed (with its process group) at once and the
    /// run reports [`SpoolFault::CapExceeded`](super::SpoolFault::CapExceeded).
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
    /// forwarded signals and spool faults are handled by
    /// [`Running::try_wait`] and [`Running::wait`]: call one of them
    /// regularly (every few milliseconds to tens of milliseconds).
    ///
    /// The child gets `PR_SET_PDEATHSIG(SIGKILL)`: it is killed when the
    /// *thread* calling this ends (so that it never outlives spoolscan, even
    /// one killed by `SIGKILL`). Start a run from a thread that lives at least
    /// as long as the run.
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
        let spawn_err = |source: io::Error| SpoolError::Spawn {
            program: program.clone(),
            source,
        };
        let pipes = Pipes::new().map_err(spawn_err)?;
        let files = [
            out.try_clone().map_err(spool_err)?,
            err.try_clone().map_err(spool_err)?,
        ];
        let Pipes {
            read,
            write: [out_w, err_w],
        } = pipes;
        self.cmd
            .stdin(stdin)
            .stdout(Stdio::from(out_w))
            .stderr(Stdio::from(err_w))
            .process_group(0);
        let watchdog = Watchdog::start();
        let start = Instant::now();
        let spawned = self.cmd.spawn();
        // Drop the Command's copies of the pipes' write ends (the pump sees the end of a
        // stream only once every writer is gone) and of stdin.
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = match spawned {
            Ok(child) => child,
            Err(e) => return Err(classify_spawn_error(&self.cmd, program, e)),
        };
        // From here on, dropping the group kills it and reaps the child.
        let group = Group::new(child, watchdog);
        let pump = Pump::start(read, files, self.max_spool, dir.clone(), group.pgid).map_err(
            |source| SpoolError::Wait {
                program: program.clone(),
                source,
            },
        )?;
        Ok(Running {
            pump,
            group,
            out,
            err,
            dir,
            warnings,
            program,
            start,
            deadline: self.timeout.map(|t| later(start, t)),
            grace: self.grace,
            max_spool: self.max_spool,
            poll_max: POLL_MAX,
            nap: POLL_MIN,
            timed_out: false,
            kill_at: None,
            killed: false,
            fault: None,
            exited_at: None,
            forward: self.forward.clone(),
        })
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
