//! Test-only model of what Anthropic stream clients enforce (the TS SDK's `MessageStream`, the
//! Python SDK's accumulator, Claude Code), run over every encoder output.
//!
//! [`check`] fails on what would make a client throw or silently lose content, and returns the
//! message the SDK accumulator would build, so tests can compare it with `encode_response`.

use serde_json::{Map, Value};

use crate::sse::SseDecoder;

/// Rules, in the order the SDK meets them:
/// - every frame has an `event:` line equal to its `type` (the SDKs dispatch on the name);
/// - nothing but `ping` before `message_start`, and exactly one `message_start`;
/// - `content_block_start` appends: indexes 0, 1, 2… in order, one block open at a time;
/// - `tool_use` and `server_tool_use` start with `"input":{}`, thinking with empty `thinking`
///   and `signature`; web search and fetch results come whole in their start;
/// - deltas address the open block and fit its type;
/// - a thinking block's last delta before its stop is a non-empty `signature_delta`;
/// - `message_delta` (with a stop reason and usage) comes after every block is stopped, and
///   `message_stop` after it; the stream ends with `message_stop` or `error`, nothing after.
///
/// Returns the accumulated message, or `None` when the stream ended with `error`.
pub fn check(bytes: &[u8]) -> Result<Option<Value>, String> {
    let mut decoder = SseDecoder::new();
    let mut frames = Vec::new();
    decoder.push(bytes, &mut frames);
    decoder.finish(&mut frames);
    if !bytes.is_empty() && !bytes.ends_with(b"\n\n") {
        return Err("the stream does not end with a complete frame".into());
    }

    let mut snapshot: Option<Value> = None;
    let mut open: Option<usize> = None;
    let mut json_buffers: Vec<String> = Vec::new();
    let mut last_delta: Option<String> = None;
    let mut saw_message_delta = false;
    let mut ended = false;

    for (n, frame) in frames.iter().enumerate() {
        let at = |message: &str| format!("frame {n}: {message}");
        if ended {
            return Err(at("an event after the terminal event"));
        }
        let data: Value = serde_json::from_str(&frame.data).map_err(|e| at(&e.to_string()))?;
        let kind = data["type"]
            .as_str()
            .ok_or_else(|| at("no type"))?
            .to_owned();
        if frame.event.as_deref() != Some(kind.as_str()) {
            return Err(at(&format!("event line {:?} for type {kind}", frame.event)));
        }
        match kind.as_str() {
            "ping" => {}
            "error" => {
                if !data["error"]["type"].is_string() || !data["error"]["message"].is_string() {
                    return Err(at("error without type and message"));
                }
                return if n + 1 == frames.len() {
                    Ok(None)
                } else {
                    Err(at("events after error"))
                };
            }
            "message_start" => {
                if snapshot.is_some() {
                    return Err(at("a second message_start"));
                }
                let message = data["message"].clone();
                if message["content"] != Value::Array(Vec::new()) || !message["id"].is_string() {
                    return Err(at("message_start without id or with content"));
                }
                snapshot = Some(message);
            }
            _ => {
                let Some(message) = snapshot.as_mut() else {
                    return Err(at(&format!("{kind} before message_start")));
                };
                let content = message["content"]
                    .as_array_mut()
                    .ok_or_else(|| at("no content array"))?;
                match kind.as_str() {
                    "content_block_start" => {
                        if open.is_some() {
                            return Err(at("a block starts while another is open"));
                        }
                        if saw_message_delta {
                            return Err(at("a block after message_delta"));
                        }
                        let index = data["index"].as_u64().ok_or_else(|| at("no index"))?;
                        if index as usize != content.len() {
                            return Err(at(&format!("index {index}, expected {}", content.len())));
                        }
                        let block = data["content_block"].clone();
                        match block["type"].as_str() {
                            Some("tool_use" | "server_tool_use")
                                if block["input"] != Value::Object(Map::new()) =>
                            {
                                return Err(at("tool_use start with a pre-filled input"));
                            }
                            Some("web_search_tool_result" | "web_fetch_tool_result")
                                if !block["tool_use_id"].is_string() =>
                            {
                                return Err(at("a tool result without tool_use_id"));
                            }
                            Some("thinking")
                                if block["thinking"] != "" || block["signature"] != "" =>
                            {
                                return Err(at("thinking start with content"));
                            }
                            Some(
                                "text"
                                | "tool_use"
                                | "thinking"
                                | "redacted_thinking"
                                | "server_tool_use"
                                | "web_search_tool_result"
                                | "web_fetch_tool_result",
                            ) => {}
                            other => return Err(at(&format!("block type {other:?}"))),
                        }
                        content.push(block);
                        json_buffers.push(String::new());
                        open = Some(index as usize);
                        last_delta = None;
                    }
                    "content_block_delta" => {
                        let index = data["index"].as_u64().ok_or_else(|| at("no index"))? as usize;
                        if open != Some(index) {
                            return Err(at("a delta for a block that is not open"));
                        }
                        let block = content.get_mut(index).ok_or_else(|| at("no block"))?;
                        let delta = &data["delta"];
                        let delta_type = delta["type"].as_str().unwrap_or_default().to_owned();
                        match (block["type"].as_str(), delta_type.as_str()) {
                            (Some("text"), "text_delta") => {
                                let text = format!(
                                    "{}{}",
                                    block["text"].as_str().unwrap_or_default(),
                                    delta["text"].as_str().ok_or_else(|| at("no text"))?
                                );
                                block["text"] = Value::String(text);
                            }
                            (Some("thinking"), "thinking_delta") => {
                                if last_delta.as_deref() == Some("signature_delta") {
                                    return Err(at("thinking after the signature"));
                                }
                                let text = format!(
                                    "{}{}",
                                    block["thinking"].as_str().unwrap_or_default(),
                                    delta["thinking"]
                                        .as_str()
                                        .ok_or_else(|| at("no thinking"))?
                                );
                                block["thinking"] = Value::String(text);
                            }
                            (Some("text"), "citations_delta") => {
                                let citation = delta["citation"].clone();
                                if !citation["type"].is_string() {
                                    return Err(at("a citation without a type"));
                                }
                                match block["citations"].as_array_mut() {
                                    Some(citations) => citations.push(citation),
                                    None => block["citations"] = Value::Array(vec![citation]),
                                }
                            }
                            (Some("thinking"), "signature_delta") => {
                                block["signature"] = delta["signature"].clone();
                            }
                            (Some("tool_use" | "server_tool_use"), "input_json_delta") => {
                                let buffer =
                                    json_buffers.get_mut(index).ok_or_else(|| at("no buffer"))?;
                                buffer.push_str(
                                    delta["partial_json"]
                                        .as_str()
                                        .ok_or_else(|| at("no partial_json"))?,
                                );
                            }
                            (block_type, delta_type) => {
                                return Err(at(&format!(
                                    "{delta_type} for a {block_type:?} block"
                                )));
                            }
                        }
                        last_delta = Some(delta_type);
                    }
                    "content_block_stop" => {
                        let index = data["index"].as_u64().ok_or_else(|| at("no index"))? as usize;
                        if open != Some(index) {
                            return Err(at("stop for a block that is not open"));
                        }
                        let block = content.get_mut(index).ok_or_else(|| at("no block"))?;
                        if block["type"] == "thinking"
                            && (last_delta.as_deref() != Some("signature_delta")
                                || block["signature"] == "")
                        {
                            return Err(at("a thinking block stops without a signature_delta"));
                        }
                        if block["type"] == "tool_use" || block["type"] == "server_tool_use" {
                            let buffer = json_buffers.get(index).ok_or_else(|| at("no buffer"))?;
                            if !buffer.is_empty() {
                                block["input"] = serde_json::from_str(buffer)
                                    .map_err(|e| at(&format!("tool input: {e}")))?;
                            }
                        }
                        open = None;
                    }
                    "message_delta" => {
                        if open.is_some() {
                            return Err(at("message_delta with a block open"));
                        }
                        let stop_reason = &data["delta"]["stop_reason"];
                        if !stop_reason.is_string() {
                            return Err(at("message_delta without a stop_reason"));
                        }
                        message["stop_reason"] = stop_reason.clone();
                        message["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                        let usage = data["usage"]
                            .as_object()
                            .ok_or_else(|| at("message_delta without usage"))?;
                        if !usage.get("output_tokens").is_some_and(Value::is_u64) {
                            return Err(at("message_delta without output_tokens"));
                        }
                        for (key, value) in usage {
                            if !value.is_null() {
                                message["usage"][key] = value.clone();
                            }
                        }
                        saw_message_delta = true;
                    }
                    "message_stop" => {
                        if !saw_message_delta {
                            return Err(at("message_stop without message_delta"));
                        }
                        ended = true;
                    }
                    other => return Err(at(&format!("unknown event {other}"))),
                }
            }
        }
    }
    if !ended {
        return Err(
            "the stream ended without message_stop (\"stream ended without producing a Message\")"
                .into(),
        );
    }
    Ok(snapshot)
}
