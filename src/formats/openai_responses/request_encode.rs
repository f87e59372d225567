//! `encode_request`: [`ChatRequest`] → the body sent to a Responses upstream (OpenAI).
//!
//! - Always `store: false` (the gateway is stateless); `instructions` = system blocks joined
//!   with a blank line.
//! - Messages become items in canonical order: user → `message` (parts always, even for one
//!   text) with tool results as `function_call_output`/`custom_tool_call_output` items;
//!   `Role::System` → `developer` message; assistant turn → `reasoning` items (only OpenAI
//!   state), `message` (`output_text`/`refusal`), `function_call`/`custom_tool_call` items.
//! - Lossy steps are reported: `stop` and `top_k` dropped (Responses has neither),
//!   `max_output_tokens` clamped to [16, model limit], reasoning dropped for models without
//!   reasoning controls, reasoning from other vendors dropped, built-in tools of other vendors
//!   dropped, long `user` ids hashed. A forced built-in tool that cannot be carried is a 400.
//! - Web searches of any format become `web_search` (see [`super::server_tools`]), asking for
//!   each search's sources; `max_uses` becomes `max_tool_calls`. Past `web_search_call` items
//!   go back as they came; other vendors' search records are left out.
//! - `user` is sent as `user`: `safety_identifier` is capped at 64 characters and only
//!   OpenAI-family clients know it; hashing keeps either within that cap.

use serde_json::{Value, json};

use super::media;
use super::server_tools;
use super::wire::{
    ContentParam, InputItemParam, ReasoningParam, ResponseCreateParamsOut, SummaryText, TextParam,
    ToolOutputParam,
};
use crate::canonical::{
    ChatRequest, Document, Effort, Media, MediaSource, Message, Part, ResponseFormat, Role,
    ServerToolKind, Thinking, Tool, ToolChoice, ToolKind, Vendor,
};
use crate::error::ApiError;
use crate::formats::{EncodedBody, UpstreamTarget};
use crate::translate::Warnings;

/// OpenAI's smallest accepted `max_output_tokens`.
const MIN_OUTPUT_TOKENS: u64 = 16;

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
    crate::formats::check_request_files(request, Vendor::OpenAi)?;
    let mut input = Vec::new();
    for message in &request.messages {
        message_items(message, target, warnings, &mut input);
    }
    let tools = ToolSet::new(&request.tools, warnings);
    let tool_choice = match &request.tool_choice {
        Some(choice) => Some(tools.choice(choice)?),
        None => None,
    };
    if !request.stop_sequences.is_empty() {
        warnings.dropped("stop");
    }
    if request.top_k.is_some() {
        warnings.dropped("top_k");
    }
    let (reasoning, mut include) = reasoning(request, target, warnings);
    if tools.searches {
        // What each search found, for clients that show the pages (Anthropic's results).
        include.push(server_tools::SOURCES);
    }
    let body = ResponseCreateParamsOut {
        model: &target.model,
        instructions: (!request.system.is_empty()).then(|| request.system.join("\n\n")),
        input,
        tools: tools.params,
        tool_choice,
        parallel_tool_calls: request.parallel_tool_calls,
        max_tool_calls: tools.max_calls,
        max_output_tokens: max_output_tokens(request.max_output_tokens, target, warnings),
        temperature: request.temperature,
        top_p: request.top_p,
        reasoning,
        include,
        text: request.response_format.as_ref().map(|format| TextParam {
            format: text_format(format),
        }),
        user: request
            .user
            .as_deref()
            .map(|user| crate::formats::openai_user_id(user, warnings)),
        prompt_cache_key: request
            .prompt_cache_key
            .as_deref()
            .and_then(crate::formats::openai_common::prompt_cache_key),
        store: false,
        stream: target.stream,
    };
    B::encoded(&body, request.prompt_chars())
}

