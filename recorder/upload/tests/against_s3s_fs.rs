//! The uploader against a real S3-compatible server (s3s-fs), including an outage and a store
//! that loses a multipart upload. One test binary keeps link time down.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use vcs_test_support::{S3Server, TempDir, decode_errors, duration_secs, mp4mux_file, wait_for};
use vcs_upload::{JoinOutcome, MIN_PART_SIZE, Recovery, UploadError, Uploader, UploaderConfig};

const MIB: usize = 1024 * 1024;
const BUCKET: &str = "recordings";

/// An s3s-fs server with [`BUCKET`], on a temporary root of its own.
fn s3() -> S3Server {
    let server = S3Server::start_temporary();
    server.create_bucket(BUCKET);
    server
}

/// Downloads an object through the S3 API (not by peeking at the server's folder).
fn get(server: &S3Server, key: &str) -> Vec<u8> {
    let (client, runtime) = client(server);
    runtime.block_on(async {
        let object = client
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e)));
        object
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec()
    })
}

/// Puts an object through the S3 API.
fn put(server: &S3Server, key: &str, body: Vec<u8>) {
    let (client, runtime) = client(server);
    runtime.block_on(async {
        client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e)));
    });
}

/// An S3 client of `server`, and a runtime to run its calls on. Checksums only when required,
/// as the uploader sends them: s3s-fs keeps a PutObject's checksum on the key after a
/// multipart upload replaced the object, and a client checking it would reject the new one.
fn client(server: &S3Server) -> (aws_sdk_s3::Client, tokio::runtime::Runtime) {
    use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
    let config = aws_sdk_s3::config::Builder::new()
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(server.endpoint())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &server.access_key,
            &server.secret_key,
            None,
            None,
            "test",
        ))
        .build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    (aws_sdk_s3::Client::from_conf(config), runtime)
}

/// Logs from the crate under test, shown for failing tests.
fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "vcs_upload=debug".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Deterministic, non-repeating test content.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// Failures that retrying cannot fix: a person has to change the configuration.
fn needs_person(err: &UploadError) -> bool {
    matches!(
        err,
        UploadError::NoSuchBucket(_)
            | UploadError::AccessDenied { .. }
            | UploadError::BadCredentials { .. }
            | UploadError::BadEndpoint { .. }
    )
}

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

#[test]
fn growing_file_is_uploaded_while_written_and_rewritten_header_is_resent() {
    init_logs();
    let server = s3();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
    let target = server.target(BUCKET, "rec/out.mp4");
    let file = work.path().join("out.mp4");
    let mp4 = uploader.growing(&target, "rec/out.mp4", &file);

    for seed in 1..=3 {
        append(&file, &pattern(6 * MIB, seed));
        mp4.poll();
        std::thread::sleep(Duration::from_millis(200));
    }
    // 18 MiB written: parts 1-3 (15 MiB) go up before the writer is done.
    wait_for(
        "three parts uploaded while growing",
        Duration::from_secs(30),
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
        get(&server, "rec/out.mp4") == std::fs::read(&file).expect("read"),
        "object differs from file"
    );
}

#[test]
fn small_growing_file_is_one_put() {
    init_logs();
    let server = s3();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
    let file = work.path().join("short.mp4");
    let mp4 = uploader.growing(&server.target(BUCKET, "short.mp4"), "short.mp4", &file);
    append(&file, &pattern(MIB, 9));
    drop(mp4); // dropping the handle finishes it, like closing a file
    let summary = uploader.shutdown(Duration::from_secs(30));
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(get(&server, "short.mp4"), pattern(MIB, 9));
}

