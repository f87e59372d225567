//! `decode_request` table tests: every input form Codex and the OpenAI SDK send, the errors
//! (with `param`), and what is dropped with a warning.

use crate::canonical::{FileRef, ServerTool, ServerToolKind, ServerToolRecord};
use serde_json::{Value, json};

use crate::canonical::{
    ChatRequest, Document, Effort, Media, MediaSource, Message, Opaque, Part, ReasoningPart,
    ResponseFormat, Role, Thinking, Tool, ToolCall, ToolChoice, ToolKind, ToolResult, Vendor,
};
use crate::error::{ApiError, ErrorKind};
use crate::formats::openai_responses::decode_request;
use crate::translate::Warnings;

fn decode(body: Value) -> (ChatRequest, Option<String>) {
    let mut warnings = Warnings::new();
    let request = decode_request(body.to_string().as_bytes(), &mut warnings)
        .unwrap_or_else(|e| panic!("decode failed: {e:?}"));
    (request, warnings.header_value())
}

fn decode_err(body: &[u8]) -> ApiError {
    let mut warnings = Warnings::new();
    let error = decode_request(body, &mut warnings).expect_err("expected an error");
    assert_eq!(error.kind, ErrorKind::InvalidRequest, "{error:?}");
    assert_eq!(error.status(), 400);
    error
}

fn text(text: &str) -> Part {
    Part::Text(text.into())
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

fn call(id: &str, name: &str, arguments: &str, kind: ToolKind) -> Part {
    Part::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
        kind,
    })
}

fn result(call_id: &str, content: Vec<Part>, kind: ToolKind) -> Part {
    Part::ToolResult(ToolResult {
        call_id: call_id.into(),
        content,
        is_error: false,
        kind,
    })
}

