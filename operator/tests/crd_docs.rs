//! `docs/crds.md`, the reference of the CRDs' fields, is generated from the CRD schemas and kept
//! fresh here: the test fails when the schemas changed and the page was not regenerated with
//! `VCS_UPDATE_DOCS=1 cargo test --workspace --test crd_docs`.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;
use vcs_operator::api::crds;

/// One table row per field, depth first, with its path from the resource's root.
fn fields(schema: &Value, path: &str, required: bool, rows: &mut Vec<[String; 4]>) {
    let kind = match schema["type"].as_str() {
        Some("array") => format!(
            "array of {}",
            schema["items"]["type"].as_str().unwrap_or("any")
        ),
        Some(t) => t.to_string(),
        None if schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true) => {
            "any JSON".into()
        }
        None => "any".into(),
    };
    let mut kind = kind;
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("`{}`", v.as_str().unwrap_or(&v.to_string())))
            .collect();
        kind = format!("{kind}: {}", values.join(", "));
    }
    for (key, word) in [("minimum", "≥"), ("maximum", "≤")] {
        if let Some(n) = schema.get(key).and_then(Value::as_f64) {
            kind = format!("{kind} {word} {n}");
        }
    }
    if !path.is_empty() {
        let description = schema["description"]
            .as_str()
            .unwrap_or("")
            .replace('\n', " ")
            .replace('|', "\\|");
        rows.push([
            format!("`{path}`"),
            kind,
            if required { "yes" } else { "" }.to_string(),
            description,
        ]);
    }
    let required_here: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = schema["properties"].as_object() {
        for (name, sub) in props {
            let sub_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            fields(sub, &sub_path, required_here.contains(&name.as_str()), rows);
        }
    }
    if let Some(items) = schema.get("items")
        && items.get("properties").is_some()
    {
        fields(items, &format!("{path}[]"), false, rows);
    }
    if let Some(values) = schema.get("additionalProperties")
        && values.get("properties").is_some()
    {
        fields(values, &format!("{path}.<key>"), false, rows);
    }
}

fn page() -> String {
    let mut out = String::from(
        "# Custom resources: field reference\n\n\
         Generated from the CRD schemas by `operator/tests/crd_docs.rs` (which fails when this page \
         is stale; regenerate with `VCS_UPDATE_DOCS=1 cargo test --workspace --test crd_docs`). \
         The manifests themselves are `crds/*.yaml` (copied into `charts/vcs/crds/`), written by `cargo run -p vcs-operator --bin \
         crdgen`; what the operator does with these resources is in \
         [architecture.md](architecture.md) §6.\n",
    );
    for crd in crds() {
        let version = &crd.spec.versions[0];
        let schema = serde_json::to_value(
            version
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema
                .as_ref()
                .unwrap(),
        )
        .unwrap();
        write!(
            out,
            "\n## {} (`{}/{}`, {})\n\n",
            crd.spec.names.kind,
            crd.spec.group,
            version.name,
            match crd.spec.scope.as_str() {
                "Namespaced" => "namespaced",
                other => other,
            }
        )
        .unwrap();
        // kube's derive describes the root as "Auto-generated derived type ...": not for readers.
        if let Some(d) = schema["description"].as_str()
            && !d.starts_with("Auto-generated")
        {
            writeln!(out, "{}\n", d.replace('\n', " ")).unwrap();
        }
        out.push_str("| field | type | required | description |\n|---|---|---|---|\n");
        let mut rows = Vec::new();
        for part in ["spec", "status"] {
            if let Some(sub) = schema["properties"].get(part) {
                fields(sub, part, false, &mut rows);
            }
        }
        for [path, kind, required, description] in rows {
            writeln!(out, "| {path} | {kind} | {required} | {description} |").unwrap();
        }
    }
    out
}

#[test]
fn crd_reference_page_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/crds.md");
    let want = page();
    if std::env::var_os("VCS_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: the CRD schemas changed. Regenerate it with \
         `VCS_UPDATE_DOCS=1 cargo test --workspace --test crd_docs` and commit it.",
        path.display()
    );
}
