//! `decode_request`: what the gateway accepts from Gemini clients (the `@google/genai` and
//! `google-genai` SDKs, Gemini CLI), into a canonical [`ChatRequest`].
//!
//! The model and streaming are in the URL (`models/{model}:streamGenerateContent`): the edge
//! sets them from the endpoint. Everything else is the body:
//!
//! | Gemini | canonical |
//! |---|---|
//! | `contents[]` (`user`, `model`) | messages; `functionResponse` parts become tool results first in their user message |
//! | `text` / `thought` parts | text / reasoning; a `thoughtSignature` becomes the state of a reasoning part before its part (see [`super::signature`]) |
//! | `inlineData`, `fileData` | images (`image/*`) and documents (anything else, audio and video included: an upstream that cannot take them says so) |
//! | `fileData` on Gemini's Files API, `cachedContent` | vendor file ids (refused unless the plan allows stored objects, and for other vendors) |
//! | `functionCall` without `id` | a call with a deterministic id; its `functionResponse` is paired by order and name |
//! | `systemInstruction` | system |
//! | `generationConfig` | limits, sampling, structured output (upper-case type names in `responseJsonSchema` lowered), `thinkingConfig` |
//! | `tools[].functionDeclarations` | function tools (`parameters` converted from Google's schema, upper-case type names in `parametersJsonSchema` lowered) |
//! | other `tools[]` entries (`googleSearch`, `codeExecution`, ...) | built-in tools |
//! | `toolConfig.functionCallingConfig` | tool choice |
//!
//! `safetySettings`, `serviceTier` and unknown fields are dropped with a warning (same-format
//! forwarding still sends what its allowlist takes); parts the model cannot carry
//! (`executableCode`, ...) are dropped as content.

use std::collections::VecDeque;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::schema::{from_google, lowercase_types};
use super::signature::{Slot, from_client, synthetic_call_id};
use super::wire::read;
use crate::canonical::{
    ChatRequest, Document, Effort, FileRef, Media, MediaSource, Message, Part, ReasoningPart,
    ResponseFormat, Role, Thinking, Tool, ToolCall, ToolChoice, ToolKind, ToolResult, Vendor,
};
use crate::error::ApiError;
use crate::translate::Warnings;

/// Top-level fields the decoder reads (both spellings).
const KNOWN_FIELDS: [&str; 11] = [
    "contents",
    "systemInstruction",
    "system_instruction",
    "tools",
    "toolConfig",
    "tool_config",
    "generationConfig",
    "generation_config",
    "cachedContent",
    "cached_content",
    "model",
];

/// The `id` prefix of Gemini's cached contents (`cachedContents/<id>`).
pub const CACHED_CONTENT_PREFIX: &str = "cachedContents/";

pub fn decode_request(body: &[u8], warnings: &mut Warnings) -> Result<ChatRequest, ApiError> {
    let map = object(body)?;
    decode_object(map, warnings)
}

/// A `countTokens` body: `{"contents": [...]}`, or a whole request in
/// `generateContentRequest` (which also counts the system instruction and tools).
pub fn decode_count_request(body: &[u8], warnings: &mut Warnings) -> Result<ChatRequest, ApiError> {
    let mut map = object(body)?;
    match map.remove("generateContentRequest") {
        Some(Value::Object(inner)) => decode_object(inner, warnings),
        Some(_) => Err(ApiError::invalid_at(
            "generateContentRequest",
            "must be a GenerateContentRequest object",
        )),
        None => decode_object(map, warnings),
    }
}

fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("the request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::invalid("the request body must be a JSON object")),
    }
}

