//! What the stand-in reports about a pod, computed as a kubelet computes it: the phase from the
//! containers' states and the restart policy, the conditions with stable transition times, and
//! each container's status. Pure.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

/// How a container run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Terminated {
    pub exit_code: i32,
    /// The signal that killed it, if one did (the exit code is then 128 + signal).
    pub signal: Option<i32>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
}

impl Terminated {
    /// The kubelet's reason: `Completed` for exit 0, `Error` otherwise.
    pub fn reason(&self) -> &'static str {
        if self.exit_code == 0 {
            "Completed"
        } else {
            "Error"
        }
    }

    fn to_json(&self, container_id: &str) -> Value {
        let mut t = json!({
            "exitCode": self.exit_code,
            "reason": self.reason(),
            "startedAt": Time(self.started_at),
            "finishedAt": Time(self.finished_at),
            "containerID": container_id,
        });
        if let Some(s) = self.signal {
            t["signal"] = json!(s);
        }
        t
    }
}

/// A container's current state.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// Not running: being created (`ContainerCreating`), waiting out a restart back-off
    /// (`CrashLoopBackOff`), or unable to start (`RunContainerError`, `ErrImageNeverPull`).
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started_at: Timestamp,
    },
    Terminated(Terminated),
}

impl State {
    pub fn waiting(reason: &str, message: Option<String>) -> Self {
        State::Waiting {
            reason: reason.into(),
            message,
        }
    }

    fn to_json(&self, container_id: &str) -> Value {
        match self {
            State::Waiting { reason, message } => match message {
                Some(m) => json!({"waiting": {"reason": reason, "message": m}}),
                None => json!({"waiting": {"reason": reason}}),
            },
            State::Running { started_at } => json!({"running": {"startedAt": Time(*started_at)}}),
            State::Terminated(t) => json!({"terminated": t.to_json(container_id)}),
        }
    }
}

/// One container as the status reports it.
#[derive(Clone, Debug)]
pub struct ContainerView {
    pub name: String,
    pub image: String,
    /// `vcs-e2e://<pid>` of the current or last process.
    pub container_id: Option<String>,
    pub state: State,
    pub last: Option<Terminated>,
    pub restart_count: i32,
    pub ready: bool,
    /// Running and past its startup probe (if it has one).
    pub started: bool,
}

/// Whether a container that ended is started again, by the pod's `restartPolicy`.
pub fn restarts(policy: &str, exit_code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => exit_code != 0,
        _ => true, // "Always", the default
    }
}

/// The pod's phase: `Pending` until every container has been started once, `Succeeded` or
/// `Failed` once every container has ended for good (or the pod is being deleted and all have
/// stopped), else `Running`.
pub fn phase(containers: &[ContainerView], policy: &str, terminating: bool) -> &'static str {
    let ever_started = |c: &ContainerView| {
        c.restart_count > 0 || !matches!(c.state, State::Waiting { .. }) || c.last.is_some()
    };
    if containers.is_empty() || !containers.iter().all(ever_started) {
        return "Pending";
    }
    let ended: Vec<&Terminated> = containers
        .iter()
        .filter_map(|c| match &c.state {
            State::Terminated(t) if terminating || !restarts(policy, t.exit_code) => Some(t),
            _ => None,
        })
        .collect();
    if ended.len() < containers.len() {
        return "Running";
    }
    if ended.iter().all(|t| t.exit_code == 0) {
        "Succeeded"
    } else {
        "Failed"
    }
}

/// Pod conditions keyed by type, whose `lastTransitionTime` moves only when the status does.
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    by_type: BTreeMap<&'static str, (bool, Option<&'static str>, Timestamp)>,
}

impl Conditions {
    /// Sets condition `type_`; the transition time is `now` only if its status changed.
    pub fn set(
        &mut self,
        type_: &'static str,
        status: bool,
        reason: Option<&'static str>,
        now: Timestamp,
    ) {
        match self.by_type.get_mut(type_) {
            Some(c) if c.0 == status => c.1 = reason,
            _ => {
                self.by_type.insert(type_, (status, reason, now));
            }
        }
    }

    fn to_json(&self) -> Value {
        Value::Array(
            self.by_type
                .iter()
                .map(|(t, (s, reason, at))| {
                    let mut c = json!({
                        "type": t,
                        "status": if *s { "True" } else { "False" },
                        "lastTransitionTime": Time(*at),
                    });
                    if let Some(r) = reason {
                        c["reason"] = json!(r);
                    }
                    c
                })
                .collect(),
        )
    }
}

/// Everything the status is made from.
pub struct PodReport<'a> {
    pub containers: &'a [ContainerView],
    pub restart_policy: &'a str,
    pub terminating: bool,
    pub pod_ip: Option<String>,
    pub host_ip: &'a str,
    pub start_time: Timestamp,
}

