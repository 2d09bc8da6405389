//! Cleanup of a deleted Recording, behind the [`FINALIZER`]: stop the recorder, wait (bounded
//! by the deletion grace period) for the outputs, release the pod, give back stray claims, drop
//! the finalizer.

use std::time::Duration;

use k8s_openapi::jiff::SignedDuration;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use serde_json::json;

use super::controller::RecordingError;
use super::pass::Pass;
use super::status;
use crate::api::{FINALIZER, RecorderPool, Recording};

/// Adds the finalizer; the update comes back through the watch and the reconcile continues
/// from there.
pub(super) async fn add_finalizer(pass: &Pass<'_>) -> Result<Action, RecordingError> {
    let mut fins = pass.rec.finalizers().to_vec();
    fins.push(FINALIZER.into());
    match patch_finalizers(pass, fins).await {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            Ok(Action::requeue(Duration::from_millis(200)))
        }
        Err(e) => Err(pass.err(e)),
    }
}

pub(super) fn has_finalizer(rec: &Recording) -> bool {
    rec.finalizers().iter().any(|f| f == FINALIZER)
}

/// Replaces the finalizer list, only if the Recording is still at the version read.
async fn patch_finalizers(pass: &Pass<'_>, fins: Vec<String>) -> Result<Recording, kube::Error> {
    let patch =
        json!({"metadata": {"finalizers": fins, "resourceVersion": pass.rec.resource_version()}});
    pass.recs
        .patch(&pass.name, &PatchParams::default(), &Patch::Merge(patch))
        .await
}

/// Deletion: stop the recorder and wait for its outputs, then let the Recording go.
pub(super) async fn cleanup(pass: &mut Pass<'_>) -> Result<Action, RecordingError> {
    if let Some(wait) = finish_outputs(pass).await? {
        return Ok(wait);
    }
    pass.persist().await?;
    pass.release_pod().await?;
    // Claims that never got recorded (a reconciler lost its write, or died before it).
    let kept = pass.status.recorder_pod.clone().unwrap_or_default();
    pass.give_back_others(&kept).await?;
    let fins: Vec<String> = pass
        .rec
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    if fins.len() != pass.rec.finalizers().len() {
        match patch_finalizers(pass, fins).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                return Ok(Action::requeue(Duration::from_millis(200)));
            }
            Err(e) => return Err(pass.err(e)),
        }
    }
    Ok(Action::await_change())
}

/// Stops a recording that was running (or reads how its stop goes), within the grace period
/// since the deletion. `Some` (when to look again) while the outputs are still finishing; `None`
/// when there is nothing (more) to wait for: not started, already finished, out of time, or
/// the recorder unreachable or refusing.
async fn finish_outputs(pass: &mut Pass<'_>) -> Result<Option<Action>, RecordingError> {
    let (rec, ctx) = (pass.rec, pass.ctx);
    let deleting_since = rec
        .metadata
        .deletion_timestamp
        .as_ref()
        .map_or(pass.now(), |t| t.0);
    let grace = SignedDuration::try_from(ctx.timings.deletion_grace).unwrap_or_default();
    let within_grace = pass.now().duration_since(deleting_since) < grace;
    let (Some(pod_name), Some(pool_name)) =
        (pass.status.recorder_pod.clone(), pass.status.pool.clone())
    else {
        return Ok(None);
    };
    if pass.status.result.is_some() || pass.status.started_at.is_none() || !within_grace {
        return Ok(None);
    }
    let pools: Api<RecorderPool> = ctx.namespaced(&pass.ns);
    let pod = pass
        .pods
        .get_opt(&pod_name)
        .await
        .map_err(|e| pass.err(e))?;
    let pool = pools.get_opt(&pool_name).await.map_err(|e| pass.err(e))?;
    let (Some(pod), Some(pool)) = (pod, pool) else {
        return Ok(None);
    };
    let Some(base) = (ctx.endpoint)(&pod, pool.spec.template.port()) else {
        return Ok(None);
    };
    let token = pass.token(&pool).await?.unwrap_or_default();
    let reply = if pass.status.stop_requested_at.is_none() {
        let r = ctx.recorders.stop(&base, &token).await;
        if r.is_ok() {
            pass.status.stop_requested_at = Some(pass.now_micro());
        }
        r
    } else {
        ctx.recorders.status(&base, &token).await
    };
    // Unreachable or refusing (an error): nothing more to wait for.
    let Ok(js) = reply else { return Ok(None) };
    let observed = pass.observed;
    status::mirror(&mut pass.status, &js, &observed);
    if js.state.is_terminal() {
        return Ok(None);
    }
    pass.persist().await?;
    Ok(Some(Action::requeue(
        Duration::from_millis(500).min(ctx.timings.poll),
    )))
}
