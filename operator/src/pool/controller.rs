//! The RecorderPool controller: keeps the buffer of idle pods and never deletes a pod a
//! Recording holds. It removes finished pods and claimed pods whose Recording is gone (deleted
//! while its claim was in flight), and gives back claims that lost a race to another pod of the
//! same Recording when their claimer died before doing so itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;
use thiserror::Error;
use tracing::{info, instrument, warn};

use super::math::{self, Buffer, PodView};
use super::pods::{is_finished, is_ready, recorder_pod, selector};
use crate::api::{
    ANNOTATION_RECORDING_UID, LABEL_POOL, LABEL_STATE, RecorderPool, RecorderPoolStatus, Recording,
    STATE_IDLE, set_condition,
};
use crate::context::Context;
use crate::telemetry::{ControllerLabels, PoolLabels};

#[derive(Debug, Error)]
pub enum PoolError {
    #[error("RecorderPool {pool}: {source}")]
    Kube { pool: String, source: kube::Error },
    #[error("RecorderPool {pool}: {source}")]
    Spec {
        pool: String,
        source: math::BufferError,
    },
}

/// Condition type: the pool has its buffer of ready idle pods.
pub const COND_READY: &str = "BufferReady";

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn view(pod: &Pod) -> PodView {
    PodView {
        name: pod.name_any(),
        idle: pod.labels().get(LABEL_STATE).map(String::as_str) == Some(STATE_IDLE),
        ready: is_ready(pod),
        deleting: pod.metadata.deletion_timestamp.is_some(),
        created: pod
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or_else(Utc::now, |t| {
                DateTime::from_timestamp_nanos(t.0.as_nanosecond() as i64)
            }),
    }
}

#[instrument(skip_all, fields(pool = %pool.name_any(), namespace = pool.namespace().unwrap_or_default()))]
pub async fn reconcile(pool: Arc<RecorderPool>, ctx: Arc<Context>) -> Result<Action, PoolError> {
    let started = Instant::now();
    let r = reconcile_inner(&pool, &ctx).await;
    ctx.metrics
        .reconcile_seconds
        .get_or_create(&ControllerLabels {
            controller: "recorderpool",
            outcome: if r.is_ok() { "ok" } else { "error" },
        })
        .observe(started.elapsed().as_secs_f64());
    r
}

async fn reconcile_inner(pool: &RecorderPool, ctx: &Context) -> Result<Action, PoolError> {
    let name = pool.name_any();
    let ns = pool.namespace().unwrap_or_default();
    let kube_err = |source| PoolError::Kube {
        pool: format!("{ns}/{name}"),
        source,
    };
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let pools: Api<RecorderPool> = Api::namespaced(ctx.client.clone(), &ns);
    if pool.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let buffer = match Buffer::parse(&pool.spec.buffer_size) {
        Ok(b) => b,
        Err(source) => {
            let mut st = pool.status.clone().unwrap_or_default();
            let now = rfc3339(Utc::now());
            set_condition(
                &mut st.conditions,
                COND_READY,
                false,
                "InvalidBufferSize",
                source.to_string(),
                pool.metadata.generation,
                &now,
            );
            st.observed_generation = pool.metadata.generation;
            write_status(&pools, pool, st).await.map_err(kube_err)?;
            return Err(PoolError::Spec {
                pool: format!("{ns}/{name}"),
                source,
            });
        }
    };
    let pods = pods_api
        .list(&ListParams::default().labels(&selector(pool)))
        .await
        .map_err(kube_err)?
        .items;

    // Dead recorders (they exit after their job) and orphaned claims go first.
    // One list of the Recordings rather than a read per claimed pod; read only when some pod
    // is claimed at all.
    let owners: BTreeMap<String, Recording> = if pods.iter().any(|p| claimed_for(p).is_some()) {
        let recordings: Api<Recording> = Api::namespaced(ctx.client.clone(), &ns);
        recordings
            .list(&ListParams::default())
            .await
            .map_err(kube_err)?
            .items
            .into_iter()
            .map(|r| (r.name_any(), r))
            .collect()
    } else {
        BTreeMap::new()
    };
    let mut live = Vec::with_capacity(pods.len());
    for pod in pods {
        if pod.metadata.deletion_timestamp.is_some() {
            live.push(pod);
            continue;
        }
        if is_finished(&pod) {
            info!(pod = %pod.name_any(), "deleting a finished recorder pod");
            delete_if_unchanged(&pods_api, &pod)
                .await
                .map_err(kube_err)?;
            continue;
        }
        match claim_state(&pod, &owners) {
            ClaimState::OwnerGone => {
                info!(pod = %pod.name_any(), "deleting a recorder pod whose Recording is gone");
                delete_if_unchanged(&pods_api, &pod)
                    .await
                    .map_err(kube_err)?;
            }
            ClaimState::LostRace => {
                info!(pod = %pod.name_any(), "giving back a claim that lost to another pod");
                crate::claim::give_back(&pods_api, &pod)
                    .await
                    .map_err(kube_err)?;
            }
            ClaimState::Unclaimed | ClaimState::Held => live.push(pod),
        }
    }

    let views: Vec<PodView> = live.iter().map(view).collect();
    let st0 = pool.status.clone().unwrap_or_default();
    let surplus_since = st0
        .surplus_since
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    let now = Utc::now();
    let window = chrono::Duration::seconds(i64::from(pool.spec.scale_down_stabilisation_secs));
    let plan = math::plan(
        &views,
        buffer,
        pool.spec.min_replicas,
        pool.spec.max_replicas,
        window,
        surplus_since,
        now,
    );

    for _ in 0..plan.create {
        let pod = recorder_pod(pool, None, BTreeMap::new(), BTreeMap::new());
        pods_api
            .create(&PostParams::default(), &pod)
            .await
            .map_err(kube_err)?;
    }
    let mut deleted = 0;
    for victim in &plan.delete {
        if let Some(pod) = live.iter().find(|p| p.name_any() == *victim)
            && delete_if_unchanged(&pods_api, pod)
                .await
                .map_err(kube_err)?
        {
            deleted += 1;
        }
    }
    if plan.create > 0 || deleted > 0 {
        info!(
            desired = plan.desired,
            created = plan.create,
            deleted,
            "scaled pool"
        );
    }

    let c = math::count(&views);
    let mut st = RecorderPoolStatus {
        observed_generation: pool.metadata.generation,
        replicas: c.replicas,
        ready: c.ready,
        starting: c.starting,
        idle: c.idle,
        claimed: c.claimed,
        desired: plan.desired,
        selector: Some(selector(pool)),
        surplus_since: plan.surplus_since.map(rfc3339),
        conditions: st0.conditions.clone(),
    };
    let buffer_ready = c.ready + c.claimed >= plan.desired;
    let (reason, msg) = if buffer_ready {
        (
            "BufferFull",
            format!("{} idle and ready, {} claimed", c.ready, c.claimed),
        )
    } else {
        (
            "Filling",
            format!(
                "{} of {} pods ready or claimed",
                c.ready + c.claimed,
                plan.desired
            ),
        )
    };
    set_condition(
        &mut st.conditions,
        COND_READY,
        buffer_ready,
        reason,
        msg,
        pool.metadata.generation,
        &rfc3339(now),
    );
    for (count, v) in [
        ("desired", plan.desired),
        ("replicas", c.replicas),
        ("ready", c.ready),
        ("starting", c.starting),
        ("claimed", c.claimed),
    ] {
        ctx.metrics
            .pool_pods
            .get_or_create(&PoolLabels {
                namespace: ns.clone(),
                pool: name.clone(),
                count,
            })
            .set(i64::from(v));
    }
    write_status(&pools, pool, st).await.map_err(kube_err)?;
    Ok(match plan.surplus_since {
        Some(since) => {
            let left = (since + window - now).to_std().unwrap_or_default();
            Action::requeue(left + Duration::from_millis(100))
        }
        None => Action::requeue(Duration::from_secs(60)),
    })
}