/// A request shaped like Codex 0.169's.
#[test]
fn codex_request() {
    let body = json!({
        "model": "gpt-5-codex",
        "instructions": null,
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>cwd=/repo</environment_context>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix the build"}]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "**Looking**"}, {"type": "summary_text", "text": "at files"}], "content": null, "encrypted_content": "gAAAAABnative"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Running the build."}]},
            {"type": "function_call", "name": "shell", "arguments": "{\"command\":[\"cargo\",\"build\"]}", "call_id": "call_1"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<turn_aborted/>"}]},
            {"type": "function_call_output", "call_id": "call_1", "output": "error[E0425]"},
            {"type": "custom_tool_call", "status": "completed", "call_id": "call_2", "name": "apply_patch", "input": "*** Begin Patch\n*** End Patch\n"},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Success."},
            {"type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "rust"}},
            {"type": "function_call", "namespace": "web_run", "name": "run", "arguments": "{}", "call_id": "call_3"},
            {"type": "function_call_output", "call_id": "call_3", "output": [{"type": "input_text", "text": "page"}, {"type": "input_image", "image_url": "data:image/png;base64,iVBO", "detail": "high"}]}
        ],
        "tools": [
            {"type": "function", "name": "shell", "description": "Runs a shell command.", "strict": false,
             "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}}, "required": ["command"]}},
            {"type": "custom", "name": "apply_patch", "description": "Edit files.", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
            {"type": "namespace", "name": "web_run", "description": "Tools in the web_run namespace.",
             "tools": [{"type": "function", "name": "run", "description": "Run.", "strict": false, "parameters": {"type": "object", "properties": {}}},
                       {"type": "custom", "name": "exec", "description": "Exec."}]},
            {"type": "web_search", "external_web_access": false}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "reasoning": {"effort": "high", "summary": "auto"},
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a2b-thread",
        "client_metadata": {"x-codex-installation-id": "abc"},
        "text": {"verbosity": "low"}
    });
    let (request, warnings) = decode(body.clone());
    assert_eq!(warnings.as_deref(), Some("dropped=text.verbosity"));
    assert_eq!(request.model, "gpt-5-codex");
    assert_eq!(request.system, vec!["You are Codex.".to_owned()]);
    assert_eq!(
        request.messages,
        vec![
            user(vec![text(
                "<environment_context>cwd=/repo</environment_context>"
            )]),
            user(vec![text("Fix the build")]),
            assistant(vec![
                Part::Reasoning(ReasoningPart {
                    text: "**Looking**\n\nat files".into(),
                    opaque: Some(Opaque {
                        vendor: Vendor::OpenAi,
                        data: "gAAAAABnative".into(),
                    }),
                    redacted: false,
                }),
                text("Running the build."),
                call(
                    "call_1",
                    "shell",
                    "{\"command\":[\"cargo\",\"build\"]}",
                    ToolKind::Function
                ),
            ]),
            // The tool result moves up to follow its call; the interleaved message waits.
            user(vec![result(
                "call_1",
                vec![text("error[E0425]")],
                ToolKind::Function
            )]),
            user(vec![text("<turn_aborted/>")]),
            assistant(vec![call(
                "call_2",
                "apply_patch",
                "*** Begin Patch\n*** End Patch\n",
                ToolKind::Custom
            )]),
            user(vec![result(
                "call_2",
                vec![text("Success.")],
                ToolKind::Custom
            )]),
            assistant(vec![
                Part::ServerTool(ServerToolRecord {
                    vendor: Vendor::OpenAi,
                    kind: ServerToolKind::WebSearch,
                    raw: body["input"][10].clone(),
                }),
                call("call_3", "web_run__run", "{}", ToolKind::Function)
            ]),
            user(vec![result(
                "call_3",
                vec![
                    text("page"),
                    Part::Image(Media {
                        source: MediaSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBO".into()
                        },
                        detail: Some("high".into()),
                    })
                ],
                ToolKind::Function
            )]),
        ]
    );
    assert_eq!(
        request.tools,
        vec![
            Tool::Function {
                name: "shell".into(),
                description: Some("Runs a shell command.".into()),
                parameters: body["tools"][0]["parameters"].clone(),
                strict: Some(false),
            },
            Tool::Custom {
                name: "apply_patch".into(),
                description: Some("Edit files.".into()),
                format: Some(
                    json!({"type": "grammar", "syntax": "lark", "definition": "start: x"})
                ),
            },
            Tool::Function {
                name: "web_run__run".into(),
                description: Some("Run.".into()),
                parameters: json!({"type": "object", "properties": {}}),
                strict: Some(false),
            },
            Tool::Custom {
                name: "web_run__exec".into(),
                description: Some("Exec.".into()),
                format: None,
            },
            Tool::Server(ServerTool {
                unmapped: vec!["external_web_access".into()],
                ..ServerTool::new(
                    ServerToolKind::WebSearch,
                    "web_search",
                    json!({"type": "web_search", "external_web_access": false}),
                )
            }),
        ]
    );
    assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(request.parallel_tool_calls, Some(false));
    assert_eq!(request.thinking, Some(Thinking::Effort(Effort::High)));
    assert!(request.reasoning_summary);
    assert!(request.stream);
    assert_eq!(request.max_output_tokens, None);
    assert_eq!(request.user, None);
    assert_eq!(request.response_format, None);
    // Echo: the request fields the response object repeats, as given.
    let echo = Value::Object(request.client.echo.clone());
    assert_eq!(
        echo,
        json!({
            "tools": body["tools"], "tool_choice": "auto", "reasoning": {"effort": "high", "summary": "auto"},
            "text": {"verbosity": "low"}, "parallel_tool_calls": false, "store": false,
            "prompt_cache_key": "019a2b-thread"
        })
    );
}

#[test]
fn string_input_and_instructions() {
    let (request, warnings) = decode(json!({
        "model": "gpt-4.1", "input": "Hi there", "instructions": "Be brief.",
        "max_output_tokens": 300, "temperature": 0.4, "top_p": 0.9,
        "user": "u-1", "metadata": {"k": "v"}, "truncation": "auto", "service_tier": "flex",
        "previous_response_id": "resp_prev"
    }));
    assert_eq!(warnings, None);
    assert_eq!(request.system, vec!["Be brief.".to_owned()]);
    assert_eq!(request.messages, vec![user(vec![text("Hi there")])]);
    assert_eq!(request.max_output_tokens, Some(300));
    assert_eq!(request.temperature, Some(0.4));
    assert_eq!(request.top_p, Some(0.9));
    assert_eq!(request.user.as_deref(), Some("u-1"));
    assert!(!request.stream);
    assert_eq!(
        Value::Object(request.client.echo),
        json!({"instructions": "Be brief.", "temperature": 0.4, "top_p": 0.9, "max_output_tokens": 300,
               "metadata": {"k": "v"}, "previous_response_id": "resp_prev", "truncation": "auto",
               "user": "u-1", "service_tier": "flex"})
    );
    // safety_identifier wins over user.
    let (request, _) =
        decode(json!({"model": "m", "input": "x", "user": "a", "safety_identifier": "b"}));
    assert_eq!(request.user.as_deref(), Some("b"));
}

