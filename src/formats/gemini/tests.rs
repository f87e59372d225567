//! Fixture and round-trip tests of the response side: upstream fixtures through the stream
//! decoder (split at every byte) and `decode_response`; canonical streams through the stream
//! encoder, checked against what the `@google/genai` SDK's stream reader and chat history
//! accept; thought signatures through other formats' clients and back.

use serde_json::{Value, json};

use super::signature::{Slot, is_synthetic, native, native_parts};
use super::{decode_response, encode_response};
use crate::canonical::{
    Block, BlockStart, ChatResponse, Delta, FinishReason, Opaque, StreamEvent, ToolKind, Usage,
    Vendor,
};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::UpstreamTarget;
use crate::sse::SseDecoder;
use crate::testing::{
    accumulate, context, decode_chunks, decode_every_split, encode_events, fixture,
};
use crate::translate::{Restore, StreamTranslator, Warnings, adapt, translate_response};

const FORMAT: WireFormat = WireFormat::Gemini;

/// Scenarios with both an `.sse` stream and a `.json` answer.
const SCENARIOS: [&str; 9] = [
    "text",
    "thinking_tools",
    "tools_no_ids",
    "text_signature",
    "max_tokens",
    "prompt_blocked",
    "safety",
    "error",
    "context_length",
];

const SIGNATURE: &str = "CsoBAXLI2nyQ8s6U0qzF3w0hN1+Xb7YhKdP4mK2o9lQ2vR8aBc3dEf4gHi5jKl6mNo7pQr8sTu9vWx0yZa1bCd2eFg3hIj4kLm5nOp6qRs7tUv8wXy9zAb0cDe1fGh2iJk3lMn4oPq5rSt6uVw7xYz8AbC9dEf0gHi1jKl2mNo3pQr4sTu5vWx6yZa7bCd8eFg9hIj0kLm==";

fn stream(name: &str) -> Vec<StreamEvent> {
    decode_every_split(FORMAT, fixture(&format!("gemini/{name}.sse")).as_bytes())
}

