//! `GET /v1/usage`: the caller's own plan, limits and counters, and its key's policy (expiry,
//! model allowlist, client ranges; never the operator's metadata).

use serde_json::{Value, json};
use worker::{Env, Request, Response, Result};

use super::auth;
use super::http;
use crate::config::Config;
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::metering::Snapshot;
use crate::metering::cost::Unit;
use crate::metering::headers::limit_headers;
use crate::pricing::usd_string;
use crate::time::rfc3339;

/// The usage document of the product contract.
pub fn usage_json(config: &Config, snapshot: &Snapshot) -> Value {
    let window = config
        .plan(&snapshot.plan)
        .map_or_else(String::new, |p| p.window.clone());
    let limits = &snapshot.limits;
    let usd = |pico: u64| Value::String(usd_string(u128::from(pico)));
    let (limits_json, window_json, minute_json) = match limits.unit {
        Unit::Tokens => (
            json!({
                "rpm": limits.rpm,
                "tpm": limits.tpm,
                "concurrency": limits.concurrency,
                "window": window,
                "window_tokens": limits.window_tokens,
            }),
            json!({
                "started_at": rfc3339(snapshot.window_start_ms),
                "resets_at": rfc3339(snapshot.window_end_ms),
                "used_tokens": snapshot.window_used_tokens,
                "remaining_tokens": snapshot.window_remaining_tokens(),
                "used_usd": usd(snapshot.window_used_cost),
            }),
            json!({
                "requests": snapshot.minute_requests,
                "tokens": snapshot.minute_tokens,
            }),
        ),
        Unit::Usd => (
            json!({
                "rpm": limits.rpm,
                "usd_per_minute": (limits.tpm != u64::MAX).then(|| usd(limits.tpm)),
                "concurrency": limits.concurrency,
                "window": window,
                "window_usd": usd(limits.window_tokens),
            }),
            json!({
                "started_at": rfc3339(snapshot.window_start_ms),
                "resets_at": rfc3339(snapshot.window_end_ms),
                "used_usd": usd(snapshot.window_used_tokens),
                "remaining_usd": usd(snapshot.window_remaining_tokens()),
            }),
            json!({
                "requests": snapshot.minute_requests,
                "usd": usd(snapshot.minute_tokens),
            }),
        ),
    };
    let credits = &snapshot.credits;
    let spend = |limit: Option<u64>, period: &crate::metering::credits::Spend| {
        json!({
            "limit_usd": limit.map(usd),
            "spent_usd": usd(period.spent_pico),
            "remaining_usd": limit.map(|l| usd(l.saturating_sub(period.spent_pico))),
            "started_at": rfc3339(period.start_ms),
            "resets_at": rfc3339(period.end_ms),
        })
    };
    json!({
        "plan": snapshot.plan,
        "unit": limits.unit,
        "limits": limits_json,
        "window": window_json,
        "minute": minute_json,
        "in_flight": snapshot.in_flight,
        "in_flight_usd": usd(snapshot.in_flight_cost),
        "balance": credits.balance.map(|b| json!({
            "added_usd": usd(b.added_pico),
            "spent_usd": usd(b.spent_pico),
            "remaining_usd": usd(b.remaining_pico()),
        })),
        "spend": {
            "daily": spend(credits.daily_limit_pico, &credits.day),
            "monthly": spend(credits.monthly_limit_pico, &credits.month),
        },
    })
}

pub async fn handle(req: Request, env: &Env, request_id: &str) -> Result<Response> {
    // Not a format's endpoint: errors in the first registered format's shape (OpenAI's).
    let format = WireFormat::ALL[0];
    let (record, config, snapshot) = match auth::verified_caller(&req, env, format).await {
        Ok((record, config, Some(snapshot))) => (record, config, snapshot),
        Ok((_, _, None)) => {
            return http::error(
                format,
                &ApiError::new(
                    ErrorKind::NotFound,
                    "usage metering is switched off on this gateway",
                ),
                request_id,
            );
        }
        Err(error) => return http::error(format, &error, request_id),
    };
    let mut body = usage_json(&config, &snapshot);
    if let Some(object) = body.as_object_mut() {
        object.insert(
            "policy".into(),
            json!({
                "expires_at": record.policy.expires_at,
                "models": record.policy.models,
                "allowed_ips": record.policy.allowed_ips,
            }),
        );
    }
    let mut response = http::json(200, &body)?;
    http::set_all(&mut response, limit_headers(&snapshot))?;
    Ok(response)
}

/// Adds the key's limit headers (when metering runs) to a keyed response.
pub fn with_limit_headers(mut response: Response, snapshot: Option<&Snapshot>) -> Result<Response> {
    if let Some(snapshot) = snapshot {
        http::set_all(&mut response, limit_headers(snapshot))?;
    }
    Ok(response)
}
