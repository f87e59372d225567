//! Wire types of the OpenAI Responses API, named as the official SDKs name them
//! (`openai-python` `types/responses/*`, `openai/codex` `codex-rs/protocol/src/models.rs`).
//!
//! Three groups:
//! - **Request, read side** (`ResponseCreateParams` and the input items): what clients send.
//!   Fields handled element by element (`input`, `tools`, `tool_choice`, message content) stay
//!   raw [`Value`]s at the top level, so an error can name the exact element at fault.
//! - **Request, write side** (`*Param` types): what the gateway sends to a Responses upstream.
//! - **Response** (`Response`, `OutputItem`, stream events): read from upstreams; the `*Out` types
//!   are what the gateway writes to Responses clients.
//!
//! Reading is lenient where upstreams vary (`#[serde(default)]`, `#[serde(other)]` fallbacks);
//! unknown fields are ignored everywhere.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sse::json_text::JsonText;

// ---------------------------------------------------------------------------------------------
// Request, read side.
// ---------------------------------------------------------------------------------------------

/// `POST /responses` body without `input`, which is read item by item. Fields the gateway does
/// not carry (`store`, `include`, `prompt_cache_key`, `client_metadata`, `metadata`,
/// `truncation`, `service_tier`, ...) are not declared; the echo copy reads them from the raw
/// body.
#[derive(Debug, Deserialize)]
pub struct ResponseCreateParams {
    pub model: String,
    pub instructions: Option<String>,
    pub max_output_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub tools: Option<Vec<Value>>,
    pub tool_choice: Option<Value>,
    pub parallel_tool_calls: Option<bool>,
    pub reasoning: Option<Reasoning>,
    pub text: Option<ResponseTextConfig>,
    pub user: Option<String>,
    pub safety_identifier: Option<String>,
    pub prompt_cache_key: Option<String>,
    pub stream: Option<bool>,
    pub background: Option<bool>,
    pub conversation: Option<Value>,
    pub prompt: Option<Value>,
}

/// `reasoning`: `{"effort", "summary"}` (`generate_summary` is the deprecated spelling).
#[derive(Debug, Deserialize)]
pub struct Reasoning {
    pub effort: Option<String>,
    pub summary: Option<String>,
    pub generate_summary: Option<String>,
}

/// `text`: the output format and verbosity.
#[derive(Debug, Deserialize)]
pub struct ResponseTextConfig {
    pub format: Option<ResponseFormatTextConfig>,
    pub verbosity: Option<String>,
}

/// `text.format` (flat json_schema config, unlike Chat's nested one).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormatTextConfig {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: Option<bool>,
        description: Option<String>,
    },
}

/// A `function` tool (flat, unlike Chat's `{"function": {...}}`).
#[derive(Debug, Deserialize)]
pub struct FunctionTool {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Option<Value>,
    pub strict: Option<bool>,
}

/// A `custom` (freeform) tool, e.g. Codex `apply_patch`.
#[derive(Debug, Deserialize)]
pub struct CustomTool {
    pub name: String,
    pub description: Option<String>,
    pub format: Option<Value>,
}

/// A `namespace` tool: function and custom tools grouped under one name. Calls to them come
/// back as `function_call`/`custom_tool_call` items with `namespace` set and the nested `name`.
#[derive(Debug, Deserialize)]
pub struct NamespaceTool {
    pub name: String,
    pub tools: Vec<Value>,
}

/// `tool_choice` objects with a name (`function`, `custom`).
#[derive(Debug, Deserialize)]
pub struct ToolChoiceNamed {
    pub name: String,
}

/// `tool_choice: {"type": "allowed_tools", "mode", "tools"}`.
#[derive(Debug, Deserialize)]
pub struct ToolChoiceAllowed {
    pub mode: String,
}

/// An input `message` item (the "easy" form may omit `type`). `content` is a string or an
/// array of parts, read part by part.
#[derive(Debug, Deserialize)]
pub struct InputMessage {
    pub role: String,
    pub content: Value,
}

/// `input_text` / `output_text` parts.
#[derive(Debug, Deserialize)]
pub struct InputText {
    pub text: String,
}

/// `refusal` parts of assistant messages.
#[derive(Debug, Deserialize)]
pub struct OutputRefusal {
    pub refusal: String,
}

/// `input_image`: `image_url` (https or data URL) or `file_id`.
#[derive(Debug, Deserialize)]
pub struct InputImage {
    pub image_url: Option<String>,
    pub file_id: Option<String>,
    pub detail: Option<String>,
}

