//! The request log at the edge: each call's facts gathered while it runs, one record handed to
//! a Queue when its outcome is final (off the hot path: from the settlement task, after the
//! response), and the Queue's consumer writing records and their rollups into D1.
//!
//! | step | where |
//! |---|---|
//! | facts: format, model, route, error, first content, warnings | [`CallFacts`], shared by the call's pipeline, attempts and settlement |
//! | the record, with its cost | [`record`], called once by `settlement::Settlement::finish` |
//! | the queue | `REQUEST_LOG` (a JSON string per call) |
//! | D1 | [`consume`]: each record inserted once (by request id), added to its day's rollup once, old rows pruned |
//!
//! The log is the operator's view, not the meter: a call whose worker dies before settling is
//! charged by the key's Durable Object (its lease) but not logged, and a lost queue message
//! loses a row, never a charge. Calls refused before admission (bad key, limits) are not
//! logged: they cost nothing and are answered before any call state exists.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::JsValue;
use worker::{Context, D1Database, D1PreparedStatement, Env, MessageBatch, event};

use super::state;
use crate::canonical::ChatRequest;
use crate::config::Config;
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::request_log::query::{Param, Sql};
use crate::request_log::{CallEnd, LogRecord};
use crate::time::utc_date;
use crate::translate::{Billed, Meter, Warnings};

pub const QUEUE_BINDING: &str = "REQUEST_LOG";
pub const DB_BINDING: &str = "LOG_DB";

/// How often an isolate deletes rows past their retention.
const PRUNE_EVERY_MS: u64 = 3_600_000;

thread_local! {
    static PRUNED_MS: Cell<u64> = const { Cell::new(0) };
}

/// What the record needs beyond the settlement's figures, gathered while the call runs.
#[derive(Debug, Default)]
pub struct CallFacts {
    client_format: &'static str,
    model: String,
    stream: bool,
    arrived_ms: u64,
    provider: Option<String>,
    upstream_model: Option<String>,
    /// An upstream's answer started: later failed attempts no longer name the route.
    served: bool,
    error: Option<ApiError>,
    first_content_ms: Option<u64>,
    warnings: Option<String>,
}

pub type SharedFacts = Rc<RefCell<CallFacts>>;

/// The facts of a call about to be admitted; `None` when the log is off or unbound.
pub fn start(
    env: &Env,
    config: &Config,
    client: WireFormat,
    request: &ChatRequest,
    arrived_ms: u64,
    warnings: &Warnings,
) -> Option<SharedFacts> {
    if !config.log.enabled || env.queue(QUEUE_BINDING).is_err() {
        return None;
    }
    Some(Rc::new(RefCell::new(CallFacts {
        client_format: client.config_name(),
        model: request.model.clone(),
        stream: request.stream,
        arrived_ms,
        warnings: warnings.header_value(),
        ..CallFacts::default()
    })))
}

/// An attempt went to `provider` for `upstream_model`; `served` when its answer started.
pub fn tried(facts: Option<&SharedFacts>, provider: &str, upstream_model: &str, served: bool) {
    let Some(mut facts) = facts.and_then(|f| f.try_borrow_mut().ok()) else {
        return;
    };
    if facts.served && !served {
        return;
    }
    facts.provider = Some(provider.to_owned());
    facts.upstream_model = Some(upstream_model.to_owned());
    facts.served |= served;
}

/// The provider that served the call (or was tried last), if the log follows the call.
pub fn served_provider(facts: Option<&SharedFacts>) -> Option<String> {
    facts
        .and_then(|f| f.try_borrow().ok())
        .and_then(|facts| facts.provider.clone())
}

/// The call ends with `error` for the client.
pub fn failed(facts: Option<&SharedFacts>, error: &ApiError) {
    if let Some(mut facts) = facts.and_then(|f| f.try_borrow_mut().ok()) {
        facts.error = Some(error.clone());
    }
}

/// The response's warnings, once the upstream's are merged in.
pub fn set_warnings(facts: Option<&SharedFacts>, warnings: &Warnings) {
    if let Some(mut facts) = facts.and_then(|f| f.try_borrow_mut().ok()) {
        facts.warnings = warnings.header_value();
    }
}

