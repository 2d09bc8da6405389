//! The RecorderPool controller: keeps the buffer of idle pods and never deletes a pod a
//! Recording holds. It removes finished pods and claimed pods whose Recording is gone (deleted
//! while its claim was in flight), and gives back claims that lost a race to another pod of the
//! same Recording when their claimer died before doing so itself.
//!
//! One reconcile: parse the buffer → [`collect_garbage`](PoolPass::collect_garbage) → the pure
//! [`math::plan`] → [`apply_plan`](PoolPass::apply_plan) →
//! [`write_status`](PoolPass::write_status) (and the pool gauges) → requeue when the scale-down
//! window closes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;
use thiserror::Error;
use tracing::{info, instrument, warn};

use super::garbage::delete_if_unchanged;
use super::math::{self, Buffer, Counts, PodView, ScalePlan};
use super::pods::{is_ready, recorder_pod, selector};
use crate::api::{
    ConditionStatus, LABEL_POOL, LABEL_STATE, Observed, RecorderPool, RecorderPoolStatus,
    STATE_IDLE, set_condition,
};
use crate::context::{Context, log_run_error};
use crate::telemetry::PoolLabels;

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
pub const BUFFER_READY: &str = "BufferReady";

/// Reasons of the [`BUFFER_READY`] condition.
pub mod reason {
    /// Every desired pod is ready or claimed.
    pub const BUFFER_FULL: &str = "BufferFull";
    /// Pods are still starting.
    pub const FILLING: &str = "Filling";
    /// `spec.bufferSize` does not parse.
    pub const INVALID_BUFFER_SIZE: &str = "InvalidBufferSize";
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
            .map_or_else(Timestamp::now, |t| t.0),
    }
}

#[instrument(skip_all, fields(pool = %pool.name_any(), namespace = pool.namespace().unwrap_or_default()))]
pub async fn reconcile(pool: Arc<RecorderPool>, ctx: Arc<Context>) -> Result<Action, PoolError> {
    let reconciled = reconcile_inner(&pool, &ctx);
    ctx.metrics.time_reconcile("recorderpool", reconciled).await
}

async fn reconcile_inner(pool: &RecorderPool, ctx: &Context) -> Result<Action, PoolError> {
    if pool.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let pass = PoolPass::new(pool, ctx);
    let buffer = match Buffer::parse(&pool.spec.buffer_size) {
        Ok(b) => b,
        Err(source) => return pass.refuse_buffer(source).await,
    };
    let live = pass.collect_garbage().await?;
    let views: Vec<PodView> = live.iter().map(view).collect();
    let now = Timestamp::now();
    let window = SignedDuration::from_secs(i64::from(pool.spec.scale_down_stabilisation_secs));
    let surplus_since = pool
        .status
        .as_ref()
        .and_then(|s| s.surplus_since.as_ref())
        .map(|t| t.0);
    let plan = math::plan(
        &views,
        buffer,
        pool.spec.min_replicas,
        pool.spec.max_replicas,
        window,
        surplus_since,
        now,
    );
    pass.apply_plan(&plan, &live).await?;
    let counts = math::count(&views);
    pass.export_metrics(&counts, &plan);
    pass.write_status(&counts, &plan, now).await?;
    Ok(match plan.surplus_since {
        Some(since) => {
            let left = Duration::try_from((since + window).duration_since(now)).unwrap_or_default();
            Action::requeue(left + Duration::from_millis(100))
        }
        None => Action::requeue(Duration::from_secs(60)),
    })
}

/// One reconcile of one pool: the object and its APIs.
pub(super) struct PoolPass<'a> {
    pub(super) pool: &'a RecorderPool,
    pub(super) ctx: &'a Context,
    pub(super) pods: Api<Pod>,
    pools: Api<RecorderPool>,
    pub(super) ns: String,
    name: String,
}

impl<'a> PoolPass<'a> {
    fn new(pool: &'a RecorderPool, ctx: &'a Context) -> Self {
        let ns = pool.namespace().unwrap_or_default();
        Self {
            pods: ctx.namespaced(&ns),
            pools: ctx.namespaced(&ns),
            name: pool.name_any(),
            pool,
            ctx,
            ns,
        }
    }

    pub(super) fn err(&self, source: kube::Error) -> PoolError {
        PoolError::Kube {
            pool: format!("{}/{}", self.ns, self.name),
            source,
        }
    }

    fn observed(&self, at: Timestamp) -> Observed {
        Observed {
            generation: self.pool.metadata.generation,
            at,
        }
    }

