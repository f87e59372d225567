//! A Chat client's request body → [`ChatRequest`].
//!
//! What this accepts is what the gateway accepts from Chat clients (the OpenAI SDKs, IDE
//! plugins, agents). Bad input is a 400 naming the field (`param`), never a panic; unknown part,
//! tool and choice types are dropped with a warning; parameters the canonical model cannot
//! carry are dropped with a warning; output shapes the gateway cannot produce (`n > 1`, audio)
//! are a 400.
//!
//! Message normalisation (see `canonical::request`):
//! - `system`/`developer` messages before the first user, assistant or tool message become
//!   [`ChatRequest::system`] blocks (one per text part); later ones stay as [`Role::System`]
//!   messages.
//! - `tool` and legacy `function` messages become [`Part::ToolResult`]s; consecutive ones share
//!   one user message, and the user message right after them joins it (results first).
//! - An assistant's `reasoning_content` (or `reasoning`) extension becomes a leading
//!   [`Part::Reasoning`] without vendor state: Chat carries none.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::data_url;
use super::wire::{
    ChatCompletionContentPart, ChatCompletionCreateParams, ChatCompletionFunctionCallOption,
    ChatCompletionMessageParam, ChatCompletionMessageToolCall, ChatCompletionNamedToolChoice,
    ChatCompletionTool, FunctionDefinition, MessageContent, ResponseFormat as WireResponseFormat,
    Str, StringOr,
};
use crate::canonical::{
    ChatRequest, Document, Effort, FileRef, Media, MediaSource, Message, Part, ReasoningPart,
    ResponseFormat, Role, Thinking, Tool, ToolCall, ToolChoice, ToolKind, ToolResult, Vendor,
};
use crate::error::ApiError;
use crate::translate::Warnings;

/// Decodes a Chat Completions request body.
pub fn decode_request(body: &[u8], warnings: &mut Warnings) -> Result<ChatRequest, ApiError> {
    let params: ChatCompletionCreateParams<'_> = parse_body(body)?;
    if params.model.is_empty() {
        return Err(ApiError::invalid("'model' must not be empty.").with_param("model"));
    }
    if params.messages.is_empty() {
        return Err(
            ApiError::invalid("'messages' must contain at least one message.")
                .with_param("messages"),
        );
    }
    if let Some(n) = params.n
        && n > 1
    {
        return Err(
            ApiError::invalid("Only one choice per request is supported ('n' must be 1).")
                .with_param("n"),
        );
    }
    if params
        .modalities
        .as_ref()
        .is_some_and(|m| m.iter().any(|modality| modality == "audio"))
    {
        return Err(ApiError::invalid("Audio output is not supported.").with_param("modalities"));
    }
    if params.audio.is_some() {
        return Err(ApiError::invalid("Audio output is not supported.").with_param("audio"));
    }
    for (name, value) in params.dropped_params() {
        if value.is_some_and(|v| *v != Value::Bool(false)) {
            warnings.dropped(name);
        }
    }

    let thinking = match params.reasoning_effort.as_deref() {
        None => None,
        Some(value) => Some(Effort::parse(value).ok_or_else(|| {
            ApiError::invalid(format!(
                "Unknown 'reasoning_effort' value '{value}'; expected none, minimal, low, \
                 medium, high, xhigh or max."
            ))
            .with_param("reasoning_effort")
        })?),
    };

    let mut messages = MessagesDecoder::default();
    for (i, message) in params.messages.into_iter().enumerate() {
        messages.push(i, message, warnings)?;
    }

    let mut request = ChatRequest {
        model: params.model.into_owned(),
        system: messages.system,
        messages: messages.messages,
        max_output_tokens: params.max_completion_tokens.or(params.max_tokens),
        temperature: params.temperature,
        top_p: params.top_p,
        top_k: None,
        stop_sequences: match params.stop {
            None => Vec::new(),
            Some(StringOr::String(stop)) => vec![stop.into_owned()],
            Some(StringOr::Other(stops)) => stops.into_iter().map(|s| s.into_owned()).collect(),
        },
        stream: params.stream.unwrap_or(false),
        tools: decode_tools(params.tools, params.functions, warnings)?,
        tool_choice: decode_tool_choice(params.tool_choice, params.function_call, warnings)?,
        parallel_tool_calls: params.parallel_tool_calls,
        thinking: thinking.map(Thinking::Effort),
        // Chat clients read `reasoning_content` whenever the model reasons.
        reasoning_summary: thinking.is_some_and(|effort| effort != Effort::None),
        response_format: params
            .response_format
            .map(|format| decode_response_format(format, warnings))
            .transpose()?
            .flatten(),
        user: params
            .safety_identifier
            .or(params.user)
            .map(|user| user.into_owned()),
        prompt_cache_key: params.prompt_cache_key.map(|key| key.into_owned()),
        ..ChatRequest::default()
    };
    request.client.include_usage = params
        .stream_options
        .and_then(|options| options.include_usage)
        .unwrap_or(false);
    Ok(request)
}

