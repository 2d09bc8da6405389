//! `vcs-recorder scene`: inspect what a composition produces (a **contract**).
//!
//! ```text
//! vcs-recorder scene --composition <dir|name> [--params FILE] [--param id=value]...
//!   [--inputs FILE] [--events FILE] [--assets DIR] [--size WxH] [--fps N]
//!   (--time SECONDS | --frames LIST) [--format vcs|daily] [--out-dir DIR]
//! ```
//! The logic is [`vcs_engine::inspect`]; this file holds the flags.

use std::path::PathBuf;

use vcs_engine::inspect::{self, FrameList, SceneFormat, SceneRequest, parse_frames};
use vcs_job::VideoSize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Our scene: `{width, height, background, videoLayers, foreground}`.
    #[default]
    Vcs,
    /// Daily's: video layers plus one foreground display list with the background clipped.
    Daily,
}

/// Arguments of `vcs-recorder scene` (and the scene part of `still`).
#[derive(Clone, Debug, clap::Args)]
pub struct SceneArgs {
    /// A built-in composition name, or a composition file or folder.
    #[arg(long)]
    pub composition: String,
    /// JSON object of params by id.
    #[arg(long = "params")]
    pub params_file: Option<PathBuf>,
    /// One param, `id=value` (value parsed as JSON when it is, else taken as a string).
    #[arg(long = "param")]
    pub param: Vec<String>,
    /// JSON array of video input slots (vcs-api.md §5).
    #[arg(long = "inputs")]
    pub inputs_file: Option<PathBuf>,
    /// Offline events file (vcs-api.md §5).
    #[arg(long = "events")]
    pub events_file: Option<PathBuf>,
    /// Session-assets folder (images, fonts, component overrides).
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Output size, `WxH`: a size a recording could have (vcs-job's `VideoSize`).
    #[arg(long)]
    pub size: Option<VideoSize>,
    #[arg(long)]
    pub fps: Option<u32>,
    /// Render the scene at this time (seconds) and print it.
    #[arg(long, conflicts_with = "frames", required_unless_present = "frames")]
    pub time: Option<f64>,
    /// Frames to write, e.g. `0,15,30-40`.
    #[arg(long, value_parser = parse_frames)]
    pub frames: Option<FrameList>,
    #[arg(long, value_enum, default_value_t = Format::Vcs)]
    pub format: Format,
    /// Where `--frames` writes its files.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

impl SceneArgs {
    /// The flags as the engine's inspection request.
    pub fn request(&self) -> SceneRequest {
        SceneRequest {
            composition: self.composition.clone(),
            params_file: self.params_file.clone(),
            param: self.param.clone(),
            inputs_file: self.inputs_file.clone(),
            events_file: self.events_file.clone(),
            assets: self.assets.clone(),
            size: self.size.map(|s| (s.width(), s.height())),
            fps: self.fps,
            time: self.time,
            frames: self.frames.clone(),
            format: match self.format {
                Format::Vcs => SceneFormat::Vcs,
                Format::Daily => SceneFormat::Daily,
            },
            out_dir: self.out_dir.clone(),
        }
    }
}

pub fn run(args: SceneArgs) -> anyhow::Result<()> {
    inspect::run(&args.request(), &mut std::io::stdout().lock())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        scene: SceneArgs,
    }

    fn parse_size(size: &str) -> Result<Option<(u32, u32)>, clap::Error> {
        let args = [
            "scene",
            "--composition",
            "demo",
            "--time",
            "0",
            "--size",
            size,
        ];
        Cli::try_parse_from(args).map(|cli| cli.scene.request().size)
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1920x1080").unwrap(), Some((1920, 1080)));
        assert!(parse_size("1920").is_err());
    }
}
