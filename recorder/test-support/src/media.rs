//! Looking into recorded files with the real tools (ffprobe, ffmpeg from `scripts/install-deps`),
//! and the measures tests take of decoded frames and audio.
//!
//! Frames are packed RGB24 (`width * 3` bytes a row); rectangles are `(x, y, w, h)` in pixels.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// ffprobe's view of every stream, frames counted by decoding (`-count_frames`), as its JSON.
pub fn ffprobe_streams(path: &Path) -> Vec<Value> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs (scripts/install-deps installs ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe cannot read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ffprobe gave no JSON for {}: {e}", path.display()));
    json["streams"].as_array().cloned().unwrap_or_default()
}

/// One stream as ffprobe sees it, with the fields tests check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    /// `video` or `audio`.
    pub kind: String,
    pub codec: String,
    /// Frames decoded.
    pub frames: u64,
    pub sample_rate: u32,
    pub channels: u32,
    /// Seconds (0 when the container does not say).
    pub duration: f64,
    /// Seconds.
    pub start: f64,
}

impl Stream {
    fn from_json(v: &Value) -> Stream {
        // ffprobe writes most numbers as strings ("300", "10.000000").
        let text = |key: &str| match &v[key] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        Stream {
            kind: text("codec_type"),
            codec: text("codec_name"),
            frames: text("nb_read_frames").parse().unwrap_or(0),
            sample_rate: text("sample_rate").parse().unwrap_or(0),
            channels: text("channels").parse().unwrap_or(0),
            duration: text("duration").parse().unwrap_or(0.0),
            start: text("start_time").parse().unwrap_or(0.0),
        }
    }
}

/// Every stream of `path` ([`ffprobe_streams`], typed).
pub fn probe(path: &Path) -> Vec<Stream> {
    ffprobe_streams(path)
        .iter()
        .map(Stream::from_json)
        .collect()
}

/// The first stream of `kind` (`video`, `audio`); panics naming `path` when there is none.
pub fn stream<'a>(streams: &'a [Stream], kind: &str, path: &Path) -> &'a Stream {
    streams
        .iter()
        .find(|s| s.kind == kind)
        .unwrap_or_else(|| panic!("{} has no {kind} stream: {streams:?}", path.display()))
}

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

