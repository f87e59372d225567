//! `encode_request`: a canonical [`ChatRequest`] as the body sent to an Anthropic upstream.
//!
//! This is where the Messages API's constraints are enforced (wire-formats §3.1), so the
//! upstream never answers 400 for something the gateway could have fixed:
//! - turns alternate, user turns start with their `tool_result`s, assistant turns with their
//!   thinking; no empty text blocks; the final assistant prefill does not end in whitespace;
//! - thinking only with a budget below `max_tokens`, never with a forced tool, never without a
//!   replayable signature on the turn the last tool results answer, and without
//!   `temperature`/`top_k` and with `top_p ≥ 0.95`;
//! - `temperature ≤ 1`, never together with `top_p`;
//! - tool schemas are plain object schemas; foreign built-in tools are dropped, other formats'
//!   web searches become Anthropic's (see `server_tools`), and past search blocks go back only
//!   when Anthropic made them.
//!
//! Everything changed on the way goes through [`Warnings`].

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::wire::write::{
    self, ContentBlockParam, DocumentSource, ImageSource, JsonOutputFormat, MessageCreateParams,
    MessageParam, Metadata, OutputConfig, TextBlockParam, ThinkingConfigParam, ToolUnion,
};
use crate::canonical::{
    ChatRequest, Document, Effort, Media, MediaSource, Part, ResponseFormat, Role, Thinking, Tool,
    ToolChoice, Vendor,
};
use crate::error::ApiError;
use crate::formats::{EncodedBody, UpstreamTarget};
use crate::translate::Warnings;

/// Image media types the Messages API accepts.
const IMAGE_MEDIA_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// `type` prefixes of Anthropic server and client-executed built-in tools, sent as the client
/// wrote them. Other built-in tools (another vendor's) are dropped.
const SERVER_TOOL_PREFIXES: [&str; 9] = [
    "web_search_",
    "web_fetch_",
    "bash_",
    "text_editor_",
    "code_execution_",
    "computer_",
    "memory_",
    "tool_search_tool_",
    "mcp_toolset",
];

/// Room left for the answer when `max_tokens` is raised above a thinking budget, and
/// Anthropic's minimum budget.
const MIN_BUDGET_TOKENS: u64 = 1024;

