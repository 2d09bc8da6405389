//! Joining fragmented MP4 parts (as mp4mux writes them: `ftyp`, `moov` with `mvex`, then
//! `moof`+`mdat` pairs, maybe an `mfra` at the end) into one fragmented MP4, as their bytes
//! stream in ([`Walker`] then [`Joiner`]): memory for one `moof`, whatever the parts' lengths.
//! Pure: bytes in, patched bytes out.
//!
//! The joined file is part 0's `ftyp`+`moov`, then every part's fragments. Later parts' own
//! `ftyp`/`moov` and every `mfra` (its offsets would point into the wrong file) are dropped, and
//! their `moof`s are patched in place, so no box changes size and the `trun` data offsets
//! (relative to their `moof`: mp4mux sets no base data offset) stay right:
//! - `mfhd.sequence_number` continues the previous part's numbering;
//! - `tfdt.baseMediaDecodeTime` moves each track by where its part starts on the joined
//!   timeline: where the previous parts end (the latest of their tracks' ends), or later when
//!   the part is to start later ([`Joiner::part`]: a continuation's own part starts at its
//!   video time, so the gap while no recorder ran is a jump in time). A part's start is the
//!   earliest decode time in its first `moof` (mp4mux writes fragments in time order, so no
//!   later one starts earlier).
//!
//! Part 0's `mehd` (the fragmented movie's duration, which players show) is set to the joined
//! duration once every part has streamed by ([`Joiner::set_duration`] on the output's first
//! bytes). Parts whose tracks are not described alike (codec configuration, size, timescale,
//! track ids) are refused: one `moov` must describe every fragment.
mod parse;
mod stsd;
mod tail;
mod walk;

use std::collections::BTreeMap;

pub use parse::{Part, parse};
use parse::{be32, be64};
pub use tail::last_fragments;
pub use walk::{Item, Walker};

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
/// What to add to one part's sequence numbers and decode times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shift {
    pub sequence: u32,
    /// Added to each track's decode times (by track id).
    pub ticks: BTreeMap<u32, u64>,
}

/// Patches `b` (the bytes `part` was parsed from: a whole part, or one `moof` with
/// [`Part::fragment`]) in place by `shift`.
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

/// The part being joined.
#[derive(Default)]
struct Current {
    name: String,
    /// Its `moov`, parsed.
    head: Option<Part>,
    /// Set at its first fragment.
    shift: Option<Shift>,
    /// The earliest it may start on the joined timeline (µs).
    not_before_micros: Option<u64>,
    last_sequence: u32,
}

/// Joins parts one after another from the [`Item`]s of their [`Walker`]s: what the joined
/// file holds goes to `emit` in order (part 0's head, then every part's fragments).
#[derive(Default)]
pub struct Joiner {
    /// Part 0's `moov`: it describes every part's tracks.
    first: Option<Part>,
    /// Where `mehd.fragment_duration` is in the output, and whether it is 64-bit.
    mehd: Option<(usize, bool)>,
    /// Bytes emitted so far.
    emitted: u64,
    /// Where the parts so far end (the latest of their tracks' ends).
    end: Option<Time>,
    /// The sequence numbers the parts before the current one took.
    sequence: u32,
    current: Current,
}

impl Joiner {
    /// Starts the next part, called `name` in messages; it starts no earlier than `not_before`
    /// seconds on the joined timeline when given (ignored for the first part).
    pub fn part(&mut self, name: &str, not_before: Option<f64>) {
        self.sequence = self.sequence.saturating_add(self.current.last_sequence);
        self.current = Current {
            name: name.to_string(),
            not_before_micros: not_before.map(|s| (s.max(0.0) * 1e6).round() as u64),
            ..Current::default()
        };
    }

    /// Takes in the current part's next item.
    pub fn take(&mut self, item: Item<'_>, emit: &mut impl FnMut(&[u8])) -> Result<(), JoinError> {
        match item {
            Item::Head { kind, bytes } => {
                let part0 = self.first.is_none();
                if &kind == b"moov" {
                    let head = parse(bytes, &self.current.name)?;
                    if let Some(first) = &self.first {
                        if let Some(what) = mismatch(first, &head) {
                            return Err(JoinError::Mismatch {
                                part: head.name.clone(),
                                first: first.name.clone(),
                                what,
                            });
                        }
                    } else {
                        let at = usize::try_from(self.emitted).expect("a head in memory");
                        self.mehd = head.mehd.map(|(m, wide)| (at + m, wide));
                        self.first = Some(head.clone());
                    }
                    self.current.head = Some(head);
                }
                if part0 {
                    self.emit(bytes, emit);
                }
            }
            Item::Fragment { moof, mdat_header } => {
                let Some(head) = &self.current.head else {
                    return Err(JoinError::Malformed {
                        part: self.current.name.clone(),
                        detail: "a moof before any moov".into(),
                    });
                };
                let fragment = head.fragment(moof)?;
                let shift = match &self.current.shift {
                    Some(shift) => shift.clone(),
                    None => self.shift(head, &fragment),
                };
                patch(moof, &fragment, &shift)?;
                for (id, (_, track_end)) in &fragment.spans {
                    let moved = Time {
                        ticks: track_end + shift.ticks.get(id).copied().unwrap_or(0),
                        timescale: head.tracks.get(id).map_or(1, |t| t.timescale),
                    };
                    self.end = Some(self.end.map_or(moved, |e| e.later(moved)));
                }
                self.current.last_sequence = self.current.last_sequence.max(fragment.last_sequence);
                self.current.shift = Some(shift);
                self.emit(moof, emit);
                self.emit(mdat_header, emit);
            }
            Item::Media(bytes) => self.emit(bytes, emit),
        }
        Ok(())
    }

