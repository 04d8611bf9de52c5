//! Events crossing from a scanning thread to Python: owned copies of retained lines, sent in
//! bounded batches through a bounded channel, and the `Event` class Python sees.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBytes;
use spoolscan::{Dropped, Event as RustEvent, Malformed, Sink};

/// A batch is sent once it holds this many events...
const BATCH_EVENTS: usize = 256;
/// ...or this many bytes of lines (a single larger line is sent alone).
const BATCH_BYTES: usize = 1 << 20;
/// Batches in flight between the scanning thread and Python. With the batch being filled and
/// the one being consumed, at most about 4 MiB of lines plus the largest line are held.
pub const CHANNEL_DEPTH: usize = 2;
/// How often a waiting consumer looks for signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// An owned retained line.
pub struct Owned {
    pub line: u64,
    pub offset: u64,
    pub raw: Vec<u8>,
}

/// What the scanning thread sends: batches of events, then the end with its payload.
pub enum Msg<T> {
    Batch(Vec<Owned>),
    End(T),
}

/// The sending half: a [`Sink`] that batches retained lines and stops the scan once the
/// consumer has gone (the receiver was dropped) or asked to stop.
pub struct BatchSink<'a, T> {
    tx: SyncSender<Msg<T>>,
    batch: Vec<Owned>,
    bytes: usize,
    stop: Arc<AtomicBool>,
    /// Called while a full channel blocks a send (a run's wait loop uses it to keep
    /// enforcing the timeout); returns false to stop.
    pub on_block: Option<Box<dyn FnMut() -> bool + 'a>>,
    /// Send each event at once (a followed run: an event is due as soon as its line is
    /// complete) rather than in batches.
    pub eager: bool,
}

impl<'a, T> BatchSink<'a, T> {
    pub fn new(tx: SyncSender<Msg<T>>, stop: Arc<AtomicBool>) -> BatchSink<'a, T> {
        BatchSink {
            tx,
            batch: Vec::new(),
            bytes: 0,
            stop,
            on_block: None,
            eager: false,
        }
    }

    /// Whether the consumer asked to stop.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sends what is batched; false when the consumer is gone.
    pub fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let batch = std::mem::take(&mut self.batch);
        self.bytes = 0;
        self.send(Msg::Batch(batch))
    }

    /// Sends a message, blocking while the channel is full; false when the consumer is gone
    /// or asked to stop.
    pub fn send(&mut self, msg: Msg<T>) -> bool {
        let Some(on_block) = self.on_block.as_mut() else {
            return self.tx.send(msg).is_ok();
        };
        let mut msg = msg;
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => return true,
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return false,
                Err(std::sync::mpsc::TrySendError::Full(m)) => {
                    msg = m;
                    if self.stop.load(Ordering::SeqCst) || !on_block() {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    fn go_on(&self) -> Result<bool, spoolscan::Error> {
        Ok(!self.stopped())
    }
}

impl<T> Sink for BatchSink<'_, T> {
    type Error = spoolscan::Error;

    fn retained(&mut self, event: &mut RustEvent<'_>) -> Result<bool, spoolscan::Error> {
        if self.stopped() {
            return Ok(false);
        }
        let owned = Owned {
            line: event.number(),
            offset: event.offset(),
            raw: event.bytes().to_vec(),
        };
        self.bytes += owned.raw.len();
        self.batch.push(owned);
        if self.eager || self.batch.len() >= BATCH_EVENTS || self.bytes >= BATCH_BYTES {
            return Ok(self.flush());
        }
        Ok(true)
    }

    fn dropped(&mut self, _entry: &Dropped) -> Result<bool, spoolscan::Error> {
        self.go_on()
    }

    fn malformed(&mut self, _entry: &Malformed) -> Result<bool, spoolscan::Error> {
        self.go_on()
    }

    fn unclassified(&mut self, _l: u64, _o: u64, _n: u64) -> Result<bool, spoolscan::Error> {
        self.go_on()
    }
}

/// The receiving half, kept by a Python iterator: events waiting to be handed out, and the
/// channel (absent once the end has been received).
pub struct Inbox<T> {
    rx: Option<Receiver<Msg<T>>>,
    queue: VecDeque<Owned>,
}

/// What [`Inbox::next`] found.
pub enum Next<T> {
    Event(Owned),
    End(T),
    /// The end was already handed out.
    Done,
}

impl<T: Send> Inbox<T> {
    pub fn new(rx: Receiver<Msg<T>>) -> Inbox<T> {
        Inbox {
            rx: Some(rx),
            queue: VecDeque::new(),
        }
    }

    /// An inbox that has nothing more (after `close`).
    pub fn closed() -> Inbox<T> {
        Inbox {
            rx: None,
            queue: VecDeque::new(),
        }
    }

    /// The next event, or the end. Waits with the interpreter released, looking for signals
    /// every 50 ms (a `KeyboardInterrupt` is returned as the error).
    pub fn next(&mut self, py: Python<'_>) -> PyResult<Next<T>> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Ok(Next::Event(ev));
            }
            let Some(rx) = self.rx.take() else {
                return Ok(Next::Done);
            };
            let (rx, got) = py.detach(move || {
                let got = rx.recv_timeout(SIGNAL_CHECK);
                (rx, got)
            });
            match got {
                Ok(Msg::Batch(b)) => {
                    self.queue.extend(b);
                    self.rx = Some(rx);
                }
                Ok(Msg::End(t)) => return Ok(Next::End(t)),
                Err(RecvTimeoutError::Timeout) => {
                    self.rx = Some(rx);
                    py.check_signals()?;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PyRuntimeError::new_err(
                        "spoolscan: the scanning thread ended without a result",
                    ));
                }
            }
        }
    }
}

/// A retained line: its 1-based number, byte offset and raw bytes (without the terminator).
/// `json()` decodes it with Python's `json` module when called.
#[pyclass(frozen, module = "spoolscan")]
pub struct Event {
    /// The 1-based line number (blank lines count).
    #[pyo3(get)]
    line: u64,
    /// The byte offset of the line's first byte in the input.
    #[pyo3(get)]
    offset: u64,
    /// The line's bytes as they are in the input, without the line terminator.
    #[pyo3(get)]
    raw: Py<PyBytes>,
}

impl Event {
    pub fn from_owned(py: Python<'_>, o: Owned) -> Event {
        Event {
            line: o.line,
            offset: o.offset,
            raw: PyBytes::new(py, &o.raw).unbind(),
        }
    }
}

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

#[pymethods]
impl Event {
    /// The line decoded into Python objects (`json.loads` of `raw`). Decoded anew on each
    /// call.
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let loads = JSON_LOADS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("json")?.getattr("loads")?.unbind())
        })?;
        loads.bind(py).call1((self.raw.bind(py),))
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.raw.bind(py).clone()
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.raw.bind(py).as_bytes().len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let raw = self.raw.bind(py).as_bytes();
        let shown = String::from_utf8_lossy(&raw[..raw.len().min(60)]).into_owned();
        let more = if raw.len() > 60 { "..." } else { "" };
        format!(
            "Event(line={}, offset={}, raw={:?}{more})",
            self.line, self.offset, shown
        )
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<Event>() {
            Ok(o) => {
                let o = o.get();
                self.line == o.line
                    && self.offset == o.offset
                    && self.raw.bind(py).as_bytes() == o.raw.bind(py).as_bytes()
            }
            Err(_) => false,
        }
    }
}
