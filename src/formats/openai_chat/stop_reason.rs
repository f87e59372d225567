//! `finish_reason` ⇄ [`Finish`].

use serde_json::Value;

use crate::canonical::{Finish, FinishReason};

/// Reads an upstream's `finish_reason` (and vLLM's `stop_reason`, the stop string that matched).
/// The raw value is kept in [`Finish::raw`].
///
/// | `finish_reason` | canonical |
/// |---|---|
/// | `stop` with a string `stop_reason` (vLLM) | `StopSequence`, with the string |
/// | `stop`, `end_turn`, `eos`, anything unknown | `EndTurn` |
/// | `length`, `max_tokens` | `MaxTokens` |
/// | `tool_calls`, `function_call`, `tool_use` | `ToolUse` |
/// | `content_filter` | `ContentFilter` |
///
/// OpenAI answers `stop` to a forced tool call; [`Finish::resolved`] corrects that on the way
/// out, so it is not second-guessed here.
pub fn decode(finish_reason: &str, stop_reason: Option<&Value>) -> Finish {
    let reason = match finish_reason {
        "length" | "max_tokens" => FinishReason::MaxTokens,
        "tool_calls" | "function_call" | "tool_use" => FinishReason::ToolUse,
        "content_filter" => FinishReason::ContentFilter,
        _ => FinishReason::EndTurn,
    };
    let stop_sequence = match stop_reason {
        Some(Value::String(sequence)) if finish_reason == "stop" => Some(sequence.clone()),
        _ => None,
    };
    Finish {
        reason: if stop_sequence.is_some() {
            FinishReason::StopSequence
        } else {
            reason
        },
        stop_sequence,
        raw: Some(finish_reason.to_owned()),
    }
}

/// The `finish_reason` to tell a Chat client, from the reason already resolved against the
/// emitted tool calls ([`Finish::resolved`]).
///
/// | canonical | `finish_reason` |
/// |---|---|
/// | `EndTurn`, `StopSequence`, `PauseTurn` | `stop` |
/// | `MaxTokens`, `ContextWindowExceeded` | `length` |
/// | `ToolUse` | `tool_calls` |
/// | `ContentFilter` | `content_filter` |
pub fn encode(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::EndTurn | FinishReason::StopSequence | FinishReason::PauseTurn => "stop",
        FinishReason::MaxTokens | FinishReason::ContextWindowExceeded => "length",
        FinishReason::ToolUse => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn decode_table() {
        let table = [
            ("stop", FinishReason::EndTurn),
            ("length", FinishReason::MaxTokens),
            ("max_tokens", FinishReason::MaxTokens),
            ("tool_calls", FinishReason::ToolUse),
            ("function_call", FinishReason::ToolUse),
            ("tool_use", FinishReason::ToolUse),
            ("content_filter", FinishReason::ContentFilter),
            ("eos", FinishReason::EndTurn),
            ("insufficient_system_resource", FinishReason::EndTurn),
        ];
        for (raw, reason) in table {
            let finish = decode(raw, None);
            assert_eq!(finish.reason, reason, "{raw}");
            assert_eq!(finish.raw.as_deref(), Some(raw));
            assert_eq!(finish.stop_sequence, None);
        }
    }

    #[test]
    fn vllm_stop_string_is_a_stop_sequence() {
        let finish = decode("stop", Some(&json!("END")));
        assert_eq!(finish.reason, FinishReason::StopSequence);
        assert_eq!(finish.stop_sequence.as_deref(), Some("END"));
        // A token id is not a stop sequence.
        assert_eq!(
            decode("stop", Some(&json!(2))).reason,
            FinishReason::EndTurn
        );
        assert_eq!(
            decode("length", Some(&json!("END"))).reason,
            FinishReason::MaxTokens
        );
    }

    #[test]
    fn encode_table() {
        let table = [
            (FinishReason::EndTurn, "stop"),
            (FinishReason::StopSequence, "stop"),
            (FinishReason::PauseTurn, "stop"),
            (FinishReason::MaxTokens, "length"),
            (FinishReason::ContextWindowExceeded, "length"),
            (FinishReason::ToolUse, "tool_calls"),
            (FinishReason::ContentFilter, "content_filter"),
        ];
        for (reason, raw) in table {
            assert_eq!(encode(reason), raw, "{reason:?}");
        }
    }
}
