//! Google API errors ⇄ [`ErrorKind`], both directions in one place.
//!
//! A Gemini client reads `{"error": {"code", "message", "status", "details"}}` (the SDKs raise
//! on `code`; Gemini CLI also reads `details`: `ErrorInfo.reason`, `RetryInfo.retryDelay`):
//!
//! | kind | HTTP | `status` | `ErrorInfo.reason` |
//! |---|---|---|---|
//! | `InvalidRequest` | 400 | `INVALID_ARGUMENT` | `INVALID_REQUEST` |
//! | `ContextLengthExceeded` | 400 | `INVALID_ARGUMENT` | `CONTEXT_LENGTH_EXCEEDED` |
//! | `Authentication` | 401 | `UNAUTHENTICATED` | `API_KEY_INVALID` |
//! | `QuotaExhausted` | 402 | `RESOURCE_EXHAUSTED` | `QUOTA_EXHAUSTED` |
//! | `PermissionDenied` | 403 | `PERMISSION_DENIED` | `PERMISSION_DENIED` |
//! | `NotFound`, `ModelNotFound` | 404 | `NOT_FOUND` | `NOT_FOUND`, `MODEL_NOT_FOUND` |
//! | `MethodNotAllowed` | 405 | `UNIMPLEMENTED` | `METHOD_NOT_ALLOWED` |
//! | `RequestTooLarge` | 413 | `INVALID_ARGUMENT` | `REQUEST_TOO_LARGE` |
//! | `RateLimited` | 429 | `RESOURCE_EXHAUSTED` | `RATE_LIMIT_EXCEEDED` |
//! | `Internal` | 500 | `INTERNAL` | `INTERNAL_ERROR` |
//! | `UpstreamFailed` | 502 | `UNAVAILABLE` | `UPSTREAM_ERROR` |
//! | `Overloaded` | 503 | `UNAVAILABLE` | `OVERLOADED` |
//! | `Timeout` | 504 | `DEADLINE_EXCEEDED` | `TIMEOUT` |
//!
//! A used-up plan quota keeps the gateway's 402 (one status per kind for every client), with
//! Google's own word for a quota, `RESOURCE_EXHAUSTED`. That is the status Gemini clients know
//! for quotas, and the 402 keeps them from retrying (the SDKs and Gemini CLI retry 429 and
//! 5xx), which is right: the quota does not come back before its window resets, which the
//! message says. A rate limit is Google's 429 `RESOURCE_EXHAUSTED` with a `RetryInfo`.
//!
//! From an upstream, errors about the gateway's own key, project or billing (`API_KEY_INVALID`,
//! `UNAUTHENTICATED`, `PERMISSION_DENIED`, `FAILED_PRECONDITION`, `NOT_FOUND`) are the
//! operator's, so they become `UpstreamFailed`; a prompt over the context window (Gemini says
//! "The input token count (N) exceeds the maximum number of tokens allowed (M)") stays a
//! `ContextLengthExceeded`.

use serde_json::{Value, json};

use crate::error::{ApiError, ErrorKind, UpstreamError, is_context_overflow, kind_for_status};

/// The `ErrorInfo.domain` of the gateway's own errors.
const DOMAIN: &str = "gateway";

/// `status` and `ErrorInfo.reason` per kind.
pub fn status_reason(kind: ErrorKind) -> (&'static str, &'static str) {
    match kind {
        ErrorKind::InvalidRequest => ("INVALID_ARGUMENT", "INVALID_REQUEST"),
        ErrorKind::ContextLengthExceeded => ("INVALID_ARGUMENT", "CONTEXT_LENGTH_EXCEEDED"),
        ErrorKind::Authentication => ("UNAUTHENTICATED", "API_KEY_INVALID"),
        ErrorKind::QuotaExhausted => ("RESOURCE_EXHAUSTED", "QUOTA_EXHAUSTED"),
        ErrorKind::PermissionDenied => ("PERMISSION_DENIED", "PERMISSION_DENIED"),
        ErrorKind::NotFound => ("NOT_FOUND", "NOT_FOUND"),
        ErrorKind::ModelNotFound => ("NOT_FOUND", "MODEL_NOT_FOUND"),
        ErrorKind::MethodNotAllowed => ("UNIMPLEMENTED", "METHOD_NOT_ALLOWED"),
        ErrorKind::UpgradeRequired => ("UNIMPLEMENTED", "UPGRADE_REQUIRED"),
        ErrorKind::RequestTooLarge => ("INVALID_ARGUMENT", "REQUEST_TOO_LARGE"),
        ErrorKind::RateLimited => ("RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED"),
        ErrorKind::Internal => ("INTERNAL", "INTERNAL_ERROR"),
        ErrorKind::UpstreamFailed => ("UNAVAILABLE", "UPSTREAM_ERROR"),
        ErrorKind::Overloaded => ("UNAVAILABLE", "OVERLOADED"),
        ErrorKind::Timeout => ("DEADLINE_EXCEEDED", "TIMEOUT"),
    }
}

