//! [`S3Server`]: a real S3-compatible store (s3s-fs) on loopback, which a test can stop and start
//! again to make an outage.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use vcs_job::{S3Credentials, S3Target};

use crate::process::{TempDir, find_program, free_port, kill, wait_for_port};

/// An s3s-fs server on 127.0.0.1 storing objects as files under `root/<bucket>/<key>`; killed
/// when dropped.
pub struct S3Server {
    pub port: u16,
    pub root: PathBuf,
    pub access_key: String,
    /// Distinctive, so a test can check that it never shows up in logs or status.
    pub secret_key: String,
    child: Option<Child>,
    /// The root's folder when the server made its own.
    _temp: Option<TempDir>,
}

impl S3Server {
    /// Starts s3s-fs over `root` (created if missing).
    pub fn start(root: &Path) -> S3Server {
        std::fs::create_dir_all(root)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
        let mut s = S3Server {
            port: free_port(),
            root: root.to_path_buf(),
            access_key: "vcs-test-access".into(),
            secret_key: "vcs-test-secret-do-not-log".into(),
            child: None,
            _temp: None,
        };
        s.restart();
        s
    }

    /// Starts s3s-fs over a temporary root of its own, removed with the server.
    pub fn start_temporary() -> S3Server {
        let temp = TempDir::new("s3");
        let mut s = S3Server::start(&temp.path().join("root"));
        s._temp = Some(temp);
        s
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (s3s-fs buckets are folders).
    pub fn create_bucket(&self, bucket: &str) {
        let dir = self.root.join(bucket);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }

    /// A job's S3 target for `key` in `bucket` on this server, with its credentials.
    pub fn target(&self, bucket: &str, key: &str) -> S3Target {
        S3Target {
            bucket: bucket.to_string(),
            key: key.to_string(),
            endpoint: Some(self.endpoint()),
            region: None,
            path_style: true,
            credentials: Some(S3Credentials {
                access_key_id: self.access_key.clone(),
                secret_access_key: self.secret_key.clone(),
                session_token: None,
            }),
        }
    }

    /// The same target as a job spec's YAML flow map (region us-east-1), for job files.
    pub fn target_yaml(&self, bucket: &str, key: &str) -> String {
        format!(
            "{{bucket: {bucket}, key: '{key}', endpoint: '{}', pathStyle: true, region: us-east-1, \
              credentials: {{accessKeyId: '{}', secretAccessKey: '{}'}}}}",
            self.endpoint(),
            self.access_key,
            self.secret_key
        )
    }

    /// Where an object's bytes are stored once complete.
    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    /// Deletes the server's record of every multipart upload in progress, as a store that lost
    /// them (or a lifecycle rule that aborted them) would. Returns how many there were.
    pub fn forget_multipart_uploads(&self) -> usize {
        let entries = std::fs::read_dir(&self.root)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", self.root.display()));
        let mut forgotten = 0;
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            // s3s-fs keeps each upload's state in `.upload-<id>.json` at the root.
            if name.starts_with(".upload-") && name.ends_with(".json") {
                std::fs::remove_file(&path)
                    .unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
                forgotten += 1;
            }
        }
        forgotten
    }

    /// Kills the server (an outage); objects stay on disk.
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }

    /// Starts the server again on the same port and root, and waits until it accepts.
    pub fn restart(&mut self) {
        self.stop();
        let bin = find_program("s3s-fs").unwrap_or_else(|| {
            panic!(
                "s3s-fs is not installed: run scripts/install-deps \
                 (cargo install s3s-fs --version 0.14.1 --features binary --locked)"
            )
        });
        let log = self.root.with_extension("s3s-fs.log");
        let log_file = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--access-key",
                &self.access_key,
                "--secret-key",
                &self.secret_key,
            ])
            .arg(&self.root)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start s3s-fs: {e}"));
        wait_for_port(self.port, "s3s-fs", &mut child, &log);
        self.child = Some(child);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
