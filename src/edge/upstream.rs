//! Calling upstreams: authentication per format, key pools, failover and the header timeout.
//!
//! Routes (the `[[models]]` entries serving a model id) are tried in config order, and within a
//! route each key of the provider's pool, starting at a random one to spread load. An attempt
//! that fails in a way another upstream might not (connection error, timeout, 401/403 on that
//! key, 408, 429, 5xx, 529) moves on to the next; any other answer is final. All of this happens
//! before the client sees a byte.

use std::time::Duration;

use futures_util::future::{Either, select};
use serde_json::Value;
use wasm_bindgen::JsValue;
use worker::{AbortSignal, Delay, Env, Fetch, Headers, Method, Request, RequestInit, Response};

use super::state::binding_text;
use crate::canonical::ChatRequest;
use crate::config::Route;
use crate::error::{self, ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::UpstreamTarget;
use crate::translate::{Restore, Warnings, upstream_request};

/// What the client's request brings to every attempt.
pub struct Outbound<'a> {
    pub client: WireFormat,
    /// The client's JSON, for same-format passthrough.
    pub client_json: Option<&'a Value>,
    pub request: &'a ChatRequest,
    /// Anthropic client's `anthropic-beta`, forwarded to Anthropic upstreams only.
    pub anthropic_beta: Option<String>,
    /// Fires when the client goes away.
    pub client_signal: web_sys::AbortSignal,
    /// Random start position in key pools.
    pub pool_offset: usize,
    /// Same-format requests may be forwarded as the client wrote them.
    pub allow_passthrough: bool,
}

/// A successful upstream answer (2xx, headers received).
pub struct Answer<'a> {
    pub response: Response,
    pub route: Route<'a>,
    pub restore: Restore,
    pub warnings: Warnings,
}

pub fn target(route: &Route, stream: bool) -> UpstreamTarget {
    UpstreamTarget {
        model: route.model.upstream.clone(),
        stream,
        max_tokens_param: route.provider.max_tokens_param,
        default_max_tokens: route.model.default_max_tokens,
        max_output_tokens: route.model.max_output_tokens,
        reasoning: route.model.reasoning,
    }
}

/// Tries the routes in order until one answers.
pub async fn call<'a>(
    env: &Env,
    routes: &[Route<'a>],
    outbound: &Outbound<'_>,
) -> Result<Answer<'a>, ApiError> {
    let mut failures: Vec<ApiError> = Vec::new();
    for route in routes {
        let mut warnings = Warnings::new();
        let prepared = upstream_request(
            outbound.client,
            outbound.allow_passthrough,
            route.provider.format,
            outbound.client_json.unwrap_or(&Value::Null),
            outbound.request,
            &target(route, outbound.request.stream),
            &mut warnings,
        )?;
        let keys = pool(env, route, outbound.pool_offset);
        if keys.is_empty() && !route.provider.keys.is_empty() {
            worker::console_error!(
                "provider {:?} has no usable key: set the secret(s) {:?}",
                route.provider.id,
                route.provider.keys
            );
            failures.push(ApiError::new(
                ErrorKind::Overloaded,
                format!(
                    "provider {:?} is not configured with a key",
                    route.provider.id
                ),
            ));
            continue;
        }
        let attempts: Vec<Option<String>> = if keys.is_empty() {
            vec![None]
        } else {
            keys.into_iter().map(Some).collect()
        };
        for key in attempts {
            match attempt(route, key.as_deref(), &prepared.body, outbound).await {
                Ok(response) => {
                    return Ok(Answer {
                        response,
                        route: *route,
                        restore: prepared.restore,
                        warnings,
                    });
                }
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Retryable(error)) => failures.push(error),
            }
        }
    }
    Err(summarize(failures))
}

enum Failure {
    /// Another upstream or key might succeed.
    Retryable(ApiError),
    /// The answer would be the same anywhere (the request itself is at fault).
    Final(ApiError),
}

/// The provider's key values, rotated to start at `offset`.
pub fn pool(env: &Env, route: &Route, offset: usize) -> Vec<String> {
    let keys: Vec<String> = route
        .provider
        .keys
        .iter()
        .filter_map(|name| binding_text(env, name))
        .filter(|value| !value.is_empty())
        .collect();
    let len = keys.len().max(1);
    let mut rotated = keys;
    rotated.rotate_left(offset % len);
    rotated
}

