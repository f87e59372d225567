//! Table tests of `encode_request`: the exact JSON sent upstream and the warnings header.

use crate::canonical::{FileRef, Vendor};
use serde_json::json;

use super::*;
use crate::canonical::{Message, Opaque, ReasoningPart, ToolCall, ToolKind, ToolResult};
use crate::error::ErrorKind;
use crate::formats::MaxTokensParam;

fn target() -> UpstreamTarget {
    UpstreamTarget {
        model: "claude-sonnet-4-5-20250929".into(),
        stream: true,
        max_tokens_param: MaxTokensParam::default(),
        default_max_tokens: 8192,
        max_output_tokens: Some(64_000),
        reasoning: true,
        cache_breakpoints: false,
        server_tools: None,
    }
}

fn encode(request: &ChatRequest) -> (Value, Option<String>) {
    encode_with(request, &target())
}

fn encode_with(request: &ChatRequest, target: &UpstreamTarget) -> (Value, Option<String>) {
    let mut warnings = Warnings::new();
    let body = encode_request(request, target, &mut warnings).unwrap();
    (body, warnings.header_value())
}

fn encode_err(request: &ChatRequest) -> ApiError {
    encode_request(request, &target(), &mut Warnings::new()).unwrap_err()
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

fn text(t: &str) -> Part {
    Part::Text(t.into())
}

fn call(id: &str, arguments: &str) -> Part {
    Part::ToolCall(ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: arguments.into(),
        kind: ToolKind::Function,
    })
}

fn result(id: &str, content: &str) -> Part {
    Part::ToolResult(ToolResult {
        call_id: id.into(),
        content: vec![text(content)],
        is_error: false,
        kind: ToolKind::Function,
    })
}

fn thinking(vendor: Vendor, text: &str, data: &str) -> Part {
    Part::Reasoning(ReasoningPart {
        text: text.into(),
        opaque: Some(Opaque {
            vendor,
            data: data.into(),
        }),
        redacted: false,
    })
}

fn weather_tool() -> Tool {
    Tool::Function {
        name: "get_weather".into(),
        description: Some("Weather for a city".into()),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        strict: Some(false),
    }
}

fn request(messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        model: "public-model".into(),
        messages,
        ..ChatRequest::default()
    }
}

#[test]
fn a_chat_style_request() {
    let mut chat = request(vec![
        user(vec![text("Weather in Paris?")]),
        assistant(vec![
            text("Checking."),
            call("call_1", r#"{"city":"Paris"}"#),
        ]),
        user(vec![result("call_1", "18C"), text("And Tokyo?")]),
    ]);
    chat.system = vec!["Be brief.".into(), "  ".into()];
    chat.max_output_tokens = Some(1000);
    chat.temperature = Some(0.2);
    chat.top_k = Some(5);
    chat.stop_sequences = vec!["END".into(), " \n".into()];
    chat.tools = vec![weather_tool()];
    chat.tool_choice = Some(ToolChoice::Auto);
    chat.parallel_tool_calls = Some(false);
    chat.user = Some("user-42".into());
    let (body, warnings) = encode(&chat);
    assert_eq!(
        warnings.as_deref(),
        Some("dropped=stop_sequences(whitespace)")
    );
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 1000,
            "system": [{"type": "text", "text": "Be brief."}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "18C"}]},
                    {"type": "text", "text": "And Tokyo?"}
                ]}
            ],
            "temperature": 0.2,
            "top_k": 5,
            "stop_sequences": ["END"],
            "tools": [{"name": "get_weather", "description": "Weather for a city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
            "metadata": {"user_id": "user-42"},
            "stream": true
        })
    );
}