/// `input_file`: `file_data` (data URL), `file_url` or `file_id`.
#[derive(Debug, Deserialize)]
pub struct InputFile {
    pub file_data: Option<String>,
    pub file_url: Option<String>,
    pub file_id: Option<String>,
    pub filename: Option<String>,
}

/// A `function_call` item in history.
#[derive(Debug, Deserialize)]
pub struct FunctionCallItem {
    pub call_id: String,
    pub name: String,
    pub arguments: String,
    pub namespace: Option<String>,
}

/// A `custom_tool_call` item in history.
#[derive(Debug, Deserialize)]
pub struct CustomToolCallItem {
    pub call_id: String,
    pub name: String,
    pub input: String,
    pub namespace: Option<String>,
}

/// `function_call_output` / `custom_tool_call_output`: `output` is a string or an array of
/// `input_text` / `input_image` / `input_file` parts.
#[derive(Debug, Deserialize)]
pub struct ToolCallOutputItem {
    pub call_id: String,
    pub output: Value,
}

/// A `reasoning` item in history.
#[derive(Debug, Deserialize)]
pub struct ReasoningItem {
    #[serde(default)]
    pub summary: Vec<SummaryText>,
    pub content: Option<Vec<ReasoningText>>,
    pub encrypted_content: Option<String>,
}

/// `{"type": "summary_text", "text"}`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SummaryText {
    #[serde(rename = "type", default = "summary_text")]
    pub kind: String,
    pub text: String,
}

fn summary_text() -> String {
    "summary_text".to_owned()
}

/// `{"type": "reasoning_text", "text"}` (raw reasoning, for models that expose it).
#[derive(Debug, Deserialize)]
pub struct ReasoningText {
    #[serde(default)]
    pub text: String,
}

// ---------------------------------------------------------------------------------------------
// Request, write side (gateway → Responses upstream).
// ---------------------------------------------------------------------------------------------

/// The body sent to a Responses upstream.
#[derive(Debug, Serialize)]
pub struct ResponseCreateParamsOut<'a> {
    pub model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    pub input: Vec<InputItemParam<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// The most built-in (server) tool calls in the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tool_calls: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningParam>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextParam>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Routes the prompt to the same cache (at most 64 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<&'a str>,
    pub store: bool,
    pub stream: bool,
}

/// `reasoning` as sent upstream.
#[derive(Debug, Serialize)]
pub struct ReasoningParam {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<&'static str>,
}

/// `text` as sent upstream.
#[derive(Debug, Serialize)]
pub struct TextParam {
    pub format: Value,
}

/// One input item as sent upstream.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputItemParam<'a> {
    Message {
        role: &'static str,
        content: Vec<ContentParam<'a>>,
    },
    Reasoning {
        summary: Vec<SummaryText>,
        encrypted_content: &'a str,
    },
    FunctionCall {
        call_id: &'a str,
        name: &'a str,
        arguments: &'a str,
    },
    CustomToolCall {
        call_id: &'a str,
        name: &'a str,
        input: &'a str,
    },
    FunctionCallOutput {
        call_id: &'a str,
        output: ToolOutputParam<'a>,
    },
    CustomToolCallOutput {
        call_id: &'a str,
        output: ToolOutputParam<'a>,
    },
    /// A past `web_search_call` item, sent back as the client sent it.
    #[serde(untagged)]
    Replayed(&'a Value),
}

/// A tool output: a string when it is text only, else an array of parts.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ToolOutputParam<'a> {
    Text(String),
    Parts(Vec<ContentParam<'a>>),
}

/// A message content part as sent upstream.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentParam<'a> {
    InputText {
        text: &'a str,
    },
    InputImage {
        #[serde(skip_serializing_if = "Option::is_none")]
        image_url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_id: Option<&'a str>,
        detail: &'a str,
    },
    InputFile {
        #[serde(skip_serializing_if = "Option::is_none")]
        file_data: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_url: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        filename: Option<&'a str>,
    },
    OutputText {
        text: &'a str,
        annotations: [(); 0],
    },
    Refusal {
        refusal: &'a str,
    },
}

// ---------------------------------------------------------------------------------------------
// Response, read side (Responses upstream → gateway).
// ---------------------------------------------------------------------------------------------

