//! Continuing an HLS playlist that a lost recorder started (issue 18): the continuation writes
//! its segments under the same prefix, numbered after the highest segment already there, and
//! publishes ONE playlist: the earlier playlist's segments, `#EXT-X-DISCONTINUITY` (its
//! timestamps start again and its encoder is a new one), then its own segments. Pure text
//! work; the muxer ([`super::hls`]) calls [`continued_playlist`] each time hlssink2 rewrites
//! the continuation's own playlist.

/// What a continuation needs to know of the playlist it continues.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HlsContinuation {
    /// The earlier playlist as it is in the bucket (ended or not).
    pub previous: String,
    /// The continuation's first segment number: one after the highest already under the
    /// prefix (listed in the playlist or not), so no segment is ever overwritten.
    pub first_segment: u32,
}

/// The segment number of a file or key named like hlssink2's `segment%05d.ts`.
pub fn segment_number(name: &str) -> Option<u32> {
    let file = name.rsplit('/').next()?;
    file.strip_prefix("segment")?
        .strip_suffix(".ts")?
        .parse()
        .ok()
}

/// One after the highest segment number among `names` (playlist URIs or object keys).
pub fn next_segment_number<'a>(names: impl IntoIterator<Item = &'a str>) -> u32 {
    names
        .into_iter()
        .filter_map(segment_number)
        .max()
        .map_or(0, |n| n.saturating_add(1))
}

/// A playlist split into its header tags and its media lines (segments and their tags).
struct Parts<'a> {
    version: u32,
    media_sequence: u64,
    target_duration: u32,
    /// From the first segment tag on, without `#EXT-X-ENDLIST` and blank lines.
    media: Vec<&'a str>,
    ended: bool,
}

/// The number after `tag` on `line`, if the line is that tag.
fn number<T: std::str::FromStr>(line: &str, tag: &str) -> Option<T> {
    line.strip_prefix(tag).and_then(|v| v.trim().parse().ok())
}

fn split(text: &str) -> Parts<'_> {
    let mut parts = Parts {
        version: 3,
        media_sequence: 0,
        target_duration: 1,
        media: Vec::new(),
        ended: false,
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(v) = number(line, "#EXT-X-VERSION:") {
            parts.version = v;
        } else if let Some(v) = number(line, "#EXT-X-MEDIA-SEQUENCE:") {
            parts.media_sequence = v;
        } else if let Some(v) = number(line, "#EXT-X-TARGETDURATION:") {
            parts.target_duration = v;
        } else if line == "#EXT-X-ENDLIST" {
            parts.ended = true;
        } else if line != "#EXTM3U" {
            parts.media.push(line);
        }
    }
    parts
}

/// Segments (URI lines) in a playlist.
pub fn segment_uris(text: &str) -> Vec<&str> {
    split(text)
        .media
        .into_iter()
        .filter(|l| !l.starts_with('#'))
        .collect()
}

/// The playlist to publish: `previous`'s segments, a discontinuity, then `own`'s (the
/// continuation's playlist as hlssink2 wrote it). Ended only when `own` is: the earlier
/// playlist's `#EXT-X-ENDLIST` (added when the lost part was recovered) is dropped. The media
/// sequence is the earlier one's (segments never leave these playlists), the target duration
/// the larger of the two.
pub fn continued_playlist(previous: &str, own: &str) -> String {
    let before = split(previous);
    let after = split(own);
    let mut out = format!(
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-MEDIA-SEQUENCE:{}\n#EXT-X-TARGETDURATION:{}\n\n",
        before.version.max(after.version),
        before.media_sequence,
        before.target_duration.max(after.target_duration)
    );
    let had_segments = before.media.iter().any(|l| !l.starts_with('#'));
    for line in &before.media {
        out.push_str(line);
        out.push('\n');
    }
    if had_segments && !after.media.is_empty() {
        out.push_str("#EXT-X-DISCONTINUITY\n");
    }
    for line in &after.media {
        out.push_str(line);
        out.push('\n');
    }
    if after.ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOST: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n\
        #EXT-X-TARGETDURATION:2\n\n#EXTINF:2,\nsegment00000.ts\n#EXTINF:1.5,\nsegment00001.ts\n\
        #EXT-X-ENDLIST\n";
    const OWN: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n\
        #EXT-X-TARGETDURATION:3\n\n#EXTINF:2,\nsegment00002.ts\n";

    #[test]
    fn the_continuation_follows_the_lost_segments_after_one_discontinuity() {
        let live = continued_playlist(LOST, OWN);
        assert_eq!(
            live,
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:3\n\n\
             #EXTINF:2,\nsegment00000.ts\n#EXTINF:1.5,\nsegment00001.ts\n\
             #EXT-X-DISCONTINUITY\n#EXTINF:2,\nsegment00002.ts\n"
        );
        let ended = continued_playlist(LOST, &format!("{OWN}#EXT-X-ENDLIST\n"));
        assert!(
            ended.ends_with("segment00002.ts\n#EXT-X-ENDLIST\n"),
            "{ended}"
        );
        assert_eq!(ended.matches("#EXT-X-ENDLIST").count(), 1);
        // A second continuation keeps the first discontinuity and adds its own.
        let third = continued_playlist(&ended, "#EXTINF:1,\nsegment00003.ts\n");
        assert_eq!(third.matches("#EXT-X-DISCONTINUITY").count(), 2);
        assert!(!third.contains("#EXT-X-ENDLIST"));
        assert_eq!(
            segment_uris(&third),
            [
                "segment00000.ts",
                "segment00001.ts",
                "segment00002.ts",
                "segment00003.ts"
            ]
        );
    }

    #[test]
    fn a_lost_recorder_that_left_no_segment_needs_no_discontinuity() {
        let empty = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n";
        assert!(!continued_playlist(empty, OWN).contains("DISCONTINUITY"));
    }

    #[test]
    fn numbering_starts_after_the_highest_segment_listed_or_not() {
        assert_eq!(segment_number("a/hls/segment00041.ts"), Some(41));
        assert_eq!(segment_number("a/hls/playlist.m3u8"), None);
        assert_eq!(segment_number("a/hls/segmentX.ts"), None);
        assert_eq!(next_segment_number([]), 0);
        assert_eq!(
            next_segment_number(["segment00001.ts", "p/segment00007.ts", "p/playlist.m3u8"]),
            8
        );
    }
}