#[test]
fn turns_are_merged_hoisted_ordered_and_never_empty() {
    let conversation = request(vec![
        user(vec![text("a")]),
        Message {
            role: Role::System,
            parts: vec![
                text("<reminder>"),
                Part::Image(Media {
                    source: MediaSource::Url("https://x.test/i.png".into()),
                    detail: None,
                }),
            ],
        },
        user(vec![text("b"), text("")]),
        assistant(vec![text("   ")]),
        assistant(vec![
            text("Let me look."),
            call("t1", ""),
            thinking(Vendor::Anthropic, "plan", "sig-a"),
            Part::Refusal("no".into()),
        ]),
        user(vec![text("more"), result("t1", "ok")]),
        assistant(vec![text("The answer is "), text(" \n")]),
    ]);
    let (body, warnings) = encode(&conversation);
    assert_eq!(warnings.as_deref(), Some("dropped=system(non-text)"));
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "<reminder>"}])
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "plan", "signature": "sig-a"},
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}},
                {"type": "text", "text": "no"}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "ok"}]},
                {"type": "text", "text": "more"}
            ]},
            {"role": "assistant", "content": [{"type": "text", "text": "The answer is"}]}
        ])
    );
    let (body, _) = encode(&request(vec![user(vec![text(" ")])]));
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "."}]}])
    );
    assert_eq!(body["max_tokens"], 8192);
}

#[test]
fn reasoning_parts_are_replayed_only_to_their_vendor() {
    let conversation = request(vec![
        user(vec![text("q")]),
        assistant(vec![
            thinking(Vendor::Anthropic, "exact\ntext ", "EqQB"),
            Part::Reasoning(ReasoningPart {
                text: String::new(),
                opaque: Some(Opaque {
                    vendor: Vendor::Anthropic,
                    data: "EmwK".into(),
                }),
                redacted: true,
            }),
            thinking(Vendor::OpenAi, "summary", "gAAAA"),
            thinking(Vendor::Gateway, "chat reasoning", ""),
            Part::Reasoning(ReasoningPart::default()),
            text("a"),
        ]),
        user(vec![text("q2")]),
    ]);
    let (body, warnings) = encode(&conversation);
    assert_eq!(
        warnings.as_deref(),
        Some("dropped=reasoning(not-anthropic)")
    );
    assert_eq!(
        body["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "exact\ntext ", "signature": "EqQB"},
            {"type": "redacted_thinking", "data": "EmwK"},
            {"type": "text", "text": "a"}
        ])
    );
}

#[test]
fn media_inputs() {
    let media = |source: MediaSource| {
        Part::Image(Media {
            source,
            detail: Some("high".into()),
        })
    };
    let document = |source: MediaSource| {
        Part::Document(Document {
            source,
            filename: Some("notes.pdf".into()),
            title: None,
        })
    };
    let base64 = |media_type: &str, data: &str| MediaSource::Base64 {
        media_type: media_type.into(),
        data: data.into(),
    };
    let conversation = request(vec![
        user(vec![
            media(base64("image/png", "iVBOR")),
            media(MediaSource::Url("https://x.test/a.jpg".into())),
            media(MediaSource::Url("data:image/webp;base64,UklGR".into())),
            document(base64("application/pdf", "JVBER")),
            document(base64("text/plain", "aGVsbG8=")),
            document(MediaSource::Url("https://x.test/spec.pdf".into())),
        ]),
        assistant(vec![call("t1", "{}")]),
        user(vec![Part::ToolResult(ToolResult {
            call_id: "t1".into(),
            content: vec![media(base64("image/gif", "R0lG")), text("")],
            is_error: true,
            kind: ToolKind::Function,
        })]),
    ]);
    let (body, warnings) = encode(&conversation);
    assert_eq!(warnings, None);
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
            {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "UklGR"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}, "title": "notes.pdf"},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hello"}, "title": "notes.pdf"},
            {"type": "document", "source": {"type": "url", "url": "https://x.test/spec.pdf"}, "title": "notes.pdf"}
        ])
    );
    assert_eq!(
        body["messages"][2]["content"],
        json!([{"type": "tool_result", "tool_use_id": "t1", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"}}
        ], "is_error": true}])
    );

    let cases = [
        (media(base64("image/bmp", "Qk0")), "messages[1].content[0]"),
        (
            media(MediaSource::FileId(FileRef::new(
                "file_1",
                Vendor::OpenAi,
                "messages[1].content[0]",
            ))),
            "messages[1].content[0]",
        ),
        (
            document(MediaSource::FileId(FileRef::new(
                "file_1",
                Vendor::OpenAi,
                "messages[1].content[0]",
            ))),
            "messages[1].content[0]",
        ),
        (
            document(base64("application/msword", "0M8R")),
            "messages[1].content[0]",
        ),
        (
            document(base64("text/plain", "@@not base64@@")),
            "messages[1].content[0]",
        ),
        (
            Part::ToolResult(ToolResult {
                call_id: "t".into(),
                content: vec![text("x"), media(base64("image/tiff", "SUkq"))],
                is_error: false,
                kind: ToolKind::Function,
            }),
            "messages[1].content[0].content[1]",
        ),
    ];
    for (part, param) in cases {
        let error = encode_err(&request(vec![
            user(vec![text("x")]),
            user(vec![part.clone()]),
        ]));
        assert_eq!(error.kind, ErrorKind::InvalidRequest, "{part:?}");
        assert_eq!(error.param.as_deref(), Some(param), "{part:?}");
    }
}

