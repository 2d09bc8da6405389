//! The objects the e2e tests create, written as a person would write their YAML.

use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};
use vcs_operator::api::Recording;

/// Name of the Secret holding the S3 credentials.
pub const S3_SECRET: &str = "s3-credentials";

/// Frame size and rate of the test recordings: small, so decoding is quick.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 360;

/// Where the outputs go.
#[derive(Clone, Debug)]
pub struct S3Target {
    pub endpoint: String,
    pub bucket: String,
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> T {
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{what} does not match its type: {e}"))
}

/// An Opaque Secret with `data` as string data.
pub fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
    let data: serde_json::Map<String, Value> =
        data.iter().map(|(k, v)| ((*k).into(), json!(v))).collect();
    from_json(
        "Secret",
        json!({"metadata": {"name": name}, "type": "Opaque", "stringData": data}),
    )
}

/// The test compositions in `e2e/fixtures/`, by file name, as a path the recorder reads.
pub fn fixture(file: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(file)
        .display()
        .to_string()
}

/// A Recording of one synthetic participant with `composition` (a built-in name or a path the
/// recorder can read) and `params`, writing an MP4 to `<name>/archive.mp4` and HLS under
/// `<name>/hls/` in `s3`.
pub fn recording(name: &str, composition: &str, params: Value, s3: &S3Target) -> Recording {
    let loc = |key: String| {
        json!({
            "bucket": s3.bucket,
            "key": key,
            "endpoint": s3.endpoint,
            "region": "us-east-1",
            "pathStyle": true,
            "credentialsSecretRef": S3_SECRET,
        })
    };
    from_json(
        "Recording",
        json!({
            "apiVersion": "vcs.dev/v1alpha1",
            "kind": "Recording",
            "metadata": {"name": name},
            "spec": {
                "session": {
                    "participants": [{"id": "alice", "camera": "test:#e03030", "audio": "test:"}],
                },
                "composition": {"name": composition, "params": params},
                "video": {"width": WIDTH, "height": HEIGHT, "fps": 30, "bitrateKbps": 1500},
                "outputs": [
                    {"name": "archive", "mp4": {"s3": loc(format!("{name}/archive.mp4"))}},
                    {"name": "live", "hls": {"s3": loc(format!("{name}/hls")), "segmentSecs": 2.0}},
                ],
                "limits": {"startDeadlineSecs": 180, "maxDurationSecs": 600},
            },
        }),
    )
}

/// A small, cheap Recording for bursts and benchmarks: 96x64 at 5 fps, the `bg` fixture, one
/// synthetic participant, an MP4 to `<name>/archive.mp4` only.
pub fn small_recording(name: &str, s3: &S3Target) -> Recording {
    let mut r = recording(name, &fixture("bg.jsx"), json!({"bg": "#000080"}), s3);
    r.spec.video.width = 96;
    r.spec.video.height = 64;
    r.spec.video.fps = 5;
    r.spec.video.bitrate_kbps = 100;
    r.spec.outputs.retain(|o| o.mp4.is_some());
    r
}

/// [`small_recording`] with its HLS output too (`<name>/hls/`, 2 s segments).
pub fn small_recording_with_hls(name: &str, s3: &S3Target) -> Recording {
    let mut r = recording(name, &fixture("bg.jsx"), json!({"bg": "#000080"}), s3);
    let small = small_recording(name, s3);
    r.spec.video = small.spec.video;
    r
}
