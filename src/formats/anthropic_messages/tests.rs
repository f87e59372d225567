//! Fixture and round-trip tests of the response side: upstream fixtures through the stream
//! decoder and `decode_response`, canonical streams through the stream encoder (checked
//! against the client rules of [`super::client_check`]) and `encode_response`.

use serde_json::{Value, json};

use super::client_check::check;
use super::{StreamDecoder, decode_response, encode_response};
use crate::canonical::{
    Block, BlockStart, ChatResponse, Citation, Delta, Finish, FinishReason, Opaque, ReasoningPart,
    SearchHit, ServerToolKind, ServerToolOutcome, ServerToolResult, StreamEvent, ToolCall,
    ToolKind, Usage, Vendor,
};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::StreamDecode;
use crate::sse::SseEvent;
use crate::testing::{accumulate, context, decode_every_split, encode_events, fixture};

const FORMAT: WireFormat = WireFormat::AnthropicMessages;
const MODEL: &str = "claude-sonnet-4-5-20250929";

/// Scenarios with both an `.sse` stream and a `.json` answer.
const SCENARIOS: [&str; 8] = [
    "text",
    "thinking_tools",
    "forced_tool",
    "max_tokens",
    "refusal",
    "error",
    "cached_usage",
    "web_search",
];

fn stream(name: &str) -> Vec<StreamEvent> {
    decode_every_split(
        FORMAT,
        fixture(&format!("anthropic_messages/{name}.sse")).as_bytes(),
    )
}

fn answer(name: &str) -> Result<ChatResponse, ApiError> {
    decode_response(fixture(&format!("anthropic_messages/{name}.json")).as_bytes())
}

/// Tool arguments compared as JSON values: a stream carries the upstream's own spacing
/// (`{"city": "Paris"}`), a non-stream answer an object the decoder serializes compactly.
fn normalized(response: Result<ChatResponse, ApiError>) -> Result<ChatResponse, ApiError> {
    let mut response = response?;
    for block in &mut response.blocks {
        match block {
            Block::ToolCall(call) => {
                let value: Value = serde_json::from_str(&call.arguments).unwrap();
                call.arguments = value.to_string();
            }
            Block::ServerToolCall(call) => {
                let value: Value = serde_json::from_str(&call.input).unwrap();
                call.input = value.to_string();
            }
            _ => {}
        }
    }
    Ok(response)
}

fn start(id: &str, usage: Usage) -> StreamEvent {
    StreamEvent::Start {
        id: id.into(),
        model: MODEL.into(),
        usage,
    }
}

fn block_start(index: usize, block: BlockStart) -> StreamEvent {
    StreamEvent::BlockStart { index, block }
}

fn delta(index: usize, delta: Delta) -> StreamEvent {
    StreamEvent::BlockDelta { index, delta }
}

fn stop(index: usize) -> StreamEvent {
    StreamEvent::BlockStop { index }
}

fn usage(input: u64, cache_read: u64, cache_write: u64, output: Option<u64>) -> Usage {
    Usage {
        input_tokens: Some(input),
        cache_read_tokens: Some(cache_read),
        cache_write_tokens: Some(cache_write),
        output_tokens: output,
        reasoning_tokens: None,
        ..Usage::default()
    }
}

fn finish(reason: FinishReason, raw: &str, usage: Usage) -> StreamEvent {
    StreamEvent::Finish {
        finish: Finish {
            reason,
            stop_sequence: None,
            raw: Some(raw.into()),
        },
        usage,
    }
}

fn tool(id: &str, name: &str) -> BlockStart {
    BlockStart::ToolCall {
        id: id.into(),
        name: name.into(),
        kind: ToolKind::Function,
    }
}

const SIGNATURE: &str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds8WeYlBhU7bTmRBbVSt8HRrtL4oLaE+0qUsNZhvDsxsAqI2PwS7dsYnQRNE5xfTCqKtxBLSJFC4aYeQGjGCmaf6JQ1BkGAE=";

#[test]
fn every_stream_fixture_folds_to_its_json_answer() {
    for name in SCENARIOS {
        assert_eq!(
            normalized(accumulate(&stream(name))),
            normalized(answer(name)),
            "{name}"
        );
    }
}

