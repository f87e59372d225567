//! `encode_request`: a canonical [`ChatRequest`] as the body sent to a Gemini upstream.
//!
//! What the API needs, enforced here so Gemini never answers 400 for something the gateway
//! could have fixed:
//! - `user` and `model` contents, consecutive same-role messages merged, function responses
//!   first in their user content and each named after its call; no empty text parts;
//!   mid-conversation system messages join `systemInstruction`;
//! - call ids only where Gemini made them (an id the gateway synthesized is left out);
//! - every thought signature back on its slot (see [`super::signature`]); another vendor's
//!   reasoning is left out; the first call of every model step of the current turn carries a
//!   signature, Google's documented placeholder where none exists (Gemini 3 refuses calls
//!   without one, and history from another vendor has none);
//! - tool schemas in the JSON Schema subset Gemini takes; other vendors' built-in tools
//!   dropped (a 400 if the tool choice forces one);
//! - thinking as the model family takes it: `thinkingBudget` for Gemini 2.x, `thinkingLevel`
//!   from Gemini 3 on, within `maxOutputTokens` (which counts thinking too).
//!
//! Everything changed on the way goes through [`Warnings`].

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::endpoint::model_id;
use super::request_decode::CACHED_CONTENT_PREFIX;
use super::schema::for_gemini;
use super::signature::{Slot, is_synthetic, native_parts};
use super::wire::write::{
    Blob, Content, FileData, FunctionCall, FunctionResponse, GenerateContentRequest,
    GenerationConfig, Part, SystemInstruction, ThinkingConfig,
};
use crate::canonical::{
    ChatRequest, Effort, MediaSource, Message, Part as CanonicalPart, ResponseFormat, Role,
    ServerTool, ServerToolKind, Thinking, Tool, ToolChoice, ToolResult, Vendor,
};
use crate::error::ApiError;
use crate::formats::{EncodedBody, UpstreamTarget, check_file_vendor};
use crate::translate::Warnings;

/// The signature Google documents for calls it did not make (history from another vendor).
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// Most stop sequences Gemini takes.
const MAX_STOP_SEQUENCES: usize = 5;

/// Room left for the answer when a thinking budget is lowered to fit `maxOutputTokens`.
const ANSWER_ROOM_TOKENS: u64 = 1024;

pub fn encode_request(
    request: &ChatRequest,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> Result<Value, ApiError> {
    encode_request_as(request, target, warnings)
}

/// [`encode_request`], handing the body over as a JSON value or straight as the bytes sent
/// upstream.
pub fn encode_request_as<B: EncodedBody>(
    request: &ChatRequest,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> Result<B, ApiError> {
    let mut system: Vec<&str> = request
        .system
        .iter()
        .map(String::as_str)
        .filter(|text| !is_blank(text))
        .collect();
    let mut cached_content = None;
    let mut contents = encode_contents(request, &mut system, &mut cached_content, warnings)?;
    sign_current_turn(&mut contents);
    let (tools, declared) = encode_tools(request, warnings)?;
    let tool_config = if declared.is_empty() {
        None
    } else {
        encode_tool_choice(request.tool_choice.as_ref(), &declared)?
    };
    if request.parallel_tool_calls == Some(false) {
        warnings.dropped("parallel_tool_calls");
    }
    if request.user.is_some() {
        warnings.dropped("user");
    }
    let generation_config = encode_generation(request, target, warnings);
    let params = GenerateContentRequest {
        contents,
        system_instruction: (!system.is_empty()).then(|| SystemInstruction {
            parts: system.into_iter().map(Part::text).collect(),
        }),
        tools,
        tool_config,
        generation_config,
        cached_content,
    };
    B::encoded(&params, request.prompt_chars())
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// The conversation as `user`/`model` contents.
fn encode_contents<'a>(
    request: &'a ChatRequest,
    system: &mut Vec<&'a str>,
    cached_content: &mut Option<&'a str>,
    warnings: &mut Warnings,
) -> Result<Vec<Content<'a>>, ApiError> {
    let names = call_names(request);
    let mut contents: Vec<Content<'a>> = Vec::with_capacity(request.messages.len());
    for (i, message) in request.messages.iter().enumerate() {
        let (role, parts) = match message.role {
            Role::System => {
                for part in &message.parts {
                    match part {
                        CanonicalPart::Text(text) if !is_blank(text) => system.push(text),
                        CanonicalPart::Text(_) => {}
                        _ => warnings.dropped("system(non-text)"),
                    }
                }
                continue;
            }
            Role::User => (
                "user",
                user_parts(message, i, &names, cached_content, warnings)?,
            ),
            Role::Assistant => ("model", model_parts(message, i, cached_content, warnings)?),
        };
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => contents.push(Content { role, parts }),
        }
    }
    for content in &mut contents {
        if content.role == "user" {
            content
                .parts
                .sort_by_key(|part| part.function_response.is_none());
        }
    }
    if contents.is_empty() {
        contents.push(Content {
            role: "user",
            parts: vec![Part::text(".")],
        });
    }
    Ok(contents)
}

