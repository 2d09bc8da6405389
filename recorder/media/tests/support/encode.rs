//! Helpers for the encoder and output tests: a small encode, output targets, synthetic frames
//! and audio.

use std::path::PathBuf;

use vcs_media::{EncoderConfig, OutputTarget, OutputTargetKind, audio_samples_for_frame};

pub const W: u32 = 320;
pub const H: u32 = 180;
pub const FPS: u32 = 30;

pub fn config() -> EncoderConfig {
    EncoderConfig {
        width: W,
        height: H,
        fps: FPS,
        video_bitrate_kbps: 800,
        audio_bitrate_kbps: 128,
    }
}

pub fn init_tracing() {
    let _ = vcs_media::init();
}

pub fn mp4(name: &str, path: PathBuf) -> OutputTarget {
    OutputTarget {
        name: name.into(),
        kind: OutputTargetKind::Mp4 { path },
    }
}

pub fn hls(name: &str, dir: PathBuf, segment_secs: f64) -> OutputTarget {
    OutputTarget {
        name: name.into(),
        kind: OutputTargetKind::Hls {
            dir,
            segment_secs,
            continues: None,
        },
    }
}

pub fn rtmp(name: &str, url: String) -> OutputTarget {
    OutputTarget {
        name: name.into(),
        kind: OutputTargetKind::Rtmp { url },
    }
}

/// A solid frame whose grey level moves with `n` (so the encoder has something to encode).
pub fn frame(n: u64, level: Option<u8>) -> Vec<u8> {
    let v = level.unwrap_or(((n * 7) % 200) as u8 + 20);
    let mut data = vec![v; (W * H * 4) as usize];
    // A moving bar keeps inter frames non-trivial.
    let x0 = ((n * 4) % W as u64) as usize;
    for y in 0..H as usize {
        for x in x0..(x0 + 8).min(W as usize) {
            let i = (y * W as usize + x) * 4;
            data[i..i + 4].copy_from_slice(&[255, 0, 0, 255]);
        }
    }
    data
}

/// Interleaved stereo covering frame `n`: a 1 kHz tone when `beep`, else a quiet 220 Hz hum.
pub fn audio(n: u64, beep: bool) -> Vec<f32> {
    let count = audio_samples_for_frame(n, FPS);
    let start = vcs_media::encode::sample_index(n, FPS);
    let mut out = Vec::with_capacity(count * 2);
    for i in 0..count as u64 {
        let t = (start + i) as f32 / 48_000.0;
        let s = if beep {
            0.5 * (t * 1000.0 * std::f32::consts::TAU).sin()
        } else {
            0.0
        };
        out.push(s);
        out.push(s);
    }
    out
}
