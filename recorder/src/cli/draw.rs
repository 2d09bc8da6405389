//! `vcs-recorder draw <file.json> -o out.png [--size WxH] [--assets DIR]`: look at a display
//! list, a scene or a Daily-format export without running a recording.
//!
//! The input is recognised by shape ([`vcs_scene::daily::import`]): a display list, a scene
//! (video layers as labelled placeholder rectangles) or a Daily export `{fgDisplayList,
//! videoLayers?}`. Drawing is [`vcs_render::still::draw_document`]; this file reads and writes.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vcs_job::VideoSize;
use vcs_render::Assets;
use vcs_render::still::{StillError, draw_document};
use vcs_text::Fonts;

#[derive(clap::Args)]
pub struct DrawArgs {
    /// `{width,height,commands}`, a scene, or a Daily export with `fgDisplayList`.
    file: PathBuf,
    /// PNG to write.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Target size WIDTHxHEIGHT (default: the file's own size); the list is scaled to it. A
    /// size a recording could have (vcs-job's `VideoSize`), as the scene and still commands take.
    #[arg(long)]
    size: Option<VideoSize>,
    /// Folder images are resolved in by name (also its `images/`).
    #[arg(long)]
    assets: Option<PathBuf>,
}

/// Why `draw` could not produce its PNG. The wrapped error is the [`source`](std::error::Error::source),
/// printed after the message by the error chain.
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not JSON")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}")]
    Document {
        path: String,
        #[source]
        source: vcs_scene::daily::ImportError,
    },
    #[error(transparent)]
    Size(StillError),
    #[error("cannot write {path}")]
    Write {
        path: String,
        #[source]
        source: png::EncodingError,
    },
}

pub fn run(args: DrawArgs) -> anyhow::Result<()> {
    let size = args.size.map(|s| (s.width(), s.height()));
    draw(&args.file, &args.output, size, args.assets.as_deref())?;
    println!("wrote {}", args.output.display());
    Ok(())
}

/// Renders `input` to the PNG `out`, at `size` (default: the input's own size), resolving images
/// by name in `assets` and `assets/images`.
pub fn draw(
    input: &Path,
    out: &Path,
    size: Option<(u32, u32)>,
    assets: Option<&Path>,
) -> Result<(), DrawError> {
    let path = input.display().to_string();
    let text = std::fs::read_to_string(input).map_err(|source| DrawError::Read {
        path: path.clone(),
        source,
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|source| DrawError::Json {
        path: path.clone(),
        source,
    })?;
    let assets = match assets {
        Some(dir) => Assets::from_dirs(vec![dir.to_path_buf(), dir.join("images")]),
        None => Assets::none(),
    };
    let fonts = Fonts::with_font_dirs(&fonts_beside(input));
    let pixmap = draw_document(&json, size, &fonts, &assets).map_err(|e| match e {
        StillError::Document(source) => DrawError::Document { path, source },
        size @ StillError::Size { .. } => DrawError::Size(size),
    })?;
    pixmap.save_png(out).map_err(|source| DrawError::Write {
        path: out.display().to_string(),
        source,
    })
}

/// A `fonts/` folder beside the input file, if any, so a composition's own fonts are used.
fn fonts_beside(input: &Path) -> Vec<PathBuf> {
    input
        .parent()
        .map(|d| d.join("fonts"))
        .filter(|d| d.is_dir())
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::DrawArgs;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        draw: DrawArgs,
    }

    fn parse_size(size: &str) -> Result<(u32, u32), String> {
        let args = ["draw", "in.json", "-o", "out.png", "--size", size];
        let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        let size = cli.draw.size.expect("--size was given");
        Ok((size.width(), size.height()))
    }

    #[test]
    fn sizes_parse_in_the_usual_spellings() {
        assert_eq!(parse_size("1280x720"), Ok((1280, 720)));
        assert_eq!(parse_size("640X360"), Ok((640, 360)));
        assert_eq!(parse_size("1920×1080"), Ok((1920, 1080)));
        for bad in ["", "1280", "0x10", "10x", "axb", "20000x10"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
