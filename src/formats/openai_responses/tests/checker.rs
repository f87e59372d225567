//! A test-only Responses client: replays an encoded stream with the checks the OpenAI SDK
//! accumulator (`lib/streaming/responses/_responses.py`) and Codex (`codex-api/src/sse/
//! responses.rs`) apply, panicking on the first violation. Returns the terminal event's
//! `response` object.
//!
//! Checked:
//! - every frame has an `event:` line equal to its `type`; `sequence_number` is 0, 1, 2, …;
//! - the first event is `response.created` (SDK), with a `response` object (Codex); the one
//!   exception is a stream that fails before it starts, which is a lone `response.failed`
//!   (Codex reports its error; the SDK raises either way);
//! - `output_item.added` appends at `output_index == output.len()`; item events address an
//!   existing item by `output_index` and its `item_id`; `content_part.added` precedes the
//!   deltas of its part and `output_text.delta` addresses an `output_text` part (SDK asserts);
//! - `output_text.annotation.added` appends to its part's `annotations` (at `annotation_index`);
//! - a `web_search_call` is added `in_progress` without an action; its `web_search_call.*`
//!   events address it, and its `done` item has a `status` and an `action`;
//! - `reasoning_summary_text.delta` carries `summary_index` (Codex drops it otherwise);
//! - `*.done` events repeat exactly what the deltas built; `output_item.done` of a call has a
//!   non-empty `call_id` and `name` and the full arguments (Codex dispatches from it);
//! - exactly one terminal event, last: `response.completed` has `response.id` and integer
//!   `usage.input_tokens/output_tokens/total_tokens` (Codex) and its `output` equals the done
//!   items (SDK); `response.incomplete` has `incomplete_details.reason`; `response.failed` has
//!   `error.code` and `error.message`.

use serde_json::Value;

use crate::sse::SseDecoder;

