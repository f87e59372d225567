//! The cost unit of the meter: what a call may cost at worst ([`Tariff`]) and what a charge in
//! US dollars is once a plan's resale `multiplier` is applied, in integer picodollars.
//!
//! A plan counts its window and its per-minute limit in tokens or in US dollars ([`Unit`]);
//! prepaid balances and spend limits are always in dollars. A call's reservation in dollars is
//! the cost of its reserved tokens at its model's highest per-token rates (input at the dearest
//! of the uncached, cache-read and cache-write prices, long-context rates when the prompt
//! estimate passes their threshold, across every route that may serve the model): whatever
//! the upstream does with the prompt and the cap it is sent, the call cannot cost more (server
//! tool calls aside, which are priced per call and charged at settlement). Settlement replaces
//! the reservation with the cost of the usage the upstream reported, at the serving route's
//! prices ([`crate::pricing::cost`]), times the multiplier.

use serde::{Deserialize, Serialize};

use crate::pricing::{PriceRow, Rates, Tokens, cost};

/// Parts per million: a multiplier of 1.
pub const PPM: u64 = 1_000_000;

/// What a plan's window and per-minute limit count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    #[default]
    Tokens,
    /// Picodollars of cost (the multiplier applied).
    Usd,
}

/// Worst-case rates for one call, and the plan's multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tariff {
    /// Picodollars per prompt token, at the dearest rate a prompt token can be charged.
    pub input: u64,
    /// Picodollars per output token.
    pub output: u64,
    /// The plan's multiplier, in parts per million (1.25 → 1 250 000).
    pub multiplier_ppm: u64,
}

/// `pico × ppm / 10⁶`, rounded up (a charge is never rounded in the key's favour), saturating.
pub fn with_multiplier(pico: u64, multiplier_ppm: u64) -> u64 {
    let scaled = u128::from(pico)
        .saturating_mul(u128::from(multiplier_ppm))
        .div_ceil(u128::from(PPM));
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

impl Tariff {
    /// The worst-case rates of one price row for a prompt of up to `input_tokens`.
    fn of_row(row: &PriceRow, input_tokens: u64) -> (u64, u64) {
        let dearest = |r: &Rates| {
            r.input
                .max(r.cached_input)
                .max(r.cache_write_5m)
                .max(r.cache_write_1h)
        };
        let mut input = dearest(&row.rates);
        let mut output = row.rates.output;
        if let Some(long) = &row.long_context
            && input_tokens > long.above_input_tokens
        {
            input = input.max(dearest(&long.rates));
            output = output.max(long.rates.output);
        }
        (input, output)
    }

    /// The worst case over the price rows of every route that may serve a call of up to
    /// `input_tokens` prompt tokens; `None` if any route has no price (then no cost can be
    /// bounded).
    pub fn worst_case<'a>(
        rows: impl IntoIterator<Item = Option<&'a PriceRow>>,
        input_tokens: u64,
        multiplier_ppm: u64,
    ) -> Option<Tariff> {
        let mut tariff: Option<Tariff> = None;
        for row in rows {
            let (input, output) = Tariff::of_row(row?, input_tokens);
            let t = tariff.get_or_insert(Tariff {
                input: 0,
                output: 0,
                multiplier_ppm,
            });
            t.input = t.input.max(input);
            t.output = t.output.max(output);
        }
        tariff
    }

    /// The most `input` prompt tokens and `output` tokens can cost, the multiplier applied.
    pub fn cost(&self, input: u64, output: u64) -> u64 {
        let raw = input
            .saturating_mul(self.input)
            .saturating_add(output.saturating_mul(self.output));
        with_multiplier(raw, self.multiplier_ppm)
    }

    /// The largest output cap whose worst case, with `input` prompt tokens, fits in `room`
    /// picodollars (`u64::MAX` when output is free); 0 when the input alone does not fit.
    pub fn max_output(&self, room: u64, input: u64) -> u64 {
        // cost(input, out) = ⌈(input·i + out·o)·m / 10⁶⌉ ≤ room  ⇐  input·i + out·o ≤ ⌊room·10⁶ / m⌋.
        let budget = if self.multiplier_ppm == 0 {
            u128::MAX
        } else {
            u128::from(room).saturating_mul(u128::from(PPM)) / u128::from(self.multiplier_ppm)
        };
        let Some(left) =
            budget.checked_sub(u128::from(input).saturating_mul(u128::from(self.input)))
        else {
            return 0;
        };
        if self.output == 0 {
            return u64::MAX;
        }
        u64::try_from(left / u128::from(self.output)).unwrap_or(u64::MAX)
    }
}

/// Picodollars as dollars for messages: `$0.0125`, `$5`, at most six decimals (rounded up,
/// and a non-zero amount never shows as `$0`).
pub fn usd_text(pico: u64) -> String {
    let micro = pico.div_ceil(1_000_000);
    let (whole, fraction) = (micro / 1_000_000, micro % 1_000_000);
    if fraction == 0 {
        return format!("${whole}");
    }
    let digits = format!("{fraction:06}");
    format!("${whole}.{}", digits.trim_end_matches('0'))
}

