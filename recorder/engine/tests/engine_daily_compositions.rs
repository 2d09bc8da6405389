//! Daily's own compositions (`shared/daily-vcs`: the baseline and three examples, used from
//! there, never copied) load and render unchanged, in every baseline mode. Skipped, saying so,
//! when the folder is not there; `VCS_DAILY_VCS` points at it explicitly.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use vcs_engine::Engine;

/// The `shared/daily-vcs` folder: `$VCS_DAILY_VCS`, else the first `shared/daily-vcs` beside
/// an ancestor of this crate (the project's checkout sits next to `shared/`).
fn daily_vcs() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VCS_DAILY_VCS") {
        return Some(PathBuf::from(p));
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/daily-vcs"))
        .find(|p| p.join("compositions/daily-baseline/index.jsx").is_file())
}

fn open(rel: &str) -> Option<Engine> {
    let Some(root) = daily_vcs() else {
        eprintln!(
            "skipped: shared/daily-vcs (Daily's compositions) is not there; set VCS_DAILY_VCS"
        );
        return None;
    };
    let path = root.join(rel);
    let mut e = Engine::open(path.to_str().expect("utf-8 path"), None, 1280, 720, 30)
        .unwrap_or_else(|err| panic!("{rel}: {err}"));
    e.set_daily_format(true);
    // Generous: the machine is shared; the recorder enforces the real budget.
    e.set_frame_budget(std::time::Duration::from_secs(20));
    Some(e)
}

/// Renders frames 0..n (30 fps), each as Daily's documents; returns the last frame's. With
/// `VCS_DAILY_DUMP=<dir>` the last frame's documents are also written there, to look at them
/// (`vcs-recorder draw <dir>/<what>.json`).
fn run(e: &mut Engine, what: &str, n: u32) -> (Value, Value) {
    let mut last = (Value::Null, Value::Null);
    for f in 0..n {
        e.render(f64::from(f) / 30.0)
            .unwrap_or_else(|err| panic!("{what}, frame {f}: {err}"));
        let d = e.daily_documents().expect("daily documents");
        if let Some(dir) = std::env::var_os("VCS_DAILY_DUMP").filter(|_| f + 1 == n) {
            let doc = format!(
                "{{\"videoLayers\":{},\"fgDisplayList\":{}}}",
                d.video_layers, d.fg_display_list
            );
            std::fs::write(PathBuf::from(dir).join(format!("{what}.json")), doc).expect("dump");
        }
        last = (
            serde_json::from_str(&d.video_layers).expect("videolayers JSON"),
            serde_json::from_str(&d.fg_display_list).expect("fgdisplaylist JSON"),
        );
    }
    last
}

fn cameras(n: usize) -> Value {
    Value::Array((0..n).map(|_| json!({"type": "camera"})).collect())
}

#[test]
fn baseline_renders_in_every_mode_with_its_overlays() {
    let Some(mut e) = open("compositions/daily-baseline") else {
        return;
    };
    let mut slots = cameras(3).as_array().cloned().unwrap_or_default();
    slots.push(json!({"type": "screenshare", "dominant": true}));
    e.set_video_inputs_json(Value::Array(slots));
    let overlays = [
        ("showTextOverlay", json!(true)),
        ("showImageOverlay", json!(true)),
        ("showBannerOverlay", json!(true)),
        ("showSidebar", json!(true)),
        ("showTitleSlate", json!(true)),
        ("showWebFrameOverlay", json!(true)),
        ("enableAutoOpeningSlate", json!(true)),
        ("debug.showRoomState", json!(true)),
        ("videoSettings.showParticipantLabels", json!(true)),
        ("videoSettings.showMicStatus", json!(true)),
    ];
    for mode in ["single", "split", "grid", "dominant", "pip"] {
        let mut params = BTreeMap::from([("mode".to_string(), json!(mode))]);
        for (k, v) in &overlays {
            params.insert(k.to_string(), v.clone());
        }
        e.set_params(&params);
        let (layers, fg) = run(&mut e, mode, 12);
        assert!(
            !layers.as_array().is_none_or(Vec::is_empty),
            "{mode}: no video layers"
        );
        assert_eq!(fg["width"], 1280, "{mode}");
        assert!(
            fg["commands"].as_array().is_some_and(|c| c.len() > 10),
            "{mode}: {fg}"
        );
    }
}

/// Daily's golden `baseline-modes` files (quoted in daily-compat.md §1.7 and §3.1): the grid of
/// four and picture-in-picture of two, byte for byte.
#[test]
fn baseline_grid_and_pip_match_dailys_golden_layers() {
    let Some(mut e) = open("compositions/daily-baseline") else {
        return;
    };
    e.set_video_inputs_json(cameras(4));
    run(&mut e, "grid", 2);
    let d = e.daily_documents().expect("documents").video_layers.clone();
    let layers: Value = serde_json::from_str(&d).expect("json");
    assert_eq!(
        layers[0]["frame"],
        json!({"x": 58, "y": 25, "w": 564, "h": 317}),
        "{d}"
    );
    e.set_video_inputs_json(cameras(2));
    e.set_params(&BTreeMap::from([("mode".to_string(), json!("pip"))]));
    run(&mut e, "pip", 2);
    assert_eq!(
        e.daily_documents().expect("documents").video_layers,
        r#"[{"type":"video","id":0,"frame":{"x":0,"y":0,"w":1280,"h":720},"attrs":{"scaleMode":"fill","zoomFactor":1}},{"type":"video","id":1,"frame":{"x":1010,"y":30,"w":240,"h":240},"attrs":{"scaleMode":"fill","zoomFactor":1}}]"#
    );
}

#[test]
fn dailys_examples_render() {
    for example in ["hello", "graphics-test", "stretchbox"] {
        let Some(mut e) = open(&format!("js/example/{example}.jsx")) else {
            return;
        };
        e.set_video_inputs_json(cameras(2));
        let (layers, fg) = run(&mut e, example, 20);
        assert!(
            layers.as_array().is_some_and(|l| !l.is_empty()),
            "{example}"
        );
        assert!(
            fg["commands"].as_array().is_some_and(|c| !c.is_empty()),
            "{example}"
        );
    }
}

/// stretchbox's fill `"rgba(50, 60, 160, 0.9"` (no closing parenthesis) reaches the list as
/// written and does not fail the frame.
#[test]
fn stretchbox_keeps_its_unterminated_colour() {
    let Some(mut e) = open("js/example/stretchbox.jsx") else {
        return;
    };
    e.set_video_inputs_json(cameras(1));
    let (_, fg) = run(&mut e, "stretchbox", 2);
    assert!(
        fg["commands"]
            .as_array()
            .is_some_and(|c| c.contains(&json!(["fillStyle", "rgba(50, 60, 160, 0.9"]))),
        "{fg}"
    );
}
