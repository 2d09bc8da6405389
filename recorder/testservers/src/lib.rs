//! Real servers the recorder's tests run against, each started on 127.0.0.1 on a free port and
//! killed when dropped: an S3-compatible store ([`S3Server`], s3s-fs) and an RTMP server
//! ([`RtmpServer`], nginx with libnginx-mod-rtmp). Both can be stopped and restarted on the same
//! port to test outages. A missing server binary fails the test with how to install it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Finds a program on PATH or in `~/.cargo/bin`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn wait_for_port(port: u16, what: &str, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening on 127.0.0.1:{port}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on 127.0.0.1:{port} within 20 s");
}

fn kill(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// An s3s-fs server storing objects as files under `root/<bucket>/<key>`.
pub struct S3Server {
    pub port: u16,
    pub root: PathBuf,
    pub access_key: String,
    pub secret_key: String,
    child: Option<Child>,
}

impl S3Server {
    /// Starts s3s-fs over `root` (created if missing).
    pub fn start(root: &Path) -> S3Server {
        std::fs::create_dir_all(root).unwrap();
        let mut s = S3Server {
            port: free_port(),
            root: root.to_path_buf(),
            access_key: "vcs-test-access".into(),
            secret_key: "vcs-test-secret-key".into(),
            child: None,
        };
        s.restart();
        s
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (s3s-fs buckets are folders).
    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir_all(self.root.join(bucket)).unwrap();
    }

    /// Where an object's bytes are stored once complete.
    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    /// Kills the server (an outage); objects stay on disk.
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }

    /// Starts the server again on the same port and root.
    pub fn restart(&mut self) {
        self.stop();
        let bin = find_program("s3s-fs").expect(
            "s3s-fs is not installed: run scripts/install-deps \
             (cargo install s3s-fs --version 0.14.1 --features binary)",
        );
        let log = self.root.with_extension("s3s-fs.log");
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
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("s3s-fs starts");
        wait_for_port(self.port, "s3s-fs", &mut child, &log);
        self.child = Some(child);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// nginx with the RTMP module: application `live` relays streams and records each publish to
/// `record_dir` as FLV (a new file per publish, so a reconnect shows as a second file).
pub struct RtmpServer {
    pub port: u16,
    pub prefix: PathBuf,
    pub record_dir: PathBuf,
    child: Option<Child>,
}

/// Where Debian's libnginx-mod-rtmp puts the module.
const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

impl RtmpServer {
    /// Starts nginx with a config of its own under `prefix` (created if missing).
    pub fn start(prefix: &Path) -> RtmpServer {
        let record_dir = prefix.join("recordings");
        std::fs::create_dir_all(&record_dir).unwrap();
        let mut s = RtmpServer {
            port: free_port(),
            prefix: prefix.to_path_buf(),
            record_dir,
            child: None,
        };
        s.restart();
        s
    }

    /// `rtmp://127.0.0.1:PORT/live/<key>`.
    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    /// FLV files recorded so far, oldest first.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.record_dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "flv"));
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
    }

    pub fn stop(&mut self) {
        kill(&mut self.child);
    }

    /// Starts nginx again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let nginx = find_program("nginx")
            .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))
            .expect("nginx is not installed: run scripts/install-deps (nginx, libnginx-mod-rtmp)");
        assert!(
            Path::new(RTMP_MODULE).is_file(),
            "{RTMP_MODULE} is missing: run scripts/install-deps (libnginx-mod-rtmp)"
        );
        let log = self.prefix.join("error.log");
        let conf = self.prefix.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "load_module {RTMP_MODULE};\n\
                 daemon off;\nmaster_process off;\nworker_processes 1;\n\
                 error_log {log} info;\npid {pid};\n\
                 events {{ worker_connections 64; }}\n\
                 rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n\
                   application live {{ live on; record all; record_path {rec}; record_unique on; }} }} }}\n",
                log = log.display(),
                pid = self.prefix.join("nginx.pid").display(),
                port = self.port,
                rec = self.record_dir.display(),
            ),
        )
        .unwrap();
        let mut child = Command::new(nginx)
            .arg("-p")
            .arg(&self.prefix)
            .arg("-e")
            .arg(&log)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        wait_for_port(self.port, "nginx-rtmp", &mut child, &log);
        self.child = Some(child);
    }
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
