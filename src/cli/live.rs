//! `run --follow --profile`: a one-line live status of an agent run on stderr (the last agent
//! message, the command being run, tokens so far), an observer of the live summary
//! ([`spoolscan::LiveSummary`]) that follows the spool with the profile; the summary, which
//! comes out of the same pass, is printed by `outcome`.

use std::time::{Duration, Instant};

use serde_json::Value;
use spoolscan::{Category, Event, Passed, Report, Sink};

/// Text shown from a message or command, at most this many characters.
const SHOWN: usize = 200;

/// The live status of an agent run, drawn on stderr as one line (when enabled).
///
/// It reads every line of the transcript that is at most [`PARSED`] bytes (the profile's
/// events and the lines it skips alike, so it sees the commands a profile never decodes) and
/// understands the events of every profile by their shape:
///
/// * Codex: `item.started` of a `command_execution` (the command), `item.completed` of an
///   `agent_message` (the text), `turn.completed` (cumulative `usage`), `error`, `turn.failed`.
/// * Claude Code, and the Claude-like Amp and Qwen Code: `assistant` (text and `tool_use`
///   blocks, per-message `usage`), `result`.
/// * Cursor Agent: as Claude, plus `tool_call` (the shell command or the tool's name) and the
///   camelCase `usage` of its `result`.
/// * Gemini CLI: `message` from the assistant (`delta` chunks are appended), `tool_use`,
///   `result` (`stats`), `error`.
/// * OpenCode: `text` (`part.text`), `tool_use` (`part.tool`, its input's command),
///   `step_finish` (`part.tokens`, summed), `error` (`error.data.message`).
/// * Copilot CLI: `assistant.message` (`data.content`, `data.outputTokens`),
///   `tool.execution_start` (`data.toolName`, its arguments' command), `session.error`.
pub struct LiveStatus {
    bar: Option<indicatif::ProgressBar>,
    enabled: bool,
    message: Option<String>,
    command: Option<String>,
    error: Option<String>,
    tokens_in: u64,
    tokens_out: u64,
    events: u64,
    /// When the line was last drawn: a change of the count alone is drawn at most every
    /// [`REDRAW`] (a fast writer's millions of lines would otherwise cost a redraw each).
    drawn: Option<Instant>,
}

/// A line whose only change is the count is redrawn at most this often.
const REDRAW: Duration = Duration::from_millis(100);

impl LiveStatus {
    /// A status line, drawn only when `enabled` (stderr is a terminal and not `--quiet`).
    pub fn new(enabled: bool) -> LiveStatus {
        LiveStatus {
            bar: None,
            enabled,
            message: None,
            command: None,
            error: None,
            tokens_in: 0,
            tokens_out: 0,
            events: 0,
            drawn: None,
        }
    }

