//! Responses `usage` ⇄ canonical [`Usage`]. Responses and the canonical model share the OpenAI
//! inclusion rules, so figures map one to one.
//!
//! | Responses | canonical |
//! |---|---|
//! | `input_tokens` (cached included) | `input_tokens` |
//! | `input_tokens_details.cached_tokens` | `cache_read_tokens` |
//! | `input_tokens_details.cache_write_tokens` (when present) | `cache_write_tokens` |
//! | `output_tokens` (reasoning included) | `output_tokens` |
//! | `output_tokens_details.reasoning_tokens` | `reasoning_tokens` |
//! | `total_tokens` | computed: input + output |
//!
//! Responses reports no search count: the decoders count the answer's `web_search_call` items.

use super::wire::{InputTokensDetailsOut, OutputTokensDetailsOut, ResponseUsage, ResponseUsageOut};
use crate::canonical::Usage;

pub fn decode(usage: &ResponseUsage) -> Usage {
    let input = usage.input_tokens_details.as_ref();
    Usage {
        input_tokens: usage.input_tokens,
        cache_read_tokens: input.and_then(|d| d.cached_tokens),
        cache_write_tokens: input.and_then(|d| d.cache_write_tokens),
        output_tokens: usage.output_tokens,
        reasoning_tokens: usage
            .output_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens),
        ..Usage::default()
    }
}

/// Every figure is written (Codex parses integers); unreported ones are 0.
pub fn encode(usage: &Usage) -> ResponseUsageOut {
    ResponseUsageOut {
        input_tokens: usage.input_tokens.unwrap_or(0),
        input_tokens_details: InputTokensDetailsOut {
            cached_tokens: usage.cache_read_tokens.unwrap_or(0),
            cache_write_tokens: usage.cache_write_tokens,
        },
        output_tokens: usage.output_tokens.unwrap_or(0),
        output_tokens_details: OutputTokensDetailsOut {
            reasoning_tokens: usage.reasoning_tokens.unwrap_or(0),
        },
        total_tokens: usage.total_tokens(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decode_and_encode() {
        let wire: ResponseUsage = serde_json::from_value(json!({
            "input_tokens": 1496, "input_tokens_details": {"cached_tokens": 1024},
            "output_tokens": 89, "output_tokens_details": {"reasoning_tokens": 64}, "total_tokens": 1585
        }))
        .unwrap();
        let usage = decode(&wire);
        assert_eq!(
            usage,
            Usage {
                input_tokens: Some(1496),
                cache_read_tokens: Some(1024),
                cache_write_tokens: None,
                output_tokens: Some(89),
                reasoning_tokens: Some(64),
                ..Usage::default()
            }
        );
        assert_eq!(
            serde_json::to_value(encode(&usage)).unwrap(),
            json!({"input_tokens": 1496, "input_tokens_details": {"cached_tokens": 1024},
                   "output_tokens": 89, "output_tokens_details": {"reasoning_tokens": 64}, "total_tokens": 1585})
        );
        let bare: ResponseUsage =
            serde_json::from_value(json!({"input_tokens": 3, "output_tokens": 1})).unwrap();
        assert_eq!(
            serde_json::to_value(encode(&decode(&bare))).unwrap(),
            json!({"input_tokens": 3, "input_tokens_details": {"cached_tokens": 0},
                   "output_tokens": 1, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 4})
        );
    }
}
