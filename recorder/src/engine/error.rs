//! What can go wrong loading or running a composition, worded for the person who wrote it.

use std::fmt;

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
}