/// The instruction that carries a JSON-object response format, which Anthropic has no field
/// for.
const JSON_OBJECT_INSTRUCTION: &str =
    "Respond with a single valid JSON object and nothing else: no prose, no code fences.";

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
    // Claude Code's attribution block goes back first, where Anthropic looks for it.
    let mut system: Vec<TextBlockParam> = request
        .attribution
        .iter()
        .chain(request.system.iter())
        .filter(|text| !is_blank(text))
        .map(|text| TextBlockParam {
            text: Cow::Borrowed(text.as_str()),
            cache_control: None,
        })
        .collect();
    let mut messages = encode_messages(request, &mut system, warnings)?;
    let mut tools = encode_tools(request, warnings)?;
    let tool_choice = if tools.is_empty() {
        None
    } else {
        encode_tool_choice(request.tool_choice.as_ref(), request.parallel_tool_calls)
    };
    let forced = matches!(
        tool_choice,
        Some(write::ToolChoice::Any { .. } | write::ToolChoice::Tool { .. })
    );

    let mut max_tokens = request
        .max_output_tokens
        .unwrap_or(target.default_max_tokens)
        .max(1);
    if let Some(limit) = target.max_output_tokens
        && max_tokens > limit
    {
        warnings.clamped(format!("max_tokens({max_tokens}->{limit})"));
        max_tokens = limit;
    }

    let mode = resolve_thinking(
        request.thinking,
        target,
        forced,
        &messages,
        &mut max_tokens,
        warnings,
    );
    let (temperature, top_p, top_k) = sampling(request, mode.is_some(), warnings);

    let mut stop_sequences = Vec::with_capacity(request.stop_sequences.len());
    for sequence in &request.stop_sequences {
        if is_blank(sequence) {
            warnings.dropped("stop_sequences(whitespace)");
        } else {
            stop_sequences.push(sequence.as_str());
        }
    }

    let format = match &request.response_format {
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            Some(JsonOutputFormat::JsonSchema { schema })
        }
        Some(ResponseFormat::JsonObject) => {
            warnings.converted("response_format(json_object->instruction)");
            system.push(TextBlockParam {
                text: Cow::Borrowed(JSON_OBJECT_INSTRUCTION),
                cache_control: None,
            });
            None
        }
        Some(ResponseFormat::Text) | None => None,
    };
    let effort = match mode {
        Some(ThinkingMode::Adaptive(effort)) => effort,
        Some(ThinkingMode::Budget(_)) | None => None,
    };
    let output_config =
        (effort.is_some() || format.is_some()).then_some(OutputConfig { effort, format });
    if target.cache_breakpoints {
        super::cache::place(&mut tools, &mut system, &mut messages);
    }

    let params = MessageCreateParams {
        model: &target.model,
        max_tokens,
        system,
        messages,
        temperature,
        top_p,
        top_k,
        stop_sequences,
        tools,
        tool_choice,
        thinking: mode.map(|mode| match mode {
            ThinkingMode::Budget(budget_tokens) => ThinkingConfigParam::Enabled { budget_tokens },
            ThinkingMode::Adaptive(_) => ThinkingConfigParam::Adaptive,
        }),
        output_config,
        metadata: request.user.as_deref().map(|user_id| Metadata { user_id }),
        stream: target.stream,
    };
    B::encoded(&params, request.prompt_chars())
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// The conversation as alternating turns. Mid-conversation system messages are hoisted into
/// `system` (in order); consecutive same-role messages are merged.
fn encode_messages<'a>(
    request: &'a ChatRequest,
    system: &mut Vec<TextBlockParam<'a>>,
    warnings: &mut Warnings,
) -> Result<Vec<MessageParam<'a>>, ApiError> {
    let mut turns: Vec<MessageParam<'a>> = Vec::with_capacity(request.messages.len());
    for (i, message) in request.messages.iter().enumerate() {
        let role = match message.role {
            Role::System => {
                for part in &message.parts {
                    match part {
                        Part::Text(text) if !is_blank(text) => system.push(TextBlockParam {
                            text: Cow::Borrowed(text.as_str()),
                            cache_control: None,
                        }),
                        Part::Text(_) => {}
                        _ => warnings.dropped("system(non-text)"),
                    }
                }
                continue;
            }
            Role::User => write::Role::User,
            Role::Assistant => write::Role::Assistant,
        };
        let mut blocks = Vec::with_capacity(message.parts.len());
        for (j, part) in message.parts.iter().enumerate() {
            encode_part(part, role, (i, j), &mut blocks, warnings)?;
        }
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => turns.push(MessageParam {
                role,
                content: blocks,
                cache_breakpoint: false,
            }),
        }
    }
    for turn in &mut turns {
        match turn.role {
            write::Role::User => turn
                .content
                .sort_by_key(|block| !matches!(block, ContentBlockParam::ToolResult { .. })),
            write::Role::Assistant => turn.content.sort_by_key(|block| {
                !matches!(
                    block,
                    ContentBlockParam::Thinking { .. } | ContentBlockParam::RedactedThinking { .. }
                )
            }),
        }
    }
    trim_prefill(&mut turns);
    if turns.is_empty() {
        turns.push(MessageParam {
            role: write::Role::User,
            content: vec![ContentBlockParam::Text {
                text: Cow::Borrowed("."),
            }],
            cache_breakpoint: false,
        });
    }
    Ok(turns)
}

/// A final assistant turn (a prefill) must not end in whitespace.
fn trim_prefill(turns: &mut Vec<MessageParam<'_>>) {
    let Some(last) = turns.last_mut() else {
        return;
    };
    if last.role != write::Role::Assistant {
        return;
    }
    while let Some(ContentBlockParam::Text { text }) = last.content.last_mut() {
        let trimmed = text.trim_end();
        if trimmed.is_empty() {
            last.content.pop();
            continue;
        }
        if trimmed.len() != text.len() {
            *text = match text {
                Cow::Borrowed(borrowed) => Cow::Borrowed(borrowed.trim_end()),
                Cow::Owned(owned) => Cow::Owned(owned.trim_end().to_owned()),
            };
        }
        break;
    }
    if last.content.is_empty() {
        turns.pop();
    }
}

