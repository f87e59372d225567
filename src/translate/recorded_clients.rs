//! Requests recorded from real clients (Claude Code 2.1.197, Codex 0.169.0; see
//! `tests/fixtures/clients/`) must decode, and must translate into a request every upstream
//! format accepts. The checks below are the upstreams' own validation rules, the ones real
//! gateways have tripped over.

use serde_json::{Value, json};

use super::Warnings;
use super::adapt;
use crate::format::WireFormat;
use crate::formats::{MaxTokensParam, UpstreamTarget};
use crate::testing::fixture;

const RECORDINGS: [(&str, WireFormat); 4] = [
    (
        "claude-code-2.1.197-turn1.json",
        WireFormat::AnthropicMessages,
    ),
    (
        "claude-code-2.1.197-turn2-tool-result.json",
        WireFormat::AnthropicMessages,
    ),
    ("codex-0.169.0-turn1.json", WireFormat::OpenAiResponses),
    (
        "codex-0.169.0-turn2-tool-output.json",
        WireFormat::OpenAiResponses,
    ),
];

fn target(stream: bool) -> UpstreamTarget {
    UpstreamTarget {
        model: "upstream-model".into(),
        stream,
        max_tokens_param: MaxTokensParam::MaxCompletionTokens,
        default_max_tokens: 8192,
        max_output_tokens: Some(64_000),
        reasoning: true,
        cache_breakpoints: true,
        server_tools: None,
    }
}

fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn check_anthropic(body: &Value, name: &str) {
    let messages = array(body, "messages");
    assert!(!messages.is_empty(), "{name}: no messages");
    assert_eq!(text(&messages[0], "role"), "user", "{name}: first turn");
    for pair in messages.windows(2) {
        assert_ne!(
            text(&pair[0], "role"),
            text(&pair[1], "role"),
            "{name}: roles alternate"
        );
    }
    for (i, message) in messages.iter().enumerate() {
        let blocks = array(message, "content");
        let mut seen_other = false;
        for block in blocks {
            let kind = text(block, "type");
            if kind == "text" {
                assert!(
                    !text(block, "text").trim().is_empty(),
                    "{name}: empty text in messages[{i}]"
                );
            }
            if kind == "tool_result" {
                assert!(
                    !seen_other,
                    "{name}: tool_result after other content in messages[{i}]"
                );
            } else {
                seen_other = true;
            }
            if kind == "tool_use" {
                let id = text(block, "id");
                assert!(valid_name(&id, 256), "{name}: tool_use id {id:?}");
                let answered = messages.get(i + 1).is_some_and(|next| {
                    array(next, "content")
                        .iter()
                        .any(|b| text(b, "tool_use_id") == id)
                });
                let last_turn = i + 1 == messages.len();
                assert!(answered || last_turn, "{name}: tool_use {id} unanswered");
            }
        }
    }
    for tool in array(body, "tools") {
        assert!(valid_name(&text(tool, "name"), 128), "{name}: tool name");
        if tool.get("type").is_none() {
            assert_eq!(
                tool["input_schema"]["type"], "object",
                "{name}: input_schema"
            );
        }
    }
    let max_tokens = body["max_tokens"].as_u64().unwrap();
    if let Some(budget) = body["thinking"]["budget_tokens"].as_u64() {
        assert!(budget < max_tokens, "{name}: budget below max_tokens");
        assert!(
            body.get("temperature").is_none(),
            "{name}: temperature with thinking"
        );
    }
}

fn check_chat(body: &Value, name: &str) {
    let messages = array(body, "messages");
    for (i, message) in messages.iter().enumerate() {
        let calls = array(message, "tool_calls");
        for (k, call) in calls.iter().enumerate() {
            let id = text(call, "id");
            assert!(!id.is_empty() && id.len() <= 40, "{name}: call id {id:?}");
            assert!(
                valid_name(&text(&call["function"], "name"), 64),
                "{name}: call name"
            );
            let answer = messages.get(i + 1 + k).expect("tool message");
            assert_eq!(
                text(answer, "role"),
                "tool",
                "{name}: tool message right after the calls"
            );
            assert_eq!(
                text(answer, "tool_call_id"),
                id,
                "{name}: tool messages in call order"
            );
        }
    }
    for tool in array(body, "tools") {
        assert!(
            valid_name(&text(&tool["function"], "name"), 64),
            "{name}: tool name {tool}"
        );
    }
    if body["stream"] == true {
        assert_eq!(
            body["stream_options"]["include_usage"], true,
            "{name}: usage asked"
        );
    }
}

