//! Calling upstreams: which upstream a request tries next, and what each failure means.
//!
//! A request's **candidates** are the routes serving its model (in config order, or spread by
//! weight) times the keys of each route's pool (from a position drawn per request). They are
//! tried one after another until one answers, skipping those whose breaker is open (see
//! [`health`]): a skipped upstream costs no time. When every candidate has failed and the
//! retry budget (`gateway.max_attempts`, `gateway.attempt_window`) allows, the candidates that
//! failed transiently are tried again after a jittered wait.
//!
//! | what happened | next |
//! |---|---|
//! | no connection, a bad key secret, no headers in time (`timeout_ms`) | next candidate |
//! | 408, 5xx, 529; 429; 401/403; 402 or an account out of credit | next candidate (and the breaker learns) |
//! | a stream that failed before its first content (see `body_stream`) | next candidate |
//! | a non-streamed answer not complete in time (`answer_timeout_ms`) | 504: the upstream may be generating it, so it is never sent again |
//! | the client went away | stop |
//! | any other answer (the request itself is at fault) | that answer, in the client's format |
//!
//! When nothing is left: the failure's own error if every attempt failed the same way, 429 if
//! every upstream was rate limiting, and otherwise 503 `overloaded` with `Retry-After` set to
//! when the soonest breaker reopens.
//!
//! [`Attempts`] owns everything it needs, so a stream can fail over after the client's
//! response has been returned (while it has shown nothing but keep-alives).

mod betas;
mod demo;
pub mod health;
mod send;

use std::rc::Rc;
use std::time::Duration;

use worker::{Delay, Env, Response};

use super::meter_client::{ExtendBody, MeterClient};
use super::state::binding_text;
use crate::canonical::ChatRequest;
use crate::config::{Config, Provider, Route, Timeouts};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::{UpstreamFeatures, UpstreamTarget};
use crate::resilience::budget::Budget;
use crate::resilience::route_order::{Draw, key_order, route_order};
use crate::resilience::{Admission, Failure};
use crate::translate::request::{ClientCall, UpstreamRequest};
use crate::translate::{Restore, Warnings, upstream_request};

pub use send::build_request;
use send::{Outgoing, SendError, send};

/// What a call brings to its attempts.
pub struct Call {
    pub env: Env,
    pub config: Rc<Config>,
    pub client: WireFormat,
    pub request: ChatRequest,
    /// The client's body, when it may be forwarded to upstreams of its format.
    pub forwardable_body: Option<Vec<u8>>,
    pub features: UpstreamFeatures,
    /// The output cap the call reserved; no upstream is sent more.
    pub output_cap: u64,
    /// The client's beta flags, passed on to upstreams that take them (through the provider's
    /// allowlist).
    pub betas: Option<String>,
    /// Fires when the client goes away.
    pub client_signal: web_sys::AbortSignal,
    /// Fires when the gateway stops the call (see `settlement`).
    pub stop_signal: web_sys::AbortSignal,
    pub request_id: String,
    /// The key whose object meters the call (`None` when metering is off).
    pub metered_key: Option<String>,
    /// When the request arrived (the attempt window starts then).
    pub arrived_ms: u64,
    /// The call's facts for the request log (which route answered).
    pub facts: Option<super::request_log::SharedFacts>,
}

/// One upstream key of one route.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Index into the config's models.
    model: usize,
    /// Index into the config's providers: the model's, or a demo provider standing in for it.
    provider: usize,
    /// The name of the secret holding the key (`None` for a keyless provider).
    key: Option<String>,
}

/// One attempt: the candidate, and when it started (its breaker weighs its outcome only if
/// it started after the breaker last changed).
#[derive(Debug, Clone)]
pub struct Tried {
    candidate: Candidate,
    started_ms: u64,
}

/// An upstream that answered 2xx (its body unread).
pub struct Answer {
    pub response: Response,
    pub tried: Tried,
    pub format: WireFormat,
    pub timeouts: Timeouts,
    pub restore: Restore,
    pub warnings: Warnings,
    /// Non-streamed answers: when the whole answer must have arrived (ms since the epoch).
    pub deadline_ms: u64,
    /// Aborts this attempt (its request and its body).
    pub abort: web_sys::AbortController,
    /// The provider's `native_forwarding`.
    pub native_forwarding: bool,
}

/// Why no upstream answered.
pub struct Failed {
    pub error: ApiError,
    /// An upstream may have accepted the request and be producing an answer nobody will read
    /// (a non-streamed answer that timed out): the call is charged its input.
    pub accepted: bool,
}

