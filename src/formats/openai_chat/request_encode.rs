//! [`ChatRequest`] → the body sent to a Chat upstream (OpenAI, or an OpenAI-compatible server
//! such as DeepSeek, Groq, vLLM or OpenRouter).
//!
//! Choices made here, each visible in the warnings header when it loses something:
//! - The system prompt becomes one leading `system` message (blocks joined with a blank line),
//!   which every compatible server accepts; `developer` is OpenAI-only.
//! - A user message's tool results become `tool` messages first (Chat requires them right after
//!   the assistant's `tool_calls`). Tool messages are text only: images and documents in a
//!   result move to a user message after them (`converted=tool_result_images->user_message`).
//!   An error result is prefixed with `Error: ` unless its text already starts with "error", as
//!   Chat has no error flag.
//! - Assistant reasoning is not sent: Chat has no replay channel for it, and DeepSeek rejects
//!   `reasoning_content` in input messages.
//! - Streaming requests always ask for `stream_options.include_usage`: the gateway bills from
//!   the usage chunk, whatever the client asked.
//! - `Thinking::Disabled` sends no `reasoning_effort` (the model's default), because `none` is
//!   rejected by models that cannot switch reasoning off; an explicit `Effort::None` from a Chat
//!   or Responses client is sent as `none`.
//! - Documents by URL are a 400: Chat has no file-URL input and the gateway does not download.
//!   Provider file ids are sent as they are, and the upstream decides whether it knows them.

use std::borrow::Cow;

use serde_json::Value;

use super::data_url;
use super::wire::{
    ChatCompletionContentPart, ChatCompletionCreateParams, ChatCompletionMessageParam,
    ChatCompletionMessageToolCall, ChatCompletionNamedToolChoice, ChatCompletionStreamOptions,
    ChatCompletionTool, CustomToolCall, CustomToolDefinition, FileContent, FunctionCall,
    FunctionDefinition, ImageUrl, JsonSchema, ResponseFormat as WireResponseFormat, Str, StringOr,
    ToolName,
};
use crate::canonical::{
    ChatRequest, Document, Media, MediaSource, Message, Part, ResponseFormat, Role, Thinking, Tool,
    ToolCall, ToolChoice, ToolKind, ToolResult, Vendor,
};
use crate::error::ApiError;
use crate::formats::{EncodedBody, MaxTokensParam, UpstreamTarget};
use crate::translate::Warnings;

/// Chat accepts at most this many stop sequences.
const MAX_STOP_SEQUENCES: usize = 4;

/// Encodes a request for a Chat upstream.
pub fn encode_request(
    request: &ChatRequest,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> Result<Value, ApiError> {
    encode_request_as(request, target, warnings)
}

/// [`encode_request`], handing the body over as a JSON value or straight as the bytes sent
/// upstream (one serialization, no intermediate tree).
pub fn encode_request_as<B: EncodedBody>(
    request: &ChatRequest,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> Result<B, ApiError> {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        let blocks: Vec<&str> = request.system.iter().map(String::as_str).collect();
        messages.push(text_message("system", join(&blocks, "\n\n")));
    }
    for (i, message) in request.messages.iter().enumerate() {
        match message.role {
            Role::System => encode_system(message, &mut messages, warnings),
            Role::User => encode_user(i, message, &mut messages, warnings)?,
            Role::Assistant => encode_assistant(message, &mut messages, warnings),
        }
    }

    let (tools, builtins) = encode_tools(&request.tools, warnings);
    let tool_choice = encode_tool_choice(request, &tools, &builtins, warnings)?;

    let max_output_tokens =
        request
            .max_output_tokens
            .map(|requested| match target.max_output_tokens {
                Some(limit) if requested > limit => {
                    warnings.clamped(format!("max_output_tokens({requested}->{limit})"));
                    limit
                }
                _ => requested,
            });
    let (max_completion_tokens, max_tokens) = match target.max_tokens_param {
        MaxTokensParam::MaxCompletionTokens => (max_output_tokens, None),
        MaxTokensParam::MaxTokens => (None, max_output_tokens),
    };
    if request.top_k.is_some() {
        warnings.dropped("top_k");
    }

    let params = ChatCompletionCreateParams {
        model: Cow::Borrowed(&target.model),
        messages,
        max_completion_tokens,
        max_tokens,
        temperature: request
            .temperature
            .map(|t| clamp("temperature", t, 0.0, 2.0, warnings)),
        top_p: request.top_p.map(|p| clamp("top_p", p, 0.0, 1.0, warnings)),
        stop: encode_stop(&request.stop_sequences, warnings),
        stream: Some(target.stream),
        stream_options: target.stream.then_some(ChatCompletionStreamOptions {
            include_usage: Some(true),
        }),
        parallel_tool_calls: if tools.is_empty() {
            None
        } else {
            request.parallel_tool_calls
        },
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice,
        reasoning_effort: encode_reasoning(request.thinking, target, warnings),
        response_format: request.response_format.as_ref().map(encode_response_format),
        user: request
            .user
            .as_deref()
            .map(|user| Cow::Owned(crate::formats::openai_user_id(user, warnings))),
        prompt_cache_key: request
            .prompt_cache_key
            .as_deref()
            .and_then(crate::formats::openai_common::prompt_cache_key)
            .map(Cow::Borrowed),
        ..ChatCompletionCreateParams::default()
    };
    B::encoded(&params, request.prompt_chars())
}

/// `value` brought into `[min, max]`, with a warning when it moved.
fn clamp(name: &str, value: f64, min: f64, max: f64, warnings: &mut Warnings) -> f64 {
    let clamped = value.clamp(min, max);
    if clamped != value {
        warnings.clamped(format!("{name}({value}->{clamped})"));
    }
    clamped
}

/// Texts joined with `separator`, borrowed when there is only one.
fn join<'a>(texts: &[&'a str], separator: &str) -> Str<'a> {
    match texts {
        [one] => Cow::Borrowed(one),
        _ => Cow::Owned(texts.join(separator)),
    }
}

