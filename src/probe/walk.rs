//! The probe's walk through a line, as a state machine that can stop at the end of the bytes
//! at hand and go on when it is given more ([`Probe::resume`]).
//!
//! Each state is where the walk stands between two tokens, or inside a string, a skipped
//! container or a skipped number or literal (whose scans carry their own state). A state does
//! what it must with side effects (marking a key seen, failing rules, deciding) only once it
//! has read everything it needs, and moves on to the next state at once, so that running
//! out of bytes anywhere leaves a state that reads the same bytes again (skipping whitespace
//! and checking punctuation, no more) when more come.

use super::{Outcome, Probe, Step, Stop};
use crate::block::StringScan;

/// Where the walk of a line stands. `node` is the trie node of the innermost object the walk
/// follows.
#[derive(Clone, Copy, Debug)]
pub(super) enum Walk {
    /// Before the line's first value.
    Line,
    /// After an object's `{`: a key or `}`.
    FirstKey { node: usize },
    /// After a `,`: a key.
    Key { node: usize },
    /// Inside a key (scanned by `Probe::string`) whose body starts at `start`.
    InKey { node: usize, start: usize },
    /// After a key (body `w[ks..ke]`, `esc`: holds a backslash): `:`.
    Colon {
        node: usize,
        ks: usize,
        ke: usize,
        esc: bool,
    },
    /// After the `:` of a key whose node is `child`: its value.
    Value { node: usize, child: usize },
    /// Inside a string value (scanned by `Probe::string`) whose body starts at `start`, compared
    /// with the rules at `child`.
    InValue {
        node: usize,
        child: usize,
        start: usize,
    },
    /// After a `:`: a value to skip.
    Skip { node: usize },
    /// Inside a skipped string (scanned by `Probe::string`).
    InSkipped { node: usize },
    /// Inside a skipped container (scanned by `Probe::container`).
    InContainer { node: usize },
    /// Inside a skipped number or literal.
    InScalar { node: usize },
    /// After a member's value: `,` or `}`.
    After { node: usize },
}

/// What [`Probe::resume`] got to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// The line is decided.
    Done(Outcome),
    /// Every byte before `upto` has been read and the line is not decided: call again with a
    /// larger `upto`.
    Paused,
}

/// Runs `step`, the next step of a state that has done what it does with side effects; if the
/// bytes end in `step`, the walk goes on from `state` when more come.
#[inline(always)]
fn fallback(walk: &mut Walk, state: Walk, step: impl FnOnce() -> Step<Walk>) -> Step<Walk> {
    match step() {
        Err(Stop::Eof) => {
            *walk = state;
            Err(Stop::Eof)
        }
        r => r,
    }
}

/// A cursor over the bytes at hand.
struct Cur<'a> {
    w: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    #[inline]
    fn peek(&self) -> Step<u8> {
        self.w.get(self.i).copied().ok_or(Stop::Eof)
    }

    /// [`Cur::peek`] after whitespace: for the states entered after whitespace was skipped
    /// (the bytes may have ended there, and the walk goes on from that point).
    #[inline]
    fn skip_ws_peek(&mut self) -> Step<u8> {
        self.skip_ws();
        self.peek()
    }

    #[inline]
    fn skip_ws(&mut self) {
        self.i = skip_ws(self.w, self.i);
    }
}

/// Where the number or literal going on at `w[j]` ends (the separator, bracket or
/// whitespace after it): `Err` with the index of a byte that cannot follow one, `None` when
/// `w` ends first. (Its grammar is not checked: the probe is not a validator.)
#[inline(always)]
pub(super) fn scalar_end(w: &[u8], mut j: usize) -> Option<Result<usize, usize>> {
    loop {
        match *w.get(j)? {
            b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n' => return Some(Ok(j)),
            b'"' | b'{' | b'[' | b':' => return Some(Err(j)),
            _ => j += 1,
        }
    }
}

/// The first byte at or after `i` of `w` that is not JSON whitespace (or `w.len()`).
#[inline(always)]
pub(super) fn skip_ws(w: &[u8], mut i: usize) -> usize {
    // Compact JSON has none: one compare says so.
    while let Some(&b) = w.get(i)
        && b <= b' '
        && matches!(b, b' ' | b'\t' | b'\r' | b'\n')
    {
        i += 1;
    }
    i
}