/// Tool names by call id, to name each function response after its call.
fn call_names(request: &ChatRequest) -> HashMap<&str, &str> {
    request
        .messages
        .iter()
        .flat_map(|message| message.parts.iter())
        .filter_map(|part| match part {
            CanonicalPart::ToolCall(call) => Some((call.id.as_str(), call.name.as_str())),
            _ => None,
        })
        .collect()
}

fn user_parts<'a>(
    message: &'a Message,
    i: usize,
    names: &HashMap<&str, &'a str>,
    cached_content: &mut Option<&'a str>,
    warnings: &mut Warnings,
) -> Result<Vec<Part<'a>>, ApiError> {
    let mut parts = Vec::with_capacity(message.parts.len());
    // Media returned by tools, after the function responses.
    let mut returned_media = Vec::new();
    for (j, part) in message.parts.iter().enumerate() {
        let path = || format!("messages[{i}].content[{j}]");
        match part {
            CanonicalPart::Text(text) | CanonicalPart::Refusal(text) => {
                if !is_blank(text) {
                    parts.push(Part::text(text.as_str()));
                }
            }
            CanonicalPart::Image(media) => {
                parts.extend(media_part(&media.source, path, cached_content)?);
            }
            CanonicalPart::Document(document) => {
                parts.extend(media_part(&document.source, path, cached_content)?);
            }
            CanonicalPart::ToolResult(result) => {
                parts.push(function_response(result, names, warnings));
                for (k, inner) in result.content.iter().enumerate() {
                    let path = || format!("{}.content[{k}]", path());
                    match inner {
                        CanonicalPart::Image(media) => {
                            returned_media.extend(media_part(&media.source, path, cached_content)?)
                        }
                        CanonicalPart::Document(document) => returned_media.extend(media_part(
                            &document.source,
                            path,
                            cached_content,
                        )?),
                        _ => {}
                    }
                }
            }
            CanonicalPart::ToolCall(_) => warnings.dropped("functionCall(user-turn)"),
            CanonicalPart::Reasoning(_) | CanonicalPart::ServerTool(_) => {}
        }
    }
    parts.extend(returned_media);
    Ok(parts)
}

