//! CSS colours, parsed once when a display list leaves JS.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A straight-alpha RGBA colour with components in 0..=1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Color {
    pub r: f32,
    pub g: f32,
    pub b: f32,
    pub a: f32,
}

/// A colour string CSS does not accept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("\"{0}\" is not a CSS colour (use #rgb, #rrggbb, rgb(), rgba(), hsl() or a colour name)")]
pub struct ColorError(pub String);

impl Color {
    pub const BLACK: Color = Color::rgba(0.0, 0.0, 0.0, 1.0);
    pub const WHITE: Color = Color::rgba(1.0, 1.0, 1.0, 1.0);
    pub const TRANSPARENT: Color = Color::rgba(0.0, 0.0, 0.0, 0.0);

    pub const fn rgba(r: f32, g: f32, b: f32, a: f32) -> Self {
        Self { r, g, b, a }
    }

    /// Parses a CSS colour string (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`, `rgba()`, `hsl()`,
    /// named colours, `transparent`).
    pub fn parse(css: &str) -> Result<Self, ColorError> {
        let c = csscolorparser::parse(css.trim()).map_err(|_| ColorError(css.to_string()))?;
        Ok(Self::rgba(c.r, c.g, c.b, c.a))
    }

    /// Components as 8-bit values.
    pub fn to_u8(self) -> [u8; 4] {
        let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        [q(self.r), q(self.g), q(self.b), q(self.a)]
    }

    /// The colour as a CSS `rgba()` string, the form scenes are written in.
    pub fn to_css(self) -> String {
        let [r, g, b, _] = self.to_u8();
        let a = (self.a.clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
        format!("rgba({r}, {g}, {b}, {a})")
    }
}

impl Serialize for Color {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_css())
    }
}

impl<'de> Deserialize<'de> for Color {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Color::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_css_forms_compositions_use() {
        let cases = [
            ("#fff", [255, 255, 255, 255]),
            ("#102030", [16, 32, 48, 255]),
            ("rgb(0, 50, 80)", [0, 50, 80, 255]),
            ("rgba(255, 250, 200, 0.5)", [255, 250, 200, 128]),
            ("white", [255, 255, 255, 255]),
            ("transparent", [0, 0, 0, 0]),
        ];
        for (css, want) in cases {
            assert_eq!(Color::parse(css).unwrap().to_u8(), want, "{css}");
        }
    }

    #[test]
    fn rejects_what_css_rejects() {
        assert!(Color::parse("not-a-colour").is_err());
        assert!(Color::parse("#12").is_err());
    }

    #[test]
    fn round_trips_through_css() {
        let c = Color::parse("rgba(10, 20, 30, 0.25)").unwrap();
        assert_eq!(Color::parse(&c.to_css()).unwrap().to_u8(), c.to_u8());
    }
}
