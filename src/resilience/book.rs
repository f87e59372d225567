//! Every breaker of an isolate: one per provider, and one per key of each provider's pool.
//!
//! A request may use an upstream key only if both its provider's breaker and its key's breaker
//! let it through. Failures that concern the provider (it is down, slow or overloaded) go to
//! the provider's breaker, so one outage skips every key of the pool; failures that concern
//! one key (rate limited, refused, out of credit) go to that key's breaker, so the pool's other
//! keys keep serving. A success closes both.
//!
//! Keys are named by the secret that holds them (`OPENAI_KEY_2`), never by their value. The
//! book holds at most one breaker per provider and per key name in the config, so it stays
//! small however long the isolate lives.

use std::collections::HashMap;

use super::circuit::{Circuit, CircuitPolicy, Gate, Standing};
use super::outcome::Failure;

/// An upstream as the book knows it: a provider, and one of its keys (`None`: the provider's
/// own breaker, or a provider without keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UpstreamId {
    pub provider: String,
    pub key: Option<String>,
}

impl UpstreamId {
    pub fn provider(provider: &str) -> UpstreamId {
        UpstreamId {
            provider: provider.to_owned(),
            key: None,
        }
    }

    pub fn key(provider: &str, key: Option<&str>) -> UpstreamId {
        UpstreamId {
            provider: provider.to_owned(),
            key: key.map(str::to_owned),
        }
    }
}

/// Whether a request may try an upstream key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Try it (`probe`: it is the one request testing an upstream whose cooldown passed).
    Try { probe: bool },
    /// Skip it; it may be tried again at `until_ms`.
    Skip { until_ms: u64, reason: Failure },
}

/// One breaker, as `/health/ready` shows it to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerReport {
    pub upstream: UpstreamId,
    pub standing: Standing,
    pub consecutive_failures: u32,
    /// Failures among the recent outcomes, and how many outcomes are remembered.
    pub recent_failures: (u32, u32),
    pub last_failure: Option<Failure>,
}

#[derive(Debug, Default)]
pub struct HealthBook {
    breakers: HashMap<UpstreamId, Circuit>,
}

impl HealthBook {
    pub fn new() -> HealthBook {
        HealthBook::default()
    }

    /// Whether a request may use `key` of `provider` at `now_ms`. A `probe` admission must be
    /// followed by [`HealthBook::record`] (an unrecorded probe blocks others for the policy's
    /// `probe_ms`).
    pub fn check(
        &mut self,
        provider: &str,
        key: Option<&str>,
        now_ms: u64,
        policy: &CircuitPolicy,
    ) -> Admission {
        if !policy.enabled {
            return Admission::Try { probe: false };
        }
        let provider_id = UpstreamId::provider(provider);
        let key_id = key.map(|_| UpstreamId::key(provider, key));
        // Both breakers are asked before either starts a probe, so a skip by one never leaves
        // the other waiting on a probe that was not sent.
        let provider_gate = self.peek(&provider_id, now_ms);
        let key_gate = key_id
            .as_ref()
            .map_or(Gate::Pass, |id| self.peek(id, now_ms));
        for gate in [provider_gate, key_gate] {
            if let Gate::Skip { until_ms, reason } = gate {
                return Admission::Skip { until_ms, reason };
            }
        }
        let mut probe = false;
        for (gate, id) in [
            (provider_gate, Some(&provider_id)),
            (key_gate, key_id.as_ref()),
        ] {
            if let (Gate::Probe, Some(id)) = (gate, id)
                && let Some(circuit) = self.breakers.get_mut(id)
            {
                circuit.start_probe(now_ms, policy);
                probe = true;
            }
        }
        Admission::Try { probe }
    }

