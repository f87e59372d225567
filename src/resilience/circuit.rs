//! One upstream's breaker.
//!
//! ```text
//!            failures reach the threshold, or a failure that opens at once
//! Closed ─────────────────────────────────────────────────────────────▶ Open { until }
//!   ▲                                                                     │ until passes
//!   │ the probe succeeds                                                  ▼
//!   └──────────────────────────────── HalfOpen { one probe in flight } ◀──┘
//!                                         │ the probe fails: Open, for twice as long
//! ```
//!
//! A closed breaker opens after `failure_threshold` failures in a row, or when at least half
//! of its recent outcomes (`error_rate_window`, once it holds `error_rate_min` of them)
//! failed. A rate limit, a refused key, exhausted credit, or a failure that says when to come
//! back (`Retry-After`) opens it at once. The cooldown doubles with each opening in a row, up
//! to `max_cooldown_ms`; an upstream's own `Retry-After` is honoured up to the same cap; a
//! refused key or exhausted credit benches it for `bench_ms`.
//!
//! Once the cooldown has passed, one request is let through as a probe; the others keep
//! skipping the upstream until the probe's outcome is known (or `probe_ms` passed, if the
//! probe's outcome never came back).
//!
//! An outcome only moves an open or half-open breaker if its attempt started after the breaker
//! last changed: the late failures of requests that were already under way when it opened
//! (eight streams that all hit the same outage) belong to the same episode and neither reopen
//! it nor double its cooldown, and a late success does not close it. A late refusal of a key or
//! a late `Retry-After` can still lengthen the cooldown.

use super::outcome::Failure;

/// When breakers open and for how long (per provider, from config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitPolicy {
    /// Off: the upstream is tried every time, whatever happened before.
    pub enabled: bool,
    /// Failures in a row that open the breaker.
    pub failure_threshold: u32,
    /// Outcomes remembered for the error rate (at most 32).
    pub error_rate_window: u32,
    /// Outcomes needed before the error rate is judged.
    pub error_rate_min: u32,
    /// The first cooldown; doubled at each opening in a row.
    pub cooldown_ms: u64,
    /// The longest cooldown, including one an upstream asked for.
    pub max_cooldown_ms: u64,
    /// How long a refused key or an account out of credit is left alone.
    pub bench_ms: u64,
    /// How long a probe may take before another request may probe instead.
    pub probe_ms: u64,
}

impl Default for CircuitPolicy {
    fn default() -> CircuitPolicy {
        CircuitPolicy {
            enabled: true,
            failure_threshold: 3,
            error_rate_window: 20,
            error_rate_min: 10,
            cooldown_ms: 5_000,
            max_cooldown_ms: 300_000,
            bench_ms: 900_000,
            probe_ms: 60_000,
        }
    }
}

/// What a breaker says to a request that would use its upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Closed: go ahead.
    Pass,
    /// The cooldown has passed: this request is the probe.
    Probe,
    /// Open (or a probe is in flight): skip, and try again no sooner than `until_ms`.
    Skip { until_ms: u64, reason: Failure },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open {
        until_ms: u64,
        reason: Failure,
    },
    HalfOpen {
        probe_until_ms: u64,
        reason: Failure,
    },
}

/// One upstream's breaker. Invariant: `recent` holds `recent_len` outcomes, newest in bit 0,
/// a set bit for a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Circuit {
    state: State,
    /// When `state` last changed (attempts that started before saw the old state).
    changed_ms: u64,
    consecutive_failures: u32,
    /// Openings in a row without a success in between (the cooldown's exponent).
    openings: u32,
    recent: u32,
    recent_len: u32,
    /// The last failure, for reports.
    last_failure: Option<Failure>,
}

impl Default for Circuit {
    fn default() -> Circuit {
        Circuit::new()
    }
}

/// How a breaker stands, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Closed,
    /// Skipped until `until_ms`; `benched` for a refused key or exhausted credit.
    Open {
        until_ms: u64,
        reason: Failure,
    },
    /// A probe is (or may be) in flight.
    HalfOpen {
        reason: Failure,
    },
}

impl Circuit {
    pub fn new() -> Circuit {
        Circuit {
            state: State::Closed,
            changed_ms: 0,
            consecutive_failures: 0,
            openings: 0,
            recent: 0,
            recent_len: 0,
            last_failure: None,
        }
    }

