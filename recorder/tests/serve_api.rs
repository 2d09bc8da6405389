//! `vcs-recorder serve` as a pod runs it: a real process driven over HTTP through a whole job —
//! start, a live param change, a participant joining, an RTMP output added mid-recording, chat
//! and emoji events, stop — with every change checked in decoded frames; and SIGTERM mid-job
//! finishing the outputs.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use vcs_test_support::{
    RecorderServe, RtmpServer, TempDir, decode_frame_rgb, ffprobe_streams, median_rgb,
};

const W: u32 = 640;
const H: u32 = 360;
const FPS: f64 = 30.0;
const TOKEN: &str = "serve-test-token";

/// `vcs-recorder serve` and the shape of answers this test checks.
struct Serve(RecorderServe);

impl Serve {
    fn start(dir: &Path) -> Serve {
        let recorder = Path::new(env!("CARGO_BIN_EXE_vcs-recorder"));
        Serve(RecorderServe::start(
            recorder,
            dir,
            TOKEN,
            1,
            Some("serve.log"),
        ))
    }

    /// One request; returns the status and the JSON body (Null when not JSON).
    fn call(&self, method: &str, path: &str, body: Option<&Value>, auth: bool) -> (u16, Value) {
        let body = body.map(Value::to_string);
        let token = auth.then_some(TOKEN);
        let answer = self.0.api.call_as(token, method, path, body.as_deref());
        let json = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        (answer.status, json)
    }

    fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, json) = self.call(method, path, body, true);
        assert_eq!(status, 200, "{method} {path}: {json}");
        json
    }

    /// Waits for the process to exit (it does once the job is over).
    fn wait(self) -> std::process::ExitStatus {
        self.0.wait_exit(Duration::from_secs(120))
    }
}

fn job(dir: &Path, id: &str) -> (Value, PathBuf) {
    let composition = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/live.jsx");
    let mp4 = dir.join(format!("{id}.mp4"));
    (
        json!({
            "id": id,
            "composition": {"name": composition, "params": {"bg": "#000080"}},
            "participants": [{"id": "alice", "camera": "test:#e03030", "audio": "test:"}],
            "video": {"width": W, "height": H, "fps": FPS as u32, "bitrateKbps": 1500},
            "outputs": [{"name": "archive", "mp4": {"path": mp4}}],
        }),
        mp4,
    )
}

/// The frame the recording had reached, from the status.
fn frames(status: &Value) -> f64 {
    status["frames"].as_f64().unwrap()
}

fn median(frame: &[u8], rect: (u32, u32, u32, u32)) -> [i32; 3] {
    median_rgb(frame, W, rect).map(i32::from)
}

fn close(got: [i32; 3], want: [i32; 3]) -> bool {
    (0..3).all(|c| (got[c] - want[c]).abs() <= 28)
}

