use serde_json::{Value, json};
use tiny_skia::Pixmap;

use super::*;
use vcs_scene::display_list_from_json;

fn list(commands: Value) -> DisplayList {
    display_list_from_json(&json!({"width": 100, "height": 100, "commands": commands}))
        .expect("valid test list")
        .2
}

fn draw(commands: Value) -> Pixmap {
    draw_sized(commands, 100, 100)
}

fn draw_sized(commands: Value, w: u32, h: u32) -> Pixmap {
    let mut p = Pixmap::new(w, h).unwrap();
    draw_display_list(
        &mut p,
        &list(commands),
        100,
        100,
        &Fonts::system(),
        &Assets::none(),
    );
    p
}

/// Premultiplied RGBA at (x, y).
fn px(p: &Pixmap, x: u32, y: u32) -> [u8; 4] {
    let c = p.pixel(x, y).unwrap();
    [c.red(), c.green(), c.blue(), c.alpha()]
}

#[test]
fn fill_rect_uses_fill_style() {
    let p = draw(json!([
        ["fillStyle", "#ff0000"],
        ["fillRect", [10, 10, 20, 20]]
    ]));
    assert_eq!(px(&p, 15, 15), [255, 0, 0, 255]);
    assert_eq!(px(&p, 5, 5), [0, 0, 0, 0]);
}

#[test]
fn global_alpha_is_absolute_and_restored() {
    let p = draw(json!([
        ["fillStyle", "#ffffff"],
        ["globalAlpha", 0.5],
        ["save"],
        ["globalAlpha", 0.5], // absolute: still 0.5, not 0.25
        ["fillRect", [0, 0, 10, 10]],
        ["restore"],
        ["globalAlpha", 1.0],
        ["fillRect", [20, 0, 10, 10]],
        ["globalAlpha", 0.25],
        ["save"],
        ["globalAlpha", 1.0],
        ["restore"],
        ["fillRect", [40, 0, 10, 10]],
    ]));
    assert_eq!(px(&p, 5, 5)[3], 128);
    assert_eq!(px(&p, 25, 5)[3], 255);
    assert_eq!(px(&p, 45, 5)[3], 64);
}

#[test]
fn clip_intersects_and_is_restored() {
    let p = draw(json!([
        ["save"],
        ["beginPath"],
        ["rect", [0, 0, 50, 100]],
        ["clip", []],
        ["beginPath"],
        ["rect", [0, 0, 100, 50]],
        ["clip", []],
        ["fillStyle", "#00ff00"],
        ["fillRect", [0, 0, 100, 100]],
        ["restore"],
        ["fillStyle", "#0000ff"],
        ["fillRect", [90, 90, 10, 10]],
    ]));
    assert_eq!(px(&p, 25, 25), [0, 255, 0, 255]);
    assert_eq!(px(&p, 75, 25)[3], 0, "outside the first clip");
    assert_eq!(px(&p, 25, 75)[3], 0, "outside the second clip");
    assert_eq!(px(&p, 95, 95), [0, 0, 255, 255], "clip gone after restore");
}

#[test]
fn evenodd_clip_leaves_a_hole() {
    let p = draw(json!([
        ["beginPath"],
        ["rect", [0, 0, 100, 100]],
        ["rect", [25, 25, 50, 50]],
        ["clip", ["evenodd"]],
        ["fillStyle", "#ffffff"],
        ["fillRect", [0, 0, 100, 100]],
    ]));
    assert_eq!(px(&p, 10, 10)[3], 255);
    assert_eq!(px(&p, 50, 50)[3], 0);
}

#[test]
fn nonzero_fill_of_nested_rects_has_no_hole() {
    let p = draw(json!([
        ["beginPath"],
        ["rect", [0, 0, 100, 100]],
        ["rect", [25, 25, 50, 50]],
        ["fillStyle", "#ffffff"],
        ["fill"],
    ]));
    assert_eq!(px(&p, 50, 50)[3], 255);
}

#[test]
fn transforms_compose_and_restore() {
    let p = draw(json!([
        ["save"],
        ["translate", [50, 50]],
        ["scale", [2, 2]],
        ["rotate", [std::f64::consts::FRAC_PI_2]],
        ["fillStyle", "#ff0000"],
        ["fillRect", [0, 0, 10, 5]], // → x in [40,50], y in [50,70]
        ["restore"],
        ["fillStyle", "#0000ff"],
        ["fillRect", [0, 0, 5, 5]],
    ]));
    assert_eq!(px(&p, 45, 60), [255, 0, 0, 255]);
    assert_eq!(px(&p, 55, 60)[3], 0);
    assert_eq!(px(&p, 2, 2), [0, 0, 255, 255]);
}