/// A tool result as a `functionResponse`: `{"output": text}`, or `{"error": text}`.
fn function_response<'a>(
    result: &'a ToolResult,
    names: &HashMap<&str, &'a str>,
    warnings: &mut Warnings,
) -> Part<'a> {
    let text: Vec<&str> = result
        .content
        .iter()
        .filter_map(|part| match part {
            CanonicalPart::Text(text) | CanonicalPart::Refusal(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let text = text.join("\n");
    let response = if result.is_error {
        json!({ "error": text })
    } else {
        json!({ "output": text })
    };
    let name = match names.get(result.call_id.as_str()) {
        Some(name) => Cow::Borrowed(*name),
        None => {
            // A result whose call is not in the request: Gemini needs a name all the same.
            warnings.converted("functionResponse.name(call-id)");
            Cow::Owned(crate::translate::adapt::fit_identifier(&result.call_id, 64))
        }
    };
    Part {
        function_response: Some(FunctionResponse {
            id: (!is_synthetic(&result.call_id)).then_some(result.call_id.as_str()),
            name,
            response,
        }),
        ..Part::default()
    }
}

/// An assistant message's parts, with every Gemini signature back on its slot.
fn model_parts<'a>(
    message: &'a Message,
    i: usize,
    cached_content: &mut Option<&'a str>,
    warnings: &mut Warnings,
) -> Result<Vec<Part<'a>>, ApiError> {
    let mut parts: Vec<Part<'a>> = Vec::with_capacity(message.parts.len());
    // Signatures of calls and text parts, with the position they were met at.
    let mut call_signatures: Vec<(usize, &'a str)> = Vec::new();
    let mut text_signatures: Vec<(usize, &'a str)> = Vec::new();
    for (j, part) in message.parts.iter().enumerate() {
        let path = || format!("messages[{i}].content[{j}]");
        match part {
            CanonicalPart::Text(text) | CanonicalPart::Refusal(text) => {
                if !is_blank(text) {
                    parts.push(Part::text(text.as_str()));
                }
            }
            CanonicalPart::ToolCall(call) => parts.push(Part {
                function_call: Some(FunctionCall {
                    id: (!is_synthetic(&call.id)).then_some(Cow::Borrowed(call.id.as_str())),
                    name: Cow::Borrowed(call.name.as_str()),
                    args: call_args(&call.arguments, warnings),
                }),
                ..Part::default()
            }),
            CanonicalPart::Reasoning(reasoning) => {
                match reasoning.opaque.as_ref().and_then(native_parts) {
                    Some((Slot::Thought, signature)) => parts.push(Part {
                        thought_signature: Some(Cow::Borrowed(signature)),
                        ..Part::thought(reasoning.text.as_str())
                    }),
                    Some((Slot::Call, signature)) => call_signatures.push((parts.len(), signature)),
                    Some((Slot::Text, signature)) => text_signatures.push((parts.len(), signature)),
                    None => {
                        let vendor = reasoning.opaque.as_ref().map(|o| o.vendor);
                        if vendor != Some(Vendor::Google) {
                            warnings.dropped("reasoning(not-google)");
                        }
                    }
                }
            }
            CanonicalPart::Image(media) => {
                parts.extend(media_part(&media.source, path, cached_content)?);
            }
            CanonicalPart::Document(document) => {
                parts.extend(media_part(&document.source, path, cached_content)?);
            }
            CanonicalPart::ToolResult(_) => warnings.dropped("functionResponse(model-turn)"),
            // Another vendor's search record: Gemini keeps its own grounding out of history,
            // and the text says what was found.
            CanonicalPart::ServerTool(_) => warnings.dropped("server_tool(history)"),
        }
    }
    for (at, signature) in call_signatures {
        let unsigned = |part: &Part| part.is_function_call() && part.thought_signature.is_none();
        let slot = parts
            .iter()
            .skip(at)
            .position(unsigned)
            .map(|k| k + at)
            .or_else(|| parts.iter().position(unsigned));
        match slot.and_then(|k| parts.get_mut(k)) {
            Some(part) => part.thought_signature = Some(Cow::Borrowed(signature)),
            None => warnings.dropped("thoughtSignature(no-call)"),
        }
    }
    for (at, signature) in text_signatures {
        let unsigned = |part: &Part| part.is_answer_text() && part.thought_signature.is_none();
        let before = parts.iter().take(at).rposition(unsigned);
        let slot = before.or_else(|| parts.iter().skip(at).position(unsigned).map(|k| k + at));
        if let Some(part) = slot.and_then(|k| parts.get_mut(k)) {
            part.thought_signature = Some(Cow::Borrowed(signature));
        }
    }
    Ok(parts)
}

/// A call's arguments as the `args` object Gemini takes; anything else (a model's broken JSON
/// in history) becomes `{}` with a warning.
fn call_args(arguments: &str, warnings: &mut Warnings) -> Value {
    if is_blank(arguments) {
        return Value::Object(Map::new());
    }
    match serde_json::from_str(arguments) {
        Ok(Value::Object(args)) => Value::Object(args),
        _ => {
            warnings.dropped("functionCall.args(not-a-json-object)");
            Value::Object(Map::new())
        }
    }
}

/// An image or document: inline data, a URL as `fileData`, a Files API file, or (for
/// `cachedContent`, which the decoder carries as a file) nothing here and the top-level field.
fn media_part<'a>(
    source: &'a MediaSource,
    path: impl Fn() -> String,
    cached_content: &mut Option<&'a str>,
) -> Result<Option<Part<'a>>, ApiError> {
    Ok(Some(match source {
        MediaSource::Base64 { media_type, data } => Part {
            inline_data: Some(Blob {
                mime_type: Cow::Borrowed(media_type.as_str()),
                data,
            }),
            ..Part::default()
        },
        MediaSource::Url(url) => match data_url(url) {
            Some((media_type, data)) => Part {
                inline_data: Some(Blob {
                    mime_type: Cow::Borrowed(media_type),
                    data,
                }),
                ..Part::default()
            },
            None if url.starts_with("https://") || url.starts_with("http://") => Part {
                file_data: Some(FileData {
                    mime_type: guess_media_type(url).map(Cow::Borrowed),
                    file_uri: url,
                }),
                ..Part::default()
            },
            None => {
                return Err(ApiError::invalid_at(
                    path(),
                    "the URL is neither an http(s) URL nor a base64 data URL",
                ));
            }
        },
        MediaSource::FileId(file) => {
            check_file_vendor(file, Vendor::Google)?;
            if file.id.starts_with(CACHED_CONTENT_PREFIX) {
                *cached_content = Some(file.id.as_str());
                return Ok(None);
            }
            Part {
                file_data: Some(FileData {
                    mime_type: None,
                    file_uri: &file.id,
                }),
                ..Part::default()
            }
        }
    }))
}

