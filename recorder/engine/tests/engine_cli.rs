//! `vcs-recorder scene` as a library call (`vcs_engine::inspect`).
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::path::PathBuf;

use vcs_engine::inspect::{SceneFormat, SceneRequest, parse_frames, run};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vcs-engine-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn args(composition: &str) -> SceneRequest {
    SceneRequest {
        composition: composition.into(),
        ..SceneRequest::default()
    }
}

const INPUTS: &str = r#"[{"id":"a","displayName":"Ann"},{"id":"b","displayName":"Bo"},false,true]"#;

#[test]
fn time_prints_one_scene_with_params_and_inputs() {
    let dir = scratch("time");
    std::fs::write(dir.join("inputs.json"), INPUTS).unwrap();
    let mut a = args("demo");
    a.inputs_file = Some(dir.join("inputs.json"));
    a.param = vec!["title=Standup".into(), "countdownSecs=65".into()];
    a.time = Some(2.0);
    let mut out = Vec::new();
    run(&a, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["width"], 1280);
    let ids: Vec<_> = v["videoLayers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        ["a", "b", "3"],
        "a `true` slot takes its index as id; false is empty"
    );
    let text = v["foreground"].to_string();
    assert!(
        text.contains("Standup") && text.contains("01:03") && text.contains("Ann"),
        "{text}"
    );
}

#[test]
fn events_file_steps_frames_and_writes_daily_files() {
    let dir = scratch("events");
    let events = r#"{"compositionId":"demo","durationInFrames":40,"fps":10,"outputSize":{"w":640,"h":360},
      "initialState":{"activeVideoInputSlots":[{"id":"a","displayName":"Ann"}],"params":{"title":"Start"}},
      "eventsByFrame":{"20":{"params":{"title":"Later"},"activeVideoInputSlots":[{"id":"a"},{"id":"b"}]}}}"#;
    std::fs::write(dir.join("events.json"), events).unwrap();
    let mut a = args("demo");
    a.events_file = Some(dir.join("events.json"));
    a.frames = Some(parse_frames("0,25").unwrap());
    a.out_dir = Some(dir.join("out"));
    run(&a, &mut Vec::new()).unwrap();
    let read = |n: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("out").join(n)).unwrap()).unwrap()
    };
    assert_eq!(
        read("0.scene.json")["videoLayers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let s25 = read("25.scene.json");
    assert_eq!(s25["width"], 640);
    assert_eq!(s25["videoLayers"].as_array().unwrap().len(), 2);
    assert!(s25["foreground"].to_string().contains("Later"));
    assert!(
        s25["foreground"].to_string().contains("00:08"),
        "10 s countdown at 2.5 s shows 00:08"
    );

    a.format = SceneFormat::Daily;
    run(&a, &mut Vec::new()).unwrap();
    // Daily's names, and its bytes: compact JSON without a trailing newline.
    let fg = read("vcs-output_25_fgdisplaylist.canvex.json");
    assert_eq!(fg["width"], 640);
    let raw = std::fs::read_to_string(dir.join("out/vcs-output_25_videolayers.json")).unwrap();
    assert!(
        raw.starts_with(r#"[{"type":"video","id":"#) && !raw.ends_with('\n'),
        "{raw}"
    );
    assert_eq!(
        read("vcs-output_25_videolayers.json")
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn frames_without_out_dir_is_a_usage_error() {
    let mut a = args("demo");
    a.frames = Some(parse_frames("1").unwrap());
    let e = run(&a, &mut Vec::new()).unwrap_err().to_string();
    assert!(e.contains("--out-dir"), "{e}");
}
