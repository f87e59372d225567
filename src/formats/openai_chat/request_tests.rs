//! Request codec tables: every documented input form, the errors, and the exact upstream
//! bodies with their warnings.

use crate::canonical::{FileRef, Vendor};
use serde_json::{Value, json};

use super::{decode_request, encode_request};
use crate::canonical::{
    ChatRequest, ClientOptions, Document, Effort, Media, MediaSource, Message, Part, ReasoningPart,
    ResponseFormat, Role, Thinking, Tool, ToolCall, ToolChoice, ToolKind, ToolResult,
};
use crate::error::{ApiError, ErrorKind};
use crate::formats::{MaxTokensParam, UpstreamTarget};
use crate::translate::Warnings;

fn decode(body: Value) -> (ChatRequest, Option<String>) {
    let mut warnings = Warnings::new();
    let request = decode_request(body.to_string().as_bytes(), &mut warnings)
        .unwrap_or_else(|e| panic!("{body}: {e:?}"));
    (request, warnings.header_value())
}

fn decode_err(body: &str) -> ApiError {
    let error = decode_request(body.as_bytes(), &mut Warnings::new()).expect_err(body);
    assert_eq!(error.kind, ErrorKind::InvalidRequest, "{body}");
    error
}

fn user(text: &str) -> Message {
    Message {
        role: Role::User,
        parts: vec![Part::Text(text.into())],
    }
}

fn text(text: &str) -> Part {
    Part::Text(text.into())
}

fn call(id: &str, name: &str, arguments: &str) -> Part {
    Part::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
        kind: ToolKind::Function,
    })
}

fn result(call_id: &str, content: Vec<Part>) -> Part {
    Part::ToolResult(ToolResult {
        call_id: call_id.into(),
        content,
        is_error: false,
        kind: ToolKind::Function,
    })
}

// ----------------------------------------------------------------------------------------------
// Decoding
// ----------------------------------------------------------------------------------------------

#[test]
fn decode_minimal_request() {
    let (request, warnings) =
        decode(json!({"model":"gpt-4.1","messages":[{"role":"user","content":"Hi"}]}));
    assert_eq!(
        request,
        ChatRequest {
            model: "gpt-4.1".into(),
            messages: vec![user("Hi")],
            ..ChatRequest::default()
        }
    );
    assert_eq!(warnings, None);
}

#[test]
fn decode_full_conversation() {
    let (request, warnings) = decode(json!({
        "model": "gpt-4.1",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Use tools."}, {"type": "text", "text": "Be kind."}]},
            {"role": "user", "name": "ann", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"}},
                {"type": "file", "file": {"file_id": "file-abc123"}}
            ]},
            {"role": "assistant", "reasoning_content": "Need the weather.", "content": "Checking.",
             "refusal": "Not that part.",
             "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "custom", "custom": {"name": "apply_patch", "input": "*** Begin"}}
             ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "applied"}]},
            {"role": "user", "content": "Thanks"},
            {"role": "developer", "content": "Now summarise."},
            {"role": "assistant", "content": [{"type": "text", "text": "Done"}, {"type": "refusal", "refusal": "no"}]},
            {"role": "assistant", "content": null}
        ],
        "max_completion_tokens": 1000,
        "max_tokens": 5,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": "END",
        "stream": true,
        "stream_options": {"include_usage": true},
        "parallel_tool_calls": false,
        "reasoning_effort": "high",
        "safety_identifier": "user-hash",
        "user": "legacy-user"
    }));
    assert_eq!(warnings, None);
    assert_eq!(
        request,
        ChatRequest {
            model: "gpt-4.1".into(),
            system: vec![
                "You are terse.".into(),
                "Use tools.".into(),
                "Be kind.".into()
            ],
            messages: vec![
                Message {
                    role: Role::User,
                    parts: vec![
                        text("What is this?"),
                        Part::Image(Media {
                            source: MediaSource::Base64 {
                                media_type: "image/png".into(),
                                data: "iVBORw0K".into()
                            },
                            detail: Some("high".into())
                        }),
                        Part::Image(Media {
                            source: MediaSource::Url("https://example.com/cat.jpg".into()),
                            detail: None
                        }),
                        Part::Document(Document {
                            source: MediaSource::Base64 {
                                media_type: "application/pdf".into(),
                                data: "JVBERi0x".into()
                            },
                            filename: Some("a.pdf".into()),
                            title: None
                        }),
                        Part::Document(Document {
                            source: MediaSource::FileId(FileRef::new(
                                "file-abc123",
                                Vendor::OpenAi,
                                "messages[2].content[4]"
                            )),
                            filename: None,
                            title: None
                        }),
                    ]
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![
                        Part::Reasoning(ReasoningPart {
                            text: "Need the weather.".into(),
                            opaque: None,
                            redacted: false
                        }),
                        text("Checking."),
                        Part::Refusal("Not that part.".into()),
                        call("call_1", "get_weather", "{\"city\":\"Paris\"}"),
                        Part::ToolCall(ToolCall {
                            id: "call_2".into(),
                            name: "apply_patch".into(),
                            arguments: "*** Begin".into(),
                            kind: ToolKind::Custom
                        }),
                    ]
                },
                Message {
                    role: Role::User,
                    parts: vec![
                        result("call_1", vec![text("sunny")]),
                        Part::ToolResult(ToolResult {
                            call_id: "call_2".into(),
                            content: vec![text("applied")],
                            is_error: false,
                            kind: ToolKind::Custom
                        }),
                        text("Thanks"),
                    ]
                },
                Message {
                    role: Role::System,
                    parts: vec![text("Now summarise.")]
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![text("Done"), Part::Refusal("no".into())]
                },
            ],
            max_output_tokens: Some(1000),
            temperature: Some(0.2),
            top_p: Some(0.9),
            stop_sequences: vec!["END".into()],
            stream: true,
            parallel_tool_calls: Some(false),
            thinking: Some(Thinking::Effort(Effort::High)),
            reasoning_summary: true,
            user: Some("user-hash".into()),
            client: ClientOptions {
                include_usage: true,
                ..ClientOptions::default()
            },
            ..ChatRequest::default()
        }
    );
}