    /// Takes one event into account and redraws.
    pub fn event(&mut self, v: &Value) {
        self.events += 1;
        let before = (
            self.message.clone(),
            self.command.clone(),
            self.error.clone(),
            self.tokens_in,
            self.tokens_out,
        );
        let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
        let item = v.get("item");
        let item_ty = item.and_then(|i| i.get("type")).and_then(Value::as_str);
        match ty {
            // Codex.
            "item.started" if item_ty == Some("command_execution") => {
                self.command = item.and_then(|i| i.get("command")).and_then(text);
            }
            "item.completed" | "item.updated" if item_ty == Some("agent_message") => {
                self.message = item.and_then(|i| i.get("text")).and_then(text);
            }
            "turn.completed" => {
                if let Some(u) = v.get("usage") {
                    // Cumulative for the thread.
                    self.tokens_in = num(u, "input_tokens").unwrap_or(self.tokens_in);
                    self.tokens_out = num(u, "output_tokens").unwrap_or(self.tokens_out);
                }
            }
            "turn.failed" | "error" => {
                self.error = message_of(v);
            }
            // Claude Code.
            "assistant" => {
                let msg = v.get("message");
                if let Some(blocks) = msg.and_then(|m| m.get("content")).and_then(Value::as_array) {
                    for b in blocks {
                        match b.get("type").and_then(Value::as_str) {
                            Some("text") => self.message = b.get("text").and_then(text),
                            Some("tool_use") => self.command = tool_call(b, "name", "input"),
                            _ => {}
                        }
                    }
                }
                if let Some(u) = msg.and_then(|m| m.get("usage")) {
                    self.tokens_in += num(u, "input_tokens").unwrap_or(0);
                    self.tokens_out += num(u, "output_tokens").unwrap_or(0);
                }
            }
            "result" => {
                // Claude's `usage`, Gemini's `stats`: the totals of the run.
                if let Some(u) = v.get("usage").or_else(|| v.get("stats")) {
                    self.tokens_in = num(u, "input_tokens")
                        .or_else(|| num(u, "inputTokens"))
                        .unwrap_or(self.tokens_in);
                    self.tokens_out = num(u, "output_tokens")
                        .or_else(|| num(u, "outputTokens"))
                        .unwrap_or(self.tokens_out);
                }
                if v.get("is_error").and_then(Value::as_bool) == Some(true) {
                    self.error = message_of(v);
                }
            }
            // Gemini CLI.
            "message" if v.get("role").and_then(Value::as_str) == Some("assistant") => {
                let content = v.get("content").and_then(text);
                let delta = v.get("delta").and_then(Value::as_bool) == Some(true);
                self.message = match (delta, self.message.take(), content) {
                    (true, Some(mut m), Some(c)) => {
                        m.push_str(&c);
                        Some(tail(m))
                    }
                    (_, _, c) => c,
                };
            }
            // OpenCode (its `tool_use` carries a `part`).
            "tool_use" if v.get("part").is_some() => {
                let part = v.get("part");
                let state = part.and_then(|p| p.get("state"));
                self.command = state
                    .and_then(|s| s.get("input"))
                    .and_then(|i| i.get("command"))
                    .and_then(text)
                    .or_else(|| part.and_then(|p| p.get("tool")).and_then(text));
            }
            "tool_use" => self.command = tool_call(v, "tool_name", "parameters"),
            "text" => {
                if let Some(t) = v.get("part").and_then(|p| p.get("text")).and_then(text) {
                    self.message = Some(t);
                }
            }
            "step_finish" => {
                if let Some(t) = v.get("part").and_then(|p| p.get("tokens")) {
                    self.tokens_in += num(t, "input").unwrap_or(0);
                    self.tokens_out += num(t, "output").unwrap_or(0);
                }
            }
            // Cursor Agent.
            "tool_call" => {
                if let Some(call) = v.get("tool_call").and_then(Value::as_object) {
                    // `{"shellToolCall": {"args": {"command": ...}}}`, or another tool's name.
                    self.command = call.iter().find_map(|(name, c)| {
                        let args = c.get("args");
                        args.and_then(|a| a.get("command"))
                            .and_then(text)
                            .or_else(|| Some(name.trim_end_matches("ToolCall").to_string()))
                    });
                }
            }
            // Copilot CLI.
            "assistant.message" => {
                let data = v.get("data");
                if let Some(c) = data.and_then(|d| d.get("content")).and_then(text)
                    && !c.is_empty()
                {
                    self.message = Some(c);
                }
                self.tokens_out += data.and_then(|d| num(d, "outputTokens")).unwrap_or(0);
            }
            "tool.execution_start" => {
                let data = v.get("data");
                self.command = data
                    .and_then(|d| d.get("arguments"))
                    .and_then(|a| a.get("command"))
                    .and_then(text)
                    .or_else(|| data.and_then(|d| d.get("toolName")).and_then(text));
            }
            "session.error" => {
                self.error = v.get("data").and_then(message_of);
            }
            _ => {}
        }
        let now = (
            &self.message,
            &self.command,
            &self.error,
            self.tokens_in,
            self.tokens_out,
        );
        let changed = now != (&before.0, &before.1, &before.2, before.3, before.4);
        self.draw(changed);
    }

