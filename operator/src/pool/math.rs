//! Pool sizing, Agones-style, as plain functions of the pods a pool has.
//!
//! desired = claimed + bufferSize (count) or ceil(claimed·100/(100−p)) (percent), clamped to
//! `[minReplicas, maxReplicas]`. Scale-up is immediate; scale-down waits until the pool has had a
//! surplus for the whole stabilisation window, and only ever removes idle pods.

use std::cmp::Reverse;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use thiserror::Error;

/// The buffer policy, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buffer {
    Count(i32),
    /// 1..=99 percent of all pods kept idle.
    Percent(i32),
}

#[derive(Debug, Error, PartialEq)]
#[error(
    "spec.bufferSize: {value:?} is not a count 0..1000 or a percent 1%..99%; write e.g. 5 or \"20%\""
)]
pub struct BufferError {
    pub value: String,
}

impl Buffer {
    pub fn parse(v: &IntOrString) -> Result<Self, BufferError> {
        let err = || BufferError {
            value: match v {
                IntOrString::Int(i) => i.to_string(),
                IntOrString::String(s) => s.clone(),
            },
        };
        match v {
            IntOrString::Int(i) if (0..=1000).contains(i) => Ok(Self::Count(*i)),
            IntOrString::String(s) => {
                let p = s
                    .strip_suffix('%')
                    .ok_or_else(err)?
                    .parse::<i32>()
                    .map_err(|_| err())?;
                if (1..=99).contains(&p) {
                    Ok(Self::Percent(p))
                } else {
                    Err(err())
                }
            }
            _ => Err(err()),
        }
    }
}

/// Pods the pool should have for `claimed` claimed pods.
pub fn desired(claimed: i32, buffer: Buffer, min: i32, max: i32) -> i32 {
    let raw = match buffer {
        Buffer::Count(n) => claimed.saturating_add(n),
        Buffer::Percent(p) => {
            let c = i64::from(claimed) * 100;
            let d = i64::from(100 - p);
            i32::try_from((c + d - 1) / d).unwrap_or(i32::MAX)
        }
    };
    raw.max(min).min(max.max(min))
}

/// What the pool controller knows of one of its pods.
#[derive(Clone, Debug, PartialEq)]
pub struct PodView {
    pub name: String,
    pub idle: bool,
    pub ready: bool,
    pub deleting: bool,
    pub created: Timestamp,
}

/// Counts for the pool's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub replicas: i32,
    pub ready: i32,
    pub starting: i32,
    pub idle: i32,
    pub claimed: i32,
}

pub fn count(pods: &[PodView]) -> Counts {
    let mut c = Counts::default();
    for p in pods.iter().filter(|p| !p.deleting) {
        c.replicas += 1;
        if p.idle {
            c.idle += 1;
            if p.ready {
                c.ready += 1
            } else {
                c.starting += 1
            }
        } else {
            c.claimed += 1;
        }
    }
    c
}

/// What to do now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScalePlan {
    pub desired: i32,
    pub create: i32,
    /// Idle pods to delete (never a claimed one).
    pub delete: Vec<String>,
    /// The new `status.surplusSince`.
    pub surplus_since: Option<Timestamp>,
}

