//! What a call costs in US dollars, exactly: a model's prices ([`Prices`], from the config) and
//! a call's tokens ([`Tokens`]) in, a [`Cost`] in integer picodollars out.
//!
//! Every amount is an integer, so costs add up with no rounding anywhere: a price of
//! `$x per million tokens` is `x × 10⁶` picodollars (10⁻¹² USD) per token, and a tool price of
//! `$y per 1,000 calls` is `y × 10⁹` picodollars per call. Prices given with up to six decimals
//! (per million tokens) or nine (per thousand calls) are represented exactly.
//!
//! [`Tokens`] follows the canonical inclusion rules ([`crate::canonical::Usage`]): `input`
//! counts the whole prompt, cache reads and writes included (OpenAI's `prompt_tokens` and
//! `input_tokens`, Gemini's `promptTokenCount`, and Anthropic's `input_tokens +
//! cache_read_input_tokens + cache_creation_input_tokens`, which its decoder adds up); `output`
//! counts everything generated, reasoning included. So the uncached input is `input − cache
//! read − cache writes`, each part is priced once, and reasoning is never added twice.
//!
//! Rules:
//! - a cache price the operator left unset is the input price (never zero);
//! - a call whose prompt (`input`, cache included) is above a row's `long_context` threshold
//!   is priced whole at the long-context rates (OpenAI's 272K and Gemini's 200K tiers);
//! - of several price rows, a call is priced by the last whose `from` date has come.

#[cfg(test)]
mod tests;

use crate::canonical::Usage;
use crate::translate::Billed;

/// Picodollars (10⁻¹² USD) per dollar.
pub const PICO_PER_USD: u64 = 1_000_000_000_000;

/// One set of rates, in picodollars per token (= micro-dollars per million tokens) and per
/// tool call. Cache rates are already resolved (an unset one is the input rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rates {
    pub input: u64,
    pub cached_input: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    /// Output, reasoning included.
    pub output: u64,
    /// Per web search the vendor ran.
    pub web_search: u64,
    /// Per web fetch the vendor ran.
    pub web_fetch: u64,
}

/// Rates that replace a row's own for calls with a long prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongContext {
    /// A prompt of more than this many tokens (cache included) is priced at `rates`.
    pub above_input_tokens: u64,
    pub rates: Rates,
}

/// The prices of a model from one date on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRow {
    /// From when the row applies (ms since the epoch; 0: from the beginning).
    pub from_ms: u64,
    /// When the operator read these prices (`YYYY-MM-DD`), for display.
    pub taken: Option<String>,
    pub rates: Rates,
    pub long_context: Option<LongContext>,
}

/// A model's price rows, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prices {
    pub rows: Vec<PriceRow>,
}

impl Prices {
    /// The row in force at `now_ms`: the last whose `from` has come.
    pub fn at(&self, now_ms: u64) -> Option<&PriceRow> {
        self.rows.iter().rev().find(|row| row.from_ms <= now_ms)
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// What a call used, in the canonical inclusion rules (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tokens {
    /// The whole prompt: uncached, cache reads and cache writes.
    pub input: u64,
    pub cache_read: u64,
    /// Cache writes that live five minutes (the default).
    pub cache_write_5m: u64,
    /// Cache writes that live an hour.
    pub cache_write_1h: u64,
    /// Everything generated, reasoning included.
    pub output: u64,
    pub web_search_calls: u64,
    pub web_fetch_calls: u64,
}

impl Tokens {
    /// The figures an upstream reported (unreported ones count 0).
    pub fn from_usage(usage: &Usage) -> Tokens {
        let writes = usage.cache_write_tokens.unwrap_or(0);
        let writes_1h = usage.cache_write_1h_tokens.unwrap_or(0).min(writes);
        Tokens {
            input: usage.input_tokens.unwrap_or(0),
            cache_read: usage.cache_read_tokens.unwrap_or(0),
            cache_write_5m: writes - writes_1h,
            cache_write_1h: writes_1h,
            output: usage.output_tokens.unwrap_or(0),
            web_search_calls: usage.web_search_calls.unwrap_or(0),
            web_fetch_calls: usage.web_fetch_calls.unwrap_or(0),
        }
    }