#[test]
fn tools_and_tool_choice() {
    let mut with_tools = request(vec![user(vec![text("q")])]);
    with_tools.tools = vec![
        Tool::Function {
            name: "no_type".into(),
            description: None,
            parameters: json!({"properties": {"a": {"type": "string"}}}),
            strict: Some(true),
        },
        Tool::Function {
            name: "union".into(),
            description: None,
            parameters: json!({"anyOf": [{"type": "object"}], "$defs": {"x": {}}}),
            strict: None,
        },
        Tool::Function {
            name: "scalar".into(),
            description: None,
            parameters: json!({"type": "string"}),
            strict: None,
        },
        Tool::Builtin {
            kind: "web_search_20250305".into(),
            raw: json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 3}),
        },
        Tool::Builtin {
            kind: "code_interpreter".into(),
            raw: json!({"type": "code_interpreter", "container": {"type": "auto"}}),
        },
    ];
    with_tools.tool_choice = Some(ToolChoice::None);
    let (body, warnings) = encode(&with_tools);
    assert_eq!(
        warnings.as_deref(),
        Some(
            "dropped=tools(code_interpreter); converted=union.input_schema(object),scalar.input_schema(object)"
        )
    );
    assert_eq!(
        body["tools"],
        json!([
            {"name": "no_type", "input_schema": {"properties": {"a": {"type": "string"}}, "type": "object"}, "strict": true},
            {"name": "union", "input_schema": {"type": "object", "$defs": {"x": {}}, "properties": {}}},
            {"name": "scalar", "input_schema": {"type": "object", "properties": {}}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
        ])
    );
    assert_eq!(body["tool_choice"], json!({"type": "none"}));

    let table = [
        (Some(ToolChoice::Auto), None, Some(json!({"type": "auto"}))),
        (
            Some(ToolChoice::Required),
            Some(false),
            Some(json!({"type": "any", "disable_parallel_tool_use": true})),
        ),
        (
            Some(ToolChoice::Named("get_weather".into())),
            Some(true),
            Some(json!({"type": "tool", "name": "get_weather"})),
        ),
        (
            None,
            Some(false),
            Some(json!({"type": "auto", "disable_parallel_tool_use": true})),
        ),
        (None, None, None),
    ];
    for (choice, parallel, expected) in table {
        let mut req = request(vec![user(vec![text("q")])]);
        req.tools = vec![weather_tool()];
        req.tool_choice = choice.clone();
        req.parallel_tool_calls = parallel;
        let (body, _) = encode(&req);
        assert_eq!(
            body.get("tool_choice").cloned(),
            expected,
            "{choice:?} {parallel:?}"
        );
    }

    // No tools: no tool_choice.
    let mut bare = request(vec![user(vec![text("q")])]);
    bare.tool_choice = Some(ToolChoice::Required);
    assert_eq!(encode(&bare).0.get("tool_choice"), None);

    // Forcing a built-in tool this upstream does not have is an output-shape change.
    let mut forced = with_tools.clone();
    forced.tool_choice = Some(ToolChoice::Named("code_interpreter".into()));
    let error = encode_err(&forced);
    assert_eq!(error.param.as_deref(), Some("tool_choice"));
}

