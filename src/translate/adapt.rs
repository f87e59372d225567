//! Fits a canonical request to one upstream's limits, and maps the answer back.
//!
//! The codecs keep the client's tool names, call ids and tool kinds. This module rewrites them
//! where the upstream format would reject them, deterministically, and remembers how to undo it:
//!
//! - **Tool names.** Chat and Responses allow `[A-Za-z0-9_-]{1,64}`, Anthropic up to 128
//!   characters. Other names become `<sanitised prefix>_<8 hex of SHA-256(name)>`; the answer's
//!   tool calls get their original names back from the request's own tool list (stateless).
//! - **Call ids.** Anthropic needs `^[a-zA-Z0-9_-]+$`, Chat at most 40 characters, Responses at
//!   most 64. Ids are rewritten the same way, identically in calls and results, so pairs stay
//!   matched. Answer ids are the upstream's own and need no mapping back.
//! - **Freeform tools.** Responses `custom` tools (Codex `apply_patch`) exist only in
//!   Responses. Elsewhere they become function tools taking `{"input": string}`; calls are
//!   wrapped on the way up and unwrapped on the way back.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::canonical::{
    Block, BlockStart, ChatRequest, ChatResponse, Delta, Part, StreamEvent, Tool, ToolChoice,
    ToolKind,
};
use crate::format::WireFormat;
use crate::formats::spec::IdLimits;

/// What `upstream` allows in tool names and call ids.
fn limits(upstream: WireFormat) -> IdLimits {
    upstream.spec().id_limits()
}

/// The schema a wrapped freeform tool takes.
fn custom_tool_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"input": {"type": "string", "description": "The raw tool input."}},
        "required": ["input"],
        "additionalProperties": false,
    })
}

/// Whether [`for_upstream`] would change anything in `request` for `upstream`. Most requests
/// fit as they are, and are then encoded without a copy.
pub fn needed(request: &ChatRequest, upstream: WireFormat) -> bool {
    let limits = limits(upstream);
    let fits = |value: &str, max_chars: usize| {
        !value.is_empty()
            && value.len() <= max_chars
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let tools = request.tools.iter().any(|tool| match tool {
        Tool::Function { name, .. } => !fits(name, limits.tool_name_chars),
        Tool::Custom { name, .. } => {
            !limits.supports_custom_tools || !fits(name, limits.tool_name_chars)
        }
        Tool::Server(_) | Tool::Builtin { .. } => false,
    });
    let choice = matches!(&request.tool_choice, Some(ToolChoice::Named(name)) if !fits(name, limits.tool_name_chars));
    let parts = request
        .messages
        .iter()
        .flat_map(|m| m.parts.iter())
        .any(|part| match part {
            Part::ToolCall(call) => {
                !fits(&call.name, limits.tool_name_chars)
                    || !fits(&call.id, limits.call_id_chars)
                    || (!limits.supports_custom_tools && call.kind == ToolKind::Custom)
            }
            Part::ToolResult(result) => {
                !fits(&result.call_id, limits.call_id_chars)
                    || (!limits.supports_custom_tools && result.kind == ToolKind::Custom)
            }
            Part::Text(_)
            | Part::Image(_)
            | Part::Document(_)
            | Part::Reasoning(_)
            | Part::Refusal(_)
            | Part::ServerTool(_) => false,
        });
    tools || choice || parts
}

/// Rewrites `request` for `upstream`; the returned [`Restore`] maps the answer back.
pub fn for_upstream(mut request: ChatRequest, upstream: WireFormat) -> (ChatRequest, Restore) {
    let limits = limits(upstream);
    let mut restore = Restore::default();
    let wrap_custom = !limits.supports_custom_tools;

    for tool in &mut request.tools {
        let client_name = tool.name().to_owned();
        let upstream_name = fit_identifier(&client_name, limits.tool_name_chars);
        let is_custom = matches!(tool, Tool::Custom { .. });
        match tool {
            Tool::Function { name, .. } => *name = upstream_name.clone(),
            Tool::Custom {
                name, description, ..
            } => {
                if wrap_custom {
                    *tool = Tool::Function {
                        name: upstream_name.clone(),
                        description: description.take(),
                        parameters: custom_tool_schema(),
                        strict: None,
                    };
                } else {
                    *name = upstream_name.clone();
                }
            }
            Tool::Server(_) | Tool::Builtin { .. } => continue,
        }
        if wrap_custom && is_custom {
            restore.wrapped_custom.insert(client_name.clone());
        }
        if upstream_name != client_name {
            restore.names.insert(upstream_name, client_name);
        }
    }

    if let Some(ToolChoice::Named(name)) = &mut request.tool_choice {
        *name = fit_identifier(name, limits.tool_name_chars);
    }

    for message in &mut request.messages {
        for part in &mut message.parts {
            match part {
                Part::ToolCall(call) => {
                    call.name = fit_identifier(&call.name, limits.tool_name_chars);
                    call.id = fit_identifier(&call.id, limits.call_id_chars);
                    if wrap_custom && call.kind == ToolKind::Custom {
                        call.arguments = json!({ "input": call.arguments }).to_string();
                        call.kind = ToolKind::Function;
                    }
                }
                Part::ToolResult(result) => {
                    result.call_id = fit_identifier(&result.call_id, limits.call_id_chars);
                    if wrap_custom {
                        result.kind = ToolKind::Function;
                    }
                }
                _ => {}
            }
        }
    }
    (request, restore)
}

/// `value` if it is a valid identifier of at most `max_chars`, else a deterministic rewrite:
/// the value with invalid characters replaced by `_`, cut to leave room for `_` and 8 hex
/// digits of its SHA-256. Distinct inputs keep distinct outputs (up to hash collisions).
pub fn fit_identifier(value: &str, max_chars: usize) -> String {
    let valid = !value.is_empty()
        && value.len() <= max_chars
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        return value.to_owned();
    }
    let digest = Sha256::digest(value.as_bytes());
    let suffix: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let keep = max_chars.saturating_sub(suffix.len() + 1);
    let prefix: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(keep)
        .collect();
    format!("{prefix}_{suffix}")
}

