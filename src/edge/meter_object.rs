//! The per-key Durable Object: the authority for one key's status, plan and counters.
//!
//! It keeps a [`Meter`] in memory, loaded from its SQLite storage on first use, and writes
//! every [`Change`] through to storage before answering, so a restart or eviction loses
//! nothing. Each request's read-check-update runs without an `await` in between, so requests
//! are decided one at a time: limits hold exactly however many arrive at once.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::Deserialize;
use serde_json::value::RawValue;
use worker::{
    DurableObject, Env, Request, Response, Result, ScheduledTime, SqlStorage, SqlStorageValue,
    State, Storage, durable_object,
};

use super::meter_batch::Message;
use super::meter_client::{
    AdmitBody, CheckpointBody, CreditsBody, DayUsage, ExtendBody, History, Identity, IdentityBody,
    ModelUsage, RegisterBody, SettleBody, UsageBody, WindowUsage,
};
use super::state;
use crate::config::Config;
use crate::keys::KeyStatus;
use crate::metering::allowance::{Allowance, TopUp};
use crate::metering::coalesce::coalesce;
use crate::metering::cost::Tariff;
use crate::metering::credits::Balance;
use crate::metering::{
    Change, Charged, Limits, Meter, Progress, Refusal, Reservation, Snapshot, Window,
};
use crate::time::utc_date;

