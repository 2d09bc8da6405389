//! Bad input to `vcs-recorder render` fails fast, says what is wrong and where, exits non-zero,
//! and never leaves a file at the output path.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use vcs_test_support::{TempDir, ffprobe_streams};

fn render(args: &[&str], out: &Path) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("render")
        .args(args)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    (output, started.elapsed())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs a render expected to fail; returns its stderr after checking the common promises.
fn expect_failure(args: &[&str], out: &Path) -> String {
    let (o, _) = render(args, out);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "should fail: {args:?}\n{stderr}");
    assert!(
        !out.exists(),
        "no file at the output path after a failure: {args:?}"
    );
    stderr
}

const OK: [&str; 4] = ["--participant", "a=test:", "--duration", "1"];

#[test]
fn unknown_composition_lists_the_built_in_ones() {
    let tmp = TempDir::new("err-unknown-composition");
    let dir = tmp.path();
    let out = dir.join("x.mp4");
    let e = expect_failure(
        &[&["--composition", "no-such-composition"][..], &OK].concat(),
        &out,
    );
    assert!(e.contains("no-such-composition"), "{e}");
    assert!(e.contains("demo"), "names the built-ins: {e}");
}

#[test]
fn jsx_syntax_error_gives_file_line_and_column() {
    let tmp = TempDir::new("err-syntax");
    let dir = tmp.path();
    let comp = write(
        dir,
        "broken.jsx",
        "import * as React from 'react';\nexport default function C() {\n  return <Box>oops</Bx>;\n}\n",
    );
    let out = dir.join("x.mp4");
    let e = expect_failure(
        &[&["--composition", comp.to_str().unwrap()][..], &OK].concat(),
        &out,
    );
    assert!(e.contains("broken.jsx:3:"), "file:line:col in {e}");
}

#[test]
fn exception_at_render_gives_the_composition_stack() {
    let tmp = TempDir::new("err-throw");
    let dir = tmp.path();
    let comp = write(
        dir,
        "throws.jsx",
        "import * as React from 'react';\n\nfunction explode() {\n  throw new Error('kaboom');\n}\nexport default function C() {\n  explode();\n  return null;\n}\n",
    );
    let out = dir.join("x.mp4");
    let e = expect_failure(
        &[&["--composition", comp.to_str().unwrap()][..], &OK].concat(),
        &out,
    );
    assert!(e.contains("kaboom"), "{e}");
    assert!(
        e.contains("throws.jsx:4"),
        "stack names the throwing line: {e}"
    );
}

#[test]
fn unknown_uri_scheme_names_the_participant_field() {
    let tmp = TempDir::new("err-uri");
    let dir = tmp.path();
    let out = dir.join("x.mp4");
    let e = expect_failure(
        &[
            "--composition",
            "demo",
            "--participant",
            "a=gopher://cam",
            "--duration",
            "1",
        ],
        &out,
    );
    assert!(e.contains("participants[0].camera"), "{e}");
    assert!(e.contains("unknown URI scheme"), "{e}");
}

#[test]
fn unwritable_output_fails_fast() {
    let out = Path::new("/nonexistent-vcs-dir/out.mp4");
    let (o, took) = render(&[&["--composition", "demo"][..], &OK].concat(), out);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(e.contains("/nonexistent-vcs-dir/out.mp4"), "{e}");
    assert!(
        took < Duration::from_secs(30),
        "fails before recording ({took:?})"
    );
}

#[test]
fn malformed_job_spec_gives_the_field_path() {
    let tmp = TempDir::new("err-spec");
    let dir = tmp.path();
    let spec = write(
        dir,
        "job.yaml",
        "composition:\n  name: demo\nparticipants:\n  - id: a\n    camra: 'test:'\ndurationSecs: 1\n",
    );
    let out = dir.join("x.mp4");
    let e = expect_failure(&[spec.to_str().unwrap()], &out);
    assert!(e.contains("job.yaml:5:"), "{e}");
    assert!(e.contains("participants[0].camra"), "{e}");
}

#[test]
fn a_composition_that_keeps_failing_is_reported_while_the_video_is_kept() {
    let tmp = TempDir::new("err-keeps-failing");
    let dir = tmp.path();
    let comp = write(
        dir,
        "flaky.jsx",
        "import * as React from 'react';\nimport { Box } from '#vcs-react/components';\nimport { useVideoTime } from '#vcs-react/hooks';\nexport default function C() {\n  if (useVideoTime() > 0.2) throw new Error('gave up');\n  return <Box style={{ fillColor: 'red' }} />;\n}\n",
    );
    let out = dir.join("kept.mp4");
    let (o, _) = render(
        &[
            "--composition",
            comp.to_str().unwrap(),
            "--participant",
            "a=test:",
            "--duration",
            "4",
            "--size",
            "320x180",
        ],
        &out,
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "reported as failed");
    assert!(e.contains("kept failing"), "{e}");
    assert!(out.exists(), "the recording is kept and complete");
    let streams = ffprobe_streams(&out);
    let video = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!(
        video["nb_read_frames"], "120",
        "video kept recording to the end"
    );
}
