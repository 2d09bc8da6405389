//! Turns a Recording into the recorder's job spec, filling credentials and stream keys from
//! Secrets. Pure: the Secret lookup is a function the caller supplies.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;
use vcs_job::{
    HlsOutput, JobSpec, Mp4Output, Output, RtmpOutput, S3Credentials, S3Target, SpecError,
};

use crate::api::Recording;
use crate::api::recording::{RecordingOutput, S3Location};

#[derive(Debug, Error, PartialEq)]
pub enum JobError {
    #[error(
        "{path}: Secret {name:?} not found in namespace {namespace:?}; create it or fix the reference"
    )]
    MissingSecret {
        path: String,
        namespace: String,
        name: String,
    },
    #[error("{path}: Secret {name:?} has no key {key:?}; add it or fix the reference")]
    MissingKey {
        path: String,
        name: String,
        key: String,
    },
    #[error("{0}")]
    Invalid(#[from] SpecError),
}

/// Secret data by Secret name, then key.
pub type Secrets = BTreeMap<String, BTreeMap<String, String>>;

/// Names of the Secrets a Recording refers to.
pub fn secret_names(rec: &Recording) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for o in &rec.spec.outputs {
        if let Some(m) = &o.mp4 {
            out.extend(m.s3.credentials_secret_ref.clone());
        }
        if let Some(h) = &o.hls {
            out.extend(h.s3.credentials_secret_ref.clone());
        }
        if let Some(r) = &o.rtmp {
            out.insert(r.stream_key_secret_ref.name.clone());
        }
    }
    out
}

fn lookup(
    secrets: &Secrets,
    namespace: &str,
    path: &str,
    name: &str,
    key: &str,
    optional: bool,
) -> Result<Option<String>, JobError> {
    let Some(data) = secrets.get(name) else {
        return Err(JobError::MissingSecret {
            path: path.into(),
            namespace: namespace.into(),
            name: name.into(),
        });
    };
    match data.get(key) {
        Some(v) => Ok(Some(v.clone())),
        None if optional => Ok(None),
        None => Err(JobError::MissingKey {
            path: path.into(),
            name: name.into(),
            key: key.into(),
        }),
    }
}

fn s3(loc: &S3Location, secrets: &Secrets, ns: &str, path: &str) -> Result<S3Target, JobError> {
    let credentials = match &loc.credentials_secret_ref {
        None => None,
        Some(name) => {
            let p = format!("{path}.credentialsSecretRef");
            Some(S3Credentials {
                access_key_id: lookup(secrets, ns, &p, name, "accessKeyId", false)?
                    .unwrap_or_default(),
                secret_access_key: lookup(secrets, ns, &p, name, "secretAccessKey", false)?
                    .unwrap_or_default(),
                session_token: lookup(secrets, ns, &p, name, "sessionToken", true)?,
            })
        }
    };
    Ok(S3Target {
        bucket: loc.bucket.clone(),
        key: loc.key.clone(),
        endpoint: loc.endpoint.clone(),
        region: loc.region.clone(),
        path_style: loc.path_style,
        credentials,
    })
}

