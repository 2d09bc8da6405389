//! `vcs-recorder still`: a composition's frame at a time as a PNG, video layers as placeholders.

use std::process::Command;

use vcs_test_support::TempDir;

#[test]
fn still_draws_the_frame_with_placeholders_where_videos_go() {
    let tmp = TempDir::new("cli-still");
    let dir = tmp.path();
    let inputs = dir.join("inputs.json");
    std::fs::write(
        &inputs,
        r#"[{"id": "a", "type": "camera", "displayName": "Ann"}, {"id": "b", "type": "camera", "displayName": "Ben"}]"#,
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_vcs-recorder");
    let still = |with_inputs: bool, out: &std::path::Path| {
        let mut cmd = Command::new(bin);
        cmd.args([
            "still",
            "--composition",
            "demo",
            "--time",
            "2",
            "--size",
            "640x360",
        ]);
        if with_inputs {
            cmd.arg("--inputs").arg(&inputs);
        }
        let o = cmd.arg("-o").arg(out).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        tiny_skia::Pixmap::load_png(out).unwrap()
    };
    let empty = still(false, &dir.join("empty.png"));
    let tiles = still(true, &dir.join("tiles.png"));
    assert_eq!((tiles.width(), tiles.height()), (640, 360));
    // Two side-by-side tiles: the left tile's middle is a placeholder, not background.
    let at = |p: &tiny_skia::Pixmap, x: u32, y: u32| p.pixel(x, y).unwrap();
    assert_ne!(
        at(&tiles, 160, 200),
        at(&empty, 160, 200),
        "placeholder drawn"
    );
    assert_eq!(
        at(&tiles, 2, 358),
        at(&empty, 2, 358),
        "background corner unchanged"
    );

    let o = Command::new(bin)
        .args(["still", "--composition", "demo", "--frames", "1", "-o"])
        .arg(dir.join("x.png"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--time"));
}
