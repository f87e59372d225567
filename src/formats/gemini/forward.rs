//! A Gemini client's request forwarded to a Gemini upstream (see `formats::forward`). The
//! model and streaming are in the URL, which the gateway writes itself.
//!
//! | field | forwarded |
//! |---|---|
//! | `contents`, `systemInstruction`, `toolConfig`, `safetySettings` | as sent |
//! | `generationConfig` | as sent, `maxOutputTokens` set to the call's reserved output cap and a `thinkingBudget` lowered below it when it would not fit |
//! | `tools` | function declarations and client-run tools (`computerUse`); Google-run tools (`googleSearch`, `codeExecution`, `urlContext`, ...) with the plan's `server_tools` (`fileSearch` also needs `files`: its stores are the operator's), `mcpServers` with `mcp` |
//! | `cachedContent` | with the plan's `files` (content stored in the operator's account) |
//! | `serviceTier` | with the plan's `service_tier` |
//! | anything else (`labels`, `model`, ...) | left out, with a warning |

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::builtin_tool;
use crate::error::ApiError;
use crate::formats::forward::{RawObject, filter_array};
use crate::formats::{BuiltinTool, UpstreamFeatures, UpstreamTarget, tool_names_stored_object};
use crate::translate::Warnings;

/// Room left for the answer when a thinking budget is lowered to fit `maxOutputTokens`.
const ANSWER_ROOM_TOKENS: u64 = 1024;

fn allowed(field: &str, features: UpstreamFeatures) -> bool {
    match field {
        "contents" | "systemInstruction" | "system_instruction" | "generationConfig"
        | "generation_config" | "tools" | "toolConfig" | "tool_config" | "safetySettings"
        | "safety_settings" => true,
        "cachedContent" | "cached_content" => features.files,
        "serviceTier" | "service_tier" => features.service_tier,
        _ => false,
    }
}

pub fn forward_request(
    body: &[u8],
    target: &UpstreamTarget,
    features: UpstreamFeatures,
    warnings: &mut Warnings,
) -> Result<Vec<u8>, ApiError> {
    let mut object = RawObject::parse(body)?;
    object.retain_allowed(|field| allowed(field, features), warnings);
    let cap = target.output_cap();
    let config_field = if object.has("generation_config") && !object.has("generationConfig") {
        "generation_config"
    } else {
        "generationConfig"
    };
    let mut config = object
        .get::<Map<String, Value>>(config_field)
        .unwrap_or_default();
    config.remove("max_output_tokens");
    config.insert("maxOutputTokens".into(), Value::from(cap));
    fit_thinking(&mut config, cap, warnings);
    object.set(config_field, &config);
    if let Some(tools) = object.raw("tools") {
        let kept = filter_array(
            tools,
            "tools",
            entry_name,
            |tool| keep_tool(tool, features),
            warnings,
        );
        if let Some(kept) = kept {
            object.set("tools", &kept);
        }
    }
    Ok(object.to_bytes())
}

/// The key of a `tools[]` entry (`functionDeclarations`, `googleSearch`, ...).
fn entry_name(raw: &RawValue) -> String {
    serde_json::from_str::<Map<String, Value>>(raw.get())
        .ok()
        .and_then(|map| map.keys().next().cloned())
        .unwrap_or_default()
}

/// Whether a `tools[]` entry may go upstream under the plan.
fn keep_tool(raw: &RawValue, features: UpstreamFeatures) -> bool {
    let Ok(entry) = serde_json::from_str::<Value>(raw.get()) else {
        return false;
    };
    let Some(map) = entry.as_object() else {
        return false;
    };
    map.keys().all(|key| match key.as_str() {
        "functionDeclarations" | "function_declarations" => true,
        other => match builtin_tool(other) {
            Some(BuiltinTool::ClientRun) => true,
            Some(BuiltinTool::Mcp) => features.mcp,
            Some(BuiltinTool::Server) | None => {
                features.server_tools && (features.files || !tool_names_stored_object(&entry))
            }
        },
    })
}

