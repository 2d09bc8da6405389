//! WHEP interop fixtures: a network namespace of the test's own where 127.0.0.1 sits on a veth
//! pair (libnice leaves loopback interfaces out, so on `lo` the recorder would gather nothing;
//! nothing in the namespace reaches outside the machine), the aiortc WHEP server
//! (`whep/whep_server.py` beside this crate, run from the venv `scripts/install-deps` makes at
//! `.venv-test`), and the measures of a marker recording (flash + beep every 2 s).
//!
//! ```text
//! Netns (unshare -n; lo without addresses; 127.0.0.1 on veth vcs0; IPv6 off)
//!   ├─ WhepServer: .venv-test/bin/python whep_server.py --port … --events events.jsonl
//!   └─ vcs-recorder render job.yaml (whep+http://127.0.0.1:…/whep)
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::process::Proc;
use crate::wait::wait_for;

/// A network namespace held open by a `sleep` child; killed (and so gone) on drop.
pub struct Netns {
    holder: Child,
    rootless: bool,
}

/// Makes the namespace's network: `lo` up without addresses, 127.0.0.1/8 on a veth pair (named so
/// libnice does not skip it as it skips `veth*`), IPv6 off.
const SETUP: &str = "set -e; ip link set lo up; ip addr flush dev lo; \
                     ip link add vcs0 type veth peer name vcs1; ip link set vcs0 up; \
                     ip link set vcs1 up; ip addr add 127.0.0.1/8 dev vcs0; \
                     sysctl -qw net.ipv6.conf.all.disable_ipv6=1; echo ready; exec sleep 3600";

impl Netns {
    /// The namespace, or why there cannot be one here (the caller skips, saying so).
    pub fn create() -> Result<Netns, String> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let mut holder = Command::new("unshare")
            .arg(if root { "-n" } else { "-rn" })
            .args(["--", "sh", "-c", SETUP])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run unshare: {e}"))?;
        let mut line = String::new();
        let stdout = holder.stdout.take().expect("piped stdout");
        let _ = BufReader::new(stdout).read_line(&mut line);
        if line.trim() != "ready" {
            let _ = holder.kill();
            let out = holder.wait_with_output().map_err(|e| e.to_string())?;
            return Err(format!(
                "cannot make a network namespace with 127.0.0.1 on a veth pair: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Netns {
            holder,
            rootless: !root,
        })
    }

    /// `program` to run inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t").arg(self.holder.id().to_string());
        if self.rootless {
            cmd.args(["-U", "--preserve-credentials"]);
        }
        cmd.arg("-n").arg("--").arg(program);
        cmd
    }
}

impl Netns {
    /// Drops (`true`) or lets through again (`false`) every UDP datagram in the namespace: the
    /// media path is lost while HTTP (TCP) still works. Err says why it cannot (no iptables).
    pub fn drop_udp(&self, drop: bool) -> Result<(), String> {
        let out = self
            .command("iptables")
            .args([
                if drop { "-I" } else { "-D" },
                "INPUT",
                "-p",
                "udp",
                "-j",
                "DROP",
            ])
            .output()
            .map_err(|e| format!("cannot run iptables: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "iptables in the namespace failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// The venv's python with aiortc, or why there is none (the caller skips, saying so).
pub fn aiortc_python() -> Result<PathBuf, String> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-test/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import aiortc, aiohttp"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(python)
    } else {
        Err(format!(
            "no aiortc at {} (scripts/install-deps makes it)",
            python.display()
        ))
    }
}

/// The aiortc WHEP server in a namespace: restartable on the same port; every event it logs
/// (JSON lines with a wall-clock `t`) is appended to one file across restarts.
pub struct WhepServer {
    pub port: u16,
    pub events: PathBuf,
    cmd_args: Vec<String>,
    python: PathBuf,
    proc: Option<Proc>,
}

impl WhepServer {
    /// Starts the server with `args` (`--codec h264`, `--dtls-role passive`, `--refuse`, ...) and
    /// waits until it listens.
    pub fn start(ns: &Netns, python: &Path, dir: &Path, port: u16, args: &[&str]) -> WhepServer {
        let mut server = WhepServer {
            port,
            events: dir.join("whep-events.jsonl"),
            cmd_args: args.iter().map(|a| a.to_string()).collect(),
            python: python.to_path_buf(),
            proc: None,
        };
        server.restart(ns);
        server
    }

    /// Kills the server (a crash, as far as the recorder can tell).
    pub fn kill(&mut self) {
        self.proc = None;
    }

    /// Starts it again (after [`WhepServer::kill`]) and waits until it listens.
    pub fn restart(&mut self, ns: &Netns) {
        let listening = self.count("listening");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("whep/whep_server.py");
        let mut cmd = ns.command(&self.python);
        cmd.arg(script)
            .args(["--port", &self.port.to_string(), "--events"])
            .arg(&self.events)
            .args(&self.cmd_args);
        self.proc = Some(Proc::spawn("the aiortc WHEP server", &mut cmd));
        wait_for(
            "the aiortc WHEP server to listen",
            Duration::from_secs(30),
            || (self.count("listening") > listening).then_some(()),
        );
    }

    /// `whep+http://127.0.0.1:<port>/whep`.
    pub fn url(&self) -> String {
        format!("whep+http://127.0.0.1:{}/whep", self.port)
    }

    /// Every event so far.
    pub fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn count(&self, event: &str) -> usize {
        self.log().iter().filter(|e| e["event"] == event).count()
    }
}

/// The ICE candidates of every offer and trickle PATCH the server received, as `a=candidate:`
/// lines.
pub fn offered_candidates(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e["event"].as_str() {
            Some("offer") => e["sdp"].as_str(),
            Some("patch") => e["body"].as_str(),
            _ => None,
        })
        .flat_map(|sdp| sdp.lines().filter(|l| l.starts_with("a=candidate:")))
        .map(str::to_string)
        .collect()
}

/// For each connected session, where the recorder's candidate of the nominated pair came from:
/// `offer`, `patch` (trickled) or `prflx` (learned from the recorder's checks).
pub fn selected_from(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "selected")
        .map(|e| e["from"].as_str().unwrap_or("none").to_string())
        .collect()
}

/// Seconds from each restart (`listening` after the first) to the next connected session.
pub fn reconnect_secs(events: &[Value]) -> Vec<f64> {
    let t = |e: &Value| e["t"].as_f64().unwrap_or(0.0);
    let mut out = Vec::new();
    let mut restarted: Option<f64> = None;
    let mut starts = 0;
    for e in events {
        if e["event"] == "listening" {
            starts += 1;
            if starts > 1 {
                restarted = Some(t(e));
            }
        } else if e["event"] == "state"
            && e["state"] == "connected"
            && let Some(r) = restarted.take()
        {
            out.push(t(e) - r);
        }
    }
    out
}

/// When (seconds into `path` at `fps`) the source's first frame shows: the first frame brighter
/// than the composition's black background (the source is never darker than grey).
pub fn first_frame_secs(path: &Path, fps: u32) -> Option<f64> {
    crate::lipsync::frame_brightness(path)
        .iter()
        .position(|&l| l > 40.0)
        .map(|i| i as f64 / f64::from(fps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_are_timed_from_each_restart() {
        let events: Vec<Value> = [
            r#"{"event":"listening","t":1.0}"#,
            r#"{"event":"state","state":"connected","t":2.0}"#,
            r#"{"event":"listening","t":10.0}"#,
            r#"{"event":"state","state":"connected","t":11.5}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
        assert_eq!(reconnect_secs(&events), [1.5]);
    }
}
