//! Typed reading of client JSON with errors that name the field at fault.
//!
//! Every serde failure becomes a 400 [`ApiError`] whose `param` is the full path of the
//! offending value (`input[2].content[0].image_url`), including for missing fields, which serde
//! reports at the enclosing object.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// Reads the request body. Malformed JSON is a 400 without `param`.
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let syntax = matches!(
            error.inner().classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        );
        if syntax {
            ApiError::invalid(format!(
                "The request body is not valid JSON: {}",
                error.inner()
            ))
        } else {
            to_api_error(error, "")
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::invalid(format!("The request body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Reads an owned `value`, found at `at` in the request, as a `T` (strings are moved, not
/// copied).
pub fn take<T: DeserializeOwned>(value: Value, at: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| to_api_error(error, at))
}

/// `value["type"]` when it is a string.
pub fn type_of(value: &Value) -> Option<&str> {
    value.get("type").and_then(Value::as_str)
}

/// A 400 for a required field that is absent.
pub fn missing(param: &str) -> ApiError {
    ApiError::invalid(format!("Missing required parameter: '{param}'.")).with_param(param)
}

/// A 400 for a value of the wrong shape.
pub fn invalid_value(param: &str, what: &str) -> ApiError {
    ApiError::invalid(format!("Invalid value for '{param}': {what}.")).with_param(param)
}

/// Joins a parent path and a child segment (`input[2]` + `content` → `input[2].content`;
/// `input` + `[2]` → `input[2]`).
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.trim_start_matches('.').to_owned()
    } else if child.is_empty() || child == "." {
        parent.to_owned()
    } else if child.starts_with('[') {
        format!("{parent}{child}")
    } else {
        format!("{parent}.{}", child.trim_start_matches('.'))
    }
}

fn to_api_error(error: serde_path_to_error::Error<serde_json::Error>, at: &str) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    let message = inner.to_string();
    let base = join(at, &path);
    if let Some(field) = missing_field(&message) {
        return missing(&join(&base, field));
    }
    let param = if base.is_empty() {
        "body".to_owned()
    } else {
        base
    };
    let detail = message
        .split(" at line ")
        .next()
        .unwrap_or(message.as_str());
    invalid_value(&param, detail)
}

/// The field name in serde's "missing field `name`" message.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        model: String,
        parts: Option<Vec<Inner>>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        text: String,
    }

    #[test]
    fn errors_name_the_field() {
        let err = body::<Outer>(b"{\"model\": 5}").unwrap_err();
        assert_eq!(err.param.as_deref(), Some("model"));
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.message,
            "Invalid value for 'model': invalid type: integer `5`, expected a string."
        );

        let err = body::<Outer>(b"{\"parts\": []}").unwrap_err();
        assert_eq!(err.param.as_deref(), Some("model"));
        assert_eq!(err.message, "Missing required parameter: 'model'.");

        let err = body::<Outer>(b"{\"model\":\"m\",\"parts\":[{\"text\":\"a\"},{}]}").unwrap_err();
        assert_eq!(err.param.as_deref(), Some("parts[1].text"));

        let err = body::<Outer>(b"{\"model\":").unwrap_err();
        assert_eq!(err.param, None);
        assert!(
            err.message
                .starts_with("The request body is not valid JSON")
        );

        let err = body::<Outer>(b"{\"model\":\"m\"} x").unwrap_err();
        assert_eq!(err.param, None);

        let err = take::<Inner>(json!({"text": [1]}), "input[3].content[0]").unwrap_err();
        assert_eq!(err.param.as_deref(), Some("input[3].content[0].text"));
        let err = take::<Inner>(json!({}), "input[3]").unwrap_err();
        assert_eq!(err.param.as_deref(), Some("input[3].text"));
        let err = take::<Inner>(json!(7), "tools[1]").unwrap_err();
        assert_eq!(err.param.as_deref(), Some("tools[1]"));
    }

    #[test]
    fn join_paths() {
        assert_eq!(join("", "model"), "model");
        assert_eq!(join("input", "[2]"), "input[2]");
        assert_eq!(join("input[2]", "content"), "input[2].content");
        assert_eq!(join("input[2]", "."), "input[2]");
        assert_eq!(join("", "."), "");
    }
}
