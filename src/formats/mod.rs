//! One module per wire format, each with the same six codecs:
//!
//! | codec | direction |
//! |---|---|
//! | `decode_request` | client JSON → [`ChatRequest`] |
//! | `encode_request` | [`ChatRequest`] → upstream JSON |
//! | `decode_response` | upstream JSON → [`ChatResponse`] |
//! | `encode_response` | [`ChatResponse`] → client JSON |
//! | `StreamDecoder` | upstream SSE events → [`StreamEvent`]s |
//! | `StreamEncoder` | [`StreamEvent`]s → client SSE bytes |
//!
//! Everything else a format decides (URLs, authentication, error bodies, limits, endpoints) is in
//! its descriptor ([`spec::FormatSpec`]), registered in [`spec_of`]: shared code asks
//! [`WireFormat::spec`] and never names a format, so a fourth format is one new module, one
//! variant of [`WireFormat`] and one line in [`spec_of`].

pub mod anthropic_messages;
pub mod forward;
pub mod gemini;
pub mod openai_chat;
pub mod openai_common;
pub mod openai_responses;
pub mod spare;
pub mod spec;

use spec::FormatSpec;

/// The one place formats are registered: each format's descriptor.
pub fn spec_of(format: WireFormat) -> &'static dyn FormatSpec {
    match format {
        WireFormat::OpenAiChat => &openai_chat::spec::Spec,
        WireFormat::AnthropicMessages => &anthropic_messages::spec::Spec,
        WireFormat::OpenAiResponses => &openai_responses::spec::Spec,
        WireFormat::Gemini => &gemini::spec::Spec,
    }
}

use serde_json::{Map, Value};

use crate::canonical::{ChatRequest, ChatResponse, ServerToolKind, StreamEvent};
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::sse::SseEvent;
use crate::translate::Warnings;

/// How Chat upstreams want the output limit named: OpenAI's reasoning models reject
/// `max_tokens`, many OpenAI-compatible servers only know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxTokensParam {
    #[default]
    MaxCompletionTokens,
    MaxTokens,
}

/// Upstream features that cost extra or keep data at the vendor. A plan enables them; without
/// them, same-format forwarding leaves them out (with a warning) and translation never sends
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpstreamFeatures {
    /// Priority or fast tiers and regional inference (`service_tier`, `speed`,
    /// `inference_geo`).
    pub service_tier: bool,
    /// Tools the vendor runs and bills per call (web search and fetch, code execution,
    /// containers, file search, image generation).
    pub server_tools: bool,
    /// Remote MCP servers called by the vendor.
    pub mcp: bool,
    /// Turns and metadata stored at the vendor (`store`, `metadata`).
    pub store: bool,
    /// Objects already stored at the vendor, referenced by id (files, containers, vector
    /// stores): they belong to the operator's account, not to the key.
    pub files: bool,
    /// What becomes of a web search or fetch tool (allowed by `server_tools`) when the
    /// model's upstream runs no such tool.
    pub missing_server_tools: MissingServerTools,
}

/// What a plan does with a server tool (web search, web fetch) the chosen upstream has no
/// equivalent for (the plan's `server_tools_missing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingServerTools {
    /// The request is answered 400, naming the tool: a client that asked for a search must
    /// not get an answer that silently never searched.
    #[default]
    Refuse,
    /// The tool is left out and the answer says so (`x-toc-warnings: dropped=tools(…)`).
    Drop,
}

impl MissingServerTools {
    /// The policy called `name` in a plan (`"refuse"`, `"drop"`).
    pub fn parse(name: &str) -> Option<MissingServerTools> {
        match name {
            "refuse" => Some(MissingServerTools::Refuse),
            "drop" => Some(MissingServerTools::Drop),
            _ => None,
        }
    }
}

/// A set of server tool kinds: those an upstream runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerTools {
    pub web_search: bool,
    pub web_fetch: bool,
}

impl ServerTools {
    pub const NONE: ServerTools = ServerTools {
        web_search: false,
        web_fetch: false,
    };

    pub fn of(kinds: &[ServerToolKind]) -> ServerTools {
        let mut set = ServerTools::NONE;
        for kind in kinds {
            match kind {
                ServerToolKind::WebSearch => set.web_search = true,
                ServerToolKind::WebFetch => set.web_fetch = true,
            }
        }
        set
    }

    pub fn offers(self, kind: ServerToolKind) -> bool {
        match kind {
            ServerToolKind::WebSearch => self.web_search,
            ServerToolKind::WebFetch => self.web_fetch,
        }
    }
}