impl From<ApiError> for Failed {
    fn from(error: ApiError) -> Failed {
        Failed {
            error,
            accepted: false,
        }
    }
}

/// A call's attempts: its candidates, what has been tried, and what is left of its budget.
pub struct Attempts {
    call: Call,
    candidates: Vec<Candidate>,
    cursor: usize,
    round: u32,
    budget: Budget,
    draw: Draw,
    /// A candidate failed transiently this round: worth another round.
    worth_another_round: bool,
    failures: Vec<ApiError>,
    /// Why candidates were skipped.
    skipped: Vec<Failure>,
    /// The last route's upstream body (reused while attempts stay on that route).
    prepared: Option<(usize, UpstreamRequest, Warnings)>,
}

/// The upstream keys a request may try, in order.
pub struct Candidates {
    list: Vec<Candidate>,
    draw: Draw,
}

impl Candidates {
    /// The routes serving `model` (ordered or spread by weight) times their providers' keys
    /// that are set (from a position drawn from `seed`).
    pub fn new(
        env: &Env,
        config: &Config,
        model_id: &str,
        seed: u64,
        request_id: &str,
    ) -> Candidates {
        let mut draw = Draw::new(seed);
        let routes: Vec<(usize, usize, &Provider, Option<u32>)> = config
            .models
            .iter()
            .enumerate()
            .filter(|(_, model)| model.id == model_id)
            .filter_map(|(i, model)| {
                let provider = config.providers.get(model.provider)?;
                Some((i, model.provider, provider, model.weight))
            })
            .collect();
        let weights: Vec<Option<u32>> = routes.iter().map(|(_, _, _, w)| *w).collect();
        let mut list = Vec::new();
        for position in route_order(&weights, &mut draw) {
            let Some((model, provider_index, provider, _)) = routes.get(position) else {
                continue;
            };
            if provider.keys.is_empty() {
                list.push(Candidate {
                    model: *model,
                    provider: *provider_index,
                    key: None,
                });
                continue;
            }
            let set: Vec<&String> = provider
                .keys
                .iter()
                .filter(|name| binding_text(env, name).is_some_and(|v| !v.is_empty()))
                .collect();
            if set.is_empty() {
                worker::console_error!(
                    "{request_id}: provider {:?} has no usable key: set the secret(s) {:?}",
                    provider.id,
                    provider.keys
                );
            }
            for index in key_order(set.len(), &mut draw) {
                if let Some(name) = set.get(index) {
                    list.push(Candidate {
                        model: *model,
                        provider: *provider_index,
                        key: Some((*name).clone()),
                    });
                }
            }
        }
        // No route can answer for lack of keys: with the demo switched on, the config's demo
        // provider answers in the first route's place (never in place of a keyed upstream, so
        // it cannot hide an upstream's failure).
        if list.is_empty()
            && binding_text(env, demo::DEMO_VARIABLE).as_deref() == Some("on")
            && let (Some((model, _, _, _)), Some(demo)) =
                (routes.first(), config.providers.iter().position(|p| p.demo))
        {
            list.push(Candidate {
                model: *model,
                provider: demo,
                key: None,
            });
        }
        Candidates { list, draw }
    }

    /// The route tried first (the one admission reserves for).
    pub fn first_route<'a>(&self, config: &'a Config) -> Option<Route<'a>> {
        self.list.first().and_then(|c| route_of(config, c))
    }

    /// Whether the routes use only `format`'s upstreams, or any at all.
    pub fn formats<'a>(&'a self, config: &'a Config) -> impl Iterator<Item = WireFormat> + 'a {
        self.list
            .iter()
            .filter_map(|c| route_of(config, c).map(|r| r.provider.format))
    }
}

impl Attempts {
    pub fn new(call: Call, candidates: Candidates) -> Attempts {
        let budget = Budget::new(call.config.gateway.retry, call.arrived_ms);
        Attempts {
            call,
            candidates: candidates.list,
            cursor: 0,
            round: 0,
            budget,
            draw: candidates.draw,
            worth_another_round: false,
            failures: Vec::new(),
            skipped: Vec::new(),
            prepared: None,
        }
    }

    pub fn request(&self) -> &ChatRequest {
        &self.call.request
    }

    pub fn client(&self) -> WireFormat {
        self.call.client
    }

    pub fn request_id(&self) -> &str {
        &self.call.request_id
    }

    pub fn client_gone(&self) -> bool {
        self.call.client_signal.aborted()
    }

