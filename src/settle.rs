//! Settling one line: the steps every scan loop (the mapped scan, the follower, the stream)
//! takes with each line it finds. Classify it; drop it if it is retained but over the ceiling;
//! validate it when it is retained (or when every line is validated) and hand it on; check
//! that a last line without LF is complete; count and log it.

use crate::complete::Complete;
use crate::decode::Event;
use crate::lines::{Line, is_blank};
use crate::probe::{Outcome, Probe, Progress};
use crate::report::{Dropped, Malformed, Report};
use crate::scanner::Scanner;
use crate::sink::{Category, Passed, Sink};
use crate::validate::{self, Invalid};

/// A long line is classified (and checked for completeness) a piece of this many bytes at a
/// time, the scanner releasing the pages behind each piece (see [`Release`]).
pub(crate) const RELEASE_EVERY: usize = 1 << 20;

/// Told, every [`RELEASE_EVERY`] bytes of a long line, the offset in the line before which the
/// scan will not look again: the scan loops release those mapped pages, so reading a 16 MiB
/// line does not keep 16 MiB resident.
pub(crate) type Release<'r> = &'r mut dyn FnMut(usize);

/// Classifies the line (or its first bytes) `window` with `probe`, feeding it a piece of
/// [`RELEASE_EVERY`] bytes at a time and telling `release` the end of each piece read.
#[inline]
fn classify_in_pieces(
    probe: &mut Probe,
    window: &[u8],
    exact: bool,
    release: Release<'_>,
) -> Outcome {
    if let Some(o) = probe.whole(window) {
        return o;
    }
    probe.start();
    let mut upto = window.len().min(RELEASE_EVERY);
    loop {
        match probe.resume(window, upto, exact) {
            Progress::Done(outcome) => return outcome,
            Progress::Paused => {
                release(upto);
                upto = window.len().min(upto + RELEASE_EVERY);
            }
        }
    }
}

/// How far past a line's start the scan loops let [`validate::line`] look for its LF: a line up
/// to this long is found and validated in one pass when every line is validated anyway.
pub(crate) const ONE_PASS: usize = 64 << 10;

/// Where a line is, as [`Scanner::settle`] needs it.
pub(crate) struct At {
    /// 1-based line number.
    pub(crate) number: u64,
    /// Offset of the line's first byte in the input.
    pub(crate) offset: u64,
    /// Length of the line without its terminator.
    pub(crate) len: usize,
    /// Whether an LF ends the line (false only for the last line of the input).
    pub(crate) has_lf: bool,
    /// Whether the scan loop has already found the line valid JSON ([`validate::line`]):
    /// validating it is then skipped.
    pub(crate) known_valid: bool,
    /// The probe's outcome, when the scan loop has already classified the line
    /// ([`Scanner::ahead`]); used for a line within `max_line` only.
    pub(crate) decided: Option<Decided>,
}

/// An outcome the probe reached in a scan loop's pass ([`Scanner::ahead`]), in one word, so
/// that it travels with the line cheaply. (With [`Outcome`]'s size, reading it back cost a
/// failed store-to-load forward per line, 4% of a scan of small lines.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decided {
    Retain(u32),
    Skip,
    NotObject,
}

impl Decided {
    /// The outcome, if it is one of these.
    #[inline(always)]
    fn new(outcome: Outcome) -> Option<Decided> {
        match outcome {
            Outcome::Retain(rule) => Some(Decided::Retain(u32::try_from(rule).ok()?)),
            Outcome::Skip => Some(Decided::Skip),
            Outcome::NotObject => Some(Decided::NotObject),
            Outcome::Undecided | Outcome::Malformed { .. } => None,
        }
    }

    #[inline(always)]
    fn outcome(self) -> Outcome {
        match self {
            Decided::Retain(rule) => Outcome::Retain(rule as usize),
            Decided::Skip => Outcome::Skip,
            Decided::NotObject => Outcome::NotObject,
        }
    }
}

/// The bytes of a line a scan loop hands to [`Scanner::settle`].
pub(crate) enum Body<'a> {
    /// All of the line (`At::len` bytes).
    Whole(&'a [u8]),
    /// Only the line's first bytes (at least `probe` of them), for a line whose other bytes
    /// were not kept.
    Head {
        /// The first bytes.
        bytes: &'a [u8],
        /// Whether the whole line is blank.
        blank: bool,
        /// For a last line without LF longer than the ceiling: whether the whole line is
        /// complete JSON by the structural check of [`Complete`]. Else unused.
        complete: Option<bool>,
    },
}

