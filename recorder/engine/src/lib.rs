//! The composition engine: Daily-compatible VCS compositions evaluated in a boa sandbox,
//! emitting one three-strata [`Scene`] per frame (architecture.md §3).
//!
//! # How a frame is made
//! 1. [`Composition`] holds the sources in memory (a built-in, a file or a folder, plus
//!    session-asset overrides). [`transpile`] turns JSX/TSX into plain ES modules with oxc.
//! 2. [`Engine`] owns one boa realm. Modules are served from memory by `modules.rs`; the
//!    runtime itself is a handful of JS modules under `js/` (`vcs:react`, `vcs:runtime`,
//!    `vcs:scene`, `vcs:animate`, `vcs:layouts`, `vcs:extras`).
//! 3. Each [`Engine::render`] hands the runtime every input change since the last frame plus
//!    the new time. The runtime re-renders only dirty components (those whose state changed or
//!    which read an input that changed), runs layout (with the second pass for layout hooks
//!    and the layout animations) and emits the strata as JSON strings. Rust compares each
//!    stratum's string with the last frame's, parses and validates only what changed
//!    ([`vcs_scene`]), and marks the rest unchanged. When nothing changed and nothing reads
//!    time, JS is not entered at all.
//!
//! # Layout
//! - this file: [`Engine`] — the realm's lifetime, inputs in, [`FrameScene`]s out.
//! - [`Composition`] (`composition.rs`): sources from a built-in, file or folder; session-asset
//!   overrides; image sizes; the image folders ([`image_dirs`]).
//! - [`transpile`]: oxc JSX/TS → ES modules, line maps, the sandbox guard insertion.
//! - `modules.rs`: the realm bootstrap, the in-memory module loader and the importable aliases.
//! - `host.rs`: host functions (text measurement via [`vcs_text`], console, the guard) and the
//!   sandbox's runtime limits.
//! - `output.rs`: strata validation ([`vcs_scene`]) and frame-to-frame diffing.
//! - `error.rs`: [`EngineError`], and boa errors mapped back to composition files and lines.
//! - [`inspect`]: what a composition produces frame by frame (`vcs-recorder scene`/`still`).
//! - [`layout`]: calling the stdlib layout functions from Rust.
//! - [`params`]: param values checked against the composition's declared params.
//! - `js/`: the runtime — `react*.js` (elements, fibers and reconciliation, hooks), `runtime.js`
//!   (`vcs:runtime`: host inputs, hooks, contexts, the frame entry point, sandbox prelude),
//!   `scene.js` (layout pass and display lists), `animate.js` (layout animations), `layouts.js`
//!   (stdlib layouts), `extras.js` (`uuid`, `random-seed`, `#vcs-stdlib/components`).
//!
//! # Why our own React-compatible runtime
//! Compositions only need React's component model (function and class components, hooks,
//! context, keys, memo, error boundaries) rendering synchronously into host nodes; they never
//! touch the DOM, concurrent features or Suspense. Bundling react + react-reconciler would put
//! ~130 kB of JS through boa's interpreter on every update with a scheduler built around
//! browser event loops, and Preact's diffing is tied to its DOM-ish VNode layout; both make the
//! ≤ 2 ms frame and the "nothing changed" frame hard to reach in an interpreter. Our runtime
//! (`js/react*.js`, about 800 lines) keeps a persistent fiber tree, skips subtrees whose element is
//! identical and not dirty, subscribes components to the host inputs they read (time, params,
//! media inputs) so a time tick re-renders only time readers, and commits synchronously. It
//! follows React's semantics where compositions can observe them: hook order and deps,
//! effects after commit with cleanup before re-run and on unmount, children's effects before
//! parents', keyed reconciliation, `memo`/`PureComponent`/`shouldComponentUpdate`,
//! `getDerivedStateFromProps`, error boundaries via `getDerivedStateFromError` /
//! `componentDidCatch`.
//!
//! # Sandbox
//! Compositions see only the runtime's modules: no filesystem, network, environment or
//! process; `Date` reads the composition clock, `Math.random` is seeded, `eval` and
//! `new Function` are refused. boa's runtime limits (loop iterations per call, recursion,
//! value stack) are set, and node, command and text sizes are capped.
//!
//! boa cannot be interrupted from outside, so the wall-clock budget per frame
//! ([`Engine::set_frame_budget`], default 40 ms) and the memory cap
//! ([`Engine::set_memory_cap`], resident growth within a frame) are enforced by a guard:
//! the transpiler inserts `__vcs_tick()` into every function and loop body of composition
//! code ([`transpile::GUARD`]); every 64th tick asks the host, which compares the clock and
//! `/proc/self/statm` against the frame's limits and, once passed, raises one of boa's
//! runtime-limit errors — errors JS cannot catch — so the frame unwinds whatever the
//! composition does. A failed frame (exception, overrun, invalid output) leaves the last good
//! scene in place, the runtime is reset to a consistent state, and [`Engine::has_failed`]
//! turns true after [`FAILED_AFTER`] failures in a row so the caller can report the
//! composition as failed while video keeps recording.