/// One canonical part as blocks of a `role` turn. `at` is (message, part) for error params.
fn encode_part<'a>(
    part: &'a Part,
    role: write::Role,
    at: (usize, usize),
    blocks: &mut Vec<ContentBlockParam<'a>>,
    warnings: &mut Warnings,
) -> Result<(), ApiError> {
    let path = || format!("messages[{}].content[{}]", at.0, at.1);
    match (part, role) {
        (Part::Text(text) | Part::Refusal(text), _) => {
            if !is_blank(text) {
                blocks.push(ContentBlockParam::Text {
                    text: Cow::Borrowed(text),
                });
            }
        }
        (Part::Image(media), _) => blocks.push(encode_image(media, path)?),
        (Part::Document(document), _) => blocks.push(encode_document(document, path)?),
        (Part::ToolCall(call), write::Role::Assistant) => blocks.push(ContentBlockParam::ToolUse {
            id: &call.id,
            name: &call.name,
            input: tool_input(&call.arguments, warnings),
        }),
        (Part::ToolResult(result), write::Role::User) => {
            let mut content = Vec::with_capacity(result.content.len());
            for (k, inner) in result.content.iter().enumerate() {
                let path = || format!("{}.content[{k}]", path());
                match inner {
                    Part::Text(text) | Part::Refusal(text) => {
                        if !is_blank(text) {
                            content.push(ContentBlockParam::Text {
                                text: Cow::Borrowed(text),
                            });
                        }
                    }
                    Part::Image(media) => content.push(encode_image(media, path)?),
                    Part::Document(document) => content.push(encode_document(document, path)?),
                    Part::ToolCall(_)
                    | Part::ToolResult(_)
                    | Part::Reasoning(_)
                    | Part::ServerTool(_) => warnings.dropped("tool_result(non-content)"),
                }
            }
            blocks.push(ContentBlockParam::ToolResult {
                tool_use_id: &result.call_id,
                content,
                is_error: result.is_error,
            });
        }
        (Part::Reasoning(reasoning), write::Role::Assistant) => match &reasoning.opaque {
            Some(opaque) if opaque.vendor == Vendor::Anthropic => {
                blocks.push(if reasoning.redacted {
                    ContentBlockParam::RedactedThinking { data: &opaque.data }
                } else {
                    ContentBlockParam::Thinking {
                        thinking: &reasoning.text,
                        signature: &opaque.data,
                    }
                });
            }
            Some(_) | None => warnings.dropped("reasoning(not-anthropic)"),
        },
        // Anthropic takes back its own search blocks (their `encrypted_content` checked) and
        // no one else's: the text of the turn says what was found.
        (Part::ServerTool(record), write::Role::Assistant) => {
            if record.vendor == Vendor::Anthropic {
                blocks.push(ContentBlockParam::Replayed(&record.raw));
            } else {
                warnings.dropped(format!("history({})", record.kind.name()));
            }
        }
        (Part::ServerTool(_), write::Role::User) => warnings.dropped("server_tool(user-turn)"),
        (Part::ToolCall(_), write::Role::User) => warnings.dropped("tool_use(user-turn)"),
        (Part::ToolResult(_), write::Role::Assistant) => {
            warnings.dropped("tool_result(assistant-turn)")
        }
        (Part::Reasoning(_), write::Role::User) => {}
    }
    Ok(())
}

/// A tool call's arguments as the `input` object. Anthropic needs an object; anything else
/// (a model's broken JSON in history) becomes `{}` with a warning.
fn tool_input(arguments: &str, warnings: &mut Warnings) -> Value {
    if is_blank(arguments) {
        return Value::Object(Map::new());
    }
    match serde_json::from_str(arguments) {
        Ok(Value::Object(input)) => Value::Object(input),
        _ => {
            warnings.dropped("tool_use.input(not-a-json-object)");
            Value::Object(Map::new())
        }
    }
}

/// A `data:<media type>;base64,<data>` URL split into its parts.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (media_type, data) = rest.split_once(";base64,")?;
    Some((media_type, data))
}