/// Parses `body` as `T`, turning serde's errors into 400s whose `param` is the path of the
/// offending field.
fn parse_body<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(body_error)?;
    deserializer.end().map_err(|error| {
        ApiError::invalid(format!("The request body is not valid JSON: {error}"))
    })?;
    Ok(value)
}

fn body_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if !inner.is_data() {
        return ApiError::invalid(format!("The request body is not valid JSON: {inner}"));
    }
    let message = inner.to_string();
    let message = message
        .rfind(" at line ")
        .and_then(|at| message.get(..at))
        .unwrap_or(&message);
    let field = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'));
    match (field, path.as_str()) {
        (Some(field), ".") => missing(field),
        (Some(field), path) => missing(&format!("{path}.{field}")),
        (None, ".") => ApiError::invalid("The request body must be a JSON object."),
        (None, path) => {
            ApiError::invalid(format!("Invalid value for '{path}': {message}")).with_param(path)
        }
    }
}

fn missing(param: &str) -> ApiError {
    ApiError::invalid(format!("Missing required parameter: '{param}'.")).with_param(param)
}

/// Builds the canonical messages and system prompt from Chat messages, in order.
#[derive(Default)]
struct MessagesDecoder {
    system: Vec<String>,
    messages: Vec<Message>,
    /// A user, assistant, tool or function message was seen: system messages from now on stay
    /// in place instead of joining the system prompt.
    conversation_started: bool,
    /// The last message holds tool results from `tool` messages, and a following tool or user
    /// message joins it.
    tool_turn_open: bool,
    /// Kinds of the assistant tool calls seen so far, by call id, so a custom call's result is
    /// marked custom too.
    call_kinds: HashMap<String, ToolKind>,
    /// Id given to the last legacy `function_call`, for the `function` message answering it.
    legacy_call_id: Option<String>,
}

