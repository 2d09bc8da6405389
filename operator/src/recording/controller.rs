//! Reconciles one Recording a step at a time; every step is safe to repeat (a restart, a second
//! replica or a retry finds the same state and does nothing new), and a settled Recording is
//! not written at all.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::{Value, json};
use thiserror::Error;
use tracing::{debug, info, instrument, warn};

use super::job::{self, JobError, Secrets};
use super::live;
use super::status::{self as cond, mirror, reason};
use crate::api::{
    ANNOTATION_RECORDING_UID, FINALIZER, LABEL_RECORDING, RecorderPool, Recording, RecordingStatus,
    set_condition,
};
use crate::claim;
use crate::context::Context;
use crate::placement::PlacementInput;
use crate::pool::pods::{is_finished, is_ready};
use crate::telemetry::{ControllerLabels, LaunchLabels};

#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("Recording {recording}: {source}")]
    Kube {
        recording: String,
        source: kube::Error,
    },
    #[error("Recording {recording}: getting a recorder pod: {source}")]
    Claim {
        recording: String,
        source: claim::ClaimError,
    },
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// One reconcile of one Recording: the object, its APIs and the status being built.
struct Run<'a> {
    rec: &'a Recording,
    ctx: &'a Context,
    recs: Api<Recording>,
    pods: Api<Pod>,
    ns: String,
    name: String,
    generation: Option<i64>,
    now: DateTime<Utc>,
    /// The status as last written.
    written: RecordingStatus,
    st: RecordingStatus,
}

