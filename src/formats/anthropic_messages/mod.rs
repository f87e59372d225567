//! The Anthropic Messages format (`POST /v1/messages`): what Claude Code and the Anthropic SDKs
//! speak as clients, and what Anthropic (and Anthropic-compatible providers) speak upstream.
//!
//! | module | job |
//! |---|---|
//! | [`wire`] | the vendor's types, as read ([`wire::read`]) and as written ([`wire::write`]) |
//! | [`request_decode`] | client request → [`ChatRequest`] |
//! | [`request_encode`] | [`ChatRequest`] → upstream request, enforcing the API's constraints |
//! | [`response`] | upstream `Message` → [`ChatResponse`] → client `Message` |
//! | [`stream_decoder`] | upstream SSE → canonical events |
//! | [`stream_encoder`] | canonical events → client SSE |
//! | [`cache`] | prompt cache breakpoints placed for clients that mark none |
//! | [`server_tools`] | web search and fetch: tools, calls, results, citations, history |
//! | [`stop_reason`], [`usage`] | the two mapping tables |
//!
//! Opaque reasoning state: Anthropic signatures and redacted data are this format's native
//! state ([`crate::canonical::Vendor::Anthropic`]); another vendor's state reaches Anthropic
//! clients wrapped in a gateway envelope and comes back unwrapped by [`decode_request`].
//!
//! [`ChatRequest`]: crate::canonical::ChatRequest
//! [`ChatResponse`]: crate::canonical::ChatResponse

pub mod cache;
pub mod errors;
pub mod forward;
pub mod request_decode;
pub mod request_encode;
pub mod response;
pub mod server_tools;
pub mod spec;
pub mod stop_reason;
pub mod stream_decoder;
pub mod stream_encoder;
mod stream_hot;
pub mod usage;
pub mod wire;

#[cfg(test)]
mod client_check;
#[cfg(test)]
mod tests;

pub use request_decode::decode_request;
pub use request_encode::encode_request;
pub use response::{decode_response, encode_response};
pub use stream_decoder::StreamDecoder;
pub use stream_encoder::StreamEncoder;

use super::BuiltinTool;

/// Anthropic's own tool types, by prefix (they carry a version date); any other non-empty type
/// is taken for a server tool here (this format's forwarding allowlist).
pub fn builtin_tool(kind: &str) -> Option<BuiltinTool> {
    if kind.is_empty() || kind == "custom" {
        return None;
    }
    known_builtin_tool(kind).or(Some(BuiltinTool::Server))
}

/// The built-in tool types Anthropic defines, and only those: the registry asks every format,
/// so a catch-all here would shadow the other formats' own types (`mcp`, `local_shell`, ...).
pub fn known_builtin_tool(kind: &str) -> Option<BuiltinTool> {
    const CLIENT_RUN: [&str; 4] = ["bash_", "text_editor_", "computer_", "memory_"];
    const SERVER: [&str; 5] = [
        "web_search_",
        "web_fetch_",
        "code_execution_",
        "tool_search_tool_",
        "advisor_",
    ];
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| kind.starts_with(p));
    if starts(&CLIENT_RUN) {
        Some(BuiltinTool::ClientRun)
    } else if starts(&SERVER) {
        Some(BuiltinTool::Server)
    } else if kind == "mcp_toolset" {
        Some(BuiltinTool::Mcp)
    } else {
        None
    }
}
