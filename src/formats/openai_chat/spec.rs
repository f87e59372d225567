//! The OpenAI Chat Completions format's descriptor (see `formats::spec`).

use serde_json::{Value, json};

use crate::canonical::{ChatRequest, Vendor};
use crate::error::ApiError;
use crate::formats::spec::{
    Endpoint, EndpointKind, FormatSpec, IdLimits, Incoming, ModelCard, asks_models_shape, is,
    models_endpoint, module_codecs,
};
use crate::formats::{ResponseContext, openai_common};

pub struct Spec;

impl FormatSpec for Spec {
    fn config_name(&self) -> &'static str {
        "openai-chat"
    }

    fn native_vendor(&self) -> Option<Vendor> {
        None
    }

    fn answer_id_prefix(&self) -> &'static str {
        "chatcmpl-"
    }

    /// `POST /v1/chat/completions`, and `GET /v1/models[/{id}]` in the OpenAI shape (without
    /// another format's models shape header, such as `anthropic-version`).
    fn endpoint(&self, request: &Incoming) -> Option<Endpoint> {
        if is(request, "POST", "/v1/chat/completions") {
            return Some(Endpoint::of(EndpointKind::Inference));
        }
        models_endpoint(request, !asks_models_shape(request))
    }

    fn claims_errors(&self, request: &Incoming) -> bool {
        request.path.starts_with("/v1/chat")
    }

    fn render_error(&self, error: &ApiError, _request_id: &str) -> Value {
        openai_common::error_body(error)
    }

    fn stream_error_frame(
        &self,
        error: &ApiError,
        context: &ResponseContext,
        events_seen: u64,
        upstream_id: &str,
    ) -> Vec<u8> {
        super::stream_error_frame(error, context, events_seen, upstream_id)
    }

    fn keep_alive_frame(&self, out: &mut Vec<u8>) {
        openai_common::keep_alive_frame(out);
    }

    fn forwards_stream(&self, request: &ChatRequest) -> bool {
        request.client.include_usage
    }

    fn output_limit_field(&self) -> &'static str {
        "max_completion_tokens"
    }

    fn models_list(&self, models: &[ModelCard]) -> Value {
        openai_common::models_list(models)
    }

    fn model_entry(&self, model: &ModelCard) -> Value {
        openai_common::model_entry(model)
    }

    fn count_answer(&self, input_tokens: u64) -> Value {
        json!({ "input_tokens": input_tokens })
    }

    fn upstream_url(&self, base_url: &str, _model: &str, _stream: bool) -> String {
        format!("{base_url}/chat/completions")
    }

    fn upstream_headers(
        &self,
        key: Option<&str>,
        _betas: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        openai_common::bearer_headers(key)
    }

    fn id_limits(&self) -> IdLimits {
        IdLimits {
            tool_name_chars: 64,
            call_id_chars: 40,
            supports_custom_tools: false,
        }
    }

    fn classify_error(&self, status: u16, body: &[u8]) -> ApiError {
        openai_common::classify(status, body)
    }

    fn credit_exhausted(&self, status: u16, body: &[u8]) -> bool {
        openai_common::credit_exhausted(status, body)
    }

    fn retry_after_ms(&self, header: &dyn Fn(&str) -> Option<String>, now_ms: u64) -> Option<u64> {
        openai_common::retry_after_ms(header, now_ms)
    }

    module_codecs!();
}
