//! The gateway's one error taxonomy and its rendering in each client format.
//!
//! Every failure a client can see, whether the gateway refused the call or the upstream failed,
//! is an [`ApiError`]. [`ErrorKind::status`] is the one place that decides HTTP statuses, and
//! [`ApiError::to_body`] the one place that writes error bodies, so a row of the product's error
//! table changes in exactly one match arm.

use serde_json::{Value, json};

use crate::format::WireFormat;

/// What went wrong, one variant per row of the product's error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed JSON, wrong field types, missing required fields, unsupported features.
    InvalidRequest,
    /// The prompt does not fit the model's context window. Kept distinct so clients can compact
    /// (Claude Code needs "prompt is too long", Codex needs `context_length_exceeded`).
    ContextLengthExceeded,
    /// Missing, unknown, disabled or revoked key.
    Authentication,
    /// The key's quota window is used up.
    QuotaExhausted,
    /// The key's plan does not allow the model, or a wrong admin token.
    PermissionDenied,
    /// An unknown path or resource.
    NotFound,
    /// A model id the config does not know.
    ModelNotFound,
    MethodNotAllowed,
    /// A request body over the configured limit.
    RequestTooLarge,
    /// Requests per minute, tokens per minute or concurrency over the plan's limit, or an
    /// upstream rate limit.
    RateLimited,
    /// The upstream failed or answered something unusable.
    UpstreamFailed,
    /// Every upstream for the model is unavailable.
    Overloaded,
    /// The upstream did not answer in time.
    Timeout,
    /// A bug or a broken binding in the gateway itself.
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::ContextLengthExceeded => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::QuotaExhausted => 402,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::NotFound | ErrorKind::ModelNotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::RequestTooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::UpstreamFailed => 502,
            ErrorKind::Overloaded => 503,
            ErrorKind::Timeout => 504,
        }
    }

    /// OpenAI `error.type` and default `error.code`.
    pub fn openai_type_code(self) -> (&'static str, Option<&'static str>) {
        match self {
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
            ErrorKind::RequestTooLarge => ("invalid_request_error", Some("request_too_large")),
            ErrorKind::RateLimited => ("rate_limit_error", Some("rate_limit_exceeded")),
            ErrorKind::UpstreamFailed => ("server_error", Some("upstream_error")),
            ErrorKind::Overloaded => ("server_error", Some("overloaded")),
            ErrorKind::Timeout => ("server_error", Some("timeout")),
            ErrorKind::Internal => ("server_error", Some("internal_error")),
        }
    }

    /// Anthropic `error.type`.
    pub fn anthropic_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest
            | ErrorKind::ContextLengthExceeded
            | ErrorKind::MethodNotAllowed => "invalid_request_error",
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

    /// Whether a client should be told to retry after some seconds (`Retry-After`).
    pub fn wants_retry_after(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Overloaded)
    }
}

