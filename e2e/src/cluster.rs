//! The cluster side: connecting (or skipping when there is none), applying `crds/` by
//! server-side apply, and a namespace per test that is deleted afterwards.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};

use vcs_operator::api::Recording;

use crate::bins::workspace_root;

/// Field manager of everything the e2e tests apply.
pub const FIELD_MANAGER: &str = "vcs-e2e";

/// A client for the cluster `KUBECONFIG` points at, or `None` after printing that `test` is
/// skipped because there is none.
pub async fn connect(test: &str) -> Option<Client> {
    if std::env::var_os("KUBECONFIG").is_none() {
        // Straight to stderr rather than eprintln!, which the test harness captures and hides
        // for passing tests: the skip must show in a plain `cargo test` run.
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipped: KUBECONFIG not set; e2e `{test}` needs a Kubernetes cluster (set KUBECONFIG \
             to run the e2e tier, see e2e/src/lib.rs)"
        );
        return None;
    }
    Some(client().await)
}

/// A client for the cluster `KUBECONFIG` points at, with the crypto provider installed first
/// (see `vcs_operator::tls`).
pub async fn client() -> Client {
    Client::try_from(config().await)
        .unwrap_or_else(|e| panic!("KUBECONFIG is set but no client could be made from it: {e}"))
}

/// The configuration `KUBECONFIG` gives (its API server URL is handed to the operator's pods).
pub async fn config() -> kube::Config {
    vcs_operator::tls::install_crypto_provider();
    kube::Config::infer()
        .await
        .unwrap_or_else(|e| panic!("no Kubernetes configuration from KUBECONFIG: {e}"))
}

/// Applies every `crds/*.yaml` and waits until the API server serves them.
pub async fn apply_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let dir = workspace_root().join("crds");
    let mut names = Vec::new();
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let crd: CustomResourceDefinition = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a CRD: {e}", path.display()));
        let name = crd.name_any();
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|e| panic!("applying {}: {e}", path.display()));
        names.push(name);
    }
    assert!(!names.is_empty(), "no CRDs in {}", dir.display());
    for name in names {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let crd = api.get(&name).await.expect("reading back an applied CRD");
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "CRD {name} not Established within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A namespace made for one test; deleted when dropped (after the operator is stopped, with
/// the Recordings' finalizers cleared) unless `VCS_E2E_KEEP` is set.
pub struct TestNamespace {
    pub name: String,
}

impl TestNamespace {
    /// Creates `vcs-e2e-<test>-<suffix>`.
    pub async fn create(client: &Client, test: &str) -> Self {
        Self::create_with_labels(client, test, &BTreeMap::new()).await
    }

    /// Creates `vcs-e2e-<test>-<suffix>` with `labels` besides the e2e one (for example
    /// `pod-security.kubernetes.io/enforce: restricted`).
    pub async fn create_with_labels(
        client: &Client,
        test: &str,
        labels: &BTreeMap<String, String>,
    ) -> Self {
        let suffix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_millis()
            % 1_000_000;
        let name = format!("vcs-e2e-{test}-{suffix}");
        let mut labels = labels.clone();
        labels.insert("app.kubernetes.io/part-of".into(), "vcs-e2e".into());
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": labels}
        }))
        .expect("a valid Namespace");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
        eprintln!("e2e namespace: {name}");
        Self { name }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if std::env::var_os("VCS_E2E_KEEP").is_some() {
            eprintln!("keeping namespace {} (VCS_E2E_KEEP)", self.name);
            return;
        }
        // Drop may run inside the test's runtime, which must not be blocked on; a thread with
        // its own runtime and client does the deletion.
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for cleanup");
            rt.block_on(async {
                if let Ok(client) = Client::try_from(config().await) {
                    // The operator is gone by now: without this the Recordings' finalizer
                    // would hold the namespace in Terminating for ever.
                    let recs: Api<Recording> = Api::namespaced(client.clone(), &name);
                    let unfinalize =
                        Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}}));
                    for r in recs
                        .list(&ListParams::default())
                        .await
                        .map(|l| l.items)
                        .unwrap_or_default()
                    {
                        let _ = recs
                            .patch(&r.name_any(), &PatchParams::default(), &unfinalize)
                            .await;
                    }
                    let api: Api<Namespace> = Api::all(client);
                    if let Err(e) = api.delete(&name, &DeleteParams::background()).await {
                        eprintln!("could not delete namespace {name}: {e}");
                    }
                }
            });
        });
        let _ = done.join();
    }
}
