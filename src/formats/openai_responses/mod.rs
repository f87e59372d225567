//! OpenAI Responses (`POST /responses`): the format Codex and the OpenAI SDK's `responses`
//! client speak. Native vendor for opaque reasoning state: OpenAI (`encrypted_content`).
//!
//! Data flow and the modules that own each step:
//!
//! ```text
//! client body ──request_decode (+ input, namespace)──▶ ChatRequest ──request_encode──▶ upstream body
//! upstream body ──response_decode──▶ ChatResponse ──response_encode (+ echo)──▶ client body
//! upstream SSE ──stream_decoder──▶ StreamEvent* ──stream_encoder──▶ client SSE
//! ```
//!
//! - [`wire`]: the vendor's types, as the SDKs name them.
//! - [`parse`]: typed reading with errors naming the field at fault.
//! - [`input`]: `input` items → canonical turns (grouping, Codex interleaving).
//! - [`namespace`]: namespace tools flattened for the canonical model and restored for clients.
//! - [`media`]: data URLs.
//! - [`stop_reason`], [`usage`], [`errors`]: the mapping tables.
//! - [`echo`]: the request fields a response object repeats.
//! - [`state`]: reasoning state (`encrypted_content`) as clients carry it.
//! - [`server_tools`]: web search tools, `web_search_call` items and `url_citation`s.
//!
//! Codex is the demanding client: it dispatches tools from `output_item.done`, requires
//! `response.completed` with integer usage, reads `summary_index`, and acts on
//! `response.failed` error codes (compaction on `context_length_exceeded`, back-off on
//! "try again in Ns").

mod echo;
mod errors;
pub mod forward;
mod input;
mod media;
mod namespace;
mod parse;
mod request_decode;
pub mod request_encode;
mod response_decode;
mod response_encode;
mod response_frames;
mod server_tools;
pub mod spec;
mod state;
mod stop_reason;
mod stream_decoder;
mod stream_encoder;
mod stream_hot;
mod usage;
mod wire;

#[cfg(test)]
mod tests;

pub use request_decode::decode_request;

/// The Responses API's own tool types.
pub fn builtin_tool(kind: &str) -> Option<super::BuiltinTool> {
    use super::BuiltinTool;
    match kind {
        "local_shell" | "shell" | "apply_patch" | "computer_use_preview" | "computer" => {
            Some(BuiltinTool::ClientRun)
        }
        "mcp" => Some(BuiltinTool::Mcp),
        "web_search"
        | "web_search_preview"
        | "web_search_2025_08_26"
        | "web_search_preview_2025_03_11"
        | "file_search"
        | "code_interpreter"
        | "image_generation"
        | "tool_search" => Some(BuiltinTool::Server),
        _ => None,
    }
}
pub use request_encode::encode_request;
pub use response_decode::decode_response;
pub use response_encode::encode_response;
pub use stream_decoder::StreamDecoder;
pub use stream_encoder::{StreamEncoder, stream_error_frame};