fn decode_object(
    map: Map<String, Value>,
    warnings: &mut Warnings,
) -> Result<ChatRequest, ApiError> {
    if map.get("contents").is_none_or(Value::is_null) {
        return Err(ApiError::invalid_at("contents", "field required"));
    }
    for key in map.keys() {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            warnings.dropped(key.as_str());
        }
    }
    let request: read::GenerateContentRequest = parse(Value::Object(map), "")?;
    let system = match request.system_instruction {
        Some(content) => decode_system(content, warnings),
        None => Vec::new(),
    };
    let mut messages = decode_contents(request.contents.unwrap_or_default(), warnings)?;
    if let Some(cached) = request.cached_content.filter(|c| !c.is_empty()) {
        attach_cached_content(&mut messages, cached);
    }
    let tools = decode_tools(request.tools.unwrap_or_default(), warnings)?;
    let tool_choice = request
        .tool_config
        .and_then(|config| config.function_calling_config)
        .and_then(|config| decode_tool_choice(config, warnings));
    let config = request.generation_config.unwrap_or_default();
    let generation = decode_generation(config, warnings)?;
    Ok(ChatRequest {
        model: request
            .model
            .map(|model| super::endpoint::model_id(&model))
            .unwrap_or_default(),
        system,
        messages,
        max_output_tokens: generation.max_output_tokens,
        temperature: generation.temperature,
        top_p: generation.top_p,
        top_k: generation.top_k,
        stop_sequences: generation.stop_sequences,
        stream: false,
        tools,
        tool_choice,
        parallel_tool_calls: None,
        thinking: generation.thinking,
        reasoning_summary: generation.reasoning_summary,
        response_format: generation.response_format,
        user: None,
        prompt_cache_key: None,
        attribution: None,
        client: Default::default(),
    })
}

/// Deserializes `value` (found at `path`) into `T`; a failure is a 400 naming the field.
fn parse<T: DeserializeOwned>(value: Value, path: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let param = match (path.is_empty(), inner.as_str()) {
            (_, "." | "") => path.to_owned(),
            (true, inner) => inner.to_owned(),
            (false, inner) => format!("{path}.{inner}"),
        };
        let message = e.inner().to_string();
        if param.is_empty() {
            ApiError::invalid(message)
        } else {
            ApiError::invalid_at(param, &message)
        }
    })
}

fn decode_system(content: read::Content, warnings: &mut Warnings) -> Vec<String> {
    let mut texts = Vec::new();
    for part in content.parts.unwrap_or_default() {
        match part.text {
            Some(text) if !part.is_thought() => texts.push(text),
            _ => warnings.dropped_content("systemInstruction(non-text)"),
        }
    }
    texts
}

/// The conversation, with call ids made for calls that came without one and results paired
/// with their calls.
fn decode_contents(
    contents: Vec<read::Content>,
    warnings: &mut Warnings,
) -> Result<Vec<Message>, ApiError> {
    let mut pairing = Pairing::default();
    let mut messages = Vec::with_capacity(contents.len());
    for (i, content) in contents.into_iter().enumerate() {
        let role = match content.role.as_deref() {
            None | Some("" | "user" | "function" | "tool") => Role::User,
            Some("model" | "assistant") => Role::Assistant,
            Some(other) => {
                return Err(ApiError::invalid_at(
                    format!("contents[{i}].role"),
                    &format!("unknown role `{other}`, expected user or model"),
                ));
            }
        };
        let mut parts = Vec::new();
        for (j, part) in content.parts.unwrap_or_default().into_iter().enumerate() {
            let path = format!("contents[{i}].parts[{j}]");
            decode_part(part, role, &path, &mut pairing, &mut parts, warnings)?;
        }
        merge_signature_into_thought(&mut parts);
        if role == Role::Assistant {
            merge_streamed_text(&mut parts);
        }
        if role == Role::User {
            // Canonical rule: a user message's tool results come first; Gemini pairs them by
            // id or name, other formats want them in the order of the calls.
            parts.sort_by_key(|part| match part {
                Part::ToolResult(result) => pairing.order_of(&result.call_id),
                _ => usize::MAX,
            });
        }
        messages.push(Message { role, parts });
    }
    Ok(messages)
}

/// Calls waiting for their responses, for responses that name no id.
#[derive(Debug, Default)]
struct Pairing {
    /// (id, name) of the calls of the latest model content not answered yet, in order.
    pending: VecDeque<(String, String)>,
    /// The ids of the latest model content's calls, in order.
    step: Vec<String>,
}

impl Pairing {
    fn new_step(&mut self) {
        self.pending.clear();
        self.step.clear();
    }

