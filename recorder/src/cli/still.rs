//! `vcs-recorder still`: the composition's frame at `--time` as a PNG, video layers as labelled
//! placeholders.

use std::path::PathBuf;

use anyhow::Context;
use vcs_render::{Assets, draw_scene};

use super::scene::SceneArgs;

#[derive(clap::Args)]
pub struct StillArgs {
    #[command(flatten)]
    scene: SceneArgs,
    /// PNG to write.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
}

pub fn run(args: StillArgs) -> anyhow::Result<()> {
    let Some(time) = args.scene.time else {
        anyhow::bail!("still needs --time SECONDS (--frames is for the scene command)");
    };
    let scene = vcs_engine::inspect::scene_at_time(&args.scene.request())
        .with_context(|| format!("scene at {time} s"))?;
    let dirs = vcs_engine::image_dirs(&args.scene.composition, args.scene.assets.as_deref());
    let mut pixmap =
        tiny_skia::Pixmap::new(scene.width, scene.height).context("scene size cannot be drawn")?;
    draw_scene(
        &mut pixmap,
        &scene,
        &vcs_text::Fonts::system(),
        &Assets::from_dirs(dirs),
    );
    pixmap
        .save_png(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!("wrote {}", args.output.display());
    Ok(())
}
