//! Deterministic generators of the benchmark inputs.
//!
//! Shared by `benches/scan.rs` (which generates in memory before timing anything) and
//! `examples/gen.rs` (which writes the same bytes to a file, so `spoolscan scan`, jq or other
//! tools can be timed on them). The output depends only on the kind, the size and the seed.
//!
//! Two kinds, both Codex `exec --json`-style NDJSON:
//!
//! - [`Kind::Transcript`] (input (a)): an agent transcript where about 60% of the bytes are
//!   `command_execution` items whose `aggregated_output` makes lines of 8 to 64 MiB (clamped
//!   to the budget when the total is small), and the rest are small events (turns, reasoning,
//!   commands with short outputs, file changes, agent messages, usage).
//! - [`Kind::Logs`] (input (b)): small log-like lines of 100 B to 2 KiB, about 2% of which the
//!   Codex selection retains; many have no `item` key, so the probe must scan them to the end.
//!
//! With the Codex rules (`type` in turn.completed, error, turn.failed; `item.type` =
//! agent_message), [`Stats::retained`] is the number of lines a scan retains.
#![allow(dead_code)]

use std::io::{self, Write};

/// Which input to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Input (a): an agent transcript with giant tool-output lines.
    Transcript,
    /// Input (b): small log-like lines, about 2% retained.
    Logs,
}

impl Kind {
    /// Parses `transcript` / `a` or `logs` / `b`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "transcript" | "a" => Some(Kind::Transcript),
            "logs" | "log" | "b" => Some(Kind::Logs),
            _ => None,
        }
    }

    /// The name used in benchmark ids and file names.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Transcript => "transcript",
            Kind::Logs => "logs",
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
}

