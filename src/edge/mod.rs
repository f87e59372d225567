//! The edge layer: the only code that touches the Workers runtime (wasm32 only).
//!
//! - [`fetch`] is the entry point: it routes, and stamps every response with `x-request-id`.
//! - [`inference`] serves the three inference endpoints, with [`upstream`] (calls and
//!   failover) and [`body_stream`] (streamed bodies).
//! - [`settlement`] settles each admitted call with the key's object (checkpoints, leases).
//! - [`auth`], [`keystore`] and [`state`]: keys in KV and the per-isolate caches.
//! - [`meter_object`] is the per-key metering Durable Object; [`meter_client`] calls it.
//! - [`response_store`] keeps Responses turns per key; [`responses_state`] uses it.
//! - [`admin`], [`models`], [`usage`], [`count_tokens`] and [`health`] serve the other
//!   endpoints.
//! - [`request_log`] logs each call through a Queue into D1; [`log_reports`] reads it back.

mod admin;
mod allowance;
mod auth;
mod body_stream;
mod count_tokens;
mod health;
mod http;
mod inference;
mod js_pump;
mod keystore;
mod lean_request;
mod log_reports;
mod meter_batch;
mod meter_client;
mod meter_object;
mod models;
mod object_call;
mod random;
mod request_body;
mod request_log;
mod response_store;
mod responses_state;
mod settlement;
mod state;
mod upstream;
mod usage;

use worker::{Context, Env, Request, Response, Result, event};

use self::lean_request::LeanRequest;
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::spec::{Endpoint, EndpointKind, Incoming};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// How much of an unread body is drained when the config (and its body limit) is unusable.
const UNREAD_BODY_LIMIT: u64 = 10 * 1024 * 1024;

#[event(fetch)]
pub async fn fetch(req: LeanRequest, env: Env, ctx: Context) -> Result<Response> {
    let LeanRequest(req) = req;
    let request_id = random::request_id();
    let format = http::with_incoming(&req, error_format);
    // The body's stream, to drain it if no handler read it (see `drain_unread`).
    let body = req.inner().body();
    let mut response = match route(req, &env, &ctx, &request_id).await {
        Ok(response) => response,
        Err(e) => {
            worker::console_error!("{request_id}: unhandled error: {e}");
            http::error(
                format,
                &ApiError::new(
                    ErrorKind::Internal,
                    "The gateway hit an internal error; retry.",
                ),
                &request_id,
            )?
        }
    };
    if let Some(body) = body {
        let limit = state::config(&env)
            .map(|config| config.gateway.max_body_bytes)
            .unwrap_or(UNREAD_BODY_LIMIT);
        request_body::drain_unread(body, limit).await;
    }
    response.headers_mut().set("x-request-id", &request_id)?;
    if state::binding_text(&env, "TOC_DEBUG_MEMORY").as_deref() == Some("1") {
        // The isolate's Wasm memory, which only grows: after a request, its high-water mark.
        // A measuring aid for benchmarks (bench/memory.mjs), off unless the variable is set.
        let bytes = core::arch::wasm32::memory_size(0) * 65_536;
        response
            .headers_mut()
            .set("x-toc-wasm-memory-bytes", &bytes.to_string())?;
    }
    Ok(response)
}

/// The format errors for `request` are written in: the first that claims its path, else the
/// first registered.
fn error_format(request: &Incoming) -> WireFormat {
    WireFormat::ALL
        .into_iter()
        .find(|format| format.spec().claims_errors(request))
        .unwrap_or(WireFormat::ALL[0])
}

/// The format endpoint `request` asks for, if any format serves it.
fn format_endpoint(request: &Incoming) -> Option<(WireFormat, Endpoint)> {
    WireFormat::ALL
        .into_iter()
        .find_map(|format| format.spec().endpoint(request).map(|e| (format, e)))
}

/// Paths the gateway itself serves, with their method.
const GATEWAY_ENDPOINTS: [(&str, &str); 6] = [
    ("GET", "/health/ready"),
    ("GET", "/v1/usage"),
    ("GET", "/v1/usage/log"),
    ("GET", "/v1/usage/log.csv"),
    ("GET", "/v1/usage/report"),
    ("GET", "/v1/usage/report.csv"),
];

async fn route(req: Request, env: &Env, ctx: &Context, request_id: &str) -> Result<Response> {
    let method = req.inner().method();
    let path = req.path();
    let path = path.trim_end_matches('/').to_owned();
    match (method.as_str(), path.as_str()) {
        ("GET", "/health/ready") => return health::handle(&req, env),
        ("GET", "/v1/usage") => return usage::handle(req, env, request_id).await,
        ("GET", p) if p.starts_with("/v1/usage/") => {
            return log_reports::holder(&req, env, p, request_id).await;
        }
        (_, p) if p == "/admin" || p.starts_with("/admin/") => {
            return admin::handle(req, env, p, request_id).await;
        }
        _ => {}
    }
    if let Some((format, endpoint)) = http::with_incoming(&req, format_endpoint) {
        return match endpoint.kind {
            EndpointKind::Inference | EndpointKind::Compact => {
                inference::handle(req, env, ctx, format, endpoint, request_id).await
            }
            EndpointKind::CountTokens => {
                count_tokens::handle(req, env, format, endpoint.model, request_id).await
            }
            EndpointKind::ListModels => models::handle(req, env, format, None, request_id).await,
            EndpointKind::GetModel(id) => {
                models::handle(req, env, format, Some(&id), request_id).await
            }
            EndpointKind::StoredTurn { id, delete } => {
                responses_state::handle_stored(req, env, format, &id, delete, request_id).await
            }
            EndpointKind::Refused(error) => http::error(format, &error, request_id),
        };
    }
    let format = http::with_incoming(&req, error_format);
    // A path some endpoint serves, asked with another method: 405.
    let known_path = GATEWAY_ENDPOINTS.iter().any(|(_, p)| *p == path)
        || ["GET", "POST", "DELETE", "PUT", "PATCH"]
            .into_iter()
            .any(|other| {
                http::with_incoming_as(&req, other, |request| format_endpoint(request).is_some())
            });
    if known_path {
        return http::error(
            format,
            &ApiError::new(
                ErrorKind::MethodNotAllowed,
                format!("{method} is not allowed on {path}"),
            ),
            request_id,
        );
    }
    http::error(
        format,
        &ApiError::new(
            ErrorKind::NotFound,
            format!(
                "No endpoint at {path}. The gateway serves /v1/chat/completions, /v1/messages, /v1/responses, /v1/models and /v1/usage."
            ),
        ),
        request_id,
    )
}
