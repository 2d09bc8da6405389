//! Live edits: what to PATCH to the recorder when `spec.composition.params` or the
//! participants changed since they were last sent. Pure.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use vcs_job::Participant;
use vcs_job::control::JobPatch;

use crate::api::recording::AppliedSpec;

/// A stable digest of a participant list (its JSON), stored in status to detect edits.
pub fn participants_digest(p: &[Participant]) -> String {
    let mut h = DefaultHasher::new();
    serde_json::to_string(p)
        .expect("participants serialise")
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

/// What was sent with the job itself.
pub fn applied_at_start(
    params: &BTreeMap<String, serde_json::Value>,
    participants: &[Participant],
) -> AppliedSpec {
    AppliedSpec {
        params: params.clone(),
        participants_digest: Some(participants_digest(participants)),
    }
}

/// The patch taking the recorder from `applied` to the spec, or `None` when nothing changed.
/// Params removed from the spec are sent as `null` (back to their default).
pub fn diff(
    applied: &AppliedSpec,
    params: &BTreeMap<String, serde_json::Value>,
    participants: &[Participant],
) -> Option<JobPatch> {
    let mut patch = JobPatch::default();
    for (k, v) in params {
        if applied.params.get(k) != Some(v) {
            patch.params.insert(k.clone(), v.clone());
        }
    }
    for k in applied.params.keys() {
        if !params.contains_key(k) {
            patch.params.insert(k.clone(), serde_json::Value::Null);
        }
    }
    if applied.participants_digest.as_deref() != Some(participants_digest(participants).as_str()) {
        patch.participants = Some(participants.to_vec());
    }
    (!patch.is_empty()).then_some(patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changes_are_sent_and_removed_params_reset() {
        let p1 = vec![Participant {
            id: "a".into(),
            ..Default::default()
        }];
        let params = BTreeMap::from([("x".to_string(), json!(1)), ("y".to_string(), json!("s"))]);
        let applied = applied_at_start(&params, &p1);
        assert_eq!(diff(&applied, &params, &p1), None);
        let mut edited = params.clone();
        edited.insert("x".into(), json!(2));
        edited.remove("y");
        let patch = diff(&applied, &edited, &p1).unwrap();
        assert_eq!(
            patch.params,
            BTreeMap::from([
                ("x".to_string(), json!(2)),
                ("y".to_string(), serde_json::Value::Null)
            ])
        );
        assert_eq!(patch.participants, None);
        let mut p2 = p1.clone();
        p2.push(Participant {
            id: "b".into(),
            ..Default::default()
        });
        let patch = diff(&applied, &params, &p2).unwrap();
        assert!(patch.params.is_empty());
        assert_eq!(patch.participants.unwrap().len(), 2);
    }
}
