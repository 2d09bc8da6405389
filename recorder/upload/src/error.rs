//! Errors, and the one decision every S3 call needs: wait and retry, or stop and tell a person.
//!
//! An outage (connection refused, timeouts, 5xx, throttling) only delays uploads, so those are
//! retried for as long as the recording needs. A missing bucket, rejected credentials or a bad
//! endpoint URL will not fix themselves; retrying them would hide the problem until the end of
//! the recording, so they stop the upload at once with a message that says what to change.

use std::path::PathBuf;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

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

/// The error behind a failed S3 call, kept as the source of an [`UploadError`].
pub type SdkFailure = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong in this crate. Messages name the bucket, key and endpoint and say what to do.
///
/// Errors from an S3 call or the file system keep it as their `source()` and do not repeat it in
/// their message: show them with [`vcs_job::control::error_chain`] (status and logs here do).
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("S3 bucket `{}` does not exist at {}: create it or fix the output's s3.bucket", .0.bucket, .0.endpoint)]
    NoSuchBucket(Location),
    #[error(
        "S3 refused access to {location} ({code}): check the credentials and the bucket policy"
    )]
    AccessDenied {
        location: Location,
        /// The S3 error code, or the HTTP status when there was none.
        code: String,
        #[source]
        source: SdkFailure,
    },
    #[error(
        "S3 rejected the credentials for {location} ({code}): check the access key id and secret"
    )]
    BadCredentials {
        location: Location,
        code: String,
        #[source]
        source: SdkFailure,
    },
    #[error(
        "bad S3 endpoint `{endpoint}` for bucket `{bucket}`: {reason}; fix the output's s3.endpoint"
    )]
    BadEndpoint {
        endpoint: String,
        bucket: String,
        reason: String,
        /// The SDK's error, when the SDK found the problem (not our own check of the URL).
        #[source]
        source: Option<SdkFailure>,
    },
    #[error(
        "no S3 credentials for {location}: set the output's s3.credentials, or one of the standard \
         AWS sources (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, web identity, an \
         instance or pod role)"
    )]
    NoCredentials { location: Location },
    #[error("S3 cannot be reached for {location}")]
    Unreachable {
        location: Location,
        #[source]
        source: SdkFailure,
    },
    #[error("S3 request for {location} failed")]
    Request {
        location: Location,
        #[source]
        source: SdkFailure,
    },
    /// S3 answered something this crate does not expect at that point.
    #[error("S3 request for {location} failed: {detail}")]
    Unexpected { location: Location, detail: String },
    #[error("reading `{}` for upload to {location}", path.display())]
    LocalFile {
        path: PathBuf,
        location: Location,
        source: std::io::Error,
    },
    #[error("spool folder `{}`", path.display())]
    Spool {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting the upload runtime")]
    Runtime(#[source] std::io::Error),
    #[error("upload of {location} not finished before the deadline; the data is kept at `{}`", path.display())]
    DeadlinePassed { location: Location, path: PathBuf },
}

impl UploadError {
    /// S3 answered something this crate does not expect at that point.
    pub(crate) fn unexpected(location: Location, detail: impl Into<String>) -> Self {
        Self::Unexpected {
            location,
            detail: detail.into(),
        }
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

/// Sorts an SDK error into retry / start over / stop, with a message naming `location`; the
/// SDK error becomes the error's source.
pub(crate) fn classify<E>(err: SdkError<E, HttpResponse>, location: &Location) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // The SDK reports "no credentials anywhere" as a failed dispatch with every provider's
    // reason (a kilobyte of text): say what is missing instead, and do not retry it.
    if format!("{err:?}").contains("CredentialsNotLoaded") {
        return Failure::Fatal(UploadError::NoCredentials {
            location: location.clone(),
        });
    }
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or("").to_string();
    let user_error = match &err {
        SdkError::ConstructionFailure(_) => Some(true),
        SdkError::DispatchFailure(failure) => Some(failure.is_user()),
        SdkError::TimeoutError(_) => Some(false),
        _ => None,
    };
    let response = Response {
        status,
        code: &code,
        location: location.clone(),
        source: Box::new(err),
    };
    match user_error {
        // The request could not be built or sent as configured: the endpoint is wrong.
        Some(true) => Failure::Fatal(UploadError::BadEndpoint {
            endpoint: response.location.endpoint,
            bucket: response.location.bucket,
            reason: "the request could not be made".to_string(),
            source: Some(response.source),
        }),
        // Nothing answered: an outage.
        Some(false) => Failure::Retry(UploadError::Unreachable {
            location: response.location,
            source: response.source,
        }),
        None => classify_response(response),
    }
}

/// What S3 answered to a failed call.
struct Response<'a> {
    status: Option<u16>,
    code: &'a str,
    location: Location,
    source: SdkFailure,
}

impl Response<'_> {
    fn failed(self) -> UploadError {
        UploadError::Request {
            location: self.location,
            source: self.source,
        }
    }
}

fn classify_response(r: Response<'_>) -> Failure {
    match (r.code, r.status) {
        ("NoSuchUpload", _) => Failure::UploadVanished,
        ("NoSuchBucket", _) => Failure::Fatal(UploadError::NoSuchBucket(r.location)),
        // HeadBucket has no body, so a missing bucket is only a bare 404.
        ("" | "NotFound", Some(404)) if r.location.key.is_empty() => {
            Failure::Fatal(UploadError::NoSuchBucket(r.location))
        }
        ("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken", _) => {
            Failure::Fatal(UploadError::BadCredentials {
                code: r.code.to_string(),
                location: r.location,
                source: r.source,
            })
        }
        ("AccessDenied" | "AllAccessDisabled", _) | (_, Some(403)) => {
            let code = if r.code.is_empty() {
                "403 Forbidden"
            } else {
                r.code
            };
            Failure::Fatal(UploadError::AccessDenied {
                code: code.to_string(),
                location: r.location,
                source: r.source,
            })
        }
        ("InvalidBucketName", _) => Failure::Fatal(UploadError::BadEndpoint {
            endpoint: r.location.endpoint,
            bucket: r.location.bucket,
            reason: "invalid bucket name".to_string(),
            source: Some(r.source),
        }),
        // Throttling, expired temporary credentials (the provider refreshes them), server errors.
        ("SlowDown" | "RequestTimeout" | "ExpiredToken" | "InternalError", _) => {
            Failure::Retry(r.failed())
        }
        (_, Some(s)) if s == 408 || s == 429 || s >= 500 => Failure::Retry(r.failed()),
        (_, Some(s)) if (400..500).contains(&s) => Failure::Fatal(r.failed()),
        // No response at all, or a response we could not read: treat as an outage.
        _ => Failure::Retry(r.failed()),
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
            let response = Response {
                status: *status,
                code,
                location: loc(key),
                source: "an SDK error".into(),
            };
            let got = match classify_response(response) {
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
