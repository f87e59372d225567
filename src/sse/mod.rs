//! Server-sent events: an incremental decoder for upstream bodies and an encoder for client
//! bodies.
//!
//! ```
//! use gateway::sse::{SseDecoder, SseEvent};
//!
//! let mut decoder = SseDecoder::new();
//! let mut events = Vec::new();
//! decoder.push(b"event: ping\r\ndata: {\"a\"", &mut events);
//! decoder.push(b":1}\r\n\r\n", &mut events);
//! assert_eq!(events, [SseEvent { event: Some("ping".into()), data: "{\"a\":1}".into() }]);
//! ```

mod decoder;
mod encoder;
pub mod json;
pub mod json_text;

pub use decoder::{SseDecoder, SseEvent};
pub use encoder::{write_comment, write_event, write_json_event};
