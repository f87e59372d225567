//! Tests of the Gemini request encoder: the conversation's shape, signatures back on their
//! slot whatever order other formats put reasoning in, thinking per model family, tools.

use serde_json::{Value, json};

use super::{SKIP_SIGNATURE, encode_request};
use crate::canonical::{
    ChatRequest, Document, Effort, FileRef, MediaSource, Message, Opaque, Part, ReasoningPart,
    ResponseFormat, Role, Thinking, Tool, ToolCall, ToolChoice, ToolKind, ToolResult, Vendor,
};
use crate::error::ErrorKind;
use crate::formats::gemini::signature::{Slot, native, synthetic_call_id};
use crate::formats::{MaxTokensParam, UpstreamTarget};
use crate::translate::Warnings;

fn target(model: &str) -> UpstreamTarget {
    UpstreamTarget {
        model: model.into(),
        stream: false,
        max_tokens_param: MaxTokensParam::MaxCompletionTokens,
        default_max_tokens: 4096,
        max_output_tokens: Some(8192),
        reasoning: true,
        cache_breakpoints: false,
        server_tools: None,
    }
}

fn encode(request: &ChatRequest, model: &str) -> (Value, Option<String>) {
    let mut warnings = Warnings::new();
    let body = encode_request(request, &target(model), &mut warnings).unwrap();
    (body, warnings.header_value())
}

fn call(id: &str, name: &str) -> Part {
    Part::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: "{\"q\":1}".into(),
        kind: ToolKind::Function,
    })
}

fn result(id: &str, text: &str, is_error: bool) -> Part {
    Part::ToolResult(ToolResult {
        call_id: id.into(),
        content: vec![Part::Text(text.into())],
        is_error,
        kind: ToolKind::Function,
    })
}

fn reasoning(text: &str, opaque: Option<Opaque>) -> Part {
    Part::Reasoning(ReasoningPart {
        text: text.into(),
        opaque,
        redacted: false,
    })
}

fn message(role: Role, parts: Vec<Part>) -> Message {
    Message { role, parts }
}

#[test]
fn a_conversation_in_gemini_shape() {
    let synthetic = synthetic_call_id("r", 0, "lookup", "{}");
    let request = ChatRequest {
        system: vec!["Be terse.".into(), "  ".into()],
        messages: vec![
            message(Role::User, vec![Part::Text("Look these up.".into())]),
            message(
                Role::Assistant,
                vec![
                    // As Responses clients return it: reasoning first, whatever its slot.
                    reasoning("", Some(native(Slot::Call, "c2lnMQ=="))),
                    reasoning(
                        "ignored",
                        Some(Opaque {
                            vendor: Vendor::OpenAi,
                            data: "gAAA".into(),
                        }),
                    ),
                    Part::Text("On it.".into()),
                    call("fc_1", "lookup"),
                    call(&synthetic, "lookup"),
                ],
            ),
            message(
                Role::System,
                vec![Part::Text("Mid-conversation rule.".into())],
            ),
            message(
                Role::User,
                vec![
                    result(&synthetic, "two", true),
                    result("fc_1", "one", false),
                ],
            ),
            message(Role::User, vec![Part::Text("Thanks.".into())]),
        ],
        temperature: Some(2.5),
        stop_sequences: (0..7).map(|i| i.to_string()).collect(),
        user: Some("u".into()),
        ..ChatRequest::default()
    };
    let (body, warnings) = encode(&request, "gemini-2.5-flash");
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "Be terse."}, {"text": "Mid-conversation rule."}]})
    );
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Look these up."}]},
            {"role": "model", "parts": [
                {"text": "On it."},
                {"functionCall": {"id": "fc_1", "name": "lookup", "args": {"q": 1}}, "thoughtSignature": "c2lnMQ=="},
                {"functionCall": {"name": "lookup", "args": {"q": 1}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "lookup", "response": {"error": "two"}}},
                {"functionResponse": {"id": "fc_1", "name": "lookup", "response": {"output": "one"}}},
                {"text": "Thanks."}
            ]}
        ])
    );
    assert_eq!(body["generationConfig"]["temperature"], 2.0);
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 4096);
    assert_eq!(
        body["generationConfig"]["stopSequences"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        warnings.as_deref(),
        Some("dropped=reasoning(not-google),user; clamped=temperature(2.5->2),stopSequences(7->5)")
    );
}

