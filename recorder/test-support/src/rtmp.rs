//! [`RtmpServer`]: nginx with the RTMP module on loopback, recording every publish, which a test
//! can kill and start again on the same port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::process::{find_program, free_port, kill, wait_for_port};

/// Where Debian's libnginx-mod-rtmp puts the module.
const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// nginx with the RTMP module: application `live` relays streams and records each publish to
/// `record_dir` as FLV (a new file per publish, so a reconnect shows as a second file).
pub struct RtmpServer {
    pub port: u16,
    pub prefix: PathBuf,
    pub record_dir: PathBuf,
    child: Option<Child>,
}

impl RtmpServer {
    /// Starts nginx with a config of its own under `prefix` (created if missing).
    pub fn start(prefix: &Path) -> RtmpServer {
        let record_dir = prefix.join("recordings");
        std::fs::create_dir_all(&record_dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", record_dir.display()));
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
        // `record_unique` names are `<key>-<unix time>.flv`; the time breaks ties between
        // publishes within the same second.
        files.sort_by_key(|p| {
            let modified = std::fs::metadata(p).and_then(|m| m.modified()).ok();
            (modified, p.clone())
        });
        files
    }

    /// Kills nginx (SIGKILL, as a crash would); what it recorded stays.
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }

    /// Starts nginx again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let nginx = find_program("nginx")
            .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))
            .unwrap_or_else(|| {
                panic!(
                    "nginx is not installed: run scripts/install-deps (nginx, libnginx-mod-rtmp)"
                )
            });
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
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
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
            .unwrap_or_else(|e| panic!("cannot start nginx: {e}"));
        wait_for_port(self.port, "nginx-rtmp", &mut child, &log);
        self.child = Some(child);
    }
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
