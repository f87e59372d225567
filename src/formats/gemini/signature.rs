//! Thought signatures and function call ids: the two pieces of Gemini state that must come
//! back exactly where they were.
//!
//! **Signatures.** Gemini puts a `thoughtSignature` on a part: on the first `functionCall` of a
//! step, on the last text part of an answer without calls, or on a thought part. It must be
//! sent back on the same kind of part (a call's signature on another part is a 400 on Gemini
//! 3). Other formats' decoders reorder reasoning (Responses puts it first in a turn, Anthropic
//! before text), so the part kind travels inside the state itself:
//!
//! ```text
//! Opaque { vendor: Google, data: "<slot>:<signature>" }     slot = call | text | thought
//! ```
//!
//! Only this module writes and reads the slot: a Gemini client gets the bare signature, other
//! clients the whole data inside the gateway envelope. Signatures are base64, so the `:` can
//! never be part of one.
//!
//! Another vendor's state reaches Gemini clients as an envelope in `thoughtSignature` (on the
//! part after the reasoning it belongs to); Anthropic's redacted blocks are marked inside the
//! envelope's data as Responses clients mark them (`redacted:` before the data).
//!
//! **Call ids.** Older Gemini models return `functionCall`s without `id`, and Gemini clients may
//! send calls and responses without one. Such calls get a deterministic id made here
//! ([`synthetic_call_id`]), recognisable by its prefix: a Gemini upstream is sent no id for it
//! (it never knew one), every other format gets an id it can pair results with.

use sha2::{Digest, Sha256};

use crate::canonical::{Opaque, Vendor};

/// Where a Gemini signature sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// On the first `functionCall` part of a model step.
    Call,
    /// On a (non-thought) text part.
    Text,
    /// On a thought part.
    Thought,
}

impl Slot {
    fn tag(self) -> &'static str {
        match self {
            Slot::Call => "call",
            Slot::Text => "text",
            Slot::Thought => "thought",
        }
    }

    fn from_tag(tag: &str) -> Option<Slot> {
        match tag {
            "call" => Some(Slot::Call),
            "text" => Some(Slot::Text),
            "thought" => Some(Slot::Thought),
            _ => None,
        }
    }
}

/// Marks redacted reasoning inside an envelope (as Responses clients carry it).
const REDACTED_MARKER: &str = "redacted:";

/// How every gateway envelope starts (see `canonical::reasoning`).
const ENVELOPE_PREFIX: &str = "toc1.";

/// A Gemini signature found on a part of kind `slot`.
pub fn native(slot: Slot, signature: &str) -> Opaque {
    Opaque {
        vendor: Vendor::Google,
        data: format!("{}:{signature}", slot.tag()),
    }
}

/// The slot and bare signature of Gemini state (`None` for another vendor's). State without a
/// slot goes on a call, where a missing signature costs the most.
pub fn native_parts(opaque: &Opaque) -> Option<(Slot, &str)> {
    if opaque.vendor != Vendor::Google {
        return None;
    }
    Some(
        match opaque
            .data
            .split_once(':')
            .and_then(|(tag, signature)| Some((Slot::from_tag(tag)?, signature)))
        {
            Some(parts) => parts,
            None => (Slot::Call, opaque.data.as_str()),
        },
    )
}

/// The `thoughtSignature` a Gemini client gets for reasoning state: Gemini's own signature bare
/// (with its slot), anyone else's in an envelope with the exact text it signs.
pub fn to_client(opaque: &Opaque, text: &str, redacted: bool) -> (String, Option<Slot>) {
    if let Some((slot, signature)) = native_parts(opaque) {
        return (signature.to_owned(), Some(slot));
    }
    if redacted {
        let marked = Opaque {
            vendor: opaque.vendor,
            data: format!("{REDACTED_MARKER}{}", opaque.data),
        };
        return (marked.to_client(Some(Vendor::Google), None), None);
    }
    (opaque.to_client(Some(Vendor::Google), Some(text)), None)
}