fn encode_image(
    media: &Media,
    path: impl Fn() -> String,
) -> Result<ContentBlockParam<'_>, ApiError> {
    let (media_type, data) = match &media.source {
        MediaSource::Base64 { media_type, data } => (media_type.as_str(), data.as_str()),
        MediaSource::Url(url) => match data_url(url) {
            Some(parts) => parts,
            None => {
                return Ok(ContentBlockParam::Image {
                    source: ImageSource::Url { url },
                });
            }
        },
        MediaSource::FileId(file) => {
            crate::formats::check_file_vendor(file, Vendor::Anthropic)?;
            return Ok(ContentBlockParam::Image {
                source: ImageSource::File { file_id: &file.id },
            });
        }
    };
    if !IMAGE_MEDIA_TYPES.contains(&media_type) {
        return Err(ApiError::invalid_at(
            path(),
            &format!(
                "image type `{media_type}` is not supported by this model's provider; use JPEG, PNG, GIF or WebP"
            ),
        ));
    }
    Ok(ContentBlockParam::Image {
        source: ImageSource::Base64 { media_type, data },
    })
}

/// PDFs go as base64 or URL documents, plain text as a text document.
fn encode_document(
    document: &Document,
    path: impl Fn() -> String,
) -> Result<ContentBlockParam<'_>, ApiError> {
    let title = document.title.as_deref().or(document.filename.as_deref());
    let (media_type, data) = match &document.source {
        MediaSource::Base64 { media_type, data } => (media_type.as_str(), data.as_str()),
        MediaSource::Url(url) => match data_url(url) {
            Some(parts) => parts,
            None => {
                return Ok(ContentBlockParam::Document {
                    source: DocumentSource::Url { url },
                    title,
                });
            }
        },
        MediaSource::FileId(file) => {
            crate::formats::check_file_vendor(file, Vendor::Anthropic)?;
            return Ok(ContentBlockParam::Document {
                source: DocumentSource::File { file_id: &file.id },
                title,
            });
        }
    };
    let source = match media_type {
        "application/pdf" => DocumentSource::Base64 { media_type, data },
        "text/plain" => {
            let text = STANDARD
                .decode(data)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    ApiError::invalid_at(path(), "the text document is not valid base64 UTF-8")
                })?;
            DocumentSource::Text {
                media_type: "text/plain",
                data: text,
            }
        }
        other => {
            return Err(ApiError::invalid_at(
                path(),
                &format!(
                    "document type `{other}` is not supported by this model's provider; send a PDF or plain text"
                ),
            ));
        }
    };
    Ok(ContentBlockParam::Document { source, title })
}

fn is_server_tool(kind: &str) -> bool {
    SERVER_TOOL_PREFIXES
        .iter()
        .any(|prefix| kind.starts_with(prefix))
}

fn encode_tools<'a>(
    request: &'a ChatRequest,
    warnings: &mut Warnings,
) -> Result<Vec<ToolUnion<'a>>, ApiError> {
    let forced_name = match &request.tool_choice {
        Some(ToolChoice::Named(name)) => Some(name.as_str()),
        Some(ToolChoice::None | ToolChoice::Auto | ToolChoice::Required) | None => None,
    };
    let mut tools = Vec::with_capacity(request.tools.len());
    for tool in &request.tools {
        match tool {
            Tool::Function {
                name,
                description,
                parameters,
                strict,
            } => tools.push(ToolUnion::Custom(write::Tool {
                name,
                description: description.as_deref(),
                input_schema: object_schema(name, parameters, warnings),
                strict: strict.filter(|strict| *strict),
                cache_control: None,
            })),
            Tool::Server(tool) => {
                tools.push(ToolUnion::Server(super::server_tools::encode_tool(
                    tool, warnings,
                )));
            }
            Tool::Builtin { kind, raw } if is_server_tool(kind) => {
                tools.push(ToolUnion::Server(Cow::Borrowed(raw)));
            }
            Tool::Builtin { kind, raw } => {
                let name = raw.get("name").and_then(Value::as_str);
                if forced_name.is_some_and(|forced| forced == kind || Some(forced) == name) {
                    return Err(ApiError::invalid(format!(
                        "tool_choice forces the built-in tool `{kind}`, which this model's provider does not have"
                    ))
                    .with_param("tool_choice"));
                }
                warnings.dropped(format!("tools({kind})"));
            }
            Tool::Custom { name, .. } => warnings.dropped(format!("tools({name})")),
        }
    }
    Ok(tools)
}