fn text_message<'a>(role: &'static str, text: Str<'a>) -> ChatCompletionMessageParam<'a> {
    ChatCompletionMessageParam {
        role: Cow::Borrowed(role),
        content: Some(StringOr::String(text)),
        ..ChatCompletionMessageParam::default()
    }
}

/// The name a part has in warnings.
fn part_name(part: &Part) -> &'static str {
    match part {
        Part::Text(_) => "text",
        Part::Image(_) => "image",
        Part::Document(_) => "document",
        Part::ToolCall(_) => "tool_call",
        Part::ToolResult(_) => "tool_result",
        Part::Reasoning(_) => "reasoning",
        Part::Refusal(_) => "refusal",
        Part::ServerTool(_) => "server_tool",
    }
}

fn encode_system<'a>(
    message: &'a Message,
    messages: &mut Vec<ChatCompletionMessageParam<'a>>,
    warnings: &mut Warnings,
) {
    let mut texts: Vec<&str> = Vec::with_capacity(message.parts.len());
    for part in &message.parts {
        match part {
            Part::Text(text) => texts.push(text),
            other @ (Part::Image(_)
            | Part::Document(_)
            | Part::ToolCall(_)
            | Part::ToolResult(_)
            | Part::Reasoning(_)
            | Part::Refusal(_)
            | Part::ServerTool(_)) => warnings.dropped(format!("system_{}", part_name(other))),
        }
    }
    if !texts.is_empty() {
        messages.push(text_message("system", join(&texts, "\n\n")));
    }
}

fn encode_user<'a>(
    i: usize,
    message: &'a Message,
    messages: &mut Vec<ChatCompletionMessageParam<'a>>,
    warnings: &mut Warnings,
) -> Result<(), ApiError> {
    let mut content: Vec<ChatCompletionContentPart<'a>> = Vec::new();
    for (j, part) in message.parts.iter().enumerate() {
        let path = format!("messages[{i}].content[{j}]");
        match part {
            Part::ToolResult(result) => {
                let media_before = content.len();
                messages.push(tool_message(result, &path, &mut content, warnings)?);
                if content.len() > media_before {
                    warnings.converted("tool_result_images->user_message");
                }
            }
            other @ (Part::Text(_)
            | Part::Image(_)
            | Part::Document(_)
            | Part::ToolCall(_)
            | Part::Reasoning(_)
            | Part::Refusal(_)
            | Part::ServerTool(_)) => {
                if let Some(encoded) = user_part(other, &path, warnings)? {
                    content.push(encoded);
                }
            }
        }
    }
    match content.as_slice() {
        [] => {}
        [only] if only.kind == "text" => {
            let text = only.text.clone().unwrap_or_default();
            messages.push(text_message("user", text));
        }
        _ => messages.push(ChatCompletionMessageParam {
            role: Cow::Borrowed("user"),
            content: Some(StringOr::Other(content)),
            ..ChatCompletionMessageParam::default()
        }),
    }
    Ok(())
}

