//! The CRD manifests: checked in and fresh, structural, and their CEL rules reject what they
//! should (evaluated with kube's client-side CEL validator over the generated schema).
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};
use vcs_job::{CompositionSpec, JobSpec};
use vcs_operator::api::{RecorderPool, Recording, crd_yaml, crds, structural_problems};

/// The OpenAPI schema of a CRD's (only) version.
fn schema(crd: &CustomResourceDefinition) -> Value {
    let validation = crd.spec.versions[0].schema.as_ref().unwrap();
    serde_json::to_value(validation.open_api_v3_schema.as_ref().unwrap()).unwrap()
}

fn schema_of(kind: &str) -> Value {
    schema(
        &crds()
            .into_iter()
            .find(|c| c.spec.names.kind == kind)
            .unwrap(),
    )
}

fn check(kind: &str, obj: &Value, old: Option<&Value>) -> Result<(), String> {
    kube::core::cel::Validator::new()
        .validate(&schema_of(kind), obj, old)
        .map_err(|e| format!("{e:?}"))
}

#[test]
fn checked_in_crds_match_the_types() {
    // `crds/` for `kubectl apply`, and the chart's copy, which `helm install` applies.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let regenerate = std::env::var_os("VCS_REGENERATE_CRDS").is_some();
    for dir in ["crds", "charts/vcs/crds"] {
        for (name, yaml) in crd_yaml() {
            let path = root.join(dir).join(&name);
            if regenerate {
                std::fs::create_dir_all(root.join(dir)).unwrap();
                std::fs::write(&path, &yaml).unwrap();
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == yaml,
                "{dir}/{name} is stale: run `cargo run -p vcs-operator --bin crdgen` (or VCS_REGENERATE_CRDS=1 cargo test -p vcs-operator --test crds) and commit it"
            );
        }
        // Nothing else in the folder: a CRD removed from the types goes from both.
        let files = std::fs::read_dir(root.join(dir)).unwrap().count();
        assert_eq!(
            files,
            crd_yaml().len(),
            "{dir} holds files that are not generated CRDs"
        );
    }
}

#[test]
fn schemas_are_structural() {
    for crd in crds() {
        let schema = schema(&crd);
        let problems = structural_problems(&schema);
        assert!(
            problems.is_empty(),
            "{}: {problems:#?}",
            crd.spec.names.kind
        );
        let text = schema.to_string();
        assert!(
            text.contains("x-kubernetes-validations"),
            "{} has no CEL rules",
            crd.spec.names.kind
        );
        // Free-form params keep their values.
        if crd.spec.names.kind == "Recording" {
            let params = schema
                .pointer("/properties/spec/properties/composition/properties/params")
                .unwrap();
            assert_eq!(
                params["x-kubernetes-preserve-unknown-fields"],
                json!(true),
                "{params}"
            );
        }
    }
    assert!(
        structural_problems(&json!({"type":"object","properties":{"a":{}}}))
            .iter()
            .any(|p| p.contains(".a"))
    );
}

#[test]
fn names_columns_and_subresources() {
    let rec = crds()
        .into_iter()
        .find(|c| c.spec.names.kind == "Recording")
        .unwrap();
    assert_eq!(rec.spec.names.short_names, Some(vec!["rec".to_string()]));
    let cols: Vec<String> = rec.spec.versions[0]
        .additional_printer_columns
        .clone()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        cols,
        ["Region", "Launch", "Recording", "Result", "Started", "Age"]
    );
    let pool = crds()
        .into_iter()
        .find(|c| c.spec.names.kind == "RecorderPool")
        .unwrap();
    assert_eq!(pool.spec.names.short_names, Some(vec!["rpool".to_string()]));
    let sub = pool.spec.versions[0].subresources.clone().unwrap();
    assert!(sub.status.is_some());
    assert_eq!(sub.scale.unwrap().spec_replicas_path, ".spec.minReplicas");
}

fn recording() -> Value {
    serde_json::to_value(Recording::test("r1")).unwrap()
}

#[test]
fn valid_recording_passes_the_rules() {
    check("Recording", &recording(), None).unwrap();
    check(
        "RecorderPool",
        &serde_json::to_value(RecorderPool::test("p", "eu-west", 2, 10)).unwrap(),
        None,
    )
    .unwrap();
}

/// The README's Recording, as a user would `kubectl apply` it.
#[test]
fn the_example_recording_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recording.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let rec: Recording =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    check("Recording", &serde_json::to_value(&rec).unwrap(), None).unwrap();
    vcs_operator::recording::job::validate(&rec)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[test]
fn cel_rejects_invalid_recordings() {
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit)> = vec![
        ("two kinds in one output", |r| {
            r["spec"]["outputs"][0]["hls"] = json!({"s3": {"bucket": "bbb", "key": "k"}})
        }),
        ("no kind in an output", |r| {
            r["spec"]["outputs"][0]
                .as_object_mut()
                .unwrap()
                .remove("mp4");
        }),
        ("duplicate output names", |r| {
            let o = r["spec"]["outputs"][0].clone();
            r["spec"]["outputs"].as_array_mut().unwrap().push(o);
        }),
        ("video too wide", |r| {
            r["spec"]["video"]["width"] = json!(7680)
        }),
        ("fps zero", |r| r["spec"]["video"]["fps"] = json!(0)),
        ("audio bitrate", |r| {
            r["spec"]["audio"]["bitrateKbps"] = json!(5)
        }),
        ("name longer than a label value", |r| {
            r["metadata"]["name"] = json!("r".repeat(64))
        }),
    ];
    for (what, edit) in cases {
        let mut r = recording();
        edit(&mut r);
        assert!(check("Recording", &r, None).is_err(), "{what} was accepted");
    }
}

