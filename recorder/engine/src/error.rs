//! What can go wrong loading or running a composition, worded for the person who wrote it.

use std::fmt;
use std::time::Duration;

use boa_engine::{Context, JsError};

use crate::host::sandbox;
use crate::host::{Guard, Trip};
use crate::modules::Loader;

/// A JS stack frame that points into the composition (runtime frames are dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackFrame {
    pub function: String,
    /// Composition-relative path, e.g. `components/Title.jsx`.
    pub file: String,
    /// 1-based line in the composition's own source.
    pub line: u32,
}

impl fmt::Display for StackFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {} ({}:{})", self.function, self.file, self.line)
    }
}

/// A stack rendered one frame per line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stack(pub Vec<StackFrame>);

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for frame in &self.0 {
            write!(f, "\n    {frame}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("unknown composition \"{name}\": not a file or folder, and not a built-in ({})", known.join(", "))]
    UnknownComposition {
        name: String,
        known: Vec<&'static str>,
    },

    #[error("reading composition {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("composition {path} has no index.jsx, index.tsx, index.js or index.ts")]
    NoEntry { path: String },

    #[error("{file}:{line}:{col}: {message}")]
    Syntax {
        file: String,
        line: u32,
        col: u32,
        message: String,
    },

    #[error("cannot import \"{specifier}\" from {from}: {reason}")]
    Import {
        specifier: String,
        from: String,
        reason: String,
    },

    #[error("{message}{stack}")]
    Js { message: String, stack: Stack },

    #[error("composition output rejected in <{component}>: {op}: {message}")]
    InvalidScene {
        /// The component whose output was rejected (its `id`, or its type).
        component: String,
        /// The op (or field) that was malformed.
        op: String,
        message: String,
    },

    #[error("composition {what}: {detail}")]
    Composition { what: &'static str, detail: String },

    #[error("the frame exceeded its wall-clock budget of {budget_ms} ms (took {took_ms} ms)")]
    Budget { budget_ms: u64, took_ms: u64 },

    #[error("the frame allocated more than its memory cap of {cap_mb} MB ({used_mb} MB)")]
    MemoryCap { cap_mb: u64, used_mb: u64 },

    /// About the process the composition runs in (it hung past its hard limit, ran out of its
    /// memory, ended), or an error that came from it with only its message.
    #[error("{message}")]
    Process { message: String },
}

/// The error for a frame the guard stopped, else the JS error.
pub(crate) fn guarded_error(
    err: JsError,
    loader: &Loader,
    guard: &Guard,
    budget: Duration,
    ctx: &mut Context,
) -> EngineError {
    // The budget the guard was armed with (the start-up's, not the frames', during start-up)
    // and the time it really took.
    let (budget, took) = guard
        .armed
        .get()
        .map_or((budget, budget), |(at, budget)| (budget, at.elapsed()));
    match guard.tripped.take() {
        Some(Trip::Budget) => EngineError::Budget {
            budget_ms: budget.as_millis() as u64,
            took_ms: took.as_millis() as u64,
        },
        Some(Trip::Memory { used_mb }) => EngineError::MemoryCap {
            cap_mb: guard.memory_cap.get() >> 20,
            used_mb,
        },
        None => js_error(err, loader, ctx),
    }
}

pub(crate) fn internal(what: &str) -> EngineError {
    EngineError::Composition {
        what: "runtime error",
        detail: format!("the VCS runtime did not provide {what}"),
    }
}

/// Turns a boa error into the user-facing error: the message plus the stack frames that are in
/// the composition's own files, mapped back to source lines.
pub(crate) fn js_error(err: JsError, loader: &Loader, ctx: &mut Context) -> EngineError {
    let display = err.to_string();
    let message = match err.try_native(ctx) {
        Ok(native) => {
            let s = native.to_string();
            s.split("\n    at ").next().unwrap_or(&s).to_string()
        }
        Err(_) => display
            .split("\n    at ")
            .next()
            .unwrap_or(&display)
            .to_string(),
    };
    let message = match message.trim_end() {
        // boa counts the iterations of some built-ins (`'x'.repeat(n)`) against the same limit,
        // and the error does not say which it was.
        m if m.contains("maximum number of iteration loops") => format!(
            "a loop, or a built-in call such as 'x'.repeat(n), ran more than {} iterations in \
             one call (runtime limit)",
            sandbox::LOOP_ITERATIONS
        ),
        m if m.contains("maximum number of recursive calls") => format!(
            "calls nested deeper than {} (runtime limit; runaway recursion?)",
            sandbox::RECURSION
        ),
        m if m.contains("maximum stack size") => {
            "the JS value stack overflowed (runtime limit; runaway recursion?)".to_string()
        }
        m => m.to_string(),
    };
    let frames = display
        .split("\n    at ")
        .skip(1)
        .filter_map(|line| parse_frame(line.trim(), loader))
        .collect();
    EngineError::Js {
        message,
        stack: Stack(frames),
    }
}

/// `name (file:line:col)` → a composition frame, or `None` for runtime/native frames.
pub(crate) fn parse_frame(line: &str, loader: &Loader) -> Option<StackFrame> {
    let open = line.rfind(" (")?;
    let function = line[..open].trim();
    let loc = line[open + 2..].strip_suffix(')')?;
    let mut parts = loc.rsplitn(3, ':');
    let _col = parts.next()?;
    let gen_line: u32 = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    if !loader.is_composition_file(file) {
        return None;
    }
    Some(StackFrame {
        function: if function.is_empty() || function == "<main>" {
            "<module>".into()
        } else {
            function.to_string()
        },
        file: file.to_string(),
        line: loader.source_line(file, gen_line).unwrap_or(gen_line),
    })
}
