//! The objects the e2e tests create, written as a person would write their YAML.

use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};
use vcs_operator::api::{RecorderPool, Recording};

/// Name and key of the Secret holding the recorders' control API token.
pub const TOKEN_SECRET: (&str, &str) = ("recorder-token", "token");
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

/// A RecorderPool in `region` keeping `buffer` idle pods whose control API listens on `port`.
pub fn pool(name: &str, region: &str, buffer: i32, port: u16) -> RecorderPool {
    from_json(
        "RecorderPool",
        json!({
            "apiVersion": "vcs.dev/v1alpha1",
            "kind": "RecorderPool",
            "metadata": {"name": name},
            "spec": {
                "region": region,
                "bufferSize": buffer,
                "minReplicas": 0,
                "maxReplicas": 10,
                "scaleDownStabilisationSecs": 0,
                "template": {
                    // Never pulled: the kubelet stand-in runs the local binary.
                    "image": "vcs-recorder:e2e",
                    "port": port,
                    "tokenSecretRef": {"name": TOKEN_SECRET.0, "key": TOKEN_SECRET.1},
                },
            },
        }),
    )
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
