//! Phases Unplaced, OtherRegion and NeedsPod: where the Recording is recorded, and the pod it
//! is recorded on.

use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use tracing::{debug, info};

use super::condition::{self, reason};
use super::controller::RecordingError;
use super::pass::{Flow, Pass, Step, end};
use super::start::check_start_deadline;
use crate::api::ConditionStatus::{False, True};
use crate::api::recording::PlacementStatus;
use crate::claim;
use crate::placement::PlacementInput;

/// Unplaced: places the Recording, once; the session cannot move once placed (CEL keeps the
/// inputs immutable).
pub(super) fn place(pass: &mut Pass<'_>) -> Step<Flow> {
    let spec = &pass.rec.spec;
    let input = PlacementInput {
        override_region: spec.placement.as_ref().map(|p| p.region.as_str()),
        region_hint: spec.session.region_hint.as_deref(),
        media_server_url: spec.session.media_server_url.as_deref(),
    };
    match pass.ctx.placement.place(input) {
        Ok(d) => {
            pass.status.region = Some(d.region.clone());
            pass.status.placement = Some(PlacementStatus {
                region: d.region,
                reason: d.reason,
            });
            Ok(Flow::Next)
        }
        Err(e) => {
            pass.set(
                condition::ACCEPTED,
                False,
                reason::PLACEMENT_FAILED,
                e.to_string(),
            );
            pass.set(
                condition::PLACED,
                False,
                reason::PLACEMENT_FAILED,
                e.to_string(),
            );
            Ok(Flow::End(Action::await_change()))
        }
    }
}

/// OtherRegion: says where it went; that region's operator records it.
pub(super) fn leave_to_other_region(pass: &mut Pass<'_>) -> Step<Flow> {
    if let Some(p) = &pass.status.placement {
        let msg = format!(
            "placed in region {} ({}); that region's operator records it",
            p.region,
            p.reason.as_str()
        );
        pass.set(condition::PLACED, False, reason::OTHER_REGION, msg);
    }
    Ok(Flow::End(Action::await_change()))
}

/// NeedsPod: claims (or adopts, or cold-starts) a pod of the region's pool and records the claim
/// before anything else, and only if nobody else wrote this Recording meanwhile: two
/// reconcilers (two replicas, or one restarted mid-claim) may each have claimed or adopted a pod
/// for it, and the first write decides which pod it is.
pub(super) async fn get_pod(pass: &mut Pass<'_>) -> Step<Flow> {
    check_start_deadline(pass).await?;
    let pool = pass.pool().await?;
    let cache = pass.ctx.pod_cache.as_ref();
    let claimed = claim::claim(&pass.pods, cache, &pool, pass.rec, &pass.ctx.metrics)
        .await
        .map_err(|source| RecordingError::Claim {
            recording: format!("{}/{}", pass.ns, pass.name),
            source,
        })?;
    let pod_name = claimed.pod.name_any();
    if pass
        .status
        .continuation
        .as_ref()
        .map(|c| c.lost_pod.as_str())
        == Some(pod_name.as_str())
    {
        // The watch has not caught up with the lost pod's end yet: never record on it again.
        debug!(pod = %pod_name, "the lost pod is still listed as claimable; waiting");
        return end(Action::requeue(Duration::from_millis(500)));
    }
    let launch = claimed.launch.as_str();
    let (region, placed_by) = match &pass.status.placement {
        Some(p) => (p.region.clone(), p.reason.as_str()),
        None => (String::new(), ""),
    };
    pass.status.pool = Some(pool.name_any());
    pass.status.recorder_pod = Some(pod_name.clone());
    pass.status.launch = Some(claimed.launch);
    pass.status.claimed_at = Some(pass.now_micro());
    pass.set(condition::ACCEPTED, True, reason::VALID, "");
    pass.set(
        condition::PLACED,
        True,
        placed_by,
        format!("region {region}, pool {}", pool.name_any()),
    );
    pass.set(
        condition::RECORDER_READY,
        False,
        reason::POD_STARTING,
        format!("{launch} pod {pod_name}"),
    );
    // Conditional on the Recording as this pass last read or wrote it (a continuation's
    // pass wrote the loss first, see `restart::lost`).
    if !pass.persist_now().await? {
        return settle_lost_claim(pass, &pod_name).await;
    }
    pass.give_back_others(&pod_name).await?;
    let note = format!("{launch} pod {pod_name} from pool {}", pool.name_any());
    pass.event(EventType::Normal, reason::CLAIMED, note).await;
    info!(pod = %pod_name, launch, adopted = claimed.adopted, "recorder pod claimed");
    Ok(Flow::Next)
}

/// The claim of `pod_name` could not be recorded because the Recording changed since it was
/// read. Whether the pod goes back depends on what the Recording says now, not on how it was
/// got:
/// 1. The Recording names this very pod: another reconciler adopted it and recorded it first;
///    it is the Recording's pod and stays.
/// 2. The Recording names no pod: ours stays claimed for it, and the next reconcile adopts it.
/// 3. The Recording names another pod, or is gone: ours is surplus and is given back (see
///    [`claim::give_back`]). Nobody can come to record it then, because every claim write is
///    conditional on a Recording version from before the other pod was recorded.
async fn settle_lost_claim(pass: &mut Pass<'_>, pod_name: &str) -> Step<Flow> {
    pass.status = pass.written.clone();
    let fresh = pass
        .recs
        .get_opt(&pass.name)
        .await
        .map_err(|e| pass.err(e))?;
    let recorded = match &fresh {
        Some(r) if r.uid() == pass.rec.uid() => {
            r.status.as_ref().and_then(|s| s.recorder_pod.clone())
        }
        // Deleted, or replaced by another object of the same name.
        _ => Some(String::new()),
    };
    match recorded {
        Some(other) if other != pod_name => {
            let pod = pass.pods.get_opt(pod_name).await.map_err(|e| pass.err(e))?;
            if let Some(pod) = pod
                && pass.holds(&pod)
            {
                claim::give_back(&pass.pods, &pod)
                    .await
                    .map_err(|e| pass.err(e))?;
                info!(pod = %pod_name, recorded = %other, "another reconciler recorded a claim first; gave ours back");
            }
        }
        _ => {
            debug!(pod = %pod_name, "claim not recorded by this reconcile; the next one adopts it")
        }
    }
    end(Action::requeue(Duration::from_millis(100)))
}
