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
//!   output settles at zero.
//! - **Lease.** An admitted request holds a lease that its worker renews with checkpoints of the
//!   usage so far. A request whose worker stopped reporting (client gone and the invocation
//!   cancelled, worker evicted) is settled when its lease runs out, at its last checkpoint. That
//!   settlement is provisional: a final settlement arriving later replaces it.

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

/// How long a reservation settled by its lease running out stays open to a late final
/// settlement.
const PROVISIONAL_KEEP_MS: u64 = 3_600_000;

/// One admitted request, kept while in flight and for a minute after admission (an hour when
/// its settlement was provisional).
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
    /// Usage reported by the last checkpoint.
    pub progress_input_tokens: u64,
    pub progress_output_tokens: u64,
    /// The worker must report again before this time.
    pub lease_until_ms: u64,
    /// Settled because the lease ran out; a final settlement may still correct it.
    pub provisional: bool,
}

impl Reservation {
    fn in_flight(&self) -> bool {
        self.settled_tokens.is_none()
    }

    /// Whether the admission still counts toward the per-minute limits at `now_ms`.
    fn in_minute(&self, now_ms: u64) -> bool {
        self.admitted_ms.saturating_add(MINUTE_MS) > now_ms
    }

    fn progress_tokens(&self) -> u64 {
        self.progress_input_tokens
            .saturating_add(self.progress_output_tokens)
    }

    /// Tokens this request counts for: settled, else reserved (or used so far, if more).
    fn tokens(&self) -> u64 {
        self.settled_tokens
            .unwrap_or_else(|| self.estimate_tokens.max(self.progress_tokens()))
    }

    /// Whether the reservation is still needed at `now_ms`.
    fn needed(&self, now_ms: u64) -> bool {
        self.in_flight()
            || self.in_minute(now_ms)
            || self.provisional && self.admitted_ms.saturating_add(PROVISIONAL_KEEP_MS) > now_ms
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

    /// Settles the requests whose lease ran out, at their last checkpoint, and drops what no
    /// limit needs any more.
    fn prune(&mut self, now_ms: u64, day: &str, changes: &mut Vec<Change>) {
        let expired: Vec<String> = self
            .reservations
            .iter()
            .filter(|r| r.in_flight() && r.lease_until_ms <= now_ms)
            .map(|r| r.id.clone())
            .collect();
        for id in expired {
            if let Some(r) = self.reservations.iter_mut().find(|r| r.id == id) {
                r.provisional = true;
                let (input, output) = (r.progress_input_tokens, r.progress_output_tokens);
                self.charge(&id, input, output, day, changes);
            }
        }
        let (keep, forget): (Vec<Reservation>, Vec<Reservation>) =
            std::mem::take(&mut self.reservations)
                .into_iter()
                .partition(|r| r.needed(now_ms));
        self.reservations = keep;
        if !forget.is_empty() {
            changes.push(Change::Forget(forget.into_iter().map(|r| r.id).collect()));
        }
    }

    /// Sets a reservation's charge to `input + output` tokens, adding the difference from what
    /// it was charged before to its window and to the usage history.
    fn charge(&mut self, id: &str, input: u64, output: u64, day: &str, changes: &mut Vec<Change>) {
        let Some(reservation) = self.reservations.iter_mut().find(|r| r.id == id) else {
            return;
        };
        let (input_before, output_before) = match reservation.settled_tokens {
            Some(_) => (
                reservation.progress_input_tokens,
                reservation.progress_output_tokens,
            ),
            None => (0, 0),
        };
        let total = input.saturating_add(output);
        let before = reservation.settled_tokens.unwrap_or(0);
        reservation.settled_tokens = Some(total);
        reservation.progress_input_tokens = input;
        reservation.progress_output_tokens = output;
        let settled = reservation.clone();
        if let Some(window) = self.window.as_mut()
            && window.start_ms == settled.window_start_ms
        {
            window.used_tokens = window
                .used_tokens
                .saturating_sub(before)
                .saturating_add(total);
            changes.push(Change::Window(*window));
        }
        let (added_input, added_output) = (
            input.saturating_sub(input_before),
            output.saturating_sub(output_before),
        );
        if added_input > 0 || added_output > 0 {
            changes.push(Change::Usage(UsageRecord {
                model: settled.model.clone(),
                window_start_ms: settled.window_start_ms,
                day: day.to_owned(),
                input_tokens: added_input,
                output_tokens: added_output,
                // A correction of a provisional settlement is not another request.
                new_request: input_before == 0 && output_before == 0,
            }));
        }
        changes.push(Change::Reservation(settled));
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
            .map(Reservation::tokens)
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

    /// Admits or refuses one request, reserving its estimate when admitted. The request holds
    /// a lease of `lease_ms`, renewed by [`Meter::checkpoint`].
    pub fn admit(
        &mut self,
        request: &AdmitRequest,
        limits: &Limits,
        model_allowed: bool,
        now_ms: u64,
        lease_ms: u64,
        day: &str,
    ) -> (Decision, Vec<Change>) {
        let mut changes = Vec::new();
        self.prune(now_ms, day, &mut changes);
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
            progress_input_tokens: 0,
            progress_output_tokens: 0,
            lease_until_ms: now_ms.saturating_add(lease_ms),
            provisional: false,
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

    /// Records the usage so far of a request in flight and renews its lease.
    pub fn checkpoint(
        &mut self,
        id: &str,
        input_tokens: u64,
        output_tokens: u64,
        now_ms: u64,
        lease_ms: u64,
    ) -> Vec<Change> {
        let Some(reservation) = self
            .reservations
            .iter_mut()
            .find(|r| r.id == id && r.in_flight())
        else {
            return Vec::new();
        };
        reservation.progress_input_tokens = input_tokens;
        reservation.progress_output_tokens = output_tokens;
        reservation.lease_until_ms = now_ms.saturating_add(lease_ms);
        vec![Change::Reservation(reservation.clone())]
    }

    /// Replaces a reservation's estimate (or its provisional settlement) with the upstream's
    /// usage. Settling a request that is already final changes nothing.
    pub fn settle(
        &mut self,
        id: &str,
        input_tokens: u64,
        output_tokens: u64,
        now_ms: u64,
        day: &str,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        let open = self
            .reservations
            .iter_mut()
            .find(|r| r.id == id && (r.in_flight() || r.provisional));
        let Some(reservation) = open else {
            return changes;
        };
        reservation.provisional = false;
        self.charge(id, input_tokens, output_tokens, day, &mut changes);
        let expired = self
            .reservations
            .iter()
            .find(|r| r.id == id)
            .is_some_and(|r| !r.needed(now_ms));
        if expired {
            self.reservations.retain(|r| r.id != id);
            changes.push(Change::Forget(vec![id.to_owned()]));
        }
        changes
    }

    /// Counters for display, after settling requests whose lease ran out.
    pub fn observe(&mut self, limits: &Limits, now_ms: u64, day: &str) -> (Snapshot, Vec<Change>) {
        let mut changes = Vec::new();
        self.prune(now_ms, day, &mut changes);
        (self.snapshot(limits, now_ms), changes)
    }
}

#[cfg(test)]
mod tests;