fn answer(name: &str) -> Result<ChatResponse, ApiError> {
    decode_response(fixture(&format!("gemini/{name}.json")).as_bytes())
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

fn tool(id: &str, name: &str) -> BlockStart {
    BlockStart::ToolCall {
        id: id.into(),
        name: name.into(),
        kind: ToolKind::Function,
    }
}

#[test]
fn every_stream_fixture_folds_to_its_json_answer() {
    for name in SCENARIOS {
        assert_eq!(accumulate(&stream(name)), answer(name), "{name}");
    }
}

#[test]
fn thinking_and_parallel_calls_with_a_signature() {
    let events = stream("thinking_tools");
    let StreamEvent::Start { id, model, usage } = &events[0] else {
        panic!("{events:?}");
    };
    assert_eq!(id, "tTCwacuEBMvnitYP06qsgQY");
    assert_eq!(model, "gemini-3-flash-preview");
    assert_eq!(usage.input_tokens, Some(412));
    assert_eq!(usage.output_tokens, None);
    assert_eq!(
        &events[1..],
        &[
            block_start(0, BlockStart::Reasoning),
            delta(
                0,
                Delta::Reasoning(
                    "**Planning the lookup**\n\nThe user wants the weather in Paris and Tokyo. "
                        .into()
                )
            ),
            delta(
                0,
                Delta::Reasoning("I should call get_weather for both cities at once.".into())
            ),
            stop(0),
            block_start(1, BlockStart::Text),
            delta(1, Delta::Text("I'll check both cities.".into())),
            stop(1),
            block_start(2, BlockStart::Reasoning),
            delta(2, Delta::Signature(native(Slot::Call, SIGNATURE))),
            stop(2),
            block_start(3, tool("x3k9p2ab", "get_weather")),
            delta(
                3,
                Delta::ToolArguments("{\"city\":\"Paris\",\"unit\":\"celsius\"}".into())
            ),
            stop(3),
            block_start(4, tool("m7q1w8zc", "get_weather")),
            delta(
                4,
                Delta::ToolArguments("{\"city\":\"Tokyo\",\"unit\":\"celsius\"}".into())
            ),
            stop(4),
            StreamEvent::Finish {
                finish: crate::canonical::Finish {
                    reason: FinishReason::EndTurn,
                    stop_sequence: None,
                    raw: Some("STOP".into()),
                },
                // Thoughts are outside candidatesTokenCount and billed as output.
                usage: Usage {
                    input_tokens: Some(412),
                    cache_read_tokens: None,
                    cache_write_tokens: None,
                    output_tokens: Some(119),
                    reasoning_tokens: Some(71),
                    ..Usage::default()
                },
            },
        ]
    );
    let response = answer("thinking_tools").unwrap();
    assert_eq!(
        response.finish.resolved(response.has_tool_calls()),
        FinishReason::ToolUse
    );
}

#[test]
fn calls_without_ids_get_stable_ones() {
    let streamed = accumulate(&stream("tools_no_ids")).unwrap();
    let ids: Vec<&str> = streamed
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::ToolCall(call) => Some(call.id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    assert!(ids.iter().all(|id| is_synthetic(id)), "{ids:?}");
    assert_eq!(Ok(streamed.clone()), answer("tools_no_ids"));
}

#[test]
fn a_text_signature_follows_its_text() {
    let response = answer("text_signature").unwrap();
    assert_eq!(response.blocks.len(), 2);
    assert_eq!(response.blocks[0], Block::Text("The answer is 42.".into()));
    let Block::Reasoning(reasoning) = &response.blocks[1] else {
        panic!("{response:?}");
    };
    assert_eq!(
        reasoning
            .opaque
            .as_ref()
            .and_then(native_parts)
            .map(|p| p.0),
        Some(Slot::Text)
    );
    assert_eq!(response.usage.output_tokens, Some(118));
}

#[test]
fn blocked_prompts_and_safety_stops_are_content_filters() {
    let blocked = answer("prompt_blocked").unwrap();
    assert!(blocked.blocks.is_empty());
    assert_eq!(blocked.finish.reason, FinishReason::ContentFilter);
    assert_eq!(blocked.finish.raw.as_deref(), Some("PROHIBITED_CONTENT"));
    assert_eq!(blocked.usage.input_tokens, Some(27));
    let safety = answer("safety").unwrap();
    assert_eq!(safety.finish.reason, FinishReason::ContentFilter);
    assert_eq!(safety.blocks, vec![Block::Text("Here is how you".into())]);
}

#[test]
fn errors_in_and_out_of_streams_keep_their_kind() {
    let events = stream("error");
    let Some(StreamEvent::Error(error)) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(error.kind, ErrorKind::Overloaded);
    assert_eq!(answer("error").unwrap_err().kind, ErrorKind::Overloaded);
    assert_eq!(
        answer("context_length").unwrap_err().kind,
        ErrorKind::ContextLengthExceeded
    );
    let events = stream("context_length");
    assert!(
        matches!(&events[..], [StreamEvent::Error(e)] if e.kind == ErrorKind::ContextLengthExceeded),
        "an error before any content leaves the gateway free to answer with a status: {events:?}"
    );
    let events = decode_every_split(FORMAT, fixture("gemini/eof.sse").as_bytes());
    assert!(
        matches!(events.last(), Some(StreamEvent::Error(e)) if e.kind == ErrorKind::UpstreamFailed),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, StreamEvent::Finish { .. }))
    );
    assert_eq!(
        decode_response(b"<html>").unwrap_err().kind,
        ErrorKind::UpstreamFailed
    );
}

#[test]
fn lf_framing_decodes_like_crlf() {
    let crlf = fixture("gemini/thinking_tools.sse");
    assert!(crlf.contains("\r\n\r\n"));
    let lf = crlf.replace("\r\n", "\n");
    assert_eq!(
        decode_chunks(FORMAT, &[lf.as_bytes()]),
        stream("thinking_tools")
    );
}