/// Writes `size` bytes of input `kind` to `out`.
pub fn write<W: Write>(kind: Kind, size: u64, seed: u64, out: &mut W) -> io::Result<Stats> {
    let mut g = Gen::new(seed, out);
    match kind {
        Kind::Transcript => g.transcript(size)?,
        Kind::Logs => g.logs(size)?,
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

const COMMANDS: &[&str] = &[
    "bash -lc 'cargo test --release'",
    "bash -lc 'rg -n \\\"fn scan\\\" src'",
    "bash -lc 'cat target/debug/build/output.log'",
    "bash -lc 'npm run build 2>&1'",
    "bash -lc 'find / -name \\\"*.json\\\"'",
    "bash -lc 'pytest -x -q'",
];

const LOG_TARGETS: &[&str] = &[
    "codex_core::exec",
    "codex_core::codex",
    "codex_exec::event_processor",
    "codex_core::mcp_connection_manager",
    "codex_core::client",
];

/// Item types of skipped `item.*` events in the logs input.
const ITEM_TYPES: &[&str] = &[
    "reasoning",
    "command_execution",
    "file_change",
    "mcp_tool_call",
    "web_search",
    "todo_list",
];

struct Gen<'w, W: Write> {
    rng: Rng,
    out: &'w mut W,
    stats: Stats,
    line: Vec<u8>,
    item: u64,
    clock: u64,
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

    /// Appends exactly `n` bytes of escaped tool output to the line (written through to the
    /// output in chunks, so giant lines need no giant buffer).
    fn tool_output(&mut self, n: u64) -> io::Result<()> {
        let mut left = n;
        while left > 0 {
            let tok: &str = self.rng.pick(OUTPUT_LINES);
            if (tok.len() as u64) <= left {
                self.line.extend_from_slice(tok.as_bytes());
                left -= tok.len() as u64;
            } else {
                self.line.extend(std::iter::repeat_n(b'=', left as usize));
                left = 0;
            }
            if self.line.len() >= 1 << 16 {
                // Flush the line's head; only its tail stays in the buffer.
                self.out.write_all(&self.line)?;
                let k = self.line.len() as u64;
                self.stats.bytes += k;
                self.line.clear();
            }
        }
        Ok(())
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

    // ---- Input (a) ----

    fn transcript(&mut self, size: u64) -> io::Result<()> {
        // Plan the giant lines: 60% of the bytes, each 8..=64 MiB, clamped to the budget.
        let mut giants = Vec::new();
        let mut budget = size * 6 / 10;
        let (lo, hi) = ((8 * MIB).min(size / 10).max(1), 64 * MIB);
        while budget >= 1 << 10 {
            let want = if budget <= hi {
                budget
            } else {
                let w = self.rng.range(lo, hi);
                if budget - w < lo { budget - lo } else { w }
            };
            giants.push(want);
            budget -= want;
        }
        let small_budget = size - giants.iter().sum::<u64>();
        let per_gap = small_budget / (giants.len() as u64 + 1);
        let mut next_giant = per_gap;
        let mut giants = giants.into_iter();
        self.push(
            r#"{"type":"thread.started","thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53"}"#,
        );
        self.emit(false)?;
        let mut small = self.stats.bytes;
        let mut turn_open = false;
        // Keep room for the final filler line.
        while self.stats.bytes + 4096 < size {
            if small >= next_giant
                && let Some(g) = giants.next()
            {
                let room = size - self.stats.bytes - 1;
                self.giant(g.min(room.saturating_sub(512)))?;
                next_giant += per_gap;
                continue;
            }
            let before = self.stats.bytes;
            if !turn_open {
                self.push(r#"{"type":"turn.started"}"#);
                self.emit(false)?;
                turn_open = true;
            } else {
                turn_open = self.small_transcript_event()?;
            }
            small += self.stats.bytes - before;
        }
        self.filler(size)
    }

    /// One small event inside a turn. Returns false when the turn ended.
    fn small_transcript_event(&mut self) -> io::Result<bool> {
        let id = self.next_item();
        match self.rng.below(100) {
            0..=29 => {
                self.push(r#"{"type":"item.completed","item":{"id":"item_"#);
                self.push_num(id);
                self.push(r#"","type":"reasoning","text":"**Planning** "#);
                let n = self.rng.range(60, 1200) as usize;
                self.prose(n);
                self.push(r#""}}"#);
                self.emit(false)?;
            }
            30..=59 => {
                let cmd: &str = self.rng.pick(COMMANDS);
                self.push(r#"{"type":"item.started","item":{"id":"item_"#);
                self.push_num(id);
                self.push(r#"","type":"command_execution","command":""#);
                self.push(cmd);
                self.push(r#"","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#);
                self.emit(false)?;
                self.push(r#"{"type":"item.completed","item":{"id":"item_"#);
                self.push_num(id);
                self.push(r#"","type":"command_execution","command":""#);
                self.push(cmd);
                self.push(r#"","aggregated_output":""#);
                let n = self.rng.range(0, 4000);
                self.tool_output(n)?;
                self.push(r#"","exit_code":0,"status":"completed"}}"#);
                self.emit(false)?;
            }
            60..=74 => {
                self.push(r#"{"type":"item.completed","item":{"id":"item_"#);
                self.push_num(id);
                self.push(r#"","type":"file_change","changes":[{"path":"src/scanner.rs","kind":"update"},{"path":"tests/scan.rs","kind":"add"}],"status":"completed"}}"#);
                self.emit(false)?;
            }
            75..=84 => {
                self.push(r#"{"type":"item.updated","item":{"id":"item_"#);
                self.push_num(id);
                self.push(r#"","type":"todo_list","items":[{"text":"read the probe","completed":true},{"text":"profile","completed":false}]}}"#);
                self.emit(false)?;
            }
            85..=92 => {
                self.push(r#"{"type":"item.completed","item":{"id":"item_"#);
                self.push_num(id);
                self.push(r#"","type":"agent_message","text":""#);
                let n = self.rng.range(20, 1500) as usize;
                self.prose(n);
                self.push(r#""}}"#);
                self.emit(true)?;
            }
            93..=98 => {
                self.push(r#"{"type":"turn.completed","usage":{"input_tokens":"#);
                let n = self.rng.range(1000, 90000);
                self.push_num(n);
                self.push(r#","cached_input_tokens":"#);
                self.push_num(n / 2);
                self.push(r#","output_tokens":"#);
                let n = self.rng.range(10, 4000);
                self.push_num(n);
                self.push("}}");
                self.emit(true)?;
                return Ok(false);
            }
            _ => {
                self.push(r#"{"type":"error","message":"stream disconnected before completion: retrying 1/5 in 200ms"}"#);
                self.emit(true)?;
            }
        }
        Ok(true)
    }

    /// One giant `command_execution` line of exactly `len` bytes plus its LF.
    fn giant(&mut self, len: u64) -> io::Result<()> {
        let id = self.next_item();
        let bytes0 = self.stats.bytes;
        self.push(r#"{"type":"item.completed","item":{"id":"item_"#);
        self.push_num(id);
        self.push(r#"","type":"command_execution","command":"bash -lc 'cat target/debug/build/output.log'","aggregated_output":""#);
        let tail = r#"","exit_code":0,"status":"completed"}}"#;
        let head = self.line.len() as u64;
        self.tool_output(len.saturating_sub(head + tail.len() as u64))?;
        self.push(tail);
        // `emit` counts the buffered tail; account for the head already flushed.
        let flushed = self.stats.bytes - bytes0;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        let n = self.line.len() as u64 + flushed;
        self.stats.bytes += self.line.len() as u64;
        self.stats.lines += 1;
        self.stats.longest = self.stats.longest.max(n - 1);
        if n > MIB {
            self.stats.giant_lines += 1;
            self.stats.giant_bytes += n;
        }
        self.line.clear();
        Ok(())
    }

    /// Pads the output to exactly `size` bytes with one skipped line (when there is room).
    fn filler(&mut self, size: u64) -> io::Result<()> {
        let head = r#"{"type":"turn.started","pad":""#;
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

    // ---- Input (b) ----

    fn logs(&mut self, size: u64) -> io::Result<()> {
        while self.stats.bytes + 2100 < size {
            let target = self.rng.range(100, 2048) as usize;
            self.log_line(target)?;
        }
        self.filler(size)
    }

    /// One log-like line of about `target` bytes (without LF).
    fn log_line(&mut self, target: usize) -> io::Result<()> {
        let r = self.rng.below(1000);
        let retained = r < 20;
        match r {
            // 2% retained: agent messages, usage, errors.
            0..=9 => {
                self.push(r#"{"type":"item.completed","item":{"id":"item_"#);
                let id = self.next_item();
                self.push_num(id);
                self.push(r#"","type":"agent_message","text":""#);
                self.fill_to(target, r#""}}"#);
            }
            10..=15 => {
                self.push(r#"{"type":"turn.completed","usage":{"input_tokens":"#);
                let n = self.rng.range(1000, 90000);
                self.push_num(n);
                self.push(r#","output_tokens":"#);
                let n = self.rng.range(10, 4000);
                self.push_num(n);
                self.push(r#"},"note":""#);
                self.fill_to(target, r#""}"#);
            }
            16..=19 => {
                self.push(if r < 18 {
                    r#"{"type":"error","message":""#
                } else {
                    r#"{"type":"turn.failed","error":{"message":""#
                });
                let tail = if r < 18 { r#""}"# } else { r#""}}"# };
                self.fill_to(target, tail);
            }
            // Skipped item events: decided at `item.type`, early in the line.
            20..=449 => {
                let verb = self
                    .rng
                    .pick(&["item.started", "item.updated", "item.completed"]);
                let ty = self.rng.pick(ITEM_TYPES);
                self.push(r#"{"type":""#);
                self.push(verb);
                self.push(r#"","item":{"id":"item_"#);
                let id = self.next_item();
                self.push_num(id);
                self.push(r#"","type":""#);
                self.push(ty);
                self.push(r#"","text":""#);
                self.fill_to(target, r#""}}"#);
            }
            // Skipped log records without `item`: the probe reads them to the end.
            450..=799 => {
                self.push(r#"{"timestamp":""#);
                self.timestamp();
                self.push(r#"","type":"log","level":""#);
                let level = self.rng.pick(&["INFO", "DEBUG", "WARN", "TRACE"]);
                self.push(level);
                self.push(r#"","target":""#);
                let t: &str = self.rng.pick(LOG_TARGETS);
                self.push(t);
                self.push(r#"","spans":[{"name":"turn","id":"#);
                let n = self.rng.range(1, 99);
                self.push_num(n);
                self.push(r#"},{"name":"exec","call_id":"call_"#);
                let n = self.rng.range(1000, 9999);
                self.push_num(n);
                self.push(r#""}],"fields":{"elapsed_ms":"#);
                let n = self.rng.range(1, 30000);
                self.push_num(n);
                self.push(r#","ok":true,"message":""#);
                self.fill_to(target, r#""}}"#);
            }
            // Output deltas: a base64-ish chunk, no item.
            _ => {
                self.push(r#"{"type":"exec_command_output_delta","call_id":"call_"#);
                let n = self.rng.range(1000, 9999);
                self.push_num(n);
                self.push(r#"","stream":"stdout","chunk":""#);
                let end = target.saturating_sub(3).max(self.line.len());
                while self.line.len() < end {
                    let tok: &str = self.rng.pick(OUTPUT_LINES);
                    if self.line.len() + tok.len() > end {
                        break;
                    }
                    self.push(tok);
                }
                let pad = end - self.line.len();
                self.line.extend(std::iter::repeat_n(b'-', pad));
                self.push(r#""}"#);
            }
        }
        self.emit(retained)
    }

    /// Fills the open string with prose so that the line, `tail` included, is about `target`
    /// bytes long, then appends `tail`.
    fn fill_to(&mut self, target: usize, tail: &str) {
        let n = target.saturating_sub(self.line.len() + tail.len());
        self.prose(n);
        self.push(tail);
    }
}