/// A `tool` message for `result`; its images and documents go to `media`.
fn tool_message<'a>(
    result: &'a ToolResult,
    path: &str,
    media: &mut Vec<ChatCompletionContentPart<'a>>,
    warnings: &mut Warnings,
) -> Result<ChatCompletionMessageParam<'a>, ApiError> {
    let mut texts: Vec<&str> = Vec::with_capacity(result.content.len());
    for (k, part) in result.content.iter().enumerate() {
        match part {
            Part::Text(text) => texts.push(text),
            Part::Image(_) | Part::Document(_) => {
                if let Some(encoded) = user_part(part, &format!("{path}.content[{k}]"), warnings)? {
                    media.push(encoded);
                }
            }
            other @ (Part::ToolCall(_)
            | Part::ToolResult(_)
            | Part::Reasoning(_)
            | Part::Refusal(_)
            | Part::ServerTool(_)) => {
                warnings.dropped(format!("tool_result_{}", part_name(other)));
            }
        }
    }
    let mut text = join(&texts, "\n");
    if result.is_error {
        text = Cow::Owned(crate::formats::error_result_text(&text));
    }
    Ok(ChatCompletionMessageParam {
        role: Cow::Borrowed("tool"),
        content: Some(StringOr::String(text)),
        tool_call_id: Some(Cow::Borrowed(&result.call_id)),
        ..ChatCompletionMessageParam::default()
    })
}

/// A user content part; `None` (with a warning) for parts a user message cannot hold.
fn user_part<'a>(
    part: &'a Part,
    path: &str,
    warnings: &mut Warnings,
) -> Result<Option<ChatCompletionContentPart<'a>>, ApiError> {
    Ok(Some(match part {
        Part::Text(text) => ChatCompletionContentPart {
            kind: Cow::Borrowed("text"),
            text: Some(Cow::Borrowed(text)),
            ..ChatCompletionContentPart::default()
        },
        Part::Image(image) => image_part(image)?,
        Part::Document(document) => file_part(document, path)?,
        other @ (Part::ToolCall(_)
        | Part::ToolResult(_)
        | Part::Reasoning(_)
        | Part::Refusal(_)
        | Part::ServerTool(_)) => {
            warnings.dropped(format!("user_{}", part_name(other)));
            return Ok(None);
        }
    }))
}

fn image_part<'a>(image: &'a Media) -> Result<ChatCompletionContentPart<'a>, ApiError> {
    let url = match &image.source {
        MediaSource::Base64 { media_type, data } => Cow::Owned(data_url::format(media_type, data)),
        MediaSource::Url(url) => Cow::Borrowed(url.as_str()),
        MediaSource::FileId(file) => {
            return Err(ApiError::invalid(
                "Chat Completions upstreams cannot take an image by file id; send it inline or \
                 by URL.",
            )
            .with_param(file.path.as_str()));
        }
    };
    Ok(ChatCompletionContentPart {
        kind: Cow::Borrowed("image_url"),
        image_url: Some(ImageUrl {
            url,
            detail: image.detail.as_deref().map(Cow::Borrowed),
        }),
        ..ChatCompletionContentPart::default()
    })
}

fn file_part<'a>(
    document: &'a Document,
    path: &str,
) -> Result<ChatCompletionContentPart<'a>, ApiError> {
    let file = match &document.source {
        MediaSource::Base64 { media_type, data } => FileContent {
            file_data: Some(Cow::Owned(data_url::format(media_type, data))),
            file_id: None,
            // OpenAI requires a filename with inline file data.
            filename: Some(
                document
                    .filename
                    .as_deref()
                    .or(document.title.as_deref())
                    .map_or(Cow::Borrowed("document.pdf"), Cow::Borrowed),
            ),
        },
        MediaSource::FileId(file) => {
            crate::formats::check_file_vendor(file, Vendor::OpenAi)?;
            FileContent {
                file_data: None,
                file_id: Some(Cow::Borrowed(&file.id)),
                filename: None,
            }
        }
        MediaSource::Url(_) => {
            return Err(ApiError::invalid(
                "Chat Completions upstreams cannot take a document by URL; send it inline as \
                 base64.",
            )
            .with_param(path));
        }
    };
    Ok(ChatCompletionContentPart {
        kind: Cow::Borrowed("file"),
        file: Some(file),
        ..ChatCompletionContentPart::default()
    })
}

