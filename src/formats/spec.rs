//! The descriptor of a wire format: everything shared code needs to know about a format, asked
//! through one interface. Each format module implements [`FormatSpec`] once (`spec.rs` in the
//! module) and registers it in [`super::spec_of`]; shared code (translation, metering, the
//! edge) never names a format, it asks the descriptor.
//!
//! | concern | methods |
//! |---|---|
//! | identity | [`FormatSpec::config_name`], [`FormatSpec::native_vendor`], [`FormatSpec::answer_id_prefix`] |
//! | serving clients | [`FormatSpec::endpoint`], [`FormatSpec::presented_key`], [`FormatSpec::render_error`], [`FormatSpec::stream_error_frame`], [`FormatSpec::keep_alive_frame`], [`FormatSpec::models_list`], [`FormatSpec::count_answer`] |
//! | calling upstreams | [`FormatSpec::upstream_url`], [`FormatSpec::upstream_headers`], [`FormatSpec::classify_error`], [`FormatSpec::id_limits`], [`FormatSpec::output_limit_field`], [`FormatSpec::count_request`], [`FormatSpec::server_tools`] |
//! | codecs | the six of [`super`], plus [`FormatSpec::forward_request`] |

use serde_json::Value;

use super::{
    BuiltinTool, ResponseContext, ServerTools, StreamDecode, StreamEncode, UpstreamFeatures,
    UpstreamTarget,
};
use crate::canonical::{ChatRequest, ChatResponse, Vendor};
use crate::error::ApiError;
use crate::keys;
use crate::resilience::retry_after;
use crate::translate::Warnings;

/// What a format allows in tool names and call ids (the gateway rewrites what does not fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdLimits {
    pub tool_name_chars: usize,
    pub call_id_chars: usize,
    /// Freeform (`custom`) tools exist in the format; elsewhere they become function tools.
    pub supports_custom_tools: bool,
}

/// What a client asks at one of a format's paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointKind {
    /// An answer, streamed or not.
    Inference,
    /// A conversation's history compacted into a summary the client sends back in its place
    /// (Responses `POST /responses/compact`): an answer from the model, in another shape.
    Compact,
    /// A token count of a request.
    CountTokens,
    /// The models the key may use.
    ListModels,
    /// One model.
    GetModel(String),
    /// A stored turn, read (`delete: false`) or deleted.
    StoredTurn { id: String, delete: bool },
    /// One of the format's paths, asked in a way the gateway does not serve (answered with
    /// this error, in the format's shape).
    Refused(ApiError),
}

/// A client request routed to a format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub kind: EndpointKind,
    /// The model, when the format puts it in the URL rather than the body.
    pub model: Option<String>,
    /// Streaming, when the format says it in the URL rather than the body.
    pub stream: Option<bool>,
}

impl Endpoint {
    pub fn of(kind: EndpointKind) -> Endpoint {
        Endpoint {
            kind,
            model: None,
            stream: None,
        }
    }
}

/// What the edge tells a format about an incoming request, so it can say whether it serves it.
pub struct Incoming<'a> {
    pub method: &'a str,
    /// Without a trailing slash.
    pub path: &'a str,
    pub header: &'a dyn Fn(&str) -> Option<String>,
    /// The URL's query string (without `?`).
    pub query: &'a str,
}

impl Incoming<'_> {
    pub fn has_header(&self, name: &str) -> bool {
        (self.header)(name).is_some()
    }
}

/// A model as a client sees it in a list.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCard<'a> {
    pub id: &'a str,
    pub display_name: &'a str,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
}

/// Everything format-specific, one implementation per format.
pub trait FormatSpec: Sync {
    // ---- identity

