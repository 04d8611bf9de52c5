//! The `Follower`'s behaviour beyond equalling a full scan (tests/follow.rs): wake-up latency
//! after a line completes, idle CPU, a sink that stops, `poll` returning while more is there,
//! `Send`, and a followed file that shrinks, is rewritten or is replaced (issue 11).

#[path = "common/follow.rs"]
mod follow_util;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use follow_util::{Record, Rng, SMALL, codex_builder, file};
use spoolscan::{Event, Follower, Malformed, Report, Scanner, Sink};

// ---------------------------------------------------------------------------------------------
// Waking up and idling.

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: an all-zero timespec is a valid value; clock_gettime writes only to it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and a valid out-pointer.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn wakes_soon_after_a_line_completes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wake.ndjson");
    File::create(&path).unwrap();
    let b = Scanner::builder();
    let mut follower = Follower::open(b.build().unwrap(), &path).unwrap();
    let done = AtomicBool::new(false);
    let mut rec = Record::default();
    let mut completed = Vec::new();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut f = OpenOptions::new().append(true).open(&path).unwrap();
            let mut at = Vec::new();
            for i in 0..6 {
                // Idle long enough for the back-off to reach its maximum.
                std::thread::sleep(Duration::from_millis(300));
                if i % 2 == 0 {
                    // In one write, after the idle time: the follower is at its longest nap.
                    f.write_all(format!("{{\"n\":{i},\"x\":1}}\n").as_bytes())
                        .unwrap();
                } else {
                    // In two writes: the LF comes while the follower naps briefly.
                    f.write_all(format!("{{\"n\":{i},").as_bytes()).unwrap();
                    std::thread::sleep(Duration::from_millis(20));
                    f.write_all(b"\"x\":1}\n").unwrap();
                }
                at.push(Instant::now());
            }
            done.store(true, Ordering::Release);
            at
        });
        follower
            .follow(&mut rec, || done.load(Ordering::Acquire))
            .unwrap();
        completed = writer.join().unwrap();
    });
    follower.finish(&mut rec).unwrap();
    assert_eq!(rec.times.len(), 6);
    let delays: Vec<Duration> = rec
        .times
        .iter()
        .zip(&completed)
        .map(|(e, c)| e.saturating_duration_since(*c))
        .collect();
    eprintln!("wake-up delays after a line's LF: {delays:?}");
    for d in delays {
        assert!(
            d < Duration::from_secs(1),
            "woke {d:?} after the LF (DESIGN §11: within 1 s)"
        );
    }
}

#[test]
fn idle_follower_uses_little_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idle.ndjson");
    std::fs::write(&path, b"{\"type\":\"a\"}\n{\"type\":\"b\"").unwrap();
    let mut follower = Follower::open(Scanner::builder().build().unwrap(), &path).unwrap();
    let mut rec = Record::default();
    // Measured on the follower's own thread, inside its `done` check: CPU time over one idle
    // second (after the first look, which reads the file).
    let mut start: Option<(Instant, Duration)> = None;
    let mut used = Duration::ZERO;
    let mut looks = 0;
    follower
        .follow(&mut rec, || {
            looks += 1;
            let (t0, c0) = *start.get_or_insert_with(|| (Instant::now(), thread_cpu()));
            if t0.elapsed() >= Duration::from_secs(1) {
                used = thread_cpu() - c0;
                return true;
            }
            false
        })
        .unwrap();
    eprintln!("idle second: {used:?} of CPU, {looks} looks at the file");
    assert!(
        used < Duration::from_millis(50),
        "an idle follower used {used:?} of CPU in 1 s"
    );
    assert!(looks < 200, "{looks} looks in an idle second");
    let report = follower.finish(&mut rec).unwrap();
    assert_eq!(
        (report.retained, report.malformed_total, report.truncated),
        (1, 1, true)
    );
}

// ---------------------------------------------------------------------------------------------
// Stopping, the API's shape.

/// Stops after `n` retained events.
struct StopAfter(usize, Record);

impl Sink for StopAfter {
    type Error = spoolscan::Error;
    fn retained(&mut self, e: &mut Event<'_>) -> Result<bool, Self::Error> {
        self.1.retained(e)?;
        self.0 -= 1;
        Ok(self.0 > 0)
    }
    fn malformed(&mut self, m: &Malformed) -> Result<bool, Self::Error> {
        self.1.malformed(m)
    }
    fn finish(&mut self, report: &Report) -> Result<(), Self::Error> {
        self.1.finish(report)
    }
}

#[test]
fn a_sink_that_stops_stops_the_follower_as_it_stops_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stop.ndjson");
    let mut r = Rng(4242);
    let data = file(&mut r, &SMALL, 200, 0);
    std::fs::write(&path, &data).unwrap();
    let b = codex_builder();
    let mut want = StopAfter(3, Record::default());
    let want_report = b.build().unwrap().scan_path(&path, &mut want).unwrap();
    let mut follower = Follower::open(b.build().unwrap(), &path).unwrap();
    let mut got = StopAfter(3, Record::default());
    follower.follow(&mut got, || false).unwrap();
    assert!(follower.is_stopped());
    let report = follower.finish(&mut got).unwrap();
    assert_eq!(report, want_report);
    assert_eq!(got.1.calls, want.1.calls);
    assert!(report.lines < 200);
}

