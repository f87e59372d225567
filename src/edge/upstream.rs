//! Calling upstreams: authentication per format, key pools, failover and timeouts.
//!
//! Routes (the `[[models]]` entries serving a model id) are tried in config order, and within a
//! route each key of the provider's pool, starting at a random one to spread load. All of this
//! happens before the client sees a byte, and only while a retry cannot double what the call
//! costs:
//!
//! | what happened | next |
//! |---|---|
//! | no connection, a bad key secret, a stream's headers not in time (`timeout_ms`) | next key or route |
//! | 401/402/403 (that key's account), 408, 429, 5xx, 529 | next key or route |
//! | a non-streamed answer not complete in time (`answer_timeout_ms`) | 504: the upstream may be generating it, so it is never sent again |
//! | the client went away | stop |
//! | any other answer (the request itself is at fault) | that answer, in the client's format |

use std::time::Duration;

use futures_util::future::{Either, select};
use wasm_bindgen::JsValue;
use worker::{AbortSignal, Delay, Env, Fetch, Headers, Method, Request, RequestInit, Response};

use super::state::binding_text;
use crate::config::Route;
use crate::error::{self, ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::UpstreamTarget;
use crate::translate::request::ClientCall;
use crate::translate::{Restore, Warnings, upstream_request};

/// What the client's request brings to every attempt.
pub struct Outbound<'a> {
    pub call: ClientCall<'a>,
    /// The output cap the call reserved; no upstream is sent more.
    pub output_cap: u64,
    /// The client's beta flags (for formats that take them), passed on to upstreams that take
    /// them through the provider's allowlist.
    pub betas: Option<String>,
    /// Fires when the client goes away.
    pub client_signal: web_sys::AbortSignal,
    /// Aborts the upstream call from the gateway's side (idle streams).
    pub abort: web_sys::AbortController,
    /// Random start position in key pools.
    pub pool_offset: usize,
    pub request_id: &'a str,
}

/// A successful upstream answer (2xx, headers received).
pub struct Answer<'a> {
    pub response: Response,
    pub route: Route<'a>,
    pub restore: Restore,
    pub warnings: Warnings,
    /// Non-streamed answers: when the whole answer must have arrived (ms since the epoch).
    pub deadline_ms: u64,
}

/// Why no upstream answered.
pub struct Failed {
    pub error: ApiError,
    /// An upstream may have accepted the request and be producing an answer nobody will read
    /// (a non-streamed answer that timed out): the call is charged its input.
    pub accepted: bool,
}

impl From<ApiError> for Failed {
    fn from(error: ApiError) -> Failed {
        Failed {
            error,
            accepted: false,
        }
    }
}

/// The request as one route's upstream takes it.
pub fn target(route: &Route, stream: bool, output_cap: u64) -> UpstreamTarget {
    let cap = route
        .model
        .max_output_tokens
        .map_or(output_cap, |max| max.min(output_cap));
    UpstreamTarget {
        model: route.model.upstream.clone(),
        stream,
        max_tokens_param: route.provider.max_tokens_param,
        default_max_tokens: cap,
        max_output_tokens: Some(cap),
        reasoning: route.model.reasoning,
    }
}

/// Tries the routes in order until one answers.
pub async fn call<'a>(
    env: &Env,
    routes: &[Route<'a>],
    outbound: &Outbound<'_>,
) -> Result<Answer<'a>, Failed> {
    let mut failures: Vec<ApiError> = Vec::new();
    let stream = outbound.call.request.stream;
    for route in routes {
        let mut warnings = Warnings::new();
        let prepared = upstream_request(
            outbound.call,
            route.provider.format,
            &target(route, stream, outbound.output_cap),
            &mut warnings,
        )?;
        let keys = pool(env, route, outbound.pool_offset);
        if keys.is_empty() && !route.provider.keys.is_empty() {
            worker::console_error!(
                "{}: provider {:?} has no usable key: set the secret(s) {:?}",
                outbound.request_id,
                route.provider.id,
                route.provider.keys
            );
            failures.push(ApiError::new(
                ErrorKind::Overloaded,
                "a provider for this model is not configured with a key",
            ));
            continue;
        }
        let beta = allowed_betas(route, outbound.betas.as_deref(), &mut warnings);
        let attempts: Vec<Option<String>> = if keys.is_empty() {
            vec![None]
        } else {
            keys.into_iter().map(Some).collect()
        };
        for key in attempts {
            if outbound.client_signal.aborted() {
                return Err(
                    ApiError::new(ErrorKind::UpstreamFailed, "the client went away").into(),
                );
            }
            match attempt(
                route,
                key.as_deref(),
                &prepared.body,
                beta.as_deref(),
                outbound,
            )
            .await
            {
                Ok((response, deadline_ms)) => {
                    return Ok(Answer {
                        response,
                        route: *route,
                        restore: prepared.restore,
                        warnings,
                        deadline_ms,
                    });
                }
                Err(Attempt::Final(failed)) => return Err(failed),
                Err(Attempt::Retryable(error)) => failures.push(error),
            }
        }
    }
    Err(summarize(failures).into())
}