/// A `data:<media type>;base64,<data>` URL split into its parts.
fn data_url(url: &str) -> Option<(&str, &str)> {
    url.strip_prefix("data:")?.split_once(";base64,")
}

/// The media type of a URL by its extension, when it has a common one.
fn guess_media_type(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// Gemini 3 refuses a call in the current turn (everything after the last user content that
/// is not only function responses) whose step has no signature: history from another vendor
/// gets Google's placeholder on the first call of each such step.
fn sign_current_turn(contents: &mut [Content<'_>]) {
    let turn_start = contents
        .iter()
        .rposition(|content| {
            content.role == "user" && content.parts.iter().any(|p| p.function_response.is_none())
        })
        .map_or(0, |at| at + 1);
    for content in contents.iter_mut().skip(turn_start) {
        if content.role != "model" {
            continue;
        }
        if let Some(first_call) = content.parts.iter_mut().find(|p| p.is_function_call())
            && first_call.thought_signature.is_none()
        {
            first_call.thought_signature = Some(Cow::Borrowed(SKIP_SIGNATURE));
        }
    }
}

/// `tools[]` and the names of the declared functions.
fn encode_tools<'a>(
    request: &'a ChatRequest,
    warnings: &mut Warnings,
) -> Result<(Vec<Value>, Vec<&'a str>), ApiError> {
    let forced = match &request.tool_choice {
        Some(ToolChoice::Named(name)) => Some(name.as_str()),
        _ => None,
    };
    let mut declarations = Vec::new();
    let mut names = Vec::new();
    let mut builtins = Vec::new();
    for tool in &request.tools {
        match tool {
            Tool::Function {
                name,
                description,
                parameters,
                ..
            } => {
                let mut declaration = Map::new();
                declaration.insert("name".into(), json!(name));
                if let Some(description) = description {
                    declaration.insert("description".into(), json!(description));
                }
                declaration.insert("parametersJsonSchema".into(), for_gemini(parameters));
                declarations.push(Value::Object(declaration));
                names.push(name.as_str());
            }
            Tool::Builtin { kind, raw }
                if super::builtin_tool(kind).is_some() || is_gemini_entry(kind, raw) =>
            {
                builtins.push(raw.clone());
            }
            Tool::Builtin { kind, raw } => {
                let name = raw.get("name").and_then(Value::as_str);
                if forced.is_some_and(|forced| forced == kind || Some(forced) == name) {
                    return Err(ApiError::invalid(format!(
                        "the tool choice forces the built-in tool `{kind}`, which this model's provider does not have"
                    ))
                    .with_param("tool_choice"));
                }
                warnings.dropped(format!("tools({kind})"));
            }
            Tool::Custom { name, .. } => warnings.dropped(format!("tools({name})")),
            Tool::Server(tool) => match search_tool(tool, warnings) {
                Some(entry) => builtins.push(entry),
                None => warnings.dropped(format!("tools({})", tool.client_type)),
            },
        }
    }
    let mut tools = Vec::with_capacity(builtins.len() + 1);
    if !declarations.is_empty() {
        tools.push(json!({ "functionDeclarations": declarations }));
    }
    tools.extend(builtins);
    Ok((tools, names))
}

/// A web search as Gemini's `googleSearch` (a Gemini client's own entry as it sent it). Its
/// domain and location settings have no place there and are reported; a fetch has no Gemini
/// equivalent that returns the page (`urlContext` does not), so it gets `None`.
fn search_tool(tool: &ServerTool, warnings: &mut Warnings) -> Option<Value> {
    if tool.kind != ServerToolKind::WebSearch {
        return None;
    }
    if is_gemini_entry(&tool.client_type, &tool.raw) {
        return Some(tool.raw.clone());
    }
    crate::translate::server_tools::report_unmapped(tool, warnings);
    let name = &tool.client_type;
    if !tool.allowed_domains.is_empty() {
        warnings.dropped(format!("tools({name}).allowed_domains"));
    }
    if !tool.blocked_domains.is_empty() {
        warnings.dropped(format!("tools({name}).blocked_domains"));
    }
    if tool.user_location.is_some() {
        warnings.dropped(format!("tools({name}).user_location"));
    }
    if tool.max_uses.is_some() {
        warnings.dropped(format!("tools({name}).max_uses"));
    }
    Some(json!({ "googleSearch": {} }))
}

/// A built-in tool a Gemini client declared (an entry `{kind: {...}}`), known or not.
fn is_gemini_entry(kind: &str, raw: &Value) -> bool {
    raw.as_object()
        .is_some_and(|map| map.len() == 1 && map.contains_key(kind))
}

/// | canonical | `functionCallingConfig` |
/// |---|---|
/// | `None` | `mode: NONE` |
/// | `Auto` | `mode: AUTO` |
/// | `Required` | `mode: ANY` |
/// | `Named(n)` | `mode: ANY`, `allowedFunctionNames: [n]` |
fn encode_tool_choice(
    choice: Option<&ToolChoice>,
    declared: &[&str],
) -> Result<Option<Value>, ApiError> {
    let config = match choice {
        None => return Ok(None),
        Some(ToolChoice::None) => json!({"mode": "NONE"}),
        Some(ToolChoice::Auto) => json!({"mode": "AUTO"}),
        Some(ToolChoice::Required) => json!({"mode": "ANY"}),
        Some(ToolChoice::Named(name)) => {
            if !declared.contains(&name.as_str()) {
                return Err(ApiError::invalid(format!(
                    "the tool choice names `{name}`, which is not among the declared functions"
                ))
                .with_param("tool_choice"));
            }
            json!({"mode": "ANY", "allowedFunctionNames": [name]})
        }
    };
    Ok(Some(json!({ "functionCallingConfig": config })))
}

fn encode_generation<'a>(
    request: &'a ChatRequest,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> GenerationConfig<'a> {
    let mut max_output_tokens = request
        .max_output_tokens
        .unwrap_or(target.default_max_tokens)
        .max(1);
    if let Some(limit) = target.max_output_tokens
        && max_output_tokens > limit
    {
        warnings.clamped(format!("maxOutputTokens({max_output_tokens}->{limit})"));
        max_output_tokens = limit;
    }
    let temperature = request.temperature.map(|t| {
        let clamped = t.clamp(0.0, 2.0);
        if clamped != t {
            warnings.clamped(format!("temperature({t}->{clamped})"));
        }
        clamped
    });
    let mut stop_sequences: Vec<&str> = request
        .stop_sequences
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if stop_sequences.len() > MAX_STOP_SEQUENCES {
        warnings.clamped(format!(
            "stopSequences({}->{MAX_STOP_SEQUENCES})",
            stop_sequences.len()
        ));
        stop_sequences.truncate(MAX_STOP_SEQUENCES);
    }
    let (response_mime_type, response_json_schema) = match &request.response_format {
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            (Some("application/json"), Some(for_gemini(schema)))
        }
        Some(ResponseFormat::Text) | None => (None, None),
    };
    GenerationConfig {
        max_output_tokens,
        temperature,
        top_p: request.top_p,
        top_k: request.top_k,
        stop_sequences,
        response_mime_type,
        response_json_schema,
        thinking_config: thinking_config(request, target, max_output_tokens, warnings),
    }
}

