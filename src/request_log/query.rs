//! The log's read side without the database: the filters the APIs take (from a query string),
//! the SQL they make (every value a bound parameter), and the JSON rows they answer with.
//!
//! | parameter | log | usage | meaning |
//! |---|---|---|---|
//! | `key` | yes | yes | one key id (admin only; a key holder sees their own) |
//! | `model` | yes | yes | one public model id |
//! | `outcome` | yes | | `ok`, `error` (anything not ok), or one outcome (`timeout`, `incomplete`, ...) |
//! | `from`, `to` | yes | yes | `YYYY-MM-DD` (UTC, inclusive) or RFC 3339 |
//! | `before` | yes | | a row's `ts_ms`: the page after it (newest first) |
//! | `limit` | yes | yes (top keys) | rows per page |
//!
//! Costs are summed in SQL as integers and read back as text, so no amount passes through a
//! float: the answers carry `cost_usd` as an exact decimal string.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::pricing::usd_string;
use crate::time::{parse_rfc3339, rfc3339, utc_date};

const DAY_MS: u64 = 86_400_000;
/// Rows of the log per page, by default and at most.
pub const DEFAULT_LOG_LIMIT: u32 = 50;
pub const MAX_LOG_LIMIT: u32 = 1_000;
/// Rows of a CSV export at most.
pub const MAX_EXPORT_ROWS: u32 = 10_000;
/// Days a usage report covers by default.
pub const DEFAULT_USAGE_DAYS: u64 = 30;
/// The longest usage report.
const MAX_USAGE_DAYS: u64 = 400;
/// Top spenders shown by default.
pub const DEFAULT_TOP_KEYS: u32 = 10;

/// A bound SQL parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    Int(i64),
}

/// A statement and its parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

/// Which calls of the log to show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogFilter {
    pub key_id: Option<String>,
    pub model: Option<String>,
    pub outcome: Option<String>,
    pub from_ms: Option<u64>,
    /// Exclusive.
    pub to_ms: Option<u64>,
    /// Exclusive: rows older than this.
    pub before_ms: Option<u64>,
    pub limit: u32,
}

/// Which days of the rollups to add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageFilter {
    pub key_id: Option<String>,
    pub model: Option<String>,
    /// Inclusive `YYYY-MM-DD`.
    pub from_day: String,
    pub to_day: String,
    pub top: u32,
}

/// The query string's parameters, percent-decoded (the last of a repeated name wins).
pub fn params(query: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(name), Value::String(decode(value)));
    }
    out
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| (*c as char).to_digit(16));
        match b {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn text<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A moment given as `YYYY-MM-DD` (its midnight, UTC; `end_of_day` the next midnight) or
/// RFC 3339.
fn moment(value: &str, name: &str, end_of_day: bool) -> Result<u64, ApiError> {
    let parsed = if value.len() == 10 {
        parse_rfc3339(&format!("{value}T00:00:00Z"))
            .map(|ms| if end_of_day { ms + DAY_MS } else { ms })
    } else {
        parse_rfc3339(value)
    };
    parsed.ok_or_else(|| {
        ApiError::invalid(format!(
            "`{name}` must be a date like 2026-11-30 or a time like 2026-11-30T12:00:00Z"
        ))
        .with_param(name)
    })
}

fn number(
    params: &Map<String, Value>,
    name: &str,
    default: u32,
    max: u32,
) -> Result<u32, ApiError> {
    match text(params, name) {
        None => Ok(default),
        Some(value) => value
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(format!("`{name}` must be a whole number from 1 to {max}"))
                    .with_param(name)
            }),
    }
}

/// The log filter a query string asks for (`key` only where `allow_key`); `max_limit` bounds
/// `limit` (a page, or an export).
pub fn log_filter(
    params: &Map<String, Value>,
    allow_key: bool,
    max_limit: u32,
) -> Result<LogFilter, ApiError> {
    let key_id = if allow_key {
        text(params, "key").map(str::to_owned)
    } else {
        None
    };
    let outcome = text(params, "outcome").map(str::to_owned);
    if let Some(outcome) = &outcome
        && !outcome.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        return Err(ApiError::invalid(
            "`outcome` is `ok`, `error`, or one outcome such as `timeout`",
        )
        .with_param("outcome"));
    }
    let before_ms = match text(params, "before") {
        None => None,
        Some(value) => Some(value.parse::<u64>().map_err(|_| {
            ApiError::invalid("`before` is the `ts_ms` of the last row of the previous page")
                .with_param("before")
        })?),
    };
    Ok(LogFilter {
        key_id,
        model: text(params, "model").map(str::to_owned),
        outcome,
        from_ms: text(params, "from")
            .map(|v| moment(v, "from", false))
            .transpose()?,
        to_ms: text(params, "to")
            .map(|v| moment(v, "to", true))
            .transpose()?,
        before_ms,
        limit: number(params, "limit", DEFAULT_LOG_LIMIT.min(max_limit), max_limit)?,
    })
}

