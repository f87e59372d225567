//! Placeholder until this format's codecs land.

use serde_json::Value;

use super::{ResponseContext, StreamDecode, StreamEncode, UpstreamTarget};
use crate::canonical::{ChatRequest, ChatResponse, StreamEvent};
use crate::error::{ApiError, ErrorKind};
use crate::sse::SseEvent;
use crate::translate::Warnings;

fn missing() -> ApiError {
    ApiError::new(ErrorKind::Internal, "format not implemented")
}

pub fn decode_request(_body: &[u8], _warnings: &mut Warnings) -> Result<ChatRequest, ApiError> {
    Err(missing())
}

pub fn encode_request(
    _request: &ChatRequest,
    _target: &UpstreamTarget,
    _warnings: &mut Warnings,
) -> Result<Value, ApiError> {
    Err(missing())
}

pub fn decode_response(_body: &[u8]) -> Result<ChatResponse, ApiError> {
    Err(missing())
}

pub fn encode_response(_response: &ChatResponse, _context: &ResponseContext) -> Value {
    Value::Null
}

pub fn stream_error_frame(_error: &ApiError, _context: &ResponseContext, _events_seen: u64) -> Vec<u8> {
    Vec::new()
}

pub struct StreamDecoder;

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder
    }
}

impl StreamDecode for StreamDecoder {
    fn push(&mut self, _event: &SseEvent, _out: &mut Vec<StreamEvent>) {}
    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        out.push(StreamEvent::Error(missing()));
    }
}

pub struct StreamEncoder;

impl StreamEncoder {
    pub fn new(_context: ResponseContext) -> StreamEncoder {
        StreamEncoder
    }
}

impl StreamEncode for StreamEncoder {
    fn push(&mut self, _event: &StreamEvent, _out: &mut Vec<u8>) {}
}
