//! Token usage in one set of semantics.
//!
//! Every figure is optional, so "not reported" differs from 0. Inclusion rules follow OpenAI:
//! `input_tokens` counts all prompt tokens, cached ones included, and `output_tokens` counts all
//! generated tokens, reasoning included. Anthropic's `input_tokens` excludes cache reads and
//! writes; its decoder and encoder convert (`total = input + cache_read + cache_write`).
//! Server tool calls (web searches and fetches, priced per call) are counted beside the tokens:
//! as the vendor reports them (Anthropic `server_tool_use`), or as the answer shows them
//! (Responses `web_search_call` items, Gemini search queries).

/// Token counts for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// All prompt tokens, cache reads and writes included.
    pub input_tokens: Option<u64>,
    /// Prompt tokens read from the provider's cache.
    pub cache_read_tokens: Option<u64>,
    /// Prompt tokens written to the provider's cache.
    pub cache_write_tokens: Option<u64>,
    /// Of `cache_write_tokens`, those written for an hour (Anthropic's `ephemeral_1h`, priced
    /// above the default five minutes).
    pub cache_write_1h_tokens: Option<u64>,
    /// All generated tokens, reasoning included.
    pub output_tokens: Option<u64>,
    /// Generated tokens spent on reasoning.
    pub reasoning_tokens: Option<u64>,
    /// Web searches the vendor ran for the call (billed per search).
    pub web_search_calls: Option<u64>,
    /// Web fetches the vendor ran for the call.
    pub web_fetch_calls: Option<u64>,
}

impl Usage {
    /// Prompt tokens neither read from nor written to a cache (Anthropic's `input_tokens`).
    pub fn uncached_input_tokens(&self) -> Option<u64> {
        self.input_tokens.map(|total| {
            total
                .saturating_sub(self.cache_read_tokens.unwrap_or(0))
                .saturating_sub(self.cache_write_tokens.unwrap_or(0))
        })
    }

    /// Input plus output, the figure quotas are charged in.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens
            .unwrap_or(0)
            .saturating_add(self.output_tokens.unwrap_or(0))
    }

    /// Takes every figure `newer` reports, keeping the ones it leaves out.
    pub fn merge(&mut self, newer: &Usage) {
        let take = |mine: &mut Option<u64>, theirs: Option<u64>| {
            if theirs.is_some() {
                *mine = theirs;
            }
        };
        take(&mut self.input_tokens, newer.input_tokens);
        take(&mut self.cache_read_tokens, newer.cache_read_tokens);
        take(&mut self.cache_write_tokens, newer.cache_write_tokens);
        take(&mut self.cache_write_1h_tokens, newer.cache_write_1h_tokens);
        take(&mut self.output_tokens, newer.output_tokens);
        take(&mut self.reasoning_tokens, newer.reasoning_tokens);
        take(&mut self.web_search_calls, newer.web_search_calls);
        take(&mut self.web_fetch_calls, newer.web_fetch_calls);
    }

    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncached_input_subtracts_both_cache_figures() {
        let usage = Usage {
            input_tokens: Some(1496),
            cache_read_tokens: Some(1024),
            cache_write_tokens: Some(10),
            ..Usage::default()
        };
        assert_eq!(usage.uncached_input_tokens(), Some(462));
    }

    #[test]
    fn merge_keeps_unreported_figures() {
        let mut usage = Usage {
            input_tokens: Some(5),
            output_tokens: Some(1),
            ..Usage::default()
        };
        usage.merge(&Usage {
            output_tokens: Some(9),
            ..Usage::default()
        });
        assert_eq!(usage.input_tokens, Some(5));
        assert_eq!(usage.output_tokens, Some(9));
        assert_eq!(usage.total_tokens(), 14);
    }
}
