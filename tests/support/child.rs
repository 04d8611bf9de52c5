//! `spoolscan-test-child`: a child process with scripted behaviour, for
//! `tests/spool*.rs` and `tests/follow*.rs`. Not part of spoolscan's interface.
//!
//! Arguments are commands, run in order:
//!
//! | command | effect |
//! | --- | --- |
//! | `out N` | write N NDJSON lines to stdout |
//! | `bytes N` | write N bytes (`x`, a newline every 64) to stdout |
//! | `err TEXT` | write TEXT and a newline to stderr |
//! | `cat` | copy stdin to stdout |
//! | `sleep MS` | sleep MS milliseconds |
//! | `pid` | write `pid=N` to stderr |
//! | `fork-hold MS` | start a grandchild (this program, `hold MS`) that inherits stdout and stderr, writes `grandchild-pid=N` to stderr, then writes a line to stdout every 10 ms for MS milliseconds; do not wait for it |
//! | `hold MS` | what the grandchild runs |
//! | `ignore-term` | from here on, ignore SIGTERM (re-executes through `sh -c 'trap "" TERM; exec ...'`: an ignored signal stays ignored across exec) |
//! | `flood` | write to stdout until a write fails |
//! | `flood-err` | write to stderr until a write fails |
//! | `fsize N` | set RLIMIT_FSIZE to N bytes |
//! | `kill-self SIG` | send signal number SIG to this process |
//! | `exit CODE` | exit with CODE |
//! | `drip FILE` | copy FILE to stdout in pseudo-random chunks (1 byte to 64 KiB, splitting lines anywhere), pausing now and then (tests/follow_run.rs) |
//! | `escape-truncate MS` | start a grandchild that leaves the process group (`setsid`), writes its pid to the file named by `$SPOOLSCAN_TEST_PIDFILE` (if set), then calls `ftruncate(1, 0)` every millisecond for MS milliseconds (errors ignored); do not wait for it |
//! | `escape-write MS` | the same, but the grandchild floods stdout with `{"type":"escaped"}` lines for MS milliseconds (exits 3 when a write fails) |
//! | `escape-tick MS` | the same, but one `{"type":"escaped"}` line every millisecond |
//! | `fill PATH` | create PATH and write to it until the disk is full (the file is kept) |
//! | `rm PATH` | remove PATH |
//! | `try-bytes N` | like `bytes N`, ignoring write errors |
//! | `transcript N` | write a Codex-style transcript with N giant (64 MiB) tool-output lines to stdout, slowly: 1 MiB at a time with a 1 ms pause (tests/follow_rss.rs) |
//!
//! A failed write prints the error to stderr and exits with status 3.

use std::io::{self, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let cmd = args[i].as_str();
        let arg = args.get(i + 1).map(String::as_str);
        i += 1;
        match cmd {
            "cat" => {
                let mut buf = Vec::new();
                io::stdin()
                    .read_to_end(&mut buf)
                    .unwrap_or_else(|e| fail(e));
                write_out(&buf);
            }
            "pid" => eprintln!("pid={}", std::process::id()),
            "ignore-term" => ignore_term(&args[i..]),
            "flood" => {
                let chunk = [b'y'; 64 * 1024];
                loop {
                    write_out(&chunk);
                }
            }
            "flood-err" => {
                let chunk = [b'z'; 64 * 1024];
                let mut err = io::stderr().lock();
                loop {
                    err.write_all(&chunk).unwrap_or_else(|e| fail(e));
                }
            }
            _ => {
                let arg = arg.unwrap_or_else(|| usage(&format!("{cmd} needs an argument")));
                i += 1;
                run_with_arg(cmd, arg);
            }
        }
    }
}

