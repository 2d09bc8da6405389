//! A continuation's composition goes on at the recording's video time (issue 18): a job with
//! `resume` renders its first frame at `resume.recordedSecs` plus the gap since
//! `resume.lastFrameAt`, not at 0, so a clock or a timed overlay continues where the lost
//! recorder left it. Checked on decoded frames of a composition whose colour says the video
//! time. And it shows the room's events the lost recorder showed (`resume.screen`).

use std::path::{Path, PathBuf};
use std::process::Command;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use vcs_test_support::{TempDir, close_to, decode_frame_rgb, median_rgb};

const W: u32 = 96;
const H: u32 = 64;
const RED: [u8; 3] = [224, 48, 48];
const GREEN: [u8; 3] = [0, 160, 0];
const BLUE: [u8; 3] = [48, 48, 224];

/// Red before 50 s of video time, green from 100 s to 105 s, blue from 155 s to 200 s, black
/// elsewhere.
const CLOCK: &str = "import * as React from 'react';
import { Box } from '#vcs-react/components';
import { useVideoTime } from '#vcs-react/hooks';
export default function Clock() {
  const t = useVideoTime();
  let c = '#000000';
  if (t < 50) c = '#e03030';
  else if (t >= 100 && t < 105) c = '#00a000';
  else if (t >= 155 && t < 200) c = '#3030e0';
  return <Box style={{ fillColor: c }} />;
}
";

/// Renders one second (10 fps) of `composition` at `w`×`h` with `resume` (a YAML flow
/// mapping, or none) and returns the MP4.
fn render(
    dir: &Path,
    name: &str,
    composition: &Path,
    (w, h): (u32, u32),
    resume: Option<&str>,
) -> PathBuf {
    let mp4 = dir.join(format!("{name}.mp4"));
    let resume = resume.map(|r| format!("resume: {r}\n")).unwrap_or_default();
    let job = format!(
        "composition: {{name: '{}'}}\n\
         participants: []\n\
         video: {{width: {w}, height: {h}, fps: 10, bitrateKbps: 300}}\n\
         durationSecs: 1\n\
         {resume}\
         outputs:\n\
         \x20 - {{name: file, mp4: {{path: '{}'}}}}\n",
        composition.display(),
        mp4.display()
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, job).expect("write the job");
    let out = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("render")
        .arg(&path)
        .env("TMPDIR", dir)
        .output()
        .expect("run vcs-recorder render");
    assert!(
        out.status.success(),
        "{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    mp4
}

/// Renders one second of the clock with `resume` and returns the median colour of its middle
/// frame.
fn colour_with(dir: &Path, name: &str, resume: Option<String>) -> [u8; 3] {
    let mp4 = render(dir, name, &dir.join("clock.jsx"), (W, H), resume.as_deref());
    let frame = decode_frame_rgb(&mp4, 0.5, W, H);
    median_rgb(&frame, W, (W / 4, H / 4, W / 2, H / 2))
}

#[test]
fn a_continuation_renders_at_the_recorded_time_plus_the_gap() {
    let tmp = TempDir::new("resume-time");
    let dir = tmp.path();
    std::fs::write(dir.join("clock.jsx"), CLOCK).expect("write the composition");
    // A first recorder starts at 0.
    let first = colour_with(dir, "first", None);
    assert!(close_to(first, RED, 40), "video time 0 drew {first:?}");
    // A continuation after 100 s recorded, gap unknown: 100 s.
    let resumed = colour_with(
        dir,
        "resumed",
        Some("{restart: 1, recordedSecs: 100}".into()),
    );
    assert!(
        close_to(resumed, GREEN, 40),
        "video time 100 drew {resumed:?}"
    );
    // The lost recorder's last frame a minute ago: 160 s and on.
    let minute_ago = (OffsetDateTime::now_utc() - time::Duration::seconds(60))
        .format(&Rfc3339)
        .expect("format a time");
    let after_gap = colour_with(
        dir,
        "after-gap",
        Some(format!(
            "{{restart: 1, recordedSecs: 100, lastFrameAt: '{minute_ago}'}}"
        )),
    );
    assert!(
        close_to(after_gap, BLUE, 40),
        "video time 160 drew {after_gap:?}"
    );
}

/// The latest chat message the lost recorder showed is on screen from the continuation's first
/// frame (the `live` fixture draws the latest chat text as a box of that colour).
#[test]
fn a_continuation_shows_the_chat_the_lost_recorder_showed() {
    let tmp = TempDir::new("resume-screen");
    let dir = tmp.path();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/live.jsx");
    let chat_box = |resume: Option<&str>, name: &str| {
        let mp4 = render(dir, name, &fixture, (320, 180), resume);
        let frame = decode_frame_rgb(&mp4, 0.0, 320, 180);
        // The chat box: x 0.8–0.95, y 0.78–0.96 of the frame.
        median_rgb(&frame, 320, (262, 145, 36, 24))
    };
    let none = chat_box(None, "first");
    assert!(close_to(none, [0, 0, 128], 40), "no chat yet: {none:?}");
    let replayed = chat_box(
        Some(
            "{restart: 1, recordedSecs: 10, screen: {messages: [\
             {source: chatMessages, senderDisplayName: Ann, text: '#ff0000'}, \
             {source: chatMessages, senderDisplayName: Bo, text: '#00a000'}]}}",
        ),
        "continued",
    );
    assert!(
        close_to(replayed, GREEN, 40),
        "the latest chat message before the loss draws {replayed:?}"
    );
}
