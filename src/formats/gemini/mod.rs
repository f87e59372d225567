//! The Google Gemini format (`models/{model}:generateContent` and
//! `:streamGenerateContent?alt=sse`): what the Gemini SDKs and Gemini CLI speak as clients, and
//! what Google AI Studio speaks upstream.
//!
//! | module | job |
//! |---|---|
//! | [`wire`] | the vendor's types, as read ([`wire::read`]) and as written ([`wire::write`]) |
//! | [`endpoint`] | paths, model and streaming from the URL, where the key is |
//! | [`request_decode`] | client request → [`ChatRequest`] |
//! | [`request_encode`] | [`ChatRequest`] → upstream request |
//! | [`forward`] | a Gemini client's own body to a Gemini upstream, through an allowlist |
//! | [`schema`] | Google `Schema` ⇄ JSON Schema |
//! | [`output`] | an answer's parts → canonical blocks (streams and whole answers) |
//! | [`client_parts`] | canonical blocks → an answer's parts (streams and whole answers) |
//! | [`response`] | upstream answer → [`ChatResponse`] → client answer |
//! | [`stream_decoder`] | upstream SSE → canonical events |
//! | [`stream_encoder`] | canonical events → client SSE |
//! | [`signature`] | thought signatures and call ids, which must come back where they were |
//! | [`errors`], [`finish_reason`], [`usage`] | the mapping tables |
//!
//! Opaque reasoning state: Gemini `thoughtSignature`s are this format's native state
//! ([`crate::canonical::Vendor::Google`]); another vendor's state reaches Gemini clients
//! wrapped in a gateway envelope and comes back unwrapped by [`decode_request`].
//!
//! [`ChatRequest`]: crate::canonical::ChatRequest
//! [`ChatResponse`]: crate::canonical::ChatResponse

pub mod client_parts;
pub mod endpoint;
pub mod errors;
pub mod finish_reason;
pub mod forward;
pub mod output;
pub mod request_decode;
pub mod request_encode;
pub mod response;
pub mod schema;
pub mod signature;
pub mod spec;
pub mod stream_decoder;
pub mod stream_encoder;
mod stream_hot;
pub mod usage;
pub mod wire;

#[cfg(test)]
mod tests;

pub use request_decode::decode_request;
pub use request_encode::encode_request;
pub use response::{decode_response, encode_response};
pub use stream_decoder::StreamDecoder;
pub use stream_encoder::StreamEncoder;

use super::BuiltinTool;

/// Gemini's built-in tools, by their key in a `tools[]` entry.
///
/// | key | kind |
/// |---|---|
/// | `googleSearch`, `googleSearchRetrieval`, `codeExecution`, `urlContext`, `googleMaps`, `fileSearch`, `enterpriseWebSearch` | run and billed by Google |
/// | `computerUse` | run by the client |
/// | `mcpServers` | Google calls remote MCP servers |
pub fn builtin_tool(kind: &str) -> Option<BuiltinTool> {
    match kind {
        "googleSearch"
        | "google_search"
        | "googleSearchRetrieval"
        | "google_search_retrieval"
        | "codeExecution"
        | "code_execution"
        | "urlContext"
        | "url_context"
        | "googleMaps"
        | "google_maps"
        | "fileSearch"
        | "enterpriseWebSearch" => Some(BuiltinTool::Server),
        "computerUse" | "computer_use" => Some(BuiltinTool::ClientRun),
        "mcpServers" | "mcp_servers" => Some(BuiltinTool::Mcp),
        _ => None,
    }
}
