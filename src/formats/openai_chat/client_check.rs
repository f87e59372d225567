//! Test-only model of what Chat clients enforce on a stream: the OpenAI SDK's
//! `ChatCompletionStreamState` and `accumulate_delta` (strings concatenate, numbers add,
//! `tool_calls[].index` addresses the final array directly), plus the framing rules of
//! wire-formats §2.4. [`check_stream`] panics on the first violation and returns what the
//! client ends up holding.

use serde_json::{Map, Value};

use crate::sse::{SseDecoder, SseEvent};

/// What a client holds once the stream is read.
#[derive(Debug, Default)]
pub struct Accumulated {
    pub id: String,
    pub model: String,
    pub created: u64,
    /// The message snapshot: `role`, `content`, `refusal`, `reasoning_content`, `tool_calls`.
    pub message: Map<String, Value>,
    pub finish_reason: Option<String>,
    /// The usage chunk's usage, when one was sent.
    pub usage: Option<Value>,
    /// The in-band error object, when the stream ended with one.
    pub error: Option<Value>,
    /// Keep-alive comments seen.
    pub comments: usize,
}

fn frames(bytes: &[u8]) -> Vec<SseEvent> {
    let text = std::str::from_utf8(bytes).expect("the stream is UTF-8");
    let mut decoder = SseDecoder::new();
    let mut frames = Vec::new();
    decoder.push(text.as_bytes(), &mut frames);
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "the stream ends with a complete frame: {text:?}"
    );
    decoder.finish(&mut frames);
    frames
}

/// Checks a Chat stream the way clients read it.
pub fn check_stream(bytes: &[u8], include_usage: bool) -> Accumulated {
    let text = std::str::from_utf8(bytes).expect("the stream is UTF-8");
    let mut acc = Accumulated {
        comments: text.matches("\n: keep-alive\n").count()
            + usize::from(text.starts_with(": keep-alive\n")),
        ..Accumulated::default()
    };
    let frames = frames(bytes);
    let mut chunks = 0;
    let mut ended = false;
    let mut usage_chunk_seen = false;
    for (n, frame) in frames.iter().enumerate() {
        assert!(!ended, "frame {n} after the end of the stream: {frame:?}");
        assert_eq!(frame.event, None, "Chat frames have no `event:` line");
        if frame.data == "[DONE]" {
            assert!(acc.error.is_none(), "no [DONE] after an error");
            assert!(
                acc.finish_reason.is_some(),
                "[DONE] before any finish_reason"
            );
            assert_eq!(
                usage_chunk_seen, include_usage,
                "usage chunk iff include_usage"
            );
            ended = true;
            continue;
        }
        let chunk: Value = serde_json::from_str(&frame.data).expect("each frame is JSON");
        if let Some(error) = chunk.get("error") {
            for key in ["message", "type", "param", "code"] {
                assert!(
                    error.get(key).is_some(),
                    "error object has `{key}`: {error}"
                );
            }
            acc.error = Some(error.clone());
            ended = true;
            continue;
        }
        assert!(!usage_chunk_seen, "only [DONE] follows the usage chunk");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        let id = chunk["id"].as_str().expect("id is a string");
        assert!(id.starts_with("chatcmpl-"), "id {id}");
        let model = chunk["model"].as_str().expect("model is a string");
        let created = chunk["created"].as_u64().expect("created is a number");
        if chunks == 0 {
            acc.id = id.to_owned();
            acc.model = model.to_owned();
            acc.created = created;
        } else {
            assert_eq!(
                (id, model, created),
                (acc.id.as_str(), acc.model.as_str(), acc.created)
            );
        }
        match chunk.get("usage") {
            None => assert!(!include_usage, "chunk {n} lacks `usage`"),
            Some(usage) => assert!(include_usage, "chunk {n} has `usage` unasked: {usage}"),
        }
        let choices = chunk["choices"].as_array().expect("choices is an array");
        if choices.is_empty() {
            assert!(include_usage, "a chunk without choices is the usage chunk");
            assert!(
                acc.finish_reason.is_some(),
                "the usage chunk follows the finish"
            );
            assert!(chunk["usage"].is_object(), "the usage chunk has usage");
            acc.usage = Some(chunk["usage"].clone());
            usage_chunk_seen = true;
            chunks += 1;
            continue;
        }
        if include_usage {
            assert!(
                chunk["usage"].is_null(),
                "usage is null before the usage chunk"
            );
        }
        assert_eq!(choices.len(), 1, "one choice per chunk");
        let choice = &choices[0];
        assert_eq!(choice["index"], 0, "choices[].index");
        assert!(
            choice.get("logprobs").is_some(),
            "choices[].logprobs present"
        );
        let delta = choice["delta"].as_object().expect("delta is an object");
        assert!(
            acc.finish_reason.is_none(),
            "content after the finish_reason"
        );
        if chunks == 0 {
            assert_eq!(
                delta.get("role"),
                Some(&Value::from("assistant")),
                "role first"
            );
        } else {
            assert!(delta.get("role").is_none(), "role sent twice");
        }
        accumulate_delta(&mut acc.message, delta);
        match &choice["finish_reason"] {
            Value::Null => {}
            Value::String(reason) => {
                assert!(delta.is_empty(), "the finish chunk has an empty delta");
                acc.finish_reason = Some(reason.clone());
            }
            other => panic!("finish_reason {other}"),
        }
        chunks += 1;
    }
    assert!(ended, "the stream ends with [DONE] or an error");
    acc
}

