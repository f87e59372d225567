//! `encode_response`: [`ChatResponse`] → a Responses response object for clients (Codex, the
//! OpenAI SDK), and the item builders the stream encoder shares with it, so a streamed answer
//! ends with exactly the object a non-streamed one gets.
//!
//! Items, in block order:
//! - reasoning → `{"id":"rs_…","type":"reasoning","summary":[…],"encrypted_content"?}`; the
//!   state is OpenAI's own blob, or an envelope of another vendor's state with the exact text;
//! - consecutive text/refusal blocks → one `message` item with one part per block;
//! - tool calls → `function_call` / `custom_tool_call` with the call id passed through, and
//!   `namespace` restored for tools the client declared in a namespace;
//! - a server tool call and its result → one `web_search_call` item (see `server_tools`), and
//!   text blocks' citations → `url_citation` annotations of their part.
//!
//! Ids are deterministic: the response is `resp_<core>` ([`client_id`] of the upstream id),
//! item `i` is `<prefix>_<core>_<i>`.

use serde_json::Value;

use super::echo::{Echo, State};
use super::namespace::Namespaces;
use super::server_tools;
use super::state;
use super::stop_reason;
use super::usage;
use super::wire::{
    CustomToolCallOut, FunctionCallOut, IncompleteDetailsOut, MessageItemOut, OutputContentOut,
    OutputItemOut, ReasoningItemOut, SummaryTextOut,
};
use crate::canonical::{Block, ChatResponse, Opaque, ToolKind};
use crate::formats::{ResponseContext, client_id};
use crate::sse::json_text::JsonText;

pub fn encode_response(response: &ChatResponse, context: &ResponseContext) -> Value {
    let id = client_id("resp_", &response.id, context);
    if let Some(kept) = &context.compaction {
        return compacted(response, context, &id, kept);
    }
    let namespaces = Namespaces::from_echo(&context.echo);
    let output = output_items(response, &id, &namespaces);
    let (status, reason) = stop_reason::encode_status(&response.finish, response.has_tool_calls());
    let defaults = Echo::default();
    let object = defaults.object(
        &context.echo,
        State {
            id: &id,
            created_at: context.created_s,
            model: &context.model,
            status,
            output: &output,
            usage: Some(usage::encode(&response.usage)),
            error: None,
            incomplete_details: reason.map(|reason| IncompleteDetailsOut { reason }),
        },
    );
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// A compaction's answer (`CompactedResponse`): the kept user messages, then exactly one
/// `compaction` item whose `encrypted_content` holds the model's summary (what Codex reads).
fn compacted(
    response: &ChatResponse,
    context: &ResponseContext,
    id: &str,
    kept: &[String],
) -> Value {
    let summary: Vec<&str> = response
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let mut output: Vec<Value> = kept
        .iter()
        .map(|text| {
            serde_json::json!({
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            })
        })
        .collect();
    let core = id.strip_prefix("resp_").unwrap_or(id);
    output.push(serde_json::json!({
        "type": "compaction",
        "id": format!("cmp_{core}"),
        "encrypted_content": crate::translate::compaction::seal(&summary.join("\n\n")),
    }));
    serde_json::json!({
        "id": id,
        "object": "response.compaction",
        "created_at": context.created_s,
        "output": output,
        "usage": usage::encode(&response.usage),
    })
}

fn output_items(
    response: &ChatResponse,
    response_id: &str,
    namespaces: &Namespaces,
) -> Vec<OutputItemOut> {
    let blocks = &response.blocks;
    let mut items = Vec::with_capacity(blocks.len());
    // A server tool call's result (the next block) joins the call's item.
    let mut answered: Option<&str> = None;
    let mut message: Option<Vec<OutputContentOut>> = None;
    let flush = |message: &mut Option<Vec<OutputContentOut>>, items: &mut Vec<OutputItemOut>| {
        if let Some(content) = message.take() {
            let id = item_id("msg", response_id, items.len());
            items.push(OutputItemOut::Message(message_item(
                id,
                "completed",
                content,
            )));
        }
    };
    for (index, block) in blocks.iter().enumerate() {
        match block {
            Block::Text(text) => {
                let chars = text.chars().count();
                message
                    .get_or_insert_with(Vec::new)
                    .push(OutputContentOut::OutputText {
                        text: JsonText::new(text),
                        annotations: response
                            .citations_of(index)
                            .map(|citation| server_tools::annotation(citation, chars))
                            .collect(),
                    })
            }
            Block::ServerToolCall(call) => {
                flush(&mut message, &mut items);
                let result = match blocks.get(index + 1) {
                    Some(Block::ServerToolResult(result)) if result.call_id == call.id => {
                        answered = Some(&result.call_id);
                        Some(result)
                    }
                    _ => None,
                };
                let id = item_id("ws", response_id, items.len());
                items.push(OutputItemOut::WebSearchCall(server_tools::search_item(
                    id,
                    Some(call),
                    result,
                    true,
                )));
            }
            Block::ServerToolResult(result) => {
                if answered.take() == Some(result.call_id.as_str()) {
                    continue;
                }
                flush(&mut message, &mut items);
                let id = item_id("ws", response_id, items.len());
                items.push(OutputItemOut::WebSearchCall(server_tools::search_item(
                    id,
                    None,
                    Some(result),
                    true,
                )));
            }
            Block::Refusal(refusal) => {
                message
                    .get_or_insert_with(Vec::new)
                    .push(OutputContentOut::Refusal {
                        refusal: JsonText::new(refusal),
                    })
            }
            Block::Reasoning(part) => {
                flush(&mut message, &mut items);
                let id = item_id("rs", response_id, items.len());
                items.push(OutputItemOut::Reasoning(reasoning_item(
                    id,
                    JsonText::new(&part.text),
                    part.opaque.as_ref(),
                    part.redacted,
                )));
            }
            Block::ToolCall(call) => {
                flush(&mut message, &mut items);
                let id = item_id(call_prefix(call.kind), response_id, items.len());
                items.push(call_item(
                    id,
                    "completed",
                    &call.id,
                    &call.name,
                    call.kind,
                    call.arguments.clone(),
                    namespaces,
                ));
            }
        }
    }
    flush(&mut message, &mut items);
    items
}

/// The arguments of a finished function call that streamed none.
pub const EMPTY_ARGUMENTS: &str = "{}";

/// `<prefix>_<core>_<output_index>` where `resp_<core>` is the response id.
pub fn item_id(prefix: &str, response_id: &str, output_index: usize) -> String {
    let core = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{prefix}_{core}_{output_index}")
}

/// The item id prefix of a tool call.
pub fn call_prefix(kind: ToolKind) -> &'static str {
    match kind {
        ToolKind::Function => "fc",
        ToolKind::Custom => "ctc",
    }
}

