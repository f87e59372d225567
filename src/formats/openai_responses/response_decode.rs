//! `decode_response`: a Responses upstream's non-stream answer → [`ChatResponse`].
//!
//! | output item | block(s) |
//! |---|---|
//! | `reasoning` | one reasoning block: summary parts joined with a blank line (raw `content` text when there is no summary), `encrypted_content` as OpenAI state; skipped when it has neither |
//! | `message` | one text block per `output_text` part, one refusal block per `refusal` part |
//! | `function_call` / `custom_tool_call` | a tool call (`call_id` as id; a `namespace` is flattened) |
//! | `web_search_call` | a server tool call and its result (see [`server_tools`]); counted in the usage |
//! | anything else (other built-in tool calls, ...) | dropped |
//!
//! `url_citation` annotations become citations of their text block.
//!
//! `status` per [`stop_reason::decode_finish`]; `failed` (and an `{"error": ...}` body) becomes
//! an error per [`errors::decode`], `cancelled`/`queued`/`in_progress` an upstream failure.

use serde_json::Value;

use super::errors;
use super::input::join_texts;
use super::namespace;
use super::server_tools;
use super::stop_reason::{self, Terminal};
use super::usage;
use super::wire::{OutputContent, OutputItem, Response, ResponseError};
use crate::canonical::{
    Block, ChatResponse, Citation, Opaque, ReasoningPart, ToolCall, ToolKind, Usage, Vendor,
};
use crate::error::{ApiError, ErrorKind};

pub fn decode_response(body: &[u8]) -> Result<ChatResponse, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| unusable(&e.to_string()))?;
    let is_response = value.get("object").and_then(Value::as_str) == Some("response")
        || value.get("output").is_some();
    if !is_response && let Some(error) = value.get("error").filter(|e| e.is_object()) {
        let error: ResponseError = serde_json::from_value(error.clone()).unwrap_or_default();
        return Err(errors::decode(&error));
    }
    let response: Response = serde_json::from_value(value).map_err(|e| unusable(&e.to_string()))?;
    let terminal = match response.status.as_deref() {
        Some("failed") => {
            return Err(errors::decode(&response.error.unwrap_or_default()));
        }
        Some(status @ ("cancelled" | "queued" | "in_progress")) => {
            return Err(ApiError::new(
                ErrorKind::UpstreamFailed,
                format!("the upstream answered with an unfinished response (status {status})"),
            ));
        }
        Some("incomplete") => Terminal::Incomplete(
            response
                .incomplete_details
                .as_ref()
                .and_then(|d| d.reason.as_deref()),
        ),
        _ => Terminal::Completed,
    };
    let (blocks, citations) = blocks(response.output);
    let saw_tool_calls = blocks.iter().any(|b| matches!(b, Block::ToolCall(_)));
    let searches = blocks
        .iter()
        .filter(|b| matches!(b, Block::ServerToolCall(_)))
        .count() as u64;
    let finish = stop_reason::decode_finish(terminal, saw_tool_calls);
    let mut usage = response
        .usage
        .as_ref()
        .map(usage::decode)
        .unwrap_or_default();
    usage.web_search_calls = (searches > 0).then_some(searches);
    Ok(ChatResponse {
        id: response.id,
        model: response.model,
        blocks,
        citations,
        finish,
        usage,
    })
}

fn unusable(detail: &str) -> ApiError {
    ApiError::new(
        ErrorKind::UpstreamFailed,
        format!("the upstream answered something that is not a Responses object: {detail}"),
    )
}

/// The answer's blocks, and its text blocks' citations.
fn blocks(output: Vec<OutputItem>) -> (Vec<Block>, Vec<(usize, Citation)>) {
    let mut blocks = Vec::with_capacity(output.len());
    let mut citations = Vec::new();
    for item in output {
        match item {
            OutputItem::Message { content } => {
                for part in content {
                    match part {
                        OutputContent::OutputText { text, annotations } => {
                            let index = blocks.len();
                            citations.extend(
                                annotations
                                    .into_iter()
                                    .filter_map(|a| server_tools::citation(a, &text))
                                    .map(|citation| (index, citation)),
                            );
                            blocks.push(Block::Text(text));
                        }
                        OutputContent::Refusal { refusal } => blocks.push(Block::Refusal(refusal)),
                        OutputContent::Other => {}
                    }
                }
            }
            OutputItem::WebSearchCall { id, status, action } => {
                let (call, result) =
                    server_tools::call_and_result(id, status.as_deref(), action.as_ref());
                blocks.push(Block::ServerToolCall(call));
                blocks.push(Block::ServerToolResult(result));
            }
            OutputItem::Reasoning {
                summary,
                content,
                encrypted_content,
            } => {
                let text = reasoning_text(
                    summary.iter().map(|s| s.text.as_str()),
                    content.iter().map(|c| c.text.as_str()),
                );
                if let Some(part) = reasoning_part(text, encrypted_content) {
                    blocks.push(Block::Reasoning(part));
                }
            }
            OutputItem::FunctionCall {
                call_id,
                name,
                arguments,
                namespace,
            } => blocks.push(Block::ToolCall(ToolCall {
                id: call_id,
                name: namespace::call_name(namespace.as_deref(), &name),
                arguments,
                kind: ToolKind::Function,
            })),
            OutputItem::CustomToolCall {
                call_id,
                name,
                input,
                namespace,
            } => blocks.push(Block::ToolCall(ToolCall {
                id: call_id,
                name: namespace::call_name(namespace.as_deref(), &name),
                arguments: input,
                kind: ToolKind::Custom,
            })),
            OutputItem::Other => {}
        }
    }
    (blocks, citations)
}

/// The text of a reasoning item: summary parts joined with a blank line, or the raw reasoning
/// text when there is no summary.
pub fn reasoning_text<'a>(
    mut summary: impl ExactSizeIterator<Item = &'a str>,
    content: impl Iterator<Item = &'a str>,
) -> String {
    if summary.len() > 0 {
        join_texts(&mut summary)
    } else {
        join_texts(content)
    }
}

/// A reasoning block, or `None` when the item carries neither text nor state.
pub fn reasoning_part(text: String, encrypted_content: Option<String>) -> Option<ReasoningPart> {
    let opaque = encrypted_content
        .filter(|blob| !blob.is_empty())
        .map(|data| Opaque {
            vendor: Vendor::OpenAi,
            data,
        });
    if text.is_empty() && opaque.is_none() {
        return None;
    }
    Some(ReasoningPart {
        text,
        opaque,
        redacted: false,
    })
}

/// Usage from an optional wire usage.
pub fn usage_or_empty(usage: Option<&super::wire::ResponseUsage>) -> Usage {
    usage.map(usage::decode).unwrap_or_default()
}
