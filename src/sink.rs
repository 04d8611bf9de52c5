//! Sinks: where a scan pushes what it finds.

use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::decode::Event;
use crate::lines::Line;
pub use crate::passed::{Category, Passed};
pub use crate::readback::Input;
use crate::report::{Dropped, Malformed, Report};

/// Receives the results of a scan, in file order.
///
/// A scan *pushes* to a sink rather than handing out an iterator because a decoded event
/// borrows the scanner's reused decode buffer and the mapped input: it cannot outlive the call.
/// Push also tells the scanner when a borrow has ended, which is what lets it release the
/// mapped pages behind the cursor. For owned copies of the retained lines in a `for` loop,
/// see [`Scanner::events`](crate::Scanner::events).
///
/// Only [`Sink::retained`] is required. Every method returning `Ok(false)` stops the scan
/// early (then [`Sink::finish`] is still called, with the report of the lines seen so far);
/// an `Err` stops it at once and is returned from the scan.
///
/// # Example
///
/// ```
/// use spoolscan::{Event, Scanner, Selector, Sink};
///
/// struct Count(usize);
///
/// impl Sink for Count {
///     type Error = spoolscan::Error;
///     fn retained(&mut self, _event: &mut Event<'_>) -> Result<bool, Self::Error> {
///         self.0 += 1;
///         Ok(true)
///     }
/// }
///
/// let mut scanner = Scanner::builder()
///     .select(Selector::new().equals("type", ["error"])?)
///     .build()?;
/// let mut count = Count(0);
/// let report = scanner.scan_slice(b"{\"type\":\"error\"}\n{\"type\":\"x\"}\n", &mut count)?;
/// assert_eq!((count.0, report.skipped), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Sink {
    /// The error a sink can fail with. Scan errors (I/O on the input) convert into it.
    type Error: From<crate::Error>;

    /// A retained line, parsed. Return `Ok(false)` to stop.
    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, Self::Error>;

    /// A retained line over the ceiling, never decoded. Default: ignore it (it is in the
    /// report).
    fn dropped(&mut self, _entry: &Dropped) -> Result<bool, Self::Error> {
        Ok(true)
    }

    /// A line that is not valid JSON. Default: ignore it (it is in the report).
    fn malformed(&mut self, _entry: &Malformed) -> Result<bool, Self::Error> {
        Ok(true)
    }

    /// A line longer than `max_line` whose probe did not decide the selector (counted as
    /// `oversize_unclassified`, never logged): its 1-based number, offset and length.
    /// Default: ignore it (it is counted in the report).
    fn unclassified(&mut self, _line: u64, _offset: u64, _len: u64) -> Result<bool, Self::Error> {
        Ok(true)
    }

    /// Every non-blank line that was not handed to [`Sink::retained`], with the bytes of it
    /// that the scan holds (see [`Passed`]): called after [`Sink::dropped`],
    /// [`Sink::malformed`] or [`Sink::unclassified`] for those lines (when they did not stop
    /// the scan), and for skipped lines (`skipped`, `oversize_skipped`) only when
    /// [`Sink::wants_skipped`] returns true. Default: ignore it.
    ///
    /// The bytes are borrowed for the call: a lines's head tells its type or its first keys
    /// without the scan reading the rest. See [`Passed`] for an example.
    fn passed(&mut self, _line: &Passed<'_>) -> Result<bool, Self::Error> {
        Ok(true)
    }

    /// Whether [`Sink::passed`] is also called for skipped lines (usually most of the
    /// input). Asked once per line; default: false. A parallel scan
    /// ([`ScannerBuilder::threads`](crate::ScannerBuilder::threads)) of a sink that wants them
    /// runs on the calling thread alone, so that the calls come in file order with the bytes
    /// at hand.
    fn wants_skipped(&self) -> bool {
        false
    }

    /// Called once at the end of a scan that can read its input back, just before
    /// [`Sink::finish`], with the input ([`Input`]) and the final report: a slice, a file
    /// (mapped, or spooled with `mmap(false)`), and a followed file
    /// ([`Follower::finish`](crate::Follower::finish)). A reader scanned as it arrives
    /// ([`Scanner::scan_reader`](crate::Scanner::scan_reader)) cannot be read back: the
    /// method is not called (spool it first with [`Scanner::spool`](crate::Scanner::spool)).
    /// Default: nothing. See [`Input`] for an example.
    fn read_back(&mut self, _input: &Input<'_>, _report: &Report) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Called once at the start of a scan whose input is a file the scan maps: the file of
    /// [`Scanner::scan_path`](crate::Scanner::scan_path) and
    /// [`Scanner::scan_file`](crate::Scanner::scan_file), or the unnamed spool a file is
    /// copied into with [`mmap(false)`](crate::ScannerBuilder::mmap) or a command's output
    /// is spooled into, with its path when the scan was given one (`scan_path`). Every line
    /// the sink is given lies in it at its offset
    /// ([`Event::offset`], [`Passed::offset`], ...) with the bytes the sink is given, the
    /// terminator after them. A sink that hands lines on can then write them straight from
    /// the file (`sendfile(2)`, `copy_file_range(2)`), the kernel copying from the page cache,
    /// instead of copying each line itself: `spoolscan scan` writes runs of adjacent retained
    /// lines that way. Not called for slices, nor for readers scanned as they arrive, nor by
    /// the followers. Default: nothing.
    ///
    /// The file is borrowed for the call; keep a duplicate
    /// ([`File::try_clone`](std::fs::File::try_clone)) to read it later in the scan, at the
    /// latest in [`Sink::finish`]. (A mapped file is only as stable as the contract of
    /// [`Scanner::scan_path`](crate::Scanner::scan_path) makes it: nobody modifies it during
    /// the scan.)
    fn input_file(&mut self, _file: &std::fs::File, _path: Option<&std::path::Path>) {}

    /// Called now and then with the number of bytes scanned so far (for progress bars);
    /// `total` is 0 while the input's size is unknown (a reader). Default: nothing.
    fn progress(&mut self, _scanned: u64, _total: u64) {}

    /// Called by [`Scanner::scan_reader`](crate::Scanner::scan_reader) before each read that
    /// may block waiting for the writer: flush buffered output here, so that what was
    /// retained so far is handed on without waiting for more input. Default: nothing.
    fn waiting(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Called once at the end with the report. Default: nothing.
    fn finish(&mut self, _report: &Report) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    type Error = S::Error;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, S::Error> {
        (**self).retained(event)
    }
    fn dropped(&mut self, entry: &Dropped) -> Result<bool, S::Error> {
        (**self).dropped(entry)
    }
    fn malformed(&mut self, entry: &Malformed) -> Result<bool, S::Error> {
        (**self).malformed(entry)
    }
    fn unclassified(&mut self, line: u64, offset: u64, len: u64) -> Result<bool, S::Error> {
        (**self).unclassified(line, offset, len)
    }
    fn passed(&mut self, line: &Passed<'_>) -> Result<bool, S::Error> {
        (**self).passed(line)
    }
    fn wants_skipped(&self) -> bool {
        (**self).wants_skipped()
    }
    fn read_back(&mut self, input: &Input<'_>, report: &Report) -> Result<(), S::Error> {
        (**self).read_back(input, report)
    }
    fn input_file(&mut self, file: &std::fs::File, path: Option<&std::path::Path>) {
        (**self).input_file(file, path)
    }
    fn progress(&mut self, scanned: u64, total: u64) {
        (**self).progress(scanned, total)
    }
    fn waiting(&mut self) -> Result<(), S::Error> {
        (**self).waiting()
    }
    fn finish(&mut self, report: &Report) -> Result<(), S::Error> {
        (**self).finish(report)
    }
}

/// The error of the closure sinks ([`sinks::Raw::new`], [`sinks::Typed`]) and of
/// [`Events`](crate::Events): any error, boxed, so that `?` in a closure works on an
/// [`io::Error`](std::io::Error), on the scan's own [`Error`](crate::Error), on a
/// [`DecodeError`](crate::DecodeError) and on the caller's own error types alike.
///
/// It converts into `Box<dyn Error>` (and `Box<dyn Error + Send + Sync>`, and `io::Error`), so
/// `?` carries it out of a function that returns one of those. Like `anyhow::Error`, it does not
/// implement [`std::error::Error`] itself (that would conflict with the blanket `From`); its
/// [`source`](SinkError::source) is the boxed error, which [`SinkError::downcast_ref`] looks
/// into.
///
/// ```
/// use std::io::Write;
/// use spoolscan::{Scanner, sinks::Raw};
///
/// let mut out = Vec::new();
/// let mut scanner = Scanner::builder().build()?;
/// scanner.scan_slice(b"{\"a\":1}\n[2]\n", Raw::new(|line| {
///     out.write_all(line.bytes())?; // io::Error
///     out.push(b'\n');
///     Ok(true)
/// }))?;
/// assert_eq!(out, b"{\"a\":1}\n[2]\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SinkError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl SinkError {
    /// An error that is only a message.
    pub fn msg(message: impl std::fmt::Display) -> SinkError {
        SinkError(message.to_string().into())
    }

    /// The boxed error.
    pub fn source(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The boxed error, if it is a `T`.
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }

    /// Whether the boxed error is a `T`.
    pub fn is<T: std::error::Error + 'static>(&self) -> bool {
        self.0.is::<T>()
    }

    /// The boxed error.
    pub fn into_inner(self) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self.0
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for SinkError {
    fn from(e: E) -> SinkError {
        SinkError(Box::new(e))
    }
}

