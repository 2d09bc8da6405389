//! A/V sync: a source that flashes white and beeps at the start of every second, recorded for
//! 60 s through the real binary (10 s with each AAC encoder the recorder knows); in the output,
//! each beep's onset and each flash's onset must stay within one frame of each other.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::path::Path;
use std::process::Command;

use vcs_test_support::lipsync::{frame_brightness, onsets};
use vcs_test_support::{TempDir, decode_audio};

const FPS: u32 = 30;
const W: u32 = 320;
const H: u32 = 180;

/// A `secs`-long file: black with a white flash, and silence with a 1 kHz beep, both for the
/// first 100 ms of every second.
fn make_beep_flash(path: &Path, secs: u32) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!(
                "color=c=black:s={W}x{H}:r={FPS}:d={secs},\
                 drawbox=x=0:y=0:w={W}:h={H}:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.1)'"
            ),
            "-f",
            "lavfi",
            "-i",
            &format!("sine=f=1000:r=48000:d={secs},volume=volume=0:enable='gte(mod(t\\,1)\\,0.1)'"),
        ])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "30"])
        .args(["-c:a", "aac", "-ac", "2", "-shortest"])
        .arg(path)
        .output()
        .expect("ffmpeg runs (scripts/install-deps installs it)");
    assert!(
        out.status.success(),
        "making the beep/flash source failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn beeps_and_flashes_stay_within_one_frame_over_a_minute() {
    beeps_and_flashes_stay_within_one_frame(60, None);
}

/// The recorder image has no gst-libav, so it encodes AAC with voaacenc, whose priming differs.
#[test]
fn beeps_and_flashes_stay_within_one_frame_with_voaacenc() {
    beeps_and_flashes_stay_within_one_frame(10, Some("voaacenc"));
}

/// Renders a `secs`-long flash/beep source (with `VCS_AAC_ENCODER=aac_encoder` when given) and
/// checks every flash against its beep.
fn beeps_and_flashes_stay_within_one_frame(secs: u32, aac_encoder: Option<&str>) {
    let tmp = TempDir::new("av-sync");
    let dir = tmp.path();
    let source = dir.join("beep-flash.mp4");
    make_beep_flash(&source, secs);
    let out = dir.join("out.mp4");
    let composition = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fullframe.jsx");
    let job = dir.join("job.yaml");
    std::fs::write(
        &job,
        format!(
            "composition: {{name: '{}'}}\n\
             participants:\n  - {{id: src, camera: 'file://{s}', audio: 'file://{s}'}}\n\
             video: {{width: {W}, height: {H}, fps: {FPS}}}\n\
             durationSecs: {secs}\n",
            composition.display(),
            s = source.display()
        ),
    )
    .unwrap();
    let mut render = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"));
    if let Some(encoder) = aac_encoder {
        render.env("VCS_AAC_ENCODER", encoder);
    }
    let run = render
        .arg("render")
        .arg(&job)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );

    let brightness = frame_brightness(&out);
    assert_eq!(brightness.len(), (secs * FPS) as usize, "frame count");
    let flashes = onsets(&brightness, 128.0, 5);
    let audio = decode_audio(&out, 0.0, secs as f64);
    // Envelope per millisecond.
    let envelope: Vec<f64> = audio
        .chunks(48)
        .map(|c| c.iter().map(|s| s.abs() as f64).fold(0.0, f64::max))
        .collect();
    let beeps = onsets(&envelope, 0.1, 200);
    assert_eq!(
        flashes.len(),
        secs as usize,
        "one flash per second: {flashes:?}"
    );
    assert_eq!(beeps.len(), secs as usize, "one beep per second: {beeps:?}");
    let frame_ms = 1000.0 / FPS as f64;
    let mut worst = 0.0f64;
    for (k, (&f, &b)) in flashes.iter().zip(&beeps).enumerate() {
        let video_ms = f as f64 * frame_ms;
        let audio_ms = b as f64;
        let offset = audio_ms - video_ms;
        worst = worst.max(offset.abs());
        assert!(
            offset.abs() <= frame_ms,
            "second {k}: audio {audio_ms} ms vs video {video_ms} ms (offset {offset:.1} ms, one frame is {frame_ms:.1} ms)"
        );
    }
    eprintln!("worst A/V offset over {secs} s ({aac_encoder:?}): {worst:.1} ms");
}
