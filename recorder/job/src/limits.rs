//! The bounds of a recording: frame size, frame rate, bitrates, length, participants and param
//! sizes. One rule each, here, so the job's validation, the `test:` sources, the CLIs, the scene
//! parser and the operator's CRD cannot disagree.
//!
//! The frame-size rule is what a video can actually be encoded at, not what a tool could draw:
//! sides are even because the encode is 4:2:0 (one chroma sample per 2×2 pixels); at least 16
//! because that is one H.264 macroblock; at most 4096 because 4096×2304 is the largest frame
//! H.264 level 5.2 holds, and larger frames are beyond what hardware decoders and RTMP ingest
//! servers take. The CRD's CEL rules are written from these constants (and tested against
//! [`crate::JobSpec::validate`]).
//!
//! A picture that is drawn but never encoded (a scene a composition emits or a file holds, a
//! still PNG) has a looser rule derived from the same edge: any side from 1 up to
//! [`MAX_DRAWING_EDGE`].

use std::fmt;
use std::str::FromStr;

/// Smallest frame edge in pixels (one H.264 macroblock).
pub const MIN_EDGE: u32 = 16;
/// Largest frame edge in pixels (H.264 level 5.2).
pub const MAX_EDGE: u32 = 4096;
/// Highest frame rate a job may ask for.
pub const MAX_FPS: u32 = 60;
/// A recording longer than a day is a mistake, not a job.
pub const MAX_DURATION_SECS: u32 = 24 * 3600;
/// Most participants one recording takes. Each costs its decoders and frame buffers (about
/// 20 MB at 720p, measured with 500 `test:` participants), so this bounds the inputs' memory
/// to about 1 GB per recording.
pub const MAX_PARTICIPANTS: usize = 50;
/// Largest value of one composition param, as JSON, in bytes (text params have a smaller cap
/// in the engine, which knows their types).
pub const MAX_PARAM_BYTES: usize = 64 * 1024;
/// Bounds of `video.bitrateKbps`, inclusive.
pub const VIDEO_KBPS: (u32, u32) = (100, 50_000);
/// Bounds of `audio.bitrateKbps`, inclusive.
pub const AUDIO_KBPS: (u32, u32) = (32, 512);

/// Largest side, in pixels, of a picture that is drawn but never encoded: a scene or display
/// list (from a composition, an events file or a Daily export) and a still. Such a picture needs
/// neither even sides nor a macroblock, so any side from 1 is drawable; only memory bounds it,
/// and four times [`MAX_EDGE`] (an RGBA pixmap of at most 1 GiB) leaves room for a still
/// drawn larger than the largest video.
pub const MAX_DRAWING_EDGE: u32 = 4 * MAX_EDGE;

/// A frame size that can be encoded: both sides even and in [`MIN_EDGE`]..=[`MAX_EDGE`].
///
/// Parsed from `WxH`, with `x`, `X` or `×` between the sides (`1280x720`, `640×360`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VideoSize {
    width: u32,
    height: u32,
}

/// Why a size is not a [`VideoSize`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VideoSizeError {
    /// The text is not `WxH` with two whole numbers.
    NotWxH(String),
    /// A side is odd or out of bounds.
    Edge(u32),
}

// Written by hand, as `SpecError` is (see `validate`).
impl fmt::Display for VideoSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotWxH(text) => write!(f, "\"{text}\" is not WIDTHxHEIGHT (such as 1280x720)"),
            Self::Edge(value) => write!(
                f,
                "{value} is not an even number of pixels between {MIN_EDGE} and {MAX_EDGE}"
            ),
        }
    }
}

impl std::error::Error for VideoSizeError {}

impl VideoSize {
    /// The size, when both sides can be encoded.
    pub fn new(width: u32, height: u32) -> Result<Self, VideoSizeError> {
        check_edge(width)?;
        check_edge(height)?;
        Ok(Self { width, height })
    }

    pub fn width(self) -> u32 {
        self.width
    }

    pub fn height(self) -> u32 {
        self.height
    }
}

/// One side of a frame: even and in [`MIN_EDGE`]..=[`MAX_EDGE`].
pub fn check_edge(value: u32) -> Result<(), VideoSizeError> {
    if (MIN_EDGE..=MAX_EDGE).contains(&value) && value.is_multiple_of(2) {
        Ok(())
    } else {
        Err(VideoSizeError::Edge(value))
    }
}

impl FromStr for VideoSize {
    type Err = VideoSizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let not_wxh = || VideoSizeError::NotWxH(s.to_string());
        let (w, h) = s.split_once(['x', 'X', '×']).ok_or_else(not_wxh)?;
        let w: u32 = w.trim().parse().map_err(|_| not_wxh())?;
        let h: u32 = h.trim().parse().map_err(|_| not_wxh())?;
        Self::new(w, h)
    }
}

impl fmt::Display for VideoSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_any_of_the_three_separators() {
        for text in ["1280x720", "1280X720", "1280×720", " 1280 x 720 "] {
            let size: VideoSize = text.trim().parse().unwrap();
            assert_eq!((size.width(), size.height()), (1280, 720), "{text}");
        }
        assert_eq!(VideoSize::new(640, 360).unwrap().to_string(), "640x360");
    }

    #[test]
    fn sizes_outside_the_encodable_rule_say_why() {
        for (text, want) in [
            ("1920", "not WIDTHxHEIGHT"),
            ("axb", "not WIDTHxHEIGHT"),
            ("7x7", "7 is not an even number"),
            ("1281x720", "1281 is not an even number"),
            ("14x16", "between 16 and 4096"),
            ("4096x4098", "4098"),
        ] {
            let err = text.parse::<VideoSize>().unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
        assert!(VideoSize::new(16, 4096).is_ok());
    }
}
