//! `docs/baseline-params.md`'s table of params is generated from the built-in `baseline`
//! composition's declared params and kept fresh here; regenerate it with
//! `VCS_UPDATE_DOCS=1 cargo test --workspace --test docs_baseline_params`.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// Everything after this line in the page is generated.
const MARKER: &str = "<!-- generated below by recorder/tests/docs_baseline_params.rs -->";

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() => "`\"\"`".into(),
        Value::String(s) => format!("`{}`", s.replace('|', "\\|").replace('\n', "\\n")),
        Value::Null => String::new(),
        other => format!("`{other}`"),
    }
}

fn table(interface: &Value) -> String {
    let mut out = String::from(
        "| param id | type | default | values / range / step | help |\n|---|---|---|---|---|\n",
    );
    for p in interface["params"].as_array().expect("declared params") {
        let mut allowed = Vec::new();
        if let Some(values) = p["values"].as_array() {
            allowed.push(values.iter().map(cell).collect::<Vec<_>>().join(", "));
        }
        for key in ["min", "max", "step"] {
            if let Some(v) = p.get(key) {
                allowed.push(format!("{key} {v}"));
            }
        }
        writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            p["id"].as_str().unwrap_or_default(),
            p["type"].as_str().unwrap_or_default(),
            cell(&p["defaultValue"]),
            allowed.join("; "),
            p["shortHelpText"]
                .as_str()
                .unwrap_or_default()
                .replace('|', "\\|")
        )
        .expect("write to a string");
    }
    out
}

#[test]
fn baseline_params_page_is_fresh() {
    let engine = vcs_engine::Engine::open("baseline", None, 1280, 720, 30).expect("baseline");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/baseline-params.md");
    let page = std::fs::read_to_string(&path).expect("docs/baseline-params.md");
    let (prose, _) = page
        .split_once(MARKER)
        .expect("the page has the generated-table marker");
    let want = format!("{prose}{MARKER}\n\n{}", table(engine.interface()));
    if std::env::var_os("VCS_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).expect("write docs/baseline-params.md");
        return;
    }
    assert!(
        page == want,
        "{} is stale: the baseline composition's params changed. Regenerate it with \
         `VCS_UPDATE_DOCS=1 cargo test --workspace --test docs_baseline_params` and commit it.",
        path.display()
    );
}
