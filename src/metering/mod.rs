//! Plan limits for one key, decided exactly: the arithmetic behind the per-key Durable Object.
//!
//! One [`Meter`] per key holds the key's status and plan, its quota window and the calls of the
//! last minute plus those still in flight. The Durable Object owns one, applies every
//! admission, checkpoint and settlement to it one at a time (so limits hold under any
//! concurrency) and persists the [`Change`]s each step reports.
//!
//! - **Reservation.** Admission reserves the call's input estimate (an upper bound of its
//!   prompt) plus its output cap, and the gateway sends the upstream exactly that cap, so a
//!   call can never cost more than it reserved. Settlement replaces the reservation with the
//!   upstream's usage.
//! - **Window.** Starts at the first call after the previous window ended (or when a call still
//!   in flight from it reports after its end) and lasts the plan's length. A call is admitted
//!   only if the window's settled tokens, plus every reservation in flight, plus this call's
//!   reservation fit in `window_tokens`. Calls in flight when a window ends carry into the next
//!   one: their reservation and their charge count there.
//! - **Minute.** Requests per minute and tokens per minute over a sliding 60 s: admissions in
//!   the last 60 s, and their tokens (settled, or reserved while in flight). A call is admitted
//!   only if its reservation fits what is left of `tpm`.
//! - **Clamping.** When what is left (of the window or the minute) covers the input and at
//!   least the plan's smallest useful answer but not the whole output cap, the cap is lowered
//!   to fit and the decision says so; below that, the call is refused.
//! - **Concurrency.** Calls admitted and not yet settled.
//! - **Lease.** An admitted call holds a lease its worker renews with checkpoints: the input
//!   once the upstream reported it, the output so far, and an output *credit*, always at least
//!   the output so far, that the worker raises ahead of the stream. A call whose worker stopped
//!   reporting (crash, eviction) is charged when its lease runs out: the reported input (or the
//!   input estimate) plus the credit. That charge is provisional: a final settlement arriving
//!   later replaces it.
//! - **Allowances.** While a key is far from its limits, the meter sets a slice of what is left
//!   aside for one isolate, which then admits calls without asking and registers each one as it
//!   goes (see [`allowance`]); the slice counts as used from the moment it is granted, so no
//!   limit can be passed through it.
//! - **Abandoned attempts.** When the gateway gives up on an upstream that took the call on
//!   (it stalled before its answer started, or reported input before failing) to try another,
//!   that attempt's input is added to the call ([`Meter::extend`]), only if the window and the
//!   minute have room for it (otherwise the gateway stops trying), and charged on top of the
//!   final usage or the lapse charge.
//!
//! Every sum saturates: no client-chosen figure can wrap a counter.

pub mod allowance;
pub mod calendar;
pub mod coalesce;
pub mod cost;
pub mod credits;
pub mod headers;
mod meter;
#[cfg(test)]
mod reference;
mod reservation;
mod reservations;

use serde::{Deserialize, Serialize};

use crate::config::Plan;
use calendar::{Period, Zone};
use cost::{Tariff, Unit};
use credits::Credits;

pub use meter::Meter;
pub use reservation::{Charged, Reservation};
pub use reservations::Reservations;

pub(crate) const MINUTE_MS: u64 = 60_000;

/// The output credit a call starts with: what its lease charges for output if its worker dies
/// before the first checkpoint (capped by the call's output cap).
pub const INITIAL_OUTPUT_CREDIT_TOKENS: u64 = 1024;

/// How long a call charged by its lease running out stays open to a late final settlement.
pub(crate) const PROVISIONAL_KEEP_MS: u64 = 3_600_000;

/// A plan's limits. `tpm` and `window_tokens` are in the plan's [`Unit`]: tokens, or
/// picodollars for a plan in US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub rpm: u64,
    pub tpm: u64,
    pub concurrency: u64,
    pub window_ms: u64,
    pub window_tokens: u64,
    #[serde(default)]
    pub unit: Unit,
    /// A calendar window's period (`None`: a rolling window of `window_ms`).
    #[serde(default)]
    pub calendar: Option<Period>,
    /// The zone of calendar windows and of spend limits' days and months.
    #[serde(default)]
    pub zone: Zone,
}

