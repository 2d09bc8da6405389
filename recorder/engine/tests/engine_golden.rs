//! Golden scenes for the example compositions. Regenerate with `VCS_BLESS=1`; a mismatch
//! writes `<name>.actual.json` beside the golden file.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use vcs_engine::{Composition, Engine, VideoInputSlot, VideoKind};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn close(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= 0.01 {
                Ok(())
            } else {
                Err(format!("{path}: {x} != {y}"))
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!("{path}: length {} != {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .try_for_each(|(i, (x, y))| close(x, y, &format!("{path}[{i}]")))
        }
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return Err(format!("{path}: keys differ"));
            }
            x.iter().try_for_each(|(k, v)| {
                close(v, y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"))
            })
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} != {b}")),
    }
}

fn check(name: &str, scene: &vcs_scene::Scene) {
    let actual = serde_json::to_value(scene).unwrap();
    let path = golden_dir().join(format!("{name}.scene.json"));
    let pretty = serde_json::to_string_pretty(&actual).unwrap() + "\n";
    if std::env::var_os("VCS_BLESS").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, pretty).unwrap();
        return;
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with VCS_BLESS=1 to create it)",
            path.display()
        )
    }))
    .unwrap();
    if let Err(diff) = close(&actual, &want, name) {
        let out = golden_dir().join(format!("{name}.actual.json"));
        std::fs::write(&out, pretty).unwrap();
        panic!("{diff}\nactual written to {}", out.display());
    }
}

fn slots(names: &[(&str, bool)]) -> Vec<VideoInputSlot> {
    names
        .iter()
        .map(|(n, dominant)| VideoInputSlot {
            id: n.to_string(),
            kind: VideoKind::Camera,
            display_name: n.to_string(),
            paused: false,
            dominant: *dominant,
            frame_size: (1280, 720),
        })
        .collect()
}

fn engine(c: Composition) -> Engine {
    Engine::new(c, common::opts(1280, 720, 30)).unwrap()
}

#[test]
fn demo_golden_frames() {
    let mut e = engine(Composition::resolve("demo").unwrap());
    e.set_video_inputs(slots(&[
        ("Ada", false),
        ("Grace", true),
        ("Linus", false),
        ("Margaret", false),
    ]));
    check("demo_t0", &e.render(0.0).unwrap().scene);
    e.set_video_inputs(slots(&[("Ada", false), ("Grace", true), ("Linus", false)]));
    check("demo_t3.5_three", &e.render(3.5).unwrap().scene);
}

#[test]
fn news_golden_frames() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../compositions/examples/news");
    let mut e = engine(Composition::resolve(dir.to_str().unwrap()).unwrap());
    e.set_video_inputs(slots(&[
        ("anchor", false),
        ("guest", true),
        ("remote", false),
    ]));
    check("news_t0", &e.render(0.0).unwrap().scene);
    e.set_params(&BTreeMap::from([
        (
            "lowerThird.title".to_string(),
            json!("Breaking: VCS renders"),
        ),
        (
            "lowerThird.subtitle".to_string(),
            json!("Live from the engine"),
        ),
    ]));
    e.push_standard_source_message(
        "chatMessages",
        json!({"key": 1, "senderDisplayName": "Sam", "text": "hello!"}),
    );
    e.render(1.0).unwrap();
    check("news_t1.25_sliding", &e.render(1.25).unwrap().scene);
    check("news_t2_settled", &e.render(2.0).unwrap().scene);
}