#[test]
fn content_part_forms() {
    let (request, warnings) = decode(json!({
        "model": "m",
        "input": [
            {"role": "user", "content": "easy form without type"},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "low"},
                {"type": "input_image", "image_url": "https://example.com/cat.png"},
                {"type": "input_image", "file_id": "file-img1", "detail": "auto"},
                {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0x", "filename": "spec.pdf"},
                {"type": "input_file", "file_data": "aGVsbG8=", "filename": "notes.txt"},
                {"type": "input_file", "file_url": "https://example.com/paper.pdf"},
                {"type": "input_file", "file_id": "file-doc1"},
                {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}}
            ]},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "Sure.", "annotations": []},
                {"type": "output_text", "text": ""},
                {"type": "refusal", "refusal": "Not that."}
            ]},
            {"type": "message", "role": "assistant", "content": "plain assistant string"}
        ]
    }));
    assert_eq!(warnings.as_deref(), Some("dropped=content(input_audio)"));
    let image = |source, detail: Option<&str>| {
        Part::Image(Media {
            source,
            detail: detail.map(str::to_owned),
        })
    };
    let document = |source, filename: Option<&str>| {
        Part::Document(Document {
            source,
            filename: filename.map(str::to_owned),
            title: None,
        })
    };
    assert_eq!(
        request.messages,
        vec![
            user(vec![text("easy form without type")]),
            user(vec![
                text("look"),
                image(
                    MediaSource::Base64 {
                        media_type: "image/jpeg".into(),
                        data: "/9j/4AAQ".into()
                    },
                    Some("low")
                ),
                image(MediaSource::Url("https://example.com/cat.png".into()), None),
                image(
                    MediaSource::FileId(FileRef::new(
                        "file-img1",
                        Vendor::OpenAi,
                        "input[1].content[3]"
                    )),
                    Some("auto")
                ),
                document(
                    MediaSource::Base64 {
                        media_type: "application/pdf".into(),
                        data: "JVBERi0x".into()
                    },
                    Some("spec.pdf")
                ),
                document(
                    MediaSource::Base64 {
                        media_type: "text/plain".into(),
                        data: "aGVsbG8=".into()
                    },
                    Some("notes.txt")
                ),
                document(
                    MediaSource::Url("https://example.com/paper.pdf".into()),
                    None
                ),
                document(
                    MediaSource::FileId(FileRef::new(
                        "file-doc1",
                        Vendor::OpenAi,
                        "input[1].content[7]"
                    )),
                    None
                ),
            ]),
            // Consecutive assistant messages are one turn; empty text is dropped.
            assistant(vec![
                text("Sure."),
                Part::Refusal("Not that.".into()),
                text("plain assistant string"),
            ]),
        ]
    );
}

#[test]
fn system_and_developer_placement() {
    let (request, warnings) = decode(json!({
        "model": "m",
        "instructions": "Base instructions.",
        "input": [
            {"role": "system", "content": "Leading system."},
            {"role": "developer", "content": [{"type": "input_text", "text": "Dev one."}, {"type": "input_text", "text": "Dev two."}]},
            {"role": "user", "content": "hello"},
            {"role": "developer", "content": "Later reminder."},
            {"role": "assistant", "content": "ok"},
            {"role": "developer", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}
        ]
    }));
    assert_eq!(
        request.system,
        vec![
            "Base instructions.".to_owned(),
            "Leading system.".to_owned(),
            "Dev one.".to_owned(),
            "Dev two.".to_owned()
        ]
    );
    assert_eq!(
        request.messages,
        vec![
            user(vec![text("hello")]),
            Message {
                role: Role::System,
                parts: vec![text("Later reminder.")]
            },
            assistant(vec![text("ok")]),
        ]
    );
    assert_eq!(warnings.as_deref(), Some("dropped=content(input_image)"));
}

