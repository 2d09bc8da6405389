//! The `Recording` custom resource: one recording of one session.
//!
//! The spec embeds the job types of `vcs-job` (participants, composition, video and audio
//! profiles) so the operator and the recorder agree on their meaning; outputs are the operator's
//! own shape because every credential and stream key comes from a Secret reference, never inline.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::core::{Message, Rule};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};
use vcs_job::control::{Fault, InputDelivery, OutputStatus};
use vcs_job::{AudioProfile, CompositionSpec, Participant, VideoProfile};

use super::Condition;
use crate::placement;

/// Upper bound of `spec.limits.startDeadlineSecs` (1 h).
pub const MAX_START_DEADLINE_SECS: u32 = 3_600;

/// Upper bound of `spec.limits.maxRestarts`.
pub const MAX_RESTARTS: u32 = 20;

/// `spec.limits.maxRestarts` when unset.
pub const DEFAULT_MAX_RESTARTS: u32 = 3;

/// The CEL rule on `spec.video`, written from vcs-job's limits, the bounds `JobSpec::validate`
/// checks, so `kubectl apply` refuses what the recorder would (`tests/crds.rs` probes the
/// validation at every edge and fails when the two disagree).
fn video_rule() -> Rule {
    use vcs_job::{MAX_EDGE, MAX_FPS, MIN_EDGE, VIDEO_KBPS};
    const FPS: (u32, u32) = (1, MAX_FPS);
    let edge = |f: &str| {
        format!(
            "(!has(self.video.{f}) || (self.video.{f} >= {MIN_EDGE} && self.video.{f} <= {MAX_EDGE} && self.video.{f} % 2 == 0))"
        )
    };
    let range = |f: &str, (lo, hi): (u32, u32)| {
        format!("(!has(self.video.{f}) || (self.video.{f} >= {lo} && self.video.{f} <= {hi}))")
    };
    Rule::new(format!(
        "!has(self.video) || ({} && {} && {} && {})",
        edge("width"),
        edge("height"),
        range("fps", FPS),
        range("bitrateKbps", VIDEO_KBPS)
    ))
    .message(Message::Message(format!(
        "spec.video: width and height even, {MIN_EDGE}..{MAX_EDGE}; fps {}..{}; bitrateKbps {}..{}",
        FPS.0, FPS.1, VIDEO_KBPS.0, VIDEO_KBPS.1
    )))
}

/// The CEL rule on `spec.audio`, written from vcs-job's [`vcs_job::AUDIO_KBPS`].
fn audio_rule() -> Rule {
    let (lo, hi) = vcs_job::AUDIO_KBPS;
    Rule::new(format!(
        "!has(self.audio) || !has(self.audio.bitrateKbps) || (self.audio.bitrateKbps >= {lo} && self.audio.bitrateKbps <= {hi})"
    ))
    .message(Message::Message(format!(
        "spec.audio.bitrateKbps must be {lo}..{hi}"
    )))
}

/// A recording of one session: where its media comes from, how it is composed and where the
/// outputs go. Deleting it stops the recorder and waits (bounded) for the outputs to finish.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "vcs.dev",
    version = "v1alpha1",
    kind = "Recording",
    namespaced,
    shortname = "rec",
    status = "RecordingStatus",
    printcolumn = r#"{"name":"Region","type":"string","jsonPath":".status.region"}"#,
    printcolumn = r#"{"name":"Launch","type":"string","jsonPath":".status.launch"}"#,
    printcolumn = r#"{"name":"Recording","type":"string","jsonPath":".status.conditions[?(@.type==\"Recording\")].status"}"#,
    printcolumn = r#"{"name":"Result","type":"string","jsonPath":".status.result"}"#,
    printcolumn = r#"{"name":"Started","type":"date","jsonPath":".status.startedAt"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    validation = Rule::new("self.metadata.name.size() <= 63").message("metadata.name: at most 63 characters, because it becomes the recorder pod's vcs.dev/recording label value"),
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.placement) || ((has(self.spec.session) && has(self.spec.session.mediaServerUrl) ? self.spec.session.mediaServerUrl : '') == (has(oldSelf.spec.session) && has(oldSelf.spec.session.mediaServerUrl) ? oldSelf.spec.session.mediaServerUrl : '') && (has(self.spec.session) && has(self.spec.session.regionHint) ? self.spec.session.regionHint : '') == (has(oldSelf.spec.session) && has(oldSelf.spec.session.regionHint) ? oldSelf.spec.session.regionHint : '') && (has(self.spec.placement) ? self.spec.placement.region : '') == (has(oldSelf.spec.placement) ? oldSelf.spec.placement.region : ''))").message("spec.session.mediaServerUrl, spec.session.regionHint and spec.placement are immutable once the Recording is placed; create a new Recording to record elsewhere")
)]
#[x_kube(
    validation = Rule::new("!has(oldSelf.stop) || !oldSelf.stop || (has(self.stop) && self.stop)").message("spec.stop cannot go back to false; create a new Recording to record again"),
    validation = Rule::new("!has(self.outputs) || self.outputs.all(o, self.outputs.exists_one(p, p.name == o.name))").message("spec.outputs names must be unique"),
    validation = video_rule(),
    validation = audio_rule()
)]
#[serde(rename_all = "camelCase")]
pub struct RecordingSpec {
    #[serde(default)]
    pub session: Session,
    pub composition: CompositionSpec,
    #[serde(default)]
    pub video: VideoProfile,
    #[serde(default)]
    pub audio: AudioProfile,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub outputs: Vec<RecordingOutput>,
    #[serde(default)]
    pub limits: Limits,
    /// Explicit region, overriding every other placement input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<PlacementOverride>,
    /// Set to true to stop recording; the outputs are finished and the Recording succeeds.
    #[serde(default)]
    pub stop: bool,
}

