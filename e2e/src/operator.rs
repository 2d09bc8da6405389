//! The operator binary as a child process, with its log in a file; killed when dropped.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vcs_test_support::free_port;

pub struct OperatorProcess {
    child: Child,
    pub log: PathBuf,
    pub metrics_addr: SocketAddr,
}

impl OperatorProcess {
    /// Starts `bin` for `region` watching `namespace` (its Lease lives there too) and waits
    /// until its metrics endpoint answers. Panics with the log if it exits first.
    pub fn start(
        bin: &Path,
        namespace: &str,
        region: &str,
        placement: &Path,
        log: PathBuf,
    ) -> Self {
        let metrics_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let child = Command::new(bin)
            .args(["--region", region])
            .arg("--placement-config")
            .arg(placement)
            .args(["--namespace", namespace])
            .args(["--metrics-addr", &metrics_addr.to_string()])
            .args(["--lease-namespace", namespace])
            .args(["--identity", &format!("vcs-e2e-{}", std::process::id())])
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("the operator log file can be created"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let mut op = Self {
            child,
            log,
            metrics_addr,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(metrics_addr).is_err() {
            if let Ok(Some(status)) = op.child.try_wait() {
                panic!(
                    "the operator exited ({status}) at start:\n{}",
                    op.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the operator's metrics endpoint {metrics_addr} did not answer within 30 s; log: {}",
                op.log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        op
    }

    /// The operator's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