enum Attempt {
    /// Another upstream or key might succeed.
    Retryable(ApiError),
    /// The answer would be the same anywhere, or trying again could cost twice.
    Final(Failed),
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

/// The client's beta flags (`header`) the route's provider takes (for upstreams whose format
/// takes them); the others are reported as dropped.
pub fn allowed_betas(
    route: &Route,
    header: Option<&str>,
    warnings: &mut Warnings,
) -> Option<String> {
    // Only upstreams whose format takes beta flags.
    route.provider.format.spec().beta_header()?;
    let header = header?;
    let kept: Vec<&str> = header
        .split(',')
        .map(str::trim)
        .filter(|beta| !beta.is_empty())
        .filter(|beta| {
            let allowed = route.provider.anthropic_betas.iter().any(|a| a == beta);
            if !allowed {
                warnings.dropped(format!("anthropic-beta({beta})"));
            }
            allowed
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

async fn attempt(
    route: &Route<'_>,
    key: Option<&str>,
    body: &[u8],
    beta: Option<&str>,
    outbound: &Outbound<'_>,
) -> Result<(Response, u64), Attempt> {
    let format = route.provider.format;
    let stream = outbound.call.request.stream;
    let url = route.provider.endpoint(&route.model.upstream, stream);
    let request = match build_request(format, &url, key, body, beta, stream) {
        Ok(request) => request,
        Err(e) => {
            // A secret that is not a valid header value (a stray newline): that key is broken.
            worker::console_error!(
                "{}: provider {:?}: could not build the upstream request (check its key secrets): {e}",
                outbound.request_id,
                route.provider.id
            );
            return Err(Attempt::Retryable(ApiError::new(
                ErrorKind::UpstreamFailed,
                "a provider for this model is misconfigured",
            )));
        }
    };
    let timeout = web_sys::AbortController::new().map_err(|_| {
        Attempt::Final(ApiError::new(ErrorKind::Internal, "AbortController unavailable").into())
    })?;
    let signals = js_sys::Array::of3(
        &outbound.client_signal,
        &outbound.abort.signal(),
        &timeout.signal(),
    );
    let signal = AbortSignal::from(web_sys::AbortSignal::any(&signals));
    let started_ms = worker::Date::now().as_millis();
    // A stream's headers come at once; a whole answer's come when it is complete.
    let wait_ms = if stream {
        route.provider.timeout_ms
    } else {
        route.provider.answer_timeout_ms
    };
    let deadline_ms = started_ms.saturating_add(route.provider.answer_timeout_ms);
    let fetch = Fetch::Request(request);
    let sending = fetch.send_with_signal(&signal);
    let waiting = Delay::from(Duration::from_millis(wait_ms));
    let mut response = match select(Box::pin(sending), Box::pin(waiting)).await {
        Either::Left((Ok(response), _)) => response,
        Either::Left((Err(e), _)) => {
            if outbound.client_signal.aborted() {
                return Err(Attempt::Final(
                    ApiError::new(ErrorKind::UpstreamFailed, "the client went away").into(),
                ));
            }
            worker::console_warn!(
                "{}: upstream {:?} unreachable: {e}",
                outbound.request_id,
                route.provider.id
            );
            return Err(Attempt::Retryable(ApiError::new(
                ErrorKind::UpstreamFailed,
                format!("could not reach the upstream for {}", route.model.id),
            )));
        }
        Either::Right(_) => {
            timeout.abort();
            let error = ApiError::new(
                ErrorKind::Timeout,
                format!(
                    "the upstream for {} did not answer within {} s",
                    route.model.id,
                    wait_ms.div_ceil(1000)
                ),
            );
            return Err(if stream {
                Attempt::Retryable(error)
            } else {
                Attempt::Final(Failed {
                    error,
                    accepted: true,
                })
            });
        }
    };
    let status = response.status_code();
    if (200..300).contains(&status) {
        return Ok((response, deadline_ms));
    }
    let bytes = response.bytes().await.unwrap_or_default();
    let mut error = error::from_upstream(format, status, &bytes);
    error.message = error
        .message
        .replace(&route.model.upstream, &route.model.id);
    if let Some(seconds) = retry_after(&response) {
        error.retry_after_s = Some(seconds);
    }
    worker::console_warn!(
        "{}: upstream {:?} answered {status}: {}",
        outbound.request_id,
        route.provider.id,
        error::log_excerpt(&bytes)
    );
    let retryable = matches!(status, 401..=403 | 408 | 429 | 500..=599);
    Err(if retryable {
        Attempt::Retryable(error)
    } else {
        Attempt::Final(error.into())
    })
}

fn retry_after(response: &Response) -> Option<u64> {
    let value = response.headers().get("retry-after").ok().flatten()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite())
        .map(|s| s.ceil().clamp(0.0, 86_400.0) as u64)
}

/// An upstream request with the format's authentication.
pub fn build_request(
    format: WireFormat,
    url: &str,
    key: Option<&str>,
    body: &[u8],
    betas: Option<&str>,
    stream: bool,
) -> worker::Result<Request> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    for (name, value) in format.spec().upstream_headers(key, betas) {
        headers.set(name, &value)?;
    }
    if stream {
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
    ApiError::new(
        ErrorKind::Overloaded,
        "every upstream for this model is unavailable; retry shortly",
    )
    .with_retry_after(5)
}
