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
/// What one allowance holds at least (when the key has room for it)...
const BASE_REQUESTS: u64 = 32;
const BASE_SLOTS: u64 = 8;
/// ... and at most, however busy its isolate: a slice usable for six seconds covers a few
/// hundred calls per second, and holds no more than memory and fairness between isolates allow.
const MAX_REQUESTS: u64 = 4_096;
const MAX_SLOTS: u64 = 1_024;

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

    /// Adds to what it holds and renews its life (see [`TopUp`]); returns its totals.
    pub fn add(&mut self, requests: u64, tokens: u64, slots: u64, expires_ms: u64) -> TopUp {
        self.requests = self.requests.saturating_add(requests);
        self.tokens = self.tokens.saturating_add(tokens);
        self.slots = self.slots.saturating_add(slots);
        self.expires_ms = self.expires_ms.max(expires_ms);
        TopUp {
            requests: self.requests,
            tokens: self.tokens,
            slots: self.slots,
            expires_ms: self.expires_ms,
        }
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

/// An allowance after a top-up: capacity added because its isolate asked for more before it
/// ran out (with a call's registration, so the isolate never waits for it), and its life
/// renewed. The figures are totals (all it was granted, as [`Grant`] gives them for a new
/// allowance), not what is left: the isolate takes them as its own, whatever registrations are
/// still on their way, so an answer that is lost is made up by the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUp {
    pub requests: u64,
    pub tokens: u64,
    pub slots: u64,
    pub expires_ms: u64,
}

/// An isolate's request, sent with a registration, that the allowance it registers under be
/// topped up (see [`TopUp`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpAsk {
    pub isolate: String,
    pub demand: Demand,
}

/// The slots `demand` asks an allowance to hold in all (see [`size`]).
pub fn slots_wanted(demand: Demand) -> u64 {
    demand.slots.clamp(BASE_SLOTS, MAX_SLOTS)
}

/// How much to set aside, given what is left after the admission that asks: a quarter of the
/// requests and tokens left, half the free slots, each capped by what the isolate's traffic
/// needs (`demand`, at least the base sizes); nothing when the key is near a limit (the slice
/// would not cover a few calls like `call_tokens`), so near a limit every call is decided by
/// the meter itself.
pub fn size(
    limits: &Limits,
    requests_left: u64,
    tokens_left: u64,
    slots_free: u64,
    call_tokens: u64,
    demand: Demand,
) -> Option<(u64, u64, u64)> {
    let requests_cap = demand.requests.clamp(BASE_REQUESTS, MAX_REQUESTS);
    let slots_cap = slots_wanted(demand);
    let requests = (requests_left / 4).min(requests_cap);
    let tokens = tokens_left / 4;
    let slots = (slots_free / 2).min(slots_cap);
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
    /// What a new allowance should hold for the isolate's traffic.
    #[serde(default)]
    pub demand: Demand,
}

/// The size of slice an isolate's traffic needs: it asks for twice what it ran out of (or
/// twice what it used of a slice that expired), so a busy isolate's slices grow until a call
/// rarely waits on the meter, and an idle one's shrink back to the base size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Demand {
    pub requests: u64,
    pub slots: u64,
}

impl Demand {
    /// What an isolate asks a top-up for (see [`TopUp`]): requests for the whole of a slice's
    /// usable life at the rate it took `taken` in the `elapsed_ms` since its slice was last
    /// filled, slots for twice the calls it runs now.
    pub fn for_top_up(taken: u64, elapsed_ms: u64, running: u64) -> Demand {
        let usable_ms = ALLOWANCE_TTL_MS - ALLOWANCE_MARGIN_MS;
        Demand {
            requests: taken.saturating_mul(usable_ms) / elapsed_ms.max(1),
            slots: running.saturating_mul(2),
        }
    }

    /// What an isolate asks for after a slice of `granted` requests of which it took `taken`,
    /// running `running` calls of the key now (the one asking included).
    pub fn after(granted: u64, taken: u64, running: u64) -> Demand {
        Demand {
            requests: taken.min(granted).saturating_mul(2),
            slots: running.saturating_mul(2),
        }
    }
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
        let base = Demand::default();
        assert_eq!(
            size(&limits(), 99, 100_000, 9, 1_000, base),
            Some((24, 25_000, 4))
        );
        assert_eq!(
            size(&limits(), 1_000, 1_000_000, 100, 1_000, base),
            Some((32, 250_000, 8))
        );
        // Too few requests, slots or tokens left for a useful slice.
        assert_eq!(size(&limits(), 7, 100_000, 9, 1_000, base), None);
        assert_eq!(size(&limits(), 99, 100_000, 1, 1_000, base), None);
        assert_eq!(size(&limits(), 99, 7_000, 9, 1_000, base), None);
    }

    #[test]
    fn demand_doubles_what_ran_out_and_follows_what_was_used() {
        // Ran out of its 32 requests while running 8 calls (the ninth asking).
        assert_eq!(
            Demand::after(32, 32, 9),
            Demand {
                requests: 64,
                slots: 18
            }
        );
        // Its slice expired with 5 of 400 requests used and one call running: the next one
        // is sized to that (the base sizes still apply, see `size`).
        assert_eq!(
            Demand::after(400, 5, 1),
            Demand {
                requests: 10,
                slots: 2
            }
        );
        assert_eq!(
            Demand::after(u64::MAX, u64::MAX, u64::MAX).requests,
            u64::MAX
        );
    }

    #[test]
    fn a_top_up_asks_for_a_slice_life_at_the_rate_of_the_last_fill() {
        // 40 requests taken in 1.5 s: 160 over the 6 s a slice is used.
        assert_eq!(
            Demand::for_top_up(40, 1_500, 12),
            Demand {
                requests: 160,
                slots: 24
            }
        );
        // An isolate that went quiet asks for little (the base sizes still apply).
        assert_eq!(Demand::for_top_up(1, 3_000, 1).requests, 2);
        assert_eq!(Demand::for_top_up(5, 0, 1).requests, 30_000);
    }

    #[test]
    fn a_busy_isolate_gets_what_it_needs_within_the_same_shares() {
        let busy = Demand {
            requests: 200,
            slots: 40,
        };
        // Far from the limits: the slice follows the demand.
        assert_eq!(
            size(&limits(), 10_000, 1_000_000, 1_000, 1_000, busy),
            Some((200, 250_000, 40))
        );
        // The shares of what is left still bound it.
        assert_eq!(
            size(&limits(), 400, 1_000_000, 30, 1_000, busy),
            Some((100, 250_000, 15))
        );
        // However busy, never more than the caps; never less than the base sizes.
        let huge = Demand {
            requests: u64::MAX,
            slots: u64::MAX,
        };
        assert_eq!(
            size(&limits(), u64::MAX, 1_000_000, u64::MAX, 1_000, huge),
            Some((MAX_REQUESTS, 250_000, MAX_SLOTS))
        );
        let idle = Demand {
            requests: 1,
            slots: 1,
        };
        assert_eq!(
            size(&limits(), 1_000, 1_000_000, 100, 1_000, idle),
            Some((32, 250_000, 8))
        );
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
