//! The operator binary builds its HTTPS kube client without panicking over rustls' crypto
//! provider (see `vcs_operator::tls`).
//!
//! This test's build enables rustls' `aws-lc-rs` next to kube's `ring` (a dev-dependency), as a
//! workspace build does, so rustls cannot pick a provider from its features and any process
//! that does not install one explicitly panics at its first TLS client. The first test shows
//! that this build is in that state; the second, that the operator starts all the same.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

#[test]
fn this_build_has_both_providers_so_none_is_chosen_by_default() {
    // Nothing in this test process installs a provider.
    let built = std::panic::catch_unwind(rustls::ClientConfig::builder);
    assert!(
        built.is_err(),
        "rustls chose a provider from its features: this build no longer reproduces the \
         workspace's two providers, so the operator test below proves nothing; enable both \
         `ring` and `aws-lc-rs` on the rustls dev-dependency again"
    );
}

#[test]
fn the_operator_starts_against_an_https_api_server() {
    let dir = std::env::temp_dir().join(format!("vcs-operator-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // An https server nothing listens on: building the client is what panicked, not using it.
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\n\
             clusters: [{{name: t, cluster: {{server: 'https://127.0.0.1:{}', insecure-skip-tls-verify: true}}}}]\n\
             users: [{{name: t, user: {{token: not-a-real-token}}}}]\n\
             contexts: [{{name: t, context: {{cluster: t, user: t}}}}]\n",
            free_port()
        ),
    )
    .unwrap();
    let placement = dir.join("placement.yaml");
    std::fs::write(&placement, "regions:\n- {name: r1, lat: 0, lon: 0}\n").unwrap();
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_vcs-operator"))
        .args([
            "--region",
            "r1",
            "--namespace",
            "default",
            "--no-leader-election",
        ])
        .arg("--placement-config")
        .arg(&placement)
        .args(["--metrics-addr", &metrics.to_string()])
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the operator binary starts");
    // The metrics endpoint is served only after the client was built.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut exited = None;
    while TcpStream::connect(metrics).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the operator's metrics endpoint did not answer within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        exited.is_none() && !stderr.contains("panicked") && !stderr.contains("CryptoProvider"),
        "the operator exited ({exited:?}) instead of serving metrics:\n{stderr}"
    );
}
