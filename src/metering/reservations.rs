//! The calls a key's meter keeps, indexed so that no message to the meter costs time in
//! proportion to the number of calls of the last minute.
//!
//! A busy key keeps every call of the last minute (the per-minute limits count them): thousands
//! of rows. Every message needs the minute's count and sums and the calls in flight, finds a
//! call by id, and forgets the calls no limit needs any more. Rather than scan the rows for each
//! of those, the collection files every row in one of three parts and keeps what the scans
//! computed:
//!
//! - **in flight** (not charged yet), in the order they were added: few (the concurrency bounds
//!   them) and their figures move with every checkpoint, so they are summed when asked;
//! - **minute**: charged calls admitted within the minute before the collection's clock,
//!   ordered by admission time, with the running sums of their tokens and cost (a row changes
//!   only through [`Reservations::update`], which takes it out and files it back, adjusting the
//!   sums);
//! - **earlier**: charged calls admitted before that minute and still kept (a provisional charge
//!   stays open to correction for an hour), ordered by admission time.
//!
//! An index by id finds any row. [`Reservations::advance`] moves the clock: calls leave the
//! minute from its front and are forgotten unless still needed, provisional charges expire from
//! the front of the earlier part. While the clock moves forward a row changes parts a bounded
//! number of times in its life, so the cost of a message is amortized O(log n) in the minute's
//! calls (the ordered maps), plus the calls in flight. A clock that goes back brings rows back
//! into the minute one by one, and figures asked for at another time than the clock (a
//! snapshot taken without pruning) walk only the rows admitted between the two times.
//!
//! Every row carries the number of its insertion, so whatever the collection lists (all rows,
//! the rows it forgets, the calls in flight) comes out in the order the meter's rows always
//! had: the order calls were added, a call added again with the same id counting as new.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::cost::Unit;
use super::reservation::Reservation;

/// A charged row's place in an ordered part: its admission time, then its insertion number
/// (unique, so no two rows share a key and rows admitted at the same time keep their order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    admitted_ms: u64,
    seq: u64,
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        work::tally(1);
        (self.admitted_ms, self.seq).cmp(&(other.admitted_ms, other.seq))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Where the index finds a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    InFlight(u64),
    Minute(Key),
    Earlier(Key),
}

/// Exact sums of charged rows: u128 cannot overflow for any number of u64 figures a meter can
/// hold, so rows can be subtracted again (a saturated u64 sum could not be undone). Readers
/// saturate to u64, which gives exactly what a saturating fold over the rows gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    tokens: u128,
    cost: u128,
}

impl Totals {
    fn add(&mut self, reservation: &Reservation) {
        self.tokens = self.tokens.saturating_add(u128::from(reservation.tokens()));
        self.cost = self.cost.saturating_add(u128::from(reservation.cost()));
    }

    fn sub(&mut self, reservation: &Reservation) {
        self.tokens = self.tokens.saturating_sub(u128::from(reservation.tokens()));
        self.cost = self.cost.saturating_sub(u128::from(reservation.cost()));
    }

    fn units(&self, unit: Unit) -> u64 {
        let total = match unit {
            Unit::Tokens => self.tokens,
            Unit::Usd => self.cost,
        };
        u64::try_from(total).unwrap_or(u64::MAX)
    }
}

/// What the calls admitted within the minute before some time count for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MinuteFigures {
    /// Calls admitted in the minute, in flight or not.
    pub(crate) requests: u64,
    totals: Totals,
    /// When the oldest of them was admitted.
    pub(crate) oldest_ms: Option<u64>,
}

impl MinuteFigures {
    /// What they count for in `unit` (their tokens, or their cost), saturating.
    pub(crate) fn units(&self, unit: Unit) -> u64 {
        self.totals.units(unit)
    }
}

/// A key's calls: those of the last minute, those in flight, and provisional charges still
/// open to correction (see the module doc).
#[derive(Clone, Default)]
pub struct Reservations {
    places: HashMap<String, Place>,
    in_flight: BTreeMap<u64, Reservation>,
    minute: BTreeMap<Key, Reservation>,
    earlier: BTreeMap<Key, Reservation>,
    /// Sums over `minute`.
    minute_totals: Totals,
    /// The time `minute` and `earlier` are split at (0 until the first [`Self::advance`]:
    /// every row counts in the minute then).
    clock_ms: u64,
    next_seq: u64,
}

