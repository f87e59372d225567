//! `GET /health/ready`: 200 when the config is valid and every binding and upstream secret it
//! needs is present, 503 with the reasons otherwise. Secret values are never shown, only the
//! names of missing ones.

use serde_json::json;
use worker::{Env, Response, Result};

use super::http;
use super::keystore::KV_BINDING;
use super::meter_client::DO_BINDING;
use super::response_store::DO_BINDING as RESPONSES_BINDING;
use super::state;

pub fn handle(env: &Env) -> Result<Response> {
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
    if problems.is_empty() {
        let body = if state::binding_text(env, "ADMIN_TOKEN").is_none_or(|v| v.is_empty()) {
            json!({
                "status": "ready",
                "warnings": ["ADMIN_TOKEN is not set: the admin API is disabled"],
            })
        } else {
            json!({ "status": "ready" })
        };
        http::json(200, &body)
    } else {
        http::json(
            503,
            &json!({ "status": "unavailable", "problems": problems }),
        )
    }
}
