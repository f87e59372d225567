//! The request fields a Responses response object repeats ("echo"), with the values OpenAI
//! reports when the client left them out. Strict client decoders require `tools`,
//! `tool_choice` and `parallel_tool_calls`.
//!
//! The echoed values are borrowed from the context at serialization time (Codex's `tools`
//! alone are tens of kilobytes); only the small defaults are owned.

use serde_json::{Map, Value, json};

use super::wire::{
    IncompleteDetailsOut, OutputItemOut, ResponseErrorOut, ResponseObject, ResponseUsageOut,
};

/// Defaults for echoed fields the client left out.
#[derive(Debug, Clone)]
pub struct Echo {
    null: Value,
    parallel_tool_calls: Value,
    store: Value,
    text: Value,
    tool_choice: Value,
    tools: Value,
    truncation: Value,
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

impl Default for Echo {
    fn default() -> Echo {
        Echo {
            null: Value::Null,
            parallel_tool_calls: json!(true),
            store: json!(false),
            text: json!({"format": {"type": "text"}}),
            tool_choice: json!("auto"),
            tools: json!([]),
            truncation: json!("disabled"),
            metadata: json!({}),
        }
    }
}

impl Echo {
    /// The response object for `state`, echoing the request fields in `echo`.
    pub fn object<'a>(
        &'a self,
        echo: &'a Map<String, Value>,
        state: State<'a>,
    ) -> ResponseObject<'a> {
        let field = |key: &str, default: &'a Value| echo.get(key).unwrap_or(default);
        ResponseObject {
            id: state.id,
            object: "response",
            created_at: state.created_at,
            status: state.status,
            error: state.error,
            incomplete_details: state.incomplete_details,
            instructions: field("instructions", &self.null),
            max_output_tokens: field("max_output_tokens", &self.null),
            model: state.model,
            output: state.output,
            parallel_tool_calls: field("parallel_tool_calls", &self.parallel_tool_calls),
            previous_response_id: field("previous_response_id", &self.null),
            prompt_cache_key: echo.get("prompt_cache_key"),
            reasoning: field("reasoning", &self.null),
            safety_identifier: echo.get("safety_identifier"),
            service_tier: echo.get("service_tier"),
            store: field("store", &self.store),
            temperature: field("temperature", &self.null),
            text: field("text", &self.text),
            tool_choice: field("tool_choice", &self.tool_choice),
            tools: field("tools", &self.tools),
            top_p: field("top_p", &self.null),
            truncation: field("truncation", &self.truncation),
            usage: state.usage,
            user: field("user", &self.null),
            metadata: field("metadata", &self.metadata),
        }
    }
}
