use super::*;

const LEASE: u64 = 30_000;

fn limits() -> Limits {
    Limits {
        rpm: 3,
        tpm: 1_000,
        concurrency: 2,
        window_ms: 3_600_000,
        window_tokens: 500,
    }
}

fn ask(id: &str, estimate_tokens: u64) -> AdmitRequest {
    AdmitRequest {
        id: id.into(),
        model: "m".into(),
        estimate_tokens,
    }
}

fn admit(meter: &mut Meter, id: &str, estimate: u64, now: u64) -> Decision {
    meter
        .admit(
            &ask(id, estimate),
            &limits(),
            true,
            now,
            LEASE,
            "2026-01-01",
        )
        .0
}

#[test]
fn concurrency_then_requests_per_minute() {
    let mut meter = Meter::new("p");
    assert_eq!(admit(&mut meter, "a", 10, 1_000).refusal, None);
    assert_eq!(admit(&mut meter, "b", 10, 1_000).refusal, None);
    let third = admit(&mut meter, "c", 10, 1_000);
    assert_eq!(third.refusal, Some(Refusal::Concurrency));
    assert_eq!(third.retry_after_s, Some(1));
    meter.settle("a", 5, 5, 2_000, "2026-01-01");
    assert_eq!(admit(&mut meter, "c", 10, 3_000).refusal, None);
    meter.settle("b", 5, 5, 3_000, "2026-01-01");
    let fourth = admit(&mut meter, "d", 10, 4_000);
    assert_eq!(fourth.refusal, Some(Refusal::RequestsPerMinute));
    // "a" was admitted at 1_000, so a slot frees at 61_000: 57 s after 4_000.
    assert_eq!(fourth.retry_after_s, Some(57));
    meter.settle("c", 1, 1, 5_000, "2026-01-01");
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
            meter
                .admit(
                    &ask(&format!("r{i}"), 1),
                    &burst_limits,
                    true,
                    10,
                    LEASE,
                    "d",
                )
                .0
                .refusal
                .is_none()
        })
        .count();
    assert_eq!(admitted, 20);
}

#[test]
fn quota_window_counts_reservations_and_settlements() {
    let mut meter = Meter::new("p");
    assert_eq!(admit(&mut meter, "a", 400, 0).refusal, None);
    // 400 reserved of 500: still below the quota.
    assert_eq!(admit(&mut meter, "b", 200, 0).refusal, None);
    let refused = admit(&mut meter, "c", 1, 0);
    assert_eq!(refused.refusal, Some(Refusal::QuotaExhausted));
    assert_eq!(refused.retry_after_s, Some(3_600));
    // Settled far below the estimates: room again.
    meter.settle("a", 50, 50, 1_000, "d");
    meter.settle("b", 100, 100, 1_000, "d");
    let decision = admit(&mut meter, "c", 10, 2_000);
    assert_eq!(decision.refusal, None);
    assert_eq!(decision.snapshot.window_used_tokens, 300);
    assert_eq!(decision.snapshot.window_committed_tokens, 310);
    meter.settle("c", 100, 100, 3_000, "d");
    let exhausted = admit(&mut meter, "e", 1, 70_000);
    assert_eq!(exhausted.refusal, Some(Refusal::QuotaExhausted));
    assert_eq!(exhausted.snapshot.window_used_tokens, 500);
    // A new window starts with the first request after the old one ended.
    let next = admit(&mut meter, "f", 1, 3_600_000);
    assert_eq!(next.refusal, None);
    assert_eq!(next.snapshot.window_start_ms, 3_600_000);
    assert_eq!(next.snapshot.window_end_ms, 7_200_000);
    assert_eq!(next.snapshot.window_used_tokens, 0);
}