/// The Recording (name, uid) a pod is claimed for.
fn claimed_for(pod: &Pod) -> Option<(&String, &String)> {
    Some((
        pod.labels().get(crate::api::LABEL_RECORDING)?,
        pod.annotations().get(ANNOTATION_RECORDING_UID)?,
    ))
}

/// Where a pod stands with respect to the Recordings.
#[derive(Debug, PartialEq)]
enum ClaimState {
    Unclaimed,
    /// Claimed, and its Recording names it or names no pod yet.
    Held,
    /// Its Recording is gone (or is another object of the same name). It may have recorded.
    OwnerGone,
    /// Its Recording settled on another pod: this claim lost a race and its claimer died
    /// before giving it back. It was never sent a job.
    LostRace,
}

/// `owners` was listed after the pods, so a Recording that names this pod is in it.
fn claim_state(pod: &Pod, owners: &BTreeMap<String, Recording>) -> ClaimState {
    let Some((rec, uid)) = claimed_for(pod) else {
        return ClaimState::Unclaimed;
    };
    match owners.get(rec) {
        None => ClaimState::OwnerGone,
        Some(r) if r.uid().as_deref() != Some(uid.as_str()) => ClaimState::OwnerGone,
        Some(r) => match r.status.as_ref().and_then(|s| s.recorder_pod.as_ref()) {
            Some(p) if *p != pod.name_any() => ClaimState::LostRace,
            _ => ClaimState::Held,
        },
    }
}

/// Deletes `pod` only if nobody changed it since we read it (a claim in between wins).
async fn delete_if_unchanged(api: &Api<Pod>, pod: &Pod) -> Result<bool, kube::Error> {
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            resource_version: pod.resource_version(),
            uid: pod.uid(),
        }),
        ..Default::default()
    };
    match api.delete(&pod.name_any(), &dp).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

async fn write_status(
    api: &Api<RecorderPool>,
    pool: &RecorderPool,
    st: RecorderPoolStatus,
) -> Result<(), kube::Error> {
    if pool.status.as_ref() == Some(&st) {
        return Ok(());
    }
    let mut status = serde_json::to_value(&st).expect("status serialises");
    if st.surplus_since.is_none() {
        status["surplusSince"] = serde_json::Value::Null;
    }
    api.patch_status(
        &pool.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await?;
    Ok(())
}

pub fn error_policy(pool: Arc<RecorderPool>, err: &PoolError, _ctx: Arc<Context>) -> Action {
    warn!(pool = %pool.name_any(), cause = %err, "reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

/// Runs the RecorderPool controller over `namespace` (all when `None`) until the stream ends.
pub async fn run(ctx: Arc<Context>, namespace: Option<String>) {
    let (pools, pods): (Api<RecorderPool>, Api<Pod>) = match &namespace {
        Some(ns) => (
            Api::namespaced(ctx.client.clone(), ns),
            Api::namespaced(ctx.client.clone(), ns),
        ),
        None => (Api::all(ctx.client.clone()), Api::all(ctx.client.clone())),
    };
    Controller::new(pools, watcher::Config::default())
        .owns(pods, watcher::Config::default().labels(LABEL_POOL))
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(cause = %e, "pool reconcile");
            }
        })
        .await;
}
