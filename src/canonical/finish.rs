//! Why a turn ended, normalised, with the provider's original reason kept.

/// The normalised end of a turn.
///
/// | canonical | Anthropic `stop_reason` | Chat `finish_reason` | Responses |
/// |---|---|---|---|
/// | `EndTurn` | `end_turn` | `stop` | `completed` |
/// | `StopSequence` | `stop_sequence` | `stop` | `completed` |
/// | `MaxTokens` | `max_tokens` | `length` | `incomplete` / `max_output_tokens` |
/// | `ContextWindowExceeded` | `model_context_window_exceeded` | `length` | `incomplete` / `max_output_tokens` |
/// | `ToolUse` | `tool_use` | `tool_calls` | `completed` with function calls |
/// | `ContentFilter` | `refusal` | `content_filter` | `incomplete` / `content_filter` |
/// | `PauseTurn` | `pause_turn` | `stop` | `completed` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    EndTurn,
    StopSequence,
    MaxTokens,
    ContextWindowExceeded,
    ToolUse,
    ContentFilter,
    PauseTurn,
}

/// The end of a turn: the normalised reason, the matched stop sequence if known, and the
/// provider's raw reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    pub reason: FinishReason,
    pub stop_sequence: Option<String>,
    pub raw: Option<String>,
}

impl Finish {
    pub fn new(reason: FinishReason) -> Finish {
        Finish {
            reason,
            stop_sequence: None,
            raw: None,
        }
    }

    /// The reason to report to a client, given whether tool calls were emitted in the turn.
    ///
    /// Upstreams are not trusted here: OpenAI answers `stop` to a forced tool call, and agents
    /// halt if told so. A turn that emitted tool calls reports tool use, one that emitted none
    /// never does; truncation (max tokens, context window) wins over both.
    pub fn resolved(&self, emitted_tool_calls: bool) -> FinishReason {
        match self.reason {
            FinishReason::MaxTokens | FinishReason::ContextWindowExceeded => self.reason,
            _ if emitted_tool_calls => FinishReason::ToolUse,
            FinishReason::ToolUse => FinishReason::EndTurn,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_override_and_truncation_wins() {
        assert_eq!(
            Finish::new(FinishReason::EndTurn).resolved(true),
            FinishReason::ToolUse
        );
        assert_eq!(
            Finish::new(FinishReason::ToolUse).resolved(false),
            FinishReason::EndTurn
        );
        assert_eq!(
            Finish::new(FinishReason::MaxTokens).resolved(true),
            FinishReason::MaxTokens
        );
        assert_eq!(
            Finish::new(FinishReason::ContentFilter).resolved(false),
            FinishReason::ContentFilter
        );
    }
}
