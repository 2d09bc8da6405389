//! Helpers for the input tests: input configs, states, colours of decoded frames, a file server.

use std::time::{Duration, Instant};

use vcs_job::control::{InputState, TrackKind};
use vcs_media::input::{Input, InputConfig, VideoFrame};
use vcs_test_support::{rms, wait_for};

pub fn config(uri: &str, live: bool) -> InputConfig {
    InputConfig {
        participant: "p1".into(),
        display_name: "Alice".into(),
        index: 0,
        track: TrackKind::Camera,
        uri: uri.into(),
        live,
        video: true,
        audio: true,
    }
}

/// The recording time to read live inputs at: real time since the first call in this process
/// (live inputs play media at their clock's time for `t`, so `t` must advance as a recording's
/// does).
pub fn live_t() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// Waits until the live input is in `state`, then returns how long it took.
pub fn wait_state(input: &Input, state: InputState, timeout: Duration) -> Duration {
    let start = Instant::now();
    wait_for(&format!("state {state:?}"), timeout, || {
        input.status().state == state
    });
    start.elapsed()
}

/// The frame's most common colour (sampled on a grid), as RGB.
pub fn dominant_rgb(frame: &VideoFrame) -> [u8; 3] {
    let mut counts = std::collections::HashMap::new();
    for y in (0..frame.height).step_by(4) {
        for x in (0..frame.width).step_by(4) {
            let [r, g, b, _] = frame.pixel(x, y);
            // Coarse buckets: codecs move colours by a few levels.
            *counts.entry([r / 16, g / 16, b / 16]).or_insert(0u32) += 1;
        }
    }
    let bucket = counts.into_iter().max_by_key(|(_, n)| *n).unwrap().0;
    // Average the real pixels of the winning bucket.
    let (mut sum, mut n) = ([0u64; 3], 0u64);
    for y in (0..frame.height).step_by(4) {
        for x in (0..frame.width).step_by(4) {
            let [r, g, b, _] = frame.pixel(x, y);
            if [r / 16, g / 16, b / 16] == bucket {
                sum[0] += r as u64;
                sum[1] += g as u64;
                sum[2] += b as u64;
                n += 1;
            }
        }
    }
    [(sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8]
}

pub fn assert_close_rgb(got: [u8; 3], want: [u8; 3], tolerance: u8, context: &str) {
    let ok = got
        .iter()
        .zip(want)
        .all(|(g, w)| g.abs_diff(w) <= tolerance);
    assert!(ok, "{context}: colour {got:?}, want {want:?} ± {tolerance}");
}

/// Live: waits for frames of the sender's colour and audible audio, and state Live.
pub fn assert_live_input(input: &mut Input, rgb: [u8; 3], timeout: Duration) {
    let frame = wait_for("a decoded frame", timeout, || input.video(live_t()));
    let start = Instant::now();
    // The first frames of a stream can be a decoder's grey: give the colour a moment.
    loop {
        let frame = input.video(live_t()).unwrap_or_else(|| frame.clone());
        let got = dominant_rgb(&frame);
        if got.iter().zip(rgb).all(|(g, w)| g.abs_diff(w) <= 24) {
            break;
        }
        if start.elapsed() > Duration::from_secs(5) {
            panic!("frames are {got:?}, want the sender's {rgb:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_state(input, InputState::Live, Duration::from_secs(3));
    let mut out = vec![0f32; 960 * 2];
    let loud = wait_for("audible audio", timeout, || {
        input.audio(live_t(), &mut out);
        let r = rms(&out);
        (r > 0.01).then_some(r)
    });
    assert!(loud < 1.0, "audio out of range: rms {loud}");
}

/// A one-file HTTP/1.1 server on 127.0.0.1 (GET only, whole body, one thread per connection);
/// it stops accepting when the process ends.
pub fn serve_file(path: &std::path::Path) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let body = std::fs::read(path).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                // Request line and headers up to the blank line.
                while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                    if line == "\r\n" {
                        break;
                    }
                    line.clear();
                }
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: video/x-matroska\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            });
        }
    });
    port
}

/// Drops the input (participant leaves) and checks that its pipeline stops promptly.
pub fn assert_drops_quickly(input: Input) {
    let start = Instant::now();
    drop(input);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "stopping the input took {:?}",
        start.elapsed()
    );
}
