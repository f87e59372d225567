//! One admitted call, as the key's meter tracks it from admission to its final charge.

use serde::{Deserialize, Serialize};

use super::cost::{Tariff, Unit};
use super::{MINUTE_MS, PROVISIONAL_KEEP_MS, Progress};

/// What a call was charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Charged {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Picodollars (the plan's multiplier applied).
    #[serde(default)]
    pub cost: u64,
}

impl Charged {
    pub fn total(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// One admitted call, kept while in flight and for a minute after admission (an hour when its
/// charge was provisional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: String,
    pub model: String,
    pub admitted_ms: u64,
    /// Start of the window the call counts in (moved forward while in flight when a window
    /// ends).
    pub window_start_ms: u64,
    /// Upper bound of the prompt, from admission.
    pub input_estimate_tokens: u64,
    /// The output cap the upstream was sent.
    pub output_cap_tokens: u64,
    /// Input of earlier attempts that an upstream took on and the gateway abandoned for
    /// another upstream (one that stalled before its answer started): charged on top of
    /// whatever the call is charged in the end.
    #[serde(default)]
    pub abandoned_input_tokens: u64,
    /// The last checkpoint.
    pub progress: Progress,
    /// The worker must report again before this time.
    pub lease_until_ms: u64,
    /// `None` while in flight.
    pub charged: Option<Charged>,
    /// Charged because the lease ran out; a final settlement may still correct it.
    pub provisional: bool,
    /// The allowance the call was admitted from, if any (while that allowance lives, the
    /// call's concurrency slot is one of its slots).
    #[serde(default)]
    pub allowance: Option<String>,
    /// The model's worst-case rates at admission (`None`: it has no price, and the call costs
    /// nothing in dollars).
    #[serde(default)]
    pub tariff: Option<Tariff>,
}

impl Reservation {
    pub(crate) fn in_flight(&self) -> bool {
        self.charged.is_none()
    }

    /// Whether the admission still counts toward the per-minute limits at `now_ms`.
    pub(crate) fn in_minute(&self, now_ms: u64) -> bool {
        self.admitted_ms.saturating_add(MINUTE_MS) > now_ms
    }

    /// The most this call can cost: its input estimate plus its output cap, plus what its
    /// abandoned attempts cost.
    pub fn reserved_tokens(&self) -> u64 {
        self.input_estimate_tokens
            .saturating_add(self.output_cap_tokens)
            .saturating_add(self.abandoned_input_tokens)
    }

    fn progress_tokens(&self) -> u64 {
        self.progress
            .input_tokens
            .unwrap_or(0)
            .saturating_add(self.progress.output_tokens)
            .saturating_add(self.abandoned_input_tokens)
    }

    /// What `input` and `output` tokens cost at worst (0 for a model with no price).
    fn worst_cost(&self, input: u64, output: u64) -> u64 {
        self.tariff.map_or(0, |t| t.cost(input, output))
    }

    /// The final charge for the last attempt's usage: that usage plus the abandoned attempts'.
    /// `cost` is the last attempt's cost at its route's prices; unknown, it is its worst case.
    pub(crate) fn final_charge(&self, last_attempt: Charged, cost: Option<u64>) -> Charged {
        let last_cost = cost.unwrap_or_else(|| {
            self.worst_cost(last_attempt.input_tokens, last_attempt.output_tokens)
        });
        Charged {
            input_tokens: last_attempt
                .input_tokens
                .saturating_add(self.abandoned_input_tokens),
            output_tokens: last_attempt.output_tokens,
            cost: last_cost.saturating_add(self.worst_cost(self.abandoned_input_tokens, 0)),
        }
    }

    /// The most this call can cost, in picodollars.
    pub fn reserved_cost(&self) -> u64 {
        self.worst_cost(
            self.input_estimate_tokens
                .saturating_add(self.abandoned_input_tokens),
            self.output_cap_tokens,
        )
    }

    fn progress_cost(&self) -> u64 {
        self.worst_cost(
            self.progress
                .input_tokens
                .unwrap_or(0)
                .saturating_add(self.abandoned_input_tokens),
            self.progress.output_tokens,
        )
    }

    /// Picodollars this call counts for: charged, else reserved (or used so far, if more).
    pub(crate) fn cost(&self) -> u64 {
        match self.charged {
            Some(charged) => charged.cost,
            None => self.reserved_cost().max(self.progress_cost()),
        }
    }

    /// What this call counts for in `unit`.
    pub(crate) fn units(&self, unit: Unit) -> u64 {
        match unit {
            Unit::Tokens => self.tokens(),
            Unit::Usd => self.cost(),
        }
    }

    /// Tokens this call counts for: charged, else reserved (or used so far, if more).
    pub(crate) fn tokens(&self) -> u64 {
        match self.charged {
            Some(charged) => charged.total(),
            None => self.reserved_tokens().max(self.progress_tokens()),
        }
    }

    /// What the call is charged when its lease runs out: the reported input (else the
    /// estimate) plus the output credit (never less than the output reported so far), plus
    /// the abandoned attempts.
    pub(crate) fn lapse_charge(&self) -> Charged {
        let input_tokens = self
            .progress
            .input_tokens
            .unwrap_or(self.input_estimate_tokens)
            .saturating_add(self.abandoned_input_tokens);
        let output_tokens = self
            .progress
            .credit_output_tokens
            .min(self.output_cap_tokens)
            .max(self.progress.output_tokens);
        Charged {
            input_tokens,
            output_tokens,
            // At the worst-case rates: the gateway does not know how the prompt was cached.
            cost: self.worst_cost(input_tokens, output_tokens),
        }
    }

    /// Whether the row is still needed at `now_ms`.
    pub(crate) fn needed(&self, now_ms: u64) -> bool {
        self.in_flight()
            || self.in_minute(now_ms)
            || self.provisional && self.admitted_ms.saturating_add(PROVISIONAL_KEEP_MS) > now_ms
    }
}
