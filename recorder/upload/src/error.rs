//! Errors, and the one decision every S3 call needs: wait and retry, or stop and tell a person.
//!
//! An outage (connection refused, timeouts, 5xx, throttling) only delays uploads, so those are
//! retried for as long as the recording needs. A missing bucket, rejected credentials or a bad
//! endpoint URL will not fix themselves; retrying them would hide the problem until the end of
//! the recording, so they stop the upload at once with a message that says what to change.

use std::path::PathBuf;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Where an S3 request went, for error messages. Never carries credentials.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    pub endpoint: String,
    pub bucket: String,
    pub key: String,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{} at {}", self.bucket, self.key, self.endpoint)
    }
}

/// What went wrong in this crate. Messages name the bucket, key and endpoint and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("S3 bucket `{}` does not exist at {}: create it or fix the output's s3.bucket", .0.bucket, .0.endpoint)]
    NoSuchBucket(Location),
    #[error("S3 refused access to {0} ({1}): check the credentials and the bucket policy")]
    AccessDenied(Location, String),
    #[error("S3 rejected the credentials for {0} ({1}): check the access key id and secret")]
    BadCredentials(Location, String),
    #[error(
        "bad S3 endpoint `{endpoint}` for bucket `{bucket}`: {reason}; fix the output's s3.endpoint"
    )]
    BadEndpoint {
        endpoint: String,
        bucket: String,
        reason: String,
    },
    #[error("S3 cannot be reached for {0}: {1}")]
    Unreachable(Location, String),
    #[error("S3 request for {0} failed: {1}")]
    Request(Location, String),
    #[error("reading `{}` for upload to {location}: {source}", path.display())]
    LocalFile {
        path: PathBuf,
        location: Location,
        source: std::io::Error,
    },
    #[error("spool folder `{}`: {source}", path.display())]
    Spool {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting the upload runtime: {0}")]
    Runtime(std::io::Error),
    #[error("upload of {location} not finished before the deadline; the data is kept at `{}`", path.display())]
    DeadlinePassed { location: Location, path: PathBuf },
}

impl UploadError {
    /// True when retrying cannot help and a person has to change the configuration.
    pub fn needs_person(&self) -> bool {
        matches!(
            self,
            Self::NoSuchBucket(_)
                | Self::AccessDenied(..)
                | Self::BadCredentials(..)
                | Self::BadEndpoint { .. }
        )
    }
}

/// How a failed S3 call should be handled.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Temporary (outage, throttling): wait and try again.
    Retry(UploadError),
    /// The multipart upload is gone (aborted, expired, or the store lost it): start a new one.
    UploadVanished,
    /// Configuration problem: stop and report.
    Fatal(UploadError),
}

/// Sorts an SDK error into retry / start over / stop, with a message naming `location`.
pub(crate) fn classify<E>(err: &SdkError<E, HttpResponse>, location: &Location) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(err).to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or("");
    let location = location.clone();
    match err {
        SdkError::ConstructionFailure(_) => Failure::Fatal(UploadError::BadEndpoint {
            endpoint: location.endpoint,
            bucket: location.bucket,
            reason: detail,
        }),
        SdkError::DispatchFailure(failure) if failure.is_user() => {
            Failure::Fatal(UploadError::BadEndpoint {
                endpoint: location.endpoint,
                bucket: location.bucket,
                reason: detail,
            })
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            Failure::Retry(UploadError::Unreachable(location, detail))
        }
        _ => classify_response(status, code, location, detail),
    }
}

fn classify_response(
    status: Option<u16>,
    code: &str,
    location: Location,
    detail: String,
) -> Failure {
    match (code, status) {
        ("NoSuchUpload", _) => Failure::UploadVanished,
        ("NoSuchBucket", _) => Failure::Fatal(UploadError::NoSuchBucket(location)),
        // HeadBucket has no body, so a missing bucket is only a bare 404.
        ("" | "NotFound", Some(404)) if location.key.is_empty() => {
            Failure::Fatal(UploadError::NoSuchBucket(location))
        }
        ("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken", _) => {
            Failure::Fatal(UploadError::BadCredentials(location, code.to_string()))
        }
        ("AccessDenied" | "AllAccessDisabled", _) | (_, Some(403)) => {
            let what = if code.is_empty() {
                "403 Forbidden"
            } else {
                code
            };
            Failure::Fatal(UploadError::AccessDenied(location, what.to_string()))
        }
        ("InvalidBucketName", _) => Failure::Fatal(UploadError::BadEndpoint {
            endpoint: location.endpoint,
            bucket: location.bucket,
            reason: "invalid bucket name".to_string(),
        }),
        // Throttling, expired temporary credentials (the provider refreshes them), server errors.
        ("SlowDown" | "RequestTimeout" | "ExpiredToken" | "InternalError", _) => {
            Failure::Retry(UploadError::Request(location, detail))
        }
        (_, Some(s)) if s == 408 || s == 429 || s >= 500 => {
            Failure::Retry(UploadError::Request(location, detail))
        }
        (_, Some(s)) if (400..500).contains(&s) => {
            Failure::Fatal(UploadError::Request(location, detail))
        }
        // No response at all, or a response we could not read: treat as an outage.
        _ => Failure::Retry(UploadError::Request(location, detail)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(key: &str) -> Location {
        Location {
            endpoint: "http://127.0.0.1:9000".into(),
            bucket: "rec".into(),
            key: key.into(),
        }
    }

    #[test]
    fn responses_are_sorted_into_retry_restart_or_stop() {
        let cases: &[(&str, Option<u16>, &str, &str)] = &[
            ("NoSuchUpload", Some(404), "k", "vanished"),
            ("NoSuchBucket", Some(404), "k", "fatal"),
            ("", Some(404), "", "fatal"),
            ("NotFound", Some(404), "", "fatal"),
            ("AccessDenied", Some(403), "k", "fatal"),
            ("", Some(403), "", "fatal"),
            ("InvalidAccessKeyId", Some(403), "k", "fatal"),
            ("SignatureDoesNotMatch", Some(403), "k", "fatal"),
            ("SlowDown", Some(503), "k", "retry"),
            ("", Some(500), "k", "retry"),
            ("", Some(429), "k", "retry"),
            ("EntityTooSmall", Some(400), "k", "fatal"),
            ("", None, "k", "retry"),
        ];
        for (code, status, key, want) in cases {
            let got = match classify_response(*status, code, loc(key), String::new()) {
                Failure::Retry(_) => "retry",
                Failure::UploadVanished => "vanished",
                Failure::Fatal(_) => "fatal",
            };
            assert_eq!(got, *want, "code {code:?} status {status:?}");
        }
    }

    #[test]
    fn missing_bucket_message_names_bucket_and_endpoint() {
        let msg = UploadError::NoSuchBucket(loc("")).to_string();
        assert!(
            msg.contains("`rec`") && msg.contains("127.0.0.1:9000"),
            "{msg}"
        );
    }
}
