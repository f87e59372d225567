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
}

impl WireFormat {
    pub const ALL: [WireFormat; 3] = [
        WireFormat::OpenAiChat,
        WireFormat::AnthropicMessages,
        WireFormat::OpenAiResponses,
    ];

    /// The name used in the config file (`format = "..."`).
    pub fn config_name(self) -> &'static str {
        match self {
            WireFormat::OpenAiChat => "openai-chat",
            WireFormat::AnthropicMessages => "anthropic",
            WireFormat::OpenAiResponses => "openai-responses",
        }
    }

    pub fn from_config_name(name: &str) -> Option<WireFormat> {
        WireFormat::ALL
            .into_iter()
            .find(|format| format.config_name() == name)
    }

    /// The path the gateway appends to a provider's `base_url`.
    pub fn upstream_path(self) -> &'static str {
        match self {
            WireFormat::OpenAiChat => "/chat/completions",
            WireFormat::AnthropicMessages => "/messages",
            WireFormat::OpenAiResponses => "/responses",
        }
    }

    /// The request field that limits the answer's length, as the format names it.
    pub fn output_limit_field(self) -> &'static str {
        match self {
            WireFormat::OpenAiChat => "max_completion_tokens",
            WireFormat::AnthropicMessages => "max_tokens",
            WireFormat::OpenAiResponses => "max_output_tokens",
        }
    }

    /// The smallest output limit an upstream of this format accepts (OpenAI's Responses API
    /// refuses less than 16).
    pub fn min_output_tokens(self) -> u64 {
        match self {
            WireFormat::OpenAiResponses => 16,
            WireFormat::OpenAiChat | WireFormat::AnthropicMessages => 1,
        }
    }

    /// Whose opaque reasoning state this format carries natively (see `canonical::reasoning`).
    pub fn native_vendor(self) -> Option<Vendor> {
        match self {
            WireFormat::OpenAiChat => None,
            WireFormat::AnthropicMessages => Some(Vendor::Anthropic),
            WireFormat::OpenAiResponses => Some(Vendor::OpenAi),
        }
    }
}
