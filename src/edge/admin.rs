//! The operator's API: keys and their usage (`/admin/...`, `Authorization: Bearer
//! <ADMIN_TOKEN>`).
//!
//! Changes go to the key's Durable Object first (it is authoritative, so they apply to the very
//! next request) and then to KV. Errors use the OpenAI error shape.
//!
//! A key's policy (`expires_at`, `models`, `allowed_ips`) and `metadata` are set at creation and
//! changed with `PATCH`: a field left out stays as it is, `null` clears it. They live only on
//! the KV record (the hot path's one read), so a change reaches other isolates when their cache
//! of the record and KV's own edge cache have both expired (see README).

use serde::Deserialize;
use serde_json::{Value, json};
use worker::{Env, Method, Request, Response, Result};

use super::http;
use super::keystore::KeyStore;
use super::meter_client::{CreditsBody, History, IdentityBody, MeterClient};
use super::random;
use super::state;
use super::usage::usage_json;
use crate::config::Config;
use crate::config::glob::glob_match;
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::keys::{self, KeyRecord, KeyStatus};
use crate::metering::cost::Unit;
use crate::policy::{self, Metadata};
use crate::pricing::{PICO_PER_USD, parse_rate, usd_string};
use crate::time::rfc3339;

/// Picodollars as the API writes dollars: an exact decimal string.
fn usd(pico: u64) -> Value {
    Value::String(usd_string(u128::from(pico)))
}

/// Dollars from a request body as picodollars; `param` names the field in the error.
fn pico_of(dollars: f64, param: &str) -> std::result::Result<u64, ApiError> {
    parse_rate(dollars.abs(), PICO_PER_USD).ok_or_else(|| {
        ApiError::invalid(format!(
            "`{param}` must be a number of dollars with at most 12 decimals"
        ))
        .with_param(param)
    })
}

pub async fn handle(mut req: Request, env: &Env, path: &str, request_id: &str) -> Result<Response> {
    // The request log's reports (`/admin/log`, `/admin/usage`, as JSON or CSV).
    if let Some(response) = super::log_reports::admin(&req, env, path, request_id).await {
        return response;
    }
    let answer = route(&mut req, env, path).await;
    match answer {
        Ok((status, body)) => http::json(status, &body),
        // Not a format's endpoint: errors in the first registered format's shape (OpenAI's).
        Err(error) => http::error(WireFormat::ALL[0], &error, request_id),
    }
}

type Answer = std::result::Result<(u16, Value), ApiError>;

async fn route(req: &mut Request, env: &Env, path: &str) -> Answer {
    authorize(req, env)?;
    let config = state::config(env).map_err(|errors| {
        ApiError::new(
            ErrorKind::Internal,
            format!("the gateway's configuration is invalid: {errors}"),
        )
    })?;
    let config = config.as_ref();
    let store = KeyStore::new(env).map_err(storage)?;
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(2).collect();
    match (req.method(), segments.as_slice()) {
        (Method::Post, ["keys"]) => create(req, config, &store).await,
        (Method::Get, ["keys"]) => list(req, &store).await,
        (Method::Get, ["keys", id]) => show(env, config, &store, id).await,
        (Method::Patch, ["keys", id]) => update(req, env, config, &store, id).await,
        (Method::Delete, ["keys", id]) => revoke(env, &store, id).await,
        (Method::Get, ["keys", id, "usage"]) => usage(env, &store, id).await,
        (Method::Post, ["keys", id, "balance"]) => balance(req, env, &store, id).await,
        (Method::Get, ["plans"]) => Ok((200, plans(config))),
        (_, ["keys"] | ["keys", _] | ["keys", _, "usage" | "balance"]) => Err(ApiError::new(
            ErrorKind::MethodNotAllowed,
            "method not allowed on this admin path",
        )),
        _ => Err(ApiError::new(ErrorKind::NotFound, "unknown admin path")),
    }
}