fn max_output_tokens(
    requested: Option<u64>,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> Option<u64> {
    let mut value = requested?;
    if value < MIN_OUTPUT_TOKENS {
        warnings.clamped(format!("max_output_tokens({value}->{MIN_OUTPUT_TOKENS})"));
        value = MIN_OUTPUT_TOKENS;
    }
    if let Some(limit) = target.max_output_tokens
        && value > limit
    {
        warnings.clamped(format!("max_output_tokens({value}->{limit})"));
        value = limit;
    }
    Some(value)
}

/// `reasoning` and `include`. Reasoning-capable models always get
/// `include: ["reasoning.encrypted_content"]` unless reasoning is off, so every answer can be
/// replayed statelessly (`store` is false).
fn reasoning(
    request: &ChatRequest,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> (Option<ReasoningParam>, Vec<&'static str>) {
    let off = matches!(
        request.thinking,
        Some(Thinking::Disabled | Thinking::Effort(Effort::None))
    );
    let effort = match request.thinking {
        // The client's own "none" (OpenAI clients); Anthropic `disabled` is simply omitted.
        Some(Thinking::Effort(Effort::None)) => Some(Effort::None.as_str()),
        Some(thinking) => thinking.effort().map(Effort::as_str),
        None => None,
    };
    if !target.reasoning {
        if effort.is_some() && !off {
            warnings.dropped("reasoning");
        }
        return (None, Vec::new());
    }
    let summary = (request.reasoning_summary && !off).then_some("auto");
    let param =
        (effort.is_some() || summary.is_some()).then_some(ReasoningParam { effort, summary });
    let include = if off {
        Vec::new()
    } else {
        vec!["reasoning.encrypted_content"]
    };
    (param, include)
}

fn text_format(format: &ResponseFormat) -> Value {
    match format {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
            description,
        } => {
            let mut format = json!({"type": "json_schema", "name": name, "schema": schema});
            if let Some(object) = format.as_object_mut() {
                if let Some(strict) = strict {
                    object.insert("strict".into(), json!(strict));
                }
                if let Some(description) = description {
                    object.insert("description".into(), json!(description));
                }
            }
            format
        }
    }
}

/// The items for one canonical message, appended to `out` in order.
fn message_items<'a>(
    message: &'a Message,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
    out: &mut Vec<InputItemParam<'a>>,
) {
    let mut content: Vec<ContentParam<'a>> = Vec::new();
    let role = match message.role {
        Role::User => "user",
        Role::System => "developer",
        Role::Assistant => "assistant",
    };
    let flush = |content: &mut Vec<ContentParam<'a>>, out: &mut Vec<InputItemParam<'a>>| {
        if !content.is_empty() {
            out.push(InputItemParam::Message {
                role,
                content: std::mem::take(content),
            });
        }
    };
    for part in &message.parts {
        match (message.role, part) {
            (Role::Assistant, Part::Text(text)) => {
                content.push(ContentParam::OutputText {
                    text,
                    annotations: [],
                });
            }
            (Role::Assistant, Part::Refusal(refusal)) => {
                content.push(ContentParam::Refusal { refusal });
            }
            (Role::User | Role::System, Part::Text(text) | Part::Refusal(text)) => {
                content.push(ContentParam::InputText { text });
            }
            (Role::User, Part::Image(image)) => content.push(image_param(image)),
            (Role::User, Part::Document(document)) => content.push(file_param(document)),
            (Role::Assistant, Part::Reasoning(reasoning)) => match &reasoning.opaque {
                Some(opaque) if opaque.vendor == Vendor::OpenAi && target.reasoning => {
                    flush(&mut content, out);
                    out.push(InputItemParam::Reasoning {
                        summary: if reasoning.text.is_empty() {
                            Vec::new()
                        } else {
                            vec![SummaryText {
                                kind: "summary_text".to_owned(),
                                text: reasoning.text.clone(),
                            }]
                        },
                        encrypted_content: &opaque.data,
                    });
                }
                _ => warnings.dropped("reasoning(not-replayable)"),
            },
            (Role::Assistant, Part::ToolCall(call)) => {
                flush(&mut content, out);
                out.push(match call.kind {
                    ToolKind::Function => InputItemParam::FunctionCall {
                        call_id: &call.id,
                        name: &call.name,
                        arguments: &call.arguments,
                    },
                    ToolKind::Custom => InputItemParam::CustomToolCall {
                        call_id: &call.id,
                        name: &call.name,
                        input: &call.arguments,
                    },
                });
            }
            (Role::User, Part::ToolResult(result)) => {
                flush(&mut content, out);
                let output = tool_output(&result.content, result.is_error, warnings);
                out.push(match result.kind {
                    ToolKind::Function => InputItemParam::FunctionCallOutput {
                        call_id: &result.call_id,
                        output,
                    },
                    ToolKind::Custom => InputItemParam::CustomToolCallOutput {
                        call_id: &result.call_id,
                        output,
                    },
                });
            }
            // OpenAI takes back its own searches; another vendor's the turn's text already
            // tells.
            (Role::Assistant, Part::ServerTool(record)) => {
                if record.vendor == Vendor::OpenAi {
                    flush(&mut content, out);
                    out.push(InputItemParam::Replayed(&record.raw));
                } else {
                    warnings.dropped(format!("history({})", record.kind.name()));
                }
            }
            (Role::User | Role::System, Part::ServerTool(_)) => {}
            (Role::Assistant | Role::System, Part::Image(_)) => {
                warnings.dropped("content(input_image)")
            }
            (Role::Assistant | Role::System, Part::Document(_)) => {
                warnings.dropped("content(input_file)")
            }
            // Outside the canonical invariants (calls and reasoning only in assistant turns,
            // results only in user turns): nothing to carry.
            (Role::User | Role::System, Part::ToolCall(_) | Part::Reasoning(_))
            | (Role::Assistant | Role::System, Part::ToolResult(_)) => {}
        }
    }
    flush(&mut content, out);
}

