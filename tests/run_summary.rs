//! Issue 12: `summarize` takes what the scanner's `scan_*` methods take (paths as `&str`,
//! `String`, `&Path`, `PathBuf`; files; readers; bytes), and a library run-and-summarize
//! (`Summarizer::run`, `Summarizer::summarize_run`) applies the run's outcome (exit status,
//! timeout, spool cap) as `spoolscan run --profile` does. Expected answers come from serde_json
//! over the same bytes.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use spoolscan::{
    Error, IntoSource, Profile, RunError, Runner, Source, Status, Summarizer, Summary, summarize,
};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/codex.ndjson")
}

/// The oracle: the text of the last `item.completed` agent message (serde_json).
fn last_answer(data: &[u8]) -> String {
    data.split(|&b| b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .filter(|v| v["type"] == "item.completed" && v["item"]["type"] == "agent_message")
        .filter_map(|v| v["item"]["text"].as_str().map(str::to_owned))
        .next_back()
        .expect("the sample has an answer")
}

/// Only ever compiled: these calls type-check (issue 12 gave them as not compiling).
#[allow(dead_code, unused_must_use)]
fn compiles() {
    summarize("x.ndjson", Profile::Auto);
    summarize(std::io::stdin().lock(), Profile::Auto);
    summarize(std::io::stdin(), Profile::Auto);
    Summarizer::new(Profile::Codex).summarize(String::from("x.ndjson"));
}

#[test]
fn summarize_takes_what_scan_takes() {
    let path = sample();
    let data = std::fs::read(&path).unwrap();
    let want = summarize(&data[..], Profile::Codex).unwrap();
    assert_eq!(want.status, Status::Ok);
    assert_eq!(want.answer.as_deref(), Some(last_answer(&data).as_str()));
    let path_str = path.to_str().unwrap().to_owned();
    let check = |what: &str, got: Summary| {
        assert_eq!(got.to_json(), want.to_json(), "{what}");
    };
    check(
        "&str",
        summarize(path_str.as_str(), Profile::Codex).unwrap(),
    );
    check("&String", summarize(&path_str, Profile::Codex).unwrap());
    check(
        "String",
        summarize(path_str.clone(), Profile::Codex).unwrap(),
    );
    check("&Path", summarize(path.as_path(), Profile::Codex).unwrap());
    check("&PathBuf", summarize(&path, Profile::Codex).unwrap());
    check("PathBuf", summarize(path.clone(), Profile::Codex).unwrap());
    check(
        "&OsStr",
        summarize(path.as_os_str(), Profile::Codex).unwrap(),
    );
    let file = File::open(&path).unwrap();
    check("&File", summarize(&file, Profile::Codex).unwrap());
    check("File", summarize(file, Profile::Codex).unwrap());
    check("&Vec<u8>", summarize(&data, Profile::Codex).unwrap());
    check(
        "BufReader<File>",
        summarize(BufReader::new(File::open(&path).unwrap()), Profile::Codex).unwrap(),
    );
    let mut reader = File::open(&path).unwrap();
    check("&mut File", summarize(&mut reader, Profile::Codex).unwrap());
    let boxed: Box<dyn Read> = Box::new(File::open(&path).unwrap());
    check("Box<dyn Read>", summarize(boxed, Profile::Codex).unwrap());
    check(
        "Source::reader",
        summarize(Source::reader(&data[..]), Profile::Codex).unwrap(),
    );
    // A pipe: a child's stdout, as stdin would be.
    let mut child = Command::new("cat")
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    check("ChildStdout", summarize(out, Profile::Codex).unwrap());
    child.wait().unwrap();
    // A reader is read from where it is; a file is read from offset 0, as scan_file does.
    let mut partial = File::open(&path).unwrap();
    let first = data.iter().position(|&b| b == b'\n').unwrap() + 1;
    std::io::Read::read_exact(&mut partial, &mut vec![0; first]).unwrap();
    let rest = summarize(&mut partial, Profile::Codex).unwrap();
    assert_eq!(rest.report.bytes, (data.len() - first) as u64);
    assert_eq!(
        rest.to_json(),
        summarize(&data[first..], Profile::Codex).unwrap().to_json()
    );
    assert_eq!(
        summarize(&partial, Profile::Codex).unwrap().to_json(),
        want.to_json()
    );
    // A path that is missing is an I/O error naming it.
    let missing = path.with_file_name("no-such.ndjson");
    let err = summarize(missing.to_str().unwrap(), Profile::Codex).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().contains("no-such.ndjson"), "{err}");
    // The conversion itself, for callers that name it.
    assert!(matches!("a".into_source(), Source::Path(p) if p == Path::new("a")));
}

/// A runner of `sh -c SCRIPT` with `$1` the sample transcript.
fn runner(script: &str) -> Runner {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg("sh").arg(sample());
    Runner::new(cmd)
}