/// An error as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    /// Says what happened and what to do about it.
    pub message: String,
    /// The request field at fault, when there is one (OpenAI `param`).
    pub param: Option<String>,
    /// Overrides the kind's default OpenAI `code` (for example an upstream's
    /// `unsupported_parameter`).
    pub code: Option<String>,
    /// Seconds until a retry can succeed (`Retry-After`).
    pub retry_after_s: Option<u64>,
    /// Retrying the same request cannot succeed (`x-should-retry: false`), whatever the kind.
    pub final_answer: bool,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
            param: None,
            code: None,
            retry_after_s: None,
            final_answer: false,
        }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::InvalidRequest, message)
    }

    pub fn with_param(mut self, param: impl Into<String>) -> ApiError {
        self.param = Some(param.into());
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> ApiError {
        self.code = Some(code.into());
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_s = Some(seconds);
        self
    }

    /// Marks an error that the same request will always get (`x-should-retry: false`).
    pub fn final_answer(mut self) -> ApiError {
        self.final_answer = true;
        self
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The OpenAI `error.code` for this error.
    pub fn openai_code(&self) -> Option<&str> {
        self.code.as_deref().or(self.kind.openai_type_code().1)
    }

    /// The message as an Anthropic client should read it. Claude Code compacts its context only
    /// when an overflow says "prompt is too long", whatever the upstream called it.
    pub fn anthropic_message(&self) -> String {
        if self.kind == ErrorKind::ContextLengthExceeded
            && !self.message.starts_with("prompt is too long")
        {
            format!("prompt is too long: {}", self.message)
        } else {
            self.message.clone()
        }
    }

    /// The OpenAI error object (`{"message","type","param","code"}`), shared by both OpenAI
    /// formats and by the Chat mid-stream error chunk.
    pub fn openai_object(&self) -> Value {
        json!({
            "message": self.message,
            "type": self.kind.openai_type_code().0,
            "param": self.param,
            "code": self.openai_code(),
        })
    }

    /// The error body in a client's format.
    pub fn to_body(&self, format: WireFormat, request_id: &str) -> Value {
        match format {
            WireFormat::OpenAiChat | WireFormat::OpenAiResponses => {
                json!({ "error": self.openai_object() })
            }
            WireFormat::AnthropicMessages => json!({
                "type": "error",
                "error": {
                    "type": self.kind.anthropic_type(),
                    "message": self.anthropic_message(),
                },
                "request_id": request_id,
            }),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.message, self.kind)
    }
}

impl std::error::Error for ApiError {}

/// Builds an [`ApiError`] from an upstream's error answer (before or during a stream).
///
/// The upstream's message is kept. Upstream credential and billing failures are the operator's
/// problem, not the caller's, so they become 502 rather than a 401/402 that would make the
/// caller think their own key is bad.
pub fn from_upstream(format: WireFormat, status: u16, body: &[u8]) -> ApiError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = parsed.get("error").unwrap_or(&parsed);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                format!("the upstream answered HTTP {status}")
            } else {
                text.chars().take(500).collect()
            }
        });
    let error_type = error.get("type").and_then(Value::as_str).unwrap_or("");
    let code = error.get("code").and_then(Value::as_str).unwrap_or("");
    let param = error
        .get("param")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let kind = classify(format, status, error_type, code, &message);
    let mut api = ApiError::new(kind, client_message(kind, status, &message));
    if kind_keeps_vendor_words(kind) {
        api.param = param;
        if kind == ErrorKind::InvalidRequest && !code.is_empty() {
            api.code = Some(code.to_owned());
        }
    }
    api
}

/// Whether a client may read the upstream's own words for an error of `kind`: only when the
/// request itself is at fault (its shape, its size), which the client can fix. Everything else
/// (the gateway's credentials, the operator's credit, rate limits and organisation ids,
/// outages) concerns the operator, who finds the upstream's words in the log.
fn kind_keeps_vendor_words(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::InvalidRequest | ErrorKind::ContextLengthExceeded | ErrorKind::RequestTooLarge
    )
}

/// What a client is told about an upstream failure of `kind`: the upstream's words (with
/// anything key- or account-shaped removed) where the request is at fault, a plain statement
/// otherwise. `status` is 0 or 200 for an error inside a stream.
pub fn client_message(kind: ErrorKind, status: u16, vendor_message: &str) -> String {
    if kind_keeps_vendor_words(kind) {
        let excerpt: String = vendor_message.chars().take(2000).collect();
        let message = redact_secrets(&excerpt);
        if !message.trim().is_empty() {
            return message;
        }
    }
    let http = if (200..300).contains(&status) || status == 0 {
        String::new()
    } else {
        format!(" (HTTP {status})")
    };
    match kind {
        ErrorKind::RateLimited => format!(
            "The upstream provider is rate limiting the gateway for this model{http}; retry shortly."
        ),
        ErrorKind::Overloaded => {
            format!("The upstream provider is overloaded{http}; retry shortly.")
        }
        ErrorKind::Timeout => format!("The upstream provider timed out{http}; retry."),
        ErrorKind::InvalidRequest
        | ErrorKind::ContextLengthExceeded
        | ErrorKind::RequestTooLarge => format!("The upstream provider refused the request{http}."),
        ErrorKind::UpstreamFailed
        | ErrorKind::Authentication
        | ErrorKind::QuotaExhausted
        | ErrorKind::PermissionDenied
        | ErrorKind::NotFound
        | ErrorKind::ModelNotFound
        | ErrorKind::MethodNotAllowed
        | ErrorKind::Internal => format!(
            "The upstream provider could not serve this model for the gateway{http}. If it persists, tell the gateway's operator the x-request-id of this response."
        ),
    }
}

/// A short excerpt of an upstream error body for the operator's log, with key-shaped strings
/// removed (logs are kept and shared too).
pub fn log_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let excerpt: String = text.chars().take(400).collect();
    redact_secrets(&excerpt)
}

