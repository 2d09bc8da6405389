//! Shared test fixtures: temp dirs, synthetic frames and audio, ffprobe/ffmpeg readers, and an
//! nginx-rtmp server on a free loopback port.
#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// A directory removed on drop (kept when the test fails, for a look).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "vcs-media-{tag}-{}-{}",
            std::process::id(),
            rand_u64()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            eprintln!("kept {} for inspection", self.0.display());
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
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
        kind: OutputTargetKind::Hls { dir, segment_secs },
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

/// `ffprobe` one entry per stream: (codec_type, codec_name, nb_read_frames, sample_rate, channels, duration, start_time).
#[derive(Debug, Clone)]
pub struct Stream {
    pub kind: String,
    pub codec: String,
    pub frames: u64,
    pub sample_rate: u32,
    pub channels: u32,
    pub duration: f64,
    pub start: f64,
}

pub fn probe(path: &Path) -> Vec<Stream> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_type,codec_name,nb_read_frames,sample_rate,channels,duration,start_time",
            "-of",
            "csv=p=0:nk=0",
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
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut s = Stream {
                kind: String::new(),
                codec: String::new(),
                frames: 0,
                sample_rate: 0,
                channels: 0,
                duration: 0.0,
                start: 0.0,
            };
            for kv in line.split(',') {
                let Some((k, v)) = kv.split_once('=') else {
                    continue;
                };
                match k {
                    "codec_type" => s.kind = v.into(),
                    "codec_name" => s.codec = v.into(),
                    "nb_read_frames" => s.frames = v.parse().unwrap_or(0),
                    "sample_rate" => s.sample_rate = v.parse().unwrap_or(0),
                    "channels" => s.channels = v.parse().unwrap_or(0),
                    "duration" => s.duration = v.parse().unwrap_or(0.0),
                    "start_time" => s.start = v.parse().unwrap_or(0.0),
                    _ => {}
                }
            }
            s
        })
        .collect()
}

pub fn stream<'a>(streams: &'a [Stream], kind: &str, path: &Path) -> &'a Stream {
    streams
        .iter()
        .find(|s| s.kind == kind)
        .unwrap_or_else(|| panic!("{} has no {kind} stream: {streams:?}", path.display()))
}

/// Decodes with ffmpeg to raw bytes (`args` select the stream and format).
pub fn decode(path: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(args)
        .arg("-")
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg cannot decode {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// nginx with the RTMP module, recording every publish to `rec/` as its own FLV.
pub struct Nginx {
    pub dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Nginx {
    pub fn start(dir: &Path, port: u16) -> Nginx {
        assert!(
            Path::new(RTMP_MODULE).exists(),
            "{RTMP_MODULE} is missing: run scripts/install-deps (nginx libnginx-mod-rtmp)"
        );
        let rec = dir.join("rec");
        std::fs::create_dir_all(&rec).unwrap();
        let conf = dir.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
                 load_module {RTMP_MODULE};\nevents {{ worker_connections 64; }}\n\
                 rtmp {{ server {{ listen 127.0.0.1:{port}; application live {{ live on; \
                 record all; record_path {r}; record_unique on; }} }} }}\n",
                d = dir.display(),
                r = rec.display(),
            ),
        )
        .unwrap();
        let mut child = Command::new("nginx")
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx runs (scripts/install-deps installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
                panic!("nginx exited ({status}) before listening on {port}: {err}");
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx {
            dir: dir.to_path_buf(),
            port,
            child: Some(child),
        }
    }

    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Recorded FLVs, oldest first.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("rec"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "flv"));
        // record_unique names are `<key>-<unix time>.flv`.
        files.sort();
        files
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits for `cond`, failing with `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
