//! Golden fixtures, stream/non-stream agreement and round trips for the response side.

use serde_json::{Value, json};

use super::client_check::{check_stream, snapshot_of};
use super::{StreamDecoder, decode_response, encode_response, stream_error_frame};
use crate::canonical::{
    Block, BlockStart, ChatResponse, Delta, Finish, FinishReason, Opaque, ReasoningPart,
    StreamEvent, ToolCall, ToolKind, Usage, Vendor,
};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat::OpenAiChat;
use crate::formats::{ResponseContext, StreamDecode};
use crate::sse::SseEvent;
use crate::testing::{
    accumulate, context, decode_chunks, decode_every_split, encode_events, fixture,
};

/// Scenarios with a stream fixture and the equivalent non-stream answer.
const ANSWERS: [&str; 8] = [
    "text",
    "reasoning_tools",
    "forced_tool",
    "max_tokens",
    "refusal",
    "content_filter",
    "no_usage",
    "quirky_tools",
];

fn stream_fixture(name: &str) -> Vec<StreamEvent> {
    decode_every_split(
        OpenAiChat,
        fixture(&format!("openai_chat/{name}.sse")).as_bytes(),
    )
}

fn json_fixture(name: &str) -> Result<ChatResponse, ApiError> {
    decode_response(fixture(&format!("openai_chat/{name}.json")).as_bytes())
}