    /// The route of a candidate.
    pub fn route(&self, candidate: &Candidate) -> Option<Route<'_>> {
        route_of(&self.call.config, candidate)
    }

    /// The client's body is no longer needed (the answer has started, so nothing more will be
    /// sent upstream): let it go, as the answer may stream for minutes.
    pub fn drop_body(&mut self) {
        if self.call.forwardable_body.is_some() || self.prepared.is_some() {
            self.call.forwardable_body = None;
            self.prepared = None;
            self.call.request.messages = Vec::new();
            self.call.request.system = Vec::new();
            self.call.request.tools = Vec::new();
        }
    }

    /// Tries candidates until one answers 2xx.
    pub async fn next(&mut self) -> Result<Answer, Failed> {
        loop {
            if self.client_gone() {
                return Err(client_went_away());
            }
            let Some(candidate) = self.next_candidate().await else {
                return Err(self.exhausted().into());
            };
            let tried = Tried {
                candidate,
                started_ms: now_ms(),
            };
            match self.attempt(&tried).await {
                Ok(answer) => return Ok(answer),
                Err(failed) => {
                    let stop = failed.client_gone || failed.accepted || failed.failure.is_none();
                    self.failed(
                        &tried,
                        failed.error.clone(),
                        failed.failure,
                        failed.retry_after_ms,
                    );
                    if stop {
                        return Err(Failed {
                            error: failed.error,
                            accepted: failed.accepted,
                        });
                    }
                }
            }
        }
    }

    /// The candidate served the call (its answer started, or arrived whole).
    pub fn succeeded(&self, tried: &Tried) {
        if let Some(route) = self.route(&tried.candidate) {
            super::request_log::tried(
                self.call.facts.as_ref(),
                &route.provider.id,
                &route.model.upstream,
                true,
            );
            health::record(
                route.provider,
                tried.candidate.key.as_deref(),
                Ok(()),
                tried.started_ms,
                &self.call.request_id,
            );
        }
    }

    /// The candidate failed after its headers (a stream that failed before its first content,
    /// an answer that could not be read): the breaker learns, and the error is kept for the
    /// final answer if nothing else works.
    pub fn failed(
        &mut self,
        tried: &Tried,
        error: ApiError,
        failure: Option<Failure>,
        retry_after_ms: Option<u64>,
    ) {
        if let Some(route) = self.route(&tried.candidate) {
            super::request_log::tried(
                self.call.facts.as_ref(),
                &route.provider.id,
                &route.model.upstream,
                false,
            );
        }
        if let (Some(failure), Some(route)) = (failure, self.route(&tried.candidate)) {
            health::record(
                route.provider,
                tried.candidate.key.as_deref(),
                Err((failure, retry_after_ms)),
                tried.started_ms,
                &self.call.request_id,
            );
        }
        if failure == Some(Failure::Unavailable) {
            self.worth_another_round = true;
        }
        self.failures.push(error);
    }

    /// The gateway gave up on the candidate after it took the call on (it stalled before its
    /// answer started): the breaker learns, but the candidate is not tried again for this
    /// call (each try may cost the call its input).
    pub fn abandoned(&mut self, tried: &Tried, error: ApiError) {
        let again = self.worth_another_round;
        self.failed(tried, error, Some(Failure::Unavailable), None);
        self.worth_another_round = again;
    }

    /// Charges an abandoned attempt's `tokens` to the call before another is tried; `false`
    /// when the key's window or minute has no room for them (nothing more may be tried).
    pub async fn charge_abandoned(&self, tokens: u64) -> bool {
        let Some(key_id) = &self.call.metered_key else {
            return true;
        };
        if tokens == 0 {
            return true;
        }
        let body = ExtendBody {
            id: self.call.request_id.clone(),
            tokens,
        };
        match MeterClient::for_key(&self.call.env, key_id) {
            Ok(meter) => match meter.extend(&body).await {
                Ok(extended) => extended,
                Err(e) => {
                    worker::console_warn!(
                        "{}: could not charge an abandoned attempt: {e}",
                        self.call.request_id
                    );
                    false
                }
            },
            Err(_) => false,
        }
    }

    /// The error for a call nothing more can be tried for:
    ///
    /// 1. nothing was tried or skipped: no provider has its key set;
    /// 2. every upstream rate limited the gateway (now or before): 429, `Retry-After` the
    ///    soonest they allow;
    /// 3. every upstream's breaker is open now: 503, `Retry-After` the soonest reopening;
    /// 4. every attempt failed the same way: that failure (a 500 stays a 502);
    /// 5. otherwise: 503, `Retry-After` the soonest reopening (or a few seconds).
    pub fn exhausted(&self) -> ApiError {
        let now = now_ms();
        let reopens: Vec<Option<u64>> = self
            .candidates
            .iter()
            .filter_map(|c| {
                let route = self.route(c)?;
                Some(health::reopens_at_ms(route.provider, c.key.as_deref()))
            })
            .collect();
        let reopen_s = reopens
            .iter()
            .flatten()
            .min()
            .map(|at| at.saturating_sub(now).div_ceil(1000).max(1));
        let all_down = !reopens.is_empty() && reopens.iter().all(Option::is_some);
        if self.failures.is_empty() && self.skipped.is_empty() {
            return ApiError::new(
                ErrorKind::Overloaded,
                "a provider for this model is not configured with a key",
            )
            .with_retry_after(60);
        }
        let rate_limited = self
            .failures
            .iter()
            .all(|f| f.kind == ErrorKind::RateLimited)
            && self.skipped.iter().all(|f| *f == Failure::RateLimited);
        if rate_limited {
            let asked = self.failures.iter().filter_map(|f| f.retry_after_s).min();
            let retry = match (asked, reopen_s) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(1),
            };
            let mut error = ApiError::new(
                ErrorKind::RateLimited,
                "every upstream for this model is rate limiting the gateway; retry shortly",
            );
            error.retry_after_s = Some(retry.max(1));
            return error;
        }
        if all_down {
            let seconds = reopen_s.unwrap_or(5);
            return ApiError::new(
                ErrorKind::Overloaded,
                format!(
                    "every upstream for this model is failing and is left alone for now; retry in {seconds} s"
                ),
            )
            .with_retry_after(seconds);
        }
        if self.skipped.is_empty()
            && let Some(last) = self.failures.last()
            && self.failures.iter().all(|f| f.kind == last.kind)
        {
            let mut error = last.clone();
            if error.retry_after_s.is_none() && error.kind.wants_retry_after() {
                error.retry_after_s = reopen_s;
            }
            return error;
        }
        ApiError::new(
            ErrorKind::Overloaded,
            "every upstream for this model is unavailable; retry shortly",
        )
        .with_retry_after(reopen_s.unwrap_or(5))
    }

    /// The next candidate to try: the next healthy one, or after a jittered wait a new round
    /// over them, while the budget lasts.
    async fn next_candidate(&mut self) -> Option<Candidate> {
        loop {
            while let Some(candidate) = self.candidates.get(self.cursor).cloned() {
                self.cursor += 1;
                let route = self.route(&candidate)?;
                match health::check(route.provider, candidate.key.as_deref(), now_ms()) {
                    Admission::Skip { reason, .. } => {
                        if self.round == 0 {
                            self.skipped.push(reason);
                        }
                    }
                    Admission::Try { .. } => {
                        return self.budget.take(now_ms()).then_some(candidate);
                    }
                }
            }
            if !self.worth_another_round || !self.budget.has_attempts() {
                return None;
            }
            self.round += 1;
            self.worth_another_round = false;
            self.cursor = 0;
            let wait = self
                .budget
                .backoff_ms(self.round, now_ms(), &mut self.draw)?;
            Delay::from(Duration::from_millis(wait)).await;
        }
    }

    async fn attempt(&mut self, tried: &Tried) -> Result<Answer, SendError> {
        let candidate = &tried.candidate;
        let config = Rc::clone(&self.call.config);
        let Some(route) = route_of(&config, candidate) else {
            return Err(SendError::internal("a route vanished from the config"));
        };
        let (route_model, provider) = (route.model, route.provider);
        self.prepare(candidate.model, &route)?;
        let Some((_, prepared, warnings)) = &self.prepared else {
            return Err(SendError::internal("no upstream body"));
        };
        let mut warnings = warnings.clone();
        let betas = allowed_betas(&route, self.call.betas.as_deref(), &mut warnings);
        let key = candidate
            .key
            .as_deref()
            .and_then(|name| binding_text(&self.call.env, name));
        let attempt_abort = web_sys::AbortController::new()
            .map_err(|_| SendError::internal("AbortController unavailable"))?;
        let stream = self.call.request.stream;
        let timeouts = provider.timeouts;
        let url = provider.endpoint(&route_model.upstream, stream);
        let attempt_signal = attempt_abort.signal();
        let signals = [
            &self.call.client_signal,
            &self.call.stop_signal,
            &attempt_signal,
        ];
        let started_ms = tried.started_ms;
        let outgoing = Outgoing {
            format: provider.format,
            url: &url,
            key: key.as_deref(),
            body: &prepared.body,
            betas: betas.as_deref(),
            stream,
            wait_ms: if stream {
                timeouts.headers_ms
            } else {
                timeouts.answer_ms
            },
            signals: &signals,
            client_signal: &self.call.client_signal,
            provider_id: &provider.id,
            model_id: &route_model.id,
            upstream_model: &route_model.upstream,
            request_id: &self.call.request_id,
        };
        let response = if provider.demo {
            demo::respond(
                provider.format,
                &prepared.body,
                stream,
                &route_model.upstream,
                &self.call.request_id,
            )?
        } else {
            match send(&outgoing).await {
                // An upstream that refuses beta flags by name gets the request once more
                // without them, and is not sent them again by this isolate.
                Err(failed) if !failed.rejected_betas.is_empty() => {
                    betas::remember(&provider.id, &failed.rejected_betas);
                    worker::console_warn!(
                        "{}: provider {:?} refused anthropic-beta {:?}; retrying without",
                        self.call.request_id,
                        provider.id,
                        failed.rejected_betas
                    );
                    let betas = allowed_betas(&route, self.call.betas.as_deref(), &mut warnings);
                    send(&Outgoing {
                        betas: betas.as_deref(),
                        ..outgoing
                    })
                    .await?
                }
                other => other?,
            }
        };
        Ok(Answer {
            response,
            tried: tried.clone(),
            format: provider.format,
            timeouts,
            restore: prepared.restore.clone(),
            warnings,
            deadline_ms: started_ms.saturating_add(timeouts.answer_ms),
            abort: attempt_abort,
            native_forwarding: provider.native_forwarding,
        })
    }

    /// Builds (or reuses) the upstream body for a route.
    fn prepare(&mut self, model: usize, route: &Route) -> Result<(), SendError> {
        if self.prepared.as_ref().is_some_and(|(m, _, _)| *m == model) {
            return Ok(());
        }
        self.prepared = None;
        let mut warnings = Warnings::new();
        let call = ClientCall {
            format: self.call.client,
            forwardable_body: self.call.forwardable_body.as_deref(),
            request: &self.call.request,
            features: self.call.features,
        };
        let body = upstream_request(
            call,
            route.provider.format,
            &target(route, self.call.request.stream, self.call.output_cap),
            &mut warnings,
        )
        .map_err(SendError::request)?;
        self.prepared = Some((model, body, warnings));
        Ok(())
    }
}

