//! The `stop_reason` table, both ways.

use crate::canonical::{Finish, FinishReason};

/// An upstream's `stop_reason` (and matched `stop_sequence`) as a canonical [`Finish`].
///
/// | `stop_reason` | canonical |
/// |---|---|
/// | `end_turn` | `EndTurn` |
/// | `stop_sequence` | `StopSequence` |
/// | `max_tokens` | `MaxTokens` |
/// | `model_context_window_exceeded` | `ContextWindowExceeded` |
/// | `tool_use` | `ToolUse` |
/// | `refusal` | `ContentFilter` |
/// | `pause_turn` | `PauseTurn` |
/// | missing or unknown | `EndTurn` (the raw value is kept) |
pub fn decode(stop_reason: Option<String>, stop_sequence: Option<String>) -> Finish {
    let reason = match stop_reason.as_deref() {
        Some("stop_sequence") => FinishReason::StopSequence,
        Some("max_tokens") => FinishReason::MaxTokens,
        Some("model_context_window_exceeded") => FinishReason::ContextWindowExceeded,
        Some("tool_use") => FinishReason::ToolUse,
        Some("refusal") => FinishReason::ContentFilter,
        Some("pause_turn") => FinishReason::PauseTurn,
        Some(_) | None => FinishReason::EndTurn,
    };
    Finish {
        reason,
        stop_sequence,
        raw: stop_reason,
    }
}

/// The `stop_reason` to tell a client, for an already resolved reason
/// ([`Finish::resolved`]).
///
/// | canonical | `stop_reason` |
/// |---|---|
/// | `EndTurn` | `end_turn` |
/// | `StopSequence` | `stop_sequence` |
/// | `MaxTokens` | `max_tokens` |
/// | `ContextWindowExceeded` | `model_context_window_exceeded` |
/// | `ToolUse` | `tool_use` |
/// | `ContentFilter` | `refusal` |
/// | `PauseTurn` | `pause_turn` |
pub fn encode(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::EndTurn => "end_turn",
        FinishReason::StopSequence => "stop_sequence",
        FinishReason::MaxTokens => "max_tokens",
        FinishReason::ContextWindowExceeded => "model_context_window_exceeded",
        FinishReason::ToolUse => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::PauseTurn => "pause_turn",
    }
}

/// The `stop_reason` and `stop_sequence` a client sees for `finish`. The matched sequence is
/// only reported with `stop_sequence`, as Anthropic does.
pub fn for_client(finish: &Finish, emitted_tool_calls: bool) -> (&'static str, Option<&str>) {
    let reason = finish.resolved(emitted_tool_calls);
    let sequence = match reason {
        FinishReason::StopSequence => finish.stop_sequence.as_deref(),
        FinishReason::EndTurn
        | FinishReason::MaxTokens
        | FinishReason::ContextWindowExceeded
        | FinishReason::ToolUse
        | FinishReason::ContentFilter
        | FinishReason::PauseTurn => None,
    };
    (encode(reason), sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_round_trips() {
        for (wire, reason) in [
            ("end_turn", FinishReason::EndTurn),
            ("stop_sequence", FinishReason::StopSequence),
            ("max_tokens", FinishReason::MaxTokens),
            (
                "model_context_window_exceeded",
                FinishReason::ContextWindowExceeded,
            ),
            ("tool_use", FinishReason::ToolUse),
            ("refusal", FinishReason::ContentFilter),
            ("pause_turn", FinishReason::PauseTurn),
        ] {
            let finish = decode(Some(wire.to_owned()), None);
            assert_eq!(finish.reason, reason, "{wire}");
            assert_eq!(finish.raw.as_deref(), Some(wire));
            assert_eq!(encode(reason), wire);
        }
    }

    #[test]
    fn unknown_and_missing_reasons_end_the_turn() {
        let finish = decode(Some("something_new".into()), None);
        assert_eq!(finish.reason, FinishReason::EndTurn);
        assert_eq!(finish.raw.as_deref(), Some("something_new"));
        assert_eq!(decode(None, None), Finish::new(FinishReason::EndTurn));
    }

    #[test]
    fn client_reason_follows_emitted_tool_calls() {
        let stop = decode(Some("stop_sequence".into()), Some("###".into()));
        assert_eq!(for_client(&stop, false), ("stop_sequence", Some("###")));
        assert_eq!(for_client(&stop, true), ("tool_use", None));
        let tool_use = decode(Some("tool_use".into()), None);
        assert_eq!(for_client(&tool_use, false), ("end_turn", None));
    }
}
