//! The pump: a thread that moves the child's output from its two pipes into the spool files,
//! with `splice(2)` (pipe pages go to the file inside the kernel, never through our memory).
//!
//! The pump writes each spool at an offset it keeps itself, so the spool grows only by what it
//! wrote, and never past the cap: at the cap it reads one more byte to tell the end of the
//! stream (fine) from more output (a [`SpoolFault::CapExceeded`]). Every write error is its
//! own: `ENOSPC`, `EFBIG` and the rest become a [`SpoolFault`]. On a fault the pump kills the
//! child's process group at once (the leader is not reaped while the pump runs: the owner
//! stops the pump before reaping) and stops reading that stream.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rustix::event::{EventfdFlags, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::pipe::SpliceFlags;
use rustix::process::{Pid, Signal};

use super::{SpoolFault, Stream};

/// Bytes moved by one `splice` call at most (a pipe holds 64 KiB by default, 1 MiB after
/// [`PIPE_SIZE`] when the system allows it).
const CHUNK: usize = 1 << 20;
/// The pipe buffer size asked for: fewer wake-ups for a fast writer.
const PIPE_SIZE: usize = 1 << 20;
/// The copy buffer for file systems that do not support `splice` into a file.
const COPY_BUF: usize = 64 << 10;

/// What the pump and its owner share.
#[derive(Debug, Default)]
struct Shared {
    /// Bytes written to each spool so far.
    len: [AtomicU64; 2],
    /// The stream is finished: its end was read, or the pump stopped reading it.
    done: [AtomicBool; 2],
    /// The first fault.
    fault: Mutex<Option<SpoolFault>>,
    /// Set (with a wake-up) to make the pump stop reading.
    stop: AtomicBool,
}

/// The owner's handle of the pump thread. Dropping it stops the thread and waits for it.
#[derive(Debug)]
pub(super) struct Pump {
    shared: Arc<Shared>,
    /// An eventfd the thread polls: written to wake it up.
    wake: Arc<OwnedFd>,
    /// Disconnects when the thread ends.
    ended: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
    /// Inode numbers of the two pipes (to name the processes that still hold them).
    pipe_ino: [u64; 2],
}

/// The two pipes of a child, before it is spawned.
pub(super) struct Pipes {
    /// Read ends (ours), stdout then stderr.
    pub(super) read: [OwnedFd; 2],
    /// Write ends (the child's stdout and stderr).
    pub(super) write: [OwnedFd; 2],
}

impl Pipes {
    /// Two pipes, close-on-exec (the child gets its ends through dup2, which clears the flag);
    /// our read ends are non-blocking.
    pub(super) fn new() -> io::Result<Pipes> {
        let mk = || -> io::Result<(OwnedFd, OwnedFd)> {
            let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
            let flags = rustix::fs::fcntl_getfl(&r)?;
            rustix::fs::fcntl_setfl(&r, flags | rustix::fs::OFlags::NONBLOCK)?;
            if let Err(e) = rustix::pipe::fcntl_setpipe_size(&r, PIPE_SIZE) {
                log::debug!("cannot grow the pipe to {PIPE_SIZE} bytes, continuing: {e}");
            }
            Ok((r, w))
        };
        let (out_r, out_w) = mk()?;
        let (err_r, err_w) = mk()?;
        Ok(Pipes {
            read: [out_r, err_r],
            write: [out_w, err_w],
        })
    }
}

/// What the pump thread works with.
struct Work {
    pipes: [Option<OwnedFd>; 2],
    files: [File; 2],
    off: [u64; 2],
    /// Per stream: `splice` is not supported into this file, copy instead.
    copy: [bool; 2],
    cap: Option<u64>,
    dir: PathBuf,
    pgid: Pid,
    shared: Arc<Shared>,
    wake: Arc<OwnedFd>,
    /// Pipes no longer read after a fault, kept open until the thread ends.
    parked: Vec<OwnedFd>,
}

