//! A continuation job (`resume` set: the recorder that replaces a lost one, issue 18) carries
//! the lost recorder's HLS playlist on under the same prefix: one playlist, the lost segments,
//! one `#EXT-X-DISCONTINUITY`, then the continuation's segments numbered after the highest
//! already there, ended once. A continuation whose video does not match what the bucket holds
//! fails before recording and names the object and the mismatch.
//!
//! Its MP4 outputs end as ONE file at the original key, joined from the parts; parts that
//! one file cannot hold (another video size) are kept and the job says so.
//!
//! The lost recorder is played by a short `render` whose playlist is left unended, as a killed
//! recorder leaves it (`crash_recovery` covers the kill itself).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use vcs_test_support::{
    S3Server, TempDir, decode_errors, decode_frame_rgb, duration_secs, mean_rgb, wait_for,
};

const BUCKET: &str = "rec";
const PART_SECS: f64 = 4.0;
/// The gap a continuation is told of (its `resume.recordedSecs` past what part 0 holds): its
/// video time, where its part starts in the joined MP4.
const GAP_SECS: f64 = 1.5;

const VIDEO: &str = "{width: 640, height: 360, fps: 30, bitrateKbps: 1000}";

/// A job recording `video` of a `test:{camera}` camera, continuation `resume` if set, to HLS
/// and (if `mp4`) MP4 on S3.
fn job_yaml(s3: &S3Server, video: &str, camera: &str, resume: Option<u32>, mp4: bool) -> String {
    let target = |key: &str| s3.target_yaml(BUCKET, key);
    // A first part that is not a continuation runs long enough to be killed (it is, or it
    // is cut short by `--duration`).
    let secs = if resume.is_some() { PART_SECS } else { 60.0 };
    let (mp4_key, resume) = match resume {
        Some(n) => (
            format!("cont/archive.part{n}.mp4"),
            format!(
                "resume: {{restart: {n}, recordedSecs: {}}}\n",
                PART_SECS + GAP_SECS
            ),
        ),
        None => ("cont/archive.mp4".to_string(), String::new()),
    };
    let mp4 = if mp4 {
        format!(
            "\x20 - {{name: archive, mp4: {{s3: {}}}}}\n",
            target(&mp4_key)
        )
    } else {
        String::new()
    };
    format!(
        "composition: {{name: demo}}\n\
         participants:\n\
         \x20 - {{id: a, camera: 'test:{camera}', audio: 'test:'}}\n\
         video: {video}\n\
         durationSecs: {secs}\n\
         {resume}\
         outputs:\n\
         \x20 - {{name: live, hls: {{segmentSecs: 2, s3: {}}}}}\n\
         {mp4}",
        target("cont/hls")
    )
}

fn render(dir: &Path, name: &str, yaml: &str) -> Output {
    let job = dir.join(name);
    std::fs::write(&job, yaml).expect("write job");
    Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("render")
        .args(["--duration", &PART_SECS.to_string()])
        .arg(&job)
        .env("TMPDIR", dir)
        .output()
        .expect("run vcs-recorder render")
}

