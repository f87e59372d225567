//! An Anthropic client's request forwarded to an Anthropic upstream (see `formats::forward`).
//!
//! | field | forwarded |
//! |---|---|
//! | `messages`, `system`, `temperature`, `top_p`, `top_k`, `stop_sequences`, `stream`, `metadata`, `tool_choice`, `output_config`, `cache_control`, `context_management` | as sent |
//! | `model` | the upstream's id |
//! | `max_tokens` | the call's reserved output cap |
//! | `thinking` | as sent, its budget lowered below the cap when it would not fit |
//! | `tools` | client tools and client-run Anthropic tools; server tools with the plan's `server_tools`, `mcp_toolset` with `mcp` |
//! | `service_tier`, `speed`, `inference_geo` | with the plan's `service_tier` |
//! | `container` | with `server_tools` and `files` (a container is reused by id: it belongs to the operator's account) |
//! | `mcp_servers` | with `mcp` |
//! | anything else | left out, with a warning |

use serde_json::Value;

use super::builtin_tool;
use crate::error::ApiError;
use crate::formats::forward::{RawObject, filter_array, type_of};
use crate::formats::{BuiltinTool, UpstreamFeatures, UpstreamTarget};
use crate::translate::Warnings;

/// Anthropic's smallest thinking budget.
const MIN_BUDGET_TOKENS: u64 = 1024;

