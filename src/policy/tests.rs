//! Unit tests of per-key policy: CIDR matching, expiry, allowlist narrowing, metadata.

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn rule(text: &str) -> IpRule {
    IpRule::parse(text).unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

// ------------------------------------------------------------------------------------ CIDR

#[test]
fn ipv4_ranges_match_their_addresses_only() {
    let r = rule("203.0.113.0/24");
    assert!(r.contains(ip("203.0.113.0")));
    assert!(r.contains(ip("203.0.113.255")));
    assert!(!r.contains(ip("203.0.114.0")));
    assert!(!r.contains(ip("203.0.112.255")));
    let host = rule("198.51.100.7");
    assert_eq!(host.to_string(), "198.51.100.7/32");
    assert!(host.contains(ip("198.51.100.7")));
    assert!(!host.contains(ip("198.51.100.8")));
    let all = rule("0.0.0.0/0");
    assert!(all.contains(ip("1.2.3.4")) && all.contains(ip("255.255.255.255")));
    let odd = rule("10.128.0.0/9");
    assert!(odd.contains(ip("10.255.1.1")));
    assert!(!odd.contains(ip("10.127.255.255")));
}

#[test]
fn ipv6_ranges_match_their_addresses_only() {
    let r = rule("2001:db8::/32");
    assert_eq!(r.to_string(), "2001:db8::/32");
    assert!(r.contains(ip("2001:db8::1")));
    assert!(r.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
    assert!(!r.contains(ip("2001:db9::")));
    let host = rule("::1");
    assert_eq!(host.to_string(), "::1/128");
    assert!(host.contains(ip("::1")));
    assert!(!host.contains(ip("::2")));
    let all = rule("::/0");
    assert!(all.contains(ip("fe80::1")));
    let odd = rule("2001:db8:8000::/33");
    assert!(odd.contains(ip("2001:db8:ffff::1")));
    assert!(!odd.contains(ip("2001:db8:7fff::1")));
    // Not every IPv4 address is in ::/0's IPv6 space as such, but its mapped form is.
    assert!(all.contains(ip("192.0.2.1")));
}

#[test]
fn ipv4_and_mapped_ipv6_are_the_same_host() {
    // An IPv4 rule matches a client seen as IPv4-mapped IPv6.
    let v4 = rule("192.0.2.0/24");
    assert!(v4.contains(ip("::ffff:192.0.2.10")));
    assert!(!v4.contains(ip("::ffff:192.0.3.10")));
    // An IPv4-mapped IPv6 rule matches a client seen as IPv4.
    let mapped = rule("::ffff:192.0.2.0/120");
    assert!(mapped.contains(ip("192.0.2.10")));
    assert!(!mapped.contains(ip("192.0.3.10")));
    // Other IPv6 rules never match IPv4 clients, IPv4 rules never other IPv6 clients.
    assert!(!rule("2001:db8::/32").contains(ip("192.0.2.10")));
    assert!(!v4.contains(ip("2001:db8::c000:20a")));
    // IPv4-compatible (deprecated, ::a.b.c.d) is not mapped.
    assert!(!v4.contains(ip("::192.0.2.10")));
}

#[test]
fn host_bits_and_bad_prefixes_are_refused_with_a_reason() {
    let host_bits = IpRule::parse("10.0.0.1/8").unwrap_err();
    assert!(host_bits.contains("10.0.0.0/8"), "{host_bits}");
    let v6_host_bits = IpRule::parse("2001:db8::1/32").unwrap_err();
    assert!(v6_host_bits.contains("2001:db8::/32"), "{v6_host_bits}");
    for bad in [
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/ 8",
        "10.0.0.0/08x",
        "10.0.0.0/8/8",
        "10.0.0.0/0008",
    ] {
        let reason = IpRule::parse(bad).unwrap_err();
        assert!(
            reason.contains("prefix") || reason.contains("not an IPv4"),
            "{bad}: {reason}"
        );
    }
    assert_eq!(rule(" 10.0.0.0/8 ").to_string(), "10.0.0.0/8");
    assert_eq!(rule("10.0.0.0/008").to_string(), "10.0.0.0/8");
}

#[test]
fn malformed_input_never_panics() {
    let fixed = [
        "",
        "/",
        "//",
        "/24",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3.4/999999999999999999999",
        ":::",
        "fe80::1%eth0",
        "[::1]",
        "[::1]/64",
        "::ffff:999.1.1.1",
        "１.２.３.４",
        "1.2.3.4/３",
        "\u{0}",
        "\u{202e}1.2.3.4",
        "1.2.3.4\n/8",
        "gggg::/16",
    ];
    for text in fixed {
        assert!(IpRule::parse(text).is_err(), "{text:?} parsed");
    }
    let long = "1".repeat(100_000);
    assert!(IpRule::parse(&long).is_err());
    assert!(IpRule::parse(&format!("1.2.3.4/{long}")).is_err());
    // Random strings over the alphabet of addresses: whatever parses matches its own network.
    let alphabet: Vec<char> = "0123456789abcdefABCDEF:./%[] xyz-+ä".chars().collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 24) as usize;
        let text: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        if let Ok(parsed) = IpRule::parse(&text) {
            assert!(parsed.contains(parsed.network()), "{text:?}");
            assert_eq!(IpRule::parse(&parsed.to_string()), Ok(parsed));
        }
        let policy = KeyPolicy {
            allowed_ips: Some(vec![text.clone()]),
            ..KeyPolicy::default()
        };
        let _ = policy.check_client_ip(Some(&text));
    }
}

