use super::*;
use crate::keys::KeyStatus;

const LEASE: u64 = 30_000;
const DAY: &str = "2026-01-01";

fn limits() -> Limits {
    Limits {
        rpm: 3,
        tpm: 1_000,
        concurrency: 2,
        window_ms: 3_600_000,
        window_tokens: 500,
        unit: crate::metering::cost::Unit::Tokens,
        calendar: None,
        zone: crate::metering::calendar::Zone::UTC,
    }
}

/// A call reserving `input` tokens of prompt and up to `output` of answer (the smallest useful
/// answer is 1 token unless a test says otherwise).
fn ask(id: &str, input: u64, output: u64) -> AdmitRequest {
    AdmitRequest {
        id: id.into(),
        model: "m".into(),
        input_tokens: input,
        output_tokens: output,
        min_output_tokens: 1,
        instant: false,
        tariff: None,
    }
}

fn admit_with(meter: &mut Meter, request: &AdmitRequest, limits: &Limits, now: u64) -> Decision {
    meter.admit(request, limits, true, now, LEASE, DAY).0
}

/// Admits a call whose whole reservation is `tokens` (all of it prompt).
fn admit(meter: &mut Meter, id: &str, tokens: u64, now: u64) -> Decision {
    admit_with(meter, &ask(id, tokens, 0), &limits(), now)
}

fn charged(input: u64, output: u64) -> Charged {
    Charged {
        input_tokens: input,
        output_tokens: output,
        cost: 0,
    }
}

fn settle(meter: &mut Meter, id: &str, input: u64, output: u64, now: u64) -> Vec<Change> {
    meter.settle(id, charged(input, output), &limits(), now, DAY)
}

fn progress(input: Option<u64>, output: u64, credit: u64) -> Progress {
    Progress {
        input_tokens: input,
        output_tokens: output,
        credit_output_tokens: credit,
    }
}

#[test]
fn concurrency_then_requests_per_minute() {
    let mut meter = Meter::new("p");
    assert_eq!(admit(&mut meter, "a", 10, 1_000).refusal, None);
    assert_eq!(admit(&mut meter, "b", 10, 1_000).refusal, None);
    let third = admit(&mut meter, "c", 10, 1_000);
    assert_eq!(third.refusal, Some(Refusal::Concurrency));
    assert_eq!(third.retry_after_s, Some(1));
    settle(&mut meter, "a", 5, 5, 2_000);
    assert_eq!(admit(&mut meter, "c", 10, 3_000).refusal, None);
    settle(&mut meter, "b", 5, 5, 3_000);
    let fourth = admit(&mut meter, "d", 10, 4_000);
    assert_eq!(fourth.refusal, Some(Refusal::RequestsPerMinute));
    // "a" was admitted at 1_000, so a slot frees at 61_000: 57 s after 4_000.
    assert_eq!(fourth.retry_after_s, Some(57));
    settle(&mut meter, "c", 1, 1, 5_000);
    assert_eq!(admit(&mut meter, "d", 10, 61_001).refusal, None);
}

#[test]
fn exactly_rpm_admissions_in_a_burst() {
    let mut meter = Meter::new("p");
    let burst_limits = Limits {
        rpm: 20,
        concurrency: 100,
        tpm: 1_000_000,
        ..limits()
    };
    let admitted = (0..60)
        .filter(|i| {
            admit_with(&mut meter, &ask(&format!("r{i}"), 1, 0), &burst_limits, 10)
                .refusal
                .is_none()
        })
        .count();
    assert_eq!(admitted, 20);
}

#[test]
fn admission_counts_this_calls_reservation_not_only_what_is_committed() {
    let mut meter = Meter::new("p");
    // 400 reserved of 500: a call needing 200 more does not fit, even though the window is
    // not yet used up.
    assert_eq!(admit(&mut meter, "a", 400, 0).refusal, None);
    let refused = admit(&mut meter, "b", 200, 0);
    assert_eq!(refused.refusal, Some(Refusal::QuotaExhausted));
    assert_eq!(refused.retry_after_s, Some(3_600));
    assert_eq!(refused.output_tokens, 100, "what is left is reported");
    assert_eq!(admit(&mut meter, "b", 100, 0).refusal, None);
    assert_eq!(
        meter.snapshot(&limits(), 0).window_committed_tokens,
        500,
        "exactly the window, never over"
    );
    assert_eq!(
        admit(&mut meter, "c", 1, 0).refusal,
        Some(Refusal::QuotaExhausted)
    );
}

#[test]
fn quota_window_counts_reservations_and_settlements() {
    let mut meter = Meter::new("p");
    assert_eq!(admit(&mut meter, "a", 300, 0).refusal, None);
    assert_eq!(admit(&mut meter, "b", 200, 0).refusal, None);
    assert_eq!(
        admit(&mut meter, "c", 1, 0).refusal,
        Some(Refusal::QuotaExhausted)
    );
    // Settled far below the reservations: room again.
    settle(&mut meter, "a", 50, 50, 1_000);
    settle(&mut meter, "b", 100, 100, 1_000);
    let decision = admit(&mut meter, "c", 10, 2_000);
    assert_eq!(decision.refusal, None);
    assert_eq!(decision.snapshot.window_used_tokens, 300);
    assert_eq!(decision.snapshot.window_committed_tokens, 310);
    settle(&mut meter, "c", 100, 100, 3_000);
    let exhausted = admit(&mut meter, "e", 1, 70_000);
    assert_eq!(exhausted.refusal, Some(Refusal::QuotaExhausted));
    assert_eq!(exhausted.snapshot.window_used_tokens, 500);
    // A new window starts with the first call after the old one ended.
    let next = admit(&mut meter, "f", 1, 3_600_000);
    assert_eq!(next.refusal, None);
    assert_eq!(next.snapshot.window_start_ms, 3_600_000);
    assert_eq!(next.snapshot.window_end_ms, 7_200_000);
    assert_eq!(next.snapshot.window_used_tokens, 0);
}

