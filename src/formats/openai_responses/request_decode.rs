//! `decode_request`: a Responses request (Codex, the OpenAI SDK) → [`ChatRequest`].
//!
//! - `input` → system prompt and messages (see [`super::input`]); `instructions` is `system[0]`.
//! - Tools: `function` and `custom` as they are, `namespace` flattened (see
//!   [`super::namespace`]), web searches a [`Tool::Server`] (see [`super::server_tools`]), every
//!   other type (`file_search`, `mcp`, ...) a [`Tool::Builtin`] keeping the client's object.
//! - `reasoning.effort` → [`Thinking::Effort`] (unknown → 400); `reasoning.summary` set →
//!   `reasoning_summary`; `text.format` → `response_format`; `safety_identifier` (else `user`)
//!   → `user`.
//! - State the gateway cannot resolve: `background: true`, `conversation`, a stored `prompt`
//!   → 400. `previous_response_id` is resolved by the gateway before decoding and only echoed.
//! - Carried for the answer only (`client.echo`): the request fields a Responses response
//!   object repeats. Dropped silently because they do not change the answer: `store`,
//!   `include`, `prompt_cache_key`, `client_metadata`, `metadata`, `truncation`,
//!   `service_tier`; `text.verbosity` is dropped with a warning.

use serde_json::{Map, Value, json};

use super::input;
use super::namespace;
use super::parse;
use super::server_tools;
use super::wire::{
    CustomTool, FunctionTool, NamespaceTool, Reasoning, ResponseCreateParams,
    ResponseFormatTextConfig, ToolChoiceAllowed, ToolChoiceNamed,
};
use crate::canonical::{
    ChatRequest, ClientOptions, Effort, ResponseFormat, ServerToolKind, Thinking, Tool, ToolChoice,
};
use crate::error::ApiError;
use crate::translate::Warnings;

/// Request fields a Responses response object repeats, copied as given.
const ECHO_FIELDS: [&str; 17] = [
    "instructions",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "max_output_tokens",
    "reasoning",
    "text",
    "metadata",
    "parallel_tool_calls",
    "store",
    "previous_response_id",
    "truncation",
    "user",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
];

pub fn decode_request(body: &[u8], warnings: &mut Warnings) -> Result<ChatRequest, ApiError> {
    let Value::Object(mut fields) = parse::body::<Value>(body)? else {
        return Err(ApiError::invalid("The request body must be a JSON object."));
    };
    let input = fields.remove("input").filter(|v| !v.is_null());
    let echo = echo(&fields);
    let params: ResponseCreateParams = parse::take(Value::Object(fields), "")?;

    if params.background == Some(true) {
        return Err(stateful("background", "Background responses"));
    }
    if params.conversation.as_ref().is_some_and(|c| !c.is_null()) {
        return Err(stateful("conversation", "Conversations"));
    }
    if params.prompt.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(stateful("prompt", "Stored prompt templates"));
    }
    let Some(input) = input else {
        return Err(parse::missing("input"));
    };

    let conversation = input::decode(input, warnings)?;
    let mut system = Vec::with_capacity(conversation.system.len() + 1);
    if let Some(instructions) = params.instructions.filter(|i| !i.is_empty()) {
        system.push(instructions);
    }
    system.extend(conversation.system);

    let (thinking, reasoning_summary) = reasoning(params.reasoning)?;
    let response_format = match params.text {
        Some(text) => {
            if text.verbosity.is_some() {
                warnings.dropped("text.verbosity");
            }
            text.format.map(response_format)
        }
        None => None,
    };

    Ok(ChatRequest {
        model: params.model,
        system,
        messages: conversation.messages,
        max_output_tokens: params.max_output_tokens,
        temperature: params.temperature,
        top_p: params.top_p,
        top_k: None,
        stop_sequences: Vec::new(),
        stream: params.stream.unwrap_or(false),
        tools: tools(params.tools.unwrap_or_default(), warnings)?,
        tool_choice: match params.tool_choice {
            Some(choice) => tool_choice(choice, warnings)?,
            None => None,
        },
        parallel_tool_calls: params.parallel_tool_calls,
        thinking,
        reasoning_summary,
        response_format,
        user: params.safety_identifier.or(params.user),
        prompt_cache_key: params.prompt_cache_key,
        attribution: None,
        client: ClientOptions {
            include_usage: false,
            echo,
        },
    })
}

fn stateful(param: &str, what: &str) -> ApiError {
    ApiError::invalid(format!(
        "{what} need server-side state, which this gateway does not keep; send the full \
         conversation in `input` instead."
    ))
    .with_param(param)
}

fn echo(fields: &Map<String, Value>) -> Map<String, Value> {
    ECHO_FIELDS
        .iter()
        .filter_map(|&key| {
            fields
                .get(key)
                .filter(|v| !v.is_null())
                .map(|v| (key.to_owned(), v.clone()))
        })
        .collect()
}