/// `accumulate_delta` with the client checks that make it work.
fn accumulate_delta(message: &mut Map<String, Value>, delta: &Map<String, Value>) {
    for (key, value) in delta {
        match key.as_str() {
            "role" => {
                message.insert(key.clone(), value.clone());
            }
            "content" | "refusal" | "reasoning_content" => {
                let more = value.as_str().expect("string delta");
                match message.get_mut(key) {
                    Some(Value::String(text)) => text.push_str(more),
                    _ => {
                        message.insert(key.clone(), Value::from(more));
                    }
                }
            }
            "tool_calls" => {
                let calls = message
                    .entry("tool_calls")
                    .or_insert_with(|| Value::Array(Vec::new()))
                    .as_array_mut()
                    .expect("tool_calls is an array");
                for entry in value.as_array().expect("tool_calls delta is an array") {
                    accumulate_tool_call(calls, entry);
                }
            }
            other => panic!("unexpected delta key `{other}`"),
        }
    }
}

fn accumulate_tool_call(calls: &mut Vec<Value>, entry: &Value) {
    let index = entry["index"].as_u64().expect("tool_calls[].index") as usize;
    assert!(
        index <= calls.len(),
        "tool_calls index {index} skips (have {})",
        calls.len()
    );
    let kind = entry.get("type").and_then(Value::as_str);
    if index == calls.len() {
        let id = entry["id"].as_str().expect("a new call has an id");
        assert!(!id.is_empty(), "empty call id");
        let kind = kind.expect("a new call has a type");
        let member = match kind {
            "function" => "function",
            "custom" => "custom",
            other => panic!("tool call type {other}"),
        };
        let name = entry[member]["name"]
            .as_str()
            .expect("a new call has a name");
        assert!(!name.is_empty(), "empty call name");
        calls.push(entry.clone());
        return;
    }
    assert!(entry.get("id").is_none(), "id repeated for call {index}");
    assert!(kind.is_none(), "type repeated for call {index}");
    let call = &mut calls[index];
    let (member, field) = if call["type"] == "custom" {
        ("custom", "input")
    } else {
        // The SDK's stream helper asserts `function` is present in every function-call delta.
        ("function", "arguments")
    };
    let delta = entry.get(member).expect("a call delta carries its member");
    assert!(
        delta.get("name").is_none(),
        "name repeated for call {index}"
    );
    let more = delta[field].as_str().expect("an argument fragment");
    let text = call[member][field].as_str().unwrap_or("").to_owned() + more;
    call[member][field] = Value::from(text);
}

/// The non-stream message a client would compare with, normalised like the accumulator's
/// snapshot: `null` content is the empty string the role chunk starts it with, and absent
/// optional members stay absent.
pub fn snapshot_of(non_stream_message: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("role".into(), Value::from("assistant"));
    out.insert(
        "content".into(),
        non_stream_message["content"]
            .as_str()
            .map_or(Value::from(""), Value::from),
    );
    for key in ["refusal", "reasoning_content"] {
        if let Some(Value::String(text)) = non_stream_message.get(key) {
            out.insert(key.into(), Value::from(text.as_str()));
        }
    }
    if let Some(calls) = non_stream_message.get("tool_calls") {
        let calls = calls
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, call)| {
                let mut call = call.clone();
                call.as_object_mut()
                    .unwrap()
                    .insert("index".into(), Value::from(i));
                call
            })
            .collect();
        out.insert("tool_calls".into(), Value::Array(calls));
    }
    out
}
