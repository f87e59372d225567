//! The indexed [`Meter`] against the scanning one it replaced ([`reference::Meter`]): long
//! random sequences of every message a meter takes (admissions with and without allowances,
//! registrations, checkpoints, settlements and late corrections, abandoned attempts,
//! observations, snapshots at other times), with time moving by random steps across minutes,
//! leases, windows and the hour provisional charges stay open (and now and then backwards; in
//! whole seconds in some runs, so calls are often exactly a minute or an hour old), for plans
//! in tokens and in dollars, with and without a balance or spend limits. Both must answer the
//! same, report the same changes and hold the same state after every step; a meter rebuilt
//! from its rows (as the Durable Object loads it) must go on the same way.

use super::allowance::{Demand, Grant, Isolate, Unregistered};
use super::calendar::{Period, Zone};
use super::cost::{Tariff, Unit};
use super::credits::Balance;
use super::reference;
use super::*;
use crate::keys::KeyStatus;

const DAY: &str = "2026-01-01";

/// splitmix64: small, deterministic and good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            return None;
        }
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// Calls `$method` on both meters with the same arguments and checks they answer the same.
macro_rules! both {
    ($run:expr, $what:expr, $method:ident($($arg:expr),* $(,)?)) => {{
        let new = $run.new.$method($($arg),*);
        let old = $run.old.$method($($arg),*);
        assert_eq!(new, old, "seed {} step {}: {}", $run.seed, $run.step, $what);
        new
    }};
}

/// One random run: the two meters and what the generator knows of the calls it made.
struct Run {
    seed: u64,
    step: usize,
    rng: Rng,
    new: Meter,
    old: reference::Meter,
    limits: Limits,
    now: u64,
    /// Every id ever used (settled, forgotten and unknown ones are all worth trying again).
    ids: Vec<String>,
    next_id: u64,
    /// Allowances granted, by isolate.
    grants: Vec<(String, Grant)>,
    /// What each isolate believes it holds.
    knows: [Option<String>; 2],
    tariffs: [Tariff; 2],
    /// Time mostly moves by milliseconds (minutes of hundreds of calls), else by seconds.
    fast: bool,
    /// Every time is a whole second: calls are often exactly a minute (or an hour) old.
    coarse: bool,
    seen: Seen,
}

/// What the runs went through, to show they exercised what the index must get right.
#[derive(Debug, Default)]
struct Seen {
    refusals: std::collections::BTreeMap<String, u64>,
    from_allowance: u64,
    registered: u64,
    lapsed: u64,
    corrected: u64,
    forgotten: u64,
    clock_back: u64,
    most_rows: usize,
}

impl Seen {
    fn changes(&mut self, changes: &[Change]) {
        for change in changes {
            match change {
                Change::Reservation(r) if r.provisional && r.charged.is_some() => self.lapsed += 1,
                Change::Usage(usage) if !usage.new_request => self.corrected += 1,
                Change::Forget(ids) => self.forgotten += ids.len() as u64,
                _ => {}
            }
        }
    }
}

impl Run {
    fn new(seed: u64) -> Run {
        let mut rng = Rng(seed);
        let fast = rng.chance(50);
        let coarse = rng.chance(30);
        let dollars = rng.chance(40);
        let unit = if dollars { Unit::Usd } else { Unit::Tokens };
        let scale = if dollars { 10 } else { 1 };
        let calendar = match rng.below(6) {
            0 => Some(Period::Day),
            1 => Some(Period::Week),
            _ => None,
        };
        // Fast runs are roomy, so their minutes fill with calls; slow ones reach every limit.
        let (rpms, tpms, windows): (&[u64], &[u64], &[u64]) = if fast {
            (
                &[200, 5_000, 100_000],
                &[50_000, 2_000_000, 100_000_000],
                &[1_000_000, 1_000_000_000],
            )
        } else {
            (
                &[3, 20, 200, 5_000],
                &[2_000, 20_000, 400_000],
                &[5_000, 300_000, 3_000_000],
            )
        };
        let limits = Limits {
            rpm: *rng.pick(rpms).unwrap_or(&20),
            tpm: rng.pick(tpms).unwrap_or(&20_000) * scale,
            concurrency: if fast {
                rng.between(4, 60)
            } else {
                rng.between(1, 12)
            },
            window_ms: *rng
                .pick(&[20_000, 90_000, 600_000, 4_000_000])
                .unwrap_or(&90_000),
            window_tokens: rng.pick(windows).unwrap_or(&300_000) * scale,
            unit,
            calendar,
            zone: Zone::UTC,
        };
        let mut new = Meter::new("p");
        let mut old = reference::Meter::new("p");
        if dollars && rng.chance(50) {
            let credits = Credits {
                balance: rng.chance(60).then(|| Balance {
                    added_pico: rng.between(50_000, 5_000_000),
                    spent_pico: 0,
                }),
                daily_limit_pico: rng.chance(40).then(|| rng.between(100_000, 3_000_000)),
                monthly_limit_pico: rng.chance(20).then(|| rng.between(100_000, 9_000_000)),
                ..Credits::default()
            };
            new.credits = credits.clone();
            old.credits = credits;
        }
        let tariffs = [
            Tariff {
                input: rng.between(0, 4),
                output: rng.between(1, 12),
                multiplier_ppm: 1_000_000,
            },
            Tariff {
                input: rng.between(1, 4),
                output: rng.between(1, 12),
                multiplier_ppm: 1_250_000,
            },
        ];
        Run {
            seed,
            step: 0,
            rng,
            new,
            old,
            limits,
            now: 1_767_225_600_000 + if coarse { seed * 7_000 } else { seed * 7_919 },
            ids: Vec::new(),
            next_id: 0,
            grants: Vec::new(),
            knows: [None, None],
            tariffs,
            fast,
            coarse,
            seen: Seen::default(),
        }
    }

    fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        let id = format!("c{}", self.next_id);
        self.ids.push(id.clone());
        id
    }

    /// A call in flight most of the time, else any id (to settle, checkpoint or extend).
    fn target(&mut self) -> String {
        let running: Vec<String> = self
            .new
            .reservations
            .in_flight()
            .map(|r| r.id.clone())
            .collect();
        match self.rng.pick(&running) {
            Some(id) if self.rng.chance(70) => id.clone(),
            _ => self.some_id(),
        }
    }

    /// A known id most of the time (a retry, or a late report), else one never used.
    fn some_id(&mut self) -> String {
        let recent = self.ids.len().saturating_sub(40);
        let pool = if self.rng.chance(80) {
            &self.ids[recent..]
        } else {
            &self.ids[..]
        };
        match self.rng.pick(pool) {
            Some(id) if !self.rng.chance(3) => id.clone(),
            _ => "unknown".to_owned(),
        }
    }

    fn request(&mut self, id: String) -> AdmitRequest {
        let input_tokens = self.rng.between(0, 3_000);
        let output_tokens = self.rng.between(0, 5_000);
        let tariff = if self.rng.chance(4) {
            None
        } else {
            self.rng.pick(&self.tariffs).copied()
        };
        AdmitRequest {
            id,
            model: format!("m{}", self.rng.below(3)),
            input_tokens,
            output_tokens,
            min_output_tokens: self.rng.between(0, output_tokens.min(600)),
            instant: self.rng.chance(3),
            tariff,
        }
    }

    fn lease(&mut self) -> u64 {
        *self
            .rng
            .pick(&[1_000, 5_000, 30_000, 90_000])
            .unwrap_or(&30_000)
    }

    /// Moves time on: mostly within the minute, sometimes across it, a lease or a window, now
    /// and then past the hour provisional charges are kept, rarely backwards.
    fn tick(&mut self) {
        // Per 10 000 steps: a fast run fills minutes with hundreds of calls between rarer
        // jumps; a slow one crosses minutes, leases and windows all the time.
        let roll = self.rng.below(10_000);
        let roll = if self.fast { roll } else { 9_700 + roll % 300 };
        let step = match roll {
            0..=9_699 => self.rng.below(60),
            9_700..=9_949 => self.rng.below(5_000),
            9_950..=9_979 => self.rng.between(5_000, 70_000),
            9_980..=9_989 => self.rng.between(60_000, 700_000),
            9_990..=9_992 => self.rng.between(3_000_000, 4_000_000),
            _ => {
                self.seen.clock_back += 1;
                let back = self.rng.between(1, 70_000);
                self.now = self.now.saturating_sub(self.round(back));
                return;
            }
        };
        self.now += self.round(step);
    }

    /// `ms` as the run counts time (in whole seconds, rounded up, in a coarse run).
    fn round(&self, ms: u64) -> u64 {
        if self.coarse {
            ms.div_ceil(1_000) * 1_000
        } else {
            ms
        }
    }

    fn admit(&mut self) {
        let id = if self.rng.chance(5) {
            self.some_id()
        } else {
            self.fresh_id()
        };
        let request = self.request(id);
        let allowed = !self.rng.chance(2);
        let lease = self.lease();
        let isolate = if self.rng.chance(50) {
            let which = self.rng.below(2) as usize;
            let knows = self.knows.get(which).cloned().flatten();
            let release = (knows.is_some() && self.rng.chance(10)).then(|| Unregistered {
                calls: self.rng.below(3),
                tokens: self.rng.below(20_000),
            });
            Some(Isolate {
                id: format!("i{which}"),
                knows: if self.rng.chance(30) { None } else { knows },
                wants_allowance: self.rng.chance(70),
                release,
                demand: Demand {
                    requests: self.rng.below(100),
                    slots: self.rng.below(20),
                },
            })
        } else {
            None
        };
        let (now, limits) = (self.now, self.limits);
        let (decision, changes) = both!(
            self,
            format!("admit {request:?} from {isolate:?}"),
            admit_for(
                &request,
                &limits,
                allowed,
                now,
                lease,
                DAY,
                isolate.as_ref()
            )
        );
        self.seen.changes(&changes);
        if let Some(refusal) = decision.refusal {
            *self
                .seen
                .refusals
                .entry(format!("{refusal:?}"))
                .or_default() += 1;
        }
        self.seen.from_allowance += u64::from(decision.from_allowance.is_some());
        if let (Some(isolate), Some(grant)) = (isolate, decision.allowance) {
            if let Some(slot) = isolate
                .id
                .strip_prefix('i')
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| self.knows.get_mut(n))
            {
                *slot = Some(grant.id.clone());
            }
            self.grants.push((isolate.id, grant));
        }
    }

    fn register(&mut self) {
        let Some((_, grant)) = self.rng.pick(&self.grants).cloned() else {
            return;
        };
        let id = if self.rng.chance(10) {
            self.some_id()
        } else {
            self.fresh_id()
        };
        let request = self.request(id);
        // An isolate's clock: the call may have been admitted well before calls the meter
        // already holds.
        let early = self.rng.below(12_000);
        let admitted = self.now.saturating_sub(self.round(early));
        let (now, limits, lease) = (self.now, self.limits, self.lease());
        let allowed = !self.rng.chance(2);
        let (result, changes) = both!(
            self,
            format!("register {request:?} under {}", grant.id),
            register(
                &grant.id, &request, admitted, &limits, allowed, now, lease, DAY
            )
        );
        self.seen.changes(&changes);
        self.seen.registered += u64::from(result.is_ok());
    }

    /// A top-up asked with a registration (of any allowance, by its isolate or another).
    fn top_up(&mut self) {
        let Some((isolate, grant)) = self.rng.pick(&self.grants).cloned() else {
            return;
        };
        let isolate = if self.rng.chance(10) {
            "i9".to_owned()
        } else {
            isolate
        };
        let demand = Demand {
            requests: self.rng.below(200),
            slots: self.rng.below(40),
        };
        let call_tokens = self.rng.below(3_000);
        let (now, limits) = (self.now, self.limits);
        let (_, changes) = both!(
            self,
            format!("top up {} for {isolate} with {demand:?}", grant.id),
            top_up(&grant.id, &isolate, demand, call_tokens, &limits, now, DAY)
        );
        self.seen.changes(&changes);
    }

    fn checkpoint(&mut self) {
        let id = self.target();
        let output_tokens = self.rng.below(6_000);
        let progress = Progress {
            input_tokens: self.rng.chance(50).then(|| self.rng.below(3_000)),
            output_tokens,
            credit_output_tokens: output_tokens + self.rng.below(2_000),
        };
        let (now, limits, lease) = (self.now, self.limits, self.lease());
        let changes = both!(
            self,
            format!("checkpoint {id} {progress:?}"),
            checkpoint(&id, progress, &limits, now, lease, DAY)
        );
        self.seen.changes(&changes);
    }

    fn settle(&mut self) {
        let id = self.target();
        let charged = Charged {
            input_tokens: self.rng.below(3_000),
            output_tokens: self.rng.below(5_000),
            cost: 0,
        };
        let cost = self.rng.chance(50).then(|| self.rng.below(60_000));
        let (now, limits) = (self.now, self.limits);
        let changes = both!(
            self,
            format!("settle {id} {charged:?} {cost:?}"),
            settle_priced(&id, charged, cost, &limits, now, DAY)
        );
        self.seen.changes(&changes);
    }

    fn extend(&mut self) {
        let id = self.target();
        let tokens = self.rng.below(4_000);
        let (now, limits, lease) = (self.now, self.limits, self.lease());
        let (_, changes) = both!(
            self,
            format!("extend {id} by {tokens}"),
            extend(&id, tokens, &limits, now, lease, DAY)
        );
        self.seen.changes(&changes);
    }

    fn observe(&mut self) {
        let (now, limits) = (self.now, self.limits);
        let (_, changes) = both!(self, "observe", observe(&limits, now, DAY));
        self.seen.changes(&changes);
    }

    /// A snapshot at another time than the last message's (no pruning first).
    fn snapshot_elsewhere(&mut self) {
        let at = if self.rng.chance(50) {
            self.now + self.rng.below(200_000)
        } else {
            self.now.saturating_sub(self.rng.below(200_000))
        };
        let limits = self.limits;
        both!(self, format!("snapshot at {at}"), snapshot(&limits, at));
    }

    fn toggle_status(&mut self) {
        let status = match self.rng.below(40) {
            0 => KeyStatus::Disabled,
            1 => KeyStatus::Revoked,
            _ => KeyStatus::Active,
        };
        self.new.status = status;
        self.old.status = status;
    }

    /// One random message to both meters.
    fn step(&mut self) {
        self.step += 1;
        self.tick();
        match self.rng.below(100) {
            0..=39 => self.admit(),
            40..=46 => self.register(),
            47..=49 => self.top_up(),
            50..=64 => self.checkpoint(),
            65..=84 => self.settle(),
            85..=89 => self.extend(),
            90..=95 => self.observe(),
            96..=98 => self.snapshot_elsewhere(),
            _ => self.toggle_status(),
        }
        self.check_state();
    }

    fn check_state(&mut self) {
        let context = format!("seed {} step {}", self.seed, self.step);
        self.seen.most_rows = self.seen.most_rows.max(self.old.reservations.len());
        assert_eq!(self.new.window, self.old.window, "{context}: window");
        assert_eq!(self.new.allowances, self.old.allowances, "{context}");
        assert_eq!(self.new.credits, self.old.credits, "{context}");
        let live: Vec<_> = self.new.live_allowances(self.now).collect();
        let old_live: Vec<_> = self.old.live_allowances(self.now).collect();
        assert_eq!(live, old_live, "{context}: live allowances");
        assert_eq!(
            self.new.next_lease_end_ms(),
            self.old.next_lease_end_ms(),
            "{context}: next lease end"
        );
        assert_eq!(
            self.new.reservations.len(),
            self.old.reservations.len(),
            "{context}: rows"
        );
        // The rows themselves, in order (a full comparison costs a sort: not every step).
        if self.step.is_multiple_of(8) {
            let rows: Vec<Reservation> = self.new.reservations.iter().cloned().collect();
            assert_eq!(rows, self.old.reservations, "{context}: rows");
        }
    }
}

