//! One line of text shaped with cosmic-text (harfrust, bidi, font fallback).

use cosmic_text::{Attrs, AttrsList, CacheKeyFlags, FontSystem, Hinting, ShapeLine, Shaping, Wrap};
use fontdb::{Family, Style, Weight};

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use super::ResolvedFont;

/// A glyph placed on a line: `x` from the run's left end, `y` down from the baseline, in px.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionedGlyph {
    pub font_id: fontdb::ID,
    pub glyph_id: u16,
    /// The weight the face is instantiated at (matters for variable fonts).
    pub weight: u16,
    pub x: f32,
    pub y: f32,
    pub size: f32,
    /// The face has no italic: slant the outline.
    pub fake_italic: bool,
    /// Byte range of the text this glyph draws (a cluster may span several glyphs).
    pub range: std::ops::Range<usize>,
}

/// A shaped single line. Glyphs are in visual order (left to right on screen).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShapedRun {
    /// Advance width in px: where the next run would start.
    pub width: f32,
    pub glyphs: Vec<PositionedGlyph>,
}

/// Paragraph separators make cosmic-text split paragraphs (and panic when their directions
/// disagree); a run is one line, so they become spaces of the same UTF-8 length (glyph byte
/// ranges keep pointing into the caller's text).
fn single_line(text: &str) -> std::borrow::Cow<'_, str> {
    let replacement = |c: char| match c {
        '\n' | '\r' | '\t' | '\u{1c}'..='\u{1e}' => Some(' '),
        '\u{85}' => Some('\u{a0}'),
        '\u{2028}' | '\u{2029}' => Some('\u{2004}'),
        _ => None,
    };
    if !text.contains(|c| replacement(c).is_some()) {
        return text.into();
    }
    text.chars()
        .map(|c| replacement(c).unwrap_or(c))
        .collect::<String>()
        .into()
}

/// Warns once per character (for the first few) that no installed font draws it.
fn warn_missing(chars: &str) {
    static WARNED: OnceLock<Mutex<HashSet<char>>> = OnceLock::new();
    let mut warned = WARNED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    for c in chars
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
    {
        if warned.len() < 64 && warned.insert(c) {
            tracing::warn!(
                char = %c,
                codepoint = %format!("U+{:04X}", c as u32),
                "no installed font has a glyph for this character; it is drawn as a box \
                 (install a font covering it, e.g. fonts-noto-cjk for Hangul)"
            );
        }
    }
}

pub(super) fn shape_line(system: &mut FontSystem, text: &str, font: &ResolvedFont) -> ShapedRun {
    if text.is_empty() {
        return ShapedRun::default();
    }
    let text = single_line(text);
    let size = font.size();
    let attrs = Attrs::new()
        .family(Family::Name(&font.family))
        .weight(Weight(font.weight))
        .style(if font.italic {
            Style::Italic
        } else {
            Style::Normal
        });
    let attrs_list = AttrsList::new(&attrs);
    // cosmic-text asserts on a few malformed inputs; one odd string must not take the
    // recording down, so a panic here becomes an empty run and a warning.
    let lines = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let line = ShapeLine::new(system, &text, &attrs_list, Shaping::Advanced, 4);
        line.layout(size, None, Wrap::None, None, None, Hinting::Disabled)
    }));
    let lines = match lines {
        Ok(lines) => lines,
        Err(_) => {
            tracing::warn!(text = %text, "text shaping failed; drawing nothing for this run");
            return ShapedRun::default();
        }
    };
    let mut run = ShapedRun::default();
    for line in &lines {
        for g in line.glyphs.iter().filter(|g| g.glyph_id == 0) {
            warn_missing(text.get(g.start..g.end).unwrap_or_default());
        }
        // RTL lines are laid out against the right edge; make x = 0 the left end.
        let left = line
            .glyphs
            .iter()
            .map(|g| g.x)
            .fold(f32::INFINITY, f32::min);
        let left = if left.is_finite() { left } else { 0.0 };
        for g in &line.glyphs {
            run.glyphs.push(PositionedGlyph {
                font_id: g.font_id,
                glyph_id: g.glyph_id,
                weight: g.font_weight.0,
                x: run.width + g.x - left + g.x_offset * g.font_size,
                y: g.y - g.y_offset * g.font_size,
                size: g.font_size,
                fake_italic: g.cache_key_flags.contains(CacheKeyFlags::FAKE_ITALIC),
                range: g.start..g.end,
            });
        }
        run.width += line.w;
    }
    run
}