impl Pump {
    /// Starts the pump over the read ends of `pipes` (the write ends must be gone from this
    /// process once the child is spawned) into `files` (stdout's spool, then stderr's). On a
    /// fault it kills process group `pgid`.
    pub(super) fn start(
        read: [OwnedFd; 2],
        files: [File; 2],
        cap: Option<u64>,
        dir: PathBuf,
        pgid: Pid,
    ) -> io::Result<Pump> {
        let pipe_ino = [ino(&read[0]), ino(&read[1])];
        let wake = Arc::new(rustix::event::eventfd(
            0,
            EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK,
        )?);
        let shared = Arc::new(Shared::default());
        let [out, err] = read;
        let mut work = Work {
            pipes: [Some(out), Some(err)],
            files,
            off: [0, 0],
            copy: [false, false],
            cap,
            dir,
            pgid,
            shared: shared.clone(),
            wake: wake.clone(),
            parked: Vec::new(),
        };
        let (tx, ended) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("spoolscan-pump".into())
            .spawn(move || {
                let _ended = tx; // dropped when the thread ends, whatever the path
                work.run();
            })?;
        Ok(Pump {
            shared,
            wake,
            ended,
            thread: Some(thread),
            pipe_ino,
        })
    }

    /// The first fault, if any.
    pub(super) fn fault(&self) -> Option<SpoolFault> {
        lock(&self.shared.fault).clone()
    }

    /// Bytes written to the spool of `stream` so far.
    pub(super) fn len(&self, stream: Stream) -> u64 {
        self.shared.len[idx(stream)].load(Ordering::Acquire)
    }

    /// Waits up to `grace` for both streams to end (every writer closed its end), then stops
    /// the pump. Returns the streams that had not ended, each with the processes (pid and
    /// name) that still held its pipe.
    pub(super) fn finish(&mut self, grace: Duration) -> Vec<(Stream, Vec<(i32, String)>)> {
        let _ = self.ended.recv_timeout(grace);
        let mut open = Vec::new();
        for stream in [Stream::Stdout, Stream::Stderr] {
            if !self.shared.done[idx(stream)].load(Ordering::Acquire) {
                open.push((stream, holders(self.pipe_ino[idx(stream)])));
            }
        }
        self.stop();
        open
    }