    fn emit(&mut self, bytes: &[u8], emit: &mut impl FnMut(&[u8])) {
        self.emitted += bytes.len() as u64;
        emit(bytes);
    }

    /// How the current part, whose first fragment is `first`, moves: from its start to where
    /// the parts before it end, or to where it is to start if that is later.
    fn shift(&self, head: &Part, first: &Part) -> Shift {
        let timescale = |id: &u32| head.tracks.get(id).map_or(1, |t| t.timescale);
        let start = first
            .spans
            .iter()
            .map(|(id, (s, _))| Time {
                ticks: *s,
                timescale: timescale(id),
            })
            .reduce(|a, b| if a.later(b) == a { b } else { a });
        let previous = match (self.end, self.current.not_before_micros) {
            (Some(end), Some(micros)) => Some(end.later(Time {
                ticks: micros,
                timescale: 1_000_000,
            })),
            (end, _) => end,
        };
        let ticks = head
            .tracks
            .keys()
            .map(|id| {
                let ts = timescale(id);
                let add = match (previous, start) {
                    (Some(previous), Some(start)) => previous.on(ts).saturating_sub(start.on(ts)),
                    _ => 0,
                };
                (*id, add)
            })
            .collect();
        Shift {
            sequence: self.sequence,
            ticks,
        }
    }

    /// The current part's parsed `moov`, once read.
    pub fn head(&self) -> Option<&Part> {
        self.current.head.as_ref()
    }

    /// The joined duration so far, in part 0's movie ticks.
    pub fn duration(&self) -> u64 {
        let timescale = self.first.as_ref().map_or(1, |f| f.movie_timescale);
        self.end.map_or(0, |e| e.on(timescale))
    }

    /// The joined duration so far in seconds, for reports.
    pub fn seconds(&self) -> f64 {
        let timescale = self.first.as_ref().map_or(1, |f| f.movie_timescale);
        self.duration() as f64 / f64::from(timescale.max(1))
    }

    /// How many bytes at the start of the output must be held back for [`Self::set_duration`].
    pub fn head_len(&self) -> usize {
        self.mehd
            .map_or(0, |(at, wide)| at + if wide { 8 } else { 4 })
    }

    /// Sets part 0's `mehd` in `start` (the output's first bytes, at least [`Self::head_len`])
    /// to the joined duration.
    pub fn set_duration(&self, start: &mut [u8]) {
        let duration = self.duration();
        match self.mehd {
            Some((at, true)) => start[at..at + 8].copy_from_slice(&duration.to_be_bytes()),
            Some((at, false)) => {
                let d = u32::try_from(duration).unwrap_or(u32::MAX);
                start[at..at + 4].copy_from_slice(&d.to_be_bytes());
            }
            None => {}
        }
    }
}

/// How much media one part holds, read from its [`Item`]s as they stream by: per track, from
/// its first decode time to the end of its last sample.
#[derive(Default)]
pub struct MediaSpan {
    head: Option<Part>,
    spans: BTreeMap<u32, (u64, u64)>,
}

