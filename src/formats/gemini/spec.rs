//! The Gemini format's descriptor (see `formats::spec`).

use serde_json::{Value, json};

use super::endpoint::{self, API_KEY_HEADER, model_id};
use super::{errors, stream_encoder};
use crate::canonical::{ChatRequest, Vendor};
use crate::error::ApiError;
use crate::formats::spec::{Endpoint, FormatSpec, IdLimits, Incoming, ModelCard, module_codecs};
use crate::formats::{BuiltinTool, ResponseContext, ServerTools, UpstreamTarget};
use crate::translate::Warnings;

/// The request fields `countTokens` counts (inside `generateContentRequest`).
const COUNT_FIELDS: [&str; 5] = [
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "cachedContent",
];

pub struct Spec;

impl FormatSpec for Spec {
    fn interleaves_reasoning(&self) -> bool {
        true
    }

    fn config_name(&self) -> &'static str {
        "gemini"
    }

    fn native_vendor(&self) -> Option<Vendor> {
        Some(Vendor::Google)
    }

    /// Gemini's `responseId`s have no prefix.
    fn answer_id_prefix(&self) -> &'static str {
        ""
    }

    fn answer_model_field(&self) -> &'static str {
        "modelVersion"
    }

    fn endpoint(&self, request: &Incoming) -> Option<Endpoint> {
        endpoint::endpoint(request)
    }

    fn claims_errors(&self, request: &Incoming) -> bool {
        endpoint::claims_errors(request)
    }

    fn presented_key(&self, request: &Incoming) -> Option<String> {
        endpoint::presented_key(request)
    }

    fn render_error(&self, error: &ApiError, request_id: &str) -> Value {
        errors::error_body(error, request_id)
    }

    fn stream_error_frame(
        &self,
        error: &ApiError,
        context: &ResponseContext,
        _events_seen: u64,
        _upstream_id: &str,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        stream_encoder::write_error(error, &context.request_id, &mut out);
        out
    }

    fn keep_alive_frame(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(stream_encoder::KEEP_ALIVE);
    }

    /// A label for warnings: the limit is `maxOutputTokens` inside `generationConfig`.
    fn output_limit_field(&self) -> &'static str {
        "generationConfig.maxOutputTokens"
    }

    fn models_list(&self, models: &[ModelCard]) -> Value {
        let models: Vec<Value> = models.iter().map(|m| self.model_entry(m)).collect();
        json!({ "models": models })
    }

    fn model_entry(&self, model: &ModelCard) -> Value {
        let mut entry = json!({
            "name": format!("models/{}", model.id),
            "baseModelId": model.id,
            "version": "001",
            "displayName": model.display_name,
            "description": model.display_name,
            "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
        });
        if let Some(map) = entry.as_object_mut() {
            if let Some(window) = model.context_window {
                map.insert("inputTokenLimit".into(), json!(window));
            }
            if let Some(output) = model.max_output_tokens {
                map.insert("outputTokenLimit".into(), json!(output));
            }
        }
        entry
    }

    fn decode_count_request(
        &self,
        body: &[u8],
        warnings: &mut Warnings,
    ) -> Result<ChatRequest, ApiError> {
        super::request_decode::decode_count_request(body, warnings)
    }

    fn count_answer(&self, input_tokens: u64) -> Value {
        json!({ "totalTokens": input_tokens })
    }

    fn upstream_url(&self, base_url: &str, model: &str, stream: bool) -> String {
        let base = base_url.trim_end_matches('/');
        let model = model_id(model);
        if stream {
            format!("{base}/models/{model}:streamGenerateContent?alt=sse")
        } else {
            format!("{base}/models/{model}:generateContent")
        }
    }

    fn upstream_headers(
        &self,
        key: Option<&str>,
        _betas: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        key.map(|key| (API_KEY_HEADER, key.to_owned()))
            .into_iter()
            .collect()
    }

    fn models_shape_header(&self) -> Option<&'static str> {
        Some(API_KEY_HEADER)
    }

    /// Gemini takes names of up to 64 characters in its older models (128 in the newer), ids
    /// of any length; the gateway keeps to what every model takes.
    fn id_limits(&self) -> IdLimits {
        IdLimits {
            tool_name_chars: 64,
            call_id_chars: 64,
            supports_custom_tools: false,
        }
    }

    fn classify_error(&self, status: u16, body: &[u8]) -> ApiError {
        errors::classify(status, body)
    }

    fn builtin_tool(&self, kind: &str) -> Option<BuiltinTool> {
        super::builtin_tool(kind)
    }

    /// `googleSearch`. `urlContext` reads pages named in the prompt but returns no page and no
    /// call, so it stands in for no other vendor's fetch.
    fn server_tools(&self) -> ServerTools {
        ServerTools {
            web_search: true,
            web_fetch: false,
        }
    }

    /// `countTokens` with the whole request in `generateContentRequest`, so that the system
    /// instruction and the tools are counted too.
    fn count_request(
        &self,
        base_url: &str,
        request: &ChatRequest,
        target: &UpstreamTarget,
    ) -> Option<Result<(String, Vec<u8>), ApiError>> {
        let mut warnings = Warnings::new();
        let encoded: Result<Value, ApiError> =
            super::request_encode::encode_request_as(request, target, &mut warnings);
        let body = encoded.and_then(|mut body| {
            if let Some(object) = body.as_object_mut() {
                object.retain(|field, _| COUNT_FIELDS.contains(&field.as_str()));
                object.insert(
                    "model".into(),
                    json!(format!("models/{}", model_id(&target.model))),
                );
            }
            serde_json::to_vec(&json!({ "generateContentRequest": body })).map_err(|error| {
                ApiError::new(crate::error::ErrorKind::Internal, error.to_string())
            })
        });
        let base = base_url.trim_end_matches('/');
        let model = model_id(&target.model);
        Some(body.map(|body| (format!("{base}/models/{model}:countTokens"), body)))
    }

    fn count_response(&self, body: &[u8]) -> Option<u64> {
        serde_json::from_slice::<Value>(body)
            .ok()?
            .get("totalTokens")?
            .as_u64()
    }

    module_codecs!();
}
