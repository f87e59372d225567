//! The isolate's memory of upstream health: one [`HealthBook`] per isolate.
//!
//! Why per isolate is enough: an isolate serves many requests in a row, so it learns that an
//! upstream is down after `breaker.failures` of its own requests (or one, for a rate limit, a
//! refused key or exhausted credit) and then skips it for the cooldown at no cost. Sharing the
//! state across isolates would put a Durable Object round trip (or a KV write, which takes up
//! to a minute to spread) on every call for a gain of a few failed attempts per isolate and
//! cooldown; and every failed attempt is failed over, so the client does not see it. An
//! upstream's own `Retry-After` is honoured by every isolate that hears it.

use std::cell::RefCell;

use serde_json::{Value, json};

use crate::config::Provider;
use crate::resilience::book::BreakerReport;
use crate::resilience::circuit::Standing;
use crate::resilience::{Admission, Failure, HealthBook};

thread_local! {
    static BOOK: RefCell<HealthBook> = RefCell::new(HealthBook::new());
}

/// Whether a request may use `key` (a secret's name) of `provider` now.
pub fn check(provider: &Provider, key: Option<&str>, now_ms: u64) -> Admission {
    BOOK.with(|book| {
        book.borrow_mut()
            .check(&provider.id, key, now_ms, &provider.breaker)
    })
}

/// Records the outcome of an attempt that started at `started_ms`, and says so in the log
/// when a breaker opens.
pub fn record(
    provider: &Provider,
    key: Option<&str>,
    outcome: Result<(), (Failure, Option<u64>)>,
    started_ms: u64,
    request_id: &str,
) {
    let now_ms = worker::Date::now().as_millis();
    let opened = BOOK.with(|book| {
        book.borrow_mut().record(
            &provider.id,
            key,
            outcome,
            (started_ms, now_ms),
            &provider.breaker,
        )
    });
    if let Some(report) = opened {
        let (until_ms, reason) = match report.standing {
            Standing::Open { until_ms, reason } => (until_ms, reason),
            Standing::Closed | Standing::HalfOpen { .. } => return,
        };
        let what = if reason.benches() {
            "benched"
        } else {
            "skipped"
        };
        worker::console_warn!(
            "{request_id}: upstream {:?}{} {what} for {} s: {}",
            provider.id,
            report
                .upstream
                .key
                .as_deref()
                .map(|key| format!(" key {key}"))
                .unwrap_or_default(),
            until_ms.saturating_sub(now_ms).div_ceil(1000),
            reason.as_str()
        );
    }
}

/// When `key` of `provider` may be tried again, if one of its breakers is open.
pub fn reopens_at_ms(provider: &Provider, key: Option<&str>) -> Option<u64> {
    BOOK.with(|book| book.borrow().reopens_at_ms(&provider.id, key))
}

/// Every breaker that has seen an outcome, for the operator's view of `/health/ready`.
pub fn report_json(now_ms: u64) -> Value {
    let reports = BOOK.with(|book| book.borrow().report());
    Value::Array(reports.iter().map(|r| breaker_json(r, now_ms)).collect())
}

fn breaker_json(report: &BreakerReport, now_ms: u64) -> Value {
    let (state, reason, reopens_in_s) = match report.standing {
        Standing::Closed => ("closed", None, None),
        Standing::Open { until_ms, reason } => (
            if reason.benches() { "benched" } else { "open" },
            Some(reason.as_str()),
            Some(until_ms.saturating_sub(now_ms).div_ceil(1000)),
        ),
        Standing::HalfOpen { reason } => ("probing", Some(reason.as_str()), None),
    };
    let (failures, outcomes) = report.recent_failures;
    json!({
        "provider": report.upstream.provider,
        "key": report.upstream.key,
        "state": state,
        "reason": reason,
        "reopens_in_s": reopens_in_s,
        "consecutive_failures": report.consecutive_failures,
        "recent_failures": failures,
        "recent_outcomes": outcomes,
        "last_failure": report.last_failure.map(Failure::as_str),
    })
}
