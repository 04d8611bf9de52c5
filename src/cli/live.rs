//! `run --follow --profile`: a one-line live status of an agent run on stderr (the last agent
//! message, the command being run, tokens so far), then the summary of the finished transcript.

use std::io::{self, Write};
use std::time::Duration;

use serde_json::Value;
use spoolscan::{Event, Profile, Report, Run, Selector, Sink, Source, Summarizer};

use super::run::{RunArgs, report_failure};
use super::{Exit, Output, write_stats};

/// Text shown from a message or command, at most this many characters.
const SHOWN: usize = 200;

/// The live status of an agent run, drawn on stderr as one line (when enabled).
///
/// It understands the events of the three supported CLIs by their shape, so it works before
/// (or without) knowing which one is running:
///
/// * Codex: `item.started` of a `command_execution` (the command), `item.completed` of an
///   `agent_message` (the text), `turn.completed` (cumulative `usage`), `error`, `turn.failed`.
/// * Claude Code: `assistant` (text and `tool_use` blocks, per-message `usage`), `result`.
/// * Gemini CLI: `message` from the assistant (`delta` chunks are appended), `tool_use`,
///   `result` (`stats`), `error`.
pub struct LiveStatus {
    bar: Option<indicatif::ProgressBar>,
    enabled: bool,
    message: Option<String>,
    command: Option<String>,
    error: Option<String>,
    tokens_in: u64,
    tokens_out: u64,
    events: u64,
}

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
        }
    }

    /// The events the status reads. Small events only: a finished command's output and tool
    /// results (the giant lines) are not among them.
    pub fn selector() -> Selector {
        Selector::new()
            .equals(
                "type",
                [
                    "item.started",
                    "turn.completed",
                    "turn.failed",
                    "error",
                    "assistant",
                    "result",
                    "message",
                    "tool_use",
                ],
            )
            .and_then(|s| s.equals("item.type", ["agent_message"]))
            .expect("valid rules")
    }

    /// Takes one event into account and redraws.
    pub fn event(&mut self, v: &Value) {
        self.events += 1;
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
                    self.tokens_in = num(u, "input_tokens").unwrap_or(self.tokens_in);
                    self.tokens_out = num(u, "output_tokens").unwrap_or(self.tokens_out);
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
            "tool_use" => self.command = tool_call(v, "tool_name", "parameters"),
            _ => {}
        }
        self.draw();
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

    fn draw(&mut self) {
        if !self.enabled {
            return;
        }
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
    p.and_then(|p| p.get("command"))
        .and_then(text)
        .or_else(|| v.get(name).and_then(text))
}

/// The message of an error event (`message`, `error.message`, `error`, `result`).
fn message_of(v: &Value) -> Option<String> {
    v.get("message")
        .and_then(text)
        .or_else(|| v.get("error").and_then(|e| e.get("message")).and_then(text))
        .or_else(|| v.get("error").and_then(text))
        .or_else(|| v.get("result").and_then(text))
}

/// Feeds the retained events of a follow to a [`LiveStatus`].
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
}

impl Sink for StatusSink {
    type Error = Output;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Output> {
        // An event that is not the shape expected is not worth stopping for.
        if let Ok(v) = event.decode::<Value>() {
            self.status.event(&v);
        }
        Ok(true)
    }

    fn finish(&mut self, _report: &Report) -> Result<(), Output> {
        self.status.clear();
        Ok(())
    }
}

/// Prints the summary of the finished run's stdout spool (DESIGN §9), marked truncated when
/// the spool is incomplete and failed when the command failed; writes its report with
/// `--stats`; returns the command's exit status.
pub fn summary(args: &RunArgs, profile: Profile, run: &Run) -> Result<(), Exit> {
    let limits = &args.options.limits;
    let mut s = Summarizer::new(profile);
    s.probe(limits.probe)
        .max_line(limits.max_line)
        .ceiling(limits.ceiling)
        .mmap(!limits.no_mmap)
        .threads(super::args::cores());
    // With --no-mmap the spool is copied next to itself, in the run's spool directory.
    s.spool_dir(&run.dir);
    let mut summary = match s.summarize(Source::File(run.stdout.file())) {
        Ok(summary) => summary,
        Err(spoolscan::Error::Config(e)) => return Err(Exit::Usage(e.to_string())),
        Err(e) => return Err(Exit::Io(e.to_string())),
    };
    if let Some(fault) = &run.fault {
        summary.mark_truncated(fault);
    }
    let code = run.exit_code();
    if code != 0 {
        let why = if run.timed_out {
            format!("the command timed out after {:.1?}", run.elapsed)
        } else if let Some(sig) = run.signal() {
            format!("the command was killed by signal {sig}")
        } else {
            format!("the command exited with status {code}")
        };
        summary.mark_failed(why);
    }
    write_stats(args.stats.as_deref(), &summary.report)?;
    let mut json = summary.to_json();
    json.push('\n');
    let mut out = io::stdout().lock();
    match out.write_all(json.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(Exit::Io(format!("writing the summary: {e}"))),
    }
    if code != 0 {
        report_failure(run, summary.error.as_deref());
        return Err(Exit::Code(code));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
