//! The Recording's condition types and the reasons its conditions and events give.

/// The spec is valid and its Secrets exist; the recorder took the job.
pub const ACCEPTED: &str = "Accepted";
/// Placed in this region, with a pool and a pod.
pub const PLACED: &str = "Placed";
/// The recorder pod is up and answers.
pub const RECORDER_READY: &str = "RecorderReady";
/// Frames are being recorded.
pub const RECORDING: &str = "Recording";
/// No output is failing or reconnecting.
pub const OUTPUTS_HEALTHY: &str = "OutputsHealthy";
/// Finished, and how.
pub const SUCCEEDED: &str = "Succeeded";
/// The recorder pod went away before the job finished.
pub const RECORDER_LOST: &str = "RecorderLost";

/// Condition and event reasons; each constant's name is its value.
pub mod reason {
    pub const VALID: &str = "Valid";
    pub const INVALID_SPEC: &str = "InvalidSpec";
    pub const SECRET_MISSING: &str = "SecretMissing";
    pub const INVALID_COMPOSITION: &str = "InvalidComposition";
    pub const REJECTED_BY_RECORDER: &str = "RejectedByRecorder";
    pub const OTHER_REGION: &str = "OtherRegion";
    pub const NO_POOL: &str = "NoPool";
    pub const PLACEMENT_FAILED: &str = "PlacementFailed";
    pub const CLAIMED: &str = "Claimed";
    pub const POD_STARTING: &str = "PodStarting";
    pub const UNREACHABLE: &str = "Unreachable";
    pub const STARTED: &str = "Started";
    pub const RUNNING: &str = "Running";
    pub const LIVE_UPDATE: &str = "LiveUpdate";
    pub const FINALISING: &str = "Finalising";
    pub const DONE: &str = "Done";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
    pub const RECORDER_FAILED: &str = "RecorderFailed";
    pub const RECORDER_LOST: &str = "RecorderLost";
    pub const RESTARTING: &str = "Restarting";
    /// An input's audio went more than a frame off its video (a Warning event).
    pub const LIP_SYNC: &str = "LipSync";
    pub const RESUMED: &str = "Resumed";
    pub const RESTART_LIMIT_REACHED: &str = "RestartLimitReached";
    pub const START_DEADLINE_EXCEEDED: &str = "StartDeadlineExceeded";
    pub const STOP_REQUESTED: &str = "StopRequested";
    pub const MAX_DURATION_REACHED: &str = "MaxDurationReached";
    pub const HEALTHY: &str = "Healthy";
    pub const DEGRADED: &str = "Degraded";
}