    /// Whether a request may use the upstream at `now_ms`. A `Probe` answer marks the probe as
    /// in flight: the caller must record its outcome.
    pub fn gate(&mut self, now_ms: u64, policy: &CircuitPolicy) -> Gate {
        let gate = self.peek(now_ms);
        if gate == Gate::Probe {
            self.start_probe(now_ms, policy);
        }
        gate
    }

    /// What [`Circuit::gate`] would answer, changing nothing.
    pub fn peek(&self, now_ms: u64) -> Gate {
        match self.state {
            State::Closed => Gate::Pass,
            State::Open { until_ms, reason }
            | State::HalfOpen {
                probe_until_ms: until_ms,
                reason,
            } if now_ms < until_ms => Gate::Skip { until_ms, reason },
            State::Open { .. } | State::HalfOpen { .. } => Gate::Probe,
        }
    }

    /// Marks a probe as in flight (after [`Circuit::peek`] answered `Probe`).
    pub fn start_probe(&mut self, now_ms: u64, policy: &CircuitPolicy) {
        if let State::Open { reason, .. } | State::HalfOpen { reason, .. } = self.state {
            self.state = State::HalfOpen {
                probe_until_ms: now_ms.saturating_add(policy.probe_ms),
                reason,
            };
            self.changed_ms = now_ms;
        }
    }

    /// When the breaker would let a request through, if it is not closed.
    pub fn reopens_at_ms(&self) -> Option<u64> {
        match self.state {
            State::Closed => None,
            State::Open { until_ms, .. } => Some(until_ms),
            State::HalfOpen { probe_until_ms, .. } => Some(probe_until_ms),
        }
    }

