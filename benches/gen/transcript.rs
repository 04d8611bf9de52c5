//! Input (a), [`Kind::Transcript`](super::Kind::Transcript): an agent transcript.
//!
//! Codex `exec --json`-style NDJSON where about 60% of the bytes are `command_execution` items
//! whose `aggregated_output` makes lines of 8 to 64 MiB (clamped to the budget when the total
//! is small), written through in chunks so that a giant line needs no giant buffer; the rest
//! are small events inside turns (reasoning, commands with short outputs, file changes, to-do
//! lists, agent messages, usage, errors).

use std::io::{self, Write};

use super::{Gen, MIB, OUTPUT_LINES};

const COMMANDS: &[&str] = &[
    "bash -lc 'cargo test --release'",
    "bash -lc 'rg -n \\\"fn scan\\\" src'",
    "bash -lc 'cat target/debug/build/output.log'",
    "bash -lc 'npm run build 2>&1'",
    "bash -lc 'find / -name \\\"*.json\\\"'",
    "bash -lc 'pytest -x -q'",
];

impl<W: Write> Gen<'_, W> {
    pub(super) fn transcript(&mut self, size: u64) -> io::Result<()> {
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
            let giant = if small >= next_giant {
                giants.next()
            } else {
                None
            };
            if let Some(g) = giant {
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
}
