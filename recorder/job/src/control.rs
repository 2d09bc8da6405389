//! The recorder's control API bodies (**contract**, architecture.md §5).
//!
//! `vcs-recorder serve` answers with these types and the operator's `recorder_client` reads
//! them, so both sides share one definition. Requests reject unknown fields (a typo is a 400
//! naming the field path); responses are read leniently by clients so the recorder can add
//! fields without breaking an older operator.
//!
//! | method | path | request | response |
//! |---|---|---|---|
//! | POST | `/v1/job` | [`crate::JobSpec`] | [`JobStatus`] (after the first encoded frame) |
//! | GET | `/v1/job` | — | [`JobStatus`] |
//! | PATCH | `/v1/job` | [`JobPatch`] | [`JobStatus`] |
//! | POST | `/v1/job/events` | [`JobEvent`] or `[JobEvent]` | [`JobStatus`] |
//! | POST | `/v1/job/stop` | — | [`JobStatus`] |
//!
//! Every error answers with [`ErrorBody`]. Timestamps are RFC 3339 strings in UTC, made by
//! [`rfc3339_now`].
//!
//! The enums' names in JSON (`recording`, `mp4`) are also what metrics labels and logs show:
//! each enum's `as_str` is that name, tested against its serde form below.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Output, Participant};

/// Where a job is in its life. `idle` only before a job was accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum JobState {
    #[default]
    Idle,
    Starting,
    Recording,
    Finalising,
    Done,
    Failed,
}

impl JobState {
    /// Every state, in the order a job passes them.
    pub const ALL: [JobState; 6] = [
        Self::Idle,
        Self::Starting,
        Self::Recording,
        Self::Finalising,
        Self::Done,
        Self::Failed,
    ];

    /// Done or failed: nothing more will happen.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }

    /// The state as it reads in JSON (`recording`, `finalising`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Starting => "starting",
            Self::Recording => "recording",
            Self::Finalising => "finalising",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// An error and its sources, `: `-separated: how an error reads in a status's `lastError` and
/// in a log line. The errors of the VCS crates keep what caused them as their `source()` and do
/// not repeat it in their own message, so this is how to show all of it.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Now as an RFC 3339 timestamp in UTC, the form of every time in this API.
pub fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        // Formatting a UTC time as RFC 3339 fails only for years outside 0..=9999.
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
}

/// The answer to every control call: what the recorder is doing now.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    pub state: JobState,
    #[serde(default)]
    pub timestamps: JobTimestamps,
    /// Frames encoded so far.
    #[serde(default)]
    pub frames: u64,
    /// Encoded frames per second over the last few seconds.
    #[serde(default)]
    pub fps: f64,
    /// Output ticks that had no frame in time (live jobs only).
    #[serde(default)]
    pub dropped_frames: u64,
    /// Audio minus video presentation time at the encoder, in milliseconds: only the rounding of
    /// the audio sample count against the frame count (both derive from the frame counter), so
    /// always within a sample. It says nothing of lip sync: that is each input's
    /// [`InputStatus::av_offset_ms`].
    #[serde(default)]
    pub av_offset_ms: f64,
    /// Milliseconds from the job being accepted to its first encoded frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_latency_ms: Option<f64>,
    #[serde(default)]
    pub outputs: Vec<OutputStatus>,
    #[serde(default)]
    pub inputs: Vec<InputStatus>,
    /// Seconds of video recorded so far: what every output should deliver in the end.
    #[serde(default)]
    pub recorded_secs: f64,
    /// A continuation, once it has recovered the MP4 part the lost recorder left: the seconds
    /// of media in that part (what the lost recorder really recorded, to its last uploaded
    /// fragment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_part_secs: Option<f64>,
    /// The gap measured from the frames: this job's first frame − (the lost recorder's first
    /// frame, `resume.lostSpanFrom`, + [`Self::lost_part_secs`]), in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_gap_secs: Option<f64>,
    /// How much media each input track delivered so far, including tracks that left.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_delivery: Vec<InputDelivery>,
    /// Once the job is done: each way it fell short (empty when it fully succeeded). The
    /// recorder's exit status is the code of the first kind listed in [`FaultKind`] order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    /// Frames whose composition render failed (the last good scene was reused).
    #[serde(default)]
    pub composition_errors: u64,
    /// Composition error messages (file:line:col), newest last, at most a few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub composition_messages: Vec<String>,
    /// Why the job failed, or the latest problem worth a person's attention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The room events on screen (the latest chat, transcript and emoji messages, a named
    /// active speaker), for a continuation on another pod should this recorder be lost.
    #[serde(default, skip_serializing_if = "crate::screen::ScreenEvents::is_empty")]
    pub screen: crate::screen::ScreenEvents,
}

