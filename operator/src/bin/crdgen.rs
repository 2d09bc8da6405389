//! Writes the CRD manifests: `crdgen [DIR]` writes `DIR/<name>.yaml` (default `crds/`);
//! `crdgen -` prints them to stdout.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Writes the CRD manifests of the operator.
#[derive(Parser)]
#[command(name = "crdgen")]
struct Args {
    /// Directory to write `<name>.yaml` into, or `-` for stdout.
    #[arg(default_value = "crds")]
    target: String,
}

fn main() -> anyhow::Result<()> {
    let target = Args::parse().target;
    for (name, yaml) in vcs_operator::api::crd_yaml() {
        if target == "-" {
            print!("---\n{yaml}");
            continue;
        }
        let path = PathBuf::from(&target).join(&name);
        std::fs::create_dir_all(&target).with_context(|| format!("creating {target}"))?;
        std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