/// Files under `dir`, recursively (none if it does not exist).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn segments(playlist: &str) -> Vec<&str> {
    playlist
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn a_continuation_continues_the_same_playlist_after_one_discontinuity() {
    let dir = TempDir::new("resume-hls");
    let s3 = S3Server::start(&dir.path().join("s3"));
    s3.create_bucket(BUCKET);
    ok(
        &render(
            dir.path(),
            "part0.yaml",
            &job_yaml(&s3, VIDEO, "red?pattern=ball", None, true),
        ),
        "the first part",
    );
    // Left as a killed recorder leaves it: not ended.
    let playlist = s3.object_path(BUCKET, "cont/hls/playlist.m3u8");
    let lost = std::fs::read_to_string(&playlist)
        .expect("the first part's playlist")
        .replace("#EXT-X-ENDLIST\n", "");
    std::fs::write(&playlist, &lost).expect("unend the playlist");
    let lost_segments: Vec<String> = segments(&lost).into_iter().map(String::from).collect();
    assert!(lost_segments.len() >= 2, "{lost}");

    ok(
        &render(
            dir.path(),
            "part1.yaml",
            &job_yaml(&s3, VIDEO, "blue?pattern=ball", Some(1), true),
        ),
        "the continuation",
    );
    let text = std::fs::read_to_string(&playlist).expect("the continued playlist");
    let all = segments(&text);
    eprintln!("{text}");
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY").count(), 1, "{text}");
    assert_eq!(text.matches("#EXT-X-ENDLIST").count(), 1, "{text}");
    assert!(text.trim_end().ends_with("#EXT-X-ENDLIST"), "{text}");
    assert_eq!(all[..lost_segments.len()], lost_segments[..], "{text}");
    let mut unique = all.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "a segment number repeats:\n{text}");
    assert!(all.len() > lost_segments.len(), "{text}");
    // The discontinuity sits between the lost segments and the continuation's.
    let at = text.find("#EXT-X-DISCONTINUITY").expect("discontinuity");
    let last_lost = lost_segments.last().expect("a lost segment");
    assert!(
        text.find(last_lost.as_str()).expect("listed") < at,
        "{text}"
    );
    for segment in &all {
        assert!(
            s3.object_path(BUCKET, &format!("cont/hls/{segment}"))
                .is_file(),
            "{segment} is listed but not in the bucket"
        );
    }
    // The continuation's own playlist file stays local.
    assert!(
        !s3.object_path(BUCKET, "cont/hls/.continuation-playlist.m3u8")
            .exists()
    );

    let errors = decode_errors(&playlist);
    assert!(errors.is_empty(), "{errors}");
    let listed: f64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .filter_map(|l| {
            l.trim_end_matches(',')
                .split(',')
                .next()?
                .parse::<f64>()
                .ok()
        })
        .sum();
    assert!(
        (listed - 2.0 * PART_SECS).abs() < 0.5,
        "the playlist lists {listed:.2} s of two {PART_SECS} s parts"
    );
    // ONE MP4 at the original key: part 0 (red), then, after the gap as a jump in time, the
    // continuation (blue) at its video time; the continuation's own object is gone.
    let mp4 = s3.object_path(BUCKET, "cont/archive.mp4");
    assert!(!s3.object_path(BUCKET, "cont/archive.part1.mp4").exists());
    let errors = decode_errors(&mp4);
    assert!(errors.is_empty(), "{errors}");
    let joined = duration_secs(&mp4);
    assert!(
        (joined - 2.0 * PART_SECS - GAP_SECS).abs() < 0.3,
        "the joined MP4 lasts {joined:.2} s, two parts of {PART_SECS} s and a gap of {GAP_SECS} s"
    );
    let (w, h) = (640, 360);
    let whole = (0, 0, w, h);
    let [r0, _, b0] = mean_rgb(&decode_frame_rgb(&mp4, 1.0, w, h), w, whole);
    let later = PART_SECS + GAP_SECS + 2.0;
    let [r1, _, b1] = mean_rgb(&decode_frame_rgb(&mp4, later, w, h), w, whole);
    assert!(r0 > b0 + 40, "part 0's red camera at 1 s: {r0} {b0}");
    assert!(
        b1 > r1 + 40,
        "the continuation's blue camera at {later} s: {r1} {b1}"
    );

    // A continuation of another size or rate is refused before it records, naming the
    // object it does not match: the MP4's first part, or the playlist's last segment.
    let before = std::fs::read(&playlist).expect("playlist");
    let small = "{width: 320, height: 180, fps: 30, bitrateKbps: 1000}";
    let refused = render(
        dir.path(),
        "part2.yaml",
        &job_yaml(&s3, small, "blue?pattern=ball", Some(2), true),
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "a mismatched continuation ran:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "s3://{BUCKET}/cont/archive.mp4 holds video/x-h264 640x360"
        )) && stderr.contains("size 320x180"),
        "{stderr}"
    );
    let slow = "{width: 640, height: 360, fps: 25, bitrateKbps: 1000}";
    let refused = render(
        dir.path(),
        "part2-hls.yaml",
        &job_yaml(&s3, slow, "blue?pattern=ball", Some(2), false),
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "a mismatched continuation ran:\n{stderr}"
    );
    let last = all.last().expect("a segment");
    assert!(
        stderr.contains(&format!(
            "s3://{BUCKET}/cont/hls/{last} holds video/x-h264 640x360 @ 30 fps"
        )) && stderr.contains("25 fps (video.fps)"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&playlist).expect("playlist"), before);
    assert!(!s3.object_path(BUCKET, "cont/archive.part2.mp4").exists());
}