#[test]
fn the_output_cap_is_lowered_to_fit_down_to_the_smallest_useful_answer() {
    let mut meter = Meter::new("p");
    let request = |id: &str| AdmitRequest {
        min_output_tokens: 100,
        ..ask(id, 50, 1_000)
    };
    // 500 in the window: 50 of input leaves 450 of the 1,000 asked for.
    let first = admit_with(&mut meter, &request("a"), &limits(), 0);
    assert_eq!(first.refusal, None);
    assert_eq!(first.output_tokens, 450);
    assert!(first.clamped);
    assert_eq!(first.snapshot.window_remaining_tokens(), 0);
    settle(&mut meter, "a", 50, 250, 1_000);
    // 200 left: 50 + 150 fits the floor of 100, so 150 is granted.
    let second = admit_with(&mut meter, &request("b"), &limits(), 2_000);
    assert_eq!((second.refusal, second.output_tokens), (None, 150));
    settle(&mut meter, "b", 50, 100, 3_000);
    // 50 left: not even the input and the floor.
    let third = admit_with(&mut meter, &request("c"), &limits(), 4_000);
    assert_eq!(third.refusal, Some(Refusal::QuotaExhausted));
    assert_eq!(third.output_tokens, 50);
    // A call asking for less than the floor needs only what it asks for.
    let small = AdmitRequest {
        min_output_tokens: 100,
        ..ask("d", 20, 30)
    };
    let fits = admit_with(&mut meter, &small, &limits(), 5_000);
    assert_eq!(
        (fits.refusal, fits.output_tokens, fits.clamped),
        (None, 30, false)
    );
}

#[test]
fn a_call_larger_than_the_whole_window_or_minute_is_told_so() {
    let mut meter = Meter::new("p");
    let window = admit_with(&mut meter, &ask("a", 501, 0), &limits(), 0);
    assert_eq!(window.refusal, Some(Refusal::LargerThanWindow));
    assert_eq!(window.retry_after_s, None, "waiting does not help");
    let roomy_window = Limits {
        window_tokens: 1_000_000,
        ..limits()
    };
    let minute = admit_with(&mut meter, &ask("b", 1_001, 0), &roomy_window, 0);
    assert_eq!(minute.refusal, Some(Refusal::LargerThanMinute));
    assert_eq!(minute.retry_after_s, None);
}

#[test]
fn tokens_per_minute_counts_this_calls_reservation() {
    let mut meter = Meter::new("p");
    let tpm_limits = Limits {
        tpm: 100,
        window_tokens: 1_000_000,
        ..limits()
    };
    let admit_at = |meter: &mut Meter, id: &str, tokens: u64, now: u64| {
        admit_with(meter, &ask(id, tokens, 0), &tpm_limits, now)
    };
    assert_eq!(admit_at(&mut meter, "a", 90, 0).refusal, None);
    let refused = admit_at(&mut meter, "b", 20, 10_000);
    assert_eq!(refused.refusal, Some(Refusal::TokensPerMinute));
    assert_eq!(refused.retry_after_s, Some(50));
    assert_eq!(admit_at(&mut meter, "b", 10, 10_000).refusal, None);
    meter.settle("a", charged(10, 10), &tpm_limits, 11_000, DAY);
    assert_eq!(admit_at(&mut meter, "c", 60, 12_000).refusal, None);
}

#[test]
fn status_and_model_refusals_reserve_nothing() {
    let mut meter = Meter::new("p");
    meter.status = KeyStatus::Disabled;
    assert_eq!(
        admit(&mut meter, "a", 1, 0).refusal,
        Some(Refusal::Disabled)
    );
    meter.status = KeyStatus::Revoked;
    assert_eq!(admit(&mut meter, "a", 1, 0).refusal, Some(Refusal::Revoked));
    meter.status = KeyStatus::Active;
    let (decision, _) = meter.admit(&ask("a", 1, 0), &limits(), false, 0, LEASE, DAY);
    assert_eq!(decision.refusal, Some(Refusal::ModelNotAllowed));
    assert!(meter.reservations.is_empty());
}

#[test]
fn instant_calls_count_as_requests_only() {
    let mut meter = Meter::new("p");
    let instant = |id: &str| AdmitRequest {
        instant: true,
        ..ask(id, 10_000, 10_000)
    };
    for id in ["a", "b", "c"] {
        let decision = admit_with(&mut meter, &instant(id), &limits(), 0);
        assert_eq!(decision.refusal, None, "{id}");
        assert_eq!(decision.snapshot.in_flight, 0);
        assert_eq!(decision.snapshot.window_committed_tokens, 0);
    }
    assert_eq!(
        admit_with(&mut meter, &instant("d"), &limits(), 0).refusal,
        Some(Refusal::RequestsPerMinute)
    );
}

#[test]
fn failed_calls_give_their_reservation_back() {
    let mut meter = Meter::new("p");
    admit(&mut meter, "a", 400, 0);
    let changes = settle(&mut meter, "a", 0, 0, 100);
    assert!(!changes.iter().any(|c| matches!(c, Change::Usage(_))));
    assert_eq!(meter.snapshot(&limits(), 200).window_committed_tokens, 0);
    assert_eq!(meter.snapshot(&limits(), 200).in_flight, 0);
}

#[test]
fn a_lapsed_lease_charges_the_input_estimate_and_the_credit_until_corrected() {
    let mut meter = Meter::new("p");
    admit_with(&mut meter, &ask("a", 100, 300), &limits(), 0);
    // No checkpoint at all: the input estimate and the initial credit.
    let quiet = meter.clone();
    // With a checkpoint: reported input replaces the estimate; the credit covers the output.
    meter.checkpoint(
        "a",
        progress(Some(80), 10, 300),
        &limits(),
        20_000,
        LEASE,
        DAY,
    );
    // Still leased at 49 s (renewed at 20 s for 30 s).
    let (snapshot, _) = meter.observe(&limits(), 49_000, DAY);
    assert_eq!(snapshot.in_flight, 1);
    assert_eq!(
        snapshot.window_committed_tokens, 400,
        "reserved while in flight"
    );
    let (snapshot, changes) = meter.observe(&limits(), 50_000, DAY);
    assert_eq!(snapshot.in_flight, 0);
    assert_eq!(snapshot.window_used_tokens, 80 + 300, "input plus credit");
    assert!(changes.contains(&Change::Usage(UsageRecord {
        model: "m".into(),
        window_start_ms: 0,
        day: DAY.into(),
        input_tokens: 80,
        output_tokens: 300,
        cost_pico: 0,
        new_request: true,
    })));
    // A late final settlement corrects the provisional charge, down as well as up, without
    // counting a new request.
    let changes = settle(&mut meter, "a", 80, 20, 60_000);
    assert!(changes.contains(&Change::Usage(UsageRecord {
        model: "m".into(),
        window_start_ms: 0,
        day: DAY.into(),
        input_tokens: 0,
        output_tokens: -280,
        cost_pico: 0,
        new_request: false,
    })));
    assert_eq!(meter.snapshot(&limits(), 60_000).window_used_tokens, 100);
    // Final now: settling again changes nothing.
    assert!(settle(&mut meter, "a", 99, 99, 61_000).is_empty());

    let mut quiet = quiet;
    let (snapshot, _) = quiet.observe(&limits(), 30_000, DAY);
    assert_eq!(
        snapshot.window_used_tokens,
        100 + INITIAL_OUTPUT_CREDIT_TOKENS.min(300),
        "the input estimate and the initial credit (within the output cap)"
    );
}

