//! A composition cannot freeze or starve a recording (issue 17, failures 1 and 4), seen as a
//! user sees it: `vcs-recorder render` with hostile compositions, bounded by wall clock and by
//! the resident memory of the recorder and its engine process together.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vcs_test_support::{TempDir, decode_frame_rgb, duration_secs, median_rgb};

const W: u32 = 320;
const H: u32 = 180;

/// A composition that draws a blue box and runs `body` once video time passes 1 s.
fn hostile(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("hostile.jsx");
    let src = format!(
        "import * as React from 'react';\nimport {{ Box }} from '#vcs-react/components';\nimport {{ useVideoTime }} from '#vcs-react/hooks';\nexport default function C() {{\n  const t = useVideoTime();\n  if (t > 1) {{\n{body}\n  }}\n  return <Box style={{{{ fillColor: '#0000ff' }}}} />;\n}}\n"
    );
    std::fs::write(&path, src).expect("write the composition");
    path
}

fn render(composition: &Path, out: &Path, secs: u32, extra: &[&str], memory_mb: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("render")
        .arg("--composition")
        .arg(composition)
        .args([
            "--participant",
            "a=test:red",
            "--size",
            "320x180",
            "--fps",
            "30",
        ])
        .args(["--duration", &secs.to_string()])
        .arg("-o")
        .arg(out)
        .args(extra)
        .env("VCS_ENGINE_MEMORY_MB", memory_mb)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vcs-recorder starts")
}

/// A recorder that must not outlive a failing test.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's pipe, as they come.
fn lines(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Resident bytes of `pid` and all its descendants (from /proc).
fn tree_rss(pid: u32) -> u64 {
    let mut total = 0;
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        if let Ok(statm) = std::fs::read_to_string(format!("/proc/{p}/statm")) {
            total += statm
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                * 4096;
        }
        let Ok(entries) = std::fs::read_dir("/proc") else {
            continue;
        };
        for e in entries.flatten() {
            let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let ppid = std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|s| {
                    let after = s.rsplit_once(')')?.1.to_string();
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                });
            if ppid == Some(p) {
                todo.push(child);
            }
        }
    }
    total
}

/// What a run came to.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    peak_rss: u64,
}