/// The answer's first content arrived (cheap to call on every chunk).
pub fn content_seen(facts: Option<&SharedFacts>, meter: &Meter) {
    if meter.output_estimate_tokens == 0 {
        return;
    }
    if let Some(mut facts) = facts.and_then(|f| f.try_borrow_mut().ok())
        && facts.first_content_ms.is_none()
    {
        facts.first_content_ms = Some(worker::Date::now().as_millis());
    }
}

/// How a call ended, as its settlement saw it.
pub struct Ended<'a> {
    pub key_id: &'a str,
    pub request_id: &'a str,
    pub meter: &'a Meter,
    /// No upstream took the call on.
    pub refused: bool,
    /// What the call was charged.
    pub billed: Billed,
    pub ended_ms: u64,
}

/// The hook: the call's record, handed to the queue. Called once per call, when its outcome is
/// final, with what it was charged.
pub async fn record(env: &Env, facts: &SharedFacts, ended: Ended<'_>) {
    let Ended {
        key_id,
        request_id,
        meter,
        refused,
        billed,
        ended_ms,
    } = ended;
    let record = {
        let Ok(facts) = facts.try_borrow() else {
            return;
        };
        // The prices of the entry that served the call, else the model's first priced entry
        // (the demo standing in for a model is priced as the model).
        let config = state::config(env).ok();
        let prices = config.as_ref().and_then(|config| {
            let priced = || {
                config
                    .models
                    .iter()
                    .filter(|m| m.id == facts.model && !m.prices.is_empty())
            };
            priced()
                .find(|m| {
                    config
                        .providers
                        .get(m.provider)
                        .is_some_and(|p| Some(p.id.as_str()) == facts.provider.as_deref())
                })
                .or_else(|| priced().next())
                .map(|m| m.prices.clone())
        });
        LogRecord::new(
            &CallEnd {
                request_id,
                key_id,
                model: &facts.model,
                provider: facts.provider.as_deref(),
                upstream_model: facts.upstream_model.as_deref(),
                client_format: facts.client_format,
                stream: facts.stream,
                arrived_ms: facts.arrived_ms,
                ended_ms,
                first_content_ms: facts.first_content_ms,
                error: facts.error.as_ref(),
                refused,
                finished: meter.finished,
                billed,
                usage: &meter.usage,
                warnings: facts.warnings.as_deref(),
            },
            prices.as_ref(),
        )
    };
    let Ok(json) = serde_json::to_string(&record) else {
        return;
    };
    let sent = match env.queue(QUEUE_BINDING) {
        Ok(queue) => queue.send(json).await,
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        worker::console_warn!("{request_id}: the request log could not take the call: {e}");
    }
}

/// The queue's consumer: writes each record once and adds it to its day's rollup once (a
/// message delivered twice changes nothing the second time), then prunes old rows now and
/// then. A batch D1 refuses is retried by the queue.
#[event(queue)]
pub async fn consume(batch: MessageBatch<String>, env: Env, _ctx: Context) -> worker::Result<()> {
    let db = env.d1(DB_BINDING)?;
    let mut statements = Vec::new();
    for message in batch.iter() {
        let record = match message {
            Ok(message) => serde_json::from_str::<LogRecord>(message.body()).ok(),
            Err(_) => None,
        };
        // A message that is not a record can never be written: it is dropped with the batch's
        // acknowledgement.
        let Some(record) = record else {
            worker::console_warn!("request log: dropped a message that is not a record");
            continue;
        };
        statements.extend(write_statements(&db, &record)?);
    }
    if !statements.is_empty()
        && let Err(e) = db.batch(statements).await
    {
        worker::console_error!(
            "request log: D1 refused a batch (retried; run the migrations in migrations/ if the tables are missing): {e}"
        );
        batch.retry_all();
        return Ok(());
    }
    batch.ack_all();
    prune(&env, &db).await;
    Ok(())
}