    fn call(&mut self, id: &str, name: &str) {
        self.pending.push_back((id.to_owned(), name.to_owned()));
        self.step.push(id.to_owned());
    }

    /// Where a result goes among the results of the latest step (its call's position; results
    /// of unknown calls after them, in their order).
    fn order_of(&self, call_id: &str) -> usize {
        self.step
            .iter()
            .position(|id| id == call_id)
            .unwrap_or(self.step.len())
    }

    /// The id for a response: its own, else the first waiting call of that name, else the
    /// first waiting call.
    fn response(&mut self, id: Option<&str>, name: Option<&str>, path: &str) -> String {
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            self.pending.retain(|(pending, _)| pending != id);
            return id.to_owned();
        }
        let position = self
            .pending
            .iter()
            .position(|(_, pending)| Some(pending.as_str()) == name)
            .or_else(|| (!self.pending.is_empty()).then_some(0));
        match position.and_then(|at| self.pending.remove(at)) {
            Some((id, _)) => id,
            None => synthetic_call_id(path, 0, name.unwrap_or_default(), ""),
        }
    }
}

fn decode_part(
    part: read::Part,
    role: Role,
    path: &str,
    pairing: &mut Pairing,
    parts: &mut Vec<Part>,
    warnings: &mut Warnings,
) -> Result<(), ApiError> {
    let signature = part.thought_signature.as_deref().filter(|s| !s.is_empty());
    let is_thought = part.is_thought();
    if let Some(call) = part.function_call {
        if role != Role::Assistant {
            warnings.dropped_content("parts(functionCall in a user turn)");
            return Ok(());
        }
        push_signature(signature, Slot::Call, parts);
        let arguments = match call.args {
            None | Some(Value::Null) => "{}".to_owned(),
            Some(args @ Value::Object(_)) => args.to_string(),
            Some(_) => {
                return Err(ApiError::invalid_at(
                    format!("{path}.functionCall.args"),
                    "must be a JSON object",
                ));
            }
        };
        let id = match call.id.filter(|id| !id.is_empty()) {
            Some(id) => id,
            None => synthetic_call_id(path, 0, &call.name, &arguments),
        };
        if !parts.iter().any(|p| matches!(p, Part::ToolCall(_))) {
            // A new step: calls of earlier steps were answered or never will be.
            pairing.new_step();
        }
        pairing.call(&id, &call.name);
        parts.push(Part::ToolCall(ToolCall {
            id,
            name: call.name,
            arguments,
            kind: ToolKind::Function,
        }));
        return Ok(());
    }
    if let Some(response) = part.function_response {
        if role != Role::User {
            warnings.dropped_content("parts(functionResponse in a model turn)");
            return Ok(());
        }
        let call_id = pairing.response(response.id.as_deref(), response.name.as_deref(), path);
        let (mut content, is_error) = response_content(response.response);
        for (k, inner) in response.parts.unwrap_or_default().into_iter().enumerate() {
            let inner_path = format!("{path}.functionResponse.parts[{k}]");
            if let Some(media) = media_part(inner, &inner_path, warnings) {
                content.push(media);
            }
        }
        parts.push(Part::ToolResult(ToolResult {
            call_id,
            content,
            is_error,
            kind: ToolKind::Function,
        }));
        return Ok(());
    }
    if let Some(text) = part.text {
        if is_thought {
            if role == Role::Assistant {
                push_reasoning(text, signature, Slot::Thought, parts);
            }
            return Ok(());
        }
        if role == Role::Assistant {
            push_signature(signature, Slot::Text, parts);
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        return Ok(());
    }
    let other = read::Part {
        inline_data: part.inline_data,
        file_data: part.file_data,
        other: part.other,
        ..read::Part::default()
    };
    if let Some(media) = media_part(other, path, warnings) {
        if role == Role::Assistant {
            push_signature(signature, Slot::Text, parts);
        }
        parts.push(media);
    }
    Ok(())
}

/// An `inlineData` or `fileData` part as an image or a document; anything else is dropped.
fn media_part(part: read::Part, path: &str, warnings: &mut Warnings) -> Option<Part> {
    if let Some(blob) = part.inline_data {
        let source = MediaSource::Base64 {
            data: standard_base64(&blob.data),
            media_type: blob.mime_type,
        };
        return Some(media(source));
    }
    if let Some(file) = part.file_data {
        let mime = file.mime_type.unwrap_or_default();
        let source = if is_files_api(&file.file_uri) {
            MediaSource::FileId(FileRef::new(
                file.file_uri,
                Vendor::Google,
                format!("{path}.fileData"),
            ))
        } else {
            MediaSource::Url(file.file_uri)
        };
        return Some(if mime.starts_with("image/") {
            Part::Image(Media {
                source,
                detail: None,
            })
        } else {
            Part::Document(Document {
                source,
                filename: None,
                title: None,
            })
        });
    }
    let kind = part
        .other
        .keys()
        .next()
        .map_or_else(|| "empty".to_owned(), Clone::clone);
    warnings.dropped_content(format!("parts({kind})"));
    None
}

fn media(source: MediaSource) -> Part {
    let is_image = matches!(&source, MediaSource::Base64 { media_type, .. } if media_type.starts_with("image/"));
    if is_image {
        Part::Image(Media {
            source,
            detail: None,
        })
    } else {
        Part::Document(Document {
            source,
            filename: None,
            title: None,
        })
    }
}

/// Whether a `fileUri` names a file in Gemini's Files API (stored in the operator's account)
/// rather than a public URL.
fn is_files_api(uri: &str) -> bool {
    uri.starts_with("files/")
        || uri.contains("generativelanguage.googleapis.com/") && uri.contains("/files/")
}

/// Base64 as the canonical model holds it: the standard alphabet (python-genai sends the
/// URL-safe one).
fn standard_base64(data: &str) -> String {
    if data.contains(['-', '_']) {
        data.replace('-', "+").replace('_', "/")
    } else {
        data.to_owned()
    }
}

/// A `functionResponse.response` as tool result content, and whether it reports an error:
/// `{"output": x}` is x, `{"error": x}` an error with x, any other object itself as JSON.
fn response_content(response: Option<Value>) -> (Vec<Part>, bool) {
    let as_text = |value: Value| match value {
        Value::String(text) => text,
        other => other.to_string(),
    };
    match response {
        None | Some(Value::Null) => (Vec::new(), false),
        Some(Value::Object(mut map)) => {
            if map.len() == 1
                && let Some(error) = map.remove("error")
            {
                return (vec![Part::Text(as_text(error))], true);
            }
            if map.len() == 1
                && let Some(output) = map.remove("output")
            {
                return (vec![Part::Text(as_text(output))], false);
            }
            (vec![Part::Text(Value::Object(map).to_string())], false)
        }
        Some(other) => (vec![Part::Text(as_text(other))], false),
    }
}

/// A reasoning part for a signature found on a part of kind `slot`, before that part.
fn push_signature(signature: Option<&str>, slot: Slot, parts: &mut Vec<Part>) {
    if let Some(signature) = signature {
        push_reasoning(String::new(), Some(signature), slot, parts);
    }
}

fn push_reasoning(text: String, signature: Option<&str>, slot: Slot, parts: &mut Vec<Part>) {
    let state = signature.and_then(|signature| from_client(signature, slot));
    let part = match state {
        Some((opaque, exact, redacted)) => ReasoningPart {
            text: if redacted {
                String::new()
            } else {
                exact.unwrap_or(text)
            },
            opaque: Some(opaque),
            redacted,
        },
        None if text.is_empty() => return,
        None => ReasoningPart {
            text,
            opaque: None,
            redacted: false,
        },
    };
    parts.push(Part::Reasoning(part));
}

/// A thought part whose signature came on an empty thought part right after it (as a stream
/// writes it) is one reasoning part.
fn merge_signature_into_thought(parts: &mut Vec<Part>) {
    let mut merged: Vec<Part> = Vec::with_capacity(parts.len());
    for part in parts.drain(..) {
        if let Part::Reasoning(ReasoningPart {
            text,
            opaque: Some(opaque),
            redacted: false,
        }) = &part
            && text.is_empty()
            && matches!(
                super::signature::native_parts(opaque),
                Some((Slot::Thought, _))
            )
            && let Some(Part::Reasoning(previous)) = merged.last_mut()
            && previous.opaque.is_none()
            && !previous.text.is_empty()
        {
            previous.opaque = Some(opaque.clone());
            continue;
        }
        merged.push(part);
    }
    *parts = merged;
}

/// A model turn kept as a stream delivered it has its text in several parts (the SDKs' chat
/// history concatenates chunks' parts): consecutive text parts are one text.
fn merge_streamed_text(parts: &mut Vec<Part>) {
    let mut merged: Vec<Part> = Vec::with_capacity(parts.len());
    for part in parts.drain(..) {
        if let Part::Text(more) = &part
            && let Some(Part::Text(text)) = merged.last_mut()
        {
            text.push_str(more);
            continue;
        }
        merged.push(part);
    }
    *parts = merged;
}

/// `cachedContent`: content stored at Google, referenced by name. It is carried as a vendor
/// file id at the start of the conversation: the plan must allow stored objects, other
/// vendors refuse it, and a Gemini upstream gets it back as `cachedContent`.
fn attach_cached_content(messages: &mut Vec<Message>, name: String) {
    let part = Part::Document(Document {
        source: MediaSource::FileId(FileRef::new(name, Vendor::Google, "cachedContent")),
        filename: None,
        title: None,
    });
    match messages.iter_mut().find(|m| m.role == Role::User) {
        Some(first) => first.parts.insert(0, part),
        None => messages.insert(
            0,
            Message {
                role: Role::User,
                parts: vec![part],
            },
        ),
    }
}

fn decode_tools(entries: Vec<Value>, warnings: &mut Warnings) -> Result<Vec<Tool>, ApiError> {
    let mut tools = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let path = format!("tools[{i}]");
        let Value::Object(map) = entry else {
            return Err(ApiError::invalid_at(&path, "must be a Tool object"));
        };
        for (key, value) in map {
            match key.as_str() {
                "functionDeclarations" | "function_declarations" => {
                    let declarations: Vec<read::FunctionDeclaration> =
                        parse(value, &format!("{path}.functionDeclarations"))?;
                    tools.extend(declarations.into_iter().map(function_tool));
                }
                _ if value.is_null() => {}
                _ => {
                    if super::builtin_tool(&key).is_none() {
                        warnings.converted(format!("tools({key}->server-tool)"));
                    }
                    let mut raw = Map::new();
                    raw.insert(key.clone(), value);
                    tools.push(Tool::Builtin {
                        kind: key,
                        raw: Value::Object(raw),
                    });
                }
            }
        }
    }
    Ok(tools)
}

