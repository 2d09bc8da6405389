//! CPU cost of encoding, in CPU-seconds per recorded second (getrusage user + sys):
//!
//! - the encode floor: our [`Encoder`] (x264 veryfast + AAC, one fragmented MP4) fed a
//!   pre-composed 1280x720@30 picture, measured on this process (RUSAGE_SELF);
//! - what teams script today: ffmpeg `xstack` 2x2 plus `drawtext` over four lavfi test sources,
//!   libx264 veryfast, measured on the child (RUSAGE_CHILDREN).
//!
//! `cargo bench -p vcs-media --bench encode`; `VCS_BENCH_SECS` sets the recorded length (10).
//! The recorder adds the full-pipeline figure (composition included) next to these.

use std::process::Command;
use std::time::Instant;

use vcs_media::{Encoder, EncoderConfig, OutputTarget, OutputTargetKind, audio_samples_for_frame};

const W: u32 = 1280;
const H: u32 = 720;
const FPS: u32 = 30;
const VIDEO_KBPS: u32 = 4000;
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// User + system CPU seconds of `who` (RUSAGE_SELF or RUSAGE_CHILDREN).
#[expect(
    unsafe_code,
    reason = "std has no safe way to read CPU time; getrusage through libc"
)]
fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: rusage is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes the struct we pass.
    let rc = unsafe { libc::getrusage(who, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A test picture: colour bars with a moving box, so inter frames are not free.
fn picture(n: u64) -> Vec<u8> {
    const BARS: [[u8; 3]; 7] = [
        [192, 192, 192],
        [192, 192, 0],
        [0, 192, 192],
        [0, 192, 0],
        [192, 0, 192],
        [192, 0, 0],
        [0, 0, 192],
    ];
    let mut data = vec![0u8; (W * H * 4) as usize];
    let (bx, by) = ((n * 9) % (W as u64 - 160), (n * 5) % (H as u64 - 160));
    for y in 0..H as u64 {
        for x in 0..W as u64 {
            let i = ((y * W as u64 + x) * 4) as usize;
            let c = if (bx..bx + 160).contains(&x) && (by..by + 160).contains(&y) {
                [255, 255, 255]
            } else {
                let noise = ((x * 31 + y * 17 + n * 13) % 23) as u8;
                BARS[(x * 7 / W as u64) as usize].map(|v| v.saturating_add(noise))
            };
            data[i..i + 3].copy_from_slice(&c);
            data[i + 3] = 255;
        }
    }
    data
}

fn encode_floor(secs: u64, dir: &std::path::Path) -> (f64, f64) {
    // Composed before the clock starts: this measures the encode alone.
    let pictures: Vec<Vec<u8>> = (0..FPS as u64).map(picture).collect();
    let frames = secs * FPS as u64;
    let cpu0 = cpu_seconds(libc::RUSAGE_SELF);
    let wall0 = Instant::now();
    let mut enc = Encoder::start(
        EncoderConfig {
            width: W,
            height: H,
            fps: FPS,
            video_bitrate_kbps: VIDEO_KBPS,
            audio_bitrate_kbps: 128,
        },
        vec![OutputTarget {
            name: "bench".into(),
            kind: OutputTargetKind::Mp4 {
                path: dir.join("floor.mp4"),
            },
        }],
    )
    .expect("encoder starts");
    for n in 0..frames {
        let audio = vec![0.0f32; audio_samples_for_frame(n, FPS) * 2];
        enc.push(n, pictures[(n % FPS as u64) as usize].clone(), &audio)
            .expect("frame encodes");
    }
    enc.finish().expect("encoder finishes");
    (
        (cpu_seconds(libc::RUSAGE_SELF) - cpu0) / secs as f64,
        wall0.elapsed().as_secs_f64(),
    )
}

fn ffmpeg_xstack(secs: u64, dir: &std::path::Path) -> (f64, f64) {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y"]);
    for pattern in ["testsrc2", "smptebars", "testsrc", "rgbtestsrc"] {
        cmd.args(["-f", "lavfi", "-i"])
            .arg(format!("{pattern}=size=640x360:rate={FPS}:duration={secs}"));
    }
    cmd.args(["-f", "lavfi", "-i"]).arg(format!(
        "sine=frequency=440:sample_rate=48000:duration={secs}"
    ));
    let labels = (0..4).map(|i| format!("[v{i}]")).collect::<String>();
    let names = (0..4)
        .map(|i| {
            format!("[{i}:v]drawtext=fontfile={FONT}:text='Participant {i}':x=20:y=h-50:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.5[v{i}];")
        })
        .collect::<String>();
    cmd.arg("-filter_complex").arg(format!(
        "{names}{labels}xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0,\
         drawtext=fontfile={FONT}:text='VCS bench':x=(w-tw)/2:y=20:fontsize=40:fontcolor=white[v]"
    ));
    cmd.args([
        "-map", "[v]", "-map", "4:a", "-c:v", "libx264", "-preset", "veryfast",
    ])
    .args([
        "-b:v",
        &format!("{VIDEO_KBPS}k"),
        "-g",
        &(FPS * 2).to_string(),
    ])
    .args(["-c:a", "aac", "-b:a", "128k", "-ac", "2"])
    .arg(dir.join("xstack.mp4"));
    let cpu0 = cpu_seconds(libc::RUSAGE_CHILDREN);
    let wall0 = Instant::now();
    let status = cmd.status().expect("ffmpeg runs (scripts/install-deps)");
    assert!(status.success(), "ffmpeg xstack failed: {status}");
    (
        (cpu_seconds(libc::RUSAGE_CHILDREN) - cpu0) / secs as f64,
        wall0.elapsed().as_secs_f64(),
    )
}

fn main() {
    let secs: u64 = std::env::var("VCS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = std::env::temp_dir().join(format!("vcs-media-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!("encode bench: {W}x{H}@{FPS}, x264 veryfast {VIDEO_KBPS} kbit/s, {secs} s recorded");
    let (floor, floor_wall) = encode_floor(secs, &dir);
    println!(
        "  encode floor (Encoder, pre-composed picture): {floor:.3} CPU-s per recorded s ({floor_wall:.1} s wall)"
    );
    let (xstack, xstack_wall) = ffmpeg_xstack(secs, &dir);
    println!(
        "  ffmpeg xstack 2x2 + drawtext, 4 sources:     {xstack:.3} CPU-s per recorded s ({xstack_wall:.1} s wall)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