/// The job for `rec` (id = the Recording's uid), checked with the recorder's own validation.
pub fn build_job(rec: &Recording, secrets: &Secrets) -> Result<JobSpec, JobError> {
    let ns = rec.metadata.namespace.clone().unwrap_or_default();
    let outputs = rec
        .spec
        .outputs
        .iter()
        .enumerate()
        .map(|(i, o)| output(o, secrets, &ns, &format!("spec.outputs[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let job = JobSpec {
        id: rec.metadata.uid.clone(),
        composition: rec.spec.composition.clone(),
        participants: rec.spec.session.participants.clone(),
        video: rec.spec.video.clone(),
        audio: rec.spec.audio.clone(),
        duration_secs: None,
        outputs,
        resume: None,
    };
    job.validate().map_err(|e| {
        JobError::Invalid(SpecError {
            path: spec_path(&e.path),
            message: e.message,
        })
    })?;
    Ok(job)
}

/// One output of the job, from `spec.outputs[i]` (at `path`) with its Secrets filled in.
fn output(
    o: &RecordingOutput,
    secrets: &Secrets,
    ns: &str,
    path: &str,
) -> Result<Output, JobError> {
    let s3_at = |loc: &S3Location, kind: &str| s3(loc, secrets, ns, &format!("{path}.{kind}.s3"));
    let mp4 = match &o.mp4 {
        Some(m) => Some(Mp4Output {
            path: None,
            s3: Some(s3_at(&m.s3, "mp4")?),
        }),
        None => None,
    };
    let hls = match &o.hls {
        Some(h) => Some(HlsOutput {
            path: None,
            s3: Some(s3_at(&h.s3, "hls")?),
            segment_secs: h.segment_secs,
        }),
        None => None,
    };
    let rtmp = match &o.rtmp {
        Some(r) => {
            let key_ref = &r.stream_key_secret_ref;
            let p = format!("{path}.rtmp.streamKeySecretRef");
            let key = lookup(secrets, ns, &p, &key_ref.name, &key_ref.key, false)?;
            Some(RtmpOutput {
                url: format!(
                    "{}/{}",
                    r.url.trim_end_matches('/'),
                    key.unwrap_or_default()
                ),
            })
        }
        None => None,
    };
    Ok(Output {
        name: o.name.clone(),
        mp4,
        hls,
        rtmp,
    })
}

/// Maps a job field path to the Recording field it came from.
fn spec_path(job_path: &str) -> String {
    if let Some(rest) = job_path.strip_prefix("participants") {
        format!("spec.session.participants{rest}")
    } else {
        format!("spec.{job_path}")
    }
}

/// Validates a Recording's spec without its Secrets (every referenced Secret stands in with
/// placeholder values), so a bad spec is reported before any Secret is read.
pub fn validate(rec: &Recording) -> Result<(), JobError> {
    let mut fake = Secrets::new();
    for name in secret_names(rec) {
        let mut data: BTreeMap<String, String> = ["accessKeyId", "secretAccessKey"]
            .iter()
            .map(|k| (k.to_string(), "x".into()))
            .collect();
        for o in &rec.spec.outputs {
            if let Some(r) = &o.rtmp
                && r.stream_key_secret_ref.name == name
            {
                data.insert(r.stream_key_secret_ref.key.clone(), "key".into());
            }
        }
        fake.insert(name, data);
    }
    build_job(rec, &fake).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SecretKeyRef;
    use crate::api::recording::RtmpDestination;

    fn rec() -> Recording {
        let mut r = Recording::test("r");
        r.metadata.uid = Some("uid-7".into());
        r.spec.outputs[0]
            .mp4
            .as_mut()
            .unwrap()
            .s3
            .credentials_secret_ref = Some("s3".into());
        r.spec.outputs.push(RecordingOutput {
            name: "live".into(),
            rtmp: Some(RtmpDestination {
                url: "rtmp://live.example.com/app/".into(),
                stream_key_secret_ref: SecretKeyRef {
                    name: "yt".into(),
                    key: "streamKey".into(),
                },
            }),
            ..Default::default()
        });
        r
    }

    fn secrets() -> Secrets {
        let mut s = Secrets::new();
        s.insert(
            "s3".into(),
            BTreeMap::from([
                ("accessKeyId".into(), "AK".into()),
                ("secretAccessKey".into(), "SK".into()),
            ]),
        );
        s.insert(
            "yt".into(),
            BTreeMap::from([("streamKey".into(), "abc".into())]),
        );
        s
    }

    #[test]
    fn job_gets_credentials_and_stream_key_from_secrets() {
        let job = build_job(&rec(), &secrets()).unwrap();
        assert_eq!(job.id.as_deref(), Some("uid-7"));
        let creds = job.outputs[0]
            .mp4
            .as_ref()
            .unwrap()
            .s3
            .as_ref()
            .unwrap()
            .credentials
            .as_ref()
            .unwrap();
        assert_eq!(
            (
                creds.access_key_id.as_str(),
                creds.secret_access_key.as_str(),
                creds.session_token.as_deref()
            ),
            ("AK", "SK", None)
        );
        assert_eq!(
            job.outputs[1].rtmp.as_ref().unwrap().url,
            "rtmp://live.example.com/app/abc"
        );
        assert_eq!(
            secret_names(&rec()).into_iter().collect::<Vec<_>>(),
            vec!["s3", "yt"]
        );
    }

    #[test]
    fn missing_secrets_and_keys_name_the_field() {
        let mut s = secrets();
        s.remove("yt");
        let e = build_job(&rec(), &s).unwrap_err();
        assert!(matches!(e, JobError::MissingSecret { .. }));
        assert!(
            e.to_string()
                .starts_with("spec.outputs[1].rtmp.streamKeySecretRef: Secret \"yt\" not found"),
            "{e}"
        );
        let mut s = secrets();
        s.get_mut("s3").unwrap().remove("secretAccessKey");
        let e = build_job(&rec(), &s).unwrap_err();
        assert!(
            e.to_string()
                .contains("spec.outputs[0].mp4.s3.credentialsSecretRef")
                && e.to_string().contains("secretAccessKey"),
            "{e}"
        );
    }

    #[test]
    fn invalid_specs_are_reported_with_the_recording_field_path() {
        let mut r = rec();
        r.spec.session.participants[0].camera = Some("gopher://x".into());
        let e = validate(&r).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("spec.session.participants[0].camera"),
            "{e}"
        );
        assert!(validate(&rec()).is_ok());
    }
}
