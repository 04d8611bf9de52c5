//! Deterministic generators of the benchmark inputs.
//!
//! Shared by `benches/scan.rs` (which generates in memory before timing anything) and
//! `examples/gen.rs` (which writes the same bytes to a file, so `spoolscan scan`, jq or other
//! tools can be timed on them). The output depends only on the kind, the size and the seed.
//!
//! Three kinds; the first two are Codex `exec --json`-style NDJSON:
//!
//! - [`Kind::Transcript`] (input (a)): an agent transcript where about 60% of the bytes are
//!   `command_execution` items whose `aggregated_output` makes lines of 8 to 64 MiB (clamped
//!   to the budget when the total is small), and the rest are small events (turns, reasoning,
//!   commands with short outputs, file changes, agent messages, usage).
//! - [`Kind::Logs`] (input (b)): small log-like lines of 100 B to 2 KiB, about 2% of which the
//!   Codex selection retains; many have no `item` key, so the probe must scan them to the end.
//! - [`Kind::Events`] (input (c)): GitHub-Archive-like events of 0.2 to 20 KiB, keys in a
//!   different order on each line, nested objects, long escaped strings with raw UTF-8 and
//!   emoji; about half are `PushEvent`, and `payload.action` often comes late in the line
//!   (details in `events.rs`). The Codex selection retains none of them;
//!   [`Stats::push_events`] and [`Stats::action_opened`] count what `--keep type=PushEvent`
//!   and `--keep payload.action=opened` retain.
//!
//! With the Codex rules (`type` in turn.completed, error, turn.failed; `item.type` =
//! agent_message), [`Stats::retained`] is the number of lines a scan retains.
//!
//! Each kind is generated in a file of its own (`transcript.rs`, `logs.rs`, `events.rs`); this
//! one holds what they share: the random numbers, the words and escaped fragments of prose and
//! tool output, and the line buffer that counts what it writes and pads to the exact size.
#![allow(dead_code)]

use std::io::{self, Write};

mod events;
mod logs;
mod transcript;

/// Which input to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Input (a): an agent transcript with giant tool-output lines.
    Transcript,
    /// Input (b): small log-like lines, about 2% retained.
    Logs,
    /// Input (c): GitHub-Archive-like events, varied key order, about half `PushEvent`.
    Events,
}

impl Kind {
    /// Parses `transcript` / `a`, `logs` / `b` or `events` / `c`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "transcript" | "a" => Some(Kind::Transcript),
            "logs" | "log" | "b" => Some(Kind::Logs),
            "events" | "c" => Some(Kind::Events),
            _ => None,
        }
    }

    /// The name used in benchmark ids and file names.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Transcript => "transcript",
            Kind::Logs => "logs",
            Kind::Events => "events",
        }
    }
}

/// The default seed.
pub const SEED: u64 = 0x5EED_5CA7;

/// What was generated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes written (exactly the size asked for, unless it is smaller than one line).
    pub bytes: u64,
    /// Lines written (every one LF-terminated).
    pub lines: u64,
    /// Lines the Codex selection retains.
    pub retained: u64,
    /// Lines longer than 1 MiB (the giant tool outputs), and their bytes.
    pub giant_lines: u64,
    /// Bytes in lines longer than 1 MiB, terminators included.
    pub giant_bytes: u64,
    /// The longest line, without its terminator.
    pub longest: u64,
    /// Input (c) only: lines whose top-level `type` is `PushEvent`.
    pub push_events: u64,
    /// Input (c) only: lines whose `payload.action` is `opened`.
    pub action_opened: u64,
}

/// Writes `size` bytes of input `kind` to `out`.
pub fn write<W: Write>(kind: Kind, size: u64, seed: u64, out: &mut W) -> io::Result<Stats> {
    let mut g = Gen::new(seed, out);
    match kind {
        Kind::Transcript => g.transcript(size)?,
        Kind::Logs => g.logs(size)?,
        Kind::Events => g.events(size)?,
    }
    Ok(g.stats)
}

/// Generates input `kind` of `size` bytes in memory.
pub fn generate(kind: Kind, size: u64, seed: u64) -> (Vec<u8>, Stats) {
    let mut v = Vec::with_capacity(size as usize + 4096);
    let stats = write(kind, size, seed, &mut v).expect("writing to a Vec cannot fail");
    (v, stats)
}

/// Parses a size: plain bytes or with a binary suffix (`KiB`, `MiB`, `GiB`, also `K`, `M`, `G`).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// splitmix64: small, fast, and the same everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const MIB: u64 = 1 << 20;

/// Words of prose (agent messages, reasoning).
const WORDS: &[&str] = &[
    "the",
    "test",
    "suite",
    "passes",
    "now",
    "I",
    "will",
    "check",
    "whether",
    "parser",
    "handles",
    "escaped",
    "quotes",
    "and",
    "newlines",
    "in",
    "tool",
    "output",
    "before",
    "running",
    "cargo",
    "build",
    "again",
    "file",
    "src/lib.rs",
    "function",
    "returns",
    "an",
    "error",
    "when",
    "line",
    "is",
    "empty",
    "so",
    "let",
    "me",
    "fix",
    "that",
    "first",
    "caf\u{e9}",
    "na\u{ef}ve",
    "r\u{e9}sum\u{e9}",
    "\u{2713}",
    "memory",
    "bounded",
    "spool",
    "transcript",
    "agent",
    "message",
    "reasoning",
];

