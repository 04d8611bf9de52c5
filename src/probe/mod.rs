//! The prefix probe: a structural, escape-aware scan that classifies one line.
//!
//! The probe reads a line's JSON just far enough to decide the selector: it follows the key
//! paths of the rules into the objects they name, compares the unescaped string values it finds
//! there, and skips everything else (strings and containers are jumped with the SIMD block
//! scans of [`crate::block`], bracket pairing checked with a stack of fixed size). It never
//! allocates per line (its scratch buffers are reused), the state it keeps is bounded by the
//! longest rule path whatever the nesting depth of the line, and it stops as soon as the
//! outcome is decided.
//!
//! The walk ([`walk`]) is a state machine that can be fed a line in pieces ([`Probe::resume`]):
//! the scanner feeds a long line a piece at a time and releases the pages behind each piece;
//! the probe itself releases nothing. Lines (or their first [`whole::WHOLE_MAX`] bytes) whose bytes
//! are all at hand go first through a fast path ([`whole`]) that reads them in one loop and
//! hands anything unusual (an escaped key, a syntax error, the end of the bytes) back to the
//! walk.

use std::collections::HashMap;

use memchr::memmem;

use crate::block::{ContainerScan, StringScan};
use crate::select::{Matcher, Selector};
use crate::validate::hex4;

mod walk;
mod whole;

pub(crate) use walk::Progress;
use walk::Walk;

/// What the probe decided about one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A rule matched: the index of the first rule that did.
    Retain(usize),
    /// Every rule failed.
    Skip,
    /// The line's first non-blank byte starts a JSON value that is not an object.
    NotObject,
    /// The window ended before the outcome was decided.
    Undecided,
    /// A syntax error before the outcome was decided, at this byte of the line.
    Malformed { at: usize, what: &'static str },
}

/// Dropped-entry values are cut to this many bytes.
pub(crate) const VALUE_CUT: usize = 256;

/// Why the scan of a line stopped early. Kept to one byte so that the `Result`s threaded
/// through the scan stay in registers: the outcome and the syntax error it stands for are
/// stored in the probe.
#[derive(Clone, Copy, Debug)]
enum Stop {
    /// Decided: the outcome is in `Probe::decided`.
    Decided,
    Eof,
    /// A syntax error: where and what is in `Probe::error`.
    Syntax,
}

type Step<T = ()> = Result<T, Stop>;

struct Node {
    key: Box<[u8]>,
    children: Vec<Child>,
    /// With many children: key -> child, so that thousands of paths cost one lookup.
    child_map: Option<HashMap<Box<[u8]>, usize>>,
    /// With many `equals` values on rules ending here: value (lowercased unless
    /// case-sensitive) -> the first of those rules that has it.
    equals_map: Option<HashMap<Box<[u8]>, usize>>,
    /// Rules whose path ends here.
    rules: Vec<usize>,
    /// The lengths a string value must have to possibly match a rule ending here: bit `n` for
    /// an `equals` value of `n` bytes (bit 63 for 63 and more), every bit with a `contains`
    /// rule. Most values are ruled out by this test alone.
    lengths: u64,
    /// The lengths of the children's keys, as bits like [`Node::lengths`]: a key of another
    /// length (most keys of a line) is no child, known without reading it.
    key_lengths: u64,
    /// Rules whose path ends here or below.
    subtree: Vec<usize>,
}

/// A node's child as its parent looks it up: the key's length and first eight bytes in one
/// word, so that most keys of a line are told apart by two compares, without reading the
/// child's node.
#[derive(Clone, Copy)]
struct Child {
    len: usize,
    head: u64,
    node: usize,
}

/// The first eight bytes of `key` (zero-padded) as a little-endian word.
#[inline(always)]
fn head(key: &[u8]) -> u64 {
    if let Some(word) = key.first_chunk::<8>() {
        return u64::from_le_bytes(*word);
    }
    let mut word = 0;
    for (i, &b) in key.iter().enumerate() {
        word |= u64::from(b) << (8 * i);
    }
    word
}

/// The head of the key `w[s..e]`, read as one word when eight bytes of `w` follow `s`.
#[inline(always)]
fn head_at(w: &[u8], s: usize, e: usize) -> u64 {
    let len = e - s;
    match w.get(s..).and_then(|rest| rest.first_chunk::<8>()) {
        Some(word) if len < 8 => u64::from_le_bytes(*word) & ((1u64 << (8 * len)) - 1),
        Some(word) => u64::from_le_bytes(*word),
        None => head(&w[s..e]),
    }
}

/// Children or values over this many are looked up in a hash map rather than one by one.
const MAP_OVER: usize = 8;