/// Usage history older than this is deleted (the product promises at least 90 days).
const HISTORY_KEEP_MS: u64 = 120 * 86_400_000;
/// How often old history is deleted. Pruning on every settlement tripled its cost.
const PRUNE_EVERY_MS: u64 = 3_600_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS identity (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS windows (start_ms INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL, used_tokens INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS calls (id TEXT PRIMARY KEY, model TEXT NOT NULL, admitted_ms INTEGER NOT NULL, window_start_ms INTEGER NOT NULL, input_estimate_tokens INTEGER NOT NULL, output_cap_tokens INTEGER NOT NULL, reported_input_tokens INTEGER, output_tokens INTEGER NOT NULL, credit_output_tokens INTEGER NOT NULL, lease_until_ms INTEGER NOT NULL, charged_input_tokens INTEGER, charged_output_tokens INTEGER, provisional INTEGER NOT NULL, abandoned_input_tokens INTEGER NOT NULL DEFAULT 0, allowance TEXT);
CREATE TABLE IF NOT EXISTS allowances (id TEXT PRIMARY KEY, isolate TEXT NOT NULL, granted_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, window_start_ms INTEGER NOT NULL, requests INTEGER NOT NULL, tokens INTEGER NOT NULL, slots INTEGER NOT NULL, used_requests INTEGER NOT NULL, used_tokens INTEGER NOT NULL, released INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS usage_window (window_start_ms INTEGER NOT NULL, model TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, requests INTEGER NOT NULL, PRIMARY KEY (window_start_ms, model));
CREATE TABLE IF NOT EXISTS usage_daily (day TEXT NOT NULL, model TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, requests INTEGER NOT NULL, PRIMARY KEY (day, model));
";

/// The first schema kept calls in `reservations`, with one estimate and no cap or credit. Rows
/// left there are moved into `calls` once: the estimate becomes the input estimate (so a lapse
/// still charges at least it), and a settled row keeps its charge.
const MIGRATE_RESERVATIONS: &str = "
INSERT OR IGNORE INTO calls (id, model, admitted_ms, window_start_ms, input_estimate_tokens,
  output_cap_tokens, reported_input_tokens, output_tokens, credit_output_tokens, lease_until_ms,
  charged_input_tokens, charged_output_tokens, provisional)
SELECT id, model, admitted_ms, window_start_ms, estimate_tokens, 0,
  CASE WHEN progress_input_tokens > 0 THEN progress_input_tokens END, progress_output_tokens,
  progress_output_tokens, lease_until_ms,
  CASE WHEN settled_tokens IS NOT NULL THEN progress_input_tokens END,
  CASE WHEN settled_tokens IS NOT NULL THEN progress_output_tokens END, provisional
FROM reservations;
DROP TABLE reservations;
";

#[durable_object(alarm)]
pub struct KeyMeter {
    sql: SqlStorage,
    storage: Storage,
    env: Env,
    /// The alarm this object last set (ms since the epoch; 0 when none is pending): it wakes
    /// when a lease runs out, so a call whose worker died is charged on time.
    alarm_ms: Cell<u64>,
    /// Loaded on first use; `None` until then.
    meter: RefCell<Option<Meter>>,
    /// When old history was last deleted (0: not since this object started).
    pruned_ms: Cell<u64>,
    /// While a batch is decided, the changes to persist at its end (see `coalesce`).
    deferred: RefCell<Option<Vec<Change>>>,
}

impl DurableObject for KeyMeter {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql.exec(SCHEMA, None) {
            worker::console_error!("meter schema: {e}");
        }
        // Calls tables made before these columns existed get them.
        for (table, column, declaration) in [
            (
                "calls",
                "abandoned_input_tokens",
                "INTEGER NOT NULL DEFAULT 0",
            ),
            ("calls", "allowance", "TEXT"),
            // Credits: the call's worst-case rates and its charge in picodollars, the window's
            // and the history's cost.
            ("calls", "rate_input", "INTEGER"),
            ("calls", "rate_output", "INTEGER"),
            ("calls", "multiplier_ppm", "INTEGER"),
            ("calls", "charged_cost", "INTEGER"),
            ("windows", "used_cost", "INTEGER NOT NULL DEFAULT 0"),
            ("usage_window", "cost_pico", "INTEGER NOT NULL DEFAULT 0"),
            ("usage_daily", "cost_pico", "INTEGER NOT NULL DEFAULT 0"),
        ] {
            add_column_if_missing(&sql, table, column, declaration);
        }
        let old_table = sql
            .exec(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'reservations'",
                None,
            )
            .and_then(|cursor| cursor.to_array::<serde_json::Value>())
            .is_ok_and(|rows| !rows.is_empty());
        if old_table && let Err(e) = sql.exec(MIGRATE_RESERVATIONS, None) {
            worker::console_error!("meter migration: {e}");
        }
        KeyMeter {
            sql,
            storage: state.storage(),
            env,
            alarm_ms: Cell::new(0),
            meter: RefCell::new(None),
            pruned_ms: Cell::new(0),
            deferred: RefCell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let path = req.path();
        let body = super::js_pump::read_request(&req).await?;
        // No await below this line: each request is decided atomically.
        let now_ms = worker::Date::now().as_millis();
        let answer = match path.as_str() {
            "/admit" => self.admit(&body, now_ms),
            "/settle" => self.settle(&body, now_ms),
            "/checkpoint" => self.checkpoint(&body, now_ms),
            "/extend" => self.extend(&body, now_ms),
            "/register" => self.register(&body, now_ms),
            "/batch" => self.batch(&body, now_ms),
            "/identity" => self.identity(&body),
            "/credits" => self.credits(&body, now_ms),
            "/usage" => self.usage(&body, now_ms),
            "/history" => self.history(now_ms),
            _ => return Response::error("unknown meter call", 404),
        };
        if matches!(
            path.as_str(),
            "/admit" | "/checkpoint" | "/extend" | "/register" | "/batch"
        ) {
            self.wake_at_next_lease_end(now_ms).await;
        }
        match answer {
            Ok(json) => Response::from_json(&json),
            Err(e) => {
                worker::console_error!("meter {path}: {e}");
                Response::error(e.to_string(), 500)
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let now_ms = worker::Date::now().as_millis();
        self.alarm_ms.set(0);
        if let Err(e) = self.lapse_expired(now_ms) {
            worker::console_error!("meter alarm: {e}");
        }
        self.wake_at_next_lease_end(now_ms).await;
        Response::ok("")
    }
}

/// The limits to bring a meter up to date with when a call reports: its plan's, or, for a plan
/// the config no longer has, the current window's length with no other limit (a call must
/// settle whatever happened to its plan).
fn settling_limits(config: &Config, meter: &Meter) -> Limits {
    config
        .plan(&meter.plan)
        .map(Limits::from)
        .unwrap_or_else(|| Limits {
            rpm: u64::MAX,
            tpm: u64::MAX,
            concurrency: u64::MAX,
            window_ms: meter
                .window
                .map_or(0, |w| w.end_ms.saturating_sub(w.start_ms)),
            window_tokens: u64::MAX,
            unit: crate::metering::cost::Unit::Tokens,
            calendar: None,
            zone: crate::metering::calendar::Zone::UTC,
        })
}

impl KeyMeter {
    /// Sets the alarm for the first lease that runs out, unless one is already due by then.
    async fn wake_at_next_lease_end(&self, now_ms: u64) {
        let next = self
            .meter
            .borrow()
            .as_ref()
            .and_then(Meter::next_lease_end_ms);
        let Some(next) = next else {
            return;
        };
        // A little after the lease, so the alarm finds it run out.
        let at = next.saturating_add(50);
        // An alarm already due by then will do: one that finds nothing run out sets the next.
        // (Comparing with the lease end itself would set the alarm again for every call that
        // follows another within 50 ms: a storage write per call.)
        let pending = self.alarm_ms.get();
        if pending > now_ms && pending <= at {
            return;
        }
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
        match self.storage.set_alarm(ScheduledTime::new(date)).await {
            Ok(()) => self.alarm_ms.set(at),
            Err(e) => worker::console_error!("meter alarm: {e}"),
        }
    }

    /// Charges the calls whose lease ran out, and wakes again for the next.
    fn lapse_expired(&self, now_ms: u64) -> Result<()> {
        let config = self.config()?;
        let day = utc_date(now_ms);
        self.with_meter(None, |meter| {
            let limits = settling_limits(&config, meter);
            let (_, changes) = meter.observe(&limits, now_ms, &day);
            ((), changes)
        })
    }
}

/// Adds `column` to `table` unless it is there (schemas of objects created by earlier versions).
fn add_column_if_missing(sql: &SqlStorage, table: &str, column: &str, declaration: &str) {
    let present = sql
        .exec(
            &format!("SELECT name FROM pragma_table_info('{table}') WHERE name = ?"),
            vec![column.into()],
        )
        .and_then(|cursor| cursor.to_array::<serde_json::Value>())
        .is_ok_and(|rows| !rows.is_empty());
    if !present
        && let Err(e) = sql.exec(
            &format!("ALTER TABLE {table} ADD COLUMN {column} {declaration}"),
            None,
        )
    {
        worker::console_error!("meter migration ({table}.{column}): {e}");
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| worker::Error::RustError(format!("bad meter call: {e}")))
}

/// An answer's JSON, written once (a batch carries its messages' answers as they are).
type Answer = Box<RawValue>;

fn to_json<T: serde::Serialize>(value: &T) -> Result<Answer> {
    serde_json::value::to_raw_value(value).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// What a registration is answered (`Registered` on the Worker's side).
#[derive(serde::Serialize)]
#[serde(rename_all = "snake_case")]
enum RegisterAnswer<'a> {
    Ok(&'a Snapshot),
    Renewed {
        snapshot: &'a Snapshot,
        top_up: &'a TopUp,
    },
    Refused(&'a Refusal),
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
        // A key's object is created by its first call, not when the key is (so it lives near
        // the key holder): until a call brings its plan, it may have been loaded by something
        // that knows none (the operator's history view, its own alarm).
        if meter.plan.is_empty()
            && let Some(plan) = plan_hint.filter(|plan| !plan.is_empty())
        {
            meter.plan = plan.to_owned();
            self.persist(meter, &Change::Identity)?;
        }
        let (value, changes) = f(meter);
        if let Some(deferred) = self.deferred.borrow_mut().as_mut() {
            deferred.extend(changes);
            return Ok(value);
        }
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
            #[serde(default)]
            used_cost: Option<f64>,
        }
        #[derive(Deserialize)]
        struct CallRow {
            id: String,
            model: String,
            admitted_ms: f64,
            window_start_ms: f64,
            input_estimate_tokens: f64,
            output_cap_tokens: f64,
            #[serde(default)]
            abandoned_input_tokens: f64,
            reported_input_tokens: Option<f64>,
            output_tokens: f64,
            credit_output_tokens: f64,
            lease_until_ms: f64,
            charged_input_tokens: Option<f64>,
            charged_output_tokens: Option<f64>,
            provisional: f64,
            #[serde(default)]
            allowance: Option<String>,
            #[serde(default)]
            rate_input: Option<f64>,
            #[serde(default)]
            rate_output: Option<f64>,
            #[serde(default)]
            multiplier_ppm: Option<f64>,
            #[serde(default)]
            charged_cost: Option<f64>,
        }
        #[derive(Deserialize)]
        struct AllowanceRow {
            id: String,
            isolate: String,
            granted_ms: f64,
            expires_ms: f64,
            window_start_ms: f64,
            requests: f64,
            tokens: f64,
            slots: f64,
            used_requests: f64,
            used_tokens: f64,
            released: f64,
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
                "credits" => match serde_json::from_str(&pair.v) {
                    Ok(credits) => meter.credits = credits,
                    Err(e) => {
                        return Err(worker::Error::RustError(format!(
                            "the key's credits are unreadable: {e}"
                        )));
                    }
                },
                _ => {}
            }
        }
        meter.window = self
            .sql
            .exec(
                "SELECT start_ms, end_ms, used_tokens, used_cost FROM windows ORDER BY start_ms DESC LIMIT 1",
                None,
            )?
            .to_array::<WindowRow>()?
            .into_iter()
            .next()
            .map(|row| Window {
                start_ms: row.start_ms as u64,
                end_ms: row.end_ms as u64,
                used_tokens: row.used_tokens as u64,
                used_cost: row.used_cost.unwrap_or(0.0) as u64,
            });
        meter.reservations = self
            .sql
            .exec("SELECT * FROM calls ORDER BY admitted_ms", None)?
            .to_array::<CallRow>()?
            .into_iter()
            .map(|row| Reservation {
                id: row.id,
                model: row.model,
                admitted_ms: row.admitted_ms as u64,
                window_start_ms: row.window_start_ms as u64,
                input_estimate_tokens: row.input_estimate_tokens as u64,
                output_cap_tokens: row.output_cap_tokens as u64,
                abandoned_input_tokens: row.abandoned_input_tokens as u64,
                progress: Progress {
                    input_tokens: row.reported_input_tokens.map(|t| t as u64),
                    output_tokens: row.output_tokens as u64,
                    credit_output_tokens: row.credit_output_tokens as u64,
                },
                lease_until_ms: row.lease_until_ms as u64,
                charged: match (row.charged_input_tokens, row.charged_output_tokens) {
                    (Some(input), Some(output)) => Some(Charged {
                        input_tokens: input as u64,
                        output_tokens: output as u64,
                        cost: row.charged_cost.unwrap_or(0.0) as u64,
                    }),
                    _ => None,
                },
                provisional: row.provisional != 0.0,
                allowance: row.allowance,
                tariff: match (row.rate_input, row.rate_output, row.multiplier_ppm) {
                    (Some(input), Some(output), Some(multiplier)) => Some(Tariff {
                        input: input as u64,
                        output: output as u64,
                        multiplier_ppm: multiplier as u64,
                    }),
                    _ => None,
                },
            })
            .collect();
        meter.allowances = self
            .sql
            .exec("SELECT * FROM allowances", None)?
            .to_array::<AllowanceRow>()?
            .into_iter()
            .map(|row| Allowance {
                id: row.id,
                isolate: row.isolate,
                granted_ms: row.granted_ms as u64,
                expires_ms: row.expires_ms as u64,
                window_start_ms: row.window_start_ms as u64,
                requests: row.requests as u64,
                tokens: row.tokens as u64,
                slots: row.slots as u64,
                used_requests: row.used_requests as u64,
                used_tokens: row.used_tokens as u64,
                released: row.released != 0.0,
            })
            .collect();
        Ok(meter)
    }

    fn persist(&self, meter: &Meter, change: &Change) -> Result<()> {
        match change {
            Change::Window(window) => {
                self.sql.exec(
                    "INSERT INTO windows (start_ms, end_ms, used_tokens, used_cost) VALUES (?, ?, ?, ?)
                     ON CONFLICT(start_ms) DO UPDATE SET end_ms = excluded.end_ms, used_tokens = excluded.used_tokens, used_cost = excluded.used_cost",
                    vec![int(window.start_ms), int(window.end_ms), int(window.used_tokens), int(window.used_cost)],
                )?;
            }
            Change::Reservation(r) => {
                let charged = |pick: fn(&Charged) -> u64| {
                    r.charged
                        .as_ref()
                        .map_or(SqlStorageValue::Null, |c| int(pick(c)))
                };
                self.sql.exec(
                    "INSERT OR REPLACE INTO calls (id, model, admitted_ms, window_start_ms, input_estimate_tokens, output_cap_tokens, reported_input_tokens, output_tokens, credit_output_tokens, lease_until_ms, charged_input_tokens, charged_output_tokens, provisional, abandoned_input_tokens, allowance, rate_input, rate_output, multiplier_ppm, charged_cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    vec![
                        r.id.as_str().into(),
                        r.model.as_str().into(),
                        int(r.admitted_ms),
                        int(r.window_start_ms),
                        int(r.input_estimate_tokens),
                        int(r.output_cap_tokens),
                        r.progress.input_tokens.map_or(SqlStorageValue::Null, int),
                        int(r.progress.output_tokens),
                        int(r.progress.credit_output_tokens),
                        int(r.lease_until_ms),
                        charged(|c| c.input_tokens),
                        charged(|c| c.output_tokens),
                        SqlStorageValue::Integer(i64::from(r.provisional)),
                        int(r.abandoned_input_tokens),
                        r.allowance
                            .as_deref()
                            .map_or(SqlStorageValue::Null, Into::into),
                        r.tariff.map_or(SqlStorageValue::Null, |t| int(t.input)),
                        r.tariff.map_or(SqlStorageValue::Null, |t| int(t.output)),
                        r.tariff
                            .map_or(SqlStorageValue::Null, |t| int(t.multiplier_ppm)),
                        charged(|c| c.cost),
                    ],
                )?;
            }
            Change::Forget(ids) => {
                for id in ids {
                    self.sql
                        .exec("DELETE FROM calls WHERE id = ?", vec![id.as_str().into()])?;
                }
            }
            Change::Usage(usage) => {
                let bindings = |first: SqlStorageValue| {
                    vec![
                        first,
                        usage.model.as_str().into(),
                        SqlStorageValue::Integer(usage.input_tokens),
                        SqlStorageValue::Integer(usage.output_tokens),
                        int(u64::from(usage.new_request)),
                        SqlStorageValue::Integer(usage.cost_pico),
                    ]
                };
                self.sql.exec(
                    "INSERT INTO usage_window (window_start_ms, model, input_tokens, output_tokens, requests, cost_pico) VALUES (?, ?, ?, ?, ?, ?)
                     ON CONFLICT(window_start_ms, model) DO UPDATE SET input_tokens = input_tokens + excluded.input_tokens,
                     output_tokens = output_tokens + excluded.output_tokens, requests = requests + excluded.requests,
                     cost_pico = cost_pico + excluded.cost_pico",
                    bindings(int(usage.window_start_ms)),
                )?;
                self.sql.exec(
                    "INSERT INTO usage_daily (day, model, input_tokens, output_tokens, requests, cost_pico) VALUES (?, ?, ?, ?, ?, ?)
                     ON CONFLICT(day, model) DO UPDATE SET input_tokens = input_tokens + excluded.input_tokens,
                     output_tokens = output_tokens + excluded.output_tokens, requests = requests + excluded.requests,
                     cost_pico = cost_pico + excluded.cost_pico",
                    bindings(usage.day.as_str().into()),
                )?;
            }
            Change::Allowance(a) => {
                self.sql.exec(
                    "INSERT OR REPLACE INTO allowances (id, isolate, granted_ms, expires_ms, window_start_ms, requests, tokens, slots, used_requests, used_tokens, released) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    vec![
                        a.id.as_str().into(),
                        a.isolate.as_str().into(),
                        int(a.granted_ms),
                        int(a.expires_ms),
                        int(a.window_start_ms),
                        int(a.requests),
                        int(a.tokens),
                        int(a.slots),
                        int(a.used_requests),
                        int(a.used_tokens),
                        SqlStorageValue::Integer(i64::from(a.released)),
                    ],
                )?;
            }
            Change::ForgetAllowances(ids) => {
                for id in ids {
                    self.sql.exec(
                        "DELETE FROM allowances WHERE id = ?",
                        vec![id.as_str().into()],
                    )?;
                }
            }
            Change::Credits => {
                let json = serde_json::to_string(&meter.credits)
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                self.sql.exec(
                    "INSERT OR REPLACE INTO identity (k, v) VALUES ('credits', ?)",
                    vec![json.as_str().into()],
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

    fn admit(&self, body: &[u8], now_ms: u64) -> Result<Answer> {
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
                    let (decision, changes) = meter.admit_for(
                        &call.request,
                        &limits,
                        allowed,
                        now_ms,
                        lease_ms,
                        &day,
                        call.isolate.as_ref(),
                    );
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

    /// Registrations and settlements in one request (`meter_batch`), each decided as if it
    /// came alone, in order: an answer per message, `{"error": why}` for one that failed.
    ///
    /// What the messages change is persisted once, at the end, with each row written once
    /// (`coalesce`: a batch of registrations under one allowance writes it once, not once per
    /// call). Nothing of the batch is answered before that (if it fails, the whole batch
    /// fails, and its sender sends it again: every message is idempotent).
    fn batch(&self, body: &[u8], now_ms: u64) -> Result<Answer> {
        let messages: Vec<Message> = parse(body)?;
        *self.deferred.borrow_mut() = Some(Vec::new());
        let answers = messages
            .into_iter()
            .map(|message| {
                let answered = match message {
                    Message::Register(call) => self.register_call(call, now_ms),
                    Message::Settle(call) => self.settle_call(call, now_ms),
                };
                answered.or_else(|e| to_json(&serde_json::json!({ "error": e.to_string() })))
            })
            .collect::<Result<Vec<Answer>>>();
        let changes = self.deferred.borrow_mut().take().unwrap_or_default();
        self.persist_all(coalesce(changes))?;
        to_json(&answers?)
    }

    /// Persists `changes` in order (the meter loaded: they came from it).
    fn persist_all(&self, changes: Vec<Change>) -> Result<()> {
        let slot = self.meter.borrow();
        let Some(meter) = slot.as_ref() else {
            return Ok(());
        };
        for change in &changes {
            self.persist(meter, change)?;
        }
        Ok(())
    }

    /// A call an isolate admitted from its allowance: `{"ok": snapshot}`,
    /// `{"renewed": {"snapshot", "top_up"}}` when the isolate asked for a top-up and got one, or
    /// `{"refused": why}`.
    fn register(&self, body: &[u8], now_ms: u64) -> Result<Answer> {
        self.register_call(parse(body)?, now_ms)
    }

    fn register_call(&self, call: RegisterBody, now_ms: u64) -> Result<Answer> {
        let config = self.config()?;
        let lease_ms = config.gateway.request_lease_ms;
        let day = utc_date(now_ms);
        let registered = self.with_meter(None, |meter| {
            let plan = config.plan(&meter.plan);
            let allowed = plan.is_some_and(|p| p.allows(&call.request.model));
            let limits = settling_limits(&config, meter);
            let (registered, mut changes) = meter.register(
                &call.allowance,
                &call.request,
                call.admitted_ms,
                &limits,
                allowed,
                now_ms,
                lease_ms,
                &day,
            );
            let top_up = match (&registered, &call.top_up) {
                (Ok(_), Some(ask)) => {
                    let call_tokens = call.request.units(limits.unit).unwrap_or(u64::MAX);
                    let (top_up, more) = meter.top_up(
                        &call.allowance,
                        &ask.isolate,
                        ask.demand,
                        call_tokens,
                        &limits,
                        now_ms,
                        &day,
                    );
                    changes.extend(more);
                    top_up
                }
                _ => None,
            };
            ((registered, top_up), changes)
        })?;
        match registered {
            (Ok(snapshot), Some(top_up)) => to_json(&RegisterAnswer::Renewed {
                snapshot: &snapshot,
                top_up: &top_up,
            }),
            (Ok(snapshot), None) => to_json(&RegisterAnswer::Ok(&snapshot)),
            (Err(refusal), _) => to_json(&RegisterAnswer::Refused(&refusal)),
        }
    }

    fn settle(&self, body: &[u8], now_ms: u64) -> Result<Answer> {
        self.settle_call(parse(body)?, now_ms)
    }

    fn settle_call(&self, call: SettleBody, now_ms: u64) -> Result<Answer> {
        let config = self.config()?;
        let day = utc_date(now_ms);
        let charged = Charged {
            input_tokens: call.input_tokens,
            output_tokens: call.output_tokens,
            cost: 0,
        };
        self.with_meter(None, |meter| {
            let limits = settling_limits(&config, meter);
            let changes =
                meter.settle_priced(&call.id, charged, call.cost_pico, &limits, now_ms, &day);
            ((), changes)
        })?;
        if now_ms.saturating_sub(self.pruned_ms.get()) >= PRUNE_EVERY_MS {
            self.pruned_ms.set(now_ms);
            self.prune_history(now_ms)?;
        }
        to_json(&serde_json::json!({}))
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

    fn checkpoint(&self, body: &[u8], now_ms: u64) -> Result<Answer> {
        let call: CheckpointBody = parse(body)?;
        let config = self.config()?;
        let lease_ms = config.gateway.request_lease_ms;
        let day = utc_date(now_ms);
        self.with_meter(None, |meter| {
            let limits = settling_limits(&config, meter);
            let changes =
                meter.checkpoint(&call.id, call.progress, &limits, now_ms, lease_ms, &day);
            ((), changes)
        })?;
        to_json(&serde_json::json!({}))
    }

    fn extend(&self, body: &[u8], now_ms: u64) -> Result<Answer> {
        let call: ExtendBody = parse(body)?;
        let config = self.config()?;
        let lease_ms = config.gateway.request_lease_ms;
        let day = utc_date(now_ms);
        let extended = self.with_meter(None, |meter| {
            let limits = settling_limits(&config, meter);
            meter.extend(&call.id, call.tokens, &limits, now_ms, lease_ms, &day)
        })?;
        to_json(&serde_json::json!({ "extended": extended.is_ok() }))
    }

    fn identity(&self, body: &[u8]) -> Result<Answer> {
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

    /// An admin change to the key's balance or spend limits; answers the key's credits.
    fn credits(&self, body: &[u8], now_ms: u64) -> Result<Answer> {
        let call: CreditsBody = parse(body)?;
        let config = self.config()?;
        let day = utc_date(now_ms);
        let credits = self.with_meter(call.plan.as_deref(), |meter| {
            let limits = settling_limits(&config, meter);
            let (_, mut changes) = meter.observe(&limits, now_ms, &day);
            let credits = &mut meter.credits;
            if call.remove_balance {
                credits.balance = None;
            }
            if let Some(delta) = call.add_balance_pico {
                let balance = credits.balance.get_or_insert_with(Balance::default);
                let amount = delta.unsigned_abs();
                balance.added_pico = if delta >= 0 {
                    balance.added_pico.saturating_add(amount)
                } else {
                    balance.added_pico.saturating_sub(amount)
                };
            }
            if let Some(limit) = call.daily_limit_pico {
                credits.daily_limit_pico = limit;
            }
            if let Some(limit) = call.monthly_limit_pico {
                credits.monthly_limit_pico = limit;
            }
            changes.push(Change::Credits);
            (meter.credits.clone(), changes)
        })?;
        to_json(&credits)
    }

    fn usage(&self, body: &[u8], now_ms: u64) -> Result<Answer> {
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

    fn history(&self, now_ms: u64) -> Result<Answer> {
        #[derive(Deserialize)]
        struct WindowRow {
            start_ms: f64,
            end_ms: f64,
            used_tokens: f64,
            #[serde(default)]
            used_cost: Option<f64>,
        }
        #[derive(Deserialize)]
        struct UsageRow {
            key: serde_json::Value,
            model: String,
            input_tokens: f64,
            output_tokens: f64,
            requests: f64,
            #[serde(default)]
            cost_pico: Option<f64>,
        }
        let to_usage = |row: &UsageRow| ModelUsage {
            model: row.model.clone(),
            input_tokens: row.input_tokens as u64,
            output_tokens: row.output_tokens as u64,
            requests: row.requests as u64,
            cost_pico: row.cost_pico.unwrap_or(0.0) as u64,
        };
        let cutoff = now_ms.saturating_sub(HISTORY_KEEP_MS);
        let windows = self
            .sql
            .exec(
                "SELECT start_ms, end_ms, used_tokens, used_cost FROM windows WHERE end_ms >= ? ORDER BY start_ms DESC",
                vec![int(cutoff)],
            )?
            .to_array::<WindowRow>()?;
        let window_rows = self
            .sql
            .exec(
                "SELECT window_start_ms AS key, model, input_tokens, output_tokens, requests, cost_pico FROM usage_window ORDER BY model",
                None,
            )?
            .to_array::<UsageRow>()?;
        let day_rows = self
            .sql
            .exec(
                "SELECT day AS key, model, input_tokens, output_tokens, requests, cost_pico FROM usage_daily ORDER BY day DESC, model",
                None,
            )?
            .to_array::<UsageRow>()?;
        let windows = windows
            .into_iter()
            .map(|w| WindowUsage {
                start_ms: w.start_ms as u64,
                end_ms: w.end_ms as u64,
                used_tokens: w.used_tokens as u64,
                used_cost_pico: w.used_cost.unwrap_or(0.0) as u64,
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