#[test]
fn checkpoints_only_grow_and_the_credit_never_trails_the_output() {
    let roomy = Limits {
        window_tokens: 100_000,
        tpm: 100_000,
        ..limits()
    };
    let mut meter = Meter::new("p");
    // A cap above the initial credit.
    admit_with(&mut meter, &ask("a", 10, 5_000), &roomy, 0);
    meter.checkpoint("a", progress(None, 50, 100), &roomy, 1_000, LEASE, DAY);
    // A stale checkpoint arriving late lowers nothing.
    meter.checkpoint("a", progress(None, 20, 40), &roomy, 2_000, LEASE, DAY);
    let (snapshot, _) = meter.clone().observe(&roomy, 2_000 + LEASE, DAY);
    assert_eq!(
        snapshot.window_used_tokens,
        10 + INITIAL_OUTPUT_CREDIT_TOKENS
    );
    // Output past the credit (a raise still on its way) is charged in full.
    meter.checkpoint("a", progress(Some(12), 3_000, 0), &roomy, 3_000, LEASE, DAY);
    let (snapshot, _) = meter.observe(&roomy, 3_000 + LEASE, DAY);
    assert_eq!(snapshot.window_used_tokens, 12 + 3_000);
}

#[test]
fn calls_in_flight_when_a_window_ends_are_charged_to_the_next_one() {
    let mut meter = Meter::new("p");
    let roomy = Limits {
        concurrency: 100,
        rpm: 100,
        ..limits()
    };
    admit_with(&mut meter, &ask("first", 0, 0), &roomy, 0);
    settle(&mut meter, "first", 0, 0, 0);
    // Just before the window ends, the whole window is reserved by calls in flight.
    for id in ["a", "b"] {
        let decision = admit_with(&mut meter, &ask(id, 50, 200), &roomy, 3_599_000);
        assert_eq!(decision.refusal, None);
    }
    meter.checkpoint(
        "a",
        progress(Some(50), 10, 64),
        &roomy,
        3_599_500,
        LEASE,
        DAY,
    );
    // After the end, they carry into a new window: it starts full of their reservations.
    let after = admit_with(&mut meter, &ask("c", 50, 200), &roomy, 3_600_500);
    assert_eq!(after.refusal, Some(Refusal::QuotaExhausted));
    assert_eq!(after.snapshot.window_start_ms, 3_600_500);
    assert_eq!(after.snapshot.window_committed_tokens, 500);
    // Their settlements land in the new window.
    meter.settle("a", charged(50, 200), &roomy, 3_601_000, DAY);
    meter.settle("b", charged(50, 200), &roomy, 3_601_000, DAY);
    let (snapshot, _) = meter.observe(&roomy, 3_601_000, DAY);
    assert_eq!(snapshot.window_start_ms, 3_600_500);
    assert_eq!(snapshot.window_used_tokens, 500);
}

#[test]
fn a_settlement_after_the_window_ended_starts_the_next_window() {
    let mut meter = Meter::new("p");
    admit(&mut meter, "first", 0, 0);
    admit_with(&mut meter, &ask("a", 100, 100), &limits(), 3_599_000);
    meter.checkpoint("a", progress(None, 0, 0), &limits(), 3_620_000, LEASE, DAY);
    // No admission since: the settlement itself rolls the window.
    meter.settle("a", charged(100, 100), &limits(), 3_640_000, DAY);
    let (snapshot, _) = meter.observe(&limits(), 3_640_000, DAY);
    assert_eq!(snapshot.window_start_ms, 3_620_000);
    assert_eq!(snapshot.window_used_tokens, 200);
}

#[test]
fn client_chosen_figures_near_the_type_limits_saturate() {
    let mut meter = Meter::new("p");
    let huge = Limits {
        rpm: u64::MAX,
        tpm: u64::MAX,
        concurrency: u64::MAX,
        window_ms: u64::MAX,
        window_tokens: u64::MAX,
        unit: crate::metering::cost::Unit::Tokens,
        calendar: None,
        zone: crate::metering::calendar::Zone::UTC,
    };
    let first = admit_with(&mut meter, &ask("a", u64::MAX - 5, u64::MAX), &huge, 0);
    assert_eq!(first.refusal, None);
    assert_eq!(first.snapshot.window_committed_tokens, u64::MAX);
    // The window is full: nothing more fits, nothing wraps to a small number.
    let second = admit_with(&mut meter, &ask("b", 1, 1), &huge, 1);
    assert_eq!(second.refusal, Some(Refusal::QuotaExhausted));
    meter.checkpoint(
        "a",
        progress(Some(u64::MAX), u64::MAX, u64::MAX),
        &huge,
        2,
        LEASE,
        DAY,
    );
    meter.settle("a", charged(u64::MAX, u64::MAX), &huge, 3, DAY);
    let (snapshot, _) = meter.observe(&huge, 4, DAY);
    assert_eq!(snapshot.window_used_tokens, u64::MAX);
    assert_eq!(snapshot.minute_tokens, u64::MAX);
}

