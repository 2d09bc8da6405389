//! Bearer-token auth for the control routes and `/metrics`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::errors::ApiError;

/// The shared secret callers present as `Authorization: Bearer <token>`.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl Token {
    /// A token; `None` when `raw` is empty after trimming (an empty token would let anyone in).
    pub fn new(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        (!trimmed.is_empty()).then(|| Self(trimmed.into()))
    }

    /// Constant-time comparison, so response timing does not reveal how much of a guess was
    /// right. (The length still shows; it says nothing about the content.)
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Checks the `Authorization` header of `headers` against `token`.
pub fn check(token: &Token, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "no Authorization header; send `Authorization: Bearer <token>` with the token from \
             the recorder's --token-file",
        ));
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .ok_or_else(|| {
            ApiError::unauthorized(
                "the Authorization header is not `Bearer <token>`; send the token from the \
                 recorder's --token-file as a bearer token",
            )
        })?;
    if token.matches(presented) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "the bearer token is wrong; use the token in the recorder's --token-file",
        ))
    }
}

/// Middleware: rejects requests without the right bearer token with 401.
pub async fn require_token(State(token): State<Token>, request: Request, next: Next) -> Response {
    match check(&token, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(err) => {
            tracing::warn!(path = %request.uri().path(), reason = %err.detail.message, "rejected request");
            err.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    #[test]
    fn empty_tokens_are_refused() {
        assert!(Token::new("").is_none());
        assert!(Token::new(" \n\t").is_none());
        assert!(Token::new(" s3cret\n").unwrap().matches("s3cret"));
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let token = Token::new("s3cret").unwrap();
        let cases = [
            (None, false),
            (Some("Bearer s3cret"), true),
            (Some("bearer s3cret"), true),
            (Some("Bearer s3cre"), false),
            (Some("Bearer s3cret2"), false),
            (Some("Basic s3cret"), false),
            (Some("s3cret"), false),
            (Some("Bearer "), false),
        ];
        for (auth, ok) in cases {
            assert_eq!(check(&token, &headers(auth)).is_ok(), ok, "{auth:?}");
        }
    }
}