/// The statements that write `record` and add it to its rollup, each once.
fn write_statements(db: &D1Database, r: &LogRecord) -> worker::Result<Vec<D1PreparedStatement>> {
    let int = |n: u64| JsValue::from_f64(n as f64);
    let opt_int = |n: Option<u64>| n.map_or(JsValue::NULL, int);
    let opt_text = |t: &Option<String>| t.as_deref().map_or(JsValue::NULL, JsValue::from_str);
    let insert = db
        .prepare(
            "INSERT OR IGNORE INTO requests (id, ts, day, key_id, model, provider, upstream_model, client_format, stream, status, outcome, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, web_search_calls, estimated, cost_pico, latency_ms, ttft_ms, warnings) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
        )
        .bind(&[
            JsValue::from_str(&r.id),
            int(r.ts_ms),
            JsValue::from_str(&utc_date(r.ts_ms)),
            JsValue::from_str(&r.key_id),
            JsValue::from_str(&r.model),
            opt_text(&r.provider),
            opt_text(&r.upstream_model),
            JsValue::from_str(&r.client_format),
            int(u64::from(r.stream)),
            int(u64::from(r.status)),
            JsValue::from_str(&r.outcome),
            int(r.input_tokens),
            int(r.cache_read_tokens),
            int(r.cache_write_tokens),
            int(r.output_tokens),
            int(r.reasoning_tokens),
            int(r.web_search_calls),
            int(u64::from(r.estimated)),
            // As text: SQLite stores it as the exact integer, whatever its size.
            r.cost_pico
                .map_or(JsValue::NULL, |c| JsValue::from_str(&c.to_string())),
            int(r.latency_ms),
            opt_int(r.ttft_ms),
            opt_text(&r.warnings),
        ])?;
    let id = [JsValue::from_str(&r.id)];
    let roll = db
        .prepare(
            "INSERT INTO rollups (day, key_id, model, requests, errors, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, web_search_calls, cost_pico, unpriced)
             SELECT day, key_id, model, 1, outcome != 'ok', input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, web_search_calls, COALESCE(cost_pico, 0), cost_pico IS NULL
             FROM requests WHERE id = ?1 AND rolled = 0
             ON CONFLICT (day, key_id, model) DO UPDATE SET
               requests = requests + excluded.requests, errors = errors + excluded.errors,
               input_tokens = input_tokens + excluded.input_tokens,
               cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
               cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
               output_tokens = output_tokens + excluded.output_tokens,
               reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
               web_search_calls = web_search_calls + excluded.web_search_calls,
               cost_pico = cost_pico + excluded.cost_pico, unpriced = unpriced + excluded.unpriced",
        )
        .bind(&id)?;
    let mark = db
        .prepare("UPDATE requests SET rolled = 1 WHERE id = ?1")
        .bind(&id)?;
    Ok(vec![insert, roll, mark])
}

/// Deletes rows and rollups past their retention, at most once an hour per isolate.
async fn prune(env: &Env, db: &D1Database) {
    let now = worker::Date::now().as_millis();
    if now.saturating_sub(PRUNED_MS.with(Cell::get)) < PRUNE_EVERY_MS {
        return;
    }
    PRUNED_MS.with(|at| at.set(now));
    let Ok(config) = state::config(env) else {
        return;
    };
    let rows_before = now.saturating_sub(config.log.retention_ms);
    let days_before = utc_date(now.saturating_sub(config.log.rollup_retention_ms));
    let statements = [
        db.prepare("DELETE FROM requests WHERE ts < ?1")
            .bind(&[JsValue::from_f64(rows_before as f64)]),
        db.prepare("DELETE FROM rollups WHERE day < ?1")
            .bind(&[JsValue::from_str(&days_before)]),
    ];
    let statements: Vec<D1PreparedStatement> = statements.into_iter().flatten().collect();
    if let Err(e) = db.batch(statements).await {
        worker::console_warn!("request log: pruning failed: {e}");
    }
}

/// Runs a read query and returns its rows as JSON objects.
pub async fn rows(db: &D1Database, sql: &Sql) -> worker::Result<Vec<serde_json::Value>> {
    let params: Vec<JsValue> = sql
        .params
        .iter()
        .map(|p| match p {
            Param::Text(t) => JsValue::from_str(t),
            Param::Int(i) => JsValue::from_f64(*i as f64),
        })
        .collect();
    db.prepare(sql.text.as_str())
        .bind(&params)?
        .all()
        .await?
        .results::<serde_json::Value>()
}
