//! Upstream golden fixtures (`tests/fixtures/openai_responses/*.sse|json`): every byte split of
//! each stream decodes alike, the text and tool streams decode to exactly the expected events,
//! and each stream folds to what its non-stream twin decodes to.

use crate::canonical::{
    Block, BlockStart, ChatResponse, Citation, Delta, Finish, FinishReason, Opaque, ReasoningPart,
    SearchHit, ServerToolKind, ServerToolOutcome, ServerToolResult, StreamEvent, ToolCall,
    ToolKind, Usage, Vendor,
};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::openai_responses::decode_response;
use crate::testing::{accumulate, decode_every_split, fixture};

pub const STREAM_FIXTURES: [&str; 12] = [
    "text",
    "web_search",
    "tools",
    "forced_tool",
    "custom_tool",
    "max_tokens",
    "refusal",
    "content_filter",
    "failed",
    "rate_limited",
    "context_length",
    "eof",
];

pub fn stream(name: &str) -> Vec<StreamEvent> {
    let body = fixture(&format!("openai_responses/{name}.sse"));
    decode_every_split(WireFormat::OpenAiResponses, body.as_bytes())
}

pub fn non_stream(name: &str) -> Result<ChatResponse, ApiError> {
    decode_response(fixture(&format!("openai_responses/{name}.json")).as_bytes())
}

fn start(id: &str, model: &str) -> StreamEvent {
    StreamEvent::Start {
        id: id.into(),
        model: model.into(),
        usage: Usage::default(),
    }
}

fn block(index: usize, block: BlockStart) -> StreamEvent {
    StreamEvent::BlockStart { index, block }
}

fn delta(index: usize, delta: Delta) -> StreamEvent {
    StreamEvent::BlockDelta { index, delta }
}

fn text(index: usize, fragment: &str) -> StreamEvent {
    delta(index, Delta::Text(fragment.into()))
}