impl Reservations {
    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// Every row, in the order they were added (O(n log n): for reports and tests, not for
    /// the meter's messages).
    pub fn iter(&self) -> impl Iterator<Item = &Reservation> {
        let mut rows: Vec<(u64, &Reservation)> = self
            .in_flight
            .iter()
            .map(|(seq, r)| (*seq, r))
            .chain(self.minute.iter().map(|(key, r)| (key.seq, r)))
            .chain(self.earlier.iter().map(|(key, r)| (key.seq, r)))
            .collect();
        work::tally(rows.len() as u64);
        rows.sort_unstable_by_key(|(seq, _)| *seq);
        rows.into_iter().map(|(_, r)| r)
    }

    pub fn get(&self, id: &str) -> Option<&Reservation> {
        match self.places.get(id)? {
            Place::InFlight(seq) => self.in_flight.get(seq),
            Place::Minute(key) => self.minute.get(key),
            Place::Earlier(key) => self.earlier.get(key),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.places.contains_key(id)
    }

    /// The calls in flight, in the order they were added.
    pub fn in_flight(&self) -> impl Iterator<Item = &Reservation> {
        self.in_flight.values()
    }

    pub fn in_flight_count(&self) -> usize {
        self.in_flight.len()
    }

    /// Adds `reservation` as the newest row, replacing any row with its id.
    pub(crate) fn insert(&mut self, reservation: Reservation) {
        self.take(&reservation.id);
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        self.file(seq, reservation);
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<Reservation> {
        self.take(id).map(|(_, reservation)| reservation)
    }

    /// Changes the row with `id` through `f` (which must not change its id), filing it again
    /// where it now belongs; `None` if there is no such row.
    pub(crate) fn update<T>(
        &mut self,
        id: &str,
        f: impl FnOnce(&mut Reservation) -> T,
    ) -> Option<T> {
        let (seq, mut reservation) = self.take(id)?;
        let out = f(&mut reservation);
        self.file(seq, reservation);
        Some(out)
    }

    /// Moves the clock to `now_ms`: charged calls that left the minute are forgotten unless
    /// their provisional charge is still open to correction, and those whose hour is over are
    /// forgotten. Returns the ids forgotten, in the order they were added.
    pub(crate) fn advance(&mut self, now_ms: u64) -> Vec<String> {
        let mut forgotten = Vec::new();
        if now_ms >= self.clock_ms {
            while let Some(entry) = self.minute.first_entry() {
                work::tally(1);
                if entry.get().in_minute(now_ms) {
                    break;
                }
                let (key, reservation) = entry.remove_entry();
                self.minute_totals.sub(&reservation);
                if reservation.needed(now_ms) {
                    self.places
                        .insert(reservation.id.clone(), Place::Earlier(key));
                    self.earlier.insert(key, reservation);
                } else {
                    self.places.remove(&reservation.id);
                    forgotten.push((key.seq, reservation.id));
                }
            }
        } else {
            // The clock went back (a host's clock is not monotonic): calls kept from before the
            // minute may be in it again.
            while let Some(entry) = self.earlier.last_entry() {
                work::tally(1);
                if !entry.get().in_minute(now_ms) {
                    break;
                }
                let (key, reservation) = entry.remove_entry();
                self.minute_totals.add(&reservation);
                self.places
                    .insert(reservation.id.clone(), Place::Minute(key));
                self.minute.insert(key, reservation);
            }
        }
        self.clock_ms = now_ms;
        // Only provisional charges are kept before the minute, each for an hour after its
        // admission: the expired ones are at the front.
        while let Some(entry) = self.earlier.first_entry() {
            work::tally(1);
            if entry.get().needed(now_ms) {
                break;
            }
            let (key, reservation) = entry.remove_entry();
            self.places.remove(&reservation.id);
            forgotten.push((key.seq, reservation.id));
        }
        forgotten.sort_unstable_by_key(|(seq, _)| *seq);
        forgotten.into_iter().map(|(_, id)| id).collect()
    }

    /// What the calls admitted in the minute before `now_ms` count for. At the clock this
    /// costs the calls in flight; elsewhere it also walks the charged calls admitted between
    /// the two times.
    pub(crate) fn minute_figures(&self, now_ms: u64) -> MinuteFigures {
        let mut requests = self.minute.len() as u64;
        let mut totals = self.minute_totals;
        let mut oldest_ms = None;
        if now_ms >= self.clock_ms {
            for (key, reservation) in &self.minute {
                work::tally(1);
                if reservation.in_minute(now_ms) {
                    oldest_ms = Some(key.admitted_ms);
                    break;
                }
                requests = requests.saturating_sub(1);
                totals.sub(reservation);
            }
        } else {
            oldest_ms = self.minute.keys().next().map(|key| key.admitted_ms);
            for (key, reservation) in self.earlier.iter().rev() {
                work::tally(1);
                if !reservation.in_minute(now_ms) {
                    break;
                }
                requests = requests.saturating_add(1);
                totals.add(reservation);
                oldest_ms = Some(key.admitted_ms);
            }
        }
        for reservation in self.in_flight.values().filter(|r| r.in_minute(now_ms)) {
            requests = requests.saturating_add(1);
            totals.add(reservation);
            oldest_ms =
                Some(oldest_ms.map_or(reservation.admitted_ms, |t| t.min(reservation.admitted_ms)));
        }
        MinuteFigures {
            requests,
            totals,
            oldest_ms,
        }
    }

    /// The calls admitted in the minute before `now_ms`, oldest admission first (calls
    /// admitted at the same time in no set order). Walks them: for the rare refusal that must
    /// say when tokens free up, which stops as soon as it knows.
    pub(crate) fn in_minute_by_admission(&self, now_ms: u64) -> impl Iterator<Item = &Reservation> {
        let from = first_admitted_in_minute(now_ms).map(|admitted_ms| Key {
            admitted_ms,
            seq: 0,
        });
        // Every key of `earlier` is below every key of `minute` (the parts split at a time).
        let mut charged = from
            .into_iter()
            .flat_map(|from| {
                self.earlier
                    .range(from..)
                    .chain(self.minute.range(from..))
                    .map(|(_, r)| r)
            })
            .peekable();
        let mut running: Vec<&Reservation> = self
            .in_flight
            .values()
            .filter(|r| r.in_minute(now_ms))
            .collect();
        running.sort_by_key(|r| r.admitted_ms);
        let mut running = running.into_iter().peekable();
        std::iter::from_fn(move || {
            work::tally(1);
            let running_first = match (charged.peek(), running.peek()) {
                (Some(c), Some(r)) => r.admitted_ms < c.admitted_ms,
                (None, Some(_)) => true,
                _ => false,
            };
            if running_first {
                running.next()
            } else {
                charged.next()
            }
        })
    }

    /// Takes the row with `id` out of its part, with its insertion number.
    fn take(&mut self, id: &str) -> Option<(u64, Reservation)> {
        match self.places.remove(id)? {
            Place::InFlight(seq) => self.in_flight.remove(&seq).map(|r| (seq, r)),
            Place::Minute(key) => {
                let reservation = self.minute.remove(&key)?;
                self.minute_totals.sub(&reservation);
                Some((key.seq, reservation))
            }
            Place::Earlier(key) => self.earlier.remove(&key).map(|r| (key.seq, r)),
        }
    }

    /// Files a row (taken out, or new) in the part it belongs to at the clock.
    fn file(&mut self, seq: u64, reservation: Reservation) {
        let key = Key {
            admitted_ms: reservation.admitted_ms,
            seq,
        };
        let place = if reservation.in_flight() {
            Place::InFlight(seq)
        } else if reservation.in_minute(self.clock_ms) {
            Place::Minute(key)
        } else {
            Place::Earlier(key)
        };
        self.places.insert(reservation.id.clone(), place);
        match place {
            Place::InFlight(seq) => {
                self.in_flight.insert(seq, reservation);
            }
            Place::Minute(key) => {
                self.minute_totals.add(&reservation);
                self.minute.insert(key, reservation);
            }
            Place::Earlier(key) => {
                self.earlier.insert(key, reservation);
            }
        }
    }
}

/// The earliest admission time still in the minute before `now_ms` (see
/// [`Reservation::in_minute`]); `None` if no time is.
fn first_admitted_in_minute(now_ms: u64) -> Option<u64> {
    match now_ms.checked_sub(super::MINUTE_MS) {
        None => Some(0),
        // `admitted + MINUTE_MS > now` saturates at u64::MAX, which is never above it.
        Some(_) if now_ms == u64::MAX => None,
        Some(before) => Some(before.saturating_add(1)),
    }
}

impl FromIterator<Reservation> for Reservations {
    /// Rows in the order they were added (a later row replaces an earlier one with its id).
    fn from_iter<I: IntoIterator<Item = Reservation>>(rows: I) -> Reservations {
        let mut reservations = Reservations::default();
        for reservation in rows {
            reservations.insert(reservation);
        }
        reservations
    }
}

/// Two collections are equal when they hold the same rows in the same order.
impl PartialEq for Reservations {
    fn eq(&self, other: &Reservations) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Reservations {}

impl fmt::Debug for Reservations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A count of the steps the collection takes over its charged rows (comparisons of their keys
/// in the ordered maps, rows visited by walks), so tests can show how the cost of a message
/// grows with the minute's calls. Counts only in tests.
pub(crate) mod work {
    #[cfg(test)]
    thread_local! {
        static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    #[cfg(test)]
    pub(crate) fn tally(steps: u64) {
        STEPS.with(|s| s.set(s.get().saturating_add(steps)));
    }

    #[cfg(not(test))]
    #[inline(always)]
    pub(crate) fn tally(_steps: u64) {}

    /// Steps counted on this thread so far.
    #[cfg(test)]
    pub(crate) fn steps() -> u64 {
        STEPS.with(std::cell::Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metering::reservation::Charged;
    use crate::metering::{MINUTE_MS, Progress};

    fn row(id: &str, admitted_ms: u64, charged: Option<u64>) -> Reservation {
        Reservation {
            id: id.into(),
            model: "m".into(),
            admitted_ms,
            window_start_ms: 0,
            input_estimate_tokens: 10,
            output_cap_tokens: 10,
            abandoned_input_tokens: 0,
            progress: Progress::default(),
            lease_until_ms: admitted_ms.saturating_add(1_000),
            charged: charged.map(|tokens| Charged {
                input_tokens: tokens,
                output_tokens: 0,
                cost: tokens * 3,
            }),
            provisional: false,
            allowance: None,
            tariff: None,
        }
    }

    #[test]
    fn the_first_time_in_the_minute_is_exactly_where_in_minute_turns() {
        let edges = [0, 1, MINUTE_MS - 1, MINUTE_MS, MINUTE_MS + 1, 1 << 40];
        let nows = edges
            .iter()
            .copied()
            .chain([u64::MAX - MINUTE_MS, u64::MAX - 1, u64::MAX]);
        for now in nows {
            let first = first_admitted_in_minute(now);
            let around = [0, 1, now.saturating_sub(MINUTE_MS), now, u64::MAX];
            for base in around {
                for admitted in base.saturating_sub(2)..=base.saturating_add(2) {
                    let in_minute = row("a", admitted, Some(1)).in_minute(now);
                    assert_eq!(
                        first.is_some_and(|t| admitted >= t),
                        in_minute,
                        "admitted {admitted} at {now}"
                    );
                }
            }
        }
    }

    #[test]
    fn calls_admitted_out_of_order_leave_the_minute_in_admission_order() {
        let mut rows = Reservations::default();
        rows.advance(100_000);
        for (id, admitted) in [("a", 90_000), ("b", 50_000), ("c", 70_000), ("d", 60_000)] {
            rows.insert(row(id, admitted, Some(5)));
        }
        let figures = rows.minute_figures(100_000);
        assert_eq!((figures.requests, figures.units(Unit::Tokens)), (4, 20));
        assert_eq!(figures.units(Unit::Usd), 60);
        assert_eq!(figures.oldest_ms, Some(50_000));
        // At 120 000 the calls admitted at 50 000 and 60 000 have left; asked without moving
        // the clock, and after.
        let later = rows.minute_figures(120_000);
        assert_eq!((later.requests, later.oldest_ms), (2, Some(70_000)));
        assert_eq!(rows.advance(120_000), vec!["b".to_owned(), "d".to_owned()]);
        assert_eq!(rows.minute_figures(120_000), later);
        let order: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(order, ["a", "c"]);
    }

    #[test]
    fn a_charge_moves_a_call_out_of_flight_and_into_the_sums() {
        let mut rows = Reservations::default();
        rows.insert(row("a", 0, None));
        rows.insert(row("b", 10, Some(7)));
        assert_eq!(rows.in_flight_count(), 1);
        assert_eq!(rows.minute_figures(10).units(Unit::Tokens), 20 + 7);
        rows.update("a", |r| {
            r.charged = Some(Charged {
                input_tokens: 3,
                output_tokens: 0,
                cost: 0,
            })
        });
        assert_eq!(rows.in_flight_count(), 0);
        assert_eq!(rows.minute_figures(10).units(Unit::Tokens), 3 + 7);
        assert_eq!(rows.remove("b").map(|r| r.id), Some("b".to_owned()));
        assert_eq!(rows.minute_figures(10).units(Unit::Tokens), 3);
        // Added again: the newest row.
        rows.insert(row("a", 5, Some(1)));
        rows.insert(row("c", 6, Some(1)));
        rows.insert(row("a", 5, Some(2)));
        let order: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(order, ["c", "a"]);
        assert_eq!(rows.minute_figures(10).units(Unit::Tokens), 3);
    }
}