#[test]
fn rewritten_playlist_ends_as_its_last_version_and_segments_arrive() {
    init_logs();
    let server = s3();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
    let target = server.target(BUCKET, "live");
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
        String::from_utf8(get(&server, "live/index.m3u8")).expect("utf8"),
        last
    );
    for n in 1..=6 {
        assert_eq!(
            get(&server, &format!("live/seg{n}.m4s")),
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
    let mut server = s3();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
    let mp4_target = server.target(BUCKET, "rec/out.mp4");
    let hls_target = server.target(BUCKET, "rec/hls");
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
    wait_for(
        "first part before the outage",
        Duration::from_secs(30),
        || uploader.status().bytes_uploaded >= 5 * MIB as u64,
    );

    server.stop();
    let outage = Instant::now();
    append(&file, &pattern(6 * MIB, 2));
    mp4.poll();
    put_segment(&uploader);
    wait_for("retries during the outage", Duration::from_secs(10), || {
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
            .contains(&server.secret_key)
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
        get(&server, "rec/out.mp4") == std::fs::read(&file).expect("read"),
        "mp4 differs"
    );
    for n in 1..=3 {
        assert_eq!(
            get(&server, &format!("rec/hls/s{n}.m4s")),
            pattern(256 * 1024, n),
            "segment {n}"
        );
    }
    assert_eq!(get(&server, "rec/hls/index.m3u8"), b"playlist up to 3");
}

#[test]
fn lost_multipart_upload_is_started_over() {
    init_logs();
    let server = s3();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
    let file = work.path().join("out.mp4");
    let mp4 = uploader.growing(&server.target(BUCKET, "lost.mp4"), "lost.mp4", &file);
    append(&file, &pattern(6 * MIB, 4));
    wait_for("first part", Duration::from_secs(30), || {
        uploader.status().bytes_uploaded >= 5 * MIB as u64
    });
    assert_eq!(server.forget_multipart_uploads(), 1);
    append(&file, &pattern(6 * MIB, 5));
    mp4.finish();
    let summary = uploader.shutdown(Duration::from_secs(60));
    assert!(summary.is_complete(), "{summary:?}");
    assert!(
        get(&server, "lost.mp4") == std::fs::read(&file).expect("read"),
        "object differs"
    );
}

#[test]
fn missing_bucket_and_wrong_credentials_are_named_without_endless_retries() {
    init_logs();
    let server = s3();
    let work = tempfile::tempdir().expect("tempdir");
    let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");

    let mut missing = server.target(BUCKET, "rec");
    missing.bucket = "no-such-bucket".into();
    let err = uploader.check(&missing).expect_err("missing bucket");
    assert!(matches!(err, UploadError::NoSuchBucket(_)), "{err:?}");
    assert!(
        err.to_string().contains("`no-such-bucket`") && needs_person(&err),
        "{err}"
    );

    let mut wrong = server.target(BUCKET, "rec");
    if let Some(creds) = wrong.credentials.as_mut() {
        creds.secret_access_key = "wrong-secret".into();
    }
    let err = uploader.check(&wrong).expect_err("wrong credentials");
    assert!(
        needs_person(&err) && err.to_string().contains(BUCKET),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong-secret"), "{err}");

    let mut bad_endpoint = server.target(BUCKET, "rec");
    bad_endpoint.endpoint = Some("127.0.0.1:9".into());
    let err = uploader.check(&bad_endpoint).expect_err("bad endpoint");
    assert!(matches!(err, UploadError::BadEndpoint { .. }), "{err:?}");

    assert!(uploader.check(&server.target(BUCKET, "rec")).is_ok());

    // Uploads with rejected credentials stop with that error instead of retrying until the
    // deadline. (s3s-fs creates a missing bucket on PutObject, so only `check` can catch that.)
    let started = Instant::now();
    let playlist = work.path().join("index.m3u8");
    std::fs::write(&playlist, b"#EXTM3U").expect("playlist");
    uploader
        .put_file(&wrong, "rec/index.m3u8", &playlist)
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

/// A top-level MP4 box of `len` bytes in all (8-byte header + pattern payload).
fn mp4_box(kind: &[u8; 4], len: usize, seed: u8) -> Vec<u8> {
    let mut bytes = (len as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(kind);
    bytes.extend_from_slice(&pattern(len - 8, seed));
    bytes
}

/// What a killed recorder leaves (parts, journal, tail checkpoints) completes into exactly the
/// file up to its last whole fragment, first with no part yet (one put) and then with parts.
#[test]
fn a_crashed_growing_mp4_is_recovered_up_to_its_last_whole_fragment() {
    init_logs();
    let server = s3();
    for (key, fragments) in [("rec/short.mp4", 2u8), ("rec/long.mp4", 9)] {
        let work = tempfile::tempdir().expect("tempdir");
        let uploader = Uploader::new(fast_config(&work.path().join("spool"))).expect("uploader");
        let target = server.target(BUCKET, key);
        let file = work.path().join("out.mp4");
        let mp4 = uploader.growing_mp4(&target, key, &file);
        append(&file, &mp4_box(b"ftyp", 32, 0));
        append(&file, &mp4_box(b"moov", 900, 0));
        for seed in 1..=fragments {
            append(&file, &mp4_box(b"moof", 200, seed));
            append(&file, &mp4_box(b"mdat", MIB + 4321, seed));
            mp4.poll();
        }
        let whole = std::fs::read(&file).expect("read");
        // The next fragment is half written when the recorder dies.
        append(&file, &mp4_box(b"moof", 200, 99));
        append(&file, &mp4_box(b"mdat", MIB, 99)[..1000]);
        mp4.poll();
        let recovery = vcs_upload::Recovery::new().expect("recovery");
        wait_for(
            "the last whole fragment checkpointed",
            Duration::from_secs(60),
            || {
                recovery
                    .find(&target, key)
                    .expect("find")
                    .is_some_and(|o| o.recoverable_bytes() == whole.len() as u64)
            },
        );
        // The crash: no finish, no shutdown.
        std::mem::forget(mp4);
        drop(uploader);
        let recovered = recovery
            .recover_mp4(&target)
            .expect("recover")
            .expect("something to recover");
        assert_eq!(recovered.bytes, whole.len() as u64, "{key}");
        assert_eq!(recovered.parts > 0, fragments > 5, "{key}: {recovered:?}");
        assert!(
            get(&server, key) == whole,
            "{key}: the object is the file up to its last fragment"
        );
        assert!(
            recovery.find(&target, key).expect("find").is_none(),
            "{key}: nothing left"
        );
    }
}

#[test]
fn mp4_parts_join_at_the_original_key_with_part_0_copied_inside_s3() {
    init_logs();
    let server = s3();
    let dir = TempDir::new("join-s3");
    // Noise at 20 Mbit/s: part 0 is over 10 MiB, so S3 copies most of it, and its fragments
    // (a second each) fit in the 4 MiB read at its end.
    let Some(a) = mp4mux_file(&dir.path().join("a.mp4"), "snow", (640, 360), 20_000, 5) else {
        return;
    };
    assert!(a.len() as u64 > 2 * MIN_PART_SIZE, "{} bytes", a.len());
    let b = mp4mux_file(&dir.path().join("b.mp4"), "ball", (640, 360), 20_000, 2).expect("part 1");
    put(&server, "rec/archive.mp4", a.clone());
    put(&server, "rec/archive.part1.mp4", b.clone());
    let target = server.target(BUCKET, "rec/archive.part2.mp4");
    let keys: Vec<String> = [
        "rec/archive.mp4",
        "rec/archive.part1.mp4",
        "rec/archive.part2.mp4",
    ]
    .map(String::from)
    .to_vec();
    let recovery = Recovery::new().expect("recovery");
    let started = Instant::now();
    let outcome = recovery
        .join_mp4_parts(&target, "rec/archive.mp4", &keys, None)
        .expect("join");
    eprintln!("joined {} + 2 s in {:?}", a.len(), started.elapsed());
    let JoinOutcome::Joined {
        parts,
        copied_bytes,
        duration_secs: secs,
        held_bytes,
        read_bytes,
        ..
    } = outcome
    else {
        panic!("not joined: {outcome:?}");
    };
    assert_eq!(parts, keys[..2]);
    // Of part 0, its head and first MIN_PART_SIZE (and up to a read past them) and its last
    // 4 MiB are read; part 1 whole.
    assert!(
        read_bytes < b.len() as u64 + MIN_PART_SIZE + (4 << 20) + (2 << 20),
        "read {read_bytes} bytes joining {} + {}",
        a.len(),
        b.len()
    );
    // Part 0's head and first MIN_PART_SIZE wait in memory for the joined duration, with its
    // last 4 MiB for a moment; the rest of it is not held.
    assert!(
        held_bytes < MIN_PART_SIZE + (4 << 20) + (2 << 20),
        "held {held_bytes} bytes joining {} + {}",
        a.len(),
        b.len()
    );
    assert!(
        copied_bytes > a.len() as u64 - MIN_PART_SIZE - (64 << 10),
        "{copied_bytes} of {}",
        a.len()
    );
    assert!((secs - 7.0).abs() < 0.1, "{secs}");
    let joined = dir.path().join("joined.mp4");
    std::fs::write(&joined, get(&server, "rec/archive.mp4")).expect("write");
    let errors = decode_errors(&joined);
    assert!(errors.is_empty(), "{errors}");
    let d = duration_secs(&joined);
    assert!((d - 7.0).abs() < 0.2, "{d}");
    // Part 1's object is gone; joining again finds only the original.
    let again = recovery
        .join_mp4_parts(&target, "rec/archive.mp4", &keys, None)
        .expect("join again");
    assert_eq!(again, JoinOutcome::Nothing);
}

#[test]
fn a_join_holds_a_few_upload_parts_in_memory_however_long_the_parts_are() {
    init_logs();
    let server = s3();
    let dir = TempDir::new("join-bounded");
    // Part 0 too short to copy, so every byte of both parts streams through the join.
    let Some(a) = mp4mux_file(&dir.path().join("a.mp4"), "snow", (640, 360), 60_000, 1) else {
        return;
    };
    let b = mp4mux_file(&dir.path().join("b.mp4"), "snow", (640, 360), 60_000, 4).expect("part 1");
    // The smallest parts S3 takes.
    let chunk = MIN_PART_SIZE as usize;
    assert!((a.len() as u64) < 2 * MIN_PART_SIZE, "{} bytes", a.len());
    assert!(b.len() > 4 * chunk, "{} bytes", b.len());
    put(&server, "rec/long.mp4", a.clone());
    put(&server, "rec/long.part1.mp4", b);
    let target = server.target(BUCKET, "rec/long.part1.mp4");
    let keys: Vec<String> = ["rec/long.mp4", "rec/long.part1.mp4"]
        .map(String::from)
        .to_vec();
    let recovery = Recovery::new().expect("recovery").join_chunk(chunk);
    let outcome = recovery
        .join_mp4_parts(&target, "rec/long.mp4", &keys, None)
        .expect("join");
    let JoinOutcome::Joined {
        copied_bytes,
        held_bytes,
        duration_secs: secs,
        bytes,
        ..
    } = outcome
    else {
        panic!("not joined: {outcome:?}");
    };
    assert_eq!(copied_bytes, 0);
    // Part 1 held back, the part filling (up to a chunk past a full one, plus one read of at
    // most 1 MiB) and one moof: not the parts.
    assert!(
        held_bytes <= 3 * chunk as u64 + (1 << 20),
        "held {held_bytes} bytes joining {} bytes",
        bytes
    );
    assert!((secs - 5.0).abs() < 0.1, "{secs}");
    let joined = dir.path().join("joined.mp4");
    std::fs::write(&joined, get(&server, "rec/long.mp4")).expect("write");
    let errors = decode_errors(&joined);
    assert!(errors.is_empty(), "{errors}");
    let d = duration_secs(&joined);
    assert!((d - 5.0).abs() < 0.2, "{d}");
}
