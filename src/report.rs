//! The report every scan produces: counts that add up, and logs of what was not yielded.

use serde::Serialize;

/// The logs keep this many entries; the totals are always exact.
pub const LOG_CAP: usize = 1000;

/// A retained line that was not decoded because it is larger than the ceiling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Dropped {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// Length of the line without its terminator.
    pub len: u64,
    /// The value that made the line retained, as the line spells it (unescaped, cut to 256
    /// bytes); `None` when the selector is empty.
    pub value: Option<String>,
    /// Why it was dropped; always `over_ceiling`.
    pub reason: &'static str,
}

/// A line that is not valid JSON (or, for a retained line, that the decoder rejected).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Malformed {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// Length of the line without its terminator.
    pub len: u64,
    /// What is wrong, with the byte position in the line where there is one.
    pub error: String,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, offset {}: {}",
            self.line, self.offset, self.error
        )
    }
}

/// The outcome of a scan.
///
/// Every line falls in exactly one category, so
/// `retained + skipped + oversize_skipped + oversize_unclassified + dropped_total +
/// malformed_total + blank == lines` always holds ([`Report::is_consistent`]). Serialized
/// (`serde`, fields in declaration order), it is the JSON object the CLI writes with `--stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// Input size in bytes, BOM and terminators included.
    pub bytes: u64,
    /// Number of lines, blank lines included.
    pub lines: u64,
    /// Empty lines and lines of only spaces, tabs and CRs.
    pub blank: u64,
    /// Lines retained and decoded successfully (yielded to the sink).
    pub retained: u64,
    /// Lines decided not retained (classified exactly, or not objects).
    pub skipped: u64,
    /// Lines over `max_line` decided not retained from their probe.
    pub oversize_skipped: u64,
    /// Lines over `max_line` whose probe did not decide the selector.
    pub oversize_unclassified: u64,
    /// Retained lines over the ceiling, never decoded.
    pub dropped_total: u64,
    /// The first [`LOG_CAP`] dropped lines.
    pub dropped: Vec<Dropped>,
    /// Lines that are not valid JSON where it was checked.
    pub malformed_total: u64,
    /// The first [`LOG_CAP`] malformed lines.
    pub malformed: Vec<Malformed>,
    /// The input ended inside a line (a last line without LF that is not complete JSON), or
    /// a spool was cut short (size cap, full disk).
    pub truncated: bool,
}

impl Report {
    /// True when the categories add up to `lines` and the logs hold
    /// `min(total, LOG_CAP)` entries.
    pub fn is_consistent(&self) -> bool {
        self.retained
            + self.skipped
            + self.oversize_skipped
            + self.oversize_unclassified
            + self.dropped_total
            + self.malformed_total
            + self.blank
            == self.lines
            && self.dropped.len() as u64 == self.dropped_total.min(LOG_CAP as u64)
            && self.malformed.len() as u64 == self.malformed_total.min(LOG_CAP as u64)
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }

    pub(crate) fn push_dropped(&mut self, d: Dropped) {
        self.dropped_total += 1;
        if self.dropped.len() < LOG_CAP {
            self.dropped.push(d);
        }
    }

    pub(crate) fn push_malformed(&mut self, m: Malformed) {
        self.malformed_total += 1;
        if self.malformed.len() < LOG_CAP {
            self.malformed.push(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_capped_totals_exact() {
        let mut r = Report::default();
        for i in 0..LOG_CAP as u64 + 5 {
            r.lines += 1;
            r.push_malformed(Malformed {
                line: i + 1,
                offset: i,
                len: 0,
                error: "x".into(),
            });
        }
        assert_eq!(r.malformed_total, LOG_CAP as u64 + 5);
        assert_eq!(r.malformed.len(), LOG_CAP);
        assert!(r.is_consistent());
        r.lines += 1;
        assert!(!r.is_consistent());
    }

    #[test]
    fn json_field_order_follows_the_design() {
        let j = Report::default().to_json();
        assert_eq!(
            j,
            r#"{"bytes":0,"lines":0,"blank":0,"retained":0,"skipped":0,"oversize_skipped":0,"oversize_unclassified":0,"dropped_total":0,"dropped":[],"malformed_total":0,"malformed":[],"truncated":false}"#
        );
    }
}