fn encode_assistant<'a>(
    message: &'a Message,
    messages: &mut Vec<ChatCompletionMessageParam<'a>>,
    warnings: &mut Warnings,
) {
    let mut texts: Vec<&str> = Vec::new();
    let mut refusals: Vec<&str> = Vec::new();
    let mut tool_calls = Vec::new();
    for part in &message.parts {
        match part {
            Part::Text(text) => texts.push(text),
            Part::Refusal(text) => refusals.push(text),
            Part::ToolCall(call) => tool_calls.push(encode_tool_call(call)),
            // Chat has no channel for reasoning in input; not a parameter, so no warning.
            Part::Reasoning(_) => {}
            // Another vendor's search record: Chat takes none back (the text says what it found).
            other @ (Part::Image(_)
            | Part::Document(_)
            | Part::ToolResult(_)
            | Part::ServerTool(_)) => {
                warnings.dropped(format!("assistant_{}", part_name(other)));
            }
        }
    }
    if texts.is_empty() && refusals.is_empty() && tool_calls.is_empty() {
        return;
    }
    messages.push(ChatCompletionMessageParam {
        role: Cow::Borrowed("assistant"),
        content: (!texts.is_empty()).then(|| StringOr::String(join(&texts, "\n\n"))),
        refusal: (!refusals.is_empty()).then(|| join(&refusals, "\n\n")),
        tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
        ..ChatCompletionMessageParam::default()
    });
}

/// A tool call as Chat writes it (also used in answers to clients).
pub fn encode_tool_call(call: &ToolCall) -> ChatCompletionMessageToolCall<'_> {
    match call.kind {
        ToolKind::Function => ChatCompletionMessageToolCall {
            id: Cow::Borrowed(&call.id),
            kind: Some(Cow::Borrowed("function")),
            function: Some(FunctionCall {
                name: Cow::Borrowed(&call.name),
                // Chat servers parse the arguments; an empty call has no arguments, not none.
                arguments: Cow::Borrowed(if call.arguments.is_empty() {
                    "{}"
                } else {
                    &call.arguments
                }),
            }),
            custom: None,
        },
        ToolKind::Custom => ChatCompletionMessageToolCall {
            id: Cow::Borrowed(&call.id),
            kind: Some(Cow::Borrowed("custom")),
            function: None,
            custom: Some(CustomToolCall {
                name: Cow::Borrowed(&call.name),
                input: Cow::Borrowed(&call.arguments),
            }),
        },
    }
}

/// The tools Chat can carry, and the kinds of the built-in tools that were dropped.
fn encode_tools<'a>(
    tools: &'a [Tool],
    warnings: &mut Warnings,
) -> (Vec<ChatCompletionTool<'a>>, Vec<&'a str>) {
    let mut out = Vec::with_capacity(tools.len());
    let mut builtins = Vec::new();
    for tool in tools {
        match tool {
            Tool::Function {
                name,
                description,
                parameters,
                strict,
            } => out.push(ChatCompletionTool {
                kind: Cow::Borrowed("function"),
                function: Some(FunctionDefinition {
                    name: Cow::Borrowed(name),
                    description: description.as_deref().map(Cow::Borrowed),
                    parameters: Some(Cow::Borrowed(parameters)),
                    strict: *strict,
                }),
                custom: None,
            }),
            // `translate::adapt` wraps custom tools as functions for Chat upstreams; one that
            // gets here goes out in OpenAI's own custom form.
            Tool::Custom {
                name,
                description,
                format,
            } => out.push(ChatCompletionTool {
                kind: Cow::Borrowed("custom"),
                function: None,
                custom: Some(CustomToolDefinition {
                    name: Cow::Borrowed(name),
                    description: description.as_deref().map(Cow::Borrowed),
                    format: format.as_ref().map(Cow::Borrowed),
                }),
            }),
            Tool::Builtin { kind, .. } => {
                warnings.dropped(format!("tool({kind})"));
                builtins.push(kind.as_str());
            }
            // Chat has no server tools (`translate::request` refuses or drops them first).
            Tool::Server(tool) => {
                warnings.dropped(format!("tool({})", tool.client_type));
                builtins.push(tool.client_type.as_str());
            }
        }
    }
    (out, builtins)
}