mod composition;
mod error;
pub mod events_file;
mod host;
pub mod inspect;
pub mod layout;
mod modules;
mod output;
pub mod params;
pub mod transpile;

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use boa_engine::value::TryFromJs;
use boa_engine::{Context, JsError, JsObject, JsString, JsValue};
use serde_json::{Value, json};
use vcs_scene::Scene;

pub use composition::{Composition, image_dirs};
pub use error::{EngineError, Stack, StackFrame};
pub use params::{MAX_TEXT_PARAM_BYTES, ParamError, check_params};

use error::{guarded_error, internal, js_error};
use host::Guard;
use modules::Loader;
use output::Strata;

/// A param given on a command line as `id=value`: the value is JSON when it parses as JSON
/// (`5`, `true`, `{"a":1}`), else the text itself. The error names the bad flag value.
pub fn param_from_flag(kv: &str) -> Result<(String, Value), String> {
    let (id, value) = kv
        .split_once('=')
        .ok_or_else(|| format!("\"{kv}\" is not id=value"))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
    Ok((id.to_string(), value))
}

/// Frame size, rate and the fonts text is measured with.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub fonts: vcs_text::Fonts,
}

/// Whether a video input is a camera or a screenshare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum VideoKind {
    #[default]
    Camera,
    Screenshare,
}

/// One entry of the video input slots the composition sees (vcs-api.md §5).
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInputSlot {
    pub id: String,
    pub kind: VideoKind,
    pub display_name: String,
    pub paused: bool,
    pub dominant: bool,
    pub frame_size: (u32, u32),
}

impl VideoInputSlot {
    /// The slot as the composition sees it (vcs-api.md §5).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": match self.kind { VideoKind::Camera => "camera", VideoKind::Screenshare => "screenshare" },
            "displayName": self.display_name,
            "paused": self.paused,
            "dominant": self.dominant,
            "frameSize": {"w": self.frame_size.0, "h": self.frame_size.1},
        })
    }
}

/// A rendered frame: the scene and which strata differ from the previous frame's.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameScene {
    pub scene: Scene,
    pub background_changed: bool,
    pub video_layers_changed: bool,
    pub foreground_changed: bool,
}

/// What the runtime's `frame()` returns (`js/runtime.js`): whether the next frame must enter JS
/// even when no input changed, and the strata and their owners as JSON strings — all four
/// absent when the scene did not change.
#[derive(TryFromJs)]
#[boa(rename_all = "camelCase")]
struct FrameOut {
    time_sensitive: bool,
    background: Option<JsString>,
    video_layers: Option<JsString>,
    foreground: Option<JsString>,
    owners: Option<JsString>,
    /// Daily's two documents, when [`Engine::set_daily_format`] asked for them.
    daily_video_layers: Option<JsString>,
    daily_foreground: Option<JsString>,
}

/// A frame as Daily's tools write it (daily-compat.md §3), byte for byte: made by the runtime
/// with JavaScript's own `JSON.stringify`, so key order and number formatting are Daily's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DailyDocuments {
    /// `vcs-output_N_videolayers.json`.
    pub video_layers: String,
    /// `vcs-output_N_fgdisplaylist.canvex.json`.
    pub fg_display_list: String,
}

/// Default wall-clock budget for one frame.
pub const DEFAULT_FRAME_BUDGET: Duration = Duration::from_millis(40);
/// Budget for evaluating the modules and for the first frame (mount, font cache warm-up).
pub const STARTUP_BUDGET: Duration = Duration::from_secs(2);
/// How many rendered frames count as startup (see [`Engine::render`]).
const STARTUP_FRAMES: u64 = 2;
/// Consecutive failed frames after which [`Engine::has_failed`] reports the composition failed.
pub const FAILED_AFTER: u32 = 90;
/// Default resident memory one frame may add.
pub const DEFAULT_MEMORY_CAP: u64 = 512 << 20;