#[test]
fn text_stream_events() {
    assert_eq!(
        stream("text"),
        vec![
            start("msg_01XFDUDYJgAACzvnptvVoYEL", usage(25, 0, 0, None)),
            block_start(0, BlockStart::Text),
            StreamEvent::KeepAlive,
            delta(0, Delta::Text("Bonjour ! 👋 ".into())),
            delta(0, Delta::Text("Voici la traduction : ".into())),
            delta(0, Delta::Text("你好，世界".into())),
            delta(0, Delta::Text(" 🌏✨ — «prêt» ?".into())),
            stop(0),
            finish(FinishReason::EndTurn, "end_turn", usage(25, 0, 0, Some(19))),
        ]
    );
}

#[test]
fn thinking_and_parallel_tools_stream_events() {
    assert_eq!(
        stream("thinking_tools"),
        vec![
            start("msg_01Aq9w938a90dw8q", usage(1496, 1024, 0, None)),
            block_start(0, BlockStart::Reasoning),
            delta(
                0,
                Delta::Reasoning("The user wants the weather in Paris and Tokyo. ".into())
            ),
            delta(
                0,
                Delta::Reasoning("I should call get_weather for both cities in parallel.".into())
            ),
            delta(
                0,
                Delta::Signature(Opaque {
                    vendor: Vendor::Anthropic,
                    data: SIGNATURE.into(),
                })
            ),
            stop(0),
            block_start(1, BlockStart::Text),
            delta(1, Delta::Text("I'll check both cities.".into())),
            stop(1),
            block_start(2, tool("toolu_01A09q90qw90lq917835lq9", "get_weather")),
            delta(2, Delta::ToolArguments("{\"city\": ".into())),
            delta(2, Delta::ToolArguments("\"Paris\", \"unit\": \"c".into())),
            delta(2, Delta::ToolArguments("elsius\"}".into())),
            stop(2),
            block_start(3, tool("toolu_01B7x2kP9mZ3qR5sT8vW1yN4", "get_weather")),
            delta(3, Delta::ToolArguments("{\"city\": \"Tokyo\"".into())),
            delta(3, Delta::ToolArguments(", \"unit\": \"celsius\"}".into())),
            stop(3),
            finish(
                FinishReason::ToolUse,
                "tool_use",
                usage(1496, 1024, 0, Some(156))
            ),
        ]
    );
}

#[test]
fn search_blocks_stream_as_a_call_its_result_and_cited_text() {
    let events = stream("web_search");
    let id = "srvtoolu_014hJH82Qum7Td6UV8gDXThB";
    let citation = Citation {
        url: "https://weather.example/nyc".into(),
        title: Some("Weather in New York".into()),
        cited_text: Some("Sunny, 24°C".into()),
        span: None,
        opaque: Some(Opaque {
            vendor: Vendor::Anthropic,
            data: "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm".into(),
        }),
    };
    let result = ServerToolResult {
        call_id: id.into(),
        kind: ServerToolKind::WebSearch,
        outcome: ServerToolOutcome::Hits(vec![SearchHit {
            url: "https://weather.example/nyc".into(),
            title: Some("Weather in New York".into()),
            page_age: Some("2 hours ago".into()),
            opaque: Some(Opaque {
                vendor: Vendor::Anthropic,
                data: "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y2".into(),
            }),
        }]),
    };
    assert_eq!(
        &events[1..11],
        &[
            block_start(
                0,
                BlockStart::ServerToolCall {
                    id: id.into(),
                    kind: ServerToolKind::WebSearch,
                }
            ),
            delta(
                0,
                Delta::ToolArguments("{\"query\": \"weather NYC today\"}".into())
            ),
            stop(0),
            block_start(1, BlockStart::ServerToolResult(Box::new(result))),
            stop(1),
            block_start(2, BlockStart::Text),
            delta(2, Delta::Text("It is sunny in New York".into())),
            delta(2, Delta::Citation(Box::new(citation))),
            delta(2, Delta::Text(", 24°C.".into())),
            stop(2),
        ]
    );
    let Some(StreamEvent::Finish { usage, .. }) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(usage.web_search_calls, Some(1));
    assert_eq!(events.len(), 12);
}

#[test]
fn crlf_fixture_decodes_like_lf() {
    let crlf = fixture("anthropic_messages/cached_usage.sse");
    assert!(
        crlf.contains("\r\n"),
        "the fixture must keep its CRLF line endings"
    );
    let lf = crlf.replace("\r\n", "\n");
    assert_eq!(
        decode_every_split(FORMAT, lf.as_bytes()),
        stream("cached_usage")
    );
    let response = accumulate(&stream("cached_usage")).unwrap();
    assert_eq!(response.usage, usage(10_245, 10_230, 12, Some(47)));
    assert!(matches!(
        &response.blocks[0],
        Block::Reasoning(ReasoningPart {
            redacted: true,
            opaque: Some(Opaque {
                vendor: Vendor::Anthropic,
                ..
            }),
            ..
        })
    ));
}

