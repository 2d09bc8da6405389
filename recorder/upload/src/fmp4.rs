//! Joining fragmented MP4 parts (as mp4mux writes them: `ftyp`, `moov` with `mvex`, then
//! `moof`+`mdat` pairs, maybe an `mfra` at the end) into one fragmented MP4. Pure: bytes in,
//! patched bytes out.
//!
//! The joined file is part 0's `ftyp`+`moov`, then every part's fragments. Later parts' own
//! `ftyp`/`moov` and every `mfra` (its offsets would point into the wrong file) are dropped, and
//! their `moof`s are patched in place, so no box changes size and the `trun` data offsets
//! (relative to their `moof`: mp4mux sets no base data offset) stay right:
//! - `mfhd.sequence_number` continues the previous part's numbering;
//! - `tfdt.baseMediaDecodeTime` moves each track by where its part starts on the joined
//!   timeline: right where the previous parts end (the latest of their tracks' ends), so the
//!   gap while no recorder ran is skipped, as the HLS playlist skips it.
//!
//! Part 0's `mehd` (the fragmented movie's duration, which players show) is set to the joined
//! duration. Parts whose tracks are not described alike (codec configuration, size, timescale,
//! track ids) are refused: one `moov` must describe every fragment.

use std::collections::BTreeMap;
use std::ops::Range;

/// Why parts cannot be joined.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinError {
    #[error("{part} is not a fragmented MP4 as the recorder writes them: {detail}")]
    Malformed { part: String, detail: String },
    #[error("{part} does not record what {first} does ({what}); one file cannot hold both")]
    Mismatch {
        part: String,
        first: String,
        what: String,
    },
    #[error("{part}: track {track}'s decode time {time} does not fit the 32-bit tfdt it has")]
    Overflow { part: String, track: u32, time: u64 },
}

/// A time on a track's clock: `ticks` of `1/timescale` s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Time {
    ticks: u64,
    timescale: u32,
}

impl Time {
    /// `self` on a clock of `timescale`, rounded up (a track never starts before the end).
    fn on(self, timescale: u32) -> u64 {
        let num = u128::from(self.ticks) * u128::from(timescale);
        num.div_ceil(u128::from(self.timescale.max(1))) as u64
    }

    fn later(self, other: Time) -> Time {
        let a = u128::from(self.ticks) * u128::from(other.timescale);
        let b = u128::from(other.ticks) * u128::from(self.timescale);
        if b > a { other } else { self }
    }
}

/// What must match between parts for one `moov` to describe them all.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TrackDescription {
    handler: [u8; 4],
    timescale: u32,
    /// `tkhd` width and height (16.16 fixed point).
    size: (u32, u32),
    /// The whole `stsd` box: codec, its configuration (avcC/esds), sample size and rate.
    stsd: Vec<u8>,
}

/// A `tfdt` to patch: where its value is and how wide.
#[derive(Clone, Debug)]
struct Tfdt {
    at: usize,
    wide: bool,
    track: u32,
}

/// One part, parsed.
#[derive(Clone, Debug)]
pub struct Part {
    /// What messages call it (its S3 key).
    name: String,
    tracks: BTreeMap<u32, TrackDescription>,
    /// `trex` default sample durations by track.
    default_durations: BTreeMap<u32, u32>,
    movie_timescale: u32,
    /// Offset and width of `mehd.fragment_duration`, when there is one.
    mehd: Option<(usize, bool)>,
    /// From the first `moof` to the end of the last complete `mdat`.
    body: Range<usize>,
    /// Offsets of every `mfhd.sequence_number`.
    sequence_numbers: Vec<usize>,
    last_sequence: u32,
    tfdts: Vec<Tfdt>,
    /// Per track: (first decode time, end of its last sample).
    spans: BTreeMap<u32, (u64, u64)>,
}

impl Part {
    /// Bytes of the part's fragments.
    pub fn body(&self) -> Range<usize> {
        self.body.clone()
    }

