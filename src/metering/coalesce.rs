//! Folding a run of [`Change`]s into the fewest row writes with the same end state.
//!
//! A key's object persists what its meter changed. A batch of registrations and settlements
//! rewrites the same rows many times (each registration updates its allowance, each
//! settlement the window); only the last state of a row matters, so a batch persists once, at
//! its end. Rows written whole (windows, reservations, allowances, and the identity and
//! credits, which are written from the meter's state at the time) keep only their last write;
//! a write followed by the row's deletion is dropped; deletions and usage increments (which
//! add up) are all kept, in order.

use std::collections::HashSet;

use super::Change;

/// The changes to persist for `changes`, in order: the same end state, fewer writes.
pub fn coalesce(changes: Vec<Change>) -> Vec<Change> {
    let mut windows = HashSet::new();
    let mut reservations = HashSet::new();
    let mut allowances = HashSet::new();
    let (mut identity, mut credits) = (false, false);
    let mut kept = Vec::with_capacity(changes.len());
    // From the last: a row written (or deleted) later makes an earlier write of it moot.
    for change in changes.into_iter().rev() {
        let keep = match &change {
            Change::Window(window) => windows.insert(window.start_ms),
            Change::Reservation(reservation) => reservations.insert(reservation.id.clone()),
            Change::Allowance(allowance) => allowances.insert(allowance.id.clone()),
            Change::Forget(ids) => {
                reservations.extend(ids.iter().cloned());
                true
            }
            Change::ForgetAllowances(ids) => {
                allowances.extend(ids.iter().cloned());
                true
            }
            Change::Identity => !std::mem::replace(&mut identity, true),
            Change::Credits => !std::mem::replace(&mut credits, true),
            Change::Usage(_) => true,
        };
        if keep {
            kept.push(change);
        }
    }
    kept.reverse();
    kept
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metering::allowance::Allowance;
    use crate::metering::{Reservation, UsageRecord, Window};

    /// The rows a run of changes leaves, as the key's object stores them.
    #[derive(Debug, Default, PartialEq)]
    struct Rows {
        windows: BTreeMap<u64, Window>,
        reservations: BTreeMap<String, Reservation>,
        allowances: BTreeMap<String, Allowance>,
        usage: BTreeMap<(u64, String), (i64, i64, u64)>,
        identity_writes: bool,
        credits_writes: bool,
    }

    fn apply(changes: &[Change]) -> Rows {
        let mut rows = Rows::default();
        for change in changes {
            match change {
                Change::Window(w) => {
                    rows.windows.insert(w.start_ms, *w);
                }
                Change::Reservation(r) => {
                    rows.reservations.insert(r.id.clone(), r.clone());
                }
                Change::Allowance(a) => {
                    rows.allowances.insert(a.id.clone(), a.clone());
                }
                Change::Forget(ids) => ids.iter().for_each(|id| {
                    rows.reservations.remove(id);
                }),
                Change::ForgetAllowances(ids) => ids.iter().for_each(|id| {
                    rows.allowances.remove(id);
                }),
                Change::Usage(u) => {
                    let row = rows
                        .usage
                        .entry((u.window_start_ms, u.model.clone()))
                        .or_default();
                    row.0 += u.input_tokens;
                    row.1 += u.output_tokens;
                    row.2 += u64::from(u.new_request);
                }
                Change::Identity => rows.identity_writes = true,
                Change::Credits => rows.credits_writes = true,
            }
        }
        rows
    }

    fn reservation_row(id: &str, output_cap_tokens: u64) -> Reservation {
        Reservation {
            id: id.into(),
            model: "m".into(),
            admitted_ms: 0,
            window_start_ms: 0,
            input_estimate_tokens: 1,
            output_cap_tokens,
            abandoned_input_tokens: 0,
            progress: crate::metering::Progress::default(),
            lease_until_ms: 10,
            charged: None,
            provisional: false,
            allowance: None,
            tariff: None,
        }
    }

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn random_change(rng: &mut Rng, step: u64) -> Change {
        let id = format!("r{}", rng.below(4));
        match rng.below(9) {
            0 => Change::Window(Window {
                start_ms: rng.below(2),
                end_ms: 10,
                used_tokens: step,
                used_cost: step * 2,
            }),
            1 | 2 => Change::Reservation(reservation_row(&id, step)),
            3 => Change::Forget(vec![id, format!("r{}", rng.below(4))]),
            4 => Change::Allowance(Allowance {
                id: format!("a{}", rng.below(3)),
                isolate: "i".into(),
                granted_ms: 0,
                expires_ms: 100,
                window_start_ms: 0,
                requests: step,
                tokens: 10,
                slots: 1,
                used_requests: step / 2,
                used_tokens: 0,
                released: false,
            }),
            5 => Change::ForgetAllowances(vec![format!("a{}", rng.below(3))]),
            6 => Change::Usage(UsageRecord {
                model: "m".into(),
                window_start_ms: rng.below(2),
                day: "2026-11-30".into(),
                input_tokens: step as i64,
                output_tokens: 1,
                cost_pico: 0,
                new_request: rng.below(2) == 0,
            }),
            7 => Change::Identity,
            _ => Change::Credits,
        }
    }

    #[test]
    fn the_same_rows_with_fewer_writes() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut before, mut after) = (0, 0);
        for run in 0..2_000 {
            let changes: Vec<Change> = (0..rng.below(40))
                .map(|step| random_change(&mut rng, step + 1))
                .collect();
            let coalesced = coalesce(changes.clone());
            assert_eq!(apply(&coalesced), apply(&changes), "run {run}: {changes:?}");
            before += changes.len();
            after += coalesced.len();
        }
        assert!(after * 10 < before * 7, "{after} of {before} kept");
    }

    #[test]
    fn a_batch_of_registrations_writes_its_allowance_once() {
        let allowance = |used| {
            Change::Allowance(Allowance {
                id: "a".into(),
                isolate: "i".into(),
                granted_ms: 0,
                expires_ms: 100,
                window_start_ms: 0,
                requests: 32,
                tokens: 1_000,
                slots: 8,
                used_requests: used,
                used_tokens: used * 10,
                released: false,
            })
        };
        let reservation = |id: &str| Change::Reservation(reservation_row(id, 1));
        let changes = vec![
            allowance(1),
            reservation("c1"),
            allowance(2),
            reservation("c2"),
            allowance(3),
            reservation("c3"),
        ];
        assert_eq!(
            coalesce(changes),
            vec![
                reservation("c1"),
                reservation("c2"),
                allowance(3),
                reservation("c3")
            ]
        );
    }
}
