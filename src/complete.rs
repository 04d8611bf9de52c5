//! Whether a line holds one complete JSON value by its structure alone: strings closed,
//! brackets balanced and paired (to `KIND_BITS` levels), nothing but whitespace after the
//! value, a top-level scalar running to the end. This is the check of a last line without LF
//! that is too large to parse (over the ceiling).
//!
//! It is resumable: fed chunk by chunk (the follower and the stream read such a line in
//! pieces) or all at once (the mapped scan), through the same SIMD scans as the probe
//! ([`crate::simd::string_end`], [`crate::simd::skip_container`]), so every scan loop gives
//! the same answer on the same bytes.

use crate::simd::{self, Container, Found, Str};

/// A completeness check fed in chunks.
pub(crate) struct Complete {
    state: State,
    string: Str,
    container: Container,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the value (leading whitespace).
    Start,
    /// In a top-level number or literal.
    Scalar,
    /// In a top-level string.
    Str,
    /// In an object or array.
    Container,
    /// After the value: only whitespace may follow.
    Trailer,
    /// Not complete, whatever follows.
    Fail,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl Complete {
    pub(crate) fn new() -> Complete {
        Complete {
            state: State::Start,
            string: Str::default(),
            container: Container::default(),
        }
    }

    /// Whether nothing that follows can make the bytes fed so far complete.
    pub(crate) fn failed(&self) -> bool {
        self.state == State::Fail
    }

    /// Whether the bytes fed so far form one complete value.
    pub(crate) fn complete(&self) -> bool {
        matches!(self.state, State::Trailer | State::Scalar)
    }

    /// Feeds the next bytes of the line.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        let mut i = 0;
        while i < chunk.len() {
            match self.state {
                State::Fail => return,
                State::Start | State::Trailer => {
                    let Some(k) = chunk[i..].iter().position(|&b| !is_ws(b)) else {
                        return;
                    };
                    i += k;
                    if self.state == State::Trailer {
                        self.state = State::Fail;
                        return;
                    }
                    self.state = match chunk[i] {
                        b'"' => {
                            self.string = Str::default();
                            i += 1;
                            State::Str
                        }
                        b'{' | b'[' => {
                            self.container.reset();
                            State::Container
                        }
                        b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                            i += 1;
                            State::Scalar
                        }
                        _ => State::Fail,
                    };
                }
                State::Scalar => {
                    let b = chunk[i];
                    self.state = match b {
                        _ if is_ws(b) => State::Trailer,
                        b',' | b'}' | b']' | b'"' | b'{' | b'[' | b':' => State::Fail,
                        _ => State::Scalar,
                    };
                    i += 1;
                }
                State::Str => match simd::string_end(chunk, i, &mut self.string) {
                    Found::At(end) => {
                        self.state = State::Trailer;
                        i = end + 1;
                    }
                    Found::More => return,
                },
                State::Container => match simd::skip_container(chunk, i, &mut self.container) {
                    Ok(Found::At(end)) => {
                        self.state = State::Trailer;
                        i = end + 1;
                    }
                    Ok(Found::More) => return,
                    Err(_) => self.state = State::Fail,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The reference: one byte at a time, with a stack. As in the indexer, a backslash outside
    /// strings escapes a quote or backslash after it (invalid JSON anyway).
    fn naive(data: &[u8]) -> bool {
        let mut stack = Vec::new();
        let mut i = 0;
        while i < data.len() && is_ws(data[i]) {
            i += 1;
        }
        let Some(&first) = data.get(i) else {
            return false;
        };
        match first {
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                while i < data.len() && !is_ws(data[i]) {
                    if b",}]\"{[:".contains(&data[i]) {
                        return false;
                    }
                    i += 1;
                }
            }
            b'"' | b'{' | b'[' => {
                let mut in_str = false;
                loop {
                    let Some(&b) = data.get(i) else {
                        return false;
                    };
                    i += 1;
                    match (in_str, b) {
                        (_, b'\\') if matches!(data.get(i), Some(b'"' | b'\\')) || in_str => {
                            i += 1;
                        }
                        (_, b'"') => {
                            in_str = !in_str;
                            if !in_str && stack.is_empty() {
                                break;
                            }
                        }
                        (false, b'{' | b'[') => stack.push(b),
                        (false, b'}' | b']') => {
                            let open = stack.pop().expect("inside a container");
                            if (open == b'{') != (b == b'}') {
                                return false;
                            }
                            if stack.is_empty() {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => return false,
        }
        data[i..].iter().all(|&b| is_ws(b))
    }

    fn fed(data: &[u8], cuts: &[usize]) -> bool {
        let mut c = Complete::new();
        let mut at = 0;
        let mut cuts = cuts.to_vec();
        cuts.sort_unstable();
        for cut in cuts {
            let cut = cut.clamp(at, data.len());
            c.feed(&data[at..cut]);
            at = cut;
        }
        c.feed(&data[at..]);
        c.complete()
    }

    #[test]
    fn cases() {
        for (case, want) in [
            (&b"{}"[..], true),
            (b"{", false),
            (b"[]", true),
            (b"[}", false),
            (b"{]", false),
            (b"{\"a\":\"b\\\"\"}", true),
            (b"{\"a\":\"b\\\"}", false),
            (b"\"s\"", true),
            (b"\"s", false),
            (b"\"s\" x", false),
            (b"\"s\"  ", true),
            (b"12", true),
            (b"12 ", true),
            (b"12,", false),
            (b"12]", false),
            (b"tru", true),
            (b"1\"", false),
            (b"x", false),
            (b"  {\"a\":[1,{\"b\":2}]}  ", true),
            (b"{\"a\":[1,{\"b\":2]}}", false),
            (b"{} {}", false),
            (b"{}}", false),
            (b"{\"a\":\"\\", false),
            (b"\x0c{}", false),
            (b"", false),
        ] {
            assert_eq!(
                naive(case),
                want,
                "naive {:?}",
                String::from_utf8_lossy(case)
            );
            for cut in 0..=case.len() {
                assert_eq!(
                    fed(case, &[cut]),
                    want,
                    "{:?} cut {cut}",
                    String::from_utf8_lossy(case)
                );
            }
        }
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(fed(deep.as_bytes(), &[4999, 7000]));
    }

    proptest! {
        #[test]
        fn chunked_equals_naive(
            data in prop::collection::vec(prop::sample::select(
                vec![b'{', b'}', b'[', b']', b'"', b'\\', b' ', b'1', b'a', b',', b':', b'n']), 0..200),
            cuts in prop::collection::vec(0usize..200, 0..4),
        ) {
            prop_assert_eq!(fed(&data, &cuts), naive(&data), "{:?}", String::from_utf8_lossy(&data));
        }
    }
}
