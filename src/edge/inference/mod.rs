//! The three inference endpoints, as a pipeline of named steps:
//!
//! ```text
//! authenticate → read body → resolve conversation → decode → route → check plan and key → admit
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

pub mod admission;
mod answer;

use std::rc::Rc;

use serde_json::Value;
use worker::{Context, Env, Request, Response, Result};

use super::auth;
use super::body_stream::StreamTimers;
use super::http;
use super::request_body::read_body;
use super::request_log;
use super::responses_state::{self, Conversation};
use super::settlement::{Keep, Pricing, Report, Settlement};
use super::state;
use super::upstream::{self, Attempts, Candidates};
use crate::canonical::ChatRequest;
use crate::config::{Config, Plan};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::ResponseContext;
use crate::formats::spec::{Endpoint, EndpointKind};
use crate::json_shape::{self, JsonLimits};
use crate::keys::KeyRecord;
use crate::metering::headers::limit_headers;
use crate::translate::Warnings;
use crate::translate::request::fit_to_plan;
use crate::translate::session::Session;

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
    endpoint: Endpoint,
    request_id: &str,
) -> Result<Response> {
    let mut call = Call {
        client,
        request_id,
        limit_headers: Vec::new(),
    };
    match run(&mut call, req, env, ctx, endpoint).await {
        Ok(response) => Ok(response),
        Err(error) => call.error_response(&error),
    }
}

async fn run(
    call: &mut Call<'_>,
    mut req: Request,
    env: &Env,
    ctx: &Context,
    endpoint: Endpoint,
) -> Step<Response> {
    let now_ms = worker::Date::now().as_millis();
    let client = call.client;
    let (record, config_rc) = auth::caller(&req, env, client).await?;
    let config = config_rc.as_ref();
    let plan = plan_of(config, &record)?;
    let limits = body_limits(config);
    let mut body = read_body(&mut req, config.gateway.max_body_bytes).await?;
    json_shape::check(&body, limits)?;
    let conversation = resolve_conversation(env, config, &record, client, &mut body).await?;
    let mut warnings = Warnings::new();
    let mut request = client.decode_request(&body, &mut warnings)?;
    // A compaction asks the model for a summary of the conversation (any model, any vendor).
    let compaction = matches!(endpoint.kind, EndpointKind::Compact)
        .then(|| crate::translate::compaction::prepare(&mut request));
    // Formats that say the model or streaming in the URL.
    if let Some(model) = endpoint.model {
        request.model = model;
    }
    if let Some(stream) = endpoint.stream {
        request.stream = stream;
    }
    // The model that serves the id the client sent (an alias, or an id with `[1m]`); answers
    // still name the client's id.
    let requested = request.model.clone();
    let Some(served) = config.resolve_model(&requested) else {
        return Err(not_found(&requested));
    };
    request.model = served.to_owned();
    check_plan(plan, &request.model)?;
    record.policy.check_model(&request.model)?;
    check_vendor_objects(&request, plan)?;
    // One conversation, one upstream key and one cache routing key, turn after turn.
    let session = Session::of(&record.id, &request);
    if request.prompt_cache_key.is_none() {
        request.prompt_cache_key = Some(session.prompt_cache_key());
    }
    let candidates = Candidates::new(env, config, &request.model, session.seed(), call.request_id);
    let Some(first_route) = candidates.first_route(config) else {
        // Every route's provider lacks its key: nothing could answer, nothing is admitted.
        return Err(ApiError::new(
            ErrorKind::Overloaded,
            "a provider for this model is not configured with a key",
        )
        .with_retry_after(60));
    };

    let metering = state::metering_enabled(env);
    let (input_estimate, output_cap, allowance) = if metering {
        let admitted = admission::admit(
            env,
            config,
            plan,
            &record,
            &request,
            &first_route,
            client,
            call.request_id,
            &mut warnings,
        )
        .await
        .map_err(|(error, snapshot)| {
            if let Some(snapshot) = snapshot {
                call.limit_headers = limit_headers(&snapshot);
            }
            error
        })?;
        call.limit_headers = limit_headers(&admitted.snapshot);
        (
            admitted.input_tokens,
            admitted.output_tokens,
            admitted.allowance,
        )
    } else {
        let wanted = admission::reservation(&request, &first_route);
        (wanted.input_tokens, wanted.output_tokens, None)
    };
    fit_to_plan(&mut request, output_cap, plan.features, &mut warnings);
    // The client's body may be forwarded as it is only to an upstream of its format, and only
    // if it says exactly what was decoded; otherwise it is let go now (a body can be 10 MB).
    let forwardable = compaction.is_none()
        && candidates.formats(config).any(|format| format == client)
        && !conversation.as_ref().is_some_and(|c| c.expanded)
        && !warnings.content_dropped()
        && !crate::canonical::reasoning::mentions_envelope(&body);
    // A route may still have to encode the request: when its model runs none of a server tool
    // the client offers (`translate::server_tools`), the body is not forwarded.
    let server_tools = request
        .tools
        .iter()
        .any(|tool| matches!(tool, crate::canonical::Tool::Server(_)));
    if forwardable && !server_tools && candidates.formats(config).all(|format| format == client) {
        // Every route forwards the client's body: the decoded conversation has served its
        // purpose (checks, estimate) and is let go, so the body is never held three times.
        request.messages = Vec::new();
        request.system = Vec::new();
        request.tools = Vec::new();
    }
    let body = forwardable.then_some(body);
    let mut context = ResponseContext::for_request(&request, now_ms / 1000, call.request_id);
    context.model = requested;
    context.compaction = compaction;
    // Stops the call from the gateway's side (its registration with the key's object was
    // refused).
    let stop = web_sys::AbortController::new()
        .map_err(|_| ApiError::new(ErrorKind::Internal, "AbortController unavailable"))?;
    let keep = conversation.filter(|c| c.store).map(|conversation| Keep {
        format: client,
        conversation,
        context: context.clone(),
        ttl_ms: config.gateway.responses_ttl_ms,
    });
    let facts = request_log::start(env, config, client, &request, now_ms, &warnings);
    let pricing = Pricing {
        routes: config
            .routes(&request.model)
            .map(|route| {
                (
                    route.provider.id.clone(),
                    route.model.prices.at(now_ms).cloned(),
                )
            })
            .collect(),
        multiplier_ppm: plan.multiplier_ppm,
    };
    let mut reporter = Settlement {
        env: env.clone(),
        key_id: record.id.clone(),
        request_id: call.request_id.to_owned(),
        metering,
        input_estimate_tokens: input_estimate,
        output_cap_tokens: output_cap,
        lease_ms: config.gateway.request_lease_ms,
        keep,
        allowance,
        stop: stop.clone(),
        log: facts.clone(),
        pricing,
    }
    .start(ctx);
    let betas = client
        .spec()
        .beta_header()
        .and_then(|name| req.headers().get(name).ok().flatten());
    let mut attempts = Attempts::new(
        upstream::Call {
            env: env.clone(),
            config: Rc::clone(&config_rc),
            client,
            request,
            forwardable_body: body,
            features: plan.features,
            output_cap,
            betas,
            client_signal: req.inner().signal(),
            stop_signal: stop.signal(),
            request_id: call.request_id.to_owned(),
            metered_key: metering.then(|| record.id.clone()),
            arrived_ms: now_ms,
            facts: facts.clone(),
        },
        candidates,
    );
    let upstream_answer = match attempts.next().await {
        Ok(answer) => answer,
        Err(failed) => {
            request_log::failed(facts.as_ref(), &failed.error);
            reporter.finish(if failed.accepted {
                Report::accepted()
            } else {
                Report::refused()
            });
            return Err(failed.error);
        }
    };
    let answer = answer::Answer {
        context,
        limit_headers: &call.limit_headers,
        warnings: &warnings,
        timers: StreamTimers {
            commit_ms: COMMIT_WINDOW_MS,
            keep_alive_ms: config.gateway.keep_alive_ms,
        },
        facts,
    };
    answer
        .respond(ctx, attempts, upstream_answer, reporter)
        .await
}