    /// `spec.bufferSize` does not parse: says so in the status and fails the reconcile.
    async fn refuse_buffer(&self, source: math::BufferError) -> Result<Action, PoolError> {
        let mut st = self.pool.status.clone().unwrap_or_default();
        set_condition(
            &mut st.conditions,
            BUFFER_READY,
            ConditionStatus::False,
            reason::INVALID_BUFFER_SIZE,
            source.to_string(),
            &self.observed(Timestamp::now()),
        );
        st.observed_generation = self.pool.metadata.generation;
        self.patch_status(st).await?;
        Err(PoolError::Spec {
            pool: format!("{}/{}", self.ns, self.name),
            source,
        })
    }

    /// Creates the pods the plan asks for and deletes its victims (unless changed meanwhile).
    async fn apply_plan(&self, plan: &ScalePlan, live: &[Pod]) -> Result<(), PoolError> {
        for _ in 0..plan.create {
            let pod = recorder_pod(self.pool, None, BTreeMap::new(), BTreeMap::new());
            self.pods
                .create(&PostParams::default(), &pod)
                .await
                .map_err(|e| self.err(e))?;
        }
        let mut deleted = 0;
        for victim in &plan.delete {
            if let Some(pod) = live.iter().find(|p| p.name_any() == *victim)
                && delete_if_unchanged(&self.pods, pod)
                    .await
                    .map_err(|e| self.err(e))?
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
        Ok(())
    }

    /// The pool's counts, surplus clock and `BufferReady` condition.
    async fn write_status(
        &self,
        c: &Counts,
        plan: &ScalePlan,
        now: Timestamp,
    ) -> Result<(), PoolError> {
        let old = self.pool.status.clone().unwrap_or_default();
        let mut st = RecorderPoolStatus {
            observed_generation: self.pool.metadata.generation,
            replicas: c.replicas,
            ready: c.ready,
            starting: c.starting,
            idle: c.idle,
            claimed: c.claimed,
            desired: plan.desired,
            selector: Some(selector(self.pool)),
            surplus_since: plan.surplus_since.map(Time),
            conditions: old.conditions,
        };
        let full = c.ready + c.claimed >= plan.desired;
        let (status, why, msg) = if full {
            (
                ConditionStatus::True,
                reason::BUFFER_FULL,
                format!("{} idle and ready, {} claimed", c.ready, c.claimed),
            )
        } else {
            (
                ConditionStatus::False,
                reason::FILLING,
                format!(
                    "{} of {} pods ready or claimed",
                    c.ready + c.claimed,
                    plan.desired
                ),
            )
        };
        set_condition(
            &mut st.conditions,
            BUFFER_READY,
            status,
            why,
            msg,
            &self.observed(now),
        );
        self.patch_status(st).await
    }

    fn export_metrics(&self, c: &Counts, plan: &ScalePlan) {
        for (count, v) in [
            ("desired", plan.desired),
            ("replicas", c.replicas),
            ("ready", c.ready),
            ("starting", c.starting),
            ("claimed", c.claimed),
        ] {
            self.ctx
                .metrics
                .pool_pods
                .get_or_create(&PoolLabels {
                    namespace: self.ns.clone(),
                    pool: self.name.clone(),
                    count,
                })
                .set(i64::from(v));
        }
    }

    /// Writes `st` unless the pool already has it.
    async fn patch_status(&self, st: RecorderPoolStatus) -> Result<(), PoolError> {
        if self.pool.status.as_ref() == Some(&st) {
            return Ok(());
        }
        let mut status = serde_json::to_value(&st).expect("status serialises");
        // A merge patch keeps keys it does not mention.
        if st.surplus_since.is_none() {
            status["surplusSince"] = serde_json::Value::Null;
        }
        self.pools
            .patch_status(
                &self.name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

pub fn error_policy(pool: Arc<RecorderPool>, err: &PoolError, _ctx: Arc<Context>) -> Action {
    warn!(pool = %pool.name_any(), cause = %err, "reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

/// Runs the RecorderPool controller over `namespace` (all when `None`) until the stream ends.
pub async fn run(ctx: Arc<Context>, namespace: Option<String>) {
    let ns = namespace.as_deref();
    let (pools, pods) = (ctx.watched::<RecorderPool>(ns), ctx.watched::<Pod>(ns));
    Controller::new(pools, watcher::Config::default())
        .owns(pods, watcher::Config::default().labels(LABEL_POOL))
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move { log_run_error(r.err(), "pool") })
        .await;
}