#[test]
fn codex_interleaving_is_reordered() {
    // Parallel calls, a user message between the calls and their outputs.
    let (request, _) = decode(json!({"model": "m", "input": [
        {"role": "user", "content": "go"},
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "b", "name": "f", "arguments": "{}"},
        {"role": "user", "content": "interleaved"},
        {"type": "message", "role": "developer", "content": "also waits"},
        {"type": "function_call_output", "call_id": "b", "output": "B"},
        {"type": "function_call_output", "call_id": "a", "output": "A"},
        {"role": "user", "content": "after"}
    ]}));
    assert_eq!(
        request.messages,
        vec![
            user(vec![text("go")]),
            assistant(vec![
                call("a", "f", "{}", ToolKind::Function),
                call("b", "f", "{}", ToolKind::Function)
            ]),
            user(vec![
                result("b", vec![text("B")], ToolKind::Function),
                result("a", vec![text("A")], ToolKind::Function)
            ]),
            user(vec![text("interleaved")]),
            Message {
                role: Role::System,
                parts: vec![text("also waits")]
            },
            user(vec![text("after")]),
        ]
    );

    // An output that never comes: the waiting message is released when the model speaks.
    let (request, _) = decode(json!({"model": "m", "input": [
        {"type": "function_call", "call_id": "lost", "name": "f", "arguments": "{}"},
        {"role": "user", "content": "never answered"},
        {"role": "assistant", "content": "moving on"},
        {"type": "function_call_output", "call_id": "orphan", "output": "late"}
    ]}));
    assert_eq!(
        request.messages,
        vec![
            assistant(vec![call("lost", "f", "{}", ToolKind::Function)]),
            user(vec![text("never answered")]),
            assistant(vec![text("moving on")]),
            user(vec![result(
                "orphan",
                vec![text("late")],
                ToolKind::Function
            )]),
        ]
    );

    // A call whose output never arrives, at the end: the message still comes out.
    let (request, _) = decode(json!({"model": "m", "input": [
        {"type": "function_call", "call_id": "x", "name": "f", "arguments": "{}"},
        {"role": "user", "content": "tail"}
    ]}));
    assert_eq!(
        request.messages,
        vec![
            assistant(vec![call("x", "f", "{}", ToolKind::Function)]),
            user(vec![text("tail")]),
        ]
    );
}

#[test]
fn assistant_turn_order_is_reasoning_text_calls() {
    let (request, _) = decode(json!({"model": "m", "input": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "first text"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "late thought"}]},
        {"role": "assistant", "content": "second text"}
    ]}));
    assert_eq!(
        request.messages[1],
        assistant(vec![
            Part::Reasoning(ReasoningPart {
                text: "late thought".into(),
                opaque: None,
                redacted: false
            }),
            text("first text"),
            text("second text"),
            call("c", "f", "{}", ToolKind::Function),
        ])
    );
}

#[test]
fn reasoning_items() {
    let anthropic = Opaque {
        vendor: Vendor::Anthropic,
        data: "EqQBsig".into(),
    }
    .to_client(Some(Vendor::OpenAi), Some("Exact thinking text."));
    let (request, _) = decode(json!({"model": "m", "input": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Summary differs"}], "encrypted_content": anthropic},
        {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "raw a"}, {"type": "reasoning_text", "text": "raw b"}]},
        {"type": "reasoning", "summary": [], "encrypted_content": null},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAsigonly"}
    ]}));
    assert_eq!(
        request.messages,
        vec![assistant(vec![
            Part::Reasoning(ReasoningPart {
                text: "Exact thinking text.".into(),
                opaque: Some(Opaque {
                    vendor: Vendor::Anthropic,
                    data: "EqQBsig".into()
                }),
                redacted: false,
            }),
            Part::Reasoning(ReasoningPart {
                text: "raw a\n\nraw b".into(),
                opaque: None,
                redacted: false,
            }),
            Part::Reasoning(ReasoningPart {
                text: String::new(),
                opaque: Some(Opaque {
                    vendor: Vendor::OpenAi,
                    data: "gAAAAsigonly".into()
                }),
                redacted: false,
            }),
        ])]
    );
}

