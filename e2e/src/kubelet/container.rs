//! Turning a pod's container into a local process: which binary its image stands for, its
//! arguments and environment with the container's view of the world mapped onto the host's,
//! and starting it with its log in a file.
//!
//! A container sees its volumes at their mount paths, a private `/tmp`, and its pod's own IP;
//! a host process sees none of that. So every argument and environment value is rewritten:
//! a mount path (at the start of a value or after `=`, `:` or `,`) becomes the volume's local
//! directory, `/tmp` the pod's private temporary directory, and a wildcard listen address
//! (`0.0.0.0:P`, `[::]:P`) the pod's own loopback address. Nothing else of the pod spec (its
//! securityContext, resources, image pull policy) changes how the process runs: it runs as the
//! current user, and those fields are tolerated, not enforced.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::api::Api;
use kube::{Client, ResourceExt};
use tokio::process::{Child, Command};

use super::volumes;

/// Where a container's in-cluster API credentials are mounted by the ServiceAccount admission.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// One "image": the workspace binary it stands for and the environment the image would set.
#[derive(Clone, Debug)]
pub struct Image {
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
}

/// The images the stand-in can run, by name (the last path segment of the repository, without
/// tag or digest: `ghcr.io/vcs-dev/vcs-recorder:0.1.0` is `vcs-recorder`).
#[derive(Clone, Debug, Default)]
pub struct Images {
    by_name: BTreeMap<String, Image>,
}

impl Images {
    pub fn with(mut self, name: &str, binary: PathBuf, env: &[(&str, &str)]) -> Self {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.by_name.insert(name.into(), Image { binary, env });
        self
    }

    pub fn resolve(&self, reference: &str) -> Option<&Image> {
        self.by_name.get(image_name(reference))
    }

    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }
}

/// `registry/path/name:tag@digest` → `name`.
pub fn image_name(reference: &str) -> &str {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

/// The container's view of paths and addresses, mapped onto the host.
#[derive(Clone, Debug)]
pub struct Rewrite {
    /// (path inside the container, local path), longest first.
    paths: Vec<(String, PathBuf)>,
    ip: Ipv4Addr,
}

impl Rewrite {
    pub fn new(mut paths: Vec<(String, PathBuf)>, ip: Ipv4Addr) -> Self {
        for (p, _) in &mut paths {
            while p.len() > 1 && p.ends_with('/') {
                p.pop();
            }
        }
        paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Self { paths, ip }
    }

    /// `s` as the host must read it.
    pub fn apply(&self, s: &str) -> String {
        let s = s
            .replace("0.0.0.0:", &format!("{}:", self.ip))
            .replace("[::]:", &format!("{}:", self.ip));
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        'scan: while i < s.len() {
            let at_boundary = i == 0 || matches!(s.as_bytes()[i - 1], b'=' | b':' | b',');
            if at_boundary {
                for (p, local) in &self.paths {
                    let rest = &s[i..];
                    let ends = rest.len() == p.len() || rest.as_bytes().get(p.len()) == Some(&b'/');
                    if rest.starts_with(p.as_str()) && ends {
                        out.push_str(&local.display().to_string());
                        i += p.len();
                        continue 'scan;
                    }
                }
            }
            let ch = s[i..].chars().next().expect("i is on a char boundary");
            out.push(ch);
            i += ch.len_utf8();
        }
        out
    }
}

