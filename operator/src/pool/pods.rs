//! The recorder pods a pool makes: labels, node selection for the region, the token.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, HTTPGetAction, KeyToPath, Pod, PodSpec, Probe, SecretVolumeSource,
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
            volumes: Some(vec![token_volume(t)]),
            containers: vec![recorder_container(t)],
            ..Default::default()
        }),
        status: None,
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

/// `vcs-recorder serve` on the template's port, with the token mounted and the control API's
/// own health endpoints as probes.
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
        ]),
        ports: Some(vec![ContainerPort {
            container_port: port,
            name: Some("control".into()),
            ..Default::default()
        }]),
        volume_mounts: Some(vec![VolumeMount {
            name: TOKEN_VOLUME.into(),
            mount_path: TOKEN_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        }]),
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
                "/var/run/secrets/vcs.dev/token"
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
}