#[test]
fn a_whole_job_over_http_with_live_changes_seen_in_frames() {
    let tmp = TempDir::new("serve-job");
    let dir = tmp.path();
    let rtmp = RtmpServer::start(&dir.join("nginx"));
    let serve = Serve::start(dir);
    let (spec, mp4) = job(dir, "job-1");

    // Errors a person can act on.
    let (status, body) = serve.call("GET", "/v1/job", None, false);
    assert_eq!(status, 401, "{body}");
    let mut typo = spec.clone();
    typo["participants"][0]["camra"] = json!("test:");
    let (status, body) = serve.call("POST", "/v1/job", Some(&typo), true);
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("participants[0].camra"), "{body}");

    // Start: answers once the first frame is encoded.
    let started = serve.ok("POST", "/v1/job", Some(&spec));
    assert_eq!(started["state"], "recording", "{started}");
    assert!(started["frames"].as_u64().unwrap() >= 1, "{started}");
    let again = serve.ok("POST", "/v1/job", Some(&spec));
    assert_eq!(again["jobId"], "job-1", "same id again is the same job");
    let mut other = spec.clone();
    other["id"] = json!("job-2");
    assert_eq!(serve.call("POST", "/v1/job", Some(&other), true).0, 409);

    std::thread::sleep(Duration::from_millis(1500));
    let param_at = frames(&serve.ok(
        "PATCH",
        "/v1/job",
        Some(&json!({"params": {"bg": "#008000"}})),
    ));
    std::thread::sleep(Duration::from_millis(1200));
    let join_at = frames(&serve.ok(
        "PATCH",
        "/v1/job",
        Some(&json!({"participants": [
            {"id": "alice", "camera": "test:#e03030", "audio": "test:"},
            {"id": "bob", "camera": "test:#3050e0"},
        ]})),
    ));
    let rtmp_at = frames(&serve.ok(
        "PATCH",
        "/v1/job",
        Some(&json!({"addOutputs": [{"name": "live", "rtmp": {"url": rtmp.url("key")}}]})),
    ));
    std::thread::sleep(Duration::from_millis(1500));
    let chat_at = frames(&serve.ok(
        "POST",
        "/v1/job/events",
        Some(&json!([
            {"type": "chat", "senderDisplayName": "Ann", "text": "#f0f000"},
            {"type": "emoji", "text": "🎉"},
        ])),
    ));
    std::thread::sleep(Duration::from_millis(2500));
    let status = serve.ok("GET", "/v1/job", None);
    // What is on screen of the room's events, for a continuation should this pod be lost.
    assert_eq!(
        status["screen"]["messages"],
        json!([
            {"source": "chatMessages", "senderDisplayName": "Ann", "text": "#f0f000"},
            {"source": "emojiReactions", "senderDisplayName": "", "text": "🎉"},
        ]),
        "{status}"
    );
    assert!(
        status["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "live"),
        "{status}"
    );
    assert_eq!(serve.call("GET", "/metrics", None, true).0, 200);
    let stopping = serve.ok("POST", "/v1/job/stop", None);
    assert_eq!(stopping["state"], "finalising", "{stopping}");
    let exit = serve.wait();
    assert!(exit.success(), "serve exits 0 after a good job: {exit:?}");

    let streams = ffprobe_streams(&mp4);
    let frames_recorded: f64 = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .and_then(|s| s["nb_read_frames"].as_str()?.parse().ok())
        .unwrap();
    assert!(
        frames_recorded >= chat_at + 30.0,
        "recorded {frames_recorded} frames"
    );
    let at = |frame: f64| decode_frame_rgb(&mp4, frame / FPS, W, H);
    let bg_probe = (300, 330, 40, 20);
    // Before the param change: navy; after it: green.
    assert!(close(median(&at(param_at - 15.0), bg_probe), [0, 0, 128]));
    let after_param = at(param_at + 15.0);
    assert!(
        close(median(&after_param, bg_probe), [0, 128, 0]),
        "{:?}",
        median(&after_param, bg_probe)
    );
    // One tile (alice) before bob joins; his tile after, on the right.
    let right_tile = (470, 120, 20, 12);
    assert!(close(median(&at(join_at - 5.0), right_tile), [224, 48, 48]));
    let joined = at(join_at + 20.0);
    assert!(
        close(median(&joined, right_tile), [48, 80, 224]),
        "{:?}",
        median(&joined, right_tile)
    );
    // The chat box takes the message's colour; the emoji is drawn while it lasts (1 s).
    let chat_box = (530, 290, 60, 40);
    assert!(!close(median(&at(chat_at - 5.0), chat_box), [240, 240, 0]));
    let with_events = at(chat_at + 10.0);
    assert!(
        close(median(&with_events, chat_box), [240, 240, 0]),
        "{:?}",
        median(&with_events, chat_box)
    );
    let emoji_box = (40, 280, 60, 60);
    let before = median(&at(chat_at - 5.0), emoji_box);
    assert!(close(before, [0, 128, 0]), "{before:?}");
    let emoji_pixels = |frame: &[u8]| {
        let mut n = 0;
        for yy in emoji_box.1..emoji_box.1 + emoji_box.3 {
            for xx in emoji_box.0..emoji_box.0 + emoji_box.2 {
                let i = ((yy * W + xx) * 3) as usize;
                if (frame[i] as i32).abs() + (frame[i + 1] as i32 - 128).abs() > 60 {
                    n += 1;
                }
            }
        }
        n
    };
    let differs = emoji_pixels(&with_events);
    assert!(differs > 200, "emoji pixels drawn: {differs}");

    // The RTMP output added mid-recording reached nginx and plays.
    let flv = rtmp.recordings();
    assert!(
        !flv.is_empty(),
        "RTMP output added at frame {rtmp_at} reached nginx"
    );
    assert!(
        ffprobe_streams(flv.last().unwrap())
            .iter()
            .any(|s| s["codec_type"] == "video")
    );
}

#[test]
#[expect(
    unsafe_code,
    reason = "SIGTERM is what a pod gets; std has no way to send a signal"
)]
fn sigterm_mid_recording_finishes_the_outputs() {
    let tmp = TempDir::new("serve-sigterm");
    let dir = tmp.path();
    let serve = Serve::start(dir);
    let (spec, mp4) = job(dir, "job-term");
    serve.ok("POST", "/v1/job", Some(&spec));
    std::thread::sleep(Duration::from_secs(2));
    let status = serve.ok("GET", "/v1/job", None);
    assert_eq!(status["state"], "recording", "{status}");
    let pid = serve.0.id() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let exit = serve.wait();
    assert!(
        exit.success(),
        "SIGTERM finishes the job and exits 0: {exit:?}"
    );
    let streams = ffprobe_streams(&mp4);
    let frames: u64 = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .and_then(|s| s["nb_read_frames"].as_str()?.parse().ok())
        .unwrap();
    assert!(
        frames >= 45,
        "the recording up to SIGTERM is complete: {frames} frames"
    );
}
