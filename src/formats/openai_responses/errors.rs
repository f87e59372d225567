//! Responses error codes ⇄ [`ErrorKind`], both directions in one place.
//!
//! Upstream side: `response.failed` (`response.error.code`), `error` stream events and
//! `{"error": ...}` bodies. Client side: the `response.failed` event Codex acts on; it compacts
//! on `context_length_exceeded`, stops on `insufficient_quota`, and retries anything else,
//! parsing "try again in Ns" from rate-limit messages.

use super::wire::ResponseError;
use crate::error::{ApiError, ErrorKind, client_message, is_context_overflow};

/// An upstream error code → an [`ApiError`] (the upstream's words kept only where the request
/// is at fault, see `error::client_message`).
///
/// | `code` | kind |
/// |---|---|
/// | `context_length_exceeded` (or an overflow message) | `ContextLengthExceeded` |
/// | `rate_limit_exceeded` | `RateLimited` (+ retry-after from "try again in Ns") |
/// | `insufficient_quota` | `UpstreamFailed` (the operator's account, not the caller's) |
/// | `invalid_prompt` | `InvalidRequest` (code kept) |
/// | `server_is_overloaded`, `slow_down` | `Overloaded` |
/// | `server_error`, anything else | `UpstreamFailed` |
pub fn decode(error: &ResponseError) -> ApiError {
    let code = error.code.as_deref().unwrap_or("");
    let vendor_message = error.message.as_deref().unwrap_or_default();
    let kind = match code {
        "context_length_exceeded" => ErrorKind::ContextLengthExceeded,
        "rate_limit_exceeded" => ErrorKind::RateLimited,
        "invalid_prompt" => ErrorKind::InvalidRequest,
        "server_is_overloaded" | "slow_down" => ErrorKind::Overloaded,
        _ if is_context_overflow(vendor_message) => ErrorKind::ContextLengthExceeded,
        _ => ErrorKind::UpstreamFailed,
    };
    let mut api = ApiError::new(kind, client_message(kind, 0, vendor_message));
    match kind {
        ErrorKind::InvalidRequest => {
            api = api.with_code(code);
            api.param = error.param.clone();
        }
        ErrorKind::RateLimited => {
            if let Some(seconds) = retry_after_s(vendor_message) {
                // Codex reads "try again in Ns" from the message.
                api.message = format!(
                    "The upstream provider is rate limiting the gateway for this model. Please try again in {seconds}s."
                );
                api = api.with_retry_after(seconds);
            }
        }
        _ => {}
    }
    api
}

/// The `response.error.code` a Responses client gets for an error.
///
/// | kind | `code` |
/// |---|---|
/// | `ContextLengthExceeded` | `context_length_exceeded` |
/// | `RateLimited` | `rate_limit_exceeded` |
/// | `QuotaExhausted` | `insufficient_quota` |
/// | `Overloaded` | `server_is_overloaded` (OpenAI's own code for it) |
/// | every other kind | `server_error` |
pub fn encode_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ContextLengthExceeded => "context_length_exceeded",
        ErrorKind::RateLimited => "rate_limit_exceeded",
        ErrorKind::QuotaExhausted => "insufficient_quota",
        ErrorKind::Overloaded => "server_is_overloaded",
        ErrorKind::InvalidRequest
        | ErrorKind::Authentication
        | ErrorKind::PermissionDenied
        | ErrorKind::NotFound
        | ErrorKind::ModelNotFound
        | ErrorKind::MethodNotAllowed
        | ErrorKind::UpgradeRequired
        | ErrorKind::RequestTooLarge
        | ErrorKind::UpstreamFailed
        | ErrorKind::Timeout
        | ErrorKind::Internal => "server_error",
    }
}

/// The message a Responses client gets. A rate limit with a known retry time says
/// "try again in Ns", the phrase Codex parses for its back-off.
pub fn encode_message(error: &ApiError) -> String {
    match (error.kind, error.retry_after_s) {
        (ErrorKind::RateLimited, Some(seconds))
            if !error.message.to_ascii_lowercase().contains("try again in") =>
        {
            let sep = if error.message.ends_with('.') || error.message.is_empty() {
                ""
            } else {
                "."
            };
            format!("{}{sep} Please try again in {seconds}s.", error.message)
                .trim_start()
                .to_owned()
        }
        _ => error.message.clone(),
    }
}

