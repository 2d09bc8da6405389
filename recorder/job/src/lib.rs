//! The VCS job spec: what one recording is made of.
//!
//! A job names a composition and its params, the participants and their track URIs, the video
//! and audio profile, how long to record and where the outputs go. The recorder's `render` and
//! `serve` commands take it as YAML or JSON; the operator's `Recording` CRD embeds these types
//! (which is why this crate stays small: serde and schemars for the types, `url` and `time` for
//! the two formats its values carry, nothing that links media or networking).
//!
//! Every struct rejects unknown fields, so a typo in a spec is an error that names the field path
//! instead of a silently ignored setting.
//!
//! # Layout
//! - this file: the job spec types.
//! - `validate`: [`JobSpec::validate`] and [`SpecError`].
//! - [`limits`]: the bounds of a recording ([`VideoSize`], [`MAX_FPS`], [`MAX_DURATION_SECS`],
//!   bitrates) and of a drawing ([`MAX_DRAWING_EDGE`]).
//! - [`uri`]: the URI kinds the recorder understands and [`uri::redact`], the one "safe to log"
//!   form of a URI.
//! - [`control`]: the control API's bodies (**contract**) and its timestamps.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod control;
pub mod limits;
pub mod screen;
pub mod uri;
mod validate;

pub use limits::{
    AUDIO_KBPS, MAX_DRAWING_EDGE, MAX_DURATION_SECS, MAX_EDGE, MAX_FPS, MAX_PARAM_BYTES,
    MAX_PARTICIPANTS, MIN_EDGE, VIDEO_KBPS, VideoSize, VideoSizeError,
};
pub use uri::UriScheme;
pub use validate::SpecError;

/// One recording job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobSpec {
    /// Identifies the job; `serve` treats a repeated start with the same id as the same job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub composition: CompositionSpec,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<Participant>,
    #[serde(default)]
    pub video: VideoProfile,
    #[serde(default)]
    pub audio: AudioProfile,
    /// Seconds to record. `render` needs it; a live job without it records until stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Output>,
    /// Set when this job continues a recording whose recorder was lost (the operator sends it
    /// to the replacement pod): the outputs continue what the lost recorder left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeSpec>,
}

/// What a continuation job is told about the recording it continues.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResumeSpec {
    /// Which continuation this is: 1 for the first replacement recorder, then 2, ...
    pub restart: u32,
    /// Seconds of video the earlier recorders reported: the composition's video time and the
    /// outputs' timestamps continue from there (plus the gaps).
    pub recorded_secs: f64,
    /// Seconds of the gaps before the last one (a second loss and on): the recording's
    /// timeline holds them too.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub earlier_gaps_secs: f64,
    /// Wall-clock time (RFC 3339) of the lost recorder's last frame as last reported: the gap
    /// runs from there to this job's first frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_frame_at: Option<String>,
    /// The pod that was lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_pod: Option<String>,
    /// Wall-clock time (RFC 3339) of the lost recorder's first frame (its span's `from`): with
    /// the duration of the MP4 part it left, where its frames really end (see
    /// [`control::JobStatus::measured_gap_secs`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_span_from: Option<String>,
    /// The room events on screen when the lost recorder last reported (chat, captions, emoji,
    /// a named speaker): replayed before the first frame.
    #[serde(default, skip_serializing_if = "screen::ScreenEvents::is_empty")]
    pub screen: screen::ScreenEvents,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// The S3 key part `part` of a recording writes to, for an MP4 object or an HLS prefix `key`:
/// part 0 (the first recorder) writes `key` itself; its `n`th continuation writes a key of its
/// own, `.part<n>` inserted before the extension of the last path segment (`a/rec.mp4` →
/// `a/rec.part2.mp4`, `a/hls/` → `a/hls.part2/`), so what a lost recorder left is never
/// overwritten and stays recoverable.
pub fn part_key(key: &str, part: u32) -> String {
    if part == 0 {
        return key.to_string();
    }
    let (body, slash) = match key.strip_suffix('/') {
        Some(b) => (b, "/"),
        None => (key, ""),
    };
    let name_at = body.rfind('/').map_or(0, |i| i + 1);
    match body[name_at..].rfind('.') {
        Some(dot) if dot > 0 => {
            let (stem, ext) = body.split_at(name_at + dot);
            format!("{stem}.part{part}{ext}{slash}")
        }
        _ => format!("{body}.part{part}{slash}"),
    }
}

