//! The scene: what a composition produces each frame (architecture.md §3, a **contract**).
//!
//! A scene has three strata: background graphics, video layers in z order, and foreground
//! graphics. Graphics are display lists of Canvas2D-like ops (vcs-api.md §7). Everything here is
//! plain, fully resolved data: [`parse`] turns the JSON that leaves JS into these types and
//! rejects anything malformed there, so the renderer never sees a bad op.

mod color;
mod ops;
mod parse;

pub use color::{Color, ColorError};
pub use ops::{Command, FillRule, FontSpec, ImageKind, ImageRef, LineJoin, Rect};
pub use parse::{ParseError, display_list_from_json, scene_from_json};

use serde::{Deserialize, Serialize};

/// One frame's worth of composition output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scene {
    pub width: u32,
    pub height: u32,
    pub background: DisplayList,
    pub video_layers: Vec<VideoLayer>,
    pub foreground: DisplayList,
}

impl Scene {
    /// An empty scene of the given size: nothing drawn, no videos.
    pub fn empty(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            background: DisplayList::default(),
            video_layers: Vec::new(),
            foreground: DisplayList::default(),
        }
    }
}

/// A list of drawing commands; coordinates are in the scene's pixel space.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DisplayList {
    pub commands: Vec<Command>,
}

impl DisplayList {
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

/// A participant's video placed in the frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoLayer {
    /// The video input id (a participant id, or `<id>:screenshare`).
    pub id: String,
    /// Integer pixel frame in the scene.
    pub frame: IntRect,
    pub attrs: VideoAttrs,
}

/// An integer pixel rectangle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntRect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

/// How a video layer is drawn into its frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoAttrs {
    pub scale_mode: ScaleMode,
    /// 1..=4; only applies in `fill`.
    pub zoom_factor: f32,
    pub corner_radius_px: f32,
    /// In (0, 1]; layers at 0 are not emitted.
    pub opacity: f32,
}

impl Default for VideoAttrs {
    fn default() -> Self {
        Self {
            scale_mode: ScaleMode::Fill,
            zoom_factor: 1.0,
            corner_radius_px: 0.0,
            opacity: 1.0,
        }
    }
}

/// `fill` crops the source to cover the frame (centred); `fit` letterboxes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleMode {
    #[default]
    Fill,
    Fit,
}
