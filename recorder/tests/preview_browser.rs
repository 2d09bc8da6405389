//! `vcs-recorder preview` in a real browser (Debian's headless Chromium over the DevTools
//! protocol): frames arrive and change, a boolean param draws where the composition says, a new
//! participant adds a tile, a broken composition file shows its error with its line and the last
//! good frame, and fixing it brings frames back; a `--participant name=test:…` tile shows that
//! source's live video beside a placeholder. A failing test leaves a screenshot of the page in
//! `<target>/test-artifacts/`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use vcs_test_support::{Browser, TempDir, wait_for, workspace_bin};

/// A composition with something to look for at known places: a white bar that moves with time
/// along the bottom, a red square top right when `showMarker` is on, and one grid tile per
/// participant.
const COMPOSITION: &str = r#"import * as React from 'react';
import { Box, Video } from '#vcs-react/components';
import { useActiveVideo, useParams, useVideoTime } from '#vcs-react/hooks';
import { grid } from '#vcs-stdlib/layouts';

export const compositionInterface = {
  params: [{ id: 'showMarker', type: 'boolean', defaultValue: false }],
};

export default function Test() {
  const { showMarker } = useParams();
  const { activeIds } = useActiveVideo();
  const t = useVideoTime();
  return (
    <Box id="root" style={{ fillColor: '#000000' }}>
      {activeIds.map((id, index) => (
        <Box key={id} id={'tile-' + id} layout={[grid, { index, total: activeIds.length }]}>
          <Video id={'video-' + id} src={id} />
        </Box>
      ))}
      <Box id="clock" layout={[clock, { t }]} style={{ fillColor: '#ffffff' }} />
      {showMarker ? <Box id="marker" layout={[marker]} style={{ fillColor: '#ff0000' }} /> : null}
    </Box>
  );
}

function clock(parent, { t }) {
  return { x: (t * 300) % 1180, y: 690, w: 60, h: 20 };
}

function marker() {
  return { x: 1160, y: 20, w: 100, h: 100 };
}
"#;

/// Line 9 of the broken file is the bad one.
const BROKEN: &str = "import * as React from 'react';\n\
                      import { Box } from '#vcs-react/components';\n\
                      \n\
                      export const compositionInterface = { params: [] };\n\
                      \n\
                      export default function Test() {\n\
                      \x20 return <Box />;\n\
                      }\n\
                      const = ;\n";

/// `vcs-recorder preview` on a free port; killed on drop.
struct Preview {
    child: Child,
    url: String,
}

impl Preview {
    fn start(composition: &Path, inputs: &Path) -> Preview {
        Self::start_with(composition, inputs, &[])
    }

    /// [`Preview::start`] with more flags (`--participant name=URI`).
    fn start_with(composition: &Path, inputs: &Path, more: &[&str]) -> Preview {
        let mut child = Command::new(workspace_bin("vcs-recorder", "VCS_RECORDER_BIN"))
            .arg("preview")
            .arg("--composition")
            .arg(composition)
            .arg("--inputs")
            .arg(inputs)
            .args(more)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--size",
                "1280x720",
                "--fps",
                "30",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start vcs-recorder preview");
        let stdout = child.stdout.take().expect("preview's stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read preview's address line");
        let url = line
            .trim()
            .strip_prefix("preview at ")
            .unwrap_or_else(|| panic!("preview printed {line:?}, not its address"))
            .to_string();
        Preview { child, url }
    }
}

impl Drop for Preview {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser page under test: screenshots itself into the test artefacts when a test fails.
struct Page {
    browser: Browser,
    name: &'static str,
}

impl Page {
    fn eval(&mut self, js: &str) -> Value {
        self.browser
            .eval(js)
            .unwrap_or_else(|e| panic!("{js} threw {e}"))
    }

    fn frames(&mut self) -> u64 {
        self.eval("window.vcsPreview ? window.vcsPreview.framesDrawn : 0")
            .as_u64()
            .unwrap_or(0)
    }

    fn pixel(&mut self, x: u32, y: u32) -> [u8; 3] {
        let v = self.eval(&format!("window.vcsPreview.pixel({x}, {y})"));
        let c = |i: usize| v[i].as_u64().unwrap_or(0) as u8;
        [c(0), c(1), c(2)]
    }

