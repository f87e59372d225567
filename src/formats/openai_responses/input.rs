//! Request `input` → canonical system prompt and messages.
//!
//! Responses history is a flat list of items; the canonical model has turns. Folding rules:
//! - Assistant `message`s, `reasoning` items and `function_call`/`custom_tool_call` items in a
//!   row form ONE assistant message, reasoning first, then text, then calls.
//! - `function_call_output`/`custom_tool_call_output` items in a row form one user message of
//!   tool results.
//! - System/developer messages before any user or assistant item are the system prompt; later
//!   ones stay in place as [`Role::System`] messages.
//! - **Deferral.** Codex interleaves items: a user or developer message can sit between a call
//!   and its output. Such messages wait until every pending call of the turn has its output, so
//!   the results directly follow the calls (Anthropic and Chat require it). If assistant content
//!   arrives first, the missing outputs are not coming: the waiting messages are released in
//!   place and the calls stay unanswered.
//! - `web_search_call` items are assistant content, kept as they are for Responses upstreams
//!   (see `server_tools`).
//! - `item_reference` needs server-side state → 400. Other item types (built-in tool calls,
//!   `tool_search_call`, `additional_tools`, ...) are dropped with a warning, and so are the
//!   outputs answering a dropped call (Codex returns `local_shell_call` results as
//!   `function_call_output`).

use std::collections::HashSet;

use serde_json::Value;

use super::media;
use super::namespace;
use super::parse;
use super::state;
use super::wire::{
    CustomToolCallItem, FunctionCallItem, InputFile, InputImage, InputMessage, InputText,
    OutputRefusal, ReasoningItem, ToolCallOutputItem,
};
use crate::canonical::{
    Document, FileRef, Media, MediaSource, Message, Part, ReasoningPart, Role, ServerToolKind,
    ServerToolRecord, ToolCall, ToolKind, ToolResult, Vendor,
};
use crate::error::ApiError;
use crate::translate::Warnings;

/// The decoded `input`: leading system blocks and the conversation.
#[derive(Debug, Default, PartialEq)]
pub struct Conversation {
    pub system: Vec<String>,
    pub messages: Vec<Message>,
}

/// Decodes `input` (a string or an array of items).
pub fn decode(input: Value, warnings: &mut Warnings) -> Result<Conversation, ApiError> {
    let items = match input {
        Value::String(text) => {
            return Ok(Conversation {
                system: Vec::new(),
                messages: vec![Message {
                    role: Role::User,
                    parts: vec![Part::Text(text)],
                }],
            });
        }
        Value::Array(items) => items,
        _ => {
            return Err(parse::invalid_value(
                "input",
                "expected a string or an array of input items",
            ));
        }
    };
    let mut history = History::default();
    for (index, item) in items.into_iter().enumerate() {
        history.item(item, index, warnings)?;
    }
    Ok(history.finish())
}

/// Fold state over the input items.
#[derive(Debug, Default)]
struct History {
    /// Leading system/developer text, in order.
    system: Vec<String>,
    /// The conversation so far (deferred messages and the turn being built excluded).
    messages: Vec<Message>,
    /// A user or assistant item has been seen; system/developer messages now stay in place.
    started: bool,
    /// The assistant turn being built, kept in its three parts so each item is added in
    /// constant time, however long the turn.
    turn: Option<AssistantTurn>,
    /// The last message in `messages` is a user message holding only tool results (the next
    /// result joins it).
    results_open: bool,
    /// Call ids of the latest assistant turn that have no output yet.
    pending: HashSet<String>,
    /// User/system messages that arrived while `pending` was non-empty, in order.
    deferred: Vec<Message>,
    /// Call ids of dropped call items (`local_shell_call`, ...): their outputs are dropped
    /// too, since a result without its call is rejected by every upstream.
    dropped_calls: HashSet<String>,
}

/// An assistant turn in the order the upstreams need: reasoning, then text and other content,
/// then tool calls.
#[derive(Debug, Default)]
struct AssistantTurn {
    reasoning: Vec<Part>,
    content: Vec<Part>,
    calls: Vec<Part>,
}

impl History {
    /// Ends the assistant turn being built, if any.
    fn flush_turn(&mut self) {
        if let Some(turn) = self.turn.take() {
            let mut parts = turn.reasoning;
            parts.extend(turn.content);
            parts.extend(turn.calls);
            self.messages.push(Message {
                role: Role::Assistant,
                parts,
            });
            self.results_open = false;
        }
    }