#[test]
fn signatures_return_to_their_slot_and_the_current_turn_is_signed() {
    let request = ChatRequest {
        messages: vec![
            message(Role::User, vec![Part::Text("q".into())]),
            // Another vendor's history: no signature.
            message(Role::Assistant, vec![call("toolu_1", "f")]),
            message(Role::User, vec![result("toolu_1", "r", false)]),
            message(
                Role::Assistant,
                vec![
                    reasoning("", Some(native(Slot::Text, "dGV4dA=="))),
                    reasoning("thinking", Some(native(Slot::Thought, "dGhvdWdodA=="))),
                    Part::Text("Done.".into()),
                ],
            ),
        ],
        ..ChatRequest::default()
    };
    let (body, _) = encode(&request, "gemini-3-flash-preview");
    assert_eq!(
        body["contents"][1]["parts"][0]["thoughtSignature"],
        SKIP_SIGNATURE
    );
    assert_eq!(
        body["contents"][3]["parts"],
        json!([
            {"text": "thinking", "thought": true, "thoughtSignature": "dGhvdWdodA=="},
            {"text": "Done.", "thoughtSignature": "dGV4dA=="}
        ])
    );
    // Before the last plain user turn, history is left unsigned.
    let mut later = request.clone();
    later
        .messages
        .push(message(Role::User, vec![Part::Text("next".into())]));
    let (body, _) = encode(&later, "gemini-3-flash-preview");
    assert!(
        body["contents"][1]["parts"][0]
            .get("thoughtSignature")
            .is_none()
    );
}

#[test]
fn thinking_per_model_family() {
    let cases = [
        (
            Thinking::Effort(Effort::High),
            "gemini-3-flash-preview",
            json!({"thinkingLevel": "HIGH", "includeThoughts": true}),
        ),
        (
            Thinking::Effort(Effort::Minimal),
            "gemini-3.1-pro-preview",
            json!({"thinkingLevel": "LOW", "includeThoughts": true}),
        ),
        (
            Thinking::Effort(Effort::Medium),
            "gemini-3-pro-preview",
            json!({"thinkingLevel": "HIGH", "includeThoughts": true}),
        ),
        (
            Thinking::Budget(2000),
            "gemini-3-flash-preview",
            json!({"thinkingLevel": "MEDIUM", "includeThoughts": true}),
        ),
        (
            Thinking::Disabled,
            "gemini-3-flash-preview",
            json!({"thinkingLevel": "MINIMAL"}),
        ),
        (
            Thinking::Budget(2000),
            "gemini-2.5-flash",
            json!({"thinkingBudget": 2000, "includeThoughts": true}),
        ),
        (
            Thinking::Disabled,
            "gemini-2.5-flash",
            json!({"thinkingBudget": 0}),
        ),
        (
            Thinking::Disabled,
            "gemini-2.5-pro",
            json!({"thinkingBudget": 128}),
        ),
        (
            Thinking::Adaptive(None),
            "models/gemini-2.5-pro",
            json!({"thinkingBudget": -1, "includeThoughts": true}),
        ),
        (
            Thinking::Effort(Effort::XHigh),
            "gemini-2.5-flash",
            json!({"thinkingBudget": 7168, "includeThoughts": true}),
        ),
        (
            Thinking::Budget(100_000),
            "gemini-2.5-pro",
            json!({"thinkingBudget": 7168, "includeThoughts": true}),
        ),
    ];
    for (thinking, model, expected) in cases {
        let request = ChatRequest {
            thinking: Some(thinking),
            reasoning_summary: true,
            max_output_tokens: Some(8192),
            ..ChatRequest::default()
        };
        let (body, _) = encode(&request, model);
        assert_eq!(
            body["generationConfig"]["thinkingConfig"], expected,
            "{thinking:?} on {model}"
        );
    }
    let mut plain = target("gemini-2.5-flash");
    plain.reasoning = false;
    let request = ChatRequest {
        thinking: Some(Thinking::Effort(Effort::High)),
        ..ChatRequest::default()
    };
    let mut warnings = Warnings::new();
    let body = encode_request(&request, &plain, &mut warnings).unwrap();
    assert!(body["generationConfig"].get("thinkingConfig").is_none());
    assert_eq!(warnings.header_value().as_deref(), Some("dropped=thinking"));
}