fn check_responses(body: &Value, name: &str) {
    assert_eq!(body["store"], false, "{name}: store");
    let input = array(body, "input");
    for (i, item) in input.iter().enumerate() {
        if text(item, "type") == "function_call" {
            let call_id = text(item, "call_id");
            assert!(
                !call_id.is_empty() && call_id.len() <= 64,
                "{name}: call_id"
            );
            assert!(
                input
                    .iter()
                    .skip(i)
                    .any(|o| text(o, "type") == "function_call_output"
                        && text(o, "call_id") == call_id),
                "{name}: call {call_id} has its output"
            );
        }
    }
    for tool in array(body, "tools") {
        if text(tool, "type") == "function" {
            assert!(valid_name(&text(tool, "name"), 64), "{name}: tool name");
            assert!(tool.get("strict").is_some(), "{name}: strict sent");
        }
    }
}

/// Gemini's rules: `user`/`model` contents, no empty text, every call of a model step answered
/// (same number, same ids and names) by the next content, the first call of every step of the
/// current turn signed, names Gemini takes, schemas in its JSON Schema subset.
pub fn check_gemini(body: &Value, name: &str) {
    let contents = array(body, "contents");
    assert!(!contents.is_empty(), "{name}: no contents");
    let current_turn = contents
        .iter()
        .rposition(|c| {
            text(c, "role") == "user"
                && array(c, "parts")
                    .iter()
                    .any(|p| p.get("functionResponse").is_none())
        })
        .map_or(0, |at| at + 1);
    for (i, content) in contents.iter().enumerate() {
        let role = text(content, "role");
        assert!(role == "user" || role == "model", "{name}: role {role}");
        let parts = array(content, "parts");
        assert!(!parts.is_empty(), "{name}: contents[{i}] has no parts");
        for part in parts {
            if let Some(t) = part.get("text") {
                assert!(
                    !t.as_str().unwrap_or_default().is_empty()
                        || part.get("thoughtSignature").is_some(),
                    "{name}: empty text in contents[{i}]"
                );
            }
        }
        let calls: Vec<&Value> = parts.iter().filter_map(|p| p.get("functionCall")).collect();
        if calls.is_empty() {
            continue;
        }
        assert_eq!(role, "model", "{name}: calls in a user turn");
        if i >= current_turn {
            let first = parts.iter().find(|p| p.get("functionCall").is_some());
            assert!(
                first.is_some_and(|p| p.get("thoughtSignature").is_some()),
                "{name}: unsigned first call in contents[{i}]"
            );
        }
        let Some(next) = contents.get(i + 1) else {
            continue;
        };
        let responses: Vec<&Value> = array(next, "parts")
            .iter()
            .filter_map(|p| p.get("functionResponse"))
            .collect();
        assert_eq!(
            responses.len(),
            calls.len(),
            "{name}: contents[{i}] calls and their responses"
        );
        for (call, response) in calls.iter().zip(&responses) {
            assert_eq!(text(call, "name"), text(response, "name"), "{name}: names");
            assert_eq!(call.get("id"), response.get("id"), "{name}: ids");
            assert!(response["response"].is_object(), "{name}: response object");
        }
    }
    const KEYWORDS: [&str; 21] = [
        "$id",
        "$defs",
        "$ref",
        "$anchor",
        "type",
        "format",
        "title",
        "description",
        "enum",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "anyOf",
        "oneOf",
        "properties",
        "additionalProperties",
        "required",
        "propertyOrdering",
    ];
    fn check_schema(schema: &Value, name: &str) {
        let Some(map) = schema.as_object() else {
            return;
        };
        for (key, value) in map {
            assert!(
                KEYWORDS.contains(&key.as_str()),
                "{name}: schema keyword {key}"
            );
            match key.as_str() {
                "properties" | "$defs" => {
                    for inner in value.as_object().into_iter().flat_map(|m| m.values()) {
                        check_schema(inner, name);
                    }
                }
                "items" | "additionalProperties" => check_schema(value, name),
                "anyOf" | "oneOf" | "prefixItems" => {
                    for inner in value.as_array().into_iter().flatten() {
                        check_schema(inner, name);
                    }
                }
                _ => {}
            }
        }
    }
    for tool in array(body, "tools") {
        for declaration in array(tool, "functionDeclarations") {
            assert!(
                valid_name(&text(declaration, "name"), 64),
                "{name}: function name"
            );
            check_schema(&declaration["parametersJsonSchema"], name);
        }
    }
    assert!(
        body["generationConfig"]["maxOutputTokens"]
            .as_u64()
            .is_some(),
        "{name}: maxOutputTokens"
    );
}

