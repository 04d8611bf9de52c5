//! Peak-RSS test: `spoolscan scan` in fresh processes on a tiny transcript and on a generated
//! one of at least 256 MiB with skipped lines of 32 MiB and more. The large run's peak RSS may
//! exceed the tiny run's by at most 16 MiB (DESIGN §6, §11), and both must report the right
//! retained count. Peak RSS comes from GNU time (else `wait4`'s `ru_maxrss`, which is raised to
//! the test process's own: see `common/peak.rs`); RssAnon and RssFile are sampled from /proc
//! while the child runs, so a regression can be diagnosed.

#[path = "common/child.rs"]
mod child;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Stdio;

#[path = "common/peak.rs"]
mod peak;

const CODEX: [&str; 4] = [
    "--keep",
    "type=turn.completed,error,turn.failed",
    "--keep",
    "item.type=agent_message",
];

const MIB: usize = 1 << 20;
const SLACK_KIB: i64 = 16 * 1024;
/// What each worker of a parallel scan may add to the peak.
const PER_THREAD_KIB: i64 = 4 * 1024;

/// Writes a Codex-style transcript and returns (bytes, expected retained lines).
///
/// `big_lines` giant tool outputs of 32 MiB + i MiB each; around them, small events. Every
/// fourth giant line puts its `type` after the giant field (undecidable from the probe).
fn write_transcript(path: &Path, big_lines: usize) -> (u64, u64) {
    let mut w = BufWriter::with_capacity(MIB, File::create(path).unwrap());
    let mut retained = 0;
    let mut bytes = 0u64;
    let mut put = |w: &mut BufWriter<File>, s: &[u8]| {
        w.write_all(s).unwrap();
        bytes += s.len() as u64;
    };
    put(&mut w, br#"{"type":"thread.started","thread_id":"t-rss"}"#);
    put(&mut w, b"\n");
    // 1/24 MiB of a giant line (20 bytes a piece): 24 of them make 1 MiB.
    let chunk = "x\\\"type\\\":\\\"error\\\" ".repeat(MIB / 24 / 20);
    for i in 0..big_lines {
        put(&mut w, br#"{"type":"turn.started"}"#);
        put(&mut w, b"\n");
        for j in 0..50 {
            let line = format!(
                r#"{{"type":"item.completed","item":{{"id":"r{i}_{j}","type":"reasoning","text":"thinking about step {j}"}}}}"#
            );
            put(&mut w, line.as_bytes());
            put(&mut w, b"\n");
        }
        let late_type = i % 4 == 3;
        if late_type {
            put(&mut w, br#"{"item":{"id":"c","aggregated_output":""#);
        } else {
            put(
                &mut w,
                br#"{"type":"item.completed","item":{"id":"c","type":"command_execution","command":"cat big","aggregated_output":""#,
            );
        }
        for _ in 0..(32 + i % 8) * 24 {
            put(&mut w, chunk.as_bytes());
        }
        if late_type {
            put(
                &mut w,
                br#"","type":"command_execution"},"type":"item.completed"}"#,
            );
        } else {
            put(&mut w, br#"","exit_code":0,"status":"completed"}}"#);
        }
        put(&mut w, b"\n");
        // A retained agent message of 256 KiB, and the turn's usage.
        let text = "answer ".repeat(256 * 1024 / 7);
        let msg = format!(
            r#"{{"type":"item.completed","item":{{"id":"m{i}","type":"agent_message","text":"{text}"}}}}"#
        );
        put(&mut w, msg.as_bytes());
        put(&mut w, b"\r\n");
        put(
            &mut w,
            br#"{"type":"turn.completed","usage":{"input_tokens":100,"output_tokens":10}}"#,
        );
        put(&mut w, b"\n");
        retained += 2;
    }
    w.flush().unwrap();
    drop(w);
    (bytes, retained)
}

struct Run {
    peak: peak::Peak,
    report: serde_json::Value,
}

/// Runs `spoolscan scan --threads 1` on `input` (as a path, or piped through stdin) in a
/// fresh process. (The CLI's default is the available cores: these bounds are the sequential
/// scan's, whatever the machine; see `peak_rss_with_threads_is_bounded`.)
fn run(input: &Path, dir: &Path, via_pipe: bool) -> Run {
    run_with(input, dir, via_pipe, 1)
}

/// [`run`] with `--threads N`.
fn run_with(input: &Path, dir: &Path, via_pipe: bool, threads: usize) -> Run {
    run_selecting(input, dir, via_pipe, threads, &CODEX)
}

/// [`run_with`] with the selection `rules` (none: every line is kept).
fn run_selecting(input: &Path, dir: &Path, via_pipe: bool, threads: usize, rules: &[&str]) -> Run {
    let report = dir.join(if via_pipe { "pipe.json" } else { "file.json" });
    let mut cmd = peak::command(env!("CARGO_BIN_EXE_spoolscan"));
    cmd.args([
        "scan",
        "--quiet",
        "--threads",
        &threads.to_string(),
        "--stats",
    ])
    .arg(&report)
    .args(rules)
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    if via_pipe {
        cmd.arg("-").stdin(Stdio::piped());
    } else {
        cmd.arg(input).stdin(Stdio::null());
    }
    let peak = peak::measure(&mut cmd, |child| {
        if let Some(mut stdin) = child.stdin.take() {
            let mut f = File::open(input).unwrap();
            std::io::copy(&mut f, &mut stdin).unwrap();
        }
    });
    let report = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    Run { peak, report }
}

#[test]
fn peak_rss_is_independent_of_file_and_skipped_line_size() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny.ndjson");
    let large = dir.path().join("large.ndjson");
    let (_, tiny_retained) = write_transcript(&tiny, 0);
    let (bytes, large_retained) = write_transcript(&large, 8);
    assert!(bytes >= 256 * MIB as u64, "{bytes}");
    assert_eq!(tiny_retained, 0);

    for via_pipe in [false, true] {
        let t = run(&tiny, dir.path(), via_pipe);
        let l = run(&large, dir.path(), via_pipe);
        eprintln!("via_pipe={via_pipe}: tiny {:?}, large {:?}", t.peak, l.peak);
        assert_eq!(t.report["retained"], 0);
        assert_eq!(l.report["retained"], large_retained);
        assert_eq!(l.report["bytes"], bytes);
        assert_eq!(l.report["oversize_unclassified"], 2);
        assert_eq!(l.report["oversize_skipped"], 6);
        assert_eq!(l.report["malformed_total"], 0);
        assert!(
            l.peak.maxrss_kib - t.peak.maxrss_kib <= SLACK_KIB,
            "peak RSS grew by {} KiB (> {SLACK_KIB} KiB) on a {} MiB input",
            l.peak.maxrss_kib - t.peak.maxrss_kib,
            bytes >> 20
        );
    }
}

/// The parallel scan (`--threads N`) of the large transcript: its peak RSS may exceed the
/// tiny run's by the sequential 16 MiB plus [`PER_THREAD_KIB`] per worker (each worker holds
/// the pages it is reading, its scanner's buffers and the records of a chunk; the chunks in
/// flight are bounded), and it reports what the sequential scan reports.
#[test]
fn peak_rss_with_threads_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny.ndjson");
    let large = dir.path().join("large.ndjson");
    write_transcript(&tiny, 0);
    let (bytes, large_retained) = write_transcript(&large, 8);
    let t = run(&tiny, dir.path(), false);
    let seq = run(&large, dir.path(), false);
    for threads in [2, 4] {
        let l = run_with(&large, dir.path(), false, threads);
        eprintln!("threads {threads}: tiny {:?}, large {:?}", t.peak, l.peak);
        assert_eq!(l.report, seq.report);
        assert_eq!(l.report["retained"], large_retained);
        assert_eq!(l.report["bytes"], bytes);
        let bound = SLACK_KIB + threads as i64 * PER_THREAD_KIB;
        let grew = l.peak.maxrss_kib - t.peak.maxrss_kib;
        assert!(
            grew <= bound,
            "peak RSS grew by {grew} KiB (> {bound} KiB) with {threads} threads"
        );
    }
}

/// Lines within `max_line` that are read whole after their LF was found (a skipped line whose
/// `type` follows an 8 MiB field, a retained 2 MiB line that is decoded) touch again the pages
/// the LF search had released. They must be released again: before that fix this input
/// (12 of each, 120 MiB) peaked at 105 MiB.
#[test]
fn lines_read_again_after_the_lf_search_do_not_stay_resident() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny.ndjson");
    let large = dir.path().join("reread.ndjson");
    write_transcript(&tiny, 0);
    // In a block: the parent's big strings are freed before the runs (a child's ru_maxrss
    // starts from the parent's RSS at spawn).
    {
        let mut w = BufWriter::with_capacity(MIB, File::create(&large).unwrap());
        let skipped = "x".repeat(8 * MIB);
        let retained = "y".repeat(2 * MIB);
        for _ in 0..12 {
            writeln!(
            w,
            "{{\"item\":{{\"id\":\"c\",\"aggregated_output\":\"{skipped}\"}},\"type\":\"item.completed\"}}"
        )
        .unwrap();
            writeln!(
            w,
            "{{\"type\":\"item.completed\",\"item\":{{\"id\":\"m\",\"type\":\"agent_message\",\"text\":\"{retained}\"}}}}"
        )
        .unwrap();
        }
        w.into_inner().unwrap().sync_all().unwrap();
    }
    let t = run(&tiny, dir.path(), false);
    let l = run(&large, dir.path(), false);
    eprintln!("tiny {:?}, large {:?}", t.peak, l.peak);
    assert_eq!(
        (l.report["retained"].as_u64(), l.report["skipped"].as_u64()),
        (Some(12), Some(12))
    );
    // The small constant, plus the decoder's cost of the largest retained line (a padded copy
    // and simd-json's string buffer: about 3 times its size).
    let bound = SLACK_KIB + 3 * 2 * 1024;
    let grew = l.peak.maxrss_kib - t.peak.maxrss_kib;
    assert!(grew <= bound, "peak RSS grew by {grew} KiB (> {bound} KiB)");
}

/// A skipped line within `max_line` whose deciding key comes last is read whole by the probe;
/// the pages it has gone past are released as it goes, so a run of 16 MiB lines does not keep
/// 16 MiB of the file resident. (Sampled `RssFile`: a sample can miss a peak, never invent
/// one, so this cannot fail spuriously; the peak was 16-20 MiB before the probe released.)
#[test]
fn a_line_read_whole_by_the_probe_is_released_as_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late-type.ndjson");
    {
        let mut w = BufWriter::with_capacity(MIB, File::create(&path).unwrap());
        let head = br#"{"item":{"id":"c"},"aggregated_output":""#;
        let tail = br#"","type":"item.completed"}"#;
        let body = vec![b'x'; 16 * MIB - head.len() - tail.len()];
        for _ in 0..16 {
            w.write_all(head).unwrap();
            w.write_all(&body).unwrap();
            w.write_all(tail).unwrap();
            w.write_all(b"\n").unwrap();
        }
        w.into_inner().unwrap().sync_all().unwrap();
    }
    // Sequential, then with workers that each read 16 MiB lines at once (and a cutter that
    // searches ahead): each may hold a few MiB more.
    for threads in [1, 2] {
        let l = run_with(&path, dir.path(), false, threads);
        eprintln!("threads {threads}: {:?}", l.peak);
        assert_eq!(l.report["skipped"], 16, "{}", l.report);
        assert_eq!(l.report["oversize_skipped"], 0, "{}", l.report);
        // 12 MiB: on a kernel that maps a large folio of the page cache (up to 2 MiB) at
        // each fault, the scan's LF search and the probe each hold up to a folio past the
        // piece they read; 7.1-10.3 MiB measured sequentially there (13 runs, the binary's
        // own text included), 8-10 MiB elsewhere.
        let bound = 12 * 1024 + (threads as i64 - 1) * PER_THREAD_KIB;
        assert!(
            l.peak.file_kib <= bound,
            "RssFile reached {} KiB (> {bound}) while reading 16 MiB lines on {threads} threads",
            l.peak.file_kib
        );
    }
}