fn start(id: &str, model: &str) -> StreamEvent {
    StreamEvent::Start {
        id: id.into(),
        model: model.into(),
        usage: Usage::default(),
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

fn call_start(index: usize, id: &str, name: &str) -> StreamEvent {
    block_start(
        index,
        BlockStart::ToolCall {
            id: id.into(),
            name: name.into(),
            kind: ToolKind::Function,
        },
    )
}

fn args(index: usize, fragment: &str) -> StreamEvent {
    delta(index, Delta::ToolArguments(fragment.into()))
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

// ----------------------------------------------------------------------------------------------
// Upstream fixtures → canonical
// ----------------------------------------------------------------------------------------------

#[test]
fn every_stream_fixture_folds_to_its_non_stream_answer() {
    for name in ANSWERS {
        let streamed = accumulate(&stream_fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let whole = json_fixture(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(streamed, whole, "{name}");
    }
}

#[test]
fn text_fixture_events() {
    assert_eq!(
        stream_fixture("text"),
        vec![
            start(
                "chatcmpl-C9tXq2uV7wLmN4pRsT8yZ1aB3cD5e",
                "gpt-4.1-2025-04-14"
            ),
            block_start(0, BlockStart::Text),
            delta(0, Delta::Text("Bonjour 👋".into())),
            delta(0, Delta::Text("! 你好，".into())),
            delta(0, Delta::Text("世界 🌍。".into())),
            stop(0),
            finish(
                FinishReason::EndTurn,
                "stop",
                Usage {
                    input_tokens: Some(2048),
                    cache_read_tokens: Some(1920),
                    cache_write_tokens: None,
                    output_tokens: Some(12),
                    reasoning_tokens: Some(0),
                    ..Usage::default()
                }
            ),
        ]
    );
}

#[test]
fn reasoning_and_parallel_tools_fixture_events() {
    assert_eq!(
        stream_fixture("reasoning_tools"),
        vec![
            start("5f0e7c1a-3b2d-4e8f-9a6b-1c2d3e4f5a6b", "deepseek-reasoner"),
            block_start(0, BlockStart::Reasoning),
            delta(0, Delta::Reasoning("The user wants the weather".into())),
            delta(
                0,
                Delta::Reasoning(" in Paris and Tokyo; two calls.".into())
            ),
            stop(0),
            block_start(1, BlockStart::Text),
            delta(1, Delta::Text("Let me check both cities.".into())),
            stop(1),
            call_start(2, "call_00_Qm9vTg4bVq1c", "get_weather"),
            args(2, "{\"city\": "),
            args(2, "\"Paris\"}"),
            // The second call is held back while the first is open, then flushed whole.
            stop(2),
            call_start(3, "call_01_Zx8pLr2wKd5e", "get_weather"),
            args(3, "{\"city\": \"Tokyo\"}"),
            stop(3),
            finish(
                FinishReason::ToolUse,
                "tool_calls",
                Usage {
                    input_tokens: Some(412),
                    cache_read_tokens: Some(384),
                    cache_write_tokens: None,
                    output_tokens: Some(187),
                    reasoning_tokens: Some(121),
                    ..Usage::default()
                }
            ),
        ]
    );
}

#[test]
fn forced_tool_fixture_keeps_the_upstream_stop_and_reports_tool_calls_to_clients() {
    let events = stream_fixture("forced_tool");
    assert_eq!(
        events,
        vec![
            start(
                "chatcmpl-C9tY0aFk3Lw9nB2xQe7rT5uV1mZ4p",
                "gpt-4.1-2025-04-14"
            ),
            call_start(0, "call_Kp2vX9sLmQ4wRt7yBn3cHd6f", "get_weather"),
            args(0, "{\""),
            args(0, "city"),
            args(0, "\":\""),
            args(0, "Berlin"),
            args(0, "\"}"),
            stop(0),
            finish(
                FinishReason::EndTurn,
                "stop",
                Usage {
                    input_tokens: Some(96),
                    cache_read_tokens: Some(0),
                    cache_write_tokens: None,
                    output_tokens: Some(18),
                    reasoning_tokens: Some(0),
                    ..Usage::default()
                }
            ),
        ]
    );
    let body = encode_response(&json_fixture("forced_tool").unwrap(), &context("m"));
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn quirky_tool_stream_events() {
    assert_eq!(
        stream_fixture("quirky_tools"),
        vec![
            start("chatcmpl-quirk-91b2c3d4", "gemini-2.5-flash"),
            // Opens once the name arrives in the second chunk, with the buffered fragment.
            call_start(0, "call_a", "search"),
            args(0, "{\"q\":"),
            args(0, "\"rust\"}"),
            stop(0),
            call_start(1, "call_b", "fetch"),
            args(1, "{\"url\":\"x\"}"),
            stop(1),
            call_start(2, "call_c", "open"),
            args(2, "{\"p\":1}"),
            stop(2),
            finish(
                FinishReason::ToolUse,
                "tool_calls",
                Usage {
                    input_tokens: Some(120),
                    output_tokens: Some(40),
                    ..Usage::default()
                }
            ),
        ]
    );
}

#[test]
fn other_fixtures_map_finish_and_usage() {
    let last_finish = |name: &str| match stream_fixture(name).pop() {
        Some(StreamEvent::Finish { finish, usage }) => (finish, usage),
        other => panic!("{name}: {other:?}"),
    };
    let (finish, usage) = last_finish("max_tokens");
    assert_eq!(finish.reason, FinishReason::MaxTokens);
    // Groq reports usage in `x_groq`.
    assert_eq!(
        (usage.input_tokens, usage.output_tokens),
        (Some(31), Some(16))
    );
    let (finish, _) = last_finish("content_filter");
    assert_eq!(finish.reason, FinishReason::ContentFilter);
    let (finish, usage) = last_finish("no_usage");
    assert_eq!(finish.reason, FinishReason::StopSequence);
    assert_eq!(finish.stop_sequence.as_deref(), Some("###"));
    assert_eq!(usage, Usage::default());
    let refusal = json_fixture("refusal").unwrap();
    assert_eq!(
        refusal.blocks,
        vec![Block::Refusal("I'm sorry, I can't help with that.".into())]
    );
    // Azure's leading prompt_filter_results chunk (no id, no choices) does not start the answer.
    assert_eq!(
        stream_fixture("content_filter")[0],
        start("chatcmpl-AzR3kT9mN2pQ5sV8wY1bC4eF7hJ", "gpt-4o-2024-11-20")
    );
}

#[test]
fn mid_stream_error_fixture() {
    let events = stream_fixture("error_mid_stream");
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(events[2], delta(0, Delta::Text("Here is the first".into())));
    assert_eq!(events[3], delta(0, Delta::Text(" part of".into())));
    let Some(StreamEvent::Error(streamed)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(streamed.kind, ErrorKind::UpstreamFailed);
    assert_eq!(
        streamed.message,
        "The upstream provider could not serve this model for the gateway (HTTP 500). If it persists, tell the gateway's operator the x-request-id of this response."
    );
    let whole = json_fixture("error_mid_stream").unwrap_err();
    assert_eq!(whole.kind, streamed.kind);
    assert_eq!(accumulate(&events).unwrap_err(), *streamed);
}

#[test]
fn eof_without_terminal_event_is_an_error() {
    let events = stream_fixture("eof_no_terminal");
    assert_eq!(
        events[..4],
        [
            start(
                "gen-1756300500-aB3cD5eF7gH9iJ1kL3mN",
                "anthropic/claude-sonnet-4.5"
            ),
            block_start(0, BlockStart::Reasoning),
            delta(0, Delta::Reasoning("Thinking about".into())),
            delta(0, Delta::Reasoning(" the answer.".into())),
        ]
    );
    let Some(StreamEvent::Error(error)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(error.kind, ErrorKind::UpstreamFailed);
    assert_eq!(events.len(), 8, "{events:?}");
}

// ----------------------------------------------------------------------------------------------
// Stream decoder edge cases
// ----------------------------------------------------------------------------------------------

fn decode_str(body: &str) -> Vec<StreamEvent> {
    decode_chunks(OpenAiChat, &[body.as_bytes()])
}

fn chunk(delta: Value, finish_reason: Value) -> String {
    format!(
        "data: {}\n\n",
        json!({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",
            "choices":[{"index":0,"delta":delta,"finish_reason":finish_reason}]})
    )
}

#[test]
fn done_without_finish_reason_is_a_normal_stop_and_done_first_is_an_error() {
    let body = chunk(json!({"content":"hi"}), Value::Null) + "data: [DONE]\n\n";
    assert_eq!(
        decode_str(&body),
        vec![
            start("c1", "m"),
            block_start(0, BlockStart::Text),
            delta(0, Delta::Text("hi".into())),
            stop(0),
            StreamEvent::Finish {
                finish: Finish::new(FinishReason::EndTurn),
                usage: Usage::default()
            },
        ]
    );
    let events = decode_str("data: [DONE]\n\n");
    assert!(matches!(&events[..], [StreamEvent::Error(e)] if e.kind == ErrorKind::UpstreamFailed));
    // Nothing after the terminal event counts.
    let body = chunk(json!({}), json!("stop"))
        + "data: [DONE]\n\n"
        + &chunk(json!({"content":"x"}), Value::Null);
    assert_eq!(decode_str(&body).len(), 2);
}

#[test]
fn in_band_errors_are_classified() {
    let cases = [
        (
            r#"data: {"error":{"message":"Rate limit reached","type":"rate_limit_error","code":"rate_limit_exceeded"}}"#,
            ErrorKind::RateLimited,
        ),
        (
            r#"data: {"error":{"code":429,"message":"Provider returned error"}}"#,
            ErrorKind::RateLimited,
        ),
        (
            r#"data: {"error":{"code":502,"message":"Bad gateway"}}"#,
            ErrorKind::Overloaded,
        ),
        (
            r#"data: {"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
            ErrorKind::ContextLengthExceeded,
        ),
        (
            "event: error\ndata: {\"message\":\"overloaded\",\"type\":\"overloaded_error\"}",
            ErrorKind::Overloaded,
        ),
        ("data: upstream went away", ErrorKind::UpstreamFailed),
    ];
    for (frame, kind) in cases {
        let body = chunk(json!({"content":"a"}), Value::Null) + frame + "\n\n";
        let events = decode_str(&body);
        match events.last() {
            Some(StreamEvent::Error(error)) => assert_eq!(error.kind, kind, "{frame}"),
            other => panic!("{frame}: {other:?}"),
        }
        assert_eq!(events.len(), 4, "{frame}");
    }
}

#[test]
fn legacy_custom_and_foreign_choice_deltas() {
    let body = chunk(
        json!({"role":"assistant","function_call":{"name":"lookup","arguments":""}}),
        Value::Null,
    ) + &chunk(json!({"function_call":{"arguments":"{}"}}), Value::Null)
        + &chunk(
            json!({"tool_calls":[{"index":1,"id":"call_p","type":"custom","custom":{"name":"apply_patch","input":""}}]}),
            Value::Null,
        )
        + &chunk(
            json!({"tool_calls":[{"index":1,"custom":{"input":"*** Begin"}}]}),
            Value::Null,
        )
        + "data: {\"id\":\"c1\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other choice\"}}]}\n\n"
        + &chunk(json!({}), json!("function_call"))
        + "data: [DONE]\n\n";
    assert_eq!(
        decode_str(&body),
        vec![
            start("c1", "m"),
            call_start(0, "call_0", "lookup"),
            args(0, "{}"),
            stop(0),
            block_start(
                1,
                BlockStart::ToolCall {
                    id: "call_p".into(),
                    name: "apply_patch".into(),
                    kind: ToolKind::Custom
                }
            ),
            args(1, "*** Begin"),
            stop(1),
            finish(FinishReason::ToolUse, "function_call", Usage::default()),
        ]
    );
}

#[test]
fn legacy_function_call_waits_for_finish_when_its_id_never_comes() {
    // The legacy call has no id: it starts at the finish with a generated one.
    let body = chunk(
        json!({"function_call":{"name":"f","arguments":"{\"a\""}}),
        Value::Null,
    ) + &chunk(
        json!({"function_call":{"arguments":":1}"}}),
        json!("function_call"),
    );
    let events = decode_str(&body);
    assert_eq!(events[1], call_start(0, "call_0", "f"));
    assert_eq!(events[2], args(0, "{\"a\":1}"));
}

#[test]
fn nameless_calls_are_left_out_and_text_closes_an_open_call() {
    let body = chunk(json!({"tool_calls":[{"index":0,"id":"call_x","function":{"name":"f","arguments":"{"}}]}), Value::Null)
        + &chunk(json!({"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}), Value::Null)
        + &chunk(json!({"content":"after"}), Value::Null)
        // A fragment for a call whose block is closed has nowhere to go.
        + &chunk(json!({"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}), json!("tool_calls"));
    assert_eq!(
        decode_str(&body),
        vec![
            start("c1", "m"),
            call_start(0, "call_x", "f"),
            args(0, "{"),
            stop(0),
            block_start(1, BlockStart::Text),
            delta(1, Delta::Text("after".into())),
            stop(1),
            finish(FinishReason::ToolUse, "tool_calls", Usage::default()),
        ]
    );
}

#[test]
fn decoder_is_inert_after_an_error() {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    let frame = |data: &str| SseEvent {
        event: None,
        data: data.into(),
    };
    decoder.push(&frame("not json"), &mut out);
    decoder.push(
        &frame(&chunk(json!({"content":"x"}), Value::Null)[6..]),
        &mut out,
    );
    decoder.finish(&mut out);
    assert_eq!(out.len(), 1);
    assert!(
        matches!(&out[0], StreamEvent::Error(e) if e.message.starts_with("the upstream sent an unreadable stream chunk"))
    );
}

// ----------------------------------------------------------------------------------------------
// Non-stream decoding
// ----------------------------------------------------------------------------------------------

#[test]
fn decode_response_errors() {
    let error = decode_response(
        br#"{"error":{"message":"maximum context length is 128000 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
    )
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::ContextLengthExceeded);
    let error =
        decode_response(br#"{"id":"x","object":"chat.completion","choices":[]}"#).unwrap_err();
    assert_eq!(
        (error.kind, error.message.as_str()),
        (
            ErrorKind::UpstreamFailed,
            "the upstream answered without any choice"
        )
    );
    let error = decode_response(b"<html>502</html>").unwrap_err();
    assert_eq!(error.kind, ErrorKind::UpstreamFailed);
    assert!(
        error
            .message
            .starts_with("the upstream answered with an unreadable chat completion")
    );
}

#[test]
fn decode_response_variants() {
    let response = decode_response(
        br#"{"id":"r","model":"m","choices":[{"index":0,"finish_reason":"function_call","message":{
            "role":"assistant","reasoning":"hmm","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],
            "tool_calls":[{"type":"custom","id":"call_1","custom":{"name":"apply_patch","input":"*** Begin"}},
                          {"function":{"name":"f","arguments":"{}"}}],
            "function_call":{"name":"legacy","arguments":"{\"x\":1}"}}}]}"#,
    )
    .unwrap();
    assert_eq!(
        response,
        ChatResponse {
            id: "r".into(),
            model: "m".into(),
            blocks: vec![
                Block::Reasoning(ReasoningPart {
                    text: "hmm".into(),
                    opaque: None,
                    redacted: false
                }),
                Block::Text("ab".into()),
                Block::ToolCall(ToolCall {
                    id: "call_1".into(),
                    name: "apply_patch".into(),
                    arguments: "*** Begin".into(),
                    kind: ToolKind::Custom
                }),
                Block::ToolCall(ToolCall {
                    id: "call_1".into(),
                    name: "f".into(),
                    arguments: "{}".into(),
                    kind: ToolKind::Function
                }),
                Block::ToolCall(ToolCall {
                    id: "call_0".into(),
                    name: "legacy".into(),
                    arguments: "{\"x\":1}".into(),
                    kind: ToolKind::Function
                }),
            ],
            citations: Vec::new(),
            finish: Finish {
                reason: FinishReason::ToolUse,
                stop_sequence: None,
                raw: Some("function_call".into())
            },
            usage: Usage::default(),
        }
    );
}

// ----------------------------------------------------------------------------------------------
// Client encoding
// ----------------------------------------------------------------------------------------------

fn sample_response() -> ChatResponse {
    ChatResponse {
        id: "msg_01XYZ".into(),
        model: "claude-sonnet-4-5".into(),
        blocks: vec![
            Block::Reasoning(ReasoningPart {
                text: "Weather needs a tool.".into(),
                opaque: Some(Opaque {
                    vendor: Vendor::Anthropic,
                    data: "EqQBCgIYAh".into(),
                }),
                redacted: false,
            }),
            Block::Reasoning(ReasoningPart {
                text: String::new(),
                opaque: Some(Opaque {
                    vendor: Vendor::Anthropic,
                    data: "redacted".into(),
                }),
                redacted: true,
            }),
            Block::Text("Let me check.".into()),
            Block::ToolCall(ToolCall {
                id: "toolu_01A".into(),
                name: "get_weather".into(),
                arguments: "{\"city\":\"Paris\"}".into(),
                kind: ToolKind::Function,
            }),
            Block::Text("And the patch.".into()),
            Block::ToolCall(ToolCall {
                id: "toolu_01B".into(),
                name: "apply_patch".into(),
                arguments: "*** Begin Patch\n".into(),
                kind: ToolKind::Custom,
            }),
        ],
        citations: Vec::new(),
        finish: Finish {
            reason: FinishReason::ToolUse,
            stop_sequence: None,
            raw: Some("tool_use".into()),
        },
        usage: Usage {
            input_tokens: Some(1496),
            cache_read_tokens: Some(1024),
            cache_write_tokens: Some(0),
            output_tokens: Some(89),
            reasoning_tokens: Some(64),
            ..Usage::default()
        },
    }
}

#[test]
fn encode_response_exact_json() {
    assert_eq!(
        encode_response(&sample_response(), &context("claude-sonnet")),
        json!({
            "id": "chatcmpl-01XYZ",
            "object": "chat.completion",
            "created": 1_730_000_000,
            "model": "claude-sonnet",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me check.\n\nAnd the patch.",
                    "refusal": null,
                    "tool_calls": [
                        {"id": "toolu_01A", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                        {"id": "toolu_01B", "type": "custom",
                         "custom": {"name": "apply_patch", "input": "*** Begin Patch\n"}}
                    ],
                    "reasoning_content": "Weather needs a tool."
                },
                "logprobs": null,
                "finish_reason": "tool_calls"
            }],
            "usage": {
                "prompt_tokens": 1496,
                "completion_tokens": 89,
                "total_tokens": 1585,
                "prompt_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 64}
            }
        })
    );
}

#[test]
fn encode_response_without_text_or_tools() {
    let response = ChatResponse {
        id: String::new(),
        model: "m".into(),
        blocks: vec![Block::Refusal("No.".into())],
        citations: Vec::new(),
        finish: Finish::new(FinishReason::ContentFilter),
        usage: Usage::default(),
    };
    let body = encode_response(&response, &context("m"));
    assert_eq!(body["id"], "chatcmpl-req_test");
    assert_eq!(
        body["choices"][0]["message"],
        json!({"role":"assistant","content":null,"refusal":"No."})
    );
    assert_eq!(body["choices"][0]["finish_reason"], "content_filter");
}

/// Compares `actual` with the golden file; `OPENAI_CHAT_BLESS=1` rewrites the file instead.
fn assert_golden(name: &str, actual: &[u8]) {
    let path = format!(
        "{}/tests/fixtures/openai_chat/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("OPENAI_CHAT_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = fixture(&format!("openai_chat/{name}"));
    assert_eq!(
        std::str::from_utf8(actual).unwrap(),
        expected,
        "golden {name} differs"
    );
}

#[test]
fn stream_encoder_goldens() {
    let text = encode_events(OpenAiChat, context("gpt-test"), &stream_fixture("text"));
    assert_golden("encoded_text.sse", &text);
    let tools = encode_events(
        OpenAiChat,
        context("gpt-test"),
        &stream_fixture("reasoning_tools"),
    );
    assert_golden("encoded_reasoning_tools.sse", &tools);
    let mut no_usage = context("gpt-test");
    no_usage.include_usage = false;
    let forced = encode_events(OpenAiChat, no_usage, &stream_fixture("forced_tool"));
    assert_golden("encoded_forced_tool_without_usage.sse", &forced);
    let sample = encode_events(
        OpenAiChat,
        context("claude-sonnet"),
        &sample_response().to_events(),
    );
    assert_golden("encoded_mixed_blocks.sse", &sample);
}

/// What a Chat client can tell apart: one reasoning text, one content text, one refusal, then
/// the tool calls. A response whose text and tool calls interleave (Anthropic's shape) streams
/// as text, call, text, call; a Chat client concatenates the texts, and so does this.
fn chat_shape(response: ChatResponse) -> ChatResponse {
    let mut reasoning = String::new();
    let mut text = String::new();
    let mut refusal = String::new();
    let mut calls = Vec::new();
    for block in response.blocks {
        match block {
            Block::Reasoning(part) => reasoning.push_str(&part.text),
            Block::Text(more) => text.push_str(&more),
            Block::Refusal(more) => refusal.push_str(&more),
            Block::ToolCall(call) => calls.push(Block::ToolCall(call)),
            Block::ServerToolCall(_) | Block::ServerToolResult(_) => {}
        }
    }
    let mut blocks = Vec::new();
    if !reasoning.is_empty() {
        blocks.push(Block::Reasoning(ReasoningPart {
            text: reasoning,
            ..ReasoningPart::default()
        }));
    }
    if !text.is_empty() {
        blocks.push(Block::Text(text));
    }
    if !refusal.is_empty() {
        blocks.push(Block::Refusal(refusal));
    }
    blocks.extend(calls);
    ChatResponse { blocks, ..response }
}

/// Every scenario, streamed and not, reads back the same through this format's own decoders,
/// and passes the client checks.
#[test]
fn round_trips_agree_and_pass_client_checks() {
    let mut responses: Vec<(String, ChatResponse)> = ANSWERS
        .iter()
        .map(|name| (name.to_string(), json_fixture(name).unwrap()))
        .collect();
    responses.push(("sample".into(), sample_response()));
    for (name, response) in responses {
        for include_usage in [true, false] {
            let ctx = ResponseContext {
                include_usage,
                ..context("client-model")
            };
            let body = encode_response(&response, &ctx);
            let non_stream = decode_response(body.to_string().as_bytes()).unwrap();
            let expected_stream = ChatResponse {
                usage: if include_usage {
                    non_stream.usage
                } else {
                    Usage::default()
                },
                ..non_stream.clone()
            };
            let mut sources = vec![response.to_events()];
            if name != "sample" {
                sources.push(stream_fixture(&name));
            }
            for events in sources {
                let bytes = encode_events(OpenAiChat, ctx.clone(), &events);
                let client = check_stream(&bytes, include_usage);
                let message = &body["choices"][0]["message"];
                assert_eq!(
                    Value::Object(client.message),
                    Value::Object(snapshot_of(message)),
                    "{name}"
                );
                assert_eq!(
                    client.finish_reason.as_deref(),
                    body["choices"][0]["finish_reason"].as_str(),
                    "{name}"
                );
                assert_eq!(client.id, body["id"], "{name}");
                assert_eq!(client.model, "client-model");
                assert_eq!(client.created, 1_730_000_000);
                assert_eq!(
                    client.usage,
                    include_usage.then(|| body["usage"].clone()),
                    "{name}"
                );
                let streamed = accumulate(&decode_every_split(OpenAiChat, &bytes)).unwrap();
                if name == "sample" {
                    assert_eq!(
                        chat_shape(streamed),
                        expected_stream,
                        "{name} {include_usage}"
                    );
                } else {
                    assert_eq!(streamed, expected_stream, "{name} {include_usage}");
                }
            }
        }
    }
}

#[test]
fn errors_keep_alives_and_late_events() {
    let error = ApiError::new(ErrorKind::Overloaded, "every upstream is busy");
    let expected_error = "data: {\"error\":{\"message\":\"every upstream is busy\",\"type\":\"server_error\",\"param\":null,\"code\":\"overloaded\"}}\n\n";
    // An error before anything else.
    let bytes = encode_events(
        OpenAiChat,
        context("m"),
        &[StreamEvent::Error(error.clone())],
    );
    assert_eq!(std::str::from_utf8(&bytes).unwrap(), expected_error);
    assert_eq!(
        stream_error_frame(&error, &context("m"), 7, ""),
        expected_error.as_bytes()
    );
    // An error mid-stream ends it: no [DONE], nothing after.
    let events = [
        start("chatcmpl-1", "up"),
        StreamEvent::KeepAlive,
        block_start(0, BlockStart::Text),
        delta(0, Delta::Text("par".into())),
        StreamEvent::Error(error.clone()),
        stop(0),
        StreamEvent::Finish {
            finish: Finish::new(FinishReason::EndTurn),
            usage: Usage::default(),
        },
    ];
    let bytes = encode_events(OpenAiChat, context("m"), &events);
    let client = check_stream(&bytes, true);
    assert_eq!(client.message["content"], "par");
    assert_eq!(client.error.unwrap()["code"], "overloaded");
    assert_eq!(client.comments, 1);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\n\n: keep-alive\n\n"), "{text}");
    assert!(text.ends_with(expected_error), "{text}");
    // Events after the finish are ignored.
    let mut events = sample_response().to_events();
    events.push(delta(0, Delta::Text("late".into())));
    events.push(StreamEvent::Error(error));
    let bytes = encode_events(OpenAiChat, context("m"), &events);
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .ends_with("data: [DONE]\n\n")
    );
}

/// Every prefix of every non-stream fixture is an answer or an error, never a panic.
#[test]
fn truncated_answers_never_panic() {
    for name in ANSWERS {
        let body = fixture(&format!("openai_chat/{name}.json"));
        for end in 0..body.len() {
            let _ = decode_response(&body.as_bytes()[..end]);
        }
    }
}
