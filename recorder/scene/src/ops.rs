//! Display-list ops (vcs-api.md §7), as validated Rust values.
//!
//! On the wire each op is a JSON array: `["save"]`, `["lineWidth", 2]`, `["rect", [x,y,w,h]]`.
//! [`Op`] serialises back to exactly that form.

use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Deserializer, Serialize};

use super::Color;

/// An axis-aligned rectangle in display-list pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    pub const fn new(x: f32, y: f32, w: f32, h: f32) -> Self {
        Self { x, y, w, h }
    }
}

/// `font` op argument: `[weight, style, px, family]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FontSpec {
    /// CSS weight 100..=900.
    pub weight: u16,
    pub italic: bool,
    /// Size in pixels, > 0.
    pub size_px: f32,
    pub family: String,
}

impl Default for FontSpec {
    fn default() -> Self {
        Self {
            weight: 400,
            italic: false,
            size_px: 10.0,
            family: "Roboto".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LineJoin {
    #[default]
    Miter,
    Round,
    Bevel,
}

impl LineJoin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Miter => "miter",
            Self::Round => "round",
            Self::Bevel => "bevel",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FillRule {
    #[default]
    NonZero,
    EvenOdd,
}

/// Where a `drawImage` source comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImageKind {
    /// The composition's or the session's `images/`.
    CompositionAsset,
    /// Images shipped with the recorder.
    DefaultAsset,
    /// An image updated while recording (a web frame).
    LiveAsset,
}

/// `drawImage` source: `{type, id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRef {
    #[serde(rename = "type")]
    pub kind: ImageKind,
    pub id: String,
}

/// One validated display-list op. All numbers are finite.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Save,
    Restore,
    BeginPath,
    ClosePath,
    Fill,
    Stroke,
    Scale(f32, f32),
    Rotate(f32),
    Translate(f32, f32),
    FillStyle(Color),
    StrokeStyle(Color),
    LineWidth(f32),
    LineJoin(LineJoin),
    /// Absolute, as in Canvas: it replaces the current alpha, it does not multiply it.
    GlobalAlpha(f32),
    Font(FontSpec),
    Rect(Rect),
    /// Radii top-left, top-right, bottom-right, bottom-left.
    RoundRect(Rect, [f32; 4]),
    MoveTo(f32, f32),
    LineTo(f32, f32),
    QuadraticCurveTo(f32, f32, f32, f32),
    ArcTo(f32, f32, f32, f32, f32),
    Clip(FillRule),
    FillRect(Rect),
    StrokeRect(Rect),
    /// Text at a baseline position; runs are already laid out.
    FillText(String, f32, f32),
    StrokeText(String, f32, f32),
    /// `[emoji, x, baselineY, w, h]`: an emoji of size w×h with its left edge at x, on the
    /// baseline (Daily's meaning).
    FillTextEmoji(String, Rect),
    /// `src` is the 9-argument crop form's source rectangle.
    DrawImage {
        image: ImageRef,
        src: Option<Rect>,
        dst: Rect,
    },
}

impl Op {
    /// The op's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Save => "save",
            Self::Restore => "restore",
            Self::BeginPath => "beginPath",
            Self::ClosePath => "closePath",
            Self::Fill => "fill",
            Self::Stroke => "stroke",
            Self::Scale(..) => "scale",
            Self::Rotate(..) => "rotate",
            Self::Translate(..) => "translate",
            Self::FillStyle(..) => "fillStyle",
            Self::StrokeStyle(..) => "strokeStyle",
            Self::LineWidth(..) => "lineWidth",
            Self::LineJoin(..) => "lineJoin",
            Self::GlobalAlpha(..) => "globalAlpha",
            Self::Font(..) => "font",
            Self::Rect(..) => "rect",
            Self::RoundRect(..) => "roundRect",
            Self::MoveTo(..) => "moveTo",
            Self::LineTo(..) => "lineTo",
            Self::QuadraticCurveTo(..) => "quadraticCurveTo",
            Self::ArcTo(..) => "arcTo",
            Self::Clip(..) => "clip",
            Self::FillRect(..) => "fillRect",
            Self::StrokeRect(..) => "strokeRect",
            Self::FillText(..) => "fillText",
            Self::StrokeText(..) => "strokeText",
            Self::FillTextEmoji(..) => "fillText_emoji",
            Self::DrawImage { .. } => "drawImage",
        }
    }

    /// The op's argument in wire form, `None` for ops without one.
    pub fn wire_arg(&self) -> Option<serde_json::Value> {
        use serde_json::{Value, json};
        let rect = |r: &Rect| json!([r.x, r.y, r.w, r.h]);
        Some(match self {
            Self::Save
            | Self::Restore
            | Self::BeginPath
            | Self::ClosePath
            | Self::Fill
            | Self::Stroke => return None,
            Self::Scale(x, y) | Self::Translate(x, y) | Self::MoveTo(x, y) | Self::LineTo(x, y) => {
                json!([x, y])
            }
            Self::Rotate(a) => json!([a]),
            Self::FillStyle(c) | Self::StrokeStyle(c) => Value::String(c.to_css()),
            Self::LineWidth(w) => json!(w),
            Self::LineJoin(j) => json!(j.as_str()),
            Self::GlobalAlpha(a) => json!(a),
            Self::Font(f) => json!([
                f.weight.to_string(),
                if f.italic { "italic" } else { "" },
                f.size_px,
                f.family
            ]),
            Self::Rect(r) | Self::FillRect(r) | Self::StrokeRect(r) => rect(r),
            Self::RoundRect(r, [a, b, c, d]) => json!([r.x, r.y, r.w, r.h, a, b, c, d]),
            Self::QuadraticCurveTo(a, b, c, d) => json!([a, b, c, d]),
            Self::ArcTo(a, b, c, d, e) => json!([a, b, c, d, e]),
            Self::Clip(FillRule::NonZero) => json!([]),
            Self::Clip(FillRule::EvenOdd) => json!(["evenodd"]),
            Self::FillText(t, x, y) | Self::StrokeText(t, x, y) => json!([t, x, y]),
            Self::FillTextEmoji(e, r) => json!([e, r.x, r.y, r.w, r.h]),
            Self::DrawImage { image, src, dst } => {
                let mut args = vec![serde_json::to_value(image).unwrap_or(Value::Null)];
                for r in src.iter().chain(std::iter::once(dst)) {
                    args.extend([r.x, r.y, r.w, r.h].map(|v| json!(v)));
                }
                Value::Array(args)
            }
        })
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let arg = self.wire_arg();
        let mut seq = s.serialize_seq(Some(1 + arg.is_some() as usize))?;
        seq.serialize_element(self.name())?;
        if let Some(arg) = arg {
            seq.serialize_element(&arg)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        match super::parse::op_from_json(&v).map_err(serde::de::Error::custom)? {
            super::parse::Parsed::Op(op) => Ok(op),
            super::parse::Parsed::IgnoredColour(css) => Err(serde::de::Error::custom(format!(
                "\"{css}\" is not a colour"
            ))),
        }
    }
}