/// `spoolscan run` of a child that writes 512 MiB of NDJSON with 64 MiB skipped lines: the
/// spools are files the child writes directly, so the parent's peak RSS stays within 16 MiB of
/// a tiny run's.
#[test]
fn spooled_run_peak_rss_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let run = |rounds: u32| {
        let stats = dir.path().join(format!("run{rounds}.json"));
        let mut cmd = peak::command(env!("CARGO_BIN_EXE_spoolscan"));
        cmd.args(["run", "--quiet", "--spool-dir"])
            .arg(dir.path())
            .arg("--stats")
            .arg(&stats)
            .args(CODEX)
            .args(["--", child::child(), "transcript"])
            .arg(rounds.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let peak = peak::measure(&mut cmd, |_| {});
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
        (peak, report)
    };
    let (tiny, tiny_report) = run(0);
    let (large, report) = run(8);
    eprintln!("run: tiny {tiny:?}, 8 x 64 MiB lines {large:?}");
    assert_eq!(tiny_report["lines"], 1);
    assert!(report["bytes"].as_u64().unwrap() >= 512 << 20);
    assert_eq!(report["retained"], 16);
    assert_eq!(report["oversize_skipped"], 4);
    assert_eq!(report["oversize_unclassified"], 4);
    assert!(
        large.maxrss_kib - tiny.maxrss_kib <= SLACK_KIB,
        "peak RSS grew by {} KiB",
        large.maxrss_kib - tiny.maxrss_kib
    );
}

