//! [`VideoInput`]: the recorder's earlier frame-stepping API, kept over [`Input`] so the
//! recorder builds until it moves to `Input` (then delete this file).

use std::time::Duration;

use vcs_job::control::TrackKind;

use super::{Input, InputConfig, VideoFrame};
use crate::MediaError;
use crate::testsrc::TestSource;

/// A `test:` video input stepped one output frame at a time (offline).
pub struct VideoInput {
    pub id: String,
    input: Input,
    fps: u32,
    frames: u64,
    current: Option<VideoFrame>,
}

impl VideoInput {
    /// Starts a synthetic input showing `source` with `name` on it, stepped at `fps`.
    pub fn test(id: &str, name: &str, source: &TestSource, fps: u32) -> Result<Self, MediaError> {
        let [r, g, b] = source.rgb;
        let uri = format!(
            "test:#{r:02x}{g:02x}{b:02x}?pattern={}&size={}x{}&tone={}",
            source.pattern, source.width, source.height, source.tone_hz
        );
        let input = Input::start(InputConfig {
            participant: id.to_string(),
            display_name: name.to_string(),
            index: 0,
            track: TrackKind::Camera,
            uri,
            live: false,
            video: true,
            audio: false,
        })?;
        Ok(Self {
            id: id.to_string(),
            input,
            fps: fps.max(1),
            frames: 0,
            current: None,
        })
    }

    /// Moves to the next output frame; at the end of the source the last frame stays current.
    pub fn advance(&mut self) -> Result<(), MediaError> {
        let t = Duration::from_nanos(self.frames * 1_000_000_000 / self.fps as u64);
        self.frames += 1;
        self.current = self.input.video(t).or(self.current.take());
        match self.input.status().last_error {
            Some(message) => Err(MediaError::Runtime {
                what: format!("input {}", self.id),
                message,
            }),
            None => Ok(()),
        }
    }

    /// The current frame, once one has arrived.
    pub fn frame(&self) -> Option<&VideoFrame> {
        self.current.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_follows_the_output_frame_rate() {
        let source = TestSource::parse("test:#ff8800?size=64x36", 0).unwrap();
        let mut v = VideoInput::test("p1", "Ann", &source, 15).unwrap();
        let mut pts = Vec::new();
        for _ in 0..4 {
            v.advance().unwrap();
            pts.push(v.frame().unwrap().pts.as_millis());
        }
        // A 30 fps source stepped at 15 fps: every other frame.
        assert_eq!(pts, [0, 66, 133, 200]);
        assert_eq!(v.frame().unwrap().pixel(0, 35), [0xff, 0x88, 0x00, 0xff]);
    }
}
