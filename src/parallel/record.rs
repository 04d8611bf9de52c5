//! The workers' recording sink, and a sink that discards.

use crate::decode::Event;
use crate::report::{Dropped, Malformed};
use crate::sink::{Category, Passed, Sink};

/// The [`Passed`] of a recorded line `(number, offset, len)`, replayed over the whole input.
pub(super) fn passed<'d>(data: &'d [u8], at: &(u64, u64, u64), category: Category) -> Passed<'d> {
    let (number, offset, len) = *at;
    Passed {
        number,
        offset,
        len,
        category,
        bytes: &data[offset as usize..(offset + len) as usize],
    }
}

/// One sink call a worker recorded, with its line number relative to the chunk.
pub(super) enum Rec {
    /// A retained line; `copied`: its bytes are next in [`Recorder::copies`].
    Retained {
        number: u64,
        offset: u64,
        len: u64,
        copied: bool,
    },
    Dropped(Box<Dropped>),
    Malformed(Box<Malformed>),
    Unclassified {
        number: u64,
        offset: u64,
        len: u64,
    },
}

/// A worker copies the retained lines of a chunk, in order, up to this many bytes: the
/// calling thread hands them on from the copies, so it neither maps again the pages the
/// worker released nor releases them once more (each release that unmaps pages interrupts
/// the other cores); past it, retained lines are handed on from the mapping.
pub(super) const COPY_BUDGET: usize = 256 << 10;

/// The workers' sink: records the calls, in order.
#[derive(Default)]
pub(super) struct Recorder {
    pub(super) recs: Vec<Rec>,
    /// About how many bytes the records take.
    pub(super) bytes: usize,
    /// The bytes of the retained lines recorded as `copied`, one after the other.
    pub(super) copies: Vec<u8>,
}

impl Recorder {
    fn push(&mut self, rec: Rec, extra: usize) -> Result<bool, crate::Error> {
        self.bytes += std::mem::size_of::<Rec>() + extra;
        self.recs.push(rec);
        Ok(true)
    }
}

impl Sink for Recorder {
    type Error = crate::Error;

    fn retained(&mut self, event: &mut Event<'_>) -> Result<bool, crate::Error> {
        let line = event.line();
        let bytes = line.bytes();
        let copied = self.copies.len() + bytes.len() <= COPY_BUDGET;
        if copied {
            self.copies.extend_from_slice(bytes);
        }
        let rec = Rec::Retained {
            number: line.number(),
            offset: line.offset(),
            len: bytes.len() as u64,
            copied,
        };
        self.push(rec, 0)
    }

    fn dropped(&mut self, entry: &Dropped) -> Result<bool, crate::Error> {
        let extra = std::mem::size_of::<Dropped>() + entry.value.as_ref().map_or(0, String::len);
        self.push(Rec::Dropped(Box::new(entry.clone())), extra)
    }

    fn malformed(&mut self, entry: &Malformed) -> Result<bool, crate::Error> {
        let extra = std::mem::size_of::<Malformed>() + entry.error.len();
        self.push(Rec::Malformed(Box::new(entry.clone())), extra)
    }

    fn unclassified(&mut self, number: u64, offset: u64, len: u64) -> Result<bool, crate::Error> {
        let rec = Rec::Unclassified {
            number,
            offset,
            len,
        };
        self.push(rec, 0)
    }
}

/// A sink that takes everything: for counting lines again.
pub(super) struct Discard;

impl Sink for Discard {
    type Error = crate::Error;

    fn retained(&mut self, _event: &mut Event<'_>) -> Result<bool, crate::Error> {
        Ok(true)
    }
}
