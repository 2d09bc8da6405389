//! A pod's volumes as local directories, filled as a kubelet fills them: Secret and ConfigMap
//! keys as files, `emptyDir` empty, `downwardAPI` fields, and `projected` volumes including the
//! ServiceAccount token (a TokenRequest bound to the pod, as the kubelet makes it), the
//! cluster's CA bundle and the namespace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{
    ConfigMap, DownwardAPIVolumeFile, KeyToPath, ObjectFieldSelector, Pod, Secret, ServiceAccount,
    Volume,
};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};

/// The files of one volume source: path in the volume → bytes.
type Files = BTreeMap<String, Vec<u8>>;

/// Fills every volume of `pod` under `dir/volumes/<name>/` and returns the local directory of
/// each by volume name. An error says which volume and why; the kubelet keeps such a pod in
/// `ContainerCreating` and tries again.
pub async fn prepare(
    client: &Client,
    pod: &Pod,
    dir: &Path,
) -> Result<BTreeMap<String, PathBuf>, String> {
    let mut out = BTreeMap::new();
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    for v in &volumes {
        let files = files_of(client, pod, v)
            .await
            .map_err(|e| format!("volume {:?}: {e}", v.name))?;
        let local = dir.join("volumes").join(&v.name);
        std::fs::create_dir_all(&local).map_err(|e| format!("{}: {e}", local.display()))?;
        for (path, bytes) in files {
            let file = local.join(&path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::write(&file, bytes).map_err(|e| format!("{}: {e}", file.display()))?;
        }
        out.insert(v.name.clone(), local);
    }
    Ok(out)
}

async fn files_of(client: &Client, pod: &Pod, v: &Volume) -> Result<Files, String> {
    let ns = pod.namespace().unwrap_or_default();
    if v.empty_dir.is_some() {
        return Ok(Files::new());
    }
    if let Some(s) = &v.secret {
        let name = s.secret_name.clone().unwrap_or_default();
        return secret_files(
            client,
            &ns,
            &name,
            s.items.as_deref(),
            s.optional.unwrap_or(false),
        )
        .await;
    }
    if let Some(c) = &v.config_map {
        return config_map_files(
            client,
            &ns,
            &c.name,
            c.items.as_deref(),
            c.optional.unwrap_or(false),
        )
        .await;
    }
    if let Some(d) = &v.downward_api {
        return downward_files(pod, d.items.as_deref().unwrap_or_default());
    }
    if let Some(p) = &v.projected {
        let mut files = Files::new();
        for src in p.sources.iter().flatten() {
            if let Some(t) = &src.service_account_token {
                let token =
                    service_account_token(client, pod, t.audience.clone(), t.expiration_seconds)
                        .await?;
                files.insert(t.path.clone(), token.into_bytes());
            }
            if let Some(c) = &src.config_map {
                let optional = c.optional.unwrap_or(false);
                files.extend(
                    config_map_files(client, &ns, &c.name, c.items.as_deref(), optional).await?,
                );
            }
            if let Some(s) = &src.secret {
                let optional = s.optional.unwrap_or(false);
                files.extend(
                    secret_files(client, &ns, &s.name, s.items.as_deref(), optional).await?,
                );
            }
            if let Some(d) = &src.downward_api {
                files.extend(downward_files(pod, d.items.as_deref().unwrap_or_default())?);
            }
        }
        return Ok(files);
    }
    Err("the kubelet stand-in runs only secret, configMap, emptyDir, downwardAPI and projected volumes".into())
}

/// `items` picks and renames keys; without it every key is a file of its name.
fn pick(
    data: BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    what: &str,
) -> Result<Files, String> {
    let Some(items) = items else { return Ok(data) };
    items
        .iter()
        .map(|i| match data.get(&i.key) {
            Some(b) => Ok((i.path.clone(), b.clone())),
            None => Err(format!("{what} has no key {:?}", i.key)),
        })
        .collect()
}

async fn secret_files(
    client: &Client,
    ns: &str,
    name: &str,
    items: Option<&[KeyToPath]>,
    optional: bool,
) -> Result<Files, String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let Some(secret) = api
        .get_opt(name)
        .await
        .map_err(|e| format!("Secret {name}: {e}"))?
    else {
        return if optional {
            Ok(Files::new())
        } else {
            Err(format!("Secret {name} not found"))
        };
    };
    let mut data: BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    for (k, v) in secret.string_data.unwrap_or_default() {
        data.insert(k, v.into_bytes());
    }
    pick(data, items, &format!("Secret {name}"))
}