#[test]
fn decode_legacy_function_messages_and_openrouter_reasoning() {
    let (request, _) = decode(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "reasoning": "use lookup",
             "function_call": {"name": "lookup", "arguments": {"city": "Oslo"}}},
            {"role": "function", "name": "lookup", "content": "rain"}
        ],
        "functions": [{"name": "lookup", "description": "Look up weather"}],
        "function_call": {"name": "lookup"}
    }));
    assert_eq!(
        request.messages,
        vec![
            user("weather?"),
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Reasoning(ReasoningPart {
                        text: "use lookup".into(),
                        opaque: None,
                        redacted: false
                    }),
                    call("call_legacy_1", "lookup", "{\"city\":\"Oslo\"}"),
                ]
            },
            Message {
                role: Role::User,
                parts: vec![result("call_legacy_1", vec![text("rain")])]
            },
        ]
    );
    assert_eq!(
        request.tools,
        vec![Tool::Function {
            name: "lookup".into(),
            description: Some("Look up weather".into()),
            parameters: json!({"type":"object","properties":{}}),
            strict: None
        }]
    );
    assert_eq!(
        request.tool_choice,
        Some(ToolChoice::Named("lookup".into()))
    );
}

#[test]
fn decode_tools_table() {
    let (request, warnings) = decode(json!({
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "tools": [
            {"type": "function", "function": {"name": "a", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}, "strict": true}},
            {"type": "function", "function": {"name": "b", "description": "no params"}},
            {"type": "custom", "custom": {"name": "apply_patch", "description": "Patch files", "format": {"type": "grammar", "grammar": {"syntax": "lark", "definition": "start: /.+/"}}}},
            {"type": "web_search"}
        ]
    }));
    assert_eq!(
        request.tools,
        vec![
            Tool::Function {
                name: "a".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}),
                strict: Some(true)
            },
            Tool::Function {
                name: "b".into(),
                description: Some("no params".into()),
                parameters: json!({"type": "object", "properties": {}}),
                strict: None
            },
            Tool::Custom {
                name: "apply_patch".into(),
                description: Some("Patch files".into()),
                format: Some(
                    json!({"type": "grammar", "grammar": {"syntax": "lark", "definition": "start: /.+/"}})
                )
            },
        ]
    );
    assert_eq!(warnings.as_deref(), Some("dropped=tool(web_search)"));
}

