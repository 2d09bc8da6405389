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

    /// A `fillStyle`/`strokeStyle` string read as Daily's server renderer reads it
    /// (daily-compat.md §4), so that Daily's display lists draw as Daily draws them:
    /// - `#rgb` (exactly 4 characters) takes each nibble / 15; any `#` string of 7 or more
    ///   characters takes its first six hex digits (a bad digit reads 0, an alpha is ignored);
    ///   other `#` lengths are invalid.
    /// - `rgba(`/`rgb(` read 4/3 components up to the string's **last character**, which is
    ///   taken to be the `)` (so `"rgba(50, 60, 160, 0.9"` has alpha `0.`, i.e. 0); only digits
    ///   and `.` count, a component not reached keeps its default (0, 0, 0, alpha 1).
    /// - Anything else is read as CSS (names, `transparent`, `hsl()`: what our own compositions
    ///   and display lists may use).
    ///
    /// `None` is a colour that is not one: Canvas ignores such an assignment.
    pub fn parse_lenient(css: &str) -> Option<Self> {
        if let Some(hex) = css.strip_prefix('#') {
            return lenient_hex(css, hex);
        }
        for (prefix, n) in [("rgba(", 4), ("rgb(", 3)] {
            if let Some(rest) = css.strip_prefix(prefix) {
                return Some(lenient_rgb(rest, n));
            }
        }
        Self::parse(css).ok()
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

fn lenient_hex(css: &str, hex: &str) -> Option<Color> {
    let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as f32;
    let b = hex.as_bytes();
    if css.len() == 4 {
        return Some(Color::rgba(
            digit(b[0]) / 15.0,
            digit(b[1]) / 15.0,
            digit(b[2]) / 15.0,
            1.0,
        ));
    }
    if css.len() >= 7 && b.len() >= 6 {
        let byte = |i: usize| (digit(b[i]) * 16.0 + digit(b[i + 1])) / 255.0;
        return Some(Color::rgba(byte(0), byte(2), byte(4), 1.0));
    }
    None
}

/// The components of `rgb(`/`rgba(` after the parenthesis; the last character ends the last
/// component and is never part of it.
fn lenient_rgb(rest: &str, n: usize) -> Color {
    let mut values = [0.0, 0.0, 0.0, 1.0];
    let body = match rest.char_indices().last() {
        Some((i, _)) => &rest[..i],
        None => "",
    };
    for (i, part) in body.split(',').take(n).enumerate() {
        let digits: String = part
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '.')
            .take(7)
            .collect();
        if let Some(v) = leading_number(&digits) {
            values[i] = v;
        }
    }
    let [r, g, b, a] = values;
    Color::rgba(
        (r / 255.0).clamp(0.0, 1.0),
        (g / 255.0).clamp(0.0, 1.0),
        (b / 255.0).clamp(0.0, 1.0),
        a.clamp(0.0, 1.0),
    )
}

/// The number at the start of `s` (`"1.5.2"` reads 1.5), as C's `strtof` reads it.
fn leading_number(s: &str) -> Option<f32> {
    (1..=s.len()).rev().find_map(|end| s[..end].parse().ok())
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
    fn reads_colours_as_dailys_renderer_does() {
        let cases = [
            // The missing `)` eats the last character: the alpha reads "0." = 0.
            ("rgba(50, 60, 160, 0.9", Some([50, 60, 160, 0])),
            ("rgba(50, 60, 160, 1", Some([50, 60, 160, 255])),
            ("rgb(10, 20, 30", Some([10, 20, 3, 255])),
            ("rgba(255, 250, 200, 0.5)", Some([255, 250, 200, 128])),
            ("#fff", Some([255, 255, 255, 255])),
            ("#11223344", Some([17, 34, 51, 255])),
            ("#1234", None),
            ("#12345", None),
            ("transparent", Some([0, 0, 0, 0])),
            ("not-a-colour", None),
        ];
        for (css, want) in cases {
            assert_eq!(Color::parse_lenient(css).map(Color::to_u8), want, "{css}");
        }
    }

    #[test]
    fn round_trips_through_css() {
        let c = Color::parse("rgba(10, 20, 30, 0.25)").unwrap();
        assert_eq!(Color::parse(&c.to_css()).unwrap().to_u8(), c.to_u8());
    }
}
