//! The three inference endpoints: authenticate, decode, admit, call upstream, translate back,
//! settle.
//!
//! Before the upstream call the hot path does one KV read (cached in the isolate) and one
//! Durable Object round trip (admission); settlement runs after the response, in `waitUntil`.

use serde_json::Value;
use worker::{Context, Env, Headers, Request, Response, ResponseBuilder, Result};

use super::auth;
use super::body_stream::UpstreamBody;
use super::http;
use super::meter_client::{AdmitBody, MeterClient};
use super::responses_state::{self, Conversation};
use super::settlement::{Keep, KeptAnswer, Report, Reporter, Settlement};
use super::state;
use super::upstream::{self, Outbound};
use crate::canonical::ChatRequest;
use crate::config::{Config, Route};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::ResponseContext;
use crate::keys::KeyRecord;
use crate::metering::headers::limit_headers;
use crate::metering::{AdmitRequest, Decision, Refusal, Snapshot};
use crate::time::rfc3339;
use crate::translate::meter::estimate_input_tokens;
use crate::translate::{StreamTranslator, WARNINGS_HEADER, translate_response};

/// Whether per-key metering runs. Only benchmarks switch it off (`METERING = "off"`), to
/// measure what admission costs.
pub fn metering_enabled(env: &Env) -> bool {
    state::binding_text(env, "METERING").as_deref() != Some("off")
}