/// What `tokens` cost at `row`'s prices, the multiplier applied (the final charge of a call).
pub fn charge(row: &PriceRow, tokens: &Tokens, multiplier_ppm: u64) -> u64 {
    with_multiplier(cost(row, tokens).total(), multiplier_ppm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{LongContext, PER_MTOK, PER_THOUSAND_CALLS, parse_rate};

    fn rate(dollars: f64) -> u64 {
        parse_rate(dollars, PER_MTOK).unwrap_or(u64::MAX)
    }

    fn row() -> PriceRow {
        PriceRow {
            from_ms: 0,
            taken: None,
            rates: Rates {
                input: rate(3.0),
                cached_input: rate(0.3),
                cache_write_5m: rate(3.75),
                cache_write_1h: rate(6.0),
                output: rate(15.0),
                web_search: parse_rate(10.0, PER_THOUSAND_CALLS).unwrap_or(0),
                web_fetch: 0,
            },
            long_context: Some(LongContext {
                above_input_tokens: 200_000,
                rates: Rates {
                    input: rate(6.0),
                    cached_input: rate(0.6),
                    cache_write_5m: rate(7.5),
                    cache_write_1h: rate(12.0),
                    output: rate(22.5),
                    web_search: 0,
                    web_fetch: 0,
                },
            }),
        }
    }

    #[test]
    fn the_worst_case_takes_the_dearest_prompt_rate_and_long_context_only_above_it() {
        let short = Tariff::worst_case([Some(&row())], 1_000, PPM);
        assert_eq!(
            short,
            Some(Tariff {
                input: rate(6.0),
                output: rate(15.0),
                multiplier_ppm: PPM
            })
        );
        let long = Tariff::worst_case([Some(&row())], 200_001, PPM);
        assert_eq!(
            long.map(|t| (t.input, t.output)),
            Some((rate(12.0), rate(22.5)))
        );
        assert_eq!(Tariff::worst_case([Some(&row()), None], 1, PPM), None);
        assert_eq!(Tariff::worst_case([], 1, PPM), None);
    }

    #[test]
    fn every_usage_kind_costs_at_most_its_reservation() {
        let tariff = Tariff::worst_case([Some(&row())], 10_000, PPM).unwrap_or(Tariff {
            input: 0,
            output: 0,
            multiplier_ppm: 0,
        });
        let reserved = tariff.cost(10_000, 2_000);
        for tokens in [
            Tokens {
                input: 10_000,
                output: 2_000,
                ..Tokens::default()
            },
            Tokens {
                input: 10_000,
                cache_read: 10_000,
                output: 2_000,
                ..Tokens::default()
            },
            Tokens {
                input: 10_000,
                cache_write_5m: 10_000,
                output: 2_000,
                ..Tokens::default()
            },
            Tokens {
                input: 10_000,
                cache_write_1h: 10_000,
                output: 2_000,
                ..Tokens::default()
            },
            Tokens {
                input: 10_000,
                cache_write_1h: 4_000,
                cache_read: 6_000,
                output: 2_000,
                ..Tokens::default()
            },
        ] {
            assert!(charge(&row(), &tokens, PPM) <= reserved, "{tokens:?}");
        }
        // All cache writes of an hour: exactly the worst case.
        let all_1h = Tokens {
            input: 10_000,
            cache_write_1h: 10_000,
            output: 2_000,
            ..Tokens::default()
        };
        assert_eq!(charge(&row(), &all_1h, PPM), reserved);
        // Each kind at its own price: 1,000 uncached × $3 + 2,000 read × $0.30 + 3,000 5m
        // writes × $3.75 + 4,000 1h writes × $6 + 500 out × $15 + 2 searches × $0.01.
        let mixed = Tokens {
            input: 10_000,
            cache_read: 2_000,
            cache_write_5m: 3_000,
            cache_write_1h: 4_000,
            output: 500,
            web_search_calls: 2,
            web_fetch_calls: 0,
        };
        let expected = 1_000 * rate(3.0)
            + 2_000 * rate(0.3)
            + 3_000 * rate(3.75)
            + 4_000 * rate(6.0)
            + 500 * rate(15.0)
            + 2 * 10_000_000_000;
        assert_eq!(charge(&row(), &mixed, PPM), expected);
        // The multiplier applies to the whole charge, rounded up.
        assert_eq!(
            charge(&row(), &mixed, 1_250_000),
            (expected * 5).div_ceil(4)
        );
        assert_eq!(with_multiplier(3, 1_500_000), 5);
    }

    #[test]
    fn dollars_for_messages() {
        assert_eq!(usd_text(0), "$0");
        assert_eq!(usd_text(5_000_000_000_000), "$5");
        assert_eq!(usd_text(12_500_000_000), "$0.0125");
        assert_eq!(usd_text(1), "$0.000001", "never $0 for a charge");
        assert_eq!(usd_text(1_234_567_890_123), "$1.234568");
    }

    #[test]
    fn the_largest_output_that_fits_never_passes_the_room() {
        let tariff = Tariff {
            input: 3,
            output: 7,
            multiplier_ppm: 1_333_333,
        };
        for room in [0u64, 1, 5, 100, 1_000, 12_345, 1_000_000] {
            for input in [0u64, 1, 10, 100] {
                let out = tariff.max_output(room, input);
                if tariff.cost(input, 0) > room {
                    assert_eq!(out, 0, "{room} {input}");
                    continue;
                }
                assert!(tariff.cost(input, out) <= room, "{room} {input} {out}");
                assert!(
                    tariff.cost(input, out + 1) > room,
                    "{room} {input} {out}: the largest"
                );
            }
        }
        let free = Tariff {
            input: 1,
            output: 0,
            multiplier_ppm: PPM,
        };
        assert_eq!(free.max_output(10, 5), u64::MAX);
        assert_eq!(free.max_output(10, 11), 0);
        // Saturation: no wrap at the type's limits.
        let dear = Tariff {
            input: u64::MAX,
            output: u64::MAX,
            multiplier_ppm: u64::MAX,
        };
        assert_eq!(dear.cost(u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(dear.max_output(u64::MAX, 1), 0);
    }
}