    /// Moves the deferred messages into the conversation.
    fn release_deferred(&mut self) {
        if !self.deferred.is_empty() {
            self.messages.append(&mut self.deferred);
            self.results_open = false;
        }
    }

    fn item(&mut self, item: Value, index: usize, warnings: &mut Warnings) -> Result<(), ApiError> {
        let path = format!("input[{index}]");
        let kind = match parse::type_of(&item) {
            Some(kind) => kind.to_owned(),
            None if item.get("role").is_some() => "message".to_owned(),
            None if item.is_object() => return Err(parse::missing(&format!("{path}.type"))),
            None => return Err(parse::invalid_value(&path, "expected an input item object")),
        };
        match kind.as_str() {
            "message" => self.message(item, &path, warnings),
            "function_call" => {
                let call: FunctionCallItem = parse::take(item, &path)?;
                self.assistant_part(Part::ToolCall(ToolCall {
                    name: namespace::call_name(call.namespace.as_deref(), &call.name),
                    id: call.call_id,
                    arguments: call.arguments,
                    kind: ToolKind::Function,
                }));
                Ok(())
            }
            "custom_tool_call" => {
                let call: CustomToolCallItem = parse::take(item, &path)?;
                self.assistant_part(Part::ToolCall(ToolCall {
                    name: namespace::call_name(call.namespace.as_deref(), &call.name),
                    id: call.call_id,
                    arguments: call.input,
                    kind: ToolKind::Custom,
                }));
                Ok(())
            }
            "function_call_output" | "custom_tool_call_output" => {
                let output: ToolCallOutputItem = parse::take(item, &path)?;
                if self.dropped_calls.contains(&output.call_id) {
                    warnings.dropped_content(format!("input({kind})"));
                    return Ok(());
                }
                let content = tool_output(output.output, &path, warnings)?;
                self.tool_result(ToolResult {
                    call_id: output.call_id,
                    content,
                    is_error: false,
                    kind: if kind == "custom_tool_call_output" {
                        ToolKind::Custom
                    } else {
                        ToolKind::Function
                    },
                });
                Ok(())
            }
            // A search OpenAI ran: only a Responses upstream takes it back.
            "web_search_call" => {
                self.assistant_part(Part::ServerTool(ServerToolRecord {
                    vendor: Vendor::OpenAi,
                    kind: ServerToolKind::WebSearch,
                    raw: item,
                }));
                Ok(())
            }
            "reasoning" => {
                let reasoning: ReasoningItem = parse::take(item, &path)?;
                if let Some(part) = reasoning_part(reasoning) {
                    self.assistant_part(Part::Reasoning(part));
                }
                Ok(())
            }
            // A compaction the gateway made stands for the summary it holds.
            "compaction"
                if let Some(message) = item
                    .get("encrypted_content")
                    .and_then(Value::as_str)
                    .and_then(crate::translate::compaction::unseal) =>
            {
                self.started = true;
                self.flush_turn();
                if self.pending.is_empty() {
                    self.messages.push(message);
                    self.results_open = false;
                } else {
                    self.deferred.push(message);
                }
                Ok(())
            }
            "item_reference" => Err(ApiError::invalid(
                "item_reference items need server-side state, which this gateway does not keep; \
                 send the referenced items themselves.",
            )
            .with_param(path)),
            other => {
                if let Some(call_id) = item.get("call_id").and_then(Value::as_str) {
                    self.dropped_calls.insert(call_id.to_owned());
                }
                warnings.dropped_content(format!("input({other})"));
                Ok(())
            }
        }
    }

