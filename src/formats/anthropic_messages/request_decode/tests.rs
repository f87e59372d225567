//! Table tests of `decode_request`: every input form, the errors and their `param`, and the
//! warnings for what is dropped.

use crate::canonical::{FileRef, ServerToolRecord, Vendor};
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
            "dropped=context_management,content(image),content(search_result),content(tool_reference)"
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
            Tool::Server(ServerTool {
                max_uses: Some(5),
                ..ServerTool::new(
                    ServerToolKind::WebSearch,
                    "web_search_20250305",
                    json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5})
                )
            }),
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
                        source: MediaSource::FileId(FileRef::new(
                            "file_011",
                            Vendor::Anthropic,
                            "messages[0].content[3].source"
                        )),
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
                    Part::ServerTool(ServerToolRecord {
                        vendor: Vendor::Anthropic,
                        kind: ServerToolKind::WebSearch,
                        raw: json!({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}})
                    }),
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
            minimal(json!({"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]})),
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

#[test]
fn claude_codes_attribution_block_is_kept_out_of_the_system_prompt() {
    let billing =
        "x-anthropic-billing-header: cc_version=2.1.300.47e; cc_entrypoint=cli; cch=a7754;";
    let (request, _) = ok(minimal(json!({"system": [
        {"type": "text", "text": billing},
        {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]})));
    assert_eq!(request.attribution.as_deref(), Some(billing));
    assert_eq!(request.system, vec!["You are Claude Code.".to_string()]);
    // Only in first place: the same words later are the user's own system text.
    let (request, _) = ok(minimal(json!({"system": [
        {"type": "text", "text": "You are Claude Code."},
        {"type": "text", "text": billing}
    ]})));
    assert_eq!(request.attribution, None);
    assert_eq!(request.system.len(), 2);
}