#[test]
fn settlement_records_usage_per_model_and_forgets_old_rows() {
    let mut meter = Meter::new("p");
    admit(&mut meter, "a", 10, 0);
    meter.checkpoint("a", progress(None, 0, 0), &limits(), 25_000, LEASE, DAY);
    meter.checkpoint("a", progress(None, 0, 0), &limits(), 50_000, LEASE, DAY);
    let changes = meter.settle("a", charged(7, 3), &limits(), 61_000, "2026-01-02");
    assert!(changes.contains(&Change::Usage(UsageRecord {
        model: "m".into(),
        window_start_ms: 0,
        day: "2026-01-02".into(),
        input_tokens: 7,
        output_tokens: 3,
        cost_pico: 0,
        new_request: true,
    })));
    assert!(changes.contains(&Change::Forget(vec!["a".into()])));
    assert!(meter.reservations.is_empty());
    // Settling twice changes nothing.
    assert!(settle(&mut meter, "a", 7, 3, 62_000).is_empty());
}

#[test]
fn an_abandoned_attempt_is_charged_only_if_the_window_has_room_for_it() {
    let mut meter = Meter::new("p");
    // Window 500: a call reserving 300 leaves 200.
    assert_eq!(admit(&mut meter, "a", 300, 0).refusal, None);
    let (extended, _) = meter.extend("a", 150, &limits(), 10, LEASE, DAY);
    assert_eq!(extended, Ok(()));
    // 50 left: a second abandoned attempt of 100 does not fit, and changes nothing.
    let (refused, _) = meter.extend("a", 100, &limits(), 20, LEASE, DAY);
    assert_eq!(refused, Err(Some(Refusal::QuotaExhausted)));
    let snapshot = meter.observe(&limits(), 30, DAY).0;
    assert_eq!(snapshot.window_committed_tokens, 450);
    // The final charge is the last attempt's usage plus the abandoned attempt's input.
    settle(&mut meter, "a", 100, 20, 40);
    let snapshot = meter.observe(&limits(), 50, DAY).0;
    assert_eq!(snapshot.window_used_tokens, 270);
    // Settled: nothing to extend any more.
    assert_eq!(meter.extend("a", 1, &limits(), 60, LEASE, DAY).0, Err(None));
}

#[test]
fn a_lapse_charges_the_abandoned_attempts_too() {
    let mut meter = Meter::new("p");
    admit_with(&mut meter, &ask("a", 100, 50), &limits(), 0);
    assert_eq!(meter.extend("a", 80, &limits(), 10, LEASE, DAY).0, Ok(()));
    // The extension renewed the lease: nothing lapses at the first lease's end.
    let snapshot = meter.observe(&limits(), LEASE + 5, DAY).0;
    assert_eq!(snapshot.in_flight, 1);
    let snapshot = meter.observe(&limits(), LEASE + 10, DAY).0;
    assert_eq!(snapshot.in_flight, 0);
    // Input estimate 100 + abandoned 80 + the initial credit, capped at the output cap (50).
    assert_eq!(snapshot.window_used_tokens, 230);
    // A late settlement still adds the abandoned attempt to its own figures.
    settle(&mut meter, "a", 90, 10, LEASE + 20);
    assert_eq!(
        meter
            .observe(&limits(), LEASE + 30, DAY)
            .0
            .window_used_tokens,
        180
    );
}

#[test]
fn an_abandoned_attempt_counts_against_the_minute() {
    let tight = Limits {
        tpm: 400,
        ..limits()
    };
    let mut meter = Meter::new("p");
    assert_eq!(
        admit_with(&mut meter, &ask("a", 300, 0), &tight, 0).refusal,
        None
    );
    assert_eq!(
        meter.extend("a", 150, &tight, 10, LEASE, DAY).0,
        Err(Some(Refusal::TokensPerMinute))
    );
    assert_eq!(meter.extend("a", 100, &tight, 10, LEASE, DAY).0, Ok(()));
}

// ------------------------------------------------------------------------------ allowances

mod allowances {
    use super::*;
    use crate::metering::allowance::{ALLOWANCE_TTL_MS, Isolate, Unregistered};

    fn roomy() -> Limits {
        Limits {
            rpm: 100,
            tpm: 1_000_000,
            concurrency: 10,
            window_ms: 3_600_000,
            window_tokens: 10_000_000,
            unit: crate::metering::cost::Unit::Tokens,
            calendar: None,
            zone: crate::metering::calendar::Zone::UTC,
        }
    }

    fn isolate(id: &str, knows: Option<&str>) -> Isolate {
        Isolate {
            id: id.into(),
            knows: knows.map(str::to_owned),
            wants_allowance: true,
            release: None,
            demand: Default::default(),
        }
    }

    fn admit_from(
        meter: &mut Meter,
        id: &str,
        limits: &Limits,
        now: u64,
        who: &Isolate,
    ) -> Decision {
        meter
            .admit_for(&ask(id, 100, 100), limits, true, now, LEASE, DAY, Some(who))
            .0
    }

    fn register(
        meter: &mut Meter,
        allowance: &str,
        id: &str,
        limits: &Limits,
        now: u64,
    ) -> Result<Snapshot, Refusal> {
        meter
            .register(
                allowance,
                &ask(id, 100, 100),
                now,
                limits,
                true,
                now,
                LEASE,
                DAY,
            )
            .0
    }

    #[test]
    fn a_grant_counts_as_used_from_the_moment_it_is_given() {
        let limits = roomy();
        let mut meter = Meter::new("p");
        let first = admit_from(&mut meter, "a", &limits, 0, &isolate("i1", None));
        let grant = first.allowance.expect("far from every limit");
        assert_eq!((grant.requests, grant.slots), (24, 4));
        let snapshot = meter.observe(&limits, 1, DAY).0;
        assert_eq!(snapshot.requests_counted(), 1 + 24);
        assert_eq!(
            (snapshot.minute_requests, snapshot.set_aside.requests),
            (1, 24)
        );
        assert_eq!(snapshot.slots_held, 1 + 4);
        assert_eq!(snapshot.in_flight, 1);
        assert_eq!(snapshot.window_committed_tokens, 200);
        assert_eq!(snapshot.set_aside.window_tokens, grant.tokens);
        // The same isolate gets no second allowance while it holds one.
        let second = admit_from(&mut meter, "b", &limits, 2, &isolate("i1", Some(&grant.id)));
        assert!(second.allowance.is_none());
        // When it expires unused, it all goes back.
        let later = meter.observe(&limits, ALLOWANCE_TTL_MS + 1, DAY).0;
        assert_eq!(later.requests_counted(), 2);
        assert_eq!(later.slots_held, 2);
    }