/// Undoes [`for_upstream`] on the answer.
#[derive(Debug, Clone, Default)]
pub struct Restore {
    /// Upstream tool name → client tool name, for names that were rewritten.
    names: HashMap<String, String>,
    /// Client names of freeform tools that travel as `{"input": ...}` function tools.
    wrapped_custom: HashSet<String>,
    /// Arguments of the wrapped freeform call being streamed, by block index. Held back until
    /// the call ends, because only the complete JSON can be unwrapped.
    pending_custom: Option<(usize, String)>,
}

impl Restore {
    /// Whether this restore changes nothing (the stream can skip it).
    pub fn is_identity(&self) -> bool {
        self.names.is_empty() && self.wrapped_custom.is_empty()
    }

    fn client_name(&self, upstream_name: &str) -> String {
        self.names
            .get(upstream_name)
            .cloned()
            .unwrap_or_else(|| upstream_name.to_owned())
    }

    /// Maps a finished answer back.
    pub fn response(&self, response: &mut ChatResponse) {
        for block in &mut response.blocks {
            if let Block::ToolCall(call) = block {
                call.name = self.client_name(&call.name);
                if self.wrapped_custom.contains(&call.name) {
                    call.kind = ToolKind::Custom;
                    call.arguments = unwrap_custom_input(&call.arguments);
                }
            }
        }
    }

    /// Whether [`Restore::event`] would give `event` back as it is, touching no state: the
    /// events it maps are tool call starts, argument fragments and block stops.
    pub fn passes_unchanged(event: &StreamEvent) -> bool {
        !matches!(
            event,
            StreamEvent::BlockStart {
                block: BlockStart::ToolCall { .. },
                ..
            } | StreamEvent::BlockDelta {
                delta: Delta::ToolArguments(_),
                ..
            } | StreamEvent::BlockStop { .. }
        )
    }

    /// Maps one stream event back, appending the result(s) to `out`.
    pub fn event(&mut self, event: StreamEvent, out: &mut Vec<StreamEvent>) {
        match event {
            StreamEvent::BlockStart {
                index,
                block: BlockStart::ToolCall { id, name, kind },
            } => {
                let name = self.client_name(&name);
                let kind = if self.wrapped_custom.contains(&name) {
                    self.pending_custom = Some((index, String::new()));
                    ToolKind::Custom
                } else {
                    kind
                };
                out.push(StreamEvent::BlockStart {
                    index,
                    block: BlockStart::ToolCall { id, name, kind },
                });
            }
            StreamEvent::BlockDelta {
                index,
                delta: Delta::ToolArguments(fragment),
            } => match &mut self.pending_custom {
                Some((pending, buffer)) if *pending == index => buffer.push_str(&fragment),
                _ => out.push(StreamEvent::BlockDelta {
                    index,
                    delta: Delta::ToolArguments(fragment),
                }),
            },
            StreamEvent::BlockStop { index } => {
                if let Some((pending, buffer)) = self.pending_custom.take() {
                    if pending == index {
                        out.push(StreamEvent::BlockDelta {
                            index,
                            delta: Delta::ToolArguments(unwrap_custom_input(&buffer)),
                        });
                    } else {
                        self.pending_custom = Some((pending, buffer));
                    }
                }
                out.push(StreamEvent::BlockStop { index });
            }
            other => out.push(other),
        }
    }
}