async fn attempt(
    route: &Route<'_>,
    key: Option<&str>,
    body: &[u8],
    outbound: &Outbound<'_>,
) -> Result<Response, Failure> {
    let format = route.provider.format;
    let request =
        build_request(format, &route.provider.endpoint(), key, body, outbound).map_err(|e| {
            Failure::Final(ApiError::new(
                ErrorKind::Internal,
                format!("could not build the upstream request: {e}"),
            ))
        })?;
    let timeout = web_sys::AbortController::new().map_err(|_| {
        Failure::Final(ApiError::new(
            ErrorKind::Internal,
            "AbortController unavailable",
        ))
    })?;
    let signals = js_sys::Array::of2(&outbound.client_signal, &timeout.signal());
    let signal = AbortSignal::from(web_sys::AbortSignal::any(&signals));
    let fetch = Fetch::Request(request);
    let sending = fetch.send_with_signal(&signal);
    let waiting = Delay::from(Duration::from_millis(route.provider.timeout_ms));
    let outcome = select(Box::pin(sending), Box::pin(waiting)).await;
    let mut response = match outcome {
        Either::Left((Ok(response), _)) => response,
        Either::Left((Err(e), _)) => {
            worker::console_warn!("upstream {:?} unreachable: {e}", route.provider.id);
            return Err(Failure::Retryable(ApiError::new(
                ErrorKind::UpstreamFailed,
                format!("could not reach the upstream for {}", route.model.id),
            )));
        }
        Either::Right(_) => {
            timeout.abort();
            return Err(Failure::Retryable(ApiError::new(
                ErrorKind::Timeout,
                format!(
                    "the upstream for {} did not answer within {} ms",
                    route.model.id, route.provider.timeout_ms
                ),
            )));
        }
    };
    let status = response.status_code();
    if (200..300).contains(&status) {
        return Ok(response);
    }
    let bytes = response.bytes().await.unwrap_or_default();
    let mut error = error::from_upstream(format, status, &bytes);
    if let Some(seconds) = retry_after(&response) {
        error.retry_after_s = Some(seconds);
    }
    worker::console_warn!(
        "upstream {:?} answered {status}: {}",
        route.provider.id,
        error.message
    );
    let retryable = matches!(status, 401 | 403 | 408 | 429 | 500..=599);
    Err(if retryable {
        Failure::Retryable(error)
    } else {
        Failure::Final(error)
    })
}

fn retry_after(response: &Response) -> Option<u64> {
    let value = response.headers().get("retry-after").ok().flatten()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .map(|s| s.ceil().max(0.0) as u64)
}

pub fn build_request(
    format: WireFormat,
    url: &str,
    key: Option<&str>,
    body: &[u8],
    outbound: &Outbound<'_>,
) -> worker::Result<Request> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    match format {
        WireFormat::OpenAiChat | WireFormat::OpenAiResponses => {
            if let Some(key) = key {
                headers.set("authorization", &format!("Bearer {key}"))?;
            }
        }
        WireFormat::AnthropicMessages => {
            if let Some(key) = key {
                headers.set("x-api-key", key)?;
            }
            headers.set("anthropic-version", "2023-06-01")?;
            if outbound.client == WireFormat::AnthropicMessages
                && let Some(beta) = &outbound.anthropic_beta
            {
                headers.set("anthropic-beta", beta)?;
            }
        }
    }
    if outbound.request.stream {
        headers.set("accept", "text/event-stream")?;
    }
    let body = js_sys::Uint8Array::from(body);
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from(body)));
    Request::new_with_init(url, &init)
}

/// One error for a failed failover: a single attempt's own error, or, when every upstream was
/// tried, 429 if they all rate-limited and 503 otherwise.
fn summarize(mut failures: Vec<ApiError>) -> ApiError {
    if failures.len() == 1
        && let Some(only) = failures.pop()
    {
        return only;
    }
    if !failures.is_empty() && failures.iter().all(|f| f.kind == ErrorKind::RateLimited) {
        let retry = failures.iter().filter_map(|f| f.retry_after_s).min();
        let mut error = ApiError::new(
            ErrorKind::RateLimited,
            "every upstream for this model is rate limiting the gateway; retry shortly",
        );
        error.retry_after_s = retry.or(Some(1));
        return error;
    }
    let last = failures
        .last()
        .map(|f| format!(" (last error: {})", f.message))
        .unwrap_or_default();
    ApiError::new(
        ErrorKind::Overloaded,
        format!("every upstream for this model is unavailable{last}; retry shortly"),
    )
    .with_retry_after(5)
}
