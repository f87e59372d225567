//! Gemini `finishReason` (and `promptFeedback.blockReason`) ⇄ canonical [`Finish`].
//!
//! | Gemini | canonical |
//! |---|---|
//! | `STOP` (also after function calls: Gemini has no tool-use reason) | `EndTurn` (`ToolUse` once calls are seen, see [`Finish::resolved`]) |
//! | `MAX_TOKENS`, `CONTINUATION` | `MaxTokens` |
//! | `SAFETY`, `RECITATION`, `LANGUAGE`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII`, `IMAGE_*`, a blocked prompt | `ContentFilter` |
//! | `MALFORMED_FUNCTION_CALL`, `UNEXPECTED_TOOL_CALL`, `TOO_MANY_TOOL_CALLS`, `OTHER`, `NO_IMAGE`, unknown | `EndTurn`, raw kept |
//!
//! To Gemini clients: `MaxTokens` and `ContextWindowExceeded` are `MAX_TOKENS`,
//! `ContentFilter` is `SAFETY` (or the upstream's own Gemini reason), everything else `STOP`.

use crate::canonical::{Finish, FinishReason};

/// The end of an answer: its `finishReason`, or the prompt's `blockReason` when Gemini refused
/// the prompt itself (an answer without candidates).
pub fn decode(finish_reason: Option<&str>, block_reason: Option<&str>) -> Finish {
    if finish_reason.is_none()
        && let Some(blocked) = block_reason
    {
        return Finish {
            reason: FinishReason::ContentFilter,
            stop_sequence: None,
            raw: Some(blocked.to_owned()),
        };
    }
    let raw = finish_reason.unwrap_or("STOP");
    Finish {
        reason: reason_of(raw),
        stop_sequence: None,
        raw: Some(raw.to_owned()),
    }
}

fn reason_of(raw: &str) -> FinishReason {
    match raw {
        "MAX_TOKENS" | "CONTINUATION" => FinishReason::MaxTokens,
        "SAFETY" | "RECITATION" | "LANGUAGE" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" => {
            FinishReason::ContentFilter
        }
        image if image.starts_with("IMAGE_") => FinishReason::ContentFilter,
        _ => FinishReason::EndTurn,
    }
}

/// The `finishReason` a Gemini client gets; a Gemini reason from the upstream is kept when it
/// means the same.
pub fn for_client(finish: &Finish, emitted_tool_calls: bool) -> &str {
    let reason = finish.resolved(emitted_tool_calls);
    if let Some(raw) = finish.raw.as_deref()
        && is_gemini_reason(raw)
        && reason_of(raw) == reason
    {
        return raw;
    }
    match reason {
        FinishReason::MaxTokens | FinishReason::ContextWindowExceeded => "MAX_TOKENS",
        FinishReason::ContentFilter => "SAFETY",
        FinishReason::EndTurn
        | FinishReason::StopSequence
        | FinishReason::ToolUse
        | FinishReason::PauseTurn => "STOP",
    }
}

fn is_gemini_reason(raw: &str) -> bool {
    !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        for (raw, reason) in [
            ("STOP", FinishReason::EndTurn),
            ("MAX_TOKENS", FinishReason::MaxTokens),
            ("SAFETY", FinishReason::ContentFilter),
            ("RECITATION", FinishReason::ContentFilter),
            ("IMAGE_SAFETY", FinishReason::ContentFilter),
            ("MALFORMED_FUNCTION_CALL", FinishReason::EndTurn),
            ("OTHER", FinishReason::EndTurn),
            ("SOMETHING_NEW", FinishReason::EndTurn),
        ] {
            let finish = decode(Some(raw), None);
            assert_eq!(finish.reason, reason, "{raw}");
            assert_eq!(finish.raw.as_deref(), Some(raw));
        }
        let blocked = decode(None, Some("PROHIBITED_CONTENT"));
        assert_eq!(blocked.reason, FinishReason::ContentFilter);
        assert_eq!(for_client(&blocked, false), "PROHIBITED_CONTENT");
    }

    #[test]
    fn clients_get_gemini_reasons() {
        assert_eq!(for_client(&decode(Some("STOP"), None), true), "STOP");
        assert_eq!(
            for_client(&decode(Some("RECITATION"), None), false),
            "RECITATION"
        );
        assert_eq!(
            for_client(&Finish::new(FinishReason::ContextWindowExceeded), false),
            "MAX_TOKENS"
        );
        let refusal = Finish {
            reason: FinishReason::ContentFilter,
            stop_sequence: None,
            raw: Some("refusal".into()),
        };
        assert_eq!(for_client(&refusal, false), "SAFETY");
        assert_eq!(
            for_client(&Finish::new(FinishReason::ToolUse), true),
            "STOP"
        );
    }
}
