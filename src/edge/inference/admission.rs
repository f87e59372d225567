//! Admission: the reservation asked of the key's Durable Object before the upstream call, and
//! its refusals as errors in the product's taxonomy.

use crate::canonical::ChatRequest;
use crate::config::{Config, Route};
use crate::edge::auth;
use crate::edge::meter_client::{AdmitBody, MeterClient};
use crate::error::{ApiError, ErrorKind};
use crate::keys::{KeyRecord, KeyStatus};
use crate::metering::{AdmitRequest, Decision, Refusal, Snapshot};
use crate::time::rfc3339;
use crate::translate::meter::estimate_input_tokens;

/// Asks the key's Durable Object to admit the request. A refusal comes with the counters for
/// the limit headers.
pub async fn admit(
    env: &worker::Env,
    config: &Config,
    record: &KeyRecord,
    request: &ChatRequest,
    routes: &[Route<'_>],
    request_id: &str,
) -> Result<Snapshot, (ApiError, Option<Snapshot>)> {
    let estimate_tokens = routes
        .first()
        .map_or(0, |route| estimate_tokens(request, route));
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

fn refusal_error(refusal: Refusal, decision: &Decision, config: &Config) -> ApiError {
    let snapshot = &decision.snapshot;
    let limits = &snapshot.limits;
    let window = config
        .plan(&snapshot.plan)
        .map_or_else(|| format!("{} ms", limits.window_ms), |p| p.window.clone());
    let retry = decision.retry_after_s.unwrap_or(1);
    let error = match refusal {
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

fn status_error(status: KeyStatus) -> ApiError {
    match auth::check_status(status) {
        Err(error) => error,
        Ok(()) => ApiError::new(ErrorKind::Authentication, "This API key cannot be used."),
    }
}
