//! This isolate's side of allowances (see `metering::allowance`): the slices of capacity the
//! keys' meters have set aside for it, and the admissions it has asked the meters for.
//!
//! A call is admitted locally when its key's slice covers it (one request, its reservation's
//! tokens, one slot) until a few seconds before the slice expires; it is then registered with
//! the meter right away (by its settlement task). Otherwise it is asked of the meter as before,
//! and the answer may bring a new slice. Per-call admissions sent before this isolate learned
//! of its current slice may be taken from it by the meter, so until they are answered the
//! slice is counted as that much smaller.
//!
//! A slice in use is topped up before it runs out: when half of what it was last filled with
//! is used, or half of its usable life has passed, the next call's registration asks the meter
//! for more (one ask at a time), and the answer brings the slice's new totals. A busy isolate
//! then never waits on the meter while the key is far from its limits.
//!
//! Nothing here awaits: the state is read and changed synchronously by the requests of this
//! isolate (no request ever waits on another's future, which workerd would not allow).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::metering::allowance::{
    ALLOWANCE_MARGIN_MS, ALLOWANCE_TTL_MS, Demand, Grant, Isolate, TopUp, TopUpAsk, Unregistered,
};
use crate::metering::{Decision, Snapshot};

/// Keys whose state is kept (a bound on memory; a key that falls out just asks the meter).
const MAX_KEYS: usize = 10_000;

thread_local! {
    static ISOLATE_ID: String = super::random::token(16);
    static KEYS: RefCell<HashMap<String, KeyState>> = RefCell::new(HashMap::new());
}

/// A slice this isolate holds for a key.
struct Held {
    grant: Grant,
    /// Requests and tokens taken from it: calls admitted here, and calls the meter admitted
    /// from it.
    used_requests: u64,
    used_tokens: u64,
    /// Its calls running now (each holds one of its slots).
    running: u64,
    /// Its calls admitted here whose registration is not answered yet.
    unregistered: Unregistered,
    /// The key's counters as the meter last told them (for the limit headers).
    snapshot: Snapshot,
    /// When it was last filled (granted or topped up), what it had left then, and how many
    /// calls of the key the isolate had made by then.
    filled: Fill,
    /// A registration asking for a top-up is on its way.
    topping_up: bool,
}

#[derive(Clone, Copy)]
struct Fill {
    at_ms: u64,
    requests_left: u64,
    tokens_left: u64,
    calls: u64,
}

impl Held {
    fn new(grant: Grant, snapshot: Snapshot, now_ms: u64, calls: u64) -> Held {
        let filled = Fill {
            at_ms: now_ms,
            requests_left: grant.requests,
            tokens_left: grant.tokens,
            calls,
        };
        Held {
            grant,
            used_requests: 0,
            used_tokens: 0,
            running: 0,
            unregistered: Unregistered::default(),
            snapshot,
            filled,
            topping_up: false,
        }
    }

    /// Whether to ask for a top-up now, and with what demand: half of what the slice was last
    /// filled with is used, or half of its usable life has passed, or half its slots run. The
    /// demand counts all of the isolate's calls of the key (`calls` made, `running` now), those
    /// the slice could not cover included.
    fn top_up_due(&self, now_ms: u64, calls: u64, running: u64) -> Option<Demand> {
        let requests_left = self.grant.requests.saturating_sub(self.used_requests);
        let tokens_left = self.grant.tokens.saturating_sub(self.used_tokens);
        let half_life_ms = (ALLOWANCE_TTL_MS - ALLOWANCE_MARGIN_MS) / 2;
        let due = requests_left.saturating_mul(2) <= self.filled.requests_left
            || tokens_left.saturating_mul(2) <= self.filled.tokens_left
            || self.running.saturating_mul(2) >= self.grant.slots
            || now_ms.saturating_add(ALLOWANCE_MARGIN_MS + half_life_ms) >= self.grant.expires_ms;
        (due && !self.topping_up).then(|| {
            Demand::for_top_up(
                calls.saturating_sub(self.filled.calls),
                now_ms.saturating_sub(self.filled.at_ms),
                running,
            )
        })
    }

