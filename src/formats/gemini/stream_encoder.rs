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

use std::borrow::Cow;

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
    /// The end of every text chunk, for `id` (see [`stream_hot::text_chunk_end`]).
    text_chunk_end: Vec<u8>,
    /// Usage known at `Start`, merged under the final usage.
    start_usage: Usage,
    done: bool,
}

impl StreamEncoder {
    pub fn new(context: ResponseContext) -> StreamEncoder {
        let id = client_id("", "", &context);
        let text_chunk_end = stream_hot::text_chunk_end(&context.model, &id);
        StreamEncoder {
            context,
            id,
            parts: ClientParts::new(),
            held: Vec::new(),
            text_chunk_end,
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
            stream_hot::write_text_chunk_ending(out, text, thought, &self.text_chunk_end);
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

    /// What `push` and [`StreamEncoder::flush_ready`] do with a plain text (or thought) part,
    /// without building it: the held parts go out whole, the new text but its last character,
    /// which is held in the buffer of a part just written.
    fn push_plain(&mut self, text: &str, thought: Option<bool>, out: &mut Vec<u8>) {
        // The usual case, one plain part held (the previous delta's last character): it goes
        // out, and the part, left where it is, takes this delta's last character.
        if let [part] = self.held.as_mut_slice()
            && let Some((held, held_thought)) = stream_hot::plain_text(part)
        {
            stream_hot::write_text_chunk_ending(out, held, held_thought, &self.text_chunk_end);
            let tail = write_all_but_last_char(text, thought, &self.text_chunk_end, out);
            let buffer = match part.text.take() {
                Some(Cow::Owned(mut buffer)) => {
                    buffer.clear();
                    buffer.push_str(tail);
                    buffer
                }
                _ => tail.to_owned(),
            };
            part.text = Some(Cow::Owned(buffer));
            part.thought = thought;
            return;
        }
        let mut held = std::mem::take(&mut self.held);
        let mut spare = None;
        for part in held.drain(..) {
            if let Some((text, thought)) = stream_hot::plain_text(&part) {
                stream_hot::write_text_chunk_ending(out, text, thought, &self.text_chunk_end);
                if let Some(Cow::Owned(buffer)) = part.text {
                    spare = Some(buffer);
                }
            } else {
                self.chunk(vec![part], None, None, out);
            }
        }
        let tail = write_all_but_last_char(text, thought, &self.text_chunk_end, out);
        let mut buffer = spare.unwrap_or_default();
        buffer.clear();
        buffer.push_str(tail);
        held.push(Part {
            text: Some(Cow::Owned(buffer)),
            thought,
            ..Part::default()
        });
        self.held = held;
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
                self.text_chunk_end = stream_hot::text_chunk_end(&self.context.model, &self.id);
                self.start_usage = *usage;
            }
            StreamEvent::BlockDelta { .. }
                if let Some((text, thought)) = self.parts.plain_delta(event) =>
            {
                self.push_plain(text, thought, out);
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
    let at = Some(last_char_start(text)).filter(|at| *at > 0)?;
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

/// Writes the chunk of `text` but its last character (none for one character), `end` ending
/// it (see [`stream_hot::text_chunk_end`]); returns that last character, which is held.
fn write_all_but_last_char<'t>(
    text: &'t str,
    thought: Option<bool>,
    end: &[u8],
    out: &mut Vec<u8>,
) -> &'t str {
    match last_char_start(text) {
        0 => text,
        at => {
            let (sent, tail) = text.split_at(at);
            stream_hot::write_text_chunk_ending(out, sent, thought, end);
            tail
        }
    }
}

/// Where the last character of `text` starts (0 for empty text).
fn last_char_start(text: &str) -> usize {
    text.char_indices().next_back().map_or(0, |(at, _)| at)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{BlockStart, Delta, FinishReason, Opaque, ToolKind, Vendor};
    use crate::error::ErrorKind;

    fn context() -> ResponseContext {
        ResponseContext {
            model: "m\"odel".into(),
            created_s: 1,
            request_id: "req".into(),
            include_usage: true,
            echo: serde_json::Map::new(),
            compaction: None,
        }
    }

    /// What `push` wrote before plain deltas had their own path: every block event through
    /// `ClientParts::push` and `flush_ready`.
    fn general(events: &[StreamEvent]) -> Vec<u8> {
        let mut encoder = StreamEncoder::new(context());
        let mut out = Vec::new();
        for event in events {
            match event {
                StreamEvent::BlockStart { .. }
                | StreamEvent::BlockDelta { .. }
                | StreamEvent::BlockStop { .. }
                    if !encoder.done =>
                {
                    encoder.parts.push(event, &mut encoder.held);
                    encoder.flush_ready(&mut out);
                }
                _ => encoder.push(event, &mut out),
            }
        }
        out
    }

    fn hot(events: &[StreamEvent]) -> Vec<u8> {
        let mut encoder = StreamEncoder::new(context());
        let mut out = Vec::new();
        for event in events {
            encoder.push(event, &mut out);
        }
        out
    }

    fn delta(index: usize, delta: Delta) -> StreamEvent {
        StreamEvent::BlockDelta { index, delta }
    }

    #[test]
    fn plain_deltas_write_what_the_general_path_writes() {
        let texts = ["a", "Hello", " wörld 👋", "é", "", "\"quoted\"\n", "x"];
        let signature = |vendor| Opaque {
            vendor,
            data: "c2lnbmF0dXJl".into(),
        };
        let mut events = vec![StreamEvent::Start {
            id: "resp\\1".into(),
            model: "up".into(),
            usage: Usage::default(),
        }];
        for (index, vendor) in [Vendor::Anthropic, Vendor::Google].into_iter().enumerate() {
            events.push(StreamEvent::BlockStart {
                index: 3 * index,
                block: BlockStart::Reasoning,
            });
            events.extend(
                texts
                    .iter()
                    .map(|t| delta(3 * index, Delta::Reasoning((*t).into()))),
            );
            events.push(delta(3 * index, Delta::Signature(signature(vendor))));
            events.push(StreamEvent::BlockStop { index: 3 * index });
            events.push(StreamEvent::BlockStart {
                index: 3 * index + 1,
                block: BlockStart::Text,
            });
            events.extend(
                texts
                    .iter()
                    .map(|t| delta(3 * index + 1, Delta::Text((*t).into()))),
            );
            // A delta of another block changes nothing.
            events.push(delta(9, Delta::Text("stray".into())));
            events.push(StreamEvent::BlockStop {
                index: 3 * index + 1,
            });
            events.push(StreamEvent::BlockStart {
                index: 3 * index + 2,
                block: BlockStart::ToolCall {
                    id: "call".into(),
                    name: "f".into(),
                    kind: ToolKind::Function,
                },
            });
            events.push(delta(3 * index + 2, Delta::ToolArguments("{}".into())));
            events.push(StreamEvent::BlockStop {
                index: 3 * index + 2,
            });
        }
        events.push(StreamEvent::BlockStart {
            index: 7,
            block: BlockStart::Text,
        });
        events.extend(texts.iter().map(|t| delta(7, Delta::Refusal((*t).into()))));
        let finished: Vec<StreamEvent> = events
            .iter()
            .cloned()
            .chain([StreamEvent::Finish {
                finish: Finish::new(FinishReason::EndTurn),
                usage: Usage::default(),
            }])
            .collect();
        let failed: Vec<StreamEvent> = events
            .iter()
            .cloned()
            .chain([StreamEvent::Error(ApiError::new(
                ErrorKind::Overloaded,
                "busy",
            ))])
            .collect();
        for events in [finished, failed] {
            for end in 0..=events.len() {
                let events = &events[..end];
                assert_eq!(
                    String::from_utf8(hot(events)).unwrap(),
                    String::from_utf8(general(events)).unwrap(),
                    "{end}"
                );
            }
        }
    }
}