#[test]
fn decode_tool_choice_table() {
    let cases = [
        (json!("none"), Some(ToolChoice::None), None),
        (json!("auto"), Some(ToolChoice::Auto), None),
        (json!("required"), Some(ToolChoice::Required), None),
        (
            json!({"type": "function", "function": {"name": "a"}}),
            Some(ToolChoice::Named("a".into())),
            None,
        ),
        (
            json!({"type": "custom", "custom": {"name": "apply_patch"}}),
            Some(ToolChoice::Named("apply_patch".into())),
            None,
        ),
        (
            json!({"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "a"}}]}}),
            Some(ToolChoice::Required),
            Some("converted=tool_choice(allowed_tools->required)"),
        ),
        (
            json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}}),
            Some(ToolChoice::Auto),
            Some("converted=tool_choice(allowed_tools->auto)"),
        ),
        (
            json!({"type": "file_search"}),
            None,
            Some("dropped=tool_choice(file_search)"),
        ),
    ];
    for (choice, expected, warning) in cases {
        let (request, warnings) = decode(
            json!({"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":choice}),
        );
        assert_eq!(request.tool_choice, expected, "{choice}");
        assert_eq!(warnings.as_deref(), warning, "{choice}");
    }
    let (request, _) = decode(
        json!({"model":"m","messages":[{"role":"user","content":"x"}],"function_call":"none"}),
    );
    assert_eq!(request.tool_choice, Some(ToolChoice::None));
}

#[test]
fn decode_reasoning_effort_table() {
    for (value, effort, summary) in [
        ("none", Effort::None, false),
        ("minimal", Effort::Minimal, true),
        ("low", Effort::Low, true),
        ("medium", Effort::Medium, true),
        ("high", Effort::High, true),
        ("xhigh", Effort::XHigh, true),
        ("max", Effort::Max, true),
    ] {
        let (request, _) = decode(
            json!({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":value}),
        );
        assert_eq!(request.thinking, Some(Thinking::Effort(effort)), "{value}");
        assert_eq!(request.reasoning_summary, summary, "{value}");
    }
}

#[test]
fn decode_response_format_table() {
    let cases = [
        (json!({"type": "text"}), Some(ResponseFormat::Text), None),
        (
            json!({"type": "json_object"}),
            Some(ResponseFormat::JsonObject),
            None,
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "answer", "description": "d", "schema": {"type": "object"}, "strict": true}}),
            Some(ResponseFormat::JsonSchema {
                name: "answer".into(),
                schema: json!({"type": "object"}),
                strict: Some(true),
                description: Some("d".into()),
            }),
            None,
        ),
        (
            json!({"type": "grammar"}),
            None,
            Some("dropped=response_format(grammar)"),
        ),
    ];
    for (format, expected, warning) in cases {
        let (request, warnings) = decode(
            json!({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":format}),
        );
        assert_eq!(request.response_format, expected, "{format}");
        assert_eq!(warnings.as_deref(), warning, "{format}");
    }
}

#[test]
fn decode_drops_unknown_parts_and_unsupported_parameters_with_warnings() {
    let (request, warnings) = decode(json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "sys"}, {"type": "image_url", "image_url": {"url": "https://x"}}]},
            {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "input_video", "video": {}}]},
            {"role": "assistant", "content": "ok", "audio": {"id": "audio_1"}},
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "mcp", "mcp": {}}]}
        ],
        "seed": 7, "presence_penalty": 0.5, "frequency_penalty": 0.1, "logit_bias": {"50256": -100},
        "logprobs": true, "top_logprobs": 2, "store": true, "metadata": {"k": "v"}, "service_tier": "flex",
        "prompt_cache_key": "k", "prediction": {"type": "content", "content": "x"},
        "web_search_options": {}, "verbosity": "low", "n": 1
    }));
    assert_eq!(request.system, vec!["sys".to_string()]);
    assert_eq!(
        request.prompt_cache_key.as_deref(),
        Some("k"),
        "carried, not dropped"
    );
    assert_eq!(
        request.messages,
        vec![
            user("hi"),
            Message {
                role: Role::Assistant,
                parts: vec![text("ok")]
            }
        ]
    );
    assert_eq!(
        warnings.as_deref(),
        Some(
            "dropped=seed,presence_penalty,frequency_penalty,logit_bias,logprobs,top_logprobs,\
             store,metadata,service_tier,prediction,web_search_options,verbosity,\
             content_part(image_url),content_part(input_video),assistant_audio,tool_call(mcp)"
        )
    );
    // `false` and `null` are not set.
    let (_, warnings) = decode(
        json!({"model":"m","messages":[{"role":"user","content":"x"}],"store":false,"logprobs":false,"seed":null}),
    );
    assert_eq!(warnings, None);
}

