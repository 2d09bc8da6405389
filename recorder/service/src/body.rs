//! Reading JSON request bodies so that every mistake names its place: the field path (via
//! `serde_path_to_error`) and the line:column in the body, with a size cap answered by a clear
//! 413 instead of a bare connection reset.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::errors::ApiError;

/// Largest request body accepted. A job spec with many participants and outputs is a few KiB;
/// a MiB leaves room for inline params without letting a client pin memory.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Parses `bytes` as `T`, naming the failing field path and line:column.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.inner();
        let at = (path != ".").then_some(path);
        let place = match &at {
            Some(path) => format!(
                "at {path} (line {} column {})",
                inner.line(),
                inner.column()
            ),
            None => format!("at line {} column {}", inner.line(), inner.column()),
        };
        let what = match inner.classify() {
            serde_json::error::Category::Data => {
                "fix that field (field names are camelCase; \
                                                  unknown fields are rejected)"
            }
            serde_json::error::Category::Eof => "the body ended early; send complete JSON",
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                "the body is not valid JSON"
            }
        };
        ApiError::bad_request(format!("{inner} {place}: {what}"), at)
    })?;
    Ok(value)
}

/// A request body: raw bytes with the size cap, parsed with [`parse`] by the handler (which
/// decides between one object and an array for events).
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Err(ApiError::bad_request(
                "the request body is empty; send a JSON body",
                None,
            )),
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::payload_too_large(MAX_BODY_BYTES))
            }
            Err(rejection) => Err(ApiError::bad_request(
                format!("could not read the request body: {}", rejection.body_text()),
                None,
            )),
        }
    }
}

/// Typed JSON body, parsed with [`parse`].
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse(&bytes).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vcs_job::JobSpec;

    #[test]
    fn unknown_field_names_its_path_and_position() {
        let body = br#"{
  "composition": {"name": "demo"},
  "participants": [{"id": "a", "camrea": "test:"}]
}"#;
        let err = parse::<JobSpec>(body).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.detail.at.as_deref(), Some("participants[0].camrea"));
        assert!(
            err.detail.message.contains("line 3"),
            "{}",
            err.detail.message
        );
        assert!(
            err.detail.message.contains("camrea"),
            "{}",
            err.detail.message
        );
    }

    #[test]
    fn syntax_error_has_position_and_no_path() {
        let err = parse::<JobSpec>(b"{\"composition\": ").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(
            err.detail.message.contains("line 1"),
            "{}",
            err.detail.message
        );
        assert!(
            err.detail.message.contains("ended early"),
            "{}",
            err.detail.message
        );
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = parse::<JobSpec>(br#"{"composition":{"name":"demo"},"video":{"fps":"thirty"}}"#)
            .unwrap_err();
        assert_eq!(err.detail.at.as_deref(), Some("video.fps"));
    }
}