#[test]
fn client_ip_rules_fail_closed() {
    let open = KeyPolicy::default();
    assert_eq!(open.check_client_ip(None), Ok(()));
    assert_eq!(open.check_client_ip(Some("garbage")), Ok(()));
    let policy = KeyPolicy {
        allowed_ips: Some(strings(&["203.0.113.0/24", "2001:db8::/32"])),
        ..KeyPolicy::default()
    };
    assert_eq!(policy.check_client_ip(Some("203.0.113.9")), Ok(()));
    assert_eq!(policy.check_client_ip(Some(" 2001:db8::5 ")), Ok(()));
    assert_eq!(policy.check_client_ip(Some("::ffff:203.0.113.9")), Ok(()));
    let refused = policy.check_client_ip(Some("198.51.100.1")).unwrap_err();
    assert_eq!(
        refused,
        Refusal::IpNotAllowed {
            ip: ip("198.51.100.1"),
            rules: strings(&["203.0.113.0/24", "2001:db8::/32"]),
        }
    );
    let message = refused.to_string();
    assert!(message.contains("203.0.113.0/24, 2001:db8::/32") && message.contains("198.51.100.1"));
    let error = ApiError::from(refused);
    assert_eq!(error.status(), 403);
    assert_eq!(error.code.as_deref(), Some("ip_not_allowed"));
    for absent in [
        None,
        Some(""),
        Some("not-an-ip"),
        Some("203.0.113.9, 10.0.0.1"),
    ] {
        let refused = policy.check_client_ip(absent).unwrap_err();
        assert!(matches!(refused, Refusal::NoClientIp { .. }), "{absent:?}");
        assert!(refused.to_string().contains("CF-Connecting-IP"));
    }
    // A stored rule that no longer parses matches nothing (and does not panic).
    let broken = KeyPolicy {
        allowed_ips: Some(strings(&["nonsense"])),
        ..KeyPolicy::default()
    };
    assert!(broken.check_client_ip(Some("1.2.3.4")).is_err());
}

