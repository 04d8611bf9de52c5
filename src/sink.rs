//! Sinks: where a scan pushes what it finds.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::decode::Event;
use crate::lines::Line;
use crate::report::{Dropped, Malformed, Report};

/// Receives the results of a scan, in file order.
///
/// A scan *pushes* to a sink rather than handing out an iterator because a decoded event
/// borrows the scanner's reused decode buffer and the mapped input: it cannot outlive the call.
/// Push also tells the scanner when a borrow has ended, which is what lets it release the
/// mapped pages behind the cursor.
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

/// Closure adaptors for the common cases.
pub mod sinks {
    use super::*;

    /// Calls a closure with each retained line's raw bytes (number, offset, bytes).
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
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct Raw<F>(pub F);

    impl<F> Raw<F>
    where
        F: FnMut(Line<'_>) -> Result<bool, crate::Error>,
    {
        /// Wraps the closure (`Raw::new(|line| ...)` lets the compiler infer its argument type).
        pub fn new(f: F) -> Raw<F> {
            Raw(f)
        }
    }

    impl<F> Sink for Raw<F>
    where
        F: FnMut(Line<'_>) -> Result<bool, crate::Error>,
    {
        type Error = crate::Error;

        fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, crate::Error> {
            (self.0)(event.line())
        }
    }

    /// Decodes each retained line into `T` and calls a closure with it. A line that does not
    /// fit `T` stops the scan with [`TypedError::Decode`].
    ///
    /// ```
    /// use serde::Deserialize;
    /// use spoolscan::{Scanner, Selector, sinks::Typed};
    ///
    /// #[derive(Deserialize)]
    /// struct Usage { input_tokens: u64 }
    /// #[derive(Deserialize)]
    /// struct TurnCompleted { usage: Usage }
    ///
    /// let data = br#"{"type":"turn.completed","usage":{"input_tokens":7}}"#;
    /// let mut scanner = Scanner::builder()
    ///     .select(Selector::new().equals("type", ["turn.completed"])?)
    ///     .build()?;
    /// let mut tokens = 0;
    /// scanner.scan_slice(data, Typed::new(|_line, ev: TurnCompleted| {
    ///     tokens += ev.usage.input_tokens;
    ///     Ok(true)
    /// }))?;
    /// assert_eq!(tokens, 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct Typed<T, F> {
        f: F,
        _t: PhantomData<fn() -> T>,
    }

    impl<T, F> Typed<T, F>
    where
        T: DeserializeOwned,
        F: FnMut(Line<'_>, T) -> Result<bool, TypedError>,
    {
        /// Wraps the closure.
        pub fn new(f: F) -> Typed<T, F> {
            Typed { f, _t: PhantomData }
        }
    }

    impl<T, F> Sink for Typed<T, F>
    where
        T: DeserializeOwned,
        F: FnMut(Line<'_>, T) -> Result<bool, TypedError>,
    {
        type Error = TypedError;

        fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, TypedError> {
            let value = event.decode::<T>()?;
            (self.f)(event.line(), value)
        }
    }

    /// The error of a [`Typed`] sink.
    #[derive(Debug, thiserror::Error)]
    pub enum TypedError {
        /// The scan failed.
        #[error(transparent)]
        Scan(#[from] crate::Error),
        /// A retained line did not fit the type.
        #[error(transparent)]
        Decode(#[from] crate::DecodeError),
        /// The closure failed.
        #[error("{0}")]
        Other(String),
    }
}