impl From<SinkError> for Box<dyn std::error::Error + Send + Sync + 'static> {
    fn from(e: SinkError) -> Self {
        e.0
    }
}

impl From<SinkError> for Box<dyn std::error::Error + 'static> {
    fn from(e: SinkError) -> Self {
        e.0
    }
}

impl From<SinkError> for std::io::Error {
    fn from(e: SinkError) -> std::io::Error {
        match e.0.downcast::<std::io::Error>() {
            Ok(io) => *io,
            Err(other) => std::io::Error::other(other),
        }
    }
}

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::fmt::Debug for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

/// Closure adaptors for the common cases.
pub mod sinks {
    use super::*;

    pub use super::SinkError;

    /// Calls a closure with each retained line (number, offset, raw bytes).
    ///
    /// [`Raw::new`] takes a closure returning `Result<bool, SinkError>`, so `?` works in it on
    /// any error (see [`SinkError`]). For a closure with an error type of its own (one that
    /// converts from [`Error`](crate::Error)), use [`Raw::with_error`].
    ///
    /// ```
    /// use spoolscan::{Scanner, sinks::Raw};
    ///
    /// let mut scanner = Scanner::builder().build()?;
    /// let mut offsets = vec![];
    /// scanner.scan_slice(b"{}\n\n[1]\n", Raw::new(|line| {
    ///     offsets.push(line.offset());
    ///     Ok(true)
    /// }))?;
    /// assert_eq!(offsets, [0, 4]);
    ///
    /// // The caller's own error type.
    /// #[derive(Debug)]
    /// enum MyError { Scan(spoolscan::Error), TooMany }
    /// impl From<spoolscan::Error> for MyError {
    ///     fn from(e: spoolscan::Error) -> Self { MyError::Scan(e) }
    /// }
    /// let r = scanner.scan_slice(b"{}\n{}\n", Raw::with_error(|_line| -> Result<bool, MyError> {
    ///     Err(MyError::TooMany)
    /// }));
    /// assert!(matches!(r, Err(MyError::TooMany)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct Raw<F>(pub F);

