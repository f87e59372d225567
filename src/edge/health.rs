//! `GET /health/ready`: 200 `{"status":"ready"}` when the config is valid and every binding and
//! upstream secret it needs is present, 503 `{"status":"unavailable"}` otherwise.
//!
//! Anyone may ask; only the operator (`Authorization: Bearer <ADMIN_TOKEN>`) is told why: the
//! problems name providers, secrets and config entries, which are the operator's business.
//! Secret values are never shown, only the names of missing ones. The operator also sees this
//! isolate's upstream breakers (`upstreams`: closed, open, benched or probing, and why).

use serde_json::json;
use worker::{Env, Request, Response, Result};

use super::admin;
use super::http;
use super::keystore::KV_BINDING;
use super::meter_client::DO_BINDING;
use super::response_store::DO_BINDING as RESPONSES_BINDING;
use super::state;
use super::upstream;

pub fn handle(req: &Request, env: &Env) -> Result<Response> {
    let details = admin::is_admin(req, env);
    let mut problems: Vec<String> = Vec::new();
    match state::config(env) {
        Err(errors) => problems.extend(errors.0.iter().map(|e| format!("config: {e}"))),
        Ok(config) => {
            for provider in &config.providers {
                for name in &provider.keys {
                    if state::binding_text(env, name).is_none_or(|v| v.is_empty()) {
                        problems.push(format!(
                            "provider {:?}: secret {name} is not set (wrangler secret put {name})",
                            provider.id
                        ));
                    }
                }
            }
        }
    }
    if env.kv(KV_BINDING).is_err() {
        problems.push(format!("binding: KV namespace {KV_BINDING} is missing"));
    }
    for binding in [DO_BINDING, RESPONSES_BINDING] {
        if env.durable_object(binding).is_err() {
            problems.push(format!(
                "binding: Durable Object namespace {binding} is missing"
            ));
        }
    }
    if !problems.is_empty() {
        worker::console_error!("not ready: {}", problems.join("; "));
    }
    let ready = problems.is_empty();
    let status = if ready { "ready" } else { "unavailable" };
    let body = if details {
        json!({
            "status": status,
            "problems": problems,
            "upstreams": upstream::health::report_json(worker::Date::now().as_millis()),
        })
    } else {
        json!({ "status": status })
    };
    http::json(if ready { 200 } else { 503 }, &body)
}