/// A thinking budget counts against `maxOutputTokens`: one that would leave no room for the
/// answer is lowered.
fn fit_thinking(config: &mut Map<String, Value>, cap: u64, warnings: &mut Warnings) {
    let key = if config.contains_key("thinkingConfig") {
        "thinkingConfig"
    } else {
        "thinking_config"
    };
    let Some(Value::Object(thinking)) = config.get_mut(key) else {
        return;
    };
    let budget_key = if thinking.contains_key("thinkingBudget") {
        "thinkingBudget"
    } else {
        "thinking_budget"
    };
    let Some(budget) = thinking.get(budget_key).and_then(Value::as_u64) else {
        return;
    };
    if budget < cap {
        return;
    }
    let fitted = cap.saturating_sub(ANSWER_ROOM_TOKENS).max(cap / 2);
    thinking.insert(budget_key.into(), Value::from(fitted));
    warnings.clamped(format!("thinkingBudget({budget}->{fitted})"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::MaxTokensParam;
    use serde_json::json;

    fn target(cap: u64) -> UpstreamTarget {
        UpstreamTarget {
            model: "gemini-up".into(),
            stream: true,
            max_tokens_param: MaxTokensParam::MaxCompletionTokens,
            default_max_tokens: cap,
            max_output_tokens: Some(cap),
            reasoning: true,
            cache_breakpoints: false,
            server_tools: None,
        }
    }

    fn forward(body: Value, cap: u64, features: UpstreamFeatures) -> (Value, Option<String>) {
        let mut warnings = Warnings::new();
        let bytes = forward_request(
            &serde_json::to_vec(&body).unwrap(),
            &target(cap),
            features,
            &mut warnings,
        )
        .unwrap();
        (
            serde_json::from_slice(&bytes).unwrap(),
            warnings.header_value(),
        )
    }

    #[test]
    fn forwards_what_it_meters_and_nothing_that_costs_extra() {
        let body = json!({
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "systemInstruction": {"parts": [{"text": "s"}]},
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
            "generationConfig": {"maxOutputTokens": 100000, "temperature": 0.5,
                "responseModalities": ["TEXT"]},
            "cachedContent": "cachedContents/abc", "serviceTier": "priority", "labels": {"a": "b"},
            "tools": [
                {"functionDeclarations": [{"name": "f"}]},
                {"googleSearch": {}},
                {"fileSearch": {"fileSearchStoreNames": ["fileSearchStores/x"]}},
                {"mcpServers": [{"name": "m"}]},
                {"computerUse": {"environment": "ENVIRONMENT_BROWSER"}}
            ]
        });
        let (sent, warnings) = forward(body.clone(), 4096, UpstreamFeatures::default());
        assert_eq!(
            sent,
            json!({
                "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "systemInstruction": {"parts": [{"text": "s"}]},
                "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
                "generationConfig": {"temperature": 0.5, "responseModalities": ["TEXT"],
                    "maxOutputTokens": 4096},
                "tools": [
                    {"functionDeclarations": [{"name": "f"}]},
                    {"computerUse": {"environment": "ENVIRONMENT_BROWSER"}}
                ]
            })
        );
        assert_eq!(
            warnings.as_deref(),
            Some(
                "dropped=cachedContent,serviceTier,labels,tools(googleSearch),tools(fileSearch),tools(mcpServers)"
            )
        );
        let server_tools = UpstreamFeatures {
            server_tools: true,
            ..UpstreamFeatures::default()
        };
        let (sent, _) = forward(body.clone(), 4096, server_tools);
        let kinds: Vec<String> = sent["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_object().unwrap().keys().next().unwrap().clone())
            .collect();
        assert_eq!(
            kinds,
            ["functionDeclarations", "googleSearch", "computerUse"],
            "file search stores need `files` too"
        );
        let everything = UpstreamFeatures {
            service_tier: true,
            server_tools: true,
            mcp: true,
            store: true,
            files: true,
            ..UpstreamFeatures::default()
        };
        let (sent, warnings) = forward(body, 4096, everything);
        assert_eq!(sent["cachedContent"], "cachedContents/abc");
        assert_eq!(sent["serviceTier"], "priority");
        assert_eq!(sent["tools"].as_array().unwrap().len(), 5);
        assert_eq!(warnings.as_deref(), Some("dropped=labels"));
    }

    #[test]
    fn the_output_limit_is_the_cap_and_thinking_fits_under_it() {
        let (sent, warnings) = forward(
            json!({"contents": [], "generationConfig": {"thinkingConfig": {"thinkingBudget": 32768, "includeThoughts": true}}}),
            8192,
            UpstreamFeatures::default(),
        );
        assert_eq!(sent["generationConfig"]["maxOutputTokens"], 8192);
        assert_eq!(
            sent["generationConfig"]["thinkingConfig"],
            json!({"thinkingBudget": 7168, "includeThoughts": true})
        );
        assert_eq!(
            warnings.as_deref(),
            Some("clamped=thinkingBudget(32768->7168)")
        );
        let (sent, warnings) = forward(json!({"contents": []}), 500, UpstreamFeatures::default());
        assert_eq!(sent["generationConfig"], json!({"maxOutputTokens": 500}));
        assert_eq!(warnings, None);
        // Dynamic (-1) and level-based thinking are left as they are.
        let (sent, _) = forward(
            json!({"contents": [], "generationConfig": {"thinkingConfig": {"thinkingBudget": -1}}}),
            500,
            UpstreamFeatures::default(),
        );
        assert_eq!(
            sent["generationConfig"]["thinkingConfig"]["thinkingBudget"],
            -1
        );
    }
}