fn route_of<'a>(config: &'a Config, candidate: &Candidate) -> Option<Route<'a>> {
    let model = config.models.get(candidate.model)?;
    let provider = config.providers.get(candidate.provider)?;
    Some(Route { model, provider })
}

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

fn client_went_away() -> Failed {
    ApiError::new(ErrorKind::UpstreamFailed, "the client went away").into()
}

/// The request as one route's upstream takes it.
pub fn target(route: &Route, stream: bool, output_cap: u64) -> UpstreamTarget {
    let cap = route
        .model
        .max_output_tokens
        .map_or(output_cap, |max| max.min(output_cap));
    UpstreamTarget {
        model: route.model.upstream.clone(),
        stream,
        max_tokens_param: route.provider.max_tokens_param,
        default_max_tokens: cap,
        max_output_tokens: Some(cap),
        reasoning: route.model.reasoning,
        cache_breakpoints: route.model.auto_cache,
        server_tools: route.model.server_tools,
    }
}

/// The provider's key values, rotated to start at `offset`.
pub fn pool(env: &Env, route: &Route, offset: usize) -> Vec<String> {
    let keys: Vec<String> = route
        .provider
        .keys
        .iter()
        .filter_map(|name| binding_text(env, name))
        .filter(|value| !value.is_empty())
        .collect();
    let len = keys.len().max(1);
    let mut rotated = keys;
    rotated.rotate_left(offset % len);
    rotated
}

/// The client's beta flags (`header`) the route's provider takes: for upstreams whose format
/// takes flags, those its allowlist names and it has not refused (the others are reported as
/// dropped); for the others none, with the flags that change the request's meaning reported
/// (see `translate::betas`).
pub fn allowed_betas(
    route: &Route,
    header: Option<&str>,
    warnings: &mut Warnings,
) -> Option<String> {
    let header = header?;
    if route.provider.format.spec().beta_header().is_none() {
        crate::translate::betas::for_foreign_upstream(header, route.provider.format, warnings);
        return None;
    }
    crate::translate::betas::allowed(
        header,
        &route.provider.anthropic_betas,
        &betas::refused(&route.provider.id),
        warnings,
    )
}
