//! The meter as it was before its calls were indexed (kept for tests only): every message
//! scans the whole list of calls. It is the reference the indexed [`super::Meter`] is checked
//! against, operation by operation, in `differential_tests`; do not change it except to follow
//! an intended change of the meter's rules (as for the one change since: a registration's
//! admission time is bounded without `clamp`, which panicked when the clock went back).

use super::allowance::{self, ALLOWANCE_TTL_MS, Allowance, Isolate};
use super::cost::Unit;
use super::credits::{Budget, Credits};
use super::reservation::{Charged, Reservation};
use super::{
    AdmitRequest, Change, Decision, INITIAL_OUTPUT_CREDIT_TOKENS, Limits, MINUTE_MS, Progress,
    Refusal, SetAside, Snapshot, UsageRecord, Window,
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
    /// Capacity set aside for isolates (see [`allowance`]); expired ones are forgotten.
    pub allowances: Vec<Allowance>,
    /// The key's balance, spend limits and spend (see [`super::credits`]).
    pub credits: Credits,
}

/// The refusal for a money budget that cannot cover a call.
fn budget_refusal(budget: Budget) -> Refusal {
    match budget {
        Budget::Balance => Refusal::BalanceExhausted,
        Budget::Daily => Refusal::DailySpendLimit,
        Budget::Monthly => Refusal::MonthlySpendLimit,
    }
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
            allowances: Vec::new(),
            credits: Credits::default(),
        }
    }

    /// The most the calls in flight may still cost, in picodollars.
    fn in_flight_cost(&self) -> u64 {
        sum(self
            .reservations
            .iter()
            .filter(|r| r.in_flight())
            .map(Reservation::cost))
    }

    /// The first money budget (balance, daily or monthly spend) that cannot cover `cost` more
    /// picodollars, with when it resets.
    fn short_budget(&self, cost: u64) -> Option<(Refusal, Option<u64>, u64)> {
        self.credits
            .rooms(self.in_flight_cost())
            .into_iter()
            .find(|(_, room, _)| cost > *room)
            .map(|(budget, room, reset)| (budget_refusal(budget), reset, room))
    }

    /// Brings the counters up to `now_ms`: a window that ended while calls were in flight is
    /// followed by a new one that they carry into; calls whose lease ran out are charged; rows
    /// no limit needs any more are forgotten.
    fn prune(&mut self, limits: &Limits, now_ms: u64, day: &str, changes: &mut Vec<Change>) {
        if self.credits.roll(limits, now_ms) {
            changes.push(Change::Credits);
        }
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
        // In place: a busy key keeps a minute of calls, and this runs on every call.
        let mut forget = Vec::new();
        self.reservations.retain(|r| {
            let needed = r.needed(now_ms);
            if !needed {
                forget.push(r.id.clone());
            }
            needed
        });
        if !forget.is_empty() {
            changes.push(Change::Forget(forget));
        }
        let mut expired = Vec::new();
        self.allowances.retain(|a| {
            let live = a.live(now_ms);
            if !live {
                expired.push(a.id.clone());
            }
            live
        });
        if !expired.is_empty() {
            changes.push(Change::ForgetAllowances(expired));
        }
    }

    /// When the window has ended and calls admitted in it are still in flight, a new window
    /// starts now and those calls count in it: a call cannot escape the quota by straddling
    /// the end of a window.
    fn carry_into_new_window(&mut self, limits: &Limits, now_ms: u64, changes: &mut Vec<Change>) {
        let Some(window) = self.window else {
            return;
        };
        let carried = self.reservations.iter().any(Reservation::in_flight)
            || self.allowances.iter().any(|a| a.live(now_ms));
        if now_ms < window.end_ms || !carried {
            return;
        }
        let (start_ms, end_ms) = limits.window_at(now_ms);
        let next = Window {
            start_ms,
            end_ms,
            used_tokens: 0,
            used_cost: 0,
        };
        self.window = Some(next);
        changes.push(Change::Window(next));
        for reservation in self.reservations.iter_mut().filter(|r| r.in_flight()) {
            reservation.window_start_ms = next.start_ms;
            changes.push(Change::Reservation(reservation.clone()));
        }
        for allowance in self.allowances.iter_mut().filter(|a| a.live(now_ms)) {
            allowance.window_start_ms = next.start_ms;
            changes.push(Change::Allowance(allowance.clone()));
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
            window.used_cost = window
                .used_cost
                .saturating_sub(before.map_or(0, |b| b.cost))
                .saturating_add(charged.cost);
            changes.push(Change::Window(*window));
        }
        let before_cost = before.map_or(0, |b| b.cost);
        if before_cost != charged.cost {
            self.credits.charge(before_cost, charged.cost);
            changes.push(Change::Credits);
        }
        // A correction of an earlier (provisional) charge is not another request.
        let first = before.is_none();
        let before = before.unwrap_or_default();
        let input_delta = signed(charged.input_tokens).saturating_sub(signed(before.input_tokens));
        let output_delta =
            signed(charged.output_tokens).saturating_sub(signed(before.output_tokens));
        let cost_delta = signed(charged.cost).saturating_sub(signed(before.cost));
        if input_delta != 0 || output_delta != 0 || cost_delta != 0 {
            changes.push(Change::Usage(UsageRecord {
                model: settled.model.clone(),
                window_start_ms: settled.window_start_ms,
                day: day.to_owned(),
                input_tokens: input_delta,
                output_tokens: output_delta,
                cost_pico: cost_delta,
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
                let (start_ms, end_ms) = limits.window_at(now_ms);
                let window = Window {
                    start_ms,
                    end_ms,
                    used_tokens: 0,
                    used_cost: 0,
                };
                self.window = Some(window);
                changes.push(Change::Window(window));
                window
            }
        }
    }

    /// Counters at `now_ms` (call after pruning). Live allowances count as used: their
    /// requests and tokens in the minute (and their tokens in their window) until they expire,
    /// their slots as held.
    pub fn snapshot(&self, limits: &Limits, now_ms: u64) -> Snapshot {
        let unit = limits.unit;
        let (window_start_ms, window_end_ms, window_used_tokens, window_used_cost) =
            match self.window {
                Some(w) if now_ms < w.end_ms => (w.start_ms, w.end_ms, w.used(unit), w.used_cost),
                _ => {
                    let (start, end) = limits.window_at(now_ms);
                    (start, end, 0, 0)
                }
            };
        let live = || self.allowances.iter().filter(|a| a.live(now_ms));
        let reserved_in_window = sum(self
            .reservations
            .iter()
            .filter(|r| r.in_flight() && r.window_start_ms == window_start_ms)
            .map(|r| r.units(unit)));
        let set_aside_in_window = sum(live()
            .filter(|a| a.window_start_ms == window_start_ms)
            .map(Allowance::tokens_left));
        let recent = || self.reservations.iter().filter(|r| r.in_minute(now_ms));
        let oldest_recent = recent().map(|r| r.admitted_ms).min();
        let mut reset = oldest_recent.map_or(now_ms, |t| t.saturating_add(MINUTE_MS));
        if let Some(expiry) = live()
            .filter(|a| a.requests_left() > 0)
            .map(|a| a.expires_ms)
            .min()
        {
            reset = if oldest_recent.is_some() {
                reset.min(expiry)
            } else {
                expiry
            };
        }
        let running = || self.reservations.iter().filter(|r| r.in_flight());
        let under_live_allowance = |r: &&Reservation| {
            r.allowance
                .as_ref()
                .is_some_and(|id| live().any(|a| &a.id == id))
        };
        Snapshot {
            plan: self.plan.clone(),
            limits: *limits,
            now_ms,
            window_start_ms,
            window_end_ms,
            window_used_tokens,
            window_committed_tokens: window_used_tokens.saturating_add(reserved_in_window),
            window_used_cost,
            minute_requests: recent().count() as u64,
            minute_tokens: sum(recent().map(|r| r.units(unit))),
            requests_reset_ms: reset,
            tokens_reset_ms: reset,
            in_flight: running().count() as u64,
            slots_held: (running().filter(|r| !under_live_allowance(r)).count() as u64)
                .saturating_add(sum(live().map(|a| a.slots))),
            set_aside: SetAside {
                requests: sum(live().map(Allowance::requests_left)),
                tokens: sum(live().map(Allowance::tokens_left)),
                window_tokens: set_aside_in_window,
            },
            credits: self.credits.clone(),
            in_flight_cost: self.in_flight_cost(),
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
        self.admit_for(request, limits, model_allowed, now_ms, lease_ms, day, None)
    }

    /// [`Meter::admit`] for a call from an isolate that may hold (or want) an allowance.
    #[allow(clippy::too_many_arguments)]
    pub fn admit_for(
        &mut self,
        request: &AdmitRequest,
        limits: &Limits,
        model_allowed: bool,
        now_ms: u64,
        lease_ms: u64,
        day: &str,
        isolate: Option<&Isolate>,
    ) -> (Decision, Vec<Change>) {
        let mut changes = Vec::new();
        self.prune(limits, now_ms, day, &mut changes);
        let refuse = |meter: &Meter, refusal: Refusal, retry: Option<u64>, left: u64| Decision {
            refusal: Some(refusal),
            retry_after_s: retry,
            output_tokens: left,
            clamped: false,
            // A refusal's figures count what allowances hold as used: it is why the call was
            // refused (their calls may not have registered yet).
            snapshot: meter.snapshot(limits, now_ms).counting_set_aside(),
            from_allowance: None,
            allowance: None,
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
        if let Some(isolate) = isolate {
            self.release_allowance(isolate, now_ms, &mut changes);
        }
        // A call its isolate sent before it learned of its allowance: the allowance's capacity
        // was set aside for exactly such calls.
        if let Some(isolate) = isolate
            && !request.instant
            && let Some(decision) = self.admit_from_unknown_allowance(
                request,
                isolate,
                limits,
                now_ms,
                lease_ms,
                &mut changes,
            )
        {
            return (decision, changes);
        }
        let before = self.snapshot(limits, now_ms);
        let seconds_until = |at_ms: u64| at_ms.saturating_sub(now_ms).div_ceil(1000).max(1);
        let (input, wanted) = if request.instant {
            (0, 0)
        } else {
            (request.input_tokens, request.output_tokens)
        };
        let priced = limits.unit == Unit::Usd || self.credits.limited();
        if priced && !request.instant && request.tariff.is_none() {
            return (refuse(self, Refusal::NoPrice, None, 0), changes);
        }
        let tariff = request.tariff.filter(|_| !request.instant);
        let min_output = request.min_output_tokens.min(wanted);
        // What `output` tokens after the input count for in the plan's unit, and the largest
        // output that fits in `room` of it.
        let units = |output: u64| match (limits.unit, tariff) {
            (Unit::Usd, Some(t)) => t.cost(input, output),
            _ => input.saturating_add(output),
        };
        let fit = |room: u64| match (limits.unit, tariff) {
            (Unit::Usd, Some(t)) => t.max_output(room, input),
            _ => room.saturating_sub(input),
        };
        // The least this call can run with.
        let needed = units(min_output);
        let window_room = before.window_room();
        if needed > limits.window_tokens {
            let refused = refuse(self, Refusal::LargerThanWindow, None, window_room);
            return (refused, changes);
        }
        if needed > window_room {
            let retry = Some(seconds_until(window.end_ms));
            let refused = refuse(self, Refusal::QuotaExhausted, retry, window_room);
            return (refused, changes);
        }
        // The balance and the spend limits, in dollars.
        let mut money_fit = u64::MAX;
        if let Some(t) = tariff
            && self.credits.limited()
        {
            if let Some((refusal, reset, room)) = self.short_budget(t.cost(input, min_output)) {
                let retry = reset.map(seconds_until);
                return (refuse(self, refusal, retry, room), changes);
            }
            for (_, room, _) in self.credits.rooms(self.in_flight_cost()) {
                money_fit = money_fit.min(t.max_output(room, input));
            }
        }
        if before.requests_counted() >= limits.rpm {
            let retry = Some(seconds_until(before.requests_reset_ms));
            return (refuse(self, Refusal::RequestsPerMinute, retry, 0), changes);
        }
        let minute_room = before.minute_room();
        if needed > limits.tpm {
            let refused = refuse(self, Refusal::LargerThanMinute, None, minute_room);
            return (refused, changes);
        }
        if needed > minute_room {
            let retry = Some(seconds_until(self.tokens_free_at(limits, now_ms, needed)));
            let refused = refuse(self, Refusal::TokensPerMinute, retry, minute_room);
            return (refused, changes);
        }
        if !request.instant && before.slots_held >= limits.concurrency {
            return (refuse(self, Refusal::Concurrency, Some(1), 0), changes);
        }
        let output_cap = wanted
            .min(fit(window_room))
            .min(fit(minute_room))
            .min(money_fit);
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
            allowance: None,
            tariff,
        };
        let reserved = reservation.units(limits.unit);
        self.reservations.retain(|r| r.id != request.id);
        self.reservations.push(reservation.clone());
        changes.push(Change::Reservation(reservation));
        let allowance = isolate
            .filter(|i| i.wants_allowance && !request.instant)
            .and_then(|i| self.grant_allowance(i, limits, now_ms, reserved, &mut changes));
        let decision = Decision {
            refusal: None,
            retry_after_s: None,
            output_tokens: output_cap,
            clamped: output_cap < wanted,
            snapshot: self.snapshot(limits, now_ms),
            from_allowance: None,
            allowance,
        };
        (decision, changes)
    }

    /// Gives back what the isolate's allowance holds beyond its unregistered calls, if the
    /// isolate says so.
    fn release_allowance(&mut self, isolate: &Isolate, now_ms: u64, changes: &mut Vec<Change>) {
        let (Some(known), Some(pending)) = (&isolate.knows, isolate.release) else {
            return;
        };
        let running = self.running_under(known);
        if let Some(allowance) = self
            .allowances
            .iter_mut()
            .find(|a| &a.id == known && a.isolate == isolate.id && a.live(now_ms))
        {
            allowance.release(pending, running);
            changes.push(Change::Allowance(allowance.clone()));
        }
    }

    /// The live allowance `isolate` holds, if any (a released one no longer counts: the
    /// isolate gave it back).
    fn allowance_of(&self, isolate: &str, now_ms: u64) -> Option<usize> {
        self.allowances
            .iter()
            .position(|a| a.isolate == isolate && a.live(now_ms) && !a.released)
    }

    /// Calls in flight that were admitted from allowance `id`.
    fn running_under(&self, id: &str) -> u64 {
        self.reservations
            .iter()
            .filter(|r| r.in_flight() && r.allowance.as_deref() == Some(id))
            .count() as u64
    }

    /// Admits `request` from the allowance its isolate holds but did not know of when it sent
    /// the call, if that allowance has room for the call's whole reservation.
    fn admit_from_unknown_allowance(
        &mut self,
        request: &AdmitRequest,
        isolate: &Isolate,
        limits: &Limits,
        now_ms: u64,
        lease_ms: u64,
        changes: &mut Vec<Change>,
    ) -> Option<Decision> {
        let index = self.allowance_of(&isolate.id, now_ms)?;
        let id = self.allowances.get(index)?.id.clone();
        if isolate.knows.as_deref() == Some(id.as_str()) || self.credits.limited() {
            return None;
        }
        let tokens = request.units(limits.unit)?;
        let running = self.running_under(&id);
        let allowance = self.allowances.get_mut(index)?;
        if !allowance.take(tokens, running) {
            return None;
        }
        changes.push(Change::Allowance(allowance.clone()));
        let reservation = self.allowance_reservation(request, &id, now_ms, lease_ms)?;
        self.reservations.retain(|r| r.id != request.id);
        self.reservations.push(reservation.clone());
        changes.push(Change::Reservation(reservation));
        Some(Decision {
            refusal: None,
            retry_after_s: None,
            output_tokens: request.output_tokens,
            clamped: false,
            snapshot: self.snapshot(limits, now_ms),
            from_allowance: Some(id),
            allowance: None,
        })
    }

    /// A call's reservation under allowance `id` (whose window it counts in).
    fn allowance_reservation(
        &self,
        request: &AdmitRequest,
        id: &str,
        admitted_ms: u64,
        lease_ms: u64,
    ) -> Option<Reservation> {
        let allowance = self.allowances.iter().find(|a| a.id == id)?;
        Some(Reservation {
            id: request.id.clone(),
            model: request.model.clone(),
            admitted_ms,
            window_start_ms: allowance.window_start_ms,
            input_estimate_tokens: request.input_tokens,
            output_cap_tokens: request.output_tokens,
            abandoned_input_tokens: 0,
            progress: Progress {
                credit_output_tokens: INITIAL_OUTPUT_CREDIT_TOKENS.min(request.output_tokens),
                ..Progress::default()
            },
            lease_until_ms: admitted_ms.saturating_add(lease_ms),
            charged: None,
            provisional: false,
            allowance: Some(id.to_owned()),
            tariff: request.tariff,
        })
    }

    /// Sets a slice of what is left aside for `isolate`, if it holds none and the key is far
    /// from its limits (see [`allowance::size`]).
    fn grant_allowance(
        &mut self,
        asking: &Isolate,
        limits: &Limits,
        now_ms: u64,
        call_tokens: u64,
        changes: &mut Vec<Change>,
    ) -> Option<allowance::Grant> {
        // A balance or a spend limit is decided call by call: a slice of it would have to be
        // set aside in dollars for every budget.
        let isolate = asking.id.as_str();
        if self.allowance_of(isolate, now_ms).is_some() || self.credits.limited() {
            return None;
        }
        let after = self.snapshot(limits, now_ms);
        let (requests, tokens, slots) = allowance::size(
            limits,
            limits.rpm.saturating_sub(after.requests_counted()),
            after.window_room().min(after.minute_room()),
            limits.concurrency.saturating_sub(after.slots_held),
            call_tokens,
            asking.demand,
        )?;
        let granted = Allowance {
            id: format!("alw_{isolate}_{now_ms}"),
            isolate: isolate.to_owned(),
            granted_ms: now_ms,
            expires_ms: now_ms.saturating_add(ALLOWANCE_TTL_MS),
            window_start_ms: after.window_start_ms,
            requests,
            tokens,
            slots,
            used_requests: 0,
            used_tokens: 0,
            released: false,
        };
        let grant = granted.grant();
        changes.push(Change::Allowance(granted.clone()));
        self.allowances.push(granted);
        Some(grant)
    }

    /// Registers a call its isolate admitted from allowance `id` at `admitted_ms`: the call's
    /// reservation moves from the allowance into its own row, with a lease. Refused (and the
    /// isolate stops the call) if the key is no longer active or the model no longer allowed,
    /// or if the allowance is gone or has no room left (a registration that came too late).
    #[allow(clippy::too_many_arguments)]
    pub fn register(
        &mut self,
        id: &str,
        request: &AdmitRequest,
        admitted_ms: u64,
        limits: &Limits,
        model_allowed: bool,
        now_ms: u64,
        lease_ms: u64,
        day: &str,
    ) -> (Result<Snapshot, Refusal>, Vec<Change>) {
        let mut changes = Vec::new();
        self.prune(limits, now_ms, day, &mut changes);
        match self.status {
            KeyStatus::Disabled => return (Err(Refusal::Disabled), changes),
            KeyStatus::Revoked => return (Err(Refusal::Revoked), changes),
            KeyStatus::Active => {}
        }
        if !model_allowed {
            return (Err(Refusal::ModelNotAllowed), changes);
        }
        // Registered already (a retried registration): nothing more to take.
        if self.reservations.iter().any(|r| r.id == request.id) {
            return (Ok(self.snapshot(limits, now_ms)), changes);
        }
        let Some(tokens) = request.units(limits.unit) else {
            return (Err(Refusal::NoPrice), changes);
        };
        // A balance or spend limit set since the allowance was granted.
        if self.credits.limited() {
            let Some(tariff) = request.tariff else {
                return (Err(Refusal::NoPrice), changes);
            };
            let cost = tariff.cost(request.input_tokens, request.output_tokens);
            if let Some((refusal, _, _)) = self.short_budget(cost) {
                return (Err(refusal), changes);
            }
        }
        let running = self.running_under(id);
        let Some(allowance) = self
            .allowances
            .iter_mut()
            .find(|a| a.id == id && a.live(now_ms))
        else {
            return (Err(Refusal::Concurrency), changes);
        };
        if !allowance.take(tokens, running) {
            return (Err(Refusal::Concurrency), changes);
        }
        changes.push(Change::Allowance(allowance.clone()));
        // Not `clamp`: it panics when the clock reads before the grant (it went back).
        let admitted_ms = admitted_ms.max(allowance.granted_ms).min(now_ms);
        let Some(reservation) = self.allowance_reservation(request, id, admitted_ms, lease_ms)
        else {
            return (Err(Refusal::Concurrency), changes);
        };
        self.reservations.push(reservation.clone());
        changes.push(Change::Reservation(reservation));
        (Ok(self.snapshot(limits, now_ms)), changes)
    }

    /// Tops up allowance `id`, held by `isolate`, that its isolate expects to run out of soon
    /// (see [`allowance::TopUp`]): its remainder is brought up to what a new grant would hold
    /// if that remainder went back first ([`allowance::size`]), so every limit holds as with a
    /// new allowance and a slice never hoards more than one grant's share. Nothing near a
    /// limit, under a balance or spend limit, or for an allowance that expired or was given
    /// back: the isolate then asks per call when its slice no longer covers a call.
    #[allow(clippy::too_many_arguments)]
    pub fn top_up(
        &mut self,
        id: &str,
        isolate: &str,
        demand: allowance::Demand,
        call_tokens: u64,
        limits: &Limits,
        now_ms: u64,
        day: &str,
    ) -> (Option<allowance::TopUp>, Vec<Change>) {
        let mut changes = Vec::new();
        self.prune(limits, now_ms, day, &mut changes);
        if self.status != KeyStatus::Active || self.credits.limited() {
            return (None, changes);
        }
        let Some(index) = self
            .allowances
            .iter()
            .position(|a| a.id == id && a.isolate == isolate && a.live(now_ms) && !a.released)
        else {
            return (None, changes);
        };
        let running = self.running_under(id);
        let Some(own) = self.allowances.get(index) else {
            return (None, changes);
        };
        // What is left if the allowance's remainder went back (its running calls keep their
        // slots): the top-up brings the remainder to what a new grant would be.
        let mut after = self.snapshot(limits, now_ms);
        after.set_aside.requests = after.set_aside.requests.saturating_sub(own.requests_left());
        after.set_aside.tokens = after.set_aside.tokens.saturating_sub(own.tokens_left());
        if own.window_start_ms == after.window_start_ms {
            after.set_aside.window_tokens = after
                .set_aside
                .window_tokens
                .saturating_sub(own.tokens_left());
        }
        after.slots_held = after
            .slots_held
            .saturating_sub(own.slots)
            .saturating_add(running);
        let Some((requests, tokens, slots)) = allowance::size(
            limits,
            limits.rpm.saturating_sub(after.requests_counted()),
            after.window_room().min(after.minute_room()),
            limits.concurrency.saturating_sub(after.slots_held),
            call_tokens,
            demand,
        ) else {
            return (None, changes);
        };
        let more_requests = requests.saturating_sub(own.requests_left());
        let more_tokens = tokens.saturating_sub(own.tokens_left());
        let more_slots = running
            .saturating_add(slots)
            .min(allowance::slots_wanted(demand))
            .saturating_sub(own.slots);
        let Some(allowance) = self.allowances.get_mut(index) else {
            return (None, changes);
        };
        let top_up = allowance.add(
            more_requests,
            more_tokens,
            more_slots,
            now_ms.saturating_add(ALLOWANCE_TTL_MS),
        );
        changes.push(Change::Allowance(allowance.clone()));
        (Some(top_up), changes)
    }

    /// When enough tokens leave the minute for `needed` more to fit under `tpm`.
    fn tokens_free_at(&self, limits: &Limits, now_ms: u64, needed: u64) -> u64 {
        let mut recent: Vec<&Reservation> = self
            .reservations
            .iter()
            .filter(|r| r.in_minute(now_ms))
            .collect();
        let mut total = sum(recent.iter().map(|r| r.units(limits.unit)));
        recent.sort_by_key(|r| r.admitted_ms);
        for reservation in recent {
            total = total.saturating_sub(reservation.units(limits.unit));
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
        self.settle_priced(id, charged, None, limits, now_ms, day)
    }

    /// [`Meter::settle`] with the call's cost at its serving route's prices (`None`: unknown,
    /// charged at the worst-case rates it reserved at).
    pub fn settle_priced(
        &mut self,
        id: &str,
        charged: Charged,
        cost: Option<u64>,
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
        let charged = reservation.final_charge(charged, cost);
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
        let cost = reservation.tariff.map_or(0, |t| t.cost(tokens, 0));
        let units = match limits.unit {
            Unit::Tokens => tokens,
            Unit::Usd => cost,
        };
        if units > before.window_room() {
            return (Err(Some(Refusal::QuotaExhausted)), changes);
        }
        // The minute counts the call if it was admitted within it.
        if reservation.in_minute(now_ms) && units > before.minute_room() {
            return (Err(Some(Refusal::TokensPerMinute)), changes);
        }
        let short = self
            .credits
            .rooms(before.in_flight_cost)
            .into_iter()
            .find(|(_, room, _)| cost > *room);
        if let Some((budget, _, _)) = short {
            return (Err(Some(budget_refusal(budget))), changes);
        }
        let Some(reservation) = self
            .reservations
            .iter_mut()
            .find(|r| r.id == id && r.in_flight())
        else {
            return (Err(None), changes);
        };
        reservation.abandoned_input_tokens =
            reservation.abandoned_input_tokens.saturating_add(tokens);
        reservation.lease_until_ms = now_ms.saturating_add(lease_ms);
        changes.push(Change::Reservation(reservation.clone()));
        (Ok(()), changes)
    }

    /// The live allowances (for persistence checks and reports).
    pub fn live_allowances(&self, now_ms: u64) -> impl Iterator<Item = &Allowance> {
        self.allowances.iter().filter(move |a| a.live(now_ms))
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