fn stop(index: usize) -> StreamEvent {
    StreamEvent::BlockStop { index }
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

fn call(id: &str, name: &str, kind: ToolKind) -> BlockStart {
    BlockStart::ToolCall {
        id: id.into(),
        name: name.into(),
        kind,
    }
}

#[test]
fn text_stream_decodes_to_exact_events() {
    let mut expected = vec![
        start(
            "resp_68c0a1b2c3d48190a5e6f7a8b9c0d1e2",
            "gpt-4.1-2025-04-14",
        ),
        block(0, BlockStart::Text),
    ];
    for fragment in [
        "Hello",
        "!",
        " 你好",
        "，世界",
        " 👋🏽",
        " —",
        " naïve",
        " café",
        ", ∑ ≠ ∞.",
    ] {
        expected.push(text(0, fragment));
    }
    expected.push(stop(0));
    expected.push(finish(
        FinishReason::EndTurn,
        "completed",
        usage(24, 0, 19, 0),
    ));
    assert_eq!(stream("text"), expected);
}

#[test]
fn tools_stream_decodes_to_exact_events() {
    let reasoning = |fragment: &str| delta(0, Delta::Reasoning(fragment.into()));
    let arguments = |index, fragment: &str| delta(index, Delta::ToolArguments(fragment.into()));
    let expected = vec![
        start("resp_68c0b2c3d4e58190b6f7a8b9c0d1e2f3", "gpt-5-2025-08-07"),
        block(0, BlockStart::Reasoning),
        reasoning("**Checking"),
        reasoning(" the weather**\n\nThe user wants"),
        reasoning(" Paris and Tokyo."),
        reasoning("\n\n"),
        reasoning("**Planning"),
        reasoning(" calls**\n\nTwo parallel lookups."),
        delta(
            0,
            Delta::Signature(Opaque {
                vendor: Vendor::OpenAi,
                data: "gAAAAABowLIhY2F0X2VuY3J5cHRlZF9yZWFzb25pbmdfc3RhdGVfMDAx_Xk9PQ==".into(),
            }),
        ),
        stop(0),
        block(1, BlockStart::Text),
        text(1, "Let me"),
        text(1, " check both"),
        text(1, " cities."),
        stop(1),
        block(2, call("call_Paris7Qw", "get_weather", ToolKind::Function)),
        arguments(2, "{\"city\":"),
        arguments(2, "\"Paris\"}"),
        stop(2),
        block(3, call("call_Tokyo8Zr", "get_weather", ToolKind::Function)),
        arguments(3, "{\"city\":"),
        arguments(3, "\"東京\"}"),
        stop(3),
        finish(
            FinishReason::ToolUse,
            "completed",
            usage(1496, 1024, 189, 128),
        ),
    ];
    assert_eq!(stream("tools"), expected);
}

#[test]
fn custom_and_namespaced_calls_and_signature_only_reasoning() {
    let patch = "*** Begin Patch\n*** Update File: src/main.rs\n@@\n-fn main() {}\n+fn main() {\n+    println!(\"hi\");\n+}\n*** End Patch\n";
    let expected = ChatResponse {
        id: "resp_68c0d4e5f6a78190d8b9c0d1e2f3a4b5".into(),
        model: "gpt-5.1-codex".into(),
        blocks: vec![
            Block::Reasoning(ReasoningPart {
                text: String::new(),
                opaque: Some(Opaque {
                    vendor: Vendor::OpenAi,
                    data: "gAAAAABowNRlc2lnbmF0dXJlX29ubHlfcmVhc29uaW5nX3N0YXRlXzAwMg==".into(),
                }),
                redacted: false,
            }),
            Block::ToolCall(ToolCall {
                id: "call_Patch9Xy".into(),
                name: "apply_patch".into(),
                arguments: patch.into(),
                kind: ToolKind::Custom,
            }),
            Block::ToolCall(ToolCall {
                id: "call_Web2Mn".into(),
                name: "web_run__run".into(),
                arguments: "{\"q\":\"rust 2024 edition\"}".into(),
                kind: ToolKind::Function,
            }),
        ],
        citations: Vec::new(),
        finish: Finish {
            reason: FinishReason::ToolUse,
            stop_sequence: None,
            raw: Some("completed".into()),
        },
        usage: usage(20480, 19968, 412, 256),
    };
    assert_eq!(non_stream("custom_tool"), Ok(expected));
    // The namespaced call streams no argument deltas: the whole arguments come from done.
    let events = stream("custom_tool");
    assert!(events.contains(&delta(
        2,
        Delta::ToolArguments("{\"q\":\"rust 2024 edition\"}".into())
    )));
    // The signature-only block: start, signature from `done` (not `added`), stop.
    assert_eq!(events[1], block(0, BlockStart::Reasoning));
    assert!(
        matches!(&events[2], StreamEvent::BlockDelta { index: 0, delta: Delta::Signature(o) } if o.data.ends_with("XzAwMg=="))
    );
    assert_eq!(events[3], stop(0));
}

#[test]
fn terminal_and_error_fixtures() {
    let ok = |name: &str| non_stream(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(ok("max_tokens").finish.reason, FinishReason::MaxTokens);
    assert_eq!(
        ok("max_tokens").finish.raw.as_deref(),
        Some("max_output_tokens")
    );
    assert_eq!(
        ok("content_filter").finish.reason,
        FinishReason::ContentFilter
    );
    assert_eq!(
        ok("content_filter").blocks,
        vec![Block::Text("Here is the first part of".into())]
    );
    assert_eq!(
        ok("refusal").blocks,
        vec![Block::Refusal("I'm sorry, I can't help with that.".into())]
    );
    assert_eq!(ok("forced_tool").finish.reason, FinishReason::ToolUse);

    let failed = non_stream("failed").unwrap_err();
    assert_eq!(failed.kind, ErrorKind::UpstreamFailed);
    assert!(failed.message.contains("could not serve this model"));
    let limited = non_stream("rate_limited").unwrap_err();
    assert_eq!(limited.kind, ErrorKind::RateLimited);
    assert_eq!(limited.retry_after_s, Some(3));
    let overflow = non_stream("context_length").unwrap_err();
    assert_eq!(overflow.kind, ErrorKind::ContextLengthExceeded);

    let eof = stream("eof");
    assert_eq!(
        eof.last(),
        Some(&StreamEvent::Error(ApiError::new(
            ErrorKind::UpstreamFailed,
            "the upstream stream ended before response.completed"
        )))
    );
    // The partial text was delivered before the error; no fake Finish.
    assert!(eof.contains(&text(0, "The connection drops")));
    assert!(!eof.iter().any(|e| matches!(e, StreamEvent::Finish { .. })));

    let mid_stream = stream("failed");
    assert!(mid_stream.contains(&text(0, "Partial")));
    assert!(
        matches!(mid_stream.last(), Some(StreamEvent::Error(e)) if e.kind == ErrorKind::UpstreamFailed)
    );
}

#[test]
fn web_search_stream_events() {
    let id = "ws_68c0ws0000000000000000000000000002";
    let hit = |url: &str| SearchHit {
        url: url.into(),
        title: None,
        page_age: None,
        opaque: None,
    };
    let citation = |span: (usize, usize), quote: &str, url: &str, title: &str| Citation {
        url: url.into(),
        title: Some(title.into()),
        cited_text: Some(quote.into()),
        span: Some(span),
        opaque: None,
    };
    assert_eq!(
        stream("web_search"),
        vec![
            start(
                "resp_68c0ws0000000000000000000000000001",
                "gpt-5-2025-08-07"
            ),
            block(
                0,
                BlockStart::ServerToolCall {
                    id: id.into(),
                    kind: ServerToolKind::WebSearch,
                }
            ),
            delta(
                0,
                Delta::ToolArguments(r#"{"query":"weather NYC today"}"#.into())
            ),
            stop(0),
            block(
                1,
                BlockStart::ServerToolResult(Box::new(ServerToolResult {
                    call_id: id.into(),
                    kind: ServerToolKind::WebSearch,
                    outcome: ServerToolOutcome::Hits(vec![
                        hit("https://weather.example/nyc"),
                        hit("https://news.example/nyc"),
                    ]),
                }))
            ),
            stop(1),
            block(2, BlockStart::Text),
            text(2, "Il fait 24°C à New York "),
            delta(
                2,
                Delta::Citation(Box::new(citation(
                    (8, 12),
                    "24°C",
                    "https://weather.example/nyc?utm_source=openai",
                    "NYC weather"
                )))
            ),
            text(2, "aujourd'hui, selon la météo."),
            delta(
                2,
                Delta::Citation(Box::new(citation(
                    (24, 51),
                    "aujourd'hui, selon la météo",
                    "https://news.example/nyc?utm_source=openai",
                    "NYC news"
                )))
            ),
            stop(2),
            finish(
                FinishReason::EndTurn,
                "completed",
                Usage {
                    web_search_calls: Some(1),
                    ..usage(8421, 0, 96, 0)
                }
            ),
        ]
    );
}

#[test]
fn every_stream_folds_to_its_non_stream_twin() {
    for name in STREAM_FIXTURES {
        if name == "eof" {
            assert!(accumulate(&stream(name)).is_err());
            continue;
        }
        assert_eq!(accumulate(&stream(name)), non_stream(name), "{name}");
    }
}

#[test]
fn fixtures_exercise_crlf_and_multibyte_text() {
    assert!(fixture("openai_responses/tools.sse").contains("\r\n"));
    assert!(fixture("openai_responses/text.sse").contains("👋🏽"));
}
