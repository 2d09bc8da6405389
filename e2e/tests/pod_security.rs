//! Recorder pods pass the `restricted` Pod Security Standard, judged by the real API server's
//! admission (issue 15): in a namespace labelled `pod-security.kubernetes.io/enforce=restricted`,
//! a server-side dry-run create of the pod the operator makes is admitted, the same pod without
//! its lock-down is refused (so admission really runs), and so is the chart's operator pod when
//! `helm` is on PATH. Dry runs need no node or kubelet. Skipped (and passing) without
//! `KUBECONFIG`.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde::Deserialize as _;
use serde_json::json;
use vcs_e2e::bins::workspace_root;
use vcs_e2e::cluster::{FIELD_MANAGER, TestNamespace, connect};
use vcs_operator::api::pool::RecorderPool;
use vcs_operator::pool::pods::recorder_pod;

/// Labels `ns` so that admission enforces the `restricted` standard at its latest version.
async fn enforce_restricted(client: &Client, ns: &str) {
    let labels = json!({"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }}});
    Api::<Namespace>::all(client.clone())
        .patch(ns, &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .unwrap_or_else(|e| panic!("labelling namespace {ns}: {e}"));
}

/// A server-side dry-run create: admission runs in full, nothing is stored.
async fn dry_run_create(client: &Client, ns: &str, pod: &Pod) -> Result<(), kube::Error> {
    let dry_run = PostParams {
        dry_run: true,
        field_manager: Some(FIELD_MANAGER.into()),
    };
    Api::<Pod>::namespaced(client.clone(), ns)
        .create(&dry_run, pod)
        .await
        .map(|_| ())
}

fn refused_by_pod_security(result: &Result<(), kube::Error>) -> bool {
    matches!(result, Err(kube::Error::Api(s)) if s.message.contains("violates PodSecurity"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorder_pods_pass_restricted_pod_security_admission() {
    let Some(client) = connect("recorder_pods_pass_restricted_pod_security_admission").await else {
        return;
    };
    let ns = TestNamespace::create(&client, "podsec").await;
    enforce_restricted(&client, &ns.name).await;

    let mut pool = RecorderPool::test("restricted", "local", 1, 8);
    pool.metadata.namespace = Some(ns.name.clone());
    let pod = recorder_pod(
        &pool,
        Some("recorder-restricted".into()),
        BTreeMap::new(),
        BTreeMap::new(),
    );
    let admitted = dry_run_create(&client, &ns.name, &pod).await;
    assert!(
        admitted.is_ok(),
        "the operator's recorder pod was refused in a restricted namespace: {admitted:?}"
    );

    // The control: without its container securityContext the same pod must be refused, or the
    // check above proves nothing.
    let mut loose = pod.clone();
    loose.metadata.name = Some("recorder-loose".into());
    for c in &mut loose.spec.as_mut().unwrap().containers {
        c.security_context = None;
    }
    let refused = dry_run_create(&client, &ns.name, &loose).await;
    assert!(
        refused_by_pod_security(&refused),
        "a recorder pod without its securityContext was not refused by PodSecurity: {refused:?}"
    );
}

/// The chart's Deployment, rendered by `helm template`, or `None` without helm.
fn chart_deployment() -> Option<Deployment> {
    let out = match Command::new("helm")
        .args(["template", "vcs-podsec"])
        .arg(workspace_root().join("charts/vcs"))
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "skipped: the chart's operator pod needs helm to render it ({e}); \
                 scripts/install-deps installs helm"
            );
            return None;
        }
    };
    assert!(
        out.status.success(),
        "helm template charts/vcs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("helm prints UTF-8");
    let deployment = serde_yaml_ng::Deserializer::from_str(&text)
        .filter_map(|doc| serde_yaml_ng::Value::deserialize(doc).ok())
        .find(|v| v.get("kind").and_then(|k| k.as_str()) == Some("Deployment"))
        .expect("the chart renders a Deployment");
    Some(serde_yaml_ng::from_value(deployment).expect("the chart's Deployment is one"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charts_operator_pod_passes_restricted_pod_security_admission() {
    let Some(client) =
        connect("the_charts_operator_pod_passes_restricted_pod_security_admission").await
    else {
        return;
    };
    let Some(deployment) = chart_deployment() else {
        return;
    };
    let ns = TestNamespace::create(&client, "podsec-chart").await;
    enforce_restricted(&client, &ns.name).await;
    // Admission refuses a pod whose service account does not exist.
    let name = deployment.name_any();
    let template = deployment.spec.template;
    let spec = template.spec.expect("a pod spec");
    let account = spec
        .service_account_name
        .clone()
        .expect("the operator runs as its own service account");
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": account}})).unwrap();
    Api::<ServiceAccount>::namespaced(client.clone(), &ns.name)
        .create(&PostParams::default(), &sa)
        .await
        .unwrap_or_else(|e| panic!("creating service account {account}: {e}"));

    let mut pod = Pod {
        metadata: template.metadata.unwrap_or_default(),
        spec: Some(spec),
        status: None,
    };
    pod.metadata.name = Some(format!("{name}-podsec"));
    let admitted = dry_run_create(&client, &ns.name, &pod).await;
    assert!(
        admitted.is_ok(),
        "the chart's operator pod was refused in a restricted namespace: {admitted:?}"
    );
}
