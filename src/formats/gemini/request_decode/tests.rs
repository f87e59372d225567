//! Tests of the Gemini request decoder, on requests shaped after Gemini CLI's and the Python
//! SDK's (`tests/fixtures/gemini/client_request_*.json`) and on the edge cases.

use serde_json::{Value, json};

use super::{decode_count_request, decode_request};
use crate::canonical::{
    Effort, MediaSource, Part, ResponseFormat, Role, Thinking, Tool, ToolChoice, Vendor,
};
use crate::error::ErrorKind;
use crate::formats::gemini::signature::{Slot, is_synthetic, native_parts};
use crate::testing::fixture;
use crate::translate::Warnings;

fn decode(
    body: &Value,
) -> (
    Result<crate::canonical::ChatRequest, crate::error::ApiError>,
    Warnings,
) {
    let mut warnings = Warnings::new();
    let result = decode_request(&serde_json::to_vec(body).unwrap(), &mut warnings);
    (result, warnings)
}

#[test]
fn a_gemini_cli_request() {
    let mut warnings = Warnings::new();
    let request = decode_request(
        fixture("gemini/client_request_cli.json").as_bytes(),
        &mut warnings,
    )
    .unwrap();
    assert_eq!(warnings.header_value(), None);
    assert_eq!(request.model, "", "the model comes from the URL");
    assert!(request.system[0].starts_with("You are an interactive CLI agent"));
    let roles: Vec<Role> = request.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::User,
            Role::Assistant,
            Role::User
        ]
    );
    let step = &request.messages[3].parts;
    let Part::Reasoning(reasoning) = &step[0] else {
        panic!("{step:?}");
    };
    let (slot, signature) = native_parts(reasoning.opaque.as_ref().unwrap()).unwrap();
    assert_eq!(slot, Slot::Call);
    assert!(signature.starts_with("CiQBcsjafL9"));
    let Part::ToolCall(call) = &step[1] else {
        panic!("{step:?}");
    };
    assert_eq!(call.id, "read_file-1764512345678-0a1b2c");
    assert_eq!(
        call.arguments,
        r#"{"absolute_path":"/home/dev/proj/src/main.rs"}"#
    );
    let Part::ToolResult(result) = &request.messages[4].parts[1] else {
        panic!();
    };
    assert_eq!(result.call_id, "glob-1764512345679-3d4e5f");
    assert!(!result.is_error);
    assert_eq!(request.tools.len(), 4);
    assert_eq!(request.temperature, Some(1.0));
    assert_eq!(request.top_p, Some(0.95));
    assert_eq!(request.top_k, Some(64));
    assert_eq!(request.thinking, Some(Thinking::Effort(Effort::High)));
    assert!(request.reasoning_summary);
    assert_eq!(request.max_output_tokens, None);
}

#[test]
fn a_python_sdk_request_in_snake_case() {
    let mut warnings = Warnings::new();
    let request = decode_request(
        fixture("gemini/client_request_python.json").as_bytes(),
        &mut warnings,
    )
    .unwrap();
    assert_eq!(
        warnings.header_value().as_deref(),
        Some("dropped=safety_settings")
    );
    assert_eq!(request.system, ["Answer in French."]);
    let user = &request.messages[0].parts;
    assert!(
        matches!(&user[1], Part::Image(m) if matches!(&m.source, MediaSource::Base64 { media_type, .. } if media_type == "image/png"))
    );
    assert!(
        matches!(&user[2], Part::Image(m) if m.source == MediaSource::Url("https://example.com/photos/cat.jpg".into()))
    );
    // Calls without ids get ids; responses without ids find theirs by name, in call order.
    let calls: Vec<(String, String)> = request.messages[1]
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some((c.id.clone(), c.name.clone())),
            _ => None,
        })
        .collect();
    assert!(calls.iter().all(|(id, _)| is_synthetic(id)));
    let results: Vec<(String, bool)> = request.messages[2]
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolResult(r) => Some((r.call_id.clone(), r.is_error)),
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        [(calls[0].0.clone(), true), (calls[1].0.clone(), false)]
    );
    let Tool::Function { parameters, .. } = &request.tools[0] else {
        panic!();
    };
    assert_eq!(
        parameters["properties"]["unit"]["type"],
        json!(["string", "null"])
    );
    assert!(matches!(&request.tools[2], Tool::Builtin { kind, .. } if kind == "google_search"));
    assert_eq!(
        request.tool_choice,
        Some(ToolChoice::Named("get_weather".into()))
    );
    assert_eq!(request.thinking, Some(Thinking::Budget(1024)));
    assert_eq!(request.max_output_tokens, Some(2048));
    assert_eq!(request.stop_sequences, ["END"]);
    assert_eq!(request.response_format, None);
}