/// A grounded answer as Gemini streams it: the search queries on the candidate's
/// `groundingMetadata`, repeated on a later chunk.
const GROUNDED_SSE: &str = concat!(
    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Paris is \"}]},\"groundingMetadata\":{\"webSearchQueries\":[\"weather paris\",\"paris forecast\"]}}],\"usageMetadata\":{\"promptTokenCount\":12},\"modelVersion\":\"gemini-x\",\"responseId\":\"r1\"}\r\n\r\n",
    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"sunny.\"}]},\"finishReason\":\"STOP\",\"groundingMetadata\":{\"webSearchQueries\":[\"paris forecast\"],\"groundingChunks\":[{\"web\":{\"uri\":\"https://example.com\",\"title\":\"x\"}}]}}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":3},\"modelVersion\":\"gemini-x\",\"responseId\":\"r1\"}\r\n\r\n",
);

#[test]
fn grounding_queries_are_counted_once_each_as_web_searches() {
    let events = decode_every_split(FORMAT, GROUNDED_SSE.as_bytes());
    let finish_usage = events.iter().find_map(|event| match event {
        StreamEvent::Finish { usage, .. } => Some(*usage),
        _ => None,
    });
    assert_eq!(finish_usage.and_then(|u| u.web_search_calls), Some(2));
    assert_eq!(finish_usage.and_then(|u| u.output_tokens), Some(3));
    // The whole answer, as `generateContent` gives it.
    let whole = json!({
        "candidates": [{
            "content": {"role": "model", "parts": [{"text": "Paris is sunny."}]},
            "finishReason": "STOP",
            "groundingMetadata": {"webSearchQueries": ["weather paris"]}
        }],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 3}
    });
    let answer = decode_response(whole.to_string().as_bytes());
    assert_eq!(answer.map(|a| a.usage.web_search_calls), Ok(Some(1)));
    // No grounding: no search count at all (not a 0 that would hide "not reported").
    let plain = decode_response(fixture("gemini/text.json").as_bytes());
    assert_eq!(plain.map(|a| a.usage.web_search_calls), Ok(None));
}

// ---- The client side ------------------------------------------------------------------------

/// What `@google/genai` 3.3.0 does with a stream (`processStreamResponse`, `chats.ts`): split
/// events on `\n\n`/`\r\r`/`\r\n\r\n`, keep `data:` events (throwing on `{"error"}` ones),
/// refuse a non-empty unterminated tail; a chat records the answer only if every chunk has a
/// candidate with non-empty parts and one has a `finishReason`. Returns the chunks, or the
/// error the SDK throws.
fn sdk_chunks(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut buffer = text.to_owned();
    let mut chunks = Vec::new();
    loop {
        let next = ["\n\n", "\r\r", "\r\n\r\n"]
            .iter()
            .filter_map(|d| buffer.find(d).map(|at| (at, d.len())))
            .min();
        let Some((at, len)) = next else {
            break;
        };
        let event = buffer[..at].trim().to_owned();
        buffer = buffer[at + len..].to_owned();
        if let Some(data) = event.strip_prefix("data:") {
            let chunk: Value = serde_json::from_str(data.trim()).map_err(|e| e.to_string())?;
            if chunk["error"]["code"].is_u64() {
                return Err(format!("ApiError {}", chunk["error"]["code"]));
            }
            chunks.push(chunk);
        }
    }
    if !buffer.trim().is_empty() {
        return Err("Incomplete JSON segment at the end".into());
    }
    Ok(chunks)
}

/// Every chunk valid for the SDK's chat history, the last with a `finishReason`; returns the
/// parts of the answer as the history keeps them.
fn chat_history_parts(chunks: &[Value]) -> Vec<Value> {
    assert!(!chunks.is_empty());
    let mut parts = Vec::new();
    for (n, chunk) in chunks.iter().enumerate() {
        let candidate = &chunk["candidates"][0];
        let chunk_parts = candidate["content"]["parts"]
            .as_array()
            .unwrap_or_else(|| panic!("chunk {n} has no parts: {chunk}"));
        assert!(!chunk_parts.is_empty(), "chunk {n}");
        for part in chunk_parts {
            assert!(part.as_object().is_some_and(|p| !p.is_empty()));
            let call = &part["functionCall"];
            if !call.is_null() {
                assert!(call["args"].is_object(), "a whole call: {part}");
                assert!(call["name"].is_string());
            }
        }
        assert_eq!(
            chunk["candidates"][0]["finishReason"].is_string(),
            n + 1 == chunks.len()
        );
        assert_eq!(chunk["modelVersion"], "gemini-public");
        parts.extend(chunk_parts.iter().cloned());
    }
    parts
}