#[test]
fn tokens_per_minute_uses_reservations_until_settled() {
    let mut meter = Meter::new("p");
    let tpm_limits = Limits {
        tpm: 100,
        window_tokens: 1_000_000,
        ..limits()
    };
    let admit_at = |meter: &mut Meter, id: &str, est: u64, now: u64| {
        meter
            .admit(&ask(id, est), &tpm_limits, true, now, LEASE, "d")
            .0
    };
    assert_eq!(admit_at(&mut meter, "a", 150, 0).refusal, None);
    let refused = admit_at(&mut meter, "b", 1, 10_000);
    assert_eq!(refused.refusal, Some(Refusal::TokensPerMinute));
    assert_eq!(refused.retry_after_s, Some(50));
    meter.settle("a", 10, 10, 11_000, "d");
    assert_eq!(admit_at(&mut meter, "b", 1, 12_000).refusal, None);
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
    let (decision, _) = meter.admit(&ask("a", 1), &limits(), false, 0, LEASE, "d");
    assert_eq!(decision.refusal, Some(Refusal::ModelNotAllowed));
    assert!(meter.reservations.is_empty());
}

#[test]
fn failed_requests_give_their_reservation_back() {
    let mut meter = Meter::new("p");
    admit(&mut meter, "a", 400, 0);
    let changes = meter.settle("a", 0, 0, 100, "d");
    assert!(!changes.iter().any(|c| matches!(c, Change::Usage(_))));
    assert_eq!(meter.snapshot(&limits(), 200).window_committed_tokens, 0);
    assert_eq!(meter.snapshot(&limits(), 200).in_flight, 0);
}

#[test]
fn checkpoints_renew_the_lease_and_an_expired_lease_settles_at_the_last_checkpoint() {
    let mut meter = Meter::new("p");
    admit(&mut meter, "a", 300, 0);
    meter.checkpoint("a", 20, 10, 20_000, LEASE);
    // Still leased at 49 s (renewed at 20 s for 30 s).
    let (snapshot, _) = meter.observe(&limits(), 49_000, "d");
    assert_eq!(snapshot.in_flight, 1);
    assert_eq!(
        snapshot.window_committed_tokens, 300,
        "reserved estimate while in flight"
    );
    let (snapshot, changes) = meter.observe(&limits(), 50_000, "d");
    assert_eq!(snapshot.in_flight, 0);
    assert_eq!(
        snapshot.window_used_tokens, 30,
        "charged at its last checkpoint"
    );
    assert!(changes.contains(&Change::Usage(UsageRecord {
        model: "m".into(),
        window_start_ms: 0,
        day: "d".into(),
        input_tokens: 20,
        output_tokens: 10,
        new_request: true,
    })));
    // A late final settlement corrects the provisional one, without counting a new request.
    let changes = meter.settle("a", 20, 50, 60_000, "d");
    assert!(changes.contains(&Change::Usage(UsageRecord {
        model: "m".into(),
        window_start_ms: 0,
        day: "d".into(),
        input_tokens: 0,
        output_tokens: 40,
        new_request: false,
    })));
    assert_eq!(meter.snapshot(&limits(), 60_000).window_used_tokens, 70);
    // Final now: settling again changes nothing.
    assert!(meter.settle("a", 99, 99, 61_000, "d").is_empty());
}

#[test]
fn settlement_records_usage_per_model_and_forgets_old_rows() {
    let mut meter = Meter::new("p");
    admit(&mut meter, "a", 10, 0);
    let changes = meter.settle("a", 7, 3, 90_000, "2026-01-02");
    assert!(changes.contains(&Change::Usage(UsageRecord {
        model: "m".into(),
        window_start_ms: 0,
        day: "2026-01-02".into(),
        input_tokens: 7,
        output_tokens: 3,
        new_request: true,
    })));
    assert!(changes.contains(&Change::Forget(vec!["a".into()])));
    assert!(meter.reservations.is_empty());
    // Settling twice changes nothing.
    assert!(meter.settle("a", 7, 3, 90_000, "d").is_empty());
}
