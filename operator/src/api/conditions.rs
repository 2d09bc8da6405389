//! Status conditions in the Kubernetes shape, with `observedGeneration`.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// One condition. `lastTransitionTime` only changes when `status` does.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// RFC 3339.
    #[serde(default)]
    pub last_transition_time: String,
}

/// Sets condition `type_` in `conditions`, keeping its `lastTransitionTime` when the status is
/// unchanged (so re-asserting a condition writes nothing new). Returns whether anything changed.
#[allow(clippy::too_many_arguments)]
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &str,
) -> bool {
    let status = if status { "True" } else { "False" };
    let message = message.into();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            let before = c.clone();
            if c.status != status {
                c.last_transition_time = now.to_string();
            }
            c.status = status.into();
            c.reason = reason.into();
            c.message = message;
            c.observed_generation = generation;
            *c != before
        }
        None => {
            conditions.push(Condition {
                type_: type_.into(),
                status: status.into(),
                reason: reason.into(),
                message,
                observed_generation: generation,
                last_transition_time: now.into(),
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

    #[test]
    fn transition_time_only_moves_when_status_changes() {
        let mut cs = Vec::new();
        assert!(set_condition(
            &mut cs,
            "Ready",
            true,
            "Up",
            "",
            Some(1),
            "t1"
        ));
        assert!(!set_condition(
            &mut cs,
            "Ready",
            true,
            "Up",
            "",
            Some(1),
            "t2"
        ));
        assert_eq!(cs[0].last_transition_time, "t1");
        assert!(set_condition(
            &mut cs,
            "Ready",
            true,
            "Up",
            "new",
            Some(2),
            "t3"
        ));
        assert_eq!(cs[0].last_transition_time, "t1");
        assert!(set_condition(
            &mut cs,
            "Ready",
            false,
            "Down",
            "",
            Some(2),
            "t4"
        ));
        assert_eq!(cs[0].last_transition_time, "t4");
        assert_eq!(find_condition(&cs, "Ready").unwrap().reason, "Down");
    }
}
