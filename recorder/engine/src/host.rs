//! Host functions the JS runtime calls: text measurement through the shared [`vcs_text`]
//! module (so layout measures exactly what the renderer draws) and `console.*` → `tracing`.
//!
//! They are installed as `globalThis.__vcs_host`, which the runtime captures and deletes
//! before any composition code runs.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use boa_engine::error::RuntimeLimitError;
use boa_engine::object::ObjectInitializer;
use boa_engine::object::builtins::JsArray;
use boa_engine::property::Attribute;
use boa_engine::{
    Context, Finalize, JsResult, JsString, JsValue, NativeFunction, Trace, js_string,
};

use super::modules::Loader;
use vcs_scene::FontSpec;
use vcs_text::Fonts;

#[derive(Trace, Finalize)]
struct Caps {
    #[unsafe_ignore_trace]
    fonts: Fonts,
    #[unsafe_ignore_trace]
    composition: String,
    #[unsafe_ignore_trace]
    guard: Rc<Guard>,
    #[unsafe_ignore_trace]
    loader: Rc<Loader>,
}

/// Why the guard stopped a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trip {
    Budget,
    Memory { used_mb: u64 },
}

/// The frame's wall-clock deadline and memory cap, checked by `__vcs_tick()` calls that the
/// transpiler puts into every loop and function of composition code. When a limit is passed
/// the check raises one of boa's runtime-limit errors: those cannot be caught by JS, so the
/// whole frame unwinds and the engine reports the trip.
#[derive(Debug, Default)]
pub struct Guard {
    pub deadline: Cell<Option<Instant>>,
    /// When the guard was armed and for how long: what a trip reports.
    pub armed: Cell<Option<(Instant, std::time::Duration)>>,
    /// Resident-memory growth allowed within one frame, in bytes.
    pub memory_cap: Cell<u64>,
    pub rss_at_start: Cell<u64>,
    pub tripped: Cell<Option<Trip>>,
    checks: Cell<u32>,
}

impl Guard {
    /// Arms the guard for a frame (or the start-up) of at most `budget`.
    pub fn arm(&self, budget: std::time::Duration) {
        let now = Instant::now();
        self.armed.set(Some((now, budget)));
        self.deadline.set(Some(now + budget));
        self.tripped.set(None);
        self.rss_at_start.set(resident_bytes());
    }

    fn check(&self) -> Option<Trip> {
        if let Some(t) = self.tripped.get() {
            return Some(t);
        }
        if self.deadline.get().is_some_and(|d| Instant::now() > d) {
            self.tripped.set(Some(Trip::Budget));
        } else {
            let n = self.checks.get().wrapping_add(1);
            self.checks.set(n);
            let cap = self.memory_cap.get();
            if cap > 0 && n.is_multiple_of(4) {
                let used = resident_bytes().saturating_sub(self.rss_at_start.get());
                if used > cap {
                    self.tripped.set(Some(Trip::Memory {
                        used_mb: used >> 20,
                    }));
                }
            }
        }
        self.tripped.get()
    }
}