#[test]
fn mid_stream_error_is_terminal_and_keeps_its_kind() {
    let events = stream("error");
    let Some(StreamEvent::Error(error)) = events.last() else {
        panic!("no error: {events:?}");
    };
    assert_eq!(error.kind, ErrorKind::Overloaded);
    assert_eq!(
        error.message,
        "The upstream provider is overloaded; retry shortly."
    );
    assert_eq!(answer("error").unwrap_err(), error.clone());
}

#[test]
fn eof_without_message_stop_is_an_error() {
    // The fixture is cut inside a frame: the SSE decoder still dispatches the partial frame,
    // whose JSON is unreadable; either way the stream ends in an error, never a Finish.
    let events = decode_every_split(FORMAT, fixture("anthropic_messages/eof.sse").as_bytes());
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(
        events[2],
        delta(0, Delta::Text("The first part arrived".into()))
    );
    let StreamEvent::Error(error) = &events[3] else {
        panic!("{events:?}");
    };
    assert_eq!(error.kind, ErrorKind::UpstreamFailed);
    // Cut between frames.
    let events = decode_frames(&[r#"{"type":"message_start","message":{"id":"m"}}"#]);
    assert_eq!(
        events[1],
        StreamEvent::Error(ApiError::new(
            ErrorKind::UpstreamFailed,
            "the upstream stream ended before message_stop: the answer is incomplete"
        ))
    );
}

fn decode_frames(frames: &[&str]) -> Vec<StreamEvent> {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    for data in frames {
        decoder.push(
            &SseEvent {
                event: None,
                data: (*data).to_owned(),
            },
            &mut out,
        );
    }
    decoder.finish(&mut out);
    out
}

#[test]
fn prefilled_tool_input_without_deltas_becomes_the_arguments() {
    let events = decode_frames(&[
        r#"{"type":"message_start","message":{"id":"msg_1","model":"m","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_2","name":"g","input":{}}}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
        r#"{"type":"content_block_stop","index":1}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}"#,
        r#"{"type":"message_stop"}"#,
    ]);
    assert_eq!(
        events[2],
        delta(0, Delta::ToolArguments("{\"a\":1}".into()))
    );
    assert_eq!(events[5], delta(1, Delta::ToolArguments("{}".into())));
    let response = accumulate(&events).unwrap();
    assert_eq!(response.usage.input_tokens, Some(3));
    assert_eq!(response.usage.output_tokens, Some(9));
}

#[test]
fn decoder_edge_cases() {
    // No message_start: a Start is made up so the grammar holds; pings before it are dropped.
    let events = decode_frames(&[
        r#"{"type":"ping"}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}}"#,
        r#"{"type":"content_block_delta","index":5,"delta":{"type":"text_delta","text":"lost"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"misfit"}}"#,
        r#"{"type":"some_future_event"}"#,
        r#"{}"#,
        r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"no index"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}"#,
        r#"{"type":"message_stop"}"#,
        r#"{"type":"message_start","message":{"id":"late"}}"#,
    ]);
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: String::new(),
                model: String::new(),
                usage: Usage::default()
            },
            block_start(0, BlockStart::Text),
            delta(0, Delta::Text("Hi".into())),
            stop(0),
            StreamEvent::Finish {
                finish: Finish::new(FinishReason::EndTurn),
                usage: Usage::default()
            },
        ]
    );
    // An unreadable event ends the stream.
    let events = decode_frames(&[r#"{"type":"message_start","message":{"id":"m"}}"#, "{oops"]);
    let Some(StreamEvent::Error(error)) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(error.kind, ErrorKind::UpstreamFailed);
    assert_eq!(events.len(), 2);
}

#[test]
fn error_bodies_and_garbage_from_a_non_stream_upstream() {
    let error = decode_response(
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
    )
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::ContextLengthExceeded);
    assert_eq!(
        decode_response(b"<html>").unwrap_err().kind,
        ErrorKind::UpstreamFailed
    );
    assert_eq!(
        decode_response(br#"{"id":"msg_1","content":[{"type":"text"}], "usage": 5}"#)
            .unwrap_err()
            .kind,
        ErrorKind::UpstreamFailed
    );
}

// ---- Encoders -------------------------------------------------------------------------------

fn encode(events: &[StreamEvent]) -> String {
    String::from_utf8(encode_events(FORMAT, context("claude-sonnet-4-5"), events)).unwrap()
}

#[test]
fn text_stream_golden() {
    let bytes = encode(&stream("text"));
    assert_eq!(bytes, fixture("anthropic_messages/client_text.sse"));
    check(bytes.as_bytes()).unwrap();
}

#[test]
fn thinking_and_tools_stream_golden() {
    let bytes = encode(&stream("thinking_tools"));
    assert_eq!(
        bytes,
        fixture("anthropic_messages/client_thinking_tools.sse")
    );
    check(bytes.as_bytes()).unwrap();
}

#[test]
fn thinking_and_tools_response_golden() {
    let response = answer("thinking_tools").unwrap();
    assert_eq!(
        encode_response(&response, &context("claude-sonnet-4-5")),
        json!({
            "type": "message",
            "id": "msg_01Aq9w938a90dw8q",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "The user wants the weather in Paris and Tokyo. I should call get_weather for both cities in parallel.", "signature": SIGNATURE},
                {"type": "text", "text": "I'll check both cities."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"city": "Paris", "unit": "celsius"}},
                {"type": "tool_use", "id": "toolu_01B7x2kP9mZ3qR5sT8vW1yN4", "name": "get_weather", "input": {"city": "Tokyo", "unit": "celsius"}},
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": 472, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024, "output_tokens": 156},
        })
    );
}

