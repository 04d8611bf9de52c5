//! The fast walk: a table-driven pushdown automaton over the tokens of the index. The next
//! state comes from a table indexed by the state and the token's class; only brackets touch
//! the stack (it holds the state to return to when a container closes), and only numbers and
//! literals are looked at byte by byte. It only says whether the line is valid; the precise
//! walk explains an invalid line.

use super::{Blocks, MAX_DEPTH, delimiter};
use crate::simd::Kernel;

/// Whether the number or literal at `w[at]` is valid (what `scalar_value` says, without
/// building its error).
#[inline(always)]
fn scalar_ok(w: &[u8], at: usize) -> bool {
    let rest = &w[at..];
    let delimited = |n: usize| delimiter(rest.get(n));
    match rest[0] {
        b'0'..=b'9' | b'-' => number_ok(rest),
        b't' => rest.starts_with(b"true") && delimited(4),
        b'n' => rest.starts_with(b"null") && delimited(4),
        b'f' => rest.starts_with(b"false") && delimited(5),
        _ => false,
    }
}

/// Whether `r` starts with a valid number followed by a delimiter (or its end).
#[inline(always)]
fn number_ok(r: &[u8]) -> bool {
    let digits = |mut i: usize| {
        while i < r.len() && r[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = (r[0] == b'-') as usize;
    match r.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i + 1),
        _ => return false,
    }
    if r.get(i) == Some(&b'.') {
        let j = digits(i + 1);
        if j == i + 1 {
            return false;
        }
        i = j;
    }
    if let Some(b'e' | b'E') = r.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = r.get(i) {
            i += 1;
        }
        let j = digits(i);
        if j == i {
            return false;
        }
        i = j;
    }
    delimiter(r.get(i))
}

// Token classes.
const OPEN_OBJ: u8 = 0;
const OPEN_ARR: u8 = 1;
const CLOSE_OBJ: u8 = 2;
const CLOSE_ARR: u8 = 3;
const COLON: u8 = 4;
const COMMA: u8 = 5;
const STRING: u8 = 6;
/// Anything else starts a number or literal (or is an error `scalar_value` finds).
const SCALAR: u8 = 7;
const CLASSES: usize = 8;

/// The class of a token's first byte.
static CLASS: [u8; 256] = {
    let mut t = [SCALAR; 256];
    t[b'{' as usize] = OPEN_OBJ;
    t[b'[' as usize] = OPEN_ARR;
    t[b'}' as usize] = CLOSE_OBJ;
    t[b']' as usize] = CLOSE_ARR;
    t[b':' as usize] = COLON;
    t[b',' as usize] = COMMA;
    t[b'"' as usize] = STRING;
    t
};

// States.
/// A value at the top.
const TOP: u8 = 0;
/// After `{`: a key or `}`.
const OBJ_FIRST: u8 = 1;
/// After `,` in an object: a key.
const OBJ_KEY: u8 = 2;
/// After a key: `:`.
const OBJ_COLON: u8 = 3;
/// After `:`: a value.
const OBJ_VALUE: u8 = 4;
/// After a member: `,` or `}`.
const OBJ_AFTER: u8 = 5;
/// After `[`: a value or `]`.
const ARR_FIRST: u8 = 6;
/// After `,` in an array: a value.
const ARR_VALUE: u8 = 7;
/// After an element: `,` or `]`.
const ARR_AFTER: u8 = 8;
/// The top-level value is complete.
const DONE: u8 = 9;
/// Invalid (sticky).
const ERR: u8 = 10;
/// Not a state: the container closes, the next state is on the stack.
const POP: u8 = 11;
const STATES: usize = 11;

/// The state after a value, by the state that expected it.
static AFTER: [u8; STATES] = {
    let mut t = [ERR; STATES];
    t[TOP as usize] = DONE;
    t[OBJ_VALUE as usize] = OBJ_AFTER;
    t[ARR_FIRST as usize] = ARR_AFTER;
    t[ARR_VALUE as usize] = ARR_AFTER;
    t
};

/// The next state, by state and token class.
static NEXT: [[u8; CLASSES]; STATES] = {
    let mut t = [[ERR; CLASSES]; STATES];
    let values = [TOP, OBJ_VALUE, ARR_FIRST, ARR_VALUE];
    let mut i = 0;
    while i < values.len() {
        let s = values[i] as usize;
        t[s][OPEN_OBJ as usize] = OBJ_FIRST;
        t[s][OPEN_ARR as usize] = ARR_FIRST;
        t[s][STRING as usize] = AFTER[s];
        t[s][SCALAR as usize] = AFTER[s];
        i += 1;
    }
    t[ARR_FIRST as usize][CLOSE_ARR as usize] = POP;
    t[OBJ_FIRST as usize][STRING as usize] = OBJ_COLON;
    t[OBJ_FIRST as usize][CLOSE_OBJ as usize] = POP;
    t[OBJ_KEY as usize][STRING as usize] = OBJ_COLON;
    t[OBJ_COLON as usize][COLON as usize] = OBJ_VALUE;
    t[OBJ_AFTER as usize][COMMA as usize] = OBJ_KEY;
    t[OBJ_AFTER as usize][CLOSE_OBJ as usize] = POP;
    t[ARR_AFTER as usize][COMMA as usize] = ARR_VALUE;
    t[ARR_AFTER as usize][CLOSE_ARR as usize] = POP;
    t
};

/// Whether `w` is one valid JSON value (but for UTF-8, checked elsewhere).
#[inline(always)]
pub(super) fn valid<K: Kernel>(w: &[u8]) -> bool {
    // The states to return to, one per open container; `depth` never passes MAX_DEPTH.
    let mut stack = [0u8; MAX_DEPTH];
    let mut depth = 0usize;
    let mut state = TOP;
    let mut blocks = Blocks::new(w);
    // SAFETY: `valid::<K>` runs only inside `dispatch!` (through `structure_k`), after K's
    // features were detected.
    while let Some(block) = unsafe { blocks.next::<K>() } {
        let Ok((j, mut tokens)) = block else {
            return false;
        };
        while tokens != 0 {
            let at = j + tokens.trailing_zeros() as usize;
            tokens &= tokens - 1;
            let class = CLASS[w[at] as usize];
            let next = NEXT[state as usize][class as usize];
            if class <= OPEN_ARR {
                if next == ERR || depth == MAX_DEPTH {
                    return false;
                }
                stack[depth] = AFTER[state as usize];
                depth += 1;
                state = next;
            } else if next == POP {
                depth -= 1;
                state = stack[depth];
            } else if class == SCALAR {
                if next == ERR || !scalar_ok(w, at) {
                    return false;
                }
                state = next;
            } else {
                state = next;
            }
        }
        if state == ERR {
            return false;
        }
    }
    state == DONE && !blocks.in_string()
}
