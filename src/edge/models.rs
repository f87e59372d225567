//! `GET /v1/models` and `GET /v1/models/{id}`: the models the caller's plan allows, in the
//! OpenAI shape, or the Anthropic shape when the request carries `anthropic-version`.

use serde_json::{Value, json};
use worker::{Env, Request, Response, Result};

use super::auth;
use super::http;
use super::usage;
use crate::config::{Config, Model};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;

/// A fixed creation time for catalog entries (the config has none): 2025-01-01.
const CATALOG_CREATED_S: u64 = 1_735_689_600;

pub async fn handle(
    req: Request,
    env: &Env,
    id: Option<&str>,
    request_id: &str,
) -> Result<Response> {
    let anthropic = req.headers().has("anthropic-version").unwrap_or(false);
    let format = if anthropic {
        WireFormat::AnthropicMessages
    } else {
        WireFormat::OpenAiChat
    };
    let (record, config, snapshot) = match auth::verified_caller(&req, env).await {
        Ok(caller) => caller,
        Err(error) => return http::error(format, &error, request_id),
    };
    let visible = visible_models(&config, &record.plan);
    let response = match id {
        None => http::json(200, &list(&visible, anthropic)),
        Some(id) => match visible.iter().find(|m| m.id == id) {
            Some(model) => http::json(200, &entry(model, anthropic)),
            None => http::error(
                format,
                &ApiError::new(
                    ErrorKind::ModelNotFound,
                    format!("The model `{id}` does not exist or your plan does not include it."),
                ),
                request_id,
            ),
        },
    }?;
    usage::with_limit_headers(response, snapshot.as_ref())
}

fn visible_models<'a>(config: &'a Config, plan: &str) -> Vec<&'a Model> {
    let plan = config.plan(plan);
    config
        .public_models()
        .into_iter()
        .filter(|m| plan.is_some_and(|p| p.allows(&m.id)))
        .collect()
}

fn list(models: &[&Model], anthropic: bool) -> Value {
    let data: Vec<Value> = models.iter().map(|m| entry(m, anthropic)).collect();
    if anthropic {
        json!({
            "data": data,
            "has_more": false,
            "first_id": models.first().map(|m| m.id.clone()),
            "last_id": models.last().map(|m| m.id.clone()),
        })
    } else {
        json!({ "object": "list", "data": data })
    }
}

fn entry(model: &Model, anthropic: bool) -> Value {
    if anthropic {
        json!({
            "type": "model",
            "id": model.id,
            "display_name": model.display_name,
            "created_at": "2025-01-01T00:00:00Z",
        })
    } else {
        json!({
            "id": model.id,
            "object": "model",
            "created": CATALOG_CREATED_S,
            "owned_by": "techopenclaw",
            "context_window": model.context_window,
            "max_output_tokens": model.max_output_tokens,
        })
    }
}
