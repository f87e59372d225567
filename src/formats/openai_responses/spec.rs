//! The OpenAI Responses format's descriptor (see `formats::spec`).

use serde_json::{Value, json};

use crate::canonical::{ChatRequest, Vendor};
use crate::error::{ApiError, ErrorKind};
use crate::formats::spec::{
    Endpoint, EndpointKind, FormatSpec, IdLimits, Incoming, ModelCard, count_body, input_tokens_of,
    is, module_codecs,
};
use crate::formats::{BuiltinTool, ResponseContext, ServerTools, UpstreamTarget, openai_common};
use crate::translate::Warnings;

/// The fields OpenAI's input token count reads.
const COUNT_FIELDS: [&str; 9] = [
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "text",
    "truncation",
];

pub struct Spec;

impl FormatSpec for Spec {
    fn interleaves_reasoning(&self) -> bool {
        true
    }

    fn config_name(&self) -> &'static str {
        "openai-responses"
    }

    fn native_vendor(&self) -> Option<Vendor> {
        Some(Vendor::OpenAi)
    }

    fn answer_id_prefix(&self) -> &'static str {
        "resp_"
    }

    /// Clients wait for `response.completed` (Codex reports a stream closed before it).
    fn stream_needs_terminal_event(&self) -> bool {
        true
    }

    /// `POST /v1/responses`, and `GET`/`DELETE /v1/responses/{id}` for stored turns.
    fn endpoint(&self, request: &Incoming) -> Option<Endpoint> {
        if is(request, "POST", "/v1/responses") {
            return Some(Endpoint::of(EndpointKind::Inference));
        }
        if is(request, "POST", "/v1/responses/compact") {
            return Some(Endpoint::of(EndpointKind::Compact));
        }
        // Newer Codex versions try the Responses WebSocket mode first; a 426 at the handshake
        // makes them use HTTP streaming for the rest of the run at once (any other answer
        // costs them their stream retries first).
        if is(request, "GET", "/v1/responses")
            && (request.header)("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
        {
            return Some(Endpoint::of(EndpointKind::Refused(ApiError::new(
                ErrorKind::UpgradeRequired,
                "This gateway serves the Responses API over HTTP only; use HTTP streaming (`stream: true`).",
            ))));
        }
        let id = request.path.strip_prefix("/v1/responses/")?;
        let delete = match request.method {
            "GET" => false,
            "DELETE" => true,
            _ => return None,
        };
        (!id.is_empty() && !id.contains('/')).then(|| {
            Endpoint::of(EndpointKind::StoredTurn {
                id: id.to_owned(),
                delete,
            })
        })
    }

    fn claims_errors(&self, request: &Incoming) -> bool {
        request.path.starts_with("/v1/responses")
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

    fn stores_conversations(&self) -> bool {
        true
    }

    fn output_limit_field(&self) -> &'static str {
        "max_output_tokens"
    }

    fn models_list(&self, models: &[ModelCard]) -> Value {
        openai_common::models_list(models)
    }

    fn model_entry(&self, model: &ModelCard) -> Value {
        openai_common::model_entry(model)
    }

    fn count_answer(&self, input_tokens: u64) -> Value {
        json!({ "object": "response.input_tokens", "input_tokens": input_tokens })
    }

    fn upstream_url(&self, base_url: &str, _model: &str, _stream: bool) -> String {
        format!("{base_url}/responses")
    }

    fn upstream_headers(
        &self,
        key: Option<&str>,
        _betas: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        openai_common::bearer_headers(key)
    }

    /// OpenAI refuses a `max_output_tokens` below 16.
    fn min_output_tokens(&self) -> u64 {
        16
    }

    fn id_limits(&self) -> IdLimits {
        IdLimits {
            tool_name_chars: 64,
            call_id_chars: 64,
            supports_custom_tools: true,
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

    fn builtin_tool(&self, kind: &str) -> Option<BuiltinTool> {
        super::builtin_tool(kind)
    }

    /// `web_search`; OpenAI has no tool that fetches a page it is given.
    fn server_tools(&self) -> ServerTools {
        ServerTools {
            web_search: true,
            web_fetch: false,
        }
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
                .map(|body| (format!("{base_url}/responses/input_tokens"), body)),
        )
    }

    fn count_response(&self, body: &[u8]) -> Option<u64> {
        input_tokens_of(body)
    }

    module_codecs!();
}
