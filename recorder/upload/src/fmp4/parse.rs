//! Reading the boxes of a fragmented MP4 part: its tracks' descriptions, and where its
//! fragments' sequence numbers and decode times are, for [`super::patch`]. Pure.

use std::collections::BTreeMap;
use std::ops::Range;

use super::JoinError;
use super::stsd::without_bitrates;

/// What must match between parts for one `moov` to describe them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TrackDescription {
    pub(super) handler: [u8; 4],
    pub(super) timescale: u32,
    /// `tkhd` width and height (16.16 fixed point).
    pub(super) size: (u32, u32),
    /// The whole `stsd` box: codec, its configuration (avcC/esds), sample size and rate.
    pub(super) stsd: Vec<u8>,
}

/// A `tfdt` to patch: where its value is and how wide.
#[derive(Clone, Debug)]
pub(super) struct Tfdt {
    pub(super) at: usize,
    pub(super) wide: bool,
    pub(super) track: u32,
}

/// One part, parsed.
#[derive(Clone, Debug)]
pub struct Part {
    /// What messages call it (its S3 key).
    pub(super) name: String,
    pub(super) tracks: BTreeMap<u32, TrackDescription>,
    /// `trex` default sample durations by track.
    pub(super) default_durations: BTreeMap<u32, u32>,
    pub(super) movie_timescale: u32,
    /// Offset and width of `mehd.fragment_duration`, when there is one.
    pub(super) mehd: Option<(usize, bool)>,
    /// From the first `moof` to the end of the last complete `mdat`.
    pub(super) body: Range<usize>,
    /// Offsets of every `mfhd.sequence_number`.
    pub(super) sequence_numbers: Vec<usize>,
    pub(super) last_sequence: u32,
    pub(super) tfdts: Vec<Tfdt>,
    /// Per track: (first decode time, end of its last sample).
    pub(super) spans: BTreeMap<u32, (u64, u64)>,
}

impl Part {
    /// Bytes of the part's fragments.
    #[cfg(test)]
    pub fn body(&self) -> Range<usize> {
        self.body.clone()
    }

    /// Bytes before the first fragment (`ftyp` and `moov`): part 0's stay in the joined file.
    #[cfg(test)]
    pub fn head_len(&self) -> usize {
        self.body.start
    }

    /// The fragment `moof` (a whole box) of the part whose head (`ftyp`+`moov`) this is parsed
    /// from: where its sequence number and decode times are in `moof`, and its tracks' spans.
    pub(super) fn fragment(&self, moof: &[u8]) -> Result<Part, JoinError> {
        let mut fragment = Part {
            name: self.name.clone(),
            tracks: BTreeMap::new(),
            default_durations: self.default_durations.clone(),
            movie_timescale: self.movie_timescale,
            mehd: None,
            body: 0..moof.len(),
            sequence_numbers: Vec::new(),
            last_sequence: 0,
            tfdts: Vec::new(),
            spans: BTreeMap::new(),
        };
        let header = if be32(moof, 0) == Some(1) { 16 } else { 8 };
        parse_moof(moof, &(header..moof.len()), &mut fragment).ok_or_else(|| {
            JoinError::Malformed {
                part: self.name.clone(),
                detail: "a moof this reader does not know".into(),
            }
        })?;
        Ok(fragment)
    }
}

pub(super) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

pub(super) fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The boxes in `b[range]`: (type, whole box, payload). Stops at a box that does not fit
/// (a part cut while it grew ends there).
pub(super) fn boxes(b: &[u8], range: Range<usize>) -> Vec<([u8; 4], Range<usize>, Range<usize>)> {
    let mut out = Vec::new();
    let mut at = range.start;
    while at + 8 <= range.end {
        let (Some(size32), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) else {
            break;
        };
        let kind: [u8; 4] = kind.try_into().expect("4 bytes");
        let (size, header) = match size32 {
            1 => match be64(b, at + 8) {
                Some(s) => (s, 16),
                None => break,
            },
            0 => ((range.end - at) as u64, 8),
            n => (u64::from(n), 8),
        };
        let Some(end) = usize::try_from(size).ok().and_then(|s| at.checked_add(s)) else {
            break;
        };
        if size < header as u64 || end > range.end {
            break;
        }
        out.push((kind, at..end, at + header..end));
        at = end;
    }
    out
}

fn child(
    b: &[u8],
    within: &Range<usize>,
    kind: &[u8; 4],
) -> Option<([u8; 4], Range<usize>, Range<usize>)> {
    boxes(b, within.clone())
        .into_iter()
        .find(|(k, ..)| k == kind)
}

/// Parses the part called `name` (in messages) of a join.
pub fn parse(b: &[u8], name: &str) -> Result<Part, JoinError> {
    let bad = |detail: &str| JoinError::Malformed {
        part: name.to_string(),
        detail: detail.to_string(),
    };
    let top = boxes(b, 0..b.len());
    let (_, _, moov) = top
        .iter()
        .find(|(k, ..)| k == b"moov")
        .cloned()
        .ok_or_else(|| bad("no moov box"))?;
    let mut part = Part {
        name: name.to_string(),
        tracks: BTreeMap::new(),
        default_durations: BTreeMap::new(),
        movie_timescale: 0,
        mehd: None,
        body: 0..0,
        sequence_numbers: Vec::new(),
        last_sequence: 0,
        tfdts: Vec::new(),
        spans: BTreeMap::new(),
    };
    parse_moov(b, &moov, &mut part).ok_or_else(|| bad("a moov box this reader does not know"))?;
    let first_moof = top.iter().position(|(k, ..)| k == b"moof");
    let Some(first) = first_moof else {
        part.body = b.len()..b.len();
        return Ok(part);
    };
    let mut end = top[first].1.start;
    for pair in top[first..].chunks(2) {
        match pair {
            [(m, _, moof), (d, mdat, _)] if m == b"moof" && d == b"mdat" => {
                parse_moof(b, moof, &mut part)
                    .ok_or_else(|| bad(&format!("the moof at byte {}", moof.start - 8)))?;
                end = mdat.end;
            }
            _ => break,
        }
    }
    part.body = top[first].1.start..end;
    Ok(part)
}

