//! Fits a request's server tools (web search, web fetch) to the upstream that will run it.
//!
//! Each format's encoder writes the canonical tools in its own vendor's shape; this step only
//! decides what to do with a tool the upstream has no equivalent for (a fetch on OpenAI, any
//! of them on a Chat upstream, a search on a route whose model config says it has none). The
//! plan says ([`MissingServerTools`]): refuse the request with a 400 naming the tool, or leave
//! the tool out and report it (`x-toc-warnings: dropped=tools(web_search_20250305)`). Never an
//! answer that silently did not search.

use std::borrow::Cow;

use crate::canonical::{ChatRequest, ServerTool, Tool, ToolChoice};
use crate::error::ApiError;
use crate::formats::{MissingServerTools, ServerTools};

use super::warnings::Warnings;

/// Whether the upstream runs every server tool `request` offers the model.
pub fn all_offered(request: &ChatRequest, offered: ServerTools) -> bool {
    request
        .tools
        .iter()
        .all(|tool| !matches!(tool, Tool::Server(server) if !offered.offers(server.kind)))
}

/// `request` with only the server tools `offered` runs: as it is when it asks for none other,
/// else without them (`Drop`) or an error naming the first (`Refuse`).
pub fn fit<'a>(
    request: &'a ChatRequest,
    offered: ServerTools,
    policy: MissingServerTools,
    warnings: &mut Warnings,
) -> Result<Cow<'a, ChatRequest>, ApiError> {
    let missing =
        |tool: &Tool| matches!(tool, Tool::Server(server) if !offered.offers(server.kind));
    let Some(first) = request.tools.iter().find_map(|tool| match tool {
        Tool::Server(server) if !offered.offers(server.kind) => Some(server),
        _ => None,
    }) else {
        return Ok(Cow::Borrowed(request));
    };
    if policy == MissingServerTools::Refuse {
        return Err(refusal(first));
    }
    let mut fitted = request.clone();
    fitted.tools.retain(|tool| {
        if let Tool::Server(server) = tool
            && missing(tool)
        {
            warnings.dropped(format!("tools({})", server.client_type));
            return false;
        }
        true
    });
    // A choice that forced a dropped tool now forces nothing the upstream has.
    if let Some(ToolChoice::Named(name)) = &fitted.tool_choice
        && !fitted.tools.iter().any(|tool| tool.name() == name)
        && request
            .tools
            .iter()
            .any(|tool| missing(tool) && tool.name() == name)
    {
        warnings.dropped("tool_choice");
        fitted.tool_choice = Some(ToolChoice::Auto);
    }
    Ok(Cow::Owned(fitted))
}

/// Reports the settings of `tool` that an upstream of another format does not get (encoders
/// call it when they write the tool in their own shape).
pub fn report_unmapped(tool: &ServerTool, warnings: &mut Warnings) {
    for field in &tool.unmapped {
        warnings.dropped(format!("tools({}).{field}", tool.client_type));
    }
}