fn encode_tool_choice<'a>(
    request: &'a ChatRequest,
    tools: &[ChatCompletionTool<'a>],
    builtins: &[&str],
    warnings: &mut Warnings,
) -> Result<Option<StringOr<'a, ChatCompletionNamedToolChoice<'a>>>, ApiError> {
    let Some(choice) = &request.tool_choice else {
        return Ok(None);
    };
    if let ToolChoice::Named(name) = choice
        && builtins.contains(&name.as_str())
    {
        return Err(ApiError::invalid(format!(
            "tool_choice forces the built-in tool '{name}', which this model's Chat Completions \
             upstream cannot run."
        ))
        .with_param("tool_choice"));
    }
    if tools.is_empty() {
        // Chat rejects `tool_choice` without `tools`.
        if matches!(choice, ToolChoice::Required | ToolChoice::Named(_)) {
            warnings.dropped("tool_choice");
        }
        return Ok(None);
    }
    let mode = |mode: &'static str| Some(StringOr::String(Cow::Borrowed(mode)));
    Ok(match choice {
        ToolChoice::None => mode("none"),
        ToolChoice::Auto => mode("auto"),
        ToolChoice::Required => mode("required"),
        ToolChoice::Named(name) => {
            let custom = tools.iter().any(|tool| {
                tool.custom
                    .as_ref()
                    .is_some_and(|c| c.name == name.as_str())
            });
            let named = Some(ToolName {
                name: Cow::Borrowed(name),
            });
            Some(StringOr::Other(if custom {
                ChatCompletionNamedToolChoice {
                    kind: Cow::Borrowed("custom"),
                    custom: named,
                    ..ChatCompletionNamedToolChoice::default()
                }
            } else {
                ChatCompletionNamedToolChoice {
                    kind: Cow::Borrowed("function"),
                    function: named,
                    ..ChatCompletionNamedToolChoice::default()
                }
            }))
        }
    })
}

fn encode_stop<'a>(
    stops: &'a [String],
    warnings: &mut Warnings,
) -> Option<StringOr<'a, Vec<Str<'a>>>> {
    if stops.len() > MAX_STOP_SEQUENCES {
        warnings.clamped(format!("stop({}->{MAX_STOP_SEQUENCES})", stops.len()));
    }
    let mut kept = stops
        .iter()
        .take(MAX_STOP_SEQUENCES)
        .map(|s| Cow::Borrowed(s.as_str()));
    match stops.len() {
        0 => None,
        1 => kept.next().map(StringOr::String),
        _ => Some(StringOr::Other(kept.collect())),
    }
}

fn encode_reasoning(
    thinking: Option<Thinking>,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> Option<Str<'static>> {
    let effort = match thinking? {
        Thinking::Disabled => return None,
        Thinking::Effort(effort) => effort,
        budget_or_adaptive @ (Thinking::Budget(_) | Thinking::Adaptive(_)) => {
            budget_or_adaptive.effort()?
        }
    };
    if target.reasoning {
        Some(Cow::Borrowed(effort.as_str()))
    } else {
        if thinking.and_then(Thinking::effort).is_some() {
            warnings.dropped("reasoning_effort");
        }
        None
    }
}

fn encode_response_format(format: &ResponseFormat) -> WireResponseFormat<'_> {
    match format {
        ResponseFormat::Text => WireResponseFormat {
            kind: Cow::Borrowed("text"),
            json_schema: None,
        },
        ResponseFormat::JsonObject => WireResponseFormat {
            kind: Cow::Borrowed("json_object"),
            json_schema: None,
        },
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
            description,
        } => WireResponseFormat {
            kind: Cow::Borrowed("json_schema"),
            json_schema: Some(JsonSchema {
                name: Cow::Borrowed(name),
                description: description.as_deref().map(Cow::Borrowed),
                schema: Some(Cow::Borrowed(schema)),
                strict: *strict,
            }),
        },
    }
}