fn image_param(image: &Media) -> ContentParam<'_> {
    let detail = image.detail.as_deref().unwrap_or("auto");
    match &image.source {
        MediaSource::Base64 { media_type, data } => ContentParam::InputImage {
            image_url: Some(media::data_url(media_type, data)),
            file_id: None,
            detail,
        },
        MediaSource::Url(url) => ContentParam::InputImage {
            image_url: Some(url.clone()),
            file_id: None,
            detail,
        },
        MediaSource::FileId(file) => ContentParam::InputImage {
            image_url: None,
            file_id: Some(&file.id),
            detail,
        },
    }
}

fn file_param(document: &Document) -> ContentParam<'_> {
    let filename = document.filename.as_deref().or(document.title.as_deref());
    match &document.source {
        MediaSource::Base64 { media_type, data } => ContentParam::InputFile {
            file_data: Some(media::data_url(media_type, data)),
            file_url: None,
            file_id: None,
            filename: Some(filename.unwrap_or_else(|| media::default_filename(media_type))),
        },
        MediaSource::Url(url) => ContentParam::InputFile {
            file_data: None,
            file_url: Some(url),
            file_id: None,
            filename,
        },
        MediaSource::FileId(file) => ContentParam::InputFile {
            file_data: None,
            file_url: None,
            file_id: Some(&file.id),
            filename,
        },
    }
}

/// A tool result's output: a string when it is text only (text parts joined with a newline),
/// else an array of parts. Responses results have no error flag, so an error result says so in
/// its text.
fn tool_output<'a>(
    content: &'a [Part],
    is_error: bool,
    warnings: &mut Warnings,
) -> ToolOutputParam<'a> {
    if content.iter().all(|p| matches!(p, Part::Text(_))) {
        let texts: Vec<&str> = content
            .iter()
            .filter_map(|p| match p {
                Part::Text(text) => Some(text.as_str()),
                Part::Image(_)
                | Part::Document(_)
                | Part::ToolCall(_)
                | Part::ToolResult(_)
                | Part::Reasoning(_)
                | Part::Refusal(_)
                | Part::ServerTool(_) => None,
            })
            .collect();
        let text = texts.join("\n");
        return ToolOutputParam::Text(if is_error {
            crate::formats::error_result_text(&text)
        } else {
            text
        });
    }
    let mut parts = Vec::with_capacity(content.len() + 1);
    if is_error {
        parts.push(ContentParam::InputText { text: "Error:" });
    }
    for part in content {
        match part {
            Part::Text(text) | Part::Refusal(text) => parts.push(ContentParam::InputText { text }),
            Part::Image(image) => parts.push(image_param(image)),
            Part::Document(document) => parts.push(file_param(document)),
            Part::ToolCall(_) | Part::ToolResult(_) | Part::Reasoning(_) | Part::ServerTool(_) => {
                warnings.dropped("tool_result(content)")
            }
        }
    }
    ToolOutputParam::Parts(parts)
}

/// Built-in tool types a Responses upstream knows (web searches are [`Tool::Server`]s).
fn is_responses_builtin(kind: &str) -> bool {
    matches!(
        kind,
        "file_search"
            | "code_interpreter"
            | "image_generation"
            | "local_shell"
            | "shell"
            | "mcp"
            | "computer"
            | "computer_use"
            | "computer_use_preview"
            | "apply_patch"
            | "tool_search"
    )
}