    /// The name in the config file (`format = "..."`).
    fn config_name(&self) -> &'static str;
    /// Whose opaque reasoning state the format carries natively (see `canonical::reasoning`).
    fn native_vendor(&self) -> Option<Vendor>;
    /// The prefix of the format's answer ids (`chatcmpl-`, `msg_`, `resp_`).
    fn answer_id_prefix(&self) -> &'static str;
    /// The field of an answer (and of its stream events) that names the model.
    fn answer_model_field(&self) -> &'static str {
        "model"
    }
    /// Whether stream events after the one that starts the answer may name the model (if not,
    /// a forwarded stream needs no model rewrite once started).
    fn names_model_after_start(&self) -> bool {
        true
    }
    /// Whether the format's clients treat a stream that ends without its terminal event as
    /// failed (so one the runtime cuts short cannot pass for a complete answer).
    fn stream_needs_terminal_event(&self) -> bool {
        false
    }

    // ---- serving clients

    /// The endpoint `request` asks for, if it is one of this format's.
    fn endpoint(&self, request: &Incoming) -> Option<Endpoint>;
    /// Whether an error for `request` (which no endpoint serves) is written in this format.
    fn claims_errors(&self, _request: &Incoming) -> bool {
        false
    }
    /// The key a client presented: `Authorization: Bearer` or `x-api-key` unless the format
    /// has its own place for it.
    fn presented_key(&self, request: &Incoming) -> Option<String> {
        let authorization = (request.header)("authorization");
        let x_api_key = (request.header)("x-api-key");
        keys::presented_key(authorization.as_deref(), x_api_key.as_deref()).map(str::to_owned)
    }
    /// The error body a client of this format reads.
    fn render_error(&self, error: &ApiError, request_id: &str) -> Value;
    /// A standalone in-band error event for a stream forwarded untranslated and cut short.
    /// `events_seen` is how many events were forwarded; `upstream_id` the answer's id.
    fn stream_error_frame(
        &self,
        error: &ApiError,
        context: &ResponseContext,
        events_seen: u64,
        upstream_id: &str,
    ) -> Vec<u8>;
    /// The frame that keeps a silent stream alive without changing the answer.
    fn keep_alive_frame(&self, out: &mut Vec<u8>);
    /// Whether a stream from an upstream of this same format may be forwarded to this client
    /// as it is (a Chat client that did not ask for usage must not get the usage chunk the
    /// gateway always asks for).
    fn forwards_stream(&self, _request: &ChatRequest) -> bool {
        true
    }
    /// Whether clients continue conversations by id (`previous_response_id`), which the
    /// gateway then stores for them.
    fn stores_conversations(&self) -> bool {
        false
    }
    /// The request field that limits the answer's length, as the format names it.
    fn output_limit_field(&self) -> &'static str;
    /// The models list in the format's shape.
    fn models_list(&self, models: &[ModelCard]) -> Value;
    /// One model in the format's shape.
    fn model_entry(&self, model: &ModelCard) -> Value;
    /// A token count request's body (default: the format's request as it is).
    fn decode_count_request(
        &self,
        body: &[u8],
        warnings: &mut Warnings,
    ) -> Result<ChatRequest, ApiError> {
        self.decode_request(body, warnings)
    }
    /// The answer to a token count.
    fn count_answer(&self, input_tokens: u64) -> Value;

    // ---- calling upstreams

    /// The URL of an answer for `model` at a provider whose base URL is `base_url`.
    fn upstream_url(&self, base_url: &str, model: &str, stream: bool) -> String;
    /// Authentication and version headers (`key` absent for keyless local providers), with
    /// the client's beta flags for formats that take them.
    fn upstream_headers(
        &self,
        key: Option<&str>,
        betas: Option<&str>,
    ) -> Vec<(&'static str, String)>;
    /// The header in which the format's clients send beta flags that its upstreams take too
    /// (`anthropic-beta`), if it has one.
    fn beta_header(&self) -> Option<&'static str> {
        None
    }
    /// The beta flags (of those `sent`, comma-separated) an upstream error answer refuses; the
    /// attempt is then made once more without them.
    fn rejected_betas(&self, _status: u16, _body: &[u8], _sent: &str) -> Vec<String> {
        Vec::new()
    }
    /// Whether the format's upstreams keep a model's reasoning across its tool calls (what
    /// Anthropic's `interleaved-thinking` beta asks for): Anthropic with signatures, Responses
    /// with encrypted reasoning items, Gemini with thought signatures.
    fn interleaves_reasoning(&self) -> bool {
        false
    }
    /// The smallest output limit the format's upstreams accept.
    fn min_output_tokens(&self) -> u64 {
        1
    }
    fn id_limits(&self) -> IdLimits;
    /// An upstream error answer (an error status, or an error event in a stream) as the
    /// client's error.
    fn classify_error(&self, status: u16, body: &[u8]) -> ApiError;
    /// Whether an upstream error answer says the key's account has no credit or quota left
    /// (the key is then benched rather than retried): 402 everywhere, plus the vendor's own
    /// wording where it uses another status.
    fn credit_exhausted(&self, status: u16, _body: &[u8]) -> bool {
        status == 402
    }
    /// How long an upstream that refused a request asked to be left alone, from its answer's
    /// headers: `Retry-After` (and `retry-after-ms`), plus the vendor's rate-limit reset
    /// headers where it sends them.
    fn retry_after_ms(&self, header: &dyn Fn(&str) -> Option<String>, now_ms: u64) -> Option<u64> {
        retry_after::standard(header, now_ms)
    }
    /// The format's own built-in tool types.
    fn builtin_tool(&self, _kind: &str) -> Option<BuiltinTool> {
        None
    }
    /// The server tools (web search, web fetch) the format's vendors run inside a call, which
    /// the gateway translates other formats' tools into (a model's config may say otherwise).
    fn server_tools(&self) -> ServerTools {
        ServerTools::NONE
    }
    /// The header by which a client of the shared `GET /v1/models` asks for this format's
    /// shape of the list (its SDKs always send it, the others never do).
    fn models_shape_header(&self) -> Option<&'static str> {
        None
    }
    /// The vendor's exact token count for `request`: the URL and body to send, when the
    /// format has a count endpoint.
    fn count_request(
        &self,
        _base_url: &str,
        _request: &ChatRequest,
        _target: &UpstreamTarget,
    ) -> Option<Result<(String, Vec<u8>), ApiError>> {
        None
    }
    /// The count in the vendor's count answer.
    fn count_response(&self, _body: &[u8]) -> Option<u64> {
        None
    }

    // ---- codecs

    fn decode_request(&self, body: &[u8], warnings: &mut Warnings)
    -> Result<ChatRequest, ApiError>;
    fn encode_request(
        &self,
        request: &ChatRequest,
        target: &UpstreamTarget,
        warnings: &mut Warnings,
    ) -> Result<Value, ApiError>;
    /// [`FormatSpec::encode_request`] as the bytes sent upstream.
    fn encode_request_bytes(
        &self,
        request: &ChatRequest,
        target: &UpstreamTarget,
        warnings: &mut Warnings,
    ) -> Result<Vec<u8>, ApiError>;
    /// The client's own body, for an upstream of the same format, through the format's
    /// allowlist (see `formats::forward`).
    fn forward_request(
        &self,
        body: &[u8],
        target: &UpstreamTarget,
        features: UpstreamFeatures,
        warnings: &mut Warnings,
    ) -> Result<Vec<u8>, ApiError>;
    fn decode_response(&self, body: &[u8]) -> Result<ChatResponse, ApiError>;
    fn encode_response(&self, response: &ChatResponse, context: &ResponseContext) -> Value;
    fn stream_decoder(&self) -> Box<dyn StreamDecode>;
    fn stream_encoder(&self, context: ResponseContext) -> Box<dyn StreamEncode>;
}

