//! A bound on what a request body costs once parsed, checked before it is parsed.
//!
//! A body within the size limit can still cost far more memory as a parsed tree: ten megabytes
//! of `[1,1,1,...]` are five million values, hundreds of megabytes as `serde_json::Value`s, in
//! an isolate that has 128 MB for every request it serves. [`check`] walks the raw bytes once
//! (no allocation) and refuses a body with more values, or deeper nesting, than the gateway
//! allows, so no parser ever sees it. It does not validate JSON; the parsers do that.

use crate::error::{ApiError, ErrorKind};

/// What a body may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Values of any kind (object keys included).
    pub max_values: u64,
    /// Nesting of arrays and objects.
    pub max_depth: u64,
}

/// Refuses `body` if it holds more values, or deeper nesting, than `limits` allow: 413 for too
/// many values, 400 for nesting.
pub fn check(body: &[u8], limits: JsonLimits) -> Result<(), ApiError> {
    let mut values: u64 = 0;
    let mut depth: u64 = 0;
    let mut in_string = false;
    let mut escaped = false;
    // A value may start here (after `[`, `:`, `,` or at the top); a bare token (number, true,
    // false, null) counts once, at its first byte.
    let mut value_may_start = true;
    for &byte in body {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => continue,
            b'"' => {
                in_string = true;
                values += 1;
            }
            b'{' | b'[' => {
                values += 1;
                depth += 1;
                if depth > limits.max_depth {
                    return Err(ApiError::invalid(format!(
                        "The request body nests arrays and objects more than {} levels deep.",
                        limits.max_depth
                    )));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b':' | b',' => {}
            _ if value_may_start => values += 1,
            _ => {}
        }
        value_may_start = matches!(byte, b'[' | b':' | b',');
        if values > limits.max_values {
            return Err(ApiError::new(
                ErrorKind::RequestTooLarge,
                format!(
                    "The request body holds more than {} JSON values, this gateway's limit.",
                    limits.max_values
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: JsonLimits = JsonLimits {
        max_values: 10,
        max_depth: 3,
    };

    fn count(body: &str) -> u64 {
        let huge = JsonLimits {
            max_values: u64::MAX,
            max_depth: u64::MAX,
        };
        assert!(check(body.as_bytes(), huge).is_ok());
        (0..=100)
            .find(|&max_values| {
                check(
                    body.as_bytes(),
                    JsonLimits {
                        max_values,
                        max_depth: u64::MAX,
                    },
                )
                .is_ok()
            })
            .unwrap()
    }

    #[test]
    fn counts_every_value_and_key_once() {
        assert_eq!(count("1"), 1);
        assert_eq!(count("[1, 22, -3.5e7, true, null]"), 6);
        assert_eq!(count(r#"{"a": "x, [y] {z}", "b": [ {"c": false} ]}"#), 8);
        assert_eq!(count(r#""an \" escaped quote, and [brackets]""#), 1);
        assert_eq!(count(r#"["\\", "b"]"#), 3);
    }

    #[test]
    fn refuses_many_small_values_with_413_and_deep_nesting_with_400() {
        let many = format!("{{\"model\":\"m\",\"junk\":[{}1]}}", "1,".repeat(20));
        let error = check(many.as_bytes(), LIMITS).unwrap_err();
        assert_eq!(error.status(), 413);
        let deep = format!("{}{}", "[".repeat(4), "]".repeat(4));
        assert_eq!(check(deep.as_bytes(), LIMITS).unwrap_err().status(), 400);
        assert!(check(b"[[[1]]]", LIMITS).is_ok());
        // Brackets inside strings are not nesting.
        assert!(check(br#"["[[[[[[[["]"#, LIMITS).is_ok());
    }

    #[test]
    fn never_panics_on_garbage() {
        for body in [
            &b""[..],
            b"]]]]",
            b"\"\\",
            b"{\"a\":",
            &[0xff, 0xfe, b'"', b'\\'],
        ] {
            let _ = check(body, LIMITS);
        }
    }
}
