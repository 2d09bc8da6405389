//! What a recorded second costs, measured side by side in one run (issue 5's bench):
//!
//! - (a) our pipeline: `vcs-recorder render`, 4 synthetic participants in the `demo` composition
//!   (grid, name labels, banner, countdown) at 1280×720@30, x264 veryfast;
//! - (b) the encode floor: the same encoder settings on one pre-composed test source
//!   (`gst-launch-1.0 videotestsrc ! RGBA ! videoconvert ! x264enc … ! mp4mux`, with AAC; the
//!   source is RGBA because a composed frame is), and beside it the same from an I420 source,
//!   which is x264 and AAC alone, since our pipeline's own RGBA → I420 costs far less than
//!   `videoconvert`'s;
//! - (c) what teams script today: ffmpeg `xstack` 2×2 plus `drawtext` over four test sources,
//!   libx264 veryfast;
//!
//! each as a child process whose CPU time (user + sys) and peak RSS come from `wait4`. Then
//! whether 1920×1080@30 holds real time (`render --realtime`) with zero dropped frames.
//!
//! `cargo bench -p vcs-recorder --bench pipeline`; `VCS_BENCH_SECS` sets the length (20).
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use vcs_test_support::workspace_bin;

struct Usage {
    cpu: f64,
    wall: f64,
    max_rss_mb: f64,
    stdout: String,
}

/// Runs `cmd` to completion and reads its own resource usage.
#[expect(
    clippy::zombie_processes,
    reason = "reaped by wait4, which also gives this child's own rusage"
)]
#[expect(
    unsafe_code,
    reason = "wait4 is the one call that gives a child's own rusage"
)]
fn measure(mut cmd: Command) -> Usage {
    let started = Instant::now();
    let out_path = std::env::temp_dir().join(format!("vcs-bench-{}.out", std::process::id()));
    let child = cmd
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("bench command starts");
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child; wait4 only writes the status and the struct we pass.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed ({status})"
    );
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        wall: started.elapsed().as_secs_f64(),
        max_rss_mb: usage.ru_maxrss as f64 / 1024.0,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
    }
}

fn render(dir: &Path, w: u32, h: u32, secs: u64, realtime: bool) -> Command {
    let mut c = Command::new(recorder());
    c.args(["render", "--composition", "demo", "--param", "title=Bench"])
        .args(["--size", &format!("{w}x{h}"), "--fps", "30"])
        .args(["--duration", &secs.to_string()])
        .arg("-o")
        .arg(dir.join(format!("ours-{w}x{h}.mp4")));
    for name in ["alice", "bob", "carol", "dave"] {
        c.args(["--participant", &format!("{name}=test:")]);
    }
    if realtime {
        c.arg("--realtime");
    }
    c
}

/// `rgba`: the source is RGBA, as a composed frame is, and `videoconvert` makes the I420 x264
/// takes (the floor the targets are set against); otherwise the source is I420 already, which
/// leaves x264 and AAC alone.
fn encode_floor(dir: &Path, secs: u64, rgba: bool) -> Command {
    let frames = secs * 30;
    let buffers = secs * 100;
    let format = if rgba {
        "RGBA ! videoconvert ! video/x-raw,format=I420"
    } else {
        "I420"
    };
    let mut c = Command::new("gst-launch-1.0");
    c.arg("-q").args(
        format!(
            "videotestsrc num-buffers={frames} pattern=ball \
               ! video/x-raw,width=1280,height=720,framerate=30/1,format={format} \
               ! x264enc speed-preset=veryfast tune=zerolatency bitrate=4000 key-int-max=60 option-string=scenecut=0 ! h264parse ! queue ! mux. \
             audiotestsrc num-buffers={buffers} samplesperbuffer=480 \
               ! audio/x-raw,rate=48000,channels=2 ! audioconvert ! avenc_aac bitrate=128000 \
               ! aacparse ! queue ! mux. \
             mp4mux name=mux fragment-duration=1000 ! filesink location={}",
            dir.join("floor.mp4").display()
        )
        .split_whitespace(),
    );
    c
}

