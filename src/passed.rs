//! The lines a scan does not hand on, as [`Sink::passed`] gets them: [`Passed`] and its
//! [`Category`].

#[cfg(doc)]
use crate::sink::Sink;

/// The report category of a line passed to [`Sink::passed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Category {
    /// Not retained (`skipped` in the report).
    Skipped,
    /// Longer than `max_line`, not retained by its first `probe` bytes (`oversize_skipped`).
    OversizeSkipped,
    /// Longer than `max_line`, undecided by its first `probe` bytes (`oversize_unclassified`).
    OversizeUnclassified,
    /// Retained but over the ceiling (`dropped`).
    Dropped,
    /// Not valid JSON (`malformed`).
    Malformed,
}

/// A non-blank line that a scan did not hand on as an event, with the bytes of it the scan
/// holds ([`Sink::passed`]).
///
/// [`Passed::bytes`] is the whole line when the scan holds it: always for a slice or a file
/// (mapped, or spooled); for a reader scanned as it arrives and for a followed file, a line
/// that did not have to be kept whole gives only its first bytes (at least `probe` of them,
/// or the whole line when shorter). A mapped line's bytes are a view of the mapping: only the
/// bytes a sink looks at are read from the file (a line skipped by its first bytes stays
/// unread past them if the sink looks at no more).
///
/// ```
/// use spoolscan::{Category, Event, Passed, Scanner, Selector, Sink};
///
/// /// Counts the skipped lines by their first byte, and keeps the head of malformed ones.
/// #[derive(Default)]
/// struct Census { objects: u64, others: u64, malformed: Vec<(u64, Vec<u8>)> }
///
/// impl Sink for Census {
///     type Error = spoolscan::Error;
///     fn retained(&mut self, _event: &mut Event<'_>) -> Result<bool, Self::Error> {
///         Ok(true)
///     }
///     fn wants_skipped(&self) -> bool {
///         true
///     }
///     fn passed(&mut self, line: &Passed<'_>) -> Result<bool, Self::Error> {
///         match line.category() {
///             Category::Skipped if line.head(1) == b"{" => self.objects += 1,
///             Category::Skipped => self.others += 1,
///             Category::Malformed => self.malformed.push((line.number(), line.head(8).to_vec())),
///             _ => {}
///         }
///         Ok(true)
///     }
/// }
///
/// let mut scanner = Scanner::builder()
///     .select(Selector::new().equals("type", ["keep"])?)
///     .build()?;
/// let mut census = Census::default();
/// let input = b"{\"type\":\"keep\"}\n{\"type\":\"x\"}\n[1]\nReading prompt...\n";
/// let report = scanner.scan_slice(input, &mut census)?;
/// assert_eq!((census.objects, census.others), (1, 1));
/// assert_eq!(census.malformed, [(4, b"Reading ".to_vec())]);
/// assert_eq!((report.retained, report.skipped, report.malformed_total), (1, 2, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Passed<'a> {
    pub(crate) number: u64,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) category: Category,
    pub(crate) bytes: &'a [u8],
}

impl<'a> Passed<'a> {
    /// The 1-based line number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The offset of the line's first byte in the input.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The line's length, without its terminator.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the line is empty (never: blank lines are not passed).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Its report category.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The bytes of the line the scan holds: all of it when [`Passed::is_whole`], else its
    /// first bytes (at least the scanner's `probe`).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Whether [`Passed::bytes`] is the whole line.
    pub fn is_whole(&self) -> bool {
        self.bytes.len() as u64 == self.len
    }

    /// The first `n` bytes of the line (fewer when the line, or what the scan holds of it, is
    /// shorter).
    pub fn head(&self, n: usize) -> &'a [u8] {
        &self.bytes[..n.min(self.bytes.len())]
    }
}
