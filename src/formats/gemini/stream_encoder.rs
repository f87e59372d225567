//! `StreamEncoder`: canonical [`StreamEvent`]s as the `alt=sse` stream a Gemini client (the
//! `@google/genai` and `google-genai` SDKs, Gemini CLI) reads.
//!
//! What those clients rely on:
//! - each event is `data: <GenerateContentResponse>` and a blank line (`\r\n\r\n`, as Google
//!   ends them); no event names, no `[DONE]`: the stream ends when the body does;
//! - every chunk holds only new parts, and a chunk's `candidates[0].content.parts` is never
//!   empty (the SDKs' chat history drops a whole answer that has one invalid chunk), so the
//!   last part of the answer goes out with the `finishReason` and the usage. Until the answer
//!   ends, the last part is held back: a tool call whole (it is complete, and the end comes
//!   right after it), text only by its last character, so every delta reaches the client at
//!   once but for one character;
//! - the last chunk has a `finishReason` (Gemini CLI retries a stream without one);
//! - a failure mid-stream is `data: {"error": {"code", "message", "status"}}`, which both SDKs
//!   raise as an API error.
//!
//! Keep-alives are a bare line break. An SSE comment would do for the JavaScript SDK (it skips
//! events that are not `data:`), but the Python SDK reads every non-blank line as JSON and
//! fails on a comment; both skip blank lines, and so does every SSE parser.

use serde::Serialize;

use super::client_parts::ClientParts;
use super::stream_hot;
use super::wire::write::{self, Part};
use super::{errors, finish_reason, usage};
use crate::canonical::{Finish, StreamEvent, Usage};
use crate::error::ApiError;
use crate::formats::{ResponseContext, StreamEncode, client_id};

/// How Google ends each event.
const EVENT_END: &[u8] = b"\r\n\r\n";

/// The keep-alive (see the module documentation).
pub const KEEP_ALIVE: &[u8] = b"\r\n";

#[derive(Debug)]
pub struct StreamEncoder {
    context: ResponseContext,
    /// The client-facing `responseId`.
    id: String,
    parts: ClientParts,
    /// Parts not yet written: all but the last go out as soon as a newer one exists.
    held: Vec<Part<'static>>,
    /// Usage known at `Start`, merged under the final usage.
    start_usage: Usage,
    done: bool,
}

impl StreamEncoder {
    pub fn new(context: ResponseContext) -> StreamEncoder {
        let id = client_id("", "", &context);
        StreamEncoder {
            context,
            id,
            parts: ClientParts::new(),
            held: Vec::new(),
            start_usage: Usage::default(),
            done: false,
        }
    }

    fn chunk(
        &self,
        parts: Vec<Part<'static>>,
        finish: Option<&str>,
        usage_metadata: Option<write::UsageMetadata>,
        out: &mut Vec<u8>,
    ) {
        // The hot chunk (one text part, nothing else) skips serde: same bytes.
        if let ([part], None, None) = (parts.as_slice(), finish, &usage_metadata)
            && let Some((text, thought)) = stream_hot::plain_text(part)
        {
            stream_hot::write_text_chunk(out, text, thought, &self.context.model, &self.id);
            return;
        }
        let chunk = write::GenerateContentResponse {
            candidates: vec![write::Candidate {
                content: write::CandidateContent {
                    role: "model",
                    parts,
                },
                finish_reason: finish,
                index: 0,
            }],
            usage_metadata,
            model_version: &self.context.model,
            response_id: &self.id,
        };
        write_event(out, &chunk);
    }

    /// Writes every held part, each in a chunk of its own, but the last part's tail (see the
    /// module documentation).
    fn flush_ready(&mut self, out: &mut Vec<u8>) {
        let Some(last) = self.held.pop() else {
            return;
        };
        let ready = std::mem::take(&mut self.held);
        for part in ready {
            self.chunk(vec![part], None, None, out);
        }
        let mut last = last;
        if let Some(sent) = split_tail(&mut last) {
            self.chunk(vec![sent], None, None, out);
        }
        self.held.push(last);
    }

    fn finish(&mut self, finish: &Finish, final_usage: &Usage, out: &mut Vec<u8>) {
        self.parts.finish(&mut self.held);
        let mut usage = self.start_usage;
        usage.merge(final_usage);
        let reason = finish_reason::for_client(finish, self.parts.wrote_calls());
        let parts = std::mem::take(&mut self.held);
        self.chunk(parts, Some(reason), Some(usage::encode(&usage)), out);
        self.done = true;
    }
}

impl StreamEncode for StreamEncoder {
    fn push(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match event {
            StreamEvent::Start { id, usage, .. } => {
                self.id = client_id("", id, &self.context);
                self.start_usage = *usage;
            }
            StreamEvent::BlockStart { .. }
            | StreamEvent::BlockDelta { .. }
            | StreamEvent::BlockStop { .. } => {
                self.parts.push(event, &mut self.held);
                self.flush_ready(out);
            }
            StreamEvent::KeepAlive => out.extend_from_slice(KEEP_ALIVE),
            StreamEvent::Finish { finish, usage } => self.finish(finish, usage, out),
            StreamEvent::Error(error) => {
                for part in std::mem::take(&mut self.held) {
                    self.chunk(vec![part], None, None, out);
                }
                write_error(error, &self.context.request_id, out);
                self.done = true;
            }
        }
    }
}

/// Splits a text part before its last character: returns the part to send now and leaves the
/// tail in `part`. Any other part (a call, a signature on empty text) stays whole (`None`).
fn split_tail(part: &mut Part<'static>) -> Option<Part<'static>> {
    if part.function_call.is_some() {
        return None;
    }
    let text = part.text.as_deref()?;
    let at = text
        .char_indices()
        .last()
        .map(|(at, _)| at)
        .filter(|at| *at > 0)?;
    let (sent, tail) = text.split_at(at);
    let sent = Part {
        text: Some(sent.to_owned().into()),
        thought: part.thought,
        thought_signature: part.thought_signature.take(),
        ..Part::default()
    };
    part.text = Some(tail.to_owned().into());
    Some(sent)
}

fn write_event<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    out.extend_from_slice(b"data: ");
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(EVENT_END);
}

/// The in-band error event.
pub fn write_error(error: &ApiError, request_id: &str, out: &mut Vec<u8>) {
    write_event(out, &errors::error_body(error, request_id));
}