#[test]
fn refusals_name_the_field() {
    let cases = [
        (json!({}), "contents"),
        (
            json!({"contents": [], "generationConfig": {"candidateCount": 2}}),
            "generationConfig.candidateCount",
        ),
        (
            json!({"contents": [], "generationConfig": {"thinkingConfig": {"thinkingBudget": 1, "thinkingLevel": "LOW"}}}),
            "generationConfig.thinkingConfig",
        ),
        (
            json!({"contents": [{"role": "system", "parts": []}]}),
            "contents[0].role",
        ),
        (
            json!({"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": [1]}}]}]}),
            "contents[0].parts[0].functionCall.args",
        ),
        (
            json!({"contents": [{"parts": [{"text": 5}]}]}),
            "contents[0].parts[0].text",
        ),
    ];
    for (body, param) in cases {
        let (result, _) = decode(&body);
        let error = result.unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidRequest, "{body}");
        assert_eq!(
            error.param.as_deref(),
            Some(param),
            "{body}: {}",
            error.message
        );
    }
    let mut warnings = Warnings::new();
    assert!(decode_request(b"[]", &mut warnings).is_err());
    assert!(decode_request(b"{", &mut warnings).is_err());
}

#[test]
fn generation_config_and_structured_output() {
    let (request, warnings) = decode(&json!({
        "contents": [{"parts": [{"text": "hi"}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}},
            "seed": 7, "thinkingConfig": {"thinkingBudget": -1, "includeThoughts": true}
        },
        "serviceTier": "flex"
    }));
    let request = request.unwrap();
    assert_eq!(
        request.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "output".into(),
            schema: json!({"type": "object", "properties": {"a": {"type": "integer"}}}),
            strict: None,
            description: None
        })
    );
    assert_eq!(request.thinking, Some(Thinking::Adaptive(None)));
    assert_eq!(
        warnings.header_value().as_deref(),
        Some("dropped=serviceTier,generationConfig.seed")
    );
    for (config, thinking) in [
        (json!({"thinkingBudget": 0}), Some(Thinking::Disabled)),
        (
            json!({"thinkingLevel": "minimal"}),
            Some(Thinking::Effort(Effort::Minimal)),
        ),
        (
            json!({"thinkingLevel": "XHIGH"}),
            Some(Thinking::Effort(Effort::XHigh)),
        ),
        (json!({"includeThoughts": false}), None),
    ] {
        let (request, _) =
            decode(&json!({"contents": [], "generationConfig": {"thinkingConfig": config}}));
        assert_eq!(request.unwrap().thinking, thinking);
    }
    let (request, _) = decode(
        &json!({"contents": [], "generationConfig": {"responseMimeType": "application/json"}}),
    );
    assert_eq!(
        request.unwrap().response_format,
        Some(ResponseFormat::JsonObject)
    );
}