fn function_tool(declaration: read::FunctionDeclaration) -> Tool {
    let parameters = match (declaration.parameters_json_schema, declaration.parameters) {
        (Some(schema), _) => lowercase_types(&schema),
        (None, Some(google)) => from_google(&google),
        (None, None) => json!({"type": "object", "properties": {}}),
    };
    Tool::Function {
        name: declaration.name,
        description: declaration.description,
        parameters,
        strict: None,
    }
}

/// | `mode` | canonical |
/// |---|---|
/// | `AUTO`, `VALIDATED` | `Auto` |
/// | `ANY` with one allowed name | `Named` |
/// | `ANY` | `Required` (a list of several allowed names is dropped, with a warning) |
/// | `NONE` | `None` |
fn decode_tool_choice(
    config: read::FunctionCallingConfig,
    warnings: &mut Warnings,
) -> Option<ToolChoice> {
    let names = config.allowed_function_names.unwrap_or_default();
    match config
        .mode
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("NONE") => Some(ToolChoice::None),
        Some("ANY") => match names.as_slice() {
            [only] => Some(ToolChoice::Named(only.clone())),
            [] => Some(ToolChoice::Required),
            _ => {
                warnings.dropped("toolConfig.functionCallingConfig.allowedFunctionNames");
                Some(ToolChoice::Required)
            }
        },
        Some("VALIDATED") => {
            warnings.converted("toolConfig.functionCallingConfig.mode(VALIDATED->AUTO)");
            Some(ToolChoice::Auto)
        }
        Some("AUTO") => Some(ToolChoice::Auto),
        _ => None,
    }
}

