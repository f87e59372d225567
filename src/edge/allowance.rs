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
//! Nothing here awaits: the state is read and changed synchronously by the requests of this
//! isolate (no request ever waits on another's future, which workerd would not allow).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::metering::allowance::{ALLOWANCE_MARGIN_MS, Demand, Grant, Isolate, Unregistered};
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
        let held = state.held.as_mut()?;
        held.used_requests += 1;
        held.used_tokens = held.used_tokens.saturating_add(tokens);
        held.running += 1;
        held.unregistered.calls += 1;
        held.unregistered.tokens = held.unregistered.tokens.saturating_add(tokens);
        Some(Local {
            allowance: held.grant.id.clone(),
            snapshot: held.snapshot.clone(),
        })
    })
}

/// Records a per-call admission about to be sent, and says what the meter should know: this
/// isolate, the slice it holds, and (when that slice no longer covers its calls) that it gives
/// the slice back, keeping only what its unregistered calls need.
pub fn asking(key_id: &str, call: &str, tokens: u64, now_ms: u64) -> Isolate {
    with_key(key_id, |state| {
        let unusable = state
            .held
            .as_ref()
            .is_some_and(|held| !state.covers(held, tokens, now_ms));
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
pub fn answered(key_id: &str, call: &str, tokens: u64, decision: Option<&Decision>) {
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
            state.held = Some(Held {
                grant: grant.clone(),
                used_requests: 0,
                used_tokens: 0,
                running: 0,
                unregistered: Unregistered::default(),
                snapshot: decision.snapshot.clone(),
            });
        }
    });
}

/// A call admitted from slice `allowance` had its registration answered (with the key's
/// counters, when it was accepted).
pub fn registered(key_id: &str, allowance: &str, tokens: u64, snapshot: Option<&Snapshot>) {
    with_key(key_id, |state| {
        if let Some(held) = state.held.as_mut()
            && held.grant.id == allowance
        {
            held.unregistered.calls = held.unregistered.calls.saturating_sub(1);
            held.unregistered.tokens = held.unregistered.tokens.saturating_sub(tokens);
            if let Some(snapshot) = snapshot {
                held.snapshot = snapshot.clone();
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
