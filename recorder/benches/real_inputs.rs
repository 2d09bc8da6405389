//! Issue 20's bench: composing **real** inputs (H.264 720p30 + AAC files, decoded the way SFU
//! tracks arrive), measured side by side with ffmpeg doing the same job, in one run:
//!
//! - ours: `vcs-recorder render`, the `demo` composition (2×2 grid, name labels, banner, timer)
//!   of four `file://` participants at 1280×720@30, x264 veryfast + AAC;
//! - ffmpeg: decode 4 → scale to 640×360 → drawtext names → xstack 2×2 → banner box and timer
//!   text → libx264 veryfast (the recorder's settings) + the four audio tracks mixed to AAC;
//! - the floors: decoding the four inputs alone (ffmpeg to the null muxer) and encoding alone
//!   (gst-launch: the composed picture and mixed audio, read raw from files, into the
//!   recorder's x264 + AAC settings);
//! - what each tool spends above the floor: composing, and everything else that is neither
//!   decoding nor encoding.
//!
//! The encode floor encodes **the same picture content** both tools encode: the 4-up grid with
//! its labels and banner, made once, untimed, by ffmpeg's filter graph above written raw (I420
//! `.yuv` and a 48 kHz stereo f32 `.wav`) into the bench's temp dir. x264's cost depends on the
//! picture: a test pattern (`videotestsrc pattern=ball`, mostly black, as this floor was before)
//! costs it far less than four moving participants, so the floor was too low and every ratio to
//! it too high. Reading the raw files (`filesrc ! rawvideoparse`, one buffer per frame) costs
//! little next to the encode.
//!
//! each a child process whose CPU time (user + sys) and peak RSS come from `wait4`, all of them run
//! one after another three times over (interleaved, so a change in the machine's load touches
//! all of them alike; `VCS_BENCH_RUNS` sets how many times, more on a noisy machine) and
//! reported as medians with the ratios and the load average. Then
//! 1920×1080@30 from nine 720p participants at real time (`--realtime`, dropped frames counted),
//! and how many live 720p 4-up recordings run at once with zero dropped frames.
//!
//! The inputs are generated at bench time with ffmpeg (lavfi test pattern + tone, libx264).
//! `cargo bench -p vcs-recorder --bench real_inputs` runs the release `vcs-recorder` that cargo
//! builds beside the bench (what users run; `VCS_RECORDER_BIN` names another);
//! `VCS_BENCH_BASELINE_BIN` adds a second `vcs-recorder` (say main's, built the same way) to the
//! interleaved runs, a before/after in one run; `VCS_BENCH_SECS` sets the length (10),
//! `VCS_BENCH_MAX_CONCURRENT` the most concurrent recordings tried (8).
#![expect(
    clippy::unwrap_used,
    reason = "bench code: an unwrap that fails is a failed bench at that line"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use vcs_test_support::workspace_bin;

const NAMES: [&str; 9] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
];
const COLOURS: [&str; 4] = ["red", "green", "blue", "yellow"];
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

#[derive(Clone, Copy)]
struct Usage {
    cpu: f64,
    wall: f64,
    max_rss_mb: f64,
}

/// Waits for `child` (started at `started`) and reads its own resource usage; `None` if it
/// failed.
#[expect(
    unsafe_code,
    reason = "wait4 is the one call that gives a child's own rusage"
)]
fn wait_usage(child: &Child, started: Instant) -> Option<Usage> {
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child; wait4 only writes the status and the struct we pass.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return None;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(Usage {
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        wall: started.elapsed().as_secs_f64(),
        max_rss_mb: usage.ru_maxrss as f64 / 1024.0,
    })
}

/// Starts `cmd` with its stdout in `out`; the caller reaps it with [`wait_usage`].
fn spawn(mut cmd: Command, out: &Path) -> (Child, Instant) {
    let child = cmd
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} starts: {e}"));
    (child, Instant::now())
}