/// What `generationConfig` says, in canonical terms.
#[derive(Debug, Default)]
struct Generation {
    max_output_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<u64>,
    stop_sequences: Vec<String>,
    response_format: Option<ResponseFormat>,
    thinking: Option<Thinking>,
    reasoning_summary: bool,
}

fn decode_generation(
    config: read::GenerationConfig,
    warnings: &mut Warnings,
) -> Result<Generation, ApiError> {
    if let Some(count) = config.candidate_count
        && count > 1
    {
        return Err(ApiError::invalid_at(
            "generationConfig.candidateCount",
            "this gateway answers with one candidate; set candidateCount to 1 or leave it out",
        ));
    }
    for key in config.other.keys() {
        warnings.dropped(format!("generationConfig.{key}"));
    }
    let (thinking, reasoning_summary) = match config.thinking_config {
        Some(thinking) => decode_thinking(thinking, warnings)?,
        None => (None, false),
    };
    Ok(Generation {
        max_output_tokens: config.max_output_tokens.filter(|tokens| *tokens > 0),
        temperature: config.temperature,
        top_p: config.top_p,
        top_k: config
            .top_k
            .filter(|k| k.is_finite() && *k >= 1.0)
            .map(|k| k.floor() as u64),
        stop_sequences: config.stop_sequences.unwrap_or_default(),
        response_format: decode_response_format(
            config.response_mime_type.as_deref(),
            config.response_json_schema,
            config.response_schema,
            warnings,
        ),
        thinking,
        reasoning_summary,
    })
}