/// The call being recorded. Participants may change while recording (forwarded live); the media
/// server and region hint may not once placed.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The media server's URL; its host is matched against the host→region rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_server_url: Option<String>,
    /// The media server's own region, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_hint: Option<String>,
    /// Who is recorded, and from which tracks; edits are forwarded to the recorder live.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub participants: Vec<Participant>,
}

#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementOverride {
    #[schemars(length(min = 1, max = 63))]
    pub region: String,
}

/// Time bounds of a recording.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Stop after this many seconds of recording (1..86400). Unset: until stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = vcs_job::MAX_DURATION_SECS))]
    pub max_duration_secs: Option<u32>,
    /// Fail when not recording this many seconds after creation (1..3600, default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_START_DEADLINE_SECS))]
    pub start_deadline_secs: Option<u32>,
    /// How many times a lost recorder (pod deleted or failed, node lost, control API
    /// unreachable) is replaced by a continuation on another pod before the Recording fails
    /// (0..20, default 3; 0: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = MAX_RESTARTS))]
    pub max_restarts: Option<u32>,
}

/// A named output: exactly one of `mp4`, `hls`, `rtmp`.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("(has(self.mp4) ? 1 : 0) + (has(self.hls) ? 1 : 0) + (has(self.rtmp) ? 1 : 0) == 1").message("each spec.outputs entry needs exactly one of mp4, hls, rtmp")
)]
pub struct RecordingOutput {
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mp4: Option<Mp4Destination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hls: Option<HlsDestination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtmp: Option<RtmpDestination>,
}

#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mp4Destination {
    pub s3: S3Location,
}

#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HlsDestination {
    /// `key` is the prefix the playlist and segments go under.
    pub s3: S3Location,
    /// Target segment length in seconds (1..30, default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1.0, max = 30.0))]
    pub segment_secs: Option<f64>,
}

/// An RTMP(S) stream; the stream key is appended to `url` from a Secret.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtmpDestination {
    /// Server and app without the stream key (`rtmp://live.example.com/app`).
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^rtmps?://"))]
    pub url: String,
    pub stream_key_secret_ref: SecretKeyRef,
}

/// An S3 location; credentials only through a Secret (keys `accessKeyId`, `secretAccessKey`,
/// optional `sessionToken`), or the recorder's ambient AWS credentials when unset.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Location {
    #[schemars(length(min = 3, max = 63))]
    pub bucket: String,
    #[schemars(length(min = 1, max = 1024))]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default)]
    pub path_style: bool,
    /// Name of a Secret in the Recording's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_ref: Option<String>,
}

/// One key of a Secret in the same namespace.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// How the recorder pod was obtained.
#[derive(schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LaunchType {
    /// An idle pod of the pool, claimed.
    Warm,
    /// No idle pod: a pod created for this Recording.
    Cold,
}

impl LaunchType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warm => "Warm",
            Self::Cold => "Cold",
        }
    }
}

/// How a finished Recording ended.
#[derive(schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordingResult {
    /// Recorded and every output finished.
    Succeeded,
    /// Rejected, lost its recorder, ran out of time to start, or the recorder failed.
    Failed,
}