#[test]
fn decode_errors_name_the_field() {
    let cases = [
        (
            r#"{"model":"m","messages":"#,
            None,
            "The request body is not valid JSON: EOF while parsing a value at line 1 column 24",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}]} trailing"#,
            None,
            "The request body is not valid JSON: trailing characters at line 1 column 58",
        ),
        ("[]", None, "The request body must be a JSON object."),
        (
            r#"{"messages":[{"role":"user","content":"x"}]}"#,
            Some("model"),
            "Missing required parameter: 'model'.",
        ),
        (
            r#"{"model":"m"}"#,
            Some("messages"),
            "Missing required parameter: 'messages'.",
        ),
        (
            r#"{"model":"m","messages":[]}"#,
            Some("messages"),
            "'messages' must contain at least one message.",
        ),
        (
            r#"{"model":"","messages":[{"role":"user","content":"x"}]}"#,
            Some("model"),
            "'model' must not be empty.",
        ),
        (
            r#"{"model":5,"messages":[]}"#,
            Some("model"),
            "Invalid value for 'model': invalid type: integer `5`, expected a string",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":5}]}"#,
            Some("messages[0].content"),
            "Invalid value for 'messages[0].content': invalid type: integer `5`, expected a string or an array of content parts",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":5}}]}]}"#,
            Some("messages[0].content[0].image_url.url"),
            "Invalid value for 'messages[0].content[0].image_url.url': invalid type: integer `5`, expected a string",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}"#,
            Some("messages[0].content[0].image_url"),
            "Missing required parameter: 'messages[0].content[0].image_url'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}"#,
            Some("messages[0].content[0].image_url.url"),
            "Missing required parameter: 'messages[0].content[0].image_url.url'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}"#,
            Some("messages[0].content[0].text"),
            "Missing required parameter: 'messages[0].content[0].text'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}"#,
            Some("messages[0].content[0].image_url.url"),
            "An image data URL must have the form 'data:<media type>;base64,<data>'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf"}}]}]}"#,
            Some("messages[0].content[0].file"),
            "A file part needs 'file_data' or 'file_id'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}"#,
            Some("messages[0].content[0]"),
            "Audio input is not supported.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user"}]}"#,
            Some("messages[0].content"),
            "Missing required parameter: 'messages[0].content'.",
        ),
        (
            r#"{"model":"m","messages":[{"content":"x"}]}"#,
            Some("messages[0].role"),
            "Missing required parameter: 'messages[0].role'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#,
            Some("messages[0].role"),
            "Unknown role 'robot'; expected system, developer, user, assistant, tool or function.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"tool","content":"r"}]}"#,
            Some("messages[1].tool_call_id"),
            "Missing required parameter: 'messages[1].tool_call_id'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}"#,
            Some("messages[0].tool_calls[0].id"),
            "Missing required parameter: 'messages[0].tool_calls[0].id'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]}]}"#,
            Some("messages[0].tool_calls[0].function.name"),
            "Missing required parameter: 'messages[0].tool_calls[0].function.name'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function"}]}]}"#,
            Some("messages[0].tool_calls[0].function"),
            "Missing required parameter: 'messages[0].tool_calls[0].function'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}"#,
            Some("n"),
            "Only one choice per request is supported ('n' must be 1).",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"modalities":["text","audio"]}"#,
            Some("modalities"),
            "Audio output is not supported.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"audio":{"voice":"alloy","format":"mp3"}}"#,
            Some("audio"),
            "Audio output is not supported.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#,
            Some("temperature"),
            "Invalid value for 'temperature': invalid type: string \"hot\", expected f64",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-1}"#,
            Some("max_tokens"),
            "Invalid value for 'max_tokens': invalid value: integer `-1`, expected u64",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]}"#,
            Some("stop[0]"),
            "Invalid value for 'stop[0]': invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"description":"d"}}]}"#,
            Some("tools[0].function.name"),
            "Missing required parameter: 'tools[0].function.name'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}"#,
            Some("tools[0].function"),
            "Missing required parameter: 'tools[0].function'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"function":{"name":"f"}}]}"#,
            Some("tools[0].type"),
            "Missing required parameter: 'tools[0].type'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"maybe"}"#,
            Some("tool_choice"),
            "Unknown 'tool_choice' value 'maybe'; expected none, auto, required or an object.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{}}}"#,
            Some("tool_choice.function.name"),
            "Missing required parameter: 'tool_choice.function.name'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"any"}}}"#,
            Some("tool_choice.allowed_tools.mode"),
            "'tool_choice.allowed_tools.mode' must be auto or required.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"extreme"}"#,
            Some("reasoning_effort"),
            "Unknown 'reasoning_effort' value 'extreme'; expected none, minimal, low, medium, high, xhigh or max.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}"#,
            Some("response_format.json_schema.name"),
            "Missing required parameter: 'response_format.json_schema.name'.",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}"#,
            Some("response_format.json_schema"),
            "Missing required parameter: 'response_format.json_schema'.",
        ),
    ];
    for (body, param, message) in cases {
        let error = decode_err(body);
        assert_eq!(error.param.as_deref(), param, "{body}");
        assert_eq!(error.message, message, "{body}");
    }
}

