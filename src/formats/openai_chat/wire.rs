//! The Chat Completions wire types, named as the OpenAI SDK names them.
//!
//! One set of types serves both directions: the decoders deserialize them (owned, lenient about
//! what OpenAI-compatible servers leave out), the encoders serialize them (borrowing from the
//! canonical model, so large strings are not copied before they reach the output).
//!
//! OpenAI's Chat design keys each variant's payload by its type name
//! (`{"type":"image_url","image_url":{..}}`, `{"type":"function","function":{..}}`), so tagged
//! unions are flat structs with a `type` string and one optional member per known type. That
//! keeps serde's error paths exact (`messages[2].content[0].image_url.url`) and lets an unknown
//! type be dropped by name instead of failing the request. Fields only one direction uses are
//! marked `skip_serializing` or `skip_deserializing`.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// A string that is borrowed when encoding and owned when decoding.
pub type Str<'a> = Cow<'a, str>;

// ---------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------

/// `POST /chat/completions` body (`CompletionCreateParams`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChatCompletionCreateParams<'a> {
    pub model: Str<'a>,
    pub messages: Vec<ChatCompletionMessageParam<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<StringOr<'a, Vec<Str<'a>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<ChatCompletionStreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ChatCompletionTool<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<StringOr<'a, ChatCompletionNamedToolChoice<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Legacy form of `tools`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub functions: Option<Vec<FunctionDefinition<'a>>>,
    /// Legacy form of `tool_choice`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<StringOr<'a, ChatCompletionFunctionCallOption<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<Str<'a>>,
    /// Routes the prompt to the same cache (at most 64 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modalities: Option<Vec<Str<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<Value>,

    // Accepted from clients and dropped with a warning: the canonical model has no place for
    // them. Never sent upstream.
    #[serde(skip_serializing)]
    pub seed: Option<Value>,
    #[serde(skip_serializing)]
    pub presence_penalty: Option<Value>,
    #[serde(skip_serializing)]
    pub frequency_penalty: Option<Value>,
    #[serde(skip_serializing)]
    pub logit_bias: Option<Value>,
    #[serde(skip_serializing)]
    pub logprobs: Option<Value>,
    #[serde(skip_serializing)]
    pub top_logprobs: Option<Value>,
    #[serde(skip_serializing)]
    pub store: Option<Value>,
    #[serde(skip_serializing)]
    pub metadata: Option<Value>,
    #[serde(skip_serializing)]
    pub service_tier: Option<Value>,
    #[serde(skip_serializing)]
    pub prediction: Option<Value>,
    #[serde(skip_serializing)]
    pub web_search_options: Option<Value>,
    #[serde(skip_serializing)]
    pub verbosity: Option<Value>,
}

impl ChatCompletionCreateParams<'_> {
    /// The parameters a Chat request may carry that the gateway drops, with their values.
    pub fn dropped_params(&self) -> [(&'static str, Option<&Value>); 12] {
        [
            ("seed", self.seed.as_ref()),
            ("presence_penalty", self.presence_penalty.as_ref()),
            ("frequency_penalty", self.frequency_penalty.as_ref()),
            ("logit_bias", self.logit_bias.as_ref()),
            ("logprobs", self.logprobs.as_ref()),
            ("top_logprobs", self.top_logprobs.as_ref()),
            ("store", self.store.as_ref()),
            ("metadata", self.metadata.as_ref()),
            ("service_tier", self.service_tier.as_ref()),
            ("prediction", self.prediction.as_ref()),
            ("web_search_options", self.web_search_options.as_ref()),
            ("verbosity", self.verbosity.as_ref()),
        ]
    }
}

/// `stream_options`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChatCompletionStreamOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
}

/// One message of any role (`ChatCompletionMessageParam`, the union of the system, developer,
/// user, assistant, tool and function message params).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChatCompletionMessageParam<'a> {
    pub role: Str<'a>,
    /// A string or parts; `null` is allowed for assistant messages with tool calls.
    #[serde(default)]
    pub content: Option<MessageContent<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ChatCompletionMessageToolCall<'a>>>,
    /// Tool messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<Str<'a>>,
    /// Legacy assistant function call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall<'a>>,
    /// De-facto extension (DeepSeek, vLLM): the assistant's reasoning text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<Str<'a>>,
    /// De-facto extension (OpenRouter, newer vLLM): same as `reasoning_content`.
    #[serde(
        default,
        deserialize_with = "string_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub reasoning: Option<Str<'a>>,
    /// Reference to an earlier audio answer.
    #[serde(skip_serializing)]
    pub audio: Option<Value>,
}