impl MessagesDecoder {
    fn push(
        &mut self,
        i: usize,
        message: ChatCompletionMessageParam<'static>,
        warnings: &mut Warnings,
    ) -> Result<(), ApiError> {
        let path = format!("messages[{i}]");
        match message.role.as_ref() {
            "system" | "developer" => {
                let texts = text_content(message.content, &path, warnings)?;
                if self.conversation_started {
                    let parts = texts.into_iter().map(Part::Text).collect();
                    self.push_message(Role::System, parts);
                } else {
                    self.system
                        .extend(texts.into_iter().filter(|text| !text.is_empty()));
                }
            }
            "user" => {
                self.conversation_started = true;
                let parts = user_content(message.content, &path, warnings)?;
                if self.tool_turn_open
                    && let Some(last) = self.messages.last_mut()
                {
                    last.parts.extend(parts);
                    self.tool_turn_open = false;
                } else {
                    self.push_message(Role::User, parts);
                }
            }
            "assistant" => {
                self.conversation_started = true;
                let parts = self.assistant_parts(i, message, &path, warnings)?;
                if parts.is_empty() {
                    self.tool_turn_open = false;
                } else {
                    self.push_message(Role::Assistant, parts);
                }
            }
            "tool" => {
                self.conversation_started = true;
                let call_id = match message.tool_call_id {
                    Some(id) if !id.is_empty() => id.into_owned(),
                    _ => return Err(missing(&format!("{path}.tool_call_id"))),
                };
                let kind = self.call_kinds.get(&call_id).copied().unwrap_or_default();
                let content = text_content(message.content, &path, warnings)?;
                self.push_tool_result(call_id, kind, content);
            }
            "function" => {
                self.conversation_started = true;
                let call_id = self.legacy_call_id.clone().unwrap_or_else(|| {
                    format!("call_{}", message.name.as_deref().unwrap_or("function"))
                });
                let content = text_content(message.content, &path, warnings)?;
                self.push_tool_result(call_id, ToolKind::Function, content);
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "Unknown role '{other}'; expected system, developer, user, assistant, tool \
                     or function."
                ))
                .with_param(format!("{path}.role")));
            }
        }
        Ok(())
    }

    fn push_message(&mut self, role: Role, parts: Vec<Part>) {
        self.tool_turn_open = false;
        self.messages.push(Message { role, parts });
    }

    fn push_tool_result(&mut self, call_id: String, kind: ToolKind, texts: Vec<String>) {
        let result = Part::ToolResult(ToolResult {
            call_id,
            content: texts
                .into_iter()
                .filter(|text| !text.is_empty())
                .map(Part::Text)
                .collect(),
            is_error: false,
            kind,
        });
        if self.tool_turn_open
            && let Some(last) = self.messages.last_mut()
        {
            last.parts.push(result);
            return;
        }
        self.messages.push(Message {
            role: Role::User,
            parts: vec![result],
        });
        self.tool_turn_open = true;
    }

    /// Reasoning first, then text and refusals in order, then tool calls.
    fn assistant_parts(
        &mut self,
        i: usize,
        message: ChatCompletionMessageParam<'static>,
        path: &str,
        warnings: &mut Warnings,
    ) -> Result<Vec<Part>, ApiError> {
        let mut parts = Vec::new();
        if let Some(reasoning) = message.reasoning_content.or(message.reasoning)
            && !reasoning.is_empty()
        {
            parts.push(Part::Reasoning(ReasoningPart {
                text: reasoning.into_owned(),
                opaque: None,
                redacted: false,
            }));
        }
        match message.content {
            None => {}
            Some(StringOr::String(text)) if !text.is_empty() => {
                parts.push(Part::Text(text.into_owned()));
            }
            Some(StringOr::String(_)) => {}
            Some(StringOr::Other(content)) => {
                for (j, part) in content.into_iter().enumerate() {
                    let part_path = format!("{path}.content[{j}]");
                    match part.kind.as_ref() {
                        "text" => {
                            let text = required(part.text, &part_path, "text")?;
                            if !text.is_empty() {
                                parts.push(Part::Text(text));
                            }
                        }
                        "refusal" => parts.push(Part::Refusal(required(
                            part.refusal,
                            &part_path,
                            "refusal",
                        )?)),
                        other => warnings.dropped_content(format!("content_part({other})")),
                    }
                }
            }
        }
        if let Some(refusal) = message.refusal
            && !refusal.is_empty()
        {
            parts.push(Part::Refusal(refusal.into_owned()));
        }
        for (k, call) in message.tool_calls.into_iter().flatten().enumerate() {
            let call_path = format!("{path}.tool_calls[{k}]");
            if let Some(call) = decode_tool_call(call, &call_path, warnings)? {
                self.call_kinds.insert(call.id.clone(), call.kind);
                parts.push(Part::ToolCall(call));
            }
        }
        if let Some(function_call) = message.function_call {
            if function_call.name.is_empty() {
                return Err(missing(&format!("{path}.function_call.name")));
            }
            let id = format!("call_legacy_{i}");
            self.legacy_call_id = Some(id.clone());
            parts.push(Part::ToolCall(ToolCall {
                id,
                name: function_call.name.into_owned(),
                arguments: function_call.arguments.into_owned(),
                kind: ToolKind::Function,
            }));
        }
        if message.audio.is_some() {
            warnings.dropped_content("assistant_audio");
        }
        Ok(parts)
    }
}

