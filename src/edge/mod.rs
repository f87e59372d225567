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

mod admin;
mod auth;
mod body_stream;
mod count_tokens;
mod health;
mod http;
mod inference;
mod keystore;
mod meter_client;
mod meter_object;
mod models;
mod random;
mod request_body;
mod response_store;
mod responses_state;
mod settlement;
mod state;
mod upstream;
mod usage;

use worker::{Context, Env, Method, Request, Response, Result, event};

use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let request_id = random::request_id();
    let path = req.path();
    let format = error_format(&path, &req);
    let mut response = match route(req, &env, &ctx, &path, &request_id).await {
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

/// The format errors on `path` are written in.
fn error_format(path: &str, req: &Request) -> WireFormat {
    if path.starts_with("/v1/messages")
        || req.headers().has("anthropic-version").unwrap_or(false) && !path.starts_with("/v1/chat")
    {
        WireFormat::AnthropicMessages
    } else if path.starts_with("/v1/responses") {
        WireFormat::OpenAiResponses
    } else {
        WireFormat::OpenAiChat
    }
}

async fn route(
    req: Request,
    env: &Env,
    ctx: &Context,
    path: &str,
    request_id: &str,
) -> Result<Response> {
    let method = req.method();
    let path = path.trim_end_matches('/');
    match (method, path) {
        (Method::Get, "/health/ready") => health::handle(&req, env),
        (Method::Post, "/v1/chat/completions") => {
            inference::handle(req, env, ctx, WireFormat::OpenAiChat, request_id).await
        }
        (Method::Post, "/v1/messages") => {
            inference::handle(req, env, ctx, WireFormat::AnthropicMessages, request_id).await
        }
        (Method::Post, "/v1/messages/count_tokens") => {
            count_tokens::handle(req, env, request_id).await
        }
        (Method::Post, "/v1/responses") => {
            inference::handle(req, env, ctx, WireFormat::OpenAiResponses, request_id).await
        }
        (Method::Get, "/v1/models") => models::handle(req, env, None, request_id).await,
        (Method::Get, p) if p.starts_with("/v1/models/") => {
            let id = p.trim_start_matches("/v1/models/").to_owned();
            models::handle(req, env, Some(&id), request_id).await
        }
        (Method::Get | Method::Delete, p) if p.starts_with("/v1/responses/") => {
            let id = p.trim_start_matches("/v1/responses/").to_owned();
            let delete = req.method() == Method::Delete;
            responses_state::handle_stored(req, env, &id, delete, request_id).await
        }
        (Method::Get, "/v1/usage") => usage::handle(req, env, request_id).await,
        (_, p) if p == "/admin" || p.starts_with("/admin/") => {
            admin::handle(req, env, p, request_id).await
        }
        (
            _,
            "/v1/chat/completions"
            | "/v1/messages"
            | "/v1/responses"
            | "/v1/usage"
            | "/v1/models"
            | "/health/ready",
        ) => http::error(
            error_format(path, &req),
            &ApiError::new(
                ErrorKind::MethodNotAllowed,
                format!("{} is not allowed on {path}", req.method()),
            ),
            request_id,
        ),
        _ => http::error(
            error_format(path, &req),
            &ApiError::new(
                ErrorKind::NotFound,
                format!(
                    "No endpoint at {path}. The gateway serves /v1/chat/completions, /v1/messages, /v1/responses, /v1/models and /v1/usage."
                ),
            ),
            request_id,
        ),
    }
}
