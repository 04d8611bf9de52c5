//! The probe's fast path: a line whose bytes are all at hand, read in one loop with the
//! position in a register and nothing stored between tokens.
//!
//! It covers what most lines are made of (compact or spaced JSON, keys without escapes) and
//! decides them exactly as the resumable walk of [`super::walk`] does, with the same rule
//! helpers. Anything else gives up: a key with an escape, a syntax error, bytes that end before
//! the outcome is decided. The caller then walks the line again with the resumable walk, which
//! knows every case and says what the error is and where. Both are tested to agree on every
//! line the fast path decides (`tests/fast.rs`).
//!
//! Its second form ([`Probe::whole_lf`]) reads bytes that run on past the end of the line and
//! finds that end as it goes: every step that passes over bytes stops at an LF, and an LF is
//! the end of the bytes. So the scan loop need not search a line's LF before classifying it,
//! only after the place where the probe stopped.

use super::walk::{scalar_end, skip_ws};
use super::{Outcome, Probe, Stop};
use crate::block::string_end;

/// The fast path reads at most this many bytes of a line: past them it gives up, and the
/// resumable walk reads the line again from its start.
pub(super) const WHOLE_MAX: usize = 64 << 10;

/// Why the fast path stopped: decided (the outcome is in `Probe::decided`) or given up.
#[derive(Clone, Copy, Debug)]
enum Exit {
    Decided,
    GiveUp,
}

impl From<Stop> for Exit {
    #[inline(always)]
    fn from(stop: Stop) -> Exit {
        match stop {
            Stop::Decided => Exit::Decided,
            Stop::Eof | Stop::Syntax => Exit::GiveUp,
        }
    }
}

/// The byte at `w[i]`; `None` at the end of the bytes, and with `LF` at an LF (the end of the
/// line).
#[inline(always)]
fn byte<const LF: bool>(w: &[u8], i: usize) -> Option<u8> {
    match w.get(i) {
        Some(b'\n') if LF => None,
        b => b.copied(),
    }
}

/// [`skip_ws`]; with `LF`, an LF is not skipped (it ends the line).
#[inline(always)]
fn skip_space<const LF: bool>(w: &[u8], mut i: usize) -> usize {
    if !LF {
        return skip_ws(w, i);
    }
    while let Some(&b) = w.get(i)
        && b <= b' '
        && matches!(b, b' ' | b'\t' | b'\r')
    {
        i += 1;
    }
    i
}

/// `Some(x)` or give up.
macro_rules! need {
    ($e:expr) => {
        match $e {
            Some(x) => x,
            None => return Err(Exit::GiveUp),
        }
    };
}

impl Probe {
    /// Classifies the line (or the first bytes of a line) `window` from its first
    /// [`WHOLE_MAX`] bytes when the fast path can: `None` when it gave up, and [`Probe::start`]
    /// and [`Probe::resume`] must decide. (A decision taken within the first bytes of a line is
    /// the decision on the whole line.)
    #[inline(always)]
    pub(crate) fn whole(&mut self, window: &[u8]) -> Option<Outcome> {
        let w = &window[..window.len().min(WHOLE_MAX)];
        self.start();
        match self.whole_walk::<false>(w, &mut 0) {
            Ok(never) => match never {},
            Err(Exit::Decided) => Some(self.decided),
            Err(Exit::GiveUp) => None,
        }
    }

    /// [`Probe::whole`] for the line that starts at `more[0]` and ends at the first LF of
    /// `more` (or at its end): bytes past the line may follow, and are never read. When
    /// decided, the outcome and an offset the walk reached: the line's LF, if it has one, lies
    /// at or after it. (The outcome is the one [`Probe::whole`] gives on the line's bytes.)
    #[inline(always)]
    pub(crate) fn whole_lf(&mut self, more: &[u8]) -> Option<(Outcome, usize)> {
        let w = &more[..more.len().min(WHOLE_MAX)];
        self.start();
        let mut reach = 0;
        match self.whole_walk::<true>(w, &mut reach) {
            Ok(never) => match never {},
            Err(Exit::Decided) => Some((self.decided, reach)),
            Err(Exit::GiveUp) => None,
        }
    }