impl Limits {
    /// The bounds of a window starting at `now_ms`: the calendar period containing it, or
    /// `window_ms` from it.
    pub fn window_at(&self, now_ms: u64) -> (u64, u64) {
        match self.calendar {
            Some(period) => period.bounds(&self.zone, now_ms),
            None => (now_ms, now_ms.saturating_add(self.window_ms)),
        }
    }
}

impl From<&Plan> for Limits {
    fn from(plan: &Plan) -> Limits {
        Limits {
            rpm: plan.rpm,
            tpm: plan.tpm,
            concurrency: plan.concurrency,
            window_ms: plan.window_ms,
            window_tokens: plan.window_tokens,
            unit: plan.unit,
            calendar: plan.calendar,
            zone: plan.zone,
        }
    }
}

/// The current quota window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start_ms: u64,
    pub end_ms: u64,
    /// Tokens charged in this window.
    pub used_tokens: u64,
    /// Picodollars charged in this window.
    #[serde(default)]
    pub used_cost: u64,
}

impl Window {
    /// What the window has charged, in `unit`.
    pub fn used(&self, unit: Unit) -> u64 {
        match unit {
            Unit::Tokens => self.used_tokens,
            Unit::Usd => self.used_cost,
        }
    }
}

/// Usage to add to the per-model history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    pub model: String,
    pub window_start_ms: u64,
    /// UTC date of the charge, `YYYY-MM-DD`.
    pub day: String,
    /// Tokens to add (negative when a final settlement lowers a provisional charge).
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Picodollars to add.
    #[serde(default)]
    pub cost_pico: i64,
    /// Counts as one more request (false for a correction of an earlier charge).
    pub new_request: bool,
}

/// A change the owner must persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The window row (new or updated).
    Window(Window),
    /// A reservation row (new or updated).
    Reservation(Reservation),
    /// Reservation rows no longer needed.
    Forget(Vec<String>),
    /// A charge to add to the usage history.
    Usage(UsageRecord),
    /// The key's status or plan.
    Identity,
    /// An allowance row (new or updated).
    Allowance(allowance::Allowance),
    /// Allowance rows no longer needed.
    ForgetAllowances(Vec<String>),
    /// The key's balance, spend limits or spend.
    Credits,
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    Disabled,
    Revoked,
    ModelNotAllowed,
    /// What is left of the window cannot cover the input and the smallest useful answer.
    QuotaExhausted,
    /// The call alone needs more than the plan's whole window.
    LargerThanWindow,
    RequestsPerMinute,
    /// What is left of the minute cannot cover the input and the smallest useful answer.
    TokensPerMinute,
    /// The call alone needs more than the plan's tokens per minute.
    LargerThanMinute,
    Concurrency,
    /// A price is needed (the plan is in dollars, or the key has a balance or a spend limit)
    /// and the model has none.
    NoPrice,
    /// The prepaid balance cannot cover the call's worst-case cost.
    BalanceExhausted,
    /// The key's daily spend limit cannot cover the call's worst-case cost.
    DailySpendLimit,
    /// The key's monthly spend limit cannot cover the call's worst-case cost.
    MonthlySpendLimit,
}

/// Counters at one moment, for limit headers and `/v1/usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub plan: String,
    pub limits: Limits,
    pub now_ms: u64,
    /// Start and end of the current window; with no window yet, a window starting now.
    pub window_start_ms: u64,
    pub window_end_ms: u64,
    /// What the window has charged, in the plan's unit (tokens, or picodollars).
    pub window_used_tokens: u64,
    /// Charged plus reserved in the window, in the plan's unit.
    pub window_committed_tokens: u64,
    /// Picodollars charged in the window (whatever the plan's unit).
    #[serde(default)]
    pub window_used_cost: u64,
    pub minute_requests: u64,
    /// Charged or reserved in the minute, in the plan's unit.
    pub minute_tokens: u64,
    /// When a request slot frees up (the oldest admission leaves the minute); `now_ms` if
    /// none are counted.
    pub requests_reset_ms: u64,
    /// When the oldest token-counting admission leaves the minute.
    pub tokens_reset_ms: u64,
    /// Calls running now.
    pub in_flight: u64,
    /// Concurrency slots held: running calls, counting those admitted from an allowance as
    /// the allowance's slots (all of which it holds while it lives).
    #[serde(default)]
    pub slots_held: u64,
    /// What live allowances hold unused (not in the figures above, which say what the key
    /// has actually used; limits count both).
    #[serde(default)]
    pub set_aside: SetAside,
    /// The key's balance, spend limits and spend in the current day and month.
    #[serde(default)]
    pub credits: Credits,
    /// The most the calls in flight may still cost, in picodollars (held against the balance
    /// and the spend limits).
    #[serde(default)]
    pub in_flight_cost: u64,
}

