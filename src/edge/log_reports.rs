//! Reading the request log (D1) for the dashboards and the APIs, as JSON or CSV.
//!
//! | path | who | answer |
//! |---|---|---|
//! | `GET /admin/log` (`.csv`) | operator | calls, newest first, filtered by key, model, outcome, time |
//! | `GET /admin/usage` (`.csv`) | operator | totals, per day, per model and the top spenders over a range; the CSV per day, key and model |
//! | `GET /v1/usage/log` (`.csv`) | key holder | their own calls |
//! | `GET /v1/usage/report` (`.csv`) | key holder | their own totals per day and model |
//!
//! Filters are in `crate::request_log::query`. The log answers what was called, when, how it
//! ended and what it cost; what a key may still spend is the key's Durable Object's answer
//! (`GET /v1/usage`), never the log's.

use serde_json::{Map, Value, json};
use worker::{D1Database, Env, Headers, Request, Response, ResponseBuilder};

use super::admin;
use super::auth;
use super::http;
use super::request_log::{DB_BINDING, rows};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::request_log::csv;
use crate::request_log::query::{
    self, Group, MAX_EXPORT_ROWS, MAX_LOG_LIMIT, UsageFilter, log_filter, log_query, log_row,
    usage_filter, usage_query, usage_row,
};

type Answer = Result<Response, ApiError>;

/// What a report path asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Report {
    Log { csv: bool },
    Usage { csv: bool },
}

fn report(name: &str) -> Option<Report> {
    match name {
        "log" => Some(Report::Log { csv: false }),
        "log.csv" => Some(Report::Log { csv: true }),
        "usage" | "report" => Some(Report::Usage { csv: false }),
        "usage.csv" | "report.csv" => Some(Report::Usage { csv: true }),
        _ => None,
    }
}

/// `/admin/log`, `/admin/usage` and their CSV: `None` for other admin paths.
pub async fn admin(
    req: &Request,
    env: &Env,
    path: &str,
    request_id: &str,
) -> Option<worker::Result<Response>> {
    let name = path.strip_prefix("/admin/")?;
    let report = report(name).filter(|_| name.starts_with("log") || name.starts_with("usage"))?;
    let answer = match admin::authorize(req, env) {
        Ok(()) if req.inner().method() != "GET" => Err(ApiError::new(
            ErrorKind::MethodNotAllowed,
            "reports are read with GET",
        )),
        Ok(()) => serve(req, env, report, None).await,
        Err(error) => Err(error),
    };
    Some(finish(answer, request_id))
}

/// `/v1/usage/log`, `/v1/usage/report` and their CSV, for the key presented.
pub async fn holder(
    req: &Request,
    env: &Env,
    path: &str,
    request_id: &str,
) -> worker::Result<Response> {
    let name = path.strip_prefix("/v1/usage/").unwrap_or_default();
    let answer = match report(name)
        .filter(|_| name.starts_with("log") || name.starts_with("report"))
    {
        None => Err(ApiError::new(
            ErrorKind::NotFound,
            format!(
                "No endpoint at {path}. Key holders read /v1/usage, /v1/usage/log and /v1/usage/report (add .csv for a file)."
            ),
        )),
        Some(report) => match auth::verified_caller(req, env, WireFormat::ALL[0]).await {
            Ok((record, _, _)) => serve(req, env, report, Some(&record.id)).await,
            Err(error) => Err(error),
        },
    };
    finish(answer, request_id)
}

/// Errors in the OpenAI shape (these are not a format's endpoints).
fn finish(answer: Answer, request_id: &str) -> worker::Result<Response> {
    match answer {
        Ok(response) => Ok(response),
        Err(error) => http::error(WireFormat::ALL[0], &error, request_id),
    }
}

