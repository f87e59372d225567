//! A conversation's identity across its turns, for prompt caches.
//!
//! Caches are per vendor account and per prefix: a long session stays cheap only if every turn
//! reaches the same upstream key and, at OpenAI, the same cache machine. Nothing in a request
//! names its conversation in every format, so the gateway derives one from what stays the same
//! on every turn: the system prompt, the tools' names and the first user message. Hashed with
//! the caller's key id, it gives
//!
//! - the `prompt_cache_key` sent to upstreams that take one, when the client sent none (an
//!   Anthropic client's request to an OpenAI model): stable per conversation, at most 64
//!   characters, and distinct per key, so two keys never share a cache routing key;
//! - the seed of the request's route and key order, so a conversation starts at the same pool
//!   key every turn while that key is healthy (failover still moves it when it must).

use sha2::{Digest, Sha256};

use crate::canonical::{ChatRequest, Part, Role};

/// What identifies a conversation for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    digest: [u8; 32],
}

impl Session {
    /// The session of `request` sent with the key whose id is `key_id`.
    pub fn of(key_id: &str, request: &ChatRequest) -> Session {
        let mut hash = Sha256::new();
        let mut field = |bytes: &[u8]| {
            // Length-prefixed, so no two different requests hash the same bytes.
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        field(key_id.as_bytes());
        for system in &request.system {
            field(system.as_bytes());
        }
        for tool in &request.tools {
            field(tool.name().as_bytes());
        }
        let first_user = request
            .messages
            .iter()
            .find(|message| message.role == Role::User);
        for part in first_user.iter().flat_map(|message| message.parts.iter()) {
            if let Part::Text(text) = part {
                field(text.as_bytes());
            }
        }
        Session {
            digest: hash.finalize().into(),
        }
    }

    /// A `prompt_cache_key` for the conversation: `toc_` and 40 hex digits.
    pub fn prompt_cache_key(&self) -> String {
        let mut key = String::with_capacity(44);
        key.push_str("toc_");
        for byte in self.digest.iter().take(20) {
            key.push_str(&format!("{byte:02x}"));
        }
        key
    }

    /// The seed of the conversation's route and key order.
    pub fn seed(&self) -> u64 {
        let mut bytes = [0u8; 8];
        for (slot, byte) in bytes.iter_mut().zip(self.digest.iter().skip(24)) {
            *slot = *byte;
        }
        u64::from_le_bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::Message;

    fn turn(role: Role, text: &str) -> Message {
        Message {
            role,
            parts: vec![Part::Text(text.into())],
        }
    }

    fn conversation(turns: usize) -> ChatRequest {
        let mut messages = vec![turn(Role::User, "Fix the failing test in src/lib.rs")];
        for i in 0..turns {
            messages.push(turn(Role::Assistant, &format!("step {i}")));
            messages.push(turn(Role::User, &format!("result {i}")));
        }
        ChatRequest {
            model: "m".into(),
            system: vec!["You are a coding agent.".into()],
            messages,
            ..ChatRequest::default()
        }
    }

    #[test]
    fn every_turn_of_a_conversation_is_one_session() {
        let first = Session::of("key_1", &conversation(0));
        let later = Session::of("key_1", &conversation(12));
        assert_eq!(first, later);
        assert_eq!(first.prompt_cache_key(), later.prompt_cache_key());
        assert_eq!(first.seed(), later.seed());
        let key = first.prompt_cache_key();
        assert!(key.starts_with("toc_") && key.len() == 44, "{key}");
    }

    #[test]
    fn another_key_or_conversation_is_another_session() {
        let session = Session::of("key_1", &conversation(3));
        assert_ne!(session, Session::of("key_2", &conversation(3)));
        let mut other = conversation(3);
        other.messages[0] = turn(Role::User, "Write a README");
        assert_ne!(session, Session::of("key_1", &other));
        let mut attributed = conversation(3);
        attributed.attribution = Some("x-anthropic-billing-header: cch=9;".into());
        assert_eq!(
            session,
            Session::of("key_1", &attributed),
            "the attribution block is no part of the conversation"
        );
    }
}
