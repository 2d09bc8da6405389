//! Lip-sync markers: a source that flashes white and beeps (1 kHz) at the same instant every
//! [`MARKER_PERIOD_SECS`] s, the live senders that publish it to each scheme's real server, and
//! the measure of the audio/video offset at each marker of a recorded file (decoded by ffmpeg).
//!
//! ```text
//! write_marker_source(mp4) ─► RTMP: ffmpeg -re -c copy -f flv ─► nginx-rtmp ─┐
//!                          ─► SRT:  ffmpeg -re -c copy -f mpegts srt listener ┤─► recorder ─► out.mp4
//!                          ─► RTSP: gst-rtsp-server (python3-gi) paced file ──┘        │
//! marker_offsets(out.mp4): flash onsets (mean luma per frame) paired with beep onsets ◄─┘
//!                          (1 ms envelope): offset = beep − flash, positive = audio late
//! ```

use std::path::Path;
use std::process::Command;

use crate::media::{decode_audio, ffmpeg_decode};
use crate::process::{Proc, free_port};
use crate::wait::wait_for;

/// Seconds between markers.
pub const MARKER_PERIOD_SECS: u32 = 2;
/// How long each flash and beep lasts.
pub const MARKER_MS: u32 = 100;

/// The marker source's picture: `W`×`H` at `FPS`.
pub const MARKER_W: u32 = 320;
pub const MARKER_H: u32 = 180;
pub const MARKER_FPS: u32 = 30;

/// Writes a `secs`-long H.264 + AAC (48 kHz stereo) MP4 to `path`: black with a white flash and
/// silence with a 1 kHz beep, both for [`MARKER_MS`] at the middle of every
/// [`MARKER_PERIOD_SECS`] s (1 s, 3 s, …), in sync to the sample. One keyframe per second, no
/// B-frames, so a live pull starts within a second and decoders add no reordering delay of their
/// own.
pub fn write_marker_source(path: &Path, secs: u32) {
    MarkerSource {
        width: MARKER_W,
        height: MARKER_H,
        secs,
        background: "black",
        // Markers half a period in (1 s, 3 s, …), none at 0: a live pull joins the stream at a
        // moment of its own, and a marker cut by the join in one track and not the other
        // measures the join, not the sync (an SRT run read −36 ms at a marker at the stream's
        // first frame).
        first_marker_secs: MARKER_PERIOD_SECS / 2,
    }
    .write(path, &[]);
}

/// A marker source's picture size, length, background and phase.
#[derive(Debug, Clone, Copy)]
pub struct MarkerSource {
    pub width: u32,
    pub height: u32,
    pub secs: u32,
    /// The colour between flashes (an ffmpeg colour: `black`, `0x404040`).
    pub background: &'static str,
    /// When the first flash and beep come, in seconds (less than [`MARKER_PERIOD_SECS`]).
    pub first_marker_secs: u32,
}

