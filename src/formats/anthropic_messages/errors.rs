//! Anthropic error types ⇄ [`ErrorKind`], both directions in one place.
//!
//! | kind | `error.type` |
//! |---|---|
//! | `InvalidRequest`, `ContextLengthExceeded`, `MethodNotAllowed` | `invalid_request_error` |
//! | `Authentication` | `authentication_error` |
//! | `QuotaExhausted` | `billing_error` |
//! | `PermissionDenied` | `permission_error` |
//! | `NotFound`, `ModelNotFound` | `not_found_error` |
//! | `RequestTooLarge` | `request_too_large` |
//! | `RateLimited` | `rate_limit_error` |
//! | `UpstreamFailed`, `Internal` | `api_error` |
//! | `Overloaded` | `overloaded_error` |
//! | `Timeout` | `timeout_error` |
//!
//! From an upstream, the operator-side types (`authentication_error`, `billing_error`,
//! `permission_error`, `not_found_error`) are the gateway's account or configuration, so they
//! become `UpstreamFailed`.

use serde_json::{Value, json};

use crate::error::{ApiError, ErrorKind, UpstreamError};
use crate::resilience::retry_after;

pub fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest
        | ErrorKind::ContextLengthExceeded
        | ErrorKind::MethodNotAllowed
        | ErrorKind::UpgradeRequired => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::QuotaExhausted => "billing_error",
        ErrorKind::PermissionDenied => "permission_error",
        ErrorKind::NotFound | ErrorKind::ModelNotFound => "not_found_error",
        ErrorKind::RequestTooLarge => "request_too_large",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::UpstreamFailed | ErrorKind::Internal => "api_error",
        ErrorKind::Overloaded => "overloaded_error",
        ErrorKind::Timeout => "timeout_error",
    }
}

/// The message as an Anthropic client should read it. Claude Code compacts its context only
/// when an overflow says "prompt is too long", whatever the upstream called it.
pub fn client_message(error: &ApiError) -> String {
    if error.kind == ErrorKind::ContextLengthExceeded
        && !error.message.starts_with("prompt is too long")
    {
        format!("prompt is too long: {}", error.message)
    } else {
        error.message.clone()
    }
}

/// An Anthropic error body (with the gateway's request id, as Anthropic adds its own).
pub fn error_body(error: &ApiError, request_id: &str) -> Value {
    json!({
        "type": "error",
        "error": {
            "type": error_type(error.kind),
            "message": client_message(error),
        },
        "request_id": request_id,
    })
}

/// Whether an Anthropic error says the account's credit is gone: a 402 `billing_error`, or the
/// 400 `invalid_request_error` "Your credit balance is too low to access the Anthropic API".
pub fn credit_exhausted(status: u16, body: &[u8]) -> bool {
    let parsed = UpstreamError::parse(status, body);
    status == 402
        || parsed.error_type == "billing_error"
        || parsed
            .message
            .to_ascii_lowercase()
            .contains("credit balance")
}

/// The beta flags an Anthropic 400 refuses (`Unexpected value(s) `a`, `b` for the
/// `anthropic-beta` header…`, or a Bedrock-style `invalid beta flag`), among those `sent`:
/// every sent flag the message names, or all of them when it names none.
pub fn rejected_betas(status: u16, body: &[u8], sent: &str) -> Vec<String> {
    if status != 400 {
        return Vec::new();
    }
    let message = UpstreamError::parse(status, body).message;
    let lower = message.to_ascii_lowercase();
    if !lower.contains("anthropic-beta") && !lower.contains("beta flag") {
        return Vec::new();
    }
    let sent: Vec<&str> = sent
        .split(',')
        .map(str::trim)
        .filter(|beta| !beta.is_empty())
        .collect();
    let named: Vec<String> = sent
        .iter()
        .filter(|beta| message.contains(**beta))
        .map(|beta| (*beta).to_owned())
        .collect();
    if named.is_empty() {
        sent.into_iter().map(str::to_owned).collect()
    } else {
        named
    }
}