/// The usage filter a query string asks for: `from`..`to` (default: the last
/// [`DEFAULT_USAGE_DAYS`] days up to `now_ms`).
pub fn usage_filter(
    params: &Map<String, Value>,
    allow_key: bool,
    now_ms: u64,
) -> Result<UsageFilter, ApiError> {
    let to_ms = match text(params, "to") {
        Some(value) => moment(value, "to", false)?,
        None => now_ms,
    };
    let from_ms = match text(params, "from") {
        Some(value) => moment(value, "from", false)?,
        None => to_ms.saturating_sub((DEFAULT_USAGE_DAYS - 1) * DAY_MS),
    };
    if from_ms > to_ms {
        return Err(ApiError::invalid("`from` is after `to`").with_param("from"));
    }
    if to_ms - from_ms > MAX_USAGE_DAYS * DAY_MS {
        return Err(ApiError::invalid(format!(
            "a usage report covers at most {MAX_USAGE_DAYS} days"
        ))
        .with_param("from"));
    }
    Ok(UsageFilter {
        key_id: if allow_key {
            text(params, "key").map(str::to_owned)
        } else {
            None
        },
        model: text(params, "model").map(str::to_owned),
        from_day: utc_date(from_ms),
        to_day: utc_date(to_ms),
        top: number(params, "limit", DEFAULT_TOP_KEYS, 1_000)?,
    })
}

/// The columns of a log row, costs as text.
const LOG_COLUMNS: &str = "id, ts, key_id, model, provider, upstream_model, client_format, stream, status, outcome, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, web_search_calls, estimated, CAST(cost_pico AS TEXT) AS cost_pico, latency_ms, ttft_ms, warnings";

/// The log rows `filter` selects, newest first.
pub fn log_query(filter: &LogFilter) -> Sql {
    let mut conditions: Vec<&str> = Vec::new();
    let mut params = Vec::new();
    if let Some(key) = &filter.key_id {
        conditions.push("key_id = ?");
        params.push(Param::Text(key.clone()));
    }
    if let Some(model) = &filter.model {
        conditions.push("model = ?");
        params.push(Param::Text(model.clone()));
    }
    match filter.outcome.as_deref() {
        None => {}
        Some("error") => conditions.push("outcome != 'ok'"),
        Some(outcome) => {
            conditions.push("outcome = ?");
            params.push(Param::Text(outcome.to_owned()));
        }
    }
    for (condition, value) in [
        ("ts >= ?", filter.from_ms),
        ("ts < ?", filter.to_ms),
        ("ts < ?", filter.before_ms),
    ] {
        if let Some(ms) = value {
            conditions.push(condition);
            params.push(Param::Int(i64::try_from(ms).unwrap_or(i64::MAX)));
        }
    }
    let mut text = format!("SELECT {LOG_COLUMNS} FROM requests");
    if !conditions.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&conditions.join(" AND "));
    }
    text.push_str(" ORDER BY ts DESC, id DESC LIMIT ?");
    params.push(Param::Int(i64::from(filter.limit)));
    Sql { text, params }
}

/// How a usage report groups the rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// One row: the whole range.
    Total,
    Day,
    Model,
    /// The top spenders first, `top` of them.
    Key,
    /// One row per day, key and model (the export).
    DayKeyModel,
}

const SUMS: &str = "SUM(requests) AS requests, SUM(errors) AS errors, SUM(input_tokens) AS input_tokens, SUM(cache_read_tokens) AS cache_read_tokens, SUM(cache_write_tokens) AS cache_write_tokens, SUM(output_tokens) AS output_tokens, SUM(reasoning_tokens) AS reasoning_tokens, SUM(web_search_calls) AS web_search_calls, CAST(SUM(cost_pico) AS TEXT) AS cost_pico, SUM(unpriced) AS unpriced";