    #[test]
    fn registrations_take_from_the_allowance_and_stop_at_its_edge() {
        let limits = roomy();
        let mut meter = Meter::new("p");
        let grant = admit_from(&mut meter, "a", &limits, 0, &isolate("i1", None))
            .allowance
            .unwrap();
        // Four slots: four calls at once, the fifth is refused.
        for n in 0..4 {
            assert!(register(&mut meter, &grant.id, &format!("l{n}"), &limits, 10).is_ok());
        }
        assert_eq!(
            register(&mut meter, &grant.id, "l4", &limits, 10),
            Err(Refusal::Concurrency)
        );
        // A registered call counts as itself, the allowance's share of it is gone.
        let snapshot = meter.observe(&limits, 11, DAY).0;
        assert_eq!(snapshot.requests_counted(), 1 + 24);
        assert_eq!(snapshot.minute_requests, 1 + 4);
        assert_eq!(snapshot.in_flight, 5);
        assert_eq!(snapshot.slots_held, 1 + 4);
        // A settled call frees its slot in the allowance.
        settle(&mut meter, "l0", 10, 10, 12);
        assert!(register(&mut meter, &grant.id, "l4", &limits, 13).is_ok());
        // Registering twice takes nothing more.
        assert!(register(&mut meter, &grant.id, "l4", &limits, 14).is_ok());
        assert_eq!(meter.observe(&limits, 15, DAY).0.requests_counted(), 25);
        // Too late, revoked: refused.
        assert!(register(&mut meter, &grant.id, "l9", &limits, ALLOWANCE_TTL_MS).is_err());
    }

    #[test]
    fn a_registration_when_the_clock_reads_before_the_grant_counts_it_admitted_now() {
        // The host's clock went back between the grant and the registration: the call
        // counts as admitted at the clock's time (no later than now), and nothing panics.
        let limits = roomy();
        let mut meter = Meter::new("p");
        let grant = admit_from(&mut meter, "a", &limits, 5_000, &isolate("i1", None))
            .allowance
            .unwrap();
        assert!(register(&mut meter, &grant.id, "l", &limits, 4_000).is_ok());
        let admitted = meter.reservations.get("l").map(|r| r.admitted_ms);
        assert_eq!(admitted, Some(4_000));
    }

    #[test]
    fn a_disabled_key_registers_nothing() {
        let limits = roomy();
        let mut meter = Meter::new("p");
        let grant = admit_from(&mut meter, "a", &limits, 0, &isolate("i1", None))
            .allowance
            .unwrap();
        meter.status = KeyStatus::Revoked;
        assert_eq!(
            register(&mut meter, &grant.id, "l", &limits, 1),
            Err(Refusal::Revoked)
        );
    }

    #[test]
    fn a_call_sent_before_its_isolate_knew_of_the_allowance_may_come_out_of_it() {
        let limits = Limits {
            rpm: 20,
            concurrency: 1_000,
            ..roomy()
        };
        let mut meter = Meter::new("p");
        let first = admit_from(&mut meter, "a", &limits, 0, &isolate("i1", None));
        let grant = first.allowance.unwrap();
        assert_eq!(grant.requests, 4);
        // 59 more calls, all sent before the isolate learned of the grant: exactly 19 more
        // are admitted, 4 of them from the allowance (the rest per call), 40 refused.
        let mut admitted = 1;
        let mut from_allowance = 0;
        for n in 0..59 {
            let decision = admit_from(
                &mut meter,
                &format!("c{n}"),
                &limits,
                1,
                &isolate("i1", None),
            );
            if decision.refusal.is_none() {
                admitted += 1;
                if decision.from_allowance.as_deref() == Some(grant.id.as_str()) {
                    from_allowance += 1;
                }
            }
        }
        assert_eq!((admitted, from_allowance), (20, 4));
        // Calls that knew of the allowance are decided per call, never out of it.
        let mut meter = Meter::new("p");
        let grant = admit_from(&mut meter, "a", &limits, 0, &isolate("i1", None))
            .allowance
            .unwrap();
        let knowing = admit_from(&mut meter, "b", &limits, 1, &isolate("i1", Some(&grant.id)));
        assert!(knowing.refusal.is_none() && knowing.from_allowance.is_none());
    }

    /// Never over rpm, concurrency or the window at `now` (step `n`).
    fn assert_within_limits(meter: &mut Meter, limits: &Limits, now: u64, n: u64) {
        let snapshot = meter.observe(limits, now, DAY).0;
        assert!(snapshot.minute_requests <= limits.rpm, "rpm at {n}");
        assert!(
            snapshot.in_flight <= limits.concurrency,
            "concurrency at {n}"
        );
        assert!(
            snapshot.window_committed_tokens <= limits.window_tokens,
            "window at {n}: {snapshot:?}"
        );
    }

