//! `StreamDecoder`: a Gemini upstream's `alt=sse` stream as canonical [`StreamEvent`]s.
//!
//! Each event is a whole `GenerateContentResponse` holding only the new parts, with running
//! usage totals (the latest replaces the earlier) and, on the last, the `finishReason`. There
//! is no terminal event: the stream ends at EOF, so `Finish` is emitted by
//! [`StreamDecode::finish`], and only if a `finishReason` (or a prompt block) was seen; a
//! stream that ends without one, an `{"error": ...}` event, or an unreadable event end in
//! `Error`.

use std::collections::BTreeSet;

use super::output::PartsReader;
use super::wire::read::{self, GenerateContentResponse};
use super::{finish_reason, stream_hot, usage};
use crate::canonical::{StreamEvent, Usage};
use crate::error::{ApiError, ErrorKind, from_upstream};
use crate::format::WireFormat;
use crate::formats::StreamDecode;
use crate::sse::SseEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitingStart,
    Streaming,
    Done,
}

#[derive(Debug)]
pub struct StreamDecoder {
    phase: Phase,
    parts: PartsReader,
    /// The latest running totals.
    usage: read::UsageMetadata,
    finish_reason: Option<String>,
    block_reason: Option<String>,
    /// The distinct Google Search queries grounding ran (Google bills each; chunks may repeat
    /// them), at most [`MAX_QUERIES`] kept.
    search_queries: BTreeSet<String>,
    /// Queries past the cap, counted without being kept.
    more_queries: u64,
}

/// Search queries kept to tell repeats apart (a bound on memory; more are still counted).
const MAX_QUERIES: usize = 256;

impl Default for StreamDecoder {
    fn default() -> Self {
        StreamDecoder::new()
    }
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder {
            phase: Phase::AwaitingStart,
            parts: PartsReader::new(),
            usage: read::UsageMetadata::default(),
            finish_reason: None,
            block_reason: None,
            search_queries: BTreeSet::new(),
            more_queries: 0,
        }
    }

    /// The searches grounding ran so far, if any.
    fn search_calls(&self) -> Option<u64> {
        let calls = (self.search_queries.len() as u64).saturating_add(self.more_queries);
        (calls > 0).then_some(calls)
    }

    fn fail(&mut self, error: ApiError, out: &mut Vec<StreamEvent>) {
        self.phase = Phase::Done;
        out.push(StreamEvent::Error(error));
    }

    /// Reads one chunk (also a whole answer, see `response::decode_response`).
    pub fn chunk(&mut self, chunk: GenerateContentResponse, out: &mut Vec<StreamEvent>) {
        if let Some(usage) = chunk.usage_metadata {
            self.usage = usage;
        }
        if self.phase == Phase::AwaitingStart {
            self.phase = Phase::Streaming;
            let response_id = chunk.response_id.unwrap_or_default();
            self.parts.set_scope(&response_id);
            let known = usage::decode(&self.usage);
            out.push(StreamEvent::Start {
                id: response_id,
                model: chunk.model_version.unwrap_or_default(),
                usage: Usage {
                    output_tokens: None,
                    reasoning_tokens: None,
                    ..known
                },
            });
        }
        if let Some(blocked) = chunk.prompt_feedback.and_then(|f| f.block_reason) {
            self.block_reason = Some(blocked);
        }
        // Only the first candidate: the gateway never asks for more.
        if let Some(candidate) = chunk.candidates.and_then(|c| c.into_iter().next()) {
            for part in candidate
                .content
                .and_then(|content| content.parts)
                .into_iter()
                .flatten()
            {
                self.parts.read(part, out);
            }
            if candidate.finish_reason.is_some() {
                self.finish_reason = candidate.finish_reason;
            }
            for query in candidate
                .grounding_metadata
                .and_then(|grounding| grounding.web_search_queries)
                .into_iter()
                .flatten()
            {
                if self.search_queries.contains(&query) {
                    continue;
                }
                if self.search_queries.len() < MAX_QUERIES {
                    self.search_queries.insert(query);
                } else {
                    self.more_queries = self.more_queries.saturating_add(1);
                }
            }
        }
    }

    /// A whole (non-streamed) answer was read: it is complete even if Gemini gave no reason.
    pub fn end_whole(&mut self, out: &mut Vec<StreamEvent>) {
        if self.finish_reason.is_none() && self.block_reason.is_none() {
            self.finish_reason = Some("STOP".to_owned());
        }
        self.end(out);
    }

    /// The answer is complete: `Finish`, or `Error` when Gemini never said it was done.
    pub fn end(&mut self, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Done {
            return;
        }
        if self.finish_reason.is_none() && self.block_reason.is_none() {
            self.fail(
                ApiError::new(
                    ErrorKind::UpstreamFailed,
                    "the upstream stream ended without a finishReason: the answer is incomplete",
                ),
                out,
            );
            return;
        }
        if self.phase == Phase::AwaitingStart {
            self.chunk(GenerateContentResponse::default(), out);
        }
        self.parts.close(out);
        self.phase = Phase::Done;
        out.push(StreamEvent::Finish {
            finish: finish_reason::decode(
                self.finish_reason.as_deref(),
                self.block_reason.as_deref(),
            ),
            usage: Usage {
                web_search_calls: self.search_calls(),
                ..usage::decode(&self.usage)
            },
        });
    }
}

