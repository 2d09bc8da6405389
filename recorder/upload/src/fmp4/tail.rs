//! Finding a part's last fragments in the bytes at its end (one ranged GET), so that where a
//! part ends on its timeline, and its last sequence number, are known without reading it all.
//! Pure.
//!
//! A fragment is a `moof` followed by an `mdat`; the last one's `mdat` ends where the object
//! does, or where its `mfra` starts (the `mfro` at the very end says how long the `mfra` is).
//! Going back from there, a `moof` is taken only when it parses as one of this part's
//! fragments and its `mdat` ends exactly where the next fragment (or the end) starts: the four
//! bytes `moof` inside media data would also have to make that chain, which they do not.

use super::parse::{Part, be32, be64};

/// The `moof`s of the last fragments in `tail` (the object's last bytes; it is `len` long),
/// walking back until every track of `head` (its parsed `moov`) has one, in the object's order,
/// with the end of the last fragment's `mdat`. `None` when `tail` does not reach back that far
/// (read the part whole instead).
pub fn last_fragments(head: &Part, tail: &[u8], len: u64) -> Option<(Vec<Vec<u8>>, u64)> {
    let tail_at = len.checked_sub(tail.len() as u64)?;
    let mut end = tail.len();
    // An mfra at the end: its mfro (the last 16 bytes) gives its size.
    if end >= 16 && &tail[end - 12..end - 8] == b"mfro" {
        let mfra = be32(tail, end - 4)? as usize;
        end = end.checked_sub(mfra)?;
        if tail.get(end + 4..end + 8)? != b"mfra" {
            return None;
        }
    }
    let body_end = tail_at + end as u64;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut tracks = std::collections::BTreeSet::new();
    while tracks.len() < head.tracks.len() {
        let at = fragment_before(head, tail, end)?;
        let moof_len = be32(tail, at)? as usize;
        let moof = tail[at..at + moof_len].to_vec();
        let fragment = head.fragment(&moof).ok()?;
        tracks.extend(fragment.spans.keys().copied());
        found.push(moof);
        end = at;
    }
    found.reverse();
    Some((found, body_end))
}

/// Where in `tail` the last fragment whose `mdat` ends at `end` starts.
fn fragment_before(head: &Part, tail: &[u8], end: usize) -> Option<usize> {
    (0..end.saturating_sub(16)).rev().find(|&at| {
        if tail.get(at + 4..at + 8) != Some(b"moof") {
            return false;
        }
        let Some(moof_len) = be32(tail, at).map(|n| n as usize).filter(|n| *n >= 16) else {
            return false;
        };
        let mdat = at + moof_len;
        if tail.get(mdat + 4..mdat + 8) != Some(b"mdat") {
            return false;
        }
        let mdat_len = match be32(tail, mdat) {
            Some(1) => be64(tail, mdat + 8).and_then(|n| usize::try_from(n).ok()),
            Some(n) => Some(n as usize),
            None => None,
        };
        mdat_len.and_then(|n| mdat.checked_add(n)) == Some(end)
            && head.fragment(&tail[at..mdat]).is_ok()
    })
}
