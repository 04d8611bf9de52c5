//! `spoolscan-test-child`: a child process with scripted behaviour, for
//! `tests/spool.rs`. Not part of spoolscan's interface.
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
        _ => usage(&format!("unknown command {cmd}")),
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
