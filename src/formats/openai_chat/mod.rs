//! OpenAI Chat Completions (`/chat/completions`): the six codecs.
//!
//! ```text
//! client body ──request_decode──▶ ChatRequest ──request_encode──▶ upstream body
//! upstream chat.completion ──response::decode_response──▶ ChatResponse
//! ChatResponse ──response::encode_response──▶ client chat.completion
//! upstream chunks ──StreamDecoder──▶ StreamEvent* ──StreamEncoder──▶ client chunks
//! ```
//!
//! - [`wire`]: the Chat types, shared by decoders and encoders.
//! - `request_decode` / `request_encode`: request bodies, from clients and to upstreams.
//! - `response`: non-stream answers both ways.
//! - `stream_decoder` / `stream_encoder`: streams both ways.
//! - `stop_reason`, `usage`: the finish-reason and usage tables.
//! - `data_url`: the `data:` URLs Chat uses for inline media.
//!
//! Chat has no carrier for opaque reasoning state ([`crate::format::WireFormat::native_vendor`]
//! is `None`): reasoning travels as the de-facto `reasoning_content` text only, and signatures
//! are dropped on the way to a Chat client.

mod data_url;
pub mod forward;
mod request_decode;
pub mod request_encode;
mod response;
pub mod spec;
mod stop_reason;
mod stream_decoder;
mod stream_encoder;
mod stream_hot;
mod usage;
pub mod wire;

#[cfg(test)]
mod client_check;
#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod tests;

pub use request_decode::decode_request;
pub use request_encode::encode_request;
pub use response::{decode_response, encode_response};
pub use stream_decoder::StreamDecoder;
pub use stream_encoder::StreamEncoder;

use super::ResponseContext;
use crate::error::ApiError;

/// The in-band error chunk (`data: {"error": {...}}`) for a Chat stream that was forwarded
/// untranslated and cut short. Chat chunks carry no sequence number, so `events_seen` is unused.
pub fn stream_error_frame(
    error: &ApiError,
    _context: &ResponseContext,
    _events_seen: u64,
    _upstream_id: &str,
) -> Vec<u8> {
    let mut out = Vec::new();
    stream_encoder::write_error(error, &mut out);
    out
}
