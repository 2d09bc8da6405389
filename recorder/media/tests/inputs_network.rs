//! Network pulls against real local senders on 127.0.0.1: SRT and RTMP (via nginx-rtmp) from
//! gst-launch sender processes, RTSP from an in-process gst-rtsp-server; and recovery: a sender
//! killed mid-way stalls the input, restarted it goes live again.
#![allow(
    clippy::unwrap_used,
    reason = "the helpers are test code too: an unwrap that fails is a failed test at that line"
)]

mod support;

use std::time::Duration;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;
use support::input::*;
use vcs_job::control::InputState;
use vcs_media::input::Input;
use vcs_test_support::{Proc, RtmpServer, TempDir, free_port, free_udp_port, wait_for};

const CONNECT: Duration = Duration::from_secs(15);

/// An H.264 + AAC test stream of one solid colour (0xRRGGBB) with a 440 Hz tone.
fn av_source(rgb: u32) -> String {
    format!(
        "videotestsrc is-live=true pattern=solid-color foreground-color={argb} \
         ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=400 \
         ! h264parse config-interval=-1 ! queue ! mux. \
         audiotestsrc is-live=true freq=440 volume=0.3 ! audioconvert ! audioresample \
         ! avenc_aac ! aacparse ! queue ! mux.",
        argb = 0xff00_0000u32 | rgb
    )
}

fn rgb_of(rgb: u32) -> [u8; 3] {
    [(rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8]
}

fn srt_sender(port: u16, rgb: u32) -> Proc {
    Proc::gst_launch(
        "srt sender",
        &format!(
            "mpegtsmux name=mux alignment=7 \
             ! srtsink uri=srt://127.0.0.1:{port}?mode=listener wait-for-connection=false {}",
            av_source(rgb)
        ),
    )
}

#[test]
fn srt_pull_decodes_the_senders_video_and_audio() {
    let port = free_udp_port();
    let mut sender = srt_sender(port, 0x2080e0);
    let mut input = Input::start(config(&format!("srt://127.0.0.1:{port}"), true)).unwrap();
    assert_live_input(&mut input, rgb_of(0x2080e0), CONNECT);
    sender.assert_running();
    assert_eq!(input.frame_size(), Some((320, 240)));
    assert_drops_quickly(input);
}

#[test]
fn rtmp_pull_from_nginx_decodes_the_senders_video_and_audio() {
    let dir = TempDir::new("rtmp-pull");
    let nginx = RtmpServer::start(dir.path());
    let url = nginx.url("alice");
    let mut sender = Proc::gst_launch(
        "rtmp sender",
        &format!(
            "flvmux name=mux streamable=true ! rtmp2sink location={url} {}",
            av_source(0xe08020)
        ),
    );
    // nginx only serves a stream once it is published.
    std::thread::sleep(Duration::from_millis(1500));
    sender.assert_running();
    let mut input = Input::start(config(&url, true)).unwrap();
    assert_live_input(&mut input, rgb_of(0xe08020), CONNECT);
    assert_drops_quickly(input);
}

/// gst-rtsp-server in this process, serving H.264 + Opus on a free port, on its own main loop.
struct RtspServer {
    port: u16,
    main_loop: glib::MainLoop,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RtspServer {
    fn start(rgb: u32) -> RtspServer {
        gst::init().unwrap();
        let port = free_port();
        let context = glib::MainContext::new();
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let server = rtsp::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service(&port.to_string());
        let factory = rtsp::RTSPMediaFactory::new();
        factory.set_launch(&format!(
            "( videotestsrc is-live=true pattern=solid-color foreground-color={argb} \
               ! video/x-raw,width=320,height=240,framerate=30/1 \
               ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=400 \
               ! rtph264pay name=pay0 pt=96 config-interval=-1 \
               audiotestsrc is-live=true freq=440 volume=0.3 ! audioconvert ! audioresample \
               ! opusenc ! rtpopuspay name=pay1 pt=97 )",
            argb = 0xff00_0000u32 | rgb
        ));
        factory.set_shared(true);
        server.mount_points().unwrap().add_factory("/cam", factory);
        let id = server.attach(Some(&context)).expect("rtsp server attaches");
        let thread = {
            let main_loop = main_loop.clone();
            std::thread::spawn(move || {
                let _guard = context.acquire().unwrap();
                main_loop.run();
                // The server and its listening source live as long as the loop.
                drop((id, server));
            })
        };
        wait_for("the rtsp server to listen", Duration::from_secs(5), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        RtspServer {
            port,
            main_loop,
            thread: Some(thread),
        }
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.main_loop.quit();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn rtsp_pull_decodes_the_servers_video_and_audio() {
    let server = RtspServer::start(0x40c040);
    let mut input = Input::start(config(
        &format!("rtsp://127.0.0.1:{}/cam", server.port),
        true,
    ))
    .unwrap();
    assert_live_input(&mut input, rgb_of(0x40c040), CONNECT);
    assert_drops_quickly(input);
}

#[test]
fn a_killed_sender_stalls_the_input_and_its_restart_brings_video_back() {
    let port = free_udp_port();
    let mut sender = srt_sender(port, 0x2080e0);
    let mut input = Input::start(config(&format!("srt://127.0.0.1:{port}"), true)).unwrap();
    assert_live_input(&mut input, rgb_of(0x2080e0), CONNECT);

    sender.kill();
    let took = wait_state(&input, InputState::Stalled, Duration::from_secs(6));
    eprintln!("stalled {took:?} after the sender died");
    let status = input.status();
    assert!(status.last_error.is_some(), "{status:?}");
    // The paused picture: the last frame stays available while stalled.
    assert_close_rgb(
        dominant_rgb(&input.video(live_t()).unwrap()),
        rgb_of(0x2080e0),
        24,
        "last frame while stalled",
    );

    // Back with another colour: the frames after recovery are the new sender's.
    let _sender = srt_sender(port, 0xe02020);
    let took = wait_state(&input, InputState::Live, Duration::from_secs(25));
    eprintln!("live again {took:?} after the sender restarted");
    assert_live_input(&mut input, rgb_of(0xe02020), CONNECT);
    assert!(input.status().retries >= 1, "{:?}", input.status());
}

#[test]
fn an_unreachable_source_does_not_block_start_and_is_retried() {
    for uri in [
        format!("rtsp://127.0.0.1:{}/cam", free_port()),
        format!("srt://127.0.0.1:{}", free_udp_port()),
        format!("rtmp://127.0.0.1:{}/live/x", free_port()),
    ] {
        let start = std::time::Instant::now();
        let input = Input::start(config(&uri, true)).unwrap();
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{uri}: start took {:?}",
            start.elapsed()
        );
        assert_eq!(input.status().state, InputState::Connecting);
        wait_state(&input, InputState::Stalled, Duration::from_secs(10));
        wait_for(&format!("{uri}: a retry"), Duration::from_secs(5), || {
            (input.status().retries >= 1).then_some(())
        });
        assert!(input.status().last_error.is_some(), "{uri}");
    }
}