// ----------------------------------------------------------------------------------------------
// Encoding
// ----------------------------------------------------------------------------------------------

fn target() -> UpstreamTarget {
    UpstreamTarget {
        model: "gpt-4.1-2025-04-14".into(),
        stream: true,
        max_tokens_param: MaxTokensParam::MaxCompletionTokens,
        default_max_tokens: 4096,
        max_output_tokens: Some(32_768),
        reasoning: true,
        cache_breakpoints: false,
        server_tools: None,
    }
}

fn encode(request: &ChatRequest, target: &UpstreamTarget) -> (Value, Option<String>) {
    let mut warnings = Warnings::new();
    let body = encode_request(request, target, &mut warnings).unwrap_or_else(|e| panic!("{e:?}"));
    (body, warnings.header_value())
}

fn png() -> MediaSource {
    MediaSource::Base64 {
        media_type: "image/png".into(),
        data: "iVBORw0K".into(),
    }
}

#[test]
fn encode_every_canonical_feature() {
    let request = ChatRequest {
        model: "client-model".into(),
        system: vec!["You are terse.".into(), "Use tools.".into()],
        messages: vec![
            Message {
                role: Role::User,
                parts: vec![
                    text("Compare these."),
                    Part::Image(Media {
                        source: png(),
                        detail: Some("low".into()),
                    }),
                    Part::Image(Media {
                        source: MediaSource::Url("https://example.com/b.jpg".into()),
                        detail: None,
                    }),
                    Part::Document(Document {
                        source: MediaSource::Base64 {
                            media_type: "application/pdf".into(),
                            data: "JVBERi0x".into(),
                        },
                        filename: None,
                        title: Some("report.pdf".into()),
                    }),
                    Part::Document(Document {
                        source: MediaSource::FileId(FileRef::new(
                            "file-abc",
                            Vendor::OpenAi,
                            "messages[0].content[2]",
                        )),
                        filename: None,
                        title: None,
                    }),
                ],
            },
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Reasoning(ReasoningPart {
                        text: "thinking".into(),
                        opaque: None,
                        redacted: false,
                    }),
                    text("Let me look."),
                    call("toolu_1", "get_weather", "{\"city\":\"Paris\"}"),
                    call("toolu_2", "screenshot", ""),
                ],
            },
            Message {
                role: Role::User,
                parts: vec![
                    Part::ToolResult(ToolResult {
                        call_id: "toolu_1".into(),
                        content: vec![text("Timeout"), text("retry later")],
                        is_error: true,
                        kind: ToolKind::Function,
                    }),
                    result(
                        "toolu_2",
                        vec![
                            text("here"),
                            Part::Image(Media {
                                source: png(),
                                detail: None,
                            }),
                        ],
                    ),
                    text("What now?"),
                ],
            },
            Message {
                role: Role::System,
                parts: vec![text("Be brief."), text("Really.")],
            },
            Message {
                role: Role::Assistant,
                parts: vec![Part::Refusal("I can't.".into())],
            },
            Message {
                role: Role::Assistant,
                parts: vec![Part::Reasoning(ReasoningPart::default())],
            },
            user("ok"),
        ],
        max_output_tokens: Some(64_000),
        temperature: Some(2.5),
        top_p: Some(0.95),
        top_k: Some(40),
        stop_sequences: vec!["a", "b", "c", "d", "e", "f"]
            .into_iter()
            .map(String::from)
            .collect(),
        stream: true,
        tools: vec![
            Tool::Function {
                name: "get_weather".into(),
                description: Some("Weather".into()),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
                strict: Some(true),
            },
            Tool::Function {
                name: "screenshot".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
                strict: None,
            },
            Tool::Builtin {
                kind: "web_search_20250305".into(),
                raw: json!({"type": "web_search_20250305", "name": "web_search"}),
            },
        ],
        tool_choice: Some(ToolChoice::Named("get_weather".into())),
        parallel_tool_calls: Some(false),
        thinking: Some(Thinking::Budget(10_000)),
        reasoning_summary: true,
        response_format: Some(ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object"}),
            strict: Some(true),
            description: None,
        }),
        user: Some("user-1".into()),
        prompt_cache_key: Some("conversation-7".into()),
        attribution: None,
        client: ClientOptions::default(),
    };
    let (body, warnings) = encode(&request, &target());
    assert_eq!(
        body,
        json!({
            "model": "gpt-4.1-2025-04-14",
            "messages": [
                {"role": "system", "content": "You are terse.\n\nUse tools."},
                {"role": "user", "content": [
                    {"type": "text", "text": "Compare these."},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/b.jpg"}},
                    {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "report.pdf"}},
                    {"type": "file", "file": {"file_id": "file-abc"}}
                ]},
                {"role": "assistant", "content": "Let me look.", "tool_calls": [
                    {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "toolu_2", "type": "function", "function": {"name": "screenshot", "arguments": "{}"}}
                ]},
                {"role": "tool", "content": "Error: Timeout\nretry later", "tool_call_id": "toolu_1"},
                {"role": "tool", "content": "here", "tool_call_id": "toolu_2"},
                {"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                    {"type": "text", "text": "What now?"}
                ]},
                {"role": "system", "content": "Be brief.\n\nReally."},
                {"role": "assistant", "content": null, "refusal": "I can't."},
                {"role": "user", "content": "ok"}
            ],
            "max_completion_tokens": 32768,
            "temperature": 2.0,
            "top_p": 0.95,
            "stop": ["a", "b", "c", "d"],
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [
                {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}},
                {"type": "function", "function": {"name": "screenshot", "parameters": {"type": "object", "properties": {}}}}
            ],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "parallel_tool_calls": false,
            "reasoning_effort": "high",
            "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}},
            "user": "user-1",
            "prompt_cache_key": "conversation-7"
        })
    );
    assert_eq!(
        warnings.as_deref(),
        Some(
            "dropped=tool(web_search_20250305),top_k; \
             clamped=max_output_tokens(64000->32768),temperature(2.5->2),stop(6->4); \
             converted=tool_result_images->user_message"
        )
    );
}