/// Responses the fixtures do not cover: foreign and unsigned reasoning, refusals, a forced tool
/// call reported as `stop`, odd tool ids and arguments, a matched stop sequence.
fn synthetic_responses() -> Vec<ChatResponse> {
    let openai = Opaque {
        vendor: Vendor::OpenAi,
        data: "gAAAAABencrypted".into(),
    };
    vec![
        ChatResponse {
            id: "resp_abc".into(),
            model: "gpt-5".into(),
            blocks: vec![
                Block::Reasoning(ReasoningPart {
                    text: "**Planning**".into(),
                    opaque: Some(openai.clone()),
                    redacted: false,
                }),
                Block::Reasoning(ReasoningPart {
                    text: String::new(),
                    opaque: Some(openai),
                    redacted: true,
                }),
                Block::Reasoning(ReasoningPart {
                    text: "chat reasoning_content".into(),
                    opaque: None,
                    redacted: false,
                }),
                Block::Refusal("I won't do that.".into()),
                Block::ToolCall(ToolCall {
                    id: "functions.Bash:0".into(),
                    name: "Bash".into(),
                    arguments: "{\"command\":\"ls\"}".into(),
                    kind: ToolKind::Function,
                }),
            ],
            citations: Vec::new(),
            finish: Finish {
                reason: FinishReason::EndTurn,
                stop_sequence: None,
                raw: Some("stop".into()),
            },
            usage: Usage {
                input_tokens: Some(1496),
                cache_read_tokens: Some(1024),
                cache_write_tokens: None,
                output_tokens: Some(89),
                reasoning_tokens: Some(64),
                ..Usage::default()
            },
        },
        ChatResponse {
            id: String::new(),
            model: "m".into(),
            blocks: vec![Block::Text("stopped at ###".into())],
            citations: Vec::new(),
            finish: Finish {
                reason: FinishReason::StopSequence,
                stop_sequence: Some("###".into()),
                raw: None,
            },
            usage: Usage::default(),
        },
    ]
}

fn round_trip_cases() -> Vec<(String, ChatResponse, Vec<StreamEvent>)> {
    let mut cases = Vec::new();
    for name in SCENARIOS {
        if let Ok(response) = answer(name) {
            cases.push((
                format!("{name} (decoded stream)"),
                response.clone(),
                stream(name),
            ));
            cases.push((
                format!("{name} (to_events)"),
                response.clone(),
                response.to_events(),
            ));
        }
    }
    for (i, response) in synthetic_responses().into_iter().enumerate() {
        cases.push((
            format!("synthetic {i}"),
            response.clone(),
            response.to_events(),
        ));
    }
    cases
}

