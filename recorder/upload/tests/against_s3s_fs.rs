//! The uploader against a real S3-compatible server (s3s-fs), including an outage and a store
//! that loses a multipart upload. One test binary keeps link time down.

mod support;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{BUCKET, S3Server, init_logs, pattern};
use vcs_upload::{UploadError, Uploader, UploaderConfig};

const MIB: usize = 1024 * 1024;

fn fast_config(spool: &Path) -> UploaderConfig {
    UploaderConfig {
        part_size: 5 * MIB as u64,
        poll_interval: Duration::from_millis(100),
        initial_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(1),
        ..UploaderConfig::new(spool)
    }
}

fn append(path: &Path, bytes: &[u8]) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    file.write_all(bytes).expect("append");
}

fn rewrite_at_start(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    file.write_all_at(bytes, 0).expect("rewrite");
}

/// Polls `done` until it holds or `timeout` passes.
fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn growing_file_is_uploaded_while_written_and_rewritten_header_is_resent() {
    init_logs();
    let server = S3Server::start();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
    let target = server.target("rec/out.mp4");
    let file = work.path().join("out.mp4");
    let mp4 = uploader.growing(&target, "rec/out.mp4", &file);

    for seed in 1..=3 {
        append(&file, &pattern(6 * MIB, seed));
        mp4.poll();
        std::thread::sleep(Duration::from_millis(200));
    }
    // 18 MiB written: parts 1-3 (15 MiB) go up before the writer is done.
    wait_until(
        Duration::from_secs(30),
        "three parts uploaded while growing",
        || uploader.status().bytes_uploaded >= 15 * MIB as u64,
    );
    rewrite_at_start(&file, b"moov header patched at the end by the muxer");
    mp4.finish();

    let summary = uploader.shutdown(Duration::from_secs(60));
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(summary.outputs[0].objects_written, 1);
    // 15 MiB while growing + tail 3 MiB + part 1 again (changed) = 23 MiB.
    assert_eq!(summary.outputs[0].bytes_uploaded, 23 * MIB as u64);
    assert!(
        server.get("rec/out.mp4") == std::fs::read(&file).expect("read"),
        "object differs from file"
    );
}

#[test]
fn small_growing_file_is_one_put() {
    init_logs();
    let server = S3Server::start();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
    let file = work.path().join("short.mp4");
    let mp4 = uploader.growing(&server.target("short.mp4"), "short.mp4", &file);
    append(&file, &pattern(MIB, 9));
    drop(mp4); // dropping the handle finishes it, like closing a file
    let summary = uploader.shutdown(Duration::from_secs(30));
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(server.get("short.mp4"), pattern(MIB, 9));
}

#[test]
fn rewritten_playlist_ends_as_its_last_version_and_segments_arrive() {
    init_logs();
    let server = S3Server::start();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
    let target = server.target("live");
    let playlist = work.path().join("index.m3u8");
    let mut last = String::new();
    for n in 1..=6 {
        let segment = work.path().join(format!("seg{n}.m4s"));
        std::fs::write(&segment, pattern(64 * 1024, n)).expect("segment");
        uploader
            .put_file(&target, &format!("live/seg{n}.m4s"), &segment)
            .expect("put segment");
        last = format!(
            "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n{}",
            (1..=n).map(|i| format!("seg{i}.m4s\n")).collect::<String>()
        );
        std::fs::write(&playlist, &last).expect("playlist");
        uploader
            .put_file(&target, "live/index.m3u8", &playlist)
            .expect("put playlist");
        // The recorder may delete a segment as soon as it is handed over.
        std::fs::remove_file(&segment).expect("delete segment");
    }
    let summary = uploader.finish_all(Duration::from_secs(30));
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(
        String::from_utf8(server.get("live/index.m3u8")).expect("utf8"),
        last
    );
    for n in 1..=6 {
        assert_eq!(
            server.get(&format!("live/seg{n}.m4s")),
            pattern(64 * 1024, n),
            "segment {n}"
        );
    }
    let output = &summary.outputs[0];
    assert!(
        output.objects_written >= 7,
        "6 segments and at least one playlist: {output:?}"
    );
    assert_eq!(uploader.status().pending, 0);
    assert_eq!(
        std::fs::read_dir(work.path().join("spool"))
            .expect("spool")
            .count(),
        0,
        "spool emptied"
    );
}