/// How a Gemini model takes thinking controls, by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// Gemini 2.x: `thinkingBudget` within `min..=max`; `off`: 0 switches thinking off.
    Budget { min: u64, max: u64, off: bool },
    /// Gemini 3 and later: `thinkingLevel`. `pro`: no MINIMAL (Pro models always think);
    /// `two_levels`: LOW and HIGH only (Gemini 3 Pro).
    Level { pro: bool, two_levels: bool },
}

impl Family {
    fn of(model: &str) -> Family {
        let id = model_id(model).to_ascii_lowercase();
        if id.starts_with("gemini-2") || id.starts_with("gemini-1") {
            return if id.contains("flash-lite") {
                Family::Budget {
                    min: 512,
                    max: 24_576,
                    off: true,
                }
            } else if id.contains("flash") {
                Family::Budget {
                    min: 1,
                    max: 24_576,
                    off: true,
                }
            } else {
                Family::Budget {
                    min: 128,
                    max: 32_768,
                    off: false,
                }
            };
        }
        Family::Level {
            pro: id.contains("pro"),
            two_levels: id.starts_with("gemini-3-pro"),
        }
    }
}

/// The `thinkingLevel` for an effort.
fn level(effort: Effort, pro: bool, two_levels: bool) -> &'static str {
    match effort {
        Effort::None | Effort::Minimal if pro => "LOW",
        Effort::None | Effort::Minimal => "MINIMAL",
        Effort::Low => "LOW",
        Effort::Medium if two_levels => "HIGH",
        Effort::Medium => "MEDIUM",
        Effort::High | Effort::XHigh | Effort::Max => "HIGH",
    }
}

