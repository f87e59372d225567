//! Stream decoder edge cases the fixtures do not cover: upstreams that skip events, raw
//! reasoning text, malformed frames, events after the end.

use serde_json::{Value, json};

use crate::canonical::{
    BlockStart, Delta, Finish, FinishReason, Opaque, SearchHit, ServerToolKind, ServerToolOutcome,
    ServerToolResult, StreamEvent, ToolKind, Usage, Vendor,
};
use crate::error::ErrorKind;
use crate::format::WireFormat;
use crate::testing::decode_every_split;

fn sse(events: &[Value]) -> Vec<u8> {
    let mut body = String::new();
    for event in events {
        body.push_str(&format!(
            "event: {}\ndata: {event}\n\n",
            event["type"].as_str().unwrap()
        ));
    }
    body.into_bytes()
}

fn decode(events: &[Value]) -> Vec<StreamEvent> {
    decode_every_split(WireFormat::OpenAiResponses, &sse(events))
}

fn created() -> Value {
    json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "model": "gpt-5", "status": "in_progress", "output": []}})
}

fn completed() -> Value {
    json!({"type": "response.completed", "response": {"id": "resp_1", "status": "completed", "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}}})
}

fn start() -> StreamEvent {
    StreamEvent::Start {
        id: "resp_1".into(),
        model: "gpt-5".into(),
        usage: Usage::default(),
    }
}

fn end(reason: FinishReason) -> StreamEvent {
    StreamEvent::Finish {
        finish: Finish {
            reason,
            stop_sequence: None,
            raw: Some("completed".into()),
        },
        usage: Usage {
            input_tokens: Some(5),
            output_tokens: Some(2),
            ..Usage::default()
        },
    }
}

fn delta(index: usize, delta: Delta) -> StreamEvent {
    StreamEvent::BlockDelta { index, delta }
}

#[test]
fn items_that_only_arrive_whole() {
    let events = decode(&[
        created(),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "msg_1", "type": "message", "role": "assistant", "content": []}}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "msg_1", "type": "message", "role": "assistant",
               "content": [{"type": "output_text", "text": "whole"}, {"type": "refusal", "refusal": "no"}]}}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "a"}, {"type": "summary_text", "text": "b"}], "encrypted_content": "enc"}}),
        json!({"type": "response.output_item.done", "output_index": 2, "item": {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"x\":1}", "namespace": "ns"}}),
        json!({"type": "response.output_item.done", "output_index": 3, "item": {"id": "ws_1", "type": "web_search_call", "status": "completed",
               "action": {"type": "search", "query": "q", "sources": [{"type": "url", "url": "https://a.example"}]}}}),
        json!({"type": "response.output_item.done", "output_index": 4, "item": {"id": "rs_2", "type": "reasoning", "summary": []}}),
        completed(),
    ]);
    assert_eq!(
        events,
        vec![
            start(),
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::Text
            },
            delta(0, Delta::Text("whole".into())),
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockStart {
                index: 1,
                block: BlockStart::Refusal
            },
            delta(1, Delta::Refusal("no".into())),
            StreamEvent::BlockStop { index: 1 },
            StreamEvent::BlockStart {
                index: 2,
                block: BlockStart::Reasoning
            },
            delta(2, Delta::Reasoning("a\n\nb".into())),
            delta(
                2,
                Delta::Signature(Opaque {
                    vendor: Vendor::OpenAi,
                    data: "enc".into()
                })
            ),
            StreamEvent::BlockStop { index: 2 },
            StreamEvent::BlockStart {
                index: 3,
                block: BlockStart::ToolCall {
                    id: "c".into(),
                    name: "ns__f".into(),
                    kind: ToolKind::Function
                }
            },
            delta(3, Delta::ToolArguments("{\"x\":1}".into())),
            StreamEvent::BlockStop { index: 3 },
            StreamEvent::BlockStart {
                index: 4,
                block: BlockStart::ServerToolCall {
                    id: "ws_1".into(),
                    kind: ServerToolKind::WebSearch
                }
            },
            delta(4, Delta::ToolArguments("{\"query\":\"q\"}".into())),
            StreamEvent::BlockStop { index: 4 },
            StreamEvent::BlockStart {
                index: 5,
                block: BlockStart::ServerToolResult(Box::new(ServerToolResult {
                    call_id: "ws_1".into(),
                    kind: ServerToolKind::WebSearch,
                    outcome: ServerToolOutcome::Hits(vec![SearchHit {
                        url: "https://a.example".into(),
                        title: None,
                        page_age: None,
                        opaque: None,
                    }]),
                }))
            },
            StreamEvent::BlockStop { index: 5 },
            StreamEvent::Finish {
                finish: Finish {
                    reason: FinishReason::ToolUse,
                    stop_sequence: None,
                    raw: Some("completed".into()),
                },
                usage: Usage {
                    input_tokens: Some(5),
                    output_tokens: Some(2),
                    web_search_calls: Some(1),
                    ..Usage::default()
                },
            },
        ]
    );
}

