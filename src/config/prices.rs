//! A model's `prices` (or its `input_price`/`output_price` shorthand) as exact
//! [`Prices`]: every amount checked, unset cache prices resolved to the input price, rows
//! ordered by their `from` date.

use super::Checker;
use super::schema::{RawLongContext, RawModel, RawPrice};
use crate::pricing::{
    LongContext, PER_MTOK, PER_THOUSAND_CALLS, PriceRow, Prices, Rates, parse_rate,
};
use crate::time::parse_rfc3339;

/// The model's prices; problems are reported on `entry`.
pub fn prices(raw: &RawModel, entry: &str, check: &mut Checker) -> Prices {
    let rows: Vec<RawPrice> = match (&raw.prices, raw.input_price, raw.output_price) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            check.error(
                entry,
                "prices",
                "give either `prices` or `input_price`/`output_price`, not both",
            );
            return Prices::default();
        }
        (Some(rows), None, None) => rows.clone(),
        (None, Some(input), Some(output)) => vec![RawPrice {
            from: None,
            taken: None,
            input,
            cached_input: None,
            cache_write_5m: None,
            cache_write_1h: None,
            output,
            web_search: None,
            web_fetch: None,
            long_context: None,
        }],
        (None, Some(_), None) | (None, None, Some(_)) => {
            check.error(
                entry,
                "input_price",
                "`input_price` and `output_price` go together",
            );
            return Prices::default();
        }
        (None, None, None) => Vec::new(),
    };
    let mut out: Vec<PriceRow> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let field = format!("prices[{i}]");
        if let Some(row) = price_row(row, entry, &field, check) {
            if out.iter().any(|other| other.from_ms == row.from_ms) {
                check.error(entry, &format!("{field}.from"), "another row has this date");
            }
            out.push(row);
        }
    }
    out.sort_by_key(|row| row.from_ms);
    Prices { rows: out }
}

fn price_row(raw: &RawPrice, entry: &str, field: &str, check: &mut Checker) -> Option<PriceRow> {
    let from_ms = match &raw.from {
        None => 0,
        Some(date) => match day_ms(date) {
            Some(ms) => ms,
            None => {
                check.error(
                    entry,
                    &format!("{field}.from"),
                    format!("{date:?} is not a date like \"2026-12-01\""),
                );
                return None;
            }
        },
    };
    if let Some(date) = &raw.taken
        && day_ms(date).is_none()
    {
        check.error(
            entry,
            &format!("{field}.taken"),
            format!("{date:?} is not a date like \"2026-11-30\""),
        );
    }
    let mut rate = |name: &str, value: f64, scale: u64| {
        parse_rate(value, scale).unwrap_or_else(|| {
            check.error(
                entry,
                &format!("{field}.{name}"),
                "must be a non-negative number of dollars with at most 6 decimals per million tokens (9 per thousand calls)",
            );
            0
        })
    };
    let input = rate("input", raw.input, PER_MTOK);
    let cache = |name: &str, value: Option<f64>, rate: &mut dyn FnMut(&str, f64, u64) -> u64| {
        value.map_or(input, |v| rate(name, v, PER_MTOK))
    };
    let rates = Rates {
        input,
        cached_input: cache("cached_input", raw.cached_input, &mut rate),
        cache_write_5m: cache("cache_write_5m", raw.cache_write_5m, &mut rate),
        cache_write_1h: cache("cache_write_1h", raw.cache_write_1h, &mut rate),
        output: rate("output", raw.output, PER_MTOK),
        web_search: raw
            .web_search
            .map_or(0, |v| rate("web_search", v, PER_THOUSAND_CALLS)),
        web_fetch: raw
            .web_fetch
            .map_or(0, |v| rate("web_fetch", v, PER_THOUSAND_CALLS)),
    };
    let long_context = raw
        .long_context
        .as_ref()
        .map(|long| long_context(long, &rates, entry, field, check));
    Some(PriceRow {
        from_ms,
        taken: raw.taken.clone(),
        rates,
        long_context,
    })
}

fn long_context(
    raw: &RawLongContext,
    base: &Rates,
    entry: &str,
    field: &str,
    check: &mut Checker,
) -> LongContext {
    let field = format!("{field}.long_context");
    if raw.above_input_tokens == 0 {
        check.error(
            entry,
            &format!("{field}.above_input_tokens"),
            "must be greater than 0",
        );
    }
    let mut rate = |name: &str, value: f64| {
        parse_rate(value, PER_MTOK).unwrap_or_else(|| {
            check.error(
                entry,
                &format!("{field}.{name}"),
                "must be a non-negative number of dollars with at most 6 decimals",
            );
            0
        })
    };
    let input = rate("input", raw.input);
    let mut cache = |name: &str, value: Option<f64>| value.map_or(input, |v| rate(name, v));
    let cached_input = cache("cached_input", raw.cached_input);
    let cache_write_5m = cache("cache_write_5m", raw.cache_write_5m);
    let cache_write_1h = cache("cache_write_1h", raw.cache_write_1h);
    LongContext {
        above_input_tokens: raw.above_input_tokens,
        rates: Rates {
            input,
            cached_input,
            cache_write_5m,
            cache_write_1h,
            output: rate("output", raw.output),
            // Tools cost the same however long the prompt.
            web_search: base.web_search,
            web_fetch: base.web_fetch,
        },
    }
}

/// Midnight UTC of a `YYYY-MM-DD` date, in ms since the epoch.
fn day_ms(date: &str) -> Option<u64> {
    if date.len() != 10 {
        return None;
    }
    parse_rfc3339(&format!("{date}T00:00:00Z"))
}