/// `thinkingConfig` for the request's thinking on the target model, or `None` to leave the
/// model's default.
///
/// | canonical | Gemini 2.x | Gemini 3+ |
/// |---|---|---|
/// | `Disabled`, effort `none` | budget 0 (Pro: its minimum) | `MINIMAL` (Pro: `LOW`) |
/// | `Effort(e)` | e's budget | e's level (`xhigh`, `max` → `HIGH`) |
/// | `Budget(b)` | b, within the model's range | ≤512 `MINIMAL`, ≤1024 `LOW`, ≤8192 `MEDIUM`, else `HIGH` |
/// | `Adaptive` | budget −1 (dynamic) | the model's default (or the effort's level) |
///
/// `includeThoughts` when the client wants reasoning text. A budget is kept below
/// `maxOutputTokens`, which thinking counts against.
fn thinking_config(
    request: &ChatRequest,
    target: &UpstreamTarget,
    max_output_tokens: u64,
    warnings: &mut Warnings,
) -> Option<ThinkingConfig> {
    let thinking = request.thinking?;
    if !target.reasoning {
        if thinking != Thinking::Disabled {
            warnings.dropped("thinking");
        }
        return None;
    }
    let effort = match thinking {
        Thinking::Disabled => Some(Effort::None),
        Thinking::Effort(effort) | Thinking::Adaptive(Some(effort)) => Some(effort),
        Thinking::Budget(budget) => Some(match budget {
            0..=512 => Effort::Minimal,
            513..=1024 => Effort::Low,
            1025..=8192 => Effort::Medium,
            _ => Effort::High,
        }),
        Thinking::Adaptive(None) => None,
    };
    let thinks = effort != Some(Effort::None);
    let include_thoughts = (request.reasoning_summary && thinks).then_some(true);
    let mut config = ThinkingConfig {
        include_thoughts,
        ..ThinkingConfig::default()
    };
    match Family::of(&target.model) {
        Family::Level { pro, two_levels } => {
            config.thinking_level = effort.map(|effort| level(effort, pro, two_levels));
        }
        Family::Budget { min, max, off } => {
            let wanted = match thinking {
                Thinking::Budget(budget) => Some(budget),
                Thinking::Adaptive(None) => None,
                _ => effort.map(|effort| effort.budget_tokens().unwrap_or(0)),
            };
            config.thinking_budget = Some(match wanted {
                None => -1,
                Some(0) if off => 0,
                Some(budget) => {
                    let clamped = budget.clamp(min, max);
                    if clamped != budget && budget != 0 {
                        warnings.clamped(format!("thinkingBudget({budget}->{clamped})"));
                    }
                    let fitted = fit_budget(clamped, max_output_tokens, min);
                    if fitted != clamped {
                        warnings.clamped(format!("thinkingBudget({clamped}->{fitted})"));
                    }
                    i64::try_from(fitted).unwrap_or(i64::MAX)
                }
            });
        }
    }
    (config != ThinkingConfig::default()).then_some(config)
}

/// A budget that leaves room for the answer in `max_output_tokens`.
fn fit_budget(budget: u64, max_output_tokens: u64, min: u64) -> u64 {
    if budget < max_output_tokens {
        return budget;
    }
    max_output_tokens
        .saturating_sub(ANSWER_ROOM_TOKENS)
        .max(max_output_tokens / 2)
        .max(min)
}

#[cfg(test)]
mod tests;