    /// Where the white clock bar is on row 700 (its left edge), if it is drawn.
    fn clock_x(&mut self) -> Option<u64> {
        self.eval(
            "(() => { const d = document.getElementById('video').getContext('2d')\
             .getImageData(0, 700, 1280, 1).data;\
             for (let x = 0; x < 1280; x++) if (d[4*x] > 200 && d[4*x+1] > 200 && d[4*x+2] > 200) return x;\
             return null; })()",
        )
        .as_u64()
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let path = artefacts_dir().join(format!("{}.png", self.name));
            self.browser.screenshot(&path);
            eprintln!("screenshot of the failing page: {}", path.display());
        }
    }
}

/// `<target>/test-artifacts`, beside the profile folder the test runs from.
fn artefacts_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("test-artifacts"))
        .unwrap_or_else(|| PathBuf::from("test-artifacts"))
}

const WAIT: Duration = Duration::from_secs(60);

/// The tests take turns with the browser: two Chromiums and two previews at once would only
/// slow each other down on a small machine.
static ONE_BROWSER_AT_A_TIME: Mutex<()> = Mutex::new(());

fn red(p: [u8; 3]) -> bool {
    p[0] > 180 && p[1] < 90 && p[2] < 90
}

/// Chromium's path and this test's turn with it, or `None` (said: skipped) without Chromium.
fn chromium_turn() -> Option<(PathBuf, std::sync::MutexGuard<'static, ()>)> {
    let Some(chromium) = Browser::find() else {
        eprintln!("SKIPPED preview_browser: chromium not found (scripts/install-deps installs it)");
        return None;
    };
    let turn = ONE_BROWSER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    Some((chromium, turn))
}

