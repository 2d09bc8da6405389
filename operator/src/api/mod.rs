//! CRD types (group `vcs.dev`, version `v1alpha1`), their shared pieces and the CRD manifests.

mod conditions;
mod crd;
pub mod pool;
pub mod recording;

pub use conditions::{Condition, ConditionStatus, Observed, find_condition, set_condition};
pub use crd::{crd_yaml, crds, structural_problems};
pub use pool::{RecorderPool, RecorderPoolSpec, RecorderPoolStatus, RecorderTemplate};
pub use recording::{
    LaunchType, Recording, RecordingOutput, RecordingResult, RecordingSpec, RecordingStatus,
    SecretKeyRef,
};

/// Pod label: the RecorderPool a pod belongs to.
pub const LABEL_POOL: &str = "vcs.dev/pool";
/// Pod label: the region a pod runs in.
pub const LABEL_REGION: &str = "vcs.dev/region";
/// Pod label: `idle` or `claimed`. Claims flip it with a resourceVersion precondition.
pub const LABEL_STATE: &str = "vcs.dev/state";
/// Pod label: the Recording a claimed pod serves.
pub const LABEL_RECORDING: &str = "vcs.dev/recording";
/// Pod annotation: uid of the Recording a claimed pod serves (names can be reused).
pub const ANNOTATION_RECORDING_UID: &str = "vcs.dev/recording-uid";
/// [`LABEL_STATE`] of a pod waiting to be claimed.
pub const STATE_IDLE: &str = "idle";
/// [`LABEL_STATE`] of a pod serving a Recording.
pub const STATE_CLAIMED: &str = "claimed";
/// Finalizer on Recordings: the recorder is stopped and its pod released before deletion.
pub const FINALIZER: &str = "vcs.dev/recorder";
