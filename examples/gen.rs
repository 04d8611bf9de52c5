//! Writes a benchmark input to a file, so that `spoolscan scan` (or jq, or your own tool) can be
//! timed on exactly the bytes `cargo bench --bench scan` uses.
//!
//! ```text
//! cargo run --release --example gen -- transcript 1GiB /tmp/t.ndjson
//! cargo run --release --example gen -- logs 256MiB /tmp/logs.ndjson [SEED]
//! cargo run --release --example gen -- events 256MiB /tmp/events.ndjson
//! ```
//!
//! `transcript` (or `a`) is input (a): an agent transcript where about 60% of the bytes are
//! tool-output lines of 8 to 64 MiB. `logs` (or `b`) is input (b): small lines of 100 B to
//! 2 KiB, about 2% retained by the Codex selection. `events` (or `c`) is input (c):
//! GitHub-Archive-like events of 0.2 to 20 KiB with the keys in a different order on each line
//! (`type` not always first, `payload` usually last), nested objects (`actor`, `repo`, `org`,
//! `payload` with `commits` arrays, `issue`, `pull_request`, nested `"type":"User"` keys), long
//! strings with escapes (`\n`, `\"`, `\\`, `\u00e9`, surrogate pairs), raw UTF-8 and emoji,
//! numbers, booleans and nulls; about half the lines are `"type":"PushEvent"`, and
//! `payload.action` (`opened`, `closed`, `created`, `started`, ...) is present on the other
//! types that have one, after the big nested object on half of those lines. For it the summary
//! also gives the counts `--keep type=PushEvent` and `--keep payload.action=opened` retain.
//! Sizes take `KiB`, `MiB`, `GiB` (binary) or plain bytes; the file is
//! exactly that size. The output depends only on the kind, the size and the seed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

#[path = "../benches/gen/mod.rs"]
mod generator;

use generator::Kind;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen (transcript|logs|events) SIZE OUT [SEED]   e.g. gen transcript 1GiB /tmp/t.ndjson";
    if args.len() < 3 || args.len() > 4 {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    let Some(kind) = Kind::parse(&args[0]) else {
        eprintln!("unknown input kind {:?}\n{usage}", args[0]);
        return ExitCode::from(2);
    };
    let Some(size) = generator::parse_size(&args[1]) else {
        eprintln!("bad size {:?}\n{usage}", args[1]);
        return ExitCode::from(2);
    };
    let seed = match args.get(3).map(|s| s.parse::<u64>()) {
        None => generator::SEED,
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            eprintln!("bad seed {:?}\n{usage}", args[3]);
            return ExitCode::from(2);
        }
    };
    let path = &args[2];
    let result = File::create(path).and_then(|f| {
        let mut out = BufWriter::with_capacity(1 << 20, f);
        let stats = generator::write(kind, size, seed, &mut out)?;
        out.flush()?;
        Ok(stats)
    });
    match result {
        Ok(s) => {
            eprintln!(
                "{path}: {} {} bytes, {} lines, {} retained by the Codex selection, \
                 {} lines over 1 MiB ({} bytes), longest {} bytes",
                kind.name(),
                s.bytes,
                s.lines,
                s.retained,
                s.giant_lines,
                s.giant_bytes,
                s.longest
            );
            if kind == Kind::Events {
                eprintln!(
                    "{path}: {} lines with type=PushEvent, {} with payload.action=opened",
                    s.push_events, s.action_opened
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::FAILURE
        }
    }
}
