//! Token counting for every model, at each format's count endpoint (Anthropic's
//! `POST /v1/messages/count_tokens`, ...): exact when the model's upstream has a count endpoint
//! of its own (Anthropic's, OpenAI's `responses/input_tokens`), the input estimate otherwise (an
//! upper bound, see `translate::meter::estimate_input_tokens`). The answer says which in
//! `x-toc-token-count: exact | estimate`.
//!
//! A count is a request like any other for the key: it needs an active key and counts toward
//! the plan's requests per minute (not its tokens). The upstream count uses the provider's key
//! pool, with a timeout; when no key answers, the estimate stands in.

use std::time::Duration;

use futures_util::future::{Either, select};
use worker::{Delay, Env, Fetch, Request, Response, Result};

use super::auth;
use super::http;
use super::inference::admission::admit_instant;
use super::inference::body_limits;
use super::request_body::read_body;
use super::state;
use super::upstream;
use crate::canonical::ChatRequest;
use crate::config::Route;
use crate::error::{self, ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::json_shape;
use crate::keys::KeyRecord;
use crate::metering::headers::limit_headers;
use crate::translate::Warnings;
use crate::translate::meter::estimate_input_tokens;
use crate::translate::request::fit_to_plan;

/// The longest an upstream count may take before the estimate is used instead.
const COUNT_TIMEOUT_MS: u64 = 10_000;

/// `model`: the model, for formats that name it in the URL rather than the body.
pub async fn handle(
    mut req: Request,
    env: &Env,
    format: WireFormat,
    model: Option<String>,
    request_id: &str,
) -> Result<Response> {
    let mut headers = Vec::new();
    let counted = count(&mut req, env, format, model, request_id, &mut headers).await;
    let mut response = match counted {
        Ok((tokens, how)) => {
            let mut response = http::json(200, &format.spec().count_answer(tokens))?;
            response.headers_mut().set("x-toc-token-count", how)?;
            response
        }
        Err(error) => http::error(format, &error, request_id)?,
    };
    http::set_all(&mut response, headers)?;
    Ok(response)
}

/// The count, and whether it is `exact` or an `estimate`.
async fn count(
    req: &mut Request,
    env: &Env,
    format: WireFormat,
    model: Option<String>,
    request_id: &str,
    headers: &mut Vec<(&'static str, String)>,
) -> std::result::Result<(u64, &'static str), ApiError> {
    let (record, config) = auth::caller(req, env, format).await?;
    let config = config.as_ref();
    let plan = config.plan(&record.plan).ok_or_else(|| {
        ApiError::new(
            ErrorKind::PermissionDenied,
            "Your key's plan is not offered by this gateway any more.",
        )
    })?;
    let body = read_body(req, config.gateway.max_body_bytes).await?;
    json_shape::check(&body, body_limits(config))?;
    let mut warnings = Warnings::new();
    let mut request = format.spec().decode_count_request(&body, &mut warnings)?;
    drop(body);
    if let Some(model) = model {
        request.model = model;
    }
    // An alias is counted by the model that serves it.
    if let Some(served) = config.resolve_model(&request.model) {
        request.model = served.to_owned();
    }
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
    fit_to_plan(&mut request, 1, plan.features, &mut warnings);
    let betas = format
        .spec()
        .beta_header()
        .and_then(|name| req.headers().get(name).ok().flatten());
    for route in &routes {
        if let Some(tokens) = exact(env, &record, route, &request, betas.as_deref()).await {
            return Ok((tokens, "exact"));
        }
    }
    let estimate = estimate_input_tokens(&request);
    let estimate = routes
        .first()
        .and_then(|r| r.model.context_window)
        .map_or(estimate, |window| estimate.min(window));
    Ok((estimate, "estimate"))
}

/// The upstream's own count for `request`, trying each key of the pool; `None` when the
/// upstream has no count endpoint or no key answered in time.
async fn exact(
    env: &Env,
    record: &KeyRecord,
    route: &Route<'_>,
    request: &ChatRequest,
    betas: Option<&str>,
) -> Option<u64> {
    let spec = route.provider.format.spec();
    let target = upstream::target(route, false, 1);
    let (url, body) = spec
        .count_request(&route.provider.base_url, request, &target)?
        .ok()?;
    let mut warnings = Warnings::new();
    let betas = upstream::allowed_betas(route, betas, &mut warnings);
    let keys = upstream::pool(env, route, record.id.len());
    let attempts: Vec<Option<String>> = if keys.is_empty() {
        vec![None]
    } else {
        keys.into_iter().map(Some).collect()
    };
    for key in attempts {
        let Ok(upstream_request) = upstream::build_request(
            route.provider.format,
            &url,
            key.as_deref(),
            &body,
            betas.as_deref(),
            false,
        ) else {
            continue;
        };
        let fetch = Fetch::Request(upstream_request);
        let sending = fetch.send();
        let waiting = Delay::from(Duration::from_millis(COUNT_TIMEOUT_MS));
        let response = match select(Box::pin(sending), Box::pin(waiting)).await {
            Either::Left((Ok(response), _)) => response,
            Either::Left((Err(_), _)) | Either::Right(_) => continue,
        };
        let status = response.status_code();
        let bytes = super::js_pump::read_all(response.body())
            .await
            .unwrap_or_default();
        if status == 200 {
            return spec.count_response(&bytes);
        }
        worker::console_warn!(
            "count_tokens upstream {:?} answered {status}: {}",
            route.provider.id,
            error::log_excerpt(&bytes)
        );
        if !matches!(status, 401..=403 | 408 | 429 | 500..=599) {
            return None;
        }
    }
    None
}