/// `input_schema` must be an object schema without a root `anyOf`/`oneOf`/`allOf`. A root
/// combinator is removed (its properties stay), a missing `type` is added, anything else is
/// replaced by an empty object schema; changes other than the added `type` are warned.
fn object_schema<'a>(name: &str, schema: &'a Value, warnings: &mut Warnings) -> Cow<'a, Value> {
    const COMBINATORS: [&str; 3] = ["anyOf", "oneOf", "allOf"];
    let Value::Object(map) = schema else {
        warnings.converted(format!("{name}.input_schema(object)"));
        return Cow::Owned(json!({"type": "object", "properties": {}}));
    };
    let has_combinator = COMBINATORS.iter().any(|key| map.contains_key(*key));
    match map.get("type") {
        Some(Value::String(kind)) if kind == "object" && !has_combinator => Cow::Borrowed(schema),
        None if !has_combinator => {
            let mut fixed = map.clone();
            fixed.insert("type".to_owned(), json!("object"));
            Cow::Owned(Value::Object(fixed))
        }
        Some(Value::String(kind)) if kind == "object" => without_combinators(name, map, warnings),
        None => without_combinators(name, map, warnings),
        Some(_) => {
            warnings.converted(format!("{name}.input_schema(object)"));
            Cow::Owned(json!({"type": "object", "properties": {}}))
        }
    }
}

/// An object schema with its root combinators removed and its other keywords kept.
fn without_combinators<'a>(
    name: &str,
    map: &Map<String, Value>,
    warnings: &mut Warnings,
) -> Cow<'a, Value> {
    warnings.converted(format!("{name}.input_schema(object)"));
    let mut fixed = Map::with_capacity(map.len() + 1);
    fixed.insert("type".to_owned(), json!("object"));
    for (key, value) in map {
        if key != "type" && !["anyOf", "oneOf", "allOf"].contains(&key.as_str()) {
            fixed.insert(key.clone(), value.clone());
        }
    }
    fixed
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    Cow::Owned(Value::Object(fixed))
}

/// | canonical | Anthropic |
/// |---|---|
/// | `None` | `{"type":"none"}` |
/// | `Auto` | `{"type":"auto"}` |
/// | `Required` | `{"type":"any"}` |
/// | `Named(n)` | `{"type":"tool","name":n}` |
/// | absent, `parallel_tool_calls: false` | `{"type":"auto","disable_parallel_tool_use":true}` |
fn encode_tool_choice(
    choice: Option<&ToolChoice>,
    parallel_tool_calls: Option<bool>,
) -> Option<write::ToolChoice<'_>> {
    let disable_parallel_tool_use = parallel_tool_calls == Some(false);
    match choice {
        Some(ToolChoice::None) => Some(write::ToolChoice::None),
        Some(ToolChoice::Auto) => Some(write::ToolChoice::Auto {
            disable_parallel_tool_use,
        }),
        Some(ToolChoice::Required) => Some(write::ToolChoice::Any {
            disable_parallel_tool_use,
        }),
        Some(ToolChoice::Named(name)) => Some(write::ToolChoice::Tool {
            name,
            disable_parallel_tool_use,
        }),
        None if disable_parallel_tool_use => Some(write::ToolChoice::Auto {
            disable_parallel_tool_use,
        }),
        None => None,
    }
}

/// Thinking as sent upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ThinkingMode {
    /// `{"type":"enabled","budget_tokens":b}`, b ≥ 1024 and < `max_tokens`.
    Budget(u64),
    /// `{"type":"adaptive"}` with `output_config.effort` when given.
    Adaptive(Option<&'static str>),
}

/// Anthropic's `output_config.effort` for an effort level; `None` means "no thinking".
fn anthropic_effort(effort: Effort) -> Option<&'static str> {
    match effort {
        Effort::None => None,
        Effort::Minimal | Effort::Low => Some("low"),
        Effort::Medium => Some("medium"),
        Effort::High => Some("high"),
        Effort::XHigh => Some("xhigh"),
        Effort::Max => Some("max"),
    }
}