impl MarkerSource {
    /// Writes the source to `path` (as [`write_marker_source`]), in the container ffmpeg picks
    /// for `path`'s extension unless `format_args` say otherwise (`["-f", "mpegts"]`).
    pub fn write(&self, path: &Path, format_args: &[&str]) {
        let (w, h, secs, p) = (self.width, self.height, self.secs, MARKER_PERIOD_SECS);
        let on = f64::from(MARKER_MS) / 1000.0;
        let at = self.first_marker_secs;
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-y"])
            .args([
                "-f",
                "lavfi",
                "-i",
                &format!(
                    "color=c={bg}:s={w}x{h}:r={MARKER_FPS}:d={secs},\
                     drawbox=x=0:y=0:w={w}:h={h}:color=white:t=fill:\
                     enable='gte(t\\,{at})*lt(mod(t-{at}\\,{p})\\,{on})'",
                    bg = self.background
                ),
                "-f",
                "lavfi",
                "-i",
                // Per sample (aevalsrc), not per audio frame (`volume`'s `enable` is evaluated
                // once per 1024 samples, which moves the onset by up to 21 ms).
                &format!(
                    "aevalsrc='{beep}|{beep}':s=48000:d={secs}",
                    beep = format!(
                        "if(gte(t\\,{at})*lt(mod(t-{at}\\,{p})\\,{on})\\,0.5*sin(2*PI*1000*t)\\,0)"
                    )
                ),
            ])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
            ])
            .args(["-g", &MARKER_FPS.to_string(), "-pix_fmt", "yuv420p"])
            .args(["-c:a", "aac", "-ar", "48000", "-shortest"])
            .args(format_args)
            .arg(path)
            .output()
            .expect("ffmpeg runs (scripts/install-deps installs it)");
        assert!(
            out.status.success(),
            "making the marker source {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Writes to `path` one MPEG-TS stream made of marker sources played one after the other (the
/// picture size changes where one ends, as a camera or encoder that changes resolution
/// mid-stream does): each is written as MP4 (so its audio is exactly in sync with its video),
/// turned into MPEG-TS (H.264 parameter sets in band, so the new size reaches the decoder) and
/// joined by ffmpeg's concat demuxer (timestamps continue). `dir` holds the parts.
pub fn write_marker_sequence(path: &Path, dir: &Path, parts: &[MarkerSource]) {
    let mut list = String::new();
    for (i, part) in parts.iter().enumerate() {
        let mp4 = dir.join(format!("part{i}.mp4"));
        let ts = dir.join(format!("part{i}.ts"));
        part.write(&mp4, &[]);
        ffmpeg_ok(
            &["-i", &mp4.to_string_lossy(), "-c", "copy", "-f", "mpegts"],
            &ts,
        );
        list.push_str(&format!("file '{}'\n", ts.display()));
    }
    let list_path = dir.join("parts.txt");
    std::fs::write(&list_path, list).expect("write the concat list");
    let list_arg = list_path.to_string_lossy();
    ffmpeg_ok(
        &[
            "-f", "concat", "-safe", "0", "-i", &list_arg, "-c", "copy", "-f", "mpegts",
        ],
        path,
    );
}

/// `ffmpeg -v error -y <args> <out>`, panicking with its message if it fails.
fn ffmpeg_ok(args: &[&str], out: &Path) {
    let run = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .output()
        .expect("ffmpeg runs (scripts/install-deps installs it)");
    assert!(
        run.status.success(),
        "ffmpeg {args:?} {} failed: {}",
        out.display(),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// One marker found in a recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkerOffset {
    /// When the flash shows in the recording, in seconds.
    pub at_secs: f64,
    /// Beep onset minus flash onset, in milliseconds: positive when audio is late.
    pub offset_ms: f64,
}

/// What [`scan_markers`] found: the markers, and how many flashes and beeps there were.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerScan {
    pub markers: Vec<MarkerOffset>,
    pub flashes: usize,
    pub beeps: usize,
}

/// Every marker of the recording at `path` (video at `fps`, constant rate): each flash onset
/// paired with the beep onset nearest to it (within half a marker period). Flashes without a
/// beep (or beeps without a flash) are left out; a test checks it found as many as it expects.
pub fn marker_offsets(path: &Path, fps: u32) -> Vec<MarkerOffset> {
    scan_markers(path, fps, 128.0).markers
}

/// As [`marker_offsets`], with the mean luma above which a frame is a flash (a source whose
/// picture is grey between flashes needs more than 128), and the counts of flashes and beeps.
pub fn scan_markers(path: &Path, fps: u32, flash_luma: f64) -> MarkerScan {
    let frame_ms = 1000.0 / f64::from(fps);
    let flashes: Vec<f64> = onsets(&frame_brightness(path), flash_luma, 5)
        .into_iter()
        .map(|i| i as f64 * frame_ms)
        .collect();
    let audio = decode_audio(path, 0.0, 1.0e6);
    // Peak level per millisecond.
    let envelope: Vec<f64> = audio
        .chunks(48)
        .map(|c| c.iter().map(|s| f64::from(s.abs())).fold(0.0, f64::max))
        .collect();
    let beeps: Vec<f64> = onsets(&envelope, 0.05, 200)
        .into_iter()
        .map(|i| i as f64)
        .collect();
    let half_period = f64::from(MARKER_PERIOD_SECS) * 500.0;
    let markers = flashes
        .iter()
        .filter_map(|&f| {
            let b = beeps
                .iter()
                .copied()
                .min_by(|a, b| (a - f).abs().total_cmp(&(b - f).abs()))?;
            ((b - f).abs() < half_period).then_some(MarkerOffset {
                at_secs: f / 1000.0,
                offset_ms: b - f,
            })
        })
        .collect();
    MarkerScan {
        markers,
        flashes: flashes.len(),
        beeps: beeps.len(),
    }
}

/// Mean luma of every decoded frame, in order.
pub fn frame_brightness(path: &Path) -> Vec<f64> {
    let bytes = ffmpeg_decode(
        path,
        &[
            "-an",
            "-vf",
            "scale=32:18",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
        ],
    );
    bytes
        .chunks_exact(32 * 18)
        .map(|f| f.iter().map(|&v| f64::from(v)).sum::<f64>() / f.len() as f64)
        .collect()
}

/// The first index of each run above `threshold` that follows at least `gap` values below it.
pub fn onsets(values: &[f64], threshold: f64, gap: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut below = gap;
    for (i, &v) in values.iter().enumerate() {
        if v > threshold {
            if below >= gap {
                out.push(i);
            }
            below = 0;
        } else {
            below += 1;
        }
    }
    out
}

/// `ffmpeg -re -i <file> -c copy <args…> <url>`: publishes a file live, paced at its own rate
/// (what a camera or an encoder in front of the server does), killed on drop.
fn ffmpeg_publisher(name: &str, file: &Path, format_and_url: &[&str]) -> Proc {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-re", "-i"])
        .arg(file)
        .args(["-c", "copy"])
        .args(format_and_url);
    Proc::spawn(name, &mut cmd)
}

/// Publishes `file` live to an RTMP server (`rtmp://…/live/key`) as FLV.
pub fn publish_rtmp(file: &Path, url: &str) -> Proc {
    ffmpeg_publisher("ffmpeg rtmp publisher", file, &["-f", "flv", url])
}

/// As [`publish_rtmp`], from `from_secs` into the file (a keyframe: the marker source has one
/// every second), its timestamps starting again at 0.
pub fn publish_rtmp_from(file: &Path, url: &str, from_secs: u32) -> Proc {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-re", "-ss", &from_secs.to_string(), "-i"])
        .arg(file)
        .args(["-c", "copy", "-f", "flv", url]);
    Proc::spawn("ffmpeg rtmp publisher", &mut cmd)
}

/// Serves `file` live as MPEG-TS from an SRT listener on UDP `port`
/// (`srt://127.0.0.1:<port>` for a caller); the listener sends once a caller connects.
pub fn publish_srt_listener(file: &Path, port: u16) -> Proc {
    let url = format!("srt://127.0.0.1:{port}?mode=listener");
    ffmpeg_publisher("ffmpeg srt listener", file, &["-f", "mpegts", &url])
}

/// Serves `file` live as MPEG-TS over HTTP at the URL returned (`http://127.0.0.1:<port>/live.ts`):
/// ffmpeg as a one-client HTTP server (`-listen 1`, chunked, no length: a live stream, not a
/// file), paced in real time from when its client connects. Returns once it listens; killed on
/// drop.
pub fn serve_http_live(file: &Path) -> (Proc, String) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/live.ts");
    let proc = ffmpeg_publisher(
        "ffmpeg HTTP live server",
        file,
        &["-f", "mpegts", "-listen", "1", &url],
    );
    // Not by connecting: that connection would be the server's one client.
    wait_for(
        "ffmpeg's HTTP server to listen",
        std::time::Duration::from_secs(20),
        || tcp_listening(port).then_some(()),
    );
    (proc, url)
}

