//! A Responses client's request forwarded to a Responses upstream (see `formats::forward`).
//!
//! | field | forwarded |
//! |---|---|
//! | `input`, `instructions`, `stream`, `stream_options`, `temperature`, `top_p`, `tool_choice`, `parallel_tool_calls`, `reasoning`, `text`, `truncation`, `user`, `safety_identifier`, `prompt_cache_key`, `prompt_cache_retention`, `top_logprobs`, `max_tool_calls` | as sent |
//! | `model` | the upstream's id |
//! | `max_output_tokens` | the call's reserved output cap |
//! | `store` | `false`, unless the plan has `store` (OpenAI keeps turns by default) |
//! | `include` | `reasoning.encrypted_content` (added for reasoning models when `store` is forced off, so a turn can be replayed), output logprobs and image URLs; server-tool results with `server_tools` |
//! | `tools` | function, custom and namespace tools and the client-run built-ins (shell, apply_patch, computer use); server tools with `server_tools` (and `files` for those naming stored objects: `file_search`'s vector stores, a `code_interpreter` container by id), `mcp` with `mcp` |
//! | `service_tier` | with the plan's `service_tier` |
//! | `metadata` | with `store` |
//! | `previous_response_id` and anything else | left out (the gateway resolves conversations itself) |

use super::builtin_tool;
use crate::error::ApiError;
use crate::formats::forward::{RawObject, filter_array, type_of};
use crate::formats::{BuiltinTool, UpstreamFeatures, UpstreamTarget, tool_names_stored_object};
use crate::translate::Warnings;

const ENCRYPTED_REASONING: &str = "reasoning.encrypted_content";

fn allowed(field: &str, features: UpstreamFeatures) -> bool {
    match field {
        "model"
        | "input"
        | "instructions"
        | "max_output_tokens"
        | "stream"
        | "stream_options"
        | "temperature"
        | "top_p"
        | "tools"
        | "tool_choice"
        | "parallel_tool_calls"
        | "reasoning"
        | "text"
        | "truncation"
        | "user"
        | "safety_identifier"
        | "prompt_cache_key"
        | "prompt_cache_retention"
        | "include"
        | "top_logprobs"
        | "max_tool_calls"
        | "store" => true,
        "service_tier" => features.service_tier,
        "metadata" => features.store,
        _ => false,
    }
}

/// Whether `include` may ask for `item`.
fn include_allowed(item: &str, features: UpstreamFeatures) -> bool {
    match item {
        ENCRYPTED_REASONING | "message.output_text.logprobs" | "message.input_image.image_url" => {
            true
        }
        "web_search_call.action.sources"
        | "web_search_call.results"
        | "code_interpreter_call.outputs"
        | "file_search_call.results"
        | "computer_call_output.output.image_url" => features.server_tools,
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
    object.set("max_output_tokens", &target.output_cap());
    let store_forced_off = !features.store && object.get::<bool>("store") != Some(false);
    if !features.store {
        object.set("store", &false);
    }
    let mut include: Vec<String> = object.get("include").unwrap_or_default();
    let before = include.len();
    include.retain(|item| {
        let keep = include_allowed(item, features);
        if !keep {
            warnings.dropped(format!("include({item})"));
        }
        keep
    });
    let reasoning = object.has("reasoning") && target.reasoning;
    if store_forced_off && reasoning && !include.iter().any(|i| i == ENCRYPTED_REASONING) {
        include.push(ENCRYPTED_REASONING.to_owned());
    }
    if include.len() != before || object.has("include") {
        if include.is_empty() {
            object.remove("include");
        } else {
            object.set("include", &include);
        }
    }
    if let Some(tools) = object.raw("tools") {
        let kept = filter_array(
            tools,
            "tools",
            type_of,
            |tool| match type_of(tool).as_str() {
                "" | "function" | "custom" | "namespace" => true,
                kind => match builtin_tool(kind) {
                    Some(BuiltinTool::ClientRun) => true,
                    Some(BuiltinTool::Mcp) => features.mcp,
                    Some(BuiltinTool::Server) | None => {
                        features.server_tools && (features.files || !names_stored_object(tool))
                    }
                },
            },
            warnings,
        );
        if let Some(kept) = kept {
            object.set("tools", &kept);
        }
    }
    Ok(object.to_bytes())
}

fn names_stored_object(tool: &serde_json::value::RawValue) -> bool {
    serde_json::from_str::<serde_json::Value>(tool.get())
        .is_ok_and(|tool| tool_names_stored_object(&tool))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::MaxTokensParam;
    use serde_json::{Value, json};

    fn forward(body: Value, features: UpstreamFeatures) -> (Value, Option<String>) {
        let target = UpstreamTarget {
            model: "gpt-up".into(),
            stream: true,
            max_tokens_param: MaxTokensParam::MaxCompletionTokens,
            default_max_tokens: 2000,
            max_output_tokens: Some(2000),
            reasoning: true,
            cache_breakpoints: false,
            server_tools: None,
        };
        let mut warnings = Warnings::new();
        let bytes = forward_request(
            &serde_json::to_vec(&body).unwrap(),
            &target,
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
    fn turns_are_never_stored_upstream_and_server_tools_stay_out() {
        let (sent, warnings) = forward(
            json!({"model": "m", "input": "hi", "reasoning": {"effort": "high"},
                   "previous_response_id": "resp_other_tenant", "service_tier": "priority",
                   "metadata": {"k": "v"}, "client_metadata": {}, "background": false,
                   "include": ["file_search_call.results"],
                   "tools": [{"type": "function", "name": "f"}, {"type": "web_search"},
                             {"type": "local_shell"}, {"type": "mcp", "server_url": "x"},
                             {"type": "file_search", "vector_store_ids": ["vs_1"]}]}),
            UpstreamFeatures::default(),
        );
        assert_eq!(
            sent,
            json!({"model": "gpt-up", "input": "hi", "reasoning": {"effort": "high"},
                   "include": ["reasoning.encrypted_content"],
                   "tools": [{"type": "function", "name": "f"}, {"type": "local_shell"}],
                   "max_output_tokens": 2000, "store": false})
        );
        assert_eq!(
            warnings.as_deref(),
            Some(
                "dropped=previous_response_id,service_tier,metadata,client_metadata,background,include(file_search_call.results),tools(web_search),tools(mcp),tools(file_search)"
            )
        );
    }

    #[test]
    fn server_tools_naming_stored_objects_need_files_too() {
        let tools_only = UpstreamFeatures {
            server_tools: true,
            ..UpstreamFeatures::default()
        };
        let body = json!({"model": "m", "input": "hi", "tools": [
            {"type": "web_search"},
            {"type": "file_search", "vector_store_ids": ["vs_other_tenant"]},
            {"type": "code_interpreter", "container": "cntr_other_tenant"},
            {"type": "code_interpreter", "container": {"type": "auto"}}
        ]});
        let (sent, _) = forward(body.clone(), tools_only);
        assert_eq!(
            sent["tools"],
            json!([{"type": "web_search"}, {"type": "code_interpreter", "container": {"type": "auto"}}])
        );
        let both = UpstreamFeatures {
            files: true,
            ..tools_only
        };
        assert_eq!(forward(body, both).0["tools"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn a_plan_with_store_keeps_the_clients_choice() {
        let store = UpstreamFeatures {
            store: true,
            ..UpstreamFeatures::default()
        };
        let (sent, _) = forward(json!({"model": "m", "input": "hi", "store": true}), store);
        assert_eq!(sent["store"], true);
        let (sent, _) = forward(json!({"model": "m", "input": "hi"}), store);
        assert!(sent.get("store").is_none());
    }
}
