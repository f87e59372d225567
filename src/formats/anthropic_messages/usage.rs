//! The usage table, both ways. Anthropic's `input_tokens` excludes cache reads and writes; the
//! canonical `input_tokens` includes them.

use super::wire::{read, write};
use crate::canonical::Usage;

/// Upstream usage (merged over the stream) as canonical usage.
///
/// | Anthropic | canonical |
/// |---|---|
/// | `input_tokens + cache_read_input_tokens + cache_creation_input_tokens` | `input_tokens` (only when `input_tokens` is reported) |
/// | `cache_read_input_tokens` | `cache_read_tokens` |
/// | `cache_creation_input_tokens` | `cache_write_tokens` |
/// | `output_tokens` | `output_tokens` |
/// | `output_tokens_details.thinking_tokens` | `reasoning_tokens` |
/// | `cache_creation.ephemeral_1h_input_tokens` | `cache_write_1h_tokens` |
/// | `server_tool_use.web_search_requests`, `.web_fetch_requests` | `web_search_calls`, `web_fetch_calls` |
pub fn decode(usage: &read::Usage) -> Usage {
    let cache_read = usage.cache_read_input_tokens;
    let cache_write = usage.cache_creation_input_tokens;
    let tools = usage.server_tool_use.unwrap_or_default();
    Usage {
        input_tokens: usage.input_tokens.map(|uncached| {
            uncached
                .saturating_add(cache_read.unwrap_or(0))
                .saturating_add(cache_write.unwrap_or(0))
        }),
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        output_tokens: usage.output_tokens,
        reasoning_tokens: usage.output_tokens_details.and_then(|d| d.thinking_tokens),
        // These parts are kept only when they count something: every answer carries them,
        // mostly as zeros, and a zero changes no charge.
        cache_write_1h_tokens: usage
            .cache_creation
            .and_then(|split| split.ephemeral_1h_input_tokens)
            .filter(|tokens| *tokens > 0),
        web_search_calls: tools.web_search_requests.filter(|calls| *calls > 0),
        web_fetch_calls: tools.web_fetch_requests.filter(|calls| *calls > 0),
    }
}

/// Takes every figure `newer` reports, keeping the ones it leaves out (`message_delta.usage` is
/// cumulative but may leave out the input figures).
pub fn merge(mine: &mut read::Usage, newer: &read::Usage) {
    let take = |mine: &mut Option<u64>, theirs: Option<u64>| {
        if theirs.is_some() {
            *mine = theirs;
        }
    };
    take(&mut mine.input_tokens, newer.input_tokens);
    take(
        &mut mine.cache_creation_input_tokens,
        newer.cache_creation_input_tokens,
    );
    take(
        &mut mine.cache_read_input_tokens,
        newer.cache_read_input_tokens,
    );
    take(&mut mine.output_tokens, newer.output_tokens);
    if let Some(details) = newer.output_tokens_details {
        let mut merged = mine.output_tokens_details.unwrap_or_default();
        take(&mut merged.thinking_tokens, details.thinking_tokens);
        mine.output_tokens_details = Some(merged);
    }
    if let Some(split) = newer.cache_creation {
        let mut merged = mine.cache_creation.unwrap_or_default();
        take(
            &mut merged.ephemeral_5m_input_tokens,
            split.ephemeral_5m_input_tokens,
        );
        take(
            &mut merged.ephemeral_1h_input_tokens,
            split.ephemeral_1h_input_tokens,
        );
        mine.cache_creation = Some(merged);
    }
    if let Some(tools) = newer.server_tool_use {
        let mut merged = mine.server_tool_use.unwrap_or_default();
        take(&mut merged.web_search_requests, tools.web_search_requests);
        take(&mut merged.web_fetch_requests, tools.web_fetch_requests);
        mine.server_tool_use = Some(merged);
    }
}

/// Canonical usage as a client sees it. Figures not reported are sent as 0, as Anthropic
/// always sends numbers.
///
/// | canonical | Anthropic |
/// |---|---|
/// | `input_tokens − cache_read − cache_write` | `input_tokens` |
/// | `cache_write_tokens` | `cache_creation_input_tokens` |
/// | `cache_read_tokens` | `cache_read_input_tokens` |
/// | `output_tokens` | `output_tokens` |
/// | `web_search_calls`, `web_fetch_calls` | `server_tool_use` (when either is known) |
pub fn encode(usage: &Usage) -> write::Usage {
    let server_tool_use = (usage.web_search_calls.is_some() || usage.web_fetch_calls.is_some())
        .then(|| write::ServerToolUse {
            web_search_requests: usage.web_search_calls.unwrap_or(0),
            web_fetch_requests: usage.web_fetch_calls.unwrap_or(0),
        });
    write::Usage {
        input_tokens: usage.uncached_input_tokens().unwrap_or(0),
        cache_creation_input_tokens: usage.cache_write_tokens.unwrap_or(0),
        cache_read_input_tokens: usage.cache_read_tokens.unwrap_or(0),
        output_tokens: usage.output_tokens.unwrap_or(0),
        server_tool_use,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(input: u64, cache_write: u64, cache_read: u64, output: u64) -> read::Usage {
        read::Usage {
            input_tokens: Some(input),
            cache_creation_input_tokens: Some(cache_write),
            cache_read_input_tokens: Some(cache_read),
            output_tokens: Some(output),
            ..read::Usage::default()
        }
    }

    #[test]
    fn total_input_includes_both_cache_figures_and_back() {
        let usage = decode(&wire(472, 10, 1024, 89));
        assert_eq!(
            usage,
            Usage {
                input_tokens: Some(1506),
                cache_read_tokens: Some(1024),
                cache_write_tokens: Some(10),
                output_tokens: Some(89),
                reasoning_tokens: None,
                ..Usage::default()
            }
        );
        assert_eq!(
            encode(&usage),
            write::Usage {
                input_tokens: 472,
                cache_creation_input_tokens: 10,
                cache_read_input_tokens: 1024,
                output_tokens: 89,
                server_tool_use: None,
            }
        );
    }

    #[test]
    fn unreported_figures_stay_unreported_and_encode_as_zero() {
        let usage = decode(&read::Usage {
            output_tokens: Some(5),
            output_tokens_details: Some(read::OutputTokensDetails {
                thinking_tokens: Some(3),
            }),
            ..read::Usage::default()
        });
        assert_eq!(usage.input_tokens, None);
        assert_eq!(usage.cache_read_tokens, None);
        assert_eq!(usage.reasoning_tokens, Some(3));
        assert_eq!(encode(&usage).input_tokens, 0);
    }

    #[test]
    fn merge_keeps_input_figures_a_delta_leaves_out() {
        let mut merged = wire(472, 0, 1024, 1);
        merge(
            &mut merged,
            &read::Usage {
                output_tokens: Some(89),
                ..read::Usage::default()
            },
        );
        assert_eq!(merged, wire(472, 0, 1024, 89));
    }
}
