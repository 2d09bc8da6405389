//! Live edits: what to PATCH to the recorder when `spec.composition.params` or the
//! participants changed since they were last sent. Pure.

use std::collections::BTreeMap;
use std::fmt::Write;

use sha2::{Digest, Sha256};

use vcs_job::Participant;
use vcs_job::control::JobPatch;

use crate::api::recording::AppliedSpec;

/// A stable digest of a participant list (the SHA-256 of its JSON, in hex), stored in status to
/// detect edits. A digest written by an older operator (any other value) does not match, so
/// the list is sent once more: harmless, the recorder applies the same list again.
pub fn participants_digest(p: &[Participant]) -> String {
    let json = serde_json::to_vec(p).expect("participants serialise");
    Sha256::digest(json)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
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

    #[test]
    fn the_digest_is_sha256_and_an_older_digest_resends_the_participants() {
        assert_eq!(
            participants_digest(&[]),
            // sha256("[]")
            "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
        );
        let p = vec![Participant {
            id: "a".into(),
            ..Default::default()
        }];
        // What operators before this digest wrote (std's DefaultHasher, 16 hex digits).
        let older = AppliedSpec {
            participants_digest: Some("9c1e7a0f3b2d4e5f".into()),
            ..Default::default()
        };
        let patch = diff(&older, &BTreeMap::new(), &p).unwrap();
        assert_eq!(patch.participants, Some(p.clone()));
        assert!(patch.params.is_empty());
        // Once recorded as sent, it is not sent again.
        assert_eq!(
            diff(
                &applied_at_start(&BTreeMap::new(), &p),
                &BTreeMap::new(),
                &p
            ),
            None
        );
    }
}