/// The bit of [`Node::lengths`] for a value of `len` bytes.
#[inline(always)]
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

impl Node {
    /// Builds [`Node::lengths`] and, when the `equals` values of the rules ending here are
    /// many, their map.
    fn index(&mut self, rules: &[CompiledRule]) {
        for &r in &self.rules {
            self.lengths |= match rules[r].contains {
                true => !0,
                false => rules[r]
                    .needles
                    .iter()
                    .map(|n| length_bit(n.len()))
                    .fold(0, |a, b| a | b),
            };
        }
        let equals = self.rules.iter().filter(|&&r| !rules[r].contains);
        let values: usize = equals.clone().map(|&r| rules[r].needles.len()).sum();
        if values > MAP_OVER {
            let mut map = HashMap::with_capacity(values);
            for &r in equals {
                for n in &rules[r].needles {
                    map.entry(n.clone()).or_insert(r);
                }
            }
            self.equals_map = Some(map);
        }
    }
}

struct CompiledRule {
    contains: bool,
    /// Needles, ASCII-lowercased unless the probe is case-sensitive.
    needles: Vec<Box<[u8]>>,
    finders: Vec<memmem::Finder<'static>>,
}

/// A compiled selector plus the reusable per-line state.
pub(crate) struct Probe {
    nodes: Vec<Node>,
    rules: Vec<CompiledRule>,
    case_sensitive: bool,
    // Per-line state, reset by `classify` (by moving on to the next epoch).
    epoch: u32,
    /// `failed[r] == epoch`: rule `r` failed on this line.
    failed: Vec<u32>,
    /// `seen[n] == epoch`: the key of node `n` was met on this line.
    seen: Vec<u32>,
    undecided: usize,
    /// Unescaped text of the string being compared.
    unescaped: Vec<u8>,
    /// Lowercased text, for case-insensitive `contains`.
    lower: Vec<u8>,
    /// The value that decided a `Retain`, as spelled in the line (unescaped), cut.
    matched: Vec<u8>,
    /// Where the walk of the line stands, between calls of [`Probe::resume`].
    walk: Walk,
    /// Where the walk goes on reading.
    pos: usize,
    /// The trie nodes of the objects the walk has entered and will go on in.
    parents: Vec<usize>,
    /// The scan of the string the walk is in.
    string: StringScan,
    /// The scan of the skipped container the walk is in (bracket kinds checked to
    /// `simd::scan::KIND_BITS` levels: the probe is not a validator).
    container: ContainerScan,
    /// The outcome behind the last [`Stop::Decided`].
    decided: Outcome,
    /// The byte and description behind the last [`Stop::Syntax`].
    error: (usize, &'static str),
}

impl Probe {
    pub(crate) fn new(selector: &Selector, case_sensitive: bool) -> Probe {
        let mut nodes = vec![Node {
            key: Box::default(),
            children: Vec::new(),
            child_map: None,
            equals_map: None,
            rules: Vec::new(),
            lengths: 0,
            key_lengths: 0,
            subtree: Vec::new(),
        }];
        let mut rules = Vec::new();
        // (parent, key) -> child, while the trie is built.
        let mut edges: HashMap<(usize, &[u8]), usize> = HashMap::new();
        for (ri, rule) in selector.rules().iter().enumerate() {
            let mut at = 0;
            nodes[0].subtree.push(ri);
            for seg in rule.path() {
                let found = edges.get(&(at, seg.as_bytes())).copied();
                at = match found {
                    Some(c) => c,
                    None => {
                        nodes.push(Node {
                            key: seg.as_bytes().into(),
                            children: Vec::new(),
                            child_map: None,
                            equals_map: None,
                            rules: Vec::new(),
                            lengths: 0,
                            key_lengths: 0,
                            subtree: Vec::new(),
                        });
                        let c = nodes.len() - 1;
                        nodes[at].key_lengths |= length_bit(seg.len());
                        nodes[at].children.push(Child {
                            len: seg.len(),
                            head: head(seg.as_bytes()),
                            node: c,
                        });
                        edges.insert((at, seg.as_bytes()), c);
                        c
                    }
                };
                nodes[at].subtree.push(ri);
            }
            nodes[at].rules.push(ri);
            let (contains, vals) = match rule.matcher() {
                Matcher::Equals(v) => (false, v),
                Matcher::Contains(v) => (true, v),
            };
            let needles: Vec<Box<[u8]>> = vals
                .iter()
                .map(|v| {
                    if case_sensitive {
                        v.as_bytes().into()
                    } else {
                        v.to_ascii_lowercase().into_bytes().into()
                    }
                })
                .collect();
            let finders = if contains {
                needles
                    .iter()
                    .map(|n| memmem::Finder::new(&n[..]).into_owned())
                    .collect()
            } else {
                Vec::new()
            };
            rules.push(CompiledRule {
                contains,
                needles,
                finders,
            });
        }
        for node in &mut nodes {
            node.index(&rules);
        }
        for i in 0..nodes.len() {
            if nodes[i].children.len() > MAP_OVER {
                let map = nodes[i]
                    .children
                    .iter()
                    .map(|c| (nodes[c.node].key.clone(), c.node))
                    .collect();
                nodes[i].child_map = Some(map);
            }
        }
        // The walk enters at most one object per segment of the longest rule path.
        let depth = selector
            .rules()
            .iter()
            .map(|r| r.path().len())
            .max()
            .unwrap_or(0);
        Probe {
            epoch: 1,
            failed: vec![0; rules.len()],
            seen: vec![0; nodes.len()],
            nodes,
            rules,
            case_sensitive,
            undecided: 0,
            unescaped: Vec::new(),
            lower: Vec::new(),
            matched: Vec::new(),
            walk: Walk::Line,
            pos: 0,
            parents: Vec::with_capacity(depth),
            string: StringScan::default(),
            container: ContainerScan::default(),
            decided: Outcome::Skip,
            error: (0, ""),
        }
    }