/// A finished reasoning item. The summary is one part holding the text (none when empty);
/// `encrypted_content` per [`state::to_client`].
pub fn reasoning_item(
    id: String,
    text: JsonText,
    opaque: Option<&Opaque>,
    redacted: bool,
) -> ReasoningItemOut {
    let encrypted_content = state::to_client(opaque, text.as_str(), redacted);
    ReasoningItemOut {
        id,
        kind: "reasoning",
        summary: if text.as_str().is_empty() {
            Vec::new()
        } else {
            vec![SummaryTextOut {
                kind: "summary_text",
                text,
            }]
        },
        encrypted_content,
    }
}

pub fn message_item(
    id: String,
    status: &'static str,
    content: Vec<OutputContentOut>,
) -> MessageItemOut {
    MessageItemOut {
        id,
        kind: "message",
        status,
        role: "assistant",
        content,
    }
}

/// A tool call item; `arguments` is the raw input for custom tools. A function call without
/// arguments gets `{}` (clients parse them as JSON). Calls to tools the client declared in a
/// namespace get their namespace and nested name back.
pub fn call_item(
    id: String,
    status: &'static str,
    call_id: &str,
    name: &str,
    kind: ToolKind,
    arguments: String,
    namespaces: &Namespaces,
) -> OutputItemOut {
    let (namespace, name) = namespaces.split(name);
    match kind {
        ToolKind::Function => OutputItemOut::FunctionCall(FunctionCallOut {
            id,
            kind: "function_call",
            status,
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            namespace: namespace.map(str::to_owned),
            arguments: if arguments.is_empty() && status == "completed" {
                EMPTY_ARGUMENTS.to_owned()
            } else {
                arguments
            },
        }),
        ToolKind::Custom => OutputItemOut::CustomToolCall(CustomToolCallOut {
            id,
            kind: "custom_tool_call",
            status,
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            namespace: namespace.map(str::to_owned),
            input: arguments,
        }),
    }
}