    /// What a call is charged: the input, output and server tool calls of `billed` (the
    /// upstream's figures, or the gateway's conservative estimates where it reported none:
    /// for a cut answer, at least the searches it showed), with the cache figures the
    /// upstream reported.
    pub fn charged(billed: Billed, usage: &Usage) -> Tokens {
        Tokens {
            input: billed.input_tokens,
            output: billed.output_tokens,
            web_search_calls: billed.web_search_calls,
            web_fetch_calls: billed.web_fetch_calls,
            ..Tokens::from_usage(usage)
        }
    }

    /// Prompt tokens neither read from nor written to a cache.
    pub fn uncached_input(&self) -> u64 {
        self.input
            .saturating_sub(self.cache_read)
            .saturating_sub(self.cache_write_5m)
            .saturating_sub(self.cache_write_1h)
    }
}

/// A call's cost by part, in picodollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cost {
    pub input: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub output: u64,
    pub tools: u64,
}

impl Cost {
    pub fn total(&self) -> u64 {
        self.input
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
            .saturating_add(self.output)
            .saturating_add(self.tools)
    }
}

/// What `tokens` cost at `row`'s prices.
pub fn cost(row: &PriceRow, tokens: &Tokens) -> Cost {
    let rates = match &row.long_context {
        Some(long) if tokens.input > long.above_input_tokens => &long.rates,
        _ => &row.rates,
    };
    let times = |count: u64, rate: u64| count.saturating_mul(rate);
    Cost {
        input: times(tokens.uncached_input(), rates.input),
        cache_read: times(tokens.cache_read, rates.cached_input),
        cache_write: times(tokens.cache_write_5m, rates.cache_write_5m)
            .saturating_add(times(tokens.cache_write_1h, rates.cache_write_1h)),
        output: times(tokens.output, rates.output),
        tools: times(tokens.web_search_calls, rates.web_search)
            .saturating_add(times(tokens.web_fetch_calls, rates.web_fetch)),
    }
}

/// What `tokens` cost at `prices` on `now_ms`; `None` when the model has no price then.
pub fn cost_at(prices: &Prices, now_ms: u64, tokens: &Tokens) -> Option<Cost> {
    prices.at(now_ms).map(|row| cost(row, tokens))
}

/// An exact decimal dollar amount for picodollars: `101000000000` → `"0.101"`.
pub fn usd_string(picodollars: u128) -> String {
    let pico = u128::from(PICO_PER_USD);
    let whole = picodollars / pico;
    let fraction = picodollars % pico;
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:012}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A price in dollars (per million tokens, or per thousand calls with `scale` 10⁹) as integer
/// picodollars per unit; `None` when it is negative, not finite, or has more decimals than the
/// unit holds.
pub fn parse_rate(dollars: f64, scale: u64) -> Option<u64> {
    if !dollars.is_finite() || dollars < 0.0 {
        return None;
    }
    let scaled = dollars * scale as f64;
    let rounded = scaled.round();
    // f64 holds 15–17 significant digits: a price written with at most the unit's decimals
    // scales to within a tiny fraction of an integer.
    let tolerance = (scaled.abs() * 1e-12).max(1e-6);
    if (scaled - rounded).abs() > tolerance || rounded > u64::MAX as f64 / 2.0 {
        return None;
    }
    Some(rounded as u64)
}

/// Picodollars per token for a price in dollars per million tokens.
pub const PER_MTOK: u64 = 1_000_000;
/// Picodollars per call for a price in dollars per thousand calls.
pub const PER_THOUSAND_CALLS: u64 = 1_000_000_000;
