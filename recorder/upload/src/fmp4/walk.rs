//! Walking a fragmented MP4's top-level boxes as its bytes arrive (an S3 body read in pieces),
//! holding at most one box that is not an `mdat` (the `ftyp`, the `moov`, one `moof`) and the
//! header after it: `mdat` bytes pass straight through. So joining parts of any length needs
//! memory for one `moof`, not one part. Pure: bytes in, [`Item`]s out.
//!
//! What it yields is what [`super::parse`] keeps of a whole part: the boxes before the first
//! `moof`, then `moof`+`mdat` pairs up to the first box that is not one (an `mfra`) or does not
//! fit in the object (a part cut while it grew): the rest is not yielded.

use super::JoinError;
use super::parse::{be32, be64};

/// Boxes other than `mdat` bigger than this are refused (a `moov` or `moof` never is: this
/// bounds what one part can make the join hold).
const MAX_HELD_BOX: u64 = 64 << 20;

/// What the walk yields, in the object's order.
pub enum Item<'a> {
    /// A whole box before the first `moof` (`ftyp`, `moov`, `free`, …).
    Head { kind: [u8; 4], bytes: &'a [u8] },
    /// A `moof` (to patch in place) with the header of the `mdat` after it, once that `mdat` is
    /// known to fit in the object.
    Fragment {
        moof: &'a mut [u8],
        mdat_header: &'a [u8],
    },
    /// The next bytes of the last fragment's `mdat` payload.
    Media(&'a [u8]),
}

enum State {
    /// Gathering a box header, then a whole box, in `held` (after a `moof` when `moof_len` is
    /// set: the `moof` is kept until its `mdat`'s header is in).
    Boxes { box_start: usize },
    /// Passing `left` more bytes of an `mdat` through.
    Media { left: u64 },
    /// The rest is not part of what is joined.
    Stopped,
}

/// Walks one object of `len` bytes called `name` (in messages); see the module doc.
pub struct Walker {
    name: String,
    len: u64,
    /// Offset in the object of the next byte fed.
    at: u64,
    held: Vec<u8>,
    /// Length of the `moof` at the start of `held`, when one waits for its `mdat`.
    moof_len: Option<usize>,
    fragments: bool,
    state: State,
    /// End of the last whole fragment (or of the head before any).
    end: u64,
    peak: usize,
}

impl Walker {
    pub fn new(name: &str, len: u64) -> Self {
        Walker {
            name: name.to_string(),
            len,
            at: 0,
            held: Vec::new(),
            moof_len: None,
            fragments: false,
            state: State::Boxes { box_start: 0 },
            end: 0,
            peak: 0,
        }
    }

    /// The most bytes held at once so far.
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// Where what is joined of the object ends (after its last whole fragment).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Takes in the object's next bytes, handing each [`Item`] they complete to `out`.
    pub fn feed<E: From<JoinError>>(
        &mut self,
        mut input: &[u8],
        out: &mut impl FnMut(Item<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        while !input.is_empty() {
            match self.state {
                State::Stopped => return Ok(()),
                State::Media { left } => {
                    let n = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    out(Item::Media(&input[..n]))?;
                    self.at += n as u64;
                    input = &input[n..];
                    let left = left - n as u64;
                    self.state = State::Media { left };
                    if left == 0 {
                        self.end = self.at;
                        self.state = State::Boxes { box_start: 0 };
                    }
                }
                State::Boxes { box_start } => {
                    let taken = self.boxes(box_start, input, out)?;
                    input = &input[taken..];
                }
            }
        }
        Ok(())
    }

    /// Takes what `input` adds to the box starting at `held[box_start..]`; returns the bytes
    /// taken.
    fn boxes<E: From<JoinError>>(
        &mut self,
        box_start: usize,
        input: &[u8],
        out: &mut impl FnMut(Item<'_>) -> Result<(), E>,
    ) -> Result<usize, E> {
        let have = self.held.len() - box_start;
        let Some((size, header)) = self.header(box_start) else {
            // Not enough for a header yet: take no more than it (a largesize one is 16 bytes),
            // so `held` never holds bytes of the box after.
            let need = if have < 8 { 8 } else { 16 };
            let n = input.len().min(need - have);
            self.hold(&input[..n]);
            return Ok(n);
        };
        let kind: [u8; 4] = self.held[box_start + 4..box_start + 8]
            .try_into()
            .expect("4 bytes");
        let box_at = self.at - have as u64;
        let fits = box_at.checked_add(size).is_some_and(|end| end <= self.len);
        if &kind == b"mdat" {
            let Some(moof_len) = self.moof_len.take().filter(|_| fits) else {
                self.stop();
                return Ok(0);
            };
            let (moof, mdat_header) = self.held.split_at_mut(moof_len);
            out(Item::Fragment { moof, mdat_header })?;
            self.held.clear();
            let left = size - header as u64;
            self.state = State::Media { left };
            if left == 0 {
                self.end = self.at;
                self.state = State::Boxes { box_start: 0 };
            }
            return Ok(0);
        }
        if !fits || self.moof_len.is_some() || (self.fragments && &kind != b"moof") {
            self.stop();
            return Ok(0);
        }
        if size > MAX_HELD_BOX {
            return Err(JoinError::Malformed {
                part: self.name.clone(),
                detail: format!(
                    "its {} box at byte {box_at} is {size} bytes",
                    String::from_utf8_lossy(&kind)
                ),
            }
            .into());
        }
        let size = size as usize;
        if have < size {
            let n = input.len().min(size - have);
            self.hold(&input[..n]);
            return Ok(n);
        }
        if &kind == b"moof" {
            // Kept until the header of its mdat is in.
            self.fragments = true;
            self.moof_len = Some(size);
            self.state = State::Boxes { box_start: size };
        } else {
            out(Item::Head {
                kind,
                bytes: &self.held,
            })?;
            self.end = self.at;
            self.held.clear();
            self.state = State::Boxes { box_start: 0 };
        }
        Ok(0)
    }

    /// The size and header length of the box whose header starts at `held[start..]`, when
    /// enough of it is held.
    fn header(&self, start: usize) -> Option<(u64, usize)> {
        let b = &self.held[start..];
        match be32(b, 0)? {
            1 => Some((be64(b, 8)?.max(16), 16)),
            0 if b.len() >= 8 => Some((
                (self.len.saturating_sub(self.at - b.len() as u64)).max(8),
                8,
            )),
            n => (b.len() >= 8).then_some((u64::from(n).max(8), 8)),
        }
    }

    fn hold(&mut self, bytes: &[u8]) {
        self.held.extend_from_slice(bytes);
        self.at += bytes.len() as u64;
        self.peak = self.peak.max(self.held.len());
    }

    fn stop(&mut self) {
        self.held = Vec::new();
        self.moof_len = None;
        self.state = State::Stopped;
    }
}
