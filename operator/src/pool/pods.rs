//! The recorder pods a pool makes: labels, node selection for the region, the token, and the
//! lock-down that the `restricted` Pod Security Standard asks for (non-root, read-only root
//! file system with an emptyDir for everything the recorder writes, no capabilities, no
//! privilege escalation, the runtime's default seccomp profile, no service account token).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, HTTPGetAction, KeyToPath,
    Pod, PodSecurityContext, PodSpec, Probe, SeccompProfile, SecretVolumeSource, SecurityContext,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};

use crate::api::{
    LABEL_POOL, LABEL_REGION, LABEL_STATE, RecorderPool, RecorderTemplate, STATE_IDLE,
};

/// Node label that places pods in the pool's region.
pub const REGION_NODE_LABEL: &str = "topology.kubernetes.io/region";

/// Where the recorder container finds the control API token (a Secret volume).
pub const TOKEN_DIR: &str = "/var/run/secrets/vcs.dev";
/// The token's file name in [`TOKEN_DIR`].
pub const TOKEN_FILE: &str = "token";
const TOKEN_VOLUME: &str = "control-token";

/// The one writable place in a recorder pod (an emptyDir): outputs waiting for upload, the
/// render spool, GStreamer's registry and fontconfig's cache go there (TMPDIR, HOME).
pub const SCRATCH_DIR: &str = "/tmp";
const SCRATCH_VOLUME: &str = "scratch";

/// The uid and gid recorders run as (the image's user, distroless's `nonroot`); also the
/// fsGroup, so the token file (mode 0440) is readable.
pub const RECORDER_UID: i64 = 65532;

/// Seconds of the pod's termination grace the recorder leaves itself to exit after it stopped
/// waiting for its outputs.
const EXIT_MARGIN_SECS: i64 = 30;

/// Seconds a recorder has to start listening before the kubelet gives up on it.
pub const STARTUP_SECONDS: i32 = 120;

/// The label selector of a pool's pods.
pub fn selector(pool: &RecorderPool) -> String {
    format!("{LABEL_POOL}={}", pool.name_any())
}