#[test]
fn sampling_limits() {
    let mut req = request(vec![user(vec![text("q")])]);
    req.temperature = Some(1.5);
    req.top_p = Some(0.9);
    req.max_output_tokens = Some(100_000);
    let (body, warnings) = encode(&req);
    assert_eq!(
        warnings.as_deref(),
        Some("dropped=top_p; clamped=max_tokens(100000->64000),temperature(1.5->1)")
    );
    assert_eq!(body["temperature"], json!(1.0));
    assert_eq!(body.get("top_p"), None);
    assert_eq!(body["max_tokens"], 64_000);
    req.temperature = None;
    let (body, _) = encode(&req);
    assert_eq!(body["top_p"], json!(0.9));
}

fn thinking_request(thinking: Thinking) -> ChatRequest {
    let mut req = request(vec![user(vec![text("q")])]);
    req.thinking = Some(thinking);
    req.max_output_tokens = Some(4000);
    req
}

#[test]
fn thinking_budget_and_its_constraints() {
    // Budget below max_tokens: as is; sampling adjusted.
    let mut req = thinking_request(Thinking::Budget(2048));
    req.temperature = Some(0.5);
    req.top_k = Some(10);
    req.top_p = Some(0.5);
    let (body, warnings) = encode(&req);
    assert_eq!(
        warnings.as_deref(),
        Some("dropped=temperature,top_k; clamped=top_p(0.5->0.95)")
    );
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert_eq!(body["max_tokens"], 4000);
    assert_eq!(body["top_p"], json!(0.95));
    assert_eq!(body.get("temperature"), None);
    assert_eq!(body.get("top_k"), None);

    // Budget above max_tokens: max_tokens raised when the model allows it.
    let (body, warnings) = encode(&thinking_request(Thinking::Effort(Effort::High)));
    assert_eq!(warnings.as_deref(), Some("clamped=max_tokens(4000->25600)"));
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 24_576})
    );
    assert_eq!(body["max_tokens"], 25_600);

    // ... else the budget shrinks under the model's limit.
    let mut small = target();
    small.max_output_tokens = Some(8192);
    let (body, warnings) = encode_with(&thinking_request(Thinking::Budget(20_000)), &small);
    assert_eq!(
        warnings.as_deref(),
        Some("clamped=max_tokens(4000->8192),thinking.budget_tokens(20000->7168)")
    );
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 7168})
    );
    assert_eq!(body["max_tokens"], 8192);

    // ... and is switched off when even the minimum does not fit.
    small.max_output_tokens = Some(1024);
    let (body, warnings) = encode_with(&thinking_request(Thinking::Budget(2048)), &small);
    assert_eq!(
        warnings.as_deref(),
        Some("clamped=max_tokens(4000->1024); disabled=thinking(max_tokens)")
    );
    assert_eq!(body.get("thinking"), None);

    // Off, effort none, or a model without reasoning.
    assert_eq!(encode(&thinking_request(Thinking::Disabled)), {
        let (body, _) = encode(&request(vec![user(vec![text("q")])]));
        let mut body = body;
        body["max_tokens"] = json!(4000);
        (body, None)
    });
    assert_eq!(
        encode(&thinking_request(Thinking::Effort(Effort::None))).1,
        None
    );
    let mut plain = target();
    plain.reasoning = false;
    let (body, warnings) = encode_with(&thinking_request(Thinking::Budget(2048)), &plain);
    assert_eq!(warnings.as_deref(), Some("dropped=thinking"));
    assert_eq!(body.get("thinking"), None);
}