    impl<F> Raw<F>
    where
        F: FnMut(Line<'_>) -> Result<bool, SinkError>,
    {
        /// Wraps the closure (`Raw::new(|line| ...)` lets the compiler infer its argument and
        /// error types).
        pub fn new(f: F) -> Raw<F> {
            Raw(f)
        }
    }

    impl<F> Raw<F> {
        /// Wraps a closure with an error type of its own, which scan errors convert into.
        pub fn with_error<E>(f: F) -> Raw<F>
        where
            F: FnMut(Line<'_>) -> Result<bool, E>,
            E: From<crate::Error>,
        {
            Raw(f)
        }
    }

    impl<F, E> Sink for Raw<F>
    where
        F: FnMut(Line<'_>) -> Result<bool, E>,
        E: From<crate::Error>,
    {
        type Error = E;

        fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, E> {
            (self.0)(event.line())
        }
    }

    /// A type that events are decoded into, for every event lifetime `'a`: `Of<'a>`.
    ///
    /// Every owned type (`T: DeserializeOwned`) is one (`Of<'a> = T`). For a type that borrows
    /// from the event (`&'a str` fields, no copy), name it through a marker type:
    ///
    /// ```
    /// use serde::Deserialize;
    /// use spoolscan::sinks::EventType;
    ///
    /// #[derive(Deserialize)]
    /// struct Message<'a> { #[serde(rename = "type")] kind: &'a str, text: &'a str }
    ///
    /// /// `Message<'a>` for every `'a`.
    /// struct Messages;
    /// impl EventType for Messages {
    ///     type Of<'a> = Message<'a>;
    /// }
    /// ```
    pub trait EventType {
        /// The type for events of lifetime `'a`.
        type Of<'a>: Deserialize<'a>;
    }

    impl<T: DeserializeOwned> EventType for T {
        type Of<'a> = T;
    }

    /// Decodes each retained line into a type and calls a closure with it.
    ///
    /// By default a line that does not fit the type stops the scan with its
    /// [`DecodeError`](crate::DecodeError) (inside the [`SinkError`]);
    /// [`Typed::skip_mismatched`] skips such lines instead and keeps their errors
    /// ([`Typed::mismatched`]).
    ///
    /// [`Typed::new`] decodes into an owned type, named by the closure's argument;
    /// [`Typed::borrowed`] decodes into a type that borrows from the event, named by an
    /// [`EventType`]:
    ///
    /// ```
    /// use serde::Deserialize;
    /// use spoolscan::{Scanner, Selector, sinks::{EventType, Typed}};
    ///
    /// #[derive(Deserialize)]
    /// struct Usage { input_tokens: u64 }
    /// #[derive(Deserialize)]
    /// struct TurnCompleted { usage: Usage }
    ///
    /// let data = br#"{"type":"turn.completed","usage":{"input_tokens":7}}
    /// {"type":"error","message":"rate limited"}
    /// {"type":"turn.completed","usage":{"input_tokens":5}}"#;
    /// let mut scanner = Scanner::builder()
    ///     .select(Selector::new().equals("type", ["turn.completed", "error"])?)
    ///     .build()?;
    /// let mut tokens = 0;
    /// // The error event does not fit TurnCompleted: skipped, and kept for a look.
    /// let mut sink = Typed::new(|_line, ev: TurnCompleted| {
    ///     tokens += ev.usage.input_tokens;
    ///     Ok(true)
    /// })
    /// .skip_mismatched();
    /// scanner.scan_slice(data, &mut sink)?;
    /// assert_eq!(sink.mismatched().len(), 1);
    /// assert_eq!(sink.mismatched()[0].line, 2);
    /// drop(sink);
    /// assert_eq!(tokens, 12);
    ///
    /// // Borrowed: `&str` fields point into the scanner's buffer, no copy.
    /// #[derive(Deserialize)]
    /// struct Error<'a> { message: &'a str }
    /// struct Errors;
    /// impl EventType for Errors { type Of<'a> = Error<'a>; }
    ///
    /// let mut messages = vec![];
    /// let mut scanner = Scanner::builder()
    ///     .select(Selector::new().equals("type", ["error"])?)
    ///     .build()?;
    /// scanner.scan_slice(data, Typed::borrowed::<Errors>(|_line, ev| {
    ///     messages.push(ev.message.len());
    ///     Ok(true)
    /// }))?;
    /// assert_eq!(messages, ["rate limited".len()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct Typed<T, F> {
        f: F,
        skip: bool,
        mismatched: Vec<crate::DecodeError>,
        mismatched_total: u64,
        _t: PhantomData<fn() -> T>,
    }

    impl<T, F> Typed<T, F>
    where
        T: DeserializeOwned,
        F: FnMut(Line<'_>, T) -> Result<bool, SinkError>,
    {
        /// Wraps a closure taking an owned type (named by its argument's type annotation).
        pub fn new(f: F) -> Typed<T, F> {
            Typed::make(f)
        }
    }

    impl<F> Typed<(), F> {
        /// Wraps a closure taking the type `K::Of<'a>` of each event, which may borrow from
        /// it: `Typed::borrowed::<K>(|line, event| ...)`.
        pub fn borrowed<K>(f: F) -> Typed<K, F>
        where
            K: EventType,
            F: for<'a> FnMut(Line<'a>, K::Of<'a>) -> Result<bool, SinkError>,
        {
            Typed::make(f)
        }
    }

    impl<T, F> Typed<T, F> {
        fn make(f: F) -> Typed<T, F> {
            Typed {
                f,
                skip: false,
                mismatched: Vec::new(),
                mismatched_total: 0,
                _t: PhantomData,
            }
        }

        /// Skip the lines that do not fit the type instead of stopping the scan; their errors
        /// are kept ([`Typed::mismatched`], the first [`LOG_CAP`](crate::LOG_CAP)) and counted
        /// ([`Typed::mismatched_total`]). (In the scan's report they count as retained.)
        pub fn skip_mismatched(mut self) -> Typed<T, F> {
            self.skip = true;
            self
        }

        /// The decode errors of the lines skipped with [`Typed::skip_mismatched`], in file
        /// order (the first [`LOG_CAP`](crate::LOG_CAP)).
        pub fn mismatched(&self) -> &[crate::DecodeError] {
            &self.mismatched
        }

        /// How many lines were skipped with [`Typed::skip_mismatched`].
        pub fn mismatched_total(&self) -> u64 {
            self.mismatched_total
        }
    }

    impl<T, F> Sink for Typed<T, F>
    where
        T: EventType,
        F: for<'a> FnMut(Line<'a>, T::Of<'a>) -> Result<bool, SinkError>,
    {
        type Error = SinkError;

        fn retained<'e>(&mut self, event: &mut Event<'e>) -> Result<bool, SinkError> {
            match event.decode::<T::Of<'e>>() {
                Ok(value) => (self.f)(event.line(), value),
                Err(e) if self.skip => {
                    self.mismatched_total += 1;
                    if self.mismatched.len() < crate::LOG_CAP {
                        self.mismatched.push(e);
                    }
                    Ok(true)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
