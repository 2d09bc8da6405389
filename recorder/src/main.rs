//! `vcs-recorder`: record VCS compositions locally (`render`), or inspect them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use vcs_recorder::job::{JobOverrides, read_job_file};
use vcs_recorder::recording::{Command as RecordCommand, RecordOptions, SharedStatus, record};

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
    /// Record a job to its outputs (local files, S3, RTMP). Test and file inputs to files render
    /// as fast as the machine allows; network inputs and RTMP outputs run at real time.
    Render(RenderArgs),
    /// Draw a display list, a scene or a Daily-format fgDisplayList to a PNG.
    Draw(DrawArgs),
    /// Print a composition's scene at a time, or write chosen frames of an events run.
    Scene(vcs_recorder::engine::scene_cli::SceneArgs),
    /// Write the composition's frame at --time as a PNG (video layers as labelled placeholders).
    Still(StillArgs),
    /// Run as a recorder pod: warm up, take one job over the HTTP control API, exit when done.
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    api: vcs_service::ServeConfig,
    /// Where outputs wait for upload (and are kept if S3 never takes them). Default: vcs-spool
    /// in $TMPDIR, so that a read-only root file system needs only a writable TMPDIR.
    #[arg(long, env = "VCS_SPOOL_DIR", default_value_os_t = std::env::temp_dir().join("vcs-spool"))]
    spool_dir: PathBuf,
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
    /// Pace at real time, as a live job does, even with only test and file inputs.
    #[arg(long)]
    realtime: bool,
}

fn main() -> ExitCode {
    process_started();
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
        Command::Serve(args) => serve(args),
        Command::Scene(args) => {
            vcs_recorder::engine::scene_cli::run(&args, &mut std::io::stdout().lock())?;
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let metrics = vcs_service::Metrics::new();
    let service = vcs_recorder::service::RecorderService::new(args.spool_dir, metrics.clone());
    let warm = std::time::Instant::now();
    service.warm_up().context("warm-up failed")?;
    tracing::info!(
        took_ms = warm.elapsed().as_millis() as u64,
        "warm and ready for a job"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(vcs_service::run(
        args.api,
        service,
        metrics,
        vcs_service::shutdown_signal(),
    ))?;
    if !outcome.is_success() {
        std::process::exit(outcome.exit_code().into());
    }
    Ok(())
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
    if job.duration_secs.is_none() {
        anyhow::bail!("{origin}: durationSecs: render needs a duration (--duration SECONDS)");
    }
    if job.outputs.is_empty() {
        anyhow::bail!(
            "{origin}: outputs: no outputs; give one with -o out.mp4 or list them in the job file"
        );
    }
    let live = args.realtime || needs_real_time(&job);
    let spool = tempdir_for_spool()?;
    let (tx, rx) = std::sync::mpsc::channel();
    stop_on_signals(tx)?;
    let status = SharedStatus::default();
    let summary = record(
        &job,
        &RecordOptions {
            live,
            spool_dir: spool.clone(),
        },
        &rx,
        &status,
        &mut FirstFrameLog,
    )
    .context("render failed")?;
    let _ = std::fs::remove_dir_all(&spool);
    println!(
        "recorded {} frames, {:.3} s of video in {:.2} s ({:.1}× real time){}{}",
        summary.frames,
        summary.duration.as_secs_f64(),
        summary.wall.as_secs_f64(),
        summary.duration.as_secs_f64() / summary.wall.as_secs_f64().max(1e-9),
        if summary.dropped_frames > 0 {
            format!("; {} frames dropped", summary.dropped_frames)
        } else {
            String::new()
        },
        if summary.composition_errors > 0 {
            format!(
                "; {} frames reused the last good scene after composition errors",
                summary.composition_errors
            )
        } else {
            String::new()
        }
    );
    for o in &summary.outputs {
        println!("  {o}");
    }
    if summary.composition_failed {
        anyhow::bail!(
            "the composition kept failing (see the warnings above); the recording is complete but shows its last good scene"
        );
    }
    if let Some(failed) = summary.outputs.iter().find(|o| o.failed()) {
        anyhow::bail!(
            "output {} did not complete: {}",
            failed.name,
            failed.last_error.as_deref().unwrap_or("unknown error")
        );
    }
    Ok(())
}

/// Logs when the first frame reached the encoder, counted from process start (what a cold start
/// costs; `make bench` compares it with a warm `serve`).
struct FirstFrameLog;

impl vcs_recorder::recording::RecordHooks for FirstFrameLog {
    fn first_frame(&mut self) {
        let ms = process_started().elapsed().as_secs_f64() * 1000.0;
        tracing::info!(since_process_start_ms = ms, "first frame encoded");
    }
}

/// When the process started (the first call, made at the top of `main`).
fn process_started() -> std::time::Instant {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *STARTED.get_or_init(std::time::Instant::now)
}

/// Network inputs and RTMP outputs run at real time; test and file inputs to files render as
/// fast as the machine allows.
fn needs_real_time(job: &vcs_recorder::job::JobSpec) -> bool {
    use vcs_recorder::job::UriScheme;
    let network_input = job.participants.iter().any(|p| {
        [&p.camera, &p.screenshare, &p.audio]
            .into_iter()
            .flatten()
            .any(|uri| !matches!(UriScheme::of(uri), Some(UriScheme::Test | UriScheme::File)))
    });
    network_input || job.outputs.iter().any(|o| o.rtmp.is_some())
}

/// A private folder for outputs that go only to S3.
fn tempdir_for_spool() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("vcs-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the spool folder {}", dir.display()))?;
    Ok(dir)
}

/// SIGTERM and Ctrl-C stop the recording gracefully: everything recorded so far is finalised.
fn stop_on_signals(tx: std::sync::mpsc::Sender<RecordCommand>) -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .context("cannot install signal handlers")?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            eprintln!("signal {sig}: stopping; finishing the outputs");
            let _ = tx.send(RecordCommand::Stop);
        }
    });
    Ok(())
}