fn translate(client: WireFormat, upstream: WireFormat, sse: &[u8]) -> Vec<u8> {
    let mut translator = StreamTranslator::new(
        client,
        upstream,
        client == upstream,
        Restore::default(),
        context("gemini-public"),
    );
    let mut out = Vec::new();
    translator.push(sse, &mut out);
    translator.finish(&mut out);
    out
}

#[test]
fn every_upstream_fixture_reaches_the_sdk_as_a_valid_stream() {
    for (dir, upstream) in [
        ("anthropic_messages", WireFormat::AnthropicMessages),
        ("openai_chat", WireFormat::OpenAiChat),
        ("openai_responses", WireFormat::OpenAiResponses),
        ("gemini", WireFormat::Gemini),
    ] {
        for name in [
            "text",
            "thinking_tools",
            "tools",
            "reasoning_tools",
            "max_tokens",
        ] {
            let path = format!(
                "{}/tests/fixtures/{dir}/{name}.sse",
                env!("CARGO_MANIFEST_DIR")
            );
            let Ok(sse) = std::fs::read(&path) else {
                continue;
            };
            let bytes = translate(FORMAT, upstream, &sse);
            let chunks = sdk_chunks(&bytes).unwrap_or_else(|e| panic!("{dir}/{name}: {e}"));
            if upstream != FORMAT {
                chat_history_parts(&chunks);
                assert!(bytes.ends_with(b"\r\n\r\n"));
            }
        }
    }
}

#[test]
fn stream_and_whole_answer_encoders_agree() {
    for name in [
        "thinking_tools",
        "text_signature",
        "tools_no_ids",
        "max_tokens",
        "prompt_blocked",
    ] {
        let response = answer(name).unwrap();
        let bytes = encode_events(FORMAT, context("gemini-public"), &stream(name));
        let streamed = accumulate(&decode_every_split(FORMAT, &bytes)).unwrap();
        let json = encode_response(&response, &context("gemini-public"));
        let whole = decode_response(json.to_string().as_bytes()).unwrap();
        assert_eq!(streamed, whole, "{name}");
        assert_eq!(
            whole.blocks, response.blocks,
            "{name}: Gemini's own state comes back"
        );
    }
}

#[test]
fn the_whole_answer_golden() {
    let json = encode_response(
        &answer("thinking_tools").unwrap(),
        &context("gemini-public"),
    );
    assert_eq!(
        json,
        json!({
            "candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "**Planning the lookup**\n\nThe user wants the weather in Paris and Tokyo. I should call get_weather for both cities at once.", "thought": true},
                    {"text": "I'll check both cities."},
                    {"functionCall": {"id": "x3k9p2ab", "name": "get_weather", "args": {"city": "Paris", "unit": "celsius"}}, "thoughtSignature": SIGNATURE},
                    {"functionCall": {"id": "m7q1w8zc", "name": "get_weather", "args": {"city": "Tokyo", "unit": "celsius"}}}
                ]},
                "finishReason": "STOP",
                "index": 0
            }],
            "usageMetadata": {"promptTokenCount": 412, "candidatesTokenCount": 48, "thoughtsTokenCount": 71, "totalTokenCount": 531},
            "modelVersion": "gemini-public",
            "responseId": "tTCwacuEBMvnitYP06qsgQY"
        })
    );
}

