//! A key's meter: admission, checkpoints, settlement and the counters behind every limit (the
//! rules are in the module doc of [`crate::metering`]).

use super::reservation::{Charged, Reservation};
use super::{
    AdmitRequest, Change, Decision, INITIAL_OUTPUT_CREDIT_TOKENS, Limits, MINUTE_MS, Progress,
    Refusal, Snapshot, UsageRecord, Window,
};
use crate::keys::KeyStatus;

/// A key's counters and identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    pub status: KeyStatus,
    pub plan: String,
    pub window: Option<Window>,
    /// Admissions of the last minute, calls still in flight, and provisional charges still
    /// open to correction, oldest first.
    pub reservations: Vec<Reservation>,
}

/// `a + b` for counters that must never wrap.
fn sum(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0, u64::saturating_add)
}

/// `value` as a signed delta for the usage history (which SQLite stores as i64).
fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
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

    /// Brings the counters up to `now_ms`: a window that ended while calls were in flight is
    /// followed by a new one that they carry into; calls whose lease ran out are charged; rows
    /// no limit needs any more are forgotten.
    fn prune(&mut self, limits: &Limits, now_ms: u64, day: &str, changes: &mut Vec<Change>) {
        self.carry_into_new_window(limits, now_ms, changes);
        let lapsed: Vec<(String, Charged)> = self
            .reservations
            .iter()
            .filter(|r| r.in_flight() && r.lease_until_ms <= now_ms)
            .map(|r| (r.id.clone(), r.lapse_charge()))
            .collect();
        for (id, charged) in lapsed {
            if let Some(r) = self.reservations.iter_mut().find(|r| r.id == id) {
                r.provisional = true;
            }
            self.charge(&id, charged, day, changes);
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

    /// When the window has ended and calls admitted in it are still in flight, a new window
    /// starts now and those calls count in it: a call cannot escape the quota by straddling
    /// the end of a window.
    fn carry_into_new_window(&mut self, limits: &Limits, now_ms: u64, changes: &mut Vec<Change>) {
        let Some(window) = self.window else {
            return;
        };
        if now_ms < window.end_ms || !self.reservations.iter().any(Reservation::in_flight) {
            return;
        }
        let next = Window {
            start_ms: now_ms,
            end_ms: now_ms.saturating_add(limits.window_ms),
            used_tokens: 0,
        };
        self.window = Some(next);
        changes.push(Change::Window(next));
        for reservation in self.reservations.iter_mut().filter(|r| r.in_flight()) {
            reservation.window_start_ms = next.start_ms;
            changes.push(Change::Reservation(reservation.clone()));
        }
    }

    /// Sets a call's charge, adding the difference from what it was charged before (positive
    /// or negative) to its window and to the usage history.
    fn charge(&mut self, id: &str, charged: Charged, day: &str, changes: &mut Vec<Change>) {
        let Some(reservation) = self.reservations.iter_mut().find(|r| r.id == id) else {
            return;
        };
        let before = reservation.charged;
        reservation.charged = Some(charged);
        let settled = reservation.clone();
        let before_total = before.map_or(0, |b| b.total());
        if let Some(window) = self.window.as_mut()
            && window.start_ms == settled.window_start_ms
        {
            window.used_tokens = window
                .used_tokens
                .saturating_sub(before_total)
                .saturating_add(charged.total());
            changes.push(Change::Window(*window));
        }
        // A correction of an earlier (provisional) charge is not another request.
        let first = before.is_none();
        let before = before.unwrap_or_default();
        let input_delta = signed(charged.input_tokens).saturating_sub(signed(before.input_tokens));
        let output_delta =
            signed(charged.output_tokens).saturating_sub(signed(before.output_tokens));
        if input_delta != 0 || output_delta != 0 {
            changes.push(Change::Usage(UsageRecord {
                model: settled.model.clone(),
                window_start_ms: settled.window_start_ms,
                day: day.to_owned(),
                input_tokens: input_delta,
                output_tokens: output_delta,
                new_request: first,
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
        let reserved_in_window = sum(self
            .reservations
            .iter()
            .filter(|r| r.in_flight() && r.window_start_ms == window_start_ms)
            .map(Reservation::tokens));
        let recent = || self.reservations.iter().filter(|r| r.in_minute(now_ms));
        let oldest_recent = recent().map(|r| r.admitted_ms).min();
        let reset = oldest_recent.map_or(now_ms, |t| t.saturating_add(MINUTE_MS));
        Snapshot {
            plan: self.plan.clone(),
            limits: *limits,
            now_ms,
            window_start_ms,
            window_end_ms,
            window_used_tokens,
            window_committed_tokens: window_used_tokens.saturating_add(reserved_in_window),
            minute_requests: recent().count() as u64,
            minute_tokens: sum(recent().map(Reservation::tokens)),
            requests_reset_ms: reset,
            tokens_reset_ms: reset,
            in_flight: self.reservations.iter().filter(|r| r.in_flight()).count() as u64,
        }
    }

    /// Admits or refuses one call, reserving its input estimate plus its output cap (lowered
    /// to fit what is left, down to the call's smallest useful answer). The call holds a lease
    /// of `lease_ms`, renewed by [`Meter::checkpoint`].
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
        self.prune(limits, now_ms, day, &mut changes);
        let refuse = |meter: &Meter, refusal: Refusal, retry: Option<u64>, left: u64| Decision {
            refusal: Some(refusal),
            retry_after_s: retry,
            output_tokens: left,
            clamped: false,
            snapshot: meter.snapshot(limits, now_ms),
        };
        match self.status {
            KeyStatus::Disabled => return (refuse(self, Refusal::Disabled, None, 0), changes),
            KeyStatus::Revoked => return (refuse(self, Refusal::Revoked, None, 0), changes),
            KeyStatus::Active => {}
        }
        if !model_allowed {
            return (refuse(self, Refusal::ModelNotAllowed, None, 0), changes);
        }
        let window = self.current_window(now_ms, limits, &mut changes);
        let before = self.snapshot(limits, now_ms);
        let seconds_until = |at_ms: u64| at_ms.saturating_sub(now_ms).div_ceil(1000).max(1);
        let (input, wanted) = if request.instant {
            (0, 0)
        } else {
            (request.input_tokens, request.output_tokens)
        };
        // The least this call can run with.
        let needed = input.saturating_add(request.min_output_tokens.min(wanted));
        let window_room = before.window_remaining_tokens();
        if needed > limits.window_tokens {
            let refused = refuse(self, Refusal::LargerThanWindow, None, window_room);
            return (refused, changes);
        }
        if needed > window_room {
            let retry = Some(seconds_until(window.end_ms));
            let refused = refuse(self, Refusal::QuotaExhausted, retry, window_room);
            return (refused, changes);
        }
        if before.minute_requests >= limits.rpm {
            let retry = Some(seconds_until(before.requests_reset_ms));
            return (refuse(self, Refusal::RequestsPerMinute, retry, 0), changes);
        }
        let minute_room = before.minute_remaining_tokens();
        if needed > limits.tpm {
            let refused = refuse(self, Refusal::LargerThanMinute, None, minute_room);
            return (refused, changes);
        }
        if needed > minute_room {
            let retry = Some(seconds_until(self.tokens_free_at(limits, now_ms, needed)));
            let refused = refuse(self, Refusal::TokensPerMinute, retry, minute_room);
            return (refused, changes);
        }
        if !request.instant && before.in_flight >= limits.concurrency {
            return (refuse(self, Refusal::Concurrency, Some(1), 0), changes);
        }
        let room = window_room.min(minute_room);
        let output_cap = wanted.min(room.saturating_sub(input));
        let reservation = Reservation {
            id: request.id.clone(),
            model: request.model.clone(),
            admitted_ms: now_ms,
            window_start_ms: window.start_ms,
            input_estimate_tokens: input,
            output_cap_tokens: output_cap,
            abandoned_input_tokens: 0,
            progress: Progress {
                credit_output_tokens: INITIAL_OUTPUT_CREDIT_TOKENS.min(output_cap),
                ..Progress::default()
            },
            lease_until_ms: now_ms.saturating_add(lease_ms),
            charged: request.instant.then_some(Charged::default()),
            provisional: false,
        };
        self.reservations.retain(|r| r.id != request.id);
        self.reservations.push(reservation.clone());
        changes.push(Change::Reservation(reservation));
        let decision = Decision {
            refusal: None,
            retry_after_s: None,
            output_tokens: output_cap,
            clamped: output_cap < wanted,
            snapshot: self.snapshot(limits, now_ms),
        };
        (decision, changes)
    }

    /// When enough tokens leave the minute for `needed` more to fit under `tpm`.
    fn tokens_free_at(&self, limits: &Limits, now_ms: u64, needed: u64) -> u64 {
        let mut recent: Vec<&Reservation> = self
            .reservations
            .iter()
            .filter(|r| r.in_minute(now_ms))
            .collect();
        let mut total = sum(recent.iter().map(|r| r.tokens()));
        recent.sort_by_key(|r| r.admitted_ms);
        for reservation in recent {
            total = total.saturating_sub(reservation.tokens());
            if limits.tpm.saturating_sub(total) >= needed {
                return reservation.admitted_ms.saturating_add(MINUTE_MS);
            }
        }
        now_ms
    }

    /// Records a call's progress and renews its lease. Figures only grow: a late or repeated
    /// checkpoint never lowers what the lease would charge.
    pub fn checkpoint(
        &mut self,
        id: &str,
        progress: Progress,
        limits: &Limits,
        now_ms: u64,
        lease_ms: u64,
        day: &str,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        self.prune(limits, now_ms, day, &mut changes);
        let Some(reservation) = self
            .reservations
            .iter_mut()
            .find(|r| r.id == id && r.in_flight())
        else {
            return changes;
        };
        let known = &mut reservation.progress;
        known.input_tokens = progress.input_tokens.or(known.input_tokens);
        known.output_tokens = known.output_tokens.max(progress.output_tokens);
        known.credit_output_tokens = known
            .credit_output_tokens
            .max(progress.credit_output_tokens)
            .max(known.output_tokens);
        reservation.lease_until_ms = now_ms.saturating_add(lease_ms);
        changes.push(Change::Reservation(reservation.clone()));
        changes
    }

    /// Charges a call the upstream's usage, replacing its reservation (or its provisional
    /// charge). Settling a call that is already final changes nothing, so a retried settlement
    /// is harmless.
    pub fn settle(
        &mut self,
        id: &str,
        charged: Charged,
        limits: &Limits,
        now_ms: u64,
        day: &str,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        self.prune(limits, now_ms, day, &mut changes);
        let open = self
            .reservations
            .iter_mut()
            .find(|r| r.id == id && (r.in_flight() || r.provisional));
        let Some(reservation) = open else {
            return changes;
        };
        reservation.provisional = false;
        let charged = reservation.final_charge(charged);
        self.charge(id, charged, day, &mut changes);
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

    /// Adds `tokens` to a call in flight, for an upstream attempt the gateway abandoned after
    /// the upstream took it on (it is charged whatever the call's outcome), if the window and
    /// the minute have room for them; renews the call's lease. `Err` names the limit that has
    /// no room (the gateway then stops trying other upstreams), or `None` for a call not in
    /// flight.
    pub fn extend(
        &mut self,
        id: &str,
        tokens: u64,
        limits: &Limits,
        now_ms: u64,
        lease_ms: u64,
        day: &str,
    ) -> (Result<(), Option<Refusal>>, Vec<Change>) {
        let mut changes = Vec::new();
        self.prune(limits, now_ms, day, &mut changes);
        let before = self.snapshot(limits, now_ms);
        let Some(reservation) = self
            .reservations
            .iter_mut()
            .find(|r| r.id == id && r.in_flight())
        else {
            return (Err(None), changes);
        };
        if tokens > before.window_remaining_tokens() {
            return (Err(Some(Refusal::QuotaExhausted)), changes);
        }
        // The minute counts the call if it was admitted within it.
        if reservation.in_minute(now_ms) && tokens > before.minute_remaining_tokens() {
            return (Err(Some(Refusal::TokensPerMinute)), changes);
        }
        reservation.abandoned_input_tokens =
            reservation.abandoned_input_tokens.saturating_add(tokens);
        reservation.lease_until_ms = now_ms.saturating_add(lease_ms);
        changes.push(Change::Reservation(reservation.clone()));
        (Ok(()), changes)
    }

    /// When the first lease of a call in flight runs out (the owner wakes then, so a call whose
    /// worker died is charged without waiting for the key's next request).
    pub fn next_lease_end_ms(&self) -> Option<u64> {
        self.reservations
            .iter()
            .filter(|r| r.in_flight())
            .map(|r| r.lease_until_ms)
            .min()
    }

    /// Counters for display, after bringing them up to `now_ms`.
    pub fn observe(&mut self, limits: &Limits, now_ms: u64, day: &str) -> (Snapshot, Vec<Change>) {
        let mut changes = Vec::new();
        self.prune(limits, now_ms, day, &mut changes);
        (self.snapshot(limits, now_ms), changes)
    }
}
