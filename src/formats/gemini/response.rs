//! Non-stream answers: `decode_response` (a Gemini upstream's `GenerateContentResponse`) and
//! `encode_response` (one for a Gemini client).
//!
//! Both go through the stream codecs (a whole answer is a stream of one chunk), so a streamed
//! and a non-streamed answer can never be read or written differently.

use serde_json::Value;

use super::client_parts::ClientParts;
use super::stream_decoder::StreamDecoder;
use super::wire::read::GenerateContentResponse;
use super::wire::write;
use super::{finish_reason, usage};
use crate::canonical::{Accumulator, ChatResponse};
use crate::error::{ApiError, ErrorKind, from_upstream};
use crate::format::WireFormat;
use crate::formats::{ResponseContext, client_id};

pub fn decode_response(body: &[u8]) -> Result<ChatResponse, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| unusable(&e))?;
    // Some Google endpoints wrap answers (and errors) in an array of chunks.
    let chunks = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut decoder = StreamDecoder::new();
    let mut events = Vec::new();
    for chunk in chunks {
        if chunk.get("error").is_some_and(|error| !error.is_null()) {
            let body = serde_json::to_vec(&chunk).unwrap_or_default();
            return Err(from_upstream(WireFormat::Gemini, 200, &body));
        }
        let chunk: GenerateContentResponse =
            serde_json::from_value(chunk).map_err(|e| unusable(&e))?;
        decoder.chunk(chunk, &mut events);
    }
    decoder.end_whole(&mut events);
    let mut accumulator = Accumulator::new();
    for event in &events {
        accumulator.push(event);
    }
    accumulator.finish()
}

fn unusable(error: &serde_json::Error) -> ApiError {
    ApiError::new(
        ErrorKind::UpstreamFailed,
        format!("the upstream answered something that is not a Gemini response: {error}"),
    )
}

pub fn encode_response(response: &ChatResponse, context: &ResponseContext) -> Value {
    let mut parts = ClientParts::new();
    let mut out = Vec::new();
    for event in response.to_events() {
        parts.push(&event, &mut out);
    }
    parts.finish(&mut out);
    let id = client_id("", &response.id, context);
    let answer = write::GenerateContentResponse {
        candidates: vec![write::Candidate {
            content: write::CandidateContent {
                role: "model",
                parts: out,
            },
            finish_reason: Some(finish_reason::for_client(
                &response.finish,
                response.has_tool_calls(),
            )),
            index: 0,
        }],
        usage_metadata: Some(usage::encode(&response.usage)),
        model_version: &context.model,
        response_id: &id,
    };
    serde_json::to_value(&answer).unwrap_or(Value::Null)
}
