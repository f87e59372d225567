//! `decode_request`: what the gateway accepts from Anthropic clients (Claude Code, the
//! Anthropic SDK), into a canonical [`ChatRequest`].
//!
//! The body is parsed once into a [`Value`], then field by field into the typed structs of
//! [`read`], so every type error names its field with its full path (`messages[2].content[0]`).
//! Unknown top-level fields and unknown content block types are dropped with a warning.
//! `cache_control` markers are ignored silently: they have no meaning across formats (same-format
//! forwarding keeps them byte-exact), and so are text blocks' `citations` in history (every
//! vendor takes the text without them). Web search and fetch tools and their past blocks are
//! read as `server_tools` says. Claude Code's attribution block (the first system block,
//! `x-anthropic-billing-header: …`) goes to [`ChatRequest::attribution`], not to `system`.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::server_tools;
use super::wire::read;
use crate::canonical::{
    ChatRequest, Document, Effort, FileRef, Media, MediaSource, Message, Opaque, Part,
    ReasoningPart, ResponseFormat, Role, ServerTool, ServerToolKind, Thinking, Tool, ToolCall,
    ToolChoice, ToolKind, ToolResult, UserLocation, Vendor,
};
use crate::error::ApiError;
use crate::translate::Warnings;

/// Top-level fields the decoder reads. Any other (`context_management`, `container`,
/// `mcp_servers`, `service_tier`, `inference_geo`, `cache_control`, ...) is dropped with a
/// warning.
const KNOWN_FIELDS: [&str; 14] = [
    "model",
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "stream",
    "metadata",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
];

pub fn decode_request(body: &[u8], warnings: &mut Warnings) -> Result<ChatRequest, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ApiError::invalid("the request body must be a JSON object"));
    };
    for field in ["model", "max_tokens", "messages"] {
        if map.get(field).is_none_or(Value::is_null) {
            return Err(ApiError::invalid(format!("{field}: field required")).with_param(field));
        }
    }
    for key in map.keys() {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            warnings.dropped(key.as_str());
        }
    }
    let params: read::MessageCreateParams = parse(Value::Object(map), "")?;
    if params.max_tokens == 0 {
        return Err(ApiError::invalid("max_tokens: must be at least 1").with_param("max_tokens"));
    }

    let mut system = match params.system {
        Some(system) => decode_system(system, warnings)?,
        None => Vec::new(),
    };
    let attribution = take_attribution(&mut system);
    let mut messages = Vec::with_capacity(params.messages.len());
    for (i, message) in params.messages.into_iter().enumerate() {
        messages.push(decode_message(message, i, warnings)?);
    }
    let tools = match params.tools {
        Some(tools) => decode_tools(tools)?,
        None => Vec::new(),
    };
    let (tool_choice, parallel_tool_calls) = match params.tool_choice {
        Some(choice) => decode_tool_choice(choice),
        None => (None, None),
    };
    let (effort, response_format) = match params.output_config {
        Some(config) => decode_output_config(config)?,
        None => (None, None),
    };
    let (thinking, reasoning_summary) = decode_thinking(params.thinking, effort, warnings);

    Ok(ChatRequest {
        model: params.model,
        system,
        messages,
        max_output_tokens: Some(params.max_tokens),
        temperature: params.temperature,
        top_p: params.top_p,
        top_k: params.top_k,
        stop_sequences: params.stop_sequences.unwrap_or_default(),
        stream: params.stream.unwrap_or(false),
        tools,
        tool_choice,
        parallel_tool_calls,
        thinking,
        reasoning_summary,
        response_format,
        user: params.metadata.and_then(|m| m.user_id),
        prompt_cache_key: None,
        attribution,
        client: Default::default(),
    })
}

/// Deserializes `value` (found at `path`) into `T`; a failure is a 400 naming the field.
fn parse<T: DeserializeOwned>(value: Value, path: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let mut param = join_path(path, &inner);
        let message = e.inner().to_string();
        // "missing field `name`" is reported at the enclosing object; name the field itself.
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            param = join_path(&param, field);
        }
        if param.is_empty() {
            ApiError::invalid(message)
        } else {
            ApiError::invalid_at(param, &message)
        }
    })
}

fn join_path(prefix: &str, inner: &str) -> String {
    match (prefix.is_empty(), inner) {
        (_, "." | "") => prefix.to_owned(),
        (true, inner) => inner.to_owned(),
        (false, inner) if inner.starts_with('[') => format!("{prefix}{inner}"),
        (false, inner) => format!("{prefix}.{inner}"),
    }
}

