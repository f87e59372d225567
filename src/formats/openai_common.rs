//! What the two OpenAI formats (Chat Completions and Responses) share: the error object and
//! its type/code table, upstream error classification, bearer authentication, keep-alives.

use serde_json::{Value, json};

use super::spec::ModelCard;
use crate::error::{ApiError, ErrorKind, UpstreamError};
use crate::resilience::retry_after;

/// A fixed creation time for catalog entries (the config has none): 2025-01-01.
const CATALOG_CREATED_S: u64 = 1_735_689_600;

/// OpenAI's longest `prompt_cache_key`.
const MAX_PROMPT_CACHE_KEY_CHARS: usize = 64;

/// A `prompt_cache_key` to send, if OpenAI would take it (1 to 64 characters): a longer key
/// would fail the whole request, and without one the cache still works by prefix alone.
pub fn prompt_cache_key(key: &str) -> Option<&str> {
    let chars = key.chars().count();
    (1..=MAX_PROMPT_CACHE_KEY_CHARS)
        .contains(&chars)
        .then_some(key)
}

/// The OpenAI models list (`{"object": "list", "data": [...]}`).
pub fn models_list(models: &[ModelCard]) -> Value {
    let data: Vec<Value> = models.iter().map(model_entry).collect();
    json!({ "object": "list", "data": data })
}

/// One model in the OpenAI shape.
pub fn model_entry(model: &ModelCard) -> Value {
    json!({
        "id": model.id,
        "object": "model",
        "created": CATALOG_CREATED_S,
        "owned_by": "techopenclaw",
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
    })
}

/// OpenAI `error.type` and default `error.code` per kind.
///
/// | kind | type | code |
/// |---|---|---|
/// | `InvalidRequest` | `invalid_request_error` | — |
/// | `ContextLengthExceeded` | `invalid_request_error` | `context_length_exceeded` |
/// | `Authentication` | `authentication_error` | `invalid_api_key` |
/// | `QuotaExhausted` | `insufficient_quota` | `quota_exhausted` |
/// | `PermissionDenied` | `permission_error` | — |
/// | `NotFound` / `ModelNotFound` | `not_found_error` | — / `model_not_found` |
/// | `MethodNotAllowed` | `invalid_request_error` | `method_not_allowed` |
/// | `RequestTooLarge` | `invalid_request_error` | `request_too_large` |
/// | `RateLimited` | `rate_limit_error` | `rate_limit_exceeded` |
/// | `UpstreamFailed` / `Overloaded` / `Timeout` / `Internal` | `server_error` | `upstream_error` / `overloaded` / `timeout` / `internal_error` |
pub fn type_code(kind: ErrorKind) -> (&'static str, Option<&'static str>) {
    match kind {
        ErrorKind::InvalidRequest => ("invalid_request_error", None),
        ErrorKind::ContextLengthExceeded => {
            ("invalid_request_error", Some("context_length_exceeded"))
        }
        ErrorKind::Authentication => ("authentication_error", Some("invalid_api_key")),
        ErrorKind::QuotaExhausted => ("insufficient_quota", Some("quota_exhausted")),
        ErrorKind::PermissionDenied => ("permission_error", None),
        ErrorKind::NotFound => ("not_found_error", None),
        ErrorKind::ModelNotFound => ("not_found_error", Some("model_not_found")),
        ErrorKind::MethodNotAllowed => ("invalid_request_error", Some("method_not_allowed")),
        ErrorKind::UpgradeRequired => ("invalid_request_error", Some("websocket_not_supported")),
        ErrorKind::RequestTooLarge => ("invalid_request_error", Some("request_too_large")),
        ErrorKind::RateLimited => ("rate_limit_error", Some("rate_limit_exceeded")),
        ErrorKind::UpstreamFailed => ("server_error", Some("upstream_error")),
        ErrorKind::Overloaded => ("server_error", Some("overloaded")),
        ErrorKind::Timeout => ("server_error", Some("timeout")),
        ErrorKind::Internal => ("server_error", Some("internal_error")),
    }
}

/// The OpenAI `error.code` for an error: its own, else the kind's.
pub fn code(error: &ApiError) -> Option<&str> {
    error.code.as_deref().or(type_code(error.kind).1)
}

/// The OpenAI error object (`{"message","type","param","code"}`), shared by both OpenAI
/// formats' error bodies and by the Chat mid-stream error chunk.
pub fn error_object(error: &ApiError) -> Value {
    json!({
        "message": error.message,
        "type": type_code(error.kind).0,
        "param": error.param,
        "code": code(error),
    })
}

