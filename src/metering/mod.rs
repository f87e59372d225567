//! Plan limits for one key, decided exactly: the arithmetic behind the per-key Durable Object.
//!
//! One [`Meter`] per key holds the key's status and plan, its quota window and the requests of
//! the last minute plus those still in flight. The Durable Object owns one, applies every
//! admission and settlement to it one at a time (so limits hold under any concurrency) and
//! persists the [`Change`]s each step reports.
//!
//! - **Window.** Starts at the first request after the previous window ended and lasts the
//!   plan's length. A request is refused with 402 once the window's settled tokens plus the
//!   reservations of requests still in flight reach `window_tokens`.
//! - **Minute.** Requests per minute and tokens per minute over a sliding 60 s: admissions in the
//!   last 60 s, and their tokens (settled, or reserved while in flight).
//! - **Concurrency.** Requests admitted and not yet settled.
//! - **Reservation.** Admission reserves an estimate (prompt size plus requested output);
//!   settlement replaces it with the upstream's real usage. A request that failed before any
//!   output settles at zero. A reservation never settled (its worker died) is released after
//!   `stale_after_ms`, charged at its estimate.

pub mod headers;

use serde::{Deserialize, Serialize};

use crate::config::Plan;
use crate::keys::KeyStatus;

const MINUTE_MS: u64 = 60_000;

/// A plan's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub rpm: u64,
    pub tpm: u64,
    pub concurrency: u64,
    pub window_ms: u64,
    pub window_tokens: u64,
}

impl From<&Plan> for Limits {
    fn from(plan: &Plan) -> Limits {
        Limits {
            rpm: plan.rpm,
            tpm: plan.tpm,
            concurrency: plan.concurrency,
            window_ms: plan.window_ms,
            window_tokens: plan.window_tokens,
        }
    }
}

/// The current quota window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start_ms: u64,
    pub end_ms: u64,
    /// Tokens settled in this window.
    pub used_tokens: u64,
}

/// One admitted request, kept while in flight and for a minute after admission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: String,
    pub admitted_ms: u64,
    pub estimate_tokens: u64,
    /// `None` while in flight.
    pub settled_tokens: Option<u64>,
    /// Start of the window the request was admitted in (its tokens count there).
    pub window_start_ms: u64,
    pub model: String,
}

impl Reservation {
    fn in_flight(&self) -> bool {
        self.settled_tokens.is_none()
    }

    /// Whether the admission still counts toward the per-minute limits at `now_ms`.
    fn in_minute(&self, now_ms: u64) -> bool {
        self.admitted_ms.saturating_add(MINUTE_MS) > now_ms
    }

    /// Tokens this request counts for: settled, else reserved.
    fn tokens(&self) -> u64 {
        self.settled_tokens.unwrap_or(self.estimate_tokens)
    }
}

/// Usage to add to the per-model history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    pub model: String,
    pub window_start_ms: u64,
    /// UTC date of the settlement, `YYYY-MM-DD`.
    pub day: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
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
    /// A settlement to add to the usage history.
    Usage(UsageRecord),
    /// The key's status or plan.
    Identity,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    Disabled,
    Revoked,
    ModelNotAllowed,
    QuotaExhausted,
    RequestsPerMinute,
    TokensPerMinute,
    Concurrency,
}

/// A key's counters and identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    pub status: KeyStatus,
    pub plan: String,
    pub window: Option<Window>,
    /// Admissions of the last minute and every request still in flight, oldest first.
    pub reservations: Vec<Reservation>,
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
    /// Settled tokens in the window.
    pub window_used_tokens: u64,
    /// Settled plus reserved tokens in the window.
    pub window_committed_tokens: u64,
    pub minute_requests: u64,
    pub minute_tokens: u64,
    /// When a request slot frees up (the oldest admission leaves the minute); `now_ms` if
    /// none are counted.
    pub requests_reset_ms: u64,
    /// When the oldest token-counting admission leaves the minute.
    pub tokens_reset_ms: u64,
    pub in_flight: u64,
}

impl Snapshot {
    pub fn window_remaining_tokens(&self) -> u64 {
        self.limits
            .window_tokens
            .saturating_sub(self.window_committed_tokens)
    }
}

/// The answer to an admission request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// `None` when admitted.
    pub refusal: Option<Refusal>,
    /// Seconds until a retry can succeed (rate limits and quota).
    pub retry_after_s: Option<u64>,
    pub snapshot: Snapshot,
}

