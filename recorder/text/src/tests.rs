use super::*;

fn font(family: &str, size: f32) -> FontSpec {
    FontSpec {
        weight: 400,
        italic: false,
        size_px: size,
        family: family.into(),
    }
}

#[test]
fn measures_latin_with_roboto() {
    let fonts = Fonts::system();
    let w = fonts.measure("Hello world", &font("Roboto", 32.0));
    assert!((140.0..200.0).contains(&w), "width {w}");
    assert_eq!(fonts.measure("", &font("Roboto", 32.0)), 0.0);
}

#[test]
fn width_scales_with_size() {
    let fonts = Fonts::system();
    let a = fonts.measure("Scale me", &font("Roboto", 20.0));
    let b = fonts.measure("Scale me", &font("Roboto", 40.0));
    assert!((b - 2.0 * a).abs() < 0.01, "{a} {b}");
}

#[test]
fn unknown_family_falls_back_to_roboto() {
    let fonts = Fonts::system();
    assert_eq!(fonts.resolve_family("NoSuchFamilyAnywhere"), DEFAULT_FAMILY);
    let a = fonts.measure("Fallback", &font("NoSuchFamilyAnywhere", 24.0));
    let b = fonts.measure("Fallback", &font("Roboto", 24.0));
    assert_eq!(a, b);
}

#[test]
fn family_names_match_ignoring_case_and_spaces() {
    let fonts = Fonts::system();
    assert_eq!(fonts.resolve_family("roboto"), "Roboto");
    assert_eq!(fonts.resolve_family("DejaVuSans"), "DejaVu Sans");
    assert_eq!(fonts.resolve_family("sans-serif"), "Roboto");
}

#[test]
fn bold_is_wider_than_regular() {
    let fonts = Fonts::system();
    let mut bold = font("Roboto", 32.0);
    bold.weight = 700;
    let r = fonts.measure("Weighty words", &font("Roboto", 32.0));
    let b = fonts.measure("Weighty words", &bold);
    assert!(b > r, "bold {b} regular {r}");
}

#[test]
fn unavailable_weight_uses_the_nearest_face_of_the_family() {
    let fonts = Fonts::system();
    let mut semi = font("Roboto", 32.0);
    semi.weight = 600; // Roboto ships 500 and 700: CSS matching picks 700.
    let mut bold = font("Roboto", 32.0);
    bold.weight = 700;
    assert_eq!(
        fonts.measure("Semibold", &semi),
        fonts.measure("Semibold", &bold)
    );
}

#[test]
fn every_script_shapes_to_glyphs_from_a_font_that_has_them() {
    let fonts = Fonts::system();
    for text in [
        "Hello",
        "مرحبا بالعالم",
        "שלום עולם",
        "你好世界",
        "नमस्ते दुनिया",
        "😀🎉",
    ] {
        let run = fonts.shape(text, &font("Roboto", 32.0));
        assert!(run.width > 10.0, "{text}: width {}", run.width);
        assert!(!run.glyphs.is_empty(), "{text}");
        assert!(
            run.glyphs.iter().all(|g| g.glyph_id != 0),
            "{text}: .notdef glyph"
        );
    }
}

#[test]
fn emoji_come_out_as_colour_bitmaps() {
    let fonts = Fonts::system();
    let run = fonts.drawable_run("😀", &font("Roboto", 40.0));
    assert_eq!(run.color.len(), 1);
    assert!(run.outline.is_none());
    assert!(fonts.emoji_glyph("🎉").is_some());
}

#[test]
fn line_metrics_are_positive_and_scale() {
    let fonts = Fonts::system();
    let m = fonts.line_metrics(&font("Roboto", 100.0));
    assert!(m.ascent > 80.0 && m.ascent < 110.0, "{m:?}");
    assert!(m.descent > 15.0 && m.descent < 35.0, "{m:?}");
    assert!(m.line_height >= m.ascent + m.descent);
}