#[test]
fn reasoning_and_format_controls() {
    for (effort, expected) in [
        ("none", Effort::None),
        ("minimal", Effort::Minimal),
        ("low", Effort::Low),
        ("medium", Effort::Medium),
        ("high", Effort::High),
        ("xhigh", Effort::XHigh),
    ] {
        let (request, _) =
            decode(json!({"model": "m", "input": "x", "reasoning": {"effort": effort}}));
        assert_eq!(
            request.thinking,
            Some(Thinking::Effort(expected)),
            "{effort}"
        );
        assert!(!request.reasoning_summary);
    }
    for summary in ["auto", "concise", "detailed"] {
        let (request, _) =
            decode(json!({"model": "m", "input": "x", "reasoning": {"summary": summary}}));
        assert_eq!(request.thinking, None);
        assert!(request.reasoning_summary, "{summary}");
    }
    let (request, _) = decode(
        json!({"model": "m", "input": "x", "reasoning": {"effort": null, "generate_summary": "concise"}}),
    );
    assert!(request.reasoning_summary);

    let error = decode_err(br#"{"model":"m","input":"x","reasoning":{"effort":"extreme"}}"#);
    assert_eq!(error.param.as_deref(), Some("reasoning.effort"));

    let formats = [
        (json!({"type": "text"}), ResponseFormat::Text),
        (json!({"type": "json_object"}), ResponseFormat::JsonObject),
        (
            json!({"type": "json_schema", "name": "plan", "schema": {"type": "object"}, "strict": true, "description": "A plan"}),
            ResponseFormat::JsonSchema {
                name: "plan".into(),
                schema: json!({"type": "object"}),
                strict: Some(true),
                description: Some("A plan".into()),
            },
        ),
    ];
    for (format, expected) in formats {
        let (request, warnings) =
            decode(json!({"model": "m", "input": "x", "text": {"format": format}}));
        assert_eq!(request.response_format, Some(expected));
        assert_eq!(warnings, None);
    }
    let error = decode_err(
        br#"{"model":"m","input":"x","text":{"format":{"type":"json_schema","schema":{}}}}"#,
    );
    assert_eq!(error.param.as_deref(), Some("text.format.name"));
}

#[test]
fn tool_and_tool_choice_forms() {
    let (request, warnings) = decode(json!({"model": "m", "input": "x", "tools": [
        {"type": "function", "name": "no_params"},
        {"type": "function", "name": "strict_one", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}, "strict": true},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "mcp", "server_label": "gh", "server_url": "https://mcp.example"},
        {"type": "namespace", "name": "mcp__github__", "tools": [{"type": "function", "name": "search"}, {"type": "web_search"}]}
    ]}));
    assert_eq!(
        warnings.as_deref(),
        Some("dropped=tools(namespace.web_search)")
    );
    assert_eq!(
        request.tools,
        vec![
            Tool::Function {
                name: "no_params".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
                strict: None,
            },
            Tool::Function {
                name: "strict_one".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {"a": {"type": "string"}}}),
                strict: Some(true),
            },
            Tool::Builtin {
                kind: "file_search".into(),
                raw: json!({"type": "file_search", "vector_store_ids": ["vs_1"]}),
            },
            Tool::Builtin {
                kind: "mcp".into(),
                raw: json!({"type": "mcp", "server_label": "gh", "server_url": "https://mcp.example"}),
            },
            Tool::Function {
                name: "mcp__github__search".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
                strict: None,
            },
        ]
    );

    let choices = [
        (json!("none"), ToolChoice::None, None),
        (json!("auto"), ToolChoice::Auto, None),
        (json!("required"), ToolChoice::Required, None),
        (
            json!({"type": "function", "name": "f"}),
            ToolChoice::Named("f".into()),
            None,
        ),
        (
            json!({"type": "custom", "name": "apply_patch"}),
            ToolChoice::Named("apply_patch".into()),
            None,
        ),
        (
            json!({"type": "web_search_preview"}),
            ToolChoice::Named("web_search".into()),
            None,
        ),
        (
            json!({"type": "mcp", "server_label": "gh"}),
            ToolChoice::Named("mcp".into()),
            None,
        ),
        (
            json!({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "f"}]}),
            ToolChoice::Required,
            Some("dropped=tool_choice.allowed_tools"),
        ),
        (
            json!({"type": "allowed_tools", "mode": "auto", "tools": []}),
            ToolChoice::Auto,
            Some("dropped=tool_choice.allowed_tools"),
        ),
    ];
    for (choice, expected, warning) in choices {
        let (request, warnings) =
            decode(json!({"model": "m", "input": "x", "tool_choice": choice}));
        assert_eq!(request.tool_choice, Some(expected), "{choice}");
        assert_eq!(warnings.as_deref(), warning, "{choice}");
    }
    let (request, _) = decode(json!({"model": "m", "input": "x", "tool_choice": null}));
    assert_eq!(request.tool_choice, None);
}

