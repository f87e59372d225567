//! Reasoning controls and opaque reasoning state.
//!
//! Vendors attach opaque state to reasoning (Anthropic thinking `signature` and redacted
//! `data`, OpenAI Responses `encrypted_content`, Gemini `thoughtSignature`). It is only valid
//! for the vendor that made it, and Anthropic requires it byte-exact with the thinking text it
//! signed. When such state has to travel through a client of another format, it is wrapped in
//! a gateway envelope:
//!
//! ```text
//! "toc1." + base64url(JSON {"v": "anthropic" | "openai" | "google" | "gateway", "d": data, "t"?: exact text})
//! ```
//!
//! Client decoders unwrap envelopes; a string that is not an envelope is the client format's own
//! vendor state. Upstream encoders keep only state whose vendor matches the upstream.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Who can make sense of an [`Opaque`] blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Anthropic,
    #[serde(rename = "openai")]
    OpenAi,
    /// Gemini `thoughtSignature`s.
    Google,
    /// Made by the gateway for reasoning that came without vendor state (a Chat upstream's
    /// `reasoning_content`), so that clients which insist on a signature keep the block.
    /// Never sent to an upstream.
    Gateway,
}

/// Whether a request body carries a gateway envelope anywhere (a JSON string starting with
/// `toc1.`). Such a body is not forwarded as it is even to a same-format upstream: the envelope
/// may hold another vendor's state, which only the codecs know to unwrap or drop.
pub fn mentions_envelope(body: &[u8]) -> bool {
    let needle = b"\"toc1.";
    body.windows(needle.len()).any(|window| window == needle)
}

/// Whether `value` is a gateway envelope (whether or not it can be read).
pub fn is_envelope(value: &str) -> bool {
    value.starts_with(ENVELOPE_PREFIX)
}

/// Vendor reasoning state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opaque {
    pub vendor: Vendor,
    pub data: String,
}

const ENVELOPE_PREFIX: &str = "toc1.";

#[derive(Serialize, Deserialize)]
struct Envelope {
    v: Vendor,
    d: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<String>,
}

impl Opaque {
    /// Wraps this state for a client whose native vendor is `client_vendor`. State that already
    /// belongs to the client's vendor is returned unchanged. `text` is the exact reasoning text
    /// the state signs, kept so it can be replayed byte-exact.
    pub fn to_client(&self, client_vendor: Option<Vendor>, text: Option<&str>) -> String {
        if client_vendor == Some(self.vendor) {
            return self.data.clone();
        }
        let envelope = Envelope {
            v: self.vendor,
            d: self.data.clone(),
            t: text.filter(|t| !t.is_empty()).map(str::to_owned),
        };
        let json = serde_json::to_vec(&envelope).unwrap_or_default();
        format!("{ENVELOPE_PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    /// Reads state a client sent back. Returns the state and, for envelopes, the exact text it
    /// signs. A string that is not an envelope belongs to `client_vendor`; with no native vendor
    /// (Chat) it is unusable and `None` is returned.
    pub fn from_client(
        value: &str,
        client_vendor: Option<Vendor>,
    ) -> Option<(Opaque, Option<String>)> {
        if let Some(encoded) = value.strip_prefix(ENVELOPE_PREFIX) {
            let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
            let envelope: Envelope = serde_json::from_slice(&bytes).ok()?;
            return Some((
                Opaque {
                    vendor: envelope.v,
                    data: envelope.d,
                },
                envelope.t,
            ));
        }
        if value.is_empty() {
            return None;
        }
        client_vendor.map(|vendor| {
            (
                Opaque {
                    vendor,
                    data: value.to_owned(),
                },
                None,
            )
        })
    }
}

/// OpenAI reasoning effort levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    #[serde(rename = "xhigh")]
    XHigh,
    Max,
}

impl Effort {
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::None => "none",
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::XHigh => "xhigh",
            Effort::Max => "max",
        }
    }

    pub fn parse(value: &str) -> Option<Effort> {
        Some(match value {
            "none" => Effort::None,
            "minimal" => Effort::Minimal,
            "low" => Effort::Low,
            "medium" => Effort::Medium,
            "high" => Effort::High,
            "xhigh" => Effort::XHigh,
            "max" => Effort::Max,
            _ => return None,
        })
    }

    /// Anthropic thinking budget for an effort level; `None` for efforts that mean "no thinking".
    ///
    /// | effort | budget |
    /// |---|---|
    /// | none | no thinking |
    /// | minimal, low | 1024 (Anthropic's minimum) |
    /// | medium | 8192 |
    /// | high | 24576 |
    /// | xhigh, max | 32768 |
    pub fn budget_tokens(self) -> Option<u64> {
        match self {
            Effort::None => None,
            Effort::Minimal | Effort::Low => Some(1024),
            Effort::Medium => Some(8192),
            Effort::High => Some(24_576),
            Effort::XHigh | Effort::Max => Some(32_768),
        }
    }

    /// Effort level for an Anthropic thinking budget: ≤1024 low, ≤8192 medium, ≤24576 high,
    /// above that xhigh.
    pub fn from_budget(budget_tokens: u64) -> Effort {
        match budget_tokens {
            0..=1024 => Effort::Low,
            1025..=8192 => Effort::Medium,
            8193..=24_576 => Effort::High,
            _ => Effort::XHigh,
        }
    }
}

