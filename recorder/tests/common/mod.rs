//! Helpers for checking recorded files with the real tools: ffprobe and ffmpeg.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty directory under the target dir for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// ffprobe's view of every stream, with frames counted by decoding.
pub fn ffprobe_streams(path: &Path) -> Vec<serde_json::Value> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs (scripts/install-deps installs ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["streams"].as_array().unwrap().clone()
}

/// The container duration ffprobe reports, in seconds.
pub fn ffprobe_duration(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Decodes the frame shown at `time` seconds as packed RGB24.
pub fn decode_frame_rgb(path: &Path, time: f64, w: u32, h: u32) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-ss",
            &format!("{time}"),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), (w * h * 3) as usize, "decoded frame size");
    out.stdout
}

/// Decodes `secs` of audio from `start` as mono f32 samples at 48 kHz.
pub fn decode_audio(path: &Path, start: f64, secs: f64) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-ss", &start.to_string(), "-t", &secs.to_string()])
        .args(["-vn", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

pub fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

/// Mean colour of a rectangle (x, y, w, h) of a packed RGB24 frame `width` pixels wide.
pub fn mean_rgb(frame: &[u8], width: u32, (x, y, w, h): (u32, u32, u32, u32)) -> [u32; 3] {
    let mut sum = [0u64; 3];
    for yy in y..y + h {
        for xx in x..x + w {
            let i = ((yy * width + xx) * 3) as usize;
            for c in 0..3 {
                sum[c] += frame[i + c] as u64;
            }
        }
    }
    let n = (w * h) as u64;
    sum.map(|s| (s / n) as u32)
}

/// Mean absolute difference per channel between the same rectangle of two RGB24 frames.
pub fn region_difference(
    a: &[u8],
    b: &[u8],
    width: u32,
    (x, y, w, h): (u32, u32, u32, u32),
) -> f64 {
    let mut sum = 0u64;
    for yy in y..y + h {
        for xx in x..x + w {
            let i = ((yy * width + xx) * 3) as usize;
            for c in 0..3 {
                sum += (a[i + c] as i32 - b[i + c] as i32).unsigned_abs() as u64;
            }
        }
    }
    sum as f64 / (w * h * 3) as f64
}

/// Median colour of a rectangle (x, y, w, h) of a packed RGB24 frame `width` pixels wide: robust
/// to small moving things (the synthetic sources' ball and name label).
pub fn median_rgb(frame: &[u8], width: u32, (x, y, w, h): (u32, u32, u32, u32)) -> [u8; 3] {
    let mut channels = [Vec::new(), Vec::new(), Vec::new()];
    for yy in y..y + h {
        for xx in x..x + w {
            let i = ((yy * width + xx) * 3) as usize;
            for c in 0..3 {
                channels[c].push(frame[i + c]);
            }
        }
    }
    channels.map(|mut v| {
        v.sort_unstable();
        v[v.len() / 2]
    })
}