/// A response object (non-stream body, and the `response` of lifecycle stream events).
#[derive(Debug, Default, Deserialize)]
pub struct Response {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub model: String,
    pub status: Option<String>,
    #[serde(default)]
    pub output: Vec<OutputItem>,
    pub usage: Option<ResponseUsage>,
    pub error: Option<ResponseError>,
    pub incomplete_details: Option<IncompleteDetails>,
}

/// The `response` of a stream lifecycle event, without `output` (the stream decoder builds
/// the output from the item events and does not need to parse it twice).
#[derive(Debug, Default, Deserialize)]
pub struct ResponseHeader {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub model: String,
    pub usage: Option<ResponseUsage>,
    pub error: Option<ResponseError>,
    pub incomplete_details: Option<IncompleteDetails>,
}

/// `response.usage`. `input_tokens` includes cached tokens, `output_tokens` reasoning.
#[derive(Debug, Default, Deserialize)]
pub struct ResponseUsage {
    pub input_tokens: Option<u64>,
    pub input_tokens_details: Option<InputTokensDetails>,
    pub output_tokens: Option<u64>,
    pub output_tokens_details: Option<OutputTokensDetails>,
}

#[derive(Debug, Default, Deserialize)]
pub struct InputTokensDetails {
    pub cached_tokens: Option<u64>,
    /// Not in every SDK version; read when present.
    pub cache_write_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OutputTokensDetails {
    pub reasoning_tokens: Option<u64>,
}

/// `response.error` (`{code, message}`), also the body of an `{"error": ...}` answer.
#[derive(Debug, Default, Deserialize)]
pub struct ResponseError {
    pub code: Option<String>,
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub param: Option<String>,
}

/// `response.incomplete_details`.
#[derive(Debug, Default, Deserialize)]
pub struct IncompleteDetails {
    pub reason: Option<String>,
}

/// One output item. Item types the gateway cannot carry (built-in tool calls, ...) read as
/// [`OutputItem::Other`].
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    Message {
        #[serde(default)]
        content: Vec<OutputContent>,
    },
    Reasoning {
        #[serde(default)]
        summary: Vec<SummaryText>,
        #[serde(default)]
        content: Vec<ReasoningText>,
        encrypted_content: Option<String>,
    },
    FunctionCall {
        #[serde(default)]
        call_id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        arguments: String,
        namespace: Option<String>,
    },
    CustomToolCall {
        #[serde(default)]
        call_id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        input: String,
        namespace: Option<String>,
    },
    /// A web search OpenAI ran: `action` is `{"type": "search", "query", "queries"?,
    /// "sources"?}`, `open_page` (`url`) or `find_in_page` (`url`, `pattern`).
    WebSearchCall {
        #[serde(default)]
        id: String,
        status: Option<String>,
        action: Option<Value>,
    },
    #[serde(other)]
    Other,
}

/// A message content part of an output item.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputContent {
    OutputText {
        #[serde(default)]
        text: String,
        #[serde(default)]
        annotations: Vec<Annotation>,
    },
    Refusal {
        #[serde(default)]
        refusal: String,
    },
    #[serde(other)]
    Other,
}

/// An `output_text` annotation. Only URL citations point at a web page; file citations and
/// the rest land in `Other`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Annotation {
    UrlCitation {
        #[serde(default)]
        start_index: usize,
        #[serde(default)]
        end_index: usize,
        url: String,
        title: Option<String>,
    },
    #[serde(other)]
    Other,
}

/// One upstream stream event, with the union of the fields the decoder reads. Dispatch is on
/// `type` (the `event:` line is not needed).
#[derive(Debug, Default, Deserialize)]
pub struct StreamEventWire {
    #[serde(rename = "type")]
    pub kind: String,
    pub response: Option<ResponseHeader>,
    pub item: Option<OutputItem>,
    pub output_index: Option<u64>,
    pub content_index: Option<u64>,
    pub summary_index: Option<u64>,
    pub delta: Option<String>,
    pub part: Option<OutputContent>,
    /// `response.output_text.annotation.added`.
    pub annotation: Option<Annotation>,
    /// `error` events: `{"type":"error","code","message"}`, some servers nest it in `error`.
    pub code: Option<String>,
    pub message: Option<String>,
    pub error: Option<ResponseError>,
}

// ---------------------------------------------------------------------------------------------
// Response, write side (gateway → Responses client).
// ---------------------------------------------------------------------------------------------

