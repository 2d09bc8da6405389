//! whep+http: inputs against a WHEP endpoint in this test: a tiny HTTP server whose POST handler
//! answers the recorder's offer with a webrtcbin sending a solid colour (VP8) and a tone (Opus).
#![allow(
    clippy::unwrap_used,
    reason = "the helpers are test code too: an unwrap that fails is a failed test at that line"
)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_sdp as gst_sdp;
use gstreamer_webrtc as gst_webrtc;
use support::input::*;
use vcs_media::input::Input;
use vcs_media::input::whep::complete_offer;

/// A WHEP endpoint at `/whep/<anything>` on 127.0.0.1.
struct WhepServer {
    port: u16,
    posts: Arc<AtomicUsize>,
    deletes: Arc<AtomicUsize>,
    senders: Arc<Mutex<Vec<gst::Pipeline>>>,
}

impl WhepServer {
    fn start(rgb: u32) -> WhepServer {
        gst::init().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = WhepServer {
            port,
            posts: Arc::default(),
            deletes: Arc::default(),
            senders: Arc::default(),
        };
        let (posts, deletes, senders) = (
            server.posts.clone(),
            server.deletes.clone(),
            server.senders.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0u8; length];
                reader.read_exact(&mut body).unwrap();
                let mut stream = stream;
                let reply = if request.starts_with("POST /whep/") {
                    posts.fetch_add(1, Ordering::SeqCst);
                    match answer(&String::from_utf8_lossy(&body), rgb) {
                        Ok((pipeline, sdp)) => {
                            senders.lock().unwrap().push(pipeline);
                            format!(
                                "HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\n\
                                 Location: /sessions/1\r\nContent-Length: {}\r\n\
                                 Connection: close\r\n\r\n{sdp}",
                                sdp.len()
                            )
                        }
                        Err(e) => {
                            eprintln!("whep test server: {e}");
                            "HTTP/1.1 500 Error\r\nContent-Length: 0\r\n\r\n".into()
                        }
                    }
                } else if request.starts_with("DELETE /sessions/1") {
                    deletes.fetch_add(1, Ordering::SeqCst);
                    for p in senders.lock().unwrap().drain(..) {
                        let _ = p.set_state(gst::State::Null);
                    }
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into()
                } else {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()
                };
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        server
    }
}

impl Drop for WhepServer {
    fn drop(&mut self) {
        for p in self.senders.lock().unwrap().drain(..) {
            let _ = p.set_state(gst::State::Null);
        }
    }
}

/// Starts a sending webrtcbin for `offer` and returns it with its answer (candidates included).
fn answer(offer: &str, rgb: u32) -> Result<(gst::Pipeline, String), String> {
    let pipeline = gst::parse::launch(&format!(
        "webrtcbin name=send bundle-policy=max-bundle \
         videotestsrc is-live=true pattern=solid-color foreground-color={argb} \
           ! video/x-raw,width=320,height=240,framerate=30/1 \
           ! vp8enc deadline=1 keyframe-max-dist=15 ! rtpvp8pay pt=96 \
           ! application/x-rtp,media=video,encoding-name=VP8,payload=96 ! send. \
         audiotestsrc is-live=true freq=440 volume=0.3 ! audioconvert ! audioresample \
           ! opusenc ! rtpopuspay pt=111 \
           ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! send.",
        argb = 0xff00_0000u32 | rgb
    ))
    .map_err(|e| e.to_string())?
    .downcast::<gst::Pipeline>()
    .unwrap();
    let webrtc = pipeline.by_name("send").unwrap();
    let candidates: Arc<Mutex<Vec<(u32, String)>>> = Arc::default();
    {
        let candidates = candidates.clone();
        webrtc.connect("on-ice-candidate", false, move |args| {
            candidates.lock().unwrap().push((
                args[1].get::<u32>().unwrap(),
                args[2].get::<String>().unwrap(),
            ));
            None
        });
    }
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let offer = gst_sdp::SDPMessage::parse_buffer(offer.as_bytes()).map_err(|e| e.to_string())?;
    let offer = gst_webrtc::WebRTCSessionDescription::new(gst_webrtc::WebRTCSDPType::Offer, offer);
    let promise = gst::Promise::new();
    webrtc.emit_by_name::<()>("set-remote-description", &[&offer, &promise]);
    promise.wait();
    let promise = gst::Promise::new();
    webrtc.emit_by_name::<()>("create-answer", &[&None::<gst::Structure>, &promise]);
    promise.wait();
    let answer = promise
        .get_reply()
        .and_then(|r| r.value("answer").ok())
        .and_then(|v| v.get::<gst_webrtc::WebRTCSessionDescription>().ok())
        .ok_or("no answer")?;
    webrtc.emit_by_name::<()>("set-local-description", &[&answer, &None::<gst::Promise>]);
    let start = Instant::now();
    while webrtc.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state")
        != gst_webrtc::WebRTCICEGatheringState::Complete
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let local = webrtc
        .property::<Option<gst_webrtc::WebRTCSessionDescription>>("local-description")
        .ok_or("no local description")?;
    let sdp = local.sdp().as_text().map_err(|e| e.to_string())?;
    Ok((
        pipeline,
        complete_offer(&sdp, &candidates.lock().unwrap(), true),
    ))
}

#[test]
fn whep_input_receives_the_endpoints_video_and_audio_and_ends_its_session() {
    let server = WhepServer::start(0xc02090);
    let mut input = Input::start(config(
        &format!(
            "whep+http://127.0.0.1:{}/whep/room1?token=secret",
            server.port
        ),
        true,
    ))
    .unwrap();
    assert_live_input(&mut input, [0xc0, 0x20, 0x90], Duration::from_secs(15));
    assert_eq!(server.posts.load(Ordering::SeqCst), 1);
    assert_eq!(input.frame_size(), Some((320, 240)));
    assert_drops_quickly(input);
    assert_eq!(
        server.deletes.load(Ordering::SeqCst),
        1,
        "the session is deleted when the input stops"
    );
}

#[test]
fn a_refusing_whep_endpoint_stalls_the_input_with_the_reason() {
    // Nothing listens under /nope: the endpoint answers 404.
    let server = WhepServer::start(0);
    let input = Input::start(config(
        &format!("whep+http://127.0.0.1:{}/nope", server.port),
        true,
    ))
    .unwrap();
    wait_state(
        &input,
        vcs_job::control::InputState::Stalled,
        Duration::from_secs(5),
    );
    let error = input.status().last_error.unwrap_or_default();
    assert!(error.contains("HTTP 404"), "{error}");
    assert!(!error.contains("secret"));
}
