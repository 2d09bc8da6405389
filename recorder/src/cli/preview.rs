//! `vcs-recorder preview` (a **contract**):
//!
//! ```text
//! vcs-recorder preview --composition <dir|file|name> [--assets DIR] [--params FILE]
//!   [--inputs FILE] [--participant NAME=URI]... [--size WxH] [--fps N]
//!   [--listen 127.0.0.1:8090] [--open]
//! ```
//! The preview itself is [`crate::preview`]; this file holds the flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;
use vcs_job::VideoSize;

use crate::job_file::participant_from_flag;
use crate::preview::{self, participants, server::params_object};

#[derive(clap::Args)]
pub struct PreviewArgs {
    /// A built-in composition name, or a composition file or folder (edits to its files re-run
    /// it in the page).
    #[arg(long)]
    composition: String,
    /// Session-assets folder (images, fonts, component overrides); watched too.
    #[arg(long)]
    assets: Option<PathBuf>,
    /// JSON object of params by id to start with.
    #[arg(long = "params")]
    params_file: Option<PathBuf>,
    /// JSON array of video input slots: the simulated participants to start with (default: two
    /// cameras, Alice and Bob).
    #[arg(long = "inputs")]
    inputs_file: Option<PathBuf>,
    /// A participant whose tile shows real video, `name=URI` with a `test:` or `file:` URI (as
    /// `render --participant`; live, video only, files loop). Repeatable; added to the
    /// `--inputs` participants, or the only participants when there is no `--inputs`.
    #[arg(long = "participant", value_name = "NAME=URI")]
    participants: Vec<String>,
    /// Frame size, `WxH`.
    #[arg(long, default_value = "1280x720")]
    size: VideoSize,
    /// Frames per second.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=60))]
    fps: u32,
    /// Address the page is served on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Open the page in the default browser (xdg-open).
    #[arg(long)]
    open: bool,
}

fn read_json(path: &Path, what: &str) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON ({what})", path.display()))
}

pub fn run(args: PreviewArgs) -> anyhow::Result<()> {
    let params = match &args.params_file {
        Some(p) => params_object(&read_json(p, "--params: an object of values by param id")?)
            .with_context(|| format!("{}: params must be a JSON object by id", p.display()))?,
        None => Default::default(),
    };
    let real = args
        .participants
        .iter()
        .map(|flag| participant_from_flag(flag))
        .collect::<Result<Vec<_>, _>>()?;
    let mut participants = match &args.inputs_file {
        Some(p) => {
            let slots = read_json(p, "--inputs: an array of video input slots")?;
            anyhow::ensure!(
                slots.is_array(),
                "{}: inputs must be a JSON array of video input slots",
                p.display()
            );
            participants::from_slots(&slots)
        }
        None if real.is_empty() => participants::default_participants(),
        None => Vec::new(),
    };
    for p in participants::from_flags(&real) {
        participants.retain(|existing| existing.id != p.id);
        participants.push(p);
    }
    let opts = preview::Options {
        composition: args.composition,
        assets: args.assets,
        params,
        participants,
        real,
        width: args.size.width(),
        height: args.size.height(),
        fps: args.fps,
    };
    let open = args.open;
    preview::serve(opts, args.listen, move |addr| {
        let url = format!("http://{addr}/");
        // Tests and scripts read this line for the address (with --listen …:0).
        println!("preview at {url}");
        if open
            && std::process::Command::new("xdg-open")
                .arg(&url)
                .spawn()
                .is_err()
        {
            eprintln!("cannot run xdg-open: open {url} in a browser");
        }
    })
}
