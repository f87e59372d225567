//! `POST /v1/messages/count_tokens` for every model: exact when the model's upstream is
//! Anthropic (the request is forwarded to its count endpoint), an estimate otherwise
//! (⌈prompt bytes / 4⌉ + 3 per message, see `translate::meter::estimate_input_tokens`). The
//! answer says which in `x-toc-token-count: exact | estimate`.

use serde_json::{Value, json};
use worker::{Env, Fetch, Request, Response, Result};

use super::auth;
use super::http;
use super::request_body::read_body;
use super::upstream::{self, Outbound};
use super::usage;
use crate::config::{Config, Route};
use crate::error::{self, ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::keys::KeyRecord;
use crate::translate::Warnings;
use crate::translate::meter::estimate_input_tokens;

pub async fn handle(mut req: Request, env: &Env, request_id: &str) -> Result<Response> {
    let format = WireFormat::AnthropicMessages;
    let (record, config) = match auth::caller(&req, env).await {
        Ok(caller) => caller,
        Err(error) => return http::error(format, &error, request_id),
    };
    let response = match count(&mut req, env, &record, &config).await {
        Ok((tokens, how)) => answer(tokens, how)?,
        Err(error) => http::error(format, &error, request_id)?,
    };
    usage::with_limit_headers(response, env, &record).await
}

/// The count, and whether it is `exact` or an `estimate`.
async fn count(
    req: &mut Request,
    env: &Env,
    record: &KeyRecord,
    config: &Config,
) -> std::result::Result<(u64, &'static str), ApiError> {
    let format = WireFormat::AnthropicMessages;
    let body = read_body(req, config.gateway.max_body_bytes).await?;
    // count_tokens takes a Messages request without `max_tokens`.
    let mut json: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("The body is not valid JSON: {e}")))?;
    if let Some(object) = json.as_object_mut() {
        object.entry("max_tokens").or_insert(json!(1));
        object.remove("stream");
    }
    let patched = serde_json::to_vec(&json).unwrap_or_default();
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
    if !config
        .plan(&record.plan)
        .is_some_and(|p| p.allows(&request.model))
    {
        return Err(ApiError::new(
            ErrorKind::PermissionDenied,
            format!("Your plan does not include the model `{}`.", request.model),
        ));
    }
    if let Some(route) = routes
        .iter()
        .find(|r| r.provider.format == WireFormat::AnthropicMessages)
    {
        match exact(env, route, &mut json, req, &request).await {
            Ok(tokens) => return Ok((tokens, "exact")),
            Err(e) => {
                worker::console_warn!("count_tokens upstream failed, estimating: {}", e.message)
            }
        }
    }
    Ok((estimate_input_tokens(&request), "estimate"))
}

fn answer(input_tokens: u64, how: &str) -> Result<Response> {
    let mut response = http::json(200, &json!({ "input_tokens": input_tokens }))?;
    response.headers_mut().set("x-toc-token-count", how)?;
    Ok(response)
}

async fn exact(
    env: &Env,
    route: &Route<'_>,
    json: &mut Value,
    req: &Request,
    request: &crate::canonical::ChatRequest,
) -> std::result::Result<u64, ApiError> {
    if let Some(object) = json.as_object_mut() {
        object.insert("model".into(), Value::String(route.model.upstream.clone()));
        object.remove("max_tokens");
    }
    let body = serde_json::to_vec(json).unwrap_or_default();
    let outbound = Outbound {
        client: WireFormat::AnthropicMessages,
        client_json: None,
        request,
        anthropic_beta: req.headers().get("anthropic-beta").ok().flatten(),
        client_signal: req.inner().signal(),
        pool_offset: 0,
        allow_passthrough: true,
    };
    let key = upstream::pool(env, route, 0).into_iter().next();
    let url = format!("{}/messages/count_tokens", route.provider.base_url);
    let upstream_request = upstream::build_request(
        WireFormat::AnthropicMessages,
        &url,
        key.as_deref(),
        &body,
        &outbound,
    )
    .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?;
    let mut response = Fetch::Request(upstream_request)
        .send()
        .await
        .map_err(|e| ApiError::new(ErrorKind::UpstreamFailed, e.to_string()))?;
    let bytes = response.bytes().await.unwrap_or_default();
    if response.status_code() != 200 {
        return Err(error::from_upstream(
            WireFormat::AnthropicMessages,
            response.status_code(),
            &bytes,
        ));
    }
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("input_tokens").and_then(Value::as_u64))
        .ok_or_else(|| ApiError::new(ErrorKind::UpstreamFailed, "unreadable count_tokens answer"))
}
