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
//!   timeline: where the previous parts end (the latest of their tracks' ends), or later when
//!   the part says it starts later ([`Part::not_before`]: a continuation's own part starts at
//!   its video time, so the gap while no recorder ran is a jump in time).
//!
//! Part 0's `mehd` (the fragmented movie's duration, which players show) is set to the joined
//! duration. Parts whose tracks are not described alike (codec configuration, size, timescale,
//! track ids) are refused: one `moov` must describe every fragment.
mod parse;
mod stsd;

use std::collections::BTreeMap;

pub use parse::{Part, parse};
use parse::{be32, be64};

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
/// joined timeline (part 0 stays where it is; each later one starts where the parts before it
/// end, or at [`Part::not_before`] if that is later), and the joined duration in movie ticks.
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
        // Where the parts before end: this part starts there, or later when it says so (the
        // gap as a jump in time).
        let previous = match (end, part.not_before_micros) {
            (Some(end), Some(micros)) => Some(end.later(Time {
                ticks: micros,
                timescale: 1_000_000,
            })),
            (end, _) => end,
        };
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

    use super::parse::Tfdt;
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
    fn a_later_part_that_starts_later_leaves_a_jump_in_time_that_plays() {
        let dir = TempDir::new("fmp4-jump");
        let Some(a) = mp4mux(dir.path(), "a.mp4", "smpte", (320, 180), 2) else {
            return;
        };
        let b = mp4mux(dir.path(), "b.mp4", "ball", (320, 180), 2).expect("second part");
        let pa = parse(&a, "a").expect("part 0");
        let mut pb = parse(&b, "b").expect("part 1");
        pb.not_before(3.5);
        let (shifts, total) = plan(&[pa.clone(), pb.clone()]).expect("plan");
        assert!((seconds(&pa, total) - 5.5).abs() < 0.05, "{total}");
        let video = pb.tracks[&1].timescale;
        assert_eq!(shifts[1].ticks[&1], (3.5 * f64::from(video)) as u64);
        // Not earlier than where part 0 ends, whatever it says.
        pb.not_before(1.0);
        let (_, total) = plan(&[pa.clone(), pb]).expect("plan");
        assert!((seconds(&pa, total) - 4.0).abs() < 0.1, "{total}");

        let mut pb = parse(&b, "b").expect("part 1");
        pb.not_before(3.5);
        let (shifts, total) = plan(&[pa.clone(), pb.clone()]).expect("plan");
        let mut joined = head(&a, &pa, total);
        joined.extend_from_slice(&a[pa.body()]);
        let mut b = b.clone();
        patch(&mut b, &pb, &shifts[1]).expect("patch");
        joined.extend_from_slice(&b[pb.body()]);
        let out = dir.path().join("jump.mp4");
        std::fs::write(&out, &joined).expect("write");
        let errors = decode_errors(&out);
        assert!(errors.is_empty(), "{errors}");
        let d = duration_secs(&out);
        assert!((d - 5.5).abs() < 0.2, "{d}");
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
            not_before_micros: None,
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