/// Handles one inference call in `client`'s format.
pub async fn handle(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    client: WireFormat,
    request_id: &str,
) -> Result<Response> {
    let now_ms = worker::Date::now().as_millis();
    let fail = |error: ApiError| http::error(client, &error, request_id);
    let (record, config) = match auth::caller(&req, env).await {
        Ok(caller) => caller,
        Err(error) => return fail(error),
    };
    let config = config.as_ref();
    let mut body = match read_body(&mut req, config.gateway.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => return fail(error),
    };
    // The client's JSON as a value: parsed once, for Responses conversations and for
    // same-format passthrough.
    let mut client_json: Option<Value> = None;
    let conversation = if client == WireFormat::OpenAiResponses {
        client_json = serde_json::from_slice(&body).ok();
        match resolve_conversation(env, config, &record, client_json.as_mut(), &mut body).await {
            Ok(conversation) => conversation,
            Err(error) => return fail(error),
        }
    } else {
        None
    };
    let mut decode_warnings = crate::translate::Warnings::new();
    let request = match client.decode_request(&body, &mut decode_warnings) {
        Ok(request) => request,
        Err(error) => return fail(error),
    };
    let routes: Vec<Route> = config.routes(&request.model).collect();
    let Some(first_route) = routes.first() else {
        return fail(
            ApiError::new(
                ErrorKind::ModelNotFound,
                format!(
                    "The model `{}` does not exist on this gateway; GET /v1/models lists the models your key can use.",
                    request.model
                ),
            )
            .with_param("model"),
        );
    };
    if let Err(error) = check_plan(config, &record, &request.model) {
        return fail(error);
    }

    let metering = metering_enabled(env);
    let estimate = estimate_tokens(&request, first_route);
    let admission = if metering {
        match admit(env, config, &record, &request, estimate, request_id).await {
            Ok(snapshot) => Some(snapshot),
            Err((error, snapshot)) => {
                let mut response = fail(error)?;
                if let Some(snapshot) = snapshot {
                    http::set_all(&mut response, limit_headers(&snapshot))?;
                }
                return Ok(response);
            }
        }
    } else {
        None
    };
    let limit_header_values = admission.as_ref().map(limit_headers).unwrap_or_default();
    if client_json.is_none() && routes.iter().any(|r| r.provider.format == client) {
        client_json = serde_json::from_slice(&body).ok();
    }
    let outbound = Outbound {
        client,
        client_json: client_json.as_ref(),
        request: &request,
        anthropic_beta: req.headers().get("anthropic-beta").ok().flatten(),
        client_signal: req.inner().signal(),
        pool_offset: pool_offset(request_id),
        allow_passthrough: !conversation.as_ref().is_some_and(|c| c.expanded)
            && !crate::canonical::reasoning::mentions_envelope(&body),
    };
    let context = ResponseContext::for_request(&request, now_ms / 1000, request_id);
    let keep = conversation.filter(|c| c.store).map(|conversation| Keep {
        conversation,
        context: context.clone(),
        ttl_ms: config.gateway.responses_ttl_ms,
    });
    let collect = keep.is_some();
    let mut reporter = Settlement {
        env: env.clone(),
        key_id: record.id.clone(),
        request_id: request_id.to_owned(),
        metering,
        estimated_input_tokens: estimate_input_tokens(&request),
        lease_ms: config.gateway.request_lease_ms,
        abandon_after_ms: config.gateway.abandon_after_ms,
        keep,
    }
    .start(ctx);
    let refuse = |mut reporter: Reporter, error: ApiError| -> Result<Response> {
        reporter.finish(Report::nothing());
        let mut response = fail(error)?;
        http::set_all(&mut response, limit_header_values.clone())?;
        Ok(response)
    };
    let answer = match upstream::call(env, &routes, &outbound).await {
        Ok(answer) => answer,
        Err(error) => return refuse(reporter, error),
    };
    let mut warnings = decode_warnings;
    warnings.merge(&answer.warnings);
    let upstream_format = answer.route.provider.format;
    let headers = Headers::new();
    for (name, value) in &limit_header_values {
        headers.set(name, value)?;
    }
    if let Some(value) = warnings.header_value() {
        headers.set(WARNINGS_HEADER, &value)?;
    }
    let mut upstream_response = answer.response;

    if request.stream {
        // A Chat client that did not ask for usage must not get the usage chunk the gateway
        // asked the upstream for, so that pair is re-encoded rather than forwarded.
        let passthrough = upstream_format == client
            && (client != WireFormat::OpenAiChat || request.client.include_usage);
        let mut translator = StreamTranslator::new(
            client,
            upstream_format,
            passthrough,
            answer.restore,
            context,
        );
        if collect {
            translator = translator.collect();
        }
        let raw = match upstream_response.body() {
            worker::ResponseBody::Stream(raw) => raw.clone(),
            _ => {
                return refuse(
                    reporter,
                    ApiError::new(
                        ErrorKind::UpstreamFailed,
                        "the upstream answered without a body",
                    ),
                );
            }
        };
        let mut body = UpstreamBody::new(raw, translator, reporter)?;
        body.prime().await;
        if let Some(error) = body.translator().early_error().cloned() {
            body.cancel();
            let mut response = fail(error)?;
            http::set_all(&mut response, limit_header_values)?;
            return Ok(response);
        }
        headers.set("content-type", "text/event-stream; charset=utf-8")?;
        headers.set("cache-control", "no-cache")?;
        headers.set("x-accel-buffering", "no")?;
        return Ok(ResponseBuilder::new()
            .with_status(200)
            .with_headers(headers)
            .stream(body.into_client_body(ctx)?));
    }

    let upstream_body = match upstream_response.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => {
            return refuse(
                reporter,
                ApiError::new(
                    ErrorKind::UpstreamFailed,
                    format!("the upstream's answer could not be read: {e}"),
                ),
            );
        }
    };
    match translate_response(
        client,
        upstream_format,
        &upstream_body,
        &answer.restore,
        &context,
    ) {
        Ok((bytes, meter)) => {
            let answer = if collect {
                serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .map(KeptAnswer::Client)
            } else {
                None
            };
            reporter.finish(Report { meter, answer });
            headers.set("content-type", "application/json")?;
            Ok(ResponseBuilder::new()
                .with_status(200)
                .with_headers(headers)
                .fixed(bytes))
        }
        Err(error) => refuse(reporter, error),
    }
}

/// Resolves a Responses request's `previous_response_id` in `json` and `body` (both rewritten
/// when history was added) and says what to remember of the turn.
async fn resolve_conversation(
    env: &Env,
    config: &Config,
    record: &KeyRecord,
    json: Option<&mut Value>,
    body: &mut Vec<u8>,
) -> std::result::Result<Option<Conversation>, ApiError> {
    let Some(json) = json else {
        return Ok(None); // the decoder reports the malformed body
    };
    let model = json
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(upstream) = config.routes(model).next().map(|r| r.provider.format) else {
        return Ok(None); // the unknown model is reported after decoding
    };
    let conversation = responses_state::resolve(env, &record.id, json, upstream).await?;
    if conversation.expanded
        && let Ok(expanded) = serde_json::to_vec(json)
    {
        *body = expanded;
    }
    Ok(Some(conversation))
}

