//! Looking into recorded files with the real tools: ffprobe for the duration, ffmpeg to decode
//! one frame.

use std::path::Path;
use std::process::Command;

/// The container duration in seconds.
pub fn duration_secs(path: &Path) -> f64 {
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
        .expect("ffprobe runs (scripts/install-deps installs ffmpeg)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe gave no duration for {}: {text}", path.display()))
}

/// The frame shown at `time` seconds as packed RGB24, `w`×`h`.
pub fn decode_rgb(path: &Path, time: f64, w: u32, h: u32) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{time:.3}"), "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg runs (scripts/install-deps installs it)");
    assert!(
        out.status.success(),
        "ffmpeg could not decode {} at {time} s: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout.len(),
        (w * h * 3) as usize,
        "decoded frame of {} is not {w}x{h}",
        path.display()
    );
    out.stdout
}

/// Per-channel median of an RGB24 frame of width `w` inside `(x, y, w, h)`.
pub fn median_rgb(frame: &[u8], w: u32, rect: (u32, u32, u32, u32)) -> [u8; 3] {
    let (x0, y0, rw, rh) = rect;
    let mut channels: [Vec<u8>; 3] = Default::default();
    for y in y0..y0 + rh {
        for x in x0..x0 + rw {
            let i = ((y * w + x) * 3) as usize;
            for (c, ch) in channels.iter_mut().enumerate() {
                ch.push(frame[i + c]);
            }
        }
    }
    channels.map(|mut ch| {
        ch.sort_unstable();
        ch[ch.len() / 2]
    })
}

/// Every channel within `tolerance` of `want` (encoding shifts colours a little).
pub fn close_to(got: [u8; 3], want: [u8; 3], tolerance: u8) -> bool {
    got.iter()
        .zip(want)
        .all(|(g, w)| g.abs_diff(w) <= tolerance)
}
