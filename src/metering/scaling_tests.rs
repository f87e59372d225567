//! What a message to the meter costs as the minute fills: the steps the indexed calls take
//! (counted by [`reservations::work`], so the check is exact, not timed) must not grow with the
//! number of calls in the minute beyond the logarithm of the ordered maps. The scanning meter
//! this replaced took several passes over all of them per message.

use super::reservations::work;
use super::*;

const DAY: &str = "2026-01-01";
const LEASE: u64 = 30_000;

fn roomy() -> Limits {
    Limits {
        rpm: u64::MAX,
        tpm: u64::MAX,
        concurrency: 1_000,
        window_ms: 86_400_000,
        window_tokens: u64::MAX,
        unit: cost::Unit::Tokens,
        calendar: None,
        zone: calendar::Zone::UTC,
    }
}

fn ask(id: &str) -> AdmitRequest {
    AdmitRequest {
        id: id.into(),
        model: "m".into(),
        input_tokens: 100,
        output_tokens: 100,
        min_output_tokens: 1,
        instant: false,
        tariff: None,
    }
}

fn usage() -> Charged {
    Charged {
        input_tokens: 80,
        output_tokens: 40,
        cost: 0,
    }
}

/// `calls` settled calls admitted evenly over the minute before `now`, oldest first (as the
/// Durable Object loads them).
fn settled_calls(calls: u64, now: u64) -> Vec<Reservation> {
    (0..calls)
        .map(|n| {
            let at = now - 59_999 + n * 59_999 / calls;
            Reservation {
                id: format!("old{n}"),
                model: "m".into(),
                admitted_ms: at,
                window_start_ms: now - 60_000,
                input_estimate_tokens: 100,
                output_cap_tokens: 100,
                abandoned_input_tokens: 0,
                progress: Progress::default(),
                lease_until_ms: at + LEASE,
                charged: Some(usage()),
                provisional: false,
                allowance: None,
                tariff: None,
            }
        })
        .collect()
}

/// A meter holding `calls` settled calls admitted evenly over the minute before `now`.
fn busy_meter(calls: u64, now: u64) -> Meter {
    let mut meter = Meter::new("p");
    meter.reservations = settled_calls(calls, now).into_iter().collect();
    let snapshot = meter.observe(&roomy(), now, DAY).0;
    assert_eq!(snapshot.minute_requests, calls);
    meter
}

/// One call's messages (admission, two checkpoints, an abandoned attempt, settlement, an
/// observation), `calls` times, one millisecond apart: the oldest calls leave the minute
/// meanwhile. Returns the steps counted.
fn messages(meter: &mut Meter, calls: u64, mut now: u64) -> u64 {
    let limits = roomy();
    let before = work::steps();
    for n in 0..calls {
        now += 1;
        let id = format!("new{n}");
        let decision = meter.admit(&ask(&id), &limits, true, now, LEASE, DAY).0;
        assert_eq!(decision.refusal, None);
        for output in [10, 20] {
            let progress = Progress {
                input_tokens: Some(80),
                output_tokens: output,
                credit_output_tokens: output + 100,
            };
            meter.checkpoint(&id, progress, &limits, now, LEASE, DAY);
        }
        assert!(meter.extend(&id, 5, &limits, now, LEASE, DAY).0.is_ok());
        meter.settle(&id, usage(), &limits, now, DAY);
        meter.observe(&limits, now, DAY);
    }
    work::steps() - before
}

#[test]
fn a_message_costs_the_same_with_a_thousand_or_fifty_thousand_calls_in_the_minute() {
    let now = 1_767_225_600_000;
    let mut small = busy_meter(1_000, now);
    let mut large = busy_meter(50_000, now);
    let small_steps = messages(&mut small, 200, now);
    let large_steps = messages(&mut large, 200, now);
    eprintln!(
        "steps for 200 calls' messages: {small_steps} with 1 000 calls in the minute, \
         {large_steps} with 50 000"
    );
    // Fifty times the calls: the log of the ordered maps grows by about 1.6, plus the calls
    // that leave the minute meanwhile (~170 of the 50 000, none of the 1 000). A scan would
    // be fifty times the work.
    assert!(
        large_steps < 3 * small_steps,
        "{large_steps} steps against {small_steps}"
    );
    // The figures stay right: 200 more calls, 167 of the oldest gone.
    let snapshot = large.observe(&roomy(), now + 200, DAY).0;
    assert_eq!(snapshot.minute_requests, 50_000 + 200 - 167);
}

/// The same messages timed on the indexed meter and on the scanning one it replaced (not a
/// check: run with `--ignored --nocapture`, preferably `--release`, to see the times).
#[test]
#[ignore]
fn time_against_the_scanning_meter() {
    use super::reference;
    use std::time::Instant;
    let now = 1_767_225_600_000;
    let limits = roomy();
    for calls in [1_000, 10_000, 50_000] {
        let mut meter = busy_meter(calls, now);
        let started = Instant::now();
        messages(&mut meter, 200, now);
        let indexed = started.elapsed();
        let mut old = reference::Meter::new("p");
        old.reservations = settled_calls(calls, now);
        old.observe(&limits, now, DAY);
        let started = Instant::now();
        let mut at = now;
        for n in 0..200 {
            at += 1;
            let id = format!("new{n}");
            old.admit(&ask(&id), &limits, true, at, LEASE, DAY);
            for output in [10, 20] {
                let progress = Progress {
                    input_tokens: Some(80),
                    output_tokens: output,
                    credit_output_tokens: output + 100,
                };
                old.checkpoint(&id, progress, &limits, at, LEASE, DAY);
            }
            let _ = old.extend(&id, 5, &limits, at, LEASE, DAY);
            old.settle(&id, usage(), &limits, at, DAY);
            old.observe(&limits, at, DAY);
        }
        let scanning = started.elapsed();
        eprintln!(
            "{calls} calls in the minute, 200 calls' messages (6 each): indexed {indexed:?}, \
             scanning {scanning:?}"
        );
    }
}
