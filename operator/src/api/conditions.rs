//! Status conditions in the Kubernetes shape (`metav1.Condition`): a typed status, a typed
//! `lastTransitionTime` and `observedGeneration`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Whether a condition holds.
#[derive(schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        }
    }
}

/// One condition. `lastTransitionTime` only changes when `status` does.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: ConditionStatus,
    /// One of the reason constants, in CamelCase.
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When `status` last changed.
    pub last_transition_time: Time,
}

/// When a reconcile looked, and at which generation of the object: what every condition it
/// sets is stamped with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observed {
    pub generation: Option<i64>,
    pub at: Timestamp,
}

/// Sets condition `type_` in `conditions`, keeping its `lastTransitionTime` when the status is
/// unchanged (so re-asserting a condition writes nothing new). Returns whether anything changed.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: impl Into<String>,
    observed: &Observed,
) -> bool {
    let message = message.into();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            let before = c.clone();
            if c.status != status {
                c.last_transition_time = Time(observed.at);
            }
            c.status = status;
            c.reason = reason.into();
            c.message = message;
            c.observed_generation = observed.generation;
            *c != before
        }
        None => {
            conditions.push(Condition {
                type_: type_.into(),
                status,
                reason: reason.into(),
                message,
                observed_generation: observed.generation,
                last_transition_time: Time(observed.at),
            });
            true
        }
    }
}

/// The condition of `type_`, when set.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConditionStatus::{False, True};

    #[test]
    fn transition_time_only_moves_when_status_changes() {
        let t = |s: i64| Timestamp::from_second(s).unwrap();
        let at = |generation: i64, s: i64| Observed {
            generation: Some(generation),
            at: t(s),
        };
        let set = |cs: &mut Vec<Condition>, status, reason, msg: &str, observed: Observed| {
            set_condition(cs, "Ready", status, reason, msg, &observed)
        };
        let mut cs = Vec::new();
        assert!(set(&mut cs, True, "Up", "", at(1, 1)));
        assert!(!set(&mut cs, True, "Up", "", at(1, 2)));
        assert_eq!(cs[0].last_transition_time, Time(t(1)));
        assert!(set(&mut cs, True, "Up", "new", at(2, 3)));
        assert_eq!(cs[0].last_transition_time, Time(t(1)));
        assert!(set(&mut cs, False, "Down", "", at(2, 4)));
        assert_eq!(cs[0].last_transition_time, Time(t(4)));
        assert_eq!(find_condition(&cs, "Ready").unwrap().reason, "Down");
    }

    #[test]
    fn conditions_read_and_write_the_kubernetes_shape() {
        let c: Condition = serde_json::from_value(serde_json::json!({
            "type": "Ready", "status": "True", "reason": "Up", "message": "",
            "observedGeneration": 3, "lastTransitionTime": "2026-01-02T03:04:05.678Z"
        }))
        .unwrap();
        assert_eq!((c.status, c.observed_generation), (True, Some(3)));
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["status"], "True");
        assert_eq!(back["lastTransitionTime"], "2026-01-02T03:04:05Z");
    }
}