/// The message as a Gemini client should read it: an overflow says so in Google's words.
fn client_message(error: &ApiError) -> String {
    let lower = error.message.to_ascii_lowercase();
    if error.kind == ErrorKind::ContextLengthExceeded
        && !(lower.contains("input token count") && lower.contains("exceeds"))
    {
        format!(
            "The input token count exceeds the maximum number of tokens allowed: {}",
            error.message
        )
    } else {
        error.message.clone()
    }
}

/// The Google error object (`{"code", "message", "status", "details"}`), also the data of a
/// mid-stream error event.
pub fn error_object(error: &ApiError, request_id: &str) -> Value {
    let (status, reason) = status_reason(error.kind);
    let mut metadata = serde_json::Map::new();
    if !request_id.is_empty() {
        metadata.insert("request_id".into(), json!(request_id));
    }
    let mut details = vec![json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": DOMAIN,
        "metadata": metadata,
    })];
    if let Some(field) = &error.param {
        details.push(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": error.message}],
        }));
    }
    let retry = error
        .retry_after_s
        .or_else(|| error.kind.wants_retry_after().then_some(1));
    if let Some(seconds) = retry {
        details.push(json!({
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": format!("{seconds}s"),
        }));
    }
    json!({
        "code": error.status(),
        "message": client_message(error),
        "status": status,
        "details": details,
    })
}

/// A Google error body.
pub fn error_body(error: &ApiError, request_id: &str) -> Value {
    json!({ "error": error_object(error, request_id) })
}

/// A Gemini upstream's error answer: an error status, an `{"error"}` event inside a stream
/// (`status` 0 or 200, the code is then the body's), or the array-wrapped form some Google
/// endpoints use (`[{"error": ...}]`).
pub fn classify(status: u16, body: &[u8]) -> ApiError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let parsed = match parsed {
        Value::Array(items) => items.into_iter().next().unwrap_or(Value::Null),
        other => other,
    };
    let error = parsed.get("error").unwrap_or(&Value::Null);
    let text = |name: &str| error.get(name).and_then(Value::as_str).unwrap_or_default();
    let code = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|code| u16::try_from(code).ok());
    let status = match code {
        Some(code) if status == 0 || (200..300).contains(&status) => code,
        _ => status,
    };
    let google_status = text("status");
    let message = text("message");
    let details = error
        .get("details")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let reason = details
        .iter()
        .find_map(|detail| detail.get("reason").and_then(Value::as_str))
        .unwrap_or_default();
    let kind = if (message.to_ascii_lowercase().contains("input token count")
        && message.to_ascii_lowercase().contains("exceeds"))
        || is_context_overflow(message) && status < 500
    {
        ErrorKind::ContextLengthExceeded
    } else {
        match google_status {
            "INVALID_ARGUMENT" if reason == "API_KEY_INVALID" || message.contains("API key") => {
                ErrorKind::UpstreamFailed
            }
            "INVALID_ARGUMENT" | "OUT_OF_RANGE" => ErrorKind::InvalidRequest,
            "UNAUTHENTICATED"
            | "PERMISSION_DENIED"
            | "FAILED_PRECONDITION"
            | "NOT_FOUND"
            | "INTERNAL"
            | "CANCELLED"
            | "UNKNOWN"
            | "DATA_LOSS" => ErrorKind::UpstreamFailed,
            "RESOURCE_EXHAUSTED" => ErrorKind::RateLimited,
            // A bad gateway (another gateway's upstream failed) is no overload.
            "UNAVAILABLE" if status == 502 => ErrorKind::UpstreamFailed,
            "UNAVAILABLE" => ErrorKind::Overloaded,
            "DEADLINE_EXCEEDED" => ErrorKind::Timeout,
            _ if status == 0 || (200..300).contains(&status) => ErrorKind::UpstreamFailed,
            _ => kind_for_status(status),
        }
    };
    let mut upstream = UpstreamError::parse(status, body);
    if !message.is_empty() {
        upstream.message = message.to_owned();
    }
    // Google's status names are not OpenAI codes: nothing of them is passed on as one.
    upstream.code = String::new();
    let mut api = upstream.into_api_error(kind);
    if matches!(kind, ErrorKind::RateLimited | ErrorKind::Overloaded) {
        api.retry_after_s = retry_delay(details).or_else(|| retry_in_message(message));
    }
    api
}