    /// The value (unescaped, as the line spells it, cut to 256 bytes) that decided the last
    /// [`Outcome::Retain`].
    pub(crate) fn matched_value(&self) -> &[u8] {
        &self.matched
    }

    /// Classifies a line from `window`, its first bytes (or all of it), in one call (see
    /// [`Probe::resume`] to feed it in pieces).
    ///
    /// `exact` says the window is the whole line: running out of bytes before the top-level
    /// object closes is then a syntax error rather than [`Outcome::Undecided`].
    pub(crate) fn classify(&mut self, window: &[u8], exact: bool) -> Outcome {
        if let Some(o) = self.whole(window) {
            return o;
        }
        self.start();
        match self.resume(window, window.len(), exact) {
            Progress::Done(o) => o,
            Progress::Paused => unreachable!("a walk given the whole window never pauses"),
        }
    }

    /// The child of `node` whose key equals the (unescaped) key `w[s..e]`.
    #[inline(always)]
    fn child(
        &mut self,
        node: usize,
        w: &[u8],
        s: usize,
        e: usize,
        esc: bool,
    ) -> Step<Option<usize>> {
        if !esc {
            return Ok(self.plain_child(node, w, s, e));
        }
        if self.nodes[node].children.is_empty() {
            return Ok(None);
        }
        unescape(&w[s..e], &mut self.unescaped).map_err(|(at, what)| self.syntax(s + at, what))?;
        Ok(find_child(
            &self.nodes,
            node,
            &self.unescaped,
            head(&self.unescaped),
        ))
    }

    /// [`Probe::child`] for a key without escapes.
    #[inline(always)]
    fn plain_child(&self, node: usize, w: &[u8], s: usize, e: usize) -> Option<usize> {
        // An unescaped key is as long as its text.
        if self.nodes[node].key_lengths & length_bit(e - s) == 0 {
            return None;
        }
        find_child(&self.nodes, node, &w[s..e], head_at(w, s, e))
    }

    /// Compares the string `w[s..e]` with the rules ending at node `c`.
    fn compare(&mut self, w: &[u8], s: usize, e: usize, esc: bool, c: usize) -> Step {
        let text: &[u8] = if esc {
            unescape(&w[s..e], &mut self.unescaped)
                .map_err(|(at, what)| self.syntax(s + at, what))?;
            &self.unescaped
        } else {
            &w[s..e]
        };
        let Probe {
            nodes,
            rules,
            lower,
            failed,
            epoch,
            case_sensitive,
            ..
        } = self;
        let node = &nodes[c];
        let mut lowered = false;
        let mut first = None;
        if let Some(map) = &node.equals_map {
            let key: &[u8] = if *case_sensitive {
                text
            } else {
                lower_into(text, lower, &mut lowered)
            };
            first = map.get(key).copied().filter(|&r| failed[r] != *epoch);
        }
        for &r in &node.rules {
            if first.is_some_and(|f| f < r) {
                break;
            }
            let rule = &rules[r];
            if failed[r] == *epoch || (!rule.contains && node.equals_map.is_some()) {
                continue;
            }
            let hit = if !rule.contains {
                if *case_sensitive {
                    rule.needles.iter().any(|n| same(n, text))
                } else {
                    rule.needles.iter().any(|n| n.eq_ignore_ascii_case(text))
                }
            } else if *case_sensitive {
                rule.finders.iter().any(|f| f.find(text).is_some())
            } else {
                let lower = lower_into(text, lower, &mut lowered);
                rule.finders.iter().any(|f| f.find(lower).is_some())
            };
            if hit {
                first = Some(r);
                break;
            }
        }
        match first {
            Some(r) => {
                let cut = cut_value(text);
                self.matched.clear();
                self.matched.extend_from_slice(cut);
                Err(self.decide(Outcome::Retain(r)))
            }
            None => Ok(()),
        }
    }