#[test]
fn recorded_client_requests_translate_to_every_upstream() {
    for (file, client) in RECORDINGS {
        let recording: Value = serde_json::from_str(&fixture(&format!("clients/{file}"))).unwrap();
        let body = serde_json::to_vec(&recording["body"]).unwrap();
        let mut warnings = Warnings::new();
        let request = client
            .decode_request(&body, &mut warnings)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!request.tools.is_empty(), "{file}: tools decoded");
        for upstream in WireFormat::ALL {
            if upstream == client {
                continue;
            }
            let name = format!("{file} -> {}", upstream.config_name());
            let (adapted, _) = adapt::for_upstream(request.clone(), upstream);
            let mut warnings = Warnings::new();
            let encoded = upstream
                .encode_request(&adapted, &target(request.stream), &mut warnings)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            match upstream {
                WireFormat::AnthropicMessages => check_anthropic(&encoded, &name),
                WireFormat::OpenAiChat => check_chat(&encoded, &name),
                WireFormat::OpenAiResponses => check_responses(&encoded, &name),
                WireFormat::Gemini => check_gemini(&encoded, &name),
            }
            // Claude Code's attribution block means nothing to another vendor, and would
            // change the prompt's prefix turn after turn.
            assert!(
                !encoded.to_string().contains("x-anthropic-billing-header"),
                "{name}: attribution block sent"
            );
            let markers = encoded.to_string().matches("\"cache_control\"").count();
            assert!(markers <= 4, "{name}: {markers} cache breakpoints");
            if upstream == WireFormat::AnthropicMessages {
                assert!(markers >= 2, "{name}: the gateway marks breakpoints");
            }
        }
    }
}

/// Requests shaped after Gemini CLI's (ids, signatures, `parametersJsonSchema`) and the Python
/// SDK's (snake_case, Google schemas, calls without ids, inline media), in
/// `tests/fixtures/gemini/`: written from the SDKs' sources, not recorded.
const GEMINI_SHAPED: [&str; 2] = [
    "gemini/client_request_cli.json",
    "gemini/client_request_python.json",
];