/// Message `content`: a string or an array of parts.
pub type MessageContent<'a> = StringOr<'a, Vec<ChatCompletionContentPart<'a>>>;

/// A content part (`ChatCompletionContentPartParam` and the assistant's text/refusal parts).
/// `type` names the member that carries the payload.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChatCompletionContentPart<'a> {
    #[serde(rename = "type")]
    pub kind: Str<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_audio: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileContent<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Str<'a>>,
}

/// `image_url` of an image part.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageUrl<'a> {
    pub url: Str<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Str<'a>>,
}

/// `file` of a file part: inline data (a data URL) or an uploaded file's id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileContent<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_data: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<Str<'a>>,
}

/// A tool call in an assistant message or a non-stream answer
/// (`ChatCompletionMessageFunctionToolCall` | `ChatCompletionMessageCustomToolCall`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChatCompletionMessageToolCall<'a> {
    #[serde(default)]
    pub id: Str<'a>,
    /// `function` or `custom`; some OpenAI-compatible servers leave it out.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomToolCall<'a>>,
}

/// `function` of a function tool call (also the legacy `function_call`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FunctionCall<'a> {
    #[serde(default)]
    pub name: Str<'a>,
    /// JSON text. Some clients send an object; it is taken as its JSON text.
    #[serde(default, deserialize_with = "json_text")]
    pub arguments: Str<'a>,
}

/// `custom` of a custom (freeform) tool call.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CustomToolCall<'a> {
    #[serde(default)]
    pub name: Str<'a>,
    #[serde(default)]
    pub input: Str<'a>,
}

/// A tool definition (`ChatCompletionFunctionTool` | `ChatCompletionCustomTool`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChatCompletionTool<'a> {
    #[serde(rename = "type")]
    pub kind: Str<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDefinition<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomToolDefinition<'a>>,
}

/// `FunctionDefinition` (also the items of the legacy `functions`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct FunctionDefinition<'a> {
    #[serde(default)]
    pub name: Str<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Cow<'a, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `custom` of a custom tool definition.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CustomToolDefinition<'a> {
    #[serde(default)]
    pub name: Str<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Cow<'a, Value>>,
}

/// The object forms of `tool_choice` (`ChatCompletionNamedToolChoice`,
/// `ChatCompletionNamedToolChoiceCustom`, `ChatCompletionAllowedToolChoice`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChatCompletionNamedToolChoice<'a> {
    #[serde(rename = "type")]
    pub kind: Str<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<ToolName<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<ToolName<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<ChatCompletionAllowedTools<'a>>,
}

/// `{"name": ...}` inside a named tool choice.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ToolName<'a> {
    #[serde(default)]
    pub name: Str<'a>,
}

/// `allowed_tools` of an allowed-tools choice.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChatCompletionAllowedTools<'a> {
    #[serde(default)]
    pub mode: Str<'a>,
    #[serde(default)]
    pub tools: Vec<Value>,
}

/// The object form of the legacy `function_call` option.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChatCompletionFunctionCallOption<'a> {
    #[serde(default)]
    pub name: Str<'a>,
}

/// `response_format`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ResponseFormat<'a> {
    #[serde(rename = "type")]
    pub kind: Str<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<JsonSchema<'a>>,
}

/// `response_format.json_schema`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct JsonSchema<'a> {
    #[serde(default)]
    pub name: Str<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Cow<'a, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Non-stream answer
// ---------------------------------------------------------------------------------------------

/// A non-stream answer (`ChatCompletion`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChatCompletion<'a> {
    #[serde(default)]
    pub id: Str<'a>,
    #[serde(skip_deserializing)]
    pub object: Str<'a>,
    #[serde(skip_deserializing)]
    pub created: u64,
    #[serde(default)]
    pub model: Str<'a>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub choices: Vec<Choice<'a>>,
    #[serde(default)]
    pub usage: Option<CompletionUsage>,
    /// An upstream error object answered with status 200.
    #[serde(default, skip_serializing)]
    pub error: Option<Value>,
}