#[test]
fn the_indexed_meter_decides_exactly_as_the_scanning_one() {
    let mut seen = Seen::default();
    let mut steps = 0;
    for seed in 0..40 {
        let mut run = Run::new(seed);
        for _ in 0..2_000 {
            run.step();
        }
        steps += run.step;
        for (refusal, count) in run.seen.refusals {
            *seen.refusals.entry(refusal).or_default() += count;
        }
        seen.from_allowance += run.seen.from_allowance;
        seen.registered += run.seen.registered;
        seen.lapsed += run.seen.lapsed;
        seen.corrected += run.seen.corrected;
        seen.forgotten += run.seen.forgotten;
        seen.clock_back += run.seen.clock_back;
        seen.most_rows = seen.most_rows.max(run.seen.most_rows);
    }
    eprintln!("{steps} steps: {seen:?}");
    // The runs went through every path the index must get right.
    for refusal in [
        "TokensPerMinute",
        "RequestsPerMinute",
        "QuotaExhausted",
        "Concurrency",
    ] {
        assert!(
            seen.refusals.get(refusal).is_some_and(|n| *n > 20),
            "{seen:?}"
        );
    }
    assert!(
        seen.from_allowance > 20 && seen.registered > 100,
        "{seen:?}"
    );
    assert!(seen.lapsed > 100 && seen.corrected > 20, "{seen:?}");
    assert!(seen.forgotten > 1_000 && seen.clock_back > 20, "{seen:?}");
    assert!(seen.most_rows > 400, "{seen:?}");
}

#[test]
fn a_meter_loaded_from_its_rows_decides_as_the_one_that_made_them() {
    // The Durable Object rebuilds its meter from stored rows (ordered by admission): the
    // rebuilt one must go on exactly like the scanning meter given the same rows.
    for seed in 100..110 {
        let mut run = Run::new(seed);
        for _ in 0..500 {
            run.step();
        }
        let mut rows = run.old.reservations.clone();
        rows.sort_by_key(|r| r.admitted_ms);
        run.new.reservations = rows.iter().cloned().collect();
        run.old.reservations = rows;
        for _ in 0..1_000 {
            run.step();
        }
    }
}