    #[test]
    fn limits_hold_exactly_with_allowances_in_play() {
        // Two isolates, each admitting locally from its allowance and asking per call when it
        // has none, interleaved with per-call admissions: never over rpm, concurrency or the
        // window, and every request the plan allows is admitted.
        let limits = Limits {
            rpm: 40,
            tpm: 1_000_000,
            concurrency: 6,
            window_ms: 3_600_000,
            window_tokens: 5_000,
            unit: crate::metering::cost::Unit::Tokens,
            calendar: None,
            zone: crate::metering::calendar::Zone::UTC,
        };
        let mut meter = Meter::new("p");
        let mut held: [Option<(String, u64)>; 2] = [None, None];
        let mut admitted = 0u64;
        // Running calls and the output cap each was granted (what it is charged at most).
        let mut running: Vec<(String, u64)> = Vec::new();
        for n in 0..200u64 {
            let now = n * 10;
            let who = (n % 2) as usize;
            let id = format!("c{n}");
            // Every third call, the oldest running one ends, charged its whole cap.
            if n % 3 == 0 && !running.is_empty() {
                let (done, cap) = running.remove(0);
                settle(&mut meter, &done, 100, cap, now);
            }
            // The isolate's own view of its allowance: requests and slots left.
            let local = held[who].clone().filter(|(_, left)| *left > 0);
            let registered = match &local {
                Some((allowance, left)) => {
                    let ok = register(&mut meter, allowance, &id, &limits, now).is_ok();
                    if ok {
                        held[who] = Some((allowance.clone(), left - 1));
                    }
                    ok.then_some(100)
                }
                None => None,
            };
            let granted_cap = match registered {
                Some(cap) => Some(cap),
                None => {
                    // Not covered locally: asked per call, giving the slice back.
                    let knows = held[who].take().map(|(a, _)| a);
                    let release = knows.as_ref().map(|_| Unregistered::default());
                    let decision = meter
                        .admit_for(
                            &ask(&id, 100, 100),
                            &limits,
                            true,
                            now,
                            LEASE,
                            DAY,
                            Some(&Isolate {
                                id: format!("i{who}"),
                                knows,
                                wants_allowance: true,
                                release,
                                // However much it asks for, the shares of what is left bound it.
                                demand: crate::metering::allowance::Demand {
                                    requests: u64::MAX,
                                    slots: u64::MAX,
                                },
                            }),
                        )
                        .0;
                    if let Some(grant) = &decision.allowance {
                        held[who] = Some((grant.id.clone(), grant.requests));
                    }
                    decision.refusal.is_none().then_some(decision.output_tokens)
                }
            };
            if let Some(cap) = granted_cap {
                admitted += 1;
                running.push((id, cap));
            }
            assert_within_limits(&mut meter, &limits, now, n);
        }
        for (done, cap) in running {
            settle(&mut meter, &done, 100, cap, 5_000);
        }
        let end = meter.observe(&limits, 5_001, DAY).0;
        assert!(end.window_used_tokens <= limits.window_tokens);
        // The window (5,000 tokens, up to 200 per call) is what runs out, and it is used up
        // to the last token a useful call can take.
        assert!(admitted >= 25, "{admitted}");
        assert!(
            end.window_used_tokens > limits.window_tokens - 101,
            "{end:?}"
        );
    }
    /// The isolate's side of one allowance, as `edge::allowance` keeps it: totals as the
    /// meter last told them, and what it took.
    struct Slice {
        id: String,
        requests: u64,
        tokens: u64,
        slots: u64,
        expires_ms: u64,
        used_requests: u64,
        used_tokens: u64,
        running: Vec<String>,
    }

    impl Slice {
        fn requests_left(&self) -> u64 {
            self.requests - self.used_requests
        }
    }

    #[test]
    fn top_ups_keep_a_busy_isolate_local_and_every_limit_exact() {
        use crate::metering::allowance::{ALLOWANCE_MARGIN_MS, Demand};
        // Two isolates sending a call every 10 ms between them, each call running 300 ms, far
        // from every limit until the window (4,000 calls of 200 tokens) runs out at 40 s.
        let limits = Limits {
            rpm: 12_000,
            tpm: 10_000_000,
            concurrency: 100,
            window_ms: 3_600_000,
            window_tokens: 800_000,
            unit: crate::metering::cost::Unit::Tokens,
            calendar: None,
            zone: crate::metering::calendar::Zone::UTC,
        };
        let mut meter = Meter::new("p");
        let mut slices: [Option<Slice>; 2] = [None, None];
        let mut running: Vec<(u64, String)> = Vec::new();
        let (mut asked_early, mut topped_up, mut admitted) = (0u64, 0u64, 0u64);
        for n in 0..6_000u64 {
            let now = n * 10;
            let who = (n % 2) as usize;
            let id = format!("c{n}");
            // Calls end 300 ms after they start, charged their whole reservation.
            while running.first().is_some_and(|(end, _)| *end <= now) {
                let (_, done) = running.remove(0);
                settle(&mut meter, &done, 100, 100, now);
                for slice in slices.iter_mut().flatten() {
                    slice.running.retain(|c| *c != done);
                }
            }
            let covered = slices[who].as_ref().is_some_and(|s| {
                now + ALLOWANCE_MARGIN_MS < s.expires_ms
                    && s.requests_left() >= 1
                    && s.tokens - s.used_tokens >= 200
                    && (s.running.len() as u64) < s.slots
            });
            let started = if covered {
                let Some(slice) = slices[who].as_mut() else {
                    unreachable!()
                };
                // What the isolate counted as covered, the meter registers: always.
                let registered = register(&mut meter, &slice.id, &id, &limits, now);
                assert!(registered.is_ok(), "{n}: {registered:?}");
                slice.used_requests += 1;
                slice.used_tokens += 200;
                slice.running.push(id.clone());
                // Half used (or half its usable life gone): the registration asks for more.
                let due = slice.requests_left() * 2 < 32
                    || slice.running.len() as u64 * 2 >= slice.slots
                    || now + ALLOWANCE_MARGIN_MS + 3_000 >= slice.expires_ms;
                if due {
                    let demand = Demand::after(64, 64, slice.running.len() as u64);
                    let (top_up, _) = meter.top_up(
                        &slice.id,
                        &format!("i{who}"),
                        demand,
                        200,
                        &limits,
                        now,
                        DAY,
                    );
                    // An answer that never arrives (one in seven) leaves the isolate short until
                    // the next one, never over.
                    if let Some(top_up) = top_up.filter(|_| n % 7 != 0) {
                        slice.requests = slice.requests.max(top_up.requests);
                        slice.tokens = slice.tokens.max(top_up.tokens);
                        slice.slots = slice.slots.max(top_up.slots);
                        slice.expires_ms = slice.expires_ms.max(top_up.expires_ms);
                        topped_up += 1;
                    }
                }
                true
            } else {
                asked_early += u64::from(n < 3_000);
                let knows = slices[who].take().map(|s| s.id);
                let release = knows.as_ref().map(|_| Unregistered::default());
                let asking = Isolate {
                    id: format!("i{who}"),
                    knows,
                    wants_allowance: true,
                    release,
                    demand: Demand {
                        requests: 64,
                        slots: 16,
                    },
                };
                let decision = admit_from(&mut meter, &id, &limits, now, &asking);
                if let Some(grant) = &decision.allowance {
                    slices[who] = Some(Slice {
                        id: grant.id.clone(),
                        requests: grant.requests,
                        tokens: grant.tokens,
                        slots: grant.slots,
                        expires_ms: grant.expires_ms,
                        used_requests: 0,
                        used_tokens: 0,
                        running: Vec::new(),
                    });
                }
                decision.refusal.is_none()
            };
            if started {
                admitted += 1;
                running.push((now + 300, id));
            }
            assert_within_limits(&mut meter, &limits, now, n);
        }
        for (_, done) in running {
            settle(&mut meter, &done, 100, 100, 60_000);
        }
        let end = meter.observe(&limits, 60_001, DAY).0;
        // The window is used up to the last call.
        assert_eq!(admitted, 4_000);
        assert_eq!(end.window_used_tokens, limits.window_tokens);
        // Far from the limits, the slices were topped up while in use: after the first
        // grants, no call waited on the meter.
        assert!(topped_up >= 100, "{topped_up} top-ups");
        assert_eq!(
            asked_early, 2,
            "the two first calls ask; then none of 3,000 does"
        );
    }
}