/// The config's plans and models, for the operator's dashboard (what a key can be moved to).
fn plans(config: &Config) -> Value {
    let plans: Vec<Value> = config
        .plans
        .iter()
        .map(|p| {
            json!({
                "id": p.id, "rpm": p.rpm, "tpm": p.tpm, "concurrency": p.concurrency,
                "window": p.window, "window_tokens": p.window_tokens, "models": p.models,
                "unit": p.unit,
                "window_usd": (p.unit == Unit::Usd).then(|| usd(p.window_tokens)),
                "usd_per_minute": (p.unit == Unit::Usd && p.tpm != u64::MAX).then(|| usd(p.tpm)),
                "multiplier": usd_string(u128::from(p.multiplier_ppm) * 1_000_000),
            })
        })
        .collect();
    let models: Vec<&str> = config
        .public_models()
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    json!({ "data": plans, "models": models })
}

/// Whether `req` carries the admin token.
pub fn is_admin(req: &Request, env: &Env) -> bool {
    authorize(req, env).is_ok()
}

pub fn authorize(req: &Request, env: &Env) -> std::result::Result<(), ApiError> {
    let Some(expected) = state::binding_text(env, "ADMIN_TOKEN").filter(|t| !t.is_empty()) else {
        return Err(ApiError::new(
            ErrorKind::PermissionDenied,
            "The admin API is disabled until the ADMIN_TOKEN secret is set.",
        ));
    };
    let header = req.headers().get("authorization").ok().flatten();
    let presented = keys::presented_key(header.as_deref(), None).unwrap_or_default();
    if keys::secrets_equal(presented, &expected) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::PermissionDenied,
            "Admin calls need `Authorization: Bearer <ADMIN_TOKEN>`.",
        ))
    }
}

fn storage(error: worker::Error) -> ApiError {
    worker::console_error!("admin storage error: {error}");
    ApiError::new(ErrorKind::Internal, "key storage is unavailable; retry")
}

/// A record as the admin API shows it (never the hash). Policy fields are always present,
/// `null` when unset.
fn public(record: &KeyRecord) -> Value {
    json!({
        "id": record.id,
        "name": record.name,
        "plan": record.plan,
        "status": record.status,
        "created_at": record.created_at,
        "expires_at": record.policy.expires_at,
        "models": record.policy.models,
        "allowed_ips": record.policy.allowed_ips,
        "metadata": record.metadata,
    })
}

/// A change to a key's policy and metadata: `None` leaves a field as it is, `Some(None)` clears
/// it.
struct PolicyChange {
    expires_at: Option<Option<String>>,
    models: Option<Option<Vec<String>>>,
    allowed_ips: Option<Option<Vec<String>>>,
    metadata: Option<Option<Metadata>>,
}

/// Validates `change` and writes it to `record`, whose `plan` is already the one the key will
/// have. The allowlist is checked against that plan whenever either changes, so every pattern
/// a key holds matches a model of its plan.
fn apply_policy(
    record: &mut KeyRecord,
    change: PolicyChange,
    plan_changed: bool,
    config: &Config,
    now_ms: u64,
) -> std::result::Result<(), ApiError> {
    if let Some(expires_at) = change.expires_at {
        record.policy.expires_at = expires_at
            .map(|text| policy::validate_expires_at(&text, now_ms))
            .transpose()?;
    }
    let models = match change.models {
        Some(models) => Some(models),
        None if plan_changed => Some(record.policy.models.take()),
        None => None,
    };
    if let Some(models) = models {
        let plan = config.plan(&record.plan);
        let public = config.public_models();
        let plan_has_match = |pattern: &str| {
            public
                .iter()
                .any(|m| plan.is_some_and(|p| p.allows(&m.id)) && glob_match(pattern, &m.id))
        };
        record.policy.models = models
            .map(|patterns| policy::validate_models(&patterns, plan_has_match))
            .transpose()?;
    }
    if let Some(rules) = change.allowed_ips {
        record.policy.allowed_ips = rules
            .map(|rules| policy::validate_ip_rules(&rules))
            .transpose()?;
    }
    if let Some(metadata) = change.metadata {
        record.metadata = metadata
            .map(|metadata| policy::validate_metadata(&metadata))
            .transpose()?
            .unwrap_or_default();
    }
    Ok(())
}