/// A new recorder pod of `pool`, idle. Claims relabel it; cold starts pass other labels.
pub fn recorder_pod(
    pool: &RecorderPool,
    name: Option<String>,
    extra_labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> Pod {
    let spec = &pool.spec;
    let t = &spec.template;
    let mut labels = t.labels.clone();
    labels.insert(LABEL_POOL.into(), pool.name_any());
    labels.insert(LABEL_REGION.into(), spec.region.clone());
    labels.insert(LABEL_STATE.into(), STATE_IDLE.into());
    labels.extend(extra_labels);
    let mut node_selector = t.node_selector.clone();
    node_selector
        .entry(REGION_NODE_LABEL.into())
        .or_insert_with(|| spec.region.clone());
    Pod {
        metadata: ObjectMeta {
            name: name.clone(),
            generate_name: name.is_none().then(|| format!("{}-", pool.name_any())),
            namespace: pool.namespace(),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            owner_references: pool.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        spec: Some(PodSpec {
            // Recorders never talk to the API server: the operator drives them.
            automount_service_account_token: Some(false),
            restart_policy: Some("Never".into()),
            node_selector: Some(node_selector),
            security_context: Some(pod_security_context()),
            termination_grace_period_seconds: Some(t.termination_grace_period_seconds()),
            volumes: Some(vec![token_volume(t), scratch_volume()]),
            containers: vec![recorder_container(t)],
            ..Default::default()
        }),
        status: None,
    }
}

/// Non-root with a fixed uid (whatever the image says), the runtime's default seccomp profile.
fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RECORDER_UID),
        run_as_group: Some(RECORDER_UID),
        fs_group: Some(RECORDER_UID),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Nothing beyond running the recorder: no capabilities, no privilege escalation, and a
/// read-only root file system (writes go to [`SCRATCH_DIR`]).
fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// On the node's disk, not in memory: the spool holds whole outputs while S3 is unreachable.
/// No size limit, since exceeding one evicts the pod and its recording; bound it with an
/// `ephemeral-storage` limit in the pool's resources instead.
fn scratch_volume() -> Volume {
    Volume {
        name: SCRATCH_VOLUME.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

/// `serve` reads its bearer token from a file, not the environment: the Secret key as a file.
fn token_volume(t: &RecorderTemplate) -> Volume {
    Volume {
        name: TOKEN_VOLUME.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(t.token_secret_ref.name.clone()),
            items: Some(vec![KeyToPath {
                key: t.token_secret_ref.key.clone(),
                path: TOKEN_FILE.into(),
                ..Default::default()
            }]),
            default_mode: Some(0o440),
            optional: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `vcs-recorder serve` on the template's port, with the token mounted, the scratch folder as
/// TMPDIR and HOME, a stop grace that ends before the pod's, and the control API's own health
/// endpoints as probes.
fn recorder_container(t: &RecorderTemplate) -> Container {
    let port = t.port();
    let probe = |path: &str| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(port),
            ..Default::default()
        }),
        period_seconds: Some(2),
        ..Default::default()
    };
    Container {
        name: "recorder".into(),
        image: Some(t.image.clone()),
        image_pull_policy: t.image_pull_policy.clone(),
        args: Some(vec![
            "serve".into(),
            "--listen".into(),
            format!("0.0.0.0:{port}"),
            "--token-file".into(),
            format!("{TOKEN_DIR}/{TOKEN_FILE}"),
            "--stop-grace-secs".into(),
            (t.termination_grace_period_seconds() - EXIT_MARGIN_SECS)
                .max(1)
                .to_string(),
        ]),
        env: Some(
            [("TMPDIR", SCRATCH_DIR), ("HOME", SCRATCH_DIR)]
                .into_iter()
                .map(|(name, value)| EnvVar {
                    name: name.into(),
                    value: Some(value.into()),
                    ..Default::default()
                })
                .collect(),
        ),
        ports: Some(vec![ContainerPort {
            container_port: port,
            name: Some("control".into()),
            ..Default::default()
        }]),
        volume_mounts: Some(vec![
            VolumeMount {
                name: TOKEN_VOLUME.into(),
                mount_path: TOKEN_DIR.into(),
                read_only: Some(true),
                ..Default::default()
            },
            VolumeMount {
                name: SCRATCH_VOLUME.into(),
                mount_path: SCRATCH_DIR.into(),
                ..Default::default()
            },
        ]),
        security_context: Some(container_security_context()),
        resources: t.resources.clone(),
        readiness_probe: Some(probe("/readyz")),
        liveness_probe: Some(probe("/healthz")),
        // `serve` warms up before it listens, which takes seconds, more on a busy node (a
        // burst of cold pods): the liveness probe alone would kill it mid-warm-up. Liveness
        // starts once this has answered; the recorder gets two minutes to.
        startup_probe: Some(Probe {
            period_seconds: Some(1),
            failure_threshold: Some(STARTUP_SECONDS),
            ..probe("/healthz")
        }),
        ..Default::default()
    }
}

/// Pod is Ready with an IP.
pub fn is_ready(pod: &Pod) -> bool {
    let Some(st) = pod.status.as_ref() else {
        return false;
    };
    st.pod_ip.is_some()
        && st
            .conditions
            .as_ref()
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The pod ran and ended (a recorder exits after its job).
pub fn is_finished(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p == "Succeeded" || p == "Failed")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ResourceRequirements;

    use super::*;

    #[test]
    fn pods_are_labelled_owned_and_placed_in_the_region() {
        let mut pool = RecorderPool::test("eu", "eu-west", 2, 10);
        pool.metadata.uid = Some("u1".into());
        let pod = recorder_pod(&pool, None, BTreeMap::new(), BTreeMap::new());
        let labels = pod.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[LABEL_POOL], "eu");
        assert_eq!(labels[LABEL_REGION], "eu-west");
        assert_eq!(labels[LABEL_STATE], "idle");
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("eu-"));
        let spec = pod.spec.unwrap();
        assert_eq!(spec.node_selector.unwrap()[REGION_NODE_LABEL], "eu-west");
        assert_eq!(spec.automount_service_account_token, Some(false));
        // The flags `vcs-recorder serve` takes, with the token from the mounted Secret.
        let c = &spec.containers[0];
        assert_eq!(
            c.args.as_deref().unwrap(),
            [
                "serve",
                "--listen",
                "0.0.0.0:8080",
                "--token-file",
                "/var/run/secrets/vcs.dev/token",
                "--stop-grace-secs",
                "300"
            ]
        );
        // Liveness waits for the start, which may be slow on a busy node.
        let startup = c.startup_probe.as_ref().unwrap();
        assert_eq!(
            startup.period_seconds.unwrap() * startup.failure_threshold.unwrap(),
            120
        );
        assert_eq!(
            startup.http_get.as_ref().unwrap().path.as_deref(),
            Some("/healthz")
        );
        let secret = spec.volumes.as_ref().unwrap()[0].secret.as_ref().unwrap();
        assert_eq!(secret.secret_name.as_deref(), Some("recorder-token"));
        assert_eq!(secret.items.as_ref().unwrap()[0].path, "token");
        assert_eq!(
            c.volume_mounts.as_ref().unwrap()[0].mount_path,
            "/var/run/secrets/vcs.dev"
        );
        assert_eq!(
            pod.metadata.owner_references.unwrap()[0].controller,
            Some(true)
        );
    }

    fn pod_of(pool: &RecorderPool) -> PodSpec {
        recorder_pod(pool, None, BTreeMap::new(), BTreeMap::new())
            .spec
            .unwrap()
    }

    /// What the `restricted` Pod Security Standard checks, field by field (the e2e test
    /// `pod_security` has the real API server's admission judge the same pod).
    #[test]
    fn pods_are_locked_down_for_the_restricted_profile() {
        let spec = pod_of(&RecorderPool::test("eu", "eu-west", 2, 10));
        let pod_sc = spec.security_context.as_ref().unwrap();
        assert_eq!(pod_sc.run_as_non_root, Some(true));
        assert_eq!(pod_sc.run_as_user, Some(65532));
        assert_eq!(pod_sc.run_as_group, Some(65532));
        assert_eq!(
            pod_sc.fs_group,
            Some(65532),
            "the 0440 token must be readable"
        );
        assert_eq!(
            pod_sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
            Some("RuntimeDefault")
        );
        assert_eq!(spec.automount_service_account_token, Some(false));
        assert!(spec.host_network.is_none() && spec.host_pid.is_none() && spec.host_ipc.is_none());

        let c = &spec.containers[0];
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.privileged, None);
        let caps = sc.capabilities.as_ref().unwrap();
        assert_eq!(caps.drop.as_deref(), Some(&["ALL".to_string()][..]));
        assert_eq!(caps.add, None);

        // With the root read-only, /tmp (an emptyDir on disk) is where everything is written.
        let volumes = spec.volumes.as_ref().unwrap();
        let scratch = volumes.iter().find(|v| v.name == SCRATCH_VOLUME).unwrap();
        assert_eq!(scratch.empty_dir, Some(EmptyDirVolumeSource::default()));
        assert!(
            volumes
                .iter()
                .all(|v| v.empty_dir.is_some() || v.secret.is_some()),
            "only emptyDir and Secret volumes: {volumes:?}"
        );
        let mounts = c.volume_mounts.as_ref().unwrap();
        let tmp = mounts.iter().find(|m| m.name == SCRATCH_VOLUME).unwrap();
        assert_eq!((tmp.mount_path.as_str(), tmp.read_only), ("/tmp", None));
        let env: BTreeMap<&str, &str> = c
            .env
            .iter()
            .flatten()
            .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(env["TMPDIR"], "/tmp");
        assert_eq!(env["HOME"], "/tmp");
    }

    #[test]
    fn grace_period_and_resources_come_from_the_pool() {
        let mut pool = RecorderPool::test("eu", "eu-west", 2, 10);
        let default = pod_of(&pool);
        assert_eq!(default.termination_grace_period_seconds, Some(330));

        pool.spec.template.termination_grace_period_seconds = Some(120);
        let resources: ResourceRequirements = serde_json::from_value(serde_json::json!({
            "requests": {"cpu": "2", "memory": "2Gi", "ephemeral-storage": "10Gi"},
            "limits": {"memory": "4Gi"},
        }))
        .unwrap();
        pool.spec.template.resources = Some(resources.clone());
        let spec = pod_of(&pool);
        assert_eq!(spec.termination_grace_period_seconds, Some(120));
        let c = &spec.containers[0];
        assert_eq!(c.resources.as_ref(), Some(&resources));
        // The recorder stops waiting for its outputs 30 s before the kubelet would kill it.
        let args = c.args.as_deref().unwrap();
        let grace = args.iter().position(|a| a == "--stop-grace-secs").unwrap();
        assert_eq!(args[grace + 1], "90");
    }
}
