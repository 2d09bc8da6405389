//! S3 clients built from a job's `S3Target`, and the pre-flight check.
//!
//! One client per distinct endpoint/region/addressing/credentials, shared by every object that
//! goes there: a client owns a connection pool and a credentials cache, so building one per put
//! would reconnect and re-resolve credentials each time. Clients are built lazily inside the
//! upload tasks because resolving the default credentials chain is async and may be slow.
//!
//! Requests use `WhenRequired` checksums: S3-compatible stores vary in how well they handle the
//! newer trailing checksums the SDK sends by default, and our own part hashes already catch
//! changed data.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::environment::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use tokio::sync::OnceCell;
use vcs_job::S3Target;

use crate::error::{Failure, Location, UploadError, classify};

/// Region used when neither the target, the environment nor a profile names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// What makes two targets need different clients. Holds secrets: never logged or printed.
#[derive(Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    endpoint: Option<String>,
    region: Option<String>,
    path_style: bool,
    credentials: Option<(String, String, Option<String>)>,
}

impl ClientKey {
    fn of(target: &S3Target) -> Self {
        Self {
            endpoint: target.endpoint.clone(),
            region: target.region.clone(),
            path_style: target.path_style,
            credentials: target.credentials.as_ref().map(|c| {
                (
                    c.access_key_id.clone(),
                    c.secret_access_key.clone(),
                    c.session_token.clone(),
                )
            }),
        }
    }
}

/// The endpoint as shown in messages: the URL, or "AWS" when the target uses AWS itself.
pub(crate) fn endpoint_name(target: &S3Target) -> String {
    target
        .endpoint
        .clone()
        .unwrap_or_else(|| "AWS S3".to_string())
}

pub(crate) fn location(target: &S3Target, key: &str) -> Location {
    Location {
        endpoint: endpoint_name(target),
        bucket: target.bucket.clone(),
        key: key.to_string(),
    }
}

/// Clients shared across uploads, one per [`ClientKey`].
#[derive(Default)]
pub(crate) struct Clients {
    by_key: Mutex<HashMap<ClientKey, Arc<OnceCell<Client>>>>,
}

impl Clients {
    /// The client for `target`, built on first use.
    pub(crate) async fn get(&self, target: &S3Target) -> Result<Client, UploadError> {
        let cell = {
            let mut map = self.by_key.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(ClientKey::of(target)).or_default().clone()
        };
        cell.get_or_try_init(|| build(target)).await.cloned()
    }
}

/// Builds a client: custom endpoint and path style for S3-compatible stores, explicit
/// credentials when the job has them, otherwise the standard AWS chain (env, profile files,
/// web identity, container and instance metadata).
pub(crate) async fn build(target: &S3Target) -> Result<Client, UploadError> {
    if let Some(endpoint) = &target.endpoint {
        validate_endpoint(endpoint).map_err(|reason| UploadError::BadEndpoint {
            endpoint: endpoint.clone(),
            bucket: target.bucket.clone(),
            reason,
            source: None,
        })?;
    }
    // Instance metadata is left out of the region chain: a wrong guess there costs a timeout on
    // every machine that is not on EC2, and the default region is a fine answer.
    let region = RegionProviderChain::first_try(target.region.clone().map(Region::new))
        .or_else(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::new())
        .or_else(Region::new(DEFAULT_REGION));
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(200));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(120))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(creds) = &target.credentials {
        loader = loader.credentials_provider(Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.clone(),
            creds.session_token.clone(),
            None,
            "vcs-job",
        ));
    }
    let shared = loader.load().await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(target.path_style)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Some(endpoint) = &target.endpoint {
        config = config.endpoint_url(endpoint.clone());
    }
    Ok(Client::from_conf(config.build()))
}

/// Catches endpoint typos before any request: an `http(s)://host[:port][/path]` URL.
fn validate_endpoint(endpoint: &str) -> Result<(), String> {
    let url = url::Url::parse(endpoint).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => {
            "the URL must start with http:// or https://".to_string()
        }
        url::ParseError::EmptyHost => "the URL has no host".to_string(),
        other => format!("the URL is not valid ({other})"),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the URL must start with http:// or https://".to_string());
    }
    Ok(())
}

/// Checks that `target`'s bucket exists and the credentials may use it (HeadBucket), so the
/// recorder can fail before recording instead of at the first upload. Not retried beyond the
/// SDK's own few attempts: a check that cannot reach S3 should say so promptly.
pub async fn check(target: &S3Target) -> Result<(), UploadError> {
    let client = build(target).await?;
    let location = location(target, "");
    match client.head_bucket().bucket(&target.bucket).send().await {
        Ok(_) => Ok(()),
        Err(err) => Err(match classify(err, &location) {
            Failure::Retry(error) | Failure::Fatal(error) => error,
            Failure::UploadVanished => UploadError::unexpected(location, "unexpected NoSuchUpload"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_are_checked_for_scheme_host_and_port() {
        for good in [
            "http://127.0.0.1:9000",
            "https://s3.example.com",
            "http://minio/",
            "http://[::1]:9000",
        ] {
            assert_eq!(validate_endpoint(good), Ok(()), "{good}");
        }
        for bad in [
            "127.0.0.1:9000",
            "ftp://x",
            "http://",
            "http://host:port",
            "http://a b",
        ] {
            assert!(validate_endpoint(bad).is_err(), "{bad}");
        }
    }
}
