//! `POST /v1/messages/count_tokens` for every model: exact when the model's upstream is
//! Anthropic (the request goes to its count endpoint), an estimate otherwise (an upper bound,
//! see `translate::meter::estimate_input_tokens`). The answer says which in
//! `x-toc-token-count: exact | estimate`.
//!
//! A count is a request like any other for the key: it needs an active key and counts toward
//! the plan's requests per minute (not its tokens). The upstream count uses the provider's key
//! pool, with a timeout; when no key answers, the estimate stands in.

use std::time::Duration;

use futures_util::future::{Either, select};
use serde_json::{Value, json};
use worker::{Delay, Env, Fetch, Request, Response, Result};

use super::auth;
use super::http;
use super::inference::admission::admit_instant;
use super::inference::body_limits;
use super::request_body::read_body;
use super::state;
use super::upstream;
use crate::config::{Plan, Route};
use crate::error::{self, ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::anthropic_messages::forward::forward_count_request;
use crate::json_shape;
use crate::keys::KeyRecord;
use crate::metering::headers::limit_headers;
use crate::translate::Warnings;
use crate::translate::meter::estimate_input_tokens;

/// The longest an upstream count may take before the estimate is used instead.
const COUNT_TIMEOUT_MS: u64 = 10_000;

pub async fn handle(mut req: Request, env: &Env, request_id: &str) -> Result<Response> {
    let format = WireFormat::AnthropicMessages;
    let mut headers = Vec::new();
    let mut response = match count(&mut req, env, request_id, &mut headers).await {
        Ok((tokens, how)) => answer(tokens, how)?,
        Err(error) => http::error(format, &error, request_id)?,
    };
    http::set_all(&mut response, headers)?;
    Ok(response)
}

/// The count, and whether it is `exact` or an `estimate`.
async fn count(
    req: &mut Request,
    env: &Env,
    request_id: &str,
    headers: &mut Vec<(&'static str, String)>,
) -> std::result::Result<(u64, &'static str), ApiError> {
    let format = WireFormat::AnthropicMessages;
    let (record, config) = auth::caller(req, env).await?;
    let config = config.as_ref();
    let plan = config.plan(&record.plan).ok_or_else(|| {
        ApiError::new(
            ErrorKind::PermissionDenied,
            "Your key's plan is not offered by this gateway any more.",
        )
    })?;
    let body = read_body(req, config.gateway.max_body_bytes).await?;
    json_shape::check(&body, body_limits(config))?;
    // count_tokens takes a Messages request without `max_tokens`.
    let mut json: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("The body is not valid JSON: {e}")))?;
    if let Some(object) = json.as_object_mut() {
        object.entry("max_tokens").or_insert(json!(1));
        object.remove("stream");
    }
    let patched = serde_json::to_vec(&json).unwrap_or_default();
    drop(json);
    let request = format.decode_request(&patched, &mut Warnings::new())?;
    let routes: Vec<Route> = config.routes(&request.model).collect();
    if routes.is_empty() {
        return Err(ApiError::new(
            ErrorKind::ModelNotFound,
            format!(
                "The model `{}` does not exist on this gateway.",
                request.model
            ),
        )
        .with_param("model"));
    }
    if !plan.allows(&request.model) {
        return Err(ApiError::new(
            ErrorKind::PermissionDenied,
            format!("Your plan does not include the model `{}`.", request.model),
        ));
    }
    if state::metering_enabled(env) {
        let snapshot = admit_instant(env, config, &record, &request.model, request_id)
            .await
            .map_err(|(error, snapshot)| {
                if let Some(snapshot) = snapshot {
                    *headers = limit_headers(&snapshot);
                }
                error
            })?;
        *headers = limit_headers(&snapshot);
    }
    let beta = req.headers().get("anthropic-beta").ok().flatten();
    if let Some(route) = routes
        .iter()
        .find(|r| r.provider.format == WireFormat::AnthropicMessages)
    {
        match exact(
            env,
            plan,
            &record,
            route,
            &body,
            beta.as_deref(),
            request_id,
        )
        .await
        {
            Some(tokens) => return Ok((tokens, "exact")),
            None => worker::console_warn!("{request_id}: count_tokens upstream failed, estimating"),
        }
    }
    let estimate = estimate_input_tokens(&request);
    let estimate = routes
        .first()
        .and_then(|r| r.model.context_window)
        .map_or(estimate, |window| estimate.min(window));
    Ok((estimate, "estimate"))
}

fn answer(input_tokens: u64, how: &str) -> Result<Response> {
    let mut response = http::json(200, &json!({ "input_tokens": input_tokens }))?;
    response.headers_mut().set("x-toc-token-count", how)?;
    Ok(response)
}

/// The upstream's count, trying each key of the pool; `None` when none answered in time.
async fn exact(
    env: &Env,
    plan: &Plan,
    record: &KeyRecord,
    route: &Route<'_>,
    body: &[u8],
    beta: Option<&str>,
    request_id: &str,
) -> Option<u64> {
    let mut warnings = Warnings::new();
    let forwarded =
        forward_count_request(body, &route.model.upstream, plan.features, &mut warnings).ok()?;
    let beta = upstream::allowed_betas(route, beta, &mut warnings);
    let url = format!("{}/messages/count_tokens", route.provider.base_url);
    let offset = record.id.len().wrapping_add(request_id.len());
    let keys = upstream::pool(env, route, offset);
    let attempts: Vec<Option<String>> = if keys.is_empty() {
        vec![None]
    } else {
        keys.into_iter().map(Some).collect()
    };
    for key in attempts {
        let Ok(request) = upstream::build_request(
            WireFormat::AnthropicMessages,
            &url,
            key.as_deref(),
            &forwarded,
            beta.as_deref(),
            false,
        ) else {
            continue;
        };
        let fetch = Fetch::Request(request);
        let sending = fetch.send();
        let waiting = Delay::from(Duration::from_millis(COUNT_TIMEOUT_MS));
        let mut response = match select(Box::pin(sending), Box::pin(waiting)).await {
            Either::Left((Ok(response), _)) => response,
            Either::Left((Err(_), _)) | Either::Right(_) => continue,
        };
        let status = response.status_code();
        let bytes = response.bytes().await.unwrap_or_default();
        if status == 200 {
            return serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get("input_tokens").and_then(Value::as_u64));
        }
        worker::console_warn!(
            "{request_id}: count_tokens upstream answered {status}: {}",
            error::log_excerpt(&bytes)
        );
        if !matches!(status, 401..=403 | 408 | 429 | 500..=599) {
            return None;
        }
    }
    None
}