#[test]
fn raw_reasoning_text_and_deltas_without_part_events() {
    let events = decode(&[
        created(),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "rs_1", "type": "reasoning", "summary": []}}),
        json!({"type": "response.reasoning_text.delta", "item_id": "rs_1", "output_index": 0, "content_index": 0, "delta": "step one"}),
        json!({"type": "response.reasoning_text.delta", "item_id": "rs_1", "output_index": 0, "content_index": 1, "delta": "step two"}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "rs_1", "type": "reasoning", "summary": [],
               "content": [{"type": "reasoning_text", "text": "step one"}, {"type": "reasoning_text", "text": "step two"}]}}),
        // Text deltas with no content_part.added first.
        json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "hi"}),
        json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1, "content_index": 1, "delta": "second part"}),
        // A custom call whose input arrives only in `done`.
        json!({"type": "response.output_item.added", "output_index": 2, "item": {"id": "ctc_1", "type": "custom_tool_call", "call_id": "p", "name": "apply_patch", "input": ""}}),
        json!({"type": "response.custom_tool_call_input.done", "item_id": "ctc_1", "output_index": 2, "input": "patch"}),
        json!({"type": "response.output_item.done", "output_index": 2, "item": {"id": "ctc_1", "type": "custom_tool_call", "call_id": "p", "name": "apply_patch", "input": "patch"}}),
        completed(),
    ]);
    assert_eq!(
        events,
        vec![
            start(),
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::Reasoning
            },
            delta(0, Delta::Reasoning("step one".into())),
            delta(0, Delta::Reasoning("\n\n".into())),
            delta(0, Delta::Reasoning("step two".into())),
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockStart {
                index: 1,
                block: BlockStart::Text
            },
            delta(1, Delta::Text("hi".into())),
            StreamEvent::BlockStop { index: 1 },
            StreamEvent::BlockStart {
                index: 2,
                block: BlockStart::Text
            },
            delta(2, Delta::Text("second part".into())),
            StreamEvent::BlockStop { index: 2 },
            StreamEvent::BlockStart {
                index: 3,
                block: BlockStart::ToolCall {
                    id: "p".into(),
                    name: "apply_patch".into(),
                    kind: ToolKind::Custom
                }
            },
            delta(3, Delta::ToolArguments("patch".into())),
            StreamEvent::BlockStop { index: 3 },
            end(FinishReason::ToolUse),
        ]
    );
}

#[test]
fn malformed_frames_and_events_after_the_end_are_ignored() {
    let mut body =
        b"event: response.created\ndata: not json\n\n: keep-alive comment\n\ndata: [DONE]\n\n"
            .to_vec();
    body.extend(sse(&[
        created(),
        json!({"type": "response.in_progress", "response": {"id": "resp_other"}}),
        json!({"type": "response.queued"}),
        json!({"type": "response.output_text.annotation.added", "output_index": 0}),
        completed(),
        json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "late"}),
        json!({"type": "error", "code": "server_error", "message": "late"}),
    ]));
    let events = decode_every_split(WireFormat::OpenAiResponses, &body);
    assert_eq!(events, vec![start(), end(FinishReason::EndTurn)]);
}

#[test]
fn error_event_shapes() {
    let flat = decode(&[
        created(),
        json!({"type": "error", "sequence_number": 1, "code": "context_length_exceeded", "message": "Your input exceeds the context window of this model.", "param": null}),
    ]);
    assert!(
        matches!(flat.last(), Some(StreamEvent::Error(e)) if e.kind == ErrorKind::ContextLengthExceeded)
    );
    let nested = decode(&[
        json!({"type": "error", "error": {"type": "invalid_request_error", "code": "insufficient_quota", "message": "quota"}}),
    ]);
    assert_eq!(
        nested.len(),
        1,
        "an error before anything else is the whole stream"
    );
    assert!(
        matches!(&nested[0], StreamEvent::Error(e) if e.kind == ErrorKind::UpstreamFailed && !e.message.contains("quota"))
    );
    let incomplete = decode(&[
        created(),
        json!({"type": "response.incomplete", "response": {"id": "resp_1", "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}}),
    ]);
    assert_eq!(
        incomplete.last(),
        Some(&StreamEvent::Finish {
            finish: Finish {
                reason: FinishReason::MaxTokens,
                stop_sequence: None,
                raw: Some("max_output_tokens".into())
            },
            usage: Usage::default(),
        })
    );
}
