//! Non-stream answers: a Chat upstream's `chat.completion` → [`ChatResponse`], and a
//! [`ChatResponse`] → the `chat.completion` a Chat client reads.
//!
//! Both sides agree with the stream codecs: blocks come in the order reasoning, text, refusal,
//! tool calls; several blocks of one kind are joined with a blank line, as the stream encoder
//! separates them.

use std::borrow::Cow;

use serde_json::Value;

use super::request_encode::encode_tool_call;
use super::wire::{ChatCompletion, ChatCompletionMessage, Choice, StringOr};
use super::{stop_reason, usage};
use crate::canonical::{
    Block, ChatResponse, Finish, FinishReason, ReasoningPart, ToolCall, ToolKind,
};
use crate::error::{ApiError, ErrorKind, from_upstream};
use crate::format::WireFormat;
use crate::formats::{ResponseContext, client_id};

/// What separates two blocks of one kind once a Chat client has concatenated them.
pub const BLOCK_SEPARATOR: &str = "\n\n";

/// Decodes a Chat upstream's non-stream answer (HTTP 200).
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, ApiError> {
    let completion: ChatCompletion<'static> = serde_json::from_slice(body).map_err(|error| {
        ApiError::new(
            ErrorKind::UpstreamFailed,
            format!("the upstream answered with an unreadable chat completion: {error}"),
        )
    })?;
    if completion.error.is_some() {
        return Err(from_upstream(WireFormat::OpenAiChat, 200, body));
    }
    let Some(choice) = completion
        .choices
        .into_iter()
        .find(|choice| choice.index == 0)
    else {
        return Err(ApiError::new(
            ErrorKind::UpstreamFailed,
            "the upstream answered without any choice",
        ));
    };
    let finish = match choice.finish_reason.as_deref() {
        Some(reason) if !reason.is_empty() => {
            stop_reason::decode(reason, choice.stop_reason.as_ref())
        }
        _ => Finish::new(FinishReason::EndTurn),
    };
    Ok(ChatResponse {
        id: completion.id.into_owned(),
        model: completion.model.into_owned(),
        blocks: message_blocks(choice.message),
        citations: Vec::new(),
        finish,
        usage: completion
            .usage
            .as_ref()
            .map(usage::decode)
            .unwrap_or_default(),
    })
}

fn message_blocks(message: ChatCompletionMessage<'static>) -> Vec<Block> {
    let mut blocks = Vec::new();
    if let Some(reasoning) = message.reasoning_content.or(message.reasoning)
        && !reasoning.is_empty()
    {
        blocks.push(Block::Reasoning(ReasoningPart {
            text: reasoning.into_owned(),
            opaque: None,
            redacted: false,
        }));
    }
    match message.content {
        None => {}
        Some(StringOr::String(text)) if !text.is_empty() => {
            blocks.push(Block::Text(text.into_owned()));
        }
        Some(StringOr::String(_)) => {}
        // Some compatible servers answer with parts; their text parts are the text.
        Some(StringOr::Other(parts)) => {
            let text: String = parts
                .into_iter()
                .filter(|part| part.kind == "text")
                .filter_map(|part| part.text)
                .collect();
            if !text.is_empty() {
                blocks.push(Block::Text(text));
            }
        }
    }
    if let Some(refusal) = message.refusal
        && !refusal.is_empty()
    {
        blocks.push(Block::Refusal(refusal.into_owned()));
    }
    for (n, call) in message.tool_calls.into_iter().flatten().enumerate() {
        let id = if call.id.is_empty() {
            format!("call_{n}")
        } else {
            call.id.into_owned()
        };
        let custom = call.kind.as_deref() == Some("custom")
            || (call.kind.is_none() && call.function.is_none());
        let block = if custom {
            let Some(custom) = call.custom else { continue };
            ToolCall {
                id,
                name: custom.name.into_owned(),
                arguments: custom.input.into_owned(),
                kind: ToolKind::Custom,
            }
        } else {
            let Some(function) = call.function else {
                continue;
            };
            ToolCall {
                id,
                name: function.name.into_owned(),
                arguments: function.arguments.into_owned(),
                kind: ToolKind::Function,
            }
        };
        blocks.push(Block::ToolCall(block));
    }
    if let Some(function) = message.function_call
        && !function.name.is_empty()
    {
        blocks.push(Block::ToolCall(ToolCall {
            id: "call_0".to_owned(),
            name: function.name.into_owned(),
            arguments: function.arguments.into_owned(),
            kind: ToolKind::Function,
        }));
    }
    blocks
}

/// Encodes an answer for a Chat client.
pub fn encode_response(response: &ChatResponse, context: &ResponseContext) -> Value {
    let mut texts: Vec<&str> = Vec::new();
    let mut refusals: Vec<&str> = Vec::new();
    let mut reasoning: Vec<&str> = Vec::new();
    let mut tool_calls = Vec::new();
    for block in &response.blocks {
        match block {
            Block::Text(text) => texts.push(text),
            Block::Refusal(text) => refusals.push(text),
            Block::Reasoning(part) => reasoning.push(&part.text),
            Block::ToolCall(call) => tool_calls.push(encode_tool_call(call)),
            // Searches the vendor ran: their findings are in the text.
            Block::ServerToolCall(_) | Block::ServerToolResult(_) => {}
        }
    }
    let finish = response.finish.resolved(!tool_calls.is_empty());
    let completion = ChatCompletion {
        id: Cow::Owned(client_id("chatcmpl-", &response.id, context)),
        object: Cow::Borrowed("chat.completion"),
        created: context.created_s,
        model: Cow::Borrowed(&context.model),
        choices: vec![Choice {
            index: 0,
            message: ChatCompletionMessage {
                role: Cow::Borrowed("assistant"),
                content: joined(&texts).map(StringOr::String),
                refusal: joined(&refusals),
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                reasoning_content: joined(&reasoning),
                reasoning: None,
                function_call: None,
            },
            logprobs: None,
            finish_reason: Some(Cow::Borrowed(stop_reason::encode(finish))),
            stop_reason: None,
        }],
        usage: Some(usage::encode(&response.usage)),
        error: None,
    };
    serde_json::to_value(&completion).unwrap_or(Value::Null)
}

/// The non-empty texts joined with [`BLOCK_SEPARATOR`], or `None` if there are none.
fn joined<'a>(texts: &[&'a str]) -> Option<Cow<'a, str>> {
    let mut non_empty = texts.iter().copied().filter(|text| !text.is_empty());
    let first = non_empty.next()?;
    let mut rest = non_empty.peekable();
    if rest.peek().is_none() {
        return Some(Cow::Borrowed(first));
    }
    let mut joined = first.to_owned();
    for text in rest {
        joined.push_str(BLOCK_SEPARATOR);
        joined.push_str(text);
    }
    Some(Cow::Owned(joined))
}
