//! CSV exports of the log and of usage (RFC 4180: comma-separated, CRLF line ends, fields with
//! a comma, quote or line break quoted). A field that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`) is prefixed with `'`.

use serde_json::Value;

/// The columns of a log export, in order (keys of [`super::query::log_row`]).
pub const LOG_COLUMNS: [&str; 22] = [
    "time",
    "id",
    "key_id",
    "model",
    "provider",
    "upstream_model",
    "client_format",
    "stream",
    "status",
    "outcome",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_calls",
    "estimated",
    "cost_usd",
    "latency_ms",
    "ttft_ms",
    "warnings",
    "ts_ms",
];

/// The columns of a usage export (keys of [`super::query::usage_row`] by day, key and model).
pub const USAGE_COLUMNS: [&str; 13] = [
    "day",
    "key_id",
    "model",
    "requests",
    "errors",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_calls",
    "cost_usd",
    "unpriced",
];

/// `rows` (JSON objects) as CSV with `columns`, a header line first.
pub fn write(columns: &[&str], rows: &[Value]) -> String {
    let mut out = String::new();
    out.push_str(&columns.join(","));
    out.push_str("\r\n");
    for row in rows {
        let fields: Vec<String> = columns
            .iter()
            .map(|column| field(row.get(*column).unwrap_or(&Value::Null)))
            .collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn field(value: &Value) -> String {
    let text = match value {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => return n.to_string(),
        other => other.to_string(),
    };
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        let rows = vec![
            json!({"a": "x,y", "b": 3, "c": null}),
            json!({"a": "say \"hi\"\n", "b": true, "c": "=HYPERLINK(1)"}),
        ];
        assert_eq!(
            write(&["a", "b", "c"], &rows),
            "a,b,c\r\n\"x,y\",3,\r\n\"say \"\"hi\"\"\n\",true,'=HYPERLINK(1)\r\n"
        );
        assert_eq!(write(&["a"], &[]), "a\r\n");
    }
}