#[test]
fn path_points_keep_the_transform_they_were_added_with() {
    // Canvas: changing the transform after building the path does not move it.
    let p = draw(json!([
        ["beginPath"],
        ["rect", [0, 0, 10, 10]],
        ["translate", [50, 50]],
        ["fillStyle", "#ffffff"],
        ["fill"],
    ]));
    assert_eq!(px(&p, 5, 5)[3], 255);
    assert_eq!(px(&p, 55, 55)[3], 0);
}

#[test]
fn stroke_width_follows_the_transform_at_stroke_time() {
    let p = draw(json!([
        ["beginPath"],
        ["moveTo", [10, 50]],
        ["lineTo", [90, 50]],
        ["scale", [4, 4]],
        ["lineWidth", 5], // 20 px wide in device space
        ["strokeStyle", "#ffffff"],
        ["stroke"],
    ]));
    assert_eq!(px(&p, 50, 41)[3], 255);
    assert_eq!(px(&p, 50, 58)[3], 255);
    assert_eq!(px(&p, 50, 35)[3], 0);
}

#[test]
fn round_rect_corners_are_cut() {
    let p = draw(json!([
        ["beginPath"],
        ["roundRect", [0, 0, 100, 100, 40, 0, 40, 0]],
        ["fillStyle", "#ffffff"],
        ["fill"],
    ]));
    assert_eq!(px(&p, 2, 2)[3], 0, "top-left rounded");
    assert_eq!(px(&p, 98, 1)[3], 255, "top-right square");
    assert_eq!(px(&p, 97, 97)[3], 0, "bottom-right rounded");
    assert_eq!(px(&p, 1, 98)[3], 255, "bottom-left square");
}

#[test]
fn list_is_scaled_to_the_target_size() {
    let p = draw_sized(
        json!([["fillStyle", "#ffffff"], ["fillRect", [50, 50, 50, 50]]]),
        200,
        200,
    );
    assert_eq!(px(&p, 99, 99)[3], 0);
    assert_eq!(px(&p, 101, 101)[3], 255);
    assert_eq!(px(&p, 199, 199)[3], 255);
}

#[test]
fn unbalanced_restore_and_empty_paths_are_harmless() {
    let p = draw(json!([
        ["restore"],
        ["restore"],
        ["fill"],
        ["stroke"],
        ["closePath"],
        ["arcTo", [0, 0, 10, 10, 5]],
        ["fillStyle", "#ffffff"],
        ["fillRect", [0, 0, 10, 10]],
    ]));
    assert_eq!(px(&p, 5, 5)[3], 255);
}

#[test]
fn empty_clip_hides_everything() {
    let p = draw(json!([
        ["beginPath"],
        ["clip", []],
        ["fillStyle", "#ffffff"],
        ["fillRect", [0, 0, 100, 100]],
    ]));
    assert_eq!(px(&p, 50, 50)[3], 0);
}

#[test]
fn missing_image_draws_a_visible_placeholder() {
    let p = draw(json!([
        ["drawImage", [{"type": "compositionAsset", "id": "nope"}, 10, 10, 80, 80]],
    ]));
    assert!(px(&p, 50, 30)[3] > 0, "placeholder fill");
    assert_eq!(px(&p, 5, 5)[3], 0);
}

#[test]
fn text_is_drawn_at_its_baseline() {
    let p = draw(json!([
        ["font", ["400", "", 40, "Roboto"]],
        ["fillStyle", "#ffffff"],
        ["fillText", ["H", 10, 60]],
    ]));
    let inked: Vec<u32> = (0..100)
        .filter(|&y| (0..100).any(|x| px(&p, x, y)[3] > 128))
        .collect();
    let (top, bottom) = (inked[0], *inked.last().unwrap());
    assert!(
        (59..=61).contains(&bottom),
        "baseline at 60, ink ends at {bottom}"
    );
    assert!(
        (28..=33).contains(&top),
        "cap height ≈ 0.71 em, ink starts at {top}"
    );
}

#[test]
fn stratum_rasterises_only_when_the_list_changes() {
    let mut r = StratumRenderer::new(100, 100, Fonts::system(), Assets::none());
    let a = list(json!([
        ["fillStyle", "#ff0000"],
        ["fillRect", [0, 0, 10, 10]]
    ]));
    let b = list(json!([
        ["fillStyle", "#00ff00"],
        ["fillRect", [0, 0, 10, 10]]
    ]));
    assert!(r.render(&a, 100, 100).1);
    assert!(!r.render(&a, 100, 100).1);
    let (p, done) = r.render(&b, 100, 100);
    assert!(done);
    assert_eq!(px(p, 5, 5), [0, 255, 0, 255]);
    assert!(!r.render(&b, 100, 100).1);
    assert!(r.render(&b, 50, 50).1, "a different authored size redraws");
    r.invalidate();
    assert!(r.render(&b, 50, 50).1);
}

