//! Limit headers sent on every keyed response, in both vendors' dialects plus the quota window:
//!
//! | header | value |
//! |---|---|
//! | `x-ratelimit-{limit,remaining}-{requests,tokens}` | per minute |
//! | `x-ratelimit-reset-{requests,tokens}` | OpenAI duration until a slot frees (`"12s"`, `"1m5s"`) |
//! | `anthropic-ratelimit-{requests,tokens}-{limit,remaining}` | per minute |
//! | `anthropic-ratelimit-{requests,tokens}-reset` | RFC 3339 time |
//! | `x-quota-limit-tokens`, `x-quota-remaining-tokens` | the quota window |
//! | `x-quota-reset` | RFC 3339 end of the window |
//!
//! For a plan in US dollars the token headers give way to `x-ratelimit-{limit,remaining}-usd`
//! (per minute, when the plan has a per-minute limit) and `x-quota-{limit,remaining}-usd`, in
//! exact decimal dollars; a key with a prepaid balance also gets `x-balance-remaining-usd`.

use super::Snapshot;
use super::cost::Unit;
use crate::pricing::usd_string;
use crate::time::rfc3339;

fn usd(pico: u64) -> String {
    usd_string(u128::from(pico))
}

/// The headers for a snapshot, as (name, value) pairs.
pub fn limit_headers(snapshot: &Snapshot) -> Vec<(&'static str, String)> {
    let mut headers = match snapshot.limits.unit {
        Unit::Tokens => token_headers(snapshot),
        Unit::Usd => usd_headers(snapshot),
    };
    if let Some(balance) = snapshot.credits.balance {
        headers.push(("x-balance-remaining-usd", usd(balance.remaining_pico())));
    }
    headers
}

/// A plan in dollars: requests per minute as usual, the per-minute limit and the window in
/// dollars.
fn usd_headers(snapshot: &Snapshot) -> Vec<(&'static str, String)> {
    let limits = &snapshot.limits;
    let requests_remaining = limits.rpm.saturating_sub(snapshot.minute_requests);
    let requests_reset = snapshot.requests_reset_ms.saturating_sub(snapshot.now_ms);
    let mut headers = vec![
        ("x-ratelimit-limit-requests", limits.rpm.to_string()),
        (
            "x-ratelimit-remaining-requests",
            requests_remaining.to_string(),
        ),
        ("x-ratelimit-reset-requests", go_duration(requests_reset)),
        ("anthropic-ratelimit-requests-limit", limits.rpm.to_string()),
        (
            "anthropic-ratelimit-requests-remaining",
            requests_remaining.to_string(),
        ),
        (
            "anthropic-ratelimit-requests-reset",
            rfc3339(snapshot.requests_reset_ms),
        ),
        ("x-quota-limit-usd", usd(limits.window_tokens)),
        (
            "x-quota-remaining-usd",
            usd(snapshot.window_remaining_tokens()),
        ),
        ("x-quota-reset", rfc3339(snapshot.window_end_ms)),
    ];
    if limits.tpm != u64::MAX {
        headers.push(("x-ratelimit-limit-usd", usd(limits.tpm)));
        headers.push((
            "x-ratelimit-remaining-usd",
            usd(limits.tpm.saturating_sub(snapshot.minute_tokens)),
        ));
    }
    headers
}

fn token_headers(snapshot: &Snapshot) -> Vec<(&'static str, String)> {
    let limits = &snapshot.limits;
    let requests_remaining = limits.rpm.saturating_sub(snapshot.minute_requests);
    let tokens_remaining = limits.tpm.saturating_sub(snapshot.minute_tokens);
    let requests_reset = snapshot.requests_reset_ms.saturating_sub(snapshot.now_ms);
    let tokens_reset = snapshot.tokens_reset_ms.saturating_sub(snapshot.now_ms);
    vec![
        ("x-ratelimit-limit-requests", limits.rpm.to_string()),
        (
            "x-ratelimit-remaining-requests",
            requests_remaining.to_string(),
        ),
        ("x-ratelimit-reset-requests", go_duration(requests_reset)),
        ("x-ratelimit-limit-tokens", limits.tpm.to_string()),
        ("x-ratelimit-remaining-tokens", tokens_remaining.to_string()),
        ("x-ratelimit-reset-tokens", go_duration(tokens_reset)),
        ("anthropic-ratelimit-requests-limit", limits.rpm.to_string()),
        (
            "anthropic-ratelimit-requests-remaining",
            requests_remaining.to_string(),
        ),
        (
            "anthropic-ratelimit-requests-reset",
            rfc3339(snapshot.requests_reset_ms),
        ),
        ("anthropic-ratelimit-tokens-limit", limits.tpm.to_string()),
        (
            "anthropic-ratelimit-tokens-remaining",
            tokens_remaining.to_string(),
        ),
        (
            "anthropic-ratelimit-tokens-reset",
            rfc3339(snapshot.tokens_reset_ms),
        ),
        ("x-quota-limit-tokens", limits.window_tokens.to_string()),
        (
            "x-quota-remaining-tokens",
            snapshot.window_remaining_tokens().to_string(),
        ),
        ("x-quota-reset", rfc3339(snapshot.window_end_ms)),
    ]
}

/// A duration as OpenAI writes it: `"0s"`, `"12s"`, `"1m5s"`, `"2h0m0s"` (whole seconds,
/// rounded up).
pub fn go_duration(ms: u64) -> String {
    let total = ms.div_ceil(1000);
    let (hours, minutes, seconds) = (total / 3600, total % 3600 / 60, total % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metering::{Limits, SetAside};

    #[test]
    fn durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(1), "1s");
        assert_eq!(go_duration(65_000), "1m5s");
        assert_eq!(go_duration(7_200_000), "2h0m0s");
    }

    #[test]
    fn headers_from_a_snapshot() {
        let snapshot = Snapshot {
            plan: "pro".into(),
            limits: Limits {
                rpm: 60,
                tpm: 1000,
                concurrency: 2,
                window_ms: 3_600_000,
                window_tokens: 5000,
                unit: crate::metering::cost::Unit::Tokens,
                calendar: None,
                zone: crate::metering::calendar::Zone::UTC,
            },
            now_ms: 1_000_000,
            window_start_ms: 1_000_000,
            window_end_ms: 4_600_000,
            window_used_tokens: 100,
            window_committed_tokens: 300,
            minute_requests: 3,
            minute_tokens: 400,
            requests_reset_ms: 1_030_000,
            tokens_reset_ms: 1_030_000,
            in_flight: 1,
            slots_held: 1,
            window_used_cost: 0,
            credits: Default::default(),
            in_flight_cost: 0,
            set_aside: SetAside::default(),
        };
        let headers = limit_headers(&snapshot);
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("x-ratelimit-remaining-requests"), Some("57"));
        assert_eq!(get("x-ratelimit-reset-requests"), Some("30s"));
        assert_eq!(get("anthropic-ratelimit-tokens-remaining"), Some("600"));
        assert_eq!(
            get("anthropic-ratelimit-requests-reset"),
            Some("1970-01-01T00:17:10Z")
        );
        assert_eq!(get("x-quota-remaining-tokens"), Some("4700"));
        assert_eq!(get("x-quota-reset"), Some("1970-01-01T01:16:40Z"));
    }
}