/// A report, for the operator (`key_id` None: any key) or for one key.
async fn serve(req: &Request, env: &Env, report: Report, key_id: Option<&str>) -> Answer {
    let url = req
        .url()
        .map_err(|_| ApiError::invalid("the URL could not be read"))?;
    let params = query::params(url.query().unwrap_or_default());
    let db = env.d1(DB_BINDING).map_err(|_| {
        ApiError::new(
            ErrorKind::NotFound,
            "the request log is not set up on this gateway (no LOG_DB binding)",
        )
    })?;
    let now_ms = worker::Date::now().as_millis();
    match report {
        Report::Log { csv } => {
            let max = if csv { MAX_EXPORT_ROWS } else { MAX_LOG_LIMIT };
            let mut filter = log_filter(&params, key_id.is_none(), max)?;
            if let Some(key_id) = key_id {
                filter.key_id = Some(key_id.to_owned());
            }
            if csv && params.get("limit").is_none() {
                filter.limit = MAX_EXPORT_ROWS;
            }
            let rows: Vec<Value> = read(&db, &log_query(&filter))
                .await?
                .iter()
                .map(log_row)
                .collect();
            if csv {
                return csv_response("request-log.csv", &csv::write(&csv::LOG_COLUMNS, &rows));
            }
            let next = (rows.len() as u64 == u64::from(filter.limit))
                .then(|| rows.last().and_then(|r| r.get("ts_ms")).cloned())
                .flatten();
            json_response(&json!({ "data": rows, "next_before": next }))
        }
        Report::Usage { csv } => {
            let mut filter = usage_filter(&params, key_id.is_none(), now_ms)?;
            if let Some(key_id) = key_id {
                filter.key_id = Some(key_id.to_owned());
            }
            if csv {
                let rows: Vec<Value> = read(&db, &usage_query(&filter, Group::DayKeyModel))
                    .await?
                    .iter()
                    .map(usage_row)
                    .collect();
                return csv_response("usage.csv", &csv::write(&csv::USAGE_COLUMNS, &rows));
            }
            json_response(&usage_report(&db, &filter, key_id.is_none()).await?)
        }
    }
}

/// Totals, days, models (and, for the operator, the top spenders) over `filter`'s range.
async fn usage_report(
    db: &D1Database,
    filter: &UsageFilter,
    with_keys: bool,
) -> Result<Value, ApiError> {
    let total = read(db, &usage_query(filter, Group::Total)).await?;
    let days = read(db, &usage_query(filter, Group::Day)).await?;
    let models = read(db, &usage_query(filter, Group::Model)).await?;
    let mut report = Map::new();
    report.insert("from".into(), json!(filter.from_day));
    report.insert("to".into(), json!(filter.to_day));
    report.insert(
        "total".into(),
        total
            .first()
            .map_or_else(|| usage_row(&json!({})), usage_row),
    );
    report.insert(
        "days".into(),
        Value::Array(days.iter().map(usage_row).collect()),
    );
    report.insert(
        "models".into(),
        Value::Array(models.iter().map(usage_row).collect()),
    );
    if with_keys {
        let keys = read(db, &usage_query(filter, Group::Key)).await?;
        report.insert(
            "top_keys".into(),
            Value::Array(keys.iter().map(usage_row).collect()),
        );
    }
    Ok(Value::Object(report))
}

async fn read(db: &D1Database, sql: &query::Sql) -> Result<Vec<Value>, ApiError> {
    rows(db, sql).await.map_err(|e| {
        worker::console_error!("request log query failed: {e}");
        ApiError::new(
            ErrorKind::Overloaded,
            "the request log could not be read; retry (its operator may need to apply the D1 migrations)",
        )
        .with_retry_after(5)
    })
}

fn json_response(body: &Value) -> Answer {
    Ok(http::json(200, body)?)
}

fn csv_response(filename: &str, text: &str) -> Answer {
    let headers = Headers::new();
    headers.set("content-type", "text/csv; charset=utf-8")?;
    headers.set(
        "content-disposition",
        &format!("attachment; filename=\"{filename}\""),
    )?;
    Ok(ResponseBuilder::new()
        .with_status(200)
        .with_headers(headers)
        .fixed(text.as_bytes().to_vec()))
}
