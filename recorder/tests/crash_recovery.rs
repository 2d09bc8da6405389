//! A recorder killed with SIGKILL at a random moment of an S3-only MP4 + HLS recording loses
//! at most one fragment of what it had recorded: `vcs-recorder recover` completes the MP4 upload
//! into a playable file and ends the HLS playlist.

use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use vcs_test_support::{S3Server, TempDir, decode_errors, duration_secs, wait_for};

const BUCKET: &str = "rec";
/// mp4mux's fragment length in the MP4 output.
const FRAGMENT_SECS: f64 = 1.0;
/// How often the uploader checkpoints the MP4's tail (its poll interval), plus time for S3 to
/// take the checkpoint on a loaded machine.
const CHECKPOINT_LAG_SECS: f64 = 0.25 + 0.5;

fn job_yaml(s3: &S3Server) -> String {
    let target = |key: &str| s3.target_yaml(BUCKET, key);
    // Noise at a high bitrate fills S3's 5 MiB minimum part within seconds of real time.
    format!(
        "composition: {{name: demo}}\n\
         participants:\n\
         \x20 - {{id: a, camera: 'test:?pattern=snow', audio: 'test:'}}\n\
         \x20 - {{id: b, camera: 'test:?pattern=snow', audio: 'test:'}}\n\
         video: {{width: 640, height: 360, fps: 30, bitrateKbps: 16000}}\n\
         durationSecs: 120\n\
         outputs:\n\
         \x20 - {{name: archive, mp4: {{s3: {}}}}}\n\
         \x20 - {{name: live, hls: {{segmentSecs: 2, s3: {}}}}}\n",
        target("crash/archive.mp4"),
        target("crash/hls")
    )
}

/// Files under `dir` (recursively) whose name is `name`.
fn find_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            found.extend(find_named(&path, name));
        } else if path.file_name().is_some_and(|n| n == name) {
            found.push(path);
        }
    }
    found
}

#[test]
fn kill_9_mid_recording_then_recover_keeps_all_but_one_fragment() {
    let dir = TempDir::new("crash");
    let s3 = S3Server::start(&dir.path().join("s3"));
    s3.create_bucket(BUCKET);
    let job = dir.path().join("job.yaml");
    std::fs::write(&job, job_yaml(&s3)).expect("write job");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut recorder = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .args(["render", "--realtime"])
        .arg(&job)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vcs-recorder");
    let recovery_dir = s3.object_path(BUCKET, "crash/archive.mp4.vcs-recovery");
    // Kill once at least one multipart part is in S3 (the journal exists), plus a random
    // 0–4 s, so the moment falls anywhere in a fragment and in a part.
    wait_for(
        "the first multipart part of the MP4 in S3",
        Duration::from_secs(120),
        || !find_named(&recovery_dir, "upload.json").is_empty(),
    );
    let extra = RandomState::new().hash_one(std::process::id()) % 4000;
    std::thread::sleep(Duration::from_millis(extra));
    recorder.kill().expect("SIGKILL the recorder");
    recorder.wait().expect("reap the recorder");

    // What the recorder had written locally when it died (its spool folder survives here).
    let local = find_named(&tmp, "archive.mp4.part");
    let local = local
        .first()
        .expect("the recorder's local MP4 in its spool folder");
    let recorded = duration_secs(local);
    let playlist = s3.object_path(BUCKET, "crash/hls/playlist.m3u8");
    let before = std::fs::read_to_string(&playlist).expect("the playlist is in S3");
    assert!(!before.contains("#EXT-X-ENDLIST"), "{before}");
    assert!(
        !s3.object_path(BUCKET, "crash/archive.mp4").exists(),
        "no MP4 object before recovery"
    );

    let run = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("recover")
        .arg(&job)
        .output()
        .expect("run vcs-recorder recover");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "recover failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("archive: recovered s3://rec/crash/archive.mp4"),
        "{stdout}"
    );

    let mp4 = s3.object_path(BUCKET, "crash/archive.mp4");
    let got = duration_secs(&mp4);
    eprintln!("killed after {extra} ms more; local {recorded:.2} s, recovered {got:.2} s");
    assert!(
        got >= recorded - FRAGMENT_SECS - CHECKPOINT_LAG_SECS && got <= recorded + 0.05,
        "recovered {got:.2} s of the {recorded:.2} s recorded before the kill"
    );
    let errors = decode_errors(&mp4);
    assert!(
        errors.trim().is_empty(),
        "the recovered MP4 decodes with errors:\n{errors}"
    );
    let after = std::fs::read_to_string(&playlist).expect("playlist");
    assert!(after.trim_end().ends_with("#EXT-X-ENDLIST"), "{after}");
    assert!(
        find_named(&recovery_dir, "upload.json").is_empty(),
        "recovery objects are removed"
    );

    // Running it again finds nothing left to do and changes nothing.
    let again = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("recover")
        .arg(&job)
        .output()
        .expect("run vcs-recorder recover again");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success() && stdout.contains("nothing to recover"),
        "{stdout}"
    );
    assert!((duration_secs(&mp4) - got).abs() < 1e-6);
}