#[test]
fn gemini_shaped_requests_translate_to_every_upstream() {
    for file in GEMINI_SHAPED {
        let body = fixture(file);
        let mut warnings = Warnings::new();
        let mut request = WireFormat::Gemini
            .decode_request(body.as_bytes(), &mut warnings)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        request.model = "gemini-3-flash".into();
        assert!(!request.tools.is_empty(), "{file}: tools decoded");
        // Built-in tools are the plan's to allow; this checks the conversation.
        request
            .tools
            .retain(|tool| !matches!(tool, crate::canonical::Tool::Builtin { .. }));
        for upstream in WireFormat::ALL {
            let name = format!("{file} -> {}", upstream.config_name());
            let (adapted, _) = adapt::for_upstream(request.clone(), upstream);
            let mut warnings = Warnings::new();
            let encoded = upstream
                .encode_request(&adapted, &target(true), &mut warnings)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            match upstream {
                WireFormat::AnthropicMessages => check_anthropic(&encoded, &name),
                WireFormat::OpenAiChat => check_chat(&encoded, &name),
                WireFormat::OpenAiResponses => check_responses(&encoded, &name),
                WireFormat::Gemini => check_gemini(&encoded, &name),
            }
            // Claude Code's attribution block means nothing to another vendor, and would
            // change the prompt's prefix turn after turn.
            assert!(
                !encoded.to_string().contains("x-anthropic-billing-header"),
                "{name}: attribution block sent"
            );
            let markers = encoded.to_string().matches("\"cache_control\"").count();
            assert!(markers <= 4, "{name}: {markers} cache breakpoints");
            if upstream == WireFormat::AnthropicMessages {
                assert!(markers >= 2, "{name}: the gateway marks breakpoints");
            }
        }
    }
}

#[test]
fn claude_code_tool_turn_keeps_its_pairing_everywhere() {
    let recording: Value = serde_json::from_str(&fixture(
        "clients/claude-code-2.1.197-turn2-tool-result.json",
    ))
    .unwrap();
    let body = serde_json::to_vec(&recording["body"]).unwrap();
    let request = WireFormat::AnthropicMessages
        .decode_request(&body, &mut Warnings::new())
        .unwrap();
    let (adapted, _) = adapt::for_upstream(request.clone(), WireFormat::OpenAiResponses);
    let encoded = WireFormat::OpenAiResponses
        .encode_request(&adapted, &target(true), &mut Warnings::new())
        .unwrap();
    let kinds: Vec<String> = array(&encoded, "input")
        .iter()
        .map(|i| text(i, "type"))
        .filter(|k| k != "message")
        .collect();
    // The Anthropic thinking block cannot go to OpenAI; the call and its output do.
    assert_eq!(kinds, ["function_call", "function_call_output"]);
    let call = array(&encoded, "input")
        .iter()
        .find(|i| text(i, "type") == "function_call")
        .unwrap();
    assert_eq!(text(call, "call_id"), "toolu_01ABC");
    assert_eq!(text(call, "name"), "Read");
    assert_eq!(
        serde_json::from_str::<Value>(&text(call, "arguments")).unwrap(),
        serde_json::json!({"file_path": "/tmp/work1/main.rs"})
    );
}

#[test]
fn codex_tool_turn_becomes_a_valid_anthropic_conversation() {
    let recording: Value =
        serde_json::from_str(&fixture("clients/codex-0.169.0-turn2-tool-output.json")).unwrap();
    let body = serde_json::to_vec(&recording["body"]).unwrap();
    let request = WireFormat::OpenAiResponses
        .decode_request(&body, &mut Warnings::new())
        .unwrap();
    let (adapted, _) = adapt::for_upstream(request, WireFormat::AnthropicMessages);
    let mut warnings = Warnings::new();
    let encoded = WireFormat::AnthropicMessages
        .encode_request(&adapted, &target(true), &mut warnings)
        .unwrap();
    // Codex's developer messages become the system prompt.
    let system = encoded["system"].as_array().unwrap();
    assert!(system.iter().any(|b| text(b, "text").contains("Codex")));
    let messages = array(&encoded, "messages");
    let last = messages.last().unwrap();
    assert_eq!(text(last, "role"), "user");
    let result = &array(last, "content")[0];
    assert_eq!(text(result, "type"), "tool_result");
    assert_eq!(text(result, "tool_use_id"), "call_abc123");
    // The web search becomes Anthropic's; its cached-only setting has no Anthropic field and
    // is reported.
    let tools = array(&encoded, "tools");
    let search = tools.iter().find(|t| t["type"] == "web_search_20250305");
    assert_eq!(
        search.map(|t| (t["name"].clone(), t.get("external_web_access"))),
        Some((json!("web_search"), None))
    );
    assert!(
        warnings
            .header_value()
            .unwrap_or_default()
            .contains("tools(web_search).external_web_access"),
        "{:?}",
        warnings.header_value()
    );
}