fn reasoning(reasoning: Option<Reasoning>) -> Result<(Option<Thinking>, bool), ApiError> {
    let Some(reasoning) = reasoning else {
        return Ok((None, false));
    };
    let thinking = match reasoning.effort.as_deref() {
        Some(effort) => Some(Thinking::Effort(Effort::parse(effort).ok_or_else(
            || {
                parse::invalid_value(
                    "reasoning.effort",
                    "expected one of none, minimal, low, medium, high, xhigh, max",
                )
            },
        )?)),
        None => None,
    };
    let summary = reasoning
        .summary
        .or(reasoning.generate_summary)
        .is_some_and(|s| matches!(s.as_str(), "auto" | "concise" | "detailed"));
    Ok((thinking, summary))
}

fn response_format(format: ResponseFormatTextConfig) -> ResponseFormat {
    match format {
        ResponseFormatTextConfig::Text => ResponseFormat::Text,
        ResponseFormatTextConfig::JsonObject => ResponseFormat::JsonObject,
        ResponseFormatTextConfig::JsonSchema {
            name,
            schema,
            strict,
            description,
        } => ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
            description,
        },
    }
}

fn tools(tools: Vec<Value>, warnings: &mut Warnings) -> Result<Vec<Tool>, ApiError> {
    let mut out = Vec::with_capacity(tools.len());
    for (index, tool) in tools.into_iter().enumerate() {
        let path = format!("tools[{index}]");
        let Some(kind) = parse::type_of(&tool).map(str::to_owned) else {
            return Err(parse::missing(&format!("{path}.type")));
        };
        match kind.as_str() {
            "function" | "custom" => out.push(user_tool(tool, &path, None)?),
            "namespace" => {
                let namespace: NamespaceTool = parse::take(tool, &path)?;
                for (inner, nested) in namespace.tools.into_iter().enumerate() {
                    let nested_path = format!("{path}.tools[{inner}]");
                    match parse::type_of(&nested) {
                        Some("function" | "custom") => {
                            out.push(user_tool(nested, &nested_path, Some(&namespace.name))?)
                        }
                        Some(other) => warnings.dropped(format!("tools(namespace.{other})")),
                        None => return Err(parse::missing(&format!("{nested_path}.type"))),
                    }
                }
            }
            search if server_tools::is_search_type(search) => {
                let params: server_tools::SearchParams = parse::take(tool.clone(), &path)?;
                out.push(Tool::Server(server_tools::decode_tool(
                    kind.clone(),
                    tool,
                    params,
                )));
            }
            _ => out.push(Tool::Builtin { kind, raw: tool }),
        }
    }
    Ok(out)
}

/// A `function` or `custom` tool, named within `namespace` when it is nested in one.
fn user_tool(tool: Value, path: &str, namespace: Option<&str>) -> Result<Tool, ApiError> {
    let name = |name: String| match namespace {
        Some(namespace) => namespace::flat_name(namespace, &name),
        None => name,
    };
    if parse::type_of(&tool) == Some("custom") {
        let custom: CustomTool = parse::take(tool, path)?;
        return Ok(Tool::Custom {
            name: name(custom.name),
            description: custom.description,
            format: custom.format.filter(|f| !f.is_null()),
        });
    }
    let function: FunctionTool = parse::take(tool, path)?;
    let parameters = match function.parameters {
        None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
        Some(schema @ Value::Object(_)) => schema,
        Some(_) => {
            return Err(parse::invalid_value(
                &format!("{path}.parameters"),
                "expected a JSON schema object",
            ));
        }
    };
    Ok(Tool::Function {
        name: name(function.name),
        description: function.description,
        parameters,
        strict: function.strict,
    })
}

fn tool_choice(choice: Value, warnings: &mut Warnings) -> Result<Option<ToolChoice>, ApiError> {
    let kind = match &choice {
        Value::Null => return Ok(None),
        Value::String(mode) => {
            return match mode.as_str() {
                "none" => Ok(Some(ToolChoice::None)),
                "auto" => Ok(Some(ToolChoice::Auto)),
                "required" => Ok(Some(ToolChoice::Required)),
                _ => Err(parse::invalid_value(
                    "tool_choice",
                    "expected none, auto, required or a tool choice object",
                )),
            };
        }
        Value::Object(_) => match parse::type_of(&choice) {
            Some(kind) => kind.to_owned(),
            None => return Err(parse::missing("tool_choice.type")),
        },
        _ => {
            return Err(parse::invalid_value(
                "tool_choice",
                "expected none, auto, required or a tool choice object",
            ));
        }
    };
    Ok(Some(match kind.as_str() {
        "function" | "custom" => {
            let named: ToolChoiceNamed = parse::take(choice, "tool_choice")?;
            ToolChoice::Named(named.name)
        }
        "allowed_tools" => {
            let allowed: ToolChoiceAllowed = parse::take(choice, "tool_choice")?;
            warnings.dropped("tool_choice.allowed_tools");
            match allowed.mode.as_str() {
                "auto" => ToolChoice::Auto,
                "required" => ToolChoice::Required,
                _ => {
                    return Err(parse::invalid_value(
                        "tool_choice.mode",
                        "expected auto or required",
                    ));
                }
            }
        }
        // A web search selector (`{"type": "web_search_preview"}`) names the search tool.
        kind if server_tools::is_search_type(kind) => {
            ToolChoice::Named(ServerToolKind::WebSearch.name().to_owned())
        }
        // Another built-in tool selector (`{"type": "mcp", ...}`): it names the built-in tool
        // of that type.
        _ => ToolChoice::Named(kind),
    }))
}