#[test]
fn adaptive_thinking_and_output_config() {
    let mut req = thinking_request(Thinking::Adaptive(Some(Effort::XHigh)));
    req.response_format = Some(ResponseFormat::JsonSchema {
        name: "answer".into(),
        schema: json!({"type": "object", "properties": {"x": {"type": "integer"}}}),
        strict: Some(true),
        description: None,
    });
    let (body, warnings) = encode(&req);
    assert_eq!(warnings, None);
    assert_eq!(body["thinking"], json!({"type": "adaptive"}));
    assert_eq!(
        body["output_config"],
        json!({"effort": "xhigh", "format": {"type": "json_schema", "schema": {"type": "object", "properties": {"x": {"type": "integer"}}}}})
    );
    let (body, _) = encode(&thinking_request(Thinking::Adaptive(None)));
    assert_eq!(body["thinking"], json!({"type": "adaptive"}));
    assert_eq!(body.get("output_config"), None);

    let mut json_object = request(vec![user(vec![text("q")])]);
    json_object.system = vec!["Be brief.".into()];
    json_object.response_format = Some(ResponseFormat::JsonObject);
    let (body, warnings) = encode(&json_object);
    assert_eq!(
        warnings.as_deref(),
        Some("converted=response_format(json_object->instruction)")
    );
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "Be brief."}, {"type": "text", "text": JSON_OBJECT_INSTRUCTION}])
    );
}

#[test]
fn thinking_is_disabled_where_anthropic_would_reject_it() {
    let mut forced = thinking_request(Thinking::Budget(2048));
    forced.tools = vec![weather_tool()];
    forced.tool_choice = Some(ToolChoice::Named("get_weather".into()));
    let (body, warnings) = encode(&forced);
    assert_eq!(
        warnings.as_deref(),
        Some("disabled=thinking(forced-tool-choice)")
    );
    assert_eq!(body.get("thinking"), None);
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "get_weather"})
    );

    // The last tool results answer a turn from a Chat upstream: no signature to replay.
    let mut foreign = thinking_request(Thinking::Budget(2048));
    foreign.messages = vec![
        user(vec![text("q")]),
        assistant(vec![
            thinking(Vendor::OpenAi, "s", "gAAA"),
            call("c1", "{}"),
        ]),
        user(vec![result("c1", "ok")]),
    ];
    let (body, warnings) = encode(&foreign);
    assert_eq!(
        warnings.as_deref(),
        Some("dropped=reasoning(not-anthropic); disabled=thinking(no-valid-signature)")
    );
    assert_eq!(body.get("thinking"), None);

    // A signed turn keeps thinking on.
    let mut native = foreign.clone();
    native.messages[1] = assistant(vec![
        thinking(Vendor::Anthropic, "s", "EqQB"),
        call("c1", "{}"),
    ]);
    let (body, warnings) = encode(&native);
    assert_eq!(warnings, None);
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );

    // Unsigned history that is not in a tool loop does not matter.
    let mut later = foreign.clone();
    later.messages.push(assistant(vec![text("done")]));
    later.messages.push(user(vec![text("next")]));
    let (body, _) = encode(&later);
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
}

#[test]
fn broken_tool_arguments_in_history_become_an_empty_input() {
    let conversation = request(vec![
        user(vec![text("q")]),
        assistant(vec![call("c1", "{\"city\":"), call("c2", "[1]")]),
        user(vec![result("c1", "?"), result("c2", "?")]),
    ]);
    let (body, warnings) = encode(&conversation);
    assert_eq!(
        warnings.as_deref(),
        Some("dropped=tool_use.input(not-a-json-object)")
    );
    assert_eq!(body["messages"][1]["content"][0]["input"], json!({}));
    assert_eq!(body["messages"][1]["content"][1]["input"], json!({}));
}

#[test]
fn anthropic_to_anthropic_keeps_what_the_client_sent() {
    let body = json!({
        "model": "claude-opus-4-5",
        "max_tokens": 32000,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "tools": [{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
        "messages": [
            {"role": "user", "content": "list files"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I'll use ls.\n", "signature": "EqQBCgIYAh"},
                {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls"}}
            ]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "a.txt"}]}
        ]
    });
    let mut warnings = Warnings::new();
    let request = crate::formats::anthropic_messages::decode_request(
        body.to_string().as_bytes(),
        &mut warnings,
    )
    .unwrap();
    let encoded = encode_request(&request, &target(), &mut warnings).unwrap();
    assert_eq!(warnings.header_value(), None);
    assert_eq!(
        encoded,
        json!({
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 32000,
            "system": [{"type": "text", "text": "You are Claude Code."}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "list files"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "I'll use ls.\n", "signature": "EqQBCgIYAh"},
                    {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls"}}
                ]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "a.txt"}]}]}
            ],
            "tools": [{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
            "thinking": {"type": "enabled", "budget_tokens": 10000},
            "stream": true
        })
    );
}