fn simple(parts: Vec<Part>) -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![Message {
            role: Role::User,
            parts,
        }],
        ..ChatRequest::default()
    }
}

#[test]
fn encode_limits_and_stream_options() {
    let request = ChatRequest {
        max_output_tokens: Some(100),
        stop_sequences: vec!["END".into()],
        ..simple(vec![text("x")])
    };
    let mut non_stream = target();
    non_stream.stream = false;
    non_stream.max_tokens_param = MaxTokensParam::MaxTokens;
    non_stream.max_output_tokens = None;
    let (body, warnings) = encode(&request, &non_stream);
    assert_eq!(
        body,
        json!({"model":"gpt-4.1-2025-04-14","messages":[{"role":"user","content":"x"}],
            "max_tokens":100,"stop":"END","stream":false})
    );
    assert_eq!(warnings, None);
}

#[test]
fn encode_reasoning_table() {
    let cases = [
        (Some(Thinking::Effort(Effort::Low)), true, Some("low"), None),
        (
            Some(Thinking::Effort(Effort::None)),
            true,
            Some("none"),
            None,
        ),
        (Some(Thinking::Budget(1024)), true, Some("low"), None),
        (Some(Thinking::Budget(50_000)), true, Some("xhigh"), None),
        (Some(Thinking::Adaptive(None)), true, Some("medium"), None),
        (
            Some(Thinking::Adaptive(Some(Effort::Max))),
            true,
            Some("max"),
            None,
        ),
        (Some(Thinking::Disabled), true, None, None),
        (None, true, None, None),
        (
            Some(Thinking::Effort(Effort::High)),
            false,
            None,
            Some("dropped=reasoning_effort"),
        ),
        (Some(Thinking::Effort(Effort::None)), false, None, None),
        (Some(Thinking::Disabled), false, None, None),
    ];
    for (thinking, reasoning, effort, warning) in cases {
        let request = ChatRequest {
            thinking,
            ..simple(vec![text("x")])
        };
        let upstream = UpstreamTarget {
            reasoning,
            cache_breakpoints: false,
            server_tools: None,
            ..target()
        };
        let (body, warnings) = encode(&request, &upstream);
        assert_eq!(
            body.get("reasoning_effort").and_then(Value::as_str),
            effort,
            "{thinking:?} {reasoning}"
        );
        assert_eq!(warnings.as_deref(), warning, "{thinking:?} {reasoning}");
    }
}

