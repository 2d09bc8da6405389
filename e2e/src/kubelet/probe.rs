//! Startup, readiness and liveness probes, run as the kubelet runs them: `httpGet` (any status from 200
//! to 399 succeeds) or `tcpSocket` against the pod's address, every `periodSeconds` after
//! `initialDelaySeconds`, each bounded by `timeoutSeconds`, and the result flips only after
//! `successThreshold` successes or `failureThreshold` failures in a row. Each probe runs in its
//! own task so a hung container never holds up the others.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use http_body_util::Empty;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub type Http = HttpClient<HttpConnector, Empty<Bytes>>;

pub fn http_client() -> Http {
    HttpClient::builder(TokioExecutor::new()).build_http()
}

#[derive(Clone, Debug)]
enum Check {
    Http { url: String },
    Tcp { addr: SocketAddr },
}

/// One probe of one container, and where its results stand.
#[derive(Debug)]
pub struct Prober {
    check: Check,
    initial_delay: Duration,
    period: Duration,
    timeout: Duration,
    success_threshold: u32,
    failure_threshold: u32,
    next: Instant,
    in_flight: Option<JoinHandle<bool>>,
    successes: u32,
    failures: u32,
    /// The current result: Ready for a readiness probe, alive for a liveness probe.
    pub passing: bool,
    initially: bool,
}

fn secs(v: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(v.unwrap_or(default).max(0) as u64)
}

/// A named or numbered container port.
fn port(p: &IntOrString, c: &Container) -> Result<u16, String> {
    match p {
        IntOrString::Int(n) => {
            u16::try_from(*n).map_err(|_| format!("probe port {n} is out of range"))
        }
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|cp| cp.name.as_deref() == Some(name.as_str()))
            .and_then(|cp| u16::try_from(cp.container_port).ok())
            .ok_or_else(|| format!("probe port {name:?} names no port of container {}", c.name)),
    }
}

impl Prober {
    /// A prober of `probe` on the container `c` of the pod at `ip`; `initially` is the result
    /// before the first probe (false for readiness, true for liveness).
    pub fn new(
        probe: &Probe,
        c: &Container,
        ip: Ipv4Addr,
        initially: bool,
    ) -> Result<Self, String> {
        let check = if let Some(get) = &probe.http_get {
            if get.scheme.as_deref().is_some_and(|s| s != "HTTP") {
                return Err(
                    "only HTTP httpGet probes are supported by the kubelet stand-in".into(),
                );
            }
            let host = get.host.clone().unwrap_or_else(|| ip.to_string());
            let path = get.path.clone().unwrap_or_else(|| "/".into());
            Check::Http {
                url: format!("http://{host}:{}{path}", port(&get.port, c)?),
            }
        } else if let Some(tcp) = &probe.tcp_socket {
            Check::Tcp {
                addr: SocketAddr::from((ip, port(&tcp.port, c)?)),
            }
        } else {
            return Err(
                "only httpGet and tcpSocket probes are supported by the kubelet stand-in".into(),
            );
        };
        Ok(Self {
            check,
            initial_delay: secs(probe.initial_delay_seconds, 0),
            period: secs(probe.period_seconds, 10).max(Duration::from_secs(1)),
            timeout: secs(probe.timeout_seconds, 1).max(Duration::from_secs(1)),
            success_threshold: probe.success_threshold.unwrap_or(1).max(1) as u32,
            failure_threshold: probe.failure_threshold.unwrap_or(3).max(1) as u32,
            next: Instant::now(),
            in_flight: None,
            successes: 0,
            failures: 0,
            passing: initially,
            initially,
        })
    }

    /// As many failures in a row as the probe allows: a startup probe that has not passed by
    /// then gets its container killed.
    pub fn exhausted(&self) -> bool {
        self.failures >= self.failure_threshold
    }

    /// Starts over, for a container (re)started now.
    pub fn restart(&mut self) {
        if let Some(t) = self.in_flight.take() {
            t.abort();
        }
        self.next = Instant::now() + self.initial_delay;
        (self.successes, self.failures) = (0, 0);
        self.passing = self.initially;
    }

    /// Takes the result of a finished probe and starts a due one; returns true when
    /// [`passing`](Self::passing) changed.
    pub fn poll(&mut self, http: &Http) -> bool {
        let mut changed = false;
        if let Some(task) = &mut self.in_flight
            && task.is_finished()
        {
            let ok = task.now_or_never().and_then(Result::ok).unwrap_or(false);
            self.in_flight = None;
            if ok {
                (self.successes, self.failures) = (self.successes + 1, 0);
                if !self.passing && self.successes >= self.success_threshold {
                    (self.passing, changed) = (true, true);
                }
            } else {
                (self.successes, self.failures) = (0, self.failures + 1);
                if self.passing && self.failures >= self.failure_threshold {
                    (self.passing, changed) = (false, true);
                }
            }
        }
        if self.in_flight.is_none() && Instant::now() >= self.next {
            self.next = Instant::now() + self.period;
            let (check, timeout, http) = (self.check.clone(), self.timeout, http.clone());
            self.in_flight = Some(tokio::spawn(async move {
                tokio::time::timeout(timeout, run(&check, &http))
                    .await
                    .unwrap_or(false)
            }));
        }
        changed
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        if let Some(t) = self.in_flight.take() {
            t.abort();
        }
    }
}

async fn run(check: &Check, http: &Http) -> bool {
    match check {
        Check::Http { url } => match url.parse() {
            Ok(uri) => http
                .get(uri)
                .await
                .is_ok_and(|r| (200..400).contains(&r.status().as_u16())),
            Err(_) => false,
        },
        Check::Tcp { addr } => tokio::net::TcpStream::connect(addr).await.is_ok(),
    }
}
