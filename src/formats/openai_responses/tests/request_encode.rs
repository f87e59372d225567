//! `encode_request` table tests: the exact body for every canonical feature, and the warnings
//! header for everything lossy.

use crate::canonical::{FileRef, ServerTool, ServerToolKind};
use serde_json::{Value, json};

use crate::canonical::{
    ChatRequest, Document, Effort, Media, MediaSource, Message, Opaque, Part, ReasoningPart,
    ResponseFormat, Role, Thinking, Tool, ToolCall, ToolChoice, ToolKind, ToolResult, Vendor,
};
use crate::error::ErrorKind;
use crate::formats::openai_responses::{decode_request, encode_request};
use crate::formats::{MaxTokensParam, UpstreamTarget};
use crate::translate::Warnings;

fn target(reasoning: bool) -> UpstreamTarget {
    UpstreamTarget {
        model: "gpt-5-2025-08-07".into(),
        stream: true,
        max_tokens_param: MaxTokensParam::MaxCompletionTokens,
        default_max_tokens: 4096,
        max_output_tokens: Some(128_000),
        reasoning,
        cache_breakpoints: false,
        server_tools: None,
    }
}

fn encode(request: &ChatRequest, target: &UpstreamTarget) -> (Value, Option<String>) {
    let mut warnings = Warnings::new();
    let body = encode_request(request, target, &mut warnings)
        .unwrap_or_else(|e| panic!("encode failed: {e:?}"));
    (body, warnings.header_value())
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn base64(media_type: &str, data: &str) -> MediaSource {
    MediaSource::Base64 {
        media_type: media_type.into(),
        data: data.into(),
    }
}

fn reasoning(text: &str, vendor: Vendor, data: &str) -> Part {
    Part::Reasoning(ReasoningPart {
        text: text.into(),
        opaque: Some(Opaque {
            vendor,
            data: data.into(),
        }),
        redacted: false,
    })
}

fn full_request() -> ChatRequest {
    ChatRequest {
        model: "public-gpt-5".into(),
        system: vec!["System A.".into(), "System B.".into()],
        messages: vec![
            Message {
                role: Role::User,
                parts: vec![
                    Part::Text("Look at these.".into()),
                    Part::Image(Media {
                        source: base64("image/png", "iVBORw0"),
                        detail: None,
                    }),
                    Part::Image(Media {
                        source: MediaSource::Url("https://example.com/a.jpg".into()),
                        detail: Some("high".into()),
                    }),
                    Part::Image(Media {
                        source: MediaSource::FileId(FileRef::new(
                            "file-img",
                            Vendor::OpenAi,
                            "input[0].content[1]",
                        )),
                        detail: Some("low".into()),
                    }),
                    Part::Document(Document {
                        source: base64("application/pdf", "JVBERi0"),
                        filename: None,
                        title: Some("Spec".into()),
                    }),
                    Part::Document(Document {
                        source: base64("text/plain", "aGk="),
                        filename: None,
                        title: None,
                    }),
                    Part::Document(Document {
                        source: MediaSource::Url("https://example.com/p.pdf".into()),
                        filename: None,
                        title: None,
                    }),
                    Part::Document(Document {
                        source: MediaSource::FileId(FileRef::new(
                            "file-doc",
                            Vendor::OpenAi,
                            "input[0].content[2]",
                        )),
                        filename: Some("d.pdf".into()),
                        title: None,
                    }),
                ],
            },
            Message {
                role: Role::Assistant,
                parts: vec![
                    reasoning("Thinking **hard**", Vendor::OpenAi, "gAAAA-one"),
                    reasoning("", Vendor::OpenAi, "gAAAA-two"),
                    Part::Text("Here is my answer.".into()),
                    Part::Refusal("Not the other part.".into()),
                    Part::ToolCall(ToolCall {
                        id: "call_w".into(),
                        name: "get_weather".into(),
                        arguments: "{\"city\":\"Paris\"}".into(),
                        kind: ToolKind::Function,
                    }),
                    Part::ToolCall(ToolCall {
                        id: "call_p".into(),
                        name: "apply_patch".into(),
                        arguments: "*** Begin Patch\n*** End Patch\n".into(),
                        kind: ToolKind::Custom,
                    }),
                ],
            },
            Message {
                role: Role::User,
                parts: vec![
                    Part::ToolResult(ToolResult {
                        call_id: "call_w".into(),
                        content: vec![Part::Text("Sunny,".into()), Part::Text("21°C".into())],
                        is_error: false,
                        kind: ToolKind::Function,
                    }),
                    Part::ToolResult(ToolResult {
                        call_id: "call_p".into(),
                        content: vec![
                            Part::Text("Applied.".into()),
                            Part::Image(Media {
                                source: base64("image/png", "c2NyZWVu"),
                                detail: None,
                            }),
                        ],
                        is_error: false,
                        kind: ToolKind::Custom,
                    }),
                    Part::Text("Thanks!".into()),
                ],
            },
            Message {
                role: Role::System,
                parts: vec![Part::Text("Mid-conversation reminder.".into())],
            },
        ],
        max_output_tokens: Some(2048),
        temperature: Some(0.7),
        top_p: Some(0.95),
        top_k: None,
        stop_sequences: Vec::new(),
        stream: true,
        tools: vec![
            Tool::Function {
                name: "get_weather".into(),
                description: Some("Weather.".into()),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
                strict: None,
            },
            Tool::Function {
                name: "strict_fn".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
                strict: Some(true),
            },
            Tool::Custom {
                name: "apply_patch".into(),
                description: Some("Patch files.".into()),
                format: Some(
                    json!({"type": "grammar", "syntax": "lark", "definition": "start: x"}),
                ),
            },
            Tool::Server(ServerTool::new(
                ServerToolKind::WebSearch,
                "web_search",
                json!({"type": "web_search", "search_context_size": "low"}),
            )),
        ],
        tool_choice: Some(ToolChoice::Named("get_weather".into())),
        parallel_tool_calls: Some(true),
        thinking: Some(Thinking::Effort(Effort::High)),
        reasoning_summary: true,
        response_format: Some(ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object"}),
            strict: Some(true),
            description: None,
        }),
        user: Some("user-123".into()),
        prompt_cache_key: Some("conversation-7".into()),
        attribution: None,
        client: Default::default(),
    }
}