#[test]
fn encode_tool_choice_table() {
    let function = Tool::Function {
        name: "f".into(),
        description: None,
        parameters: json!({"type":"object","properties":{}}),
        strict: None,
    };
    let custom = Tool::Custom {
        name: "apply_patch".into(),
        description: None,
        format: None,
    };
    let cases = [
        (ToolChoice::None, json!("none")),
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::Required, json!("required")),
        (
            ToolChoice::Named("f".into()),
            json!({"type":"function","function":{"name":"f"}}),
        ),
        (
            ToolChoice::Named("apply_patch".into()),
            json!({"type":"custom","custom":{"name":"apply_patch"}}),
        ),
    ];
    for (choice, expected) in cases {
        let request = ChatRequest {
            tools: vec![function.clone(), custom.clone()],
            tool_choice: Some(choice.clone()),
            ..simple(vec![text("x")])
        };
        let (body, _) = encode(&request, &target());
        assert_eq!(body["tool_choice"], expected, "{choice:?}");
        assert_eq!(
            body["tools"][1],
            json!({"type":"custom","custom":{"name":"apply_patch"}})
        );
        assert!(body.get("parallel_tool_calls").is_none());
    }
    // Without tools, Chat rejects tool_choice: it is left out.
    let request = ChatRequest {
        tool_choice: Some(ToolChoice::Required),
        parallel_tool_calls: Some(true),
        ..simple(vec![text("x")])
    };
    let (body, warnings) = encode(&request, &target());
    assert!(body.get("tool_choice").is_none() && body.get("parallel_tool_calls").is_none());
    assert_eq!(warnings.as_deref(), Some("dropped=tool_choice"));
    let request = ChatRequest {
        tool_choice: Some(ToolChoice::Auto),
        ..simple(vec![text("x")])
    };
    assert_eq!(encode(&request, &target()).1, None);
}

#[test]
fn encode_errors_name_the_field() {
    let builtin = ChatRequest {
        tools: vec![Tool::Builtin {
            kind: "web_search".into(),
            raw: json!({"type":"web_search"}),
        }],
        tool_choice: Some(ToolChoice::Named("web_search".into())),
        ..simple(vec![text("x")])
    };
    let cases = [
        (builtin, "tool_choice"),
        (
            simple(vec![
                text("x"),
                Part::Document(Document {
                    source: MediaSource::Url("https://example.com/a.pdf".into()),
                    filename: None,
                    title: None,
                }),
            ]),
            "messages[0].content[1]",
        ),
        (
            simple(vec![Part::Image(Media {
                source: MediaSource::FileId(FileRef::new(
                    "file-1",
                    Vendor::OpenAi,
                    "messages[0].content[0]",
                )),
                detail: None,
            })]),
            "messages[0].content[0]",
        ),
        (
            simple(vec![result(
                "c",
                vec![Part::Document(Document {
                    source: MediaSource::Url("https://example.com/a.pdf".into()),
                    filename: None,
                    title: None,
                })],
            )]),
            "messages[0].content[0].content[0]",
        ),
    ];
    for (request, param) in cases {
        let error = encode_request(&request, &target(), &mut Warnings::new()).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidRequest, "{param}");
        assert_eq!(error.param.as_deref(), Some(param));
    }
}