/// For `PATCH` fields where `null` (clear) differs from a missing field (keep).
fn present<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

async fn read_json<T: for<'de> Deserialize<'de>>(
    req: &mut Request,
) -> std::result::Result<T, ApiError> {
    let bytes = req
        .bytes()
        .await
        .map_err(|e| ApiError::invalid(format!("the body could not be read: {e}")))?;
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        ApiError::invalid(format!("invalid body: {}", e.inner())).with_param(path)
    })
}

fn known_plan(config: &Config, plan: &str) -> std::result::Result<(), ApiError> {
    if config.plan(plan).is_some() {
        return Ok(());
    }
    let plans: Vec<&str> = config.plans.iter().map(|p| p.id.as_str()).collect();
    Err(ApiError::invalid(format!(
        "unknown plan `{plan}`; the config defines {}",
        plans.join(", ")
    ))
    .with_param("plan"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    plan: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    models: Option<Vec<String>>,
    #[serde(default)]
    allowed_ips: Option<Vec<String>>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

async fn create(req: &mut Request, config: &Config, store: &KeyStore) -> Answer {
    let body: CreateBody = read_json(req).await?;
    known_plan(config, &body.plan)?;
    let now_ms = worker::Date::now().as_millis();
    let (key, id) = random::with_rng(|rng| (keys::generate_key(rng), keys::generate_id(rng)))?;
    let mut record = KeyRecord {
        id,
        name: body.name,
        plan: body.plan,
        status: KeyStatus::Active,
        created_at: rfc3339(now_ms),
        hash: keys::hash_key(&key),
        policy: policy::KeyPolicy::default(),
        metadata: Metadata::new(),
    };
    let change = PolicyChange {
        expires_at: body.expires_at.map(Some),
        models: body.models.map(Some),
        allowed_ips: body.allowed_ips.map(Some),
        metadata: body.metadata.map(Some),
    };
    apply_policy(&mut record, change, false, config, now_ms)?;
    // The key's Durable Object is not touched here: an object is placed near the first request
    // that reaches it, and that should be the key holder's first call, not the operator's
    // admin session on another continent. Until then the object has no identity of its own
    // and takes the plan each call brings from the key record (status active).
    store.save(&record).await.map_err(storage)?;
    let mut shown = public(&record);
    if let Some(object) = shown.as_object_mut() {
        object.insert("key".into(), Value::String(key));
    }
    Ok((201, shown))
}

/// Every key, or those whose id, name, plan or a metadata value contains `?q=` (any case) and
/// whose status is `?status=`.
async fn list(req: &Request, store: &KeyStore) -> Answer {
    let records = store.list().await.map_err(storage)?;
    let params = req
        .url()
        .map(|url| crate::request_log::query::params(url.query().unwrap_or_default()))
        .unwrap_or_default();
    let wanted = |name: &str| {
        params
            .get(name)
            .and_then(Value::as_str)
            .map(|v| v.trim().to_lowercase())
            .filter(|v| !v.is_empty())
    };
    let (q, status) = (wanted("q"), wanted("status"));
    let shown: Vec<Value> = records
        .iter()
        .filter(|r| {
            q.as_deref().is_none_or(|q| {
                [&r.id, &r.name, &r.plan]
                    .into_iter()
                    .chain(r.metadata.values())
                    .any(|field| field.to_lowercase().contains(q))
            })
        })
        .filter(|r| status.as_deref().is_none_or(|s| r.status.as_str() == s))
        .map(public)
        .collect();
    Ok((200, json!({ "data": shown })))
}

async fn find(store: &KeyStore, id: &str) -> std::result::Result<KeyRecord, ApiError> {
    store
        .by_id(id)
        .await
        .map_err(storage)?
        .ok_or_else(|| ApiError::new(ErrorKind::NotFound, format!("no key has id `{id}`")))
}

async fn show(env: &Env, config: &Config, store: &KeyStore, id: &str) -> Answer {
    let record = find(store, id).await?;
    let mut shown = public(&record);
    if state::metering_enabled(env) {
        let meter = MeterClient::for_key(env, &record.id).map_err(storage)?;
        let usage = meter.usage(&record.plan).await.map_err(storage)?;
        if let Some(object) = shown.as_object_mut() {
            // The object is authoritative for status and plan.
            object.insert("status".into(), json!(usage.status));
            object.insert("plan".into(), json!(usage.snapshot.plan));
            object.insert("usage".into(), usage_json(config, &usage.snapshot));
        }
    }
    Ok((200, shown))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    plan: Option<String>,
    name: Option<String>,
    status: Option<KeyStatus>,
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    models: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    allowed_ips: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    metadata: Option<Option<Metadata>>,
    /// The key's spend limits (kept by its Durable Object, not in KV).
    spend_limit: Option<SpendLimitBody>,
}

/// `{"daily_usd": 2, "monthly_usd": null}`: a number sets a limit, `null` removes it, an
/// absent field leaves it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpendLimitBody {
    #[serde(default, deserialize_with = "present_f64")]
    daily_usd: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present_f64")]
    monthly_usd: Option<Option<f64>>,
}

fn present_f64<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(deserializer).map(Some)
}

/// A limit change in picodollars (a limit must be positive).
fn limit_change(
    value: Option<Option<f64>>,
    param: &str,
) -> std::result::Result<Option<Option<u64>>, ApiError> {
    match value {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(dollars)) if dollars > 0.0 => Ok(Some(Some(pico_of(dollars, param)?))),
        Some(Some(_)) => {
            Err(ApiError::invalid(format!("`{param}` must be greater than 0")).with_param(param))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BalanceBody {
    /// Dollars to add (negative: to take off).
    add_usd: Option<f64>,
    /// The key no longer pays from a balance.
    #[serde(default)]
    remove: bool,
}

/// `POST /admin/keys/{id}/balance`: tops up (or removes) the key's prepaid balance.
async fn balance(req: &mut Request, env: &Env, store: &KeyStore, id: &str) -> Answer {
    let body: BalanceBody = read_json(req).await?;
    let record = find(store, id).await?;
    if !state::metering_enabled(env) {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "metering is switched off",
        ));
    }
    if body.add_usd.is_none() && !body.remove {
        return Err(
            ApiError::invalid("give `add_usd` (dollars) or `remove: true`").with_param("add_usd"),
        );
    }
    let add = match body.add_usd {
        None => None,
        Some(dollars) => {
            let pico = i64::try_from(pico_of(dollars, "add_usd")?)
                .map_err(|_| ApiError::invalid("`add_usd` is too large").with_param("add_usd"))?;
            Some(if dollars < 0.0 { -pico } else { pico })
        }
    };
    let credits = MeterClient::for_key(env, &record.id)
        .map_err(storage)?
        .set_credits(&CreditsBody {
            plan: Some(record.plan.clone()),
            add_balance_pico: add,
            remove_balance: body.remove,
            ..CreditsBody::default()
        })
        .await
        .map_err(storage)?;
    Ok((
        200,
        json!({
            "id": record.id,
            "balance": credits.balance.map(|b| json!({
                "added_usd": usd(b.added_pico),
                "spent_usd": usd(b.spent_pico),
                "remaining_usd": usd(b.remaining_pico()),
            })),
        }),
    ))
}

async fn update(
    req: &mut Request,
    env: &Env,
    config: &Config,
    store: &KeyStore,
    id: &str,
) -> Answer {
    let body: UpdateBody = read_json(req).await?;
    let mut record = find(store, id).await?;
    if let Some(plan) = &body.plan {
        known_plan(config, plan)?;
    }
    let limits = match &body.spend_limit {
        Some(limits) => {
            if !state::metering_enabled(env) {
                return Err(ApiError::new(
                    ErrorKind::NotFound,
                    "metering is switched off",
                ));
            }
            Some(CreditsBody {
                daily_limit_pico: limit_change(limits.daily_usd, "spend_limit.daily_usd")?,
                monthly_limit_pico: limit_change(limits.monthly_usd, "spend_limit.monthly_usd")?,
                ..CreditsBody::default()
            })
        }
        None => None,
    };
    if record.status == KeyStatus::Revoked && body.status.is_some_and(|s| s != KeyStatus::Revoked) {
        return Err(
            ApiError::invalid("a revoked key cannot be re-enabled; create a new key")
                .with_param("status"),
        );
    }
    let plan_changed = body.plan.as_ref().is_some_and(|plan| *plan != record.plan);
    if let Some(plan) = body.plan {
        record.plan = plan;
    }
    let change = PolicyChange {
        expires_at: body.expires_at,
        models: body.models,
        allowed_ips: body.allowed_ips,
        metadata: body.metadata,
    };
    apply_policy(
        &mut record,
        change,
        plan_changed,
        config,
        worker::Date::now().as_millis(),
    )?;
    if let Some(name) = body.name {
        record.name = name;
    }
    if let Some(status) = body.status {
        record.status = status;
    }
    // Everything is validated: the spend limits (kept by the key's object) are written with
    // the record, never on their own before a later field is refused.
    if let Some(mut change) = limits {
        change.plan = Some(record.plan.clone());
        MeterClient::for_key(env, &record.id)
            .map_err(storage)?
            .set_credits(&change)
            .await
            .map_err(storage)?;
    }
    apply(env, store, &record).await?;
    Ok((200, public(&record)))
}

async fn revoke(env: &Env, store: &KeyStore, id: &str) -> Answer {
    let mut record = find(store, id).await?;
    record.status = KeyStatus::Revoked;
    apply(env, store, &record).await?;
    Ok((200, public(&record)))
}

/// Writes a changed record: the Durable Object first, then KV, then this isolate's cache.
async fn apply(
    env: &Env,
    store: &KeyStore,
    record: &KeyRecord,
) -> std::result::Result<(), ApiError> {
    if state::metering_enabled(env) {
        MeterClient::for_key(env, &record.id)
            .map_err(storage)?
            .set_identity(&IdentityBody {
                status: Some(record.status),
                plan: Some(record.plan.clone()),
            })
            .await
            .map_err(storage)?;
    }
    store.save(record).await.map_err(storage)?;
    state::forget_key(&record.hash);
    Ok(())
}

async fn usage(env: &Env, store: &KeyStore, id: &str) -> Answer {
    let record = find(store, id).await?;
    if !state::metering_enabled(env) {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "metering is switched off",
        ));
    }
    let history: History = MeterClient::for_key(env, &record.id)
        .map_err(storage)?
        .history()
        .await
        .map_err(storage)?;
    let models = |list: &[super::meter_client::ModelUsage]| -> Value {
        let mut map = serde_json::Map::new();
        for m in list {
            map.insert(
                m.model.clone(),
                json!({
                    "input_tokens": m.input_tokens,
                    "output_tokens": m.output_tokens,
                    "total_tokens": m.input_tokens + m.output_tokens,
                    "requests": m.requests,
                    "cost_usd": usd(m.cost_pico),
                }),
            );
        }
        Value::Object(map)
    };
    let windows: Vec<Value> = history
        .windows
        .iter()
        .map(|w| {
            json!({
                "started_at": rfc3339(w.start_ms),
                "resets_at": rfc3339(w.end_ms),
                "used_tokens": w.used_tokens,
                "used_usd": usd(w.used_cost_pico),
                "models": models(&w.models),
            })
        })
        .collect();
    let days: Vec<Value> = history
        .days
        .iter()
        .map(|d| json!({ "date": d.day, "models": models(&d.models) }))
        .collect();
    Ok((
        200,
        json!({ "id": record.id, "plan": record.plan, "windows": windows, "days": days }),
    ))
}