#[test]
fn outage_of_ten_seconds_delays_but_loses_nothing() {
    init_logs();
    let mut server = S3Server::start();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
    let mp4_target = server.target("rec/out.mp4");
    let hls_target = server.target("rec/hls");
    let file = work.path().join("out.mp4");
    let playlist = work.path().join("index.m3u8");
    let mp4 = uploader.growing(&mp4_target, "rec/out.mp4", &file);
    let mut segment_no = 0u8;
    let mut put_segment = |uploader: &Uploader| {
        segment_no += 1;
        let segment = work.path().join(format!("s{segment_no}.m4s"));
        std::fs::write(&segment, pattern(256 * 1024, segment_no)).expect("segment");
        uploader
            .put_file(&hls_target, &format!("rec/hls/s{segment_no}.m4s"), &segment)
            .expect("put");
        std::fs::write(&playlist, format!("playlist up to {segment_no}")).expect("playlist");
        uploader
            .put_file(&hls_target, "rec/hls/index.m3u8", &playlist)
            .expect("put");
    };

    append(&file, &pattern(6 * MIB, 1));
    put_segment(&uploader);
    wait_until(
        Duration::from_secs(30),
        "first part before the outage",
        || uploader.status().bytes_uploaded >= 5 * MIB as u64,
    );

    server.stop();
    let outage = Instant::now();
    append(&file, &pattern(6 * MIB, 2));
    mp4.poll();
    put_segment(&uploader);
    wait_until(Duration::from_secs(10), "retries during the outage", || {
        uploader.status().retrying
    });
    append(&file, &pattern(2 * MIB, 3));
    put_segment(&uploader);
    let during = uploader.status();
    assert!(during.pending > 0, "{during:?}");
    assert!(
        during
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("127.0.0.1")),
        "{during:?}"
    );
    assert!(
        !during
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains(support::SECRET_KEY)
    );
    std::thread::sleep(Duration::from_secs(10).saturating_sub(outage.elapsed()));
    assert!(
        uploader.status().upload_lag >= Duration::from_secs(5),
        "{:?}",
        uploader.status()
    );
    server.restart();

    rewrite_at_start(&file, b"final header");
    mp4.finish();
    let summary = uploader.shutdown(Duration::from_secs(60));
    assert!(summary.is_complete(), "{summary:?}");
    let objects: u64 = summary.outputs.iter().map(|o| o.objects_written).sum();
    assert!(objects >= 5, "mp4, three segments, a playlist: {summary:?}");
    assert!(
        server.get("rec/out.mp4") == std::fs::read(&file).expect("read"),
        "mp4 differs"
    );
    for n in 1..=3 {
        assert_eq!(
            server.get(&format!("rec/hls/s{n}.m4s")),
            pattern(256 * 1024, n),
            "segment {n}"
        );
    }
    assert_eq!(server.get("rec/hls/index.m3u8"), b"playlist up to 3");
}

#[test]
fn lost_multipart_upload_is_started_over() {
    init_logs();
    let server = S3Server::start();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
    let file = work.path().join("out.mp4");
    let mp4 = uploader.growing(&server.target("lost.mp4"), "lost.mp4", &file);
    append(&file, &pattern(6 * MIB, 4));
    wait_until(Duration::from_secs(30), "first part", || {
        uploader.status().bytes_uploaded >= 5 * MIB as u64
    });
    assert_eq!(server.forget_multipart_uploads(), 1);
    append(&file, &pattern(6 * MIB, 5));
    mp4.finish();
    let summary = uploader.shutdown(Duration::from_secs(60));
    assert!(summary.is_complete(), "{summary:?}");
    assert!(
        server.get("lost.mp4") == std::fs::read(&file).expect("read"),
        "object differs"
    );
}

#[test]
fn missing_bucket_and_wrong_credentials_are_named_without_endless_retries() {
    init_logs();
    let server = S3Server::start();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");

    let mut missing = server.target("rec");
    missing.bucket = "no-such-bucket".into();
    let err = uploader.check(&missing).expect_err("missing bucket");
    assert!(matches!(err, UploadError::NoSuchBucket(_)), "{err:?}");
    assert!(
        err.to_string().contains("`no-such-bucket`") && err.needs_person(),
        "{err}"
    );

    let mut wrong = server.target("rec");
    if let Some(creds) = wrong.credentials.as_mut() {
        creds.secret_access_key = "wrong-secret".into();
    }
    let err = uploader.check(&wrong).expect_err("wrong credentials");
    assert!(
        err.needs_person() && err.to_string().contains(BUCKET),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong-secret"), "{err}");

    let mut bad_endpoint = server.target("rec");
    bad_endpoint.endpoint = Some("127.0.0.1:9".into());
    let err = uploader.check(&bad_endpoint).expect_err("bad endpoint");
    assert!(matches!(err, UploadError::BadEndpoint { .. }), "{err:?}");

    assert!(uploader.check(&server.target("rec")).is_ok());

    // Uploads with rejected credentials stop with that error instead of retrying until the
    // deadline. (s3s-fs creates a missing bucket on PutObject, so only `check` can catch that.)
    let started = Instant::now();
    uploader
        .put_bytes(&wrong, "rec/index.m3u8", b"#EXTM3U")
        .expect("put");
    let summary = uploader.shutdown(Duration::from_secs(60));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let output = &summary.outputs[0];
    assert!(
        output
            .errors
            .iter()
            .any(|e| e.contains(BUCKET) && e.contains("credentials")),
        "{output:?}"
    );
    assert!(!format!("{summary:?}").contains("wrong-secret"));
    assert!(!summary.is_complete());
}