/// Asks the key's Durable Object to admit the request. A refusal comes with the counters for
/// the limit headers.
async fn admit(
    env: &Env,
    config: &Config,
    record: &KeyRecord,
    request: &ChatRequest,
    estimate_tokens: u64,
    request_id: &str,
) -> std::result::Result<Snapshot, (ApiError, Option<Snapshot>)> {
    let meter = MeterClient::for_key(env, &record.id).map_err(|e| (auth::internal(e), None))?;
    let decision = meter
        .admit(&AdmitBody {
            request: AdmitRequest {
                id: request_id.to_owned(),
                model: request.model.clone(),
                estimate_tokens,
            },
            plan_hint: record.plan.clone(),
        })
        .await
        .map_err(|e| (auth::internal(e), None))?;
    match decision.refusal {
        None => Ok(decision.snapshot),
        Some(refusal) => Err((
            refusal_error(refusal, &decision, config),
            Some(decision.snapshot),
        )),
    }
}

/// Reads the request body, refusing more than `limit` bytes with 413.
async fn read_body(req: &mut Request, limit: u64) -> std::result::Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorKind::RequestTooLarge,
            format!("The request body is larger than this gateway's limit of {limit} bytes."),
        )
    };
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let body = req
        .bytes()
        .await
        .map_err(|e| ApiError::invalid(format!("The request body could not be read: {e}")))?;
    if body.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(body)
}

fn check_plan(
    config: &Config,
    record: &KeyRecord,
    model: &str,
) -> std::result::Result<(), ApiError> {
    let Some(plan) = config.plan(&record.plan) else {
        return Err(ApiError::new(
            ErrorKind::PermissionDenied,
            format!(
                "Your key's plan `{}` is not offered by this gateway any more; ask its operator to move your key to another plan.",
                record.plan
            ),
        ));
    };
    if plan.allows(model) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::PermissionDenied,
            format!(
                "Your plan `{}` does not include the model `{model}`; GET /v1/models lists the models it does include, or upgrade your plan.",
                plan.id
            ),
        )
        .with_param("model"))
    }
}

/// The reservation for a request: its prompt plus the most it may generate.
fn estimate_tokens(request: &ChatRequest, route: &Route) -> u64 {
    let output = request
        .max_output_tokens
        .unwrap_or(route.model.default_max_tokens);
    let output = route
        .model
        .max_output_tokens
        .map_or(output, |max| output.min(max));
    estimate_input_tokens(request).saturating_add(output)
}

/// Spreads requests over a provider's key pool.
fn pool_offset(request_id: &str) -> usize {
    request_id.bytes().fold(0usize, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(usize::from(b))
    })
}

fn refusal_error(refusal: Refusal, decision: &Decision, config: &Config) -> ApiError {
    let snapshot = &decision.snapshot;
    let limits = &snapshot.limits;
    let window = config
        .plan(&snapshot.plan)
        .map_or_else(|| format!("{} ms", limits.window_ms), |p| p.window.clone());
    let retry = decision.retry_after_s.unwrap_or(1);
    let error = match refusal {
        Refusal::Disabled => return auth_error(crate::keys::KeyStatus::Disabled),
        Refusal::Revoked => return auth_error(crate::keys::KeyStatus::Revoked),
        Refusal::ModelNotAllowed => {
            return ApiError::new(
                ErrorKind::PermissionDenied,
                format!(
                    "Your plan `{}` does not include this model; GET /v1/models lists the models it does include, or upgrade your plan.",
                    snapshot.plan
                ),
            )
            .with_param("model");
        }
        Refusal::QuotaExhausted => ApiError::new(
            ErrorKind::QuotaExhausted,
            format!(
                "Your plan's quota of {} tokens per {window} window is used up. It resets at {}; wait until then or upgrade your plan.",
                limits.window_tokens,
                rfc3339(snapshot.window_end_ms)
            ),
        ),
        Refusal::RequestsPerMinute => ApiError::new(
            ErrorKind::RateLimited,
            format!(
                "Rate limit reached: your plan allows {} requests per minute. Retry in {retry} s.",
                limits.rpm
            ),
        ),
        Refusal::TokensPerMinute => ApiError::new(
            ErrorKind::RateLimited,
            format!(
                "Rate limit reached: your plan allows {} tokens per minute. Retry in {retry} s.",
                limits.tpm
            ),
        ),
        Refusal::Concurrency => ApiError::new(
            ErrorKind::RateLimited,
            format!(
                "Concurrency limit reached: your plan allows {} requests at once. Retry when one finishes (in about {retry} s).",
                limits.concurrency
            ),
        ),
    };
    error.with_retry_after(retry)
}

fn auth_error(status: crate::keys::KeyStatus) -> ApiError {
    match auth::check_status(status) {
        Err(error) => error,
        Ok(()) => ApiError::new(ErrorKind::Authentication, "This API key cannot be used."),
    }
}
