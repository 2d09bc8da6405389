//! Helpers the media tests share beyond `vcs-test-support` (servers, waiting, ffprobe/ffmpeg):
//! what is particular to driving `vcs-media`.
#![allow(
    dead_code,
    reason = "each test binary uses its own part; `mod support` is compiled into every one"
)]

pub mod encode;
pub mod input;