    fn message(
        &mut self,
        item: Value,
        path: &str,
        warnings: &mut Warnings,
    ) -> Result<(), ApiError> {
        let message: InputMessage = parse::take(item, path)?;
        let role = match message.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "system" | "developer" => Role::System,
            _ => {
                return Err(parse::invalid_value(
                    &format!("{path}.role"),
                    "expected one of user, assistant, system, developer",
                ));
            }
        };
        let parts = content(message.content, role, &format!("{path}.content"), warnings)?;
        match role {
            Role::Assistant => {
                for part in parts {
                    self.assistant_part(part);
                }
            }
            Role::System if !self.started => {
                // `content` keeps only text in system messages.
                self.system
                    .extend(parts.into_iter().filter_map(|p| match p {
                        Part::Text(text) => Some(text),
                        Part::Image(_)
                        | Part::Document(_)
                        | Part::ToolCall(_)
                        | Part::ToolResult(_)
                        | Part::Reasoning(_)
                        | Part::Refusal(_)
                        | Part::ServerTool(_) => None,
                    }));
            }
            Role::System | Role::User => {
                if role == Role::User {
                    self.started = true;
                }
                if !parts.is_empty() {
                    self.flush_turn();
                    let message = Message { role, parts };
                    if self.pending.is_empty() {
                        self.messages.push(message);
                        self.results_open = false;
                    } else {
                        self.deferred.push(message);
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds a part to the current assistant turn, keeping reasoning → text → calls order.
    fn assistant_part(&mut self, part: Part) {
        self.started = true;
        if !self.deferred.is_empty() {
            // The model spoke again before the outputs came: they are not coming.
            self.pending.clear();
            self.flush_turn();
            self.release_deferred();
        }
        let turn = self.turn.get_or_insert_with(AssistantTurn::default);
        match part {
            Part::Reasoning(_) => turn.reasoning.push(part),
            Part::ToolCall(ref call) => {
                self.pending.insert(call.id.clone());
                turn.calls.push(part);
            }
            Part::Text(_)
            | Part::Refusal(_)
            | Part::Image(_)
            | Part::Document(_)
            | Part::ToolResult(_)
            | Part::ServerTool(_) => turn.content.push(part),
        }
    }

    fn tool_result(&mut self, result: ToolResult) {
        self.started = true;
        self.flush_turn();
        self.pending.remove(&result.call_id);
        match self.messages.last_mut() {
            Some(message) if self.results_open => message.parts.push(Part::ToolResult(result)),
            _ => {
                self.messages.push(Message {
                    role: Role::User,
                    parts: vec![Part::ToolResult(result)],
                });
                self.results_open = true;
            }
        }
        if self.pending.is_empty() {
            self.release_deferred();
        }
    }

    fn finish(mut self) -> Conversation {
        self.flush_turn();
        self.messages.append(&mut self.deferred);
        Conversation {
            system: self.system,
            messages: self.messages,
        }
    }
}

/// A reasoning item → a reasoning part. The text is the summary parts joined with a blank line
/// (or the raw reasoning text when there is no summary); see [`state::from_client`] for the
/// state. Items with neither text nor state carry nothing and give `None`.
fn reasoning_part(item: ReasoningItem) -> Option<ReasoningPart> {
    let text = if item.summary.is_empty() {
        join_texts(item.content.iter().flatten().map(|c| c.text.as_str()))
    } else {
        join_texts(item.summary.iter().map(|s| s.text.as_str()))
    };
    state::from_client(text, item.encrypted_content.as_deref())
}

/// Summary parts are separated by a blank line, in requests, responses and streams alike.
pub fn join_texts<'a>(texts: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, text) in texts.enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str(text);
    }
    out
}

/// Message content (a string or parts) for a message of `role`.
fn content(
    content: Value,
    role: Role,
    path: &str,
    warnings: &mut Warnings,
) -> Result<Vec<Part>, ApiError> {
    let parts = match content {
        Value::String(text) => vec![Value::String(text)],
        Value::Array(parts) => parts,
        _ => {
            return Err(parse::invalid_value(
                path,
                "expected a string or an array of content parts",
            ));
        }
    };
    let mut out = Vec::with_capacity(parts.len());
    for (index, part) in parts.into_iter().enumerate() {
        let part_path = format!("{path}[{index}]");
        let decoded = match part {
            Value::String(text) => Part::Text(text),
            part => match content_part(part, &part_path, warnings)? {
                Some(part) => part,
                None => continue,
            },
        };
        let keep = match (&decoded, role) {
            (Part::Text(text), Role::Assistant) => !text.is_empty(),
            (Part::Text(_), Role::User | Role::System) => true,
            (Part::Refusal(_), Role::Assistant) => true,
            (Part::Image(_) | Part::Document(_), Role::User) => true,
            (Part::Refusal(_), Role::User | Role::System)
            | (Part::Image(_) | Part::Document(_), Role::Assistant | Role::System)
            | (
                Part::ToolCall(_) | Part::ToolResult(_) | Part::Reasoning(_) | Part::ServerTool(_),
                _,
            ) => {
                warnings.dropped_content(format!("content({})", part_kind(&decoded)));
                false
            }
        };
        if keep {
            out.push(decoded);
        }
    }
    Ok(out)
}

fn part_kind(part: &Part) -> &'static str {
    match part {
        Part::Text(_) => "text",
        Part::Image(_) => "input_image",
        Part::Document(_) => "input_file",
        Part::ToolCall(_) => "tool_call",
        Part::ToolResult(_) => "tool_result",
        Part::Reasoning(_) => "reasoning",
        Part::Refusal(_) => "refusal",
        Part::ServerTool(_) => "server_tool",
    }
}

/// One content part; `None` for part types the gateway drops (with a warning).
fn content_part(
    part: Value,
    path: &str,
    warnings: &mut Warnings,
) -> Result<Option<Part>, ApiError> {
    let Some(kind) = parse::type_of(&part).map(str::to_owned) else {
        return Err(parse::missing(&format!("{path}.type")));
    };
    Ok(Some(match kind.as_str() {
        "input_text" | "output_text" | "text" => {
            let text: InputText = parse::take(part, path)?;
            Part::Text(text.text)
        }
        "refusal" => {
            let refusal: OutputRefusal = parse::take(part, path)?;
            Part::Refusal(refusal.refusal)
        }
        "input_image" => {
            let image: InputImage = parse::take(part, path)?;
            let source = match (image.image_url, image.file_id) {
                (Some(url), _) if !url.is_empty() => media::source_from_url(&url),
                (_, Some(id)) if !id.is_empty() => MediaSource::FileId(FileRef {
                    id,
                    vendor: Vendor::OpenAi,
                    path: path.to_owned(),
                }),
                _ => return Err(parse::missing(&format!("{path}.image_url"))),
            };
            Part::Image(Media {
                source,
                detail: image.detail,
            })
        }
        "input_file" => {
            let file: InputFile = parse::take(part, path)?;
            let source = match (file.file_data, file.file_url, file.file_id) {
                (Some(data), _, _) if !data.is_empty() => match media::parse_data_url(&data) {
                    Some(_) => media::source_from_url(&data),
                    None => MediaSource::Base64 {
                        media_type: media_type_for(file.filename.as_deref()).to_owned(),
                        data,
                    },
                },
                (_, Some(url), _) if !url.is_empty() => MediaSource::Url(url),
                (_, _, Some(id)) if !id.is_empty() => MediaSource::FileId(FileRef {
                    id,
                    vendor: Vendor::OpenAi,
                    path: path.to_owned(),
                }),
                _ => return Err(parse::missing(&format!("{path}.file_data"))),
            };
            Part::Document(Document {
                source,
                filename: file.filename,
                title: None,
            })
        }
        other => {
            warnings.dropped_content(format!("content({other})"));
            return Ok(None);
        }
    }))
}

/// The media type of raw base64 `file_data` sent without a data URL, from its file name.
fn media_type_for(filename: Option<&str>) -> &'static str {
    let extension = filename
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("txt") => "text/plain",
        Some("md") => "text/markdown",
        Some("html") | Some("htm") => "text/html",
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        _ => "application/pdf",
    }
}

/// A tool output (a string or parts) → tool result content.
fn tool_output(output: Value, path: &str, warnings: &mut Warnings) -> Result<Vec<Part>, ApiError> {
    let path = format!("{path}.output");
    match output {
        Value::String(text) => Ok(vec![Part::Text(text)]),
        Value::Array(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for (index, part) in parts.into_iter().enumerate() {
                let part_path = format!("{path}[{index}]");
                match content_part(part, &part_path, warnings)? {
                    Some(part @ (Part::Text(_) | Part::Image(_) | Part::Document(_))) => {
                        out.push(part)
                    }
                    Some(Part::Refusal(text)) => out.push(Part::Text(text)),
                    Some(
                        Part::ToolCall(_)
                        | Part::ToolResult(_)
                        | Part::Reasoning(_)
                        | Part::ServerTool(_),
                    )
                    | None => {}
                }
            }
            Ok(out)
        }
        _ => Err(parse::invalid_value(
            &path,
            "expected a string or an array of content parts",
        )),
    }
}
