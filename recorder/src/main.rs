//! `vcs-recorder`: record VCS compositions locally (`render`), or inspect them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use vcs_recorder::job::{JobOverrides, read_job_file};
use vcs_recorder::record::render_job;

#[derive(Parser)]
#[command(
    name = "vcs-recorder",
    version,
    about = "VCS recorder: compositions to recordings"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Record a job to a local MP4, as fast as the machine allows.
    Render(RenderArgs),
    /// Draw a display list, a scene or a Daily-format fgDisplayList to a PNG.
    Draw(DrawArgs),
    /// Print a composition's scene at a time, or write chosen frames of an events run.
    Scene(vcs_recorder::engine::scene_cli::SceneArgs),
    /// Write the composition's frame at --time as a PNG (video layers as labelled placeholders).
    Still(StillArgs),
}

#[derive(Args)]
struct StillArgs {
    #[command(flatten)]
    scene: vcs_recorder::engine::scene_cli::SceneArgs,
    /// PNG to write.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
}

#[derive(Args)]
struct DrawArgs {
    /// `{width,height,commands}`, a scene, or a Daily export with `fgDisplayList`.
    file: PathBuf,
    /// PNG to write.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Target size WIDTHxHEIGHT (default: the file's own size); the list is scaled to it.
    #[arg(long)]
    size: Option<String>,
    /// Folder images are resolved in by name (also its `images/`).
    #[arg(long)]
    assets: Option<PathBuf>,
}

#[derive(Args)]
struct RenderArgs {
    /// Job spec file (YAML or JSON). Flags override what it says.
    job: Option<PathBuf>,
    /// Built-in composition name (such as `demo`) or a composition file or folder.
    #[arg(long)]
    composition: Option<String>,
    /// A composition param, `id=value` (value parsed as JSON when it can be). Repeatable.
    #[arg(long = "param", value_name = "ID=VALUE")]
    params: Vec<String>,
    /// A participant, `name=URI` (such as `alice=test:red`). Repeatable.
    #[arg(long = "participant", value_name = "NAME=URI")]
    participants: Vec<String>,
    /// Seconds to record.
    #[arg(long)]
    duration: Option<f64>,
    /// Output size, WIDTHxHEIGHT.
    #[arg(long)]
    size: Option<String>,
    /// Output frame rate.
    #[arg(long)]
    fps: Option<u32>,
    /// MP4 file to write.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Render(args) => render(args),
        Command::Draw(args) => draw(args),
        Command::Still(args) => still(args),
        Command::Scene(args) => {
            vcs_recorder::engine::scene_cli::run(&args, &mut std::io::stdout().lock())?;
            Ok(())
        }
    }
}

fn still(args: StillArgs) -> anyhow::Result<()> {
    use vcs_recorder::render::{Assets, draw_cli::draw_scene};
    let Some(time) = args.scene.time else {
        anyhow::bail!("still needs --time SECONDS (--frames is for the scene command)");
    };
    let mut json = Vec::new();
    vcs_recorder::engine::scene_cli::run(&args.scene, &mut json)?;
    let value: serde_json::Value = serde_json::from_slice(&json)?;
    let scene = vcs_recorder::scene::scene_from_json(&value)
        .with_context(|| format!("scene at {time} s"))?;
    let mut dirs = Vec::new();
    let composition = PathBuf::from(&args.scene.composition);
    if composition.is_dir() {
        dirs.push(composition.join("images"));
    }
    if let Some(assets) = &args.scene.assets {
        dirs.extend([assets.join("images"), assets.clone()]);
    }
    let mut pixmap =
        tiny_skia::Pixmap::new(scene.width, scene.height).context("scene size cannot be drawn")?;
    draw_scene(
        &mut pixmap,
        &scene,
        &vcs_recorder::text::Fonts::system(),
        &Assets::from_dirs(dirs),
    );
    pixmap
        .save_png(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!("wrote {}", args.output.display());
    Ok(())
}

fn draw(args: DrawArgs) -> anyhow::Result<()> {
    let size = args
        .size
        .as_deref()
        .map(vcs_recorder::render::draw_cli::parse_size)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--size: {e}"))?;
    vcs_recorder::render::draw_cli::run(&args.file, &args.output, size, args.assets.as_deref())?;
    println!("wrote {}", args.output.display());
    Ok(())
}

fn render(args: RenderArgs) -> anyhow::Result<()> {
    let base = args.job.as_deref().map(read_job_file).transpose()?;
    let origin = args
        .job
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "command line".into());
    let job = JobOverrides {
        composition: args.composition,
        params: args.params,
        participants: args.participants,
        duration_secs: args.duration,
        size: args.size,
        fps: args.fps,
        output: args.output,
    }
    .apply(base, &origin)?;
    let summary = render_job(&job).context("render failed")?;
    println!(
        "wrote {}: {} frames, {:.3} s of video in {:.2} s ({:.1}× real time){}",
        summary.path.display(),
        summary.frames,
        summary.duration.as_secs_f64(),
        summary.wall.as_secs_f64(),
        summary.duration.as_secs_f64() / summary.wall.as_secs_f64().max(1e-9),
        if summary.composition_errors > 0 {
            format!(
                "; {} frames reused the last good scene after composition errors",
                summary.composition_errors
            )
        } else {
            String::new()
        }
    );
    if summary.composition_failed {
        anyhow::bail!(
            "the composition kept failing (see the warnings above); the recording in {} is complete but shows its last good scene",
            summary.path.display()
        );
    }
    Ok(())
}
