//! Running `kubectl` and `helm` as a user would, against the cluster `KUBECONFIG` names, off the
//! async runtime.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::bins;

/// Runs `program args` to its end on a blocking thread.
pub async fn run(program: PathBuf, args: Vec<String>) -> Output {
    let shown = format!("{} {}", program.display(), args.join(" "));
    tokio::task::spawn_blocking(move || Command::new(&program).args(&args).output())
        .await
        .expect("the command's thread finishes")
        .unwrap_or_else(|e| panic!("running {shown}: {e}"))
}

/// `kubectl -n ns args`; panics with its output unless it succeeds.
pub async fn kubectl(ns: &str, args: &[&str]) -> String {
    let out = kubectl_output(ns, args).await;
    assert!(
        out.status.success(),
        "kubectl -n {ns} {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kubectl -n ns args`, whatever its outcome.
pub async fn kubectl_output(ns: &str, args: &[&str]) -> Output {
    let mut all = vec!["-n".to_string(), ns.to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    run(bins::kubectl(), all).await
}

/// `helm args`; panics with its output unless it succeeds.
pub async fn helm(args: &[&str]) -> String {
    let out = run(bins::helm(), args.iter().map(|a| a.to_string()).collect()).await;
    assert!(
        out.status.success(),
        "helm {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