    /// Counts a line that is not an event it can read (a giant output, a malformed line).
    pub fn other(&mut self) {
        self.events += 1;
        self.draw(false);
    }

    /// The status line's text.
    pub fn line(&self) -> String {
        let plural = if self.events == 1 { "" } else { "s" };
        let mut parts = vec![format!("{} event{plural}", self.events)];
        if self.tokens_in + self.tokens_out > 0 {
            parts.push(format!(
                "tokens {} in / {} out",
                self.tokens_in, self.tokens_out
            ));
        }
        if let Some(c) = &self.command {
            parts.push(format!("$ {c}"));
        }
        if let Some(e) = &self.error {
            parts.push(format!("error: {e}"));
        } else if let Some(m) = &self.message {
            parts.push(format!("> {m}"));
        }
        parts.join(" | ")
    }

    /// Redraws: now when `changed` (more than the count), else if [`REDRAW`] has passed.
    fn draw(&mut self, changed: bool) {
        if !self.enabled || !changed && self.drawn.is_some_and(|t| t.elapsed() < REDRAW) {
            return;
        }
        self.drawn = Some(Instant::now());
        let line = self.line();
        let bar = self.bar.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {wide_msg}")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        bar.set_message(line);
    }

    /// Removes the status line.
    pub fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// One line of text: the first line, whitespace collapsed, cut to [`SHOWN`] characters.
fn text(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let first = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = first.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > SHOWN {
        out = out.chars().take(SHOWN).collect::<String>() + "…";
    }
    Some(out)
}

/// The last [`SHOWN`] characters of a growing message.
fn tail(s: String) -> String {
    let n = s.chars().count();
    if n <= SHOWN {
        return s;
    }
    s.chars().skip(n - SHOWN).collect()
}

fn num(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// A tool call: its `command` parameter when it has one, else its name.
fn tool_call(v: &Value, name: &str, params: &str) -> Option<String> {
    let p = v.get(params);
    p.and_then(|p| p.get("command").or_else(|| p.get("cmd")))
        .and_then(text)
        .or_else(|| v.get(name).and_then(text))
}

/// The message of an error event (`message`, `error.message`, `error.data.message`, `error`,
/// `result`).
fn message_of(v: &Value) -> Option<String> {
    let error = v.get("error");
    v.get("message")
        .and_then(text)
        .or_else(|| error.and_then(|e| e.get("message")).and_then(text))
        .or_else(|| {
            error
                .and_then(|e| e.get("data"))
                .and_then(|d| d.get("message"))
                .and_then(text)
        })
        .or_else(|| v.get("error").and_then(text))
        .or_else(|| v.get("result").and_then(text))
}

/// Lines of at most this many bytes are parsed for the status line (a giant tool output is
/// counted, not parsed).
pub const PARSED: usize = 64 << 10;

/// Feeds the lines of a live summary to a [`LiveStatus`]: the profile's events, and the lines
/// it skips (their bytes are at hand in the follower: a line it holds whole and no larger
/// than [`PARSED`] is parsed; nothing is read for the status that the follow did not read).
pub struct StatusSink {
    status: LiveStatus,
}

impl StatusSink {
    pub fn new(status: LiveStatus) -> StatusSink {
        StatusSink { status }
    }

    /// Removes the status line.
    pub fn clear(&mut self) {
        self.status.clear();
    }

    fn line(&mut self, bytes: &[u8], whole: bool) {
        // A line that is not the shape expected is not worth stopping for.
        let v = (whole && bytes.len() <= PARSED)
            .then(|| serde_json::from_slice::<Value>(bytes).ok())
            .flatten();
        match v {
            Some(v) if v.is_object() => self.status.event(&v),
            _ => self.status.other(),
        }
    }
}

impl Sink for StatusSink {
    type Error = spoolscan::Error;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Self::Error> {
        self.line(event.bytes(), true);
        Ok(true)
    }

    fn wants_skipped(&self) -> bool {
        true
    }

    fn passed(&mut self, line: &Passed<'_>) -> Result<bool, Self::Error> {
        match line.category() {
            Category::Skipped | Category::OversizeSkipped => {
                self.line(line.bytes(), line.is_whole());
            }
            _ => self.status.other(),
        }
        Ok(true)
    }

    fn finish(&mut self, _report: &Report) -> Result<(), Self::Error> {
        self.status.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status after every line of a sample, as the observer sees them.
    fn sample(text: &str) -> String {
        let mut sink = StatusSink::new(LiveStatus::new(false));
        for l in text.lines() {
            sink.line(l.as_bytes(), true);
        }
        sink.status.line()
    }

    #[test]
    fn every_profile_sample() {
        let all = [
            ("codex", include_str!("../../samples/codex.ndjson")),
            ("claude", include_str!("../../samples/claude.ndjson")),
            ("gemini", include_str!("../../samples/gemini.ndjson")),
            ("opencode", include_str!("../../samples/opencode.ndjson")),
            ("cursor", include_str!("../../samples/cursor.ndjson")),
            ("amp", include_str!("../../samples/amp.ndjson")),
            ("qwen", include_str!("../../samples/qwen.ndjson")),
            ("copilot", include_str!("../../samples/copilot.ndjson")),
        ];
        for (name, text) in all {
            let line = sample(text);
            eprintln!("{name}: {line}");
            let n = text.lines().filter(|l| !l.trim().is_empty()).count();
            assert!(line.starts_with(&format!("{n} events")), "{name}: {line}");
            // The answer (or the last message) and a command or tool are shown.
            assert!(
                line.contains(" | > ") || line.contains("error: "),
                "{name}: {line}"
            );
            assert!(line.contains(" | $ "), "{name}: {line}");
        }
    }

    fn feed(lines: &[&str]) -> LiveStatus {
        let mut s = LiveStatus::new(false);
        for l in lines {
            s.event(&serde_json::from_str(l).unwrap());
        }
        s
    }

    #[test]
    fn codex() {
        let s = feed(&[
            r#"{"type":"item.started","item":{"type":"command_execution","command":"cargo test\n--all"}}"#,
            r#"{"type":"item.completed","item":{"type":"agent_message","text":"Done.\nMore."}}"#,
            r#"{"type":"turn.completed","usage":{"input_tokens":120,"output_tokens":7}}"#,
        ]);
        assert_eq!(
            s.line(),
            "3 events | tokens 120 in / 7 out | $ cargo test | > Done."
        );
    }

    #[test]
    fn claude() {
        let s = feed(&[
            r#"{"type":"assistant","message":{"content":[{"type":"text","text":"Looking."},{"type":"tool_use","name":"Bash","input":{"command":"ls -la"}}],"usage":{"input_tokens":10,"output_tokens":2}}}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"text","text":"All good."}],"usage":{"input_tokens":5,"output_tokens":3}}}"#,
        ]);
        assert_eq!(
            s.line(),
            "2 events | tokens 15 in / 5 out | $ ls -la | > All good."
        );
    }

    #[test]
    fn gemini_and_errors() {
        let s = feed(&[
            r#"{"type":"message","role":"assistant","content":"Hel","delta":true}"#,
            r#"{"type":"message","role":"assistant","content":"lo","delta":true}"#,
            r#"{"type":"tool_use","tool_name":"read_file","parameters":{"path":"a"}}"#,
        ]);
        assert_eq!(s.line(), "3 events | $ read_file | > Hello");
        let s = feed(&[r#"{"type":"turn.failed","error":{"message":"quota exceeded"}}"#]);
        assert_eq!(s.line(), "1 event | error: quota exceeded");
    }
}