/// Waits for `child` within `wall` (killing it and failing past that, or past `rss_bound`
/// bytes of resident memory for it and its engine process together).
fn finish(mut child: Child, wall: Duration, rss_bound: u64, what: &str) -> Run {
    let out = lines(child.stdout.take().expect("stdout"));
    let err = lines(child.stderr.take().expect("stderr"));
    let started = Instant::now();
    let mut peak_rss = 0;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        peak_rss = peak_rss.max(tree_rss(child.id()));
        if peak_rss > rss_bound || started.elapsed() > wall {
            let _ = child.kill();
            let _ = child.wait();
            let stderr: Vec<String> = err.try_iter().collect();
            panic!(
                "{what}: killed after {:?} at {} MB resident (bounds {wall:?}, {} MB)\n{}",
                started.elapsed(),
                peak_rss >> 20,
                rss_bound >> 20,
                stderr.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // the pipes close with the process
    std::thread::sleep(Duration::from_millis(100));
    Run {
        status,
        stdout: out.try_iter().collect::<Vec<_>>().join("\n"),
        stderr: err.try_iter().collect::<Vec<_>>().join("\n"),
        peak_rss,
    }
}

/// Whether a log says the recording stopped waiting for the composition.
fn stuck(log: &str) -> bool {
    log.contains("abandoned") || log.contains("still busy") || log.contains("did not finish")
}

/// The recording shows the composition's last good scene (its blue box) at `time`.
fn shows_the_last_good_scene(out: &Path, time: f64) {
    let frame = decode_frame_rgb(out, time, W, H);
    let rgb = median_rgb(&frame, W, (10, 10, 40, 40));
    assert!(
        rgb[2] > 180 && rgb[0] < 60 && rgb[1] < 60,
        "at {time} s: {rgb:?}"
    );
}

#[test]
fn a_composition_stuck_in_a_native_call_does_not_freeze_the_render() {
    let dir = TempDir::new("stuck");
    let comp = hostile(dir.path(), "    /^(a+)+$/.test('a'.repeat(34) + '!');");
    let out = dir.path().join("out.mp4");
    let child = render(&comp, &out, 3, &[], "1024");
    let run = finish(child, Duration::from_secs(180), 2 << 30, "render");
    assert!(
        run.stdout.contains("reused the last good scene"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    let secs = duration_secs(&out);
    assert!((secs - 3.0).abs() < 0.1, "{secs} s; {}", run.stderr);
    shows_the_last_good_scene(&out, 2.5);
    // the WARN names what happened, not a loop
    assert!(stuck(&run.stderr), "{}", run.stderr);
}

#[test]
fn sigterm_finalises_the_outputs_while_the_composition_is_stuck() {
    let dir = TempDir::new("stuck-sigterm");
    let comp = hostile(dir.path(), "    /^(a+)+$/.test('a'.repeat(40) + '!');");
    let out = dir.path().join("out.mp4");
    let mut child = KillOnDrop(render(&comp, &out, 60, &["--realtime"], "1024"));
    let child = &mut child.0;
    let err = lines(child.stderr.take().expect("stderr"));
    // wait until the composition is stuck (its frame was abandoned), then stop
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut stderr = Vec::new();
    while !stderr.iter().any(|l: &String| stuck(l)) {
        assert!(Instant::now() < deadline, "never stuck: {stderr:?}");
        if let Ok(l) = err.recv_timeout(Duration::from_millis(200)) {
            stderr.push(l);
        }
        assert!(child.try_wait().expect("wait").is_none(), "{stderr:?}");
    }
    std::thread::sleep(Duration::from_secs(1));
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(term.success());
    let stopped = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "SIGTERM did not stop the render"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    stderr.extend(err.try_iter());
    assert!(out.is_file(), "{status}: {stderr:?}");
    let secs = duration_secs(&out);
    assert!((1.5..59.0).contains(&secs), "{secs} s");
    shows_the_last_good_scene(&out, secs - 0.2);
}

#[test]
fn hostile_allocations_cost_only_the_engine_process() {
    for (name, body, secs, extra) in [
        // 64 MB more every frame, kept
        (
            "leak",
            "    globalThis.keep = globalThis.keep || [];\n    globalThis.keep.push(new Array(4000000).fill(t));",
            3,
            &[][..],
        ),
        // one native call asking for 2^31 elements
        ("array", "    new Array(2 ** 31 - 1).fill(0);", 3, &[][..]),
        // string doubling, at real time so the engine process reaches its cap and is restarted
        (
            "doubling",
            "    let s = 'x';\n    for (;;) s = s + s;",
            6,
            &["--realtime"][..],
        ),
    ] {
        let dir = TempDir::new(name);
        let comp = hostile(dir.path(), body);
        let out = dir.path().join("out.mp4");
        let child = render(&comp, &out, secs, extra, "384");
        // the engine process's 384 MB plus the recorder's own (~250 MB at this size)
        let run = finish(child, Duration::from_secs(240), 1 << 30, name);
        let got = duration_secs(&out);
        assert!(
            (got - f64::from(secs)).abs() < 0.1,
            "{name}: {got} s; {}",
            run.stderr
        );
        if name == "doubling" {
            assert!(
                run.stderr.contains("memory cap of 384 MB") && run.stderr.contains("restarted"),
                "{}",
                run.stderr
            );
        }
        shows_the_last_good_scene(&out, 2.5);
        eprintln!(
            "{name}: {} peak {} MB resident; {}",
            run.status,
            run.peak_rss >> 20,
            run.stdout
        );
    }
}