#[cfg(test)]
mod part_key_tests {
    use super::part_key;

    #[test]
    fn part_keys_keep_the_extension_and_never_repeat_the_first() {
        assert_eq!(part_key("a/rec.mp4", 0), "a/rec.mp4");
        assert_eq!(part_key("a/rec.mp4", 2), "a/rec.part2.mp4");
        assert_eq!(part_key("a/hls/", 1), "a/hls.part1/");
        assert_eq!(part_key("a/hls", 1), "a/hls.part1");
        assert_eq!(part_key("a.b/.hidden", 1), "a.b/.hidden.part1");
        assert_eq!(part_key("rec.mp4", 3), "rec.part3.mp4");
    }
}

/// Which composition runs, and its params.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompositionSpec {
    /// A built-in composition (`baseline`, `demo`, ...) or a path to a composition file or
    /// folder. A value containing `/` or ending in `.jsx`/`.tsx`/`.js`/`.ts` is a path.
    pub name: String,
    /// Param values by id (`"videoSettings.showParticipantLabels": true`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Session-assets folder (images, fonts, component overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets: Option<String>,
}

/// A participant and the URIs of its tracks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Participant {
    /// Stable id, used as the video input id the composition sees.
    pub id: String,
    /// Name shown in labels; defaults to the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Camera track URI (`test:`, `file:`, `http(s):`, `rtsp:`, `srt:`, `rtmp:`, `whep+http(s):`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshare: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<String>,
}

impl Participant {
    /// The name shown for this participant.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.id)
    }
}

/// Output video size, rate and encoder bitrate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VideoProfile {
    #[serde(default = "default_width")]
    pub width: u32,
    #[serde(default = "default_height")]
    pub height: u32,
    #[serde(default = "default_fps")]
    pub fps: u32,
    #[serde(default = "default_video_bitrate")]
    pub bitrate_kbps: u32,
}

fn default_width() -> u32 {
    1280
}
fn default_height() -> u32 {
    720
}
fn default_fps() -> u32 {
    30
}
fn default_video_bitrate() -> u32 {
    4000
}

impl Default for VideoProfile {
    fn default() -> Self {
        Self {
            width: default_width(),
            height: default_height(),
            fps: default_fps(),
            bitrate_kbps: default_video_bitrate(),
        }
    }
}

/// Output audio encoding (always 48 kHz stereo AAC).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AudioProfile {
    #[serde(default = "default_audio_bitrate")]
    pub bitrate_kbps: u32,
}

fn default_audio_bitrate() -> u32 {
    128
}

impl Default for AudioProfile {
    fn default() -> Self {
        Self {
            bitrate_kbps: default_audio_bitrate(),
        }
    }
}

/// A named output; exactly one of `mp4`, `hls`, `rtmp` is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Output {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mp4: Option<Mp4Output>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hls: Option<HlsOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtmp: Option<RtmpOutput>,
}

/// A fragmented MP4 recording, to a local file and/or an S3 object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mp4Output {
    /// Local file path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// S3 object; `key` is the object key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Target>,
}

/// HLS: segments and a live playlist, to a local folder and/or under an S3 prefix.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HlsOutput {
    /// Local folder for the playlist and segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// S3 location; `key` is the prefix the playlist and segments go under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Target>,
    /// Target segment length in seconds (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_secs: Option<f64>,
}

/// A live stream to an RTMP(S) server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RtmpOutput {
    /// Full URL including the stream key (`rtmp://host/app/key`). The operator builds it from a
    /// Secret; it is never logged.
    pub url: String,
}

/// An S3 (or S3-compatible) location.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Target {
    pub bucket: String,
    pub key: String,
    /// Endpoint URL for S3-compatible stores (`http://127.0.0.1:9000`); AWS when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most S3-compatible stores need.
    #[serde(default)]
    pub path_style: bool,
    /// Explicit credentials; the standard AWS sources are used when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<S3Credentials>,
}

/// Static S3 credentials (the operator fills these from a Secret).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}