/// `RetryInfo.retryDelay` (`"17s"`, `"0.5s"`) in whole seconds, rounded up.
fn retry_delay(details: &[Value]) -> Option<u64> {
    details
        .iter()
        .filter_map(|detail| detail.get("retryDelay").and_then(Value::as_str))
        .find_map(seconds)
}

/// `Please retry in 17.3s.` in a quota message.
fn retry_in_message(message: &str) -> Option<u64> {
    let after = message.split("retry in ").nth(1)?;
    let number: String = after
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    seconds(&format!("{number}s"))
}

fn seconds(text: &str) -> Option<u64> {
    let value: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    value
        .is_finite()
        .then(|| value.ceil().clamp(0.0, 86_400.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_renders_a_google_error() {
        let kinds = [
            (ErrorKind::InvalidRequest, 400, "INVALID_ARGUMENT"),
            (ErrorKind::ContextLengthExceeded, 400, "INVALID_ARGUMENT"),
            (ErrorKind::Authentication, 401, "UNAUTHENTICATED"),
            (ErrorKind::QuotaExhausted, 402, "RESOURCE_EXHAUSTED"),
            (ErrorKind::PermissionDenied, 403, "PERMISSION_DENIED"),
            (ErrorKind::NotFound, 404, "NOT_FOUND"),
            (ErrorKind::ModelNotFound, 404, "NOT_FOUND"),
            (ErrorKind::MethodNotAllowed, 405, "UNIMPLEMENTED"),
            (ErrorKind::RequestTooLarge, 413, "INVALID_ARGUMENT"),
            (ErrorKind::RateLimited, 429, "RESOURCE_EXHAUSTED"),
            (ErrorKind::Internal, 500, "INTERNAL"),
            (ErrorKind::UpstreamFailed, 502, "UNAVAILABLE"),
            (ErrorKind::Overloaded, 503, "UNAVAILABLE"),
            (ErrorKind::Timeout, 504, "DEADLINE_EXCEEDED"),
        ];
        for (kind, code, status) in kinds {
            let body = error_body(&ApiError::new(kind, "words"), "req_1");
            assert_eq!(body["error"]["code"], code, "{kind:?}");
            assert_eq!(body["error"]["status"], status, "{kind:?}");
            assert_eq!(
                body["error"]["details"][0]["metadata"]["request_id"],
                "req_1"
            );
        }
        let limited = error_body(
            &ApiError::new(ErrorKind::RateLimited, "slow down").with_retry_after(17),
            "r",
        );
        assert_eq!(limited["error"]["details"][1]["retryDelay"], "17s");
        let invalid = error_body(
            &ApiError::invalid("bad").with_param("generationConfig.candidateCount"),
            "r",
        );
        assert_eq!(
            invalid["error"]["details"][1]["fieldViolations"][0]["field"],
            "generationConfig.candidateCount"
        );
        let overflow = error_body(
            &ApiError::new(ErrorKind::ContextLengthExceeded, "prompt is too long"),
            "r",
        );
        assert_eq!(
            overflow["error"]["message"],
            "The input token count exceeds the maximum number of tokens allowed: prompt is too long"
        );
    }

    #[test]
    fn upstream_errors_keep_their_meaning() {
        let overflow = classify(
            400,
            br#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
        );
        assert_eq!(overflow.kind, ErrorKind::ContextLengthExceeded);
        assert!(overflow.message.contains("1048576"));
        let bad_key = classify(
            400,
            br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#,
        );
        assert_eq!(bad_key.kind, ErrorKind::UpstreamFailed);
        let quota = classify(
            429,
            br#"{"error":{"code":429,"message":"You exceeded your current quota. Please retry in 17.3s.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]}}"#,
        );
        assert_eq!(quota.kind, ErrorKind::RateLimited);
        assert_eq!(quota.retry_after_s, Some(17));
        let no_delay = classify(
            429,
            br#"{"error":{"code":429,"message":"Please retry in 2.5s.","status":"RESOURCE_EXHAUSTED"}}"#,
        );
        assert_eq!(no_delay.retry_after_s, Some(3));
        let in_stream = classify(
            200,
            br#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#,
        );
        assert_eq!(in_stream.kind, ErrorKind::Overloaded);
        let wrapped = classify(
            404,
            br#"[{"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}}]"#,
        );
        assert_eq!(wrapped.kind, ErrorKind::UpstreamFailed);
        let invalid = classify(
            400,
            br#"{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"foo\"","status":"INVALID_ARGUMENT"}}"#,
        );
        assert_eq!(invalid.kind, ErrorKind::InvalidRequest);
        assert!(invalid.message.contains("Unknown name"));
        assert_eq!(invalid.code, None);
        assert_eq!(classify(504, b"").kind, ErrorKind::Timeout);
    }
}