    /// Takes the allowance's totals after a top-up as its own.
    fn top_up(&mut self, top_up: &TopUp, now_ms: u64, calls: u64) {
        let grant = &mut self.grant;
        grant.requests = grant.requests.max(top_up.requests);
        grant.tokens = grant.tokens.max(top_up.tokens);
        grant.slots = grant.slots.max(top_up.slots);
        grant.expires_ms = grant.expires_ms.max(top_up.expires_ms);
        self.filled = Fill {
            at_ms: now_ms,
            requests_left: grant.requests.saturating_sub(self.used_requests),
            tokens_left: grant.tokens.saturating_sub(self.used_tokens),
            calls,
        };
    }
}

/// A per-call admission sent to the meter and not answered yet.
struct Asking {
    call: String,
    tokens: u64,
    /// The slice this isolate held when it sent the admission.
    knew: Option<String>,
}

#[derive(Default)]
struct KeyState {
    held: Option<Held>,
    asking: Vec<Asking>,
    /// Calls of the key this isolate admitted or asked for, ever (its traffic, for top-ups).
    calls: u64,
}

impl KeyState {
    /// Admissions in flight that may still be taken from `held` by the meter.
    fn unaware(&self, held: &Held) -> (u64, u64) {
        self.asking
            .iter()
            .filter(|a| a.knew.as_deref() != Some(held.grant.id.as_str()))
            .fold((0, 0), |(calls, tokens), a| {
                (calls + 1, tokens.saturating_add(a.tokens))
            })
    }

    /// The slice this isolate's traffic needs (see [`Demand`]).
    fn demand(&self, held: &Held) -> Demand {
        let (calls, _) = self.unaware(held);
        // Its calls running from the slice, and those asking the meter (this one included).
        let running = held.running + self.asking.len() as u64 + 1;
        Demand::after(held.grant.requests, held.used_requests + calls, running)
    }

    /// Whether `held` covers one more call of `tokens` at `now_ms`.
    fn covers(&self, held: &Held, tokens: u64, now_ms: u64) -> bool {
        let (calls, unaware_tokens) = self.unaware(held);
        let grant = &held.grant;
        now_ms.saturating_add(ALLOWANCE_MARGIN_MS) < grant.expires_ms
            && held.used_requests + calls < grant.requests
            && held
                .used_tokens
                .saturating_add(unaware_tokens)
                .saturating_add(tokens)
                <= grant.tokens
            && held.running + calls < grant.slots
    }
}

/// A call admitted from a slice.
pub struct Local {
    pub allowance: String,
    pub snapshot: Snapshot,
    /// Its registration asks for the slice to be topped up.
    pub top_up: Option<TopUpAsk>,
}

fn with_key<T>(key_id: &str, f: impl FnOnce(&mut KeyState) -> T) -> T {
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if keys.len() >= MAX_KEYS && !keys.contains_key(key_id) {
            keys.retain(|_, state| state.held.is_some() || !state.asking.is_empty());
            if keys.len() >= MAX_KEYS {
                keys.clear();
            }
        }
        f(keys.entry(key_id.to_owned()).or_default())
    })
}

/// Admits a call of `tokens` from the key's slice, if it covers it.
pub fn try_local(key_id: &str, tokens: u64, now_ms: u64) -> Option<Local> {
    with_key(key_id, |state| {
        let covered = state
            .held
            .as_ref()
            .is_some_and(|held| state.covers(held, tokens, now_ms));
        if !covered {
            return None;
        }
        state.calls += 1;
        let (calls, asking) = (state.calls, state.asking.len() as u64);
        let held = state.held.as_mut()?;
        held.used_requests += 1;
        held.used_tokens = held.used_tokens.saturating_add(tokens);
        held.running += 1;
        held.unregistered.calls += 1;
        held.unregistered.tokens = held.unregistered.tokens.saturating_add(tokens);
        let running = held.running + asking;
        let top_up = held
            .top_up_due(now_ms, calls, running)
            .map(|demand| TopUpAsk {
                isolate: ISOLATE_ID.with(Clone::clone),
                demand,
            });
        held.topping_up |= top_up.is_some();
        Some(Local {
            allowance: held.grant.id.clone(),
            snapshot: held.snapshot.clone(),
            top_up,
        })
    })
}

