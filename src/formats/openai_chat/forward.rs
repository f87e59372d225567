//! A Chat client's request forwarded to a Chat upstream (see `formats::forward`).
//!
//! | field | forwarded |
//! |---|---|
//! | `messages`, `temperature`, `top_p`, `stop`, `presence_penalty`, `frequency_penalty`, `logit_bias`, `logprobs`, `top_logprobs`, `seed`, `response_format`, `tool_choice`, `parallel_tool_calls`, `user`, `safety_identifier`, `prompt_cache_key`, `prompt_cache_retention`, `reasoning_effort`, `verbosity`, `modalities`, `functions`, `function_call`, `stream` | as sent |
//! | `model` | the upstream's id |
//! | `max_completion_tokens` or `max_tokens` (as the provider names it) | the call's reserved output cap; the other name is left out |
//! | `stream_options` | `{"include_usage": true}` on streams, whatever the client sent: usage is always asked for |
//! | `tools` | `function` and `custom` tools |
//! | `service_tier` | with the plan's `service_tier` |
//! | `store`, `metadata` | with `store` |
//! | `web_search_options` | with `server_tools` |
//! | anything else (`n`, `prediction`, `audio`, ...) | left out, with a warning |

use serde_json::json;

use crate::error::ApiError;
use crate::formats::forward::{RawObject, filter_array, type_of};
use crate::formats::{MaxTokensParam, UpstreamFeatures, UpstreamTarget};
use crate::translate::Warnings;

fn allowed(field: &str, features: UpstreamFeatures) -> bool {
    match field {
        "model"
        | "messages"
        | "stream"
        | "stream_options"
        | "max_tokens"
        | "max_completion_tokens"
        | "temperature"
        | "top_p"
        | "stop"
        | "presence_penalty"
        | "frequency_penalty"
        | "logit_bias"
        | "logprobs"
        | "top_logprobs"
        | "seed"
        | "response_format"
        | "tools"
        | "tool_choice"
        | "parallel_tool_calls"
        | "user"
        | "safety_identifier"
        | "prompt_cache_key"
        | "prompt_cache_retention"
        | "reasoning_effort"
        | "verbosity"
        | "modalities"
        | "functions"
        | "function_call" => true,
        "service_tier" => features.service_tier,
        "store" | "metadata" => features.store,
        "web_search_options" => features.server_tools,
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
    let (wanted, other) = match target.max_tokens_param {
        MaxTokensParam::MaxCompletionTokens => ("max_completion_tokens", "max_tokens"),
        MaxTokensParam::MaxTokens => ("max_tokens", "max_completion_tokens"),
    };
    object.remove(other);
    object.set(wanted, &target.output_cap());
    if object.get::<bool>("stream") == Some(true) {
        object.set("stream_options", &json!({"include_usage": true}));
    } else {
        object.remove("stream_options");
    }
    if let Some(tools) = object.raw("tools") {
        let kept = filter_array(
            tools,
            "tools",
            type_of,
            |tool| matches!(type_of(tool).as_str(), "" | "function" | "custom"),
            warnings,
        );
        if let Some(kept) = kept {
            object.set("tools", &kept);
        }
    }
    Ok(object.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn target(param: MaxTokensParam) -> UpstreamTarget {
        UpstreamTarget {
            model: "up".into(),
            stream: true,
            max_tokens_param: param,
            default_max_tokens: 1000,
            max_output_tokens: Some(1000),
            reasoning: false,
            cache_breakpoints: false,
            server_tools: None,
        }
    }

    fn forward(body: Value, param: MaxTokensParam) -> (Value, Option<String>) {
        let mut warnings = Warnings::new();
        let bytes = forward_request(
            &serde_json::to_vec(&body).unwrap(),
            &target(param),
            UpstreamFeatures::default(),
            &mut warnings,
        )
        .unwrap();
        (
            serde_json::from_slice(&bytes).unwrap(),
            warnings.header_value(),
        )
    }

    #[test]
    fn usage_is_always_asked_for_and_the_cap_always_sent() {
        for options in [json!(null), json!({"include_usage": false}), json!({})] {
            let (sent, _) = forward(
                json!({"model": "m", "stream": true, "messages": [], "stream_options": options}),
                MaxTokensParam::MaxCompletionTokens,
            );
            assert_eq!(
                sent,
                json!({"model": "up", "stream": true, "messages": [],
                       "stream_options": {"include_usage": true}, "max_completion_tokens": 1000})
            );
        }
        let (sent, _) = forward(
            json!({"model": "m", "messages": [], "max_completion_tokens": 5000000000u64}),
            MaxTokensParam::MaxTokens,
        );
        assert_eq!(
            sent,
            json!({"model": "up", "messages": [], "max_tokens": 1000})
        );
    }

    #[test]
    fn what_costs_extra_or_is_stored_stays_out() {
        let (sent, warnings) = forward(
            json!({"model": "m", "messages": [], "n": 1, "service_tier": "priority",
                   "store": true, "metadata": {"a": "b"}, "web_search_options": {},
                   "prediction": {"type": "content", "content": "x"},
                   "tools": [{"type": "function", "function": {"name": "f"}}, {"type": "web_search"}]}),
            MaxTokensParam::MaxCompletionTokens,
        );
        assert_eq!(
            sent,
            json!({"model": "up", "messages": [], "max_completion_tokens": 1000,
                   "tools": [{"type": "function", "function": {"name": "f"}}]})
        );
        assert_eq!(
            warnings.as_deref(),
            Some(
                "dropped=n,service_tier,store,metadata,web_search_options,prediction,tools(web_search)"
            )
        );
    }
}