fn ffmpeg_xstack(dir: &Path, secs: u64) -> Command {
    let font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    let mut c = Command::new("ffmpeg");
    c.args(["-v", "error", "-y"]);
    for colour in ["red", "green", "blue", "yellow"] {
        c.args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size=640x360:rate=30:duration={secs},drawbox=c={colour}@0.3:t=fill"),
        ]);
    }
    c.args(["-f", "lavfi", "-i", &format!("sine=f=440:duration={secs}")]);
    let labels: String = ["Alice", "Bob", "Carol", "Dave"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!("[{i}:v]drawtext=fontfile={font}:text={n}:x=20:y=h-50:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6[v{i}];")
        })
        .collect();
    c.args([
        "-filter_complex",
        &format!(
            "{labels}[v0][v1][v2][v3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0,\
             drawtext=fontfile={font}:text=Bench:x=(w-tw)/2:y=20:fontsize=40:fontcolor=white:box=1:boxcolor=blue@0.8[v]"
        ),
    ]);
    c.args(["-map", "[v]", "-map", "4:a"]);
    // The recorder's encoder settings, so the comparison is like for like.
    c.args([
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
    ]);
    c.args(["-x264-params", "scenecut=0", "-b:v", "4000k", "-g", "60"]);
    c.args(["-c:a", "aac", "-b:a", "128k"]);
    c.arg(dir.join("xstack.mp4"));
    c
}

fn recorder() -> PathBuf {
    workspace_bin("vcs-recorder", "VCS_RECORDER_BIN")
}

fn main() {
    let secs: u64 = std::env::var("VCS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = std::env::temp_dir().join(format!("vcs-bench-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let ours = measure(render(&dir, 1280, 720, secs, false));
    let floor = measure(encode_floor(&dir, secs, true));
    let x264_only = measure(encode_floor(&dir, secs, false));
    let xstack = measure(ffmpeg_xstack(&dir, secs));
    let per_sec = |u: &Usage| u.cpu / secs as f64;
    println!("pipeline bench: {secs} s recorded at 1280x720@30, x264 veryfast, 4 participants");
    println!(
        "  (a) vcs-recorder render (demo: grid, labels, banner, countdown): {:.3} CPU-s per recorded s (wall {:.1} s, peak RSS {:.0} MB)",
        per_sec(&ours),
        ours.wall,
        ours.max_rss_mb
    );
    println!(
        "  (b) encode floor (one pre-composed test source, same encoder):  {:.3} CPU-s per recorded s",
        per_sec(&floor)
    );
    println!(
        "      (b without the RGBA->I420 videoconvert, an I420 source straight into x264: {:.3}; a over it = {:.2})",
        per_sec(&x264_only),
        per_sec(&ours) / per_sec(&x264_only)
    );
    println!(
        "  (c) ffmpeg xstack 2x2 + drawtext:                               {:.3} CPU-s per recorded s",
        per_sec(&xstack)
    );
    println!(
        "  a/b = {:.2} (target <= 1.3)   a/c = {:.2} (target <= 1.0)   peak RSS {:.0} MB (target <= 300)",
        per_sec(&ours) / per_sec(&floor),
        per_sec(&ours) / per_sec(&xstack),
        ours.max_rss_mb
    );

    let hd = measure(render(&dir, 1920, 1080, secs, true));
    let dropped = hd
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split("; ")
        .find_map(|part| {
            part.strip_suffix(" frames dropped")?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0);
    println!(
        "  1920x1080@30 at real time on this machine: {} frames dropped over {secs} s ({:.2} CPU-s per recorded s, peak RSS {:.0} MB) -> {}",
        dropped,
        per_sec(&hd),
        hd.max_rss_mb,
        if dropped == 0 {
            "holds real time"
        } else {
            "does NOT hold real time"
        }
    );
    let _ = std::fs::remove_dir_all(&dir);
}