/// What a request asks to reserve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmitRequest {
    pub id: String,
    pub model: String,
    pub estimate_tokens: u64,
}

impl Meter {
    pub fn new(plan: &str) -> Meter {
        Meter {
            status: KeyStatus::Active,
            plan: plan.to_owned(),
            window: None,
            reservations: Vec::new(),
        }
    }

    /// Drops what no limit needs any more and releases stale reservations.
    fn prune(&mut self, now_ms: u64, stale_after_ms: u64, day: &str, changes: &mut Vec<Change>) {
        let mut stale = Vec::new();
        for reservation in &mut self.reservations {
            if reservation.in_flight()
                && now_ms.saturating_sub(reservation.admitted_ms) >= stale_after_ms
            {
                reservation.settled_tokens = Some(reservation.estimate_tokens);
                stale.push(reservation.clone());
            }
        }
        for reservation in stale {
            if let Some(window) = self.window.as_mut()
                && window.start_ms == reservation.window_start_ms
            {
                window.used_tokens = window
                    .used_tokens
                    .saturating_add(reservation.estimate_tokens);
                changes.push(Change::Window(*window));
            }
            changes.push(Change::Usage(UsageRecord {
                model: reservation.model.clone(),
                window_start_ms: reservation.window_start_ms,
                day: day.to_owned(),
                input_tokens: reservation.estimate_tokens,
                output_tokens: 0,
            }));
            changes.push(Change::Reservation(reservation));
        }
        let (keep, forget): (Vec<Reservation>, Vec<Reservation>) =
            std::mem::take(&mut self.reservations)
                .into_iter()
                .partition(|r| r.in_flight() || r.in_minute(now_ms));
        self.reservations = keep;
        if !forget.is_empty() {
            changes.push(Change::Forget(forget.into_iter().map(|r| r.id).collect()));
        }
    }

    /// The window in force at `now_ms`, starting a new one if the last has ended.
    fn current_window(
        &mut self,
        now_ms: u64,
        limits: &Limits,
        changes: &mut Vec<Change>,
    ) -> Window {
        match self.window {
            Some(window) if now_ms < window.end_ms => window,
            _ => {
                let window = Window {
                    start_ms: now_ms,
                    end_ms: now_ms.saturating_add(limits.window_ms),
                    used_tokens: 0,
                };
                self.window = Some(window);
                changes.push(Change::Window(window));
                window
            }
        }
    }

    /// Counters at `now_ms` (call after pruning).
    pub fn snapshot(&self, limits: &Limits, now_ms: u64) -> Snapshot {
        let (window_start_ms, window_end_ms, window_used_tokens) = match self.window {
            Some(w) if now_ms < w.end_ms => (w.start_ms, w.end_ms, w.used_tokens),
            _ => (now_ms, now_ms.saturating_add(limits.window_ms), 0),
        };
        let reserved_in_window: u64 = self
            .reservations
            .iter()
            .filter(|r| r.in_flight() && r.window_start_ms == window_start_ms)
            .map(|r| r.estimate_tokens)
            .sum();
        let recent: Vec<&Reservation> = self
            .reservations
            .iter()
            .filter(|r| r.in_minute(now_ms))
            .collect();
        let oldest_recent = recent.iter().map(|r| r.admitted_ms).min();
        let reset = oldest_recent.map_or(now_ms, |t| t.saturating_add(MINUTE_MS));
        Snapshot {
            plan: self.plan.clone(),
            limits: *limits,
            now_ms,
            window_start_ms,
            window_end_ms,
            window_used_tokens,
            window_committed_tokens: window_used_tokens.saturating_add(reserved_in_window),
            minute_requests: recent.len() as u64,
            minute_tokens: recent.iter().map(|r| r.tokens()).sum(),
            requests_reset_ms: reset,
            tokens_reset_ms: reset,
            in_flight: self.reservations.iter().filter(|r| r.in_flight()).count() as u64,
        }
    }