#[test]
fn upper_case_type_names_in_json_schemas_are_lowered() {
    // Gemini CLI's structured-output side calls (its model router) send `responseJsonSchema`
    // with Google's type names, which Google takes and other vendors refuse.
    let (request, _) = decode(&json!({
        "contents": [{"parts": [{"text": "hi"}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": {
                "type": "OBJECT",
                "properties": {"complexity_score": {"type": "INTEGER"}},
                "required": ["complexity_score"]
            }
        },
        "tools": [{"functionDeclarations": [{
            "name": "f",
            "parametersJsonSchema": {"type": "OBJECT", "properties": {"p": {"type": "STRING"}}}
        }]}]
    }));
    let request = request.unwrap();
    assert_eq!(
        request.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "output".into(),
            schema: json!({
                "type": "object",
                "properties": {"complexity_score": {"type": "integer"}},
                "required": ["complexity_score"]
            }),
            strict: None,
            description: None
        })
    );
    let Some(Tool::Function { parameters, .. }) = request.tools.first() else {
        panic!("one function tool: {:?}", request.tools);
    };
    assert_eq!(
        parameters,
        &json!({"type": "object", "properties": {"p": {"type": "string"}}})
    );
}

#[test]
fn stored_objects_are_vendor_files() {
    let (request, _) = decode(&json!({
        "cachedContent": "cachedContents/abc123",
        "contents": [{"role": "user", "parts": [
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/f-1"}},
            {"text": "Summarise."}
        ]}]
    }));
    let request = request.unwrap();
    let file = request.first_file_ref().unwrap();
    assert_eq!(file.id, "cachedContents/abc123");
    assert_eq!(file.vendor, Vendor::Google);
    assert_eq!(file.path, "cachedContent");
    let Part::Document(document) = &request.messages[0].parts[1] else {
        panic!();
    };
    assert!(
        matches!(&document.source, MediaSource::FileId(f) if f.path == "contents[0].parts[0].fileData")
    );
}

#[test]
fn foreign_state_comes_back_as_the_vendor_left_it() {
    use crate::canonical::Opaque;
    let anthropic = Opaque {
        vendor: Vendor::Anthropic,
        data: "EqQB".into(),
    };
    let (envelope, _) = super::super::signature::to_client(&anthropic, "exact thinking", false);
    let (request, _) = decode(&json!({"contents": [
        {"role": "user", "parts": [{"text": "q"}]},
        {"role": "model", "parts": [
            {"text": "exact thinking", "thought": true},
            {"text": "Answer.", "thoughtSignature": envelope}
        ]},
        {"role": "model", "parts": [{"text": "a", "thought": true}, {"text": "", "thought": true, "thoughtSignature": "c2ln"}]}
    ]}));
    let request = request.unwrap();
    let parts = &request.messages[1].parts;
    assert!(matches!(&parts[0], Part::Reasoning(r) if r.opaque.is_none()));
    assert!(
        matches!(&parts[1], Part::Reasoning(r) if r.opaque.as_ref() == Some(&anthropic) && r.text == "exact thinking")
    );
    assert_eq!(parts[2], Part::Text("Answer.".into()));
    // A signature on the empty thought part after a thought joins it.
    let parts = &request.messages[2].parts;
    assert_eq!(parts.len(), 1);
    assert!(matches!(&parts[0], Part::Reasoning(r) if r.text == "a" && r.opaque.is_some()));
}

#[test]
fn count_requests_in_both_forms() {
    let mut warnings = Warnings::new();
    let plain = decode_count_request(
        br#"{"contents":[{"parts":[{"text":"hi"}]}]}"#,
        &mut warnings,
    )
    .unwrap();
    assert_eq!(plain.messages.len(), 1);
    let wrapped = decode_count_request(
        br#"{"generateContentRequest":{"model":"models/gemini-2.5-pro","contents":[{"parts":[{"text":"hi"}]}],"systemInstruction":{"parts":[{"text":"s"}]}}}"#,
        &mut warnings,
    )
    .unwrap();
    assert_eq!(wrapped.model, "gemini-2.5-pro");
    assert_eq!(wrapped.system, ["s"]);
}