/// A parallel scan that keeps every line: the workers keep the pages of the lines they
/// retained until the calling thread has handed them on (so that it does not fault them in
/// again), and the chunks in flight are bounded, so the peak stays within the sequential
/// 16 MiB plus [`PER_THREAD_KIB`] per worker of a tiny run's, and every line is retained.
#[test]
fn peak_rss_keeping_every_line_with_threads_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny.ndjson");
    let large = dir.path().join("every.ndjson");
    std::fs::write(&tiny, b"{\"type\":\"a\"}\n").unwrap();
    let mut lines = 0u64;
    {
        let mut w = BufWriter::with_capacity(MIB, File::create(&large).unwrap());
        let text = "x".repeat(900);
        let mut written = 0;
        while written < 128 * MIB {
            let line = format!(
                "{{\"type\":\"t{}\",\"n\":{lines},\"text\":\"{text}\"}}\n",
                lines % 7
            );
            w.write_all(line.as_bytes()).unwrap();
            written += line.len();
            lines += 1;
        }
        w.into_inner().unwrap().sync_all().unwrap();
    }
    let t = run_selecting(&tiny, dir.path(), false, 1, &[]);
    for threads in [2, 4] {
        let l = run_selecting(&large, dir.path(), false, threads, &[]);
        eprintln!("threads {threads}: tiny {:?}, large {:?}", t.peak, l.peak);
        assert_eq!(l.report["retained"], lines, "{}", l.report);
        assert_eq!(l.report["lines"], lines, "{}", l.report);
        let bound = SLACK_KIB + threads as i64 * PER_THREAD_KIB;
        let grew = l.peak.maxrss_kib - t.peak.maxrss_kib;
        assert!(
            grew <= bound,
            "peak RSS grew by {grew} KiB (> {bound} KiB) keeping every line on {threads} threads"
        );
    }
}