/// Decodes `path` with ffmpeg to raw bytes on stdout; `args` select the stream and the format
/// (`["-map", "0:a", "-f", "f32le"]`).
pub fn ffmpeg_decode(path: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(args)
        .arg("-")
        .output()
        .expect("ffmpeg runs (scripts/install-deps installs it)");
    assert!(
        out.status.success(),
        "ffmpeg cannot decode {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// What ffmpeg says decoding all of `path` to the null muxer (`-v error`): empty when the file
/// decodes to its end cleanly.
pub fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs (scripts/install-deps installs it)");
    let errors = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if out.status.success() || !errors.is_empty() {
        errors
    } else {
        format!("ffmpeg exited with {}", out.status)
    }
}

/// The frame shown at `time` seconds as packed RGB24, `w`×`h` (checked). Seeks on the output
/// side, so the frame is exact, not the keyframe before it.
pub fn decode_frame_rgb(path: &Path, time: f64, w: u32, h: u32) -> Vec<u8> {
    let time = format!("{time}");
    let frame = ffmpeg_decode(
        path,
        &[
            "-ss",
            &time,
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
        ],
    );
    assert_eq!(
        frame.len(),
        (w * h * 3) as usize,
        "decoded frame of {} at {time} s is not {w}x{h}",
        path.display()
    );
    frame
}

/// `secs` of audio from `start`, mixed to mono f32 at 48 kHz.
pub fn decode_audio(path: &Path, start: f64, secs: f64) -> Vec<f32> {
    let (start, secs) = (start.to_string(), secs.to_string());
    let bytes = ffmpeg_decode(
        path,
        &[
            "-ss", &start, "-t", &secs, "-vn", "-ac", "1", "-ar", "48000", "-f", "f32le",
        ],
    );
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Root mean square of the samples (0 for none).
pub fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

/// The `(r, g, b)` of every pixel in `rect` of a frame `width` pixels wide.
fn pixels(
    frame: &[u8],
    width: u32,
    (x, y, w, h): (u32, u32, u32, u32),
) -> impl Iterator<Item = [u8; 3]> + '_ {
    (y..y + h).flat_map(move |yy| {
        (x..x + w).map(move |xx| {
            let i = ((yy * width + xx) * 3) as usize;
            [frame[i], frame[i + 1], frame[i + 2]]
        })
    })
}

/// Per-channel median of `rect`: robust to small moving things (the synthetic sources' ball
/// and name label).
pub fn median_rgb(frame: &[u8], width: u32, rect: (u32, u32, u32, u32)) -> [u8; 3] {
    let mut channels: [Vec<u8>; 3] = Default::default();
    for p in pixels(frame, width, rect) {
        for (c, ch) in channels.iter_mut().enumerate() {
            ch.push(p[c]);
        }
    }
    channels.map(|mut ch| {
        ch.sort_unstable();
        ch[ch.len() / 2]
    })
}

/// Per-channel mean of `rect`.
pub fn mean_rgb(frame: &[u8], width: u32, rect: (u32, u32, u32, u32)) -> [u32; 3] {
    let mut sum = [0u64; 3];
    for p in pixels(frame, width, rect) {
        for c in 0..3 {
            sum[c] += u64::from(p[c]);
        }
    }
    let n = u64::from(rect.2 * rect.3).max(1);
    sum.map(|s| (s / n) as u32)
}

/// Mean absolute difference per channel between the same `rect` of two frames.
pub fn region_difference(a: &[u8], b: &[u8], width: u32, rect: (u32, u32, u32, u32)) -> f64 {
    let sum: u64 = pixels(a, width, rect)
        .zip(pixels(b, width, rect))
        .map(|(pa, pb)| {
            (0..3)
                .map(|c| u64::from(pa[c].abs_diff(pb[c])))
                .sum::<u64>()
        })
        .sum();
    sum as f64 / f64::from((rect.2 * rect.3 * 3).max(1))
}

/// Every channel within `tolerance` of `want` (encoding shifts colours a little).
pub fn close_to(got: [u8; 3], want: [u8; 3], tolerance: u8) -> bool {
    got.iter()
        .zip(want)
        .all(|(g, w)| g.abs_diff(w) <= tolerance)
}

/// A fragmented MP4 of `secs` s as the recorder's muxer writes them (H.264 `size` at 30 fps and
/// `kbps` on a videotestsrc `pattern`, AAC, `mp4mux fragment-duration=1000 streamable=true`),
/// written to `path` and returned; `None` (said on stderr) when GStreamer's command line is
/// missing.
pub fn mp4mux_file(
    path: &Path,
    pattern: &str,
    size: (u32, u32),
    kbps: u32,
    secs: u32,
) -> Option<Vec<u8>> {
    let Some(gst) = crate::find_program("gst-launch-1.0") else {
        eprintln!("skipped: gst-launch-1.0 is not installed (scripts/install-deps)");
        return None;
    };
    let description = format!(
        "videotestsrc pattern={pattern} num-buffers={frames} \
         ! video/x-raw,width={w},height={h},framerate=30/1 \
         ! x264enc speed-preset=veryfast tune=zerolatency key-int-max=30 bitrate={kbps} \
         ! video/x-h264,profile=high ! h264parse ! mux.video_0 \
         audiotestsrc num-buffers={buffers} samplesperbuffer=1024 ! audioconvert \
         ! avenc_aac ! aacparse ! mux.audio_0 \
         mp4mux name=mux fragment-duration=1000 streamable=true ! filesink location={out}",
        frames = secs * 30,
        buffers = secs * 44100 / 1024,
        w = size.0,
        h = size.1,
        out = path.display()
    );
    let status = Command::new(gst)
        .arg("-q")
        .args(description.split_whitespace())
        .status()
        .expect("run gst-launch-1.0");
    assert!(
        status.success(),
        "gst-launch-1.0 failed for {}",
        path.display()
    );
    Some(std::fs::read(path).expect("read the muxed file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_read_the_rectangle_they_are_given() {
        // 4×2 frame: left half red, right half blue.
        let mut frame = Vec::new();
        for _ in 0..2 {
            for x in 0..4 {
                frame.extend(if x < 2 { [200, 0, 0] } else { [0, 0, 200] });
            }
        }
        assert_eq!(median_rgb(&frame, 4, (0, 0, 2, 2)), [200, 0, 0]);
        assert_eq!(mean_rgb(&frame, 4, (1, 0, 2, 1)), [100, 0, 100]);
        assert_eq!(region_difference(&frame, &frame, 4, (0, 0, 4, 2)), 0.0);
        let blank = vec![0; frame.len()];
        assert!((region_difference(&frame, &blank, 4, (0, 0, 2, 2)) - 200.0 / 3.0).abs() < 1e-9);
        assert!(close_to([10, 20, 30], [12, 18, 30], 2));
        assert!(!close_to([10, 20, 30], [13, 20, 30], 2));
        assert!((rms(&[0.5, -0.5]) - 0.5).abs() < 1e-6);
    }
}