#[test]
fn every_canonical_feature() {
    let (body, warnings) = encode(&full_request(), &target(true));
    assert_eq!(warnings, None);
    assert_eq!(
        body,
        json!({
            "model": "gpt-5-2025-08-07",
            "instructions": "System A.\n\nSystem B.",
            "input": [
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "Look at these."},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0", "detail": "auto"},
                    {"type": "input_image", "image_url": "https://example.com/a.jpg", "detail": "high"},
                    {"type": "input_image", "file_id": "file-img", "detail": "low"},
                    {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0", "filename": "Spec"},
                    {"type": "input_file", "file_data": "data:text/plain;base64,aGk=", "filename": "document.txt"},
                    {"type": "input_file", "file_url": "https://example.com/p.pdf"},
                    {"type": "input_file", "file_id": "file-doc", "filename": "d.pdf"}
                ]},
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Thinking **hard**"}], "encrypted_content": "gAAAA-one"},
                {"type": "reasoning", "summary": [], "encrypted_content": "gAAAA-two"},
                {"type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": "Here is my answer.", "annotations": []},
                    {"type": "refusal", "refusal": "Not the other part."}
                ]},
                {"type": "function_call", "call_id": "call_w", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                {"type": "custom_tool_call", "call_id": "call_p", "name": "apply_patch", "input": "*** Begin Patch\n*** End Patch\n"},
                {"type": "function_call_output", "call_id": "call_w", "output": "Sunny,\n21°C"},
                {"type": "custom_tool_call_output", "call_id": "call_p", "output": [
                    {"type": "input_text", "text": "Applied."},
                    {"type": "input_image", "image_url": "data:image/png;base64,c2NyZWVu", "detail": "auto"}
                ]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks!"}]},
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Mid-conversation reminder."}]}
            ],
            "tools": [
                {"type": "function", "name": "get_weather", "description": "Weather.",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": false},
                {"type": "function", "name": "strict_fn", "parameters": {"type": "object", "properties": {}}, "strict": true},
                {"type": "custom", "name": "apply_patch", "description": "Patch files.",
                 "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
                {"type": "web_search", "search_context_size": "low"}
            ],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "parallel_tool_calls": true,
            "max_output_tokens": 2048,
            "temperature": 0.7,
            "top_p": 0.95,
            "reasoning": {"effort": "high", "summary": "auto"},
            "include": ["reasoning.encrypted_content", "web_search_call.action.sources"],
            "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": true}},
            "user": "user-123",
            "prompt_cache_key": "conversation-7",
            "store": false,
            "stream": true
        })
    );
}

