//! Remote compaction (Codex's `POST /responses/compact`) on any model: the gateway asks the
//! model itself for a summary of the conversation, and the client gets back the history in
//! compacted form: the user's own messages, then one compaction item holding the summary.
//!
//! The summary travels in the compaction item's `encrypted_content` as a gateway envelope
//! ([`Vendor::Gateway`], see `canonical::reasoning`), and becomes a user message again when
//! the item comes back in a later request. It is not encrypted: it is the caller's own
//! conversation, and a caller who forges one only writes their own prompt.

use crate::canonical::{ChatRequest, Message, Opaque, Part, Role, ToolChoice, Vendor};

/// What the model is asked once the conversation has been sent.
const INSTRUCTION: &str = "Your context window is about to be compacted. Write a summary of this \
conversation so far that lets you continue the work without it: the user's goals and \
constraints, what has been done (files changed, commands run, results), decisions made and why, \
open problems, and the next steps. Be specific and complete; write only the summary.";

/// The envelope's marker that its text is a compaction summary.
const MARKER: &str = "compaction";

/// How the summary reads when it comes back into a conversation.
const SUMMARY_HEADING: &str = "Summary of the conversation so far (compacted):";

/// The most user-message text a compacted history keeps, newest first (the summary carries
/// the rest).
const MAX_KEPT_BYTES: usize = 64 * 1024;

/// Turns `request` into the request for a summary, and returns the user messages (their text)
/// the compacted history keeps. The tools stay (so the prompt's cached prefix is reused) but
/// none may be called.
pub fn prepare(request: &mut ChatRequest) -> Vec<String> {
    let mut kept = Vec::new();
    let mut budget = MAX_KEPT_BYTES;
    for message in request.messages.iter().rev() {
        if message.role != Role::User {
            continue;
        }
        let text = message.text("\n");
        if text.is_empty() || text.starts_with(SUMMARY_HEADING) {
            continue;
        }
        if text.len() > budget {
            break;
        }
        budget -= text.len();
        kept.push(text);
    }
    kept.reverse();
    request.messages.push(Message {
        role: Role::User,
        parts: vec![Part::Text(INSTRUCTION.to_owned())],
    });
    request.stream = false;
    if !request.tools.is_empty() {
        request.tool_choice = Some(ToolChoice::None);
    }
    kept
}

/// The compaction item's `encrypted_content` for `summary`.
pub fn seal(summary: &str) -> String {
    Opaque {
        vendor: Vendor::Gateway,
        data: MARKER.to_owned(),
    }
    .to_client(None, Some(summary))
}

/// The user message a compaction item the gateway made stands for; `None` for another's
/// (OpenAI's own compaction blobs).
pub fn unseal(encrypted_content: &str) -> Option<Message> {
    let (opaque, text) = Opaque::from_client(encrypted_content, None)?;
    if opaque.vendor != Vendor::Gateway || opaque.data != MARKER {
        return None;
    }
    Some(Message {
        role: Role::User,
        parts: vec![Part::Text(format!(
            "{SUMMARY_HEADING}\n\n{}",
            text.unwrap_or_default()
        ))],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Message {
        Message {
            role: Role::User,
            parts: vec![Part::Text(text.into())],
        }
    }

    #[test]
    fn the_request_asks_for_a_summary_and_keeps_the_users_messages() {
        let mut request = ChatRequest {
            messages: vec![
                user("Fix the build"),
                Message {
                    role: Role::Assistant,
                    parts: vec![Part::Text("Done.".into())],
                },
                user("Now the tests"),
            ],
            stream: true,
            tools: vec![crate::canonical::Tool::Custom {
                name: "apply_patch".into(),
                description: None,
                format: None,
            }],
            ..ChatRequest::default()
        };
        let kept = prepare(&mut request);
        assert_eq!(kept, ["Fix the build", "Now the tests"]);
        assert!(!request.stream);
        assert_eq!(request.tool_choice, Some(ToolChoice::None));
        let last = request.messages.last().unwrap();
        assert_eq!(last.parts, [Part::Text(INSTRUCTION.to_owned())]);
    }

    #[test]
    fn a_sealed_summary_comes_back_as_a_user_message_and_nothing_else_does() {
        let sealed = seal("We fixed the build.");
        assert!(sealed.starts_with("toc1."));
        let message = unseal(&sealed).unwrap();
        assert_eq!(message.role, Role::User);
        assert_eq!(
            message.parts,
            [Part::Text(format!(
                "{SUMMARY_HEADING}\n\nWe fixed the build."
            ))]
        );
        assert_eq!(unseal("gAAAAABopenai-compaction"), None);
        let reasoning = Opaque {
            vendor: Vendor::Gateway,
            data: "other".into(),
        }
        .to_client(None, Some("x"));
        assert_eq!(unseal(&reasoning), None);
    }
}