/// Resident set size of this process (Linux `/proc/self/statm`); 0 where unavailable. The file
/// is opened once per thread and read again from its start, which gives the current figure
/// without a path walk per call (the guard reads it every frame and every fourth check).
pub fn resident_bytes() -> u64 {
    use std::os::unix::fs::FileExt;
    thread_local! {
        static STATM: Option<std::fs::File> = std::fs::File::open("/proc/self/statm").ok();
    }
    STATM
        .with(|statm| {
            let mut buf = [0u8; 128];
            let n = statm.as_ref()?.read_at(&mut buf, 0).ok()?;
            let text = std::str::from_utf8(&buf[..n]).ok()?;
            text.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |pages| pages * 4096)
}

fn check(_: &JsValue, _: &[JsValue], caps: &Caps, _: &mut Context) -> JsResult<JsValue> {
    match caps.guard.check() {
        None => Ok(JsValue::undefined()),
        Some(_) => Err(RuntimeLimitError::LoopIteration.into()),
    }
}

fn font_arg(args: &[JsValue], ctx: &mut Context) -> JsResult<FontSpec> {
    let n = |i: usize, ctx: &mut Context| -> JsResult<f64> {
        args.get(i).cloned().unwrap_or_default().to_number(ctx)
    };
    let weight = n(0, ctx)?;
    let italic = args.get(1).is_some_and(JsValue::to_boolean);
    let size = n(2, ctx)?;
    let family = args
        .get(3)
        .cloned()
        .unwrap_or_default()
        .to_string(ctx)?
        .to_std_string_escaped();
    Ok(FontSpec {
        weight: if weight.is_finite() {
            weight.clamp(1.0, 1000.0) as u16
        } else {
            400
        },
        italic,
        size_px: if size.is_finite() && size > 0.0 {
            size.min(10_000.0) as f32
        } else {
            1.0
        },
        family: if family.is_empty() {
            "Roboto".into()
        } else {
            family
        },
    })
}

/// The `(text, weight, italic, px, family)` arguments `wrap` and `measure` start with.
fn text_and_font(args: &[JsValue], ctx: &mut Context) -> JsResult<(String, FontSpec)> {
    let text = args
        .first()
        .cloned()
        .unwrap_or_default()
        .to_string(ctx)?
        .to_std_string_escaped();
    let font = font_arg(&args[1.min(args.len())..], ctx)?;
    Ok((text, font))
}

/// `wrap(text, weight, italic, px, family, maxWidth)` → `[[line, width], ...]`; a negative or
/// non-finite `maxWidth` means no wrapping.
fn wrap(_: &JsValue, args: &[JsValue], caps: &Caps, ctx: &mut Context) -> JsResult<JsValue> {
    let (text, font) = text_and_font(args, ctx)?;
    let max = args.get(5).cloned().unwrap_or_default().to_number(ctx)?;
    let max = (max.is_finite() && max >= 0.0).then_some(max as f32);
    let lines = caps.fonts.wrap(&text, &font, max);
    let out = JsArray::new(ctx)?;
    for l in lines {
        let pair = JsArray::from_iter(
            [
                JsValue::from(JsString::from(l.text.as_str())),
                JsValue::from(f64::from(l.width)),
            ],
            ctx,
        );
        out.push(pair, ctx)?;
    }
    Ok(out.into())
}

/// `measure(text, weight, italic, px, family)` → advance width in px (trailing spaces count).
fn measure(_: &JsValue, args: &[JsValue], caps: &Caps, ctx: &mut Context) -> JsResult<JsValue> {
    let (text, font) = text_and_font(args, ctx)?;
    Ok(JsValue::from(f64::from(caps.fonts.measure(&text, &font))))
}

/// `metrics(weight, italic, px, family)` → `[ascent, descent, lineHeight]`.
fn metrics(_: &JsValue, args: &[JsValue], caps: &Caps, ctx: &mut Context) -> JsResult<JsValue> {
    let font = font_arg(args, ctx)?;
    let m = caps.fonts.line_metrics(&font);
    Ok(JsArray::from_iter(
        [m.ascent, m.descent, m.line_height].map(|v| JsValue::from(f64::from(v))),
        ctx,
    )
    .into())
}

fn log(_: &JsValue, args: &[JsValue], caps: &Caps, ctx: &mut Context) -> JsResult<JsValue> {
    let level = args
        .first()
        .cloned()
        .unwrap_or_default()
        .to_string(ctx)?
        .to_std_string_escaped();
    let msg = args
        .get(1)
        .cloned()
        .unwrap_or_default()
        .to_string(ctx)?
        .to_std_string_escaped();
    let msg: String = msg.chars().take(4096).collect();
    // the first composition frame of the caller's stack, as file:line
    let stack = args
        .get(2)
        .and_then(JsValue::as_string)
        .map(|s| s.to_std_string_escaped())
        .unwrap_or_default();
    let at = stack
        .split("    at ")
        .find_map(|l| crate::error::parse_frame(l.trim(), &caps.loader))
        .map(|f| format!("{}:{}", f.file, f.line))
        .unwrap_or_default();
    let composition = caps.composition.as_str();
    let at = at.as_str();
    match level.as_str() {
        "error" => tracing::error!(composition, at, "console: {msg}"),
        "warn" => tracing::warn!(composition, at, "console: {msg}"),
        "debug" => tracing::debug!(composition, at, "console: {msg}"),
        _ => tracing::info!(composition, at, "console: {msg}"),
    }
    Ok(JsValue::undefined())
}

/// Installs `globalThis.__vcs_host`.
pub fn install(
    ctx: &mut Context,
    fonts: Fonts,
    composition: &str,
    guard: Rc<Guard>,
    loader: Rc<Loader>,
) -> JsResult<()> {
    let caps = || Caps {
        fonts: fonts.clone(),
        composition: composition.to_string(),
        guard: guard.clone(),
        loader: loader.clone(),
    };
    type HostFn = fn(&JsValue, &[JsValue], &Caps, &mut Context) -> JsResult<JsValue>;
    // (function, name, number of arguments)
    let functions: [(HostFn, &str, usize); 5] = [
        (wrap, "wrap", 6),
        (measure, "measure", 5),
        (metrics, "metrics", 4),
        (check, "check", 0),
        (log, "log", 2),
    ];
    let mut host = ObjectInitializer::new(ctx);
    for (function, name, arity) in functions {
        host.function(
            NativeFunction::from_copy_closure_with_captures(function, caps()),
            JsString::from(name),
            arity,
        );
    }
    let host = host.build();
    ctx.register_global_property(js_string!("__vcs_host"), host, Attribute::all())?;
    Ok(())
}

/// boa's runtime limits for composition code.
pub mod sandbox {
    use boa_engine::Context;
    use boa_engine::vm::RuntimeLimits;

    /// Most iterations one loop may run.
    pub const LOOP_ITERATIONS: u64 = 5_000_000;
    /// Deepest JS call nesting.
    pub const RECURSION: usize = 800;
    /// Largest value stack (boa's unit: values).
    pub const STACK: usize = 64 * 1024;

    pub fn apply_limits(ctx: &mut Context) {
        let mut limits = RuntimeLimits::default();
        limits.set_loop_iteration_limit(LOOP_ITERATIONS);
        limits.set_recursion_limit(RECURSION);
        limits.set_stack_size_limit(STACK);
        ctx.set_runtime_limits(limits);
    }
}

#[cfg(test)]
mod tests {
    use super::resident_bytes;

    #[test]
    fn resident_bytes_follow_what_the_process_touches() {
        let before = resident_bytes();
        assert!(before > 0, "read from /proc/self/statm");
        let touched = vec![1u8; 64 << 20];
        let during = resident_bytes();
        assert!(
            during >= before + (48 << 20),
            "64 MB touched: {before} -> {during} bytes (a stale re-read would not move)"
        );
        drop(std::hint::black_box(touched));
    }
}