/// `message` with anything shaped like an API key (`sk-…`, `toc-…`, `key-…`, …) replaced by
/// `[redacted]`, so an upstream that quotes a key never passes it on.
pub fn redact_secrets(message: &str) -> String {
    const PREFIXES: [&str; 16] = [
        "sk-", "sk_", "rk-", "pk-", "key-", "toc-", "sess-", "Bearer ", "org-", "org_", "proj_",
        "proj-", "AIza", "ghp_", "xoxb-", "AKIA",
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some((at, prefix)) = PREFIXES
        .iter()
        .filter_map(|p| rest.find(p).map(|at| (at, *p)))
        .min_by_key(|(at, _)| *at)
    {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        if before.chars().last().is_some_and(char::is_alphanumeric) {
            // Inside a word ("task-list"): not a key.
            let skip = prefix.len().min(from.len());
            out.push_str(from.get(..skip).unwrap_or_default());
            rest = from.get(skip..).unwrap_or_default();
            continue;
        }
        let token_len = prefix.len()
            + from
                .get(prefix.len()..)
                .unwrap_or_default()
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-_*.".contains(c)))
                .unwrap_or(from.len().saturating_sub(prefix.len()));
        let token = from.get(..token_len).unwrap_or(from);
        if token_len >= prefix.len() + 6 {
            out.push_str("[redacted]");
        } else {
            out.push_str(token);
        }
        rest = from.get(token_len..).unwrap_or_default();
    }
    out.push_str(rest);
    redact_hex_runs(&out)
}

/// Runs of 32 or more hex digits (raw keys, account hashes) replaced by `[redacted]`.
fn redact_hex_runs(text: &str) -> String {
    const MIN_RUN: usize = 32;
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() >= MIN_RUN {
            "[redacted]"
        } else {
            &run
        });
        run.clear();
        out.push(c);
    }
    out.push_str(if run.len() >= MIN_RUN {
        "[redacted]"
    } else {
        &run
    });
    out
}

/// Whether an upstream message describes a prompt that exceeds the context window.
pub fn is_context_overflow(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("prompt is too long")
        || lower.contains("context_length_exceeded")
        || lower.contains("maximum context length")
        || lower.contains("context window")
        || lower.contains("exceeds the context")
}

