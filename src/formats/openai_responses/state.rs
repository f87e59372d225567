//! Reasoning state as Responses clients carry it: `encrypted_content`.
//!
//! OpenAI's own blob travels as is; another vendor's state travels in the gateway envelope
//! (`Opaque::to_client`) with the exact text it signs. The envelope has no room for
//! Anthropic's `redacted_thinking` flag, and a redacted block replayed as a signed
//! `thinking` block is rejected by Anthropic, so this module marks it inside the envelope's
//! data:
//!
//! ```text
//! redacted block  →  envelope { v: "anthropic", d: "redacted:" + data }
//! ```
//!
//! Only this format's encoders write such envelopes and only its request decoder reads them
//! back (a Responses client returns them unchanged); vendor state is base64, so the marker
//! cannot collide with real data. OpenAI state is never marked.

use crate::canonical::{Opaque, ReasoningPart, Vendor};

const REDACTED_MARKER: &str = "redacted:";

/// `encrypted_content` for reasoning state, or `None` when there is none.
pub fn to_client(opaque: Option<&Opaque>, text: &str, redacted: bool) -> Option<String> {
    let opaque = opaque?;
    if redacted && opaque.vendor != Vendor::OpenAi {
        let marked = Opaque {
            vendor: opaque.vendor,
            data: format!("{REDACTED_MARKER}{}", opaque.data),
        };
        return Some(marked.to_client(Some(Vendor::OpenAi), None));
    }
    Some(opaque.to_client(Some(Vendor::OpenAi), Some(text)))
}

/// A reasoning part from what a client sent back: `text` (the summary), `encrypted_content`.
/// An envelope's exact text wins over the summary. `None` when there is neither text nor state.
pub fn from_client(text: String, encrypted_content: Option<&str>) -> Option<ReasoningPart> {
    let Some((mut opaque, exact)) =
        encrypted_content.and_then(|blob| Opaque::from_client(blob, Some(Vendor::OpenAi)))
    else {
        return (!text.is_empty()).then_some(ReasoningPart {
            text,
            opaque: None,
            redacted: false,
        });
    };
    if opaque.vendor != Vendor::OpenAi
        && let Some(data) = opaque.data.strip_prefix(REDACTED_MARKER)
    {
        opaque.data = data.to_owned();
        return Some(ReasoningPart {
            text: String::new(),
            opaque: Some(opaque),
            redacted: true,
        });
    }
    Some(ReasoningPart {
        text: exact.unwrap_or(text),
        opaque: Some(opaque),
        redacted: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anthropic(data: &str) -> Opaque {
        Opaque {
            vendor: Vendor::Anthropic,
            data: data.into(),
        }
    }

    #[test]
    fn state_round_trips_through_the_client() {
        let openai = Opaque {
            vendor: Vendor::OpenAi,
            data: "gAAAA".into(),
        };
        assert_eq!(
            to_client(Some(&openai), "t", false).as_deref(),
            Some("gAAAA")
        );
        assert_eq!(
            to_client(Some(&openai), "t", true).as_deref(),
            Some("gAAAA")
        );
        assert_eq!(to_client(None, "t", false), None);

        let signed = to_client(Some(&anthropic("EqQB")), "exact text", false).unwrap();
        assert_eq!(
            from_client("summary".into(), Some(&signed)),
            Some(ReasoningPart {
                text: "exact text".into(),
                opaque: Some(anthropic("EqQB")),
                redacted: false,
            })
        );
        let redacted = to_client(Some(&anthropic("EmwK")), "", true).unwrap();
        assert!(redacted.starts_with("toc1."));
        assert_eq!(
            from_client(String::new(), Some(&redacted)),
            Some(ReasoningPart {
                text: String::new(),
                opaque: Some(anthropic("EmwK")),
                redacted: true,
            })
        );
        // A signature-only thinking block stays a thinking block.
        let bare = to_client(Some(&anthropic("EqQB")), "", false).unwrap();
        assert_eq!(
            from_client(String::new(), Some(&bare)),
            Some(ReasoningPart {
                text: String::new(),
                opaque: Some(anthropic("EqQB")),
                redacted: false,
            })
        );
        assert_eq!(
            from_client("plain".into(), Some("gAAAA")),
            Some(ReasoningPart {
                text: "plain".into(),
                opaque: Some(Opaque {
                    vendor: Vendor::OpenAi,
                    data: "gAAAA".into()
                }),
                redacted: false,
            })
        );
        assert_eq!(from_client(String::new(), None), None);
        assert_eq!(from_client(String::new(), Some("")), None);
    }
}
