//! The per-key Durable Object: the authority for one key's status, plan and counters.
//!
//! It keeps a [`Meter`] in memory, loaded from its SQLite storage on first use, and writes
//! every [`Change`] through to storage before answering, so a restart or eviction loses
//! nothing. Each request's read-check-update runs without an `await` in between, so requests
//! are decided one at a time: limits hold exactly however many arrive at once.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::Deserialize;
use worker::{
    DurableObject, Env, Request, Response, Result, SqlStorage, SqlStorageValue, State,
    durable_object,
};

use super::meter_client::{
    AdmitBody, DayUsage, History, Identity, IdentityBody, ModelUsage, SettleBody, UsageBody,
    WindowUsage,
};
use super::state;
use crate::config::Config;
use crate::keys::KeyStatus;
use crate::metering::{Change, Limits, Meter, Reservation, Window};
use crate::time::utc_date;

/// Usage history older than this is deleted (the product promises at least 90 days).
const HISTORY_KEEP_MS: u64 = 120 * 86_400_000;
/// How often old history is deleted. Pruning on every settlement tripled its cost.
const PRUNE_EVERY_MS: u64 = 3_600_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS identity (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS windows (start_ms INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL, used_tokens INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (id TEXT PRIMARY KEY, admitted_ms INTEGER NOT NULL, estimate_tokens INTEGER NOT NULL, settled_tokens INTEGER, window_start_ms INTEGER NOT NULL, model TEXT NOT NULL, progress_input_tokens INTEGER NOT NULL DEFAULT 0, progress_output_tokens INTEGER NOT NULL DEFAULT 0, lease_until_ms INTEGER NOT NULL DEFAULT 0, provisional INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS usage_window (window_start_ms INTEGER NOT NULL, model TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, requests INTEGER NOT NULL, PRIMARY KEY (window_start_ms, model));
CREATE TABLE IF NOT EXISTS usage_daily (day TEXT NOT NULL, model TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, requests INTEGER NOT NULL, PRIMARY KEY (day, model));
";

#[durable_object(fetch)]
pub struct KeyMeter {
    sql: SqlStorage,
    env: Env,
    /// Loaded on first use; `None` until then.
    meter: RefCell<Option<Meter>>,
    /// When old history was last deleted (0: not since this object started).
    pruned_ms: Cell<u64>,
}

impl DurableObject for KeyMeter {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql.exec(SCHEMA, None) {
            worker::console_error!("meter schema: {e}");
        }
        KeyMeter {
            sql,
            env,
            meter: RefCell::new(None),
            pruned_ms: Cell::new(0),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let body = req.bytes().await?;
        // No await below this line: each request is decided atomically.
        let now_ms = worker::Date::now().as_millis();
        let answer = match path.as_str() {
            "/admit" => self.admit(&body, now_ms),
            "/settle" => self.settle(&body, now_ms),
            "/checkpoint" => self.checkpoint(&body, now_ms),
            "/identity" => self.identity(&body),
            "/usage" => self.usage(&body, now_ms),
            "/history" => self.history(now_ms),
            _ => return Response::error("unknown meter call", 404),
        };
        match answer {
            Ok(json) => Response::from_json(&json),
            Err(e) => {
                worker::console_error!("meter {path}: {e}");
                Response::error(e.to_string(), 500)
            }
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| worker::Error::RustError(format!("bad meter call: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// An integer for a SQL binding (JavaScript numbers are exact up to 2^53).
fn int(value: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

impl KeyMeter {
    fn config(&self) -> Result<Rc<Config>> {
        state::config(&self.env)
            .map_err(|errors| worker::Error::RustError(format!("invalid config: {errors}")))
    }

    /// Runs `f` on the loaded meter (loading it first), then persists what changed.
    fn with_meter<T>(
        &self,
        plan_hint: Option<&str>,
        f: impl FnOnce(&mut Meter) -> (T, Vec<Change>),
    ) -> Result<T> {
        let mut slot = self.meter.borrow_mut();
        if slot.is_none() {
            *slot = Some(self.load(plan_hint.unwrap_or_default())?);
        }
        let Some(meter) = slot.as_mut() else {
            return Err(worker::Error::RustError("meter not loaded".into()));
        };
        let (value, changes) = f(meter);
        for change in &changes {
            self.persist(meter, change)?;
        }
        Ok(value)
    }

    fn load(&self, plan_hint: &str) -> Result<Meter> {
        #[derive(Deserialize)]
        struct Pair {
            k: String,
            v: String,
        }
        #[derive(Deserialize)]
        struct WindowRow {
            start_ms: f64,
            end_ms: f64,
            used_tokens: f64,
        }
        #[derive(Deserialize)]
        struct ReservationRow {
            id: String,
            admitted_ms: f64,
            estimate_tokens: f64,
            settled_tokens: Option<f64>,
            window_start_ms: f64,
            model: String,
            progress_input_tokens: f64,
            progress_output_tokens: f64,
            lease_until_ms: f64,
            provisional: f64,
        }
        let mut meter = Meter::new(plan_hint);
        for pair in self
            .sql
            .exec("SELECT k, v FROM identity", None)?
            .to_array::<Pair>()?
        {
            match pair.k.as_str() {
                "plan" => meter.plan = pair.v,
                "status" => {
                    if let Ok(status) = serde_json::from_value(serde_json::Value::String(pair.v)) {
                        meter.status = status;
                    }
                }
                _ => {}
            }
        }
        meter.window = self
            .sql
            .exec(
                "SELECT start_ms, end_ms, used_tokens FROM windows ORDER BY start_ms DESC LIMIT 1",
                None,
            )?
            .to_array::<WindowRow>()?
            .into_iter()
            .next()
            .map(|row| Window {
                start_ms: row.start_ms as u64,
                end_ms: row.end_ms as u64,
                used_tokens: row.used_tokens as u64,
            });
        meter.reservations = self
            .sql
            .exec(
                "SELECT id, admitted_ms, estimate_tokens, settled_tokens, window_start_ms, model, progress_input_tokens, progress_output_tokens, lease_until_ms, provisional FROM reservations ORDER BY admitted_ms",
                None,
            )?
            .to_array::<ReservationRow>()?
            .into_iter()
            .map(|row| Reservation {
                id: row.id,
                admitted_ms: row.admitted_ms as u64,
                estimate_tokens: row.estimate_tokens as u64,
                settled_tokens: row.settled_tokens.map(|t| t as u64),
                window_start_ms: row.window_start_ms as u64,
                model: row.model,
                progress_input_tokens: row.progress_input_tokens as u64,
                progress_output_tokens: row.progress_output_tokens as u64,
                lease_until_ms: row.lease_until_ms as u64,
                provisional: row.provisional != 0.0,
            })
            .collect();
        Ok(meter)
    }

    fn persist(&self, meter: &Meter, change: &Change) -> Result<()> {
        match change {
            Change::Window(window) => {
                self.sql.exec(
                    "INSERT INTO windows (start_ms, end_ms, used_tokens) VALUES (?, ?, ?)
                     ON CONFLICT(start_ms) DO UPDATE SET end_ms = excluded.end_ms, used_tokens = excluded.used_tokens",
                    vec![int(window.start_ms), int(window.end_ms), int(window.used_tokens)],
                )?;
            }
            Change::Reservation(r) => {
                self.sql.exec(
                    "INSERT OR REPLACE INTO reservations (id, admitted_ms, estimate_tokens, settled_tokens, window_start_ms, model, progress_input_tokens, progress_output_tokens, lease_until_ms, provisional) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    vec![
                        r.id.as_str().into(),
                        int(r.admitted_ms),
                        int(r.estimate_tokens),
                        r.settled_tokens.map_or(SqlStorageValue::Null, int),
                        int(r.window_start_ms),
                        r.model.as_str().into(),
                        int(r.progress_input_tokens),
                        int(r.progress_output_tokens),
                        int(r.lease_until_ms),
                        SqlStorageValue::Integer(i64::from(r.provisional)),
                    ],
                )?;
            }
            Change::Forget(ids) => {
                for id in ids {
                    self.sql.exec(
                        "DELETE FROM reservations WHERE id = ?",
                        vec![id.as_str().into()],
                    )?;
                }
            }
            Change::Usage(usage) => {
                let bindings = |first: SqlStorageValue| {
                    vec![
                        first,
                        usage.model.as_str().into(),
                        int(usage.input_tokens),
                        int(usage.output_tokens),
                        int(u64::from(usage.new_request)),
                    ]
                };
                self.sql.exec(
                    "INSERT INTO usage_window (window_start_ms, model, input_tokens, output_tokens, requests) VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT(window_start_ms, model) DO UPDATE SET input_tokens = input_tokens + excluded.input_tokens,
                     output_tokens = output_tokens + excluded.output_tokens, requests = requests + excluded.requests",
                    bindings(int(usage.window_start_ms)),
                )?;
                self.sql.exec(
                    "INSERT INTO usage_daily (day, model, input_tokens, output_tokens, requests) VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT(day, model) DO UPDATE SET input_tokens = input_tokens + excluded.input_tokens,
                     output_tokens = output_tokens + excluded.output_tokens, requests = requests + excluded.requests",
                    bindings(usage.day.as_str().into()),
                )?;
            }
            Change::Identity => {
                self.sql.exec(
                    "INSERT OR REPLACE INTO identity (k, v) VALUES ('plan', ?), ('status', ?)",
                    vec![meter.plan.as_str().into(), meter.status.as_str().into()],
                )?;
            }
        }
        Ok(())
    }

    fn limits_for(&self, config: &Config, plan: &str) -> Result<Limits> {
        config
            .plan(plan)
            .map(Limits::from)
            .ok_or_else(|| worker::Error::RustError(format!("plan {plan:?} is not in the config")))
    }

    fn admit(&self, body: &[u8], now_ms: u64) -> Result<serde_json::Value> {
        let call: AdmitBody = parse(body)?;
        let config = self.config()?;
        let lease_ms = config.gateway.request_lease_ms;
        let day = utc_date(now_ms);
        let decision = self.with_meter(Some(&call.plan_hint), |meter| {
            let plan = config.plan(&meter.plan);
            let limits = plan.map(Limits::from);
            let allowed = plan.is_some_and(|p| p.allows(&call.request.model));
            match limits {
                Some(limits) => {
                    let (decision, changes) =
                        meter.admit(&call.request, &limits, allowed, now_ms, lease_ms, &day);
                    (Ok(decision), changes)
                }
                None => (
                    Err(worker::Error::RustError(format!(
                        "plan {:?} is not in the config",
                        meter.plan
                    ))),
                    Vec::new(),
                ),
            }
        })??;
        to_json(&decision)
    }

    fn settle(&self, body: &[u8], now_ms: u64) -> Result<serde_json::Value> {
        let call: SettleBody = parse(body)?;
        let day = utc_date(now_ms);
        self.with_meter(None, |meter| {
            (
                (),
                meter.settle(
                    &call.id,
                    call.input_tokens,
                    call.output_tokens,
                    now_ms,
                    &day,
                ),
            )
        })?;
        if now_ms.saturating_sub(self.pruned_ms.get()) >= PRUNE_EVERY_MS {
            self.pruned_ms.set(now_ms);
            self.prune_history(now_ms)?;
        }
        Ok(serde_json::json!({}))
    }

    fn prune_history(&self, now_ms: u64) -> Result<()> {
        let cutoff = now_ms.saturating_sub(HISTORY_KEEP_MS);
        self.sql.exec(
            "DELETE FROM usage_daily WHERE day < ?",
            vec![utc_date(cutoff).as_str().into()],
        )?;
        self.sql.exec(
            "DELETE FROM usage_window WHERE window_start_ms < ?",
            vec![int(cutoff)],
        )?;
        self.sql
            .exec("DELETE FROM windows WHERE end_ms < ?", vec![int(cutoff)])?;
        Ok(())
    }

    fn checkpoint(&self, body: &[u8], now_ms: u64) -> Result<serde_json::Value> {
        let call: SettleBody = parse(body)?;
        let lease_ms = self.config()?.gateway.request_lease_ms;
        self.with_meter(None, |meter| {
            (
                (),
                meter.checkpoint(
                    &call.id,
                    call.input_tokens,
                    call.output_tokens,
                    now_ms,
                    lease_ms,
                ),
            )
        })?;
        Ok(serde_json::json!({}))
    }

    fn identity(&self, body: &[u8]) -> Result<serde_json::Value> {
        let call: IdentityBody = parse(body)?;
        let identity = self.with_meter(call.plan.as_deref(), |meter| {
            // Revocation is final.
            if meter.status != KeyStatus::Revoked
                && let Some(status) = call.status
            {
                meter.status = status;
            }
            if let Some(plan) = &call.plan {
                meter.plan = plan.clone();
            }
            (
                Identity {
                    status: meter.status,
                    plan: meter.plan.clone(),
                },
                vec![Change::Identity],
            )
        })?;
        to_json(&identity)
    }

    fn usage(&self, body: &[u8], now_ms: u64) -> Result<serde_json::Value> {
        let call: IdentityBody = parse(body)?;
        let config = self.config()?;
        let day = utc_date(now_ms);
        let answer = self.with_meter(call.plan.as_deref(), |meter| {
            match self.limits_for(&config, &meter.plan) {
                Ok(limits) => {
                    let (snapshot, changes) = meter.observe(&limits, now_ms, &day);
                    (
                        Ok(UsageBody {
                            status: meter.status,
                            snapshot,
                        }),
                        changes,
                    )
                }
                Err(e) => (Err(e), Vec::new()),
            }
        })??;
        to_json(&answer)
    }

    fn history(&self, now_ms: u64) -> Result<serde_json::Value> {
        #[derive(Deserialize)]
        struct WindowRow {
            start_ms: f64,
            end_ms: f64,
            used_tokens: f64,
        }
        #[derive(Deserialize)]
        struct UsageRow {
            key: serde_json::Value,
            model: String,
            input_tokens: f64,
            output_tokens: f64,
            requests: f64,
        }
        let to_usage = |row: &UsageRow| ModelUsage {
            model: row.model.clone(),
            input_tokens: row.input_tokens as u64,
            output_tokens: row.output_tokens as u64,
            requests: row.requests as u64,
        };
        let cutoff = now_ms.saturating_sub(HISTORY_KEEP_MS);
        let windows = self
            .sql
            .exec(
                "SELECT start_ms, end_ms, used_tokens FROM windows WHERE end_ms >= ? ORDER BY start_ms DESC",
                vec![int(cutoff)],
            )?
            .to_array::<WindowRow>()?;
        let window_rows = self
            .sql
            .exec(
                "SELECT window_start_ms AS key, model, input_tokens, output_tokens, requests FROM usage_window ORDER BY model",
                None,
            )?
            .to_array::<UsageRow>()?;
        let day_rows = self
            .sql
            .exec(
                "SELECT day AS key, model, input_tokens, output_tokens, requests FROM usage_daily ORDER BY day DESC, model",
                None,
            )?
            .to_array::<UsageRow>()?;
        let windows = windows
            .into_iter()
            .map(|w| WindowUsage {
                start_ms: w.start_ms as u64,
                end_ms: w.end_ms as u64,
                used_tokens: w.used_tokens as u64,
                models: window_rows
                    .iter()
                    .filter(|r| r.key.as_f64() == Some(w.start_ms))
                    .map(to_usage)
                    .collect(),
            })
            .collect();
        let mut days: Vec<DayUsage> = Vec::new();
        for row in &day_rows {
            let day = row.key.as_str().unwrap_or_default().to_owned();
            match days.last_mut() {
                Some(last) if last.day == day => last.models.push(to_usage(row)),
                _ => days.push(DayUsage {
                    day,
                    models: vec![to_usage(row)],
                }),
            }
        }
        to_json(&History { windows, days })
    }
}
