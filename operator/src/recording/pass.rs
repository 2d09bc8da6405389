//! One reconcile pass over one Recording: the object, its APIs, the status being built and the
//! writes every phase shares (status, events, giving pods back, Secrets).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use serde_json::{Value, json};
use tracing::info;

use super::condition::{self, reason};
use super::controller::RecordingError;
use super::job::Secrets;
use super::status;
use crate::api::{
    ANNOTATION_RECORDING_UID, ConditionStatus, LABEL_RECORDING, Observed, RecorderPool, Recording,
    RecordingStatus, set_condition,
};
use crate::claim;
use crate::context::Context;

/// What a phase did: moved the Recording on to another phase in this same pass, or ended the
/// pass (with when to look again).
pub(super) enum Flow {
    Next,
    End(Action),
}

/// Why a stage stopped the pass early: nothing more to do for now (with when to look again), or
/// an API error.
pub(super) enum Halt {
    End(Action),
    /// The Recording moved on to another phase (a lost recorder is being replaced): run it in
    /// this same pass.
    Next,
    Error(RecordingError),
}

impl From<RecordingError> for Halt {
    fn from(e: RecordingError) -> Self {
        Self::Error(e)
    }
}

/// The result of a stage that can stop the pass early.
pub(super) type Step<T> = Result<T, Halt>;

/// Ends the pass from inside a stage.
pub(super) fn end<T>(action: Action) -> Step<T> {
    Err(Halt::End(action))
}

/// One reconcile of one Recording.
pub(super) struct Pass<'a> {
    pub(super) rec: &'a Recording,
    pub(super) ctx: &'a Context,
    pub(super) recs: Api<Recording>,
    pub(super) pods: Api<Pod>,
    pub(super) ns: String,
    pub(super) name: String,
    /// When this pass looked, and at which generation.
    pub(super) observed: Observed,
    /// The status as last written.
    pub(super) written: RecordingStatus,
    /// The Recording's version this pass read, then the one its own last status write made:
    /// every status write is conditional on it, so a pass that read a stale Recording (its
    /// cache lagging, or a long wait on the recorder) never overwrites a newer status, such
    /// as a result written meanwhile, with what it computed from the old one.
    resource_version: Option<String>,
    /// A status write of this pass found the Recording changed since it was read: what this pass
    /// worked from was stale (see [`super::controller::reconcile`]).
    pub(super) stale: bool,
    /// The status being built.
    pub(super) status: RecordingStatus,
    /// The Recording's RecorderPool, once looked up in this pass.
    pool: Option<RecorderPool>,
}

impl<'a> Pass<'a> {
    pub fn new(rec: &'a Recording, ctx: &'a Context) -> Self {
        let ns = rec.namespace().unwrap_or_default();
        let status = rec.status.clone().unwrap_or_default();
        Self {
            recs: ctx.namespaced(&ns),
            pods: ctx.namespaced(&ns),
            rec,
            ctx,
            name: rec.name_any(),
            ns,
            observed: Observed {
                generation: rec.metadata.generation,
                at: Timestamp::now(),
            },
            written: status.clone(),
            status,
            resource_version: rec.resource_version(),
            stale: false,
            pool: None,
        }
    }

    pub fn err(&self, source: kube::Error) -> RecordingError {
        RecordingError::kube(&self.ns, &self.name, source)
    }

    pub fn now(&self) -> Timestamp {
        self.observed.at
    }

    /// Now, as the status records step times.
    pub fn now_micro(&self) -> MicroTime {
        MicroTime(self.observed.at)
    }

    /// Sets condition `type_` of the status being built.
    pub fn set(
        &mut self,
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        msg: impl Into<String>,
    ) {
        let observed = self.observed;
        set_condition(
            &mut self.status.conditions,
            type_,
            status,
            reason,
            msg,
            &observed,
        );
    }

    /// Fails the Recording (see [`status::fail`]).
    pub fn fail(&mut self, reason: &str, msg: &str) {
        let observed = self.observed;
        status::fail(&mut self.status, reason, msg, &observed);
    }

    pub async fn event(&self, type_: EventType, reason: &str, note: String) {
        self.ctx
            .event(self.rec, type_, reason, "Reconcile", note)
            .await;
    }

    /// Writes the status when it differs from what was last written, if the Recording has not
    /// changed since this pass read it (or last wrote it). When it has, nothing is written and
    /// the pass is marked [`Self::stale`]: another pass works from the newer Recording.
    pub async fn persist(&mut self) -> Result<(), RecordingError> {
        self.persist_now().await.map(drop)
    }

    /// Writes the status now, only if the Recording is still as this pass read it. Returns
    /// false when someone else wrote first (the next pass starts from theirs).
    pub async fn persist_now(&mut self) -> Result<bool, RecordingError> {
        let rv = self.resource_version.clone();
        self.persist_if(rv).await
    }

