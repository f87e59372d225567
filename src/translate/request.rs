//! The upstream request body for one route.

use serde_json::{Value, json};

use super::adapt::{self, Restore};
use super::warnings::Warnings;
use crate::canonical::ChatRequest;
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::{MaxTokensParam, UpstreamTarget};

/// An upstream body and how to read its answer back.
#[derive(Debug)]
pub struct UpstreamRequest {
    pub body: Vec<u8>,
    pub restore: Restore,
}

/// Builds the body to send upstream.
///
/// When the client already speaks the upstream's format (and `allow_passthrough`), the client's
/// own JSON is forwarded with only the model id replaced, the output limit named and bounded as
/// the upstream wants, and, for Chat streams, usage requested; vendor fields the canonical model
/// does not carry survive and Anthropic thinking blocks stay byte-exact.
/// Otherwise the canonical request is adapted to the upstream's limits and encoded.
pub fn upstream_request(
    client: WireFormat,
    allow_passthrough: bool,
    upstream: WireFormat,
    client_json: &Value,
    request: &ChatRequest,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> Result<UpstreamRequest, ApiError> {
    if client == upstream && allow_passthrough {
        let mut body = client_json.clone();
        if let Some(object) = body.as_object_mut() {
            object.insert("model".into(), Value::String(target.model.clone()));
            fit_output_limit(object, upstream, target, warnings);
            if upstream == WireFormat::OpenAiChat && target.stream {
                let options = object.entry("stream_options").or_insert_with(|| json!({}));
                if let Some(options) = options.as_object_mut() {
                    options.insert("include_usage".into(), Value::Bool(true));
                }
            }
        }
        return Ok(UpstreamRequest {
            body: serde_json::to_vec(&body).unwrap_or_default(),
            restore: Restore::default(),
        });
    }
    let (adapted, restore) = adapt::for_upstream(request.clone(), upstream);
    let body = upstream.encode_request(&adapted, target, warnings)?;
    Ok(UpstreamRequest {
        body: serde_json::to_vec(&body).unwrap_or_default(),
        restore,
    })
}

/// A forwarded body's output limit, under the field name the upstream takes (Chat providers
/// differ on `max_tokens` / `max_completion_tokens`) and within the model's maximum.
fn fit_output_limit(
    object: &mut serde_json::Map<String, Value>,
    format: WireFormat,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) {
    let field = match format {
        WireFormat::OpenAiChat => {
            let (wanted, other) = match target.max_tokens_param {
                MaxTokensParam::MaxCompletionTokens => ("max_completion_tokens", "max_tokens"),
                MaxTokensParam::MaxTokens => ("max_tokens", "max_completion_tokens"),
            };
            if let Some(value) = object.remove(other) {
                object.entry(wanted).or_insert(value);
            }
            wanted
        }
        WireFormat::AnthropicMessages => "max_tokens",
        WireFormat::OpenAiResponses => "max_output_tokens",
    };
    let (Some(max), Some(asked)) = (
        target.max_output_tokens,
        object.get(field).and_then(Value::as_u64),
    ) else {
        return;
    };
    if asked > max {
        object.insert(field.into(), json!(max));
        warnings.clamped(format!("{field}({asked}->{max})"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(param: MaxTokensParam) -> UpstreamTarget {
        UpstreamTarget {
            model: "up".into(),
            stream: true,
            max_tokens_param: param,
            default_max_tokens: 100,
            max_output_tokens: Some(1000),
            reasoning: false,
        }
    }

    fn forwarded(format: WireFormat, json: Value, param: MaxTokensParam) -> (Value, Warnings) {
        let mut warnings = Warnings::new();
        let request = upstream_request(
            format,
            true,
            format,
            &json,
            &ChatRequest::default(),
            &target(param),
            &mut warnings,
        )
        .unwrap();
        (serde_json::from_slice(&request.body).unwrap(), warnings)
    }

    #[test]
    fn passthrough_renames_and_clamps_the_output_limit() {
        let (body, warnings) = forwarded(
            WireFormat::OpenAiChat,
            json!({"model": "m", "max_tokens": 5000, "stream": true, "messages": []}),
            MaxTokensParam::MaxCompletionTokens,
        );
        assert_eq!(
            body,
            json!({"model": "up", "stream": true, "messages": [], "max_completion_tokens": 1000,
                   "stream_options": {"include_usage": true}})
        );
        assert_eq!(
            warnings.header_value().as_deref(),
            Some("clamped=max_completion_tokens(5000->1000)")
        );
        let (body, _) = forwarded(
            WireFormat::OpenAiChat,
            json!({"model": "m", "max_completion_tokens": 10}),
            MaxTokensParam::MaxTokens,
        );
        assert_eq!(
            body,
            json!({"model": "up", "max_tokens": 10, "stream_options": {"include_usage": true}})
        );
        let (body, _) = forwarded(
            WireFormat::AnthropicMessages,
            json!({"model": "m", "max_tokens": 32000}),
            MaxTokensParam::MaxCompletionTokens,
        );
        assert_eq!(body["max_tokens"], 1000);
    }
}