    /// Records the outcome of an attempt that started at `started_ms`: `Ok(())` for an
    /// upstream that served the request, `Err((failure, retry_after_ms))` otherwise. Returns the
    /// breaker's report when the outcome opened it (for the log).
    pub fn record(
        &mut self,
        provider: &str,
        key: Option<&str>,
        outcome: Result<(), (Failure, Option<u64>)>,
        (started_ms, now_ms): (u64, u64),
        policy: &CircuitPolicy,
    ) -> Option<BreakerReport> {
        if !policy.enabled {
            return None;
        }
        match outcome {
            Ok(()) => {
                self.breaker(UpstreamId::provider(provider))
                    .record_success(started_ms, now_ms, policy);
                if key.is_some() {
                    self.breaker(UpstreamId::key(provider, key))
                        .record_success(started_ms, now_ms, policy);
                }
                None
            }
            Err((failure, retry_after_ms)) => {
                let id = if failure.is_key_scoped() && key.is_some() {
                    UpstreamId::key(provider, key)
                } else {
                    UpstreamId::provider(provider)
                };
                let breaker = self.breaker(id.clone());
                let before = breaker.standing();
                breaker.record_failure(failure, retry_after_ms, started_ms, now_ms, policy);
                let after = breaker.standing();
                let opened = matches!(after, Standing::Open { .. }) && after != before;
                opened.then(|| report_of(&id, breaker))
            }
        }
    }

    /// When `key` of `provider` may be tried again, if one of its breakers is not closed.
    pub fn reopens_at_ms(&self, provider: &str, key: Option<&str>) -> Option<u64> {
        let provider_at = self
            .breakers
            .get(&UpstreamId::provider(provider))
            .and_then(Circuit::reopens_at_ms);
        let key_at = key.and_then(|_| {
            self.breakers
                .get(&UpstreamId::key(provider, key))
                .and_then(Circuit::reopens_at_ms)
        });
        provider_at.max(key_at)
    }

    /// Every breaker that has seen an outcome, sorted by provider and key.
    pub fn report(&self) -> Vec<BreakerReport> {
        let mut reports: Vec<BreakerReport> = self
            .breakers
            .iter()
            .map(|(upstream, circuit)| report_of(upstream, circuit))
            .collect();
        reports.sort_by(|a, b| a.upstream.cmp(&b.upstream));
        reports
    }

    /// Forgets every breaker (the config changed: providers and keys may be new).
    pub fn clear(&mut self) {
        self.breakers.clear();
    }

    fn peek(&self, id: &UpstreamId, now_ms: u64) -> Gate {
        self.breakers
            .get(id)
            .map_or(Gate::Pass, |circuit| circuit.peek(now_ms))
    }

    fn breaker(&mut self, id: UpstreamId) -> &mut Circuit {
        self.breakers.entry(id).or_default()
    }
}