impl MediaSpan {
    pub fn take(&mut self, item: Item<'_>, name: &str) -> Result<(), JoinError> {
        match item {
            Item::Head { kind, bytes } if &kind == b"moov" => self.head = Some(parse(bytes, name)?),
            Item::Fragment { moof, .. } => {
                let Some(head) = &self.head else {
                    return Err(JoinError::Malformed {
                        part: name.to_string(),
                        detail: "a moof before any moov".into(),
                    });
                };
                for (id, (start, end)) in head.fragment(moof)?.spans {
                    let span = self.spans.entry(id).or_insert((start, end));
                    span.0 = span.0.min(start);
                    span.1 = span.1.max(end);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Its parsed `moov`, once read.
    pub fn head(&self) -> Option<&Part> {
        self.head.as_ref()
    }

    /// Whether a fragment of every track has been seen (so where each starts is known).
    pub fn started(&self) -> bool {
        self.head
            .as_ref()
            .is_some_and(|h| h.tracks.keys().all(|id| self.spans.contains_key(id)))
    }

    /// The seconds of its longest track (0 without fragments).
    pub fn secs(&self) -> f64 {
        let Some(head) = &self.head else {
            return 0.0;
        };
        self.spans
            .iter()
            .map(|(id, (start, end))| {
                let timescale = head.tracks.get(id).map_or(1, |t| t.timescale).max(1);
                (end - start) as f64 / f64::from(timescale)
            })
            .fold(0.0, f64::max)
    }
}

/// Joins whole parts held in memory, read `read` bytes at a time (`join` takes the same steps
/// with S3 objects). Returns the joined bytes and the walkers' peak holding.
#[cfg(test)]
fn join_in_memory(
    parts: &[(&[u8], Option<f64>)],
    read: usize,
) -> Result<(Vec<u8>, Joiner, usize), JoinError> {
    let mut joiner = Joiner::default();
    let mut out = Vec::new();
    let mut peak = 0;
    for (i, (bytes, not_before)) in parts.iter().enumerate() {
        let name = format!("part {i}");
        joiner.part(&name, *not_before);
        let mut walker = Walker::new(&name, bytes.len() as u64);
        for piece in bytes.chunks(read) {
            walker.feed(piece, &mut |item| {
                joiner.take(item, &mut |b: &[u8]| out.extend_from_slice(b))
            })?;
        }
        peak = peak.max(walker.peak());
    }
    let head = joiner.head_len();
    joiner.set_duration(&mut out[..head]);
    Ok((out, joiner, peak))
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

    /// The decode times in `b`'s fragments, by track, in order.
    fn decode_times(b: &[u8]) -> BTreeMap<u32, Vec<u64>> {
        let part = parse(b, "joined").expect("the joined file parses");
        let mut times: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
        for t in &part.tfdts {
            let v = if t.wide {
                be64(b, t.at).expect("tfdt")
            } else {
                u64::from(be32(b, t.at).expect("tfdt"))
            };
            times.entry(t.track).or_default().push(v);
        }
        times
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

        // Read 7 bytes at a time, every box is split across reads; the result is the same.
        let (joined, joiner, peak) = join_in_memory(&[(&a, None), (&b, None)], 7).expect("join");
        let (whole, ..) = join_in_memory(&[(&a, None), (&b, None)], usize::MAX).expect("join");
        assert!(joined == whole, "the join depends on how the bytes arrive");
        assert!((joiner.seconds() - 5.0).abs() < 0.1, "{}", joiner.seconds());
        // What a walk holds at once is one moof and the mdat header after it.
        let largest_moof = [&a, &b]
            .iter()
            .flat_map(|p| parse::boxes(p, 0..p.len()))
            .filter(|(k, ..)| k == b"moof")
            .map(|(_, r, _)| r.len())
            .max()
            .expect("moofs");
        assert!(
            peak.max(pa.head_len()) <= largest_moof.max(pa.head_len()) + 16,
            "held {peak} bytes; the largest moof is {largest_moof}"
        );

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
        for (track, times) in decode_times(&joined) {
            assert!(
                times.windows(2).all(|w| w[0] < w[1]),
                "track {track} goes back: {times:?}"
            );
        }
        // Part 1 starts where part 0's longest track ends, on every track's clock.
        let part1_video =
            decode_times(&joined)[&1][pa.tfdts.iter().filter(|t| t.track == 1).count()];
        assert!(
            part1_video >= pa.spans[&1].1,
            "{part1_video} {:?}",
            pa.spans
        );

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
        let (joined, joiner, _) =
            join_in_memory(&[(&a, None), (&b, Some(3.5))], 1000).expect("join");
        assert!(
            (joiner.seconds() - 5.5).abs() < 0.05,
            "{}",
            joiner.seconds()
        );
        let video = pa.tracks[&1].timescale;
        let part1 = pa.tfdts.iter().filter(|t| t.track == 1).count();
        assert_eq!(
            decode_times(&joined)[&1][part1],
            (3.5 * f64::from(video)) as u64
        );
        // Not earlier than where part 0 ends, whatever it says.
        let (_, early, _) = join_in_memory(&[(&a, None), (&b, Some(1.0))], 1000).expect("join");
        assert!((early.seconds() - 4.0).abs() < 0.1, "{}", early.seconds());

        let out = dir.path().join("jump.mp4");
        std::fs::write(&out, &joined).expect("write");
        let errors = decode_errors(&out);
        assert!(errors.is_empty(), "{errors}");
        let d = duration_secs(&out);
        assert!((d - 5.5).abs() < 0.2, "{d}");
    }

    #[test]
    fn a_part_cut_inside_a_fragment_or_ending_in_mfra_gives_its_whole_fragments_only() {
        let dir = TempDir::new("fmp4-cut");
        let Some(a) = mp4mux(dir.path(), "a.mp4", "smpte", (320, 180), 2) else {
            return;
        };
        let pa = parse(&a, "a").expect("part 0");
        let top = parse::boxes(&a, 0..a.len());
        assert!(
            top.iter().any(|(k, ..)| k == b"mfra"),
            "mp4mux ends with an mfra"
        );
        let last_mdat = top.iter().rposition(|(k, ..)| k == b"mdat").expect("mdat");
        let cut_at = top[last_mdat].1.start + 100;
        for (bytes, end) in [
            (&a[..], pa.body().end),
            (&a[..cut_at], top[last_mdat - 1].1.start),
        ] {
            for read in [5, 4096] {
                let mut walker = Walker::new("a", bytes.len() as u64);
                let mut out = 0usize;
                for piece in bytes.chunks(read) {
                    walker
                        .feed(piece, &mut |item| -> Result<(), JoinError> {
                            out += match item {
                                Item::Head { bytes, .. } => bytes.len(),
                                Item::Fragment { moof, mdat_header } => {
                                    moof.len() + mdat_header.len()
                                }
                                Item::Media(b) => b.len(),
                            };
                            Ok(())
                        })
                        .expect("walk");
                }
                assert_eq!(walker.end(), end as u64, "read {read}");
                assert_eq!(out, end, "read {read}");
            }
        }
    }

    #[test]
    fn a_parts_media_span_is_its_longest_tracks_seconds_whatever_the_reads() {
        let dir = TempDir::new("fmp4-span");
        let Some(a) = mp4mux(dir.path(), "a.mp4", "smpte", (320, 180), 3) else {
            return;
        };
        for read in [3, 1 << 20] {
            let mut span = MediaSpan::default();
            let mut walker = Walker::new("a", a.len() as u64);
            for piece in a.chunks(read) {
                walker
                    .feed(piece, &mut |item| span.take(item, "a"))
                    .expect("walk");
            }
            assert!((span.secs() - 3.0).abs() < 0.05, "{}", span.secs());
        }
    }

    #[test]
    fn a_parts_last_fragments_are_found_in_its_last_bytes() {
        let dir = TempDir::new("fmp4-tail");
        let Some(a) = mp4mux(dir.path(), "a.mp4", "smpte", (320, 180), 3) else {
            return;
        };
        let pa = parse(&a, "a").expect("part 0");
        let top = parse::boxes(&a, 0..a.len());
        let moofs: Vec<_> = top.iter().filter(|(k, ..)| k == b"moof").collect();
        let body_end = pa.body().end;
        // With its mfra (mp4mux writes one) and without (a part recovered after a kill).
        for bytes in [&a[..], &a[..body_end]] {
            let len = bytes.len() as u64;
            let tail = &bytes[bytes.len() / 2..];
            let (found, end) = last_fragments(&pa, tail, len).expect("the last fragments");
            assert_eq!(end, body_end as u64);
            let last = moofs.last().expect("moofs").1.clone();
            assert_eq!(found.last().expect("one"), &a[last]);
            // Both tracks' ends are in them: they end the part as a whole walk says.
            let mut span = MediaSpan {
                head: Some(pa.clone()),
                ..Default::default()
            };
            let mut whole = MediaSpan::default();
            let mut walker = Walker::new("a", len);
            walker
                .feed(bytes, &mut |item| whole.take(item, "a"))
                .expect("walk");
            for mut moof in found {
                span.take(
                    Item::Fragment {
                        moof: &mut moof,
                        mdat_header: &[],
                    },
                    "a",
                )
                .expect("fragment");
            }
            let ends = |s: &MediaSpan| s.spans.values().map(|(_, e)| *e).collect::<Vec<_>>();
            assert_eq!(ends(&span), ends(&whole));
        }
        // Too few bytes to reach a fragment of every track.
        assert_eq!(
            last_fragments(&pa, &a[a.len() - 100..], a.len() as u64),
            None
        );
    }

    #[test]
    fn parts_of_another_size_are_refused_and_named() {
        let dir = TempDir::new("fmp4-mismatch");
        let Some(a) = mp4mux(dir.path(), "a.mp4", "smpte", (320, 180), 1) else {
            return;
        };
        let b = mp4mux(dir.path(), "b.mp4", "smpte", (640, 360), 1).expect("second part");
        let err = join_in_memory(&[(&a, None), (&b, None)], 4096)
            .map(|_| ())
            .expect_err("different sizes");
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