/// Credits: plans in dollars, balances, spend limits and calendar windows.
mod credits {
    use super::*;
    use crate::metering::calendar::{Period, Zone};
    use crate::metering::cost::{Tariff, Unit};
    use crate::metering::credits::Balance;
    use crate::time::parse_rfc3339;

    /// 2 pico per prompt token, 5 per output token, no margin.
    const TARIFF: Tariff = Tariff {
        input: 2,
        output: 5,
        multiplier_ppm: 1_000_000,
    };

    fn usd_limits(window: u64, per_minute: u64) -> Limits {
        Limits {
            rpm: 1_000,
            tpm: per_minute,
            concurrency: 100,
            window_ms: 3_600_000,
            window_tokens: window,
            unit: Unit::Usd,
            calendar: None,
            zone: Zone::UTC,
        }
    }

    fn priced(id: &str, input: u64, output: u64) -> AdmitRequest {
        AdmitRequest {
            tariff: Some(TARIFF),
            ..ask(id, input, output)
        }
    }

    fn settle_cost(meter: &mut Meter, id: &str, limits: &Limits, cost: u64, now: u64) {
        meter.settle_priced(id, charged(10, 10), Some(cost), limits, now, DAY);
    }

    #[test]
    fn a_dollar_window_admits_worst_case_costs_and_is_never_passed() {
        let limits = usd_limits(1_000, u64::MAX);
        let mut meter = Meter::new("p");
        // 100 prompt + 100 output = 200 + 500 = 700 pico at worst.
        let first = admit_with(&mut meter, &priced("a", 100, 100), &limits, 0);
        assert_eq!(first.refusal, None);
        assert_eq!(first.output_tokens, 100);
        assert_eq!(first.snapshot.window_committed_tokens, 700);
        // 300 left: 100 prompt (200) leaves room for 20 output tokens.
        let second = admit_with(&mut meter, &priced("b", 100, 100), &limits, 0);
        assert_eq!(second.refusal, None);
        assert_eq!(second.output_tokens, 20, "clamped to the dollars left");
        assert!(second.clamped);
        assert_eq!(second.snapshot.window_committed_tokens, 1_000);
        let third = admit_with(&mut meter, &priced("c", 1, 1), &limits, 0);
        assert_eq!(third.refusal, Some(Refusal::QuotaExhausted));
        // Settled at the actual cost (cheaper: cache reads), which frees the rest.
        settle_cost(&mut meter, "a", &limits, 123, 1_000);
        settle_cost(&mut meter, "b", &limits, 45, 1_000);
        let (snapshot, _) = meter.observe(&limits, 1_000, DAY);
        assert_eq!(
            snapshot.window_used_tokens, 168,
            "exactly the costs settled"
        );
        assert_eq!(snapshot.window_used_cost, 168);
        assert_eq!(
            admit_with(&mut meter, &priced("c", 100, 100), &limits, 1_000).refusal,
            None
        );
    }

    #[test]
    fn a_call_larger_than_a_dollar_window_or_minute_is_refused_as_such() {
        let limits = usd_limits(100, 50);
        let mut meter = Meter::new("p");
        let big = admit_with(&mut meter, &priced("a", 60, 100), &limits, 0);
        assert_eq!(big.refusal, Some(Refusal::LargerThanWindow));
        let minute = admit_with(&mut meter, &priced("b", 20, 100), &limits, 0);
        assert_eq!(minute.refusal, None);
        assert_eq!(
            minute.output_tokens, 2,
            "the minute's 50 pico: 40 prompt + 2 × 5"
        );
        let next = admit_with(&mut meter, &priced("c", 1, 1), &limits, 0);
        assert_eq!(next.refusal, Some(Refusal::TokensPerMinute));
    }

    #[test]
    fn a_plan_in_dollars_needs_a_price() {
        let limits = usd_limits(1_000, u64::MAX);
        let mut meter = Meter::new("p");
        let unpriced = admit_with(&mut meter, &ask("a", 1, 1), &limits, 0);
        assert_eq!(unpriced.refusal, Some(Refusal::NoPrice));
        // A token plan does not, unless the key pays from a balance.
        assert_eq!(admit(&mut meter, "b", 1, 0).refusal, None);
        meter.credits.balance = Some(Balance {
            added_pico: 1_000,
            spent_pico: 0,
        });
        assert_eq!(admit(&mut meter, "c", 1, 0).refusal, Some(Refusal::NoPrice));
    }

