//! Five programs against the spoolscan library, each checked against serde_json over the same
//! file: a `?` in a `Raw` closure, borrowed `Typed` events with mismatches skipped, the pull
//! iterator, run-and-summarize (with `summarize` of a path given as `&str`), and a live
//! run-and-summarize in one pass with an observer of the events.
//!
//! Usage: `spoolscan-client TRANSCRIPT.ndjson` (a Codex `exec --json` file). Exits non-zero (with
//! a message) when a result differs from the oracle.

use std::error::Error;
use std::io::Write;

use serde::Deserialize;
use serde_json::Value;
use spoolscan::sinks::{EventType, Raw, Typed};
use spoolscan::{Event, Profile, Runner, Scanner, Selector, Sink, Status, Summarizer, summarize};

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: spoolscan-client FILE")?;
    let data = std::fs::read(&path)?;
    raw_with_question_mark(&path, &data)?;
    borrowed_typed(&path, &data)?;
    pull_iterator(&path, &data)?;
    run_and_summarize(&path, &data)?;
    live_run_and_summarize(&path, &data)?;
    println!("client: all five programs agree with serde_json on {path}");
    Ok(())
}

/// The lines serde_json parses, with their 1-based numbers.
fn oracle(data: &[u8]) -> Vec<(u64, Value)> {
    data.split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(i, l)| Some((i as u64 + 1, serde_json::from_slice(l).ok()?)))
        .collect()
}

fn codex_scanner() -> Result<Scanner, Box<dyn Error>> {
    Ok(Scanner::builder()
        .select(
            Selector::new()
                .equals("type", ["turn.completed", "error", "turn.failed"])?
                .equals("item.type", ["agent_message"])?,
        )
        .build()?)
}

/// Program 1: copy the retained lines to a writer with `?` on its I/O errors.
fn raw_with_question_mark(path: &str, data: &[u8]) -> Result<(), Box<dyn Error>> {
    let mut scanner = codex_scanner()?;
    let mut out = Vec::new();
    let report = scanner.scan_path(
        path,
        Raw::new(|line| {
            out.write_all(line.bytes())?;
            out.write_all(b"\n")?;
            Ok(true)
        }),
    )?;
    let want: usize = oracle(data)
        .iter()
        .filter(|(_, v)| {
            ["turn.completed", "error", "turn.failed"].contains(&v["type"].as_str().unwrap_or(""))
                || v["item"]["type"] == "agent_message"
        })
        .count();
    let got = out.iter().filter(|&&b| b == b'\n').count();
    if got != want || report.retained != want as u64 {
        return Err(format!(
            "raw: {got} lines, report {}, oracle {want}",
            report.retained
        )
        .into());
    }
    println!("raw: {got} retained lines copied");
    Ok(())
}

#[derive(Deserialize)]
struct Item<'a> {
    text: &'a str,
}

#[derive(Deserialize)]
struct Completed<'a> {
    #[serde(borrow)]
    item: Item<'a>,
}

/// `Completed<'a>` for every event lifetime.
struct Completions;

impl EventType for Completions {
    type Of<'a> = Completed<'a>;
}

/// Program 2: borrowed typed events; the `turn.completed` events do not fit and are skipped.
fn borrowed_typed(path: &str, data: &[u8]) -> Result<(), Box<dyn Error>> {
    let mut scanner = codex_scanner()?;
    let mut answer: Option<String> = None;
    let mut sink = Typed::borrowed::<Completions>(|_line, ev| {
        answer = Some(ev.item.text.to_owned());
        Ok(true)
    })
    .skip_mismatched();
    scanner.scan_path(path, &mut sink)?;
    let skipped = sink.mismatched_total();
    drop(sink);
    let want = oracle(data)
        .into_iter()
        .filter(|(_, v)| v["item"]["type"] == "agent_message")
        .filter_map(|(_, v)| v["item"]["text"].as_str().map(str::to_owned))
        .next_back();
    if answer != want || skipped == 0 {
        return Err(format!("typed: answer {answer:?}, oracle {want:?}, skipped {skipped}").into());
    }
    println!(
        "typed: answer of {} bytes, {skipped} events skipped",
        answer.unwrap().len()
    );
    Ok(())
}