#[test]
fn lossy_request_from_another_format() {
    let long_user = format!(
        "user_{}_account__session_{}",
        "a".repeat(64),
        "b".repeat(36)
    );
    let request = ChatRequest {
        model: "claude-via-openai".into(),
        messages: vec![
            Message {
                role: Role::User,
                parts: vec![Part::Text("q".into())],
            },
            Message {
                role: Role::Assistant,
                parts: vec![
                    reasoning("claude thought", Vendor::Anthropic, "EqQBsig"),
                    reasoning("chat thought", Vendor::Gateway, "chat-reasoning"),
                    reasoning("openai thought", Vendor::OpenAi, "gAAAA"),
                    Part::Image(Media {
                        source: MediaSource::Url("https://x/y.png".into()),
                        detail: None,
                    }),
                    Part::Text("a".into()),
                ],
            },
        ],
        max_output_tokens: Some(5),
        top_k: Some(40),
        stop_sequences: vec!["\n\nHuman:".into()],
        tools: vec![
            Tool::Server(ServerTool {
                max_uses: Some(5),
                ..ServerTool::new(
                    ServerToolKind::WebSearch,
                    "web_search_20250305",
                    json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5}),
                )
            }),
            Tool::Builtin {
                kind: "bash_20250124".into(),
                raw: json!({"type": "bash_20250124", "name": "bash"}),
            },
        ],
        thinking: Some(Thinking::Budget(10_000)),
        user: Some(long_user),
        ..ChatRequest::default()
    };
    let (body, warnings) = encode(&request, &target(false));
    assert_eq!(
        warnings.as_deref(),
        Some(
            "dropped=reasoning(not-replayable),content(input_image),tools(bash_20250124),stop,top_k,reasoning; \
             clamped=max_output_tokens(5->16); \
             converted=user(sha256)"
        )
    );
    assert_eq!(
        body,
        json!({
            "model": "gpt-5-2025-08-07",
            "input": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a", "annotations": []}]}
            ],
            "tools": [{"type": "web_search"}],
            "max_tool_calls": 5,
            "include": ["web_search_call.action.sources"],
            "max_output_tokens": 16,
            "user": sha256_hex(request.user.as_deref().unwrap()),
            "store": false,
            "stream": true
        })
    );
    // The same request to a reasoning model: the OpenAI state is replayed, effort converted.
    let (body, warnings) = encode(&request, &target(true));
    assert_eq!(body["reasoning"], json!({"effort": "high"}));
    assert_eq!(
        body["include"],
        json!([
            "reasoning.encrypted_content",
            "web_search_call.action.sources"
        ])
    );
    assert_eq!(
        body["input"][1],
        json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "openai thought"}], "encrypted_content": "gAAAA"})
    );
    assert_eq!(
        warnings.as_deref(),
        Some(
            "dropped=reasoning(not-replayable),content(input_image),tools(bash_20250124),stop,top_k; \
             clamped=max_output_tokens(5->16); \
             converted=user(sha256)"
        )
    );
}

#[test]
fn forced_built_in_tools_that_cannot_be_carried_are_refused() {
    for kind in ["bash_20250124", "web_search_20250305"] {
        let request = ChatRequest {
            messages: vec![Message {
                role: Role::User,
                parts: vec![Part::Text("q".into())],
            }],
            tools: vec![Tool::Builtin {
                kind: kind.into(),
                raw: json!({"type": kind}),
            }],
            tool_choice: Some(ToolChoice::Named(kind.into())),
            ..ChatRequest::default()
        };
        let mut warnings = Warnings::new();
        let error = encode_request(&request, &target(true), &mut warnings).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidRequest);
        assert_eq!(error.param.as_deref(), Some("tool_choice"));
    }
    // Responses built-ins can be forced; MCP keeps its server label.
    let request = ChatRequest {
        tools: vec![Tool::Builtin {
            kind: "mcp".into(),
            raw: json!({"type": "mcp", "server_label": "gh", "server_url": "https://m"}),
        }],
        tool_choice: Some(ToolChoice::Named("mcp".into())),
        ..ChatRequest::default()
    };
    let (body, _) = encode(&request, &target(true));
    assert_eq!(
        body["tool_choice"],
        json!({"type": "mcp", "server_label": "gh"})
    );
    for (choice, expected) in [
        (ToolChoice::None, json!("none")),
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::Required, json!("required")),
        (
            ToolChoice::Named("unknown".into()),
            json!({"type": "function", "name": "unknown"}),
        ),
    ] {
        let request = ChatRequest {
            tool_choice: Some(choice),
            ..ChatRequest::default()
        };
        assert_eq!(encode(&request, &target(true)).0["tool_choice"], expected);
    }
    let request = ChatRequest {
        tools: vec![Tool::Custom {
            name: "apply_patch".into(),
            description: None,
            format: None,
        }],
        tool_choice: Some(ToolChoice::Named("apply_patch".into())),
        ..ChatRequest::default()
    };
    let (body, _) = encode(&request, &target(true));
    assert_eq!(
        body["tool_choice"],
        json!({"type": "custom", "name": "apply_patch"})
    );
    assert_eq!(
        body["tools"],
        json!([{"type": "custom", "name": "apply_patch"}])
    );
}