#[test]
fn preview_page_plays_edits_and_hot_reloads_in_chromium() {
    let Some((chromium, _turn)) = chromium_turn() else {
        return;
    };
    let dir = TempDir::new("preview");
    let composition = dir.path().join("composition");
    std::fs::create_dir_all(&composition).unwrap();
    let index = composition.join("index.jsx");
    std::fs::write(&index, COMPOSITION).unwrap();
    let inputs = dir.path().join("inputs.json");
    std::fs::write(&inputs, "[]").unwrap();
    let preview = Preview::start(&composition, &inputs);
    let mut page = Page {
        browser: Browser::launch(&chromium, 1800, 1000),
        name: "preview_page",
    };
    page.browser.navigate(&preview.url);

    // Frames arrive and change: the clock bar moves.
    wait_for("frames in the page", WAIT, || page.frames() > 5);
    let first = wait_for("the clock bar", WAIT, || page.clock_x());
    wait_for("the clock bar to move", WAIT, || {
        page.clock_x().is_some_and(|x| x != first)
    });

    // The marker's place is black until the boolean param is toggled in the params panel.
    assert!(
        !red(page.pixel(1210, 70)),
        "marker drawn before it was asked for"
    );
    page.eval("document.querySelector('[data-param=showMarker]').click()");
    wait_for("the red marker after toggling showMarker", WAIT, || {
        red(page.pixel(1210, 70))
    });

    // No participants: the left half is background. Adding one fills it with a video tile.
    let empty = page.pixel(320, 300);
    assert!(
        empty.iter().all(|c| *c < 30),
        "background expected, got {empty:?}"
    );
    page.eval("document.getElementById('add-participant').click()");
    wait_for("a participant's tile", WAIT, || {
        page.pixel(320, 300).iter().any(|c| *c > 35)
    });

    // The session so far exports as an events file with the edits at their frames.
    let events = page.eval(
        "fetch('/api/export').then(r => r.json()).then(e => JSON.stringify(e.eventsByFrame))",
    );
    let events = events.as_str().unwrap_or_default();
    assert!(
        events.contains(r#""showMarker":true"#) && events.contains("activeVideoInputSlots"),
        "export lacks the edits: {events}"
    );

    // A syntax error shows with its file and line; the last good frame stays.
    std::fs::write(&index, BROKEN).unwrap();
    let error = wait_for("the composition's error in the page", WAIT, || {
        let text = page.eval("document.getElementById('error').hidden ? null : document.getElementById('error').textContent");
        text.as_str().map(str::to_string)
    });
    assert!(
        error.contains("index.jsx:9"),
        "error without its line: {error}"
    );
    assert!(
        red(page.pixel(1210, 70)),
        "the last good frame should stay while the file is broken"
    );

    // Fixing the file brings frames back, with the params and participants kept.
    std::fs::write(&index, COMPOSITION).unwrap();
    wait_for("the error to clear", WAIT, || {
        page.eval("document.getElementById('error').hidden") == Value::Bool(true)
    });
    let before = page.frames();
    wait_for("frames after the fix", WAIT, || page.frames() > before + 5);
    assert!(
        red(page.pixel(1210, 70)),
        "showMarker was kept over the reload"
    );
    assert!(
        page.pixel(320, 300).iter().any(|c| *c > 35),
        "the participant was kept over the reload"
    );
}

/// What a tile shows in the page's current frame: the share of red pixels (sampled every 4
/// pixels inside its frame, away from the rounded corners) and the centre of its white pixels.
#[derive(Debug)]
struct TileLook {
    red: f64,
    white_centre: Option<(f64, f64)>,
}

impl Page {
    /// The frame (x, y, w, h) of video layer `id` in the current scene.
    fn layer_frame(&mut self, id: &str) -> Option<[i64; 4]> {
        let v = self.eval(&format!(
            "fetch('/api/scene').then(r => r.json()).then(s => {{\
             const l = s && s.videoLayers.find(l => l.id === '{id}');\
             return l ? [l.frame.x, l.frame.y, l.frame.w, l.frame.h] : null; }})"
        ));
        let n = |i: usize| v[i].as_i64();
        Some([n(0)?, n(1)?, n(2)?, n(3)?])
    }

    fn tile_look(&mut self, [x, y, w, h]: [i64; 4]) -> TileLook {
        let v = self.eval(&format!(
            "(() => {{ const inset = 12;\
             const d = document.getElementById('video').getContext('2d')\
             .getImageData({x} + inset, {y} + inset, {w} - 2 * inset, {h} - 2 * inset);\
             let n = 0, red = 0, white = 0, sx = 0, sy = 0;\
             for (let j = 0; j < d.height; j += 4) for (let i = 0; i < d.width; i += 4) {{\
               const k = 4 * (j * d.width + i), r = d.data[k], g = d.data[k+1], b = d.data[k+2];\
               n++;\
               if (r > 180 && g < 90 && b < 90) red++;\
               if (r > 200 && g > 200 && b > 200) {{ white++; sx += i; sy += j; }}\
             }}\
             return [red / n, white, white ? sx / white : 0, white ? sy / white : 0]; }})()"
        ));
        let f = |i: usize| v[i].as_f64().unwrap_or(0.0);
        TileLook {
            red: f(0),
            white_centre: (f(1) > 0.0).then(|| (f(2), f(3))),
        }
    }
}

/// `--participant cam=test:red?pattern=ball`: its tile shows the source's live video (red with
/// a white ball that moves), where the placeholder participant beside it shows no red and does
/// not change.
#[test]
fn preview_page_shows_a_participants_real_video_in_chromium() {
    let Some((chromium, _turn)) = chromium_turn() else {
        return;
    };
    let dir = TempDir::new("preview-video");
    let composition = dir.path().join("index.jsx");
    std::fs::write(&composition, COMPOSITION).unwrap();
    let inputs = dir.path().join("inputs.json");
    std::fs::write(&inputs, r#"[{"id":"ph","displayName":"Placeholder"}]"#).unwrap();
    let preview = Preview::start_with(
        &composition,
        &inputs,
        &["--participant", "cam=test:red?pattern=ball&size=320x180"],
    );
    let mut page = Page {
        browser: Browser::launch(&chromium, 1800, 1000),
        name: "preview_real_video",
    };
    page.browser.navigate(&preview.url);
    wait_for("frames in the page", WAIT, || page.frames() > 5);
    let cam = wait_for("the real participant's layer", WAIT, || {
        page.layer_frame("cam")
    });
    let placeholder = wait_for("the placeholder's layer", WAIT, || page.layer_frame("ph"));

    // The real tile is the source's red (the ball and its name cover a little of it); the
    // placeholder beside it has none.
    let first = wait_for("the red test source in its tile", WAIT, || {
        let look = page.tile_look(cam);
        (look.red > 0.6).then_some(look)
    });
    let ph_first = page.tile_look(placeholder);
    eprintln!("real tile {first:?}; placeholder tile {ph_first:?}");
    assert!(
        ph_first.red < 0.01,
        "the placeholder tile should not be red: {ph_first:?}"
    );

    // It is live video: the ball moves, while the placeholder stays as it is.
    let first_ball = first.white_centre.expect("the white ball in the red tile");
    wait_for("the ball to move in the real tile", WAIT, || {
        let look = page.tile_look(cam);
        look.white_centre.is_some_and(|(x, y)| {
            look.red > 0.6 && ((x - first_ball.0).abs() > 8.0 || (y - first_ball.1).abs() > 8.0)
        })
    });
    let ph_now = page.tile_look(placeholder);
    let same_centre = match (ph_now.white_centre, ph_first.white_centre) {
        (Some(a), Some(b)) => (a.0 - b.0).abs() < 1.0 && (a.1 - b.1).abs() < 1.0,
        (a, b) => a == b,
    };
    assert!(
        ph_now.red < 0.01 && same_centre,
        "the placeholder tile changed: {ph_first:?} then {ph_now:?}"
    );
    let state = page
        .eval("fetch('/api/state').then(r => r.json()).then(s => JSON.stringify(s.participants))");
    assert!(
        state
            .as_str()
            .unwrap_or_default()
            .contains(r#""uri":"test:red?pattern=ball&size=320x180""#),
        "the page's participants should name the real one's source: {state}"
    );
}

/// Not a check (speed is never asserted): the figures for the issue's note. Run with
/// `cargo test --workspace --test preview_browser -- --ignored --nocapture`: the demo's frame
/// rate as the page counts it, the latency from a param edit to the first frame showing it, and
/// a screenshot in `<target>/test-artifacts/preview-demo.png`.
#[test]
#[ignore = "a measurement, run by hand"]
fn measure_the_demo_in_chromium() {
    let dir = TempDir::new("preview-animated");
    let animated = dir.path().join("index.jsx");
    std::fs::write(&animated, COMPOSITION).unwrap();
    for transport in ["mjpeg", "ws"] {
        // The demo changes once a second (its countdown); the test composition every frame (its
        // clock bar), so every frame is painted and encoded.
        measure(transport, Path::new("demo"), &[]);
        measure(transport, &animated, &[]);
        // Two real inputs beside the four placeholders, composited every frame.
        let real = [
            "--participant",
            "alice=test:red",
            "--participant",
            "bob=test:blue",
        ];
        measure(transport, Path::new("demo"), &real);
    }
}

fn measure(transport: &str, composition: &Path, more: &[&str]) {
    let Some(chromium) = Browser::find() else {
        eprintln!("SKIPPED: chromium not found");
        return;
    };
    let dir = TempDir::new("preview-measure");
    let inputs = dir.path().join("inputs.json");
    std::fs::write(
        &inputs,
        r#"[{"id":"a","displayName":"Alice","dominant":true},{"id":"b","displayName":"Bob"},{"id":"c","displayName":"Carol"},{"id":"d","displayName":"Dan","type":"screenshare"}]"#,
    )
    .expect("write the inputs file");
    let preview = Preview::start_with(composition, &inputs, more);
    let mut page = Page {
        browser: Browser::launch(&chromium, 1800, 1000),
        name: "preview_measure",
    };
    page.browser
        .navigate(&format!("{}?transport={transport}", preview.url));
    wait_for("frames", WAIT, || page.frames() > 30);
    let mut fps = Vec::new();
    for _ in 0..10 {
        std::thread::sleep(Duration::from_secs(1));
        fps.push(page.eval("window.vcsPreview.fps").as_u64().unwrap_or(0));
    }
    let mut latencies = Vec::new();
    for i in 0..10 {
        page.eval(&format!(
            "(() => {{ const i = document.querySelector('[data-param=title]') || \
             document.querySelector('[data-param=showMarker]'); \
             if (i.type === 'checkbox') i.click(); else {{ i.value = 'Edit {i}'; \
             i.dispatchEvent(new Event('input')); }} }})()"
        ));
        std::thread::sleep(Duration::from_millis(700));
        latencies.push(
            page.eval("window.vcsPreview.lastEditLatencyMs")
                .as_f64()
                .unwrap_or(-1.0),
        );
    }
    let stats = page.eval("document.getElementById('stats').textContent");
    page.browser
        .screenshot(&artefacts_dir().join(format!("preview-demo-{transport}.png")));
    eprintln!(
        "{transport} {} {more:?}: page fps each second: {fps:?}",
        composition.display()
    );
    eprintln!("param edit -> frame latency ms: {latencies:?}");
    eprintln!("stats line: {stats}");
}
