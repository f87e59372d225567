//! The request fields a Responses response object repeats ("echo"), with the values OpenAI
//! reports when the client left them out. Strict client decoders require `tools`,
//! `tool_choice` and `parallel_tool_calls`.

use serde_json::{Map, Value, json};

use super::wire::{
    IncompleteDetailsOut, OutputItemOut, ResponseErrorOut, ResponseObject, ResponseUsageOut,
};

/// Echoed fields, defaults applied, computed once per answer.
#[derive(Debug, Clone)]
pub struct Echo {
    instructions: Value,
    max_output_tokens: Value,
    parallel_tool_calls: Value,
    previous_response_id: Value,
    prompt_cache_key: Option<Value>,
    reasoning: Value,
    safety_identifier: Option<Value>,
    service_tier: Option<Value>,
    store: Value,
    temperature: Value,
    text: Value,
    tool_choice: Value,
    tools: Value,
    top_p: Value,
    truncation: Value,
    user: Value,
    metadata: Value,
}

/// What varies between the response objects of one answer.
#[derive(Debug, Clone, Copy)]
pub struct State<'a> {
    pub id: &'a str,
    pub created_at: u64,
    pub model: &'a str,
    pub status: &'static str,
    pub output: &'a [OutputItemOut],
    pub usage: Option<ResponseUsageOut>,
    pub error: Option<&'a ResponseErrorOut>,
    pub incomplete_details: Option<IncompleteDetailsOut>,
}

impl Echo {
    pub fn new(echo: &Map<String, Value>) -> Echo {
        let field = |key: &str, default: Value| echo.get(key).cloned().unwrap_or(default);
        Echo {
            instructions: field("instructions", Value::Null),
            max_output_tokens: field("max_output_tokens", Value::Null),
            parallel_tool_calls: field("parallel_tool_calls", json!(true)),
            previous_response_id: field("previous_response_id", Value::Null),
            prompt_cache_key: echo.get("prompt_cache_key").cloned(),
            reasoning: field("reasoning", Value::Null),
            safety_identifier: echo.get("safety_identifier").cloned(),
            service_tier: echo.get("service_tier").cloned(),
            store: field("store", json!(false)),
            temperature: field("temperature", Value::Null),
            text: field("text", json!({"format": {"type": "text"}})),
            tool_choice: field("tool_choice", json!("auto")),
            tools: field("tools", json!([])),
            top_p: field("top_p", Value::Null),
            truncation: field("truncation", json!("disabled")),
            user: field("user", Value::Null),
            metadata: field("metadata", json!({})),
        }
    }

    pub fn object<'a>(&'a self, state: State<'a>) -> ResponseObject<'a> {
        ResponseObject {
            id: state.id,
            object: "response",
            created_at: state.created_at,
            status: state.status,
            error: state.error,
            incomplete_details: state.incomplete_details,
            instructions: &self.instructions,
            max_output_tokens: &self.max_output_tokens,
            model: state.model,
            output: state.output,
            parallel_tool_calls: &self.parallel_tool_calls,
            previous_response_id: &self.previous_response_id,
            prompt_cache_key: self.prompt_cache_key.as_ref(),
            reasoning: &self.reasoning,
            safety_identifier: self.safety_identifier.as_ref(),
            service_tier: self.service_tier.as_ref(),
            store: &self.store,
            temperature: &self.temperature,
            text: &self.text,
            tool_choice: &self.tool_choice,
            tools: &self.tools,
            top_p: &self.top_p,
            truncation: &self.truncation,
            usage: state.usage,
            user: &self.user,
            metadata: &self.metadata,
        }
    }
}