/// Whether something listens on TCP `port` (IPv4), by `/proc/net/tcp`.
fn tcp_listening(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table.lines().skip(1).any(|line| {
        let mut fields = line.split_whitespace().skip(1);
        let local = fields.next().unwrap_or("");
        let state = fields.nth(1).unwrap_or("");
        // State 0A is LISTEN; the local address is `HEXIP:HEXPORT`.
        state == "0A"
            && local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
                == Some(port)
    })
}

/// The GStreamer RTSP server (gst-rtsp-server through Debian's python3-gi) serving an MP4 at
/// `rtsp://127.0.0.1:<port>/marker`, paced in real time by the server's clock; each client gets
/// the file from its start. Killed on drop.
pub struct RtspFileServer {
    pub port: u16,
    _proc: Proc,
}

/// The server: H.264 and AAC from the MP4, payloaded as RTP (pay0, pay1).
const RTSP_SERVER_PY: &str = r#"
import sys, gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtspServer, GLib
Gst.init(None)
port, path = sys.argv[1], sys.argv[2]
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    '( filesrc location="%s" ! qtdemux name=d '
    'd.video_0 ! queue ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 '
    'd.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 )' % path)
server.get_mount_points().add_factory('/marker', factory)
server.attach(None)
GLib.MainLoop().run()
"#;

impl RtspFileServer {
    /// Starts the server and waits until it listens.
    pub fn start(file: &Path) -> RtspFileServer {
        // Debian's python3 has python3-gi; a pyenv or venv python on PATH may not.
        let python = ["/usr/bin/python3", "python3"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .unwrap_or("python3");
        let port = free_port();
        let mut cmd = Command::new(python);
        cmd.args(["-c", RTSP_SERVER_PY, &port.to_string()])
            .arg(file);
        let proc = Proc::spawn(
            "gst-rtsp-server (python3-gi, gir1.2-gst-rtsp-server-1.0)",
            &mut cmd,
        );
        wait_for(
            "gst-rtsp-server to listen",
            std::time::Duration::from_secs(20),
            || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
        );
        RtspFileServer { port, _proc: proc }
    }

    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/marker", self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onsets_need_a_gap_before_them() {
        let v = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(onsets(&v, 0.5, 3), [1, 8]);
    }
}
