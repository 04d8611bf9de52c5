//! A pull iterator over the retained lines of a scan ([`Scanner::events`]), beside the push
//! [`Sink`].

use std::fs::File;
use std::io;
use std::iter::FusedIterator;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use serde::de::DeserializeOwned;

use crate::decode::{DecodeError, Event};
use crate::error::Error;
use crate::report::Report;
use crate::scanner::Scanner;
use crate::sink::Sink;

/// Retained lines waiting in the queue between the scanning thread and the iterator.
const QUEUE: usize = 16;

/// A retained line, owned (copied out of the input): what [`Events`] yields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnedEvent {
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// The line's bytes, without its terminator. Valid JSON (it was validated).
    pub bytes: Vec<u8>,
}

impl OwnedEvent {
    /// Decodes the line into an owned type, with serde_json (its errors say what did not fit
    /// and where: ``missing field `usage` at line 1 column 30``; its nesting limit is 128).
    ///
    /// # Errors
    ///
    /// When the line's JSON does not fit `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        serde_json::from_slice(&self.bytes).map_err(|e| DecodeError {
            line: self.number,
            offset: self.offset,
            message: e.to_string(),
        })
    }

    /// The line as text (retained lines are valid JSON, hence UTF-8).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes).expect("a validated line is UTF-8")
    }
}

enum Msg {
    Line(OwnedEvent),
    Done(Result<Report, Error>),
}

/// An iterator over the retained lines of one input, in file order
/// ([`Scanner::events`], [`Scanner::events_reader`]).
///
/// The scan runs on a helper thread with the scanner's configuration and hands each retained
/// line over through a small bounded queue, so memory stays bounded and the scan never runs
/// far ahead of the consumer. Once the iterator is exhausted, [`Events::report`] gives the
/// report. Dropping it early stops the scan.
///
/// A scan error (an I/O error reading the input) is yielded as the last item.
pub struct Events {
    rx: Option<Receiver<Msg>>,
    thread: Option<JoinHandle<()>>,
    report: Option<Report>,
    /// Wait for the scanning thread when dropped (a file: it ends at its next hand-over; a
    /// reader may block in a read for as long as its writer wants, so it is left to end).
    join_on_drop: bool,
}

impl Events {
    fn start(
        scanner: Scanner,
        join_on_drop: bool,
        scan: impl FnOnce(&mut Scanner, Queue) -> ScanResult + Send + 'static,
    ) -> Events {
        let (tx, rx) = sync_channel(QUEUE);
        let mut scanner = scanner;
        let thread = std::thread::spawn(move || {
            let queue = Queue(tx.clone());
            let r = scan(&mut scanner, queue);
            let _ = tx.send(Msg::Done(r));
        });
        Events {
            rx: Some(rx),
            thread: Some(thread),
            report: None,
            join_on_drop,
        }
    }

    /// The scan's report, once the iterator has returned `None` (without an error).
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }
}

type ScanResult = Result<Report, Error>;

impl Iterator for Events {
    type Item = Result<OwnedEvent, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let msg = self.rx.as_ref()?.recv();
        match msg {
            Ok(Msg::Line(e)) => Some(Ok(e)),
            Ok(Msg::Done(r)) => {
                self.rx = None;
                match r {
                    Ok(report) => {
                        self.report = Some(report);
                        None
                    }
                    Err(e) => Some(Err(e)),
                }
            }
            Err(_) => {
                // The thread ended without a result: it panicked.
                self.rx = None;
                let e = io::Error::other("the scanning thread panicked");
                Some(Err(Error::io(None, e)))
            }
        }
    }
}

impl FusedIterator for Events {}

impl Drop for Events {
    fn drop(&mut self) {
        // Closing the queue makes the scanning thread's next hand-over stop the scan.
        self.rx = None;
        if let Some(t) = self.thread.take()
            && self.join_on_drop
        {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("finished", &self.rx.is_none())
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

/// The sink of the scanning thread: copies each retained line into the queue.
struct Queue(SyncSender<Msg>);

impl Sink for Queue {
    type Error = Error;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Error> {
        let e = OwnedEvent {
            number: event.number(),
            offset: event.offset(),
            bytes: event.bytes().to_vec(),
        };
        // A closed queue: the iterator was dropped, stop.
        Ok(self.0.send(Msg::Line(e)).is_ok())
    }
}

impl Scanner {
    /// A pull iterator over the retained lines of the file at `path` (mapped, or spooled with
    /// `mmap(false)`), as [`OwnedEvent`]s, beside the push [`Sink`] of
    /// [`Scanner::scan_path`]: the same lines, in the same order.
    ///
    /// The scan runs on a helper thread with a copy of this scanner's configuration (see
    /// [`Events`]); the report is [`Events::report`] once the iterator is done.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the path when it cannot be opened (later I/O errors are yielded
    /// by the iterator).
    ///
    /// # Example
    ///
    /// ```
    /// use spoolscan::{Scanner, Selector};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("t.ndjson");
    /// std::fs::write(&path, "{\"type\":\"error\",\"message\":\"boom\"}\n{\"type\":\"x\"}\n")?;
    /// let scanner = Scanner::builder()
    ///     .select(Selector::new().equals("type", ["error"])?)
    ///     .build()?;
    /// let mut events = scanner.events(&path)?;
    /// for event in &mut events {
    ///     let event = event?;
    ///     let v: serde_json::Value = event.decode()?;
    ///     assert_eq!((event.number, v["message"].as_str()), (1, Some("boom")));
    /// }
    /// assert_eq!(events.report().unwrap().skipped, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn events(&self, path: impl AsRef<Path>) -> Result<Events, Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(Some(path), e))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            let e = io::Error::new(io::ErrorKind::IsADirectory, "is a directory");
            return Err(Error::io(Some(path), e));
        }
        let path = path.to_path_buf();
        Ok(Events::start(self.rebuild(), true, move |s, q| {
            s.scan_file(&file, q).map_err(|e| match e {
                Error::Io { path: None, source } => Error::io(Some(&path), source),
                e => e,
            })
        }))
    }

    /// A pull iterator over the retained lines of `reader`, scanned as it arrives (as
    /// [`Scanner::scan_reader`] does), on a helper thread. See [`Scanner::events`].
    ///
    /// Dropping the iterator early does not wait for the helper thread, which may be blocked
    /// reading: it ends at its next hand-over (or when the reader ends or fails).
    pub fn events_reader<R: io::Read + Send + 'static>(&self, reader: R) -> Events {
        Events::start(self.rebuild(), false, move |s, q| s.scan_reader(reader, q))
    }
}