    #[test]
    fn a_balance_holds_what_calls_in_flight_may_cost_and_is_charged_their_actual_cost() {
        let mut meter = Meter::new("p");
        meter.credits.balance = Some(Balance {
            added_pico: 1_000,
            spent_pico: 0,
        });
        let roomy = Limits {
            window_tokens: 1_000_000,
            tpm: 1_000_000,
            ..limits()
        };
        // A token plan: the window counts tokens, the balance dollars.
        let a = admit_with(&mut meter, &priced("a", 100, 100), &roomy, 0);
        assert_eq!(a.refusal, None);
        assert_eq!(a.snapshot.in_flight_cost, 700);
        let b = admit_with(&mut meter, &priced("b", 100, 100), &roomy, 0);
        assert_eq!(b.output_tokens, 20, "clamped to the balance left");
        let c = admit_with(&mut meter, &priced("c", 1, 1), &roomy, 0);
        assert_eq!(c.refusal, Some(Refusal::BalanceExhausted));
        assert_eq!(c.retry_after_s, None, "a balance does not reset");
        meter.settle_priced("a", charged(100, 50), Some(450), &roomy, 10, DAY);
        meter.settle_priced("b", charged(100, 20), None, &roomy, 10, DAY);
        let balance = meter.credits.balance.unwrap_or_default();
        assert_eq!(
            balance.spent_pico,
            450 + 300,
            "the given cost; the worst case else"
        );
        assert_eq!(balance.remaining_pico(), 250);
        // No allowance is granted while a balance decides calls.
        let isolate = crate::metering::allowance::Isolate {
            id: "i".into(),
            knows: None,
            wants_allowance: true,
            release: None,
            demand: Default::default(),
        };
        let (decision, _) = meter.admit_for(
            &priced("d", 1, 1),
            &roomy,
            true,
            20,
            LEASE,
            DAY,
            Some(&isolate),
        );
        assert_eq!(decision.refusal, None);
        assert_eq!(decision.allowance, None);
    }

    #[test]
    fn a_lapsed_call_is_charged_its_worst_case_cost() {
        let limits = usd_limits(20_000, u64::MAX);
        let mut meter = Meter::new("p");
        admit_with(&mut meter, &priced("a", 100, 2_000), &limits, 0);
        meter.checkpoint("a", progress(Some(80), 10, 1_500), &limits, 10, LEASE, DAY);
        let (snapshot, _) = meter.observe(&limits, LEASE + 20, DAY);
        // The reported input and the output credit, at the worst-case rates.
        assert_eq!(snapshot.window_used_tokens, 80 * 2 + 1_500 * 5);
        // A call's abandoned attempts cost their input at the worst-case rate on top.
        admit_with(&mut meter, &priced("b", 10, 10), &limits, LEASE + 30);
        let (extended, _) = meter.extend("b", 7, &limits, LEASE + 31, LEASE, DAY);
        assert_eq!(extended, Ok(()));
        meter.settle_priced("b", charged(10, 10), Some(33), &limits, LEASE + 40, DAY);
        let (after, _) = meter.observe(&limits, LEASE + 40, DAY);
        assert_eq!(after.window_used_tokens, 80 * 2 + 1_500 * 5 + 33 + 7 * 2);
    }

    #[test]
    fn daily_and_monthly_spend_limits_reset_with_the_plan_zone() {
        let at = |text: &str| parse_rfc3339(text).unwrap_or(0);
        let limits = Limits {
            zone: Zone::parse("Asia/Tokyo").unwrap_or(Zone::UTC),
            window_tokens: u64::MAX,
            tpm: u64::MAX,
            rpm: 1_000,
            concurrency: 100,
            ..limits()
        };
        let mut meter = Meter::new("p");
        meter.credits.daily_limit_pico = Some(1_000);
        meter.credits.monthly_limit_pico = Some(1_500);
        // 2026-01-31 10:00 in Tokyo.
        let day1 = at("2026-01-31T01:00:00Z");
        assert_eq!(
            admit_with(&mut meter, &priced("a", 100, 100), &limits, day1).refusal,
            None
        );
        meter.settle_priced("a", charged(1, 1), Some(900), &limits, day1 + 1, DAY);
        let refused = admit_with(&mut meter, &priced("b", 100, 100), &limits, day1 + 2);
        assert_eq!(refused.refusal, Some(Refusal::DailySpendLimit));
        // Midnight in Tokyo is 15:00 UTC.
        assert_eq!(
            refused.snapshot.credits.day.end_ms,
            at("2026-01-31T15:00:00Z")
        );
        assert_eq!(refused.retry_after_s, Some(14 * 3600));
        // The next day (February in Tokyo) starts a new day and a new month.
        let day2 = at("2026-01-31T15:00:00Z");
        let next = admit_with(&mut meter, &priced("b", 100, 100), &limits, day2);
        assert_eq!(next.refusal, None);
        assert_eq!(next.snapshot.credits.month.start_ms, day2);
        assert_eq!(
            next.snapshot.credits.month.end_ms,
            at("2026-02-28T15:00:00Z")
        );
        meter.settle_priced("b", charged(1, 1), Some(700), &limits, day2 + 1, DAY);
        // The same month: 700 of 1,500 spent, so a 700 call fits and a second does not.
        assert_eq!(
            admit_with(
                &mut meter,
                &priced("c", 100, 100),
                &limits,
                at("2026-02-02T00:00:00Z")
            )
            .refusal,
            None
        );
        let month = admit_with(
            &mut meter,
            &priced("d", 100, 100),
            &limits,
            at("2026-02-02T00:00:00Z"),
        );
        assert_eq!(month.refusal, Some(Refusal::MonthlySpendLimit));
    }

    #[test]
    fn a_calendar_window_ends_at_the_period_end_and_carries_calls_in_flight() {
        let at = |text: &str| parse_rfc3339(text).unwrap_or(0);
        let limits = Limits {
            calendar: Some(Period::Month),
            zone: Zone::parse("America/New_York").unwrap_or(Zone::UTC),
            window_tokens: 1_000,
            tpm: u64::MAX,
            ..usd_limits(0, 0)
        };
        let mut meter = Meter::new("p");
        let now = at("2026-02-01T03:00:00Z"); // January 31, 22:00 in New York
        let first = admit_with(&mut meter, &priced("a", 100, 100), &limits, now);
        assert_eq!(first.refusal, None);
        assert_eq!(first.snapshot.window_start_ms, at("2026-01-01T05:00:00Z"));
        assert_eq!(first.snapshot.window_end_ms, at("2026-02-01T05:00:00Z"));
        // Still in flight when February starts in New York: it counts in February's window.
        let feb = at("2026-02-01T05:00:01Z");
        meter.checkpoint("a", progress(None, 0, 0), &limits, feb - 10, LEASE, DAY);
        let (snapshot, _) = meter.observe(&limits, feb, DAY);
        assert_eq!(snapshot.window_start_ms, at("2026-02-01T05:00:00Z"));
        assert_eq!(snapshot.window_end_ms, at("2026-03-01T05:00:00Z"));
        assert_eq!(snapshot.window_committed_tokens, 700);
    }
}
