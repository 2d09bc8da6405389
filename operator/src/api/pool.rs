//! The `RecorderPool` custom resource: warm recorder pods of one region.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::Condition;
use super::recording::SecretKeyRef;

/// Keeps idle recorder pods of one region warm (Agones buffer semantics): desired pods =
/// claimed + buffer, clamped to `minReplicas..=maxReplicas`. Only idle pods are ever deleted.
///
/// The scale subresource drives `minReplicas`, so `kubectl scale rpool eu --replicas=5` raises
/// the floor.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "vcs.dev",
    version = "v1alpha1",
    kind = "RecorderPool",
    namespaced,
    shortname = "rpool",
    status = "RecorderPoolStatus",
    scale = r#"{"specReplicasPath":".spec.minReplicas","statusReplicasPath":".status.replicas","labelSelectorPath":".status.selector"}"#,
    printcolumn = r#"{"name":"Region","type":"string","jsonPath":".spec.region"}"#,
    printcolumn = r#"{"name":"Desired","type":"integer","jsonPath":".status.desired"}"#,
    printcolumn = r#"{"name":"Ready","type":"integer","jsonPath":".status.ready"}"#,
    printcolumn = r#"{"name":"Idle","type":"integer","jsonPath":".status.idle"}"#,
    printcolumn = r#"{"name":"Claimed","type":"integer","jsonPath":".status.claimed"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(
    validation = Rule::new("self.minReplicas <= self.maxReplicas").message("spec.minReplicas must not exceed spec.maxReplicas"),
    validation = Rule::new("string(self.bufferSize).matches('^([0-9]|[1-9][0-9]{1,2}|1000|[1-9][0-9]?%)$')").message("spec.bufferSize is a count 0..1000 or a percent 1%..99%")
)]
#[serde(rename_all = "camelCase")]
pub struct RecorderPoolSpec {
    /// Region this pool serves; must be in the operator's region table.
    #[schemars(length(min = 1, max = 63))]
    pub region: String,
    /// Idle pods to keep: a count (`5`) or a percent of all pods (`20%`).
    pub buffer_size: IntOrString,
    #[schemars(range(min = 0, max = 1000))]
    #[serde(default)]
    pub min_replicas: i32,
    #[schemars(range(min = 0, max = 1000))]
    pub max_replicas: i32,
    /// Seconds the pool must have had surplus idle pods before deleting them (default 300).
    #[serde(default = "default_stabilisation")]
    #[schemars(range(min = 0, max = 3600))]
    pub scale_down_stabilisation_secs: u32,
    pub template: RecorderTemplate,
}

fn default_stabilisation() -> u32 {
    300
}

/// What each recorder pod runs.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecorderTemplate {
    #[schemars(length(min = 1))]
    pub image: String,
    /// `Always`, `IfNotPresent` or `Never`; Kubernetes' default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// The recorder container's requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Added to `topology.kubernetes.io/region: <region>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Control API port (default 8080).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,
    /// The control API bearer token: mounted into each pod as the file `serve --token-file`
    /// reads, and presented by the operator.
    pub token_secret_ref: SecretKeyRef,
    /// Seconds a recorder pod may take to finish its outputs (finalise, upload) once told to
    /// stop by a deletion (default 330). The recorder gives up 30 s before, so it exits before
    /// the kubelet kills it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 86400))]
    pub termination_grace_period_seconds: Option<i64>,
    /// Extra labels for the pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl RecorderTemplate {
    pub fn port(&self) -> i32 {
        self.port.unwrap_or(8080)
    }

    /// The pods' `terminationGracePeriodSeconds`: room for the recorder's own stop grace
    /// (its default, 300 s) and 30 s more to exit.
    pub fn termination_grace_period_seconds(&self) -> i64 {
        self.termination_grace_period_seconds.unwrap_or(330)
    }
}

#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecorderPoolStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// All pods of the pool that are not being deleted.
    #[serde(default)]
    pub replicas: i32,
    /// Idle and Ready: claimable now.
    #[serde(default)]
    pub ready: i32,
    /// Idle, not Ready yet.
    #[serde(default)]
    pub starting: i32,
    /// Idle, Ready or not.
    #[serde(default)]
    pub idle: i32,
    /// Serving a Recording.
    #[serde(default)]
    pub claimed: i32,
    /// Claimed plus the buffer, within `minReplicas..=maxReplicas`.
    #[serde(default)]
    pub desired: i32,
    /// Label selector of the pool's pods (for the scale subresource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Since when the pool has had more idle pods than desired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surplus_since: Option<Time>,
    /// `BufferReady`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl RecorderPool {
    /// A pool for tests: `region`, buffer of `buffer` pods, 0..=max replicas, no stabilisation.
    pub fn test(name: &str, region: &str, buffer: i32, max: i32) -> Self {
        let mut p = RecorderPool::new(
            name,
            RecorderPoolSpec {
                region: region.into(),
                buffer_size: IntOrString::Int(buffer),
                min_replicas: 0,
                max_replicas: max,
                scale_down_stabilisation_secs: 0,
                template: RecorderTemplate {
                    image: "vcs-recorder:test".into(),
                    token_secret_ref: SecretKeyRef {
                        name: "recorder-token".into(),
                        key: "token".into(),
                    },
                    ..Default::default()
                },
            },
        );
        p.metadata.namespace = Some("default".into());
        p
    }
}
