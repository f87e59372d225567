//! `usageMetadata` ⇄ canonical [`Usage`].
//!
//! | canonical | from Gemini | to a Gemini client |
//! |---|---|---|
//! | input (cache included) | `promptTokenCount + toolUsePromptTokenCount` | `promptTokenCount` |
//! | cache read | `cachedContentTokenCount` (already inside `promptTokenCount`) | same |
//! | cache write | — (Gemini reports none) | — (stays inside `promptTokenCount`) |
//! | output (reasoning included) | `candidatesTokenCount + thoughtsTokenCount` | `candidatesTokenCount` = output − reasoning |
//! | reasoning | `thoughtsTokenCount` (outside `candidatesTokenCount`, billed as output) | `thoughtsTokenCount` |
//! | — | `totalTokenCount` (their sum) | input + output |
//!
//! Streams report running totals on every chunk: the latest replaces the earlier ones.

use super::wire::{read, write};
use crate::canonical::Usage;

/// The sum of the figures that were reported (`None` when none was).
fn sum(figures: [Option<u64>; 2]) -> Option<u64> {
    figures.into_iter().flatten().reduce(u64::saturating_add)
}

pub fn decode(usage: &read::UsageMetadata) -> Usage {
    Usage {
        input_tokens: sum([usage.prompt_token_count, usage.tool_use_prompt_token_count]),
        cache_read_tokens: usage.cached_content_token_count,
        cache_write_tokens: None,
        output_tokens: sum([usage.candidates_token_count, usage.thoughts_token_count]),
        reasoning_tokens: usage.thoughts_token_count,
        ..Usage::default()
    }
}

pub fn encode(usage: &Usage) -> write::UsageMetadata {
    let reasoning = usage.reasoning_tokens.filter(|tokens| *tokens > 0);
    let candidates = usage
        .output_tokens
        .map(|output| output.saturating_sub(reasoning.unwrap_or(0)));
    let total = (usage.input_tokens.is_some() || usage.output_tokens.is_some())
        .then(|| usage.total_tokens());
    write::UsageMetadata {
        prompt_token_count: usage.input_tokens,
        cached_content_token_count: usage.cache_read_tokens.filter(|tokens| *tokens > 0),
        candidates_token_count: candidates,
        thoughts_token_count: reasoning,
        total_token_count: total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thoughts_are_output_and_cache_is_inside_the_prompt() {
        let usage = decode(&read::UsageMetadata {
            prompt_token_count: Some(1200),
            cached_content_token_count: Some(1024),
            candidates_token_count: Some(25),
            thoughts_token_count: Some(180),
            tool_use_prompt_token_count: Some(10),
            total_token_count: Some(1415),
        });
        assert_eq!(
            usage,
            Usage {
                input_tokens: Some(1210),
                cache_read_tokens: Some(1024),
                cache_write_tokens: None,
                output_tokens: Some(205),
                reasoning_tokens: Some(180),
                ..Usage::default()
            }
        );
        assert_eq!(usage.total_tokens(), 1415);
        assert_eq!(
            encode(&usage),
            write::UsageMetadata {
                prompt_token_count: Some(1210),
                cached_content_token_count: Some(1024),
                candidates_token_count: Some(25),
                thoughts_token_count: Some(180),
                total_token_count: Some(1415),
            }
        );
    }

    #[test]
    fn unreported_figures_stay_unreported() {
        let first_chunk = decode(&read::UsageMetadata {
            prompt_token_count: Some(40),
            ..read::UsageMetadata::default()
        });
        assert_eq!(first_chunk.input_tokens, Some(40));
        assert_eq!(first_chunk.output_tokens, None);
        assert_eq!(encode(&Usage::default()), write::UsageMetadata::default());
        // Anthropic's split figures: cache writes stay inside the prompt.
        let anthropic = Usage {
            input_tokens: Some(1496),
            cache_read_tokens: Some(1024),
            cache_write_tokens: Some(12),
            output_tokens: Some(89),
            reasoning_tokens: None,
            ..Usage::default()
        };
        let encoded = encode(&anthropic);
        assert_eq!(encoded.prompt_token_count, Some(1496));
        assert_eq!(encoded.candidates_token_count, Some(89));
        assert_eq!(encoded.thoughts_token_count, None);
        assert_eq!(encoded.total_token_count, Some(1585));
    }
}