fn allowed(field: &str, features: UpstreamFeatures) -> bool {
    match field {
        "model" | "max_tokens" | "messages" | "system" | "temperature" | "top_p" | "top_k"
        | "stop_sequences" | "stream" | "metadata" | "tools" | "tool_choice" | "thinking"
        | "output_config" | "cache_control" | "context_management" => true,
        "service_tier" | "speed" | "inference_geo" => features.service_tier,
        "container" => features.server_tools && features.files,
        "mcp_servers" => features.mcp,
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
    object.set("model", &target.model);
    let cap = target.output_cap();
    object.set("max_tokens", &cap);
    fit_thinking(&mut object, cap, warnings);
    if let Some(tools) = object.raw("tools") {
        let kept = filter_array(
            tools,
            "tools",
            type_of,
            |tool| match builtin_tool(&type_of(tool)) {
                None | Some(BuiltinTool::ClientRun) => true,
                Some(BuiltinTool::Server) => features.server_tools,
                Some(BuiltinTool::Mcp) => features.mcp,
            },
            warnings,
        );
        if let Some(kept) = kept {
            object.set("tools", &kept);
        }
    }
    Ok(object.to_bytes())
}

/// A `count_tokens` request for an Anthropic upstream: the fields that endpoint reads, the
/// upstream's model id, and the tools the plan allows.
pub fn forward_count_request(
    body: &[u8],
    model: &str,
    features: UpstreamFeatures,
    warnings: &mut Warnings,
) -> Result<Vec<u8>, ApiError> {
    let mut object = RawObject::parse(body)?;
    object.retain_allowed(
        |field| {
            matches!(
                field,
                "model" | "messages" | "system" | "tools" | "tool_choice" | "thinking"
            )
        },
        warnings,
    );
    object.set("model", &model);
    if let Some(tools) = object.raw("tools") {
        let kept = filter_array(
            tools,
            "tools",
            type_of,
            |tool| match builtin_tool(&type_of(tool)) {
                None | Some(BuiltinTool::ClientRun) => true,
                Some(BuiltinTool::Server) => features.server_tools,
                Some(BuiltinTool::Mcp) => features.mcp,
            },
            warnings,
        );
        if let Some(kept) = kept {
            object.set("tools", &kept);
        }
    }
    Ok(object.to_bytes())
}

/// A thinking budget must be below `max_tokens`: lowered to leave room for the answer, or
/// thinking switched off when the cap is too small for Anthropic's smallest budget.
fn fit_thinking(object: &mut RawObject, cap: u64, warnings: &mut Warnings) {
    let Some(mut thinking) = object.get::<Value>("thinking") else {
        return;
    };
    let Some(budget) = thinking.get("budget_tokens").and_then(Value::as_u64) else {
        return;
    };
    if budget < cap {
        return;
    }
    let shrunk = cap.saturating_sub(MIN_BUDGET_TOKENS).max(MIN_BUDGET_TOKENS);
    if shrunk >= cap {
        object.remove("thinking");
        warnings.disabled("thinking(max_tokens)");
        return;
    }
    if let Some(map) = thinking.as_object_mut() {
        map.insert("budget_tokens".into(), Value::from(shrunk));
    }
    object.set("thinking", &thinking);
    warnings.clamped(format!("thinking.budget_tokens({budget}->{shrunk})"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::MaxTokensParam;
    use serde_json::json;

    fn target(cap: u64) -> UpstreamTarget {
        UpstreamTarget {
            model: "claude-up".into(),
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
            "model": "pub", "max_tokens": 100000, "stream": true,
            "messages": [{"role": "user", "content": "hi"}],
            "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
            "context_management": {"edits": []},
            "service_tier": "auto", "speed": "fast", "container": "c_1", "mcp_servers": [{}],
            "inference_geo": "us", "unknown_field": 1,
            "tools": [
                {"name": "Bash", "input_schema": {"type": "object"}},
                {"type": "bash_20250124", "name": "bash"},
                {"type": "web_search_20250305", "name": "web_search"},
                {"type": "mcp_toolset", "mcp_server_name": "x"}
            ]
        });
        let (sent, warnings) = forward(body, 4096, UpstreamFeatures::default());
        assert_eq!(
            sent,
            json!({
                "model": "claude-up", "max_tokens": 4096, "stream": true,
                "messages": [{"role": "user", "content": "hi"}],
                "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
                "context_management": {"edits": []},
                "tools": [
                    {"name": "Bash", "input_schema": {"type": "object"}},
                    {"type": "bash_20250124", "name": "bash"}
                ]
            })
        );
        assert_eq!(
            warnings.as_deref(),
            Some(
                "dropped=service_tier,speed,container,mcp_servers,inference_geo,unknown_field,tools(web_search_20250305),tools(mcp_toolset)"
            )
        );
        let everything = UpstreamFeatures {
            service_tier: true,
            server_tools: true,
            mcp: true,
            store: true,
            files: true,
            ..UpstreamFeatures::default()
        };
        let tools_only = UpstreamFeatures {
            server_tools: true,
            ..UpstreamFeatures::default()
        };
        let (sent, _) = forward(
            json!({"model": "m", "max_tokens": 1, "messages": [], "container": "c"}),
            10,
            tools_only,
        );
        assert!(
            sent.get("container").is_none(),
            "a container id needs `files` too"
        );
        let body = json!({"model": "pub", "max_tokens": 1, "messages": [], "speed": "fast",
            "container": "c", "mcp_servers": [], "tools": [{"type": "web_search_20250305"}]});
        let (sent, warnings) = forward(body, 10, everything);
        assert_eq!(sent["speed"], "fast");
        assert_eq!(sent["tools"][0]["type"], "web_search_20250305");
        assert_eq!(warnings, None);
    }

    #[test]
    fn the_thinking_budget_fits_under_the_cap() {
        let body = |budget: u64| {
            json!({"model": "m", "max_tokens": 64000, "messages": [],
                   "thinking": {"type": "enabled", "budget_tokens": budget}})
        };
        let (sent, warnings) = forward(body(32000), 8192, UpstreamFeatures::default());
        assert_eq!(sent["max_tokens"], 8192);
        assert_eq!(sent["thinking"]["budget_tokens"], 7168);
        assert_eq!(
            warnings.as_deref(),
            Some("clamped=thinking.budget_tokens(32000->7168)")
        );
        let (sent, _) = forward(body(2000), 8192, UpstreamFeatures::default());
        assert_eq!(sent["thinking"]["budget_tokens"], 2000);
        let (sent, warnings) = forward(body(2000), 1024, UpstreamFeatures::default());
        assert!(sent.get("thinking").is_none());
        assert_eq!(warnings.as_deref(), Some("disabled=thinking(max_tokens)"));
    }
}