/// Decides the thinking sent upstream, switching it off (with a warning) where the upstream
/// would reject it, and keeps `max_tokens` above the budget.
fn resolve_thinking(
    thinking: Option<Thinking>,
    target: &UpstreamTarget,
    forced_tool: bool,
    messages: &[MessageParam<'_>],
    max_tokens: &mut u64,
    warnings: &mut Warnings,
) -> Option<ThinkingMode> {
    let mode = match thinking? {
        Thinking::Disabled => return None,
        Thinking::Adaptive(Some(effort)) => ThinkingMode::Adaptive(Some(anthropic_effort(effort)?)),
        Thinking::Adaptive(None) => ThinkingMode::Adaptive(None),
        other @ (Thinking::Effort(_) | Thinking::Budget(_)) => {
            ThinkingMode::Budget(other.budget_tokens()?)
        }
    };
    if !target.reasoning {
        warnings.dropped("thinking");
        return None;
    }
    if forced_tool {
        warnings.disabled("thinking(forced-tool-choice)");
        return None;
    }
    if last_tool_turn_lacks_thinking(messages) {
        warnings.disabled("thinking(no-valid-signature)");
        return None;
    }
    let ThinkingMode::Budget(budget) = mode else {
        return Some(mode);
    };
    if budget < *max_tokens {
        return Some(mode);
    }
    let wanted = budget.saturating_add(MIN_BUDGET_TOKENS);
    match target.max_output_tokens {
        Some(limit) if wanted > limit => {
            if limit > *max_tokens {
                warnings.clamped(format!("max_tokens({max_tokens}->{limit})"));
                *max_tokens = limit;
            }
            let shrunk = max_tokens
                .saturating_sub(MIN_BUDGET_TOKENS)
                .max(MIN_BUDGET_TOKENS);
            if shrunk >= *max_tokens {
                warnings.disabled("thinking(max_tokens)");
                return None;
            }
            warnings.clamped(format!("thinking.budget_tokens({budget}->{shrunk})"));
            Some(ThinkingMode::Budget(shrunk))
        }
        Some(_) | None => {
            warnings.clamped(format!("max_tokens({max_tokens}->{wanted})"));
            *max_tokens = wanted;
            Some(mode)
        }
    }
}

/// Whether the conversation ends with tool results answering an assistant turn that does not
/// start with a thinking block. With thinking on, Anthropic rejects that ("Expected `thinking`
/// or `redacted_thinking`, but found `text`"), and a signature can't be made up.
fn last_tool_turn_lacks_thinking(messages: &[MessageParam<'_>]) -> bool {
    let Some((last, earlier)) = messages.split_last() else {
        return false;
    };
    let answers_tools = last.role == write::Role::User
        && matches!(
            last.content.first(),
            Some(ContentBlockParam::ToolResult { .. })
        );
    if !answers_tools {
        return false;
    }
    match earlier.last() {
        Some(turn) if turn.role == write::Role::Assistant => !matches!(
            turn.content.first(),
            Some(ContentBlockParam::Thinking { .. } | ContentBlockParam::RedactedThinking { .. })
        ),
        Some(_) | None => false,
    }
}

/// `temperature`, `top_p`, `top_k` as sent.
///
/// - With thinking: no `temperature`, no `top_k`, `top_p` raised to at least 0.95.
/// - Without: `temperature` within 0..=1; `top_p` dropped when `temperature` is set (newer
///   models reject both).
fn sampling(
    request: &ChatRequest,
    thinking: bool,
    warnings: &mut Warnings,
) -> (Option<f64>, Option<f64>, Option<u64>) {
    if thinking {
        if request.temperature.is_some() {
            warnings.dropped("temperature");
        }
        if request.top_k.is_some() {
            warnings.dropped("top_k");
        }
        let top_p = request.top_p.map(|top_p| {
            if top_p < 0.95 {
                warnings.clamped(format!("top_p({top_p}->0.95)"));
                0.95
            } else {
                top_p
            }
        });
        return (None, top_p, None);
    }
    let temperature = request.temperature.map(|t| {
        let clamped = t.clamp(0.0, 1.0);
        if clamped != t {
            warnings.clamped(format!("temperature({t}->{clamped})"));
        }
        clamped
    });
    let top_p = match (temperature, request.top_p) {
        (Some(_), Some(_)) => {
            warnings.dropped("top_p");
            None
        }
        (_, top_p) => top_p,
    };
    (temperature, top_p, request.top_k)
}

#[cfg(test)]
mod tests;