/// The rollups `filter` selects, added up by `group`.
pub fn usage_query(filter: &UsageFilter, group: Group) -> Sql {
    let mut params = vec![
        Param::Text(filter.from_day.clone()),
        Param::Text(filter.to_day.clone()),
    ];
    let mut conditions = String::from("day >= ? AND day <= ?");
    if let Some(key) = &filter.key_id {
        conditions.push_str(" AND key_id = ?");
        params.push(Param::Text(key.clone()));
    }
    if let Some(model) = &filter.model {
        conditions.push_str(" AND model = ?");
        params.push(Param::Text(model.clone()));
    }
    let (columns, tail) = match group {
        Group::Total => ("", String::new()),
        Group::Day => ("day, ", " GROUP BY day ORDER BY day".to_owned()),
        Group::Model => (
            "model, ",
            " GROUP BY model ORDER BY SUM(cost_pico) DESC, SUM(requests) DESC, model".to_owned(),
        ),
        Group::Key => {
            params.push(Param::Int(i64::from(filter.top)));
            (
                "key_id, ",
                " GROUP BY key_id ORDER BY SUM(cost_pico) DESC, SUM(requests) DESC, key_id LIMIT ?"
                    .to_owned(),
            )
        }
        Group::DayKeyModel => (
            "day, key_id, model, ",
            " GROUP BY day, key_id, model ORDER BY day, key_id, model".to_owned(),
        ),
    };
    Sql {
        text: format!("SELECT {columns}{SUMS} FROM rollups WHERE {conditions}{tail}"),
        params,
    }
}

/// Picodollars read back as text (or a number, or null) as an exact `cost_usd` string.
fn cost_usd(value: Option<&Value>) -> Value {
    let pico = match value {
        Some(Value::String(text)) => text.parse::<u128>().ok(),
        Some(Value::Number(n)) => n.as_u64().map(u128::from),
        _ => None,
    };
    pico.map_or(Value::Null, |p| Value::String(usd_string(p)))
}

fn int(row: &Value, name: &str) -> Value {
    match row.get(name) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map_or(Value::Null, Value::from),
        _ => Value::Null,
    }
}

/// A log row from the database as the API shows it.
pub fn log_row(row: &Value) -> Value {
    let ts = row.get("ts").and_then(Value::as_f64).unwrap_or(0.0) as u64;
    let flag = |name: &str| row.get(name).and_then(Value::as_f64).unwrap_or(0.0) != 0.0;
    json!({
        "id": row.get("id").cloned().unwrap_or(Value::Null),
        "ts_ms": ts,
        "time": rfc3339(ts),
        "key_id": row.get("key_id").cloned().unwrap_or(Value::Null),
        "model": row.get("model").cloned().unwrap_or(Value::Null),
        "provider": row.get("provider").cloned().unwrap_or(Value::Null),
        "upstream_model": row.get("upstream_model").cloned().unwrap_or(Value::Null),
        "client_format": row.get("client_format").cloned().unwrap_or(Value::Null),
        "stream": flag("stream"),
        "status": int(row, "status"),
        "outcome": row.get("outcome").cloned().unwrap_or(Value::Null),
        "input_tokens": int(row, "input_tokens"),
        "cache_read_tokens": int(row, "cache_read_tokens"),
        "cache_write_tokens": int(row, "cache_write_tokens"),
        "output_tokens": int(row, "output_tokens"),
        "reasoning_tokens": int(row, "reasoning_tokens"),
        "web_search_calls": int(row, "web_search_calls"),
        "estimated": flag("estimated"),
        "cost_usd": cost_usd(row.get("cost_pico")),
        "latency_ms": int(row, "latency_ms"),
        "ttft_ms": int(row, "ttft_ms"),
        "warnings": row.get("warnings").cloned().unwrap_or(Value::Null),
    })
}