fn parse_moov(b: &[u8], moov: &Range<usize>, part: &mut Part) -> Option<()> {
    let (_, _, mvhd) = child(b, moov, b"mvhd")?;
    part.movie_timescale = be32(b, mvhd.start + if b[mvhd.start] == 1 { 20 } else { 12 })?;
    for (kind, _, trak) in boxes(b, moov.clone()) {
        if &kind != b"trak" {
            continue;
        }
        let (_, _, tkhd) = child(b, &trak, b"tkhd")?;
        let v1 = b[tkhd.start] == 1;
        let track = be32(b, tkhd.start + if v1 { 20 } else { 12 })?;
        let size_at = tkhd.start + if v1 { 88 } else { 76 };
        let size = (be32(b, size_at)?, be32(b, size_at + 4)?);
        let (_, _, mdia) = child(b, &trak, b"mdia")?;
        let (_, _, mdhd) = child(b, &mdia, b"mdhd")?;
        let timescale = be32(b, mdhd.start + if b[mdhd.start] == 1 { 20 } else { 12 })?;
        let (_, _, hdlr) = child(b, &mdia, b"hdlr")?;
        let handler: [u8; 4] = b.get(hdlr.start + 8..hdlr.start + 12)?.try_into().ok()?;
        let (_, _, minf) = child(b, &mdia, b"minf")?;
        let (_, _, stbl) = child(b, &minf, b"stbl")?;
        let (_, stsd, _) = child(b, &stbl, b"stsd")?;
        part.tracks.insert(
            track,
            TrackDescription {
                handler,
                timescale,
                size,
                stsd: without_bitrates(&b[stsd], &handler),
            },
        );
    }
    let (_, _, mvex) = child(b, moov, b"mvex")?;
    for (kind, _, payload) in boxes(b, mvex) {
        match &kind {
            b"mehd" => part.mehd = Some((payload.start + 4, b[payload.start] == 1)),
            b"trex" => {
                let track = be32(b, payload.start + 4)?;
                part.default_durations
                    .insert(track, be32(b, payload.start + 12)?);
            }
            _ => {}
        }
    }
    Some(())
}

fn parse_moof(b: &[u8], moof: &Range<usize>, part: &mut Part) -> Option<()> {
    let (_, _, mfhd) = child(b, moof, b"mfhd")?;
    part.sequence_numbers.push(mfhd.start + 4);
    part.last_sequence = part.last_sequence.max(be32(b, mfhd.start + 4)?);
    for (kind, _, traf) in boxes(b, moof.clone()) {
        if &kind != b"traf" {
            continue;
        }
        let (_, _, tfhd) = child(b, &traf, b"tfhd")?;
        let flags = be32(b, tfhd.start)? & 0x00ff_ffff;
        let track = be32(b, tfhd.start + 4)?;
        let mut at = tfhd.start + 8;
        if flags & 0x01 != 0 {
            at += 8; // base data offset
        }
        if flags & 0x02 != 0 {
            at += 4; // sample description index
        }
        let default_duration = if flags & 0x08 != 0 {
            be32(b, at)?
        } else {
            *part.default_durations.get(&track).unwrap_or(&0)
        };
        let (_, _, tfdt) = child(b, &traf, b"tfdt")?;
        let wide = b[tfdt.start] == 1;
        let start = if wide {
            be64(b, tfdt.start + 4)?
        } else {
            u64::from(be32(b, tfdt.start + 4)?)
        };
        part.tfdts.push(Tfdt {
            at: tfdt.start + 4,
            wide,
            track,
        });
        let mut duration = 0u64;
        for (kind, _, trun) in boxes(b, traf.clone()) {
            if &kind == b"trun" {
                duration += trun_duration(b, &trun, default_duration)?;
            }
        }
        let span = part.spans.entry(track).or_insert((start, start));
        span.0 = span.0.min(start);
        span.1 = span.1.max(start + duration);
    }
    Some(())
}

/// The summed sample durations of a `trun`.
fn trun_duration(b: &[u8], trun: &Range<usize>, default: u32) -> Option<u64> {
    let flags = be32(b, trun.start)? & 0x00ff_ffff;
    let count = be32(b, trun.start + 4)?;
    let mut at = trun.start + 8;
    if flags & 0x001 != 0 {
        at += 4; // data offset
    }
    if flags & 0x004 != 0 {
        at += 4; // first sample flags
    }
    if flags & 0x100 == 0 {
        return Some(u64::from(count) * u64::from(default));
    }
    let stride = 4 * [0x100, 0x200, 0x400, 0x800]
        .iter()
        .filter(|f| flags & **f != 0)
        .count();
    (0..count as usize)
        .map(|i| be32(b, at + i * stride).map(u64::from))
        .sum()
}