/// Every `cache_control` marker in an encoded body, as the JSON pointer of its block.
fn breakpoints(body: &Value) -> Vec<String> {
    fn walk(value: &Value, path: String, out: &mut Vec<String>) {
        match value {
            Value::Object(fields) => {
                if fields.contains_key("cache_control") {
                    out.push(path.clone());
                }
                for (key, child) in fields {
                    walk(child, format!("{path}/{key}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, format!("{path}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, String::new(), &mut out);
    out
}

#[test]
fn breakpoints_go_on_tools_system_and_both_ends_of_the_last_turn() {
    let mut chat = request(vec![
        user(vec![text("Weather in Paris?")]),
        assistant(vec![
            thinking(Vendor::Anthropic, "hmm", "sig"),
            call("call_1", r#"{"city":"Paris"}"#),
        ]),
        user(vec![result("call_1", "18C")]),
        assistant(vec![
            thinking(Vendor::Anthropic, "ok", "sig2"),
            call("call_2", r#"{"city":"Tokyo"}"#),
        ]),
        user(vec![result("call_2", "25C"), text("Thanks")]),
    ]);
    chat.system = vec!["You are a coding agent.".into(), "Be brief.".into()];
    chat.tools = vec![
        weather_tool(),
        Tool::Builtin {
            kind: "web_search_20250305".into(),
            raw: json!({"type": "web_search_20250305", "name": "web_search"}),
        },
    ];
    let on = UpstreamTarget {
        cache_breakpoints: true,
        server_tools: None,
        ..target()
    };
    let (body, _) = encode_with(&chat, &on);
    assert_eq!(
        breakpoints(&body),
        [
            "/system/1",
            "/messages/2/content/0",
            "/messages/4/content/1",
            "/tools/1",
        ],
        "{body}"
    );
    assert_eq!(
        body["tools"][1]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(
        body["messages"][4]["content"][1],
        json!({"type": "text", "text": "Thanks", "cache_control": {"type": "ephemeral"}})
    );
    assert!(breakpoints(&body).len() <= crate::formats::anthropic_messages::cache::MAX_BREAKPOINTS);
    // Off: no marker at all, as before.
    let (body, _) = encode(&chat);
    assert!(breakpoints(&body).is_empty(), "{body}");
}

#[test]
fn a_breakpoint_skips_thinking_and_a_first_turn_gets_one() {
    let on = UpstreamTarget {
        cache_breakpoints: true,
        server_tools: None,
        ..target()
    };
    let (body, _) = encode_with(&request(vec![user(vec![text("Hi")])]), &on);
    assert_eq!(breakpoints(&body), ["/messages/0/content/0"]);
    // A prefill that is only thinking carries no marker (Anthropic refuses one there).
    let chat = request(vec![
        user(vec![text("Hi")]),
        assistant(vec![thinking(Vendor::Anthropic, "hmm", "sig")]),
    ]);
    let (body, _) = encode_with(&chat, &on);
    assert!(
        breakpoints(&body)
            .iter()
            .all(|p| p != "/messages/1/content/0"),
        "{body}"
    );
}

#[test]
fn the_attribution_block_goes_back_first() {
    let mut chat = request(vec![user(vec![text("Hi")])]);
    chat.attribution = Some("x-anthropic-billing-header: cc_version=2.1.300.abc; cch=1;".into());
    chat.system = vec!["You are Claude Code.".into()];
    let (body, _) = encode(&chat);
    assert_eq!(
        body["system"],
        json!([
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.300.abc; cch=1;"},
            {"type": "text", "text": "You are Claude Code."}
        ])
    );
}
