//! Input (b), [`Kind::Logs`](super::Kind::Logs): small log-like lines.
//!
//! Codex `exec --json`-style lines of 100 B to 2 KiB: about 2% the Codex selection retains
//! (agent messages, usage, errors), skipped `item.*` events decided at `item.type` early in
//! the line, log records without an `item` key (which the probe must scan to the end), and
//! output deltas.

use std::io::{self, Write};

use super::{Gen, OUTPUT_LINES};

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

impl<W: Write> Gen<'_, W> {
    pub(super) fn logs(&mut self, size: u64) -> io::Result<()> {
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
