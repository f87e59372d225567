//! `decode_request`: what the gateway accepts from Anthropic clients (Claude Code, the
//! Anthropic SDK), into a canonical [`ChatRequest`].
//!
//! The body is parsed once into a [`Value`], then field by field into the typed structs of
//! [`read`], so every type error names its field with its full path (`messages[2].content[0]`).
//! Unknown top-level fields and unknown content block types are dropped with a warning.
//! `cache_control` markers are ignored silently: they have no meaning across formats.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::wire::read;
use crate::canonical::{
    ChatRequest, Document, Effort, Media, MediaSource, Message, Opaque, Part, ReasoningPart,
    ResponseFormat, Role, Thinking, Tool, ToolCall, ToolChoice, ToolKind, ToolResult, Vendor,
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

    let system = match params.system {
        Some(system) => decode_system(system, warnings)?,
        None => Vec::new(),
    };
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
            ApiError::invalid(format!("{param}: {message}")).with_param(param)
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

fn invalid_at(path: &str, message: &str) -> ApiError {
    ApiError::invalid(format!("{path}: {message}")).with_param(path)
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
                    other => warnings.dropped(format!("system({other})")),
                }
            }
            Ok(texts)
        }
        Value::Null => Ok(Vec::new()),
        _ => Err(invalid_at(
            "system",
            "must be a string or an array of text blocks",
        )),
    }
}

