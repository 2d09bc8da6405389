//! A real S3-compatible server (s3s-fs) for the tests, started on a free port with a temp root
//! and killed on drop, plus helpers to read back what landed in it.

#![allow(dead_code)] // each test file uses a different subset

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vcs_job::{S3Credentials, S3Target};

pub const ACCESS_KEY: &str = "vcs-test-access";
pub const SECRET_KEY: &str = "vcs-test-secret-do-not-log";
pub const BUCKET: &str = "recordings";

/// Finds the s3s-fs binary on PATH or in ~/.cargo/bin; fails the test with install help if absent.
fn s3s_fs_binary() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("s3s-fs"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/s3s-fs"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "s3s-fs not found on PATH or in ~/.cargo/bin; install it with \
             `cargo install s3s-fs --version 0.14.1 --features binary --locked` \
             (or run scripts/install-deps)"
            )
        })
}

/// An s3s-fs process serving `root` on 127.0.0.1:`port`.
pub struct S3Server {
    pub port: u16,
    pub root: tempfile::TempDir,
    child: Option<Child>,
}

impl S3Server {
    /// Starts a server with bucket [`BUCKET`] already present.
    pub fn start() -> Self {
        let root = tempfile::tempdir().expect("temp root");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut server = Self {
            port,
            root,
            child: None,
        };
        server.restart();
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process (an outage); objects and in-progress uploads stay in the root dir.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same port and root, and waits until it accepts.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(s3s_fs_binary())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn s3s-fs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "s3s-fs did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A target for `key` in [`BUCKET`] with the server's credentials.
    pub fn target(&self, key: &str) -> S3Target {
        S3Target {
            bucket: BUCKET.to_string(),
            key: key.to_string(),
            endpoint: Some(self.endpoint()),
            region: None,
            path_style: true,
            credentials: Some(S3Credentials {
                access_key_id: ACCESS_KEY.to_string(),
                secret_access_key: SECRET_KEY.to_string(),
                session_token: None,
            }),
        }
    }

    /// Downloads an object through the S3 API (not by peeking at the root dir).
    pub fn get(&self, key: &str) -> Vec<u8> {
        let endpoint = self.endpoint();
        let key = key.to_string();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let config = aws_sdk_s3::config::Builder::new()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .endpoint_url(endpoint)
                .force_path_style(true)
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    ACCESS_KEY, SECRET_KEY, None, None, "test",
                ))
                .build();
            let client = aws_sdk_s3::Client::from_conf(config);
            let object = client
                .get_object()
                .bucket(BUCKET)
                .key(&key)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!("get {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e))
                });
            object
                .body
                .collect()
                .await
                .expect("body")
                .into_bytes()
                .to_vec()
        })
    }

    /// Deletes the server's record of every in-progress multipart upload, as a store that lost
    /// them (or a lifecycle rule that aborted them) would.
    pub fn forget_multipart_uploads(&self) -> usize {
        let mut forgotten = 0;
        for entry in std::fs::read_dir(self.root.path()).expect("read root") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.starts_with(".upload-") && name.ends_with(".json") {
                std::fs::remove_file(&path).expect("remove upload record");
                forgotten += 1;
            }
        }
        forgotten
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Logs from the crate under test, shown for failing tests.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "vcs_upload=debug".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Deterministic, non-repeating test content.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}