/// The raw input of a wrapped freeform call: the `input` string of `{"input": ...}`, or the
/// arguments as they are when the model did not follow the schema.
fn unwrap_custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(map)) => match map.get("input") {
            Some(Value::String(input)) => input.clone(),
            _ => arguments.to_owned(),
        },
        _ => arguments.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Finish, FinishReason, Message, Role, ToolCall, ToolResult, Usage};

    #[test]
    fn identifiers_are_kept_when_valid_and_rewritten_deterministically() {
        assert_eq!(fit_identifier("get_weather", 64), "get_weather");
        let long = "mcp__a_very_long_server_name__with_an_even_longer_tool_name_that_goes_on";
        let fitted = fit_identifier(long, 64);
        assert_eq!(fitted.len(), 64);
        assert_eq!(fitted, fit_identifier(long, 64));
        assert_ne!(fitted, fit_identifier(&format!("{long}2"), 64));
        let id = fit_identifier("functions.Bash:0", 128);
        assert!(id.starts_with("functions_Bash_0_"));
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    }

    fn request_with_tools() -> ChatRequest {
        let long_name = "x".repeat(70);
        ChatRequest {
            model: "m".into(),
            tools: vec![
                Tool::Function {
                    name: long_name.clone(),
                    description: None,
                    parameters: json!({"type":"object"}),
                    strict: None,
                },
                Tool::Custom {
                    name: "apply_patch".into(),
                    description: Some("patch".into()),
                    format: None,
                },
            ],
            tool_choice: Some(ToolChoice::Named(long_name.clone())),
            messages: vec![
                Message {
                    role: Role::Assistant,
                    parts: vec![Part::ToolCall(ToolCall {
                        id: "call|1".into(),
                        name: "apply_patch".into(),
                        arguments: "*** Begin Patch".into(),
                        kind: ToolKind::Custom,
                    })],
                },
                Message {
                    role: Role::User,
                    parts: vec![Part::ToolResult(ToolResult {
                        call_id: "call|1".into(),
                        content: vec![Part::Text("ok".into())],
                        is_error: false,
                        kind: ToolKind::Custom,
                    })],
                },
            ],
            ..ChatRequest::default()
        }
    }

    #[test]
    fn freeform_tools_are_wrapped_for_anthropic_and_unwrapped_back() {
        let (adapted, mut restore) =
            for_upstream(request_with_tools(), WireFormat::AnthropicMessages);
        let Tool::Function { parameters, .. } = &adapted.tools[1] else {
            panic!("custom tool not wrapped");
        };
        assert_eq!(parameters["required"], json!(["input"]));
        let Part::ToolCall(call) = &adapted.messages[0].parts[0] else {
            panic!()
        };
        assert_eq!(call.arguments, r#"{"input":"*** Begin Patch"}"#);
        assert_eq!(call.kind, ToolKind::Function);
        let Part::ToolResult(result) = &adapted.messages[1].parts[0] else {
            panic!()
        };
        assert_eq!(result.call_id, call.id);
        assert!(
            call.id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );

        let mut out = Vec::new();
        for event in [
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::ToolCall {
                    id: "toolu_1".into(),
                    name: "apply_patch".into(),
                    kind: ToolKind::Function,
                },
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::ToolArguments("{\"input\":\"a\\n".into()),
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::ToolArguments("b\"}".into()),
            },
            StreamEvent::BlockStop { index: 0 },
        ] {
            restore.event(event, &mut out);
        }
        assert_eq!(
            out,
            vec![
                StreamEvent::BlockStart {
                    index: 0,
                    block: BlockStart::ToolCall {
                        id: "toolu_1".into(),
                        name: "apply_patch".into(),
                        kind: ToolKind::Custom,
                    },
                },
                StreamEvent::BlockDelta {
                    index: 0,
                    delta: Delta::ToolArguments("a\nb".into()),
                },
                StreamEvent::BlockStop { index: 0 },
            ]
        );
    }

    #[test]
    fn long_names_are_restored_in_responses() {
        let long_name = "x".repeat(70);
        let (adapted, restore) = for_upstream(request_with_tools(), WireFormat::OpenAiResponses);
        let short = adapted.tools[0].name().to_owned();
        assert_eq!(short.len(), 64);
        assert_eq!(adapted.tool_choice, Some(ToolChoice::Named(short.clone())));
        assert!(matches!(adapted.tools[1], Tool::Custom { .. }));
        let mut response = ChatResponse {
            id: "r".into(),
            model: "m".into(),
            blocks: vec![Block::ToolCall(ToolCall {
                id: "c".into(),
                name: short,
                arguments: "{}".into(),
                kind: ToolKind::Function,
            })],
            citations: Vec::new(),
            finish: Finish::new(FinishReason::ToolUse),
            usage: Usage::default(),
        };
        restore.response(&mut response);
        let Block::ToolCall(call) = &response.blocks[0] else {
            panic!()
        };
        assert_eq!(call.name, long_name);
    }
}