/// Replays `bytes` as a client would; returns the terminal `response`.
pub fn check_client_stream(bytes: &[u8]) -> Value {
    let mut decoder = SseDecoder::new();
    let mut frames = Vec::new();
    decoder.push(bytes, &mut frames);
    decoder.finish(&mut frames);
    assert!(!frames.is_empty(), "empty stream");

    let mut output: Vec<Value> = Vec::new();
    let mut done: Vec<Option<Value>> = Vec::new();
    let mut terminal: Option<Value> = None;
    // The stream-level `error` event just read (the OpenAI SDK raises on it); the next event
    // must be the matching `response.failed`.
    let mut pending_error: Option<Value> = None;
    for (position, frame) in frames.iter().enumerate() {
        let event: Value = serde_json::from_str(&frame.data)
            .unwrap_or_else(|e| panic!("frame {position} is not JSON ({e}): {}", frame.data));
        let kind = event["type"].as_str().expect("type").to_owned();
        assert_eq!(
            frame.event.as_deref(),
            Some(kind.as_str()),
            "event line of {kind}"
        );
        assert_eq!(
            event["sequence_number"].as_u64(),
            Some(position as u64),
            "sequence_number of {kind}"
        );
        assert!(terminal.is_none(), "{kind} after the terminal event");
        if let Some(previous) = &pending_error {
            assert_eq!(
                kind, "response.failed",
                "an error event is followed by response.failed"
            );
            assert_eq!(
                event["response"]["error"]["code"], previous["code"],
                "same error code"
            );
        }
        if position == 0 && kind != "response.failed" && kind != "error" {
            assert_eq!(kind, "response.created", "first event");
        }
        let oi = event["output_index"].as_u64().map(|i| i as usize);
        let item_id = event["item_id"].as_str();
        let addressed = |output: &[Value]| -> usize {
            let oi = oi.unwrap_or_else(|| panic!("{kind} without output_index"));
            assert!(oi < output.len(), "{kind} for output {oi} before its item");
            if let Some(item_id) = item_id {
                assert_eq!(output[oi]["id"].as_str(), Some(item_id), "{kind} item_id");
            }
            oi
        };
        match kind.as_str() {
            "response.created" | "response.in_progress" => {
                assert!(event["response"].is_object(), "{kind} response");
                assert_eq!(event["response"]["status"], "in_progress");
                assert_eq!(event["response"]["output"], Value::Array(vec![]));
            }
            "response.output_item.added" => {
                assert_eq!(oi, Some(output.len()), "output_index of added item");
                let item = event["item"].clone();
                assert!(
                    item["id"].as_str().is_some_and(|s| !s.is_empty()),
                    "item id"
                );
                match item["type"].as_str() {
                    Some("function_call") => {
                        assert!(item["call_id"].as_str().is_some_and(|s| !s.is_empty()));
                        assert_eq!(item["arguments"], "");
                    }
                    Some("custom_tool_call") => assert_eq!(item["input"], ""),
                    Some("message") => assert_eq!(item["content"], Value::Array(vec![])),
                    Some("reasoning") => assert_eq!(item["summary"], Value::Array(vec![])),
                    Some("web_search_call") => {
                        assert_eq!(item["status"], "in_progress");
                        assert!(item.get("action").is_none(), "no action before the search");
                    }
                    other => panic!("unexpected item type {other:?}"),
                }
                output.push(item);
                done.push(None);
            }
            "response.content_part.added" => {
                let oi = addressed(&output);
                assert_eq!(output[oi]["type"], "message");
                let content = output[oi]["content"].as_array_mut().expect("content");
                assert_eq!(event["content_index"].as_u64(), Some(content.len() as u64));
                content.push(event["part"].clone());
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                let oi = addressed(&output);
                let ci = event["content_index"].as_u64().expect("content_index") as usize;
                let part = &mut output[oi]["content"][ci];
                let (part_type, field) = if kind == "response.output_text.delta" {
                    assert!(event["logprobs"].is_array(), "logprobs");
                    ("output_text", "text")
                } else {
                    ("refusal", "refusal")
                };
                assert_eq!(
                    part["type"], part_type,
                    "{kind} addresses a {part_type} part"
                );
                let delta = event["delta"].as_str().expect("delta");
                let text = format!("{}{delta}", part[field].as_str().unwrap_or(""));
                part[field] = Value::String(text);
            }
            "response.output_text.done" | "response.refusal.done" => {
                let oi = addressed(&output);
                let ci = event["content_index"].as_u64().expect("content_index") as usize;
                let field = if kind == "response.output_text.done" {
                    "text"
                } else {
                    "refusal"
                };
                assert_eq!(event[field], output[oi]["content"][ci][field], "{kind}");
            }
            "response.output_text.annotation.added" => {
                let oi = addressed(&output);
                let ci = event["content_index"].as_u64().expect("content_index") as usize;
                let part = &mut output[oi]["content"][ci];
                assert_eq!(part["type"], "output_text", "{kind}");
                let annotations = part["annotations"].as_array_mut().expect("annotations");
                assert_eq!(
                    event["annotation_index"].as_u64(),
                    Some(annotations.len() as u64),
                    "annotation_index"
                );
                let annotation = event["annotation"].clone();
                assert_eq!(annotation["type"], "url_citation", "{kind}");
                assert!(
                    annotation["start_index"].as_u64() <= annotation["end_index"].as_u64(),
                    "{annotation}"
                );
                annotations.push(annotation);
            }
            "response.web_search_call.in_progress"
            | "response.web_search_call.searching"
            | "response.web_search_call.completed" => {
                let oi = addressed(&output);
                assert_eq!(output[oi]["type"], "web_search_call", "{kind}");
            }
            "response.content_part.done" => {
                let oi = addressed(&output);
                let ci = event["content_index"].as_u64().expect("content_index") as usize;
                assert_eq!(
                    event["part"], output[oi]["content"][ci],
                    "content_part.done"
                );
            }
            "response.reasoning_summary_part.added" => {
                let oi = addressed(&output);
                assert_eq!(output[oi]["type"], "reasoning");
                let summary = output[oi]["summary"].as_array_mut().expect("summary");
                assert_eq!(event["summary_index"].as_u64(), Some(summary.len() as u64));
                summary.push(event["part"].clone());
            }
            "response.reasoning_summary_text.delta" => {
                let oi = addressed(&output);
                let si = event["summary_index"]
                    .as_u64()
                    .expect("summary_index (Codex needs it)") as usize;
                let part = &mut output[oi]["summary"][si];
                assert_eq!(part["type"], "summary_text");
                let text = format!(
                    "{}{}",
                    part["text"].as_str().unwrap_or(""),
                    event["delta"].as_str().expect("delta")
                );
                part["text"] = Value::String(text);
            }
            "response.reasoning_summary_text.done" => {
                let oi = addressed(&output);
                let si = event["summary_index"].as_u64().expect("summary_index") as usize;
                assert_eq!(event["text"], output[oi]["summary"][si]["text"]);
            }
            "response.reasoning_summary_part.done" => {
                let oi = addressed(&output);
                let si = event["summary_index"].as_u64().expect("summary_index") as usize;
                assert_eq!(event["part"], output[oi]["summary"][si]);
            }
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                let oi = addressed(&output);
                let (item_type, field) = if kind.starts_with("response.function_call") {
                    ("function_call", "arguments")
                } else {
                    ("custom_tool_call", "input")
                };
                assert_eq!(output[oi]["type"], item_type, "{kind}");
                let text = format!(
                    "{}{}",
                    output[oi][field].as_str().unwrap_or(""),
                    event["delta"].as_str().expect("delta")
                );
                output[oi][field] = Value::String(text);
            }
            "response.function_call_arguments.done" => {
                let oi = addressed(&output);
                assert_eq!(event["arguments"], output[oi]["arguments"]);
                assert_eq!(event["name"], output[oi]["name"]);
            }
            "response.custom_tool_call_input.done" => {
                let oi = addressed(&output);
                assert_eq!(event["input"], output[oi]["input"]);
            }
            "response.output_item.done" => {
                let oi = addressed(&output);
                let item = &event["item"];
                assert_eq!(item["id"], output[oi]["id"], "done item id");
                assert_eq!(item["type"], output[oi]["type"], "done item type");
                match item["type"].as_str() {
                    Some("function_call") => {
                        assert!(item["call_id"].as_str().is_some_and(|s| !s.is_empty()));
                        assert!(item["name"].as_str().is_some_and(|s| !s.is_empty()));
                        assert_eq!(item["arguments"], output[oi]["arguments"], "full arguments");
                        assert_eq!(item["call_id"], output[oi]["call_id"]);
                        assert_eq!(item["status"], "completed");
                    }
                    Some("custom_tool_call") => {
                        assert!(item["call_id"].as_str().is_some_and(|s| !s.is_empty()));
                        assert!(item["name"].as_str().is_some_and(|s| !s.is_empty()));
                        assert_eq!(item["input"], output[oi]["input"], "full input");
                    }
                    Some("message") => {
                        assert_eq!(item["content"], output[oi]["content"], "message content");
                        assert_eq!(item["status"], "completed");
                    }
                    Some("reasoning") => {
                        assert_eq!(item["summary"], output[oi]["summary"], "reasoning summary");
                    }
                    Some("web_search_call") => {
                        assert!(
                            matches!(item["status"].as_str(), Some("completed" | "failed")),
                            "{item}"
                        );
                        assert!(item["action"]["type"].is_string(), "{item}");
                    }
                    other => panic!("unexpected item type {other:?}"),
                }
                assert!(done[oi].is_none(), "item {oi} done twice");
                done[oi] = Some(item.clone());
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                let response = &event["response"];
                assert_eq!(response["object"], "response");
                assert!(
                    response["id"].as_str().is_some_and(|s| !s.is_empty()),
                    "response.id"
                );
                if kind == "response.failed" {
                    assert_eq!(response["status"], "failed");
                    assert!(response["error"]["code"].is_string(), "error.code");
                    assert!(response["error"]["message"].is_string(), "error.message");
                } else {
                    let usage = &response["usage"];
                    for field in ["input_tokens", "output_tokens", "total_tokens"] {
                        assert!(usage[field].is_u64(), "usage.{field} is an integer");
                    }
                    assert!(usage["input_tokens_details"]["cached_tokens"].is_u64());
                    assert!(usage["output_tokens_details"]["reasoning_tokens"].is_u64());
                    let items: Vec<Value> = done
                        .iter()
                        .map(|d| d.clone().expect("every item done before the terminal"))
                        .collect();
                    assert_eq!(response["output"], Value::Array(items), "final output");
                    if kind == "response.incomplete" {
                        assert_eq!(response["status"], "incomplete");
                        assert!(response["incomplete_details"]["reason"].is_string());
                    } else {
                        assert_eq!(response["status"], "completed");
                        assert_eq!(response["incomplete_details"], Value::Null);
                    }
                }
                terminal = Some(response.clone());
            }
            "error" => {
                assert!(event["code"].is_string(), "error.code");
                assert!(event["message"].is_string(), "error.message");
                pending_error = Some(event.clone());
                continue;
            }
            other => panic!("unexpected event type {other}"),
        }
        pending_error = None;
    }
    terminal.expect("no terminal event (Codex: stream closed before response.completed)")
}
