//! The three inference endpoints, as a pipeline of named steps:
//!
//! ```text
//! authenticate → read body → resolve conversation → decode → route → check plan → admit
//!              → call upstream → answer (streamed or whole)
//! ```
//!
//! Each step returns `Result<_, ApiError>`; [`handle`] is the one place that turns an error
//! into a response, in the client's format and with the key's limit headers once admission has
//! produced them.
//!
//! Before the upstream call the hot path does one KV read (cached in the isolate) and one
//! Durable Object round trip (admission); settlement runs after the response, in `waitUntil`.
//!
//! - [`admission`]: the reservation asked of the key's object, and its refusals as errors.
//! - [`answer`]: the client's response from the upstream's, streamed or whole.

mod admission;
mod answer;

use serde_json::Value;
use worker::{Context, Env, Request, Response, Result};

use super::auth;
use super::http;
use super::request_body::read_body;
use super::responses_state::{self, Conversation};
use super::settlement::{Keep, Settlement};
use super::state;
use super::upstream::{self, Outbound};
use crate::canonical::ChatRequest;
use crate::config::{Config, Route};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::ResponseContext;
use crate::keys::KeyRecord;
use crate::translate::Warnings;
use crate::translate::meter::estimate_input_tokens;

/// What the pipeline knows about the call so far, for the error response.
struct Call<'a> {
    client: WireFormat,
    request_id: &'a str,
    /// The key's limit headers, once admission has answered.
    limit_headers: Vec<(&'static str, String)>,
}

impl Call<'_> {
    /// The one place an error becomes a response.
    fn error_response(&self, error: &ApiError) -> Result<Response> {
        let mut response = http::error(self.client, error, self.request_id)?;
        http::set_all(&mut response, self.limit_headers.iter().cloned())?;
        Ok(response)
    }
}

/// Handles one inference call in `client`'s format.
pub async fn handle(
    req: Request,
    env: &Env,
    ctx: &Context,
    client: WireFormat,
    request_id: &str,
) -> Result<Response> {
    let mut call = Call {
        client,
        request_id,
        limit_headers: Vec::new(),
    };
    match run(&mut call, req, env, ctx).await {
        Ok(response) => Ok(response),
        Err(error) => call.error_response(&error),
    }
}

async fn run(call: &mut Call<'_>, mut req: Request, env: &Env, ctx: &Context) -> Step<Response> {
    let now_ms = worker::Date::now().as_millis();
    let client = call.client;
    let (record, config) = auth::caller(&req, env).await?;
    let config = config.as_ref();
    let mut body = read_body(&mut req, config.gateway.max_body_bytes).await?;
    let (mut client_json, conversation) =
        resolve_conversation(env, config, &record, client, &mut body).await?;
    let mut decode_warnings = Warnings::new();
    let request = client.decode_request(&body, &mut decode_warnings)?;
    let routes = routes(config, &request)?;
    check_plan(config, &record, &request.model)?;

    let metering = state::metering_enabled(env);
    if metering {
        let snapshot = admission::admit(env, config, &record, &request, &routes, call.request_id)
            .await
            .map_err(|(error, snapshot)| {
                if let Some(snapshot) = snapshot {
                    call.limit_headers = crate::metering::headers::limit_headers(&snapshot);
                }
                error
            })?;
        call.limit_headers = crate::metering::headers::limit_headers(&snapshot);
    }
    if client_json.is_none() && routes.iter().any(|r| r.provider.format == client) {
        client_json = serde_json::from_slice(&body).ok();
    }
    let outbound = Outbound {
        client,
        client_json: client_json.as_ref(),
        request: &request,
        anthropic_beta: req.headers().get("anthropic-beta").ok().flatten(),
        client_signal: req.inner().signal(),
        pool_offset: pool_offset(call.request_id),
        allow_passthrough: !conversation.as_ref().is_some_and(|c| c.expanded)
            && !crate::canonical::reasoning::mentions_envelope(&body),
    };
    let context = ResponseContext::for_request(&request, now_ms / 1000, call.request_id);
    let keep = conversation.filter(|c| c.store).map(|conversation| Keep {
        conversation,
        context: context.clone(),
        ttl_ms: config.gateway.responses_ttl_ms,
    });
    let mut reporter = Settlement {
        env: env.clone(),
        key_id: record.id.clone(),
        request_id: call.request_id.to_owned(),
        metering,
        estimated_input_tokens: estimate_input_tokens(&request),
        lease_ms: config.gateway.request_lease_ms,
        abandon_after_ms: config.gateway.abandon_after_ms,
        keep,
    }
    .start(ctx);
    let upstream_answer = match upstream::call(env, &routes, &outbound).await {
        Ok(answer) => answer,
        Err(error) => {
            reporter.finish(super::settlement::Report::nothing());
            return Err(error);
        }
    };
    let mut warnings = decode_warnings;
    warnings.merge(&upstream_answer.warnings);
    let answer = answer::Answer {
        client,
        request: &request,
        context,
        limit_headers: &call.limit_headers,
        warnings: &warnings,
    };
    answer.respond(ctx, upstream_answer, reporter).await
}

/// A step's result, or the error the client gets instead.
type Step<T> = std::result::Result<T, ApiError>;

/// Resolves a Responses request's `previous_response_id` (rewriting `body` when history was
/// added) and says what to remember of the turn; other formats have no conversations. Also
/// returns the client's JSON when it had to be parsed for that.
async fn resolve_conversation(
    env: &Env,
    config: &Config,
    record: &KeyRecord,
    client: WireFormat,
    body: &mut Vec<u8>,
) -> Step<(Option<Value>, Option<Conversation>)> {
    if client != WireFormat::OpenAiResponses {
        return Ok((None, None));
    }
    let Ok(mut json) = serde_json::from_slice::<Value>(body) else {
        return Ok((None, None)); // the decoder reports the malformed body
    };
    let model = json
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(upstream) = config.routes(&model).next().map(|r| r.provider.format) else {
        return Ok((Some(json), None)); // the unknown model is reported after decoding
    };
    let conversation = responses_state::resolve(env, &record.id, &mut json, upstream).await?;
    if conversation.expanded
        && let Ok(expanded) = serde_json::to_vec(&json)
    {
        *body = expanded;
    }
    Ok((Some(json), Some(conversation)))
}

/// The routes serving the requested model, in failover order.
fn routes<'a>(config: &'a Config, request: &'a ChatRequest) -> Step<Vec<Route<'a>>> {
    let routes: Vec<Route> = config.routes(&request.model).collect();
    if routes.is_empty() {
        return Err(ApiError::new(
            ErrorKind::ModelNotFound,
            format!(
                "The model `{}` does not exist on this gateway; GET /v1/models lists the models your key can use.",
                request.model
            ),
        )
        .with_param("model"));
    }
    Ok(routes)
}

fn check_plan(config: &Config, record: &KeyRecord, model: &str) -> Step<()> {
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

/// Spreads requests over a provider's key pool.
fn pool_offset(request_id: &str) -> usize {
    request_id.bytes().fold(0usize, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(usize::from(b))
    })
}