#[test]
fn ip_rules_are_validated_canonical_and_bounded() {
    assert_eq!(
        validate_ip_rules(&strings(&[
            "198.51.100.7",
            "2001:DB8::/32",
            "198.51.100.7/32"
        ])),
        Ok(strings(&["198.51.100.7/32", "2001:db8::/32"]))
    );
    let bad = validate_ip_rules(&strings(&["10.0.0.0/8", "10.0.0.1/8"])).unwrap_err();
    assert_eq!(bad.field, "allowed_ips[1]");
    assert!(validate_ip_rules(&[]).is_err());
    let many: Vec<String> = (0..=MAX_IP_RULES)
        .map(|i| format!("10.0.{i}.0/24"))
        .collect();
    assert_eq!(validate_ip_rules(&many).unwrap_err().field, "allowed_ips");
    let error = ApiError::from(bad);
    assert_eq!(error.status(), 400);
    assert_eq!(error.param.as_deref(), Some("allowed_ips[1]"));
}

// ------------------------------------------------------------------------------------ expiry

#[test]
fn expiry_refuses_from_the_instant_it_passes() {
    let at = "2026-06-01T12:00:00Z";
    let at_ms = parse_rfc3339(at).unwrap();
    let policy = KeyPolicy {
        expires_at: Some(at.to_owned()),
        ..KeyPolicy::default()
    };
    assert_eq!(policy.check_expiry(at_ms - 1), Ok(()));
    let refused = policy.check_expiry(at_ms).unwrap_err();
    assert_eq!(refused, Refusal::Expired { at: at.to_owned() });
    assert!(policy.check_expiry(at_ms + 86_400_000).is_err());
    let error = ApiError::from(refused);
    assert_eq!(error.status(), 401);
    assert!(error.message.contains("expired at 2026-06-01T12:00:00Z"));
    assert_eq!(error.code.as_deref(), Some("key_expired"));
    assert_eq!(KeyPolicy::default().check_expiry(u64::MAX), Ok(()));
    let unreadable = KeyPolicy {
        expires_at: Some("soon".to_owned()),
        ..KeyPolicy::default()
    };
    assert!(unreadable.check_expiry(0).is_err(), "fails closed");
}

#[test]
fn expiry_is_validated_and_stored_in_utc_seconds() {
    let now = parse_rfc3339("2026-06-01T12:00:00Z").unwrap();
    assert_eq!(
        validate_expires_at("2026-06-01T14:30:00.900+02:00", now),
        Ok("2026-06-01T12:30:00Z".to_owned())
    );
    assert!(
        validate_expires_at("2026-06-01T12:00:00Z", now).is_err(),
        "now is not future"
    );
    assert!(
        validate_expires_at("2026-06-01T12:00:00.500Z", now).is_err(),
        "rounded down"
    );
    let past = validate_expires_at("2020-01-01T00:00:00Z", now).unwrap_err();
    assert!(past.message.contains("already passed"));
    for bad in [
        "tomorrow",
        "",
        "2026-13-01T00:00:00Z",
        "2026-06-01",
        "1700000000",
    ] {
        let error = validate_expires_at(bad, now).unwrap_err();
        assert_eq!(error.field, "expires_at", "{bad}");
    }
}

// ------------------------------------------------------------------------------------ models

#[test]
fn the_allowlist_only_narrows_the_plan() {
    let plan = crate::config::Plan {
        models: strings(&["m-a*", "m-chat"]),
        ..test_plan()
    };
    let policy = KeyPolicy {
        models: Some(strings(&["m-a-small", "m-chat", "m-other"])),
        ..KeyPolicy::default()
    };
    let usable = |model: &str| plan.allows(model) && policy.allows_model(model);
    assert!(usable("m-a-small"));
    assert!(usable("m-chat"));
    assert!(!usable("m-a-large"), "plan allows it, the key does not");
    assert!(
        !usable("m-other"),
        "the key names it, the plan does not: no widening"
    );
    let refused = policy.check_model("m-a-large").unwrap_err();
    let error = ApiError::from(refused);
    assert_eq!(error.status(), 403);
    assert_eq!(error.param.as_deref(), Some("model"));
    assert!(error.message.contains("`m-a-small`, `m-chat`, `m-other`"));
    assert!(error.message.contains("`m-a-large`"));
    let globbed = KeyPolicy {
        models: Some(strings(&["m-a-*"])),
        ..KeyPolicy::default()
    };
    assert!(globbed.allows_model("m-a-small") && !globbed.allows_model("m-b"));
    assert!(KeyPolicy::default().allows_model("anything"));
    assert_eq!(KeyPolicy::default().check_model("anything"), Ok(()));
}

