//! `spoolscan summarize`: print the summary of an agent CLI transcript as one JSON object.

use std::io::{self, Write};
use std::path::PathBuf;

use spoolscan::{Error, Profile, Summarizer};

use super::args::Limits;

/// Parses `--profile`.
pub fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse::<Profile>().map_err(|e| e.to_string())
}

/// Arguments of `spoolscan summarize`.
#[derive(clap::Args, Debug)]
pub struct SummarizeArgs {
    /// The transcript's format: codex (`codex exec --json`), claude (`claude -p
    /// --output-format stream-json --verbose`), gemini (`gemini --output-format stream-json`),
    /// opencode (`opencode run --format json`), cursor (`cursor-agent -p --output-format
    /// stream-json`), amp (`amp -x --stream-json`), qwen (`qwen -p --output-format
    /// stream-json`), copilot (`copilot -p --output-format json`), or auto (detected from the
    /// first events; the summary names the one chosen, or keeps `auto` with a warning when
    /// none fits).
    #[arg(long, value_name = "PROFILE", default_value = "auto", value_parser = parse_profile)]
    pub profile: Profile,
    #[command(flatten)]
    pub limits: Limits,
    /// The transcript (NDJSON); `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Runs `spoolscan summarize`: prints the summary as one line of JSON on stdout and returns the
/// exit status: 0 when the transcript was summarized (whatever the summary's status), 1 on an
/// I/O error (the message, naming the file, goes to stderr), 2 on a configuration error.
pub fn run(args: &SummarizeArgs) -> i32 {
    let mut s = Summarizer::new(args.profile);
    s.probe(args.limits.probe)
        .max_line(args.limits.max_line)
        .ceiling(args.limits.ceiling)
        .mmap(!args.limits.no_mmap)
        .threads(super::args::cores());
    let result = match &args.file {
        Some(p) if p.as_os_str() != "-" => s.summarize(p),
        _ => s.summarize(io::stdin().lock()),
    };
    let summary = match result {
        Ok(summary) => summary,
        Err(Error::Config(e)) => {
            eprintln!("spoolscan: error: {e}");
            return 2;
        }
        Err(e) => {
            eprintln!("spoolscan: {e}");
            return 1;
        }
    };
    // Written as it is serialized: an answer of up to the ceiling is not copied again.
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written = serde_json::to_writer(&mut out, &summary)
        .map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => 0,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("spoolscan: writing the summary: {e}");
            1
        }
    }
}