/// The longest a streamed answer's response waits for the answer to start (so an upstream that
/// fails at once still gets an HTTP error status); after it, keep-alives cover the silence.
const COMMIT_WINDOW_MS: u64 = 5_000;

/// The bound on what a request body may hold once parsed.
pub fn body_limits(config: &Config) -> JsonLimits {
    JsonLimits {
        max_values: config.gateway.max_json_values,
        max_depth: config.gateway.max_json_depth,
    }
}

/// The key's plan, which must still be in the config.
fn plan_of<'a>(config: &'a Config, record: &KeyRecord) -> Step<&'a Plan> {
    config.plan(&record.plan).ok_or_else(|| {
        ApiError::new(
            ErrorKind::PermissionDenied,
            format!(
                "Your key's plan `{}` is not offered by this gateway any more; ask its operator to move your key to another plan.",
                record.plan
            ),
        )
    })
}

/// Objects stored at the vendor (files, referenced by id) belong to the operator's account,
/// not to the key: any key could name another's. Refused unless the plan allows them.
fn check_vendor_objects(request: &ChatRequest, plan: &Plan) -> Step<()> {
    if plan.features.files {
        return Ok(());
    }
    match request.first_file_ref() {
        None => Ok(()),
        Some(file) => Err(ApiError::invalid(format!(
            "The file id `{}` names a file stored at the model's vendor; this gateway does not pass stored files on. Send the content inline (base64) or by URL.",
            file.id
        ))
        .with_param(file.path.as_str())),
    }
}

/// A step's result, or the error the client gets instead.
type Step<T> = std::result::Result<T, ApiError>;

/// Resolves a Responses request's `previous_response_id` (rewriting `body` when history was
/// added) and says what to remember of the turn; other formats have no conversations. The
/// expanded body is held to the same limits as the client's.
async fn resolve_conversation(
    env: &Env,
    config: &Config,
    record: &KeyRecord,
    client: WireFormat,
    body: &mut Vec<u8>,
) -> Step<Option<Conversation>> {
    if !client.spec().stores_conversations() {
        return Ok(None);
    }
    let Ok(mut json) = serde_json::from_slice::<Value>(body) else {
        return Ok(None); // the decoder reports the malformed body
    };
    let conversation = responses_state::resolve(env, &record.id, &mut json).await?;
    if conversation.expanded {
        let expanded = serde_json::to_vec(&json).unwrap_or_default();
        if expanded.len() as u64 > config.gateway.max_body_bytes {
            return Err(ApiError::new(
                ErrorKind::RequestTooLarge,
                format!(
                    "The conversation up to `previous_response_id` is larger than this gateway's limit of {} bytes; start a new conversation or send a shorter history.",
                    config.gateway.max_body_bytes
                ),
            )
            .with_param("previous_response_id"));
        }
        json_shape::check(&expanded, body_limits(config))?;
        *body = expanded;
    }
    Ok(Some(conversation))
}

fn not_found(model: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ModelNotFound,
        format!(
            "The model `{model}` does not exist on this gateway; GET /v1/models lists the models your key can use."
        ),
    )
    .with_param("model")
}

fn check_plan(plan: &Plan, model: &str) -> Step<()> {
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