/// How Claude Code's attribution block starts (`x-anthropic-billing-header: cc_version=…;
/// cc_entrypoint=…; cch=…;`).
const ATTRIBUTION_PREFIX: &str = "x-anthropic-billing-header:";

/// Takes Claude Code's attribution block out of `system` when it is the first block (where
/// Claude Code puts it, and where Anthropic looks for it). Anthropic upstreams get it back in
/// the same place; to any other upstream it would be a system line that changes the prompt's
/// prefix (its `cch` varied per request before Claude Code 2.1.181), so every turn would miss
/// the cache.
fn take_attribution(system: &mut Vec<String>) -> Option<String> {
    let first = system.first()?;
    if !first.trim_start().starts_with(ATTRIBUTION_PREFIX) {
        return None;
    }
    Some(system.remove(0))
}

fn decode_system(system: Value, warnings: &mut Warnings) -> Result<Vec<String>, ApiError> {
    match system {
        Value::String(text) => Ok(vec![text]),
        Value::Array(blocks) => {
            let mut texts = Vec::with_capacity(blocks.len());
            for (i, block) in blocks.into_iter().enumerate() {
                let path = format!("system[{i}]");
                match block_type(&block, &path)?.as_str() {
                    "text" => texts.push(parse::<read::TextBlockParam>(block, &path)?.text),
                    other => warnings.dropped_content(format!("system({other})")),
                }
            }
            Ok(texts)
        }
        Value::Null => Ok(Vec::new()),
        _ => Err(ApiError::invalid_at(
            "system",
            "must be a string or an array of text blocks",
        )),
    }
}

fn block_type(block: &Value, path: &str) -> Result<String, ApiError> {
    match block.get("type") {
        Some(Value::String(kind)) => Ok(kind.clone()),
        Some(_) => Err(ApiError::invalid_at(
            format!("{path}.type"),
            "must be a string",
        )),
        None if block.is_object() => Err(ApiError::invalid_at(
            format!("{path}.type"),
            "field required",
        )),
        None => Err(ApiError::invalid_at(path, "must be a content block object")),
    }
}

fn decode_message(
    message: read::MessageParam,
    index: usize,
    warnings: &mut Warnings,
) -> Result<Message, ApiError> {
    let path = format!("messages[{index}].content");
    let (role, allowed) = match message.role {
        read::Role::User => (Role::User, Allowed::User),
        read::Role::Assistant => (Role::Assistant, Allowed::Assistant),
        read::Role::System => (Role::System, Allowed::Text),
    };
    let mut parts = decode_content(message.content, &path, allowed, warnings)?;
    match role {
        // Canonical rule: a user message's tool results come first, in their order.
        Role::User => parts.sort_by_key(|part| !matches!(part, Part::ToolResult(_))),
        Role::Assistant => server_tools::pair_records(&mut parts),
        Role::System => {}
    }
    Ok(Message { role, parts })
}

/// Which blocks a content list may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    User,
    Assistant,
    /// Tool result content: text, image, document.
    ToolResult,
    /// Mid-conversation system messages and `content` document sources.
    Text,
}

impl Allowed {
    fn permits(self, kind: &str) -> bool {
        match self {
            Allowed::User => matches!(kind, "text" | "image" | "document" | "tool_result"),
            Allowed::Assistant => {
                matches!(kind, "text" | "tool_use" | "thinking" | "redacted_thinking")
                    || server_tools::is_history_block(kind)
            }
            Allowed::ToolResult => matches!(kind, "text" | "image" | "document"),
            Allowed::Text => kind == "text",
        }
    }
}

/// Content as a string or an array of blocks. Blocks of an unknown type, or of a type the
/// context does not allow, are dropped with a warning.
fn decode_content(
    content: Value,
    path: &str,
    allowed: Allowed,
    warnings: &mut Warnings,
) -> Result<Vec<Part>, ApiError> {
    match content {
        Value::String(text) => Ok(vec![Part::Text(text)]),
        Value::Array(blocks) => {
            let mut parts = Vec::with_capacity(blocks.len());
            for (i, block) in blocks.into_iter().enumerate() {
                let block_path = format!("{path}[{i}]");
                let kind = block_type(&block, &block_path)?;
                if !allowed.permits(&kind) {
                    warnings.dropped_content(format!("content({kind})"));
                    continue;
                }
                decode_block(&kind, block, &block_path, &mut parts, warnings)?;
            }
            Ok(parts)
        }
        _ => Err(ApiError::invalid_at(
            path,
            "must be a string or an array of content blocks",
        )),
    }
}