#[test]
fn keep_alives_and_errors_as_the_sdks_read_them() {
    let mut out = Vec::new();
    let mut encoder = FORMAT.stream_encoder(context("gemini-public"));
    for event in &stream("text")[..3] {
        encoder.push(event, &mut out);
    }
    encoder.push(&StreamEvent::KeepAlive, &mut out);
    encoder.push(&StreamEvent::KeepAlive, &mut out);
    encoder.push(
        &StreamEvent::Error(ApiError::new(ErrorKind::Overloaded, "busy")),
        &mut out,
    );
    let text = String::from_utf8(out.clone()).unwrap();
    // The first text at once (but its last character), then two keep-alives (bare line breaks).
    assert!(text.contains("}\r\n\r\n\r\n\r\ndata: "), "{text:?}");
    assert!(text.ends_with("\"status\":\"UNAVAILABLE\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"OVERLOADED\",\"domain\":\"gateway\",\"metadata\":{\"request_id\":\"req_test\"}},{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"1s\"}]}}\r\n\r\n"), "{text}");
    assert_eq!(sdk_chunks(&out), Err("ApiError 503".into()));
    // The text went out before the error: all but its last character at once, that with it.
    let mut decoder = SseDecoder::new();
    let mut frames = Vec::new();
    decoder.push(&out, &mut frames);
    assert_eq!(frames.len(), 3);
    assert!(
        frames[0].data.contains("\"text\":\"Bonjour ! 👋\""),
        "{}",
        frames[0].data
    );
    assert!(
        frames[1].data.contains("\"text\":\" \""),
        "{}",
        frames[1].data
    );
    assert_eq!(
        FORMAT.stream_error_frame(
            &ApiError::new(ErrorKind::Overloaded, "busy"),
            &context("m"),
            3,
            "id"
        ),
        out[out.len()
            - FORMAT
                .stream_error_frame(
                    &ApiError::new(ErrorKind::Overloaded, "busy"),
                    &context("m"),
                    3,
                    "id"
                )
                .len()..]
            .to_vec()
    );
}

// ---- Thought signatures across formats ------------------------------------------------------

fn target(model: &str) -> UpstreamTarget {
    UpstreamTarget {
        model: model.into(),
        stream: true,
        max_tokens_param: crate::formats::MaxTokensParam::MaxCompletionTokens,
        default_max_tokens: 8192,
        max_output_tokens: Some(8192),
        reasoning: true,
        cache_breakpoints: false,
        server_tools: None,
    }
}

/// A Gemini answer read by a client of `client`'s format, as that client's assistant turn
/// (its own non-stream answer, read from the translated stream), then the turn's tool results,
/// sent back to a Gemini upstream: the Gemini request that goes out.
fn gemini_round_trip(client: WireFormat, assistant_and_results: impl Fn(&Value) -> Value) -> Value {
    let sse = fixture("gemini/thinking_tools.sse");
    let bytes = translate(client, FORMAT, sse.as_bytes());
    let answer = accumulate(&decode_chunks(client, &[&bytes])).unwrap();
    let client_answer = client.encode_response(&answer, &context("gemini-public"));
    let body = assistant_and_results(&client_answer);
    let request = client
        .decode_request(&serde_json::to_vec(&body).unwrap(), &mut Warnings::new())
        .unwrap();
    let (adapted, _) = adapt::for_upstream(request, FORMAT);
    FORMAT
        .encode_request(
            &adapted,
            &target("gemini-3-flash-preview"),
            &mut Warnings::new(),
        )
        .unwrap()
}

fn assert_signature_back_on_the_first_call(sent: &Value) {
    let model = &sent["contents"][1];
    assert_eq!(model["role"], "model");
    let calls: Vec<&Value> = model["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p.get("functionCall").is_some())
        .collect();
    assert_eq!(calls.len(), 2, "{sent}");
    assert_eq!(calls[0]["thoughtSignature"], SIGNATURE, "{sent}");
    assert!(calls[1].get("thoughtSignature").is_none(), "{sent}");
    assert_eq!(calls[0]["functionCall"]["id"], "x3k9p2ab");
    let responses = sent["contents"][2]["parts"].as_array().unwrap();
    assert_eq!(responses[0]["functionResponse"]["id"], "x3k9p2ab");
    assert_eq!(responses[0]["functionResponse"]["name"], "get_weather");
    assert_eq!(responses[1]["functionResponse"]["id"], "m7q1w8zc");
    crate::translate::recorded_clients::check_gemini(sent, "round trip");
}

#[test]
fn a_gemini_signature_crosses_an_anthropic_client_intact() {
    let sent = gemini_round_trip(WireFormat::AnthropicMessages, |message| {
        json!({
            "model": "gemini-public", "max_tokens": 1000,
            "messages": [
                {"role": "user", "content": "Weather in Paris and Tokyo?"},
                {"role": "assistant", "content": message["content"]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "x3k9p2ab", "content": "18C"},
                    {"type": "tool_result", "tool_use_id": "m7q1w8zc", "content": "24C"}
                ]}
            ]
        })
    });
    assert_signature_back_on_the_first_call(&sent);
}

