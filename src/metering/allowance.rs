//! Allowances: capacity a key's meter sets aside for one isolate, so that isolate can admit
//! calls without a round trip to the meter while the key is far from its limits.
//!
//! An allowance is a slice of what is left: some requests of the minute, some tokens of the
//! window and the minute, some concurrency slots, for a few seconds. The meter counts all of it
//! as used from the moment it grants it (so other isolates and calls see less room, and no
//! limit can be passed however the slice is spent); the isolate admits calls from it locally
//! and *registers* each one with the meter right away, which moves the call's share from the
//! allowance into an ordinary reservation (with its own lease, checkpoints and settlement).
//! What is unused when the allowance expires simply goes back.
//!
//! Two rules keep both sides in step without a lock:
//! - the isolate stops using an allowance [`ALLOWANCE_MARGIN_MS`] before it expires, so its
//!   registrations reach the meter while the capacity is still set aside (one that arrives
//!   later is refused, and its call is stopped);
//! - a per-call admission the isolate sent *before* it learned of its allowance may be
//!   admitted from that allowance by the meter (a burst that raced the grant would otherwise
//!   leave the set-aside capacity unused and refuse calls the plan allows); the isolate counts
//!   such admissions as possibly taken from the allowance until their answers say.

use serde::{Deserialize, Serialize};

use super::Limits;

/// How long an allowance lives.
pub const ALLOWANCE_TTL_MS: u64 = 10_000;
/// The isolate stops admitting from an allowance this long before it expires.
pub const ALLOWANCE_MARGIN_MS: u64 = 4_000;
/// Caps on one allowance.
const MAX_REQUESTS: u64 = 32;
const MAX_SLOTS: u64 = 8;

/// Capacity set aside for one isolate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    pub id: String,
    /// The isolate that holds it.
    pub isolate: String,
    pub granted_ms: u64,
    pub expires_ms: u64,
    /// The window the allowance's tokens count in (moved forward with the window).
    pub window_start_ms: u64,
    pub requests: u64,
    pub tokens: u64,
    pub slots: u64,
    /// What registered (or meter-admitted) calls have taken from it.
    pub used_requests: u64,
    pub used_tokens: u64,
    /// Given back by its isolate: kept only for the registrations still on their way.
    #[serde(default)]
    pub released: bool,
}

impl Allowance {
    pub fn live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_ms
    }

    pub fn requests_left(&self) -> u64 {
        self.requests.saturating_sub(self.used_requests)
    }

    pub fn tokens_left(&self) -> u64 {
        self.tokens.saturating_sub(self.used_tokens)
    }

    /// Takes one call of `tokens` from the allowance, if it has room (`running` calls of it are
    /// in flight, each holding one of its slots).
    pub fn take(&mut self, tokens: u64, running: u64) -> bool {
        let fits =
            self.requests_left() >= 1 && self.tokens_left() >= tokens && running < self.slots;
        if fits {
            self.used_requests += 1;
            self.used_tokens = self.used_tokens.saturating_add(tokens);
        }
        fits
    }

    /// Shrinks the allowance to what `pending` registrations still need: the rest goes back.
    /// Only registrations may take from it afterwards.
    pub fn release(&mut self, pending: Unregistered, running: u64) {
        self.requests = self
            .used_requests
            .saturating_add(pending.calls)
            .min(self.requests);
        self.tokens = self
            .used_tokens
            .saturating_add(pending.tokens)
            .min(self.tokens);
        self.slots = running.saturating_add(pending.calls).min(self.slots);
        self.released = true;
    }

    /// What the isolate is told.
    pub fn grant(&self) -> Grant {
        Grant {
            id: self.id.clone(),
            expires_ms: self.expires_ms,
            requests: self.requests_left(),
            tokens: self.tokens_left(),
            slots: self.slots,
        }
    }
}

/// An allowance as its isolate holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub expires_ms: u64,
    pub requests: u64,
    pub tokens: u64,
    pub slots: u64,
}

/// How much to set aside, given what is left after the admission that asks: a quarter of the
/// requests and tokens left (capped), half the free slots; nothing when the key is near a
/// limit (the slice would not cover a few calls like `call_tokens`), so near a limit every
/// call is decided by the meter itself.
pub fn size(
    limits: &Limits,
    requests_left: u64,
    tokens_left: u64,
    slots_free: u64,
    call_tokens: u64,
) -> Option<(u64, u64, u64)> {
    let requests = (requests_left / 4).min(MAX_REQUESTS);
    let tokens = tokens_left / 4;
    let slots = (slots_free / 2).min(MAX_SLOTS);
    let enough = requests >= 2
        && slots >= 1
        && tokens >= call_tokens.saturating_mul(2).max(1)
        && limits.rpm > 0;
    enough.then_some((requests, tokens, slots))
}

/// How an admission asks for an allowance and says what its isolate knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Isolate {
    /// A random id per isolate.
    pub id: String,
    /// The allowance the isolate held when it sent the admission.
    pub knows: Option<String>,
    /// Grant an allowance with the admission if the key is far from its limits.
    pub wants_allowance: bool,
    /// The isolate gives the allowance it knows back (its slice no longer covers its calls,
    /// so they go to the meter one by one, which may then use what the slice held), keeping
    /// only what its calls admitted locally and not registered yet still need.
    #[serde(default)]
    pub release: Option<Unregistered>,
}

/// Calls an isolate admitted from its allowance whose registrations have not been answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unregistered {
    pub calls: u64,
    pub tokens: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            rpm: 100,
            tpm: 100_000,
            concurrency: 10,
            window_ms: 3_600_000,
            window_tokens: 1_000_000,
            unit: crate::metering::cost::Unit::Tokens,
            calendar: None,
            zone: crate::metering::calendar::Zone::UTC,
        }
    }

    #[test]
    fn a_quarter_of_what_is_left_and_nothing_near_a_limit() {
        assert_eq!(
            size(&limits(), 99, 100_000, 9, 1_000),
            Some((24, 25_000, 4))
        );
        assert_eq!(
            size(&limits(), 1_000, 1_000_000, 100, 1_000),
            Some((32, 250_000, 8))
        );
        // Too few requests, slots or tokens left for a useful slice.
        assert_eq!(size(&limits(), 7, 100_000, 9, 1_000), None);
        assert_eq!(size(&limits(), 99, 100_000, 1, 1_000), None);
        assert_eq!(size(&limits(), 99, 7_000, 9, 1_000), None);
    }

    #[test]
    fn taking_respects_every_dimension() {
        let mut a = Allowance {
            id: "a".into(),
            isolate: "i".into(),
            granted_ms: 0,
            expires_ms: 10,
            window_start_ms: 0,
            requests: 2,
            tokens: 100,
            slots: 1,
            used_requests: 0,
            used_tokens: 0,
            released: false,
        };
        assert!(!a.take(101, 0), "tokens");
        assert!(!a.take(10, 1), "slots");
        assert!(a.take(60, 0));
        assert!(!a.take(60, 0), "tokens left 40");
        assert!(a.take(40, 0));
        assert!(!a.take(0, 0), "requests");
        assert_eq!(a.grant().requests, 0);
        assert!(a.live(9) && !a.live(10));
    }
}