/// When the job passed each step (RFC 3339, UTC).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobTimestamps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_frame: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<String>,
}

/// Which kind an output is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OutputKind {
    Mp4,
    Hls,
    Rtmp,
}

impl OutputKind {
    /// The kind as it reads in JSON (`mp4`, `hls`, `rtmp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mp4 => "mp4",
            Self::Hls => "hls",
            Self::Rtmp => "rtmp",
        }
    }
}

/// Where one output is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OutputState {
    #[default]
    Starting,
    Active,
    /// Lost its destination (RTMP server gone, S3 unreachable) and is retrying; nothing is lost.
    Reconnecting,
    Finalising,
    Done,
    Failed,
}

/// Progress of one output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputStatus {
    pub name: String,
    pub kind: OutputKind,
    pub state: OutputState,
    /// Bytes written by the muxer (MP4/HLS) or sent (RTMP).
    #[serde(default)]
    pub bytes: u64,
    /// Bytes stored in S3 so far.
    #[serde(default)]
    pub uploaded_bytes: u64,
    /// Objects completed in S3 (MP4: 1 when complete; HLS: segments + playlist).
    #[serde(default)]
    pub objects: u64,
    /// Seconds of media written to this output.
    #[serde(default)]
    pub duration_secs: f64,
    /// Seconds the oldest not-yet-uploaded data has waited.
    #[serde(default)]
    pub upload_lag_secs: f64,
    /// Reconnects (RTMP) or upload retries (S3) so far.
    #[serde(default)]
    pub retries: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What one input track delivered over the recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InputDelivery {
    pub participant: String,
    pub track: TrackKind,
    /// It delivered media at some point.
    pub connected: bool,
    /// Seconds of the recording during which it delivered media.
    pub live_secs: f64,
    /// Times it went from delivering to stalled (each a gap shown as paused).
    pub gaps: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The A/V offset last measured on this input (ms; positive when audio is late): see
    /// [`InputStatus::av_offset_ms`]. Beyond a frame, what viewers see is out of lip sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub av_offset_ms: Option<f64>,
}

/// A kind of shortfall of a finished job, each with its own process exit code (`vcs-recorder
/// render --help` lists them). In order of precedence: when several happen, the exit code is
/// the first one's. `mp4InParts` alone does not fail the job (exit code 0): everything was
/// recorded, in more than one object.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// An output delivered less than the recording (failed, never connected, or gaps).
    OutputIncomplete,
    /// An input never delivered any media.
    InputNeverConnected,
    /// The composition kept failing; the video shows its last good scene.
    CompositionFailed,
    /// A continuation's MP4 parts could not be joined into one object and are kept as they
    /// are (the message names them): nothing recorded is missing.
    Mp4InParts,
}

impl FaultKind {
    /// The exit code of `vcs-recorder render` (and `serve`'s job) for this fault.
    pub fn exit_code(self) -> u8 {
        match self {
            FaultKind::OutputIncomplete => 3,
            FaultKind::InputNeverConnected => 4,
            FaultKind::CompositionFailed => 5,
            FaultKind::Mp4InParts => 0,
        }
    }
}

/// One shortfall: its kind, what it concerns (an output name or `participant.track`) and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub kind: FaultKind,
    pub subject: String,
    pub message: String,
}

/// Which track of a participant an input is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TrackKind {
    Camera,
    Screenshare,
    Audio,
}

/// Where one input track is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum InputState {
    #[default]
    Connecting,
    Live,
    /// No media for a while; shown as paused and being retried with backoff.
    Stalled,
    /// A file or finite source reached its end; its last frame stays.
    Ended,
}

/// One participant track as the recorder sees it (URIs are not echoed: they may hold tokens).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InputStatus {
    pub participant: String,
    pub track: TrackKind,
    pub state: InputState,
    /// Reconnect attempts so far.
    #[serde(default)]
    pub retries: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Lip sync as recorded: audio minus video time of what this input's tracks put on the
    /// recording's timeline lately (about the last second), in milliseconds; positive when the
    /// audio is late. Measured from the timestamps the recorder used: both tracks are played at
    /// the input's one clock, so it is 0 unless video frames arrive later than the playout delay
    /// allows (then negative: the picture lags). Absent before media flows, for offline renders
    /// (exact by construction) and for an input with one track.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub av_offset_ms: Option<f64>,
}