/// Input changes collected between two frames, applied together with the next frame's time.
#[derive(Default)]
struct Pending {
    params: serde_json::Map<String, Value>,
    slots: Option<Value>,
    viewport: Option<(u32, u32)>,
    playback: Option<&'static str>,
    peers: Option<Value>,
    messages: Vec<Value>,
    images: Option<Value>,
    daily_format: Option<bool>,
}

impl Pending {
    fn take_json(&mut self) -> Option<String> {
        let p = std::mem::take(self);
        let mut o = serde_json::Map::new();
        if !p.params.is_empty() {
            o.insert("params".into(), Value::Object(p.params));
        }
        if let Some(s) = p.slots {
            o.insert("slots".into(), s);
        }
        if let Some((w, h)) = p.viewport {
            o.insert("viewport".into(), json!({"w": w, "h": h}));
        }
        if let Some(pb) = p.playback {
            o.insert("playback".into(), json!(pb));
        }
        if let Some(peers) = p.peers {
            o.insert("peers".into(), peers);
        }
        if let Some(images) = p.images {
            o.insert("images".into(), images);
        }
        if !p.messages.is_empty() {
            o.insert("messages".into(), Value::Array(p.messages));
        }
        if let Some(on) = p.daily_format {
            o.insert("dailyFormat".into(), json!(on));
        }
        (!o.is_empty()).then(|| Value::Object(o).to_string())
    }
}

/// One composition running in its own boa realm. Not `Send`: keep it on one thread.
pub struct Engine {
    /// What text is measured with; the renderer draws with the same.
    fonts: vcs_text::Fonts,
    ctx: Context,
    loader: Rc<Loader>,
    frame_fn: JsObject,
    recover_fn: JsObject,
    guard: Rc<Guard>,
    width: u32,
    height: u32,
    pending: Pending,
    params: BTreeMap<String, Value>,
    strata: Option<Strata>,
    daily: Option<DailyDocuments>,
    time_sensitive: bool,
    budget: Duration,
    consecutive_failures: u32,
    frames_rendered: u64,
    interface: Value,
}