fn measure(cmd: Command, out: &Path) -> Usage {
    let what = format!("{cmd:?}");
    let (child, started) = spawn(cmd, out);
    wait_usage(&child, started).unwrap_or_else(|| panic!("{what} failed"))
}

/// `n` H.264 720p30 + AAC files of `secs` seconds, each a moving test pattern tinted its own
/// colour with its own tone.
fn make_inputs(dir: &Path, secs: u64) -> Vec<PathBuf> {
    COLOURS
        .iter()
        .enumerate()
        .map(|(i, colour)| {
            let path = dir.join(format!("in{i}.mp4"));
            let status = Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
                .arg(format!(
                    "testsrc2=size=1280x720:rate=30:duration={secs},drawbox=c={colour}@0.3:t=fill"
                ))
                .args(["-f", "lavfi", "-i"])
                .arg(format!("sine=f={}:duration={secs}", 300 + 100 * i))
                .args([
                    "-c:v", "libx264", "-preset", "veryfast", "-b:v", "2500k", "-g", "60",
                ])
                .args([
                    "-pix_fmt",
                    "yuv420p",
                    "-c:a",
                    "aac",
                    "-b:a",
                    "96k",
                    "-shortest",
                ])
                .arg(&path)
                .status()
                .expect("ffmpeg runs (scripts/install-deps installs it)");
            assert!(status.success(), "generating {}", path.display());
            path
        })
        .collect()
}

fn render(
    bin: &Path,
    inputs: &[PathBuf],
    participants: usize,
    (w, h): (u32, u32),
    secs: u64,
    realtime: bool,
    out: &Path,
) -> Command {
    let mut c = Command::new(bin);
    c.args(["render", "--composition", "demo", "--param", "title=Bench"])
        .args(["--size", &format!("{w}x{h}"), "--fps", "30"])
        .args(["--duration", &secs.to_string()])
        .arg("-o")
        .arg(out);
    for (i, name) in NAMES.iter().take(participants).enumerate() {
        let file = &inputs[i % inputs.len()];
        c.args([
            "--participant",
            &format!("{name}=file://{}", file.display()),
        ]);
    }
    if realtime {
        c.arg("--realtime");
    }
    c
}

/// ffmpeg's composition of the job up to the encoders: the inputs and the filter graph, whose
/// composed video `[v]` and mixed audio `[a]` the caller maps to its outputs.
fn ffmpeg_graph(inputs: &[PathBuf]) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-v", "error", "-y"]);
    for i in inputs {
        c.arg("-i").arg(i);
    }
    let labels: String = NAMES
        .iter()
        .take(4)
        .enumerate()
        .map(|(i, n)| {
            format!(
                "[{i}:v]scale=640:360,drawtext=fontfile={FONT}:text={n}:x=20:y=h-50:fontsize=28:\
                 fontcolor=white:box=1:boxcolor=black@0.6[v{i}];"
            )
        })
        .collect();
    c.args([
        "-filter_complex",
        &format!(
            "{labels}[v0][v1][v2][v3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0,\
             drawbox=x=0:y=0:w=iw:h=80:color=blue@0.8:t=fill,\
             drawtext=fontfile={FONT}:text=Bench:x=(w-tw)/2:y=20:fontsize=40:fontcolor=white,\
             drawtext=fontfile={FONT}:text='%{{pts\\:hms}}':x=w-tw-20:y=20:fontsize=32:fontcolor=white[v];\
             [0:a][1:a][2:a][3:a]amix=inputs=4[a]"
        ),
    ]);
    c
}

/// ffmpeg doing the whole job: [`ffmpeg_graph`] into the recorder's encoder settings.
fn ffmpeg_compose(inputs: &[PathBuf], secs: u64, out: &Path) -> Command {
    let mut c = ffmpeg_graph(inputs);
    c.args(["-map", "[v]", "-map", "[a]", "-t", &secs.to_string()]);
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
    c.args(["-c:a", "aac", "-b:a", "128k", "-ar", "48000"]);
    c.arg(out);
    c
}