    /// The walk. With `LF`, `w` may run on past the line's LF, which is its end; no step
    /// passes over an LF, so no byte before `i` is one, and `reach` is set to `i` before each
    /// step that may decide.
    #[inline(always)]
    fn whole_walk<const LF: bool>(
        &mut self,
        w: &[u8],
        reach: &mut usize,
    ) -> Result<std::convert::Infallible, Exit> {
        if self.undecided == 0 {
            return Err(self.decide(Outcome::Skip).into());
        }
        let mut i = skip_space::<LF>(w, 0);
        match need!(byte::<LF>(w, i)) {
            b'{' => i += 1,
            b'[' | b'"' | b'0'..=b'9' | b'-' | b't' | b'f' | b'n' => {
                *reach = i;
                return Err(self.decide(Outcome::NotObject).into());
            }
            _ => return Err(Exit::GiveUp),
        }
        let mut node = 0;
        // After `{`: a key, or `}`.
        i = skip_space::<LF>(w, i);
        if need!(byte::<LF>(w, i)) == b'}' {
            i += 1;
            *reach = i;
            node = self.whole_close(node)?;
            i = self.whole_after::<LF>(w, i, &mut node, reach)?;
        }
        loop {
            // A key and its `:`.
            i = skip_space::<LF>(w, i);
            if need!(byte::<LF>(w, i)) != b'"' {
                return Err(Exit::GiveUp);
            }
            let ks = i + 1;
            let (ke, esc) = need!(string_end::<LF>(w, ks));
            if esc {
                return Err(Exit::GiveUp);
            }
            i = match w.get(ke + 1) {
                // Compact JSON: the `:` and the value come at once.
                Some(b':') => ke + 2,
                _ => {
                    i = skip_space::<LF>(w, ke + 1);
                    if need!(byte::<LF>(w, i)) != b':' {
                        return Err(Exit::GiveUp);
                    }
                    i + 1
                }
            };
            i = skip_space::<LF>(w, i);
            let child = match self.plain_child(node, w, ks, ke) {
                Some(c) if self.seen[c] != self.epoch => {
                    self.seen[c] = self.epoch;
                    Some(c)
                }
                _ => None,
            };
            // Its value.
            let b = need!(byte::<LF>(w, i));
            *reach = i;
            match child {
                Some(c) if b == b'"' => {
                    let s = i + 1;
                    let (e, esc) = need!(string_end::<LF>(w, s));
                    i = e + 1;
                    *reach = i;
                    self.string_value(w, c, s, e, esc)?;
                }
                Some(c) if b == b'{' && !self.nodes[c].children.is_empty() => {
                    self.enter(node, c)?;
                    node = c;
                    i = skip_space::<LF>(w, i + 1);
                    if need!(byte::<LF>(w, i)) == b'}' {
                        i += 1;
                        *reach = i;
                        node = self.whole_close(node)?;
                        i = self.whole_after::<LF>(w, i, &mut node, reach)?;
                    }
                    continue;
                }
                _ => {
                    if let Some(c) = child {
                        self.fail_subtree(c)?;
                    }
                    i = self.whole_skip::<LF>(w, i, b)?;
                }
            }
            // Compact JSON: the `,` comes at once.
            i = match w.get(i) {
                Some(b',') => i + 1,
                _ => self.whole_after::<LF>(w, i, &mut node, reach)?,
            };
        }
    }

    /// Skips the value starting with `b` at `w[i]`: the index just past it.
    #[inline(always)]
    fn whole_skip<const LF: bool>(&mut self, w: &[u8], i: usize, b: u8) -> Result<usize, Exit> {
        match b {
            b'"' => Ok(need!(string_end::<LF>(w, i + 1)).0 + 1),
            b'{' | b'[' => {
                self.container.start(i);
                let end = if LF {
                    self.container.end_lf(w)
                } else {
                    self.container.end(w)
                };
                match end {
                    Ok(Some(end)) => Ok(end + 1),
                    _ => Err(Exit::GiveUp),
                }
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => match need!(scalar_end(w, i + 1)) {
                Ok(end) => Ok(end),
                Err(_) => Err(Exit::GiveUp),
            },
            _ => Err(Exit::GiveUp),
        }
    }

    /// After a member's value: `,` (the index of the next key) or `}` (the object of `node`
    /// closes, and the walk goes on after it in its parent, the same way).
    #[inline(always)]
    fn whole_after<const LF: bool>(
        &mut self,
        w: &[u8],
        mut i: usize,
        node: &mut usize,
        reach: &mut usize,
    ) -> Result<usize, Exit> {
        loop {
            i = skip_space::<LF>(w, i);
            match need!(byte::<LF>(w, i)) {
                b',' => return Ok(i + 1),
                b'}' => {
                    i += 1;
                    *reach = i;
                    *node = self.whole_close(*node)?;
                }
                _ => return Err(Exit::GiveUp),
            }
        }
    }

    /// The object of trie node `node` closed: its rules fail (all of them for the top-level
    /// object, which decides the line); the parent's node.
    #[inline(always)]
    fn whole_close(&mut self, node: usize) -> Result<usize, Exit> {
        self.fail_subtree(node)?;
        Ok(need!(self.parents.pop()))
    }
}