#[test]
fn allowlists_are_validated_against_the_plan() {
    let plan_models = ["m-a-small", "m-a-large", "m-chat"];
    let has_match = |pattern: &str| plan_models.iter().any(|m| glob_match(pattern, m));
    assert_eq!(
        validate_models(&strings(&[" m-a-* ", "m-chat", "m-a-*"]), has_match),
        Ok(strings(&["m-a-*", "m-chat"]))
    );
    let widening = validate_models(&strings(&["m-chat", "gpt-*"]), has_match).unwrap_err();
    assert_eq!(widening.field, "models[1]");
    assert!(widening.message.contains("only narrow"));
    assert!(validate_models(&[], has_match).is_err());
    assert!(validate_models(&strings(&[""]), has_match).is_err());
    assert!(validate_models(&strings(&["m chat"]), has_match).is_err());
    assert!(validate_models(&strings(&["m-\"chat"]), has_match).is_err());
    assert!(validate_models(&strings(&["m-ch\u{e4}t"]), has_match).is_err());
    assert!(validate_models(&["m".repeat(MAX_MODEL_PATTERN_BYTES + 1)], |_| true).is_err());
    let many: Vec<String> = (0..=MAX_MODEL_PATTERNS).map(|i| format!("m-{i}")).collect();
    assert_eq!(
        validate_models(&many, |_| true).unwrap_err().field,
        "models"
    );
}

// ------------------------------------------------------------------------------------ metadata

#[test]
fn metadata_is_bounded_and_validated() {
    let mut ok = Metadata::new();
    ok.insert("owner".into(), "alice@example.com".into());
    ok.insert("note".into(), "line one\n\tline two – ünïcode".into());
    assert_eq!(validate_metadata(&ok), Ok(ok.clone()));
    assert_eq!(validate_metadata(&Metadata::new()), Ok(Metadata::new()));

    let one = |name: &str, value: &str| {
        let mut m = Metadata::new();
        m.insert(name.to_owned(), value.to_owned());
        validate_metadata(&m)
    };
    assert!(one("", "x").is_err());
    assert!(one("has space", "x").is_err());
    assert!(one(&"n".repeat(MAX_METADATA_NAME_BYTES + 1), "x").is_err());
    assert!(one(&"n".repeat(MAX_METADATA_NAME_BYTES), "x").is_ok());
    assert!(one("note", &"v".repeat(MAX_METADATA_VALUE_BYTES)).is_ok());
    let long = one("note", &"é".repeat(MAX_METADATA_VALUE_BYTES / 2 + 1)).unwrap_err();
    assert_eq!(long.field, "metadata.note");
    assert!(one("note", "bell\u{7}").is_err());
    assert!(one("note", "nul\u{0}").is_err());
    let too_many: Metadata = (0..=MAX_METADATA_ENTRIES)
        .map(|i| (format!("k{i}"), "v".to_owned()))
        .collect();
    assert_eq!(validate_metadata(&too_many).unwrap_err().field, "metadata");
}

#[test]
fn records_without_a_policy_load_and_policies_round_trip() {
    let old = r#"{"expires_at":null}"#;
    let loaded: KeyPolicy = serde_json::from_str(old).unwrap();
    assert!(loaded.is_empty());
    let policy = KeyPolicy {
        expires_at: Some("2030-01-01T00:00:00Z".into()),
        models: Some(strings(&["m-*"])),
        allowed_ips: Some(strings(&["10.0.0.0/8"])),
    };
    let json = serde_json::to_string(&policy).unwrap();
    assert_eq!(serde_json::from_str::<KeyPolicy>(&json).unwrap(), policy);
    assert_eq!(serde_json::to_string(&KeyPolicy::default()).unwrap(), "{}");
}

fn test_plan() -> crate::config::Plan {
    let config = crate::config::Config::load(None).unwrap();
    config.plans.first().cloned().unwrap()
}