#[test]
fn wrap_lines_fit_and_measure_the_same() {
    let fonts = Fonts::system();
    let f = font("Roboto", 24.0);
    let text = "The quick brown fox jumps over the lazy dog again and again";
    let lines = fonts.wrap(text, &f, Some(200.0));
    assert!(lines.len() > 2);
    for l in &lines {
        assert!(l.width <= 200.0, "{l:?}");
        assert_eq!(l.width, fonts.measure(&l.text, &f));
    }
    let joined: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(joined.join(" "), text);
}

#[test]
fn newlines_in_measured_text_do_not_panic() {
    let fonts = Fonts::system();
    let w = fonts.measure("abc\u{2029}שלום\nxyz", &font("Roboto", 20.0));
    assert!(w > 0.0);
}

#[test]
fn composition_font_dirs_add_families() {
    // DejaVu's folder loaded "again" as a composition folder must not break anything.
    let fonts = Fonts::with_font_dirs(&[PathBuf::from("/usr/share/fonts/truetype/dejavu")]);
    assert_eq!(fonts.resolve_family("DejaVu Sans"), "DejaVu Sans");
    assert!(fonts.measure("x", &font("DejaVu Sans", 10.0)) > 0.0);
}

#[test]
fn glyphs_a_font_lacks_come_from_the_script_fallback() {
    let fonts = Fonts::system();
    let cases = [
        ("Hello", "Roboto"),
        ("مرحبا", "Noto Sans Arabic"),
        ("שלום", "Noto Sans Hebrew"),
        ("नमस्ते", "Noto Sans Devanagari"),
        ("😀", "Noto Color Emoji"),
    ];
    for (text, family) in cases {
        let run = fonts.shape(text, &font("Roboto", 20.0));
        for g in &run.glyphs {
            assert_eq!(
                fonts.face_family(g.font_id).as_deref(),
                Some(family),
                "{text}"
            );
        }
    }
    // Han: Noto CJK when installed, else Droid Sans Fallback (what Debian ships by default).
    let run = fonts.shape("你好", &font("Roboto", 20.0));
    let family = fonts.face_family(run.glyphs[0].font_id).unwrap();
    assert!(
        family.starts_with("Noto Sans CJK") || family == "Droid Sans Fallback",
        "{family}"
    );
}

#[test]
fn composition_fonts_are_added_to_the_system_ones() {
    let dir = std::env::temp_dir().join(format!("vcs-text-fonts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        dir.join("Extra.ttf"),
    )
    .unwrap();
    let fonts = Fonts::with_font_dirs(std::slice::from_ref(&dir));
    assert_eq!(fonts.face_count(), Fonts::system().face_count() + 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn emoji_segments_follow_what_is_drawn_in_colour() {
    let fonts = Fonts::system();
    let segs = fonts.emoji_segments("Hi 😀👍🏽 there 🎉", &font("Roboto", 20.0));
    let got: Vec<(&str, bool)> = segs.iter().map(|s| (s.text, s.emoji)).collect();
    assert_eq!(
        got,
        [
            ("Hi ", false),
            ("😀👍🏽", true),
            (" there ", false),
            ("🎉", true)
        ]
    );
    assert_eq!(fonts.emoji_segments("", &font("Roboto", 20.0)), []);
    assert_eq!(
        fonts.emoji_segments("plain", &font("Roboto", 20.0)),
        [TextSegment {
            text: "plain",
            emoji: false
        }]
    );
}

#[test]
fn separators_keep_glyph_ranges_inside_the_text() {
    let fonts = Fonts::system();
    let text = "ab\u{2029}cd\u{85}e";
    let run = fonts.shape(text, &font("Roboto", 20.0));
    assert!(
        run.glyphs
            .iter()
            .all(|g| text.get(g.range.clone()).is_some())
    );
}

#[test]
fn fonts_and_renderer_state_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Fonts>();
    let fonts = Fonts::system();
    let w = std::thread::spawn(move || fonts.measure("thread", &font("Roboto", 10.0)))
        .join()
        .unwrap();
    assert!(w > 0.0);
}