impl Probe {
    /// Starts classifying a new line (see [`Probe::resume`]).
    pub(crate) fn start(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.failed.iter_mut().for_each(|f| *f = 0);
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.epoch = 1;
        }
        self.undecided = self.rules.len();
        self.walk = Walk::Line;
        self.pos = 0;
        self.parents.clear();
    }

    /// Goes on classifying the line started with [`Probe::start`], reading only
    /// `window[..upto]`: the same `window` on every call for a line (its first bytes, or all of
    /// it), with `upto` growing. Returns [`Progress::Paused`] when those bytes end before the
    /// line is decided and `upto < window.len()`; then call again with a larger `upto` (the
    /// scanner releases the pages behind `upto` meanwhile).
    ///
    /// `exact` says the window is the whole line: running out of bytes before the top-level
    /// object closes is then a syntax error rather than [`Outcome::Undecided`].
    pub(crate) fn resume(&mut self, window: &[u8], upto: usize, exact: bool) -> Progress {
        let w = &window[..upto.min(window.len())];
        let mut cur = Cur { w, i: self.pos };
        let mut walk = self.walk;
        let stop = match self.run(&mut cur, &mut walk) {
            Ok(never) => match never {},
            Err(stop) => stop,
        };
        Progress::Done(match stop {
            Stop::Decided => self.decided,
            Stop::Eof if w.len() < window.len() => {
                self.walk = walk;
                self.pos = cur.i;
                return Progress::Paused;
            }
            Stop::Eof if exact => Outcome::Malformed {
                at: window.len(),
                what: "unexpected end of line",
            },
            Stop::Eof => Outcome::Undecided,
            Stop::Syntax => Outcome::Malformed {
                at: self.error.0,
                what: self.error.1,
            },
        })
    }

    /// The state machine: runs until the outcome is decided, a syntax error, or the bytes end
    /// (`walk` and `cur` then say where to go on).
    #[inline(always)]
    fn run(
        &mut self,
        cur: &mut Cur<'_>,
        walk: &mut Walk,
    ) -> Result<std::convert::Infallible, Stop> {
        loop {
            *walk = match *walk {
                Walk::Line => {
                    if self.undecided == 0 {
                        return Err(self.decide(Outcome::Skip));
                    }
                    cur.skip_ws();
                    match cur.peek()? {
                        b'{' => {
                            cur.i += 1;
                            Walk::FirstKey { node: 0 }
                        }
                        b'[' | b'"' | b'0'..=b'9' | b'-' | b't' | b'f' | b'n' => {
                            return Err(self.decide(Outcome::NotObject));
                        }
                        _ => return Err(self.syntax(cur.i, "expected a JSON object")),
                    }
                }
                // The members of an object, most of them read here in one loop: a key with its
                // `:`, and a value that is a string (compared or skipped) or a skipped
                // container. The states below take over for the rest (an object the rules go
                // into, a number or literal), and when the bytes end inside a member. `*walk`
                // says where to go on whenever the bytes may end.
                Walk::FirstKey { node } | Walk::Key { node } => 'members: {
                    if let Walk::FirstKey { .. } = *walk {
                        cur.skip_ws();
                        if cur.peek()? == b'}' {
                            cur.i += 1;
                            break 'members self.close(node)?;
                        }
                        *walk = Walk::Key { node };
                    }
                    loop {
                        cur.skip_ws();
                        if cur.peek()? != b'"' {
                            return Err(self.syntax(cur.i, "expected a key"));
                        }
                        let (ks, ke, esc) =
                            self.open_string(cur, walk, |start| Walk::InKey { node, start })?;
                        let next = self.after_key(cur, walk, node, ks, ke, esc)?;
                        *walk = next;
                        match (next, cur.skip_ws_peek()?) {
                            (Walk::Value { child, .. }, b'"') => {
                                let (s, e, esc) = self.open_string(cur, walk, |start| {
                                    Walk::InValue { node, child, start }
                                })?;
                                self.string_value(cur.w, child, s, e, esc)?;
                            }
                            (Walk::Skip { .. }, b'"') => {
                                self.open_string(cur, walk, |_| Walk::InSkipped { node })?;
                            }
                            (Walk::Skip { .. }, b'{' | b'[') => {
                                self.container.start(cur.i);
                                *walk = Walk::InContainer { node };
                                cur.i = self.skipped_container(cur)?;
                            }
                            _ => break 'members next,
                        }
                        match fallback(walk, Walk::After { node }, || self.after(cur, node))? {
                            Walk::Key { .. } => *walk = Walk::Key { node },
                            other => break 'members other,
                        }
                    }
                }
                Walk::InKey { node, start } => {
                    let (ke, esc) = self.string_goes_on(cur)?;
                    self.after_key(cur, walk, node, start, ke, esc)?
                }
                Walk::Colon { node, ks, ke, esc } => self.colon(cur, node, ks, ke, esc)?,
                Walk::Value { node, child } => {
                    match cur.skip_ws_peek()? {
                        b'"' => {
                            let (s, e, esc) = self.open_string(cur, walk, |start| {
                                Walk::InValue { node, child, start }
                            })?;
                            self.string_value(cur.w, child, s, e, esc)?;
                            fallback(walk, Walk::After { node }, || self.after(cur, node))?
                        }
                        b'{' if !self.nodes[child].children.is_empty() => {
                            self.enter(node, child)?;
                            cur.i += 1;
                            Walk::FirstKey { node: child }
                        }
                        _ => {
                            self.fail_subtree(child)?;
                            Walk::Skip { node }
                        }
                    }
                }
                Walk::InValue { node, child, start } => {
                    let (end, esc) = self.string_goes_on(cur)?;
                    self.string_value(cur.w, child, start, end, esc)?;
                    fallback(walk, Walk::After { node }, || self.after(cur, node))?
                }
                Walk::Skip { node } => match cur.skip_ws_peek()? {
                    b'"' => {
                        self.open_string(cur, walk, |_| Walk::InSkipped { node })?;
                        fallback(walk, Walk::After { node }, || self.after(cur, node))?
                    }
                    b'{' | b'[' => {
                        self.container.start(cur.i);
                        Walk::InContainer { node }
                    }
                    b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => Walk::InScalar { node },
                    _ => return Err(self.syntax(cur.i, "expected a value")),
                },
                Walk::InSkipped { node } => {
                    self.string_goes_on(cur)?;
                    fallback(walk, Walk::After { node }, || self.after(cur, node))?
                }
                Walk::InContainer { node } => {
                    cur.i = self.skipped_container(cur)?;
                    fallback(walk, Walk::After { node }, || self.after(cur, node))?
                }
                Walk::InScalar { node } => match scalar_end(cur.w, cur.i) {
                    Some(Ok(end)) => {
                        cur.i = end;
                        fallback(walk, Walk::After { node }, || self.after(cur, node))?
                    }
                    Some(Err(at)) => return Err(self.syntax(at, "unexpected byte after a scalar")),
                    None => {
                        cur.i = cur.w.len();
                        return Err(Stop::Eof);
                    }
                },
                Walk::After { node } => self.after(cur, node)?,
            };
        }
    }

    /// Reads the string whose opening quote is under the cursor to its closing quote, and
    /// moves past it: the body's bounds and whether it holds a backslash. When the bytes end
    /// first, its scan is kept in `Probe::string` and the walk goes on in `inside(start)`.
    #[inline(always)]
    fn open_string(
        &mut self,
        cur: &mut Cur<'_>,
        walk: &mut Walk,
        inside: impl FnOnce(usize) -> Walk,
    ) -> Step<(usize, usize, bool)> {
        cur.i += 1;
        let start = cur.i;
        let mut scan = StringScan::new(start);
        match scan.end(cur.w) {
            Some((end, esc)) => {
                cur.i = end + 1;
                Ok((start, end, esc))
            }
            None => {
                self.string = scan;
                *walk = inside(start);
                Err(Stop::Eof)
            }
        }
    }

    /// Goes on with the string scan kept in `Probe::string`: its closing quote (the cursor
    /// moves past it) and whether the body holds a backslash.
    #[inline(always)]
    fn string_goes_on(&mut self, cur: &mut Cur<'_>) -> Step<(usize, bool)> {
        let (end, esc) = self.string.end(cur.w).ok_or(Stop::Eof)?;
        cur.i = end + 1;
        Ok((end, esc))
    }

    /// After a key (body `w[ks..ke]`) has been read: [`Probe::colon`], the walk going on from
    /// [`Walk::Colon`] when the bytes end.
    #[inline(always)]
    fn after_key(
        &mut self,
        cur: &mut Cur<'_>,
        walk: &mut Walk,
        node: usize,
        ks: usize,
        ke: usize,
        esc: bool,
    ) -> Step<Walk> {
        let colon = Walk::Colon { node, ks, ke, esc };
        fallback(walk, colon, || self.colon(cur, node, ks, ke, esc))
    }

    /// After a key (body `w[ks..ke]`): its `:`; then the state for its value.
    #[inline(always)]
    fn colon(
        &mut self,
        cur: &mut Cur<'_>,
        node: usize,
        ks: usize,
        ke: usize,
        esc: bool,
    ) -> Step<Walk> {
        cur.skip_ws();
        if cur.peek()? != b':' {
            return Err(self.syntax(cur.i, "expected ':'"));
        }
        cur.i += 1;
        cur.skip_ws();
        Ok(match self.child(node, cur.w, ks, ke, esc)? {
            Some(c) if self.seen[c] != self.epoch => {
                self.seen[c] = self.epoch;
                Walk::Value { node, child: c }
            }
            _ => Walk::Skip { node },
        })
    }

    /// Decides the rules at trie node `child` (and below) from its string value `w[s..e]`.
    #[inline(always)]
    pub(super) fn string_value(
        &mut self,
        w: &[u8],
        child: usize,
        s: usize,
        e: usize,
        esc: bool,
    ) -> Step {
        // An unescaped body is as long as its text: a length no rule here has cannot match.
        if esc || self.nodes[child].lengths & super::length_bit(e - s) != 0 {
            self.compare(w, s, e, esc, child)?;
        }
        self.fail_subtree(child)
    }

    /// Goes on with the scan of a skipped container (started at its opening bracket): the
    /// index just past its closing bracket.
    #[inline(always)]
    fn skipped_container(&mut self, cur: &mut Cur<'_>) -> Step<usize> {
        match self.container.end(cur.w) {
            Ok(Some(end)) => Ok(end + 1),
            Ok(None) => {
                cur.i = cur.w.len();
                Err(Stop::Eof)
            }
            Err((at, what)) => Err(self.syntax(at, what)),
        }
    }

    /// After a member's value: `,` or `}`; then the next state.
    #[inline(always)]
    fn after(&mut self, cur: &mut Cur<'_>, node: usize) -> Step<Walk> {
        cur.skip_ws();
        match cur.peek()? {
            b',' => {
                cur.i += 1;
                Ok(Walk::Key { node })
            }
            b'}' => {
                cur.i += 1;
                self.close(node)
            }
            _ => Err(self.syntax(cur.i, "expected ',' or '}'")),
        }
    }

    /// The walk enters the object that is the value of trie node `child` (a key of `node`'s
    /// object): the rules ending at `child` fail (their value is no string).
    #[inline(always)]
    pub(super) fn enter(&mut self, node: usize, child: usize) -> Step {
        for k in 0..self.nodes[child].rules.len() {
            let r = self.nodes[child].rules[k];
            self.fail(r);
        }
        self.check()?;
        self.parents.push(node);
        Ok(())
    }

    /// The object of trie node `node` closed: its rules have failed (every rule, for the
    /// top-level object); the walk goes on after it in its parent.
    #[inline]
    fn close(&mut self, node: usize) -> Step<Walk> {
        self.fail_subtree(node)?;
        let parent = self.parents.pop().expect("a nested object has a parent");
        Ok(Walk::After { node: parent })
    }
}
