//! What the recorder and its engine process say to each other: one JSON value per line, requests
//! on the worker's stdin, replies on its stdout. Also [`CompositionState`], everything needed to
//! start a composition again where it was (after a restart here, on another pod in issue 18).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vcs_engine::{EngineError, Stack, StackFrame};
use vcs_scene::Scene;

/// Standard-source messages (chat, transcript, emoji) kept for a restart: compositions show the
/// most recent ones, so older ones are not replayed.
pub const REPLAYED_MESSAGES: usize = 100;

/// The composition's state as the recording knows it: enough to start the composition again and
/// show what it showed (params as last patched, the participants' slots and peers, recent
/// standard-source messages, the video time). Serialisable so that another process — or another
/// pod — can continue the composition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositionState {
    /// Built-in name, file or folder.
    pub composition: String,
    pub session_assets: Option<PathBuf>,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Every param the job or a patch set, by id (the composition's defaults fill the rest).
    pub params: BTreeMap<String, Value>,
    /// The video input slots (vcs-api.md §5), as last given.
    pub video_inputs: Option<Value>,
    /// The room peers, as last given.
    pub room_peers: Option<Value>,
    /// The last [`REPLAYED_MESSAGES`] standard-source messages, oldest first.
    pub messages: Vec<SourceMessage>,
    /// Video time of the last frame asked for, in seconds.
    pub video_time: f64,
    /// The recording is stopping (playback is `postroll`).
    pub stopping: bool,
}

/// One standard-source message (`chatMessages`, `transcript`, `emojiReactions`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceMessage {
    pub source_id: String,
    pub data: Value,
}

/// Input changes since the last frame, applied together with the next one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    pub params: BTreeMap<String, Value>,
    pub video_inputs: Option<Value>,
    pub room_peers: Option<Value>,
    pub messages: Vec<SourceMessage>,
    pub stop: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "request")]
pub enum Request {
    /// Evaluate the built-in compositions once (fonts, caches) and wait for [`Request::Open`]:
    /// what `serve` does before it reports ready.
    Warm,
    /// Load the composition, apply the state and render the frame at its video time.
    Open(CompositionState),
    /// Render the frame at `time` with `changes` applied.
    Frame { time: f64, changes: Changes },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "reply")]
pub enum Reply {
    /// The warm-up is done; the built-ins' first scenes, by name, so the recorder can warm
    /// its renderer's caches (glyphs) with what a job's first frame will draw.
    Warm {
        scenes: Vec<(String, Scene)>,
    },
    /// The composition loaded (or not); `frame` is the first frame's.
    Opened {
        interface: Value,
        frame: Result<Frame, WireError>,
    },
    Frame {
        frame: Result<Frame, WireError>,
    },
}

/// A rendered frame.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame {
    /// `None` when the scene did not change since the last frame.
    pub scene: Option<Scene>,
}

/// An [`EngineError`] across the process boundary: the variants a controller sorts by (syntax
/// and JS errors with their places) keep their fields; the others keep their message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum WireError {
    Syntax {
        file: String,
        line: u32,
        col: u32,
        message: String,
    },
    Js {
        message: String,
        /// `(function, file, line)` of each composition frame.
        stack: Vec<(String, String, u32)>,
    },
    Budget {
        budget_ms: u64,
        took_ms: u64,
    },
    MemoryCap {
        cap_mb: u64,
        used_mb: u64,
    },
    Other {
        message: String,
    },
}

impl From<&EngineError> for WireError {
    fn from(e: &EngineError) -> Self {
        match e {
            EngineError::Syntax {
                file,
                line,
                col,
                message,
            } => WireError::Syntax {
                file: file.clone(),
                line: *line,
                col: *col,
                message: message.clone(),
            },
            EngineError::Js { message, stack } => WireError::Js {
                message: message.clone(),
                stack: stack
                    .0
                    .iter()
                    .map(|f| (f.function.clone(), f.file.clone(), f.line))
                    .collect(),
            },
            EngineError::Budget { budget_ms, took_ms } => WireError::Budget {
                budget_ms: *budget_ms,
                took_ms: *took_ms,
            },
            EngineError::MemoryCap { cap_mb, used_mb } => WireError::MemoryCap {
                cap_mb: *cap_mb,
                used_mb: *used_mb,
            },
            other => WireError::Other {
                message: other.to_string(),
            },
        }
    }
}

impl From<WireError> for EngineError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Syntax {
                file,
                line,
                col,
                message,
            } => EngineError::Syntax {
                file,
                line,
                col,
                message,
            },
            WireError::Js { message, stack } => EngineError::Js {
                message,
                stack: Stack(
                    stack
                        .into_iter()
                        .map(|(function, file, line)| StackFrame {
                            function,
                            file,
                            line,
                        })
                        .collect(),
                ),
            },
            WireError::Budget { budget_ms, took_ms } => EngineError::Budget { budget_ms, took_ms },
            WireError::MemoryCap { cap_mb, used_mb } => EngineError::MemoryCap { cap_mb, used_mb },
            WireError::Other { message } => EngineError::Process { message },
        }
    }
}