#[test]
fn run_and_summarize_applies_the_exit_status() {
    let data = std::fs::read(sample()).unwrap();
    let plain = summarize(&data[..], Profile::Codex).unwrap();
    let s = Summarizer::new(Profile::Codex);

    // Exit 0: the summary of the spool is the summary of the bytes.
    let done = s.run(&mut runner(r#"cat "$1""#)).unwrap();
    assert_eq!(done.exit_code(), 0);
    assert_eq!(done.summary.to_json(), plain.to_json());

    // A non-zero exit fails the run, whatever the transcript says; the answer stays.
    let done = s.run(&mut runner(r#"cat "$1"; exit 3"#)).unwrap();
    assert_eq!(done.exit_code(), 3);
    assert_eq!(done.summary.status, Status::Failed);
    assert_eq!(done.summary.answer, plain.answer);
    assert!(
        done.summary
            .warnings
            .iter()
            .any(|w| w == "failed: the command exited with status 3"),
        "{:?}",
        done.summary.warnings
    );
    assert_eq!(done.summary.report, plain.report);

    // Killed by a signal.
    let done = s.run(&mut runner(r#"cat "$1"; kill -9 $$"#)).unwrap();
    assert_eq!(done.exit_code(), 128 + 9);
    assert_eq!(done.summary.status, Status::Failed);
    assert!(
        done.summary.warnings[0].contains("killed by signal 9"),
        "{:?}",
        done.summary.warnings
    );

    // A timeout.
    let mut r = runner(r#"cat "$1"; exec sleep 30"#);
    r.timeout(Duration::from_millis(300))
        .grace(Duration::from_millis(100));
    let done = s.run(&mut r).unwrap();
    assert_eq!(done.exit_code(), 124);
    assert_eq!(done.summary.status, Status::Failed);
    assert!(
        done.summary.warnings[0].contains("timed out"),
        "{:?}",
        done.summary.warnings
    );
    assert_eq!(done.summary.answer, plain.answer);
}

#[test]
fn run_and_summarize_marks_a_capped_spool_truncated() {
    let data = std::fs::read(sample()).unwrap();
    let cap = data.len() as u64 / 2;
    let mut r = runner(r#"cat "$1"; exec sleep 30"#);
    r.max_spool(cap);
    let done = Summarizer::new(Profile::Codex).run(&mut r).unwrap();
    assert!(done.run.fault.is_some());
    assert_eq!(done.exit_code(), 125);
    assert_eq!(done.run.stdout.len(), cap);
    let s = &done.summary;
    assert_eq!(s.status, Status::Truncated);
    assert!(s.report.truncated);
    assert_eq!(s.report.bytes, cap);
    assert!(s.statuses().contains(&Status::Failed), "{:?}", s.warnings);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.starts_with("truncated: ") && w.contains("cap")),
        "{:?}",
        s.warnings
    );
    // The transcript part is that of the first `cap` bytes.
    let head = summarize(&data[..cap as usize], Profile::Codex).unwrap();
    assert_eq!(s.answer, head.answer);
    assert_eq!(s.session_id, head.session_id);
}

#[test]
fn run_and_summarize_checks_the_limits_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let mut cmd = Command::new("touch");
    cmd.arg(&marker);
    let mut s = Summarizer::new(Profile::Codex);
    s.probe(1 << 20).max_line(1 << 10);
    let err = s.run(&mut Runner::new(cmd)).unwrap_err();
    assert!(matches!(err, RunError::Summary(Error::Config(_))), "{err}");
    assert!(!marker.exists(), "the command ran");
    // A command that cannot start is a spool error with the CLI's exit status.
    let err = Summarizer::new(Profile::Codex)
        .run(&mut Runner::new(Command::new(
            "/nonexistent/spoolscan-test",
        )))
        .unwrap_err();
    match err {
        RunError::Spool(e) => assert_eq!(e.exit_code(), 127),
        e => panic!("{e}"),
    }
}

/// `summarize_run` after following the spool: the library, not the caller, applies the
/// outcome (here with a copy of the spool: `mmap(false)`).
#[test]
fn summarize_run_after_a_follow() {
    let data = std::fs::read(sample()).unwrap();
    let mut r = runner(r#"cat "$1"; exit 5"#);
    let mut running = r.start().unwrap();
    let scanner = spoolscan::Scanner::builder()
        .select(Profile::Codex.selector().unwrap())
        .build()
        .unwrap();
    let mut follower = running.stdout_follower(scanner).unwrap();
    let mut seen = 0u64;
    let mut sink = spoolscan::sinks::Raw::new(|_line| {
        seen += 1;
        Ok(true)
    });
    follower
        .follow(&mut sink, || running.try_wait().unwrap_or(true))
        .unwrap();
    let run = running.wait().unwrap();
    follower.finish(&mut sink).unwrap();
    let mut s = Summarizer::new(Profile::Codex);
    s.mmap(false);
    let summary = s.summarize_run(&run).unwrap();
    assert_eq!(summary.status, Status::Failed);
    assert_eq!(summary.report.retained, seen);
    let plain = summarize(&data[..], Profile::Codex).unwrap();
    assert_eq!(summary.answer, plain.answer);
    assert_eq!(summary.report, plain.report);
}