#[test]
fn tools_and_tool_choice() {
    let request = ChatRequest {
        tools: vec![
            Tool::Function {
                name: "get_weather".into(),
                description: Some("Weather".into()),
                parameters: json!({"$schema": "x", "type": "object", "properties": {"c": {"type": "string", "pattern": "."}}, "additionalProperties": false}),
                strict: Some(true),
            },
            Tool::Builtin {
                kind: "googleSearch".into(),
                raw: json!({"googleSearch": {}}),
            },
            Tool::Builtin {
                kind: "web_search_20250305".into(),
                raw: json!({"type": "web_search_20250305", "name": "web_search"}),
            },
        ],
        tool_choice: Some(ToolChoice::Named("get_weather".into())),
        response_format: Some(ResponseFormat::JsonSchema {
            name: "o".into(),
            schema: json!({"type": "object", "const": 1}),
            strict: Some(true),
            description: None,
        }),
        ..ChatRequest::default()
    };
    let (body, warnings) = encode(&request, "gemini-2.5-flash");
    assert_eq!(
        body["tools"],
        json!([
            {"functionDeclarations": [{"name": "get_weather", "description": "Weather",
                "parametersJsonSchema": {"type": "object", "properties": {"c": {"type": "string"}}, "additionalProperties": false}}]},
            {"googleSearch": {}}
        ])
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})
    );
    assert_eq!(
        body["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(
        body["generationConfig"]["responseJsonSchema"],
        json!({"type": "object", "enum": [1]})
    );
    assert_eq!(
        warnings.as_deref(),
        Some("dropped=tools(web_search_20250305)")
    );
    let mut forced = request.clone();
    forced.tool_choice = Some(ToolChoice::Named("web_search".into()));
    let mut warnings = Warnings::new();
    let error = encode_request(&forced, &target("gemini-2.5-flash"), &mut warnings).unwrap_err();
    assert_eq!(error.param.as_deref(), Some("tool_choice"));
}

#[test]
fn media_files_and_cached_content() {
    let file = |id: &str, vendor: Vendor| {
        Part::Document(Document {
            source: MediaSource::FileId(FileRef::new(id, vendor, "input[0]")),
            filename: None,
            title: None,
        })
    };
    let request = ChatRequest {
        messages: vec![message(
            Role::User,
            vec![
                file("cachedContents/abc", Vendor::Google),
                file("files/xyz", Vendor::Google),
                Part::Image(crate::canonical::Media {
                    source: MediaSource::Url("data:image/png;base64,iVBOR".into()),
                    detail: None,
                }),
                Part::Image(crate::canonical::Media {
                    source: MediaSource::Url("https://example.com/a.webp?x=1".into()),
                    detail: None,
                }),
            ],
        )],
        ..ChatRequest::default()
    };
    let (body, _) = encode(&request, "gemini-2.5-flash");
    assert_eq!(body["cachedContent"], "cachedContents/abc");
    assert_eq!(
        body["contents"][0]["parts"],
        json!([
            {"fileData": {"fileUri": "files/xyz"}},
            {"inlineData": {"mimeType": "image/png", "data": "iVBOR"}},
            {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/a.webp?x=1"}}
        ])
    );
    let foreign = ChatRequest {
        messages: vec![message(Role::User, vec![file("file-abc", Vendor::OpenAi)])],
        ..ChatRequest::default()
    };
    let mut warnings = Warnings::new();
    let error = encode_request(&foreign, &target("g"), &mut warnings).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidRequest);
    assert_eq!(error.param.as_deref(), Some("input[0]"));
    // Nothing at all still makes a valid request.
    let (body, _) = encode(&ChatRequest::default(), "g");
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [{"text": "."}]}])
    );
}