fn run_with_arg(cmd: &str, arg: &str) {
    let num = || -> u64 {
        arg.parse()
            .unwrap_or_else(|_| usage(&format!("{cmd} {arg}")))
    };
    match cmd {
        "out" => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            for n in 0..num() {
                writeln!(out, r#"{{"type":"line","n":{n}}}"#).unwrap_or_else(|e| fail(e));
            }
            out.flush().unwrap_or_else(|e| fail(e));
        }
        "bytes" => {
            let mut line = [b'x'; 64];
            line[63] = b'\n';
            let mut left = num();
            let mut out = io::stdout().lock();
            while left > 0 {
                let n = left.min(64) as usize;
                out.write_all(&line[..n]).unwrap_or_else(|e| fail(e));
                left -= n as u64;
            }
            out.flush().unwrap_or_else(|e| fail(e));
        }
        "err" => eprintln!("{arg}"),
        "sleep" => std::thread::sleep(Duration::from_millis(num())),
        "fork-hold" => {
            let exe = std::env::current_exe().unwrap_or_else(|e| fail(e));
            // Deliberately not waited for: the grandchild outlives us.
            #[expect(clippy::zombie_processes, reason = "the test needs an orphan")]
            Command::new(exe)
                .args(["hold", arg])
                .stdin(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| fail(e));
        }
        "hold" => {
            eprintln!("grandchild-pid={}", std::process::id());
            let until = Instant::now() + Duration::from_millis(num());
            while Instant::now() < until {
                write_out(b"tick\n");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        "fsize" => {
            let n = num();
            let limit = rustix::process::Rlimit {
                current: Some(n),
                maximum: Some(n),
            };
            rustix::process::setrlimit(rustix::process::Resource::Fsize, limit)
                .unwrap_or_else(|e| fail(e.into()));
        }
        "kill-self" => {
            let sig = i32::try_from(num())
                .ok()
                .and_then(rustix::process::Signal::from_named_raw)
                .unwrap_or_else(|| usage(&format!("unknown signal {arg}")));
            rustix::process::kill_process(rustix::process::getpid(), sig)
                .unwrap_or_else(|e| fail(e.into()));
            // The signal may be delivered asynchronously.
            std::thread::sleep(Duration::from_secs(10));
        }
        "exit" => std::process::exit(i32::try_from(num()).unwrap_or(255)),
        "escape-truncate" | "escape-write" | "escape-tick" => {
            let exe = std::env::current_exe().unwrap_or_else(|e| fail(e));
            let what = cmd.replace("escape-", "escaped-");
            let mut cmd = Command::new(exe);
            cmd.args([what.as_str(), arg]).stdin(Stdio::null());
            // SAFETY: setsid is async-signal-safe. Done before exec, so the grandchild has
            // left the group by the time spawn returns (a kill of the group cannot race it).
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                    rustix::process::setsid()?;
                    Ok(())
                });
            }
            // Deliberately not waited for: the grandchild outlives us.
            #[expect(clippy::zombie_processes, reason = "the test needs an orphan")]
            cmd.spawn().unwrap_or_else(|e| fail(e));
        }
        "escaped-truncate" | "escaped-write" | "escaped-tick" => escaped(cmd, num()),
        "fill" => {
            let mut f = std::fs::File::create(arg).unwrap_or_else(|e| fail(e));
            let chunk = [b'f'; 64 * 1024];
            while f.write_all(&chunk).is_ok() {}
            let _ = f.sync_all();
        }
        "rm" => std::fs::remove_file(arg).unwrap_or_else(|e| fail(e)),
        "try-bytes" => {
            let mut out = io::stdout().lock();
            let mut left = num();
            let chunk = [b'x'; 4096];
            while left > 0 {
                let n = left.min(4096) as usize;
                let _ = out.write_all(&chunk[..n]);
                left -= n as u64;
            }
            let _ = out.flush();
        }
        "drip" => drip(arg),
        "transcript" => transcript(num()),
        _ => usage(&format!("unknown command {cmd}")),
    }
}