/// Decodes one block of a known type into `parts`.
fn decode_block(
    kind: &str,
    block: Value,
    path: &str,
    parts: &mut Vec<Part>,
    warnings: &mut Warnings,
) -> Result<(), ApiError> {
    match kind {
        "text" => parts.push(Part::Text(parse::<read::TextBlockParam>(block, path)?.text)),
        "image" => {
            let image: read::ImageBlockParam = parse(block, path)?;
            let source = match image.source {
                read::ImageSource::Base64 { media_type, data } => {
                    MediaSource::Base64 { media_type, data }
                }
                read::ImageSource::Url { url } => MediaSource::Url(url),
                read::ImageSource::File { file_id } => MediaSource::FileId(FileRef {
                    id: file_id,
                    vendor: Vendor::Anthropic,
                    path: format!("{path}.source"),
                }),
                read::ImageSource::Unknown => {
                    warnings.dropped_content("image(source)");
                    return Ok(());
                }
            };
            parts.push(Part::Image(Media {
                source,
                detail: None,
            }));
        }
        "document" => {
            let document: read::DocumentBlockParam = parse(block, path)?;
            let source = match document.source {
                read::DocumentSource::Base64 { media_type, data } => {
                    MediaSource::Base64 { media_type, data }
                }
                read::DocumentSource::Url { url } => MediaSource::Url(url),
                read::DocumentSource::File { file_id } => MediaSource::FileId(FileRef {
                    id: file_id,
                    vendor: Vendor::Anthropic,
                    path: format!("{path}.source"),
                }),
                read::DocumentSource::Text { data } => {
                    parts.push(Part::Text(data));
                    return Ok(());
                }
                read::DocumentSource::Content { content } => {
                    let inner = format!("{path}.source.content");
                    parts.extend(decode_content(content, &inner, Allowed::Text, warnings)?);
                    return Ok(());
                }
                read::DocumentSource::Unknown => {
                    warnings.dropped_content("document(source)");
                    return Ok(());
                }
            };
            parts.push(Part::Document(Document {
                source,
                filename: None,
                title: document.title,
            }));
        }
        "tool_use" => {
            let call: read::ToolUseBlockParam = parse(block, path)?;
            let arguments = match call.input {
                Value::Null => "{}".to_owned(),
                input => input.to_string(),
            };
            parts.push(Part::ToolCall(ToolCall {
                id: call.id,
                name: call.name,
                arguments,
                kind: ToolKind::Function,
            }));
        }
        "tool_result" => {
            let result: read::ToolResultBlockParam = parse(block, path)?;
            let content = match result.content {
                Some(content) => decode_content(
                    content,
                    &format!("{path}.content"),
                    Allowed::ToolResult,
                    warnings,
                )?,
                None => Vec::new(),
            };
            parts.push(Part::ToolResult(ToolResult {
                call_id: result.tool_use_id,
                content,
                is_error: result.is_error.unwrap_or(false),
                kind: ToolKind::Function,
            }));
        }
        "thinking" => {
            let thinking: read::ThinkingBlockParam = parse(block, path)?;
            let (opaque, text) =
                match Opaque::from_client(&thinking.signature, Some(Vendor::Anthropic)) {
                    Some((opaque, exact_text)) => {
                        (Some(opaque), exact_text.unwrap_or(thinking.thinking))
                    }
                    None => (None, thinking.thinking),
                };
            parts.push(Part::Reasoning(ReasoningPart {
                text,
                opaque,
                redacted: false,
            }));
        }
        "redacted_thinking" => {
            let redacted: read::RedactedThinkingBlockParam = parse(block, path)?;
            if let Some((opaque, _)) = Opaque::from_client(&redacted.data, Some(Vendor::Anthropic))
            {
                parts.push(Part::Reasoning(ReasoningPart {
                    text: String::new(),
                    opaque: Some(opaque),
                    redacted: true,
                }));
            }
        }
        kind if server_tools::is_history_block(kind) => match server_tools::record(kind, block) {
            Some(record) => parts.push(record),
            // Another server tool's call (code execution, ...).
            None => warnings.dropped_content(format!("content({kind})")),
        },
        other => warnings.dropped_content(format!("content({other})")),
    }
    Ok(())
}

fn decode_tools(tools: Vec<Value>) -> Result<Vec<Tool>, ApiError> {
    let mut decoded = Vec::with_capacity(tools.len());
    for (i, tool) in tools.into_iter().enumerate() {
        let path = format!("tools[{i}]");
        let kind = match tool.get("type") {
            None | Some(Value::Null) => None,
            Some(Value::String(kind)) if kind == "custom" => None,
            Some(Value::String(kind)) => Some(kind.clone()),
            Some(_) => {
                return Err(ApiError::invalid_at(
                    format!("{path}.type"),
                    "must be a string",
                ));
            }
        };
        decoded.push(match kind {
            Some(kind) => match server_tools::kind_of_type(&kind) {
                Some(server) => Tool::Server(server_tool(server, kind, tool, &path)?),
                None => Tool::Builtin { kind, raw: tool },
            },
            None => {
                let tool: read::Tool = parse(tool, &path)?;
                Tool::Function {
                    name: tool.name,
                    description: tool.description,
                    parameters: tool
                        .input_schema
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                    strict: tool.strict,
                }
            }
        });
    }
    Ok(decoded)
}