impl UpstreamFeatures {
    /// Turns on the feature called `name` (as written in a plan); false for an unknown name.
    pub fn enable(&mut self, name: &str) -> bool {
        let flag = match name {
            "service_tier" => &mut self.service_tier,
            "server_tools" => &mut self.server_tools,
            "mcp" => &mut self.mcp,
            "store" => &mut self.store,
            "files" => &mut self.files,
            _ => return false,
        };
        *flag = true;
        true
    }
}

/// Who runs a vendor-defined (built-in) tool, which decides whether a plan must allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinTool {
    /// The client runs it and sends the result back (shell, text editor, computer use): no
    /// vendor charge beyond tokens.
    ClientRun,
    /// The vendor runs it and bills per call or keeps state (web search and fetch, code
    /// execution, file search, image generation).
    Server,
    /// The vendor calls a remote MCP server.
    Mcp,
}

/// What a built-in tool of type `kind` is, in whichever format defines it; an unknown type
/// is taken for a server tool (the careful guess: it is then sent only where the plan allows
/// server tools).
pub fn builtin_tool(kind: &str) -> BuiltinTool {
    WireFormat::ALL
        .iter()
        .find_map(|format| format.spec().builtin_tool(kind))
        .unwrap_or(BuiltinTool::Server)
}

/// Whether a built-in tool names objects stored at the vendor (files in the operator's account,
/// reachable by any key that learns the id): `file_search`'s vector stores, a
/// `code_interpreter` container given by id rather than `{"type": "auto"}`, an Anthropic code
/// execution `container`, Gemini `fileSearch` stores.
pub fn tool_names_stored_object(tool: &Value) -> bool {
    tool.get("vector_store_ids").is_some()
        || tool.get("container").is_some_and(Value::is_string)
        || tool
            .get("fileSearch")
            .is_some_and(|search| search.get("fileSearchStoreNames").is_some())
}

/// What an upstream encoder needs to know about where the request goes.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamTarget {
    /// The model id the upstream knows.
    pub model: String,
    pub stream: bool,
    /// Chat only.
    pub max_tokens_param: MaxTokensParam,
    /// The output limit to send when the client gave none and the format requires one
    /// (Anthropic).
    pub default_max_tokens: u64,
    /// The model's largest output limit, if known; larger requests are clamped with a warning.
    pub max_output_tokens: Option<u64>,
    /// Whether the model accepts reasoning controls (OpenAI `reasoning_effort`/`reasoning`,
    /// Anthropic `thinking`). Without it, reasoning requests are dropped with a warning.
    pub reasoning: bool,
    /// Whether the gateway marks prompt cache breakpoints itself for a request that carries
    /// none (formats whose vendor caches only what is marked: Anthropic). Other formats'
    /// vendors cache by prefix on their own and ignore it.
    pub cache_breakpoints: bool,
    /// The server tools the model's upstream runs, when its config says (a Bedrock route
    /// without web search, say); `None`: those of its format ([`spec::FormatSpec::server_tools`]).
    pub server_tools: Option<ServerTools>,
}

impl UpstreamTarget {
    /// The output limit the upstream is sent: the call's reservation, set by the gateway in
    /// `max_output_tokens` before any encoder runs.
    pub fn output_cap(&self) -> u64 {
        self.max_output_tokens.unwrap_or(self.default_max_tokens)
    }
}

/// How a request encoder hands over what it built: a JSON value, or the bytes sent upstream.
pub trait EncodedBody: Sized {
    /// `size_hint`: about how many bytes the body will take (its prompt text), so the bytes
    /// are written into one buffer rather than a growing one that briefly holds them twice.
    fn from_wire<T: serde::Serialize>(wire: &T, size_hint: usize) -> serde_json::Result<Self>;

    /// [`EncodedBody::from_wire`], a failure being the gateway's own: a request it built that
    /// cannot be written.
    fn encoded<T: serde::Serialize>(wire: &T, size_hint: usize) -> Result<Self, ApiError> {
        Self::from_wire(wire, size_hint).map_err(|e| {
            ApiError::new(
                ErrorKind::Internal,
                format!("could not write the upstream request: {e}"),
            )
        })
    }
}

impl EncodedBody for Value {
    fn from_wire<T: serde::Serialize>(wire: &T, _size_hint: usize) -> serde_json::Result<Value> {
        serde_json::to_value(wire)
    }
}

impl EncodedBody for Vec<u8> {
    fn from_wire<T: serde::Serialize>(wire: &T, size_hint: usize) -> serde_json::Result<Vec<u8>> {
        let mut out =
            Vec::with_capacity(size_hint.saturating_add(size_hint / 8).saturating_add(4096));
        serde_json::to_writer(&mut out, wire)?;
        Ok(out)
    }
}

