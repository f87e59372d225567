//! The demo provider: an upstream the gateway plays itself, so a new gateway answers before any
//! upstream key is set.
//!
//! A provider with `demo = true` is called like any other: the request is adapted to the
//! provider's `format` and "sent", and the answer goes back through the same translation,
//! metering, logging and failover as a vendor's. Only the sending differs: instead of a fetch,
//! [`answer`] reads the upstream request with the format's own request decoder and writes the
//! answer with the format's own response (or stream) encoder, the very codecs that speak that
//! format to clients. So the demo exercises every client format against any upstream format,
//! streamed and not, and no format module knows it exists.
//!
//! The answer says plainly that it is a demo, quotes the question, and reports real usage: the
//! prompt counted with the gateway's estimator ([`estimate_input_tokens`]) and the tokens of
//! the text it generated. It respects the output cap the gateway sent (a longer answer is cut
//! and ends with the format's max-tokens reason).

use crate::canonical::{
    Accumulator, BlockStart, ChatRequest, Delta, Finish, FinishReason, Role, StreamEvent, Usage,
};
use crate::error::ApiError;
use crate::estimate::text_tokens;
use crate::format::WireFormat;
use crate::formats::ResponseContext;
use crate::sse::SseEvent;
use crate::translate::Warnings;
use crate::translate::meter::estimate_input_tokens;

/// Longest excerpt of the question quoted back, in characters.
const QUOTE_CHARS: usize = 120;

/// An upstream answer the demo made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAnswer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// The demo's answer to `upstream_body`, a request in `format` (as the gateway sends it to a
/// provider of that format). `stream` says whether a stream was asked for (some formats say it
/// in the URL); `model` is the upstream model id; `created_s` the answer's time.
pub fn answer(
    format: WireFormat,
    upstream_body: &[u8],
    stream: bool,
    model: &str,
    request_id: &str,
    created_s: u64,
) -> DemoAnswer {
    let mut warnings = Warnings::new();
    let request = match format.decode_request(upstream_body, &mut warnings) {
        Ok(request) => request,
        Err(error) => return error_answer(format, &error, request_id),
    };
    let context = ResponseContext {
        model: model.to_owned(),
        created_s,
        request_id: request_id.to_owned(),
        include_usage: true,
        echo: request.client.echo.clone(),
        compaction: None,
    };
    let events = events(&request, model, request_id);
    if stream {
        let mut encoder = format.stream_encoder(context);
        let mut body = Vec::new();
        for event in &events {
            encoder.push(event, &mut body);
        }
        DemoAnswer {
            status: 200,
            content_type: "text/event-stream",
            body,
        }
    } else {
        let mut folded = Accumulator::new();
        for event in &events {
            folded.push(event);
        }
        match folded.finish() {
            Ok(response) => DemoAnswer {
                status: 200,
                content_type: "application/json",
                body: serde_json::to_vec(&format.encode_response(&response, &context))
                    .unwrap_or_default(),
            },
            Err(error) => error_answer(format, &error, request_id),
        }
    }
}

fn error_answer(format: WireFormat, error: &ApiError, request_id: &str) -> DemoAnswer {
    DemoAnswer {
        status: error.status(),
        content_type: "application/json",
        body: serde_json::to_vec(&error.to_body(format, request_id)).unwrap_or_default(),
    }
}

/// The answer's text: what the demo is, and the question quoted back.
pub fn text(request: &ChatRequest) -> String {
    let question = last_user_text(request);
    let quoted: String = question.chars().take(QUOTE_CHARS).collect();
    let ellipsis = if question.chars().count() > QUOTE_CHARS {
        "…"
    } else {
        ""
    };
    let asked = if quoted.trim().is_empty() {
        String::new()
    } else {
        format!(" You asked: “{}{ellipsis}”.", quoted.trim())
    };
    format!(
        "[Demo] This answer comes from the gateway's built-in demo provider: no model was called.{asked} Real answers come once the gateway's operator sets the upstream keys; your key, limits, usage and logs already work as they will then."
    )
}

fn last_user_text(request: &ChatRequest) -> String {
    request
        .messages
        .iter()
        .rev()
        .filter(|m| m.role == Role::User)
        .map(|m| m.text(" "))
        .find(|text| !text.is_empty())
        .unwrap_or_default()
}

/// The answer as canonical events: its words one delta each, cut at the output cap.
fn events(request: &ChatRequest, model: &str, request_id: &str) -> Vec<StreamEvent> {
    let input_tokens = estimate_input_tokens(request);
    let cap = request.max_output_tokens.unwrap_or(u64::MAX);
    let mut pieces: Vec<String> = Vec::new();
    let mut output_tokens = 0u64;
    let mut cut = false;
    for word in text(request).split_inclusive(' ') {
        let tokens = text_tokens(word);
        if output_tokens.saturating_add(tokens) > cap {
            cut = true;
            break;
        }
        output_tokens += tokens;
        pieces.push(word.to_owned());
    }
    let mut events = vec![StreamEvent::Start {
        id: format!("demo_{request_id}"),
        model: model.to_owned(),
        usage: Usage {
            input_tokens: Some(input_tokens),
            ..Usage::default()
        },
    }];
    events.push(StreamEvent::BlockStart {
        index: 0,
        block: BlockStart::Text,
    });
    events.extend(pieces.into_iter().map(|piece| StreamEvent::BlockDelta {
        index: 0,
        delta: Delta::Text(piece),
    }));
    events.push(StreamEvent::BlockStop { index: 0 });
    events.push(StreamEvent::Finish {
        finish: Finish::new(if cut {
            FinishReason::MaxTokens
        } else {
            FinishReason::EndTurn
        }),
        usage: Usage {
            input_tokens: Some(input_tokens),
            output_tokens: Some(output_tokens),
            ..Usage::default()
        },
    });
    events
}