/// The tools as sent upstream, with what happened to each built-in.
struct ToolSet<'a> {
    tools: &'a [Tool],
    params: Vec<Value>,
    /// A web search is among them.
    searches: bool,
    /// `max_tool_calls`: the sum of the server tools' `max_uses`, when each has one (the
    /// Responses cap counts every built-in tool call of the answer).
    max_calls: Option<u64>,
}

impl<'a> ToolSet<'a> {
    fn new(tools: &'a [Tool], warnings: &mut Warnings) -> ToolSet<'a> {
        let mut params = Vec::with_capacity(tools.len());
        let mut searches = false;
        let mut max_calls = Some(0u64);
        for tool in tools {
            match tool {
                Tool::Function {
                    name,
                    description,
                    parameters,
                    strict,
                } => {
                    let mut param = json!({"type": "function", "name": name});
                    if let Some(object) = param.as_object_mut() {
                        if let Some(description) = description {
                            object.insert("description".into(), json!(description));
                        }
                        object.insert("parameters".into(), parameters.clone());
                        object.insert("strict".into(), json!(*strict == Some(true)));
                    }
                    params.push(param);
                }
                Tool::Custom {
                    name,
                    description,
                    format,
                } => {
                    let mut param = json!({"type": "custom", "name": name});
                    if let Some(object) = param.as_object_mut() {
                        if let Some(description) = description {
                            object.insert("description".into(), json!(description));
                        }
                        if let Some(format) = format {
                            object.insert("format".into(), format.clone());
                        }
                    }
                    params.push(param);
                }
                Tool::Server(server) => match server_tools::encode_tool(server, warnings) {
                    Some(param) => {
                        searches = true;
                        max_calls = match (max_calls, server.max_uses) {
                            (Some(sum), Some(uses)) => Some(sum.saturating_add(uses)),
                            _ => None,
                        };
                        params.push(param);
                    }
                    None => warnings.dropped(format!("tools({})", server.client_type)),
                },
                Tool::Builtin { kind, raw } => {
                    if is_responses_builtin(kind) {
                        params.push(raw.clone());
                        max_calls = None;
                    } else {
                        warnings.dropped(format!("tools({kind})"));
                    }
                }
            }
        }
        ToolSet {
            tools,
            params,
            max_calls: max_calls.filter(|_| searches),
            searches,
        }
    }

    /// The flat `tool_choice`. Forcing a built-in tool the upstream does not have is a 400.
    fn choice(&self, choice: &ToolChoice) -> Result<Value, ApiError> {
        let name = match choice {
            ToolChoice::None => return Ok(json!("none")),
            ToolChoice::Auto => return Ok(json!("auto")),
            ToolChoice::Required => return Ok(json!("required")),
            ToolChoice::Named(name) => name,
        };
        Ok(match self.tools.iter().find(|t| t.name() == name) {
            Some(Tool::Custom { .. }) => json!({"type": "custom", "name": name}),
            Some(Tool::Server(server)) if server.kind == ServerToolKind::WebSearch => {
                let kind = if server_tools::is_search_type(&server.client_type) {
                    server.client_type.as_str()
                } else {
                    "web_search"
                };
                json!({ "type": kind })
            }
            Some(Tool::Server(server)) => {
                return Err(ApiError::invalid(format!(
                    "tool_choice forces the server tool `{}`, which this model's provider \
                     does not offer.",
                    server.client_type
                ))
                .with_param("tool_choice"));
            }
            Some(Tool::Builtin { kind, raw }) if is_responses_builtin(kind) => {
                let mut choice = json!({"type": kind});
                if let (Some(object), Some(label)) =
                    (choice.as_object_mut(), raw.get("server_label"))
                {
                    object.insert("server_label".into(), label.clone());
                }
                choice
            }
            Some(Tool::Builtin { kind, .. }) => {
                return Err(ApiError::invalid(format!(
                    "tool_choice forces the built-in tool `{kind}`, which this model's provider \
                     does not offer."
                ))
                .with_param("tool_choice"));
            }
            Some(Tool::Function { .. }) | None => json!({"type": "function", "name": name}),
        })
    }
}
