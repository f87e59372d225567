//! The wire formats the gateway speaks, on both sides.

use crate::canonical::Vendor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// OpenAI Chat Completions (`/chat/completions`).
    OpenAiChat,
    /// Anthropic Messages (`/messages`).
    AnthropicMessages,
    /// OpenAI Responses (`/responses`).
    OpenAiResponses,
    /// Google Gemini (`models/{model}:generateContent`).
    Gemini,
}

impl WireFormat {
    pub const ALL: [WireFormat; 4] = [
        WireFormat::OpenAiChat,
        WireFormat::AnthropicMessages,
        WireFormat::OpenAiResponses,
        WireFormat::Gemini,
    ];

    /// The name used in the config file (`format = "..."`).
    pub fn config_name(self) -> &'static str {
        self.spec().config_name()
    }

    pub fn from_config_name(name: &str) -> Option<WireFormat> {
        WireFormat::ALL
            .into_iter()
            .find(|format| format.config_name() == name)
    }

    /// The request field that limits the answer's length, as the format names it.
    pub fn output_limit_field(self) -> &'static str {
        self.spec().output_limit_field()
    }

    /// The smallest output limit an upstream of this format accepts.
    pub fn min_output_tokens(self) -> u64 {
        self.spec().min_output_tokens()
    }

    /// Whose opaque reasoning state this format carries natively (see `canonical::reasoning`).
    pub fn native_vendor(self) -> Option<Vendor> {
        self.spec().native_vendor()
    }
}
