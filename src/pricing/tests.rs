//! The cost arithmetic against the vendors' worked examples, each read from a real-shaped
//! answer by that vendor's own decoder (so its inclusion rules are the decoder's, as in
//! production), every usage kind on its own, and the price rules.

use serde_json::{Value, json};

use super::*;
use crate::config::Config;
use crate::format::WireFormat;
use crate::testing::fixture;

/// Picodollars of `dollars` written as text (exact, no float).
fn usd(dollars: &str) -> u64 {
    let (whole, fraction) = dollars.split_once('.').unwrap_or((dollars, ""));
    let fraction = format!("{fraction:0<12}");
    whole.parse::<u64>().unwrap() * PICO_PER_USD + fraction.parse::<u64>().unwrap()
}

fn rate(dollars_per_mtok: f64) -> u64 {
    parse_rate(dollars_per_mtok, PER_MTOK).unwrap()
}

fn row(rates: Rates) -> PriceRow {
    PriceRow {
        from_ms: 0,
        taken: None,
        rates,
        long_context: None,
    }
}

/// `fixture`'s answer with its usage replaced by `usage` at `pointer`, decoded by `format`.
fn decoded_usage(format: WireFormat, fixture_path: &str, field: &str, usage: Value) -> Usage {
    let mut answer: Value = serde_json::from_str(&fixture(fixture_path)).unwrap();
    answer[field] = usage;
    format
        .decode_response(&serde_json::to_vec(&answer).unwrap())
        .unwrap()
        .usage
}

fn sonnet_4_6() -> PriceRow {
    row(Rates {
        input: rate(3.00),
        cached_input: rate(0.30),
        cache_write_5m: rate(3.75),
        cache_write_1h: rate(6.00),
        output: rate(15.00),
        web_search: parse_rate(10.00, PER_THOUSAND_CALLS).unwrap(),
        web_fetch: 0,
    })
}