#[test]
fn cel_transition_rules_hold_stop_and_placed_session() {
    let mut old = recording();
    old["spec"]["stop"] = json!(true);
    let mut new = old.clone();
    new["spec"]["stop"] = json!(false);
    let e = check("Recording", &new, Some(&old)).unwrap_err();
    assert!(e.contains("cannot go back"), "{e}");
    check("Recording", &old, Some(&old)).unwrap();

    let mut placed = recording();
    placed["spec"]["session"]["mediaServerUrl"] = json!("https://sfu.eu.example.com");
    placed["status"] = json!({"placement": {"region": "eu-west", "reason": "HostRule"}});
    let mut moved = placed.clone();
    moved["spec"]["session"]["mediaServerUrl"] = json!("https://sfu.us.example.com");
    let e = check("Recording", &moved, Some(&placed)).unwrap_err();
    assert!(e.contains("immutable once the Recording is placed"), "{e}");
    // Participants stay editable while recording.
    let mut edited = placed.clone();
    edited["spec"]["session"]["participants"] = json!([{"id": "p2", "camera": "test:ball"}]);
    check("Recording", &edited, Some(&placed)).unwrap();
    // Before placement the session may change.
    let mut unplaced = placed.clone();
    unplaced.as_object_mut().unwrap().remove("status");
    check("Recording", &moved, Some(&unplaced)).unwrap();
}

#[test]
fn cel_rejects_invalid_pools() {
    let base = serde_json::to_value(RecorderPool::test("p", "eu-west", 2, 10)).unwrap();
    for (what, field, value) in [
        ("min above max", "minReplicas", json!(20)),
        ("percent 100", "bufferSize", json!("100%")),
        ("not a percent", "bufferSize", json!("lots")),
    ] {
        let mut p = base.clone();
        p["spec"][field] = value;
        assert!(
            check("RecorderPool", &p, None).is_err(),
            "{what} was accepted"
        );
    }
    let mut p = base.clone();
    p["spec"]["bufferSize"] = json!("25%");
    check("RecorderPool", &p, None).unwrap();
}

/// A numeric field the CRD's CEL rules and the recorder's job validation both bound.
struct Bounded {
    /// Its path under `spec` in a Recording.
    path: [&'static str; 2],
    /// Sets it in a job.
    set: fn(&mut JobSpec, u32),
}

impl Bounded {
    fn job_accepts(&self, v: u32) -> bool {
        let mut job = JobSpec {
            composition: CompositionSpec {
                name: "demo".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        (self.set)(&mut job, v);
        job.validate().is_ok()
    }

    fn cel_accepts(&self, v: u32) -> bool {
        let mut r = recording();
        r["spec"][self.path[0]][self.path[1]] = json!(v);
        check("Recording", &r, None).is_ok()
    }

    /// The last value before `bad` that the job validation accepts, from the accepted `good`
    /// in steps of `step` (the accepted values between are assumed contiguous in that step).
    fn edge(&self, mut good: u32, mut bad: u32, step: u32) -> u32 {
        assert!(self.job_accepts(good) && !self.job_accepts(bad));
        while good.abs_diff(bad) > step {
            let half = good.abs_diff(bad) / step / 2 * step;
            let mid = if bad > good { good + half } else { good - half };
            if self.job_accepts(mid) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        good
    }
}

/// `kubectl apply` refuses exactly what the recorder would: the CEL rules on `spec.video` and
/// `spec.audio` agree with `JobSpec::validate` at and around every edge the validation has
/// (found by searching it, so a changed bound in vcs-job fails this test).
#[test]
fn cel_bounds_match_the_job_validation() {
    type Set = fn(&mut JobSpec, u32);
    let fields: [(&str, &str, Set, u32); 5] = [
        ("video", "width", |j, v| j.video.width = v, 2),
        ("video", "height", |j, v| j.video.height = v, 2),
        ("video", "fps", |j, v| j.video.fps = v, 1),
        ("video", "bitrateKbps", |j, v| j.video.bitrate_kbps = v, 1),
        ("audio", "bitrateKbps", |j, v| j.audio.bitrate_kbps = v, 1),
    ];
    for (object, name, set, step) in fields {
        let field = Bounded {
            path: [object, name],
            set,
        };
        let start = [2, 30, 128, 720, 1280, 4000]
            .into_iter()
            .find(|v| field.job_accepts(*v))
            .expect("a valid value to search from");
        let low = field.edge(start, 0, step);
        let high = field.edge(start, 1 << 24, step);
        for v in (low.saturating_sub(2)..=low + 2).chain(high - 2..=high + 2) {
            assert_eq!(
                field.cel_accepts(v),
                field.job_accepts(v),
                "spec.{}.{} = {v}: the CRD's CEL rule and vcs-job's validation disagree (the job accepts {low}..={high} in steps of {step})",
                field.path[0],
                field.path[1]
            );
        }
    }
}
