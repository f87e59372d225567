//! The Responses terminal status ⇄ canonical finish reason, both directions in one place.

use crate::canonical::{Finish, FinishReason};

/// How a Responses upstream ended a turn that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal<'a> {
    /// `status: "completed"` (`response.completed`).
    Completed,
    /// `status: "incomplete"` with `incomplete_details.reason` (`response.incomplete`).
    Incomplete(Option<&'a str>),
}

/// Upstream terminal → canonical [`Finish`] (the raw status or reason kept in `raw`).
///
/// | Responses | canonical |
/// |---|---|
/// | `completed`, no tool calls | `EndTurn` |
/// | `completed`, with `function_call`/`custom_tool_call` items | `ToolUse` |
/// | `incomplete` / `max_output_tokens` | `MaxTokens` |
/// | `incomplete` / `content_filter` | `ContentFilter` |
/// | `incomplete` / other or missing reason | `MaxTokens` |
///
/// Responses has no "tool calls" status; the presence of call items is the signal (and
/// [`Finish::resolved`] re-derives it from the emitted blocks anyway).
pub fn decode_finish(terminal: Terminal<'_>, saw_tool_calls: bool) -> Finish {
    let (reason, raw) = match terminal {
        Terminal::Completed if saw_tool_calls => (FinishReason::ToolUse, "completed"),
        Terminal::Completed => (FinishReason::EndTurn, "completed"),
        Terminal::Incomplete(Some("content_filter")) => {
            (FinishReason::ContentFilter, "content_filter")
        }
        Terminal::Incomplete(Some(other)) => (FinishReason::MaxTokens, other),
        Terminal::Incomplete(None) => (FinishReason::MaxTokens, "incomplete"),
    };
    Finish {
        reason,
        stop_sequence: None,
        raw: Some(raw.to_owned()),
    }
}

/// What a Responses client is told: `(status, incomplete_details.reason)`.
///
/// | canonical (after [`Finish::resolved`]) | `status` | `incomplete_details.reason` |
/// |---|---|---|
/// | `EndTurn`, `StopSequence`, `ToolUse`, `PauseTurn` | `completed` | — |
/// | `MaxTokens`, `ContextWindowExceeded` | `incomplete` | `max_output_tokens` |
/// | `ContentFilter` | `incomplete` | `content_filter` |
pub fn encode_status(
    finish: &Finish,
    emitted_tool_calls: bool,
) -> (&'static str, Option<&'static str>) {
    match finish.resolved(emitted_tool_calls) {
        FinishReason::EndTurn
        | FinishReason::StopSequence
        | FinishReason::ToolUse
        | FinishReason::PauseTurn => ("completed", None),
        FinishReason::MaxTokens | FinishReason::ContextWindowExceeded => {
            ("incomplete", Some("max_output_tokens"))
        }
        FinishReason::ContentFilter => ("incomplete", Some("content_filter")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_table() {
        let cases = [
            (
                Terminal::Completed,
                false,
                FinishReason::EndTurn,
                "completed",
            ),
            (
                Terminal::Completed,
                true,
                FinishReason::ToolUse,
                "completed",
            ),
            (
                Terminal::Incomplete(Some("max_output_tokens")),
                false,
                FinishReason::MaxTokens,
                "max_output_tokens",
            ),
            (
                Terminal::Incomplete(Some("max_output_tokens")),
                true,
                FinishReason::MaxTokens,
                "max_output_tokens",
            ),
            (
                Terminal::Incomplete(Some("content_filter")),
                false,
                FinishReason::ContentFilter,
                "content_filter",
            ),
            (
                Terminal::Incomplete(Some("other")),
                false,
                FinishReason::MaxTokens,
                "other",
            ),
            (
                Terminal::Incomplete(None),
                false,
                FinishReason::MaxTokens,
                "incomplete",
            ),
        ];
        for (terminal, calls, reason, raw) in cases {
            let finish = decode_finish(terminal, calls);
            assert_eq!(finish.reason, reason, "{terminal:?}");
            assert_eq!(finish.raw.as_deref(), Some(raw), "{terminal:?}");
            assert_eq!(finish.stop_sequence, None);
        }
    }

    #[test]
    fn encode_table() {
        let cases = [
            (FinishReason::EndTurn, false, ("completed", None)),
            (FinishReason::EndTurn, true, ("completed", None)),
            (FinishReason::StopSequence, false, ("completed", None)),
            (FinishReason::ToolUse, false, ("completed", None)),
            (FinishReason::PauseTurn, false, ("completed", None)),
            (
                FinishReason::MaxTokens,
                true,
                ("incomplete", Some("max_output_tokens")),
            ),
            (
                FinishReason::ContextWindowExceeded,
                false,
                ("incomplete", Some("max_output_tokens")),
            ),
            (
                FinishReason::ContentFilter,
                false,
                ("incomplete", Some("content_filter")),
            ),
            (FinishReason::ContentFilter, true, ("completed", None)),
        ];
        for (reason, calls, expected) in cases {
            assert_eq!(
                encode_status(&Finish::new(reason), calls),
                expected,
                "{reason:?} {calls}"
            );
        }
    }
}