    pub fn standing(&self) -> Standing {
        match self.state {
            State::Closed => Standing::Closed,
            State::Open { until_ms, reason } => Standing::Open { until_ms, reason },
            State::HalfOpen { reason, .. } => Standing::HalfOpen { reason },
        }
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    pub fn last_failure(&self) -> Option<Failure> {
        self.last_failure
    }

    /// Failures among the remembered outcomes, and how many are remembered.
    pub fn recent_failures(&self) -> (u32, u32) {
        (self.recent.count_ones(), self.recent_len)
    }

    /// Whether an attempt that started at `started_ms` saw the breaker as it is now.
    fn is_stale(&self, started_ms: u64) -> bool {
        self.state != State::Closed && started_ms < self.changed_ms
    }

    /// Records a success of an attempt that started at `started_ms`.
    pub fn record_success(&mut self, started_ms: u64, now_ms: u64, policy: &CircuitPolicy) {
        self.remember(false, policy);
        if self.is_stale(started_ms) {
            return;
        }
        if self.state != State::Closed {
            self.changed_ms = now_ms;
        }
        self.state = State::Closed;
        self.consecutive_failures = 0;
        self.openings = 0;
    }

    /// Records a failure of an attempt that started at `started_ms`; `retry_after_ms` is how
    /// long the upstream asked to be left alone.
    pub fn record_failure(
        &mut self,
        failure: Failure,
        retry_after_ms: Option<u64>,
        started_ms: u64,
        now_ms: u64,
        policy: &CircuitPolicy,
    ) {
        self.remember(true, policy);
        self.last_failure = Some(failure);
        if self.is_stale(started_ms) {
            // Same episode: only a refusal or an explicit wait can lengthen it.
            if failure.benches() || retry_after_ms.is_some() {
                self.open(
                    failure,
                    self.cooldown_ms(failure, retry_after_ms, policy),
                    now_ms,
                );
            }
            return;
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let probing = matches!(self.state, State::HalfOpen { .. });
        let opens = probing
            || failure.is_key_scoped()
            || retry_after_ms.is_some()
            || self.consecutive_failures >= policy.failure_threshold.max(1)
            || self.error_rate_exceeded(policy);
        if !opens {
            return;
        }
        let cooldown_ms = self.cooldown_ms(failure, retry_after_ms, policy);
        self.open(failure, cooldown_ms, now_ms);
        self.openings = self.openings.saturating_add(1);
    }

    fn cooldown_ms(
        &self,
        failure: Failure,
        retry_after_ms: Option<u64>,
        policy: &CircuitPolicy,
    ) -> u64 {
        if failure.benches() {
            return policy.bench_ms;
        }
        let doubled = policy
            .cooldown_ms
            .saturating_mul(1u64 << self.openings.min(20));
        // The upstream knows best when it can serve again.
        retry_after_ms
            .unwrap_or(doubled)
            .min(policy.max_cooldown_ms)
    }

    /// Opens the breaker for `cooldown_ms` from now; an open breaker is never shortened.
    fn open(&mut self, failure: Failure, cooldown_ms: u64, now_ms: u64) {
        let until_ms = now_ms.saturating_add(cooldown_ms);
        if let State::Open {
            until_ms: open_until_ms,
            ..
        } = self.state
            && open_until_ms >= until_ms
        {
            return;
        }
        self.state = State::Open {
            until_ms,
            reason: failure,
        };
        self.changed_ms = now_ms;
    }

    fn remember(&mut self, failed: bool, policy: &CircuitPolicy) {
        let window = policy.error_rate_window.clamp(1, 32);
        let mask = if window == 32 {
            u32::MAX
        } else {
            (1u32 << window) - 1
        };
        self.recent = ((self.recent << 1) | u32::from(failed)) & mask;
        self.recent_len = self.recent_len.saturating_add(1).min(window);
    }

    fn error_rate_exceeded(&self, policy: &CircuitPolicy) -> bool {
        let (failures, seen) = self.recent_failures();
        seen >= policy.error_rate_min.max(1) && failures.saturating_mul(2) >= seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> CircuitPolicy {
        CircuitPolicy::default()
    }

    #[test]
    fn opens_after_the_threshold_and_probes_once_after_the_cooldown() {
        let p = policy();
        let mut c = Circuit::new();
        c.record_failure(Failure::Unavailable, None, 0, 0, &p);
        c.record_failure(Failure::Unavailable, None, 10, 10, &p);
        assert_eq!(c.gate(20, &p), Gate::Pass);
        c.record_failure(Failure::Unavailable, None, 20, 20, &p);
        assert_eq!(
            c.gate(21, &p),
            Gate::Skip {
                until_ms: 5_020,
                reason: Failure::Unavailable
            }
        );
        assert_eq!(c.gate(5_020, &p), Gate::Probe);
        // While the probe is out, everyone else skips.
        assert!(matches!(c.gate(5_021, &p), Gate::Skip { .. }));
        c.record_success(5_020, 5_021, &p);
        assert_eq!(c.gate(5_022, &p), Gate::Pass);
        assert_eq!(c.consecutive_failures(), 0);
    }

    #[test]
    fn a_failed_probe_reopens_for_twice_as_long_up_to_the_cap() {
        let p = policy();
        let mut c = Circuit::new();
        for t in 0..3 {
            c.record_failure(Failure::Unavailable, None, t, t, &p);
        }
        let mut now = 2;
        let mut cooldowns = Vec::new();
        for _ in 0..10 {
            let until = c.reopens_at_ms().unwrap();
            cooldowns.push(until - now);
            now = until;
            assert_eq!(c.gate(now, &p), Gate::Probe);
            c.record_failure(Failure::Unavailable, None, now, now, &p);
        }
        assert_eq!(
            cooldowns,
            [
                5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000, 300_000
            ]
        );
    }

    #[test]
    fn a_lost_probe_lets_another_request_probe() {
        let p = policy();
        let mut c = Circuit::new();
        c.record_failure(Failure::RateLimited, Some(1_000), 0, 0, &p);
        assert_eq!(c.gate(1_000, &p), Gate::Probe);
        assert!(matches!(
            c.gate(1_000 + p.probe_ms - 1, &p),
            Gate::Skip { .. }
        ));
        assert_eq!(c.gate(1_000 + p.probe_ms, &p), Gate::Probe);
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = policy();
        let mut c = Circuit::new();
        c.record_failure(Failure::RateLimited, Some(42_000), 0, 0, &p);
        assert_eq!(c.reopens_at_ms(), Some(42_000));
        let mut c = Circuit::new();
        c.record_failure(Failure::Unavailable, Some(3_600_000), 0, 0, &p);
        assert_eq!(c.reopens_at_ms(), Some(p.max_cooldown_ms));
        // A rate limit without a date: the cooldown.
        let mut c = Circuit::new();
        c.record_failure(Failure::RateLimited, None, 0, 0, &p);
        assert_eq!(c.reopens_at_ms(), Some(p.cooldown_ms));
        // A short Retry-After is honoured as it is.
        let mut c = Circuit::new();
        c.record_failure(Failure::RateLimited, Some(1_000), 0, 0, &p);
        assert_eq!(c.reopens_at_ms(), Some(1_000));
    }

    #[test]
    fn refused_keys_and_exhausted_credit_are_benched() {
        let p = policy();
        for failure in [Failure::KeyRefused, Failure::CreditExhausted] {
            let mut c = Circuit::new();
            c.record_failure(failure, Some(1_000), 0, 0, &p);
            assert_eq!(c.reopens_at_ms(), Some(p.bench_ms));
            assert_eq!(
                c.standing(),
                Standing::Open {
                    until_ms: p.bench_ms,
                    reason: failure
                }
            );
        }
    }

    #[test]
    fn a_high_error_rate_opens_without_failures_in_a_row() {
        let p = policy();
        let mut c = Circuit::new();
        // Alternating outcomes never reach three in a row, but half of them fail.
        for i in 0..9 {
            if i % 2 == 0 {
                c.record_failure(Failure::Unavailable, None, i, i, &p);
            } else {
                c.record_success(0, 0, &p);
            }
            assert_eq!(c.gate(i, &p), Gate::Pass, "after {i}");
        }
        c.record_success(0, 0, &p);
        c.record_failure(Failure::Unavailable, None, 10, 10, &p);
        assert!(matches!(c.gate(11, &p), Gate::Skip { .. }));
        assert_eq!(c.recent_failures(), (6, 11));
    }

    #[test]
    fn a_late_outcome_never_shortens_an_open_breaker() {
        let p = policy();
        let mut c = Circuit::new();
        c.record_failure(Failure::CreditExhausted, None, 0, 0, &p);
        c.record_failure(Failure::RateLimited, Some(1_000), 10, 10, &p);
        assert_eq!(
            c.standing(),
            Standing::Open {
                until_ms: p.bench_ms,
                reason: Failure::CreditExhausted
            }
        );
    }

    #[test]
    fn late_outcomes_of_attempts_started_before_an_opening_change_nothing() {
        let p = policy();
        let mut c = Circuit::new();
        // Eight attempts start at 0 and fail one after the other.
        for t in 1..=8 {
            c.record_failure(Failure::Unavailable, None, 0, t, &p);
        }
        // Opened once, at the third, for the first cooldown: not doubled five times over.
        assert_eq!(c.reopens_at_ms(), Some(3 + p.cooldown_ms));
        // A late success does not close it either.
        c.record_success(0, 10, &p);
        assert!(matches!(c.gate(11, &p), Gate::Skip { .. }));
        // A late refusal of the key still benches it.
        c.record_failure(Failure::KeyRefused, None, 0, 12, &p);
        assert_eq!(c.reopens_at_ms(), Some(12 + p.bench_ms));
        // The probe's own failure does double the cooldown.
        let mut c = Circuit::new();
        for t in 0..3 {
            c.record_failure(Failure::Unavailable, None, t, t, &p);
        }
        let probe_at = 2 + p.cooldown_ms;
        assert_eq!(c.gate(probe_at, &p), Gate::Probe);
        c.record_failure(Failure::Unavailable, None, 1, probe_at + 1, &p);
        assert!(
            matches!(c.peek(probe_at + 2), Gate::Skip { .. }),
            "a stale failure leaves the probe out"
        );
        c.record_failure(Failure::Unavailable, None, probe_at, probe_at + 5, &p);
        assert_eq!(c.reopens_at_ms(), Some(probe_at + 5 + 2 * p.cooldown_ms));
    }

    #[test]
    fn the_error_rate_window_holds_at_most_32_outcomes() {
        let p = CircuitPolicy {
            error_rate_window: 100,
            error_rate_min: 1_000,
            failure_threshold: 1_000,
            ..policy()
        };
        let mut c = Circuit::new();
        for i in 0..100 {
            c.record_failure(Failure::Unavailable, None, i, i, &p);
        }
        assert_eq!(c.recent_failures(), (32, 32));
        assert_eq!(c.gate(100, &p), Gate::Pass);
    }
}