fn classify(
    format: WireFormat,
    status: u16,
    error_type: &str,
    code: &str,
    message: &str,
) -> ErrorKind {
    if code == "context_length_exceeded" || is_context_overflow(message) && status < 500 {
        return ErrorKind::ContextLengthExceeded;
    }
    if format == WireFormat::AnthropicMessages {
        match error_type {
            "invalid_request_error" => return ErrorKind::InvalidRequest,
            "authentication_error" | "billing_error" | "permission_error" | "not_found_error" => {
                return ErrorKind::UpstreamFailed;
            }
            "request_too_large" => return ErrorKind::RequestTooLarge,
            "rate_limit_error" => return ErrorKind::RateLimited,
            "overloaded_error" => return ErrorKind::Overloaded,
            "timeout_error" => return ErrorKind::Timeout,
            "api_error" => return ErrorKind::UpstreamFailed,
            _ => {}
        }
    }
    if code == "insufficient_quota" || error_type == "insufficient_quota" {
        return ErrorKind::UpstreamFailed;
    }
    match status {
        400 | 422 => ErrorKind::InvalidRequest,
        // The gateway's key, the operator's credit or permissions, the model the operator
        // configured: nothing the caller can fix.
        401..=404 => ErrorKind::UpstreamFailed,
        408 | 504 => ErrorKind::Timeout,
        413 => ErrorKind::RequestTooLarge,
        429 => ErrorKind::RateLimited,
        502 | 503 | 529 => ErrorKind::Overloaded,
        _ => ErrorKind::UpstreamFailed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_product_table() {
        let table = [
            (
                ErrorKind::InvalidRequest,
                400,
                "invalid_request_error",
                None,
                "invalid_request_error",
            ),
            (
                ErrorKind::Authentication,
                401,
                "authentication_error",
                Some("invalid_api_key"),
                "authentication_error",
            ),
            (
                ErrorKind::QuotaExhausted,
                402,
                "insufficient_quota",
                Some("quota_exhausted"),
                "billing_error",
            ),
            (
                ErrorKind::PermissionDenied,
                403,
                "permission_error",
                None,
                "permission_error",
            ),
            (
                ErrorKind::ModelNotFound,
                404,
                "not_found_error",
                Some("model_not_found"),
                "not_found_error",
            ),
            (
                ErrorKind::RequestTooLarge,
                413,
                "invalid_request_error",
                Some("request_too_large"),
                "request_too_large",
            ),
            (
                ErrorKind::RateLimited,
                429,
                "rate_limit_error",
                Some("rate_limit_exceeded"),
                "rate_limit_error",
            ),
            (
                ErrorKind::UpstreamFailed,
                502,
                "server_error",
                Some("upstream_error"),
                "api_error",
            ),
            (
                ErrorKind::Overloaded,
                503,
                "server_error",
                Some("overloaded"),
                "overloaded_error",
            ),
            (
                ErrorKind::Timeout,
                504,
                "server_error",
                Some("timeout"),
                "timeout_error",
            ),
        ];
        for (kind, status, openai_type, openai_code, anthropic_type) in table {
            assert_eq!(kind.status(), status, "{kind:?}");
            assert_eq!(
                kind.openai_type_code(),
                (openai_type, openai_code),
                "{kind:?}"
            );
            assert_eq!(kind.anthropic_type(), anthropic_type, "{kind:?}");
        }
    }

    #[test]
    fn bodies_in_each_format() {
        let err = ApiError::invalid("bad").with_param("messages");
        assert_eq!(
            err.to_body(WireFormat::OpenAiChat, "req_1"),
            json!({"error":{"message":"bad","type":"invalid_request_error","param":"messages","code":null}})
        );
        assert_eq!(
            err.to_body(WireFormat::AnthropicMessages, "req_1"),
            json!({"type":"error","error":{"type":"invalid_request_error","message":"bad"},"request_id":"req_1"})
        );
    }

    #[test]
    fn context_overflow_keeps_its_meaning() {
        let from_openai = from_upstream(
            WireFormat::OpenAiChat,
            400,
            br#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
        );
        assert_eq!(from_openai.kind, ErrorKind::ContextLengthExceeded);
        assert!(
            from_openai
                .anthropic_message()
                .starts_with("prompt is too long: This model's")
        );
        let from_anthropic = from_upstream(
            WireFormat::AnthropicMessages,
            400,
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
        );
        assert_eq!(from_anthropic.kind, ErrorKind::ContextLengthExceeded);
        assert_eq!(
            from_anthropic.openai_code(),
            Some("context_length_exceeded")
        );
    }

    #[test]
    fn upstream_messages_never_carry_keys() {
        let bad_key = from_upstream(
            WireFormat::OpenAiChat,
            401,
            br#"{"error":{"message":"Incorrect API key provided: sk-proj-abc***************xyz9.","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        );
        assert_eq!(bad_key.kind, ErrorKind::UpstreamFailed);
        assert!(!bad_key.message.contains("sk-"), "{}", bad_key.message);
        assert_eq!(
            redact_secrets(
                "key sk-ant-api03-AAAAAAAAAA and toc-abcdefghij, not sk-a, risk-free or task-management-system"
            ),
            "key [redacted] and [redacted], not sk-a, risk-free or task-management-system"
        );
    }

    #[test]
    fn upstream_statuses_map() {
        let cases: [(WireFormat, u16, &[u8], ErrorKind); 6] = [
            (WireFormat::AnthropicMessages, 529, br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, ErrorKind::Overloaded),
            (WireFormat::OpenAiChat, 429, br#"{"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limit_exceeded"}}"#, ErrorKind::RateLimited),
            (WireFormat::OpenAiChat, 429, br#"{"error":{"message":"no credit","type":"insufficient_quota","code":"insufficient_quota"}}"#, ErrorKind::UpstreamFailed),
            (WireFormat::OpenAiResponses, 401, br#"{"error":{"message":"bad key"}}"#, ErrorKind::UpstreamFailed),
            (WireFormat::OpenAiResponses, 500, b"oops", ErrorKind::UpstreamFailed),
            (WireFormat::OpenAiChat, 504, b"", ErrorKind::Timeout),
        ];
        for (format, status, body, kind) in cases {
            assert_eq!(from_upstream(format, status, body).kind, kind, "{status}");
        }
        let plain = from_upstream(WireFormat::OpenAiResponses, 500, b"oops");
        assert!(plain.message.contains("(HTTP 500)"), "{}", plain.message);
        assert!(!plain.message.contains("oops"), "{}", plain.message);
    }
}