/// When Anthropic's limits let the key through again: `Retry-After`, else the reset (an RFC
/// 3339 time) of the request or token limit that is used up.
pub fn retry_after_ms(header: &dyn Fn(&str) -> Option<String>, now_ms: u64) -> Option<u64> {
    retry_after::standard(header, now_ms).or_else(|| {
        retry_after::exhausted_limits_wait(
            ["requests", "tokens", "input-tokens", "output-tokens"].map(|limit| {
                (
                    header(&format!("anthropic-ratelimit-{limit}-remaining")),
                    header(&format!("anthropic-ratelimit-{limit}-reset"))
                        .and_then(|v| retry_after::until_rfc3339_ms(&v, now_ms)),
                )
            }),
        )
    })
}

/// An Anthropic upstream's error answer (an error status, or an `error` event in a stream).
/// An account out of credit is the operator's business, whatever status says so.
pub fn classify(status: u16, body: &[u8]) -> ApiError {
    let parsed = UpstreamError::parse(status, body);
    let common = parsed.common_kind();
    let kind = if credit_exhausted(status, body) {
        ErrorKind::UpstreamFailed
    } else if common == ErrorKind::ContextLengthExceeded {
        common
    } else {
        match parsed.error_type.as_str() {
            "invalid_request_error" => ErrorKind::InvalidRequest,
            "authentication_error" | "billing_error" | "permission_error" | "not_found_error" => {
                ErrorKind::UpstreamFailed
            }
            "request_too_large" => ErrorKind::RequestTooLarge,
            "rate_limit_error" => ErrorKind::RateLimited,
            "overloaded_error" => ErrorKind::Overloaded,
            "timeout_error" => ErrorKind::Timeout,
            "api_error" => ErrorKind::UpstreamFailed,
            _ => common,
        }
    };
    parsed.into_api_error(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_400_naming_betas_refuses_those_it_names() {
        let body = br#"{"type":"error","error":{"type":"invalid_request_error","message":"Unexpected value(s) `prompt-caching-scope-2026-01-05`, `structured-outputs-2025-12-15` for the `anthropic-beta` header. Please consult our documentation at docs.claude.com or try again without the header."}}"#;
        let sent =
            "claude-code-20250219, prompt-caching-scope-2026-01-05,structured-outputs-2025-12-15";
        assert_eq!(
            rejected_betas(400, body, sent),
            [
                "prompt-caching-scope-2026-01-05",
                "structured-outputs-2025-12-15"
            ]
        );
        // Bedrock names none: every flag sent is suspect.
        let bedrock = br#"{"message":"invalid beta flag"}"#;
        assert_eq!(rejected_betas(400, bedrock, "a-1,b-2"), ["a-1", "b-2"]);
        // Any other 400 is the request's own fault.
        let other = br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#;
        assert!(rejected_betas(400, other, sent).is_empty());
        assert!(rejected_betas(429, body, sent).is_empty());
    }

    #[test]
    fn bodies_name_the_type_and_the_request() {
        let err = ApiError::invalid("bad").with_param("messages");
        assert_eq!(
            error_body(&err, "req_1"),
            json!({"type":"error","error":{"type":"invalid_request_error","message":"bad"},"request_id":"req_1"})
        );
        for (kind, expected) in [
            (ErrorKind::QuotaExhausted, "billing_error"),
            (ErrorKind::RateLimited, "rate_limit_error"),
            (ErrorKind::Overloaded, "overloaded_error"),
            (ErrorKind::UpstreamFailed, "api_error"),
            (ErrorKind::Timeout, "timeout_error"),
            (ErrorKind::RequestTooLarge, "request_too_large"),
        ] {
            assert_eq!(error_type(kind), expected);
        }
    }

    #[test]
    fn an_overflow_in_any_words_reads_prompt_is_too_long() {
        let from_anthropic = classify(
            400,
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
        );
        assert_eq!(from_anthropic.kind, ErrorKind::ContextLengthExceeded);
        assert_eq!(
            client_message(&from_anthropic),
            "prompt is too long: 210000 tokens > 200000 maximum"
        );
        let other_words = ApiError::new(
            ErrorKind::ContextLengthExceeded,
            "This model's maximum context length is 128000 tokens.",
        );
        assert!(client_message(&other_words).starts_with("prompt is too long: This model's"));
        let overloaded = classify(
            529,
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(overloaded.kind, ErrorKind::Overloaded);
    }
}
