//! Who is calling: the presented `toc-` key, looked up by its hash, and whether its status and
//! its policy (expiry, client IP ranges; see `crate::policy`) let it call now. Every keyed
//! endpoint authenticates here, so every one enforces them. The model allowlist is checked where
//! the model is known (inference, counts, model listings).

use std::rc::Rc;

use worker::{Env, Request};

use super::http;
use super::inference::admission::meter_unavailable;
use super::keystore::KeyStore;
use super::meter_client::MeterClient;
use super::state;
use crate::config::Config;
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::keys::{self, KeyRecord, KeyStatus};
use crate::metering::Snapshot;

/// The header Cloudflare sets to the address of the client that connected to it (a value the
/// client sent is replaced). Local `wrangler dev` sets it to the socket's peer address unless
/// the request already carries one.
const CLIENT_IP_HEADER: &str = "cf-connecting-ip";

const HOW_TO_AUTHENTICATE: &str =
    "send your key as `Authorization: Bearer toc-...` or as `x-api-key: toc-...`";

/// The caller's key record, or a 401 (unknown, inactive or expired key) or 403 (a client
/// address outside the key's ranges) saying what is wrong. The key is where `format` looks for
/// it (every format takes `Authorization: Bearer` and `x-api-key`).
pub async fn authenticate(
    req: &Request,
    env: &Env,
    format: WireFormat,
    now_ms: u64,
) -> Result<KeyRecord, ApiError> {
    let presented = http::with_incoming(req, |incoming| format.spec().presented_key(incoming));
    let Some(key) = presented else {
        return Err(ApiError::new(
            ErrorKind::Authentication,
            format!("No API key was sent: {HOW_TO_AUTHENTICATE}."),
        ));
    };
    let key = key.as_str();
    let invalid = || {
        ApiError::new(
            ErrorKind::Authentication,
            "Invalid API key. Check the key you were given (it starts with `toc-`) or ask your gateway operator for a new one.",
        )
    };
    if !keys::is_well_formed(key) {
        return Err(invalid());
    }
    let hash = keys::hash_key(key);
    let record = match state::cached_key(&hash, now_ms) {
        Some(record) => record,
        None => {
            let store = KeyStore::new(env).map_err(internal)?;
            let record = store
                .by_hash(&hash)
                .await
                .map_err(internal)?
                .ok_or_else(invalid)?;
            state::cache_key(&record, now_ms);
            record
        }
    };
    check_status(record.status)?;
    record.policy.check_expiry(now_ms)?;
    let client_ip = req.headers().get(CLIENT_IP_HEADER).ok().flatten();
    record.policy.check_client_ip(client_ip.as_deref())?;
    Ok(record)
}

/// The caller of a keyed endpoint of `format`: its key record and the config.
pub async fn caller(
    req: &Request,
    env: &Env,
    format: WireFormat,
) -> Result<(KeyRecord, Rc<Config>), ApiError> {
    let config = state::usable_config(env)?;
    let record = authenticate(req, env, format, worker::Date::now().as_millis()).await?;
    Ok((record, config))
}

/// The caller of a keyed endpoint that does not go through admission (models, usage, stored
/// responses), checked against the key's Durable Object: the KV record (and the isolate's
/// cache of it) can lag a revoke or a disable by a minute or more, the object never does. Also
/// returns the object's counters for the limit headers. `None` only when metering is switched
/// off (benchmarks).
pub async fn verified_caller(
    req: &Request,
    env: &Env,
    format: WireFormat,
) -> Result<(KeyRecord, Rc<Config>, Option<Snapshot>), ApiError> {
    let (record, config) = caller(req, env, format).await?;
    if !state::metering_enabled(env) {
        return Ok((record, config, None));
    }
    let usage = match MeterClient::for_key(env, &record.id) {
        Ok(meter) => meter.usage(&record.plan).await,
        Err(e) => Err(e),
    }
    .map_err(meter_unavailable)?;
    check_status(usage.status)?;
    Ok((record, config, Some(usage.snapshot)))
}

/// Refuses keys that are not active.
pub fn check_status(status: KeyStatus) -> Result<(), ApiError> {
    match status {
        KeyStatus::Active => Ok(()),
        KeyStatus::Disabled => Err(ApiError::new(
            ErrorKind::Authentication,
            "This API key is disabled. Ask your gateway operator to re-enable it.",
        )),
        KeyStatus::Revoked => Err(ApiError::new(
            ErrorKind::Authentication,
            "This API key has been revoked. Ask your gateway operator for a new key.",
        )),
    }
}

/// A storage binding (KV, a Durable Object) that failed: transient as far as the caller can
/// tell, so 503 with `Retry-After`.
pub fn internal(error: worker::Error) -> ApiError {
    worker::console_error!("storage error: {error}");
    ApiError::new(
        ErrorKind::Overloaded,
        "The gateway could not reach its storage; retry in a few seconds.",
    )
    .with_retry_after(2)
}