/// A rollup row (of any grouping) as the API shows it.
pub fn usage_row(row: &Value) -> Value {
    let mut out = Map::new();
    for name in ["day", "key_id", "model"] {
        if let Some(value) = row.get(name) {
            out.insert(name.to_owned(), value.clone());
        }
    }
    for name in [
        "requests",
        "errors",
        "input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "output_tokens",
        "reasoning_tokens",
        "web_search_calls",
        "unpriced",
    ] {
        // SUM over no rows is NULL: a range without calls adds up to zero.
        let value = int(row, name);
        out.insert(
            name.to_owned(),
            if value.is_null() { json!(0) } else { value },
        );
    }
    let cost = cost_usd(row.get("cost_pico"));
    out.insert(
        "cost_usd".to_owned(),
        if cost.is_null() { json!("0") } else { cost },
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Map<String, Value> {
        params(query)
    }

    #[test]
    fn query_strings_decode() {
        let p = parse("model=claude%2Dsonnet&key=key_1&x=a+b&empty=&bad=%zz");
        assert_eq!(text(&p, "model"), Some("claude-sonnet"));
        assert_eq!(text(&p, "x"), Some("a b"));
        assert_eq!(text(&p, "empty"), None);
        assert_eq!(text(&p, "bad"), Some("%zz"));
    }

    #[test]
    fn log_filters_become_bound_parameters() {
        let filter = log_filter(
            &parse(
                "key=key_1&model=m&outcome=error&from=2026-11-01&to=2026-11-30&before=99&limit=5",
            ),
            true,
            MAX_LOG_LIMIT,
        )
        .unwrap();
        let sql = log_query(&filter);
        assert!(sql.text.contains("WHERE key_id = ? AND model = ? AND outcome != 'ok' AND ts >= ? AND ts < ? AND ts < ?"), "{}", sql.text);
        assert!(sql.text.ends_with("ORDER BY ts DESC, id DESC LIMIT ?"));
        let day = |d: &str| parse_rfc3339(&format!("{d}T00:00:00Z")).unwrap() as i64;
        assert_eq!(
            sql.params,
            vec![
                Param::Text("key_1".into()),
                Param::Text("m".into()),
                Param::Int(day("2026-11-01")),
                Param::Int(day("2026-12-01")),
                Param::Int(99),
                Param::Int(5),
            ]
        );
        // A key holder's filter never takes `key`; values never reach the SQL text.
        let holder = log_filter(&parse("key=key_2&outcome=timeout"), false, 100).unwrap();
        assert_eq!(holder.key_id, None);
        let sql = log_query(&holder);
        assert!(!sql.text.contains("timeout"));
        assert_eq!(sql.params.last(), Some(&Param::Int(50)));
    }

    #[test]
    fn bad_filters_are_400_naming_the_parameter() {
        for (query, param) in [
            ("from=yesterday", "from"),
            ("limit=0", "limit"),
            ("limit=5000", "limit"),
            ("outcome=x'%20OR%201", "outcome"),
            ("before=soon", "before"),
        ] {
            let error = log_filter(&parse(query), true, MAX_LOG_LIMIT).unwrap_err();
            assert_eq!(error.status(), 400, "{query}");
            assert_eq!(error.param.as_deref(), Some(param), "{query}");
        }
        let now = parse_rfc3339("2026-11-30T10:00:00Z").unwrap();
        assert!(usage_filter(&parse("from=2026-12-01&to=2026-11-01"), true, now).is_err());
        assert!(usage_filter(&parse("from=2020-01-01"), true, now).is_err());
    }

    #[test]
    fn usage_reports_default_to_the_last_thirty_days() {
        let now = parse_rfc3339("2026-11-30T10:00:00Z").unwrap();
        let filter = usage_filter(&parse(""), true, now).unwrap();
        assert_eq!(
            (filter.from_day.as_str(), filter.to_day.as_str()),
            ("2026-11-01", "2026-11-30")
        );
        let sql = usage_query(&filter, Group::Key);
        assert!(
            sql.text
                .contains("GROUP BY key_id ORDER BY SUM(cost_pico) DESC")
        );
        assert_eq!(sql.params.last(), Some(&Param::Int(10)));
        let scoped = usage_filter(&parse("key=key_9&model=m"), false, now).unwrap();
        let sql = usage_query(&scoped, Group::Day);
        assert_eq!(sql.params.len(), 3, "no key for a key holder's own filter");
    }

    #[test]
    fn rows_read_back_exactly() {
        let row = json!({"id": "r", "ts": 1_764_496_800_000_f64, "status": 200.0, "stream": 1,
            "estimated": 0, "cost_pico": "123456789012345678", "input_tokens": 5});
        let shown = log_row(&row);
        assert_eq!(shown["cost_usd"], "123456.789012345678");
        assert_eq!(shown["time"], "2025-11-30T10:00:00Z");
        assert_eq!(shown["status"], 200);
        assert_eq!(shown["stream"], true);
        assert_eq!(shown["cost_usd"], "123456.789012345678");
        assert_eq!(
            log_row(&json!({"cost_pico": null}))["cost_usd"],
            Value::Null
        );
        let empty = usage_row(&json!({"requests": null, "cost_pico": null}));
        assert_eq!(empty["requests"], 0);
        assert_eq!(empty["cost_usd"], "0");
    }
}
