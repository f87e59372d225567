//! `CompletionUsage` ⇄ [`Usage`]. Chat and canonical usage share their inclusion rules
//! (prompt tokens include cached ones, completion tokens include reasoning), so figures map one
//! to one.

use super::wire::{CompletionTokensDetails, CompletionUsage, PromptTokensDetails};
use crate::canonical::Usage;

/// Reads an upstream's usage.
///
/// | Chat | canonical |
/// |---|---|
/// | `prompt_tokens` | `input_tokens` |
/// | `prompt_tokens_details.cached_tokens`, else DeepSeek `prompt_cache_hit_tokens` | `cache_read_tokens` |
/// | `prompt_tokens_details.cache_write_tokens` | `cache_write_tokens` |
/// | `completion_tokens` | `output_tokens` |
/// | `completion_tokens_details.reasoning_tokens` | `reasoning_tokens` |
pub fn decode(usage: &CompletionUsage) -> Usage {
    let prompt_details = usage.prompt_tokens_details.unwrap_or_default();
    Usage {
        input_tokens: usage.prompt_tokens,
        cache_read_tokens: prompt_details
            .cached_tokens
            .or(usage.prompt_cache_hit_tokens),
        cache_write_tokens: prompt_details.cache_write_tokens,
        output_tokens: usage.completion_tokens,
        reasoning_tokens: usage
            .completion_tokens_details
            .and_then(|details| details.reasoning_tokens),
        ..Usage::default()
    }
}

/// Writes usage for a client: the decode table backwards, with unreported figures as 0
/// (clients read these as numbers). `cache_write_tokens` only appears when reported, and
/// `total_tokens` is input plus output.
pub fn encode(usage: &Usage) -> CompletionUsage {
    CompletionUsage {
        prompt_tokens: Some(usage.input_tokens.unwrap_or(0)),
        completion_tokens: Some(usage.output_tokens.unwrap_or(0)),
        total_tokens: Some(usage.total_tokens()),
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: Some(usage.cache_read_tokens.unwrap_or(0)),
            cache_write_tokens: usage.cache_write_tokens,
        }),
        completion_tokens_details: Some(CompletionTokensDetails {
            reasoning_tokens: Some(usage.reasoning_tokens.unwrap_or(0)),
        }),
        prompt_cache_hit_tokens: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: serde_json::Value) -> CompletionUsage {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn decode_openai_usage_with_cache_and_reasoning() {
        let usage = parse(
            json!({"prompt_tokens":1496,"completion_tokens":89,"total_tokens":1585,
            "prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},
            "completion_tokens_details":{"reasoning_tokens":64,"audio_tokens":0}}),
        );
        assert_eq!(
            decode(&usage),
            Usage {
                input_tokens: Some(1496),
                cache_read_tokens: Some(1024),
                cache_write_tokens: None,
                output_tokens: Some(89),
                reasoning_tokens: Some(64),
                ..Usage::default()
            }
        );
    }

    #[test]
    fn decode_minimal_deepseek_and_cache_write_usage() {
        assert_eq!(
            decode(&parse(
                json!({"prompt_tokens":10,"completion_tokens":2,"total_tokens":12})
            )),
            Usage {
                input_tokens: Some(10),
                output_tokens: Some(2),
                ..Usage::default()
            }
        );
        let deepseek = parse(
            json!({"prompt_tokens":100,"completion_tokens":5,"total_tokens":105,
            "prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36}),
        );
        assert_eq!(decode(&deepseek).cache_read_tokens, Some(64));
        let openrouter = parse(
            json!({"prompt_tokens":100,"completion_tokens":5,"total_tokens":105,
            "prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":90}}),
        );
        assert_eq!(decode(&openrouter).cache_read_tokens, Some(0));
        assert_eq!(decode(&openrouter).cache_write_tokens, Some(90));
    }

    #[test]
    fn encode_fills_every_figure() {
        let usage = Usage {
            input_tokens: Some(1496),
            cache_read_tokens: Some(1024),
            output_tokens: Some(89),
            ..Usage::default()
        };
        assert_eq!(
            serde_json::to_value(encode(&usage)).unwrap(),
            json!({"prompt_tokens":1496,"completion_tokens":89,"total_tokens":1585,
                "prompt_tokens_details":{"cached_tokens":1024},
                "completion_tokens_details":{"reasoning_tokens":0}})
        );
        let with_write = Usage {
            cache_write_tokens: Some(7),
            ..Usage::default()
        };
        assert_eq!(
            serde_json::to_value(encode(&with_write)).unwrap(),
            json!({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,
                "prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":7},
                "completion_tokens_details":{"reasoning_tokens":0}})
        );
    }
}
