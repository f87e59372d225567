//! The models endpoints (`GET /v1/models`, `GET /v1/models/{id}`, and each format's own): the
//! models the caller's plan allows, in the shape of the format that claimed the request.

use worker::{Env, Request, Response, Result};

use super::auth;
use super::http;
use super::usage;
use crate::config::{Config, Model};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::spec::ModelCard;

pub async fn handle(
    req: Request,
    env: &Env,
    format: WireFormat,
    id: Option<&str>,
    request_id: &str,
) -> Result<Response> {
    let (record, config, snapshot) = match auth::verified_caller(&req, env, format).await {
        Ok(caller) => caller,
        Err(error) => return http::error(format, &error, request_id),
    };
    let visible = visible_models(&config, &record.plan);
    let mut cards: Vec<ModelCard> = visible.iter().map(|m| card(m)).collect();
    // Aliases the client may pick on its own are listed under their own id (a glob cannot be).
    for alias in config.aliases.iter().filter(|a| a.is_exact()) {
        if let Some(model) = visible.iter().find(|m| m.id == alias.model) {
            cards.push(ModelCard {
                id: &alias.id,
                ..card(model)
            });
        }
    }
    let spec = format.spec();
    // One model by id: a listed one, or the model an alias glob (or `[1m]`) resolves to.
    let resolved = id.and_then(|id| {
        let served = config.resolve_model(id)?;
        let model = visible.iter().find(|m| m.id == served)?;
        Some(ModelCard { id, ..card(model) })
    });
    let response = match id {
        None => http::json(200, &spec.models_list(&cards)),
        Some(id) => match cards.iter().find(|m| m.id == id).or(resolved.as_ref()) {
            Some(model) => http::json(200, &spec.model_entry(model)),
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

fn card(model: &Model) -> ModelCard<'_> {
    ModelCard {
        id: &model.id,
        display_name: &model.display_name,
        context_window: model.context_window,
        max_output_tokens: model.max_output_tokens,
    }
}

fn visible_models<'a>(config: &'a Config, plan: &str) -> Vec<&'a Model> {
    let plan = config.plan(plan);
    config
        .public_models()
        .into_iter()
        .filter(|m| plan.is_some_and(|p| p.allows(&m.id)))
        .collect()
}
