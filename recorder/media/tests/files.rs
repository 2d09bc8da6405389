//! MP4 and HLS outputs written for real, checked with ffprobe/ffmpeg.
#![allow(
    clippy::unwrap_used,
    reason = "the helpers are test code too: an unwrap that fails is a failed test at that line"
)]

mod support;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::encode::*;
use vcs_job::control::OutputState;
use vcs_media::{Encoder, OutputEvent, part_path};
use vcs_test_support::{TempDir, ffmpeg_decode, probe, stream};

fn record(encoder: &mut Encoder, frames: std::ops::Range<u64>) {
    for n in frames {
        encoder.push(n, frame(n, None), &audio(n, false)).unwrap();
    }
}

#[test]
fn mp4_has_every_frame_and_stereo_aac_and_is_moved_into_place() {
    init_tracing();
    let dir = TempDir::new("mp4");
    let path = dir.path().join("out.mp4");
    let mut enc = Encoder::start(config(), vec![mp4("file", path.clone())]).unwrap();
    let events = enc.events();
    record(&mut enc, 0..100);
    assert!(
        part_path(&path).exists(),
        "written as .part while recording"
    );
    let summaries = enc.finish().unwrap();

    assert_eq!(summaries.len(), 1);
    let s = &summaries[0];
    assert_eq!(s.state, OutputState::Done, "{s:?}");
    assert_eq!(s.files, vec![path.clone()]);
    assert!(s.bytes > 10_000, "{s:?}");
    assert!(
        (s.duration.as_secs_f64() - 100.0 / 30.0).abs() < 0.01,
        "{s:?}"
    );
    assert!(!part_path(&path).exists(), ".part renamed");

    let streams = probe(&path);
    let v = stream(&streams, "video", &path);
    assert_eq!((v.codec.as_str(), v.frames), ("h264", 100), "{v:?}");
    assert!((v.duration - 100.0 / 30.0).abs() < 0.01, "{v:?}");
    let a = stream(&streams, "audio", &path);
    assert_eq!(
        (a.codec.as_str(), a.sample_rate, a.channels),
        ("aac", 48_000, 2),
        "{a:?}"
    );
    assert!((a.duration - 100.0 / 30.0).abs() < 0.1, "{a:?}");

    let got: Vec<OutputEvent> = std::iter::from_fn(|| events.try_recv().ok()).collect();
    assert_eq!(
        got,
        vec![
            OutputEvent::FileGrowing {
                output: "file".into(),
                path: part_path(&path)
            },
            OutputEvent::Finished {
                output: "file".into(),
                files: vec![path.clone()]
            },
        ]
    );
}