/// The codec methods of a [`FormatSpec`] for a format module laid out as every format is:
/// `decode_request`, `decode_response`, `encode_response`, `StreamDecoder`, `StreamEncoder` in
/// the module, `request_encode::encode_request_as` and `forward::forward_request` in its
/// submodules. Invoked inside the `impl FormatSpec` of the module's `spec.rs`.
macro_rules! module_codecs {
    () => {
        fn decode_request(
            &self,
            body: &[u8],
            warnings: &mut $crate::translate::Warnings,
        ) -> Result<$crate::canonical::ChatRequest, $crate::error::ApiError> {
            super::decode_request(body, warnings)
        }

        fn encode_request(
            &self,
            request: &$crate::canonical::ChatRequest,
            target: &$crate::formats::UpstreamTarget,
            warnings: &mut $crate::translate::Warnings,
        ) -> Result<serde_json::Value, $crate::error::ApiError> {
            super::request_encode::encode_request_as(request, target, warnings)
        }

        fn encode_request_bytes(
            &self,
            request: &$crate::canonical::ChatRequest,
            target: &$crate::formats::UpstreamTarget,
            warnings: &mut $crate::translate::Warnings,
        ) -> Result<Vec<u8>, $crate::error::ApiError> {
            super::request_encode::encode_request_as(request, target, warnings)
        }

        fn forward_request(
            &self,
            body: &[u8],
            target: &$crate::formats::UpstreamTarget,
            features: $crate::formats::UpstreamFeatures,
            warnings: &mut $crate::translate::Warnings,
        ) -> Result<Vec<u8>, $crate::error::ApiError> {
            super::forward::forward_request(body, target, features, warnings)
        }

        fn decode_response(
            &self,
            body: &[u8],
        ) -> Result<$crate::canonical::ChatResponse, $crate::error::ApiError> {
            super::decode_response(body)
        }

        fn encode_response(
            &self,
            response: &$crate::canonical::ChatResponse,
            context: &$crate::formats::ResponseContext,
        ) -> serde_json::Value {
            super::encode_response(response, context)
        }

        fn stream_decoder(&self) -> Box<dyn $crate::formats::StreamDecode> {
            Box::new(super::StreamDecoder::new())
        }

        fn stream_encoder(
            &self,
            context: $crate::formats::ResponseContext,
        ) -> Box<dyn $crate::formats::StreamEncode> {
            Box::new(super::StreamEncoder::new(context))
        }
    };
}
pub(crate) use module_codecs;