/// Decoding the first `secs` of the four inputs, video and audio, and nothing else: the
/// decoding the job itself does. The inputs are longer than the job (so none ends before it),
/// and decoding them whole made this floor a sixth too high.
fn decode_floor(inputs: &[PathBuf], secs: u64) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-v", "error"]);
    for i in inputs {
        c.args(["-t", &secs.to_string()]).arg("-i").arg(i);
    }
    for i in 0..inputs.len() {
        c.args(["-map", &format!("{i}:v"), "-map", &format!("{i}:a")]);
    }
    c.args(["-f", "null", "-"]);
    c
}

/// The encode floor's input, made once and untimed: the composed 720p30 picture as raw I420
/// and the mixed audio as 48 kHz stereo f32 WAV (see the module doc for why).
struct FloorInput {
    video: PathBuf,
    audio: PathBuf,
}

fn make_floor_input(inputs: &[PathBuf], secs: u64, dir: &Path) -> FloorInput {
    let floor = FloorInput {
        video: dir.join("composed.yuv"),
        audio: dir.join("composed.wav"),
    };
    let secs = secs.to_string();
    let mut c = ffmpeg_graph(inputs);
    c.args([
        "-map", "[v]", "-t", &secs, "-f", "rawvideo", "-pix_fmt", "yuv420p",
    ])
    .arg(&floor.video);
    c.args([
        "-map",
        "[a]",
        "-t",
        &secs,
        "-c:a",
        "pcm_f32le",
        "-ar",
        "48000",
        "-ac",
        "2",
    ])
    .arg(&floor.audio);
    let status = c.status().expect("ffmpeg runs");
    assert!(
        status.success(),
        "composing the encode floor's input: {c:?}"
    );
    floor
}

/// The composed picture and mixed audio ([`make_floor_input`]) into the recorder's x264 + AAC
/// settings (`recorder/media/src/encode.rs`), muxed to MP4.
fn encode_floor(input: &FloorInput, out: &Path) -> Command {
    let (w, h) = (1280, 720);
    let mut c = Command::new("gst-launch-1.0");
    c.arg("-q").args(
        format!(
            "filesrc location={video} blocksize={frame} \
               ! rawvideoparse width={w} height={h} format=i420 framerate=30/1 \
               ! x264enc speed-preset=veryfast tune=zerolatency bitrate=4000 key-int-max=60 \
                 trellis=false option-string=scenecut=0 \
               ! video/x-h264,profile=high ! h264parse ! queue ! mux. \
             filesrc location={audio} ! wavparse ! audioconvert ! avenc_aac bitrate=128000 \
               ! aacparse ! queue ! mux. \
             mp4mux name=mux fragment-duration=1000 ! filesink location={out}",
            video = input.video.display(),
            audio = input.audio.display(),
            frame = w * h * 3 / 2,
            out = out.display(),
        )
        .split_whitespace(),
    );
    c
}

/// What the encode floor was before: a mostly black test pattern (`pattern=ball`) into the same
/// settings. Shown beside the fair floor (not used in the ratios) to say how much lower it was.
fn encode_test_pattern(secs: u64, out: &Path) -> Command {
    let mut c = Command::new("gst-launch-1.0");
    c.arg("-q").args(
        format!(
            "videotestsrc num-buffers={frames} pattern=ball \
               ! video/x-raw,width=1280,height=720,framerate=30/1,format=I420 \
               ! x264enc speed-preset=veryfast tune=zerolatency bitrate=4000 key-int-max=60 \
                 trellis=false option-string=scenecut=0 \
               ! video/x-h264,profile=high ! h264parse ! queue ! mux. \
             audiotestsrc num-buffers={buffers} samplesperbuffer=480 \
               ! audio/x-raw,rate=48000,channels=2 ! audioconvert ! avenc_aac bitrate=128000 \
               ! aacparse ! queue ! mux. \
             mp4mux name=mux fragment-duration=1000 ! filesink location={}",
            out.display(),
            frames = secs * 30,
            buffers = secs * 100,
        )
        .split_whitespace(),
    );
    c
}