/// Program 3: the pull iterator: token usage of every `turn.completed`.
fn pull_iterator(path: &str, data: &[u8]) -> Result<(), Box<dyn Error>> {
    let scanner = Scanner::builder()
        .select(Selector::new().equals("type", ["turn.completed"])?)
        .build()?;
    let mut tokens = 0;
    let mut events = scanner.events(path)?;
    for event in &mut events {
        let v: Value = event?.decode()?;
        tokens += v["usage"]["input_tokens"].as_u64().unwrap_or(0);
    }
    let want: u64 = oracle(data)
        .iter()
        .filter(|(_, v)| v["type"] == "turn.completed")
        .filter_map(|(_, v)| v["usage"]["input_tokens"].as_u64())
        .sum();
    let report = events.report().ok_or("pull: no report")?;
    if tokens != want || !report.is_consistent() {
        return Err(format!("pull: {tokens} tokens, oracle {want}").into());
    }
    println!("pull: {tokens} input tokens over {} lines", report.lines);
    Ok(())
}

/// Program 4: run a command (a stand-in agent: `cat` of the transcript, then exit 2) and
/// summarize its stdout; the summary of the path agrees, and the run's exit status fails it.
fn run_and_summarize(path: &str, data: &[u8]) -> Result<(), Box<dyn Error>> {
    let want = oracle(data)
        .into_iter()
        .filter(|(_, v)| v["type"] == "item.completed" && v["item"]["type"] == "agent_message")
        .filter_map(|(_, v)| v["item"]["text"].as_str().map(str::to_owned))
        .next_back();
    let from_path = summarize(path, Profile::Codex)?;
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", r#"cat "$1"; exit 2"#, "sh", path]);
    let done = Summarizer::new(Profile::Codex).run(&mut Runner::new(cmd))?;
    if from_path.answer != want || done.summary.answer != want {
        return Err(format!("run: answer {:?}, oracle {want:?}", done.summary.answer).into());
    }
    if done.summary.status != Status::Failed || done.exit_code() != 2 {
        return Err(format!(
            "run: status {} and exit {} after exit 2",
            done.summary.status,
            done.exit_code()
        )
        .into());
    }
    if done.summary.report != from_path.report {
        return Err("run: the spool's report differs from the file's".into());
    }
    println!(
        "run: {} ({} warnings)",
        done.summary.status,
        done.summary.warnings.len()
    );
    Ok(())
}

/// An observer of a live summary: counts the events it is shown.
struct Seen(u64);

impl Sink for Seen {
    type Error = spoolscan::Error;

    fn retained(&mut self, _event: &mut Event<'_>) -> Result<bool, spoolscan::Error> {
        self.0 += 1;
        Ok(true)
    }
}

/// Program 5: the same run, summarized while the command writes (one pass over the spool, no
/// second scan), with an observer: the summary equals `run`'s, and the observer saw the profile's
/// events (the lines serde_json parses whose `type` is one the Codex profile keeps).
fn live_run_and_summarize(path: &str, data: &[u8]) -> Result<(), Box<dyn Error>> {
    let summarizer = Summarizer::new(Profile::Codex);
    let cmd = || {
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", r#"cat "$1"; exit 2"#, "sh", path]);
        cmd
    };
    let done = summarizer.run(&mut Runner::new(cmd()))?;
    let mut seen = Seen(0);
    let live = summarizer.run_live(&mut Runner::new(cmd()), &mut seen)?;
    if live.summary.to_json() != done.summary.to_json() || live.exit_code() != done.exit_code() {
        return Err("live: the summary differs from run's".into());
    }
    if seen.0 != live.summary.report.retained {
        return Err(format!(
            "live: the observer saw {} events, the report retained {}",
            seen.0, live.summary.report.retained
        )
        .into());
    }
    // The Codex profile's selection, by serde_json: these types, a type that contains "error"
    // or "failed", or an agent message.
    let kept = ["thread.started", "turn.completed", "session.end", "result"];
    let want = oracle(data)
        .iter()
        .filter(|(_, v)| {
            let ty = v["type"].as_str().unwrap_or_default();
            let lower = ty.to_lowercase();
            kept.contains(&ty)
                || lower.contains("error")
                || lower.contains("failed")
                || v["item"]["type"] == "agent_message"
        })
        .count() as u64;
    if seen.0 != want {
        return Err(format!(
            "live: the observer saw {} events, serde_json {want}",
            seen.0
        )
        .into());
    }
    println!(
        "live: {} ({} events seen as they were written)",
        live.summary.status, seen.0
    );
    Ok(())
}