/// `poll` returns after a bounded amount of work while the file holds more, so a loop around
/// it (and `follow`, which asks `done` each time) keeps control behind a fast writer.
#[test]
fn poll_returns_while_more_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backlog.ndjson");
    let data = "{\"type\":\"x\"}\n".repeat(4 << 20);
    std::fs::write(&path, &data).unwrap();
    let mut follower = Follower::open(codex_builder().build().unwrap(), &path).unwrap();
    let mut rec = Record::default();
    let t = Instant::now();
    assert!(follower.poll(&mut rec).unwrap());
    let took = t.elapsed();
    assert!(
        follower.offset() < data.len() as u64,
        "one poll scanned all {} MiB in {took:?}",
        data.len() >> 20
    );
    let mut polls = 1;
    while follower.poll(&mut rec).unwrap() {
        polls += 1;
    }
    assert_eq!(follower.offset(), data.len() as u64);
    eprintln!(
        "first poll: {took:?}; {polls} polls for {} MiB",
        data.len() >> 20
    );
    assert!(polls > 1);
}

#[test]
fn follower_and_running_are_send() {
    fn send<T: Send>() {}
    send::<Follower>();
    send::<spoolscan::Running>();
}

// ---------------------------------------------------------------------------------------------
// Issue 11: a followed file that shrinks, is rewritten, or is replaced is reported, never
// silently skipped or misread.

fn xlines(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"type\":\"{tag}\",\"i\":{i}}}\n"))
        .collect()
}

/// logrotate's copytruncate: the file is cut to 0 and the writer goes on at its own offset or
/// from the start. Shorter than what was read: "shrank".
#[test]
fn follower_reports_a_truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.ndjson");
    std::fs::write(&path, xlines("old", 10)).unwrap();
    let mut follower = Follower::open(Scanner::builder().build().unwrap(), &path).unwrap();
    let mut rec = Record::default();
    while follower.poll(&mut rec).unwrap() {}
    assert_eq!(follower.report().retained, 10);
    // Truncated, and a first new line written (shorter than what was read).
    std::fs::write(&path, xlines("new", 1)).unwrap();
    let err = follower.poll(&mut rec).unwrap_err().to_string();
    assert!(err.contains(&*path.to_string_lossy()), "{err}");
    assert!(err.contains("shrank from"), "{err}");
    // finish says the same: the follow cannot be completed as if nothing happened.
    let err = follower.finish(&mut rec).unwrap_err().to_string();
    assert!(err.contains("shrank from"), "{err}");
}

/// Truncated and written again past the read position before the follower looked: the size
/// alone looks like an append, the bytes before the read position tell.
#[test]
fn follower_reports_a_rewritten_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.ndjson");
    std::fs::write(&path, xlines("old", 10)).unwrap();
    let mut follower = Follower::open(Scanner::builder().build().unwrap(), &path).unwrap();
    let mut rec = Record::default();
    while follower.poll(&mut rec).unwrap() {}
    let read = follower.offset();
    // Rewrite in place (same inode) with different, longer content.
    let new = xlines("rewritten-event", 50);
    assert!(new.len() as u64 > read);
    let mut f = OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(0).unwrap();
    f.write_all(new.as_bytes()).unwrap();
    drop(f);
    let err = follower.poll(&mut rec).unwrap_err().to_string();
    assert!(err.contains("rewritten"), "{err}");
    // Only the 10 old lines were pushed; no fragment was logged as malformed.
    assert_eq!(follower.report().retained, 10);
    assert_eq!(follower.report().malformed_total, 0);
}

/// Rotation by rename: a new file takes the path; the followed one no longer grows.
#[test]
fn follower_reports_a_replaced_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.ndjson");
    std::fs::write(&path, xlines("old", 3)).unwrap();
    let mut follower = Follower::open(Scanner::builder().build().unwrap(), &path).unwrap();
    let mut rec = Record::default();
    while follower.poll(&mut rec).unwrap() {}
    let fresh = dir.path().join("fresh");
    std::fs::write(&fresh, xlines("fresh", 3)).unwrap();
    std::fs::rename(&fresh, &path).unwrap();
    let err = follower.poll(&mut rec).unwrap_err().to_string();
    assert!(err.contains("replaced"), "{err}");
    // A path that is simply gone is not an error: the writer may still append.
    let dir2 = tempfile::tempdir().unwrap();
    let p2 = dir2.path().join("gone.ndjson");
    std::fs::write(&p2, xlines("a", 2)).unwrap();
    let mut f2 = Follower::open(Scanner::builder().build().unwrap(), &p2).unwrap();
    let mut rec2 = Record::default();
    while f2.poll(&mut rec2).unwrap() {}
    std::fs::remove_file(&p2).unwrap();
    assert!(!f2.poll(&mut rec2).unwrap());
    assert_eq!(f2.finish(&mut rec2).unwrap().retained, 2);
}