/// Expands `$(VAR)` references to variables defined before, as the kubelet does in `command`,
/// `args` and `env` values; `$$` escapes a `$`; unknown references stay as written.
pub fn expand(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some(v) = vars.get(&inner[..end])
        {
            out.push_str(v);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A container's environment values from the pod and its namespace (`value`, `fieldRef`,
/// `secretKeyRef`, `configMapKeyRef`), in order.
pub async fn env_of(
    client: &Client,
    pod: &Pod,
    c: &Container,
) -> Result<Vec<(String, String)>, String> {
    let ns = pod.namespace().unwrap_or_default();
    let mut out = Vec::new();
    if c.env_from.as_ref().is_some_and(|e| !e.is_empty()) {
        return Err("envFrom is not supported by the kubelet stand-in".into());
    }
    for e in c.env.iter().flatten() {
        let value = match (&e.value, &e.value_from) {
            (Some(v), _) => v.clone(),
            (None, None) => String::new(),
            (None, Some(from)) => {
                if let Some(f) = &from.field_ref {
                    volumes::field(pod, f)?
                } else if let Some(k) = &from.secret_key_ref {
                    let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
                    let s = api
                        .get(&k.name)
                        .await
                        .map_err(|err| format!("env {}: Secret {}: {err}", e.name, k.name))?;
                    let bytes = s.data.unwrap_or_default().remove(&k.key).map(|b| b.0);
                    let text = bytes.map(|b| String::from_utf8_lossy(&b).into_owned());
                    text.ok_or_else(|| {
                        format!("env {}: Secret {} has no key {}", e.name, k.name, k.key)
                    })?
                } else if let Some(k) = &from.config_map_key_ref {
                    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
                    let cm = api
                        .get(&k.name)
                        .await
                        .map_err(|err| format!("env {}: ConfigMap {}: {err}", e.name, k.name))?;
                    let v = cm.data.unwrap_or_default().remove(&k.key);
                    v.ok_or_else(|| {
                        format!("env {}: ConfigMap {} has no key {}", e.name, k.name, k.key)
                    })?
                } else {
                    return Err(format!(
                        "env {}: only fieldRef, secretKeyRef and configMapKeyRef are supported",
                        e.name
                    ));
                }
            }
        };
        out.push((e.name.clone(), value));
    }
    Ok(out)
}

/// What to run for one container.
#[derive(Clone, Debug)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Set on top of the host's environment (less its cluster credentials).
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
}

/// The pod's sandbox on this host: its address, directory and volumes' local directories.
pub struct Sandbox {
    pub ip: Ipv4Addr,
    pub dir: PathBuf,
    pub volumes: BTreeMap<String, PathBuf>,
    /// The API server URL a process with a ServiceAccount token is given.
    pub api_server: Option<String>,
}

impl Sandbox {
    pub fn tmp(&self) -> PathBuf {
        self.dir.join("tmp")
    }
}

/// Plans container `c`: the binary of its image (or of `command[0]`), its arguments and
/// environment rewritten for the host, and a kubeconfig for its ServiceAccount token, if
/// mounted. `Err((reason, message))` as the container's waiting state says it.
pub fn plan(
    pod: &Pod,
    c: &Container,
    images: &Images,
    sandbox: &Sandbox,
    env: Vec<(String, String)>,
) -> Result<Launch, (&'static str, String)> {
    let image_ref = c.image.clone().unwrap_or_default();
    let not_here = |what: &str| {
        let known = images.names().join(", ");
        (
            "ErrImageNeverPull",
            format!("{what}: the kubelet stand-in runs only the workspace binaries ({known})"),
        )
    };
    let image = images
        .resolve(&image_ref)
        .ok_or_else(|| not_here(&image_ref))?;
    let mut mounts = Vec::new();
    let mut sa_dir = None;
    for m in c.volume_mounts.iter().flatten() {
        let Some(local) = sandbox.volumes.get(&m.name) else {
            return Err((
                "CreateContainerConfigError",
                format!("volumeMount {}: no such volume", m.name),
            ));
        };
        let local = match &m.sub_path {
            Some(sub) if !sub.is_empty() => local.join(sub),
            _ => local.clone(),
        };
        if m.mount_path.trim_end_matches('/') == SERVICE_ACCOUNT_DIR {
            sa_dir = Some(local.clone());
        }
        mounts.push((m.mount_path.clone(), local));
    }
    if !mounts
        .iter()
        .any(|(p, _)| p.trim_end_matches('/') == "/tmp")
    {
        mounts.push(("/tmp".into(), sandbox.tmp()));
    }
    let rewrite = Rewrite::new(mounts, sandbox.ip);
    // Variables for $(VAR): the image's, then the container's in order.
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut out_env = Vec::new();
    for (k, v) in image.env.iter().cloned().chain(env) {
        let v = rewrite.apply(&expand(&v, &vars));
        vars.insert(k.clone(), v.clone());
        out_env.push((k, v));
    }
    if !vars.contains_key("TMPDIR") {
        out_env.push(("TMPDIR".into(), sandbox.tmp().display().to_string()));
    }
    out_env.push(("HOSTNAME".into(), pod.name_any()));
    if let (Some(dir), Some(server)) = (sa_dir, &sandbox.api_server) {
        let path = sandbox.dir.join(format!("{}.kubeconfig", c.name));
        write_kubeconfig(&path, server, &dir, &pod.namespace().unwrap_or_default())
            .map_err(|e| ("CreateContainerConfigError", e))?;
        out_env.push(("KUBECONFIG".into(), path.display().to_string()));
    }
    let command: Vec<String> = c.command.clone().unwrap_or_default();
    let program = match command.first() {
        None => image.binary.clone(),
        Some(cmd) => {
            let name = Path::new(cmd)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(cmd);
            images
                .resolve(name)
                .map(|i| i.binary.clone())
                .ok_or_else(|| not_here(cmd))?
        }
    };
    let args = command
        .iter()
        .skip(1)
        .chain(c.args.iter().flatten())
        .map(|a| rewrite.apply(&expand(a, &vars)))
        .collect();
    Ok(Launch {
        program,
        args,
        env: out_env,
        cwd: sandbox.dir.clone(),
    })
}

/// A kubeconfig for a pod's ServiceAccount: the kubelet's projected token and CA bundle, and
/// the API server's URL (in a cluster the pod reaches it at the `kubernetes` Service, whose
/// address does not route on this host).
fn write_kubeconfig(path: &Path, server: &str, sa_dir: &Path, ns: &str) -> Result<(), String> {
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "in-cluster", "cluster": {
            "server": server,
            "certificate-authority": sa_dir.join("ca.crt"),
        }}],
        "users": [{"name": "service-account", "user": {"tokenFile": sa_dir.join("token")}}],
        "contexts": [{"name": "in-cluster", "context": {
            "cluster": "in-cluster", "user": "service-account", "namespace": ns,
        }}],
        "current-context": "in-cluster",
    });
    let text = serde_json::to_string_pretty(&doc).expect("a kubeconfig serialises");
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Starts `launch` with stdout and stderr appended to `log`.
pub fn spawn(launch: &Launch, log: &Path) -> Result<Child, String> {
    std::fs::create_dir_all(&launch.cwd).map_err(|e| format!("{}: {e}", launch.cwd.display()))?;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file
        .try_clone()
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let mut cmd = Command::new(&launch.program);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k == "KUBECONFIG" || k.starts_with("KUBERNETES_") {
            cmd.env_remove(k.as_ref());
        }
    }
    cmd.args(&launch.args)
        .envs(launch.env.iter().cloned())
        .current_dir(&launch.cwd)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", launch.program.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_drop_registry_tag_and_digest() {
        assert_eq!(
            image_name("ghcr.io/vcs-dev/vcs-recorder:0.1.0"),
            "vcs-recorder"
        );
        assert_eq!(
            image_name("localhost:5000/vcs-operator@sha256:ab"),
            "vcs-operator"
        );
        assert_eq!(image_name("vcs-recorder"), "vcs-recorder");
    }

    #[test]
    fn mount_paths_tmp_and_wildcard_addresses_are_mapped_to_the_host() {
        let r = Rewrite::new(
            vec![
                (
                    "/var/run/secrets/vcs.dev".into(),
                    PathBuf::from("/pods/p/volumes/token"),
                ),
                (
                    "/etc/vcs/".into(),
                    PathBuf::from("/pods/p/volumes/placement"),
                ),
                ("/tmp".into(), PathBuf::from("/pods/p/tmp")),
            ],
            Ipv4Addr::new(127, 3, 4, 5),
        );
        assert_eq!(r.apply("0.0.0.0:8080"), "127.3.4.5:8080");
        assert_eq!(
            r.apply("--metrics-addr=[::]:9090"),
            "--metrics-addr=127.3.4.5:9090"
        );
        assert_eq!(
            r.apply("/var/run/secrets/vcs.dev/token"),
            "/pods/p/volumes/token/token"
        );
        assert_eq!(
            r.apply("--placement-config=/etc/vcs/placement.yaml"),
            "--placement-config=/pods/p/volumes/placement/placement.yaml"
        );
        assert_eq!(r.apply("/tmp/vcs-spool"), "/pods/p/tmp/vcs-spool");
        // Only whole path components at the start of a value.
        assert_eq!(r.apply("/tmpfoo"), "/tmpfoo");
        assert_eq!(r.apply("x/tmp/y"), "x/tmp/y");
        assert_eq!(r.apply("127.0.0.1:80"), "127.0.0.1:80");
    }

    #[test]
    fn variable_references_expand_like_the_kubelets() {
        let vars = BTreeMap::from([("POD_NAME".to_string(), "p-1".to_string())]);
        assert_eq!(expand("--id=$(POD_NAME)", &vars), "--id=p-1");
        assert_eq!(
            expand("$(MISSING) $$(POD_NAME) $", &vars),
            "$(MISSING) $(POD_NAME) $"
        );
    }
}