fn block_type(block: &Value, path: &str) -> Result<String, ApiError> {
    match block.get("type") {
        Some(Value::String(kind)) => Ok(kind.clone()),
        Some(_) => Err(invalid_at(&format!("{path}.type"), "must be a string")),
        None if block.is_object() => Err(invalid_at(&format!("{path}.type"), "field required")),
        None => Err(invalid_at(path, "must be a content block object")),
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
    if role == Role::User {
        // Canonical rule: a user message's tool results come first, in their order.
        parts.sort_by_key(|part| !matches!(part, Part::ToolResult(_)));
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
                    warnings.dropped(format!("content({kind})"));
                    continue;
                }
                decode_block(&kind, block, &block_path, &mut parts, warnings)?;
            }
            Ok(parts)
        }
        _ => Err(invalid_at(
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
                read::ImageSource::File { file_id } => MediaSource::FileId(file_id),
                read::ImageSource::Unknown => {
                    warnings.dropped("image(source)");
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
                read::DocumentSource::File { file_id } => MediaSource::FileId(file_id),
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
                    warnings.dropped("document(source)");
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
        other => warnings.dropped(format!("content({other})")),
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
            Some(_) => return Err(invalid_at(&format!("{path}.type"), "must be a string")),
        };
        decoded.push(match kind {
            Some(kind) => Tool::Builtin { kind, raw: tool },
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
            invalid_at(
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
mod tests {
    use serde_json::json;

    use super::*;

    fn decode(body: Value) -> (Result<ChatRequest, ApiError>, Option<String>) {
        let mut warnings = Warnings::new();
        let result = decode_request(body.to_string().as_bytes(), &mut warnings);
        (result, warnings.header_value())
    }

    fn ok(body: Value) -> (ChatRequest, Option<String>) {
        let (result, warnings) = decode(body);
        (result.unwrap(), warnings)
    }

    fn err(body: Value) -> ApiError {
        decode(body).0.unwrap_err()
    }

    fn minimal(extra: Value) -> Value {
        let mut body = json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": "Hi"}]});
        if let (Value::Object(map), Value::Object(extra)) = (&mut body, extra) {
            map.extend(extra);
        }
        body
    }

    fn text(t: &str) -> Part {
        Part::Text(t.into())
    }

    #[test]
    fn claude_code_request() {
        let signed = Opaque {
            vendor: Vendor::OpenAi,
            data: "gAAAAB".into(),
        }
        .to_client(Some(Vendor::Anthropic), Some("exact summary"));
        let (request, warnings) = ok(json!({
            "model": "claude-opus-4-5",
            "max_tokens": 32000,
            "stream": true,
            "system": [
                {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Env: linux"}
            ],
            "thinking": {"type": "adaptive", "display": "omitted"},
            "output_config": {"effort": "high", "format": {"type": "json_schema", "schema": {"type": "object"}}},
            "context_management": {"edits": []},
            "metadata": {"user_id": "user_abc_account_1"},
            "temperature": 1,
            "top_k": 40,
            "stop_sequences": ["\n\nHuman:"],
            "tools": [
                {"name": "Bash", "description": "Run a command", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}, "cache_control": {"type": "ephemeral"}},
                {"name": "mcp__x__y", "input_schema": {"type": "object"}, "defer_loading": true, "type": "custom"},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
            ],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Look at these", "cache_control": {"type": "ephemeral"}},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
                    {"type": "image", "source": {"type": "file", "file_id": "file_011"}},
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}, "title": "Spec"},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"}},
                    {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "chunk 1"}, {"type": "image", "source": {"type": "url", "url": "https://x.test/b.png"}}]}},
                    {"type": "search_result", "source": "s", "title": "t", "content": []}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Let me run ls.", "signature": "EqQBnative"},
                    {"type": "redacted_thinking", "data": "EmwKredacted"},
                    {"type": "thinking", "thinking": "shown summary", "signature": signed},
                    {"type": "text", "text": "Running it."},
                    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
                    {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls"}}
                ]},
                {"role": "user", "content": [
                    {"type": "text", "text": "and then?"},
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": [
                        {"type": "text", "text": "a.txt"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}},
                        {"type": "tool_reference", "tool_name": "x"}
                    ], "is_error": true},
                    {"type": "tool_result", "tool_use_id": "toolu_02", "content": "plain"}
                ]},
                {"role": "system", "content": "<system-reminder>keep going</system-reminder>"}
            ]
        }));
        assert_eq!(
            warnings.as_deref(),
            Some(
                "dropped=context_management,content(image),content(search_result),content(server_tool_use),content(tool_reference)"
            )
        );
        assert_eq!(request.model, "claude-opus-4-5");
        assert_eq!(request.system, vec!["You are Claude Code.", "Env: linux"]);
        assert_eq!(request.max_output_tokens, Some(32000));
        assert!(request.stream);
        assert_eq!(
            request.thinking,
            Some(Thinking::Adaptive(Some(Effort::High)))
        );
        assert!(!request.reasoning_summary);
        assert_eq!(
            request.response_format,
            Some(ResponseFormat::JsonSchema {
                name: "output".into(),
                schema: json!({"type": "object"}),
                strict: None,
                description: None
            })
        );
        assert_eq!(request.user.as_deref(), Some("user_abc_account_1"));
        assert_eq!(request.temperature, Some(1.0));
        assert_eq!(request.top_k, Some(40));
        assert_eq!(request.stop_sequences, vec!["\n\nHuman:"]);
        assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
        assert_eq!(request.parallel_tool_calls, Some(false));
        assert_eq!(
            request.tools,
            vec![
                Tool::Function {
                    name: "Bash".into(),
                    description: Some("Run a command".into()),
                    parameters: json!({"type": "object", "properties": {"command": {"type": "string"}}}),
                    strict: None
                },
                Tool::Function {
                    name: "mcp__x__y".into(),
                    description: None,
                    parameters: json!({"type": "object"}),
                    strict: None
                },
                Tool::Builtin {
                    kind: "web_search_20250305".into(),
                    raw: json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5})
                },
            ]
        );
        let base64 = |media_type: &str, data: &str| MediaSource::Base64 {
            media_type: media_type.into(),
            data: data.into(),
        };
        assert_eq!(
            request.messages,
            vec![
                Message {
                    role: Role::User,
                    parts: vec![
                        text("Look at these"),
                        Part::Image(Media {
                            source: base64("image/png", "iVBOR"),
                            detail: None
                        }),
                        Part::Image(Media {
                            source: MediaSource::Url("https://x.test/a.jpg".into()),
                            detail: None
                        }),
                        Part::Image(Media {
                            source: MediaSource::FileId("file_011".into()),
                            detail: None
                        }),
                        Part::Document(Document {
                            source: base64("application/pdf", "JVBER"),
                            filename: None,
                            title: Some("Spec".into())
                        }),
                        text("plain doc"),
                        text("chunk 1"),
                    ]
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![
                        Part::Reasoning(ReasoningPart {
                            text: "Let me run ls.".into(),
                            opaque: Some(Opaque {
                                vendor: Vendor::Anthropic,
                                data: "EqQBnative".into()
                            }),
                            redacted: false
                        }),
                        Part::Reasoning(ReasoningPart {
                            text: String::new(),
                            opaque: Some(Opaque {
                                vendor: Vendor::Anthropic,
                                data: "EmwKredacted".into()
                            }),
                            redacted: true
                        }),
                        Part::Reasoning(ReasoningPart {
                            text: "exact summary".into(),
                            opaque: Some(Opaque {
                                vendor: Vendor::OpenAi,
                                data: "gAAAAB".into()
                            }),
                            redacted: false
                        }),
                        text("Running it."),
                        Part::ToolCall(ToolCall {
                            id: "toolu_01".into(),
                            name: "Bash".into(),
                            arguments: r#"{"command":"ls"}"#.into(),
                            kind: ToolKind::Function
                        }),
                    ]
                },
                Message {
                    role: Role::User,
                    parts: vec![
                        Part::ToolResult(ToolResult {
                            call_id: "toolu_01".into(),
                            content: vec![
                                text("a.txt"),
                                Part::Image(Media {
                                    source: base64("image/jpeg", "/9j/"),
                                    detail: None
                                }),
                            ],
                            is_error: true,
                            kind: ToolKind::Function
                        }),
                        Part::ToolResult(ToolResult {
                            call_id: "toolu_02".into(),
                            content: vec![text("plain")],
                            is_error: false,
                            kind: ToolKind::Function
                        }),
                        text("and then?"),
                    ]
                },
                Message {
                    role: Role::System,
                    parts: vec![text("<system-reminder>keep going</system-reminder>")]
                },
            ]
        );
    }

    #[test]
    fn string_forms_and_defaults() {
        let (request, warnings) = ok(minimal(json!({"system": "Be brief."})));
        assert_eq!(warnings, None);
        assert_eq!(request.system, vec!["Be brief."]);
        assert_eq!(
            request.messages,
            vec![Message {
                role: Role::User,
                parts: vec![text("Hi")]
            }]
        );
        assert!(!request.stream);
        assert_eq!(request.thinking, None);
        assert_eq!(request.tool_choice, None);
        assert_eq!(request.parallel_tool_calls, None);
        let (request, _) = ok(minimal(json!({"system": null, "tools": [{"name": "f"}]})));
        assert!(request.system.is_empty());
        assert_eq!(
            request.tools,
            vec![Tool::Function {
                name: "f".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
                strict: None
            }]
        );
    }

    #[test]
    fn thinking_forms() {
        let table = [
            (
                json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}),
                Some(Thinking::Budget(2048)),
                true,
                None,
            ),
            (
                json!({"thinking": {"type": "enabled", "budget_tokens": 2048, "display": "omitted"}}),
                Some(Thinking::Budget(2048)),
                false,
                None,
            ),
            (
                json!({"thinking": {"type": "enabled", "budget_tokens": 2048}, "output_config": {"effort": "low"}}),
                Some(Thinking::Budget(2048)),
                true,
                Some("dropped=output_config.effort"),
            ),
            (
                json!({"thinking": {"type": "disabled"}}),
                Some(Thinking::Disabled),
                false,
                None,
            ),
            (
                json!({"thinking": {"type": "adaptive"}}),
                Some(Thinking::Adaptive(None)),
                true,
                None,
            ),
            (
                json!({"thinking": {"type": "adaptive", "display": "summarized"}, "output_config": {"effort": "max"}}),
                Some(Thinking::Adaptive(Some(Effort::Max))),
                true,
                None,
            ),
            (
                json!({"output_config": {"effort": "medium"}}),
                Some(Thinking::Effort(Effort::Medium)),
                false,
                None,
            ),
            (json!({}), None, false, None),
        ];
        for (extra, thinking, summary, warning) in table {
            let (request, warnings) = ok(minimal(extra.clone()));
            assert_eq!(request.thinking, thinking, "{extra}");
            assert_eq!(request.reasoning_summary, summary, "{extra}");
            assert_eq!(warnings.as_deref(), warning, "{extra}");
        }
    }

    #[test]
    fn tool_choice_forms() {
        let table = [
            (json!({"type": "auto"}), ToolChoice::Auto, None),
            (json!({"type": "any"}), ToolChoice::Required, None),
            (
                json!({"type": "any", "disable_parallel_tool_use": true}),
                ToolChoice::Required,
                Some(false),
            ),
            (
                json!({"type": "tool", "name": "Bash", "disable_parallel_tool_use": false}),
                ToolChoice::Named("Bash".into()),
                None,
            ),
            (json!({"type": "none"}), ToolChoice::None, None),
        ];
        for (choice, expected, parallel) in table {
            let (request, _) = ok(minimal(json!({"tool_choice": choice.clone()})));
            assert_eq!(request.tool_choice, Some(expected), "{choice}");
            assert_eq!(request.parallel_tool_calls, parallel, "{choice}");
        }
    }

    #[test]
    fn bad_requests_name_their_field() {
        let table: [(&[u8], Option<&str>); 3] = [
            (b"{\"model\": ", None),
            (b"[1, 2]", None),
            (b"{\"model\":\"m\",\"messages\":[]}", Some("max_tokens")),
        ];
        for (body, param) in table {
            let error = decode_request(body, &mut Warnings::new()).unwrap_err();
            assert_eq!(error.kind, crate::error::ErrorKind::InvalidRequest);
            assert_eq!(
                error.param.as_deref(),
                param,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let cases = [
            (json!({"max_tokens": 1, "messages": []}), "model"),
            (json!({"model": "m", "max_tokens": 1}), "messages"),
            (minimal(json!({"max_tokens": 0})), "max_tokens"),
            (minimal(json!({"max_tokens": "many"})), "max_tokens"),
            (minimal(json!({"temperature": "hot"})), "temperature"),
            (
                minimal(json!({"messages": [{"role": "tool", "content": "x"}]})),
                "messages[0].role",
            ),
            (
                minimal(json!({"messages": [{"role": "user"}]})),
                "messages[0].content",
            ),
            (
                minimal(json!({"messages": [{"role": "user", "content": 5}]})),
                "messages[0].content",
            ),
            (
                minimal(json!({"messages": [{"role": "user", "content": [{"text": "no type"}]}]})),
                "messages[0].content[0].type",
            ),
            (
                minimal(json!({"messages": [{"role": "user", "content": ["bare"]}]})),
                "messages[0].content[0]",
            ),
            (
                minimal(
                    json!({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}),
                ),
                "messages[0].content[0].text",
            ),
            (
                minimal(
                    json!({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png"}}]}]}),
                ),
                "messages[0].content[0].source.data",
            ),
            (
                minimal(
                    json!({"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}),
                ),
                "messages[0].content[0].tool_use_id",
            ),
            (
                minimal(
                    json!({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "input": {}}]}]}),
                ),
                "messages[0].content[0].name",
            ),
            (minimal(json!({"system": 5})), "system"),
            (
                minimal(json!({"system": [{"type": "text"}]})),
                "system[0].text",
            ),
            (
                minimal(json!({"tools": [{"description": "no name"}]})),
                "tools[0].name",
            ),
            (minimal(json!({"tools": [{"type": 7}]})), "tools[0].type"),
            (
                minimal(json!({"tool_choice": {"type": "tool"}})),
                "tool_choice.name",
            ),
            (
                minimal(json!({"tool_choice": {"type": "sometimes"}})),
                "tool_choice.type",
            ),
            (
                minimal(json!({"thinking": {"type": "enabled"}})),
                "thinking.budget_tokens",
            ),
            (
                minimal(json!({"output_config": {"effort": "extreme"}})),
                "output_config.effort",
            ),
            (
                minimal(json!({"metadata": {"user_id": 5}})),
                "metadata.user_id",
            ),
        ];
        for (body, param) in cases {
            let error = err(body.clone());
            assert_eq!(
                error.kind,
                crate::error::ErrorKind::InvalidRequest,
                "{body}"
            );
            assert_eq!(
                error.param.as_deref(),
                Some(param),
                "{body}: {}",
                error.message
            );
            assert!(error.message.starts_with(param), "{}", error.message);
        }
    }

    #[test]
    fn unknown_and_misplaced_blocks_are_dropped_with_a_warning() {
        let (request, warnings) = ok(minimal(json!({
            "service_tier": "auto",
            "mcp_servers": [],
            "messages": [
                {"role": "user", "content": [
                    {"type": "tool_use", "id": "t", "name": "n", "input": {}},
                    {"type": "container_upload", "file_id": "f"},
                    {"type": "image", "source": {"type": "somewhere_new"}},
                    {"type": "text", "text": "kept"}
                ]},
                {"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t"}, {"type": "redacted_thinking", "data": ""}]},
                {"role": "system", "content": [{"type": "image", "source": {"type": "url", "url": "u"}}]}
            ]
        })));
        assert_eq!(
            warnings.as_deref(),
            Some(
                "dropped=service_tier,mcp_servers,content(tool_use),content(container_upload),image(source),content(tool_result),content(image)"
            )
        );
        assert_eq!(request.messages[0].parts, vec![text("kept")]);
        assert!(request.messages[1].parts.is_empty());
        assert!(request.messages[2].parts.is_empty());
    }
}
