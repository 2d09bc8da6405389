//! test: and file: inputs, offline (exact by timestamp) and live (real-time pacing).
#![allow(
    clippy::unwrap_used,
    reason = "the helpers are test code too: an unwrap that fails is a failed test at that line"
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use support::input::*;
use vcs_job::control::InputState;
use vcs_media::input::{Input, RATE};
use vcs_test_support::{rms, wait_for};

const FPS: u64 = 25;
const SECONDS: u64 = 2;
/// The red level of frame `n` in the fixture: frames can be told apart by colour.
fn red_of(n: u64) -> u8 {
    (n * 5) as u8
}

/// A 2 s file made with ffmpeg: 160×120 at 25 fps whose red level is 5 × frame number (lossless
/// RGB FFV1), and 48 kHz mono PCM that is silent except for a 1 kHz beep at 0.5–0.6 s.
fn fixture() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vcs-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("beep frames.mkv");
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!(
                "color=c=black:s=160x120:r={FPS}:d={SECONDS},format=rgb24,geq=r='N*5':g='64':b='128'"
            ))
            .args(["-f", "lavfi", "-i"])
            .arg(format!(
                "aevalsrc='if(between(t,0.5,0.6),0.5*sin(2*PI*1000*t),0)':s=48000:d={SECONDS}"
            ))
            .args(["-c:v", "ffv1", "-pix_fmt", "bgr0", "-c:a", "pcm_s16le"])
            .arg(&path)
            .status()
            .expect("ffmpeg runs (run scripts/install-deps)");
        assert!(status.success(), "ffmpeg could not make the fixture");
        path
    })
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display()).replace(' ', "%20")
}

#[test]
fn offline_file_frames_are_chosen_by_timestamp() {
    let mut input = Input::start(config(&file_uri(fixture()), false)).unwrap();
    // Sampled at 30 fps: each output frame shows the newest 25 fps frame at or before it.
    for k in 0..(SECONDS * 30) {
        let t = Duration::from_nanos(k * 1_000_000_000 / 30);
        let frame = input.video(t).expect("a frame");
        assert_eq!(input.frame_size(), Some((160, 120)));
        let n = k * FPS / 30;
        assert_eq!(
            frame.pts,
            Duration::from_millis(n * 1000 / FPS),
            "output frame {k} at {t:?}"
        );
        let [r, g, b] = dominant_rgb(&frame);
        // Frames arrive as limited-range I420 (this RGB file converted by videoconvert, which
        // dithers): blue is carried by Cb in steps of about two levels, so ±3 (frames differ by
        // 5 levels of red, still told apart).
        assert!(
            r.abs_diff(red_of(n)) <= 3 && g.abs_diff(64) <= 3 && b.abs_diff(128) <= 3,
            "output frame {k}: {:?}, want red {}",
            [r, g, b],
            red_of(n)
        );
    }
    assert_eq!(input.frame_size(), Some((160, 120)));
    // Past the end the last frame stays, and the input has ended.
    let last = input.video(Duration::from_secs(5)).unwrap();
    assert_eq!(
        last.pts,
        Duration::from_millis((SECONDS * FPS - 1) * 1000 / FPS)
    );
    wait_state(&input, InputState::Ended, Duration::from_secs(5));
}

#[test]
fn offline_file_audio_is_sample_exact() {
    let mut cfg = config(&file_uri(fixture()), false);
    cfg.video = false;
    let mut input = Input::start(cfg).unwrap();
    // Read the whole file in 30 fps chunks (1600 sample frames), as the recorder does.
    let chunk = (RATE / 30) as usize;
    let mut all = Vec::new();
    let mut out = vec![0f32; chunk * 2];
    for k in 0..(SECONDS * 30 + 3) {
        input.audio(Duration::from_nanos(k * 1_000_000_000 / 30), &mut out);
        all.extend_from_slice(&out);
    }
    let left: Vec<f32> = all.iter().step_by(2).copied().collect();
    let right: Vec<f32> = all.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(left, right, "mono is copied to both channels");
    let onset = left.iter().position(|v| v.abs() > 0.05).expect("a beep");
    assert!(
        onset.abs_diff(24_000) <= 3,
        "beep starts at sample {onset}, want 24000 (0.5 s)"
    );
    let beep = rms(&left[24_100..28_700]);
    assert!((beep - 0.354).abs() < 0.01, "beep rms {beep}, want 0.354");
    assert!(rms(&left[..23_900]) < 0.001, "silence before the beep");
    assert!(rms(&left[29_000..96_000]) < 0.001, "silence after the beep");
    // Past the end: silence, not a hang.
    assert!(rms(&left[96_000..]) == 0.0);
}

#[test]
fn offline_test_source_has_its_colour_and_tone() {
    let mut input = Input::start(config("test:#3050e0?tone=440&size=320x180", false)).unwrap();
    let start = Instant::now();
    let mut out = vec![0f32; 1600 * 2];
    let mut audio = Vec::new();
    for k in 0..60u64 {
        let t = Duration::from_nanos(k * 1_000_000_000 / 30);
        let frame = input.video(t).unwrap();
        assert_eq!((frame.width, frame.height), (320, 180));
        assert_eq!(frame.pts, t, "a 30 fps source sampled at 30 fps");
        assert_close_rgb(dominant_rgb(&frame), [0x30, 0x50, 0xe0], 3, "test source");
        input.audio(t, &mut out);
        audio.extend(out.iter().step_by(2).copied());
    }
    // Two seconds rendered well under real time: offline is not paced by a clock.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let level = rms(&audio);
    assert!((level - 0.3 / 2f32.sqrt()).abs() < 0.01, "tone rms {level}");
    // 440 Hz: 880 zero crossings per second.
    let crossings = audio
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    assert!(
        crossings.abs_diff(1760) <= 4,
        "{crossings} zero crossings in 2 s"
    );
    assert_eq!(input.status().state, InputState::Live);
}