/// What [`Scanner::settle`] did with a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Counted (and pushed); go on.
    Go,
    /// Counted (and pushed); the sink asked to stop.
    Stop,
    /// Nothing done: call again with [`Body::Whole`].
    NeedWhole,
}

impl Settled {
    fn go(go: bool) -> Settled {
        if go { Settled::Go } else { Settled::Stop }
    }
}

/// Which category a non-blank line falls in, before validation.
enum Verdict {
    Retain,
    Skip,
    OversizeSkip,
    OversizeUnclassified,
    Malformed(String),
}

/// A line being settled: where it is and which of its bytes are at hand.
struct Lined<'b> {
    number: u64,
    start: u64,
    len: usize,
    has_lf: bool,
    /// All of the line, when at hand.
    whole: Option<&'b [u8]>,
    /// Its first bytes (all of them with `whole`).
    head: &'b [u8],
    /// For a head over the ceiling without LF: the caller's structural check.
    complete: Option<bool>,
    /// See [`At::known_valid`].
    known_valid: bool,
    /// See [`At::decided`].
    decided: Option<Decided>,
}

impl<'b> Lined<'b> {
    /// Validates the (whole) line, unless the scan loop already did.
    fn validate(&self, bytes: &[u8]) -> Result<(), Invalid> {
        if self.known_valid {
            Ok(())
        } else {
            validate::validate(bytes)
        }
    }

    /// The line as [`Sink::passed`] sees it.
    fn passed(&self, category: Category) -> Passed<'b> {
        Passed {
            number: self.number,
            offset: self.start,
            len: self.len as u64,
            category,
            bytes: self.whole.unwrap_or(self.head),
        }
    }
}

/// What a scan loop learns of a line in the pass that looks for its end ([`Scanner::ahead`]).
pub(crate) struct Ahead {
    /// The LF that ends the line, when the pass found it.
    pub(crate) lf: Option<usize>,
    /// Without `lf`: where the search for the LF goes on (no LF lies between the line's
    /// start and here).
    pub(crate) from: usize,
    /// See [`At::known_valid`].
    pub(crate) known_valid: bool,
    /// See [`At::decided`].
    pub(crate) decided: Option<Decided>,
}

impl Scanner {
    /// For the scan loops: reads the line that starts at `data[start]` (its LF searched up to
    /// `limit`) in one pass, as far as that pass can go, before the line's end is known.
    /// - When every line within the ceiling is validated whatever it holds (no rules, or
    ///   `validate_all`): finds the LF and validates the line at once.
    /// - With rules: classifies the line while looking for its end ([`Probe::whole_lf`]). A
    ///   retained line is then validated as its LF is found; for the others the LF is searched
    ///   from where the probe stopped, not from the line's start.
    ///
    /// What the pass could not settle (a long line, an invalid one, a line the probe's fast
    /// path gives up on) is left to memchr and [`Scanner::settle`], as for any line.
    #[inline]
    pub(crate) fn ahead(&mut self, data: &[u8], start: usize, limit: usize) -> Ahead {
        let window = &data[start..limit.min(start.saturating_add(ONE_PASS))];
        let c = self.config();
        let mut ahead = Ahead {
            lf: None,
            from: start,
            known_valid: false,
            decided: None,
        };
        if !(c.selector.is_empty() || c.validate_all) {
            let Some((outcome, reach)) = self.probe.whole_lf(window) else {
                return ahead;
            };
            (ahead.decided, ahead.from) = (Decided::new(outcome), start + reach);
            if !matches!(outcome, Outcome::Retain(_)) {
                return ahead;
            }
        }
        ahead.lf = validate::line(window).map(|i| start + i);
        ahead.known_valid = ahead.lf.is_some();
        ahead
    }

    /// What [`Scanner::settle`] does with the commonest line, done without it: a line the
    /// probe decided to skip as the scan loop found its end ([`Decided::Skip`]: an object, so
    /// not blank), within `max_line`, ending in LF, for a sink that does not want skipped
    /// lines, is counted and nothing else. Returns whether the line was settled so (else the
    /// caller calls `settle`). Saves about a fifth of the instructions of such a line.
    #[inline(always)]
    pub(crate) fn skipped_as_decided<S: Sink>(
        &self,
        at: &At,
        report: &mut Report,
        sink: &S,
    ) -> bool {
        let quick = at.decided == Some(Decided::Skip)
            && at.has_lf
            && at.len <= self.config().max_line
            && !sink.wants_skipped();
        if quick {
            report.lines += 1;
            report.skipped += 1;
        }
        quick
    }