#[test]
fn encode_error_results_are_marked_once() {
    for (content, expected) in [
        ("boom", "Error: boom"),
        ("Error: boom", "Error: boom"),
        ("error 42", "error 42"),
        ("  ERROR happened", "  ERROR happened"),
        ("", "Error"),
    ] {
        let request = simple(vec![Part::ToolResult(ToolResult {
            call_id: "c".into(),
            content: if content.is_empty() {
                vec![]
            } else {
                vec![text(content)]
            },
            is_error: true,
            kind: ToolKind::Function,
        })]);
        let (body, _) = encode(&request, &target());
        assert_eq!(
            body["messages"],
            json!([{"role":"tool","content":expected,"tool_call_id":"c"}]),
            "{content}"
        );
    }
}

#[test]
fn encode_custom_calls_and_unplaceable_parts() {
    let request = ChatRequest {
        messages: vec![
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::ToolCall(ToolCall {
                        id: "call_p".into(),
                        name: "apply_patch".into(),
                        arguments: "*** Begin".into(),
                        kind: ToolKind::Custom,
                    }),
                    Part::Image(Media {
                        source: png(),
                        detail: None,
                    }),
                ],
            },
            Message {
                role: Role::User,
                parts: vec![
                    result("call_p", vec![text("done"), Part::Refusal("r".into())]),
                    Part::Reasoning(ReasoningPart::default()),
                ],
            },
            Message {
                role: Role::System,
                parts: vec![Part::Image(Media {
                    source: png(),
                    detail: None,
                })],
            },
        ],
        ..ChatRequest::default()
    };
    let (body, warnings) = encode(&request, &target());
    assert_eq!(
        body["messages"],
        json!([
            {"role":"assistant","content":null,"tool_calls":[{"id":"call_p","type":"custom","custom":{"name":"apply_patch","input":"*** Begin"}}]},
            {"role":"tool","content":"done","tool_call_id":"call_p"}
        ])
    );
    assert_eq!(
        warnings.as_deref(),
        Some("dropped=assistant_image,tool_result_refusal,user_reasoning,system_image")
    );
}

/// A Chat client's request sent to a Chat upstream comes out as it went in, apart from what
/// the gateway decides (model, usage in streams).
#[test]
fn chat_to_chat_round_trip() {
    let body = json!({
        "model": "gpt-4.1-2025-04-14",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in the image?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "auto"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "zoom", "arguments": "{\"x\":1}"}}
            ]},
            {"role": "tool", "content": "zoomed", "tool_call_id": "call_1"},
            {"role": "user", "content": "And now?"}
        ],
        "max_completion_tokens": 500,
        "temperature": 0.7,
        "stop": ["\n\n", "END"],
        "stream": true,
        "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {"name": "zoom", "description": "Zoom in",
            "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}, "strict": false}}],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "reasoning_effort": "minimal",
        "response_format": {"type": "json_object"},
        "user": "u-1"
    });
    let (request, warnings) = decode(body.clone());
    assert_eq!(warnings, None);
    let (encoded, warnings) = encode(&request, &target());
    assert_eq!(warnings, None);
    // The tool result and the user text after it were one canonical turn; they split back.
    assert_eq!(encoded, body);
}

/// Every prefix of a realistic body is either a request or a 400, never a panic.
#[test]
fn truncated_bodies_never_panic() {
    let body = json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": [{"type": "text", "text": "héllo 👋"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,AAAA", "filename": "f.pdf"}}]},
            {"role": "assistant", "content": null, "reasoning_content": "r",
             "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "ok"}
        ],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "stop": ["x"], "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {}}}
    })
    .to_string();
    for end in 0..body.len() {
        if let Some(prefix) = body.get(..end) {
            let result = decode_request(prefix.as_bytes(), &mut Warnings::new());
            assert!(result.is_err(), "prefix {end} decoded");
        }
    }
    assert!(decode_request(body.as_bytes(), &mut Warnings::new()).is_ok());
}