/// A web search or fetch tool, its settings read (a bad one is a 400 naming it).
fn server_tool(
    kind: ServerToolKind,
    client_type: String,
    raw: Value,
    path: &str,
) -> Result<ServerTool, ApiError> {
    let params: read::ServerToolParams = parse(raw.clone(), path)?;
    let mut tool = ServerTool::new(kind, client_type, raw);
    tool.unmapped = ServerTool::unmapped_fields(&tool.raw, &server_tools::KNOWN_SETTINGS);
    tool.max_uses = params.max_uses;
    tool.allowed_domains = params.allowed_domains.unwrap_or_default();
    tool.blocked_domains = params.blocked_domains.unwrap_or_default();
    tool.user_location = params.user_location.map(|place| UserLocation {
        city: place.city,
        region: place.region,
        country: place.country,
        timezone: place.timezone,
    });
    Ok(tool)
}

/// `tool_choice` and whether it forbids parallel calls (`parallel_tool_calls`).
fn decode_tool_choice(choice: read::ToolChoice) -> (Option<ToolChoice>, Option<bool>) {
    let (choice, disable_parallel) = match choice {
        read::ToolChoice::Auto {
            disable_parallel_tool_use,
        } => (ToolChoice::Auto, disable_parallel_tool_use),
        read::ToolChoice::Any {
            disable_parallel_tool_use,
        } => (ToolChoice::Required, disable_parallel_tool_use),
        read::ToolChoice::Tool {
            name,
            disable_parallel_tool_use,
        } => (ToolChoice::Named(name), disable_parallel_tool_use),
        read::ToolChoice::None {} => (ToolChoice::None, None),
    };
    let parallel = (disable_parallel == Some(true)).then_some(false);
    (Some(choice), parallel)
}

fn decode_output_config(
    config: read::OutputConfig,
) -> Result<(Option<Effort>, Option<ResponseFormat>), ApiError> {
    let effort = match config.effort {
        Some(effort) => Some(Effort::parse(&effort).ok_or_else(|| {
            ApiError::invalid_at(
                "output_config.effort",
                &format!("unknown effort `{effort}`, expected low, medium, high, xhigh or max"),
            )
        })?),
        None => None,
    };
    let format = config.format.map(|format| match format {
        read::JsonOutputFormat::JsonSchema { schema } => ResponseFormat::JsonSchema {
            name: "output".to_owned(),
            schema,
            strict: None,
            description: None,
        },
    });
    Ok((effort, format))
}

/// The canonical thinking request and whether the client wants thinking text back.
///
/// | `thinking` | `output_config.effort` | canonical | summary |
/// |---|---|---|---|
/// | `enabled`, budget b | ignored (warned) | `Budget(b)` | unless `display: "omitted"` |
/// | `adaptive` | e? | `Adaptive(e?)` | unless `display: "omitted"` |
/// | `disabled` | ignored (warned) | `Disabled` | no |
/// | absent | e | `Effort(e)`: effort alone steers how much the model spends, thinking included, which is what an OpenAI effort means | no |
/// | absent | absent | `None` | no |
fn decode_thinking(
    thinking: Option<read::ThinkingConfigParam>,
    effort: Option<Effort>,
    warnings: &mut Warnings,
) -> (Option<Thinking>, bool) {
    let shown = |display: Option<String>| display.as_deref() != Some("omitted");
    match thinking {
        Some(read::ThinkingConfigParam::Enabled {
            budget_tokens,
            display,
        }) => {
            if effort.is_some() {
                warnings.dropped("output_config.effort");
            }
            (Some(Thinking::Budget(budget_tokens)), shown(display))
        }
        Some(read::ThinkingConfigParam::Adaptive { display }) => {
            (Some(Thinking::Adaptive(effort)), shown(display))
        }
        Some(read::ThinkingConfigParam::Disabled {}) => {
            if effort.is_some() {
                warnings.dropped("output_config.effort");
            }
            (Some(Thinking::Disabled), false)
        }
        None => (effort.map(Thinking::Effort), false),
    }
}

#[cfg(test)]
mod tests;
