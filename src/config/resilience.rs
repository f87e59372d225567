//! The resilience settings of the config: each provider's timeouts and breaker, and the
//! gateway's retry allowance.
//!
//! ```toml
//! [gateway]
//! max_attempts = 4              # upstream attempts per request, over every route and key
//! attempt_window = "90s"        # no attempt starts later than this after the request arrived
//!
//! [[providers]]
//! timeout_ms = 30000            # a streamed answer's response headers
//! first_event_timeout_ms = 60000  # then its first event
//! idle_timeout_ms = 300000      # then the longest silence between events
//! answer_timeout_ms = 600000    # a whole non-streamed answer
//! breaker = { failures = 3, cooldown_ms = 5000, max_cooldown_ms = 300000, bench_ms = 900000 }
//! # breaker = { enabled = false }   # tried every time, whatever happened before
//! ```

use serde::Deserialize;

use super::Checker;
use super::duration::parse_duration_ms;
use crate::resilience::CircuitPolicy;
use crate::resilience::budget::RetryPolicy;

const DEFAULT_HEADERS_TIMEOUT_MS: u64 = 30_000;
const DEFAULT_FIRST_EVENT_TIMEOUT_MS: u64 = 60_000;
const DEFAULT_ANSWER_TIMEOUT_MS: u64 = 600_000;

/// How long a provider is waited for, at each stage of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connection and response headers of a streamed answer (a non-streamed answer's headers
    /// come with the whole answer: `answer_ms`).
    pub headers_ms: u64,
    /// From a stream's headers to its first event.
    pub first_event_ms: u64,
    /// The longest silence between a stream's events.
    pub idle_ms: u64,
    /// A whole non-streamed answer.
    pub answer_ms: u64,
}

/// A provider's breaker settings as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// `false`: the provider is tried every time (default true).
    pub enabled: Option<bool>,
    /// Failures in a row that open the breaker (default 3).
    pub failures: Option<u32>,
    /// The first cooldown, doubled at each opening in a row (default 5000).
    pub cooldown_ms: Option<u64>,
    /// The longest cooldown, including one the upstream asks for (default 300000).
    pub max_cooldown_ms: Option<u64>,
    /// How long a refused key or an account out of credit is left alone (default 900000).
    pub bench_ms: Option<u64>,
}

/// The provider fields that concern timeouts, as written.
pub(crate) struct RawTimeouts {
    pub timeout_ms: Option<u64>,
    pub first_event_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub answer_timeout_ms: Option<u64>,
}

/// A provider's timeouts; `idle_default_ms` is the gateway's `abandon_after`.
pub(crate) fn timeouts(
    raw: &RawTimeouts,
    idle_default_ms: u64,
    entry: &str,
    check: &mut Checker,
) -> Timeouts {
    let mut field = |name: &str, value: Option<u64>, default: u64| match value {
        Some(0) => {
            check.error(entry, name, "must be greater than 0");
            default
        }
        Some(ms) => ms,
        None => default,
    };
    Timeouts {
        headers_ms: field("timeout_ms", raw.timeout_ms, DEFAULT_HEADERS_TIMEOUT_MS),
        first_event_ms: field(
            "first_event_timeout_ms",
            raw.first_event_timeout_ms,
            DEFAULT_FIRST_EVENT_TIMEOUT_MS,
        ),
        idle_ms: field("idle_timeout_ms", raw.idle_timeout_ms, idle_default_ms),
        answer_ms: field(
            "answer_timeout_ms",
            raw.answer_timeout_ms,
            DEFAULT_ANSWER_TIMEOUT_MS,
        ),
    }
}

/// A provider's breaker policy.
pub(crate) fn breaker(raw: Option<&RawBreaker>, entry: &str, check: &mut Checker) -> CircuitPolicy {
    let defaults = CircuitPolicy::default();
    let Some(raw) = raw else {
        return defaults;
    };
    let mut positive = |name: &str, value: Option<u64>, default: u64| match value {
        Some(0) => {
            check.error(entry, &format!("breaker.{name}"), "must be greater than 0");
            default
        }
        Some(value) => value,
        None => default,
    };
    let failure_threshold = positive(
        "failures",
        raw.failures.map(u64::from),
        u64::from(defaults.failure_threshold),
    );
    let cooldown_ms = positive("cooldown_ms", raw.cooldown_ms, defaults.cooldown_ms);
    let max_cooldown_ms = positive(
        "max_cooldown_ms",
        raw.max_cooldown_ms,
        defaults.max_cooldown_ms,
    );
    let bench_ms = positive("bench_ms", raw.bench_ms, defaults.bench_ms);
    if max_cooldown_ms < cooldown_ms {
        check.error(
            entry,
            "breaker.max_cooldown_ms",
            "must be at least breaker.cooldown_ms",
        );
    }
    CircuitPolicy {
        enabled: raw.enabled.unwrap_or(true),
        failure_threshold: u32::try_from(failure_threshold).unwrap_or(u32::MAX),
        cooldown_ms,
        max_cooldown_ms,
        bench_ms,
        ..defaults
    }
}

/// The gateway's retry allowance.
pub(crate) fn retry(
    max_attempts: Option<u32>,
    attempt_window: Option<&str>,
    check: &mut Checker,
) -> RetryPolicy {
    let defaults = RetryPolicy::default();
    let max_attempts = match max_attempts {
        Some(0) => {
            check.error("gateway", "max_attempts", "must be at least 1");
            defaults.max_attempts
        }
        Some(n) => n,
        None => defaults.max_attempts,
    };
    let attempt_window_ms = match attempt_window {
        None => defaults.attempt_window_ms,
        Some(text) => parse_duration_ms(text).unwrap_or_else(|| {
            check.error(
                "gateway",
                "attempt_window",
                format!("{text:?} is not a duration like \"90s\""),
            );
            defaults.attempt_window_ms
        }),
    };
    RetryPolicy {
        max_attempts,
        attempt_window_ms,
        ..defaults
    }
}
