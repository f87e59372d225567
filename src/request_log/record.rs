//! One call's log record: what it was, how it ended, what it was charged and cost. Built when
//! the call's outcome is final, from the same figures its settlement charges.

use serde::{Deserialize, Serialize};

use crate::canonical::Usage;
use crate::error::{ApiError, ErrorKind};
use crate::pricing::{Prices, Tokens, cost_at};
use crate::translate::Billed;

/// Longest `warnings` value kept (the header is at most 2 KB; the log keeps less).
const MAX_WARNINGS_BYTES: usize = 512;

/// What the call's record says (the queue message and the API's row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// The gateway's request id.
    pub id: String,
    /// When the call arrived (ms since the epoch).
    pub ts_ms: u64,
    pub key_id: String,
    /// The public model id the client asked for.
    pub model: String,
    /// The provider that answered (or the last that failed).
    pub provider: Option<String>,
    pub upstream_model: Option<String>,
    /// The client's format, by its config name.
    pub client_format: String,
    pub stream: bool,
    /// The HTTP status the client got.
    pub status: u16,
    /// `ok`, `incomplete` (an answer cut short: the client went away or the upstream failed
    /// mid-stream), or the error's type.
    pub outcome: String,
    pub input_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    pub web_search_calls: u64,
    /// Some figures are the gateway's estimates: the upstream reported none.
    pub estimated: bool,
    /// USD × 10¹²; `None` when the model has no price.
    pub cost_pico: Option<u64>,
    pub latency_ms: u64,
    /// Streams: time to the first content.
    pub ttft_ms: Option<u64>,
    pub warnings: Option<String>,
}

/// How a call ended, as the settlement saw it.
#[derive(Debug, Clone)]
pub struct CallEnd<'a> {
    pub request_id: &'a str,
    pub key_id: &'a str,
    pub model: &'a str,
    pub provider: Option<&'a str>,
    pub upstream_model: Option<&'a str>,
    pub client_format: &'a str,
    pub stream: bool,
    pub arrived_ms: u64,
    pub ended_ms: u64,
    pub first_content_ms: Option<u64>,
    /// The error the client got, if any.
    pub error: Option<&'a ApiError>,
    /// No upstream took the call on (nothing is charged).
    pub refused: bool,
    /// The answer reached its end.
    pub finished: bool,
    /// What the call is charged.
    pub billed: Billed,
    /// What the upstream reported.
    pub usage: &'a Usage,
    pub warnings: Option<&'a str>,
}

impl LogRecord {
    /// The record of `end`, its cost at the prices in force when it arrived.
    pub fn new(end: &CallEnd, prices: Option<&Prices>) -> LogRecord {
        let tokens = Tokens::charged(end.billed, end.usage);
        let (status, outcome) = match end.error {
            Some(error) => (error.status(), outcome_name(error.kind).to_owned()),
            None if !end.finished && !end.refused => (200, "incomplete".to_owned()),
            None => (200, "ok".to_owned()),
        };
        let charged_something = end.billed.total() > 0;
        let reported_all =
            end.usage.input_tokens.is_some() && end.usage.output_tokens.is_some() && end.finished;
        LogRecord {
            id: end.request_id.to_owned(),
            ts_ms: end.arrived_ms,
            key_id: end.key_id.to_owned(),
            model: end.model.to_owned(),
            provider: end.provider.map(str::to_owned),
            upstream_model: end.upstream_model.map(str::to_owned),
            client_format: end.client_format.to_owned(),
            stream: end.stream,
            status,
            outcome,
            input_tokens: tokens.input,
            cache_read_tokens: tokens.cache_read,
            cache_write_tokens: tokens.cache_write_5m + tokens.cache_write_1h,
            output_tokens: tokens.output,
            reasoning_tokens: end.usage.reasoning_tokens.unwrap_or(0),
            web_search_calls: tokens.web_search_calls,
            estimated: charged_something && !reported_all,
            cost_pico: prices
                .and_then(|prices| cost_at(prices, end.arrived_ms, &tokens))
                .map(|cost| cost.total()),
            latency_ms: end.ended_ms.saturating_sub(end.arrived_ms),
            ttft_ms: end
                .first_content_ms
                .filter(|_| end.stream)
                .map(|at| at.saturating_sub(end.arrived_ms)),
            warnings: end.warnings.map(|w| truncate(w, MAX_WARNINGS_BYTES)),
        }
    }

    /// Whether the call counts as an error in rollups.
    pub fn is_error(&self) -> bool {
        self.outcome != "ok"
    }
}

