//! Family, weight and fallback resolution over the font database.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use cosmic_text::{Fallback, PlatformFallback};
use fontdb::{Database, Family, Query, Stretch, Style, Weight};
use unicode_script::Script;

/// The family used when the requested one is not installed.
pub const DEFAULT_FAMILY: &str = "Roboto";
/// Used when even [`DEFAULT_FAMILY`] is missing (DejaVu ships with every Debian).
pub const LAST_RESORT_FAMILY: &str = "DejaVu Sans";

fn squash(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn installed(db: &Database, name: &str) -> Option<String> {
    let want = squash(name);
    if want.is_empty() {
        return None;
    }
    // Prefer an exact (case-insensitive) match over a squashed one: "Noto Sans" must not
    // become "NotoSans" of some other foundry when both exist.
    let mut squashed = None;
    for face in db.faces() {
        for (family, _) in &face.families {
            if family.eq_ignore_ascii_case(name) {
                return Some(family.clone());
            }
            if squashed.is_none() && squash(family) == want {
                squashed = Some(family.clone());
            }
        }
    }
    squashed
}

/// Maps CSS generic names onto installed families (also set as fontdb's generic families).
fn generic(name: &str) -> Option<&'static [&'static str]> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "sans-serif" | "system-ui" | "ui-sans-serif" => &[DEFAULT_FAMILY, LAST_RESORT_FAMILY],
        "serif" | "ui-serif" => &["DejaVu Serif", "Noto Serif"],
        "monospace" | "ui-monospace" => &["DejaVu Sans Mono", "Noto Sans Mono"],
        "emoji" => &["Noto Color Emoji"],
        _ => return None,
    })
}

pub(super) fn set_generic_families(db: &mut Database) {
    for (name, set) in [
        (
            "sans-serif",
            Database::set_sans_serif_family as fn(&mut Database, String),
        ),
        ("serif", Database::set_serif_family),
        ("monospace", Database::set_monospace_family),
    ] {
        if let Some(f) = generic(name)
            .into_iter()
            .flatten()
            .find_map(|f| installed(db, f))
        {
            set(db, f);
        }
    }
}

/// The installed family to use for `requested`, warning once per family per process when it
/// falls back.
pub(super) fn resolve_family(db: &Database, requested: &str) -> String {
    // CSS font-family lists: take the first installed entry.
    for candidate in requested.split(',') {
        let candidate = candidate.trim().trim_matches(['"', '\'']);
        if let Some(f) = installed(db, candidate) {
            return f;
        }
        if let Some(f) = generic(candidate)
            .into_iter()
            .flatten()
            .find_map(|f| installed(db, f))
        {
            return f;
        }
    }
    let fallback = installed(db, DEFAULT_FAMILY)
        .or_else(|| installed(db, LAST_RESORT_FAMILY))
        .or_else(|| {
            db.faces()
                .find_map(|f| f.families.first().map(|(n, _)| n.clone()))
        })
        .unwrap_or_else(|| DEFAULT_FAMILY.to_string());
    static WARNED: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let first_time = WARNED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(requested.to_string());
    if first_time {
        tracing::warn!(
            family = requested,
            using = %fallback,
            "font family is not installed; using the default (add its TTF/OTF to the composition's fonts/ folder)"
        );
    }
    fallback
}

/// The weight of the face CSS font matching picks in `family` for `weight`/`italic`.
pub(super) fn matched_weight(db: &Database, family: &str, weight: u16, italic: bool) -> u16 {
    let query = Query {
        families: &[Family::Name(family)],
        weight: Weight(weight.clamp(1, 1000)),
        stretch: Stretch::Normal,
        style: if italic { Style::Italic } else { Style::Normal },
    };
    db.query(&query)
        .and_then(|id| db.face(id))
        .map_or(weight, |f| f.weight.0)
}

/// Fallback lists: cosmic-text's Unix lists, plus the faces Debian actually ships for CJK
/// (Droid Sans Fallback when Noto CJK is absent) and colour emoji ahead of DejaVu's monochrome
/// emoticons.
pub(super) struct VcsFallback;

const COMMON: &[&str] = &[
    "Noto Sans",
    "Noto Color Emoji",
    "DejaVu Sans",
    "Noto Sans Symbols",
    "Noto Sans Symbols2",
    "Noto Sans Math",
    "DejaVu Sans Mono",
];
const CJK_SC: &[&str] = &["Noto Sans CJK SC", "Droid Sans Fallback"];
const CJK_JP: &[&str] = &["Noto Sans CJK JP", "Droid Sans Fallback"];
const CJK_KR: &[&str] = &["Noto Sans CJK KR", "Droid Sans Fallback"];

impl Fallback for VcsFallback {
    fn common_fallback(&self) -> &[&'static str] {
        COMMON
    }

    fn forbidden_fallback(&self) -> &[&'static str] {
        &[]
    }

    fn script_fallback(&self, script: Script, locale: &str) -> &[&'static str] {
        match script {
            Script::Han | Script::Bopomofo => CJK_SC,
            Script::Hiragana | Script::Katakana => CJK_JP,
            Script::Hangul => CJK_KR,
            Script::Arabic => &["Noto Sans Arabic", "Noto Naskh Arabic"],
            Script::Hebrew => &["Noto Sans Hebrew"],
            _ => PlatformFallback.script_fallback(script, locale),
        }
    }
}