/// What the client asked of the model's reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thinking {
    /// Explicitly off (Anthropic `disabled`, OpenAI effort `none`).
    Disabled,
    /// An OpenAI effort level.
    Effort(Effort),
    /// An Anthropic thinking budget in tokens.
    Budget(u64),
    /// Anthropic adaptive thinking, optionally with `output_config.effort`.
    Adaptive(Option<Effort>),
}

impl Thinking {
    /// The effort level an OpenAI upstream should get, `None` when reasoning is off.
    pub fn effort(self) -> Option<Effort> {
        match self {
            Thinking::Disabled => None,
            Thinking::Effort(Effort::None) => None,
            Thinking::Effort(e) => Some(e),
            Thinking::Budget(b) => Some(Effort::from_budget(b)),
            Thinking::Adaptive(e) => Some(e.unwrap_or(Effort::Medium)),
        }
    }

    /// The Anthropic thinking budget, `None` when reasoning is off.
    pub fn budget_tokens(self) -> Option<u64> {
        match self {
            Thinking::Disabled => None,
            Thinking::Effort(e) => e.budget_tokens(),
            Thinking::Budget(b) => Some(b.max(1024)),
            Thinking::Adaptive(e) => e.unwrap_or(Effort::Medium).budget_tokens(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_foreign_state_with_text() {
        let opaque = Opaque {
            vendor: Vendor::Anthropic,
            data: "EqQBCgIYAh".into(),
        };
        let wrapped = opaque.to_client(Some(Vendor::OpenAi), Some("thought"));
        assert!(wrapped.starts_with("toc1."));
        let (back, text) = Opaque::from_client(&wrapped, Some(Vendor::OpenAi)).unwrap();
        assert_eq!(back, opaque);
        assert_eq!(text.as_deref(), Some("thought"));
    }

    #[test]
    fn native_state_is_not_wrapped() {
        let opaque = Opaque {
            vendor: Vendor::Anthropic,
            data: "sig".into(),
        };
        assert_eq!(opaque.to_client(Some(Vendor::Anthropic), Some("t")), "sig");
        let (back, text) = Opaque::from_client("sig", Some(Vendor::Anthropic)).unwrap();
        assert_eq!(back, opaque);
        assert_eq!(text, None);
    }

    #[test]
    fn garbage_envelope_and_chat_state_are_unusable() {
        assert_eq!(
            Opaque::from_client("toc1.!!!", Some(Vendor::Anthropic)),
            None
        );
        assert_eq!(Opaque::from_client("whatever", None), None);
        assert_eq!(Opaque::from_client("", Some(Vendor::Anthropic)), None);
    }

    #[test]
    fn effort_budget_table() {
        assert_eq!(Effort::from_budget(1024), Effort::Low);
        assert_eq!(Effort::from_budget(1025), Effort::Medium);
        assert_eq!(Effort::from_budget(24_576), Effort::High);
        assert_eq!(Effort::from_budget(50_000), Effort::XHigh);
        assert_eq!(
            Thinking::Effort(Effort::Minimal).budget_tokens(),
            Some(1024)
        );
        assert_eq!(Thinking::Effort(Effort::None).effort(), None);
        assert_eq!(Thinking::Budget(10).budget_tokens(), Some(1024));
    }
}