#[test]
fn errors_name_the_field() {
    let cases: [(&[u8], Option<&str>); 22] = [
        (b"{\"model\":", None),
        (b"[1,2]", None),
        (br#"{"model":5,"input":"x"}"#, Some("model")),
        (br#"{"input":"x"}"#, Some("model")),
        (br#"{"model":"m"}"#, Some("input")),
        (br#"{"model":"m","input":null}"#, Some("input")),
        (br#"{"model":"m","input":5}"#, Some("input")),
        (br#"{"model":"m","input":[{"content":"x"}]}"#, Some("input[0].type")),
        (br#"{"model":"m","input":["x"]}"#, Some("input[0]")),
        (br#"{"model":"m","input":[{"type":"message","content":"x"}]}"#, Some("input[0].role")),
        (br#"{"model":"m","input":[{"role":"tool","content":"x"}]}"#, Some("input[0].role")),
        (br#"{"model":"m","input":[{"role":"user","content":5}]}"#, Some("input[0].content")),
        (br#"{"model":"m","input":[{"role":"user","content":[{"text":"x"}]}]}"#, Some("input[0].content[0].type")),
        (br#"{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":7}]}]}"#, Some("input[0].content[0].text")),
        (br#"{"model":"m","input":[{"role":"user","content":[{"type":"input_image","detail":"low"}]}]}"#, Some("input[0].content[0].image_url")),
        (br#"{"model":"m","input":[{"role":"user","content":[{"type":"input_file"}]}]}"#, Some("input[0].content[0].file_data")),
        (br#"{"model":"m","input":[{"role":"user","content":"a"},{"type":"function_call","name":"f","arguments":"{}"}]}"#, Some("input[1].call_id")),
        (br#"{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":{"a":1}}]}"#, Some("input[0].output")),
        (br#"{"model":"m","input":"x","tools":[{"name":"f"}]}"#, Some("tools[0].type")),
        (br#"{"model":"m","input":"x","tools":[{"type":"function","name":"f","parameters":"no"}]}"#, Some("tools[0].parameters")),
        (br#"{"model":"m","input":"x","tool_choice":"always"}"#, Some("tool_choice")),
        (br#"{"model":"m","input":"x","max_output_tokens":"lots"}"#, Some("max_output_tokens")),
    ];
    for (body, param) in cases {
        let error = decode_err(body);
        assert_eq!(
            error.param.as_deref(),
            param,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let error = decode_err(br#"{"model":"m","input":"x","tools":[{"type":"function"}]}"#);
    assert_eq!(error.param.as_deref(), Some("tools[0].name"));
    assert_eq!(
        error.message,
        "Missing required parameter: 'tools[0].name'."
    );
}

#[test]
fn server_side_state_is_refused() {
    for (body, param) in [
        (
            json!({"model": "m", "input": "x", "background": true}),
            "background",
        ),
        (
            json!({"model": "m", "input": "x", "conversation": "conv_1"}),
            "conversation",
        ),
        (
            json!({"model": "m", "input": "x", "prompt": {"id": "pmpt_1"}}),
            "prompt",
        ),
        (
            json!({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}),
            "input[0]",
        ),
    ] {
        let error = decode_err(body.to_string().as_bytes());
        assert_eq!(error.param.as_deref(), Some(param));
    }
    // `background: false` and a null conversation are fine; previous_response_id is echoed.
    let (request, _) = decode(
        json!({"model": "m", "input": "x", "background": false, "conversation": null,
                                     "previous_response_id": "resp_1"}),
    );
    assert_eq!(
        request.client.echo.get("previous_response_id"),
        Some(&json!("resp_1"))
    );
}

#[test]
fn unknown_items_and_parts_are_dropped_with_a_warning() {
    let (request, warnings) = decode(json!({"model": "m", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_video", "url": "v"}]},
        {"type": "tool_search_call", "call_id": "t", "arguments": {}},
        {"type": "additional_tools", "tools": []},
        {"type": "local_shell_call", "call_id": "l", "status": "completed", "action": {}},
        {"type": "local_shell_call", "call_id": "l2", "status": "completed", "action": {}},
        {"type": "function_call_output", "call_id": "l", "output": "shell output"},
        {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_text", "text": "t"}, {"type": "computer_screenshot", "image_url": "x"}]}
    ]}));
    assert_eq!(
        warnings.as_deref(),
        Some(
            "dropped=content(input_video),input(tool_search_call),input(additional_tools),input(local_shell_call),input(function_call_output),content(computer_screenshot)"
        )
    );
    assert_eq!(
        request.messages,
        vec![
            user(vec![text("a")]),
            user(vec![result("c", vec![text("t")], ToolKind::Function)]),
        ]
    );
}
