//! Admission: the reservation asked of the key's Durable Object before the upstream call, and
//! its refusals as errors in the product's taxonomy.
//!
//! A call reserves its input estimate (an upper bound of the prompt, never more than the
//! model's context window) plus its output cap: what the client asked for, or the model's
//! default, within the model's maximum. The object may lower the cap to fit what is left of
//! the window or the minute (never below the plan's `min_output_tokens`); the upstream is then
//! sent exactly the granted cap.

use crate::canonical::ChatRequest;
use crate::config::{Config, Plan, Route};
use crate::edge::allowance;
use crate::edge::auth;
use crate::edge::meter_client::{AdmitBody, MeterClient};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::keys::{KeyRecord, KeyStatus};
use crate::metering::allowance::{Isolate, TopUpAsk};
use crate::metering::cost::{Tariff, Unit, usd_text};
use crate::metering::{AdmitRequest, Decision, Refusal, Snapshot};
use crate::time::rfc3339;
use crate::translate::Warnings;
use crate::translate::meter::estimate_input_tokens;

/// Room left for the answer above a thinking budget when the client set no output limit.
const THINKING_ANSWER_ROOM_TOKENS: u64 = 1024;

/// An admitted call.
pub struct Admitted {
    pub snapshot: Snapshot,
    /// The input estimate reserved.
    pub input_tokens: u64,
    /// The output cap granted: the most the upstream is asked for.
    pub output_tokens: u64,
    /// The allowance the call runs under, if any.
    pub allowance: Option<AllowanceUse>,
}

/// A call admitted from an allowance (see `edge::allowance`).
#[derive(Debug, Clone)]
pub struct AllowanceUse {
    pub id: String,
    /// Admitted here, without asking: the call must be registered with the key's object.
    pub register: Option<AdmitRequest>,
    /// When it was admitted.
    pub admitted_ms: u64,
    /// What it takes from the allowance, in the plan's unit.
    pub units: u64,
    /// Its registration asks for the allowance to be topped up.
    pub top_up: Option<TopUpAsk>,
}

/// A refused call: the error, and the counters for the limit headers when the object answered.
pub type Refused = (ApiError, Option<Snapshot>);