/// Plans one reconcile of a pool.
pub fn plan(
    pods: &[PodView],
    buffer: Buffer,
    min: i32,
    max: i32,
    stabilisation: SignedDuration,
    surplus_since: Option<Timestamp>,
    now: Timestamp,
) -> ScalePlan {
    let c = count(pods);
    let desired = desired(c.claimed, buffer, min, max);
    let mut plan = ScalePlan {
        desired,
        ..Default::default()
    };
    if desired > c.replicas {
        plan.create = desired - c.replicas;
        return plan;
    }
    if desired == c.replicas {
        return plan;
    }
    let since = surplus_since.unwrap_or(now);
    if now.duration_since(since) < stabilisation {
        plan.surplus_since = Some(since);
        return plan;
    }
    // Starting pods first (nothing invested in them yet), then the newest ready ones; the oldest
    // (warmest, longest-proven) idle pods stay.
    let mut idle: Vec<&PodView> = pods.iter().filter(|p| p.idle && !p.deleting).collect();
    idle.sort_by_key(|p| (p.ready, Reverse(p.created), p.name.clone()));
    let surplus = usize::try_from(c.replicas - desired).unwrap_or(0);
    plan.delete = idle
        .into_iter()
        .take(surplus)
        .map(|p| p.name.clone())
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_follows_agones_buffer_math() {
        let cases = [
            // claimed, buffer, min, max, desired
            (0, Buffer::Count(2), 0, 10, 2),
            (3, Buffer::Count(2), 0, 10, 5),
            (9, Buffer::Count(2), 0, 10, 10),
            (0, Buffer::Count(0), 3, 10, 3),
            (8, Buffer::Percent(20), 0, 100, 10),
            (9, Buffer::Percent(20), 0, 100, 12), // ceil(11.25)
            (1, Buffer::Percent(50), 0, 100, 2),
            (0, Buffer::Percent(50), 1, 100, 1),
            (50, Buffer::Percent(99), 0, 1000, 1000), // clamped to max
            (5, Buffer::Count(1), 8, 4, 8), // max below min: min wins, CEL rejects this anyway
        ];
        for (claimed, buffer, min, max, want) in cases {
            assert_eq!(
                desired(claimed, buffer, min, max),
                want,
                "{claimed} {buffer:?} {min} {max}"
            );
        }
    }

    #[test]
    fn buffer_parses_counts_and_percents_and_names_the_field() {
        assert_eq!(Buffer::parse(&IntOrString::Int(3)), Ok(Buffer::Count(3)));
        assert_eq!(
            Buffer::parse(&IntOrString::String("25%".into())),
            Ok(Buffer::Percent(25))
        );
        for bad in ["100%", "0%", "5", "x%"] {
            let e = Buffer::parse(&IntOrString::String(bad.into())).unwrap_err();
            assert!(e.to_string().contains("spec.bufferSize"), "{e}");
        }
        assert!(Buffer::parse(&IntOrString::Int(-1)).is_err());
    }

    /// Pods of `(name, idle, ready, age in seconds)`, at `now`.
    fn pods(now: Timestamp, specs: &[(&str, bool, bool, i64)]) -> Vec<PodView> {
        specs
            .iter()
            .map(|&(name, idle, ready, age_s)| pod(name, idle, ready, age_s, now))
            .collect()
    }

    fn pod(name: &str, idle: bool, ready: bool, age_s: i64, now: Timestamp) -> PodView {
        PodView {
            name: name.into(),
            idle,
            ready,
            deleting: false,
            created: now - SignedDuration::from_secs(age_s),
        }
    }

    #[test]
    fn scale_up_is_immediate_and_counts_claimed_pods() {
        let now = Timestamp::now();
        let pods = pods(now, &[("a", false, true, 10), ("b", true, true, 10)]);
        let p = plan(
            &pods,
            Buffer::Count(2),
            0,
            10,
            SignedDuration::from_secs(300),
            None,
            now,
        );
        assert_eq!((p.desired, p.create, p.delete.len()), (3, 1, 0));
    }

    #[test]
    fn scale_down_waits_for_the_window_then_deletes_only_idle_pods() {
        let now = Timestamp::now();
        let pods = pods(
            now,
            &[
                ("claimed-1", false, true, 100),
                ("claimed-2", false, true, 1),
                ("old-idle", true, true, 100),
                ("new-idle", true, true, 5),
                ("starting", true, false, 1),
            ],
        );
        let window = SignedDuration::from_secs(60);
        // Buffer 1: desired 3 of 5. First sight of the surplus: remember it, delete nothing.
        let p = plan(&pods, Buffer::Count(1), 0, 10, window, None, now);
        assert_eq!((p.desired, p.create), (3, 0));
        assert!(p.delete.is_empty());
        assert_eq!(p.surplus_since, Some(now));
        // Seconds later, with the surplus seen since `now`.
        let later = |s| {
            let at = now + SignedDuration::from_secs(s);
            plan(&pods, Buffer::Count(1), 0, 10, window, Some(now), at)
        };
        assert!(later(59).delete.is_empty());
        let p = later(60);
        assert_eq!(
            p.delete,
            vec!["starting".to_string(), "new-idle".to_string()]
        );
        assert_eq!(p.surplus_since, None);
        // Max 0: every idle pod goes, the claimed pods stay.
        let p = plan(
            &pods,
            Buffer::Count(0),
            0,
            0,
            SignedDuration::ZERO,
            None,
            now,
        );
        assert_eq!(p.delete.len(), 3);
        assert!(p.delete.iter().all(|n| !n.starts_with("claimed")));
    }

    #[test]
    fn surplus_clock_resets_when_the_pool_is_balanced_and_deleting_pods_do_not_count() {
        let now = Timestamp::now();
        let mut pods = vec![pod("a", true, true, 10, now), pod("b", true, true, 10, now)];
        pods[1].deleting = true;
        let p = plan(
            &pods,
            Buffer::Count(1),
            0,
            10,
            SignedDuration::from_secs(60),
            Some(now),
            now,
        );
        assert_eq!((p.desired, p.create, p.surplus_since), (1, 0, None));
        assert_eq!(
            count(&pods),
            Counts {
                replicas: 1,
                ready: 1,
                starting: 0,
                idle: 1,
                claimed: 0
            }
        );
    }
}
