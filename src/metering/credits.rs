//! A key's money: a prepaid balance with no reset, and spend limits per calendar day and month,
//! all in picodollars and all kept by the key's meter like its window: admission reserves a
//! call's worst-case cost against each of them (with what calls in flight hold), settlement
//! charges the actual cost.
//!
//! The day and month are those of the plan's time zone. Spend is counted whether or not a limit
//! is set (so a limit set mid-month knows what the month has spent). A correction of a
//! provisional charge (a late final settlement) counts in the period current when it arrives.

use serde::{Deserialize, Serialize};

use super::Limits;
use super::calendar::Period;

/// A prepaid balance: what was added and what calls have been charged against it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub added_pico: u64,
    pub spent_pico: u64,
}

impl Balance {
    pub fn remaining_pico(&self) -> u64 {
        self.added_pico.saturating_sub(self.spent_pico)
    }
}

/// Spend in one calendar period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    pub start_ms: u64,
    pub end_ms: u64,
    pub spent_pico: u64,
}

/// A key's balance, spend limits and spend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credits {
    /// `None`: the key does not pay from a balance.
    #[serde(default)]
    pub balance: Option<Balance>,
    #[serde(default)]
    pub daily_limit_pico: Option<u64>,
    #[serde(default)]
    pub monthly_limit_pico: Option<u64>,
    #[serde(default)]
    pub day: Spend,
    #[serde(default)]
    pub month: Spend,
}

/// One money limit a call must fit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Balance,
    Daily,
    Monthly,
}

impl Credits {
    /// Whether any call of the key must be priced (a balance or a spend limit is set).
    pub fn limited(&self) -> bool {
        self.balance.is_some()
            || self.daily_limit_pico.is_some()
            || self.monthly_limit_pico.is_some()
    }

    /// Starts a new day or month once the current one has ended; whether anything changed.
    pub fn roll(&mut self, limits: &Limits, now_ms: u64) -> bool {
        let mut changed = false;
        for (spend, period) in [
            (&mut self.day, Period::Day),
            (&mut self.month, Period::Month),
        ] {
            if now_ms >= spend.end_ms || now_ms < spend.start_ms {
                let (start_ms, end_ms) = period.bounds(&limits.zone, now_ms);
                *spend = Spend {
                    start_ms,
                    end_ms,
                    spent_pico: 0,
                };
                changed = true;
            }
        }
        changed
    }

    /// Replaces a charge of `before` picodollars by one of `after`.
    pub fn charge(&mut self, before: u64, after: u64) {
        let apply = |value: &mut u64| *value = value.saturating_sub(before).saturating_add(after);
        if let Some(balance) = self.balance.as_mut() {
            apply(&mut balance.spent_pico);
        }
        apply(&mut self.day.spent_pico);
        apply(&mut self.month.spent_pico);
    }

    /// What each set budget has left for new calls, given what calls in flight may still cost,
    /// with when it resets (`None` for the balance, which does not).
    pub fn rooms(&self, in_flight_pico: u64) -> Vec<(Budget, u64, Option<u64>)> {
        let mut rooms = Vec::new();
        if let Some(balance) = &self.balance {
            let room = balance.remaining_pico().saturating_sub(in_flight_pico);
            rooms.push((Budget::Balance, room, None));
        }
        for (budget, limit, spend) in [
            (Budget::Daily, self.daily_limit_pico, &self.day),
            (Budget::Monthly, self.monthly_limit_pico, &self.month),
        ] {
            if let Some(limit) = limit {
                let room = limit
                    .saturating_sub(spend.spent_pico)
                    .saturating_sub(in_flight_pico);
                rooms.push((budget, room, Some(spend.end_ms)));
            }
        }
        rooms
    }
}
