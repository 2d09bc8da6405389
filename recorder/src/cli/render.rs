//! `vcs-recorder render`: record a job (a file and/or flags) to its outputs, on this thread.

use std::path::PathBuf;

use anyhow::Context;

use super::process_started;
use crate::job_file::{JobOverrides, read_job_file};
use crate::recording::participants::track_field;
use crate::recording::{
    LiveCommand, RecordHooks, RecordOptions, RecordSummary, ScheduledEvents, SharedStatus,
    exit_code, note_signal, record, runs_in_real_time,
};

#[derive(clap::Args)]
pub struct RenderArgs {
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
    /// Also write the recording to this local MP4 file (added to the job's outputs, which are
    /// all kept).
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// Pace at real time, as a live job does, even with only test and file inputs.
    #[arg(long)]
    realtime: bool,
    /// Offline events file (as `scene --events` reads and `preview` exports): its params and
    /// standard-source messages are applied at their frames. Its video input slots are not
    /// used: the job's participants are the video.
    #[arg(long = "events", value_name = "FILE")]
    events: Option<PathBuf>,
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
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
    let events = args
        .events
        .as_deref()
        .map(|path| {
            let file = vcs_engine::events_file::EventsFile::read(path)?;
            anyhow::Ok(ScheduledEvents {
                origin: path.display().to_string(),
                file,
            })
        })
        .transpose()?;
    let live = args.realtime || runs_in_real_time(&job);
    let spool = tempdir_for_spool()?;
    let (tx, rx) = std::sync::mpsc::channel();
    stop_on_signals(tx)?;
    let status = SharedStatus::default();
    let summary = record(
        &job,
        &RecordOptions {
            live,
            spool_dir: spool.clone(),
            events,
        },
        &rx,
        &status,
        &mut FirstFrameLog,
    );
    // Whatever the outcome, the spool folder goes unless it still holds recorded data that S3
    // did not take (the summary names those files).
    remove_unless_it_holds_data(&spool);
    report(&summary.context("render failed")?)
}

/// Prints what was recorded, per output and per input, and fails with the exit code of the
/// most serious fault (the recording is kept either way).
fn report(summary: &RecordSummary) -> anyhow::Result<()> {
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
    if let (Some(lost), Some(gap)) = (summary.lost_part_secs, summary.measured_gap_secs) {
        println!(
            "  continuation: the lost recorder left {lost:.3} s of media; the gap measured from \
             the frames is {gap:.3} s"
        );
    }
    for o in &summary.outputs {
        println!("  output {o}");
    }
    for i in &summary.inputs {
        println!(
            "  input {}.{}: {}, {:.1} s live, {} gaps{}",
            i.participant,
            track_field(i.track),
            if i.connected {
                "connected"
            } else {
                "never connected"
            },
            i.live_secs,
            i.gaps,
            i.last_error
                .as_deref()
                .map(|e| format!("; {e}"))
                .unwrap_or_default()
        );
    }
    for f in &summary.faults {
        eprintln!(
            "fault ({}): {}: {}",
            f.kind.exit_code(),
            f.subject,
            f.message
        );
    }
    let code = exit_code(&summary.faults);
    if code != 0 {
        return Err(Shortfall {
            code,
            message: format!(
                "the recording fell short of the job ({} faults, see above); what was recorded is kept",
                summary.faults.len()
            ),
        }
        .into());
    }
    Ok(())
}

/// A finished recording that fell short: ends the process with `code` (see `render --help`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Shortfall {
    pub code: u8,
    pub message: String,
}

/// Logs when the first frame reached the encoder, counted from process start (what a cold start
/// costs; `make bench` compares it with a warm `serve`).
struct FirstFrameLog;

impl RecordHooks for FirstFrameLog {
    fn first_frame(&mut self) {
        let ms = process_started().elapsed().as_secs_f64() * 1000.0;
        tracing::info!(since_process_start_ms = ms, "first frame encoded");
    }
}

/// A private folder for outputs that go only to S3.
fn tempdir_for_spool() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("vcs-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the spool folder {}", dir.display()))?;
    Ok(dir)
}

/// Removes `dir` if no non-empty file is left in it (empty files and folders are what a job that
/// failed early leaves); otherwise says where the data is.
fn remove_unless_it_holds_data(dir: &std::path::Path) {
    fn holds_data(dir: &std::path::Path) -> bool {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| {
                let path = entry.path();
                match entry.metadata() {
                    Ok(meta) if meta.is_dir() => holds_data(&path),
                    Ok(meta) => meta.len() > 0,
                    Err(_) => true,
                }
            })
    }
    if holds_data(dir) {
        eprintln!(
            "recorded data that did not reach S3 is kept in {}",
            dir.display()
        );
    } else if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot remove the spool folder");
    }
}

/// SIGTERM and Ctrl-C stop the recording gracefully: everything recorded so far is finalised.
fn stop_on_signals(tx: std::sync::mpsc::Sender<LiveCommand>) -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .context("cannot install signal handlers")?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            eprintln!(
                "signal {sig}: stopping; finishing the outputs (a further signal stops waiting for S3)"
            );
            note_signal();
            let _ = tx.send(LiveCommand::Stop);
        }
    });
    Ok(())
}
