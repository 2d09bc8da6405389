//! The Helm chart `charts/vcs`, with the real `helm` 3 (`scripts/install-deps` installs it):
//! `helm lint`, and `helm template` for two regions renders, for each, an operator and pools of
//! that region with a placement table shared by both. Skipped (saying why) without `helm`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/vcs")
}

/// `helm` on PATH or in `~/.local/bin`, where `scripts/install-deps` puts it.
fn helm() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/bin"));
    }
    let found = dirs
        .into_iter()
        .map(|d| d.join("helm"))
        .find(|p| p.is_file());
    if found.is_none() {
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipped: helm not found on PATH or in ~/.local/bin; run scripts/install-deps"
        );
    }
    found
}

fn run(helm: &Path, args: &[&str]) -> String {
    let out = Command::new(helm).args(args).output().expect("helm runs");
    assert!(
        out.status.success(),
        "helm {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("helm prints UTF-8")
}

/// `helm template` of the chart for `region`, as JSON documents.
fn render(helm: &Path, region: &str, extra: &[&str]) -> Vec<Value> {
    let chart = chart().display().to_string();
    let release = format!("vcs-{region}");
    let set_region = format!("region={region}");
    let mut args = vec!["template", &release, &chart, "-n", "vcs", "--include-crds"];
    args.extend([
        "--set",
        &set_region,
        "--set",
        "recorder.tokenSecret.value=t0k3n",
    ]);
    args.extend(extra);
    let text = run(helm, &args);
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("helm renders YAML"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

#[test]
fn the_chart_lints_and_renders_one_operator_and_its_pools_per_region() {
    let Some(helm) = helm() else { return };
    let chart = chart().display().to_string();
    run(
        &helm,
        &["lint", &chart, "--set", "recorder.tokenSecret.value=x"],
    );
    for region in ["eu-west", "us-east"] {
        let docs = render(&helm, region, &[]);
        let deploy = of_kind(&docs, "Deployment");
        assert_eq!(deploy.len(), 1, "{region}: one operator Deployment");
        let args = deploy[0]["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
        assert!(
            args.contains(&format!("--region={region}")),
            "{region}: {args}"
        );
        let pools = of_kind(&docs, "RecorderPool");
        assert!(!pools.is_empty(), "{region}: the chart makes RecorderPools");
        for p in pools {
            assert_eq!(p["spec"]["region"], region, "{p:#}");
        }
        // Both regions share one placement table.
        let placement = of_kind(&docs, "ConfigMap")[0]["data"]["placement.yaml"].to_string();
        assert!(
            placement.contains("eu-west") && placement.contains("us-east"),
            "{placement}"
        );
        // Watching every namespace needs a ClusterRole; the CRDs ship with the chart.
        assert_eq!(of_kind(&docs, "ClusterRole").len(), 1, "{region}");
        let crds: Vec<&str> = of_kind(&docs, "CustomResourceDefinition")
            .iter()
            .filter_map(|c| c["metadata"]["name"].as_str())
            .collect();
        assert_eq!(crds.len(), 2, "{crds:?}");
    }
    // One namespace: a Role, and the operator runs only where it is told.
    let docs = render(
        &helm,
        "eu-west",
        &[
            "--set",
            "watchNamespace=apps",
            "--set",
            "nodeSelector.pool=ops",
        ],
    );
    assert!(of_kind(&docs, "ClusterRole").is_empty());
    assert_eq!(
        of_kind(&docs, "Role").len(),
        2,
        "the controllers' Role and the Lease's"
    );
    let deploy = of_kind(&docs, "Deployment")[0];
    assert_eq!(
        deploy["spec"]["template"]["spec"]["nodeSelector"]["pool"],
        "ops"
    );
}