/// Reads a demo answer back as the gateway would (for tests and for the edge's sanity): its
/// text and usage.
pub fn read_back(format: WireFormat, answer: &DemoAnswer, stream: bool) -> (String, Usage) {
    if !stream {
        return match format.decode_response(&answer.body) {
            Ok(response) => (
                response
                    .blocks
                    .iter()
                    .filter_map(|b| match b {
                        crate::canonical::Block::Text(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect(),
                response.usage,
            ),
            Err(_) => (String::new(), Usage::default()),
        };
    }
    let mut decoder = format.stream_decoder();
    let mut sse = crate::sse::SseDecoder::new();
    let mut frames: Vec<SseEvent> = Vec::new();
    sse.push(&answer.body, &mut frames);
    sse.finish(&mut frames);
    let mut events = Vec::new();
    for frame in &frames {
        decoder.push(frame, &mut events);
    }
    decoder.finish(&mut events);
    let mut text = String::new();
    let mut usage = Usage::default();
    for event in events {
        match event {
            StreamEvent::BlockDelta {
                delta: Delta::Text(t),
                ..
            } => text.push_str(&t),
            StreamEvent::Start { usage: u, .. } | StreamEvent::Finish { usage: u, .. } => {
                usage.merge(&u);
            }
            _ => {}
        }
    }
    (text, usage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Message, Part};
    use crate::formats::UpstreamTarget;

    fn request(text: &str, cap: u64, stream: bool) -> ChatRequest {
        ChatRequest {
            model: "gpt-5.3".into(),
            messages: vec![Message {
                role: Role::User,
                parts: vec![Part::Text(text.into())],
            }],
            max_output_tokens: Some(cap),
            stream,
            ..ChatRequest::default()
        }
    }

    fn upstream_body(format: WireFormat, request: &ChatRequest) -> Vec<u8> {
        let target = UpstreamTarget {
            model: "demo-up".into(),
            stream: request.stream,
            max_tokens_param: crate::formats::MaxTokensParam::MaxCompletionTokens,
            default_max_tokens: request.max_output_tokens.unwrap_or(1024),
            max_output_tokens: request.max_output_tokens,
            reasoning: false,
            cache_breakpoints: false,
            server_tools: None,
        };
        format
            .encode_request_bytes(request, &target, &mut Warnings::new())
            .unwrap()
    }

    #[test]
    fn every_format_answers_streamed_and_not_with_its_usage() {
        for format in WireFormat::ALL {
            for stream in [false, true] {
                let request = request("What is the capital of France?", 4096, stream);
                let body = upstream_body(format, &request);
                let answer = answer(format, &body, stream, "demo-up", "req1", 1_700_000_000);
                assert_eq!(answer.status, 200, "{format:?} stream={stream}");
                let (text, usage) = read_back(format, &answer, stream);
                assert!(text.starts_with("[Demo] "), "{format:?} {stream}: {text}");
                assert!(
                    text.contains("“What is the capital of France?”"),
                    "{format:?}: {text}"
                );
                assert_eq!(usage.output_tokens, Some(text_tokens_of_words(&text)));
                assert!(usage.input_tokens.is_some_and(|t| t > 0), "{format:?}");
                assert_eq!(usage.input_tokens, Some(estimate_input_tokens(&request)));
            }
        }
    }

    fn text_tokens_of_words(text: &str) -> u64 {
        text.split_inclusive(' ').map(text_tokens).sum()
    }

    #[test]
    fn a_small_cap_cuts_the_answer_with_max_tokens() {
        for format in WireFormat::ALL {
            let request = request("hi", 12, false);
            let body = upstream_body(format, &request);
            let answer = answer(format, &body, false, "demo-up", "req2", 0);
            let response = format.decode_response(&answer.body).unwrap();
            assert_eq!(
                response.finish.reason,
                FinishReason::MaxTokens,
                "{format:?}"
            );
            assert!(response.usage.output_tokens.unwrap() <= 12, "{format:?}");
        }
    }

    #[test]
    fn an_unreadable_request_is_an_error_in_the_format() {
        for format in WireFormat::ALL {
            let answer = answer(format, b"not json", false, "m", "req3", 0);
            assert_eq!(answer.status, 400, "{format:?}");
            assert!(format.decode_response(&answer.body).is_err(), "{format:?}");
        }
    }

    #[test]
    fn long_questions_are_quoted_in_part() {
        let long = "word ".repeat(100);
        let text = text(&request(&long, 10, false));
        assert!(text.contains('…'));
        assert!(text.chars().count() < 400);
    }
}