/// One choice of a non-stream answer.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Choice<'a> {
    #[serde(default)]
    pub index: u64,
    #[serde(default)]
    pub message: ChatCompletionMessage<'a>,
    #[serde(skip_deserializing)]
    pub logprobs: Option<Value>,
    #[serde(default)]
    pub finish_reason: Option<Str<'a>>,
    /// vLLM: the stop string that ended the answer (or a token id).
    #[serde(default, skip_serializing)]
    pub stop_reason: Option<Value>,
}

/// The answer's message (`ChatCompletionMessage`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChatCompletionMessage<'a> {
    #[serde(default)]
    pub role: Str<'a>,
    #[serde(default)]
    pub content: Option<MessageContent<'a>>,
    #[serde(default)]
    pub refusal: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ChatCompletionMessageToolCall<'a>>>,
    /// De-facto extension (DeepSeek, vLLM): the reasoning text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<Str<'a>>,
    /// De-facto extension (OpenRouter, newer vLLM).
    #[serde(default, deserialize_with = "string_or_none", skip_serializing)]
    pub reasoning: Option<Str<'a>>,
    /// Legacy function call.
    #[serde(default, skip_serializing)]
    pub function_call: Option<FunctionCall<'a>>,
}

/// `CompletionUsage`. Figures are optional when decoding ("not reported" differs from 0); the
/// encoder always fills them.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct CompletionUsage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    /// DeepSeek: cache hits, reported outside `prompt_tokens_details`.
    #[serde(default, skip_serializing)]
    pub prompt_cache_hit_tokens: Option<u64>,
}

/// `prompt_tokens_details`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    pub cached_tokens: Option<u64>,
    /// Newer SDKs and OpenRouter: prompt tokens written to the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
}

/// `completion_tokens_details`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct CompletionTokensDetails {
    pub reasoning_tokens: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Stream
// ---------------------------------------------------------------------------------------------

/// One stream chunk (`ChatCompletionChunk`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChatCompletionChunk<'a> {
    #[serde(default)]
    pub id: Str<'a>,
    #[serde(skip_deserializing)]
    pub object: Str<'a>,
    #[serde(skip_deserializing)]
    pub created: u64,
    #[serde(default)]
    pub model: Str<'a>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub choices: List<'a, ChunkChoice<'a>>,
    /// Absent (client did not ask for usage), `null` (every chunk but the last) or the usage
    /// (the last chunk, with `choices: []`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Option<CompletionUsage>>,
    /// An in-band upstream error (`data: {"error": {...}}`).
    #[serde(default, skip_serializing)]
    pub error: Option<Value>,
    /// Groq reports usage here on the last chunk.
    #[serde(default, skip_serializing)]
    pub x_groq: Option<XGroq>,
}

/// Groq's extension object on chunks.
#[derive(Debug, Default, Deserialize)]
pub struct XGroq {
    #[serde(default)]
    pub usage: Option<CompletionUsage>,
}

/// One choice of a chunk (`Choice` in `chat_completion_chunk`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChunkChoice<'a> {
    #[serde(default)]
    pub index: u64,
    #[serde(default)]
    pub delta: ChoiceDelta<'a>,
    #[serde(skip_deserializing)]
    pub logprobs: Option<Value>,
    #[serde(default)]
    pub finish_reason: Option<Str<'a>>,
    /// vLLM: the stop string that ended the answer (or a token id).
    #[serde(default, skip_serializing)]
    pub stop_reason: Option<Value>,
}

/// `ChoiceDelta`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChoiceDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<List<'a, ChoiceDeltaToolCall<'a>>>,
    /// De-facto extension (DeepSeek, vLLM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<Str<'a>>,
    /// De-facto extension (OpenRouter, newer vLLM).
    #[serde(default, deserialize_with = "string_or_none", skip_serializing)]
    pub reasoning: Option<Str<'a>>,
    /// Legacy function call delta.
    #[serde(default, skip_serializing)]
    pub function_call: Option<ChoiceDeltaFunction<'a>>,
}

