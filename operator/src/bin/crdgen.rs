//! Writes the CRD manifests: `crdgen [DIR...]` writes `DIR/<name>.yaml` into each DIR (default
//! `crds/` and the chart's `charts/vcs/crds/`, which must stay identical); `crdgen -` prints them
//! to stdout.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Writes the CRD manifests of the operator.
#[derive(Parser)]
#[command(name = "crdgen")]
struct Args {
    /// Directories to write `<name>.yaml` into, or `-` for stdout.
    #[arg(default_values_t = ["crds".to_string(), "charts/vcs/crds".to_string()])]
    targets: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    for target in Args::parse().targets {
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
    }
    Ok(())
}