/// Capacity held by allowances and not used yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAside {
    pub requests: u64,
    /// Tokens, counted in the minute.
    pub tokens: u64,
    /// Tokens counted in the current window.
    pub window_tokens: u64,
}

impl Snapshot {
    /// Tokens left in the window, as the key holder sees it (allowances aside).
    pub fn window_remaining_tokens(&self) -> u64 {
        self.limits
            .window_tokens
            .saturating_sub(self.window_committed_tokens)
    }

    pub fn minute_remaining_tokens(&self) -> u64 {
        self.limits.tpm.saturating_sub(self.minute_tokens)
    }

    /// What admission may still grant: the remaining figures less what allowances hold.
    pub fn window_room(&self) -> u64 {
        self.window_remaining_tokens()
            .saturating_sub(self.set_aside.window_tokens)
    }

    pub fn minute_room(&self) -> u64 {
        self.minute_remaining_tokens()
            .saturating_sub(self.set_aside.tokens)
    }

    /// Requests counted against the minute's limit: made, and held by allowances.
    pub fn requests_counted(&self) -> u64 {
        self.minute_requests.saturating_add(self.set_aside.requests)
    }

    /// The figures with what allowances hold counted as used (and nothing set aside).
    pub fn counting_set_aside(mut self) -> Snapshot {
        self.minute_requests = self.requests_counted();
        self.minute_tokens = self.minute_tokens.saturating_add(self.set_aside.tokens);
        self.window_committed_tokens = self
            .window_committed_tokens
            .saturating_add(self.set_aside.window_tokens);
        self.set_aside = SetAside::default();
        self
    }
}

/// The answer to an admission request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// `None` when admitted.
    pub refusal: Option<Refusal>,
    /// Seconds until a retry can succeed (rate limits and quota).
    pub retry_after_s: Option<u64>,
    /// Admitted: the output cap to send upstream (the one asked for, or lower when clamped).
    /// Refused for tokens: what is left for this call's input and output.
    pub output_tokens: u64,
    /// The cap was lowered to fit what is left of the window or the minute.
    pub clamped: bool,
    pub snapshot: Snapshot,
    /// Admitted from the asking isolate's allowance (one it did not know of when it asked).
    #[serde(default)]
    pub from_allowance: Option<String>,
    /// An allowance granted with this admission.
    #[serde(default)]
    pub allowance: Option<allowance::Grant>,
}

/// What a call asks to reserve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmitRequest {
    pub id: String,
    pub model: String,
    /// An upper bound of the prompt's tokens.
    pub input_tokens: u64,
    /// The output cap the call wants (the client's, or the model's default, within the model's
    /// maximum).
    pub output_tokens: u64,
    /// The smallest output cap worth running the call with: below it the call is refused
    /// rather than clamped. At most `output_tokens` is ever required.
    pub min_output_tokens: u64,
    /// Counts as a request but reserves nothing and holds no slot (token counting).
    #[serde(default)]
    pub instant: bool,
    /// The model's worst-case rates (`None`: it has no price).
    #[serde(default)]
    pub tariff: Option<Tariff>,
}

impl AdmitRequest {
    /// The whole reservation in `unit`; `None` in dollars for a model with no price.
    pub fn units(&self, unit: Unit) -> Option<u64> {
        match unit {
            Unit::Tokens => Some(self.input_tokens.saturating_add(self.output_tokens)),
            Unit::Usd => self
                .tariff
                .map(|t| t.cost(self.input_tokens, self.output_tokens)),
        }
    }
}

/// A worker's report on a call in flight: renews its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Progress {
    /// The input as the upstream reported it, once it has.
    pub input_tokens: Option<u64>,
    /// Output so far (the upstream's figure, or an upper-bound estimate of what arrived).
    pub output_tokens: u64,
    /// What the lease charges for output if the worker stops reporting; at least
    /// `output_tokens`.
    pub credit_output_tokens: u64,
}

#[cfg(test)]
mod differential_tests;
#[cfg(test)]
mod scaling_tests;
#[cfg(test)]
mod tests;