/// An output item as written to clients (`output[]`, `output_item.added/done`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum OutputItemOut {
    Reasoning(ReasoningItemOut),
    Message(MessageItemOut),
    FunctionCall(FunctionCallOut),
    CustomToolCall(CustomToolCallOut),
    WebSearchCall(WebSearchCallOut),
}

/// A `web_search_call` item: `action` is absent while the search runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WebSearchCallOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Value>,
}

/// A `url_citation` annotation of an `output_text` part.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename = "url_citation")]
pub struct AnnotationOut {
    pub start_index: usize,
    pub end_index: usize,
    pub url: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReasoningItemOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub summary: Vec<SummaryTextOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
}

/// `{"type": "summary_text", "text"}` as written to clients.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SummaryTextOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: JsonText,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MessageItemOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: &'static str,
    pub role: &'static str,
    pub content: Vec<OutputContentOut>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunctionCallOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: &'static str,
    pub call_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub arguments: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CustomToolCallOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: &'static str,
    pub call_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub input: String,
}

/// A message content part as written to clients.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputContentOut {
    OutputText {
        text: JsonText,
        annotations: Vec<AnnotationOut>,
    },
    Refusal {
        refusal: JsonText,
    },
}

/// `usage` as written to clients; every figure present (Codex requires integers).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct ResponseUsageOut {
    pub input_tokens: u64,
    pub input_tokens_details: InputTokensDetailsOut,
    pub output_tokens: u64,
    pub output_tokens_details: OutputTokensDetailsOut,
    pub total_tokens: u64,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct InputTokensDetailsOut {
    pub cached_tokens: u64,
    /// Prompt tokens written to the cache, when the upstream reported them (Anthropic's
    /// `cache_creation_input_tokens`, OpenAI's from GPT-5.6 on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct OutputTokensDetailsOut {
    pub reasoning_tokens: u64,
}

/// `response.error` as written to clients.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResponseErrorOut {
    pub code: &'static str,
    pub message: String,
}

/// `response.incomplete_details` as written to clients.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct IncompleteDetailsOut {
    pub reason: &'static str,
}

/// The response object as written to clients (non-stream body, and the `response` of
/// `response.created` / `in_progress` / `completed` / `incomplete` / `failed`). Field order
/// follows OpenAI's.
#[derive(Debug, Serialize)]
pub struct ResponseObject<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created_at: u64,
    pub status: &'static str,
    pub error: Option<&'a ResponseErrorOut>,
    pub incomplete_details: Option<IncompleteDetailsOut>,
    pub instructions: &'a Value,
    pub max_output_tokens: &'a Value,
    pub model: &'a str,
    pub output: &'a [OutputItemOut],
    pub parallel_tool_calls: &'a Value,
    pub previous_response_id: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<&'a Value>,
    pub reasoning: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<&'a Value>,
    pub store: &'a Value,
    pub temperature: &'a Value,
    pub text: &'a Value,
    pub tool_choice: &'a Value,
    pub tools: &'a Value,
    pub top_p: &'a Value,
    pub truncation: &'a Value,
    pub usage: Option<ResponseUsageOut>,
    pub user: &'a Value,
    pub metadata: &'a Value,
}

/// A lifecycle stream event (`response.created`, `in_progress`, `completed`, `incomplete`,
/// `failed`).
#[derive(Debug, Serialize)]
pub struct ResponseEventOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub sequence_number: u64,
    pub response: ResponseObject<'a>,
}

/// `response.output_item.added` / `response.output_item.done`.
#[derive(Debug, Serialize)]
pub struct OutputItemEventOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub sequence_number: u64,
    pub output_index: usize,
    pub item: &'a OutputItemOut,
}

/// Every event addressed to one item (`content_part.*`, `output_text.*`, `refusal.*`,
/// `reasoning_summary_part.*`, `reasoning_summary_text.*`, `function_call_arguments.*`,
/// `custom_tool_call_input.*`): the union of their fields, absent ones skipped.
#[derive(Debug, Default, Serialize)]
pub struct ItemEventOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub sequence_number: u64,
    pub item_id: &'a str,
    pub output_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a JsonText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<&'a JsonText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<PartOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<[(); 0]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotation_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotation: Option<&'a AnnotationOut>,
}

/// The `part` of `content_part.*` and `reasoning_summary_part.*` events.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PartOut<'a> {
    OutputText {
        text: &'a JsonText,
        annotations: &'a [AnnotationOut],
    },
    Refusal {
        refusal: &'a JsonText,
    },
    SummaryText {
        text: &'a JsonText,
    },
}