/// What a client encoder needs to know to answer in the client's terms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseContext {
    /// The public model id the client asked for; answers name it, not the upstream's id.
    pub model: String,
    /// Unix seconds for `created` / `created_at`.
    pub created_s: u64,
    /// The gateway's request id (also the fallback for response ids).
    pub request_id: String,
    /// Chat: send the usage chunk.
    pub include_usage: bool,
    /// Responses: request fields to echo in the response object.
    pub echo: Map<String, Value>,
    /// A compaction (see `translate::compaction`): the user messages the compacted history
    /// keeps; the answer is the summary, in the format's compaction shape.
    pub compaction: Option<Vec<String>>,
}

impl ResponseContext {
    pub fn for_request(request: &ChatRequest, created_s: u64, request_id: &str) -> ResponseContext {
        ResponseContext {
            model: request.model.clone(),
            created_s,
            request_id: request_id.to_owned(),
            include_usage: request.client.include_usage,
            echo: request.client.echo.clone(),
            compaction: None,
        }
    }
}

/// Upstream SSE events in, canonical events out. See `canonical::stream` for the grammar the
/// output must follow.
pub trait StreamDecode {
    fn push(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>);
    /// The upstream body ended. Emits `Error` if the upstream never sent its terminal event.
    fn finish(&mut self, out: &mut Vec<StreamEvent>);
    /// Takes the buffers out of an event this decoder emitted, once it has been written, for
    /// the next events (see [`spare`]). Decoders that reuse none leave it as it is.
    fn recycle(&mut self, event: &mut StreamEvent) {
        let _ = event;
    }
}

/// Canonical events in, client SSE bytes out (including the format's terminator and its
/// in-band error event).
pub trait StreamEncode {
    fn push(&mut self, event: &StreamEvent, out: &mut Vec<u8>);
}

/// The codecs, through each format's descriptor.
impl WireFormat {
    /// This format's descriptor.
    pub fn spec(self) -> &'static dyn FormatSpec {
        spec_of(self)
    }

    pub fn decode_request(
        self,
        body: &[u8],
        warnings: &mut Warnings,
    ) -> Result<ChatRequest, ApiError> {
        self.spec().decode_request(body, warnings)
    }

    pub fn encode_request(
        self,
        request: &ChatRequest,
        target: &UpstreamTarget,
        warnings: &mut Warnings,
    ) -> Result<Value, ApiError> {
        self.spec().encode_request(request, target, warnings)
    }

    /// [`WireFormat::encode_request`], as the bytes sent upstream.
    pub fn encode_request_bytes(
        self,
        request: &ChatRequest,
        target: &UpstreamTarget,
        warnings: &mut Warnings,
    ) -> Result<Vec<u8>, ApiError> {
        self.spec().encode_request_bytes(request, target, warnings)
    }

    /// The client's own body, for an upstream of the same format, through the format's
    /// allowlist (see [`forward`]).
    pub fn forward_request(
        self,
        body: &[u8],
        target: &UpstreamTarget,
        features: UpstreamFeatures,
        warnings: &mut Warnings,
    ) -> Result<Vec<u8>, ApiError> {
        self.spec()
            .forward_request(body, target, features, warnings)
    }

    pub fn decode_response(self, body: &[u8]) -> Result<ChatResponse, ApiError> {
        self.spec().decode_response(body)
    }

    pub fn encode_response(self, response: &ChatResponse, context: &ResponseContext) -> Value {
        self.spec().encode_response(response, context)
    }

    pub fn stream_decoder(self) -> Box<dyn StreamDecode> {
        self.spec().stream_decoder()
    }

    pub fn stream_encoder(self, context: ResponseContext) -> Box<dyn StreamEncode> {
        self.spec().stream_encoder(context)
    }

    /// The format's keep-alive frame for a silent stream.
    pub fn keep_alive_frame(self, out: &mut Vec<u8>) {
        self.spec().keep_alive_frame(out);
    }

    /// A standalone in-band error frame for a stream the gateway forwarded untranslated and the
    /// upstream cut short. `events_seen` is how many SSE events were forwarded (the next
    /// Responses `sequence_number`); `upstream_id` is the answer's id as the stream gave it.
    pub fn stream_error_frame(
        self,
        error: &ApiError,
        context: &ResponseContext,
        events_seen: u64,
        upstream_id: &str,
    ) -> Vec<u8> {
        self.spec()
            .stream_error_frame(error, context, events_seen, upstream_id)
    }
}