impl Engine {
    /// How a recording, the scene inspector and the warm-up start an engine: resolves
    /// `composition` (a built-in name, a file or a folder), lays the session-assets folder over
    /// it, measures text with the system fonts plus the composition's `fonts/`, and evaluates it.
    pub fn open(
        composition: &str,
        session_assets: Option<&Path>,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<Engine, EngineError> {
        let mut composition = Composition::resolve(composition)?;
        if let Some(dir) = session_assets {
            composition = composition.with_session_assets(dir)?;
        }
        let fonts = vcs_text::Fonts::with_font_dirs(&composition.font_dirs);
        Engine::new(
            composition,
            EngineOptions {
                width,
                height,
                fps,
                fonts,
            },
        )
    }

    /// Evaluates the composition's modules and reads `compositionInterface` (param defaults).
    pub fn new(composition: Composition, opts: EngineOptions) -> Result<Engine, EngineError> {
        let loader = Rc::new(Loader::new(&composition));
        let mut ctx = modules::new_realm(&loader)?;
        let guard = Rc::new(Guard::default());
        guard.memory_cap.set(DEFAULT_MEMORY_CAP);
        guard.arm(STARTUP_BUDGET);
        host::install(
            &mut ctx,
            opts.fonts.clone(),
            &composition.name,
            guard.clone(),
            loader.clone(),
        )
        .map_err(|e| js_error(e, &loader, &mut ctx))?;
        let loader_for_errors = loader.clone();
        let guard_for_errors = guard.clone();
        let js_error = move |e: JsError, _l: &Rc<Loader>, ctx: &mut Context| {
            guarded_error(
                e,
                &loader_for_errors,
                &guard_for_errors,
                STARTUP_BUDGET,
                ctx,
            )
        };

        let runtime = modules::evaluate(&loader, &mut ctx, "vcs:runtime", &js_error)?;
        let entry = modules::evaluate(&loader, &mut ctx, &composition.entry, &js_error)?;
        let get = |ns: &JsObject, name: &str, ctx: &mut Context| -> Result<JsValue, EngineError> {
            ns.get(JsString::from(name), ctx)
                .map_err(|e| js_error(e, &loader, ctx))
        };
        let init = get(&runtime, "init", &mut ctx)?;
        let frame = get(&runtime, "frame", &mut ctx)?;
        let root = get(&entry, "default", &mut ctx)?;
        let iface = get(&entry, "compositionInterface", &mut ctx)?;
        let anims = get(&entry, "layoutAnimations", &mut ctx)?;
        let recover = get(&runtime, "recover", &mut ctx)?;
        let init = init.as_callable().ok_or_else(|| internal("init"))?;
        let frame_fn = frame.as_callable().ok_or_else(|| internal("frame"))?;
        let recover_fn = recover.as_callable().ok_or_else(|| internal("recover"))?;
        let defaults = init
            .call(&JsValue::undefined(), &[root, iface, anims], &mut ctx)
            .map_err(|e| js_error(e, &loader, &mut ctx))?;
        guard.deadline.set(None);
        let defaults = defaults
            .as_string()
            .map(|s| s.to_std_string_escaped())
            .unwrap_or_default();
        let init: Value = serde_json::from_str(&defaults).unwrap_or(Value::Null);
        let params: BTreeMap<String, Value> = init
            .get("defaults")
            .and_then(|d| serde_json::from_value(d.clone()).ok())
            .unwrap_or_default();
        let interface = init.get("interface").cloned().unwrap_or(Value::Null);
        let images: serde_json::Map<String, Value> = composition
            .images
            .iter()
            .filter_map(|(k, v)| v.map(|(w, h)| (k.clone(), json!([w, h]))))
            .collect();
        let engine = Engine {
            fonts: opts.fonts,
            ctx,
            loader,
            frame_fn,
            recover_fn,
            guard,
            width: opts.width,
            height: opts.height,
            pending: Pending {
                viewport: Some((opts.width, opts.height)),
                images: Some(Value::Object(images)),
                ..Pending::default()
            },
            params,
            strata: None,
            daily: None,
            time_sensitive: true,
            budget: DEFAULT_FRAME_BUDGET,
            consecutive_failures: 0,
            frames_rendered: 0,
            interface,
        };
        Ok(engine)
    }

    /// The composition's `compositionInterface` as JSON (functions and other non-JSON values
    /// dropped): `displayMeta`, `params` descriptors, `fontFamilies`, `imagePreloads`,
    /// `standardSources`.
    pub fn interface(&self) -> &Value {
        &self.interface
    }

    /// The fonts text is measured with: draw with these so drawn text is as wide as measured.
    pub fn fonts(&self) -> &vcs_text::Fonts {
        &self.fonts
    }

    /// Current params (defaults merged with every change so far), by id: what a controller or
    /// a test reads back after live changes.
    pub fn params(&self) -> &BTreeMap<String, Value> {
        &self.params
    }

    /// Merges params by id; applied with the next frame.
    pub fn set_params(&mut self, params: &BTreeMap<String, Value>) {
        for (k, v) in params {
            self.params.insert(k.clone(), v.clone());
            self.pending.params.insert(k.clone(), v.clone());
        }
    }

    /// Replaces the video input slots as a whole; applied with the next frame.
    pub fn set_video_inputs(&mut self, slots: Vec<VideoInputSlot>) {
        self.pending.slots = Some(Value::Array(
            slots.iter().map(VideoInputSlot::to_json).collect(),
        ));
    }

    /// Replaces the slots from their JSON form (vcs-api.md §5: entries may be `false`/`null`,
    /// `true`, or objects without `id`).
    pub fn set_video_inputs_json(&mut self, slots: Value) {
        self.pending.slots = Some(slots);
    }

    /// Whether each new scene is also written as Daily's documents ([`Engine::daily_documents`]);
    /// off by default (recordings do not need them).
    pub fn set_daily_format(&mut self, on: bool) {
        self.pending.daily_format = Some(on);
    }

    /// Daily's documents of the last rendered scene, when [`Engine::set_daily_format`] is on.
    pub fn daily_documents(&self) -> Option<&DailyDocuments> {
        self.daily.as_ref()
    }

    /// Replaces the room peers (vcs-api.md §5); applied with the next frame.
    pub fn set_room_peers(&mut self, peers: Value) {
        self.pending.peers = Some(peers);
    }

    /// Appends a standard-source message (`chatMessages`, `transcript`, `emojiReactions`).
    pub fn push_standard_source_message(&mut self, source_id: &str, data: Value) {
        self.pending
            .messages
            .push(json!({"sourceId": source_id, "data": data}));
    }

    /// Switches playback to `postroll` (the recording is stopping).
    pub fn stop(&mut self) {
        self.pending.playback = Some("postroll");
    }

    /// Sets the wall-clock budget per frame (default [`DEFAULT_FRAME_BUDGET`]).
    pub fn set_frame_budget(&mut self, budget: Duration) {
        self.budget = budget;
    }

    /// Sets how much resident memory one frame may add (default [`DEFAULT_MEMORY_CAP`]). A
    /// sandbox knob beside [`Engine::set_frame_budget`], for hosts with less memory to spare.
    pub fn set_memory_cap(&mut self, bytes: u64) {
        self.guard.memory_cap.set(bytes);
    }

    /// Frames that failed in a row (0 after a good frame); [`Engine::has_failed`] is this
    /// reaching [`FAILED_AFTER`].
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Whether the composition keeps failing: [`FAILED_AFTER`] frames in a row. The recording
    /// goes on with the last good scene; the caller reports the composition as failed.
    pub fn has_failed(&self) -> bool {
        self.consecutive_failures >= FAILED_AFTER
    }

    /// Renders the frame at `time_secs` (all changes since the last frame applied together).
    ///
    /// On error the previous scene stays the last good one; the caller keeps showing it.
    pub fn render(&mut self, time_secs: f64) -> Result<FrameScene, EngineError> {
        let changes = self.pending.take_json();
        if changes.is_none()
            && !self.time_sensitive
            && let Some(s) = &self.strata
        {
            return Ok(s.unchanged());
        }
        // The first frame mounts the whole tree, the second lays it out again with the real
        // inputs, and both warm the font caches: that is startup, not frames a recording waits on, so they
        // get the startup budget.
        let first = self.strata.is_none() || self.frames_rendered < STARTUP_FRAMES;
        self.frames_rendered += 1;
        let started = Instant::now();
        self.guard.arm(if first {
            STARTUP_BUDGET.max(self.budget)
        } else {
            self.budget
        });
        let result = self.call_frame(time_secs, changes);
        self.guard.deadline.set(None);
        let took = started.elapsed();
        let result = result.and_then(|r| {
            if took > self.budget && !first {
                Err(EngineError::Budget {
                    budget_ms: self.budget.as_millis() as u64,
                    took_ms: took.as_millis() as u64,
                })
            } else {
                Ok(r)
            }
        });
        match result {
            Ok(frame) => {
                self.consecutive_failures = 0;
                Ok(frame)
            }
            Err(e) => {
                self.consecutive_failures += 1;
                // The frame may have been unwound mid-render: make the runtime consistent and
                // try again next frame even if nothing changes.
                self.guard.tripped.set(None);
                let _ = self
                    .recover_fn
                    .call(&JsValue::undefined(), &[], &mut self.ctx);
                self.time_sensitive = true;
                Err(e)
            }
        }
    }

    fn call_frame(
        &mut self,
        time: f64,
        changes: Option<String>,
    ) -> Result<FrameScene, EngineError> {
        let changes = changes.map_or(JsValue::null(), |c| JsString::from(c.as_str()).into());
        let out = self
            .frame_fn
            .call(
                &JsValue::undefined(),
                &[JsValue::from(time), changes],
                &mut self.ctx,
            )
            .map_err(|e| guarded_error(e, &self.loader, &self.guard, self.budget, &mut self.ctx))?;
        self.ctx
            .run_jobs()
            .map_err(|e| guarded_error(e, &self.loader, &self.guard, self.budget, &mut self.ctx))?;
        let out = FrameOut::try_from_js(&out, &mut self.ctx)
            .map_err(|e| internal(&format!("a frame result ({e})")))?;
        self.time_sensitive = out.time_sensitive;
        let (Some(bg), Some(vl), Some(fg), Some(owners)) =
            (out.background, out.video_layers, out.foreground, out.owners)
        else {
            return self
                .strata
                .as_ref()
                .map(Strata::unchanged)
                .ok_or_else(|| internal("first frame"));
        };
        if let (Some(vl), Some(fg)) = (out.daily_video_layers, out.daily_foreground) {
            self.daily = Some(DailyDocuments {
                video_layers: vl.to_std_string_escaped(),
                fg_display_list: fg.to_std_string_escaped(),
            });
        }
        let [bg, vl, fg, owners] = [bg, vl, fg, owners].map(|s| s.to_std_string_escaped());
        let (strata, frame) = Strata::update(
            self.strata.as_ref(),
            self.width,
            self.height,
            [bg, vl, fg],
            &owners,
        )?;
        self.strata = Some(strata);
        Ok(frame)
    }
}