impl Run<'_> {
    fn err(&self, source: kube::Error) -> RecordingError {
        RecordingError::Kube {
            recording: format!("{}/{}", self.ns, self.name),
            source,
        }
    }

    fn now_s(&self) -> String {
        rfc3339(self.now)
    }

    fn set(&mut self, type_: &str, ok: bool, reason: &str, msg: impl Into<String>) {
        let now = self.now_s();
        set_condition(
            &mut self.st.conditions,
            type_,
            ok,
            reason,
            msg,
            self.generation,
            &now,
        );
    }

    fn fail(&mut self, reason: &str, msg: &str) {
        let now = self.now_s();
        cond::fail(&mut self.st, reason, msg, self.generation, &now);
    }

    async fn event(&self, warning: bool, reason: &str, note: String) {
        self.ctx
            .event(self.rec, warning, reason, "Reconcile", note)
            .await;
    }

    /// Writes the status when it differs from what was last written.
    async fn persist(&mut self) -> Result<(), RecordingError> {
        self.persist_if(None).await.map(|_| ())
    }

    /// Writes the status, only if the Recording is still at `resource_version` when given.
    /// Returns false when that precondition failed (someone else wrote first).
    async fn persist_if(
        &mut self,
        resource_version: Option<String>,
    ) -> Result<bool, RecordingError> {
        if self.st == self.written {
            return Ok(true);
        }
        let mut status = serde_json::to_value(&self.st).expect("status serialises");
        // A merge patch keeps keys it does not mention: clear the ones that went away.
        if let (Some(old), Some(new)) = (
            serde_json::to_value(&self.written)
                .ok()
                .and_then(|v| v.as_object().cloned()),
            status.as_object_mut(),
        ) {
            for k in old.keys() {
                new.entry(k.clone()).or_insert(Value::Null);
            }
        }
        let patch = match resource_version {
            Some(rv) => {
                Patch::Merge(json!({ "metadata": { "resourceVersion": rv }, "status": status }))
            }
            None => Patch::Merge(json!({ "status": status })),
        };
        match self
            .recs
            .patch_status(&self.name, &PatchParams::default(), &patch)
            .await
        {
            Ok(_) => {}
            // 404: deleted meanwhile, which is a write by someone else too.
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => return Ok(false),
            Err(e) => return Err(self.err(e)),
        }
        self.written = self.st.clone();
        Ok(true)
    }

    /// Deletes the Recording's pod, if it is still the one claimed for it.
    async fn release_pod(&self) -> Result<(), RecordingError> {
        match self.st.recorder_pod.clone() {
            Some(pod_name) => self.release(&pod_name).await,
            None => Ok(()),
        }
    }

    /// Deletes pod `pod_name` if it is claimed for this Recording (by uid) and not already
    /// going away. The uid precondition keeps a later pod of the same name safe.
    async fn release(&self, pod_name: &str) -> Result<(), RecordingError> {
        let Some(pod) = self.pods.get_opt(pod_name).await.map_err(|e| self.err(e))? else {
            return Ok(());
        };
        if pod.annotations().get(ANNOTATION_RECORDING_UID) != self.rec.uid().as_ref()
            || pod.metadata.deletion_timestamp.is_some()
        {
            return Ok(());
        }
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: pod.uid(),
                resource_version: None,
            }),
            ..Default::default()
        };
        match self.pods.delete(pod_name, &dp).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Gives back the claims for this Recording other than `kept` (the recorded pod, if any):
    /// claims that lost the status race, including those of a reconciler that died before it
    /// could give them back itself. None of them was ever sent a job.
    async fn give_back_others(&self, kept: &str) -> Result<(), RecordingError> {
        let uid = self.rec.uid();
        let lp = ListParams::default().labels(&format!("{LABEL_RECORDING}={}", self.name));
        let pods = self.pods.list(&lp).await.map_err(|e| self.err(e))?.items;
        for p in pods {
            if p.name_any() != kept
                && p.metadata.deletion_timestamp.is_none()
                && p.annotations().get(ANNOTATION_RECORDING_UID) == uid.as_ref()
            {
                info!(pod = %p.name_any(), kept, "giving back a claim that lost to another");
                claim::give_back(&self.pods, &p)
                    .await
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    async fn secrets(
        &self,
        names: impl IntoIterator<Item = String>,
    ) -> Result<Result<Secrets, String>, RecordingError> {
        let api: Api<Secret> = Api::namespaced(self.ctx.client.clone(), &self.ns);
        let mut out = Secrets::new();
        for name in names {
            let Some(s) = api.get_opt(&name).await.map_err(|e| self.err(e))? else {
                return Ok(Err(name));
            };
            let mut data: std::collections::BTreeMap<String, String> =
                s.string_data.unwrap_or_default();
            for (k, v) in s.data.unwrap_or_default() {
                data.insert(k, String::from_utf8_lossy(&v.0).into_owned());
            }
            out.insert(name, data);
        }
        Ok(Ok(out))
    }
}

#[instrument(skip_all, fields(recording = %rec.name_any(), namespace = rec.namespace().unwrap_or_default()))]
pub async fn reconcile(rec: Arc<Recording>, ctx: Arc<Context>) -> Result<Action, RecordingError> {
    let started = Instant::now();
    let r = reconcile_inner(&rec, &ctx).await;
    ctx.metrics
        .reconcile_seconds
        .get_or_create(&ControllerLabels {
            controller: "recording",
            outcome: if r.is_ok() { "ok" } else { "error" },
        })
        .observe(started.elapsed().as_secs_f64());
    r
}

async fn reconcile_inner(rec: &Recording, ctx: &Context) -> Result<Action, RecordingError> {
    let ns = rec.namespace().unwrap_or_default();
    let status = rec.status.clone().unwrap_or_default();
    let mut run = Run {
        rec,
        ctx,
        recs: Api::namespaced(ctx.client.clone(), &ns),
        pods: Api::namespaced(ctx.client.clone(), &ns),
        ns,
        name: rec.name_any(),
        generation: rec.metadata.generation,
        now: Utc::now(),
        written: status.clone(),
        st: status,
    };
    if rec.metadata.deletion_timestamp.is_some() {
        return finalize(&mut run).await;
    }
    if !rec.finalizers().iter().any(|f| f == FINALIZER) {
        let mut fins = rec.finalizers().to_vec();
        fins.push(FINALIZER.into());
        let patch =
            json!({"metadata": {"finalizers": fins, "resourceVersion": rec.resource_version()}});
        return match run
            .recs
            .patch(&run.name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            // The update comes back through the watch and continues from there.
            Ok(_) => Ok(Action::await_change()),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                Ok(Action::requeue(Duration::from_millis(200)))
            }
            Err(e) => Err(run.err(e)),
        };
    }
    run.st.observed_generation = run.generation;
    let r = step(&mut run).await;
    run.persist().await?;
    r
}

async fn step(run: &mut Run<'_>) -> Result<Action, RecordingError> {
    let (rec, ctx) = (run.rec, run.ctx);
    if run.st.result.is_some() {
        run.release_pod().await?;
        return Ok(Action::await_change());
    }
    if let Err(e) = job::validate(rec) {
        if run
            .st
            .conditions
            .iter()
            .all(|c| c.type_ != cond::ACCEPTED || c.message != e.to_string())
        {
            run.event(true, reason::INVALID_SPEC, e.to_string()).await;
        }
        run.set(cond::ACCEPTED, false, reason::INVALID_SPEC, e.to_string());
        return Ok(Action::await_change());
    }

    // Placement, once: the session cannot move once placed (CEL keeps the inputs immutable).
    let placement = match &run.st.placement {
        Some(p) => p.clone(),
        None => {
            let input = PlacementInput {
                override_region: rec.spec.placement.as_ref().map(|p| p.region.as_str()),
                region_hint: rec.spec.session.region_hint.as_deref(),
                media_server_url: rec.spec.session.media_server_url.as_deref(),
            };
            match ctx.placement.place(input) {
                Ok(d) => {
                    let p = crate::api::recording::PlacementStatus {
                        region: d.region,
                        reason: d.reason.as_str().into(),
                    };
                    run.st.placement = Some(p.clone());
                    run.st.region = Some(p.region.clone());
                    p
                }
                Err(e) => {
                    run.set(
                        cond::ACCEPTED,
                        false,
                        reason::PLACEMENT_FAILED,
                        e.to_string(),
                    );
                    run.set(cond::PLACED, false, reason::PLACEMENT_FAILED, e.to_string());
                    return Ok(Action::await_change());
                }
            }
        }
    };
    if placement.region != ctx.region {
        let msg = format!(
            "placed in region {} ({}); that region's operator records it",
            placement.region, placement.reason
        );
        run.set(cond::PLACED, false, reason::OTHER_REGION, msg);
        return Ok(Action::await_change());
    }

    let started_at = run.st.started_at.clone();
    if started_at.is_none() {
        let deadline = rec
            .spec
            .limits
            .start_deadline_secs
            .map_or(ctx.timings.start_deadline, |s| {
                Duration::from_secs(u64::from(s))
            });
        let created = rec
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| DateTime::from_timestamp_nanos(t.0.as_nanosecond() as i64));
        if let Some(created) = created
            && run.now - created > chrono::Duration::from_std(deadline).unwrap_or_default()
        {
            let msg = format!(
                "not recording {}s after creation (spec.limits.startDeadlineSecs)",
                deadline.as_secs()
            );
            run.fail(reason::START_DEADLINE, &msg);
            run.event(true, reason::START_DEADLINE, msg).await;
            run.release_pod().await?;
            return Ok(Action::await_change());
        }
    }

    // A pod for the Recording.
    let pools: Api<RecorderPool> = Api::namespaced(ctx.client.clone(), &run.ns);
    let pool = match &run.st.pool {
        Some(p) => pools.get_opt(p).await.map_err(|e| run.err(e))?,
        None => {
            let mut all: Vec<RecorderPool> = pools
                .list(&Default::default())
                .await
                .map_err(|e| run.err(e))?
                .items;
            all.retain(|p| {
                p.spec.region == placement.region && p.metadata.deletion_timestamp.is_none()
            });
            all.sort_by_key(|p| p.name_any());
            all.into_iter().next()
        }
    };
    let Some(pool) = pool else {
        let msg = format!(
            "no RecorderPool for region {} in namespace {}; create one",
            placement.region, run.ns
        );
        run.set(cond::PLACED, false, reason::NO_POOL, msg);
        return Ok(Action::requeue(ctx.timings.retry));
    };
    if run.st.recorder_pod.is_none() {
        let claimed = claim::claim(&run.pods, &pool, rec, &ctx.metrics)
            .await
            .map_err(|source| RecordingError::Claim {
                recording: format!("{}/{}", run.ns, run.name),
                source,
            })?;
        let pod_name = claimed.pod.name_any();
        run.st.pool = Some(pool.name_any());
        run.st.recorder_pod = Some(pod_name.clone());
        run.st.launch = Some(claimed.launch);
        run.st.claimed_at = Some(run.now_s());
        run.set(cond::ACCEPTED, true, reason::VALID, "");
        run.set(
            cond::PLACED,
            true,
            &placement.reason,
            format!("region {}, pool {}", placement.region, pool.name_any()),
        );
        run.set(
            cond::RECORDER_READY,
            false,
            reason::STARTING,
            format!("{} pod {pod_name}", claimed.launch.as_str()),
        );
        // Persist the claim before anything else, and only if nobody else wrote this Recording
        // meanwhile: two reconcilers (two replicas, or one restarted mid-claim) may each have
        // claimed or adopted a pod for it, and the first write decides which pod it is.
        if !run.persist_if(rec.resource_version()).await? {
            return settle_lost_claim(run, &pod_name).await;
        }
        run.give_back_others(&pod_name).await?;
        run.event(
            false,
            reason::CLAIMED,
            format!(
                "{} pod {pod_name} from pool {}",
                claimed.launch.as_str(),
                pool.name_any()
            ),
        )
        .await;
        info!(pod = %pod_name, launch = claimed.launch.as_str(), adopted = claimed.adopted, "recorder pod claimed");
    }
    let pod_name = run.st.recorder_pod.clone().unwrap_or_default();
    let pod = run.pods.get_opt(&pod_name).await.map_err(|e| run.err(e))?;
    let lost = match &pod {
        None => Some(format!("recorder pod {pod_name} disappeared")),
        Some(p) if p.metadata.deletion_timestamp.is_some() => {
            Some(format!("recorder pod {pod_name} is being deleted"))
        }
        Some(p) if is_finished(p) && started_at.is_none() => {
            Some(format!("recorder pod {pod_name} exited before recording"))
        }
        Some(p)
            if is_finished(p)
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed") =>
        {
            Some(format!("recorder pod {pod_name} failed"))
        }
        _ => None,
    };
    if let Some(msg) = lost {
        run.set(cond::RECORDER_LOST, true, reason::LOST, msg.clone());
        run.set(cond::RECORDER_READY, false, reason::LOST, msg.clone());
        run.fail(reason::LOST, &msg);
        run.event(true, reason::LOST, msg).await;
        run.release_pod().await?;
        return Ok(Action::await_change());
    }
    let pod = pod.expect("checked above");
    if is_finished(&pod) {
        // Exited 0 after recording: the recorder finished its job before we polled it.
        let now = run.now_s();
        run.set(
            cond::RECORDING,
            false,
            reason::DONE,
            "recorder exited after its job",
        );
        run.set(
            cond::SUCCEEDED,
            true,
            reason::DONE,
            "recorder exited after its job",
        );
        cond::finish(&mut run.st, true, &now);
        run.release_pod().await?;
        return Ok(Action::await_change());
    }
    let waiting_for_ready = started_at.is_none() && !is_ready(&pod);
    let Some(base) = (ctx.endpoint)(&pod, pool.spec.template.port()) else {
        run.set(
            cond::RECORDER_READY,
            false,
            reason::STARTING,
            format!("waiting for pod {pod_name} to get an IP and be Ready"),
        );
        return Ok(Action::requeue(ctx.timings.retry));
    };
    let token_ref = &pool.spec.template.token_secret_ref;
    let token = match run.secrets([token_ref.name.clone()]).await? {
        Ok(s) => s
            .get(&token_ref.name)
            .and_then(|d| d.get(&token_ref.key))
            .cloned(),
        Err(_) => None,
    };
    let Some(token) = token else {
        let msg = format!(
            "RecorderPool {}: spec.template.tokenSecretRef: Secret {:?} key {:?} not found in namespace {}; create it",
            pool.name_any(),
            token_ref.name,
            token_ref.key,
            run.ns
        );
        run.set(cond::RECORDER_READY, false, reason::SECRET_MISSING, msg);
        return Ok(Action::requeue(ctx.timings.retry));
    };
    // Only an idle recorder is Ready (its `/readyz` turns 503 once it has a job), so readiness
    // gates the start. A recorder that is not Ready may still hold this Recording's job: an
    // earlier reconcile started it and died before writing that down. Then carry on; the start
    // below is idempotent by job id.
    if waiting_for_ready {
        let ours = ctx
            .recorders
            .status(&base, &token)
            .await
            .is_ok_and(|js| js.job_id.is_some() && js.job_id == rec.uid());
        if !ours {
            run.set(
                cond::RECORDER_READY,
                false,
                reason::STARTING,
                format!("waiting for pod {pod_name} to be Ready"),
            );
            return Ok(Action::requeue(ctx.timings.retry));
        }
    }

    if started_at.is_none() {
        let secrets = match run.secrets(job::secret_names(rec)).await? {
            Ok(s) => s,
            Err(name) => {
                let msg = format!(
                    "Secret {name:?} referenced by spec.outputs is not in namespace {}; create it",
                    run.ns
                );
                run.set(cond::ACCEPTED, false, reason::SECRET_MISSING, msg);
                return Ok(Action::requeue(ctx.timings.retry));
            }
        };
        let job = match job::build_job(rec, &secrets) {
            Ok(j) => j,
            Err(e @ (JobError::MissingKey { .. } | JobError::MissingSecret { .. })) => {
                run.set(cond::ACCEPTED, false, reason::SECRET_MISSING, e.to_string());
                return Ok(Action::requeue(ctx.timings.retry));
            }
            Err(e) => {
                run.set(cond::ACCEPTED, false, reason::INVALID_SPEC, e.to_string());
                return Ok(Action::await_change());
            }
        };
        match ctx.recorders.start(&base, &token, &job).await {
            Ok(js) => {
                let now = run.now_s();
                run.st.started_at = Some(
                    js.timestamps
                        .first_frame
                        .clone()
                        .unwrap_or_else(|| now.clone()),
                );
                if let Some(created) = rec.metadata.creation_timestamp.as_ref() {
                    let created = DateTime::from_timestamp_nanos(created.0.as_nanosecond() as i64);
                    let ms = (Utc::now() - created).num_milliseconds().max(0) as f64;
                    run.st.start_latency_ms = Some(ms);
                    let launch = run.st.launch.map_or("Warm", |l| l.as_str());
                    ctx.metrics
                        .start_latency_seconds
                        .get_or_create(&LaunchLabels {
                            launch: if launch == "Warm" { "warm" } else { "cold" },
                        })
                        .observe(ms / 1000.0);
                }
                run.st.applied = Some(live::applied_at_start(
                    &rec.spec.composition.params,
                    &rec.spec.session.participants,
                ));
                run.set(cond::ACCEPTED, true, reason::VALID, "");
                run.set(
                    cond::RECORDER_READY,
                    true,
                    reason::RUNNING,
                    format!("pod {pod_name}"),
                );
                mirror(&mut run.st, &js, run.generation, &now);
                run.event(false, "Started", format!("recording on pod {pod_name}"))
                    .await;
            }
            Err(e) if e.is_rejection() || e.code() == Some("conflict") => {
                let r = if e.code() == Some("invalidComposition") {
                    reason::INVALID_COMPOSITION
                } else {
                    reason::REJECTED
                };
                run.set(cond::ACCEPTED, false, r, e.to_string());
                run.fail(r, &e.to_string());
                run.event(true, r, e.to_string()).await;
                run.release_pod().await?;
                return Ok(Action::await_change());
            }
            Err(e) => {
                run.set(cond::RECORDER_READY, false, "Unreachable", e.to_string());
                return Ok(Action::requeue(ctx.timings.retry));
            }
        }
    } else {
        match ctx.recorders.status(&base, &token).await {
            Ok(js) => {
                let now = run.now_s();
                mirror(&mut run.st, &js, run.generation, &now);
                run.set(
                    cond::RECORDER_READY,
                    true,
                    reason::RUNNING,
                    format!("pod {pod_name}"),
                );
            }
            Err(e) => {
                run.set(cond::RECORDER_READY, false, "Unreachable", e.to_string());
                return Ok(Action::requeue(ctx.timings.retry));
            }
        }
    }
    if run.st.result.is_some() {
        let ok = run.st.result.as_deref() == Some("Succeeded");
        run.event(
            !ok,
            if ok { "Succeeded" } else { "Failed" },
            format!("recording finished on pod {pod_name}"),
        )
        .await;
        run.release_pod().await?;
        return Ok(Action::await_change());
    }

    if run.st.stop_requested_at.is_none() {
        let applied = run.st.applied.clone().unwrap_or_default();
        if let Some(patch) = live::diff(
            &applied,
            &rec.spec.composition.params,
            &rec.spec.session.participants,
        ) {
            match ctx.recorders.patch(&base, &token, &patch).await {
                Ok(_) => {
                    run.st.applied = Some(live::applied_at_start(
                        &rec.spec.composition.params,
                        &rec.spec.session.participants,
                    ));
                    run.event(
                        false,
                        "LiveUpdate",
                        format!(
                            "forwarded {} params{}",
                            patch.params.len(),
                            if patch.participants.is_some() {
                                " and participants"
                            } else {
                                ""
                            }
                        ),
                    )
                    .await;
                }
                Err(e) => warn!(cause = %e, "live update not forwarded; will retry"),
            }
        }
        let max = rec
            .spec
            .limits
            .max_duration_secs
            .map(|s| chrono::Duration::seconds(i64::from(s)));
        let over = match (max, run.st.started_at.as_deref().and_then(parse_time)) {
            (Some(max), Some(started)) => run.now - started >= max,
            _ => false,
        };
        if rec.spec.stop || over {
            let r = if rec.spec.stop {
                reason::STOPPED
            } else {
                reason::MAX_DURATION
            };
            match ctx.recorders.stop(&base, &token).await {
                Ok(js) => {
                    run.st.stop_requested_at = Some(run.now_s());
                    let now = run.now_s();
                    mirror(&mut run.st, &js, run.generation, &now);
                    run.event(false, r, "stopping; finishing the outputs".into())
                        .await;
                }
                Err(e) => warn!(cause = %e, "stop not delivered; will retry"),
            }
            return Ok(Action::requeue(ctx.timings.retry.min(ctx.timings.poll)));
        }
        if let (Some(max), Some(started)) = (max, run.st.started_at.as_deref().and_then(parse_time))
        {
            let left = (started + max - run.now).to_std().unwrap_or_default();
            return Ok(Action::requeue(left.min(ctx.timings.poll)));
        }
    }
    Ok(Action::requeue(ctx.timings.poll))
}