/// An OpenAI error body.
pub fn error_body(error: &ApiError) -> Value {
    json!({ "error": error_object(error) })
}

/// An OpenAI upstream's error answer: the shared classification (context overflow, quota,
/// status) is all OpenAI's bodies need.
pub fn classify(status: u16, body: &[u8]) -> ApiError {
    let parsed = UpstreamError::parse(status, body);
    let kind = parsed.common_kind();
    parsed.into_api_error(kind)
}

/// Whether an OpenAI-style error says the account's credit or quota is gone: OpenAI answers
/// 429 `insufficient_quota` (not a rate limit: waiting does not help) or
/// `billing_hard_limit_reached`.
pub fn credit_exhausted(status: u16, body: &[u8]) -> bool {
    if status == 402 {
        return true;
    }
    let parsed = UpstreamError::parse(status, body);
    [parsed.code.as_str(), parsed.error_type.as_str()]
        .iter()
        .any(|word| matches!(*word, "insufficient_quota" | "billing_hard_limit_reached"))
}

/// When OpenAI's limits let the key through again: `Retry-After`, else the reset of the
/// request or token limit that is used up (`x-ratelimit-remaining-requests: 0` with
/// `x-ratelimit-reset-requests: 1s`).
pub fn retry_after_ms(header: &dyn Fn(&str) -> Option<String>, now_ms: u64) -> Option<u64> {
    retry_after::standard(header, now_ms).or_else(|| {
        retry_after::exhausted_limits_wait(["requests", "tokens"].map(|limit| {
            (
                header(&format!("x-ratelimit-remaining-{limit}")),
                header(&format!("x-ratelimit-reset-{limit}"))
                    .and_then(|v| retry_after::go_duration_ms(&v)),
            )
        }))
    })
}

/// `Authorization: Bearer <key>`.
pub fn bearer_headers(key: Option<&str>) -> Vec<(&'static str, String)> {
    key.map(|key| ("authorization", format!("Bearer {key}")))
        .into_iter()
        .collect()
}

/// The SSE comment the OpenAI formats keep a silent stream alive with.
pub fn keep_alive_frame(out: &mut Vec<u8>) {
    out.extend_from_slice(b": keep-alive\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_and_rate_limit_headers() {
        let quota = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        assert!(credit_exhausted(429, quota));
        assert!(credit_exhausted(402, b""));
        assert!(!credit_exhausted(
            429,
            br#"{"error":{"type":"rate_limit_error","code":"rate_limit_exceeded"}}"#
        ));
        let headers = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let limited = headers(&[
            ("x-ratelimit-remaining-requests", "12"),
            ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(retry_after_ms(&limited, 0), Some(360_000));
        let asked = headers(&[
            ("retry-after", "7"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(retry_after_ms(&asked, 0), Some(7_000));
        assert_eq!(retry_after_ms(&headers(&[]), 0), None);
    }

    #[test]
    fn the_type_and_code_table() {
        for (kind, expected) in [
            (ErrorKind::InvalidRequest, ("invalid_request_error", None)),
            (
                ErrorKind::Authentication,
                ("authentication_error", Some("invalid_api_key")),
            ),
            (
                ErrorKind::QuotaExhausted,
                ("insufficient_quota", Some("quota_exhausted")),
            ),
            (ErrorKind::PermissionDenied, ("permission_error", None)),
            (
                ErrorKind::ModelNotFound,
                ("not_found_error", Some("model_not_found")),
            ),
            (
                ErrorKind::RequestTooLarge,
                ("invalid_request_error", Some("request_too_large")),
            ),
            (
                ErrorKind::RateLimited,
                ("rate_limit_error", Some("rate_limit_exceeded")),
            ),
            (
                ErrorKind::UpstreamFailed,
                ("server_error", Some("upstream_error")),
            ),
            (ErrorKind::Overloaded, ("server_error", Some("overloaded"))),
            (ErrorKind::Timeout, ("server_error", Some("timeout"))),
        ] {
            assert_eq!(type_code(kind), expected, "{kind:?}");
        }
        let err = ApiError::invalid("bad").with_param("messages");
        assert_eq!(
            error_body(&err),
            json!({"error":{"message":"bad","type":"invalid_request_error","param":"messages","code":null}})
        );
    }

    #[test]
    fn a_context_overflow_keeps_its_code() {
        let overflow = classify(
            400,
            br#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
        );
        assert_eq!(overflow.kind, ErrorKind::ContextLengthExceeded);
        assert_eq!(code(&overflow), Some("context_length_exceeded"));
    }
}
