//! The gateway's one error taxonomy and its rendering in each client format.
//!
//! Every failure a client can see, whether the gateway refused the call or the upstream failed,
//! is an [`ApiError`]. [`ErrorKind::status`] is the one place that decides HTTP statuses, and
//! [`ApiError::to_body`] the one place that writes error bodies, so a row of the product's error
//! table changes in exactly one match arm.

use serde_json::Value;

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
    /// The path is served over another protocol: a WebSocket upgrade where the gateway speaks
    /// HTTP (Codex then falls back to HTTP streaming at once).
    UpgradeRequired,
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
            ErrorKind::UpgradeRequired => 426,
            ErrorKind::RequestTooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::UpstreamFailed => 502,
            ErrorKind::Overloaded => 503,
            ErrorKind::Timeout => 504,
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

    /// A 400 about one field: its path leads the message and is the error's `param`.
    pub fn invalid_at(path: impl Into<String>, message: &str) -> ApiError {
        let path = path.into();
        ApiError::invalid(format!("{path}: {message}")).with_param(path)
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

    /// The error body in a client's format (each format renders its own).
    pub fn to_body(&self, format: WireFormat, request_id: &str) -> Value {
        format.spec().render_error(self, request_id)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.message, self.kind)
    }
}

impl std::error::Error for ApiError {}

/// Builds an [`ApiError`] from an upstream's error answer (before or during a stream), as the
/// upstream's format classifies it.
pub fn from_upstream(format: WireFormat, status: u16, body: &[u8]) -> ApiError {
    format.spec().classify_error(status, body)
}

/// The fields most vendors put in an error body (`{"error": {"message", "type", "code",
/// "param"}}`, or the same at the top level), read leniently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamError {
    pub status: u16,
    pub message: String,
    pub error_type: String,
    pub code: String,
    pub param: Option<String>,
}

impl UpstreamError {
    pub fn parse(status: u16, body: &[u8]) -> UpstreamError {
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let error = parsed.get("error").unwrap_or(&parsed);
        let text = |name: &str| {
            error
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
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
        UpstreamError {
            status,
            message,
            error_type: text("type"),
            code: text("code"),
            param: error
                .get("param")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }

    /// The error a client gets for this upstream failure, once its format decided the kind:
    /// the upstream's words (and field) only where the request is at fault.
    pub fn into_api_error(self, kind: ErrorKind) -> ApiError {
        let mut api = ApiError::new(kind, client_message(kind, self.status, &self.message));
        if kind_keeps_vendor_words(kind) {
            api.param = self.param;
            if kind == ErrorKind::InvalidRequest && !self.code.is_empty() {
                api.code = Some(self.code);
            }
        }
        api
    }

    /// The kind by the shape every vendor shares: a context overflow in any words, operator-side
    /// failures (the gateway's key, the operator's credit, permissions or configured model),
    /// then the HTTP status.
    pub fn common_kind(&self) -> ErrorKind {
        if self.code == "context_length_exceeded"
            || is_context_overflow(&self.message) && self.status < 500
        {
            return ErrorKind::ContextLengthExceeded;
        }
        if self.code == "insufficient_quota" || self.error_type == "insufficient_quota" {
            return ErrorKind::UpstreamFailed;
        }
        kind_for_status(self.status)
    }
}

/// The kind an upstream HTTP status means for the client.
pub fn kind_for_status(status: u16) -> ErrorKind {
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
        | ErrorKind::UpgradeRequired
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_product_table() {
        let table = [
            (ErrorKind::InvalidRequest, 400),
            (ErrorKind::Authentication, 401),
            (ErrorKind::QuotaExhausted, 402),
            (ErrorKind::PermissionDenied, 403),
            (ErrorKind::ModelNotFound, 404),
            (ErrorKind::RequestTooLarge, 413),
            (ErrorKind::RateLimited, 429),
            (ErrorKind::UpstreamFailed, 502),
            (ErrorKind::Overloaded, 503),
            (ErrorKind::Timeout, 504),
        ];
        for (kind, status) in table {
            assert_eq!(kind.status(), status, "{kind:?}");
        }
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
