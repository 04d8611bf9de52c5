//! The fast walk: a table-driven pushdown automaton over the tokens of the index. The next
//! state comes from a table indexed by the state and the token's class, and the stack holds
//! the state to return to when a container closes, so a token costs a few loads and no
//! branch on its kind (only numbers and literals are looked at byte by byte). It only says
//! whether the line is valid; the precise walk explains an invalid line.

use super::{Blocks, MAX_DEPTH, scalar_value};
use crate::simd::Kernel;

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
    // The states to return to, one per open container. Every token writes the slot above the
    // top (harmless unless it opens a container), and `depth` never passes MAX_DEPTH.
    let mut stack = [0u8; MAX_DEPTH + 1];
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
            let mut next = NEXT[state as usize][class as usize];
            stack[depth] = AFTER[state as usize];
            depth += (class <= OPEN_ARR && next != ERR) as usize;
            if depth > MAX_DEPTH {
                return false;
            }
            let pop = next == POP;
            depth -= pop as usize;
            next = if pop { stack[depth] } else { next };
            if class == SCALAR && next != ERR && scalar_value(w, at).is_err() {
                next = ERR;
            }
            state = next;
        }
        if state == ERR {
            return false;
        }
    }
    state == DONE && !blocks.in_string()
}