    /// Puts one line (blank lines included) in its category: classifies it, validates it when
    /// it is retained and pushes it to the sink, validates it (`validate_all`, and the
    /// completeness check of a last line without LF), counts it in `report` and logs it.
    /// Shared by every scan loop (the mapped scan, the follower, the stream), so all categorise
    /// alike.
    ///
    /// With [`Body::Head`] (only the first bytes of a long line are at hand) the line is
    /// settled from those bytes when the contract allows it; otherwise nothing is counted or
    /// pushed and [`Settled::NeedWhole`] asks the caller to come back with the whole line (at
    /// most `ceiling` bytes: above the ceiling a head always suffices).
    ///
    /// `release` is told, as a long line is scanned, the offset in it before which the scan
    /// will not look again (the full scan releases those mapped pages; see [`Release`]).
    pub(crate) fn settle<S: Sink>(
        &mut self,
        at: &At,
        body: Body<'_>,
        report: &mut Report,
        sink: &mut S,
        release: Release<'_>,
    ) -> Result<Settled, S::Error> {
        let (line, blank) = match body {
            Body::Whole(b) => (
                Lined {
                    number: at.number,
                    start: at.offset,
                    len: at.len,
                    has_lf: at.has_lf,
                    whole: Some(b),
                    head: b,
                    complete: None,
                    known_valid: at.known_valid,
                    decided: at.decided,
                },
                is_blank(b),
            ),
            Body::Head {
                bytes,
                blank,
                complete,
            } => (
                Lined {
                    number: at.number,
                    start: at.offset,
                    len: at.len,
                    has_lf: at.has_lf,
                    whole: None,
                    head: &bytes[..bytes.len().min(at.len)],
                    complete,
                    known_valid: false,
                    decided: None,
                },
                blank,
            ),
        };
        if blank {
            report.lines += 1;
            report.blank += 1;
            return Ok(Settled::Go);
        }
        let Some(verdict) = self.classify(&line, &mut *release) else {
            return Ok(Settled::NeedWhole);
        };
        report.lines += 1;
        let (verdict, valid) = match verdict {
            Verdict::Retain if line.len > self.ceiling() => {
                return self.drop_over_ceiling(&line, report, sink, release);
            }
            Verdict::Retain => match self.hand_on(&line, report, sink)? {
                Ok(settled) => return Ok(settled),
                Err(error) => (Verdict::Malformed(error), Some(false)),
            },
            v => self.validate_if_asked(&line, v),
        };
        if !line.has_lf {
            report.truncated |= !self.is_complete(&line, valid, &mut *release);
        }
        self.count(&line, verdict, report, sink)
    }

    /// Step 1: the line's category from the probe, or `None` when the whole line is needed
    /// (only a head is at hand, and the contract needs more of it).
    #[inline(always)]
    fn classify(&mut self, line: &Lined<'_>, release: Release<'_>) -> Option<Verdict> {
        let (probe_len, max_line, ceiling) = self.limits();
        let verdict = if self.config().selector.is_empty() {
            Verdict::Retain
        } else {
            let outcome = match line.whole {
                Some(bytes) if line.len <= max_line => match line.decided {
                    Some(decided) => decided.outcome(),
                    None => classify_in_pieces(&mut self.probe, bytes, true, release),
                },
                // A decision reached inside a prefix is the decision on the whole line (the
                // probe stops where it decides); only an undecided or retained line needs more.
                None if line.len <= max_line => match self.probe.classify(line.head, false) {
                    Outcome::Retain(_) | Outcome::Undecided => return None,
                    o => o,
                },
                _ => classify_in_pieces(&mut self.probe, &line.head[..probe_len], false, release),
            };
            match outcome {
                Outcome::Retain(_) => Verdict::Retain,
                Outcome::Skip | Outcome::NotObject if line.len <= max_line => Verdict::Skip,
                Outcome::Skip | Outcome::NotObject => Verdict::OversizeSkip,
                Outcome::Undecided => Verdict::OversizeUnclassified,
                Outcome::Malformed { at, what } => Verdict::Malformed(
                    Invalid {
                        at,
                        what,
                        found: line.head.get(at).copied(),
                    }
                    .to_string(),
                ),
            }
        };
        if line.whole.is_none() && line.len <= ceiling {
            let need = match verdict {
                Verdict::Retain => true,
                Verdict::Skip | Verdict::OversizeSkip | Verdict::OversizeUnclassified => {
                    self.config().validate_all || !line.has_lf
                }
                Verdict::Malformed(_) => !line.has_lf,
            };
            if need {
                return None;
            }
        }
        Some(verdict)
    }