/// `ChoiceDeltaToolCall`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChoiceDeltaToolCall<'a> {
    /// Position in the answer's `tool_calls`; some upstreams leave it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Str<'a>>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<ChoiceDeltaFunction<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<ChoiceDeltaCustom<'a>>,
}

/// `ChoiceDeltaToolCallFunction` (also the legacy `ChoiceDeltaFunctionCall`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChoiceDeltaFunction<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Str<'a>>,
}

/// `ChoiceDeltaToolCallCustom`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChoiceDeltaCustom<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Str<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Str<'a>>,
}

/// The body of an in-band error chunk.
#[derive(Debug, Serialize)]
pub struct ErrorChunk {
    pub error: Value,
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// A field that is either a string or something structured (message content, `stop`,
/// `tool_choice`, `function_call`).
#[derive(Debug, Clone, PartialEq)]
pub enum StringOr<'a, T> {
    String(Str<'a>),
    Other(T),
}

/// A list that is borrowed when encoding and owned when decoding. Unlike `Cow<[T]>` it is
/// covariant, so an encoder can borrow a list of borrowed items built on the stack.
#[derive(Debug, Clone)]
pub enum List<'a, T> {
    Borrowed(&'a [T]),
    Owned(Vec<T>),
}

impl<T> Default for List<'_, T> {
    fn default() -> Self {
        List::Owned(Vec::new())
    }
}

impl<T> List<'_, T> {
    pub fn is_empty(&self) -> bool {
        match self {
            List::Borrowed(items) => items.is_empty(),
            List::Owned(items) => items.is_empty(),
        }
    }
}

impl<T: Clone> List<'_, T> {
    /// The items, owned. Owned lists (all that decoders ever see) move; borrowed ones (only
    /// ever built by encoders) are cloned.
    pub fn into_vec(self) -> Vec<T> {
        match self {
            List::Borrowed(items) => items.to_vec(),
            List::Owned(items) => items,
        }
    }
}

impl<T: Serialize> Serialize for List<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            List::Borrowed(items) => items.serialize(serializer),
            List::Owned(items) => items.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<'_, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::deserialize(deserializer).map(List::Owned)
    }
}

/// What a [`StringOr`] expects besides a string, for error messages.
pub trait Alternative {
    const EXPECTING: &'static str;
}

impl Alternative for Vec<ChatCompletionContentPart<'_>> {
    const EXPECTING: &'static str = "a string or an array of content parts";
}

impl Alternative for Vec<Str<'_>> {
    const EXPECTING: &'static str = "a string or an array of strings";
}

impl Alternative for ChatCompletionNamedToolChoice<'_> {
    const EXPECTING: &'static str = "a string or a tool choice object";
}

impl Alternative for ChatCompletionFunctionCallOption<'_> {
    const EXPECTING: &'static str = "a string or a function call object";
}

impl<T: Serialize> Serialize for StringOr<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StringOr::String(text) => serializer.serialize_str(text),
            StringOr::Other(other) => other.serialize(serializer),
        }
    }
}

impl<'de, 'a, T: Deserialize<'de> + Alternative> Deserialize<'de> for StringOr<'a, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringOrVisitor<'a, T>(PhantomData<(&'a (), T)>);

        impl<'de, 'b, T: Deserialize<'de> + Alternative> Visitor<'de> for StringOrVisitor<'b, T> {
            type Value = StringOr<'b, T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(StringOr::String(Cow::Owned(value.to_owned())))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
                Ok(StringOr::String(Cow::Owned(value)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                T::deserialize(SeqAccessDeserializer::new(seq)).map(StringOr::Other)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(StringOr::Other)
            }
        }

        deserializer.deserialize_any(StringOrVisitor(PhantomData))
    }
}

/// `null` (or absence) as the type's default.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A string, or `None` for anything else (extension fields whose shape varies by server).
fn string_or_none<'de, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Str<'a>>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => Some(Cow::Owned(text)),
        _ => None,
    })
}

/// JSON text: a string as it is, `null` as empty, any other value as its JSON.
fn json_text<'de, 'a, D: Deserializer<'de>>(deserializer: D) -> Result<Str<'a>, D::Error> {
    Ok(Cow::Owned(match Value::deserialize(deserializer)? {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    }))
}