#[test]
fn live_test_source_runs_in_real_time() {
    let mut input = Input::start(config("test:#e03050", true)).unwrap();
    assert_live_input(&mut input, [0xe0, 0x30, 0x50], Duration::from_secs(5));
    // Real time: about 15 new frames in half a second, not hundreds.
    let first = input.video(live_t()).unwrap().pts;
    std::thread::sleep(Duration::from_millis(500));
    let advanced = input.video(live_t()).unwrap().pts - first;
    assert!(
        (Duration::from_millis(350)..Duration::from_millis(700)).contains(&advanced),
        "live source advanced {advanced:?} in 500 ms"
    );
    let status = input.status();
    assert_eq!((status.state, status.retries), (InputState::Live, 0));
    assert_drops_quickly(input);
}

#[test]
fn live_file_is_paced_and_ends_with_its_last_frame() {
    let mut input = Input::start(config(&file_uri(fixture()), true)).unwrap();
    let frame = wait_for("a first frame", Duration::from_secs(5), || {
        input.video(live_t())
    });
    assert!(frame.pts < Duration::from_millis(300), "{:?}", frame.pts);
    // Played at real time from its first frame: about 500 ms of it in 500 ms.
    let first = frame.pts;
    std::thread::sleep(Duration::from_millis(500));
    let advanced = input.video(live_t()).unwrap().pts - first;
    assert!(
        (Duration::from_millis(350)..Duration::from_millis(700)).contains(&advanced),
        "live file advanced {advanced:?} in 500 ms"
    );
    wait_state(&input, InputState::Ended, Duration::from_secs(SECONDS + 3));
    // The last frame shows once the playout delay has passed, and then stays.
    let want = Duration::from_millis((SECONDS * FPS - 1) * 1000 / FPS);
    wait_for("the last frame", Duration::from_secs(3), || {
        (input.video(live_t()).unwrap().pts == want).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(input.video(live_t()).unwrap().pts, want);
    assert_eq!(input.status().retries, 0, "an ended file is not retried");
}

#[test]
fn a_file_without_the_asked_track_does_not_block() {
    let dir = fixture().parent().unwrap();
    let path = dir.join("audio-only.wav");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=300:d=1"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let mut input = Input::start(config(&file_uri(&path), false)).unwrap();
    let start = Instant::now();
    assert!(input.video(Duration::from_millis(100)).is_none());
    assert!(start.elapsed() < Duration::from_secs(2));
    let mut out = vec![0f32; 4800 * 2];
    input.audio(Duration::ZERO, &mut out);
    assert!(rms(&out) > 0.05, "the audio still plays");
}

#[test]
fn bad_uris_fail_at_start_naming_the_input() {
    for (uri, live, want) in [
        ("file:///no/such/file.mkv", false, "does not exist"),
        ("rtsp://cam.example/stream", false, "only test: and file:"),
        ("gopher://x/y", true, "not supported"),
        ("test:red?volume=2", true, "unknown option"),
    ] {
        let err = Input::start(config(uri, live))
            .err()
            .expect(uri)
            .to_string();
        assert!(err.contains(want) && err.contains("p1"), "{uri}: {err}");
    }
    // A file that is not media fails at start, offline.
    let junk = fixture().parent().unwrap().join("junk.mp4");
    std::fs::write(&junk, b"this is not a video").unwrap();
    let err = Input::start(config(&file_uri(&junk), false))
        .err()
        .expect("junk file")
        .to_string();
    assert!(err.contains("p1"), "{err}");
}

#[test]
fn live_http_file_plays_its_frames_and_ends() {
    let port = serve_file(fixture());
    let mut input = Input::start(config(
        &format!("http://127.0.0.1:{port}/beep%20frames.mkv?token=secret"),
        true,
    ))
    .unwrap();
    let frame = wait_for("a first frame over http", Duration::from_secs(5), || {
        input.video(live_t())
    });
    let n = frame.pts.as_millis() as u64 * FPS / 1000;
    let [r, _, _] = dominant_rgb(&frame);
    assert!(r.abs_diff(red_of(n)) <= 1, "frame {n}: red {r}");
    let mut out = vec![0f32; 4800 * 2];
    wait_for("the beep over http", Duration::from_secs(3), || {
        input.audio(live_t(), &mut out);
        (rms(&out) > 0.1).then_some(())
    });
    wait_state(&input, InputState::Ended, Duration::from_secs(SECONDS + 3));
    let status = input.status();
    assert_eq!(status.retries, 0);
    assert!(status.last_error.is_none(), "{status:?}");
}

#[test]
fn huge_inputs_are_scaled_down_keeping_their_shape() {
    let mut cfg = config("test:#208040?size=3840x2160", false);
    cfg.audio = false;
    let mut input = Input::start(cfg).unwrap();
    let frame = input.video(Duration::ZERO).unwrap();
    assert_eq!((frame.width, frame.height), (1920, 1080));
    assert!(frame.strides[0] >= 1920);
    assert_close_rgb(dominant_rgb(&frame), [0x20, 0x80, 0x40], 3, "scaled frame");
    // Within the cap: the source's own size.
    let mut cfg = config("test:#208040?size=1280x720", false);
    cfg.audio = false;
    let mut input = Input::start(cfg).unwrap();
    assert_eq!(input.video(Duration::ZERO).unwrap().width, 1280);
}