/// `responseMimeType` and the schema: JSON with a schema, JSON without one, or text.
fn decode_response_format(
    mime: Option<&str>,
    json_schema: Option<Value>,
    google_schema: Option<Value>,
    warnings: &mut Warnings,
) -> Option<ResponseFormat> {
    let schema = json_schema
        .map(|schema| lowercase_types(&schema))
        .or_else(|| google_schema.as_ref().map(from_google));
    match mime {
        Some("application/json") => Some(match schema {
            Some(schema) => ResponseFormat::JsonSchema {
                name: "output".to_owned(),
                schema,
                strict: None,
                description: None,
            },
            None => ResponseFormat::JsonObject,
        }),
        Some("text/plain") | None => {
            if schema.is_some() {
                warnings.dropped("generationConfig.responseSchema(without application/json)");
            }
            None
        }
        Some(other) => {
            warnings.dropped(format!("generationConfig.responseMimeType({other})"));
            None
        }
    }
}

/// | `thinkingConfig` | canonical |
/// |---|---|
/// | `thinkingLevel` | `Effort` (`MINIMAL`, `LOW`, `MEDIUM`, `HIGH`, `XHIGH`) |
/// | `thinkingBudget: 0` | `Disabled` |
/// | `thinkingBudget: -1` (dynamic) | `Adaptive` |
/// | `thinkingBudget: n` | `Budget(n)` |
/// | `includeThoughts` | reasoning text wanted |
fn decode_thinking(
    config: read::ThinkingConfig,
    warnings: &mut Warnings,
) -> Result<(Option<Thinking>, bool), ApiError> {
    let summary = config.include_thoughts == Some(true);
    let thinking = match (config.thinking_level, config.thinking_budget) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_at(
                "generationConfig.thinkingConfig",
                "thinkingBudget and thinkingLevel cannot both be set",
            ));
        }
        (Some(level), None) => match Effort::parse(&level.to_ascii_lowercase()) {
            Some(effort) => Some(Thinking::Effort(effort)),
            None => {
                warnings.dropped(format!(
                    "generationConfig.thinkingConfig.thinkingLevel({level})"
                ));
                Some(Thinking::Adaptive(None))
            }
        },
        (None, Some(0)) => Some(Thinking::Disabled),
        (None, Some(budget)) if budget < 0 => Some(Thinking::Adaptive(None)),
        (None, Some(budget)) => Some(Thinking::Budget(budget.unsigned_abs())),
        (None, None) => summary.then_some(Thinking::Adaptive(None)),
    };
    Ok((thinking, summary))
}

#[cfg(test)]
mod tests;
