//! Client-side encoders: exact SSE goldens, the client checker on every output, and the
//! round trip (our decoder reads back what our encoders write; streamed and non-streamed
//! answers agree).

use serde_json::{Map, Value, json};

use super::checker::check_client_stream;
use super::fixtures::{STREAM_FIXTURES, non_stream, stream};
use crate::canonical::{
    Block, BlockStart, ChatResponse, Delta, Finish, FinishReason, Opaque, ReasoningPart,
    StreamEvent, ToolCall, ToolKind, Usage, Vendor,
};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::ResponseContext;
use crate::formats::openai_responses::{decode_response, encode_response, stream_error_frame};
use crate::testing::{accumulate, context, decode_every_split, encode_events};

/// Compares `actual` with `tests/fixtures/openai_responses/<name>`; `UPDATE_GOLDENS=1`
/// rewrites the file instead.
fn golden(name: &str, actual: &[u8]) {
    let path = format!(
        "{}/tests/fixtures/openai_responses/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("golden {path}: {e}"));
    assert_eq!(
        String::from_utf8_lossy(actual),
        String::from_utf8_lossy(&expected),
        "golden {name}"
    );
}

/// A context as Codex's request would produce it.
fn codex_context() -> ResponseContext {
    let echo = json!({
        "tools": [
            {"type": "function", "name": "get_weather", "description": "Current weather for a city.",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
             "strict": false},
            {"type": "custom", "name": "apply_patch", "description": "Apply a patch."},
            {"type": "namespace", "name": "web_run", "description": "Tools in the web_run namespace.",
             "tools": [{"type": "function", "name": "run", "parameters": {"type": "object"}}]}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false,
        "prompt_cache_key": "019a-thread"
    });
    ResponseContext {
        echo: echo.as_object().cloned().unwrap_or_default(),
        ..context("gpt-5-codex")
    }
}

fn usage(input: u64, cached: u64, output: u64, reasoning: u64) -> Usage {
    Usage {
        input_tokens: Some(input),
        cache_read_tokens: Some(cached),
        cache_write_tokens: None,
        output_tokens: Some(output),
        reasoning_tokens: Some(reasoning),
        ..Usage::default()
    }
}

/// Answers built in Rust, covering what the fixtures do not: another vendor's reasoning
/// (signed, redacted, Chat's unsigned), mixed text/refusal parts, empty blocks, namespaced and
/// custom calls, every finish reason.
fn constructed() -> Vec<(&'static str, ChatResponse)> {
    let response = |id: &str, blocks: Vec<Block>, reason: FinishReason| ChatResponse {
        id: id.into(),
        model: "upstream-model".into(),
        blocks,
        citations: Vec::new(),
        finish: Finish::new(reason),
        usage: Usage {
            input_tokens: Some(1200),
            cache_read_tokens: Some(1000),
            cache_write_tokens: Some(150),
            output_tokens: Some(80),
            reasoning_tokens: None,
            ..Usage::default()
        },
    };
    let anthropic = |data: &str| Opaque {
        vendor: Vendor::Anthropic,
        data: data.into(),
    };
    vec![
        (
            "anthropic_thinking_and_tools",
            response(
                "msg_01XYZ",
                vec![
                    Block::Reasoning(ReasoningPart {
                        text: "The user wants a patch.\n\nAnd a search.".into(),
                        opaque: Some(anthropic("EqQBCgIYAhIk")),
                        redacted: false,
                    }),
                    Block::Reasoning(ReasoningPart {
                        text: String::new(),
                        opaque: Some(anthropic("EmwKAhgBEgyRedacted")),
                        redacted: true,
                    }),
                    Block::Text("Patching now.".into()),
                    Block::ToolCall(ToolCall {
                        id: "toolu_01A".into(),
                        name: "apply_patch".into(),
                        arguments: "*** Begin Patch\n*** End Patch\n".into(),
                        kind: ToolKind::Custom,
                    }),
                    Block::ToolCall(ToolCall {
                        id: "toolu_01B".into(),
                        name: "web_run__run".into(),
                        arguments: "{\"q\":\"ünïcödé ✓\"}".into(),
                        kind: ToolKind::Function,
                    }),
                ],
                FinishReason::EndTurn,
            ),
        ),
        (
            "text_refusal_mix",
            response(
                "chatcmpl-9",
                vec![
                    Block::Text("Part one.".into()),
                    Block::Refusal("Not that part.".into()),
                    Block::Text(String::new()),
                    Block::Text("Part three.".into()),
                ],
                FinishReason::StopSequence,
            ),
        ),
        (
            "chat_reasoning_then_call",
            response(
                "",
                vec![
                    Block::Reasoning(ReasoningPart {
                        text: "thinking aloud".into(),
                        opaque: Some(Opaque {
                            vendor: Vendor::Gateway,
                            data: "chat-reasoning".into(),
                        }),
                        redacted: false,
                    }),
                    Block::ToolCall(ToolCall {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        arguments: String::new(),
                        kind: ToolKind::Function,
                    }),
                ],
                FinishReason::ToolUse,
            ),
        ),
        (
            "context_window",
            response(
                "msg_02",
                vec![Block::Text("cut".into())],
                FinishReason::ContextWindowExceeded,
            ),
        ),
        (
            "anthropic_refusal",
            response("msg_03", vec![], FinishReason::ContentFilter),
        ),
        (
            "pause_turn",
            response(
                "msg_04",
                vec![Block::Text("paused".into())],
                FinishReason::PauseTurn,
            ),
        ),
    ]
}

/// Every scenario's answer: the upstream fixtures that succeed, and the constructed ones.
fn scenarios() -> Vec<(String, ChatResponse)> {
    let mut all: Vec<(String, ChatResponse)> = STREAM_FIXTURES
        .iter()
        .filter_map(|name| non_stream_ok(name).map(|r| (name.to_string(), r)))
        .collect();
    all.extend(constructed().into_iter().map(|(n, r)| (n.to_owned(), r)));
    all
}

fn non_stream_ok(name: &str) -> Option<ChatResponse> {
    if name == "eof" {
        return None;
    }
    non_stream(name).ok()
}

#[test]
fn text_stream_golden() {
    let events = stream("text");
    let bytes = encode_events(WireFormat::OpenAiResponses, context("gpt-4.1"), &events);
    golden("encoded_text.sse", &bytes);
}

#[test]
fn tools_and_reasoning_stream_golden() {
    let events = stream("tools");
    let bytes = encode_events(WireFormat::OpenAiResponses, codex_context(), &events);
    golden("encoded_tools.sse", &bytes);
}

#[test]
fn non_stream_golden() {
    let response = non_stream("tools").unwrap();
    let body = encode_response(&response, &codex_context());
    golden(
        "encoded_tools.json",
        format!("{}\n", serde_json::to_string_pretty(&body).unwrap()).as_bytes(),
    );
}

#[test]
fn every_scenario_passes_the_client_checker_and_round_trips() {
    for (name, response) in scenarios() {
        for ctx in [context("gpt-5"), codex_context()] {
            let bytes = encode_events(
                WireFormat::OpenAiResponses,
                ctx.clone(),
                &response.to_events(),
            );
            let final_response = check_client_stream(&bytes);
            let body = encode_response(&response, &ctx);
            // The streamed answer ends with exactly the non-stream object.
            assert_eq!(
                final_response, body,
                "{name}: final stream object vs non-stream"
            );
            // Our decoder reads back what we wrote, streaming and non-streaming alike.
            let streamed = accumulate(&decode_every_split(WireFormat::OpenAiResponses, &bytes));
            let whole = decode_response(body.to_string().as_bytes());
            assert_eq!(streamed, whole, "{name}: round trip");
            let whole = whole.unwrap();
            assert_eq!(
                whole.blocks.len(),
                response.blocks.len(),
                "{name}: blocks kept"
            );
            assert_eq!(
                whole.finish.resolved(whole.has_tool_calls()),
                match response.finish.resolved(response.has_tool_calls()) {
                    // Responses has no distinct status for these.
                    FinishReason::StopSequence | FinishReason::PauseTurn => FinishReason::EndTurn,
                    FinishReason::ContextWindowExceeded => FinishReason::MaxTokens,
                    other => other,
                },
                "{name}: finish"
            );
        }
    }
}

#[test]
fn reasoning_state_and_namespaces_reach_the_client() {
    let (_, response) = constructed().remove(0);
    let body = encode_response(&response, &codex_context());
    let output = body["output"].as_array().unwrap();
    // Anthropic's signed thinking travels as an envelope with the exact text.
    let envelope = output[0]["encrypted_content"].as_str().unwrap();
    let (opaque, text) = Opaque::from_client(envelope, Some(Vendor::OpenAi)).unwrap();
    assert_eq!(opaque.vendor, Vendor::Anthropic);
    assert_eq!(opaque.data, "EqQBCgIYAhIk");
    assert_eq!(
        text.as_deref(),
        Some("The user wants a patch.\n\nAnd a search.")
    );
    assert_eq!(
        output[0]["summary"],
        json!([{"type": "summary_text", "text": "The user wants a patch.\n\nAnd a search."}])
    );
    // Redacted thinking: empty summary, the envelope of its data, marked as redacted.
    assert_eq!(output[1]["summary"], json!([]));
    let (redacted, text) =
        Opaque::from_client(output[1]["encrypted_content"].as_str().unwrap(), None).unwrap();
    assert_eq!(redacted.data, "redacted:EmwKAhgBEgyRedacted");
    assert_eq!(text, None);
    // Codex sends both items back unchanged: the same two reasoning parts come out.
    let history = json!({"model": "m", "input": [
        {"type": "reasoning", "summary": output[0]["summary"], "encrypted_content": output[0]["encrypted_content"]},
        {"type": "reasoning", "summary": [], "encrypted_content": output[1]["encrypted_content"]}
    ]});
    let mut warnings = crate::translate::Warnings::new();
    let request = crate::formats::openai_responses::decode_request(
        history.to_string().as_bytes(),
        &mut warnings,
    )
    .unwrap();
    let Block::Reasoning(signed) = &response.blocks[0] else {
        panic!()
    };
    let Block::Reasoning(redacted) = &response.blocks[1] else {
        panic!()
    };
    assert_eq!(
        request.messages[0].parts,
        vec![
            crate::canonical::Part::Reasoning(signed.clone()),
            crate::canonical::Part::Reasoning(redacted.clone())
        ]
    );
    assert_eq!(
        output[3],
        json!({"id": "ctc_01XYZ_3", "type": "custom_tool_call", "status": "completed",
               "call_id": "toolu_01A", "name": "apply_patch",
               "input": "*** Begin Patch\n*** End Patch\n"})
    );
    assert_eq!(
        output[4],
        json!({"id": "fc_01XYZ_4", "type": "function_call", "status": "completed",
               "call_id": "toolu_01B", "name": "run", "namespace": "web_run",
               "arguments": "{\"q\":\"ünïcödé ✓\"}"})
    );
    assert_eq!(body["id"], "resp_01XYZ");
    assert_eq!(body["status"], "completed");
    // Without the namespace tool in the request, the flat name is all there is.
    let plain = encode_response(&response, &context("gpt-5"));
    assert_eq!(plain["output"][4]["name"], "web_run__run");
    assert_eq!(plain["output"][4].get("namespace"), None);
}

#[test]
fn response_object_defaults_and_statuses() {
    let (_, response) = constructed().remove(3);
    let body = encode_response(&response, &context("gpt-5"));
    assert_eq!(
        body,
        json!({
            "id": "resp_02", "object": "response", "created_at": 1_730_000_000u64,
            "status": "incomplete", "error": null,
            "incomplete_details": {"reason": "max_output_tokens"},
            "instructions": null, "max_output_tokens": null, "model": "gpt-5",
            "output": [{"id": "msg_02_0", "type": "message", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": "cut", "annotations": []}]}],
            "parallel_tool_calls": true, "previous_response_id": null, "reasoning": null,
            "store": false, "temperature": null, "text": {"format": {"type": "text"}},
            "tool_choice": "auto", "tools": [], "top_p": null, "truncation": "disabled",
            "usage": {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 150},
                      "output_tokens": 80, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": 1280},
            "user": null, "metadata": {}
        })
    );
    let (_, filtered) = constructed().remove(4);
    let body = encode_response(&filtered, &context("gpt-5"));
    assert_eq!(body["status"], "incomplete");
    assert_eq!(
        body["incomplete_details"],
        json!({"reason": "content_filter"})
    );
    assert_eq!(body["output"], json!([]));
    // No upstream id: the gateway's request id.
    let (_, no_id) = constructed().remove(2);
    assert_eq!(
        encode_response(&no_id, &context("gpt-5"))["id"],
        "resp_req_test"
    );
}

fn failed_event(bytes: &[u8]) -> Value {
    check_client_stream(bytes)
}

#[test]
fn errors_become_response_failed() {
    // Before Start: only `error` + `response.failed`, with the request id.
    let overflow = ApiError::new(
        ErrorKind::ContextLengthExceeded,
        "prompt is too long: 210000 tokens",
    );
    let bytes = encode_events(
        WireFormat::OpenAiResponses,
        context("gpt-5"),
        &[StreamEvent::Error(overflow.clone())],
    );
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with(
        "event: error\ndata: {\"type\":\"error\",\"sequence_number\":0,\"code\":\"context_length_exceeded\","
    ));
    assert!(text.contains(
        "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":1,"
    ));
    assert_eq!(text.matches("event: ").count(), 2);
    let response = failed_event(&bytes);
    assert_eq!(response["id"], "resp_req_test");
    assert_eq!(
        response["error"],
        json!({"code": "context_length_exceeded", "message": "prompt is too long: 210000 tokens"})
    );

    // Mid-stream: after content, with the rate-limit phrase Codex parses.
    let limited =
        ApiError::new(ErrorKind::RateLimited, "Overloaded, slow down").with_retry_after(9);
    let events = [
        StreamEvent::Start {
            id: "msg_1".into(),
            model: "m".into(),
            usage: Usage::default(),
        },
        StreamEvent::BlockStart {
            index: 0,
            block: BlockStart::Text,
        },
        StreamEvent::BlockDelta {
            index: 0,
            delta: Delta::Text("par".into()),
        },
        StreamEvent::Error(limited),
        StreamEvent::BlockStop { index: 0 },
    ];
    let bytes = encode_events(WireFormat::OpenAiResponses, context("gpt-5"), &events);
    let response = failed_event(&bytes);
    assert_eq!(response["id"], "resp_1");
    assert_eq!(
        response["error"],
        json!({"code": "rate_limit_exceeded", "message": "Overloaded, slow down. Please try again in 9s."})
    );
    // The decoder maps it back.
    let decoded = decode_every_split(WireFormat::OpenAiResponses, &bytes);
    let Some(StreamEvent::Error(error)) = decoded.last() else {
        panic!("no error: {decoded:?}")
    };
    assert_eq!(error.kind, ErrorKind::RateLimited);
    assert_eq!(error.retry_after_s, Some(9));

    for (kind, code) in [
        (ErrorKind::QuotaExhausted, "insufficient_quota"),
        (ErrorKind::Overloaded, "server_is_overloaded"),
        (ErrorKind::Timeout, "server_error"),
    ] {
        let bytes = encode_events(
            WireFormat::OpenAiResponses,
            context("gpt-5"),
            &[StreamEvent::Error(ApiError::new(kind, "x"))],
        );
        assert_eq!(failed_event(&bytes)["error"]["code"], code, "{kind:?}");
    }
}

#[test]
fn keep_alive_is_a_comment_and_events_after_the_end_are_ignored() {
    let events = [
        StreamEvent::Start {
            id: "resp_k".into(),
            model: "m".into(),
            usage: Usage::default(),
        },
        StreamEvent::KeepAlive,
        StreamEvent::Finish {
            finish: Finish::new(FinishReason::EndTurn),
            usage: usage(1, 0, 1, 0),
        },
        StreamEvent::KeepAlive,
        StreamEvent::Error(ApiError::new(ErrorKind::Internal, "late")),
    ];
    let bytes = encode_events(WireFormat::OpenAiResponses, context("gpt-5"), &events);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert_eq!(text.matches(": keep-alive\n\n").count(), 1);
    assert_eq!(text.matches("event: ").count(), 3);
    assert_eq!(check_client_stream(&bytes)["status"], "completed");
}

#[test]
fn standalone_error_frame() {
    let mut ctx = context("gpt-5");
    ctx.echo = Map::new();
    let frame = stream_error_frame(
        &ApiError::new(
            ErrorKind::UpstreamFailed,
            "upstream error: connection reset",
        ),
        &ctx,
        42,
        "resp_up123",
    );
    assert_eq!(
        String::from_utf8(frame).unwrap(),
        "event: error\ndata: {\"type\":\"error\",\"sequence_number\":42,\"code\":\"server_error\",\
         \"message\":\"upstream error: connection reset\",\"param\":null}\n\n\
         event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":43,\
         \"response\":{\"id\":\"resp_up123\",\"object\":\"response\",\"created_at\":1730000000,\
         \"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"upstream error: \
         connection reset\"},\"incomplete_details\":null,\"instructions\":null,\
         \"max_output_tokens\":null,\"model\":\"gpt-5\",\"output\":[],\"parallel_tool_calls\":true,\
         \"previous_response_id\":null,\"reasoning\":null,\"store\":false,\"temperature\":null,\
         \"text\":{\"format\":{\"type\":\"text\"}},\"tool_choice\":\"auto\",\"tools\":[],\
         \"top_p\":null,\"truncation\":\"disabled\",\"usage\":null,\"user\":null,\"metadata\":{}}}\n\n"
    );
}
