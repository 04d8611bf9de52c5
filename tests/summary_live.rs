//! Live summaries (issue 12): a transcript summarized while it is written, in the same pass
//! that follows it. The oracle is the summary of the finished file by `Summarizer::summarize`
//! (one scan of the whole file): for every sample of every profile, and transcripts that hit
//! the Codex fallback, the `result` stop and a truncated last line, written in random pieces
//! with polls in between; through the library (`LiveSummary`, `Summarizer::run_live`) and the
//! CLI (`run --follow --profile` against `run --profile`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use proptest::prelude::*;
use spoolscan::{Event, Passed, Profile, Runner, Sink, Summarizer};

fn inputs() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for dir in ["samples", "tests/data"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
            .collect();
        files.sort();
        for f in files {
            v.push((f.display().to_string(), std::fs::read(&f).unwrap()));
        }
    }
    let fallback = b"{\"type\":\"thread.started\",\"thread_id\":\"t\"}\n{\"x\":1}\n[2]\n{bad\n";
    v.push(("codex fallback".into(), fallback.to_vec()));
    let stop = b"{\"type\":\"result\",\"result\":\"r\"}\n{\"type\":\"turn.failed\"}\n\n";
    v.push(("codex result stop".into(), stop.to_vec()));
    let cut = b"{\"type\":\"system\",\"subtype\":\"init\",\"claude_code_version\":\"1\"}\n{\"type\":\"result\",\"res";
    v.push(("truncated".into(), cut.to_vec()));
    v
}

fn profiles() -> Vec<Profile> {
    let mut p = vec![Profile::Auto];
    p.extend(Profile::ALL);
    p
}

/// Writes `data` to a growing file in pieces cut at `cuts` (fractions), polling a live
/// summary after each, and returns the summary and what the observer saw.
fn live(s: &Summarizer, data: &[u8], cuts: &[f64]) -> (spoolscan::Summary, u64) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let mut live = s.live_file(file.reopen().unwrap());
    let mut seen = Seen(0);
    let mut at = 0;
    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|f| (f * data.len() as f64) as usize)
        .collect();
    cuts.sort();
    for c in cuts {
        file.write_all(&data[at..c.max(at)]).unwrap();
        file.flush().unwrap();
        at = c.max(at);
        live.poll_with(&mut seen).unwrap();
    }
    file.write_all(&data[at..]).unwrap();
    file.flush().unwrap();
    let summary = live.finish_with(&mut seen).unwrap();
    (summary, seen.0)
}

/// Counts the lines shown to the observer.
struct Seen(u64);

impl Sink for Seen {
    type Error = spoolscan::Error;
    fn retained(&mut self, _event: &mut Event<'_>) -> Result<bool, Self::Error> {
        self.0 += 1;
        Ok(true)
    }
    fn wants_skipped(&self) -> bool {
        true
    }
    fn passed(&mut self, _line: &Passed<'_>) -> Result<bool, Self::Error> {
        self.0 += 1;
        Ok(true)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn live_summary_equals_the_summary_of_the_file(
        cuts in prop::collection::vec(0.0f64..1.0, 0..6),
    ) {
        for (name, data) in inputs() {
            let mut file = tempfile::NamedTempFile::new().unwrap();
            file.write_all(&data).unwrap();
            for p in profiles() {
                let s = Summarizer::new(p);
                let want = s.summarize(file.path()).unwrap();
                let (got, seen) = live(&s, &data, &cuts);
                prop_assert_eq!(&got, &want, "{} {:?}", name, p);
                // Every non-blank line the scan settled was shown once.
                let r = &want.report;
                prop_assert_eq!(seen, r.lines - r.blank, "{} {:?}", name, p);
            }
        }
    }
}

#[test]
fn run_live_equals_run() {
    for (name, data) in inputs() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&data).unwrap();
        // Written in two halves with a pause, so that the follow sees a partial transcript.
        let half = data.len() / 2;
        let script = format!(
            "head -c {half} {0}; sleep 0.05; tail -c +{1} {0}",
            file.path().display(),
            half + 1
        );
        for p in [Profile::Auto, Profile::Codex, Profile::Claude] {
            let cmd = || {
                let mut c = Command::new("sh");
                c.arg("-c").arg(&script);
                Runner::new(c)
            };
            let s = Summarizer::new(p);
            let live = s.run_live(&mut cmd(), ()).unwrap();
            let after = s.run(&mut cmd()).unwrap();
            assert_eq!(live.summary, after.summary, "{name} {p:?}");
            assert_eq!(live.exit_code(), 0);
        }
    }
}

fn spoolscan(args: &[&str]) -> (Option<i32>, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_spoolscan"))
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    (out.status.code(), out.stdout)
}

#[test]
fn cli_follow_profile_equals_run_profile() {
    for (name, data) in inputs() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&data).unwrap();
        let path = file.path().to_str().unwrap();
        for p in profiles() {
            let p = p.name();
            let after = spoolscan(&["run", "--profile", p, "--", "cat", path]);
            let live = spoolscan(&["run", "--follow", "--profile", p, "--", "cat", path]);
            assert_eq!(live, after, "{name} {p}");
        }
        // A failing command: the same status and summary.
        let script = format!("cat {path}; exit 3");
        let after = spoolscan(&["run", "--profile", "auto", "--", "sh", "-c", &script]);
        let live = spoolscan(&[
            "run",
            "--follow",
            "--profile",
            "auto",
            "--",
            "sh",
            "-c",
            &script,
        ]);
        assert_eq!(after.0, Some(3));
        assert_eq!(live, after, "{name} exit 3");
    }
}

/// Limits out of order: the live summary says so (the error of `Summarizer::summarize`), for a
/// fixed profile and for `auto`.
#[test]
fn live_summary_reports_bad_limits() {
    for p in [Profile::Codex, Profile::Auto] {
        let mut s = Summarizer::new(p);
        s.probe(1 << 20).max_line(1 << 10);
        let want = s.summarize(&b"{}\n"[..]).unwrap_err();
        assert!(matches!(want, spoolscan::Error::Config(_)), "{want}");
        let mut live = s.live_file(tempfile::tempfile().unwrap());
        let got = live.poll().unwrap_err();
        assert_eq!(got.to_string(), want.to_string(), "{p:?}");
        // Once said, the live summary cannot go on.
        assert!(live.finish().is_err());
    }
}
