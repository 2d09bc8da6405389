//! What the operator leaves alone: a Recording placed in another region (marked, never given a
//! pod), and one the API server rejects with CEL before any operator sees it. And what the
//! operator may do at all: the chart's RBAC for its ServiceAccount.

use std::time::Duration;

use serde_json::json;
use vcs_e2e::cluster::{self, TestNamespace};
use vcs_e2e::objects::{self, fixture};
use vcs_e2e::world::condition;
use vcs_e2e::{World, timed, tools};
use vcs_operator::api::{ConditionStatus, LABEL_STATE, STATE_IDLE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_for_another_region_is_left_alone_and_marked() {
    let _t = timed("other_region");
    let Some(world) = World::start("regions").await else {
        return;
    };
    world
        .wait_for_idle_pods("local", 1, Duration::from_secs(120))
        .await;
    let mut rec = objects::recording(
        "elsewhere",
        &fixture("bg.jsx"),
        json!({}),
        &world.s3_target(),
    );
    rec.spec.placement =
        Some(serde_json::from_value(json!({"region": world.other_region})).unwrap());
    world.create_recording(&rec).await;
    let marked = world
        .wait_for_recording(
            "elsewhere",
            Duration::from_secs(60),
            "marked OtherRegion",
            |r| condition(r, "Placed").is_some_and(|c| c.reason == "OtherRegion"),
        )
        .await;
    let placed = condition(&marked, "Placed").unwrap();
    assert_eq!(placed.status, ConditionStatus::False);
    assert!(placed.message.contains(&world.other_region), "{placed:?}");
    let st = marked.status.clone().unwrap_or_default();
    assert_eq!(st.region.as_deref(), Some(world.other_region.as_str()));
    assert!(st.recorder_pod.is_none() && st.result.is_none(), "{st:#?}");
    // Left alone: a while later it still has no pod, and the pool's pods are all idle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = world.recordings().get("elsewhere").await.unwrap();
    assert!(again.status.unwrap_or_default().recorder_pod.is_none());
    for p in world.pool_pods("local").await {
        assert_eq!(
            p.metadata.labels.unwrap_or_default()[LABEL_STATE],
            STATE_IDLE
        );
    }

    // The operator's ServiceAccount may do what the controllers do, and no more.
    let ns = world.namespace.name.clone();
    let sa = format!("--as=system:serviceaccount:{ns}:vcs-operator");
    let can = async |args: &[&str]| {
        let mut all = vec!["auth", "can-i"];
        all.extend(args);
        all.push(&sa);
        let out = tools::kubectl_output(&ns, &all).await;
        String::from_utf8_lossy(&out.stdout).trim() == "yes"
    };
    for allowed in [
        &["watch", "recordings.vcs.dev"][..],
        &["patch", "recordings.vcs.dev", "--subresource=status"],
        &["patch", "recorderpools.vcs.dev", "--subresource=status"],
        &["create", "pods"],
        &["patch", "pods"],
        &["delete", "pods"],
        &["get", "secrets"],
        &["create", "events.events.k8s.io"],
        &["update", "leases.coordination.k8s.io"],
    ] {
        assert!(can(allowed).await, "the operator may not {allowed:?}");
    }
    for denied in [
        &["delete", "recordings.vcs.dev"][..],
        &["list", "secrets"],
        &["list", "nodes"],
        &["get", "pods", "-n", "default"],
    ] {
        assert!(!can(denied).await, "the operator may {denied:?}");
    }
    let log = world.operator_log();
    assert!(
        !log.contains("forbidden"),
        "the operator was refused something:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_recording_is_rejected_by_cel_naming_the_field() {
    let _t = timed("invalid_rejected_by_cel");
    let Some(client) = cluster::connect("invalid").await else {
        return;
    };
    cluster::apply_crds(&client).await;
    let ns = TestNamespace::create(&client, "invalid").await;
    let dir = std::env::temp_dir().join("vcs-e2e").join(&ns.name);
    std::fs::create_dir_all(&dir).unwrap();
    let s3 = objects::S3Target {
        endpoint: "http://127.0.0.1:9".into(),
        bucket: "recordings".into(),
    };
    let apply = async |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut rec =
            serde_json::to_value(objects::recording(name, "demo", json!({}), &s3)).unwrap();
        edit(&mut rec);
        let file = dir.join(format!("{name}.yaml"));
        std::fs::write(&file, serde_yaml_ng::to_string(&rec).unwrap()).unwrap();
        let out =
            tools::kubectl_output(&ns.name, &["apply", "-f", &file.display().to_string()]).await;
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = apply("odd", &|r| r["spec"]["video"]["width"] = json!(641)).await;
    assert!(!ok, "a 641-pixel-wide video was accepted");
    assert!(err.contains("spec.video") && err.contains("even"), "{err}");
    let (ok, err) = apply("twins", &|r| {
        let first = r["spec"]["outputs"][0].clone();
        r["spec"]["outputs"][1] = first;
    })
    .await;
    assert!(!ok, "two outputs of one name were accepted");
    assert!(err.contains("spec.outputs names must be unique"), "{err}");
    // A valid one is accepted; stopping it cannot be undone.
    let (ok, err) = apply("fine", &|r| r["spec"]["stop"] = json!(true)).await;
    assert!(ok, "{err}");
    let (ok, err) = apply("fine", &|r| r["spec"]["stop"] = json!(false)).await;
    assert!(
        !ok && err.contains("spec.stop cannot go back to false"),
        "{err}"
    );
}