/// A client-facing id with the client format's `prefix`, derived from the upstream's id so one
/// answer keeps one id across formats (`msg_01X` → `chatcmpl-01X`). Falls back to the gateway's
/// request id when the upstream sent none.
///
/// An upstream id that is not a short plain token (over 64 characters, or with characters
/// other than letters, digits, `-`, `_` and `.`) is not repeated: translated streams repeat the
/// id in every event, so an 8 KB id would multiply the client's stream many times over.
pub fn client_id(prefix: &str, upstream_id: &str, context: &ResponseContext) -> String {
    const MAX_ID_CHARS: usize = 64;
    // A format whose ids carry no prefix (Gemini) must not match every id.
    let core = WireFormat::ALL
        .iter()
        .map(|format| format.spec().answer_id_prefix())
        .filter(|prefix| !prefix.is_empty())
        .find_map(|prefix| upstream_id.strip_prefix(prefix))
        .unwrap_or(upstream_id);
    let plain = core.len() <= MAX_ID_CHARS
        && core
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let core = if core.is_empty() || !plain {
        context.request_id.as_str()
    } else {
        core
    };
    format!("{prefix}{core}")
}

/// An error tool result's text for formats with no error flag on results (Chat, Responses):
/// prefixed with `Error: `, unless it already says so.
pub fn error_result_text(text: &str) -> String {
    let says_error = text
        .trim_start()
        .get(..5)
        .is_some_and(|head| head.eq_ignore_ascii_case("error"));
    match (text.is_empty(), says_error) {
        (true, _) => "Error".to_owned(),
        (false, true) => text.to_owned(),
        (false, false) => format!("Error: {text}"),
    }
}

/// Refuses a file id from another vendor's file store (it would not resolve upstream).
pub fn check_file_vendor(
    file: &crate::canonical::FileRef,
    upstream: crate::canonical::Vendor,
) -> Result<(), ApiError> {
    if file.vendor == upstream {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "The file id `{}` belongs to another provider's file store and cannot be used with this model; send the content inline or by URL.",
            file.id
        ))
        .with_param(file.path.as_str()))
    }
}

/// Refuses the request if any image or document (tool results included) is a file id from
/// another vendor's file store.
pub fn check_request_files(
    request: &ChatRequest,
    upstream: crate::canonical::Vendor,
) -> Result<(), ApiError> {
    use crate::canonical::{MediaSource, Part};
    fn check(parts: &[Part], upstream: crate::canonical::Vendor) -> Result<(), ApiError> {
        for part in parts {
            match part {
                Part::Image(crate::canonical::Media {
                    source: MediaSource::FileId(file),
                    ..
                })
                | Part::Document(crate::canonical::Document {
                    source: MediaSource::FileId(file),
                    ..
                }) => check_file_vendor(file, upstream)?,
                Part::ToolResult(result) => check(&result.content, upstream)?,
                Part::Text(_)
                | Part::Image(_)
                | Part::Document(_)
                | Part::ToolCall(_)
                | Part::Reasoning(_)
                | Part::Refusal(_)
                | Part::ServerTool(_) => {}
            }
        }
        Ok(())
    }
    request
        .messages
        .iter()
        .try_for_each(|message| check(&message.parts, upstream))
}

/// OpenAI's end-user id fields (`user`, `safety_identifier`) take at most 64 characters. A
/// longer id (Claude Code sends a JSON blob in `metadata.user_id`) is sent as its SHA-256 in
/// hex, which stays stable per user.
pub fn openai_user_id(user: &str, warnings: &mut Warnings) -> String {
    const MAX_USER_CHARS: usize = 64;
    if user.chars().count() <= MAX_USER_CHARS {
        return user.to_owned();
    }
    warnings.converted("user(sha256)");
    crate::keys::hash_key(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_classifies_its_own_built_in_tools() {
        // Anthropic's types by prefix, Responses' and Gemini's by name: none shadows another.
        for (kind, expected) in [
            ("bash_20250124", BuiltinTool::ClientRun),
            ("web_search_20250305", BuiltinTool::Server),
            ("mcp_toolset", BuiltinTool::Mcp),
            ("local_shell", BuiltinTool::ClientRun),
            ("mcp", BuiltinTool::Mcp),
            ("file_search", BuiltinTool::Server),
            ("computerUse", BuiltinTool::ClientRun),
            ("mcpServers", BuiltinTool::Mcp),
            ("googleSearch", BuiltinTool::Server),
            ("a_type_nobody_defines", BuiltinTool::Server),
        ] {
            assert_eq!(builtin_tool(kind), expected, "{kind}");
        }
    }

    #[test]
    fn answer_ids_lose_only_a_real_prefix() {
        let context = crate::testing::context("m");
        assert_eq!(client_id("chatcmpl-", "msg_01X", &context), "chatcmpl-01X");
        assert_eq!(
            client_id("msg_", "tTCwacuEBMvnitYP06qsgQY", &context),
            "msg_tTCwacuEBMvnitYP06qsgQY"
        );
        assert_eq!(client_id("", "resp_abc", &context), "abc");
        assert_eq!(client_id("", "", &context), "req_test");
    }
}