#[test]
fn anthropic_cache_tokens_are_outside_input_tokens() {
    // 2,000×3 + 10,000×3.75 + 50,000×0.30 + 1,500×15 = $0.081, + 2 searches × $0.01.
    let usage = decoded_usage(
        WireFormat::AnthropicMessages,
        "anthropic_messages/text.json",
        "usage",
        json!({"input_tokens": 2000, "cache_creation_input_tokens": 10000,
               "cache_read_input_tokens": 50000, "output_tokens": 1500,
               "cache_creation": {"ephemeral_5m_input_tokens": 10000, "ephemeral_1h_input_tokens": 0},
               "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1}}),
    );
    assert_eq!(
        usage.input_tokens,
        Some(62_000),
        "the whole prompt, as tier checks see it"
    );
    let tokens = Tokens::from_usage(&usage);
    assert_eq!(tokens.uncached_input(), 2_000);
    let cost = cost(&sonnet_4_6(), &tokens);
    assert_eq!(cost.input, usd("0.006"));
    assert_eq!(cost.cache_write, usd("0.0375"));
    assert_eq!(cost.cache_read, usd("0.015"));
    assert_eq!(cost.output, usd("0.0225"));
    assert_eq!(cost.tools, usd("0.02"), "web fetches are free");
    assert_eq!(cost.total(), usd("0.101"));
    assert_eq!(usd_string(u128::from(cost.total())), "0.101");
}

#[test]
fn anthropic_one_hour_cache_writes_cost_more() {
    let usage = decoded_usage(
        WireFormat::AnthropicMessages,
        "anthropic_messages/text.json",
        "usage",
        json!({"input_tokens": 0, "cache_creation_input_tokens": 10000,
               "cache_read_input_tokens": 0, "output_tokens": 0,
               "cache_creation": {"ephemeral_5m_input_tokens": 6000, "ephemeral_1h_input_tokens": 4000}}),
    );
    let tokens = Tokens::from_usage(&usage);
    assert_eq!(
        (tokens.cache_write_5m, tokens.cache_write_1h),
        (6_000, 4_000)
    );
    // 6,000×3.75 + 4,000×6.00
    assert_eq!(cost(&sonnet_4_6(), &tokens).total(), usd("0.0465"));
}

#[test]
fn openai_cached_tokens_are_inside_prompt_tokens_and_reasoning_inside_output() {
    let gpt_5_4 = PriceRow {
        long_context: Some(LongContext {
            above_input_tokens: 272_000,
            rates: Rates {
                input: rate(5.00),
                cached_input: rate(0.50),
                cache_write_5m: rate(5.00),
                cache_write_1h: rate(5.00),
                output: rate(22.50),
                ..Rates::default()
            },
        }),
        ..row(Rates {
            input: rate(2.50),
            cached_input: rate(0.25),
            cache_write_5m: rate(2.50),
            cache_write_1h: rate(2.50),
            output: rate(15.00),
            ..Rates::default()
        })
    };
    let chat = |prompt: u64, cached: u64| {
        decoded_usage(
            WireFormat::OpenAiChat,
            "openai_chat/text.json",
            "usage",
            json!({"prompt_tokens": prompt, "completion_tokens": 3000, "total_tokens": prompt + 3000,
                   "prompt_tokens_details": {"cached_tokens": cached},
                   "completion_tokens_details": {"reasoning_tokens": 2200}}),
        )
    };
    let responses = |prompt: u64, cached: u64| {
        decoded_usage(
            WireFormat::OpenAiResponses,
            "openai_responses/text.json",
            "usage",
            json!({"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
                   "output_tokens": 3000, "output_tokens_details": {"reasoning_tokens": 2200},
                   "total_tokens": prompt + 3000}),
        )
    };
    for usage in [chat(120_000, 100_000), responses(120_000, 100_000)] {
        // 20,000×2.50 + 100,000×0.25 + 3,000×15 (the 2,200 reasoning tokens are not added again)
        assert_eq!(
            cost(&gpt_5_4, &Tokens::from_usage(&usage)).total(),
            usd("0.12")
        );
    }
    for usage in [chat(300_000, 200_000), responses(300_000, 200_000)] {
        // Over 272K the whole call is long-context: 100,000×5 + 200,000×0.50 + 3,000×22.50.
        assert_eq!(
            cost(&gpt_5_4, &Tokens::from_usage(&usage)).total(),
            usd("0.6675")
        );
    }
    // Exactly at the threshold is not above it.
    assert_eq!(
        cost(&gpt_5_4, &Tokens::from_usage(&chat(272_000, 0))).input,
        272_000 * rate(2.50)
    );
}

#[test]
fn openai_cache_writes_are_inside_prompt_tokens() {
    // A cache write reported inside prompt_tokens is priced once, at the write price.
    let usage = decoded_usage(
        WireFormat::OpenAiChat,
        "openai_chat/text.json",
        "usage",
        json!({"prompt_tokens": 10000, "completion_tokens": 0, "total_tokens": 10000,
               "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 8000}}),
    );
    let prices = row(Rates {
        input: rate(2.00),
        cached_input: rate(0.10),
        cache_write_5m: rate(2.50),
        cache_write_1h: rate(2.50),
        output: rate(10.00),
        ..Rates::default()
    });
    // 2,000×2.00 + 8,000×2.50
    assert_eq!(
        cost(&prices, &Tokens::from_usage(&usage)).total(),
        usd("0.024")
    );
}

#[test]
fn gemini_thoughts_are_output_and_cache_is_inside_the_prompt() {
    let pro = PriceRow {
        long_context: Some(LongContext {
            above_input_tokens: 200_000,
            rates: Rates {
                input: rate(4.00),
                cached_input: rate(0.40),
                cache_write_5m: rate(4.00),
                cache_write_1h: rate(4.00),
                output: rate(18.00),
                ..Rates::default()
            },
        }),
        ..row(Rates {
            input: rate(2.00),
            cached_input: rate(0.20),
            cache_write_5m: rate(2.00),
            cache_write_1h: rate(2.00),
            output: rate(12.00),
            ..Rates::default()
        })
    };
    let usage = |prompt: u64| {
        decoded_usage(
            WireFormat::Gemini,
            "gemini/text.json",
            "usageMetadata",
            json!({"promptTokenCount": prompt, "cachedContentTokenCount": 100000,
                   "candidatesTokenCount": 2000, "thoughtsTokenCount": 6000,
                   "totalTokenCount": prompt + 8000}),
        )
    };
    // 50,000×2.00 + 100,000×0.20 + (2,000 + 6,000)×12
    assert_eq!(
        cost(&pro, &Tokens::from_usage(&usage(150_000))).total(),
        usd("0.216")
    );
    // Over 200K the whole request moves to the long-context row: 150,000×4 + 100,000×0.40 +
    // 8,000×18.
    assert_eq!(
        cost(&pro, &Tokens::from_usage(&usage(250_000))).total(),
        usd("0.784")
    );
}

#[test]
fn deepseek_cache_hits_are_inside_prompt_tokens() {
    let flash_peak = row(Rates {
        input: rate(0.30),
        cached_input: rate(0.006),
        cache_write_5m: rate(0.30),
        cache_write_1h: rate(0.30),
        output: rate(1.20),
        ..Rates::default()
    });
    let usage = decoded_usage(
        WireFormat::OpenAiChat,
        "openai_chat/text.json",
        "usage",
        json!({"prompt_tokens": 40000, "completion_tokens": 5000, "total_tokens": 45000,
               "prompt_cache_hit_tokens": 32000, "prompt_cache_miss_tokens": 8000,
               "completion_tokens_details": {"reasoning_tokens": 3500}}),
    );
    // 32,000×0.006 + 8,000×0.30 + 5,000×1.20
    assert_eq!(
        cost(&flash_peak, &Tokens::from_usage(&usage)).total(),
        usd("0.008592")
    );
}

#[test]
fn every_usage_kind_is_priced_at_its_own_rate() {
    let rates = Rates {
        input: 1,
        cached_input: 10,
        cache_write_5m: 100,
        cache_write_1h: 1_000,
        output: 10_000,
        web_search: 100_000,
        web_fetch: 1_000_000,
    };
    let one_of_each = Tokens {
        input: 4,
        cache_read: 1,
        cache_write_5m: 1,
        cache_write_1h: 1,
        output: 1,
        web_search_calls: 1,
        web_fetch_calls: 1,
    };
    assert_eq!(cost(&row(rates), &one_of_each).total(), 1_111_111);
    assert_eq!(Tokens::default().uncached_input(), 0);
    assert_eq!(cost(&row(rates), &Tokens::default()).total(), 0);
}

#[test]
fn charges_use_the_billed_figures_with_the_reported_cache_figures() {
    // A stream cut before its final usage: charged the input the upstream reported (cache
    // included) and the output estimate, priced with the reported cache split.
    let usage = Usage {
        input_tokens: Some(1_000),
        cache_read_tokens: Some(600),
        ..Usage::default()
    };
    let billed = Billed {
        input_tokens: 1_000,
        output_tokens: 40,
        ..Billed::default()
    };
    let tokens = Tokens::charged(billed, &usage);
    assert_eq!(
        (tokens.input, tokens.cache_read, tokens.output),
        (1_000, 600, 40)
    );
    assert_eq!(tokens.uncached_input(), 400);
    // More cache than input (inconsistent figures) never underflows.
    let odd = Tokens::charged(
        Billed {
            input_tokens: 10,
            output_tokens: 0,
            ..Billed::default()
        },
        &usage,
    );
    assert_eq!(odd.uncached_input(), 0);
    // One-hour writes are a part of the writes, never more.
    let capped = Tokens::from_usage(&Usage {
        cache_write_tokens: Some(5),
        cache_write_1h_tokens: Some(9),
        ..Usage::default()
    });
    assert_eq!((capped.cache_write_5m, capped.cache_write_1h), (0, 5));
}

#[test]
fn rows_apply_from_their_date() {
    let config = Config::load(None).unwrap();
    let argon = config
        .models
        .iter()
        .find(|m| m.id == "gemini-4-argon")
        .unwrap();
    let tokens = Tokens {
        input: 1_000_000,
        ..Tokens::default()
    };
    let day = |date: &str| crate::time::parse_rfc3339(&format!("{date}T00:00:00Z")).unwrap();
    let before = cost_at(&argon.prices, day("2026-11-30"), &tokens).unwrap();
    let after = cost_at(&argon.prices, day("2026-12-01"), &tokens).unwrap();
    assert_eq!(before.total(), usd("2"));
    assert_eq!(after.total(), usd("4"));
    assert!(cost_at(&Prices::default(), 0, &tokens).is_none());
}

#[test]
fn amounts_are_exact() {
    assert_eq!(parse_rate(0.075, PER_MTOK), Some(75_000));
    assert_eq!(parse_rate(0.006, PER_MTOK), Some(6_000));
    assert_eq!(parse_rate(1.75, PER_MTOK), Some(1_750_000));
    assert_eq!(parse_rate(0.1 + 0.2, PER_MTOK), Some(300_000));
    assert_eq!(parse_rate(10.0, PER_THOUSAND_CALLS), Some(10_000_000_000));
    assert_eq!(parse_rate(1.000_000_1, PER_MTOK), None, "too many decimals");
    assert_eq!(parse_rate(-1.0, PER_MTOK), None);
    assert_eq!(parse_rate(f64::NAN, PER_MTOK), None);
    assert_eq!(usd_string(0), "0");
    assert_eq!(usd_string(1), "0.000000000001");
    assert_eq!(usd_string(12_500_000_000_000), "12.5");
    assert_eq!(usd_string(u128::from(usd("0.008592"))), "0.008592");
    // A million calls of 1 token at $0.075/MTok add up to exactly $0.075.
    let one = cost(
        &row(Rates {
            input: rate(0.075),
            ..Rates::default()
        }),
        &Tokens {
            input: 1,
            ..Tokens::default()
        },
    );
    let sum: u64 = (0..1_000_000).map(|_| one.total()).sum();
    assert_eq!(sum, usd("0.075"));
}

#[test]
fn unset_cache_prices_are_the_input_price() {
    let json = r#"{
        "providers": [{"id": "p", "format": "anthropic", "base_url": "https://example.com/v1", "keys": ["K"]}],
        "models": [
            {"id": "a", "provider": "p", "upstream": "a", "prices": [{"input": 3.0, "output": 15.0}]},
            {"id": "b", "provider": "p", "upstream": "b", "input_price": 1.0, "output_price": 2.0}
        ],
        "plans": [{"id": "x", "rpm": 1, "tpm": 1, "concurrency": 1, "window": "1h", "window_tokens": 1}]
    }"#;
    let config = Config::from_json(json).unwrap();
    let a = config.models[0].prices.at(0).unwrap().rates;
    assert_eq!(a.cached_input, rate(3.0));
    assert_eq!(a.cache_write_5m, rate(3.0));
    assert_eq!(a.cache_write_1h, rate(3.0));
    assert_eq!(a.web_search, 0);
    let b = config.models[1].prices.at(0).unwrap().rates;
    assert_eq!(
        (b.input, b.cached_input, b.output),
        (rate(1.0), rate(1.0), rate(2.0))
    );
}

#[test]
fn price_problems_name_the_model_and_field() {
    let json = r#"{
        "providers": [{"id": "p", "format": "anthropic", "base_url": "https://example.com/v1", "keys": ["K"]}],
        "models": [
            {"id": "a", "provider": "p", "upstream": "a", "input_price": 1.0, "output_price": 1.0, "prices": [{"input": 1, "output": 1}]},
            {"id": "b", "provider": "p", "upstream": "b", "prices": [{"input": -1, "output": 1.0000001, "from": "Dec 1"}]},
            {"id": "c", "provider": "p", "upstream": "c", "prices": [{"input": 1, "output": 1, "from": "2026-01-01"}, {"input": 2, "output": 2, "from": "2026-01-01"}]},
            {"id": "d", "provider": "p", "upstream": "d", "input_price": 1.0}
        ],
        "plans": [{"id": "x", "rpm": 1, "tpm": 1, "concurrency": 1, "window": "1h", "window_tokens": 1}]
    }"#;
    let errors = Config::from_json(json).unwrap_err().to_string();
    for expected in [
        r#"models[0] ("a").prices: give either"#,
        r#"models[1] ("b").prices[0].from: "Dec 1" is not a date"#,
        r#"models[2] ("c").prices[1].from: another row has this date"#,
        r#"models[3] ("d").input_price: `input_price` and `output_price` go together"#,
    ] {
        assert!(
            errors.contains(expected),
            "missing {expected:?} in {errors}"
        );
    }
    let json = r#"{
        "providers": [{"id": "p", "format": "anthropic", "base_url": "https://example.com/v1", "keys": ["K"]}],
        "models": [{"id": "b", "provider": "p", "upstream": "b", "prices": [{"input": -1, "output": 1.0000001}]}],
        "plans": [{"id": "x", "rpm": 1, "tpm": 1, "concurrency": 1, "window": "1h", "window_tokens": 1}]
    }"#;
    let errors = Config::from_json(json).unwrap_err().to_string();
    assert!(
        errors.contains(r#"models[0] ("b").prices[0].input: must be"#),
        "{errors}"
    );
    assert!(
        errors.contains(r#"models[0] ("b").prices[0].output: must be"#),
        "{errors}"
    );
}

#[test]
fn the_bundled_catalog_prices_every_model_with_the_date_taken() {
    let config = Config::load(None).unwrap();
    for model in &config.models {
        let Some(provider) = config.providers.get(model.provider) else {
            continue;
        };
        if provider.demo {
            continue;
        }
        assert!(!model.prices.is_empty(), "{} has no price", model.id);
        for row in &model.prices.rows {
            assert!(row.taken.is_some(), "{}: a row without its date", model.id);
            assert!(row.rates.input > 0 && row.rates.output > 0, "{}", model.id);
            assert!(row.rates.cached_input > 0, "{}", model.id);
        }
    }
}
