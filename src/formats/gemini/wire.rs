//! Gemini's JSON shapes: [`read`] as the gateway accepts them (from clients and upstreams),
//! [`write`] as it sends them.
//!
//! Gemini's wire names are lowerCamelCase, but its parser also takes snake_case (some proxies
//! and older SDKs send `inline_data`, `mime_type`, ...), so [`read`] accepts both. [`write`]
//! only writes camelCase. Absent and `null` fields read alike.

/// What the gateway reads.
pub mod read {
    use serde::Deserialize;
    use serde_json::{Map, Value};

    /// A `generateContent` request body.
    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct GenerateContentRequest {
        pub contents: Option<Vec<Content>>,
        #[serde(alias = "system_instruction")]
        pub system_instruction: Option<Content>,
        /// Read entry by entry (each holds function declarations or one built-in tool).
        pub tools: Option<Vec<Value>>,
        #[serde(alias = "tool_config")]
        pub tool_config: Option<ToolConfig>,
        #[serde(alias = "generation_config")]
        pub generation_config: Option<GenerationConfig>,
        #[serde(alias = "cached_content")]
        pub cached_content: Option<String>,
        /// `models/<id>`: only in a count request's `generateContentRequest`.
        pub model: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    pub struct Content {
        pub role: Option<String>,
        pub parts: Option<Vec<Part>>,
    }

    /// One part: one data field (`text`, `inlineData`, ...) plus metadata. Fields the gateway
    /// does not carry (`executableCode`, `videoMetadata`, ...) land in `other`.
    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Part {
        pub text: Option<String>,
        pub thought: Option<bool>,
        #[serde(alias = "thought_signature")]
        pub thought_signature: Option<String>,
        #[serde(alias = "inline_data")]
        pub inline_data: Option<Blob>,
        #[serde(alias = "file_data")]
        pub file_data: Option<FileData>,
        #[serde(alias = "function_call")]
        pub function_call: Option<FunctionCall>,
        #[serde(alias = "function_response")]
        pub function_response: Option<FunctionResponse>,
        #[serde(flatten)]
        pub other: Map<String, Value>,
    }

    impl Part {
        /// Whether this is a thought (summary) part.
        pub fn is_thought(&self) -> bool {
            self.thought == Some(true)
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Blob {
        #[serde(alias = "mime_type")]
        pub mime_type: String,
        pub data: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct FileData {
        #[serde(alias = "mime_type")]
        pub mime_type: Option<String>,
        #[serde(alias = "file_uri")]
        pub file_uri: String,
    }

    #[derive(Debug, Deserialize)]
    pub struct FunctionCall {
        pub id: Option<String>,
        pub name: String,
        pub args: Option<Value>,
    }

    #[derive(Debug, Deserialize)]
    pub struct FunctionResponse {
        pub id: Option<String>,
        pub name: Option<String>,
        pub response: Option<Value>,
        /// Media results (images, documents).
        pub parts: Option<Vec<Part>>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ToolConfig {
        #[serde(alias = "function_calling_config")]
        pub function_calling_config: Option<FunctionCallingConfig>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct FunctionCallingConfig {
        pub mode: Option<String>,
        #[serde(alias = "allowed_function_names")]
        pub allowed_function_names: Option<Vec<String>>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct GenerationConfig {
        #[serde(alias = "max_output_tokens")]
        pub max_output_tokens: Option<u64>,
        pub temperature: Option<f64>,
        #[serde(alias = "top_p")]
        pub top_p: Option<f64>,
        /// An integer in the API, sent as a float by some clients.
        #[serde(alias = "top_k")]
        pub top_k: Option<f64>,
        #[serde(alias = "stop_sequences")]
        pub stop_sequences: Option<Vec<String>>,
        #[serde(alias = "candidate_count")]
        pub candidate_count: Option<u64>,
        #[serde(alias = "response_mime_type")]
        pub response_mime_type: Option<String>,
        #[serde(alias = "response_schema")]
        pub response_schema: Option<Value>,
        #[serde(alias = "response_json_schema")]
        pub response_json_schema: Option<Value>,
        #[serde(alias = "thinking_config")]
        pub thinking_config: Option<ThinkingConfig>,
        #[serde(flatten)]
        pub other: Map<String, Value>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ThinkingConfig {
        #[serde(alias = "thinking_budget")]
        pub thinking_budget: Option<i64>,
        #[serde(alias = "include_thoughts")]
        pub include_thoughts: Option<bool>,
        #[serde(alias = "thinking_level")]
        pub thinking_level: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct FunctionDeclaration {
        pub name: String,
        pub description: Option<String>,
        /// Google's OpenAPI-style `Schema` (upper-case types).
        pub parameters: Option<Value>,
        #[serde(alias = "parameters_json_schema")]
        pub parameters_json_schema: Option<Value>,
    }

    /// A `GenerateContentResponse` (a whole answer, or one stream chunk).
    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct GenerateContentResponse {
        pub candidates: Option<Vec<Candidate>>,
        #[serde(alias = "prompt_feedback")]
        pub prompt_feedback: Option<PromptFeedback>,
        #[serde(alias = "usage_metadata")]
        pub usage_metadata: Option<UsageMetadata>,
        #[serde(alias = "model_version")]
        pub model_version: Option<String>,
        #[serde(alias = "response_id")]
        pub response_id: Option<String>,
        /// An error object instead of an answer (some proxies send one inside a 200 stream).
        #[serde(default)]
        pub error: Option<serde::de::IgnoredAny>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Candidate {
        pub content: Option<Content>,
        #[serde(alias = "finish_reason")]
        pub finish_reason: Option<String>,
        /// What Google Search grounding did for the answer (its queries are what is billed).
        #[serde(alias = "grounding_metadata")]
        pub grounding_metadata: Option<GroundingMetadata>,
    }

    /// The part of `groundingMetadata` the gateway reads.
    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct GroundingMetadata {
        #[serde(alias = "web_search_queries")]
        pub web_search_queries: Option<Vec<String>>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PromptFeedback {
        #[serde(alias = "block_reason")]
        pub block_reason: Option<String>,
    }

    /// Token counts; every field may be absent.
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct UsageMetadata {
        #[serde(alias = "prompt_token_count")]
        pub prompt_token_count: Option<u64>,
        #[serde(alias = "cached_content_token_count")]
        pub cached_content_token_count: Option<u64>,
        #[serde(alias = "candidates_token_count")]
        pub candidates_token_count: Option<u64>,
        #[serde(alias = "thoughts_token_count")]
        pub thoughts_token_count: Option<u64>,
        #[serde(alias = "tool_use_prompt_token_count")]
        pub tool_use_prompt_token_count: Option<u64>,
        #[serde(alias = "total_token_count")]
        pub total_token_count: Option<u64>,
    }
}

/// What the gateway writes.
pub mod write {
    use std::borrow::Cow;

    use serde::Serialize;
    use serde_json::Value;

    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Content<'a> {
        pub role: &'static str,
        pub parts: Vec<Part<'a>>,
    }

    /// One part. `thoughtSignature` is written last, beside the data field it belongs to.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Part<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub text: Option<Cow<'a, str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub thought: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub inline_data: Option<Blob<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub file_data: Option<FileData<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub function_call: Option<FunctionCall<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub function_response: Option<FunctionResponse<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub thought_signature: Option<Cow<'a, str>>,
    }

    impl<'a> Part<'a> {
        pub fn text(text: impl Into<Cow<'a, str>>) -> Part<'a> {
            Part {
                text: Some(text.into()),
                ..Part::default()
            }
        }

        pub fn thought(text: impl Into<Cow<'a, str>>) -> Part<'a> {
            Part {
                text: Some(text.into()),
                thought: Some(true),
                ..Part::default()
            }
        }

        pub fn is_function_call(&self) -> bool {
            self.function_call.is_some()
        }

        /// A text part that is not a thought.
        pub fn is_answer_text(&self) -> bool {
            self.text.is_some() && self.thought != Some(true)
        }
    }

    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Blob<'a> {
        pub mime_type: Cow<'a, str>,
        pub data: &'a str,
    }

    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct FileData<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub mime_type: Option<Cow<'a, str>>,
        pub file_uri: &'a str,
    }

    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct FunctionCall<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub id: Option<Cow<'a, str>>,
        pub name: Cow<'a, str>,
        pub args: Value,
    }

    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct FunctionResponse<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub id: Option<&'a str>,
        pub name: Cow<'a, str>,
        pub response: Value,
    }

    /// A `GenerateContentResponse` as written to clients (a whole answer or one chunk).
    #[derive(Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct GenerateContentResponse<'a> {
        pub candidates: Vec<Candidate<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub usage_metadata: Option<UsageMetadata>,
        pub model_version: &'a str,
        pub response_id: &'a str,
    }

    #[derive(Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Candidate<'a> {
        pub content: CandidateContent<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub finish_reason: Option<&'a str>,
        pub index: u32,
    }

    /// A candidate's content; Gemini leaves `parts` out when there are none.
    #[derive(Debug, Serialize)]
    pub struct CandidateContent<'a> {
        pub role: &'static str,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub parts: Vec<Part<'a>>,
    }

    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct UsageMetadata {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub prompt_token_count: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub cached_content_token_count: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub candidates_token_count: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub thoughts_token_count: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub total_token_count: Option<u64>,
    }

    /// A `generateContent` request body as sent upstream.
    #[derive(Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct GenerateContentRequest<'a> {
        pub contents: Vec<Content<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub system_instruction: Option<SystemInstruction<'a>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub tools: Vec<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub tool_config: Option<Value>,
        pub generation_config: GenerationConfig<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub cached_content: Option<&'a str>,
    }

    /// `systemInstruction`: text parts, no role.
    #[derive(Debug, Serialize)]
    pub struct SystemInstruction<'a> {
        pub parts: Vec<Part<'a>>,
    }

    #[derive(Debug, Default, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct GenerationConfig<'a> {
        pub max_output_tokens: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub temperature: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub top_p: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub top_k: Option<u64>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub stop_sequences: Vec<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub response_mime_type: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub response_json_schema: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub thinking_config: Option<ThinkingConfig>,
    }

    #[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ThinkingConfig {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub thinking_budget: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub thinking_level: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub include_thoughts: Option<bool>,
    }
}