    /// Admits or refuses one request, reserving its estimate when admitted.
    pub fn admit(
        &mut self,
        request: &AdmitRequest,
        limits: &Limits,
        model_allowed: bool,
        now_ms: u64,
        stale_after_ms: u64,
        day: &str,
    ) -> (Decision, Vec<Change>) {
        let mut changes = Vec::new();
        self.prune(now_ms, stale_after_ms, day, &mut changes);
        let refuse = |meter: &Meter, refusal: Refusal, retry_after_s: Option<u64>| Decision {
            refusal: Some(refusal),
            retry_after_s,
            snapshot: meter.snapshot(limits, now_ms),
        };
        match self.status {
            KeyStatus::Disabled => return (refuse(self, Refusal::Disabled, None), changes),
            KeyStatus::Revoked => return (refuse(self, Refusal::Revoked, None), changes),
            KeyStatus::Active => {}
        }
        if !model_allowed {
            return (refuse(self, Refusal::ModelNotAllowed, None), changes);
        }
        let window = self.current_window(now_ms, limits, &mut changes);
        let before = self.snapshot(limits, now_ms);
        let seconds_until = |at_ms: u64| at_ms.saturating_sub(now_ms).div_ceil(1000).max(1);
        if before.window_committed_tokens >= limits.window_tokens {
            let retry = seconds_until(window.end_ms);
            return (refuse(self, Refusal::QuotaExhausted, Some(retry)), changes);
        }
        if before.minute_requests >= limits.rpm {
            let retry = seconds_until(before.requests_reset_ms);
            return (
                refuse(self, Refusal::RequestsPerMinute, Some(retry)),
                changes,
            );
        }
        if before.minute_tokens >= limits.tpm {
            let retry = seconds_until(self.tokens_free_at(limits, now_ms));
            return (refuse(self, Refusal::TokensPerMinute, Some(retry)), changes);
        }
        if before.in_flight >= limits.concurrency {
            return (refuse(self, Refusal::Concurrency, Some(1)), changes);
        }
        let reservation = Reservation {
            id: request.id.clone(),
            admitted_ms: now_ms,
            estimate_tokens: request.estimate_tokens,
            settled_tokens: None,
            window_start_ms: window.start_ms,
            model: request.model.clone(),
        };
        self.reservations.push(reservation.clone());
        changes.push(Change::Reservation(reservation));
        let decision = Decision {
            refusal: None,
            retry_after_s: None,
            snapshot: self.snapshot(limits, now_ms),
        };
        (decision, changes)
    }

    /// When enough tokens leave the minute for the total to drop below `tpm`.
    fn tokens_free_at(&self, limits: &Limits, now_ms: u64) -> u64 {
        let mut recent: Vec<&Reservation> = self
            .reservations
            .iter()
            .filter(|r| r.in_minute(now_ms))
            .collect();
        let mut total: u64 = recent.iter().map(|r| r.tokens()).sum();
        recent.sort_by_key(|r| r.admitted_ms);
        for reservation in recent {
            total = total.saturating_sub(reservation.tokens());
            if total < limits.tpm {
                return reservation.admitted_ms.saturating_add(MINUTE_MS);
            }
        }
        now_ms
    }

    /// Replaces a reservation's estimate with the upstream's usage.
    pub fn settle(
        &mut self,
        id: &str,
        input_tokens: u64,
        output_tokens: u64,
        now_ms: u64,
        day: &str,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        let total = input_tokens.saturating_add(output_tokens);
        let Some(reservation) = self
            .reservations
            .iter_mut()
            .find(|r| r.id == id && r.in_flight())
        else {
            return changes;
        };
        reservation.settled_tokens = Some(total);
        let settled = reservation.clone();
        if let Some(window) = self.window.as_mut()
            && window.start_ms == settled.window_start_ms
        {
            window.used_tokens = window.used_tokens.saturating_add(total);
            changes.push(Change::Window(*window));
        }
        if total > 0 {
            changes.push(Change::Usage(UsageRecord {
                model: settled.model.clone(),
                window_start_ms: settled.window_start_ms,
                day: day.to_owned(),
                input_tokens,
                output_tokens,
            }));
        }
        if now_ms.saturating_sub(settled.admitted_ms) >= MINUTE_MS {
            self.reservations.retain(|r| r.id != id);
            changes.push(Change::Forget(vec![settled.id]));
        } else {
            changes.push(Change::Reservation(settled));
        }
        changes
    }

    /// Counters for display, after releasing stale reservations.
    pub fn observe(
        &mut self,
        limits: &Limits,
        now_ms: u64,
        stale_after_ms: u64,
        day: &str,
    ) -> (Snapshot, Vec<Change>) {
        let mut changes = Vec::new();
        self.prune(now_ms, stale_after_ms, day, &mut changes);
        (self.snapshot(limits, now_ms), changes)
    }
}

#[cfg(test)]
mod tests;