async fn config_map_files(
    client: &Client,
    ns: &str,
    name: &str,
    items: Option<&[KeyToPath]>,
    optional: bool,
) -> Result<Files, String> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let Some(cm) = api
        .get_opt(name)
        .await
        .map_err(|e| format!("ConfigMap {name}: {e}"))?
    else {
        return if optional {
            Ok(Files::new())
        } else {
            Err(format!("ConfigMap {name} not found"))
        };
    };
    let mut data: BTreeMap<String, Vec<u8>> = cm
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect();
    for (k, v) in cm.binary_data.unwrap_or_default() {
        data.insert(k, v.0);
    }
    pick(data, items, &format!("ConfigMap {name}"))
}

fn downward_files(pod: &Pod, items: &[DownwardAPIVolumeFile]) -> Result<Files, String> {
    let mut files = Files::new();
    for i in items {
        let Some(f) = &i.field_ref else {
            return Err(format!(
                "downwardAPI {}: only fieldRef items are supported",
                i.path
            ));
        };
        files.insert(i.path.clone(), field(pod, f)?.into_bytes());
    }
    Ok(files)
}

/// The value of a `fieldRef` of `pod`, as the downward API gives it.
pub fn field(pod: &Pod, f: &ObjectFieldSelector) -> Result<String, String> {
    let path = f.field_path.as_str();
    let label = |map: &BTreeMap<String, String>, prefix: &str| {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(map.get(key).cloned().unwrap_or_default())
    };
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let value = match path {
        "metadata.name" => Some(pod.name_any()),
        "metadata.namespace" => pod.namespace(),
        "metadata.uid" => pod.uid(),
        "spec.nodeName" => spec.node_name,
        "spec.serviceAccountName" => spec.service_account_name,
        "status.podIP" => status.pod_ip,
        "status.hostIP" => status.host_ip,
        _ => label(pod.labels(), "metadata.labels['")
            .or_else(|| label(pod.annotations(), "metadata.annotations['")),
    };
    value.ok_or_else(|| format!("fieldRef {path} is not supported by the kubelet stand-in"))
}

/// A token of the pod's ServiceAccount bound to the pod (deleting the pod revokes it), as the
/// kubelet requests for a projected `serviceAccountToken` source.
async fn service_account_token(
    client: &Client,
    pod: &Pod,
    audience: Option<String>,
    expiration: Option<i64>,
) -> Result<String, String> {
    let ns = pod.namespace().unwrap_or_default();
    let sa = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_else(|| "default".into());
    let request: TokenRequest = serde_json::from_value(serde_json::json!({
        "spec": {
            "audiences": audience.into_iter().collect::<Vec<_>>(),
            "expirationSeconds": expiration.unwrap_or(3607),
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod.name_any(), "uid": pod.uid()},
        }
    }))
    .expect("a valid TokenRequest");
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let answer = api
        .create_token_request(&sa, &PostParams::default(), &request)
        .await
        .map_err(|e| format!("TokenRequest for ServiceAccount {ns}/{sa}: {e}"))?;
    answer
        .status
        .and_then(|s| s.token)
        .ok_or_else(|| format!("TokenRequest for ServiceAccount {ns}/{sa} returned no token"))
}