#[test]
fn reasoning_controls_and_limits() {
    let with = |thinking: Option<Thinking>, summary: bool| ChatRequest {
        thinking,
        reasoning_summary: summary,
        ..ChatRequest::default()
    };
    let cases = [
        (
            with(None, false),
            None,
            Some(json!(["reasoning.encrypted_content"])),
        ),
        (
            with(None, true),
            Some(json!({"summary": "auto"})),
            Some(json!(["reasoning.encrypted_content"])),
        ),
        (
            with(Some(Thinking::Effort(Effort::None)), true),
            Some(json!({"effort": "none"})),
            None,
        ),
        (with(Some(Thinking::Disabled), false), None, None),
        (
            with(Some(Thinking::Effort(Effort::Minimal)), false),
            Some(json!({"effort": "minimal"})),
            Some(json!(["reasoning.encrypted_content"])),
        ),
        (
            with(Some(Thinking::Budget(1024)), false),
            Some(json!({"effort": "low"})),
            Some(json!(["reasoning.encrypted_content"])),
        ),
        (
            with(Some(Thinking::Adaptive(None)), true),
            Some(json!({"effort": "medium", "summary": "auto"})),
            Some(json!(["reasoning.encrypted_content"])),
        ),
    ];
    for (request, reasoning, include) in cases {
        let (body, warnings) = encode(&request, &target(true));
        assert_eq!(
            body.get("reasoning").cloned(),
            reasoning,
            "{:?}",
            request.thinking
        );
        assert_eq!(
            body.get("include").cloned(),
            include,
            "{:?}",
            request.thinking
        );
        assert_eq!(warnings, None);
    }
    // Reasoning off needs no warning on a model without reasoning controls.
    let (body, warnings) = encode(
        &with(Some(Thinking::Effort(Effort::None)), false),
        &target(false),
    );
    assert_eq!(body.get("reasoning"), None);
    assert_eq!(warnings, None);

    let request = ChatRequest {
        max_output_tokens: Some(200_000),
        stream: false,
        ..ChatRequest::default()
    };
    let (body, warnings) = encode(
        &request,
        &UpstreamTarget {
            stream: false,
            ..target(true)
        },
    );
    assert_eq!(body["max_output_tokens"], 128_000);
    assert_eq!(body["stream"], false);
    assert_eq!(
        warnings.as_deref(),
        Some("clamped=max_output_tokens(200000->128000)")
    );

    for (format, expected) in [
        (ResponseFormat::Text, json!({"type": "text"})),
        (ResponseFormat::JsonObject, json!({"type": "json_object"})),
        (
            ResponseFormat::JsonSchema {
                name: "n".into(),
                schema: json!({}),
                strict: None,
                description: Some("d".into()),
            },
            json!({"type": "json_schema", "name": "n", "schema": {}, "description": "d"}),
        ),
    ] {
        let request = ChatRequest {
            response_format: Some(format),
            ..ChatRequest::default()
        };
        assert_eq!(
            encode(&request, &target(true)).0["text"],
            json!({"format": expected})
        );
    }
}

#[test]
fn codex_request_survives_decode_then_encode() {
    let body = json!({
        "model": "gpt-5-codex",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAnative"},
            {"type": "function_call", "namespace": "web_run", "name": "run", "arguments": "{}", "call_id": "call_1"},
            {"type": "function_call_output", "call_id": "call_1", "output": "done"}
        ],
        "tools": [{"type": "namespace", "name": "web_run", "description": "d", "tools": [{"type": "function", "name": "run"}]}],
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false, "stream": true, "include": ["reasoning.encrypted_content"]
    });
    let mut warnings = Warnings::new();
    let request = decode_request(body.to_string().as_bytes(), &mut warnings).unwrap();
    let (encoded, warnings) = encode(&request, &target(true));
    assert_eq!(warnings, None);
    assert_eq!(
        encoded["input"],
        json!([
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAnative"},
            {"type": "function_call", "call_id": "call_1", "name": "web_run__run", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "done"}
        ])
    );
    assert_eq!(encoded["instructions"], "You are Codex.");
    assert_eq!(
        encoded["tools"],
        json!([{"type": "function", "name": "web_run__run", "parameters": {"type": "object", "properties": {}}, "strict": false}])
    );
    assert_eq!(
        encoded["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
}
