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
//! - tool schemas are plain object schemas; foreign built-in tools are dropped.
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
use crate::error::{ApiError, ErrorKind};
use crate::formats::UpstreamTarget;
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
    let mut system: Vec<TextBlockParam> = request
        .system
        .iter()
        .filter(|text| !is_blank(text))
        .map(|text| TextBlockParam {
            text: Cow::Borrowed(text.as_str()),
        })
        .collect();
    let messages = encode_messages(request, &mut system, warnings)?;
    let tools = encode_tools(request, warnings)?;
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
    serde_json::to_value(&params).map_err(|e| {
        ApiError::new(
            ErrorKind::Internal,
            format!("could not write the upstream request: {e}"),
        )
    })
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

fn invalid_at(path: String, message: &str) -> ApiError {
    ApiError::invalid(format!("{path}: {message}")).with_param(path)
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
                    Part::ToolCall(_) | Part::ToolResult(_) | Part::Reasoning(_) => {
                        warnings.dropped("tool_result(non-content)")
                    }
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
        MediaSource::FileId(_) => {
            return Err(invalid_at(
                path(),
                "file ids cannot be sent to this model's provider; send the image data or a URL",
            ));
        }
    };
    if !IMAGE_MEDIA_TYPES.contains(&media_type) {
        return Err(invalid_at(
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
        MediaSource::FileId(_) => {
            return Err(invalid_at(
                path(),
                "file ids cannot be sent to this model's provider; send the file's content",
            ));
        }
    };
    let source = match media_type {
        "application/pdf" => DocumentSource::Base64 { media_type, data },
        "text/plain" => {
            let text = STANDARD
                .decode(data)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| invalid_at(path(), "the text document is not valid base64 UTF-8"))?;
            DocumentSource::Text {
                media_type: "text/plain",
                data: text,
            }
        }
        other => {
            return Err(invalid_at(
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
            })),
            Tool::Builtin { kind, raw } if is_server_tool(kind) => {
                tools.push(ToolUnion::Server(raw));
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
mod tests {
    use serde_json::json;

    use super::*;
    use crate::canonical::{Message, Opaque, ReasoningPart, ToolCall, ToolKind, ToolResult};
    use crate::formats::MaxTokensParam;

    fn target() -> UpstreamTarget {
        UpstreamTarget {
            model: "claude-sonnet-4-5-20250929".into(),
            stream: true,
            max_tokens_param: MaxTokensParam::default(),
            default_max_tokens: 8192,
            max_output_tokens: Some(64_000),
            reasoning: true,
        }
    }

    fn encode(request: &ChatRequest) -> (Value, Option<String>) {
        encode_with(request, &target())
    }

    fn encode_with(request: &ChatRequest, target: &UpstreamTarget) -> (Value, Option<String>) {
        let mut warnings = Warnings::new();
        let body = encode_request(request, target, &mut warnings).unwrap();
        (body, warnings.header_value())
    }

    fn encode_err(request: &ChatRequest) -> ApiError {
        encode_request(request, &target(), &mut Warnings::new()).unwrap_err()
    }

    fn user(parts: Vec<Part>) -> Message {
        Message {
            role: Role::User,
            parts,
        }
    }

    fn assistant(parts: Vec<Part>) -> Message {
        Message {
            role: Role::Assistant,
            parts,
        }
    }

    fn text(t: &str) -> Part {
        Part::Text(t.into())
    }

    fn call(id: &str, arguments: &str) -> Part {
        Part::ToolCall(ToolCall {
            id: id.into(),
            name: "get_weather".into(),
            arguments: arguments.into(),
            kind: ToolKind::Function,
        })
    }

    fn result(id: &str, content: &str) -> Part {
        Part::ToolResult(ToolResult {
            call_id: id.into(),
            content: vec![text(content)],
            is_error: false,
            kind: ToolKind::Function,
        })
    }

    fn thinking(vendor: Vendor, text: &str, data: &str) -> Part {
        Part::Reasoning(ReasoningPart {
            text: text.into(),
            opaque: Some(Opaque {
                vendor,
                data: data.into(),
            }),
            redacted: false,
        })
    }

    fn weather_tool() -> Tool {
        Tool::Function {
            name: "get_weather".into(),
            description: Some("Weather for a city".into()),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
            strict: Some(false),
        }
    }

    fn request(messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            model: "public-model".into(),
            messages,
            ..ChatRequest::default()
        }
    }

    #[test]
    fn a_chat_style_request() {
        let mut chat = request(vec![
            user(vec![text("Weather in Paris?")]),
            assistant(vec![
                text("Checking."),
                call("call_1", r#"{"city":"Paris"}"#),
            ]),
            user(vec![result("call_1", "18C"), text("And Tokyo?")]),
        ]);
        chat.system = vec!["Be brief.".into(), "  ".into()];
        chat.max_output_tokens = Some(1000);
        chat.temperature = Some(0.2);
        chat.top_k = Some(5);
        chat.stop_sequences = vec!["END".into(), " \n".into()];
        chat.tools = vec![weather_tool()];
        chat.tool_choice = Some(ToolChoice::Auto);
        chat.parallel_tool_calls = Some(false);
        chat.user = Some("user-42".into());
        let (body, warnings) = encode(&chat);
        assert_eq!(
            warnings.as_deref(),
            Some("dropped=stop_sequences(whitespace)")
        );
        assert_eq!(
            body,
            json!({
                "model": "claude-sonnet-4-5-20250929",
                "max_tokens": 1000,
                "system": [{"type": "text", "text": "Be brief."}],
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
                    {"role": "assistant", "content": [
                        {"type": "text", "text": "Checking."},
                        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "18C"}]},
                        {"type": "text", "text": "And Tokyo?"}
                    ]}
                ],
                "temperature": 0.2,
                "top_k": 5,
                "stop_sequences": ["END"],
                "tools": [{"name": "get_weather", "description": "Weather for a city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
                "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
                "metadata": {"user_id": "user-42"},
                "stream": true
            })
        );
    }

    #[test]
    fn turns_are_merged_hoisted_ordered_and_never_empty() {
        let conversation = request(vec![
            user(vec![text("a")]),
            Message {
                role: Role::System,
                parts: vec![
                    text("<reminder>"),
                    Part::Image(Media {
                        source: MediaSource::Url("https://x.test/i.png".into()),
                        detail: None,
                    }),
                ],
            },
            user(vec![text("b"), text("")]),
            assistant(vec![text("   ")]),
            assistant(vec![
                text("Let me look."),
                call("t1", ""),
                thinking(Vendor::Anthropic, "plan", "sig-a"),
                Part::Refusal("no".into()),
            ]),
            user(vec![text("more"), result("t1", "ok")]),
            assistant(vec![text("The answer is "), text(" \n")]),
        ]);
        let (body, warnings) = encode(&conversation);
        assert_eq!(warnings.as_deref(), Some("dropped=system(non-text)"));
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "<reminder>"}])
        );
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "plan", "signature": "sig-a"},
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}},
                    {"type": "text", "text": "no"}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "ok"}]},
                    {"type": "text", "text": "more"}
                ]},
                {"role": "assistant", "content": [{"type": "text", "text": "The answer is"}]}
            ])
        );
        let (body, _) = encode(&request(vec![user(vec![text(" ")])]));
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": [{"type": "text", "text": "."}]}])
        );
        assert_eq!(body["max_tokens"], 8192);
    }

    #[test]
    fn reasoning_parts_are_replayed_only_to_their_vendor() {
        let conversation = request(vec![
            user(vec![text("q")]),
            assistant(vec![
                thinking(Vendor::Anthropic, "exact\ntext ", "EqQB"),
                Part::Reasoning(ReasoningPart {
                    text: String::new(),
                    opaque: Some(Opaque {
                        vendor: Vendor::Anthropic,
                        data: "EmwK".into(),
                    }),
                    redacted: true,
                }),
                thinking(Vendor::OpenAi, "summary", "gAAAA"),
                thinking(Vendor::Gateway, "chat reasoning", ""),
                Part::Reasoning(ReasoningPart::default()),
                text("a"),
            ]),
            user(vec![text("q2")]),
        ]);
        let (body, warnings) = encode(&conversation);
        assert_eq!(
            warnings.as_deref(),
            Some("dropped=reasoning(not-anthropic)")
        );
        assert_eq!(
            body["messages"][1]["content"],
            json!([
                {"type": "thinking", "thinking": "exact\ntext ", "signature": "EqQB"},
                {"type": "redacted_thinking", "data": "EmwK"},
                {"type": "text", "text": "a"}
            ])
        );
    }

    #[test]
    fn media_inputs() {
        let media = |source: MediaSource| {
            Part::Image(Media {
                source,
                detail: Some("high".into()),
            })
        };
        let document = |source: MediaSource| {
            Part::Document(Document {
                source,
                filename: Some("notes.pdf".into()),
                title: None,
            })
        };
        let base64 = |media_type: &str, data: &str| MediaSource::Base64 {
            media_type: media_type.into(),
            data: data.into(),
        };
        let conversation = request(vec![
            user(vec![
                media(base64("image/png", "iVBOR")),
                media(MediaSource::Url("https://x.test/a.jpg".into())),
                media(MediaSource::Url("data:image/webp;base64,UklGR".into())),
                document(base64("application/pdf", "JVBER")),
                document(base64("text/plain", "aGVsbG8=")),
                document(MediaSource::Url("https://x.test/spec.pdf".into())),
            ]),
            assistant(vec![call("t1", "{}")]),
            user(vec![Part::ToolResult(ToolResult {
                call_id: "t1".into(),
                content: vec![media(base64("image/gif", "R0lG")), text("")],
                is_error: true,
                kind: ToolKind::Function,
            })]),
        ]);
        let (body, warnings) = encode(&conversation);
        assert_eq!(warnings, None);
        assert_eq!(
            body["messages"][0]["content"],
            json!([
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
                {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
                {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "UklGR"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}, "title": "notes.pdf"},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hello"}, "title": "notes.pdf"},
                {"type": "document", "source": {"type": "url", "url": "https://x.test/spec.pdf"}, "title": "notes.pdf"}
            ])
        );
        assert_eq!(
            body["messages"][2]["content"],
            json!([{"type": "tool_result", "tool_use_id": "t1", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"}}
            ], "is_error": true}])
        );

        let cases = [
            (media(base64("image/bmp", "Qk0")), "messages[1].content[0]"),
            (
                media(MediaSource::FileId("file_1".into())),
                "messages[1].content[0]",
            ),
            (
                document(MediaSource::FileId("file_1".into())),
                "messages[1].content[0]",
            ),
            (
                document(base64("application/msword", "0M8R")),
                "messages[1].content[0]",
            ),
            (
                document(base64("text/plain", "@@not base64@@")),
                "messages[1].content[0]",
            ),
            (
                Part::ToolResult(ToolResult {
                    call_id: "t".into(),
                    content: vec![text("x"), media(base64("image/tiff", "SUkq"))],
                    is_error: false,
                    kind: ToolKind::Function,
                }),
                "messages[1].content[0].content[1]",
            ),
        ];
        for (part, param) in cases {
            let error = encode_err(&request(vec![
                user(vec![text("x")]),
                user(vec![part.clone()]),
            ]));
            assert_eq!(error.kind, ErrorKind::InvalidRequest, "{part:?}");
            assert_eq!(error.param.as_deref(), Some(param), "{part:?}");
        }
    }

    #[test]
    fn tools_and_tool_choice() {
        let mut with_tools = request(vec![user(vec![text("q")])]);
        with_tools.tools = vec![
            Tool::Function {
                name: "no_type".into(),
                description: None,
                parameters: json!({"properties": {"a": {"type": "string"}}}),
                strict: Some(true),
            },
            Tool::Function {
                name: "union".into(),
                description: None,
                parameters: json!({"anyOf": [{"type": "object"}], "$defs": {"x": {}}}),
                strict: None,
            },
            Tool::Function {
                name: "scalar".into(),
                description: None,
                parameters: json!({"type": "string"}),
                strict: None,
            },
            Tool::Builtin {
                kind: "web_search_20250305".into(),
                raw: json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 3}),
            },
            Tool::Builtin {
                kind: "code_interpreter".into(),
                raw: json!({"type": "code_interpreter", "container": {"type": "auto"}}),
            },
        ];
        with_tools.tool_choice = Some(ToolChoice::None);
        let (body, warnings) = encode(&with_tools);
        assert_eq!(
            warnings.as_deref(),
            Some(
                "dropped=tools(code_interpreter); converted=union.input_schema(object),scalar.input_schema(object)"
            )
        );
        assert_eq!(
            body["tools"],
            json!([
                {"name": "no_type", "input_schema": {"properties": {"a": {"type": "string"}}, "type": "object"}, "strict": true},
                {"name": "union", "input_schema": {"type": "object", "$defs": {"x": {}}, "properties": {}}},
                {"name": "scalar", "input_schema": {"type": "object", "properties": {}}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
            ])
        );
        assert_eq!(body["tool_choice"], json!({"type": "none"}));

        let table = [
            (Some(ToolChoice::Auto), None, Some(json!({"type": "auto"}))),
            (
                Some(ToolChoice::Required),
                Some(false),
                Some(json!({"type": "any", "disable_parallel_tool_use": true})),
            ),
            (
                Some(ToolChoice::Named("get_weather".into())),
                Some(true),
                Some(json!({"type": "tool", "name": "get_weather"})),
            ),
            (
                None,
                Some(false),
                Some(json!({"type": "auto", "disable_parallel_tool_use": true})),
            ),
            (None, None, None),
        ];
        for (choice, parallel, expected) in table {
            let mut req = request(vec![user(vec![text("q")])]);
            req.tools = vec![weather_tool()];
            req.tool_choice = choice.clone();
            req.parallel_tool_calls = parallel;
            let (body, _) = encode(&req);
            assert_eq!(
                body.get("tool_choice").cloned(),
                expected,
                "{choice:?} {parallel:?}"
            );
        }

        // No tools: no tool_choice.
        let mut bare = request(vec![user(vec![text("q")])]);
        bare.tool_choice = Some(ToolChoice::Required);
        assert_eq!(encode(&bare).0.get("tool_choice"), None);

        // Forcing a built-in tool this upstream does not have is an output-shape change.
        let mut forced = with_tools.clone();
        forced.tool_choice = Some(ToolChoice::Named("code_interpreter".into()));
        let error = encode_err(&forced);
        assert_eq!(error.param.as_deref(), Some("tool_choice"));
    }

    #[test]
    fn sampling_limits() {
        let mut req = request(vec![user(vec![text("q")])]);
        req.temperature = Some(1.5);
        req.top_p = Some(0.9);
        req.max_output_tokens = Some(100_000);
        let (body, warnings) = encode(&req);
        assert_eq!(
            warnings.as_deref(),
            Some("dropped=top_p; clamped=max_tokens(100000->64000),temperature(1.5->1)")
        );
        assert_eq!(body["temperature"], json!(1.0));
        assert_eq!(body.get("top_p"), None);
        assert_eq!(body["max_tokens"], 64_000);
        req.temperature = None;
        let (body, _) = encode(&req);
        assert_eq!(body["top_p"], json!(0.9));
    }

    fn thinking_request(thinking: Thinking) -> ChatRequest {
        let mut req = request(vec![user(vec![text("q")])]);
        req.thinking = Some(thinking);
        req.max_output_tokens = Some(4000);
        req
    }

    #[test]
    fn thinking_budget_and_its_constraints() {
        // Budget below max_tokens: as is; sampling adjusted.
        let mut req = thinking_request(Thinking::Budget(2048));
        req.temperature = Some(0.5);
        req.top_k = Some(10);
        req.top_p = Some(0.5);
        let (body, warnings) = encode(&req);
        assert_eq!(
            warnings.as_deref(),
            Some("dropped=temperature,top_k; clamped=top_p(0.5->0.95)")
        );
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048})
        );
        assert_eq!(body["max_tokens"], 4000);
        assert_eq!(body["top_p"], json!(0.95));
        assert_eq!(body.get("temperature"), None);
        assert_eq!(body.get("top_k"), None);

        // Budget above max_tokens: max_tokens raised when the model allows it.
        let (body, warnings) = encode(&thinking_request(Thinking::Effort(Effort::High)));
        assert_eq!(warnings.as_deref(), Some("clamped=max_tokens(4000->25600)"));
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 24_576})
        );
        assert_eq!(body["max_tokens"], 25_600);

        // ... else the budget shrinks under the model's limit.
        let mut small = target();
        small.max_output_tokens = Some(8192);
        let (body, warnings) = encode_with(&thinking_request(Thinking::Budget(20_000)), &small);
        assert_eq!(
            warnings.as_deref(),
            Some("clamped=max_tokens(4000->8192),thinking.budget_tokens(20000->7168)")
        );
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 7168})
        );
        assert_eq!(body["max_tokens"], 8192);

        // ... and is switched off when even the minimum does not fit.
        small.max_output_tokens = Some(1024);
        let (body, warnings) = encode_with(&thinking_request(Thinking::Budget(2048)), &small);
        assert_eq!(
            warnings.as_deref(),
            Some("clamped=max_tokens(4000->1024); disabled=thinking(max_tokens)")
        );
        assert_eq!(body.get("thinking"), None);

        // Off, effort none, or a model without reasoning.
        assert_eq!(encode(&thinking_request(Thinking::Disabled)), {
            let (body, _) = encode(&request(vec![user(vec![text("q")])]));
            let mut body = body;
            body["max_tokens"] = json!(4000);
            (body, None)
        });
        assert_eq!(
            encode(&thinking_request(Thinking::Effort(Effort::None))).1,
            None
        );
        let mut plain = target();
        plain.reasoning = false;
        let (body, warnings) = encode_with(&thinking_request(Thinking::Budget(2048)), &plain);
        assert_eq!(warnings.as_deref(), Some("dropped=thinking"));
        assert_eq!(body.get("thinking"), None);
    }

    #[test]
    fn adaptive_thinking_and_output_config() {
        let mut req = thinking_request(Thinking::Adaptive(Some(Effort::XHigh)));
        req.response_format = Some(ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object", "properties": {"x": {"type": "integer"}}}),
            strict: Some(true),
            description: None,
        });
        let (body, warnings) = encode(&req);
        assert_eq!(warnings, None);
        assert_eq!(body["thinking"], json!({"type": "adaptive"}));
        assert_eq!(
            body["output_config"],
            json!({"effort": "xhigh", "format": {"type": "json_schema", "schema": {"type": "object", "properties": {"x": {"type": "integer"}}}}})
        );
        let (body, _) = encode(&thinking_request(Thinking::Adaptive(None)));
        assert_eq!(body["thinking"], json!({"type": "adaptive"}));
        assert_eq!(body.get("output_config"), None);

        let mut json_object = request(vec![user(vec![text("q")])]);
        json_object.system = vec!["Be brief.".into()];
        json_object.response_format = Some(ResponseFormat::JsonObject);
        let (body, warnings) = encode(&json_object);
        assert_eq!(
            warnings.as_deref(),
            Some("converted=response_format(json_object->instruction)")
        );
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "Be brief."}, {"type": "text", "text": JSON_OBJECT_INSTRUCTION}])
        );
    }

    #[test]
    fn thinking_is_disabled_where_anthropic_would_reject_it() {
        let mut forced = thinking_request(Thinking::Budget(2048));
        forced.tools = vec![weather_tool()];
        forced.tool_choice = Some(ToolChoice::Named("get_weather".into()));
        let (body, warnings) = encode(&forced);
        assert_eq!(
            warnings.as_deref(),
            Some("disabled=thinking(forced-tool-choice)")
        );
        assert_eq!(body.get("thinking"), None);
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": "get_weather"})
        );

        // The last tool results answer a turn from a Chat upstream: no signature to replay.
        let mut foreign = thinking_request(Thinking::Budget(2048));
        foreign.messages = vec![
            user(vec![text("q")]),
            assistant(vec![
                thinking(Vendor::OpenAi, "s", "gAAA"),
                call("c1", "{}"),
            ]),
            user(vec![result("c1", "ok")]),
        ];
        let (body, warnings) = encode(&foreign);
        assert_eq!(
            warnings.as_deref(),
            Some("dropped=reasoning(not-anthropic); disabled=thinking(no-valid-signature)")
        );
        assert_eq!(body.get("thinking"), None);

        // A signed turn keeps thinking on.
        let mut native = foreign.clone();
        native.messages[1] = assistant(vec![
            thinking(Vendor::Anthropic, "s", "EqQB"),
            call("c1", "{}"),
        ]);
        let (body, warnings) = encode(&native);
        assert_eq!(warnings, None);
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048})
        );

        // Unsigned history that is not in a tool loop does not matter.
        let mut later = foreign.clone();
        later.messages.push(assistant(vec![text("done")]));
        later.messages.push(user(vec![text("next")]));
        let (body, _) = encode(&later);
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048})
        );
    }

    #[test]
    fn broken_tool_arguments_in_history_become_an_empty_input() {
        let conversation = request(vec![
            user(vec![text("q")]),
            assistant(vec![call("c1", "{\"city\":"), call("c2", "[1]")]),
            user(vec![result("c1", "?"), result("c2", "?")]),
        ]);
        let (body, warnings) = encode(&conversation);
        assert_eq!(
            warnings.as_deref(),
            Some("dropped=tool_use.input(not-a-json-object)")
        );
        assert_eq!(body["messages"][1]["content"][0]["input"], json!({}));
        assert_eq!(body["messages"][1]["content"][1]["input"], json!({}));
    }

    #[test]
    fn anthropic_to_anthropic_keeps_what_the_client_sent() {
        let body = json!({
            "model": "claude-opus-4-5",
            "max_tokens": 32000,
            "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
            "thinking": {"type": "enabled", "budget_tokens": 10000},
            "tools": [{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
            "messages": [
                {"role": "user", "content": "list files"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "I'll use ls.\n", "signature": "EqQBCgIYAh"},
                    {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls"}}
                ]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "a.txt"}]}
            ]
        });
        let mut warnings = Warnings::new();
        let request =
            super::super::decode_request(body.to_string().as_bytes(), &mut warnings).unwrap();
        let encoded = encode_request(&request, &target(), &mut warnings).unwrap();
        assert_eq!(warnings.header_value(), None);
        assert_eq!(
            encoded,
            json!({
                "model": "claude-sonnet-4-5-20250929",
                "max_tokens": 32000,
                "system": [{"type": "text", "text": "You are Claude Code."}],
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "list files"}]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "I'll use ls.\n", "signature": "EqQBCgIYAh"},
                        {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls"}}
                    ]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "a.txt"}]}]}
                ],
                "tools": [{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
                "thinking": {"type": "enabled", "budget_tokens": 10000},
                "stream": true
            })
        );
    }
}