/// Already JSON-escaped fragments that make strings awkward for a scanner.
const ESCAPES: &[&str] = &[
    "\\n",
    "\\\"",
    "\\\\",
    "\\t",
    "\\u00e9",
    "\\u001b[32m",
    "\\u001b[0m",
    "\\/",
    "\\r\\n",
];

/// Already JSON-escaped lines of tool output (build logs, test runs, diffs, JSON dumps).
const OUTPUT_LINES: &[&str] = &[
    "   Compiling spoolscan v0.1.0 (/work/main)\\n",
    "    Finished `release` profile [optimized + debuginfo] target(s) in 41.07s\\n",
    "test probe::tests::seed_table ... \\u001b[32mok\\u001b[0m\\n",
    "test scanner::tests::oversize_lines ... ok\\n",
    "error[E0308]: mismatched types\\n  --> src/scanner.rs:212:17\\n",
    "warning: unused variable: `line`\\n",
    "{\\\"type\\\":\\\"error\\\",\\\"message\\\":\\\"not a real event: inside a string\\\"}\\n",
    "{\\\"type\\\":\\\"item.completed\\\",\\\"item\\\":{\\\"type\\\":\\\"agent_message\\\"}}\\n",
    "diff --git a/src/lib.rs b/src/lib.rs\\n@@ -10,7 +10,7 @@ pub fn scan(path: &Path)\\n",
    "-    let data = std::fs::read(path)?;\\n+    let map = unsafe { Mmap::map(&file)? };\\n",
    "\\tat com.example.Main.run(Main.java:42)\\n",
    "C:\\\\Users\\\\agent\\\\project\\\\build.log: 3 warnings\\n",
    "drwxr-xr-x  5 agent agent  4096 Nov 25 10:11 target\\n",
    "r\\u00e9sultat: 12 tests r\\u00e9ussis, 0 \\u00e9chec\\n",
    "2026-11-25T10:11:12.345Z INFO codex_core::exec: running \\\"bash -lc 'cargo test'\\\"\\n",
    "    0.123456 0.654321 0.111111 0.999999 0.500000 0.250000 0.125000\\n",
];

struct Gen<'w, W: Write> {
    rng: Rng,
    out: &'w mut W,
    stats: Stats,
    line: Vec<u8>,
    item: u64,
    clock: u64,
    /// Input (c): the line being built is a `PushEvent` / has `payload.action` = `opened`.
    ev_push: bool,
    ev_opened: bool,
}

impl<'w, W: Write> Gen<'w, W> {
    fn new(seed: u64, out: &'w mut W) -> Self {
        Gen {
            rng: Rng::new(seed),
            out,
            stats: Stats::default(),
            line: Vec::with_capacity(4096),
            item: 0,
            clock: 1_764_000_000_000,
            ev_push: false,
            ev_opened: false,
        }
    }

    /// Writes the line in `self.line` plus an LF.
    fn emit(&mut self, retained: bool) -> io::Result<()> {
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        let n = self.line.len() as u64;
        self.stats.bytes += n;
        self.stats.lines += 1;
        self.stats.retained += retained as u64;
        self.stats.longest = self.stats.longest.max(n - 1);
        if n > MIB {
            self.stats.giant_lines += 1;
            self.stats.giant_bytes += n;
        }
        self.line.clear();
        Ok(())
    }

    fn push(&mut self, s: &str) {
        self.line.extend_from_slice(s.as_bytes());
    }

    fn push_num(&mut self, n: u64) {
        self.line.extend_from_slice(n.to_string().as_bytes());
    }

    /// Appends about `n` bytes (never more) of escaped prose to the line.
    fn prose(&mut self, n: usize) {
        let end = self.line.len() + n;
        loop {
            let tok: &str = if self.rng.chance(1, 12) {
                self.rng.pick(ESCAPES)
            } else {
                self.rng.pick(WORDS)
            };
            if self.line.len() + tok.len() + 1 > end {
                break;
            }
            self.line.extend_from_slice(tok.as_bytes());
            self.line.push(b' ');
        }
        let pad = end - self.line.len();
        self.line.extend(std::iter::repeat_n(b'.', pad));
    }

    fn next_item(&mut self) -> u64 {
        self.item += 1;
        self.item
    }

    fn timestamp(&mut self) {
        self.clock += self.rng.range(1, 900);
        let ms = self.clock;
        let s = format!(
            "2026-11-25T{:02}:{:02}:{:02}.{:03}Z",
            (ms / 3_600_000) % 24,
            (ms / 60_000) % 60,
            (ms / 1000) % 60,
            ms % 1000
        );
        self.push(&s);
    }

    /// Pads the output to exactly `size` bytes with one skipped line (when there is room).
    fn filler(&mut self, size: u64) -> io::Result<()> {
        self.filler_with(size, r#"{"type":"turn.started","pad":""#)
    }

    /// Pads the output to exactly `size` bytes with one line that starts with `head` (an
    /// object left inside an open string) and ends the string and the object.
    fn filler_with(&mut self, size: u64, head: &str) -> io::Result<()> {
        let tail = r#""}"#;
        let fixed = (head.len() + tail.len() + 1) as u64;
        if self.stats.bytes + fixed > size {
            return Ok(());
        }
        let n = size - self.stats.bytes - fixed;
        self.push(head);
        self.line.extend(std::iter::repeat_n(b' ', n as usize));
        self.push(tail);
        self.emit(false)
    }
}