/// A required string member of a part, or a 400 naming `path.field`.
fn required(value: Option<Str<'static>>, path: &str, field: &str) -> Result<String, ApiError> {
    value
        .map(|v| v.into_owned())
        .ok_or_else(|| missing(&format!("{path}.{field}")))
}

/// The texts of a system, developer, tool or function message (a string or text parts).
fn text_content(
    content: Option<MessageContent<'static>>,
    path: &str,
    warnings: &mut Warnings,
) -> Result<Vec<String>, ApiError> {
    match content {
        None => Err(missing(&format!("{path}.content"))),
        Some(StringOr::String(text)) => Ok(vec![text.into_owned()]),
        Some(StringOr::Other(parts)) => {
            let mut texts = Vec::with_capacity(parts.len());
            for (j, part) in parts.into_iter().enumerate() {
                if part.kind == "text" {
                    texts.push(required(
                        part.text,
                        &format!("{path}.content[{j}]"),
                        "text",
                    )?);
                } else {
                    warnings.dropped_content(format!("content_part({})", part.kind));
                }
            }
            Ok(texts)
        }
    }
}

/// The parts of a user message.
fn user_content(
    content: Option<MessageContent<'static>>,
    path: &str,
    warnings: &mut Warnings,
) -> Result<Vec<Part>, ApiError> {
    match content {
        None => Err(missing(&format!("{path}.content"))),
        Some(StringOr::String(text)) => Ok(vec![Part::Text(text.into_owned())]),
        Some(StringOr::Other(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (j, part) in parts.into_iter().enumerate() {
                let part_path = format!("{path}.content[{j}]");
                if let Some(part) = user_part(part, &part_path, warnings)? {
                    out.push(part);
                }
            }
            Ok(out)
        }
    }
}

fn user_part(
    part: ChatCompletionContentPart<'static>,
    path: &str,
    warnings: &mut Warnings,
) -> Result<Option<Part>, ApiError> {
    Ok(Some(match part.kind.as_ref() {
        "text" => Part::Text(required(part.text, path, "text")?),
        "image_url" => {
            let image = part
                .image_url
                .ok_or_else(|| missing(&format!("{path}.image_url")))?;
            let source = if image.url.starts_with("data:") {
                match data_url::parse(&image.url) {
                    Some((media_type, data)) => MediaSource::Base64 {
                        media_type: media_type.to_owned(),
                        data: data.to_owned(),
                    },
                    None => {
                        return Err(ApiError::invalid(
                            "An image data URL must have the form 'data:<media type>;base64,<data>'.",
                        )
                        .with_param(format!("{path}.image_url.url")));
                    }
                }
            } else {
                MediaSource::Url(image.url.into_owned())
            };
            Part::Image(Media {
                source,
                detail: image.detail.map(|d| d.into_owned()),
            })
        }
        "file" => {
            let file = part.file.ok_or_else(|| missing(&format!("{path}.file")))?;
            let source = match (file.file_data, file.file_id) {
                (Some(data), _) => match data_url::parse(&data) {
                    Some((media_type, data)) => MediaSource::Base64 {
                        media_type: media_type.to_owned(),
                        data: data.to_owned(),
                    },
                    // Some clients send bare base64; Chat file inputs are PDFs.
                    None => MediaSource::Base64 {
                        media_type: "application/pdf".to_owned(),
                        data: data.into_owned(),
                    },
                },
                (None, Some(id)) => MediaSource::FileId(FileRef {
                    id: id.into_owned(),
                    vendor: Vendor::OpenAi,
                    path: path.to_owned(),
                }),
                (None, None) => {
                    return Err(
                        ApiError::invalid("A file part needs 'file_data' or 'file_id'.")
                            .with_param(format!("{path}.file")),
                    );
                }
            };
            Part::Document(Document {
                source,
                filename: file.filename.map(|f| f.into_owned()),
                title: None,
            })
        }
        "input_audio" => {
            return Err(ApiError::invalid("Audio input is not supported.").with_param(path));
        }
        other => {
            warnings.dropped_content(format!("content_part({other})"));
            return Ok(None);
        }
    }))
}

/// An assistant's tool call; `None` (with a warning) for an unknown type. Servers leave
/// `type` out at times, so the member present decides.
fn decode_tool_call(
    call: ChatCompletionMessageToolCall<'static>,
    path: &str,
    warnings: &mut Warnings,
) -> Result<Option<ToolCall>, ApiError> {
    let kind = match call.kind.as_deref() {
        Some(kind) => kind,
        None if call.custom.is_some() => "custom",
        None => "function",
    };
    let (name, arguments, kind) = match kind {
        "function" => {
            let function = call
                .function
                .ok_or_else(|| missing(&format!("{path}.function")))?;
            if function.name.is_empty() {
                return Err(missing(&format!("{path}.function.name")));
            }
            (function.name, function.arguments, ToolKind::Function)
        }
        "custom" => {
            let custom = call
                .custom
                .ok_or_else(|| missing(&format!("{path}.custom")))?;
            if custom.name.is_empty() {
                return Err(missing(&format!("{path}.custom.name")));
            }
            (custom.name, custom.input, ToolKind::Custom)
        }
        other => {
            warnings.dropped_content(format!("tool_call({other})"));
            return Ok(None);
        }
    };
    if call.id.is_empty() {
        return Err(missing(&format!("{path}.id")));
    }
    Ok(Some(ToolCall {
        id: call.id.into_owned(),
        name: name.into_owned(),
        arguments: arguments.into_owned(),
        kind,
    }))
}

/// The schema a function without `parameters` takes.
fn empty_object_schema() -> Value {
    json!({"type": "object", "properties": {}})
}

fn decode_function(function: FunctionDefinition<'static>, path: &str) -> Result<Tool, ApiError> {
    if function.name.is_empty() {
        return Err(missing(&format!("{path}.name")));
    }
    Ok(Tool::Function {
        name: function.name.into_owned(),
        description: function.description.map(|d| d.into_owned()),
        parameters: match function.parameters {
            Some(parameters) if parameters.is_object() => parameters.into_owned(),
            _ => empty_object_schema(),
        },
        strict: function.strict,
    })
}

fn decode_tools(
    tools: Option<Vec<ChatCompletionTool<'static>>>,
    functions: Option<Vec<FunctionDefinition<'static>>>,
    warnings: &mut Warnings,
) -> Result<Vec<Tool>, ApiError> {
    let mut out = Vec::new();
    for (i, tool) in tools.into_iter().flatten().enumerate() {
        let path = format!("tools[{i}]");
        match tool.kind.as_ref() {
            "function" => {
                let function = tool
                    .function
                    .ok_or_else(|| missing(&format!("{path}.function")))?;
                out.push(decode_function(function, &format!("{path}.function"))?);
            }
            "custom" => {
                let custom = tool
                    .custom
                    .ok_or_else(|| missing(&format!("{path}.custom")))?;
                if custom.name.is_empty() {
                    return Err(missing(&format!("{path}.custom.name")));
                }
                out.push(Tool::Custom {
                    name: custom.name.into_owned(),
                    description: custom.description.map(|d| d.into_owned()),
                    format: custom.format.map(|f| f.into_owned()),
                });
            }
            other => warnings.dropped(format!("tool({other})")),
        }
    }
    for (i, function) in functions.into_iter().flatten().enumerate() {
        out.push(decode_function(function, &format!("functions[{i}]"))?);
    }
    Ok(out)
}

fn decode_tool_choice(
    tool_choice: Option<StringOr<'static, ChatCompletionNamedToolChoice<'static>>>,
    function_call: Option<StringOr<'static, ChatCompletionFunctionCallOption<'static>>>,
    warnings: &mut Warnings,
) -> Result<Option<ToolChoice>, ApiError> {
    let named = |name: Option<Str<'static>>, param: &str| match name {
        Some(name) if !name.is_empty() => Ok(ToolChoice::Named(name.into_owned())),
        _ => Err(missing(param)),
    };
    match (tool_choice, function_call) {
        (Some(StringOr::String(mode)), _) => match mode.as_ref() {
            "none" => Ok(Some(ToolChoice::None)),
            "auto" => Ok(Some(ToolChoice::Auto)),
            "required" => Ok(Some(ToolChoice::Required)),
            other => Err(ApiError::invalid(format!(
                "Unknown 'tool_choice' value '{other}'; expected none, auto, required or an object."
            ))
            .with_param("tool_choice")),
        },
        (Some(StringOr::Other(choice)), _) => match choice.kind.as_ref() {
            "function" => {
                named(choice.function.map(|f| f.name), "tool_choice.function.name").map(Some)
            }
            "custom" => named(choice.custom.map(|c| c.name), "tool_choice.custom.name").map(Some),
            "allowed_tools" => {
                let allowed = choice
                    .allowed_tools
                    .ok_or_else(|| missing("tool_choice.allowed_tools"))?;
                let choice = match allowed.mode.as_ref() {
                    "auto" => ToolChoice::Auto,
                    "required" => ToolChoice::Required,
                    _ => {
                        return Err(ApiError::invalid(
                            "'tool_choice.allowed_tools.mode' must be auto or required.",
                        )
                        .with_param("tool_choice.allowed_tools.mode"));
                    }
                };
                warnings.converted(format!("tool_choice(allowed_tools->{})", allowed.mode));
                Ok(Some(choice))
            }
            other => {
                warnings.dropped(format!("tool_choice({other})"));
                Ok(None)
            }
        },
        (None, Some(StringOr::String(mode))) => match mode.as_ref() {
            "none" => Ok(Some(ToolChoice::None)),
            "auto" => Ok(Some(ToolChoice::Auto)),
            other => Err(ApiError::invalid(format!(
                "Unknown 'function_call' value '{other}'; expected none, auto or an object."
            ))
            .with_param("function_call")),
        },
        (None, Some(StringOr::Other(option))) => {
            named(Some(option.name), "function_call.name").map(Some)
        }
        (None, None) => Ok(None),
    }
}

fn decode_response_format(
    format: WireResponseFormat<'static>,
    warnings: &mut Warnings,
) -> Result<Option<ResponseFormat>, ApiError> {
    Ok(match format.kind.as_ref() {
        "text" => Some(ResponseFormat::Text),
        "json_object" => Some(ResponseFormat::JsonObject),
        "json_schema" => {
            let schema = format
                .json_schema
                .ok_or_else(|| missing("response_format.json_schema"))?;
            if schema.name.is_empty() {
                return Err(missing("response_format.json_schema.name"));
            }
            Some(ResponseFormat::JsonSchema {
                name: schema.name.into_owned(),
                schema: schema
                    .schema
                    .map(|s| s.into_owned())
                    .unwrap_or_else(|| json!({})),
                strict: schema.strict,
                description: schema.description.map(|d| d.into_owned()),
            })
        }
        other => {
            warnings.dropped(format!("response_format({other})"));
            None
        }
    })
}