fn report_of(upstream: &UpstreamId, circuit: &Circuit) -> BreakerReport {
    BreakerReport {
        upstream: upstream.clone(),
        standing: circuit.standing(),
        consecutive_failures: circuit.consecutive_failures(),
        recent_failures: circuit.recent_failures(),
        last_failure: circuit.last_failure(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(book: &mut HealthBook, key: Option<&str>, failure: Failure, now: u64) {
        let _ = book.record(
            "p",
            key,
            Err((failure, None)),
            (now, now),
            &CircuitPolicy::default(),
        );
    }

    #[test]
    fn key_failures_skip_only_that_key() {
        let policy = CircuitPolicy::default();
        let mut book = HealthBook::new();
        fail(&mut book, Some("K1"), Failure::CreditExhausted, 0);
        assert_eq!(
            book.check("p", Some("K1"), 1, &policy),
            Admission::Skip {
                until_ms: policy.bench_ms,
                reason: Failure::CreditExhausted
            }
        );
        assert_eq!(
            book.check("p", Some("K2"), 1, &policy),
            Admission::Try { probe: false }
        );
    }

    #[test]
    fn provider_failures_skip_every_key() {
        let policy = CircuitPolicy::default();
        let mut book = HealthBook::new();
        for (t, key) in ["K1", "K2", "K3"].into_iter().enumerate() {
            fail(&mut book, Some(key), Failure::Unavailable, t as u64);
        }
        for key in ["K1", "K2", "K9"] {
            assert!(matches!(
                book.check("p", Some(key), 10, &policy),
                Admission::Skip {
                    reason: Failure::Unavailable,
                    ..
                }
            ));
        }
        assert_eq!(
            book.check("other", Some("K1"), 10, &policy),
            Admission::Try { probe: false }
        );
        // After the cooldown one request probes; a success reopens the whole provider.
        assert_eq!(
            book.check("p", Some("K2"), 5_002, &policy),
            Admission::Try { probe: true }
        );
        assert!(matches!(
            book.check("p", Some("K1"), 5_003, &policy),
            Admission::Skip { .. }
        ));
        assert_eq!(
            book.record("p", Some("K2"), Ok(()), (5_002, 5_004), &policy),
            None
        );
        assert_eq!(
            book.check("p", Some("K1"), 5_005, &policy),
            Admission::Try { probe: false }
        );
    }

    #[test]
    fn a_skipping_key_never_starts_the_providers_probe() {
        let policy = CircuitPolicy::default();
        let mut book = HealthBook::new();
        fail(&mut book, Some("K1"), Failure::CreditExhausted, 0);
        for t in 0..3 {
            fail(&mut book, Some("K2"), Failure::Unavailable, t);
        }
        // The provider's cooldown is over, but K1 is benched: K1 is skipped and K2 probes.
        assert!(matches!(
            book.check("p", Some("K1"), 6_000, &policy),
            Admission::Skip {
                reason: Failure::CreditExhausted,
                ..
            }
        ));
        assert_eq!(
            book.check("p", Some("K2"), 6_000, &policy),
            Admission::Try { probe: true }
        );
    }

    #[test]
    fn a_disabled_breaker_never_skips() {
        let policy = CircuitPolicy {
            enabled: false,
            ..CircuitPolicy::default()
        };
        let mut book = HealthBook::new();
        for t in 0..10 {
            let _ = book.record(
                "p",
                Some("K"),
                Err((Failure::CreditExhausted, None)),
                (t, t),
                &policy,
            );
        }
        assert_eq!(
            book.check("p", Some("K"), 11, &policy),
            Admission::Try { probe: false }
        );
        assert!(book.report().is_empty());
    }

    #[test]
    fn keyless_providers_take_key_failures_on_the_provider() {
        let policy = CircuitPolicy::default();
        let mut book = HealthBook::new();
        fail(&mut book, None, Failure::RateLimited, 0);
        assert!(matches!(
            book.check("p", None, 1, &policy),
            Admission::Skip {
                reason: Failure::RateLimited,
                ..
            }
        ));
    }

    #[test]
    fn an_opening_is_reported_once_and_reopening_times_combine_both_breakers() {
        let policy = CircuitPolicy::default();
        let mut book = HealthBook::new();
        let fail = |book: &mut HealthBook, key, failure, now| {
            book.record("p", key, Err((failure, None)), (now, now), &policy)
        };
        assert_eq!(fail(&mut book, Some("K1"), Failure::Unavailable, 0), None);
        assert_eq!(fail(&mut book, Some("K1"), Failure::Unavailable, 1), None);
        let opened = fail(&mut book, Some("K1"), Failure::Unavailable, 2).unwrap();
        assert_eq!(opened.upstream, UpstreamId::provider("p"));
        assert_eq!(book.reopens_at_ms("p", Some("K1")), Some(5_002));
        let benched = fail(&mut book, Some("K1"), Failure::CreditExhausted, 3).unwrap();
        assert_eq!(benched.upstream, UpstreamId::key("p", Some("K1")));
        assert_eq!(
            book.reopens_at_ms("p", Some("K1")),
            Some(policy.bench_ms + 3)
        );
        assert_eq!(book.reopens_at_ms("p", Some("K2")), Some(5_002));
        assert_eq!(book.reopens_at_ms("q", Some("K2")), None);
    }

    #[test]
    fn the_report_names_keys_by_secret_name() {
        let mut book = HealthBook::new();
        fail(&mut book, Some("OPENAI_KEY_2"), Failure::KeyRefused, 0);
        let report = book.report();
        assert_eq!(report.len(), 1);
        assert_eq!(
            report[0].upstream,
            UpstreamId::key("p", Some("OPENAI_KEY_2"))
        );
        assert_eq!(report[0].last_failure, Some(Failure::KeyRefused));
    }
}
