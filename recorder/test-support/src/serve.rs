//! `vcs-recorder serve` as a child process, as a pod runs it: on a free loopback port, with a
//! bearer token and a spool folder, waited on until `/readyz` answers, killed when dropped.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::{ControlClient, free_port, wait_for};

/// A warm-up (JS engine, fonts, GStreamer) takes seconds on a loaded machine; a recorder that
/// never gets ready must still fail the test.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// One running `vcs-recorder serve`.
pub struct RecorderServe {
    child: Child,
    /// A client for its control API that sends the token.
    pub api: ControlClient,
}

impl RecorderServe {
    /// Starts `recorder serve` with its token file, spool folder and (when `log` is given)
    /// stderr under `dir`, lingering `linger_secs` after a job; returns once it is ready.
    pub fn start(
        recorder: &Path,
        dir: &Path,
        token: &str,
        linger_secs: u32,
        log: Option<&str>,
    ) -> RecorderServe {
        let port = free_port();
        let token_file = dir.join("token");
        std::fs::write(&token_file, format!("{token}\n"))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", token_file.display()));
        let stderr = match log {
            Some(name) => {
                let path = dir.join(name);
                std::fs::File::create(&path)
                    .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()))
                    .into()
            }
            None => Stdio::null(),
        };
        let child = Command::new(recorder)
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--token-file")
            .arg(&token_file)
            .arg("--spool-dir")
            .arg(dir.join("spool"))
            .args(["--linger-secs", &linger_secs.to_string()])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", recorder.display()));
        let addr = ([127, 0, 0, 1], port).into();
        let serve = RecorderServe {
            child,
            api: ControlClient::new(addr, Some(token)),
        };
        serve.api.wait_ready(READY_TIMEOUT);
        serve
    }

    /// The process id (to send it a signal).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit (it does once its job is over and it has lingered).
    pub fn wait_exit(mut self, timeout: Duration) -> ExitStatus {
        let child = &mut self.child;
        wait_for("vcs-recorder serve to exit", timeout, || {
            child
                .try_wait()
                .expect("the serve process can be waited on")
        })
    }
}

impl Drop for RecorderServe {
    fn drop(&mut self) {
        // Our own child, by its handle: nothing else is touched.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