/// The 400 for a server tool the model's upstream does not run.
fn refusal(tool: &ServerTool) -> ApiError {
    let what = match tool.kind {
        crate::canonical::ServerToolKind::WebSearch => "web search",
        crate::canonical::ServerToolKind::WebFetch => "web fetch",
    };
    ApiError::invalid(format!(
        "The {what} tool `{}` is not available on this model: its provider runs no server-side \
         {what}. Use a model that has one, or send the request without the tool.",
        tool.client_type
    ))
    .with_param("tools")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::canonical::ServerToolKind;

    fn request() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            tools: vec![
                Tool::Function {
                    name: "Read".into(),
                    description: None,
                    parameters: json!({"type": "object"}),
                    strict: None,
                },
                Tool::Server(ServerTool::new(
                    ServerToolKind::WebSearch,
                    "web_search_20250305",
                    json!({"type": "web_search_20250305", "name": "web_search"}),
                )),
                Tool::Server(ServerTool::new(
                    ServerToolKind::WebFetch,
                    "web_fetch_20250910",
                    json!({"type": "web_fetch_20250910", "name": "web_fetch"}),
                )),
            ],
            tool_choice: Some(ToolChoice::Named("web_fetch".into())),
            ..ChatRequest::default()
        }
    }

    #[test]
    fn offered_tools_pass_untouched() {
        let request = request();
        let mut warnings = Warnings::new();
        let all = ServerTools {
            web_search: true,
            web_fetch: true,
        };
        let fitted = fit(&request, all, MissingServerTools::Refuse, &mut warnings).unwrap();
        assert!(matches!(fitted, Cow::Borrowed(_)));
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_missing_tool_is_refused_by_name_or_dropped_with_a_warning() {
        let request = request();
        let search_only = ServerTools {
            web_search: true,
            web_fetch: false,
        };
        let error = fit(
            &request,
            search_only,
            MissingServerTools::Refuse,
            &mut Warnings::new(),
        )
        .unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(
            error.message.contains("`web_fetch_20250910`"),
            "{}",
            error.message
        );
        assert_eq!(error.param.as_deref(), Some("tools"));

        let mut warnings = Warnings::new();
        let fitted = fit(
            &request,
            search_only,
            MissingServerTools::Drop,
            &mut warnings,
        )
        .unwrap();
        let names: Vec<&str> = fitted.tools.iter().map(Tool::name).collect();
        assert_eq!(names, ["Read", "web_search"]);
        assert_eq!(fitted.tool_choice, Some(ToolChoice::Auto));
        assert_eq!(
            warnings.header_value().as_deref(),
            Some("dropped=tools(web_fetch_20250910),tool_choice")
        );

        let mut warnings = Warnings::new();
        let fitted = fit(
            &request,
            ServerTools::NONE,
            MissingServerTools::Drop,
            &mut warnings,
        )
        .unwrap();
        assert_eq!(fitted.tools.len(), 1);
        assert_eq!(
            warnings.header_value().as_deref(),
            Some("dropped=tools(web_search_20250305),tools(web_fetch_20250910),tool_choice")
        );
    }

    /// A client's search reaches each upstream format as the plan and the model config say:
    /// carried where it runs, refused by name or left out with a warning elsewhere, and never
    /// forwarded to a route whose config says it runs none.
    #[test]
    fn each_upstream_gets_the_search_it_runs_or_the_plan_decides() {
        use crate::format::WireFormat;
        use crate::formats::{MaxTokensParam, UpstreamFeatures, UpstreamTarget};
        use crate::translate::request::{ClientCall, upstream_request};

        let body = json!({"model": "m", "max_tokens": 100,
            "messages": [{"role": "user", "content": "weather in Paris?"}],
            "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]})
        .to_string();
        let request = WireFormat::AnthropicMessages
            .decode_request(body.as_bytes(), &mut Warnings::new())
            .unwrap();
        let target = |server_tools: Option<ServerTools>| UpstreamTarget {
            model: "up".into(),
            stream: false,
            max_tokens_param: MaxTokensParam::MaxCompletionTokens,
            default_max_tokens: 100,
            max_output_tokens: Some(100),
            reasoning: false,
            cache_breakpoints: false,
            server_tools,
        };
        let send = |upstream: WireFormat,
                    config: Option<ServerTools>,
                    policy: MissingServerTools|
         -> (Result<serde_json::Value, ApiError>, Option<String>) {
            let call = ClientCall {
                format: WireFormat::AnthropicMessages,
                forwardable_body: Some(body.as_bytes()),
                request: &request,
                features: UpstreamFeatures {
                    server_tools: true,
                    missing_server_tools: policy,
                    ..UpstreamFeatures::default()
                },
            };
            let mut warnings = Warnings::new();
            let sent = upstream_request(call, upstream, &target(config), &mut warnings)
                .map(|sent| serde_json::from_slice(&sent.body).unwrap());
            (sent, warnings.header_value())
        };
        let refuse = MissingServerTools::Refuse;
        let drop = MissingServerTools::Drop;

        let (sent, _) = send(WireFormat::AnthropicMessages, None, refuse);
        assert_eq!(sent.unwrap()["tools"][0]["type"], "web_search_20250305");
        let (sent, warnings) = send(WireFormat::OpenAiResponses, None, refuse);
        let sent = sent.unwrap();
        assert_eq!(sent["tools"], json!([{"type": "web_search"}]));
        assert_eq!(sent["max_tool_calls"], 2);
        assert_eq!(warnings, None);
        let (sent, _) = send(WireFormat::Gemini, None, refuse);
        assert!(sent.unwrap().to_string().contains("googleSearch"));

        let (refused, _) = send(WireFormat::OpenAiChat, None, refuse);
        let refused = refused.unwrap_err();
        assert_eq!(refused.status(), 400);
        assert!(refused.message.contains("`web_search_20250305`"));
        let (sent, warnings) = send(WireFormat::OpenAiChat, None, drop);
        assert!(sent.unwrap().get("tools").is_none());
        assert_eq!(
            warnings.as_deref(),
            Some("dropped=tools(web_search_20250305)")
        );
        // An Anthropic route whose config says it runs no search (Bedrock): the client's own
        // body is not forwarded with the tool.
        let (refused, _) = send(
            WireFormat::AnthropicMessages,
            Some(ServerTools::NONE),
            refuse,
        );
        assert_eq!(refused.unwrap_err().status(), 400);
        let (sent, warnings) = send(WireFormat::AnthropicMessages, Some(ServerTools::NONE), drop);
        assert!(sent.unwrap().get("tools").is_none());
        assert_eq!(
            warnings.as_deref(),
            Some("dropped=tools(web_search_20250305)")
        );
    }
}
