//! Per-isolate state: the parsed config and the short-lived key cache.
//!
//! Isolates are reused across requests, so anything here lives until the isolate is evicted
//! (or reset after a panic). The config is parsed and validated once per isolate. Key records
//! are cached for at most [`KEY_CACHE_MS`]; the per-key Durable Object stays authoritative for
//! status and plan, so a cached record never lets a revoked key through when metering is on.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use worker::Env;

use crate::config::{Config, ConfigErrors};
use crate::error::{ApiError, ErrorKind};
use crate::keys::KeyRecord;

/// How long a decoded key record may be reused without reading KV again.
pub const KEY_CACHE_MS: u64 = 30_000;
/// Entries kept before the cache is emptied (a bound on memory, not a tuning knob).
const KEY_CACHE_CAPACITY: usize = 10_000;

/// The isolate's config: usable, or every problem found in it.
pub type LoadedConfig = Result<Rc<Config>, Rc<ConfigErrors>>;

thread_local! {
    static CONFIG: RefCell<Option<LoadedConfig>> = const { RefCell::new(None) };
    static KEY_CACHE: RefCell<HashMap<String, (KeyRecord, u64)>> = RefCell::new(HashMap::new());
    static BINDINGS: RefCell<HashMap<String, Option<String>>> = RefCell::new(HashMap::new());
}

/// The config, or the error a caller gets when it is invalid (the details go to the log and
/// `/health/ready`, not to callers).
pub fn usable_config(env: &Env) -> Result<Rc<Config>, ApiError> {
    config(env).map_err(|_| {
        ApiError::new(
            ErrorKind::Internal,
            "The gateway's configuration is invalid; its operator can see why at /health/ready.",
        )
    })
}

/// Whether per-key metering runs. Only benchmarks switch it off (`METERING = "off"`), to
/// measure what admission costs.
pub fn metering_enabled(env: &Env) -> bool {
    binding_text(env, "METERING").as_deref() != Some("off")
}

/// The simulated delay before every call to a key's object (`TOC_DO_DELAY_MS`, benchmarks
/// and tests only; read once per isolate).
pub fn meter_delay_ms(env: &Env) -> u64 {
    thread_local! {
        static DELAY_MS: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
    }
    DELAY_MS.with(|cell| {
        cell.get().unwrap_or_else(|| {
            let ms = binding_text(env, "TOC_DO_DELAY_MS")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            cell.set(Some(ms));
            ms
        })
    })
}

/// A Worker variable or secret as text, if set.
///
/// Read from `env` once per isolate: an isolate's bindings never change (a new secret or
/// variable takes a new deployment, which starts new isolates), and each read crosses into
/// JavaScript (a few are read on every call). The names are the config's and the code's, so
/// the cache stays small.
pub fn binding_text(env: &Env, name: &str) -> Option<String> {
    if let Some(known) = BINDINGS.with(|cache| cache.borrow().get(name).cloned()) {
        return known;
    }
    let value = env
        .secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok();
    BINDINGS.with(|cache| cache.borrow_mut().insert(name.to_owned(), value.clone()));
    value
}

/// The config for this isolate, parsed on first use.
pub fn config(env: &Env) -> LoadedConfig {
    CONFIG.with(|cell| {
        if let Some(loaded) = cell.borrow().as_ref() {
            return loaded.clone();
        }
        let text = binding_text(env, "GATEWAY_CONFIG");
        let loaded = Config::load(text.as_deref()).map(Rc::new).map_err(Rc::new);
        if let Err(errors) = &loaded {
            worker::console_error!("invalid gateway config: {errors}");
        }
        *cell.borrow_mut() = Some(loaded.clone());
        loaded
    })
}

pub fn cached_key(hash: &str, now_ms: u64) -> Option<KeyRecord> {
    KEY_CACHE.with(|cache| {
        cache
            .borrow()
            .get(hash)
            .filter(|(_, expires)| *expires > now_ms)
            .map(|(record, _)| record.clone())
    })
}

pub fn cache_key(record: &KeyRecord, now_ms: u64) {
    KEY_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= KEY_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(
            record.hash.clone(),
            (record.clone(), now_ms.saturating_add(KEY_CACHE_MS)),
        );
    });
}

/// Drops a cached record (after an admin change in this isolate).
pub fn forget_key(hash: &str) {
    KEY_CACHE.with(|cache| {
        cache.borrow_mut().remove(hash);
    });
}