#[test]
fn parts_that_one_mp4_cannot_hold_are_kept_and_the_job_says_so() {
    let dir = TempDir::new("resume-refused");
    let s3 = S3Server::start(&dir.path().join("s3"));
    s3.create_bucket(BUCKET);
    // Part 0 is gone and part 1 (complete, as its recovery left it) was recorded at another
    // size: the check before recording reads part 0 only, so only the join can tell.
    let small = "{width: 320, height: 180, fps: 30, bitrateKbps: 500}";
    ok(
        &render(
            dir.path(),
            "part1.yaml",
            &job_yaml(&s3, small, "red?pattern=ball", None, true),
        ),
        "the small part",
    );
    let part1 = s3.object_path(BUCKET, "cont/archive.part1.mp4");
    std::fs::rename(s3.object_path(BUCKET, "cont/archive.mp4"), &part1).expect("move to part 1");
    // Its playlist too would refuse the continuation before it records.
    std::fs::remove_dir_all(s3.object_path(BUCKET, "cont/hls")).expect("remove the HLS output");
    let part1_bytes = std::fs::read(&part1).expect("part 1");

    let out = render(
        dir.path(),
        "part2.yaml",
        &job_yaml(&s3, VIDEO, "blue?pattern=ball", Some(2), true),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A fault that does not fail the job: nothing recorded is missing.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "fault (0): outputs.archive: the MP4 parts are not joined into \
             s3://rec/cont/archive.mp4"
        ) && stderr.contains(
            "s3://rec/cont/archive.part2.mp4 does not record what \
                 s3://rec/cont/archive.part1.mp4 does (vide track 1 size 640x360 where it has \
                 320x180)"
        ),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&part1).expect("part 1 kept"), part1_bytes);
    let part2 = s3.object_path(BUCKET, "cont/archive.part2.mp4");
    let d = duration_secs(&part2);
    assert!((d - PART_SECS).abs() < 0.5, "part 2 kept, {d:.2} s");
    assert!(!s3.object_path(BUCKET, "cont/archive.mp4").exists());

    // `recover` with the continuation's job tries the same join, and says why it cannot.
    let run = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("recover")
        .arg(dir.path().join("part2.yaml"))
        .output()
        .expect("run vcs-recorder recover");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(
        stderr.contains("archive: outputs[1].mp4.s3: the MP4 parts are not joined"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&part1).expect("part 1 kept"), part1_bytes);
    assert!(part2.is_file());
}

#[test]
fn a_killed_recorders_part_and_the_continuations_become_one_mp4() {
    let dir = TempDir::new("resume-killed");
    let s3 = S3Server::start(&dir.path().join("s3"));
    s3.create_bucket(BUCKET);
    // Noise at a high bitrate fills S3's 5 MiB minimum part within seconds of real time; the
    // continuation records alike (one bitrate: x264 writes it into the stream's level).
    let video = "{width: 640, height: 360, fps: 30, bitrateKbps: 16000}";
    let job = dir.path().join("part0.yaml");
    std::fs::write(&job, job_yaml(&s3, video, "red?pattern=snow", None, true)).expect("job");
    // Before the lost recorder's first frame: the measured gap comes out longer by its start.
    let lost_span_from = vcs_job::control::rfc3339_now();
    let mut recorder = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .args(["render", "--realtime"])
        .arg(&job)
        .env("TMPDIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vcs-recorder");
    let journal = s3.object_path(BUCKET, "cont/archive.mp4.vcs-recovery");
    wait_for(
        "the first multipart part of the MP4 in S3",
        Duration::from_secs(120),
        || {
            files_under(&journal)
                .iter()
                .any(|f| f.ends_with("upload.json"))
        },
    );
    recorder.kill().expect("SIGKILL the recorder");
    recorder.wait().expect("reap the recorder");
    assert!(!s3.object_path(BUCKET, "cont/archive.mp4").exists());

    let continuation = job_yaml(&s3, video, "blue?pattern=ball", Some(1), true).replace(
        "recordedSecs:",
        &format!("lostSpanFrom: '{lost_span_from}', recordedSecs:"),
    );
    let out = render(dir.path(), "part1.yaml", &continuation);
    ok(&out, "the continuation");
    // It read how much media the lost recorder left, and the gap from there.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("the lost recorder left"))
        .unwrap_or_else(|| panic!("no measured gap in the summary: {stdout}"));
    let numbers: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [lost, gap] = numbers[..] else {
        panic!("{line}");
    };
    eprintln!("{line}");
    assert!(lost > 0.5 && (0.0..60.0).contains(&gap), "{line}");
    // Recovered in the background, then joined: one MP4, no part or recovery object left.
    let mp4 = s3.object_path(BUCKET, "cont/archive.mp4");
    assert!(!s3.object_path(BUCKET, "cont/archive.part1.mp4").exists());
    assert_eq!(files_under(&journal), Vec::<PathBuf>::new());
    let errors = decode_errors(&mp4);
    assert!(errors.is_empty(), "{errors}");
    let joined = duration_secs(&mp4);
    eprintln!("the killed part and {PART_SECS} s joined: {joined:.3} s");
    assert!(
        joined >= PART_SECS + 1.0,
        "the joined MP4 lasts {joined:.2} s: the killed part's fragments and {PART_SECS} s"
    );
    let (w, h) = (640, 360);
    let whole = (0, 0, w, h);
    let [r, _, b] = mean_rgb(&decode_frame_rgb(&mp4, joined - 1.0, w, h), w, whole);
    assert!(
        b > r + 40,
        "the continuation's blue camera at the end: {r} {b}"
    );
    let [r, _, b] = mean_rgb(&decode_frame_rgb(&mp4, 0.5, w, h), w, whole);
    assert!(r + 20 > b, "the killed part's noise at the start: {r} {b}");
}