#[test]
fn stratum_background_is_transparent_after_a_change() {
    let mut r = StratumRenderer::new(100, 100, Fonts::system(), Assets::none());
    r.render(
        &list(json!([
            ["fillStyle", "#ff0000"],
            ["fillRect", [0, 0, 100, 100]]
        ])),
        100,
        100,
    );
    let (p, _) = r.render(&list(json!([["fillRect", [0, 0, 1, 1]]])), 100, 100);
    assert_eq!(px(p, 50, 50), [0, 0, 0, 0]);
}

thread_local! {
    static PANICS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs `f` counting panics on this thread, including ones the executor catches.
fn count_panics(f: impl FnOnce()) -> usize {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.with(|p| p.set(p.get() + 1));
        previous(info);
    }));
    PANICS.with(|p| p.set(0));
    f();
    PANICS.with(|p| p.get())
}

#[test]
fn extreme_values_do_not_panic() {
    let big = 1e30;
    let panics = count_panics(|| {
        draw(json!([
            ["font", ["900", "italic", 9999, "Roboto"]], ["fillText", ["Huge", 0, 0]],
            ["font", ["400", "", 0.0001, "Roboto"]], ["fillText", ["tiny", 10, 10]],
            ["fillRect", [-big, -big, big, big]], ["strokeRect", [0, 0, big, 1]],
            ["beginPath"], ["roundRect", [0, 0, 50, 50, big, big, 0, 0]], ["fill"],
            ["arcTo", [0, 0, 100, 0, big]], ["lineTo", [big, -big]], ["stroke"], ["clip", ["evenodd"]],
            ["save"], ["scale", [big, big]], ["fillRect", [0, 0, 1, 1]], ["fillText", ["x", 1, 1]],
            ["rotate", [big]], ["strokeText", ["y", 0, 0]], ["restore"],
            ["save"], ["scale", [0, 0]], ["fillRect", [0, 0, 10, 10]], ["beginPath"], ["rect", [0, 0, 1, 1]],
            ["stroke"], ["clip", []], ["restore"],
            ["lineWidth", big], ["beginPath"], ["moveTo", [0, 0]], ["lineTo", [1, 1]], ["stroke"],
            ["fillText_emoji", ["😀", 0, 0, big, big]], ["fillText_emoji", ["", 0, 0, 10, 10]],
            ["fillText_emoji", ["a", 0, 0, 10, 10]],
            ["drawImage", [{"type": "defaultAsset", "id": "x"}, 0, 0, -10, -10]],
            ["drawImage", [{"type": "liveAsset", "id": "../../etc/passwd"}, 0, 0, 0, 0, 0, 0, big, big]],
        ]));
    });
    assert_eq!(
        panics, 0,
        "ops panicked (caught by the executor, but they must not)"
    );
    let mut deep = vec![json!(["save"]); 5000];
    deep.push(json!(["fillRect", [0, 0, 1, 1]]));
    deep.extend(vec![json!(["restore"]); 6000]);
    draw(Value::Array(deep));
}

#[test]
fn much_smaller_images_are_filtered_not_aliased() {
    // A black/white checkerboard of 2 px squares drawn at 1/8 size must come out an even grey
    // (filters that sample a few source pixels per output pixel see all-black or all-white).
    let dir = std::env::temp_dir().join(format!("vcs-render-mip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut board = Pixmap::new(256, 256).unwrap();
    for (i, px) in board.data_mut().chunks_exact_mut(4).enumerate() {
        let (x, y) = (i % 256, i / 256);
        let v = if (x / 2 + y / 2) % 2 == 0 { 255 } else { 0 };
        px.copy_from_slice(&[v, v, v, 255]);
    }
    board.save_png(dir.join("board.png")).unwrap();
    let assets = Assets::from_dirs(vec![dir.clone()]);
    let mut p = Pixmap::new(100, 100).unwrap();
    let l = list(
        json!([["drawImage", [{"type": "compositionAsset", "id": "board"}, 0.375, 0.375, 32, 32]]]),
    );
    draw_display_list(&mut p, &l, 100, 100, &Fonts::system(), &assets);
    for (x, y) in [(4, 4), (15, 20), (27, 9)] {
        let [r, _, _, a] = px(&p, x, y);
        assert_eq!(a, 255);
        assert!(
            (110..=145).contains(&r),
            "({x},{y}) = {r}, expected mid grey"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn renderer_state_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Assets>();
}
