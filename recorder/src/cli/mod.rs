//! The `vcs-recorder` command: every subcommand's flags (the only clap types in the recorder)
//! and the glue from flags to the libraries.
//!
//! # Layout
//! - [`render`]: record a job to its outputs.
//! - [`still`]: a composition's frame at a time as a PNG.
//! - [`scene`]: print or write what a composition produces ([`vcs_engine::inspect`]).
//! - [`draw`]: a display list, scene or Daily export file as a PNG.
//! - [`preview`]: a composition live in a browser page, hot-reloaded.
//! - [`serve`]: run as a recorder pod behind the HTTP control API.
//! - [`recover`]: finish in S3 what a recorder that died left (MP4 upload, HLS playlist).

pub mod draw;
pub mod preview;
pub mod recover;
pub mod render;
pub mod scene;
pub mod serve;
pub mod still;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    #[command(after_help = EXIT_CODES)]
    Render(render::RenderArgs),
    /// Draw a display list, a scene or a Daily-format fgDisplayList to a PNG.
    Draw(draw::DrawArgs),
    /// Print a composition's scene at a time, or write chosen frames of an events run.
    Scene(scene::SceneArgs),
    /// Write the composition's frame at --time as a PNG (video layers as labelled placeholders).
    Still(still::StillArgs),
    /// Play a composition live in a browser page (params, participants, timeline, hot reload).
    Preview(preview::PreviewArgs),
    /// Run as a recorder pod: warm up, take one job over the HTTP control API, exit when done.
    Serve(serve::ServeArgs),
    /// Finish in S3 what a dead recorder of a job left: complete its MP4 upload into a playable
    /// file (up to the last fragment it checkpointed) and end its HLS playlists. Run it once the
    /// recorder is gone.
    Recover(recover::RecoverArgs),
    /// The composition engine process a recording runs its composition in (internal).
    #[command(hide = true)]
    EngineWorker {
        /// Memory cap of this process, in MiB.
        #[arg(long)]
        memory_mb: u64,
    },
}

/// `render`'s exit codes, one per kind of fault (`vcs_job::control::FaultKind`).
const EXIT_CODES: &str = "\
Exit status:
  0  every output delivered the whole recording and every input connected (a continuation
     whose MP4 parts could not be joined into one object says so as a fault, mp4InParts,
     and exits 0: nothing recorded is missing)
  1  the job could not be recorded (bad spec or flags, composition, S3 check, internal error)
  2  bad command-line usage
  3  an output delivered less than the recording (failed, never connected, or gaps)
  4  an input never delivered any media
  5  the composition kept failing (the video shows its last good scene)
When several happen, the lowest of 3-5 is used; the summary lists every fault.";

/// Parses the command line, runs the subcommand, and prints the error chain on failure.
pub fn main() -> ExitCode {
    process_started();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Render(args) => render::run(args),
        Command::Draw(args) => draw::run(args),
        Command::Still(args) => still::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Preview(args) => preview::run(args),
        Command::Scene(args) => scene::run(args),
        Command::Recover(args) => recover::run(args),
        Command::EngineWorker { memory_mb } => crate::engine_process::worker::run(memory_mb << 20),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<render::Shortfall>() {
                Some(shortfall) => ExitCode::from(shortfall.code),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// When the process started (the first call, made at the top of [`main`]).
pub(crate) fn process_started() -> std::time::Instant {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *STARTED.get_or_init(std::time::Instant::now)
}