/// The "N frames dropped" of `render`'s summary line (0 when it says nothing of drops).
fn dropped(stdout_file: &Path) -> u64 {
    std::fs::read_to_string(stdout_file)
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .split("; ")
        .find_map(|part| part.strip_suffix(" frames dropped")?.trim().parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// 1920×1080@30 from nine 720p participants at real time: its dropped frames.
fn hd_realtime(who: &str, bin: &Path, inputs: &[PathBuf], secs: u64, dir: &Path) {
    let log = dir.join("hd.stdout");
    let out = dir.join("hd.mp4");
    let hd = measure(render(bin, inputs, 9, (1920, 1080), secs, true, &out), &log);
    let hd_dropped = dropped(&log);
    println!(
        "  {who}: 1920x1080@30, 9 participants from 720p inputs, --realtime: {hd_dropped} frames \
         dropped over {secs} s ({:.2} CPU s, peak RSS {:.0} MB) -> {}",
        hd.cpu,
        hd.max_rss_mb,
        if hd_dropped == 0 {
            "holds real time"
        } else {
            "does NOT hold real time"
        }
    );
}

/// How many live 720p 4-up recordings run at once with zero dropped frames (trying 1, 2, ...
/// up to `max`).
fn concurrent_live(who: &str, bin: &Path, inputs: &[PathBuf], secs: u64, dir: &Path, max: usize) {
    let mut sustained = 0;
    for n in 1..=max {
        let children: Vec<_> = (0..n)
            .map(|k| {
                let out = dir.join(format!("live{k}.mp4"));
                let stdout = dir.join(format!("live{k}.stdout"));
                let cmd = render(bin, inputs, 4, (1280, 720), secs, true, &out);
                let (child, started) = spawn(cmd, &stdout);
                (child, started, stdout)
            })
            .collect();
        let mut total_dropped = 0;
        let mut failed = false;
        for (child, started, stdout) in &children {
            failed |= wait_usage(child, *started).is_none();
            total_dropped += dropped(stdout);
        }
        println!(
            "  {who}: {n} concurrent live 720p 4-up recordings: {total_dropped} frames dropped{} \
             (load {})",
            if failed { ", a recording failed" } else { "" },
            loadavg()
        );
        if total_dropped > 0 || failed {
            break;
        }
        sustained = n;
    }
    println!(
        "  -> {who}: {sustained} concurrent live 720p 4-up recordings with zero dropped frames on \
         this machine (while its other load was as above)"
    );
}

fn main() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let secs = env("VCS_BENCH_SECS", 10);
    let max_concurrent = env("VCS_BENCH_MAX_CONCURRENT", 8) as usize;
    let repeats = env("VCS_BENCH_RUNS", 3).max(1);
    let dir = std::env::temp_dir().join(format!("vcs-bench-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Longer than the recordings, so no input ends before them.
    let inputs = make_inputs(&dir, secs + 2);
    let log = dir.join("stdout");
    let load_before = loadavg();

    // Ours, then (when asked) the baseline: each a recorder binary and its row below.
    let mut recorders = vec![("ours", workspace_bin("vcs-recorder", "VCS_RECORDER_BIN"))];
    if let Some(b) = std::env::var_os("VCS_BENCH_BASELINE_BIN") {
        recorders.push(("baseline", PathBuf::from(b)));
    }
    for (who, bin) in &recorders {
        println!("{who}: {}", bin.display());
    }
    let floor_input = make_floor_input(&inputs, secs, &dir);
    let mut names = vec![
        "ffmpeg",
        "decode 4 inputs",
        "encode composed",
        "(encode test pattern)",
    ];
    let (ffmpeg, decode, encode, pattern) = (0, 1, 2, 3);
    let first_recorder = names.len();
    names.extend(recorders.iter().map(|(who, _)| *who));
    let mut runs: Vec<Vec<Usage>> = vec![Vec::new(); names.len()];
    for _ in 0..repeats {
        let out = |n: &str| dir.join(n);
        for (i, (_, bin)) in recorders.iter().enumerate() {
            let cmd = render(bin, &inputs, 4, (1280, 720), secs, false, &out("ours.mp4"));
            runs[first_recorder + i].push(measure(cmd, &log));
        }
        let cmd = ffmpeg_compose(&inputs, secs, &out("ff.mp4"));
        runs[ffmpeg].push(measure(cmd, &log));
        runs[decode].push(measure(decode_floor(&inputs, secs), &log));
        runs[encode].push(measure(encode_floor(&floor_input, &out("floor.mp4")), &log));
        let cmd = encode_test_pattern(secs, &out("pattern.mp4"));
        runs[pattern].push(measure(cmd, &log));
    }
    let medians = |f: fn(&Usage) -> f64| -> Vec<f64> {
        runs.iter()
            .map(|r| median(r.iter().map(f).collect()))
            .collect()
    };
    let (cpu, rss, wall) = (
        medians(|u| u.cpu),
        medians(|u| u.max_rss_mb),
        medians(|u| u.wall),
    );
    println!(
        "real-input bench: {secs} s at 1280x720@30 of the demo composition, 4 file:// H.264 720p30 + AAC participants; \
         medians of {repeats} interleaved runs; load average {load_before} before, {} after",
        loadavg()
    );
    println!(
        "  {:<22} {:>8} {:>8} {:>10}",
        "", "CPU s", "wall s", "peak RSS"
    );
    for i in 0..names.len() {
        println!(
            "  {:<22} {:>8.2} {:>8.1} {:>7.0} MB",
            names[i], cpu[i], wall[i], rss[i]
        );
    }
    let floor = cpu[decode] + cpu[encode];
    println!(
        "  (the encode floor encodes the composed 4-up picture and mixed audio, made untimed by \
         ffmpeg's graph and read raw: x264's cost depends on the picture, and the test pattern \
         the floor used before costs {:.2} CPU s less; it is not in the ratios)",
        cpu[encode] - cpu[pattern]
    );
    let _ = std::fs::remove_file(&floor_input.video);
    for i in first_recorder..names.len() {
        // The ratio within each round (the recorder and ffmpeg ran one after the other): how far
        // the machine's noise moves it.
        let (lowest, highest) = runs[i]
            .iter()
            .zip(&runs[ffmpeg])
            .map(|(ours, ff)| ours.cpu / ff.cpu)
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(r), hi.max(r)));
        println!(
            "  {who} / ffmpeg = {:.2} (each run: {lowest:.2} to {highest:.2}; target <= 0.85)   \
             {who} / (decode + encode) = {:.2} (target <= 1.15)   peak RSS {:.0} MB per 720p \
             4-up recording (target <= 250)",
            cpu[i] / cpu[ffmpeg],
            cpu[i] / floor,
            rss[i],
            who = names[i],
        );
        let (above, ffmpeg_above) = (cpu[i] - floor, cpu[ffmpeg] - floor);
        let compared = if ffmpeg_above > 0.0 {
            format!("{:.2}x what ffmpeg spends above it", above / ffmpeg_above)
        } else {
            "no ratio: ffmpeg's job cost less than its floor (a run this short is mostly \
             start-up)"
                .to_string()
        };
        println!(
            "  {who}: {above:.2} CPU s above the floor (ffmpeg: {ffmpeg_above:.2}); {compared}",
            who = names[i],
        );
    }
    for (who, bin) in &recorders {
        hd_realtime(who, bin, &inputs, secs, &dir);
    }
    for (who, bin) in &recorders {
        concurrent_live(who, bin, &inputs, secs, &dir, max_concurrent);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