/// A vendor count request's body: the format's encoded request reduced to the fields its count
/// endpoint takes (the endpoints refuse the others).
pub fn count_body(encoded: Result<Value, ApiError>, fields: &[&str]) -> Result<Vec<u8>, ApiError> {
    let mut body = encoded?;
    if let Some(object) = body.as_object_mut() {
        object.retain(|field, _| fields.contains(&field.as_str()));
    }
    serde_json::to_vec(&body)
        .map_err(|error| ApiError::new(crate::error::ErrorKind::Internal, error.to_string()))
}

/// The `input_tokens` of a vendor's count answer (`{"input_tokens": n, ...}`).
pub fn input_tokens_of(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get("input_tokens")?
        .as_u64()
}

/// Whether `request` carries any format's models shape header: without one, the shared models
/// paths answer in the OpenAI shape.
pub fn asks_models_shape(request: &Incoming) -> bool {
    crate::format::WireFormat::ALL
        .iter()
        .filter_map(|format| format.spec().models_shape_header())
        .any(|header| request.has_header(header))
}

/// The path of `request` if it is `method path` exactly.
pub fn is(request: &Incoming, method: &str, path: &str) -> bool {
    request.method == method && request.path == path
}

/// `GET /v1/models` and `GET /v1/models/{id}`, claimed when `claimed` says so: several formats
/// share these paths and tell them apart by a header (see [`FormatSpec::models_shape_header`]).
pub fn models_endpoint(request: &Incoming, claimed: bool) -> Option<Endpoint> {
    if request.method != "GET" || !claimed {
        return None;
    }
    if request.path == "/v1/models" {
        return Some(Endpoint::of(EndpointKind::ListModels));
    }
    let id = request.path.strip_prefix("/v1/models/")?;
    (!id.is_empty()).then(|| Endpoint::of(EndpointKind::GetModel(id.to_owned())))
}