/// Where placement sent the Recording, and why.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementStatus {
    pub region: String,
    pub reason: placement::Reason,
}

/// What the operator last forwarded to the recorder, so an edit is sent once.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedSpec {
    /// `spec.composition.params` as last sent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Digest of the participant list last sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants_digest: Option<String>,
}

#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Accepted`, `Placed`, `RecorderReady`, `Recording`, `OutputsHealthy`, `Succeeded`,
    /// `RecorderLost`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The region that records it (the placement's region, for `kubectl get`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<PlacementStatus>,
    /// The RecorderPool its pod came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The pod recording it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorder_pod: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<LaunchType>,
    /// When the pod was claimed. The step times are kept to the microsecond: the maximum
    /// duration is measured from `startedAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<MicroTime>,
    /// The recorder's first encoded frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<MicroTime>,
    /// When the recorder was told to stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_requested_at: Option<MicroTime>,
    /// When the result was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<MicroTime>,
    /// Milliseconds from creation of the Recording to the recorder's first encoded frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_latency_ms: Option<f64>,
    /// Each output's progress, as the recorder reports it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputStatus>,
    /// Frames encoded so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
    /// Set once finished, and never changed after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RecordingResult>,
    /// What was last sent to the recorder, so each edit is forwarded once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<AppliedSpec>,
    /// Seconds of video recorded, over every pod that recorded it (gaps excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_secs: Option<f64>,
    /// How much media each input track delivered, as the current recorder reports it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_delivery: Vec<InputDelivery>,
    /// Once finished: each way the recording fell short, as the recorder reports it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    /// Times a lost recorder was replaced by a continuation on another pod.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restarts: u32,
    /// The recording's timeline: which pod recorded which span, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<RecordedSpan>,
    /// The holes in the timeline, one per lost recorder, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<RecordingGap>,
    /// The room events on screen as the recorder last reported them (the latest chat,
    /// transcript and emoji messages, a named active speaker): a continuation replays them.
    #[serde(
        default,
        skip_serializing_if = "vcs_job::screen::ScreenEvents::is_empty"
    )]
    pub screen: vcs_job::screen::ScreenEvents,
    /// Set from the loss of a recorder until its continuation encodes its first frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<PendingContinuation>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One pod's part of the recording.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedSpan {
    pub pod: String,
    /// Its first encoded frame.
    pub from: MicroTime,
    /// When it was seen lost, or the recording finished; unset while it records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<MicroTime>,
    /// Seconds of video it recorded, as last reported.
    #[serde(default)]
    pub recorded_secs: f64,
}

/// A hole in the recording: from the lost recorder's last frame known to the operator to the
/// continuation's first frame.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingGap {
    /// Where on the recording's timeline it falls: seconds recorded before it.
    pub after_secs: f64,
    /// The lost recorder's last frame as last reported (its first frame plus the seconds it
    /// reported): the gap is measured from there, so it is at most one poll interval longer
    /// than the real one.
    pub start: MicroTime,
    /// Seconds to the continuation's first frame; unset until it has one. Once the
    /// continuation has read what the lost recorder left in the bucket, the gap measured from
    /// the frames (the lost recorder's first frame plus the media it left → the continuation's
    /// first frame), and `measured` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_secs: Option<f64>,
    /// `lengthSecs` is measured from the frames, not estimated from `start`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub measured: bool,
    /// The pod lost, and why.
    pub pod: String,
    pub reason: String,
}

/// A recorder was lost while recording; its continuation is being started on another pod.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingContinuation {
    /// The pod lost, which must not be adopted again.
    pub lost_pod: String,
    /// When the loss was seen: the start deadline of the continuation counts from here.
    pub since: MicroTime,
}

impl Recording {
    /// A minimal valid Recording for tests: the `baseline` composition, one synthetic participant
    /// and an MP4 to S3.
    pub fn test(name: &str) -> Self {
        let mut r = Recording::new(
            name,
            RecordingSpec {
                composition: CompositionSpec {
                    name: "baseline".into(),
                    ..Default::default()
                },
                session: Session {
                    participants: vec![Participant {
                        id: "p1".into(),
                        camera: Some("test:ball".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                outputs: vec![RecordingOutput {
                    name: "main".into(),
                    mp4: Some(Mp4Destination {
                        s3: S3Location {
                            bucket: "recordings".into(),
                            key: format!("{name}.mp4"),
                            ..Default::default()
                        },
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            },
        );
        r.metadata.namespace = Some("default".into());
        r
    }
}