    /// Stops the thread and waits for it.
    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        let _ = rustix::io::write(&*self.wake, &1u64.to_ne_bytes());
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::warn!("the spool pump thread panicked");
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Work {
    fn run(&mut self) {
        loop {
            if self.shared.stop.load(Ordering::Acquire) {
                return;
            }
            let open: Vec<usize> = (0..2).filter(|&i| self.pipes[i].is_some()).collect();
            if open.is_empty() {
                return;
            }
            let ready = {
                let mut fds: Vec<PollFd<'_>> = open
                    .iter()
                    .map(|&i| PollFd::new(self.pipes[i].as_ref().unwrap(), PollFlags::IN))
                    .collect();
                fds.push(PollFd::new(&*self.wake, PollFlags::IN));
                match rustix::event::poll(&mut fds, None) {
                    Ok(_) => {}
                    Err(Errno::INTR) => continue,
                    Err(e) => {
                        // Polling cannot fail with valid descriptors; stop rather than spin.
                        for &i in &open {
                            self.fail(i, e.into());
                        }
                        return;
                    }
                }
                let ready: Vec<usize> = open
                    .iter()
                    .zip(&fds)
                    .filter(|(_, fd)| !fd.revents().is_empty())
                    .map(|(&i, _)| i)
                    .collect();
                ready
            };
            let mut drain = [0u8; 8];
            let _ = rustix::io::read(&*self.wake, &mut drain);
            for i in ready {
                self.move_some(i);
            }
        }
    }

    /// Moves what pipe `i` holds (up to a chunk) into its spool.
    fn move_some(&mut self, i: usize) {
        let Some(pipe) = self.pipes[i].as_ref() else {
            return;
        };
        let room = self.cap.map_or(CHUNK as u64, |cap| cap - self.off[i]);
        if room == 0 {
            // At the cap: the end of the stream is fine, one more byte is not.
            let mut b = [0u8; 1];
            match rustix::io::read(pipe, &mut b) {
                Ok(0) => self.end(i),
                Ok(_) => {
                    let fault = SpoolFault::CapExceeded {
                        stream: stream(i),
                        cap: self.cap.unwrap_or(0),
                        dir: self.dir.clone(),
                    };
                    self.fault(i, fault);
                }
                Err(Errno::AGAIN | Errno::INTR) => {}
                Err(e) => self.fail(i, e.into()),
            }
            return;
        }
        let want = usize::try_from(room).unwrap_or(CHUNK).min(CHUNK);
        let r = if self.copy[i] {
            self.copy_some(i, want)
        } else {
            let mut off = self.off[i];
            let r = rustix::pipe::splice(
                pipe,
                None,
                &self.files[i],
                Some(&mut off),
                want,
                SpliceFlags::NONBLOCK | SpliceFlags::MOVE,
            );
            match r {
                Err(Errno::INVAL) if self.off[i] == 0 => {
                    // The file system cannot splice into files: copy through a buffer.
                    log::debug!("splice into the spool is not supported here; copying");
                    self.copy[i] = true;
                    return;
                }
                r => r.map_err(io::Error::from),
            }
        };
        match r {
            Ok(0) => self.end(i),
            Ok(n) => {
                self.off[i] += n as u64;
                self.shared.len[i].store(self.off[i], Ordering::Release);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => self.fail(i, e),
        }
    }

    /// `read` then `write_at`, for file systems without splice support.
    fn copy_some(&mut self, i: usize, want: usize) -> io::Result<usize> {
        let mut buf = vec![0u8; want.min(COPY_BUF)];
        let pipe = self.pipes[i].as_ref().expect("open pipe");
        let n = rustix::io::read(pipe, &mut buf)?;
        self.files[i].write_all_at(&buf[..n], self.off[i])?;
        Ok(n)
    }

    /// The stream ended: every writer closed its end.
    fn end(&mut self, i: usize) {
        self.pipes[i] = None;
        self.shared.done[i].store(true, Ordering::Release);
    }

    /// A write (or read) error on stream `i`.
    fn fail(&mut self, i: usize, e: io::Error) {
        let dir = self.dir.clone();
        let fault = match e.raw_os_error().map(Errno::from_raw_os_error) {
            Some(Errno::NOSPC | Errno::DQUOT) => SpoolFault::DiskFull { dir },
            Some(Errno::FBIG) => SpoolFault::FileSizeLimit {
                stream: Some(stream(i)),
                dir,
            },
            _ => SpoolFault::WriteFailed {
                stream: stream(i),
                dir,
                error: e.to_string(),
            },
        };
        self.fault(i, fault);
    }

    /// Records the fault (the first one wins), kills the group, stops reading stream `i`. The
    /// pipe stays open until the pump ends, so a writer blocks (and is killed) rather than
    /// getting `SIGPIPE`.
    fn fault(&mut self, i: usize, fault: SpoolFault) {
        log::debug!("spool fault: {fault}");
        {
            let mut slot = lock(&self.shared.fault);
            if slot.is_none() {
                *slot = Some(fault);
            }
        }
        if let Err(e) = rustix::process::kill_process_group(self.pgid, Signal::KILL)
            && e != Errno::SRCH
        {
            log::warn!("cannot kill the command's process group: {e}");
        }
        // Keep the descriptor (out of the poll set) until the thread ends.
        if let Some(fd) = self.pipes[i].take() {
            self.parked.push(fd);
        }
        self.shared.done[i].store(true, Ordering::Release);
    }
}

fn idx(s: Stream) -> usize {
    match s {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

fn stream(i: usize) -> Stream {
    if i == 0 {
        Stream::Stdout
    } else {
        Stream::Stderr
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ino(fd: impl AsFd) -> u64 {
    rustix::fs::fstat(fd).map_or(0, |st| st.st_ino)
}

/// The processes (other than this one) holding pipe `ino` open: pid and command name.
fn holders(ino: u64) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let target = format!("pipe:[{ino}]");
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == &*target));
        if holds {
            let name = std::fs::read_to_string(p.path().join("comm"))
                .map(|s| s.trim_end().to_string())
                .unwrap_or_default();
            found.push((pid, name));
        }
    }
    found
}
