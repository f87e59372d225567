//! Non-stream answers: `decode_response` (an Anthropic upstream's `Message`) and
//! `encode_response` (a `Message` for an Anthropic client).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::wire::{read, write};
use super::{server_tools, stop_reason, usage};
use crate::canonical::{
    Block, ChatResponse, Opaque, ReasoningPart, ServerToolKind, ToolCall, ToolKind, Vendor,
};
use crate::error::{ApiError, ErrorKind, from_upstream};
use crate::format::WireFormat;
use crate::formats::{ResponseContext, client_id};
use crate::translate::adapt::fit_identifier;

/// Longest tool-use id Anthropic clients accept, as for the upstream (`translate::adapt`).
const TOOL_USE_ID_CHARS: usize = 128;

pub fn decode_response(body: &[u8]) -> Result<ChatResponse, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| unusable(&e))?;
    if value.get("type").and_then(Value::as_str) == Some("error") {
        return Err(from_upstream(WireFormat::AnthropicMessages, 200, body));
    }
    let message: read::Message = serde_json::from_value(value).map_err(|e| unusable(&e))?;
    let mut blocks = Vec::with_capacity(message.content.len());
    let mut citations = Vec::new();
    for block in message.content {
        if let read::ContentBlock::Text {
            citations: Some(cited),
            ..
        } = &block
        {
            let index = blocks.len();
            citations.extend(
                cited
                    .iter()
                    .cloned()
                    .filter_map(server_tools::citation)
                    .map(|citation| (index, citation)),
            );
        }
        if let Some(block) = decode_block(block) {
            blocks.push(block);
        }
    }
    Ok(ChatResponse {
        id: message.id,
        model: message.model,
        blocks,
        citations,
        finish: stop_reason::decode(message.stop_reason, message.stop_sequence),
        usage: usage::decode(&message.usage),
    })
}

fn unusable(error: &serde_json::Error) -> ApiError {
    ApiError::new(
        ErrorKind::UpstreamFailed,
        format!("the upstream answered something that is not an Anthropic message: {error}"),
    )
}

/// One output block; other server tools' blocks and unknown types are dropped.
fn decode_block(block: read::ContentBlock) -> Option<Block> {
    Some(match block {
        read::ContentBlock::Text { text, .. } => Block::Text(text),
        read::ContentBlock::Thinking {
            thinking,
            signature,
        } => Block::Reasoning(ReasoningPart {
            text: thinking,
            opaque: anthropic_opaque(signature),
            redacted: false,
        }),
        read::ContentBlock::RedactedThinking { data } => Block::Reasoning(ReasoningPart {
            text: String::new(),
            opaque: anthropic_opaque(data),
            redacted: true,
        }),
        read::ContentBlock::ToolUse { id, name, input } => Block::ToolCall(ToolCall {
            id,
            name,
            arguments: tool_arguments(&input),
            kind: ToolKind::Function,
        }),
        read::ContentBlock::ServerToolUse { id, name, input } => {
            Block::ServerToolCall(server_tools::call(id, &name, &input)?)
        }
        read::ContentBlock::WebSearchToolResult {
            tool_use_id,
            content,
        } => Block::ServerToolResult(server_tools::result(
            ServerToolKind::WebSearch,
            tool_use_id,
            &content,
        )),
        read::ContentBlock::WebFetchToolResult {
            tool_use_id,
            content,
        } => Block::ServerToolResult(server_tools::result(
            ServerToolKind::WebFetch,
            tool_use_id,
            &content,
        )),
        read::ContentBlock::Other => return None,
    })
}

/// Upstream signature or redacted data; an empty string carries no state.
pub(super) fn anthropic_opaque(data: String) -> Option<Opaque> {
    (!data.is_empty()).then_some(Opaque {
        vendor: Vendor::Anthropic,
        data,
    })
}

/// A tool call's `input` object as arguments JSON text (`{}` when missing).
pub(super) fn tool_arguments(input: &Value) -> String {
    match input {
        Value::Null => "{}".to_owned(),
        input => input.to_string(),
    }
}

pub fn encode_response(response: &ChatResponse, context: &ResponseContext) -> Value {
    let id = client_id("msg_", &response.id, context);
    let (stop_reason, stop_sequence) =
        stop_reason::for_client(&response.finish, response.has_tool_calls());
    let message = write::Message {
        id: &id,
        role: "assistant",
        model: &context.model,
        content: response
            .blocks
            .iter()
            .enumerate()
            .map(|(index, block)| encode_block(response, index, block))
            .collect(),
        stop_reason: Some(stop_reason),
        stop_sequence,
        usage: usage::encode(&response.usage),
    };
    serde_json::to_value(&message).unwrap_or(Value::Null)
}

fn encode_block<'a>(
    response: &'a ChatResponse,
    index: usize,
    block: &'a Block,
) -> write::ContentBlock<'a> {
    match block {
        Block::Text(text) => write::ContentBlock::Text {
            text,
            citations: response
                .citations_of(index)
                .map(server_tools::client_citation)
                .collect(),
        },
        Block::Refusal(text) => write::ContentBlock::Text {
            text,
            citations: Vec::new(),
        },
        Block::ServerToolCall(call) => server_tools::call_block(&call.id, call.kind, &call.input),
        Block::ServerToolResult(result) => server_tools::result_block(result),
        Block::Reasoning(part) => match &part.opaque {
            Some(opaque) if part.redacted && opaque.vendor == Vendor::Anthropic => {
                write::ContentBlock::RedactedThinking { data: &opaque.data }
            }
            opaque => write::ContentBlock::Thinking {
                thinking: &part.text,
                signature: Cow::Owned(client_signature(opaque.as_ref(), &part.text)),
            },
        },
        Block::ToolCall(call) => write::ContentBlock::ToolUse {
            id: Cow::Owned(fit_identifier(&call.id, TOOL_USE_ID_CHARS)),
            name: &call.name,
            input: match call.kind {
                ToolKind::Function => tool_input(&call.arguments),
                // Freeform input the client never declared: the shape adapt gives it upstream.
                ToolKind::Custom => serde_json::json!({ "input": call.arguments }),
            },
        },
    }
}

/// The `signature` an Anthropic client gets for thinking `text`: Anthropic's own signature
/// as it is, anyone else's state in an envelope that keeps the exact text, and a gateway
/// envelope when there is no state (Claude Code drops unsigned thinking).
pub(super) fn client_signature(opaque: Option<&Opaque>, text: &str) -> String {
    let gateway;
    let opaque = match opaque {
        Some(opaque) => opaque,
        None => {
            gateway = Opaque {
                vendor: Vendor::Gateway,
                data: String::new(),
            };
            &gateway
        }
    };
    opaque.to_client(Some(Vendor::Anthropic), Some(text))
}

/// A tool call's arguments as the `input` object a client reads; unparseable → `{}`.
pub(super) fn tool_input(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::Object(Map::new()))
}