impl StreamDecode for StreamDecoder {
    fn push(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Done {
            return;
        }
        // Past the first chunk, a hot chunk is one part and nothing else that `chunk` reads
        // (no usage, no finish reason, no grounding; the model and id count only at the
        // start): the part goes straight to the parts reader.
        if self.phase == Phase::Streaming
            && let Some(hot) = stream_hot::read_fields(&event.data)
        {
            let part = read::Part {
                text: Some(hot.text.into_owned()),
                thought: hot.thought,
                ..read::Part::default()
            };
            self.parts.read(part, out);
            return;
        }
        // One typed parse: an `error` member (not null) makes the event an error.
        // The hot chunks are read without serde when their shape allows (see `stream_hot`).
        let parsed = stream_hot::read(&event.data)
            .map(Ok)
            .unwrap_or_else(|| serde_json::from_str::<GenerateContentResponse>(&event.data));
        match parsed {
            Ok(chunk) if chunk.error.is_some() => {
                let error = from_upstream(WireFormat::Gemini, 200, event.data.as_bytes());
                self.fail(error, out);
            }
            Ok(chunk) => self.chunk(chunk, out),
            Err(e) => {
                // Valid JSON of another shape, or no JSON at all.
                let shape = if serde_json::from_str::<serde::de::IgnoredAny>(&event.data).is_ok() {
                    "a stream event that is not a Gemini response"
                } else {
                    "an unreadable stream event"
                };
                let error = ApiError::new(
                    ErrorKind::UpstreamFailed,
                    format!("the upstream sent {shape}: {e}"),
                );
                self.fail(error, out);
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        self.end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hot chunks past the first go straight to the parts reader: the events are those of the
    /// full parse read by `chunk`.
    #[test]
    fn hot_chunks_decode_as_the_full_parse() {
        let hot = |text: &str, thought: &str| {
            format!(
                r#"{{"candidates":[{{"content":{{"role":"model","parts":[{{"text":{text}{thought}}}]}},"index":0}}],"modelVersion":"m","responseId":"r"}}"#
            )
        };
        let data = [
            hot(r#""first""#, ""),
            hot(r#""think""#, r#","thought":true"#),
            hot(r#""more \"thought\"\n""#, r#","thought":true"#),
            hot(r#""not a thought""#, r#","thought":false"#),
            hot(r#""answer \u00e9 \ud83d\ude00""#, ""),
            hot(r#""""#, ""),
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"x","thoughtSignature":"c2ln"}]},"index":0}],"modelVersion":"m","responseId":"r"}"#.to_owned(),
            hot(r#""after""#, ""),
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":5,"totalTokenCount":8},"modelVersion":"m","responseId":"r"}"#.to_owned(),
        ];
        let (mut fast, mut full) = (StreamDecoder::new(), StreamDecoder::new());
        let (mut fast_events, mut full_events) = (Vec::new(), Vec::new());
        for data in &data {
            let event = SseEvent {
                event: None,
                data: data.clone(),
            };
            fast.push(&event, &mut fast_events);
            full.chunk(serde_json::from_str(data).unwrap(), &mut full_events);
        }
        fast.finish(&mut fast_events);
        full.finish(&mut full_events);
        assert_eq!(fast_events, full_events);
        assert!(fast_events.len() > 10, "{fast_events:?}");
    }
}