#[test]
fn a_gemini_signature_crosses_a_responses_client_intact() {
    let sent = gemini_round_trip(WireFormat::OpenAiResponses, |response| {
        let mut input = vec![json!({"role": "user", "content": "Weather in Paris and Tokyo?"})];
        input.extend(response["output"].as_array().unwrap().iter().cloned());
        input.push(json!({"type": "function_call_output", "call_id": "x3k9p2ab", "output": "18C"}));
        input.push(json!({"type": "function_call_output", "call_id": "m7q1w8zc", "output": "24C"}));
        json!({"model": "gemini-public", "input": input})
    });
    assert_signature_back_on_the_first_call(&sent);
}

#[test]
fn anthropic_signatures_cross_a_gemini_client_intact() {
    let sse = fixture("anthropic_messages/thinking_tools.sse");
    let bytes = translate(FORMAT, WireFormat::AnthropicMessages, sse.as_bytes());
    let chunks = sdk_chunks(&bytes).unwrap();
    // The SDK's chat history: the answer's parts, thought parts dropped as Gemini CLI does.
    let parts: Vec<Value> = chat_history_parts(&chunks)
        .into_iter()
        .filter(|p| p["thought"] != true)
        .collect();
    let calls: Vec<&Value> = parts
        .iter()
        .filter(|p| p.get("functionCall").is_some())
        .collect();
    let responses: Vec<Value> = calls
        .iter()
        .map(|c| json!({"functionResponse": {"id": c["functionCall"]["id"], "name": c["functionCall"]["name"], "response": {"output": "18C"}}}))
        .collect();
    let body = json!({
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris and Tokyo?"}]},
            {"role": "model", "parts": parts},
            {"role": "user", "parts": responses}
        ],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 4096, "includeThoughts": true}}
    });
    let request = FORMAT
        .decode_request(&serde_json::to_vec(&body).unwrap(), &mut Warnings::new())
        .unwrap();
    let upstream = WireFormat::AnthropicMessages;
    let (adapted, _) = adapt::for_upstream(request, upstream);
    let mut warnings = Warnings::new();
    let sent = upstream
        .encode_request(&adapted, &target("claude"), &mut warnings)
        .unwrap();
    let assistant = &sent["messages"][1]["content"];
    assert_eq!(assistant[0]["type"], "thinking", "{sent}");
    assert_eq!(
        assistant[0]["signature"],
        "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds8WeYlBhU7bTmRBbVSt8HRrtL4oLaE+0qUsNZhvDsxsAqI2PwS7dsYnQRNE5xfTCqKtxBLSJFC4aYeQGjGCmaf6JQ1BkGAE="
    );
    assert_eq!(
        assistant[0]["thinking"],
        "The user wants the weather in Paris and Tokyo. I should call get_weather for both cities in parallel."
    );
    assert_eq!(assistant[2]["type"], "tool_use");
    assert_eq!(assistant[2]["id"], "toolu_01A09q90qw90lq917835lq9");
    assert!(sent["thinking"].is_object(), "thinking stays on: {sent}");
    assert!(
        !warnings
            .header_value()
            .unwrap_or_default()
            .contains("no-valid-signature"),
        "{:?}",
        warnings.header_value()
    );
}