/// Records a per-call admission about to be sent, and says what the meter should know: this
/// isolate, the slice it holds, and (when that slice no longer covers its calls) that it gives
/// the slice back, keeping only what its unregistered calls need.
pub fn asking(key_id: &str, call: &str, tokens: u64, now_ms: u64) -> Isolate {
    with_key(key_id, |state| {
        // A slice whose top-up is on its way is kept, though it does not cover this call (the
        // top-up will refill it; giving it back would lose that): the call is asked alone.
        let unusable = state.held.as_ref().is_some_and(|held| {
            let awaiting_top_up = held.topping_up
                && now_ms.saturating_add(ALLOWANCE_MARGIN_MS) < held.grant.expires_ms;
            !awaiting_top_up && !state.covers(held, tokens, now_ms)
        });
        let knows = state.held.as_ref().map(|held| held.grant.id.clone());
        let demand = state
            .held
            .as_ref()
            .map(|held| state.demand(held))
            .unwrap_or_default();
        let release = if unusable {
            // Given back: calls admitted from it still register, nothing more is taken.
            state.held.take().map(|held| held.unregistered)
        } else {
            None
        };
        state.calls += 1;
        state.asking.push(Asking {
            call: call.to_owned(),
            tokens,
            knew: knows.clone(),
        });
        Isolate {
            id: ISOLATE_ID.with(Clone::clone),
            knows,
            wants_allowance: true,
            release,
            demand,
        }
    })
}

/// The meter answered a per-call admission (`None`: it could not be reached).
pub fn answered(key_id: &str, call: &str, tokens: u64, decision: Option<&Decision>, now_ms: u64) {
    with_key(key_id, |state| {
        state.asking.retain(|a| a.call != call);
        let Some(decision) = decision else {
            return;
        };
        if let (Some(from), Some(held)) = (&decision.from_allowance, state.held.as_mut())
            && *from == held.grant.id
        {
            held.used_requests += 1;
            held.used_tokens = held.used_tokens.saturating_add(tokens);
            held.running += 1;
        }
        if let Some(held) = state.held.as_mut() {
            held.snapshot = decision.snapshot.clone();
        }
        if let Some(grant) = &decision.allowance {
            let calls = state.calls;
            state.held = Some(Held::new(
                grant.clone(),
                decision.snapshot.clone(),
                now_ms,
                calls,
            ));
        }
    });
}

/// How a registration was answered.
pub struct Registration<'a> {
    /// The key's counters, when it was accepted.
    pub snapshot: Option<&'a Snapshot>,
    /// It asked for a top-up.
    pub asked_top_up: bool,
    /// The slice's totals after the top-up, if one was given.
    pub top_up: Option<&'a TopUp>,
}

/// A call admitted from slice `allowance` had its registration answered.
pub fn registered(
    key_id: &str,
    allowance: &str,
    tokens: u64,
    answer: &Registration<'_>,
    now_ms: u64,
) {
    with_key(key_id, |state| {
        let calls = state.calls;
        if let Some(held) = state.held.as_mut()
            && held.grant.id == allowance
        {
            held.unregistered.calls = held.unregistered.calls.saturating_sub(1);
            held.unregistered.tokens = held.unregistered.tokens.saturating_sub(tokens);
            if let Some(snapshot) = answer.snapshot {
                held.snapshot = snapshot.clone();
            }
            if let Some(top_up) = answer.top_up {
                held.top_up(top_up, now_ms, calls);
            }
            if answer.asked_top_up {
                held.topping_up = false;
            }
        }
    });
}

/// A call that ran under slice `allowance` ended: its slot is free again.
pub fn ended(key_id: &str, allowance: &str) {
    with_key(key_id, |state| {
        if let Some(held) = state.held.as_mut()
            && held.grant.id == allowance
        {
            held.running = held.running.saturating_sub(1);
        }
    });
}