#[test]
fn streaming_and_non_streaming_encoders_agree_and_read_back() {
    let ctx = context("claude-sonnet-4-5");
    for (name, response, events) in round_trip_cases() {
        let bytes = encode_events(FORMAT, ctx.clone(), &events);
        let sdk_message = check(&bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", String::from_utf8_lossy(&bytes)))
            .unwrap();
        let json = encode_response(&response, &ctx);
        assert_eq!(sdk_message, json, "{name}: the SDK's accumulated message");
        let streamed = accumulate(&decode_every_split(FORMAT, &bytes));
        let whole = decode_response(json.to_string().as_bytes());
        assert_eq!(normalized(streamed), normalized(whole), "{name}");
    }
}

#[test]
fn foreign_and_unsigned_reasoning_reaches_clients_signed() {
    let response = &synthetic_responses()[0];
    let json = encode_response(response, &context("m"));
    let content = json["content"].as_array().unwrap();
    let (opaque, text) = Opaque::from_client(
        content[0]["signature"].as_str().unwrap(),
        Some(Vendor::Anthropic),
    )
    .unwrap();
    assert_eq!(opaque.vendor, Vendor::OpenAi);
    assert_eq!(text.as_deref(), Some("**Planning**"));
    assert_eq!(content[1]["type"], "thinking");
    assert_eq!(content[1]["thinking"], "");
    let (gateway, text) = Opaque::from_client(
        content[2]["signature"].as_str().unwrap(),
        Some(Vendor::Anthropic),
    )
    .unwrap();
    assert_eq!(gateway.vendor, Vendor::Gateway);
    assert_eq!(text.as_deref(), Some("chat reasoning_content"));
    assert_eq!(
        content[3],
        json!({"type": "text", "text": "I won't do that."})
    );
    assert!(
        content[4]["id"]
            .as_str()
            .unwrap()
            .starts_with("functions_Bash_0_")
    );
    assert_eq!(json["stop_reason"], "tool_use");
    assert_eq!(
        json["usage"],
        json!({"input_tokens": 472, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024, "output_tokens": 89})
    );
    let second = encode_response(&synthetic_responses()[1], &context("m"));
    assert_eq!(second["id"], "msg_req_test");
    assert_eq!(second["stop_reason"], "stop_sequence");
    assert_eq!(second["stop_sequence"], "###");
}

#[test]
fn unparseable_tool_arguments_become_an_empty_input() {
    let response = ChatResponse {
        id: "msg_1".into(),
        model: "m".into(),
        blocks: vec![Block::ToolCall(ToolCall {
            id: "call_2".into(),
            name: "broken".into(),
            arguments: "{\"unterminated".into(),
            kind: ToolKind::Function,
        })],
        citations: Vec::new(),
        finish: Finish::new(FinishReason::ToolUse),
        usage: Usage::default(),
    };
    let json = encode_response(&response, &context("m"));
    assert_eq!(json["content"][0]["input"], json!({}));
    // The stream forwards fragments as they come (it cannot know they will not parse), as
    // Anthropic itself does when it truncates a call.
    let bytes = encode(&response.to_events());
    assert!(bytes.contains(r#""partial_json":"{\"unterminated""#));
}

#[test]
fn error_frames() {
    let error = ApiError::new(
        ErrorKind::ContextLengthExceeded,
        "input exceeds the context window",
    );
    let expected = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: input exceeds the context window\"}}\n\n";
    // Before anything else: just the error event.
    assert_eq!(encode(&[StreamEvent::Error(error.clone())]), expected);
    assert_eq!(
        String::from_utf8(WireFormat::AnthropicMessages.stream_error_frame(
            &error,
            &context("m"),
            7,
            ""
        ))
        .unwrap(),
        expected
    );
    // Mid-block: the error ends the stream; nothing is written after it.
    let bytes = encode(&[
        start("msg_1", Usage::default()),
        block_start(0, BlockStart::Text),
        delta(0, Delta::Text("partial".into())),
        StreamEvent::Error(ApiError::new(
            ErrorKind::Overloaded,
            "upstream error (HTTP 529): Overloaded",
        )),
        stop(0),
        finish(FinishReason::EndTurn, "end_turn", Usage::default()),
    ]);
    assert!(bytes.ends_with("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"upstream error (HTTP 529): Overloaded\"}}\n\n"));
    assert_eq!(check(bytes.as_bytes()), Ok(None));
}

#[test]
fn keepalives_become_pings_and_unfinished_blocks_are_closed() {
    let bytes = encode(&[
        start("msg_1", usage(10, 0, 0, None)),
        StreamEvent::KeepAlive,
        block_start(0, BlockStart::Reasoning),
        delta(0, Delta::Reasoning("hmm".into())),
        // The Finish arrives with the block still open: it is closed, signed, first.
        finish(FinishReason::EndTurn, "end_turn", usage(10, 0, 0, Some(3))),
    ]);
    assert!(bytes.contains("event: ping\ndata: {\"type\":\"ping\"}\n\n"));
    assert!(bytes.contains("\"type\":\"signature_delta\",\"signature\":\"toc1."));
    check(bytes.as_bytes()).unwrap();
}
