//! `GET /v1/usage`: the caller's own plan, limits and counters.

use serde_json::{Value, json};
use worker::{Env, Request, Response, Result};

use super::auth;
use super::http;
use super::meter_client::MeterClient;
use super::state;
use crate::config::Config;
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::keys::KeyRecord;
use crate::metering::Snapshot;
use crate::metering::headers::limit_headers;
use crate::time::rfc3339;

/// The usage document of the product contract.
pub fn usage_json(config: &Config, snapshot: &Snapshot) -> Value {
    let window = config
        .plan(&snapshot.plan)
        .map_or_else(String::new, |p| p.window.clone());
    json!({
        "plan": snapshot.plan,
        "limits": {
            "rpm": snapshot.limits.rpm,
            "tpm": snapshot.limits.tpm,
            "concurrency": snapshot.limits.concurrency,
            "window": window,
            "window_tokens": snapshot.limits.window_tokens,
        },
        "window": {
            "started_at": rfc3339(snapshot.window_start_ms),
            "resets_at": rfc3339(snapshot.window_end_ms),
            "used_tokens": snapshot.window_used_tokens,
            "remaining_tokens": snapshot.window_remaining_tokens(),
        },
        "minute": {
            "requests": snapshot.minute_requests,
            "tokens": snapshot.minute_tokens,
        },
        "in_flight": snapshot.in_flight,
    })
}

pub async fn handle(req: Request, env: &Env, request_id: &str) -> Result<Response> {
    let format = WireFormat::OpenAiChat;
    let (record, config) = match auth::caller(&req, env).await {
        Ok(caller) => caller,
        Err(error) => return http::error(format, &error, request_id),
    };
    if !state::metering_enabled(env) {
        return http::error(
            format,
            &ApiError::new(
                ErrorKind::NotFound,
                "usage metering is switched off on this gateway",
            ),
            request_id,
        );
    }
    let usage = match MeterClient::for_key(env, &record.id) {
        Ok(meter) => meter.usage(&record.plan).await,
        Err(e) => Err(e),
    };
    match usage {
        Ok(usage) => {
            let mut response = http::json(200, &usage_json(&config, &usage.snapshot))?;
            http::set_all(&mut response, limit_headers(&usage.snapshot))?;
            Ok(response)
        }
        Err(e) => http::error(format, &auth::internal(e), request_id),
    }
}

/// Adds the key's limit headers to a keyed response that did not go through admission (models,
/// token counts, stored responses): one Durable Object read. Left out if metering is off or the
/// object cannot be reached; the response itself does not depend on them.
pub async fn with_limit_headers(
    mut response: Response,
    env: &Env,
    record: &KeyRecord,
) -> Result<Response> {
    if state::metering_enabled(env)
        && let Ok(meter) = MeterClient::for_key(env, &record.id)
        && let Ok(usage) = meter.usage(&record.plan).await
    {
        http::set_all(&mut response, limit_headers(&usage.snapshot))?;
    }
    Ok(response)
}
