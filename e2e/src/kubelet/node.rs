//! The stand-in's Node, kept alive as a kubelet keeps its own: registered with its labels and
//! capacity, reported Ready, and renewing its Lease in `kube-node-lease` (owned by the Node, so
//! the garbage collector removes it with the Node). Without the renewals the real
//! node-lifecycle controller marks the Node unreachable and taints it, and its pods are evicted.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

/// The namespace of node Leases.
const LEASE_NAMESPACE: &str = "kube-node-lease";
/// How long a Lease lasts, and how often it is renewed (the kubelet's defaults).
pub const LEASE_SECONDS: i32 = 40;
pub const RENEW_EVERY: Duration = Duration::from_secs(10);

/// What the Node says about itself.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `cpu`, `memory`, `pods`, `ephemeral-storage`: what the scheduler may place here.
    pub capacity: BTreeMap<String, String>,
}

impl NodeSpec {
    /// A Node in `region` with room for `pods` pods and a generous CPU and memory capacity: the
    /// processes share this machine, so the capacity only has to let the scheduler place what
    /// the tests ask for.
    pub fn new(name: &str, region: &str, pods: u32) -> Self {
        let labels = BTreeMap::from([
            ("kubernetes.io/hostname".to_string(), name.to_string()),
            ("kubernetes.io/os".to_string(), "linux".to_string()),
            (
                "kubernetes.io/arch".to_string(),
                std::env::consts::ARCH.replace("x86_64", "amd64"),
            ),
            (
                "topology.kubernetes.io/region".to_string(),
                region.to_string(),
            ),
            ("vcs.dev/kubelet-stand-in".to_string(), "true".to_string()),
        ]);
        let capacity = BTreeMap::from([
            ("cpu".to_string(), "64".to_string()),
            ("memory".to_string(), "256Gi".to_string()),
            ("pods".to_string(), pods.to_string()),
            ("ephemeral-storage".to_string(), "100Gi".to_string()),
        ]);
        Self {
            name: name.into(),
            labels,
            capacity,
        }
    }
}

fn conditions(now: Timestamp) -> serde_json::Value {
    let c = |type_: &str, status: &str, reason: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": "kubelet stand-in",
               "lastHeartbeatTime": Time(now), "lastTransitionTime": Time(now)})
    };
    json!([
        c("Ready", "True", "KubeletReady"),
        c("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        c("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        c("PIDPressure", "False", "KubeletHasSufficientPID"),
    ])
}

/// Creates (or takes over) the Node, reports it Ready and takes its Lease.
pub async fn register(client: &Client, spec: &NodeSpec) -> Result<Node, kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": spec.name, "labels": spec.labels},
        "spec": {},
    }))
    .expect("a valid Node");
    let node = match nodes.create(&PostParams::default(), &node).await {
        Ok(n) => n,
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let patch = Patch::Merge(json!({"metadata": {"labels": spec.labels}}));
            nodes
                .patch(&spec.name, &PatchParams::default(), &patch)
                .await?
        }
        Err(e) => return Err(e),
    };
    let version = client
        .apiserver_version()
        .await
        .map(|v| v.git_version)
        .unwrap_or_else(|_| "v0.0.0".into());
    let now = Timestamp::now();
    let status = json!({"status": {
        "capacity": spec.capacity,
        "allocatable": spec.capacity,
        "conditions": conditions(now),
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": spec.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        "nodeInfo": {
            "architecture": std::env::consts::ARCH, "operatingSystem": "linux",
            "kubeletVersion": version, "kubeProxyVersion": "", "containerRuntimeVersion": "vcs-e2e://1",
            "kernelVersion": "", "osImage": "kubelet stand-in (vcs-e2e)", "machineID": "", "systemUUID": "", "bootID": "",
        },
    }});
    nodes
        .patch_status(&spec.name, &PatchParams::default(), &Patch::Merge(status))
        .await?;
    renew_lease(client, &node).await?;
    Ok(node)
}

/// Renews (or creates) the Node's Lease.
pub async fn renew_lease(client: &Client, node: &Node) -> Result<(), kube::Error> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let name = node.name_any();
    let now = MicroTime(Timestamp::now());
    let patch = json!({"spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now}});
    match leases
        .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => {
            let lease: Lease = serde_json::from_value(json!({
                "metadata": {"name": name, "ownerReferences": [{
                    "apiVersion": "v1", "kind": "Node", "name": name, "uid": node.uid(),
                }]},
                "spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now},
            }))
            .expect("a valid Lease");
            leases
                .create(&PostParams::default(), &lease)
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// Refreshes the Node's conditions (their heartbeat times), as the kubelet's status updates do.
pub async fn report_ready(client: &Client, name: &str) -> Result<(), kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let patch = Patch::Merge(json!({"status": {"conditions": conditions(Timestamp::now())}}));
    nodes
        .patch_status(name, &PatchParams::default(), &patch)
        .await
        .map(|_| ())
}

/// Waits until the Node is Ready and carries no taint that keeps pods off it (the
/// node-lifecycle controller removes `not-ready` a few seconds after it sees the Node Ready).
pub async fn wait_schedulable(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> Result<(), String> {
    let nodes: Api<Node> = Api::all(client.clone());
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let node = nodes
            .get(name)
            .await
            .map_err(|e| format!("reading Node {name}: {e}"))?;
        let taints: Vec<String> = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
            .map(|t| t.key)
            .collect();
        if taints.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "Node {name} still has taints {taints:?} after {timeout:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Deletes the Node (its Lease goes with it, by owner).
pub async fn unregister(client: &Client, name: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    if let Err(e) = nodes.delete(name, &DeleteParams::background()).await {
        eprintln!("kubelet stand-in: deleting Node {name}: {e}");
    }
}