/// What a call reserves before the object decides.
pub struct Reservation {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// The reservation for `request` on its first route.
pub fn reservation(request: &ChatRequest, route: &Route) -> Reservation {
    let input = estimate_input_tokens(request);
    let input = route
        .model
        .context_window
        .map_or(input, |window| input.min(window));
    // A thinking budget needs room for an answer after it: a client that set a budget (or an
    // effort) but no limit gets the budget plus the smallest thinking budget on top.
    let default = request
        .thinking
        .as_ref()
        .and_then(|thinking| thinking.budget_tokens())
        .map_or(route.model.default_max_tokens, |budget| {
            route
                .model
                .default_max_tokens
                .max(budget.saturating_add(THINKING_ANSWER_ROOM_TOKENS))
        });
    let output = request.max_output_tokens.unwrap_or(default);
    let output = route
        .model
        .max_output_tokens
        .map_or(output, |max| output.min(max))
        .max(route.provider.format.min_output_tokens());
    Reservation {
        input_tokens: input,
        output_tokens: output,
    }
}

/// The worst-case rates of a call on `model` with a prompt of up to `input_tokens`, over every
/// route that may serve it, with the plan's multiplier; `None` when a route has no price.
pub fn tariff(
    config: &Config,
    plan: &Plan,
    model: &str,
    input_tokens: u64,
    now_ms: u64,
) -> Option<Tariff> {
    Tariff::worst_case(
        config
            .routes(model)
            .map(|route| route.model.prices.at(now_ms)),
        input_tokens,
        plan.multiplier_ppm,
    )
}

/// Asks the key's Durable Object to admit the call. A lowered cap is reported in `warnings`.
#[allow(clippy::too_many_arguments)]
pub async fn admit(
    env: &worker::Env,
    config: &Config,
    plan: &Plan,
    record: &KeyRecord,
    request: &ChatRequest,
    route: &Route<'_>,
    client: WireFormat,
    request_id: &str,
    warnings: &mut Warnings,
) -> Result<Admitted, Refused> {
    let wanted = reservation(request, route);
    let now_ms = js_sys::Date::now() as u64;
    let asked = AdmitRequest {
        id: request_id.to_owned(),
        model: request.model.clone(),
        input_tokens: wanted.input_tokens,
        output_tokens: wanted.output_tokens,
        min_output_tokens: plan.min_output_tokens,
        instant: false,
        tariff: tariff(config, plan, &request.model, wanted.input_tokens, now_ms),
    };
    // What the call takes from an allowance: its reservation in the plan's unit.
    let units = asked.units(plan.unit);
    let asked_tariff = asked.tariff;
    let tokens = units.unwrap_or(u64::MAX);
    let allowances = config.gateway.allowances && units.is_some();
    // Far from its limits, the key's slice here admits the call without asking.
    if allowances && let Some(local) = allowance::try_local(&record.id, tokens, now_ms) {
        return Ok(Admitted {
            snapshot: local.snapshot,
            input_tokens: wanted.input_tokens,
            output_tokens: wanted.output_tokens,
            allowance: Some(AllowanceUse {
                id: local.allowance,
                register: Some(asked),
                admitted_ms: now_ms,
                units: tokens,
                top_up: local.top_up,
            }),
        });
    }
    let isolate = allowances.then(|| allowance::asking(&record.id, request_id, tokens, now_ms));
    let decided = decide(env, record, asked, isolate).await;
    if allowances {
        let now_ms = js_sys::Date::now() as u64;
        allowance::answered(
            &record.id,
            request_id,
            tokens,
            decided.as_ref().ok(),
            now_ms,
        );
    }
    let decision = decided?;
    if let Some(refusal) = decision.refusal {
        let needed_cost = asked_tariff.map(|t| {
            t.cost(
                wanted.input_tokens,
                plan.min_output_tokens.min(wanted.output_tokens),
            )
        });
        let error = refusal_error(refusal, &decision, config, &wanted, plan, needed_cost)
            .with_key(&record.id, &request.model);
        return Err((error, Some(decision.snapshot)));
    }
    if decision.clamped {
        warnings.clamped(format!(
            "{}({}->{},quota)",
            client.output_limit_field(),
            wanted.output_tokens,
            decision.output_tokens
        ));
    }
    Ok(Admitted {
        allowance: decision.from_allowance.clone().map(|id| AllowanceUse {
            id,
            register: None,
            admitted_ms: now_ms,
            units: tokens,
            top_up: None,
        }),
        snapshot: decision.snapshot,
        input_tokens: wanted.input_tokens,
        output_tokens: decision.output_tokens,
    })
}

/// A request that only counts toward the requests per minute (token counting).
pub async fn admit_instant(
    env: &worker::Env,
    config: &Config,
    record: &KeyRecord,
    model: &str,
    request_id: &str,
) -> Result<Snapshot, Refused> {
    let decision = decide(
        env,
        record,
        AdmitRequest {
            id: request_id.to_owned(),
            model: model.to_owned(),
            input_tokens: 0,
            output_tokens: 0,
            min_output_tokens: 0,
            instant: true,
            tariff: None,
        },
        None,
    )
    .await?;
    match decision.refusal {
        None => Ok(decision.snapshot),
        Some(refusal) => {
            let nothing = Reservation {
                input_tokens: 0,
                output_tokens: 0,
            };
            let plan = config.plan(&decision.snapshot.plan);
            let error = match plan {
                Some(plan) => refusal_error(refusal, &decision, config, &nothing, plan, None)
                    .with_key(&record.id, model),
                None => status_error(KeyStatus::Disabled),
            };
            Err((error, Some(decision.snapshot)))
        }
    }
}

async fn decide(
    env: &worker::Env,
    record: &KeyRecord,
    request: AdmitRequest,
    isolate: Option<Isolate>,
) -> Result<Decision, Refused> {
    let meter = MeterClient::for_key(env, &record.id).map_err(|e| (meter_unavailable(e), None))?;
    meter
        .admit(&AdmitBody {
            request,
            plan_hint: record.plan.clone(),
            isolate,
        })
        .await
        .map_err(|e| (meter_unavailable(e), None))
}

/// The key's object could not be reached or is overloaded: 503, and no call goes out unmetered.
pub fn meter_unavailable(error: worker::Error) -> ApiError {
    worker::console_error!("key meter unavailable: {error}");
    ApiError::new(
        ErrorKind::Overloaded,
        "The gateway could not reach the usage meter for your key; retry in a few seconds.",
    )
    .with_retry_after(2)
}

/// A refusal's error, with the key and model to name in it filled in by
/// [`Pending::with_key`].
struct Pending {
    error: ApiError,
}

impl Pending {
    fn with_key(self, key_id: &str, model: &str) -> ApiError {
        let mut error = self.error;
        error.message = error
            .message
            .replace("{key}", key_id)
            .replace("{model}", model);
        error
    }
}

impl From<ApiError> for Pending {
    fn from(error: ApiError) -> Pending {
        Pending { error }
    }
}

fn refusal_error(
    refusal: Refusal,
    decision: &Decision,
    config: &Config,
    wanted: &Reservation,
    plan: &Plan,
    needed_cost: Option<u64>,
) -> Pending {
    refusal_api_error(refusal, decision, config, wanted, plan, needed_cost).into()
}

/// The refusals of money budgets: what ran out, how much is left, and when it resets or how
/// to top it up.
fn money_error(refusal: Refusal, snapshot: &Snapshot, needed: &str) -> Option<ApiError> {
    let credits = &snapshot.credits;
    let held = snapshot.in_flight_cost;
    let held_text = if held > 0 {
        format!(" ({} more is held by calls in flight)", usd_text(held))
    } else {
        String::new()
    };
    let message = match refusal {
        Refusal::BalanceExhausted => {
            let balance = credits.balance.unwrap_or_default();
            format!(
                "Your prepaid balance has {} left{held_text}, less than this call may cost ({needed}). A balance does not reset: ask the gateway's operator to top it up (POST /admin/keys/{{key}}/balance with {{\"add_usd\": 5}}), then retry.",
                usd_text(balance.remaining_pico()),
            )
        }
        Refusal::DailySpendLimit | Refusal::MonthlySpendLimit => {
            let (name, limit, spend) = if refusal == Refusal::DailySpendLimit {
                ("daily", credits.daily_limit_pico, &credits.day)
            } else {
                ("monthly", credits.monthly_limit_pico, &credits.month)
            };
            format!(
                "Your key's {name} spend limit of {} is reached: {} spent{held_text}, and this call may cost {needed}. It resets at {}; wait until then or ask the gateway's operator to raise the limit.",
                usd_text(limit.unwrap_or(0)),
                usd_text(spend.spent_pico),
                rfc3339(spend.end_ms)
            )
        }
        _ => return None,
    };
    Some(ApiError::new(ErrorKind::QuotaExhausted, message))
}

fn refusal_api_error(
    refusal: Refusal,
    decision: &Decision,
    config: &Config,
    wanted: &Reservation,
    plan: &Plan,
    needed_cost: Option<u64>,
) -> ApiError {
    let snapshot = &decision.snapshot;
    let limits = &snapshot.limits;
    let window = config
        .plan(&snapshot.plan)
        .map_or_else(|| format!("{} ms", limits.window_ms), |p| p.window.clone());
    let retry = decision.retry_after_s.unwrap_or(1);
    let needed_tokens = wanted
        .input_tokens
        .saturating_add(plan.min_output_tokens.min(wanted.output_tokens));
    let needed_usd = format!(
        "up to {}: its prompt and a useful answer at the model's prices",
        usd_text(needed_cost.unwrap_or(0))
    );
    if let Some(error) = money_error(refusal, snapshot, &needed_usd) {
        let retry = decision.retry_after_s;
        return match retry {
            Some(seconds) => error.with_retry_after(seconds),
            None => error.final_answer(),
        };
    }
    // Figures in the plan's unit.
    let usd = limits.unit == Unit::Usd;
    let amount = |value: u64| {
        if usd {
            usd_text(value)
        } else {
            format!("{value} tokens")
        }
    };
    let needed = if usd {
        needed_usd.clone()
    } else {
        format!("about {needed_tokens}: its prompt and a useful answer")
    };
    let left = decision.output_tokens;
    let error = match refusal {
        Refusal::NoPrice => {
            return ApiError::new(
                ErrorKind::PermissionDenied,
                "The model `{model}` has no price on this gateway, and your key is charged in dollars (its plan counts dollars, or it has a prepaid balance or a spend limit). Use another model, or ask the gateway's operator to price this one.",
            )
            .with_param("model");
        }
        Refusal::BalanceExhausted | Refusal::DailySpendLimit | Refusal::MonthlySpendLimit => {
            return ApiError::new(ErrorKind::QuotaExhausted, "Your key's spend is exhausted.");
        }
        Refusal::Disabled => return status_error(KeyStatus::Disabled),
        Refusal::Revoked => return status_error(KeyStatus::Revoked),
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
        Refusal::LargerThanWindow => {
            return ApiError::new(
                ErrorKind::QuotaExhausted,
                format!(
                    "This call needs {needed}, more than your plan's whole quota of {} per {window} window. Shorten the prompt or upgrade your plan.",
                    amount(limits.window_tokens)
                ),
            )
            .final_answer();
        }
        Refusal::QuotaExhausted => ApiError::new(
            ErrorKind::QuotaExhausted,
            format!(
                "Your plan's quota of {} per {window} window has {} left, less than this call needs ({needed}). It resets at {}; wait until then or upgrade your plan.",
                amount(limits.window_tokens),
                amount(left),
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
        Refusal::LargerThanMinute => {
            return ApiError::new(
                ErrorKind::RateLimited,
                format!(
                    "Request too large: this call needs {needed}, more than your plan's {} per minute. Shorten the prompt or lower the output limit.",
                    amount(limits.tpm)
                ),
            )
            .with_retry_after(60)
            .final_answer();
        }
        Refusal::TokensPerMinute => ApiError::new(
            ErrorKind::RateLimited,
            format!(
                "Rate limit reached: your plan allows {} per minute and this call needs {needed}. Retry in {retry} s.",
                amount(limits.tpm)
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

pub fn status_error(status: KeyStatus) -> ApiError {
    match auth::check_status(status) {
        Err(error) => error,
        Ok(()) => ApiError::new(ErrorKind::Authentication, "This API key cannot be used."),
    }
}