/// Seconds from "try again in 11.054s" / "try again in 20ms" (rounded up), as OpenAI words it.
fn retry_after_s(message: &str) -> Option<u64> {
    let lower = message.to_ascii_lowercase();
    let start = lower.find("try again in")? + "try again in".len();
    let rest = lower.get(start..)?.trim_start();
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let value: f64 = rest.get(..number_len)?.parse().ok()?;
    let unit = rest.get(number_len..)?.trim_start();
    let seconds = if unit.starts_with("ms") {
        value / 1000.0
    } else if unit.starts_with('s') {
        value
    } else {
        return None;
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    // A float-to-int `as` cast saturates; the value is finite and non-negative here.
    Some(seconds.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(code: &str, message: &str) -> ResponseError {
        ResponseError {
            code: Some(code.into()),
            message: Some(message.into()),
            kind: None,
            param: None,
        }
    }

    #[test]
    fn decode_table() {
        let cases = [
            (
                "context_length_exceeded",
                "Your input exceeds the context window",
                ErrorKind::ContextLengthExceeded,
            ),
            (
                "rate_limit_exceeded",
                "Rate limit reached. Please try again in 11.054s.",
                ErrorKind::RateLimited,
            ),
            (
                "insufficient_quota",
                "You exceeded your current quota",
                ErrorKind::UpstreamFailed,
            ),
            (
                "server_error",
                "The server had an error",
                ErrorKind::UpstreamFailed,
            ),
            (
                "invalid_prompt",
                "Invalid prompt: flagged",
                ErrorKind::InvalidRequest,
            ),
            (
                "",
                "This model's maximum context length is 128000 tokens",
                ErrorKind::ContextLengthExceeded,
            ),
            ("vector_store_timeout", "timeout", ErrorKind::UpstreamFailed),
        ];
        for (code, message, kind) in cases {
            assert_eq!(decode(&wire(code, message)).kind, kind, "{code}");
        }
        let limited = decode(&wire("rate_limit_exceeded", "Please try again in 11.054s."));
        assert_eq!(limited.retry_after_s, Some(12));
        assert_eq!(
            limited.message,
            "The upstream provider is rate limiting the gateway for this model. Please try again in 12s."
        );
        let server = decode(&wire("server_error", "boom org-AbCdEf0123456789"));
        assert!(!server.message.contains("boom"), "{}", server.message);
        let prompt = decode(&wire("invalid_prompt", "bad"));
        assert_eq!(
            crate::formats::openai_common::code(&prompt),
            Some("invalid_prompt")
        );
        let empty = decode(&ResponseError::default());
        assert!(empty.message.contains("could not serve this model"));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after_s("Please try again in 20ms."), Some(1));
        assert_eq!(retry_after_s("Try again in 3 seconds"), Some(3));
        assert_eq!(retry_after_s("try again in 1.5s"), Some(2));
        assert_eq!(retry_after_s("try again later"), None);
        assert_eq!(retry_after_s("nothing"), None);
    }

    #[test]
    fn encode_table() {
        assert_eq!(
            encode_code(ErrorKind::ContextLengthExceeded),
            "context_length_exceeded"
        );
        assert_eq!(encode_code(ErrorKind::RateLimited), "rate_limit_exceeded");
        assert_eq!(encode_code(ErrorKind::QuotaExhausted), "insufficient_quota");
        assert_eq!(encode_code(ErrorKind::Overloaded), "server_is_overloaded");
        assert_eq!(encode_code(ErrorKind::InvalidRequest), "server_error");
        let limited =
            ApiError::new(ErrorKind::RateLimited, "Too many requests").with_retry_after(7);
        assert_eq!(
            encode_message(&limited),
            "Too many requests. Please try again in 7s."
        );
        let already =
            ApiError::new(ErrorKind::RateLimited, "Please try again in 2s.").with_retry_after(2);
        assert_eq!(encode_message(&already), "Please try again in 2s.");
        let plain = ApiError::new(ErrorKind::Timeout, "slow");
        assert_eq!(encode_message(&plain), "slow");
    }
}