    fn decide(&mut self, o: Outcome) -> Stop {
        self.decided = o;
        Stop::Decided
    }

    fn syntax(&mut self, at: usize, what: &'static str) -> Stop {
        self.error = (at, what);
        Stop::Syntax
    }

    fn fail(&mut self, r: usize) {
        if self.failed[r] != self.epoch {
            self.failed[r] = self.epoch;
            self.undecided -= 1;
        }
    }

    fn check(&mut self) -> Step {
        if self.undecided == 0 {
            Err(self.decide(Outcome::Skip))
        } else {
            Ok(())
        }
    }

    fn fail_subtree(&mut self, node: usize) -> Step {
        if node == 0 {
            // The top-level object closed: every rule failed.
            return Err(self.decide(Outcome::Skip));
        }
        for k in 0..self.nodes[node].subtree.len() {
            let r = self.nodes[node].subtree[k];
            self.fail(r);
        }
        self.check()
    }
}

/// The child of `node` whose key is `key` (its [`head`] given).
#[inline(always)]
fn find_child(nodes: &[Node], node: usize, key: &[u8], head: u64) -> Option<usize> {
    let parent = &nodes[node];
    if let Some(map) = &parent.child_map {
        return map.get(key).copied();
    }
    // Keys are short: the length and the first eight bytes decide most of them; the rest of a
    // longer key is compared inline (shorter than a call to memcmp).
    for c in &parent.children {
        if c.len == key.len()
            && c.head == head
            && (c.len <= 8 || same(&nodes[c.node].key[8..], &key[8..]))
        {
            return Some(c.node);
        }
    }
    None
}

/// `a == b` for the short strings rules compare (keys, event types), a word at a time and
/// inline rather than through a call to memcmp.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap());
    if n < 8 {
        return a == b;
    }
    // Whole words, then the last eight bytes (overlapping the words before).
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// `text` ASCII-lowercased in `buf`, lowering it only the first time (`done`).
fn lower_into<'b>(text: &[u8], buf: &'b mut Vec<u8>, done: &mut bool) -> &'b [u8] {
    if !*done {
        buf.clear();
        buf.extend(text.iter().map(u8::to_ascii_lowercase));
        *done = true;
    }
    buf
}

/// Cuts a value to at most [`VALUE_CUT`] bytes, on a UTF-8 character boundary when the text is
/// valid UTF-8 up to the cut.
pub(crate) fn cut_value(text: &[u8]) -> &[u8] {
    if text.len() <= VALUE_CUT {
        return text;
    }
    let mut end = VALUE_CUT;
    while end > VALUE_CUT - 4 && (text[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &text[..end]
}

/// Unescapes a JSON string body (without quotes) into `out`.
///
/// On an invalid escape returns the offset (within `src`) of its backslash and a description.
/// An unpaired surrogate escape is an error, as it is for the decoder.
pub(crate) fn unescape(src: &[u8], out: &mut Vec<u8>) -> Result<(), (usize, &'static str)> {
    out.clear();
    let mut i = 0;
    while i < src.len() {
        let Some(k) = memchr::memchr(b'\\', &src[i..]) else {
            out.extend_from_slice(&src[i..]);
            return Ok(());
        };
        out.extend_from_slice(&src[i..i + k]);
        let at = i + k;
        let c = *src.get(at + 1).ok_or((at, "unfinished escape"))?;
        i = at + 2;
        let b = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hi = hex4(src, at + 2).ok_or((at, "invalid \\u escape"))?;
                i = at + 6;
                let cp = if (0xD800..0xDC00).contains(&hi) {
                    if src.get(i) != Some(&b'\\') || src.get(i + 1) != Some(&b'u') {
                        return Err((at, "unpaired surrogate escape"));
                    }
                    let lo = hex4(src, i + 2).ok_or((i, "invalid \\u escape"))?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err((at, "unpaired surrogate escape"));
                    }
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else if (0xDC00..0xE000).contains(&hi) {
                    return Err((at, "unpaired surrogate escape"));
                } else {
                    hi
                };
                let ch = char::from_u32(cp).ok_or((at, "invalid \\u escape"))?;
                let mut buf = [0; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return Err((at, "invalid escape")),
        };
        out.push(b);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