    /// Step 2: a retained line over the ceiling is dropped and logged, never validated (a last
    /// line without LF is still checked for completeness, structurally).
    fn drop_over_ceiling<S: Sink>(
        &mut self,
        line: &Lined<'_>,
        report: &mut Report,
        sink: &mut S,
        release: Release<'_>,
    ) -> Result<Settled, S::Error> {
        let value = (!self.config().selector.is_empty())
            .then(|| String::from_utf8_lossy(self.probe.matched_value()).into_owned());
        let d = Dropped {
            line: line.number,
            offset: line.start,
            len: line.len as u64,
            value,
            reason: "over_ceiling",
        };
        let go = sink.dropped(&d)? && sink.passed(&line.passed(Category::Dropped))?;
        report.push_dropped(d);
        if !line.has_lf && !self.is_complete(line, None, release) {
            report.truncated = true;
        }
        Ok(Settled::go(go))
    }

    /// Step 3: a retained line is validated and handed to the sink as an [`Event`] (decoded
    /// only if the sink asks), or comes back as the error that makes it malformed.
    fn hand_on<S: Sink>(
        &mut self,
        line: &Lined<'_>,
        report: &mut Report,
        sink: &mut S,
    ) -> Result<Result<Settled, String>, S::Error> {
        let bytes = line
            .whole
            .expect("a retained line within the ceiling is whole");
        if let Err(e) = line.validate(bytes) {
            return Ok(Err(e.to_string()));
        }
        report.retained += 1;
        let mut event = Event::new(Line::new(line.number, line.start, bytes), &mut self.decoder);
        Ok(Ok(Settled::go(sink.retained(&mut event)?)))
    }

    /// Step 3 for the other lines: with `validate_all`, a line within the ceiling that is not
    /// retained is validated too. Returns the verdict and whether the line was found valid.
    #[inline(always)]
    fn validate_if_asked(&self, line: &Lined<'_>, v: Verdict) -> (Verdict, Option<bool>) {
        let asked = self.config().validate_all && line.len <= self.ceiling();
        match v {
            Verdict::Skip | Verdict::OversizeSkip | Verdict::OversizeUnclassified if asked => {
                match line.validate(line.whole.expect("a line to validate is whole")) {
                    Ok(()) => (v, Some(true)),
                    Err(e) => (Verdict::Malformed(e.to_string()), Some(false)),
                }
            }
            v => (v, None),
        }
    }

    /// Step 4: whether a last line without LF is complete JSON, whatever its category: as
    /// `valid` says when it was validated, else validated now up to the ceiling, checked
    /// structurally (bracket and string balance) above it.
    fn is_complete(&mut self, line: &Lined<'_>, valid: Option<bool>, release: Release<'_>) -> bool {
        match (valid, line.whole) {
            (Some(v), _) => v,
            (None, Some(bytes)) if line.len <= self.ceiling() => line.validate(bytes).is_ok(),
            (None, Some(bytes)) => {
                // Fed in pieces, so that the scanner can release what has been checked.
                let mut check = Complete::new();
                let mut done = 0;
                for piece in bytes.chunks(RELEASE_EVERY) {
                    check.feed(piece);
                    done += piece.len();
                    if check.failed() {
                        break;
                    }
                    release(done);
                }
                check.complete()
            }
            (None, None) => line
                .complete
                .expect("a head over the ceiling without LF comes with `complete`"),
        }
    }

    /// Step 5: counts a line that was not handed on, and logs it (and tells the sink) when it
    /// is malformed or could not be classified.
    fn count<S: Sink>(
        &self,
        line: &Lined<'_>,
        verdict: Verdict,
        report: &mut Report,
        sink: &mut S,
    ) -> Result<Settled, S::Error> {
        let go = match verdict {
            Verdict::Retain => unreachable!("retained lines are handed on or dropped"),
            Verdict::Skip => {
                report.skipped += 1;
                !sink.wants_skipped() || sink.passed(&line.passed(Category::Skipped))?
            }
            Verdict::OversizeSkip => {
                report.oversize_skipped += 1;
                !sink.wants_skipped() || sink.passed(&line.passed(Category::OversizeSkipped))?
            }
            Verdict::OversizeUnclassified => {
                report.oversize_unclassified += 1;
                sink.unclassified(line.number, line.start, line.len as u64)?
                    && sink.passed(&line.passed(Category::OversizeUnclassified))?
            }
            Verdict::Malformed(error) => {
                let m = Malformed {
                    line: line.number,
                    offset: line.start,
                    len: line.len as u64,
                    error,
                };
                let go = sink.malformed(&m)? && sink.passed(&line.passed(Category::Malformed))?;
                report.push_malformed(m);
                go
            }
        };
        Ok(Settled::go(go))
    }

    fn ceiling(&self) -> usize {
        self.limits().2
    }
}