    /// Writes the status, only if the Recording is still at `resource_version` when given.
    /// Returns false when that precondition failed (someone else wrote first).
    pub async fn persist_if(
        &mut self,
        resource_version: Option<String>,
    ) -> Result<bool, RecordingError> {
        if self.status == self.written {
            return Ok(true);
        }
        let mut status = serde_json::to_value(&self.status).expect("status serialises");
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
            Ok(updated) => self.resource_version = updated.resource_version(),
            // 404: deleted meanwhile, which is a write by someone else too.
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                tracing::debug!(
                    code = s.code,
                    "the Recording changed since this pass read it; its status is left to the next"
                );
                self.stale = true;
                return Ok(false);
            }
            Err(e) => return Err(self.err(e)),
        }
        self.written = self.status.clone();
        Ok(true)
    }

    /// Deletes the Recording's pod, if it is still the one claimed for it.
    pub async fn release_pod(&self) -> Result<(), RecordingError> {
        match self.status.recorder_pod.clone() {
            Some(pod_name) => self.release(&pod_name, None).await,
            None => Ok(()),
        }
    }

    /// Deletes the Recording's lost pod at once (no grace period), even when it is already
    /// going away: its recorder must be dead before a continuation recovers what it uploaded
    /// (completing the upload of a live recorder would end its object early).
    pub async fn kill_pod(&self) -> Result<(), RecordingError> {
        match self.status.recorder_pod.clone() {
            Some(pod_name) => self.release(&pod_name, Some(0)).await,
            None => Ok(()),
        }
    }

    /// Deletes pod `pod_name` if it is claimed for this Recording (by uid) and, unless `grace`
    /// is given, not already going away. The uid precondition keeps a later pod of the same
    /// name safe.
    async fn release(&self, pod_name: &str, grace: Option<u32>) -> Result<(), RecordingError> {
        let Some(pod) = self.pods.get_opt(pod_name).await.map_err(|e| self.err(e))? else {
            return Ok(());
        };
        let ours = pod.annotations().get(ANNOTATION_RECORDING_UID) == self.rec.uid().as_ref();
        if !ours || (grace.is_none() && !self.holds(&pod)) {
            return Ok(());
        }
        let dp = DeleteParams {
            grace_period_seconds: grace,
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

    /// `pod` is claimed for this Recording (by uid) and not going away.
    pub fn holds(&self, pod: &Pod) -> bool {
        pod.annotations().get(ANNOTATION_RECORDING_UID) == self.rec.uid().as_ref()
            && pod.metadata.deletion_timestamp.is_none()
    }

    /// Gives back the claims for this Recording other than `kept` (the recorded pod, if any):
    /// claims that lost the status race, including those of a reconciler that died before it
    /// could give them back itself. None of them was ever sent a job.
    pub async fn give_back_others(&self, kept: &str) -> Result<(), RecordingError> {
        let pods = match &self.ctx.pod_cache {
            // Right after a claim this is on the way to the recorder's first frame: no list.
            // A stray claim the cache has not seen yet is the pool's to give back (LostRace).
            Some(c) => crate::pool::cache::pods_labelled(c, &self.ns, LABEL_RECORDING, &self.name),
            None => {
                let lp = ListParams::default().labels(&format!("{LABEL_RECORDING}={}", self.name));
                self.pods.list(&lp).await.map_err(|e| self.err(e))?.items
            }
        };
        for p in pods {
            if p.name_any() != kept && self.holds(&p) {
                info!(pod = %p.name_any(), kept, "giving back a claim that lost to another");
                claim::give_back(&self.pods, &p)
                    .await
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    /// The data of the Secrets `names`, or the name of the first one that does not exist.
    pub async fn secrets(
        &self,
        names: impl IntoIterator<Item = String>,
    ) -> Result<Result<Secrets, String>, RecordingError> {
        let api: Api<Secret> = self.ctx.namespaced(&self.ns);
        let mut out = Secrets::new();
        for name in names {
            let Some(s) = api.get_opt(&name).await.map_err(|e| self.err(e))? else {
                return Ok(Err(name));
            };
            let mut data: BTreeMap<String, String> = s.string_data.unwrap_or_default();
            for (k, v) in s.data.unwrap_or_default() {
                data.insert(k, String::from_utf8_lossy(&v.0).into_owned());
            }
            out.insert(name, data);
        }
        Ok(Ok(out))
    }

    /// The control API token of `pool`'s recorders, when its Secret and key exist.
    pub async fn token(&self, pool: &RecorderPool) -> Result<Option<String>, RecordingError> {
        let token_ref = &pool.spec.template.token_secret_ref;
        Ok(match self.secrets([token_ref.name.clone()]).await? {
            Ok(s) => s
                .get(&token_ref.name)
                .and_then(|d| d.get(&token_ref.key))
                .cloned(),
            Err(_) => None,
        })
    }

    /// The RecorderPool of the Recording: the one it was claimed from, else the first (by name)
    /// of its region. Ends the pass (`NoPool`) when there is none.
    pub async fn pool(&mut self) -> Step<RecorderPool> {
        if let Some(pool) = &self.pool {
            return Ok(pool.clone());
        }
        let region = self
            .status
            .placement
            .as_ref()
            .map(|p| p.region.clone())
            .unwrap_or_default();
        let pools: Api<RecorderPool> = self.ctx.namespaced(&self.ns);
        let pool = match &self.status.pool {
            Some(p) => pools.get_opt(p).await.map_err(|e| self.err(e))?,
            None => {
                let mut all = pools
                    .list(&Default::default())
                    .await
                    .map_err(|e| self.err(e))?
                    .items;
                all.retain(|p| p.spec.region == region && p.metadata.deletion_timestamp.is_none());
                all.sort_by_key(|p| p.name_any());
                all.into_iter().next()
            }
        };
        let Some(pool) = pool else {
            let msg = format!(
                "no RecorderPool for region {region} in namespace {}; create one",
                self.ns
            );
            self.set(
                condition::PLACED,
                ConditionStatus::False,
                reason::NO_POOL,
                msg,
            );
            return end(Action::requeue(self.ctx.timings.retry));
        };
        self.pool = Some(pool.clone());
        Ok(pool)
    }
}
