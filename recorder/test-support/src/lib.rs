//! What the tests and benches of VCS share, so each helper exists once: real servers on loopback,
//! a client for the recorder's control API, readers for recorded files, and waiting on a
//! condition.
//!
//! Everything here panics with a message that says what failed and how to fix it (a missing
//! server binary names the install step): these are test fixtures, and a panic is a failed test.
//!
//! # Layout
//! - [`process`]: free ports, finding programs and workspace binaries, child processes killed on
//!   drop, [`TempDir`].
//! - [`s3`]: [`S3Server`], an S3-compatible store (s3s-fs) that can have an outage.
//! - [`rtmp`]: [`RtmpServer`], nginx with the RTMP module, recording every publish.
//! - [`browser`]: [`Browser`], headless Chromium over the DevTools protocol, for web pages.
//! - [`control`]: [`ControlClient`], a blocking client for `vcs-recorder serve`'s API.
//! - [`serve`]: [`RecorderServe`], `vcs-recorder serve` as a child process, ready to take a job.
//! - [`media`]: ffprobe and ffmpeg readers ([`probe`], [`decode_frame_rgb`], [`duration_secs`],
//!   ...) and measures of frames and audio ([`median_rgb`], [`rms`], ...).
//! - [`lipsync`]: marker sources (flash + beep), their live senders per scheme and the A/V
//!   offset measured in a recording.
//! - [`wait`]: [`wait_for`], polling a condition with a deadline.
//! - [`whep`]: WHEP interop: a network namespace with 127.0.0.1 on a veth pair, the aiortc WHEP
//!   server, and marker measures (flash + beep) of a recording.

pub mod browser;
pub mod control;
pub mod lipsync;
pub mod media;
pub mod process;
pub mod rtmp;
pub mod s3;
pub mod serve;
pub mod wait;
pub mod whep;

pub use browser::Browser;
pub use control::{ControlClient, Response, request};
pub use media::{
    Stream, close_to, decode_audio, decode_errors, decode_frame_rgb, duration_secs, ffmpeg_decode,
    ffprobe_streams, mean_rgb, median_rgb, mp4mux_file, probe, region_difference, rms, stream,
};
pub use process::{Proc, TempDir, find_program, free_port, free_udp_port, workspace_bin};
pub use rtmp::RtmpServer;
pub use s3::S3Server;
pub use serve::RecorderServe;
pub use wait::{Ready, wait_for};
