//! The scene: what a composition produces each frame (architecture.md §3, a **contract**) —
//! the engine writes it, the renderer and the recorder read it. Plain serde data: no JS, no
//! pixels (its one VCS dependency is `vcs-job`, for the size rule a drawing follows).
//!
//! A scene has three strata: background graphics, video layers in z order, and foreground
//! graphics. Graphics are display lists of Canvas2D-like ops (vcs-api.md §7). Everything here is
//! plain, fully resolved data: the JSON that leaves JS is parsed into these types and anything
//! malformed is rejected there, so the renderer never sees a bad op.
//!
//! # Layout
//! - this file: [`Scene`], its strata ([`DisplayList`], [`VideoLayer`]) and video attributes.
//! - `ops.rs`: the display-list ops ([`Op`]) and their argument types.
//! - `color.rs`: CSS colours ([`Color`]).
//! - `parse.rs`: JSON → validated scene ([`scene_from_json`], [`display_list_from_json`]).
//! - [`daily`]: Daily's document formats, exported (`scene --format daily`) and imported
//!   (`draw`).

mod color;
pub mod daily;
mod ops;
mod parse;

pub use color::{Color, ColorError};
pub use ops::{FillRule, FontSpec, ImageKind, ImageRef, LineJoin, Op, Rect};
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
    pub commands: Vec<Op>,
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
    /// Only applies in `fill`.
    pub zoom_factor: Zoom,
    pub corner_radius_px: f32,
    /// Layers at 0 are not emitted.
    pub opacity: Opacity,
}

impl Default for VideoAttrs {
    fn default() -> Self {
        Self {
            scale_mode: ScaleMode::Fill,
            zoom_factor: Zoom::NONE,
            corner_radius_px: 0.0,
            opacity: Opacity::OPAQUE,
        }
    }
}

/// A video layer's opacity, in 0..=1: values outside are clamped when one is made, which is the
/// one place the rule lives (the runtime emits what compositions ask for). Serialised as the
/// plain number.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(from = "f32", into = "f32")]
pub struct Opacity(f32);

impl Opacity {
    pub const OPAQUE: Opacity = Opacity(1.0);

    pub fn new(value: f32) -> Opacity {
        Opacity(value.clamp(0.0, 1.0))
    }

    pub fn get(self) -> f32 {
        self.0
    }
}

/// A `fill` layer's zoom into its source, in 1..=4 (clamped when one is made). Serialised as the
/// plain number.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(from = "f32", into = "f32")]
pub struct Zoom(f32);

impl Zoom {
    /// No zoom: the source covers the frame exactly.
    pub const NONE: Zoom = Zoom(1.0);
    pub const MAX: f32 = 4.0;

    pub fn new(value: f32) -> Zoom {
        Zoom(value.clamp(1.0, Self::MAX))
    }

    pub fn get(self) -> f32 {
        self.0
    }
}

macro_rules! clamped_f32 {
    ($t:ident) => {
        impl From<f32> for $t {
            fn from(value: f32) -> $t {
                $t::new(value)
            }
        }
        impl From<$t> for f32 {
            fn from(value: $t) -> f32 {
                value.0
            }
        }
        impl PartialEq<f32> for $t {
            fn eq(&self, other: &f32) -> bool {
                self.0 == *other
            }
        }
    };
}
clamped_f32!(Opacity);
clamped_f32!(Zoom);

/// `fill` crops the source to cover the frame (centred); `fit` letterboxes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleMode {
    #[default]
    Fill,
    Fit,
}