    /// Bytes before the first fragment (`ftyp` and `moov`): part 0's stay in the joined file.
    pub fn head_len(&self) -> usize {
        self.body.start
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The boxes in `b[range]`: (type, whole box, payload). Stops at a box that does not fit
/// (a part cut while it grew ends there).
fn boxes(b: &[u8], range: Range<usize>) -> Vec<([u8; 4], Range<usize>, Range<usize>)> {
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

/// The `stsd` box with the bitrates the muxer measured zeroed (`btrt`, and the buffer size and
/// bitrates of an `esds` decoder configuration): mp4mux writes them when it ends a file, so
/// parts recorded alike differ there, and players do not rely on them.
fn without_bitrates(stsd: &[u8], handler: &[u8; 4]) -> Vec<u8> {
    let mut out = stsd.to_vec();
    // Sample entry fields before the child boxes: visual 78 bytes, audio 28 (ISO 14496-12).
    let fields = match handler {
        b"vide" => 78,
        b"soun" => 28,
        _ => return out,
    };
    for (_, _, entry) in boxes(stsd, 16.min(stsd.len())..stsd.len()) {
        let children = (entry.start + fields).min(entry.end)..entry.end;
        for (kind, _, payload) in boxes(stsd, children) {
            match &kind {
                b"btrt" => out[payload].fill(0),
                b"esds" => {
                    if let Some(at) = decoder_config_bitrates(stsd, payload) {
                        out[at..at + 11].fill(0);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Where an `esds`'s DecoderConfigDescriptor keeps bufferSizeDB, maxBitrate and avgBitrate
/// (11 bytes), found by walking its descriptors (ISO 14496-1).
fn decoder_config_bitrates(b: &[u8], esds: Range<usize>) -> Option<usize> {
    // A descriptor: tag, then a length of 1 to 4 bytes, 7 bits each.
    let header = |mut at: usize| -> Option<(u8, usize)> {
        let tag = *b.get(at)?;
        at += 1;
        for _ in 0..4 {
            let byte = *b.get(at)?;
            at += 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
        Some((tag, at))
    };
    let (tag, mut at) = header(esds.start + 4)?;
    if tag != 0x03 {
        return None;
    }
    let flags = *b.get(at + 2)?;
    at += 3;
    if flags & 0x80 != 0 {
        at += 2; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        at += 1 + usize::from(*b.get(at)?); // URL
    }
    if flags & 0x20 != 0 {
        at += 2; // OCR_ES_Id
    }
    let (tag, at) = header(at)?;
    (tag == 0x04 && at + 13 <= esds.end).then_some(at + 2)
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

/// What differs between `part`'s tracks and the first part's (`first`), if anything.
fn mismatch(first: &Part, part: &Part) -> Option<String> {
    let ids = |p: &Part| p.tracks.keys().copied().collect::<Vec<_>>();
    if ids(first) != ids(part) {
        return Some(format!(
            "track ids {:?} where it has {:?}",
            ids(part),
            ids(first)
        ));
    }
    for (id, a) in &first.tracks {
        let b = &part.tracks[id];
        let kind = String::from_utf8_lossy(&a.handler).into_owned();
        if a.handler != b.handler {
            return Some(format!("track {id} is not {kind} as it is there"));
        }
        if a.timescale != b.timescale {
            return Some(format!(
                "{kind} track {id} timescale {} where it has {}",
                b.timescale, a.timescale
            ));
        }
        if a.size != b.size {
            return Some(format!(
                "{kind} track {id} size {}x{} where it has {}x{}",
                b.size.0 >> 16,
                b.size.1 >> 16,
                a.size.0 >> 16,
                a.size.1 >> 16
            ));
        }
        if a.stsd != b.stsd {
            return Some(format!(
                "{kind} track {id} sample description (codec or its configuration) differs"
            ));
        }
    }
    None
}

/// The plan for one part's patch: what to add to its sequence numbers and decode times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shift {
    pub sequence: u32,
    /// Added to each track's decode times (by track id).
    pub ticks: BTreeMap<u32, u64>,
}

/// Checks that `parts` describe their tracks alike and works out how each part moves on the
/// joined timeline (part 0 stays where it is), and the joined duration in movie ticks.
pub fn plan(parts: &[Part]) -> Result<(Vec<Shift>, u64), JoinError> {
    let Some(first) = parts.first() else {
        return Ok((Vec::new(), 0));
    };
    let mut shifts = Vec::new();
    let mut end: Option<Time> = None;
    let mut sequence = 0u32;
    for part in parts {
        if let Some(what) = mismatch(first, part) {
            return Err(JoinError::Mismatch {
                part: part.name.clone(),
                first: first.name.clone(),
                what,
            });
        }
        let timescale = |id: &u32| part.tracks.get(id).map_or(1, |t| t.timescale);
        // The part's own start: its earliest track's first decode time.
        let start = part
            .spans
            .iter()
            .map(|(id, (s, _))| Time {
                ticks: *s,
                timescale: timescale(id),
            })
            .reduce(|a, b| if a.later(b) == a { b } else { a });
        // Where the parts before end: this part starts there.
        let previous = end;
        let mut ticks = BTreeMap::new();
        for (id, (_, track_end)) in &part.spans {
            let ts = timescale(id);
            let add = match (previous, start) {
                (Some(previous), Some(start)) => previous.on(ts).saturating_sub(start.on(ts)),
                _ => 0,
            };
            ticks.insert(*id, add);
            let moved = Time {
                ticks: track_end + add,
                timescale: ts,
            };
            end = Some(end.map_or(moved, |e| e.later(moved)));
        }
        shifts.push(Shift { sequence, ticks });
        sequence = sequence.saturating_add(part.last_sequence);
    }
    let total = end.map_or(0, |e| e.on(first.movie_timescale));
    Ok((shifts, total))
}

/// Patches `b` (the bytes `part` was parsed from) in place by `shift`.
pub fn patch(b: &mut [u8], part: &Part, shift: &Shift) -> Result<(), JoinError> {
    for &at in &part.sequence_numbers {
        let n = be32(b, at).unwrap_or(0).saturating_add(shift.sequence);
        b[at..at + 4].copy_from_slice(&n.to_be_bytes());
    }
    for t in &part.tfdts {
        let add = shift.ticks.get(&t.track).copied().unwrap_or(0);
        if t.wide {
            let v = be64(b, t.at).unwrap_or(0) + add;
            b[t.at..t.at + 8].copy_from_slice(&v.to_be_bytes());
        } else {
            let v = u64::from(be32(b, t.at).unwrap_or(0)) + add;
            let narrow = u32::try_from(v).map_err(|_| JoinError::Overflow {
                part: part.name.clone(),
                track: t.track,
                time: v,
            })?;
            b[t.at..t.at + 4].copy_from_slice(&narrow.to_be_bytes());
        }
    }
    Ok(())
}

/// Part 0's head with `mehd` set to `duration` movie ticks (the joined file's length).
pub fn head(b: &[u8], part: &Part, duration: u64) -> Vec<u8> {
    let mut head = b[..part.head_len()].to_vec();
    if let Some((at, wide)) = part.mehd {
        if wide {
            head[at..at + 8].copy_from_slice(&duration.to_be_bytes());
        } else {
            let d = u32::try_from(duration).unwrap_or(u32::MAX);
            head[at..at + 4].copy_from_slice(&d.to_be_bytes());
        }
    }
    head
}

/// The joined duration in seconds, for reports.
pub fn seconds(part0: &Part, ticks: u64) -> f64 {
    ticks as f64 / f64::from(part0.movie_timescale.max(1))
}

/// Joins whole parts held in memory (`join` takes the same steps with S3 objects).
#[cfg(test)]
fn join_in_memory(mut parts: Vec<Vec<u8>>) -> Result<Vec<u8>, JoinError> {
    let parsed: Vec<Part> = parts
        .iter()
        .enumerate()
        .map(|(i, b)| parse(b, &format!("part {i}")))
        .collect::<Result<_, _>>()?;
    let (shifts, total) = plan(&parsed)?;
    let mut out = head(&parts[0], &parsed[0], total);
    for ((bytes, part), shift) in parts.iter_mut().zip(&parsed).zip(&shifts) {
        patch(bytes, part, shift)?;
        out.extend_from_slice(&bytes[part.body()]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use vcs_test_support::{TempDir, decode_errors, duration_secs, mp4mux_file};

    use super::*;

    fn mp4mux(
        dir: &Path,
        name: &str,
        pattern: &str,
        size: (u32, u32),
        secs: u32,
    ) -> Option<Vec<u8>> {
        mp4mux_file(&dir.join(name), pattern, size, 500, secs)
    }

    #[test]
    fn parts_join_into_one_file_that_plays_end_to_end_on_one_timeline() {
        let dir = TempDir::new("fmp4-join");
        let Some(a) = mp4mux(dir.path(), "a.mp4", "smpte", (320, 180), 3) else {
            return;
        };
        let b = mp4mux(dir.path(), "b.mp4", "ball", (320, 180), 2).expect("second part");
        let pa = parse(&a, "a.mp4").expect("part 0");
        let pb = parse(&b, "b.mp4").expect("part 1");
        assert!(
            pa.mehd.is_some(),
            "mp4mux writes the movie's duration in mehd"
        );
        assert_eq!(pa.tracks.len(), 2);
        let (shifts, total) = plan(&[pa.clone(), pb.clone()]).expect("plan");
        assert_eq!(
            shifts[0].ticks.values().copied().collect::<Vec<_>>(),
            [0, 0]
        );
        assert_eq!(shifts[1].sequence, pa.last_sequence);
        // Part 1 starts where part 0's longest track ends, on every track's clock.
        let video_end = pa.spans[&1].1;
        assert!(
            shifts[1].ticks[&1] >= video_end,
            "{shifts:?} {:?}",
            pa.spans
        );
        assert!((seconds(&pa, total) - 5.0).abs() < 0.1, "{total}");

        let joined = join_in_memory(vec![a.clone(), b.clone()]).expect("join");
        // Nothing of part 1's head or either mfra is left; every fragment is.
        assert_eq!(
            joined.len(),
            pa.head_len() + pa.body().len() + pb.body().len()
        );
        let (mehd, _) = pa.mehd.expect("mehd");
        assert_eq!(joined[..mehd], a[..mehd]);
        let pj = parse(&joined, "joined").expect("the joined file parses");
        let sequences: Vec<u32> = pj
            .sequence_numbers
            .iter()
            .map(|at| be32(&joined, *at).expect("mfhd"))
            .collect();
        assert!(
            sequences.windows(2).all(|w| w[1] == w[0] + 1),
            "{sequences:?}"
        );
        let mut last = BTreeMap::new();
        for t in &pj.tfdts {
            let v = if t.wide {
                be64(&joined, t.at).expect("tfdt")
            } else {
                u64::from(be32(&joined, t.at).expect("tfdt"))
            };
            let prev = last.insert(t.track, v);
            assert!(
                prev.is_none_or(|p| p < v),
                "track {} goes back to {v}",
                t.track
            );
        }

        let out = dir.path().join("joined.mp4");
        std::fs::write(&out, &joined).expect("write");
        let errors = decode_errors(&out);
        assert!(errors.is_empty(), "{errors}");
        let d = duration_secs(&out);
        assert!(
            (d - 5.0).abs() < 0.2,
            "the joined file lasts {d:.2} s, want 5"
        );
    }

    #[test]
    fn parts_of_another_size_are_refused_and_named() {
        let dir = TempDir::new("fmp4-mismatch");
        let Some(a) = mp4mux(dir.path(), "a.mp4", "smpte", (320, 180), 1) else {
            return;
        };
        let b = mp4mux(dir.path(), "b.mp4", "smpte", (640, 360), 1).expect("second part");
        let err = join_in_memory(vec![a, b]).expect_err("different sizes");
        assert!(
            matches!(&err, JoinError::Mismatch { part, what, .. }
                if part == "part 1" && what.contains("size 640x360 where it has 320x180")),
            "{err}"
        );
    }

    #[test]
    fn a_narrow_tfdt_that_would_overflow_fails_clearly() {
        let mut b = vec![0u8; 8];
        let part = Part {
            name: "rec.part3.mp4".into(),
            tracks: BTreeMap::new(),
            default_durations: BTreeMap::new(),
            movie_timescale: 1000,
            mehd: None,
            body: 0..0,
            sequence_numbers: vec![],
            last_sequence: 0,
            tfdts: vec![Tfdt {
                at: 4,
                wide: false,
                track: 2,
            }],
            spans: BTreeMap::new(),
        };
        b[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        let shift = Shift {
            sequence: 0,
            ticks: BTreeMap::from([(2, 1)]),
        };
        let err = patch(&mut b, &part, &shift).expect_err("overflow");
        assert_eq!(
            err,
            JoinError::Overflow {
                part: "rec.part3.mp4".into(),
                track: 2,
                time: u64::from(u32::MAX) + 1
            }
        );
    }
}