/// The claim of `pod_name` could not be recorded because the Recording changed since it was
/// read. Whether the pod goes back depends on what the Recording says now, not on how it was
/// got: another reconciler may have adopted this very pod and recorded it first (then it is the
/// Recording's pod and must stay), and while the Recording names no pod, ours stays claimed
/// for it and the next reconcile adopts it. Only a Recording that names another pod, or is
/// gone, makes ours surplus, and it is given back (see [`claim::give_back`]); nobody can come
/// to record it then, because every claim write is conditional on a Recording version from
/// before the other pod was recorded.
async fn settle_lost_claim(run: &mut Run<'_>, pod_name: &str) -> Result<Action, RecordingError> {
    run.st = run.written.clone();
    let fresh = run.recs.get_opt(&run.name).await.map_err(|e| run.err(e))?;
    let recorded = match &fresh {
        Some(r) if r.uid() == run.rec.uid() => {
            r.status.as_ref().and_then(|s| s.recorder_pod.clone())
        }
        // Deleted, or replaced by another object of the same name.
        _ => Some(String::new()),
    };
    match recorded {
        Some(other) if other != pod_name => {
            let pod = run.pods.get_opt(pod_name).await.map_err(|e| run.err(e))?;
            if let Some(pod) = pod
                && pod.annotations().get(ANNOTATION_RECORDING_UID) == run.rec.uid().as_ref()
                && pod.metadata.deletion_timestamp.is_none()
            {
                claim::give_back(&run.pods, &pod)
                    .await
                    .map_err(|e| run.err(e))?;
                info!(pod = %pod_name, recorded = %other, "another reconciler recorded a claim first; gave ours back");
            }
        }
        _ => {
            debug!(pod = %pod_name, "claim not recorded by this reconcile; the next one adopts it")
        }
    }
    Ok(Action::requeue(Duration::from_millis(100)))
}