/// State a Gemini client sent back in `thoughtSignature` on a part of kind `slot`: the state,
/// the exact text an envelope kept, and whether it is redacted reasoning. `None` for an empty
/// or unreadable value.
pub fn from_client(value: &str, slot: Slot) -> Option<(Opaque, Option<String>, bool)> {
    let (mut opaque, exact) = Opaque::from_client(value, Some(Vendor::Google))?;
    if opaque.vendor == Vendor::Google {
        if value.starts_with(ENVELOPE_PREFIX) {
            // Gemini state in an envelope (made for another client): already slotted.
            return Some((opaque, exact, false));
        }
        return Some((native(slot, &opaque.data), None, false));
    }
    if let Some(data) = opaque.data.strip_prefix(REDACTED_MARKER) {
        opaque.data = data.to_owned();
        return Some((opaque, None, true));
    }
    Some((opaque, exact, false))
}

/// The prefix of ids the gateway made for calls that came without one.
pub const SYNTHETIC_CALL_PREFIX: &str = "call_gemini_";

/// A deterministic id for a call that came without one: the same call (by `scope`, the answer
/// or conversation position, its ordinal and content) always gets the same id.
pub fn synthetic_call_id(scope: &str, ordinal: usize, name: &str, args: &str) -> String {
    let mut hasher = Sha256::new();
    for piece in [scope, &ordinal.to_string(), name, args] {
        hasher.update(piece.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{SYNTHETIC_CALL_PREFIX}{hex}")
}

/// Whether `id` was made by [`synthetic_call_id`] (and so is not sent to a Gemini upstream).
pub fn is_synthetic(id: &str) -> bool {
    id.strip_prefix(SYNTHETIC_CALL_PREFIX)
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_signatures_keep_their_slot_through_any_client() {
        let opaque = native(Slot::Call, "CsoBAXLI2nx/+=");
        assert_eq!(native_parts(&opaque), Some((Slot::Call, "CsoBAXLI2nx/+=")));
        let (bare, slot) = to_client(&opaque, "", false);
        assert_eq!((bare.as_str(), slot), ("CsoBAXLI2nx/+=", Some(Slot::Call)));
        // A Gemini client returns it bare on a call part.
        let (back, text, redacted) = from_client(&bare, Slot::Call).unwrap();
        assert_eq!((back, text, redacted), (opaque.clone(), None, false));
        // An Anthropic client returns it in an envelope: the slot survives.
        let wrapped = opaque.to_client(Some(Vendor::Anthropic), Some("t"));
        let (back, _) = Opaque::from_client(&wrapped, Some(Vendor::Anthropic)).unwrap();
        assert_eq!(native_parts(&back), Some((Slot::Call, "CsoBAXLI2nx/+=")));
    }

    #[test]
    fn foreign_state_travels_enveloped_and_redacted_is_marked() {
        let anthropic = Opaque {
            vendor: Vendor::Anthropic,
            data: "EqQB".into(),
        };
        let (value, slot) = to_client(&anthropic, "thinking", false);
        assert_eq!(slot, None);
        assert!(value.starts_with("toc1."));
        let (back, text, redacted) = from_client(&value, Slot::Call).unwrap();
        assert_eq!(back, anthropic);
        assert_eq!(text.as_deref(), Some("thinking"));
        assert!(!redacted);
        let (value, _) = to_client(&anthropic, "", true);
        let (back, text, redacted) = from_client(&value, Slot::Text).unwrap();
        assert_eq!((back, text, redacted), (anthropic, None, true));
        assert_eq!(from_client("", Slot::Text), None);
    }

    #[test]
    fn synthetic_ids_are_stable_distinct_and_recognised() {
        let a = synthetic_call_id("resp_1", 0, "get_weather", "{\"city\":\"Paris\"}");
        assert_eq!(
            a,
            synthetic_call_id("resp_1", 0, "get_weather", "{\"city\":\"Paris\"}")
        );
        assert_ne!(
            a,
            synthetic_call_id("resp_1", 1, "get_weather", "{\"city\":\"Paris\"}")
        );
        assert!(is_synthetic(&a));
        assert!(a.len() <= 40, "Chat takes ids of at most 40 characters");
        assert!(!is_synthetic("call_gemini_notahexvalue0000"));
        assert!(!is_synthetic("toolu_01"));
    }
}