#[test]
fn hls_lists_every_segment_and_ends_the_playlist() {
    init_tracing();
    let dir = TempDir::new("hls");
    let hls_dir = dir.path().join("hls");
    let mut enc = Encoder::start(config(), vec![hls("hls", hls_dir.clone(), 2.0)]).unwrap();
    let events = enc.events();
    // 7 s: segments of 2, 2, 2 and 1 s.
    record(&mut enc, 0..210);
    let summaries = enc.finish().unwrap();
    let s = &summaries[0];
    assert_eq!(s.state, OutputState::Done, "{s:?}");

    let playlist_path = hls_dir.join("playlist.m3u8");
    let playlist = std::fs::read_to_string(&playlist_path).unwrap();
    assert!(
        playlist.trim_end().ends_with("#EXT-X-ENDLIST"),
        "{playlist}"
    );
    let durations: Vec<f64> = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| {
            l.trim_end_matches([',', ' '])
                .split(',')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let segments: Vec<&str> = playlist.lines().filter(|l| l.ends_with(".ts")).collect();
    assert_eq!(segments.len(), 4, "{playlist}");
    assert_eq!(durations.len(), 4, "{playlist}");
    for d in &durations[..3] {
        assert!(
            (d - 2.0).abs() < 0.05,
            "segment of {d} s, target 2: {playlist}"
        );
    }
    assert!(
        (durations.iter().sum::<f64>() - 7.0).abs() < 0.05,
        "{playlist}"
    );

    let mut total_frames = 0;
    for seg in &segments {
        let path = hls_dir.join(seg);
        let streams = probe(&path);
        total_frames += stream(&streams, "video", &path).frames;
        let a = stream(&streams, "audio", &path);
        assert_eq!((a.codec.as_str(), a.sample_rate), ("aac", 48_000));
    }
    assert_eq!(total_frames, 210, "every frame in exactly one segment");

    let want_files: Vec<_> = segments
        .iter()
        .map(|s| hls_dir.join(s))
        .chain([playlist_path.clone()])
        .collect();
    assert_eq!(s.files, want_files);

    let got: Vec<OutputEvent> = std::iter::from_fn(|| events.try_recv().ok()).collect();
    let mut want = Vec::new();
    for seg in &segments {
        want.push(OutputEvent::FileClosed {
            output: "hls".into(),
            path: hls_dir.join(seg),
        });
        want.push(OutputEvent::FileRewritten {
            output: "hls".into(),
            path: playlist_path.clone(),
        });
    }
    want.push(OutputEvent::FileRewritten {
        output: "hls".into(),
        path: playlist_path.clone(),
    });
    want.push(OutputEvent::Finished {
        output: "hls".into(),
        files: want_files,
    });
    assert_eq!(got, want);
}

#[test]
fn flashes_and_beeps_stay_within_a_frame_of_each_other() {
    init_tracing();
    let dir = TempDir::new("av");
    let path = dir.path().join("av.mp4");
    let late = dir.path().join("late.mp4");
    let mut enc = Encoder::start(config(), vec![mp4("file", path.clone())]).unwrap();
    let flashes = [15u64, 47, 80, 111, 140];
    for n in 0..160 {
        if n == 40 {
            // Starts at the keyframe forced here, on its own timeline.
            enc.add_output(mp4("late", late.clone())).unwrap();
        }
        let on = flashes.contains(&n);
        enc.push(n, frame(n, Some(if on { 255 } else { 0 })), &audio(n, on))
            .unwrap();
    }
    enc.finish().unwrap();
    // From the first frame, audio and video timestamps come from the same frame count: the
    // encoder's AAC priming is the only thing that could move them, and it is compensated.
    assert_av_aligned(&path, flashes.len(), 0.002);
    // Mid-recording, audio starts at the AAC frame nearest the keyframe: within half of one.
    assert_av_aligned(&late, flashes.len() - 1, 0.011);
}

/// Finds each flash (bright frame) and beep onset and checks they are within `tolerance` s
/// (always less than one frame).
fn assert_av_aligned(path: &std::path::Path, count: usize, tolerance: f64) {
    let streams = probe(path);
    let (vstart, astart) = (
        stream(&streams, "video", path).start,
        stream(&streams, "audio", path).start,
    );
    let pixels = ffmpeg_decode(
        path,
        &[
            "-map",
            "0:v",
            "-fps_mode",
            "passthrough",
            "-vf",
            "scale=32:18",
            "-pix_fmt",
            "gray",
            "-f",
            "rawvideo",
        ],
    );
    let flash_times: Vec<f64> = pixels
        .chunks(32 * 18)
        .enumerate()
        .filter(|(_, f)| f.iter().map(|&p| p as u64).sum::<u64>() / f.len() as u64 > 128)
        .map(|(i, _)| vstart + i as f64 / 30.0)
        .collect();
    let samples: Vec<f32> = ffmpeg_decode(path, &["-map", "0:a", "-ac", "1", "-f", "f32le"])
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let mut beep_times = Vec::new();
    let mut quiet = 48_000usize;
    for (i, s) in samples.iter().enumerate() {
        if s.abs() > 0.1 {
            if quiet > 4_800 {
                beep_times.push(astart + i as f64 / 48_000.0);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    assert_eq!(flash_times.len(), count, "flashes at {flash_times:?}");
    assert_eq!(beep_times.len(), count, "beeps at {beep_times:?}");
    let worst = flash_times
        .iter()
        .zip(&beep_times)
        .map(|(v, a)| (v - a).abs())
        .fold(0.0, f64::max);
    let offsets: Vec<f64> = flash_times
        .iter()
        .zip(&beep_times)
        .map(|(v, a)| ((a - v) * 1e4).round() / 10.0)
        .collect();
    eprintln!(
        "{}: worst A/V offset {:.1} ms; audio minus video per flash (ms): {offsets:?}",
        path.display(),
        worst * 1000.0
    );
    for (v, a) in flash_times.iter().zip(&beep_times) {
        assert!(
            (v - a).abs() < tolerance.min(1.0 / 30.0),
            "{}: flash at {v:.4} s but beep at {a:.4} s (more than {tolerance} s apart)",
            path.display()
        );
    }
}

#[test]
fn unusable_targets_fail_at_start_naming_the_output() {
    init_tracing();
    let dir = TempDir::new("bad");
    let cases = [
        (
            vec![mp4("a", "/nonexistent-dir/x.mp4".into())],
            "/nonexistent-dir/x.mp4",
        ),
        (vec![hls("h", "/proc/no/hls".into(), 2.0)], "output h"),
        (vec![hls("h", dir.path().join("h"), 0.0)], "segment length"),
        (
            vec![rtmp("live", "http://example.com/live/secretkey".into())],
            "not an rtmp",
        ),
        (
            vec![
                mp4("same", dir.path().join("1.mp4")),
                mp4("same", dir.path().join("2.mp4")),
            ],
            "names must be unique",
        ),
    ];
    for (targets, want) in cases {
        let err = match Encoder::start(config(), targets) {
            Ok(_) => panic!("expected an error mentioning {want:?}"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(want), "{err:?} should mention {want:?}");
        assert!(!err.contains("secretkey"), "stream key leaked: {err}");
    }
}

const CHILD_ENV: &str = "VCS_MEDIA_ABORT_CHILD";

/// Run by `aborted_recording_leaves_a_playable_mp4` in a child process, which kills it.
#[test]
#[ignore = "helper: run in a child process by aborted_recording_leaves_a_playable_mp4"]
fn abort_child() {
    let path =
        std::env::var(CHILD_ENV).expect("only run by aborted_recording_leaves_a_playable_mp4");
    let mut enc = Encoder::start(config(), vec![mp4("file", path.into())]).unwrap();
    for n in 0..30 * 60 {
        enc.push(n, frame(n, None), &audio(n, false)).unwrap();
        if n == 120 {
            println!("READY");
        }
        // About 4x real time: the parent has time to kill mid-recording.
        std::thread::sleep(Duration::from_millis(8));
    }
    panic!("not killed within 60 s of media");
}

#[test]
fn aborted_recording_leaves_a_playable_mp4() {
    let dir = TempDir::new("abort");
    let path = dir.path().join("crash.mp4");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "abort_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if line.contains("READY") {
                let _ = tx.send(());
            }
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(60));
    child.kill().unwrap(); // SIGKILL: no destructor, no EOS, no rename.
    let status = child.wait().unwrap();
    assert!(
        ready.is_ok(),
        "child never reported 120 frames pushed (exit {status})"
    );
    assert!(
        !path.exists(),
        "the unfinished file must not be at the final path"
    );
    let part = part_path(&path);
    let streams = probe(&part);
    let v = stream(&streams, "video", &part);
    assert!(
        v.frames >= 30,
        "the killed recording kept only {} frames",
        v.frames
    );
    assert!(stream(&streams, "audio", &part).frames > 0);
}