/// `PATCH /v1/job`: live changes, applied at the next frame.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobPatch {
    /// Merged into the composition's params; `null` resets a param to its default.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
    /// The whole participant list, replacing the current one: participants not in it leave,
    /// new ones join, changed track URIs are reconnected. Absent = unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<Participant>>,
    /// Outputs to start now (such as an RTMP stream mid-recording).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_outputs: Vec<Output>,
    /// Names of outputs to finish and close now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_outputs: Vec<String>,
}

impl JobPatch {
    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// `POST /v1/job/events`: a standard-source message or an active-speaker change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum JobEvent {
    /// A chat message (standard source `chatMessages`).
    #[serde(rename_all = "camelCase")]
    Chat {
        sender_display_name: String,
        text: String,
    },
    /// A caption line (standard source `transcript`).
    #[serde(rename_all = "camelCase")]
    Transcript {
        sender_display_name: String,
        text: String,
    },
    /// An emoji reaction (standard source `emojiReactions`); `text` is the emoji.
    #[serde(rename_all = "camelCase")]
    Emoji {
        #[serde(default)]
        sender_display_name: String,
        text: String,
    },
    /// Who is speaking; `null` hands the choice back to the recorder's audio levels.
    #[serde(rename_all = "camelCase")]
    ActiveSpeaker { participant_id: Option<String> },
}

/// The body of every error answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Stable machine-readable code: `unauthorized` (401), `badRequest` (400), `conflict` (409),
    /// `invalidJob` (422), `invalidComposition` (422), `notFound` (404), `methodNotAllowed`
    /// (405), `payloadTooLarge` (413), `notReady` (503, `/readyz`), `internal` (500).
    pub code: String,
    /// What went wrong and what to do, for a person.
    pub message: String,
    /// Field path (`participants[0].camera`) or source location (`index.jsx:12:5`) at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_by_type() {
        let e: JobEvent =
            serde_json::from_str(r#"{"type":"chat","senderDisplayName":"Ann","text":"hi"}"#)
                .unwrap();
        assert_eq!(
            e,
            JobEvent::Chat {
                sender_display_name: "Ann".into(),
                text: "hi".into()
            }
        );
        let e: JobEvent =
            serde_json::from_str(r#"{"type":"activeSpeaker","participantId":null}"#).unwrap();
        assert_eq!(
            e,
            JobEvent::ActiveSpeaker {
                participant_id: None
            }
        );
    }

    #[test]
    fn patches_reject_unknown_fields_with_their_path() {
        let json = r#"{"params":{"a":1},"addOutput":[]}"#;
        let de = &mut serde_json::Deserializer::from_str(json);
        let err = serde_path_to_error::deserialize::<_, JobPatch>(de).unwrap_err();
        assert!(err.to_string().contains("addOutput"), "{err}");
    }

    #[test]
    fn names_match_the_json() {
        for state in JobState::ALL {
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::from(state.as_str())
            );
        }
        for kind in [OutputKind::Mp4, OutputKind::Hls, OutputKind::Rtmp] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
    }

    #[test]
    fn error_chains_show_every_cause_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("cannot open the spool")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(error_chain(&e), "cannot open the spool: disk full");
    }

    #[test]
    fn timestamps_are_rfc3339_in_utc() {
        let now = rfc3339_now();
        let parsed =
            time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert_eq!(parsed.offset(), time::UtcOffset::UTC, "{now}");
        assert!(now.ends_with('Z'), "{now}");
    }

    #[test]
    fn status_round_trips_and_reads_leniently() {
        let s = JobStatus {
            job_id: Some("j1".into()),
            state: JobState::Recording,
            frames: 30,
            ..Default::default()
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""state":"recording""#), "{json}");
        assert_eq!(serde_json::from_str::<JobStatus>(&json).unwrap(), s);
        let newer = r#"{"state":"done","someFutureField":1}"#;
        assert_eq!(
            serde_json::from_str::<JobStatus>(newer).unwrap().state,
            JobState::Done
        );
    }
}