#[test]
fn foreign_state_on_a_gemini_client_is_enveloped_and_gemini_state_is_bare() {
    let bytes = translate(
        FORMAT,
        WireFormat::OpenAiResponses,
        fixture("openai_responses/tools.sse").as_bytes(),
    );
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\"thoughtSignature\":\"toc1."), "{text}");
    let openai = Opaque {
        vendor: Vendor::OpenAi,
        data: "gAAAA".into(),
    };
    let (value, slot) = super::signature::to_client(&openai, "t", false);
    assert!(value.starts_with("toc1.") && slot.is_none());
    let passthrough = translate(
        FORMAT,
        FORMAT,
        fixture("gemini/thinking_tools.sse").as_bytes(),
    );
    assert!(!String::from_utf8(passthrough).unwrap().contains("toc1."));
}

#[test]
fn a_non_gemini_client_gets_a_gemini_answer() {
    let (body, meter) = translate_response(
        WireFormat::OpenAiChat,
        FORMAT,
        fixture("gemini/thinking_tools.json").as_bytes(),
        &Restore::default(),
        &context("gemini-public"),
    );
    let chat: Value = serde_json::from_slice(&body.unwrap()).unwrap();
    assert_eq!(chat["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        chat["choices"][0]["message"]["tool_calls"][0]["id"],
        "x3k9p2ab"
    );
    assert_eq!(chat["usage"]["completion_tokens"], 119);
    assert_eq!(
        chat["usage"]["completion_tokens_details"]["reasoning_tokens"],
        71
    );
    assert_eq!(meter.usage.output_tokens, Some(119));
}

#[test]
fn forwarded_answers_name_the_clients_model() {
    let streamed = translate(
        FORMAT,
        FORMAT,
        fixture("gemini/thinking_tools.sse").as_bytes(),
    );
    let streamed = String::from_utf8(streamed).unwrap();
    assert!(!streamed.contains("gemini-3-flash-preview"), "{streamed}");
    assert_eq!(
        streamed
            .matches("\"modelVersion\":\"gemini-public\"")
            .count(),
        4
    );
    let (whole, _) = translate_response(
        FORMAT,
        FORMAT,
        fixture("gemini/thinking_tools.json").as_bytes(),
        &Restore::default(),
        &context("gemini-public"),
    );
    let whole: Value = serde_json::from_slice(&whole.unwrap()).unwrap();
    assert_eq!(whole["modelVersion"], "gemini-public");
}

#[test]
fn text_goes_out_at_once_but_for_its_last_character() {
    let mut encoder = FORMAT.stream_encoder(context("gemini-public"));
    let mut out = Vec::new();
    for event in [
        StreamEvent::Start {
            id: "r".into(),
            model: "m".into(),
            usage: Usage::default(),
        },
        block_start(0, BlockStart::Text),
        delta(0, Delta::Text("Héllo wörld".into())),
    ] {
        encoder.push(&event, &mut out);
    }
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.contains("\"text\":\"Héllo wörl\""), "{text}");
    assert!(!text.contains("finishReason"));
    encoder.push(&delta(0, Delta::Text("!".into())), &mut out);
    encoder.push(&stop(0), &mut out);
    encoder.push(
        &StreamEvent::Finish {
            finish: crate::canonical::Finish::new(FinishReason::EndTurn),
            usage: Usage::default(),
        },
        &mut out,
    );
    let chunks = sdk_chunks(&out).unwrap();
    let parts = chat_history_parts(&chunks);
    let texts: Vec<&str> = parts.iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Héllo wörl", "d", "!"]);
}

#[test]
fn the_bundled_catalog_serves_gemini_models_from_google() {
    let config = crate::config::Config::load(None).unwrap();
    for id in [
        "gemini-3.1-pro-preview",
        "gemini-4-argon",
        "gemini-3.5-flash",
    ] {
        let route = config.routes(id).next().unwrap_or_else(|| panic!("{id}"));
        assert_eq!(route.provider.format, FORMAT, "{id}");
        assert_eq!(
            route.provider.endpoint(&route.model.upstream, true),
            format!(
                "https://generativelanguage.googleapis.com/v1beta/models/{}:streamGenerateContent?alt=sse",
                route.model.upstream
            )
        );
        assert!(route.model.reasoning);
    }
}