/// Deletion: stop the recorder, wait (bounded by the grace period) for the outputs, release
/// the pod, drop the finalizer.
async fn finalize(run: &mut Run<'_>) -> Result<Action, RecordingError> {
    let (rec, ctx) = (run.rec, run.ctx);
    let deleting_since = rec
        .metadata
        .deletion_timestamp
        .as_ref()
        .map(|t| DateTime::from_timestamp_nanos(t.0.as_nanosecond() as i64))
        .unwrap_or(run.now);
    let within_grace = run.now - deleting_since
        < chrono::Duration::from_std(ctx.timings.deletion_grace).unwrap_or_default();
    if run.st.result.is_none()
        && run.st.started_at.is_some()
        && within_grace
        && let (Some(pod_name), Some(pool_name)) =
            (run.st.recorder_pod.clone(), run.st.pool.clone())
    {
        let pools: Api<RecorderPool> = Api::namespaced(ctx.client.clone(), &run.ns);
        let pod = run.pods.get_opt(&pod_name).await.map_err(|e| run.err(e))?;
        let pool = pools.get_opt(&pool_name).await.map_err(|e| run.err(e))?;
        if let (Some(pod), Some(pool)) = (pod, pool)
            && let Some(base) = (ctx.endpoint)(&pod, pool.spec.template.port())
        {
            let tr = &pool.spec.template.token_secret_ref;
            let token = run
                .secrets([tr.name.clone()])
                .await?
                .ok()
                .and_then(|s| s.get(&tr.name).and_then(|d| d.get(&tr.key)).cloned())
                .unwrap_or_default();
            let r = if run.st.stop_requested_at.is_none() {
                let r = ctx.recorders.stop(&base, &token).await;
                if r.is_ok() {
                    run.st.stop_requested_at = Some(run.now_s());
                }
                r
            } else {
                ctx.recorders.status(&base, &token).await
            };
            // Unreachable or refusing (an error): nothing more to wait for.
            if let Ok(js) = r {
                let now = run.now_s();
                mirror(&mut run.st, &js, run.generation, &now);
                if !js.state.is_terminal() {
                    run.persist().await?;
                    return Ok(Action::requeue(
                        Duration::from_millis(500).min(ctx.timings.poll),
                    ));
                }
            }
        }
    }
    run.persist().await?;
    run.release_pod().await?;
    // Claims that never got recorded (a reconciler lost its write, or died before it).
    let kept = run.st.recorder_pod.clone().unwrap_or_default();
    run.give_back_others(&kept).await?;
    let fins: Vec<String> = rec
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    if fins.len() != rec.finalizers().len() {
        let patch =
            json!({"metadata": {"finalizers": fins, "resourceVersion": rec.resource_version()}});
        match run
            .recs
            .patch(&run.name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                return Ok(Action::requeue(Duration::from_millis(200)));
            }
            Err(e) => return Err(run.err(e)),
        }
    }
    Ok(Action::await_change())
}

pub fn error_policy(rec: Arc<Recording>, err: &RecordingError, ctx: Arc<Context>) -> Action {
    warn!(recording = %rec.name_any(), cause = %err, "reconcile failed");
    Action::requeue(ctx.timings.retry)
}

/// Runs the Recording controller over `namespace` (all when `None`) until the stream ends.
pub async fn run(ctx: Arc<Context>, namespace: Option<String>) {
    let (recs, pods): (Api<Recording>, Api<Pod>) = match &namespace {
        Some(ns) => (
            Api::namespaced(ctx.client.clone(), ns),
            Api::namespaced(ctx.client.clone(), ns),
        ),
        None => (Api::all(ctx.client.clone()), Api::all(ctx.client.clone())),
    };
    Controller::new(recs, watcher::Config::default())
        .watches(
            pods,
            watcher::Config::default().labels(LABEL_RECORDING),
            |pod: Pod| {
                let name = pod.labels().get(LABEL_RECORDING)?.clone();
                Some(ObjectRef::<Recording>::new(&name).within(&pod.namespace()?))
            },
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(cause = %e, "recording reconcile");
            }
        })
        .await;
}