/// Updates `conditions` from the containers and returns the pod's `status`.
pub fn pod_status(r: &PodReport<'_>, conditions: &mut Conditions, now: Timestamp) -> Value {
    let phase = phase(r.containers, r.restart_policy, r.terminating);
    let finished = phase == "Succeeded" || phase == "Failed";
    let all_ready = !r.containers.is_empty() && r.containers.iter().all(|c| c.ready);
    let ready = all_ready && !finished && !r.terminating;
    let why = |ok: bool| match (ok, finished) {
        (true, _) => None,
        (false, true) => Some("PodCompleted"),
        (false, false) => Some("ContainersNotReady"),
    };
    conditions.set("PodReadyToStartContainers", r.pod_ip.is_some(), None, now);
    conditions.set("Initialized", true, None, now);
    conditions.set("ContainersReady", ready, why(ready), now);
    conditions.set("Ready", ready, why(ready), now);
    conditions.set("PodScheduled", true, None, now);
    let statuses: Vec<Value> = r
        .containers
        .iter()
        .map(|c| {
            let id = c.container_id.clone().unwrap_or_default();
            let mut s = json!({
                "name": c.name,
                "image": c.image,
                "imageID": format!("vcs-e2e://{}", c.image),
                "ready": c.ready,
                "started": c.started,
                "restartCount": c.restart_count,
                "state": c.state.to_json(&id),
                "lastState": c.last.as_ref().map_or(json!({}), |t| json!({"terminated": t.to_json(&id)})),
            });
            if c.container_id.is_some() {
                s["containerID"] = json!(id);
            }
            s
        })
        .collect();
    let mut status = json!({
        "phase": phase,
        "hostIP": r.host_ip,
        "hostIPs": [{"ip": r.host_ip}],
        "startTime": Time(r.start_time),
        "conditions": conditions.to_json(),
        "containerStatuses": statuses,
    });
    if let Some(ip) = &r.pod_ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{ "ip": ip }]);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(code: i32) -> Terminated {
        Terminated {
            exit_code: code,
            signal: None,
            started_at: Timestamp::UNIX_EPOCH,
            finished_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn c(state: State, restarts: i32) -> ContainerView {
        ContainerView {
            name: "c".into(),
            image: "vcs-recorder:e2e".into(),
            container_id: Some("vcs-e2e://1".into()),
            state,
            last: None,
            restart_count: restarts,
            ready: false,
            started: false,
        }
    }

    #[test]
    fn the_phase_follows_the_containers_and_the_restart_policy() {
        let creating = c(State::waiting("ContainerCreating", None), 0);
        assert_eq!(phase(&[creating], "Never", false), "Pending");
        let running = c(
            State::Running {
                started_at: Timestamp::UNIX_EPOCH,
            },
            0,
        );
        assert_eq!(phase(&[running], "Never", false), "Running");
        let ok = c(State::Terminated(t(0)), 0);
        let bad = c(State::Terminated(t(1)), 0);
        assert_eq!(
            phase(std::slice::from_ref(&ok), "Never", false),
            "Succeeded"
        );
        assert_eq!(phase(std::slice::from_ref(&bad), "Never", false), "Failed");
        // A container that restarts keeps the pod Running.
        assert_eq!(
            phase(std::slice::from_ref(&bad), "Always", false),
            "Running"
        );
        assert_eq!(
            phase(std::slice::from_ref(&bad), "OnFailure", false),
            "Running"
        );
        assert_eq!(
            phase(std::slice::from_ref(&ok), "OnFailure", false),
            "Succeeded"
        );
        let backoff = c(State::waiting("CrashLoopBackOff", None), 1);
        assert_eq!(phase(&[backoff], "Always", false), "Running");
        // Deleted: stopped for good whatever the policy.
        assert_eq!(
            phase(&[c(State::Terminated(t(143)), 0)], "Always", true),
            "Failed"
        );
    }

    #[test]
    fn conditions_keep_their_transition_time_until_they_change() {
        let mut conds = Conditions::default();
        let t0 = Timestamp::from_second(100).unwrap();
        let t1 = Timestamp::from_second(200).unwrap();
        let mut ready = c(State::Running { started_at: t0 }, 0);
        ready.ready = true;
        let report = |containers| PodReport {
            containers,
            restart_policy: "Never",
            terminating: false,
            pod_ip: Some("127.0.9.9".into()),
            host_ip: "127.0.0.1",
            start_time: t0,
        };
        let s0 = pod_status(&report(std::slice::from_ref(&ready)), &mut conds, t0);
        let s1 = pod_status(&report(std::slice::from_ref(&ready)), &mut conds, t1);
        assert_eq!(s0, s1, "nothing changed, so the same status");
        assert_eq!(s1["phase"], "Running");
        assert_eq!(s1["podIP"], "127.0.9.9");
        let done = {
            let mut d = c(State::Terminated(t(0)), 0);
            d.last = Some(t(1));
            d
        };
        let s2 = pod_status(&report(std::slice::from_ref(&done)), &mut conds, t1);
        assert_eq!(s2["phase"], "Succeeded");
        let cond = |s: &Value, ty: &str| {
            s["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["type"] == ty)
                .unwrap()
                .clone()
        };
        assert_eq!(cond(&s2, "Ready")["status"], "False");
        assert_eq!(cond(&s2, "Ready")["reason"], "PodCompleted");
        assert_eq!(cond(&s2, "Ready")["lastTransitionTime"], json!(Time(t1)));
        assert_eq!(
            cond(&s2, "Initialized")["lastTransitionTime"],
            json!(Time(t0))
        );
        let cs = &s2["containerStatuses"][0];
        assert_eq!(cs["state"]["terminated"]["reason"], "Completed");
        assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
    }
}
