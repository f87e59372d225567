//! Anthropic beta flags (`anthropic-beta`) on their way to an upstream.
//!
//! An Anthropic upstream takes the flags its provider allows (the edge filters them through the
//! provider's `anthropic_betas` and what the upstream refused before). Another vendor takes no
//! flags at all, but a few change what the request means, so each is either carried by the
//! upstream's own means or reported as dropped; the rest (client identification, caching
//! scopes, streaming details) mean nothing there and go silently.
//!
//! | flag | elsewhere |
//! |---|---|
//! | `interleaved-thinking-*` | upstreams that keep reasoning across tool calls do it on their own: converted; others: dropped |
//! | `context-1m-*` | the context window is the model's: dropped |
//! | `context-management-*` | no server-side clearing of old tool results: dropped |

use crate::format::WireFormat;

use super::warnings::Warnings;

/// What a flag asks that another vendor may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    InterleavedThinking,
    LongContext,
    ContextManagement,
}

fn meaning(beta: &str) -> Option<Meaning> {
    if beta.starts_with("interleaved-thinking-") {
        Some(Meaning::InterleavedThinking)
    } else if beta.starts_with("context-1m-") {
        Some(Meaning::LongContext)
    } else if beta.starts_with("context-management-") {
        Some(Meaning::ContextManagement)
    } else {
        None
    }
}

/// Reports what the client's flags (`header`) become at an upstream of `upstream`'s format,
/// which takes no flags.
pub fn for_foreign_upstream(header: &str, upstream: WireFormat, warnings: &mut Warnings) {
    for beta in header.split(',').map(str::trim) {
        match meaning(beta) {
            Some(Meaning::InterleavedThinking) if upstream.spec().interleaves_reasoning() => {
                warnings.converted(format!("anthropic-beta({beta}->native)"));
            }
            Some(_) => warnings.dropped(format!("anthropic-beta({beta})")),
            None => {}
        }
    }
}

/// The flags of `header` an upstream may be sent: those `allowed` (the provider's allowlist)
/// and not `refused` (named in an earlier 400 of the upstream); the others are reported as
/// dropped. `None` when none is left.
pub fn allowed(
    header: &str,
    allowed: &[String],
    refused: &[String],
    warnings: &mut Warnings,
) -> Option<String> {
    let kept: Vec<&str> = header
        .split(',')
        .map(str::trim)
        .filter(|beta| !beta.is_empty())
        .filter(|beta| {
            let keep = allowed.iter().any(|a| a == beta) && !refused.iter().any(|r| r == beta);
            if !keep {
                warnings.dropped(format!("anthropic-beta({beta})"));
            }
            keep
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAUDE_CODE: &str = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,prompt-caching-scope-2026-01-05,context-1m-2025-08-07";

    #[test]
    fn meaningful_flags_are_carried_or_reported_and_the_rest_go_silently() {
        let mut warnings = Warnings::new();
        for_foreign_upstream(CLAUDE_CODE, WireFormat::OpenAiResponses, &mut warnings);
        assert_eq!(
            warnings.header_value().as_deref(),
            Some(
                "dropped=anthropic-beta(context-management-2025-06-27),anthropic-beta(context-1m-2025-08-07); \
                 converted=anthropic-beta(interleaved-thinking-2025-05-14->native)"
            )
        );
        let mut warnings = Warnings::new();
        for_foreign_upstream(CLAUDE_CODE, WireFormat::OpenAiChat, &mut warnings);
        let header = warnings.header_value().unwrap_or_default();
        assert!(
            header.contains("dropped=anthropic-beta(interleaved-thinking-2025-05-14)"),
            "{header}"
        );
        assert!(!header.contains("claude-code"), "{header}");
    }

    #[test]
    fn refused_flags_are_left_out_like_unlisted_ones() {
        let allow: Vec<String> = ["claude-code-20250219", "context-1m-2025-08-07"]
            .map(String::from)
            .to_vec();
        let mut warnings = Warnings::new();
        let kept = allowed(CLAUDE_CODE, &allow, &[], &mut warnings);
        assert_eq!(
            kept.as_deref(),
            Some("claude-code-20250219,context-1m-2025-08-07")
        );
        let refused = vec!["context-1m-2025-08-07".to_owned()];
        let kept = allowed(CLAUDE_CODE, &allow, &refused, &mut Warnings::new());
        assert_eq!(kept.as_deref(), Some("claude-code-20250219"));
        let header = warnings.header_value().unwrap_or_default();
        assert!(
            header.contains("anthropic-beta(prompt-caching-scope-2026-01-05)"),
            "{header}"
        );
        assert_eq!(
            allowed(
                "context-1m-2025-08-07",
                &allow,
                &refused,
                &mut Warnings::new()
            ),
            None
        );
    }
}