/// An error type as the log names it (OpenAI-style codes, the ones operators search for).
pub fn outcome_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest => "invalid_request",
        ErrorKind::ContextLengthExceeded => "context_length_exceeded",
        ErrorKind::Authentication => "authentication",
        ErrorKind::QuotaExhausted => "quota_exhausted",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::NotFound => "not_found",
        ErrorKind::ModelNotFound => "model_not_found",
        ErrorKind::MethodNotAllowed => "method_not_allowed",
        ErrorKind::RequestTooLarge => "request_too_large",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::UpstreamFailed => "upstream_error",
        ErrorKind::Overloaded => "overloaded",
        ErrorKind::Timeout => "timeout",
        ErrorKind::UpgradeRequired => "upgrade_required",
        ErrorKind::Internal => "internal",
    }
}

fn truncate(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", text.get(..end).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{PER_MTOK, PriceRow, Rates, parse_rate};

    fn end<'a>(usage: &'a Usage, billed: Billed) -> CallEnd<'a> {
        CallEnd {
            request_id: "req_1",
            key_id: "key_1",
            model: "m",
            provider: Some("p"),
            upstream_model: Some("up"),
            client_format: "anthropic",
            stream: true,
            arrived_ms: 1_000,
            ended_ms: 1_750,
            first_content_ms: Some(1_200),
            error: None,
            refused: false,
            finished: true,
            billed,
            usage,
            warnings: Some("dropped=top_k"),
        }
    }

    fn prices() -> Prices {
        let rate = |d: f64| parse_rate(d, PER_MTOK).unwrap();
        Prices {
            rows: vec![PriceRow {
                from_ms: 0,
                taken: None,
                rates: Rates {
                    input: rate(3.0),
                    cached_input: rate(0.3),
                    cache_write_5m: rate(3.75),
                    cache_write_1h: rate(6.0),
                    output: rate(15.0),
                    ..Rates::default()
                },
                long_context: None,
            }],
        }
    }

    #[test]
    fn a_finished_call_records_its_charge_and_cost() {
        let usage = Usage {
            input_tokens: Some(62_000),
            cache_read_tokens: Some(50_000),
            cache_write_tokens: Some(10_000),
            output_tokens: Some(1_500),
            reasoning_tokens: Some(300),
            ..Usage::default()
        };
        let billed = Billed {
            input_tokens: 62_000,
            output_tokens: 1_500,
            ..Billed::default()
        };
        let record = LogRecord::new(&end(&usage, billed), Some(&prices()));
        assert_eq!(record.status, 200);
        assert_eq!(record.outcome, "ok");
        assert_eq!(
            (
                record.input_tokens,
                record.cache_read_tokens,
                record.cache_write_tokens
            ),
            (62_000, 50_000, 10_000)
        );
        assert_eq!(record.reasoning_tokens, 300);
        assert!(!record.estimated);
        assert_eq!(record.cost_pico, Some(81_000_000_000));
        assert_eq!((record.latency_ms, record.ttft_ms), (750, Some(200)));
        assert_eq!(record.warnings.as_deref(), Some("dropped=top_k"));
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("Bonjour"), "metadata only");
        assert_eq!(serde_json::from_str::<LogRecord>(&json).unwrap(), record);
    }

    #[test]
    fn errors_cuts_estimates_and_unpriced_models() {
        let usage = Usage::default();
        let error = ApiError::new(ErrorKind::Timeout, "late");
        let mut failed = end(&usage, Billed::default());
        failed.error = Some(&error);
        failed.refused = true;
        failed.finished = false;
        let record = LogRecord::new(&failed, None);
        assert_eq!((record.status, record.outcome.as_str()), (504, "timeout"));
        assert!(record.is_error());
        assert_eq!(record.cost_pico, None);
        assert!(!record.estimated, "nothing charged, nothing estimated");

        let mut cut = end(
            &usage,
            Billed {
                input_tokens: 100,
                output_tokens: 7,
                ..Billed::default()
            },
        );
        cut.finished = false;
        let record = LogRecord::new(&cut, Some(&prices()));
        assert_eq!(
            (record.status, record.outcome.as_str()),
            (200, "incomplete")
        );
        assert!(record.estimated);
        assert_eq!(record.cost_pico, Some(100 * 3_000_000 + 7 * 15_000_000));

        let mut whole = end(&usage, Billed::default());
        whole.stream = false;
        assert_eq!(LogRecord::new(&whole, None).ttft_ms, None);
        let long = "x".repeat(2_000);
        whole.warnings = Some(&long);
        assert!(LogRecord::new(&whole, None).warnings.unwrap().len() < 600);
    }
}
