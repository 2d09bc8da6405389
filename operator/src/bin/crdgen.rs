//! Writes the CRD manifests: `crdgen [DIR]` writes `DIR/<name>.yaml` (default `crds/`);
//! `crdgen -` prints them to stdout.

use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let target = std::env::args().nth(1).unwrap_or_else(|| "crds".into());
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
