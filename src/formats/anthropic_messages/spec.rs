//! The Anthropic Messages format's descriptor (see `formats::spec`).

use serde_json::{Value, json};

use super::{errors, stream_encoder};
use crate::canonical::{ChatRequest, Vendor};
use crate::error::ApiError;
use crate::formats::spec::{
    Endpoint, EndpointKind, FormatSpec, IdLimits, Incoming, ModelCard, count_body, input_tokens_of,
    is, models_endpoint, module_codecs,
};
use crate::formats::{BuiltinTool, ResponseContext, ServerTools, UpstreamTarget};
use crate::translate::Warnings;

pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The fields Anthropic's token count reads.
const COUNT_FIELDS: [&str; 6] = [
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
];

/// The header by which a client of `/v1/models` asks for this format's shape of the list
/// (Anthropic's SDKs always send it; OpenAI's never do).
pub const MODELS_SHAPE_HEADER: &str = "anthropic-version";

pub struct Spec;

impl FormatSpec for Spec {
    fn config_name(&self) -> &'static str {
        "anthropic"
    }

    fn native_vendor(&self) -> Option<Vendor> {
        Some(Vendor::Anthropic)
    }

    fn answer_id_prefix(&self) -> &'static str {
        "msg_"
    }

    /// Only `message_start` names the model.
    fn names_model_after_start(&self) -> bool {
        false
    }

    /// The SDKs wait for `message_stop`.
    fn stream_needs_terminal_event(&self) -> bool {
        true
    }

    /// `POST /v1/messages`, `POST /v1/messages/count_tokens`, and `GET /v1/models[/{id}]` when
    /// the request carries `anthropic-version`.
    fn endpoint(&self, request: &Incoming) -> Option<Endpoint> {
        if is(request, "POST", "/v1/messages") {
            return Some(Endpoint::of(EndpointKind::Inference));
        }
        if is(request, "POST", "/v1/messages/count_tokens") {
            return Some(Endpoint::of(EndpointKind::CountTokens));
        }
        models_endpoint(request, request.has_header(MODELS_SHAPE_HEADER))
    }

    fn claims_errors(&self, request: &Incoming) -> bool {
        request.path.starts_with("/v1/messages")
            || request.has_header(MODELS_SHAPE_HEADER) && !request.path.starts_with("/v1/chat")
    }

    fn render_error(&self, error: &ApiError, request_id: &str) -> Value {
        errors::error_body(error, request_id)
    }

    fn stream_error_frame(
        &self,
        error: &ApiError,
        _context: &ResponseContext,
        _events_seen: u64,
        _upstream_id: &str,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        stream_encoder::write_error(error, &mut out);
        out
    }

    fn keep_alive_frame(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"event: ping\ndata: {\"type\":\"ping\"}\n\n");
    }

    fn output_limit_field(&self) -> &'static str {
        "max_tokens"
    }

    fn models_list(&self, models: &[ModelCard]) -> Value {
        let data: Vec<Value> = models.iter().map(|m| self.model_entry(m)).collect();
        json!({
            "data": data,
            "has_more": false,
            "first_id": models.first().map(|m| m.id),
            "last_id": models.last().map(|m| m.id),
        })
    }

    fn model_entry(&self, model: &ModelCard) -> Value {
        json!({
            "type": "model",
            "id": model.id,
            "display_name": model.display_name,
            "created_at": "2025-01-01T00:00:00Z",
        })
    }

    /// A count request is a Messages request without `max_tokens`.
    fn decode_count_request(
        &self,
        body: &[u8],
        warnings: &mut Warnings,
    ) -> Result<ChatRequest, ApiError> {
        let mut json: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid(format!("The body is not valid JSON: {e}")))?;
        if let Some(object) = json.as_object_mut() {
            object.entry("max_tokens").or_insert(json!(1));
            object.remove("stream");
        }
        let patched = serde_json::to_vec(&json).unwrap_or_default();
        drop(json);
        super::decode_request(&patched, warnings)
    }

    fn count_answer(&self, input_tokens: u64) -> Value {
        json!({ "input_tokens": input_tokens })
    }

    fn upstream_url(&self, base_url: &str, _model: &str, _stream: bool) -> String {
        format!("{base_url}/messages")
    }

    fn upstream_headers(
        &self,
        key: Option<&str>,
        betas: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        let mut headers = Vec::with_capacity(3);
        if let Some(key) = key {
            headers.push(("x-api-key", key.to_owned()));
        }
        headers.push(("anthropic-version", ANTHROPIC_VERSION.to_owned()));
        if let (Some(betas), Some(name)) = (betas, self.beta_header()) {
            headers.push((name, betas.to_owned()));
        }
        headers
    }

    fn beta_header(&self) -> Option<&'static str> {
        Some("anthropic-beta")
    }

    fn id_limits(&self) -> IdLimits {
        IdLimits {
            tool_name_chars: 128,
            call_id_chars: 128,
            supports_custom_tools: false,
        }
    }

    fn classify_error(&self, status: u16, body: &[u8]) -> ApiError {
        errors::classify(status, body)
    }

    fn credit_exhausted(&self, status: u16, body: &[u8]) -> bool {
        errors::credit_exhausted(status, body)
    }

    fn rejected_betas(&self, status: u16, body: &[u8], sent: &str) -> Vec<String> {
        errors::rejected_betas(status, body, sent)
    }

    fn interleaves_reasoning(&self) -> bool {
        true
    }

    fn retry_after_ms(&self, header: &dyn Fn(&str) -> Option<String>, now_ms: u64) -> Option<u64> {
        errors::retry_after_ms(header, now_ms)
    }

    fn builtin_tool(&self, kind: &str) -> Option<BuiltinTool> {
        super::known_builtin_tool(kind)
    }

    /// Web search and web fetch (on the Claude API and Vertex; a Bedrock route says otherwise
    /// in its model's `server_tools`).
    fn server_tools(&self) -> ServerTools {
        ServerTools {
            web_search: true,
            web_fetch: true,
        }
    }

    fn models_shape_header(&self) -> Option<&'static str> {
        Some(MODELS_SHAPE_HEADER)
    }

    fn count_request(
        &self,
        base_url: &str,
        request: &ChatRequest,
        target: &UpstreamTarget,
    ) -> Option<Result<(String, Vec<u8>), ApiError>> {
        let mut warnings = Warnings::new();
        let body = super::encode_request(request, target, &mut warnings);
        Some(
            count_body(body, &COUNT_FIELDS)
                .map(|body| (format!("{base_url}/messages/count_tokens"), body)),
        )
    }

    fn count_response(&self, body: &[u8]) -> Option<u64> {
        input_tokens_of(body)
    }

    module_codecs!();
}
