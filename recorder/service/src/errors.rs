//! Error answers: every failure leaves the API as an [`ErrorBody`] with a stable code, a message
//! saying what to do, and where the fault is (`at`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vcs_job::SpecError;
use vcs_job::control::{ErrorBody, ErrorDetail};

use crate::runner::RunnerError;

/// An error answer: HTTP status plus the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: ErrorDetail,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>, at: Option<String>) -> Self {
        Self {
            status,
            detail: ErrorDetail {
                code: code.to_owned(),
                message: message.into(),
                at,
            },
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message, None)
    }

    pub fn bad_request(message: impl Into<String>, at: Option<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", message, at)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payloadTooLarge",
            format!(
                "the request body is larger than {limit} bytes; send smaller bodies (split events \
                 into several requests, reference large assets by path instead of inlining them)"
            ),
            None,
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message, None)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "notFound", message, None)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "methodNotAllowed",
            "this path does not take that method; see the control API table in architecture.md §5",
            None,
        )
    }

    pub fn not_ready(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "notReady", message, None)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message, None)
    }

    /// One-line form for logs and for `JobStatus::last_error`.
    pub fn summary(&self) -> String {
        match &self.detail.at {
            Some(at) => format!("{at}: {}", self.detail.message),
            None => self.detail.message.clone(),
        }
    }
}

impl From<SpecError> for ApiError {
    fn from(err: SpecError) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalidJob",
            format!("{} {}", err.path, err.message),
            Some(err.path),
        )
    }
}

impl From<RunnerError> for ApiError {
    fn from(err: RunnerError) -> Self {
        match err {
            RunnerError::InvalidJob { at, message } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalidJob",
                format!("{at}: {message}"),
                Some(at),
            ),
            RunnerError::InvalidComposition { at, message } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalidComposition",
                format!("{at}: {message}; fix the composition and start a new recording"),
                Some(at),
            ),
            RunnerError::Conflict(message) => Self::conflict(message),
            RunnerError::Failed(message) => Self::internal(format!(
                "the recorder failed: {message}; the recorder logs have the details"
            )),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let mut response = (self.status, Json(ErrorBody { error: self.detail })).into_response();
        if unauthorized {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_errors_map_to_their_status_and_code() {
        let cases = [
            (
                RunnerError::InvalidJob {
                    at: "outputs[0].rtmp.url".into(),
                    message: "is not rtmp".into(),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalidJob",
                Some("outputs[0].rtmp.url"),
            ),
            (
                RunnerError::InvalidComposition {
                    at: "index.jsx:3:7".into(),
                    message: "x is not defined".into(),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalidComposition",
                Some("index.jsx:3:7"),
            ),
            (
                RunnerError::Conflict("no output named rtmp".into()),
                StatusCode::CONFLICT,
                "conflict",
                None,
            ),
            (
                RunnerError::Failed("pipeline died".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                None,
            ),
        ];
        for (err, status, code, at) in cases {
            let api = ApiError::from(err.clone());
            assert_eq!(api.status, status, "{err:?}");
            assert_eq!(api.detail.code, code, "{err:?}");
            assert_eq!(api.detail.at.as_deref(), at, "{err:?}");
            let message = match &err {
                RunnerError::InvalidJob { message, .. }
                | RunnerError::InvalidComposition { message, .. }
                | RunnerError::Conflict(message)
                | RunnerError::Failed(message) => message,
            };
            assert!(api.detail.message.contains(message.as_str()), "{api:?}");
        }
    }

    #[test]
    fn spec_errors_are_unprocessable_with_the_field_path() {
        let spec = vcs_job::JobSpec::default();
        let err = ApiError::from(spec.validate().unwrap_err());
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.detail.at.as_deref(), Some("composition.name"));
    }
}
