//! Test helpers shared by the codec tests: fixtures, every-split stream decoding, encoding and
//! folding.

use crate::canonical::{Accumulator, ChatResponse, StreamEvent};
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::ResponseContext;
use crate::sse::SseDecoder;

/// Reads `tests/fixtures/<path>`.
pub fn fixture(path: &str) -> String {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}

/// Decodes an upstream SSE body in `format` as given in `chunks`.
pub fn decode_chunks(format: WireFormat, chunks: &[&[u8]]) -> Vec<StreamEvent> {
    let mut sse = SseDecoder::new();
    let mut decoder = format.stream_decoder();
    let mut frames = Vec::new();
    let mut events = Vec::new();
    for chunk in chunks {
        sse.push(chunk, &mut frames);
        for frame in frames.drain(..) {
            decoder.push(&frame, &mut events);
        }
    }
    sse.finish(&mut frames);
    for frame in frames.drain(..) {
        decoder.push(&frame, &mut events);
    }
    decoder.finish(&mut events);
    events
}

/// Decodes `body` whole, then split in two at every byte boundary, then byte by byte, asserting
/// the canonical events are the same every time. Returns them.
pub fn decode_every_split(format: WireFormat, body: &[u8]) -> Vec<StreamEvent> {
    let whole = decode_chunks(format, &[body]);
    for cut in 0..=body.len() {
        let (a, b) = body.split_at(cut);
        assert_eq!(decode_chunks(format, &[a, b]), whole, "split at byte {cut}");
    }
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(decode_chunks(format, &bytes), whole, "byte by byte");
    whole
}

/// Encodes canonical events as a client stream in `format`.
pub fn encode_events(
    format: WireFormat,
    context: ResponseContext,
    events: &[StreamEvent],
) -> Vec<u8> {
    let mut encoder = format.stream_encoder(context);
    let mut out = Vec::new();
    for event in events {
        encoder.push(event, &mut out);
    }
    out
}

/// Folds canonical events into an answer.
pub fn accumulate(events: &[StreamEvent]) -> Result<ChatResponse, ApiError> {
    let mut acc = Accumulator::new();
    for event in events {
        acc.push(event);
    }
    acc.finish()
}

/// A response context with fixed values, for deterministic encoder output.
pub fn context(model: &str) -> ResponseContext {
    ResponseContext {
        model: model.to_owned(),
        created_s: 1_730_000_000,
        request_id: "req_test".to_owned(),
        include_usage: true,
        echo: serde_json::Map::new(),
        compaction: None,
    }
}