/// The escaped grandchild (started in a session and process group of its own, so a kill of
/// the command's group misses it); it holds the command's stdout.
fn escaped(mode: &str, ms: u64) {
    if let Some(path) = std::env::var_os("SPOOLSCAN_TEST_PIDFILE") {
        let tmp = std::path::PathBuf::from(format!("{}.tmp", path.to_string_lossy()));
        std::fs::write(&tmp, std::process::id().to_string()).unwrap_or_else(|e| fail(e));
        std::fs::rename(&tmp, &path).unwrap_or_else(|e| fail(e));
    }
    let until = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < until {
        match mode {
            "escaped-truncate" => {
                let _ = rustix::fs::ftruncate(io::stdout(), 0);
                std::thread::sleep(Duration::from_millis(1));
            }
            "escaped-write" => write_out(&b"{\"type\":\"escaped\"}\n".repeat(1000)),
            _ => {
                write_out(b"{\"type\":\"escaped\"}\n");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// A small deterministic pseudo-random generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn drip(path: &str) {
    let data = std::fs::read(path).unwrap_or_else(|e| fail(e));
    let mut r = Rng(data.len() as u64);
    let mut at = 0;
    while at < data.len() {
        let max = match r.below(10) {
            0..=3 => 8,
            4..=7 => 512,
            _ => 64 << 10,
        };
        let n = (1 + r.below(max) as usize).min(data.len() - at);
        write_out(&data[at..at + n]);
        at += n;
        if r.below(20) == 0 {
            std::thread::sleep(Duration::from_micros(r.below(2000)));
        }
    }
}

/// `n` rounds of: a turn, 50 small reasoning items, a 64 MiB command output (every other one
/// with its `type` after the output, so the probe cannot decide it), a 256 KiB agent message
/// and the turn's usage. Retained with the Codex rules: 2 lines per round.
fn transcript(n: u64) {
    let mut out = io::stdout().lock();
    let mut put = |b: &[u8]| out.write_all(b).unwrap_or_else(|e| fail(e));
    put(br#"{"type":"thread.started","thread_id":"t-follow"}"#);
    put(b"\n");
    let chunk = "x\\\"type\\\":\\\"error\\\" é ".repeat((1 << 20) / 26);
    for i in 0..n {
        put(br#"{"type":"turn.started"}"#);
        put(b"\n");
        for j in 0..50 {
            let line = format!(
                r#"{{"type":"item.completed","item":{{"id":"r{i}_{j}","type":"reasoning","text":"step {j}"}}}}"#
            );
            put(line.as_bytes());
            put(b"\n");
        }
        let late = i % 2 == 1;
        if late {
            put(br#"{"item":{"id":"c","aggregated_output":""#);
        } else {
            put(br#"{"type":"item.completed","item":{"id":"c","type":"command_execution","aggregated_output":""#);
        }
        let mut written = 0;
        while written < 64 << 20 {
            put(chunk.as_bytes());
            written += chunk.len();
            std::thread::sleep(Duration::from_millis(1));
        }
        if late {
            put(br#"","type":"command_execution"},"type":"item.completed"}"#);
        } else {
            put(br#"","exit_code":0,"status":"completed"}}"#);
        }
        put(b"\n");
        let text = "answer ".repeat(256 * 1024 / 7);
        let msg = format!(
            r#"{{"type":"item.completed","item":{{"id":"m{i}","type":"agent_message","text":"{text}"}}}}"#
        );
        put(msg.as_bytes());
        put(b"\n");
        put(br#"{"type":"turn.completed","usage":{"input_tokens":100,"output_tokens":10}}"#);
        put(b"\n");
    }
}

fn write_out(bytes: &[u8]) {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .unwrap_or_else(|e| fail(e));
}

fn ignore_term(rest: &[String]) -> ! {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(e));
    let e = Command::new("sh")
        .arg("-c")
        .arg(r#"trap "" TERM; exec "$0" "$@""#)
        .arg(exe)
        .args(rest)
        .exec();
    fail(e)
}

fn fail(e: io::Error) -> ! {
    let _ = writeln!(io::stderr(), "spoolscan-test-child: {e}");
    std::process::exit(3)
}

fn usage(msg: &str) -> ! {
    eprintln!("spoolscan-test-child: usage: {msg}");
    std::process::exit(2)
}
