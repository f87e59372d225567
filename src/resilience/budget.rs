//! How much retrying a request may do: a number of attempts and a time by which the last one
//! must have started, and the jittered wait before an upstream that already failed this
//! request is tried again.
//!
//! A request goes through its candidates (route × key, healthy ones only) once without
//! waiting: a different upstream is worth trying at once. When all have failed and budget is
//! left, it goes round again after a wait drawn uniformly from zero to
//! `base × 2^round` (capped), the "full jitter" that keeps many clients from retrying in step.

use super::route_order::Draw;

/// A request's retry allowance (from the gateway config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Upstream attempts per request, over every route and key.
    pub max_attempts: u32,
    /// No attempt starts later than this after the request arrived.
    pub attempt_window_ms: u64,
    /// The first round's longest wait.
    pub backoff_base_ms: u64,
    /// The longest wait of any round.
    pub backoff_max_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            attempt_window_ms: 90_000,
            backoff_base_ms: 250,
            backoff_max_ms: 4_000,
        }
    }
}

/// One request's use of its allowance.
#[derive(Debug, Clone)]
pub struct Budget {
    policy: RetryPolicy,
    started_ms: u64,
    attempts: u32,
}

impl Budget {
    pub fn new(policy: RetryPolicy, started_ms: u64) -> Budget {
        Budget {
            policy,
            started_ms,
            attempts: 0,
        }
    }

    /// Whether another attempt may start at `now_ms` (taking it if so).
    pub fn take(&mut self, now_ms: u64) -> bool {
        let in_time = now_ms.saturating_sub(self.started_ms) < self.policy.attempt_window_ms;
        let allowed =
            self.attempts < self.policy.max_attempts.max(1) && (in_time || self.attempts == 0);
        if allowed {
            self.attempts += 1;
        }
        allowed
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether any attempt is left (ignoring time).
    pub fn has_attempts(&self) -> bool {
        self.attempts < self.policy.max_attempts.max(1)
    }

    /// The wait before round `round` (1 for the first repeat), or `None` if it would end past
    /// the attempt window.
    pub fn backoff_ms(&self, round: u32, now_ms: u64, draw: &mut Draw) -> Option<u64> {
        let ceiling = self
            .policy
            .backoff_base_ms
            .saturating_mul(1u64 << round.saturating_sub(1).min(20))
            .min(self.policy.backoff_max_ms);
        let wait = (draw.unit() * ceiling as f64) as u64;
        let ends = now_ms.saturating_add(wait);
        (ends.saturating_sub(self.started_ms) < self.policy.attempt_window_ms).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_counted_and_bounded_in_time() {
        let policy = RetryPolicy {
            max_attempts: 3,
            attempt_window_ms: 1_000,
            ..RetryPolicy::default()
        };
        let mut budget = Budget::new(policy, 100);
        assert!(budget.take(100));
        assert!(budget.take(500));
        assert!(!budget.take(1_100), "past the window");
        assert!(budget.take(1_099));
        assert!(!budget.take(1_099), "no attempts left");
        assert_eq!(budget.attempts(), 3);
        // The first attempt always goes, however late.
        let mut late = Budget::new(policy, 0);
        assert!(late.take(5_000));
    }

    #[test]
    fn backoff_is_jittered_below_a_doubling_ceiling() {
        let budget = Budget::new(RetryPolicy::default(), 0);
        let mut draw = Draw::new(3);
        for (round, ceiling) in [(1, 250), (2, 500), (3, 1_000), (5, 4_000), (30, 4_000)] {
            let waits: Vec<u64> = (0..500)
                .map(|_| budget.backoff_ms(round, 0, &mut draw).unwrap())
                .collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "round {round}");
            let max = *waits.iter().max().unwrap();
            let min = *waits.iter().min().unwrap();
            assert!(
                max > ceiling * 9 / 10 && min < ceiling / 10,
                "round {round}: {min}..{max}"
            );
        }
        assert_eq!(
            budget
                .backoff_ms(1, 89_990, &mut Draw::new(9))
                .filter(|w| *w > 10),
            None
        );
    }
}
