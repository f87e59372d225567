//! The upstream body for one route.

use super::adapt::{self, Restore};
use super::server_tools;
use super::warnings::Warnings;
use crate::canonical::{ChatRequest, Tool};
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::{
    BuiltinTool, UpstreamFeatures, UpstreamTarget, builtin_tool, tool_names_stored_object,
};

/// An upstream body and how to read its answer back.
#[derive(Debug)]
pub struct UpstreamRequest {
    pub body: Vec<u8>,
    pub restore: Restore,
}

/// What the client sent, as the upstream request is built from it.
#[derive(Debug, Clone, Copy)]
pub struct ClientCall<'a> {
    pub format: WireFormat,
    /// The client's body, when it may be forwarded to an upstream of its own format (it says
    /// exactly what the gateway decoded: no content was left out, no history added).
    pub forwardable_body: Option<&'a [u8]>,
    pub request: &'a ChatRequest,
    /// What the key's plan lets the call use upstream.
    pub features: UpstreamFeatures,
}

/// Builds the body to send upstream. The caller has already set the request's output limit to
/// the call's cap and left out what the plan does not allow (see [`fit_to_plan`]).
///
/// When the client already speaks the upstream's format, its own body is forwarded through the
/// format's allowlist (`formats::forward`): vendor fields the canonical model does not carry
/// survive and Anthropic thinking blocks stay byte-exact. Otherwise the canonical request is
/// adapted to the upstream's limits (copied only if something must change) and encoded
/// straight to bytes. Server tools the upstream does not run are refused or left out first, as
/// the plan says (see [`server_tools`]); a body with such a tool (an Anthropic search on a
/// route whose model config says it has none) is never forwarded.
pub fn upstream_request(
    call: ClientCall<'_>,
    upstream: WireFormat,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> Result<UpstreamRequest, ApiError> {
    let offered = target
        .server_tools
        .unwrap_or_else(|| upstream.spec().server_tools());
    if call.format == upstream
        && let Some(body) = call.forwardable_body
        && server_tools::all_offered(call.request, offered)
    {
        return Ok(UpstreamRequest {
            body: upstream.forward_request(body, target, call.features, warnings)?,
            restore: Restore::default(),
        });
    }
    let request = server_tools::fit(
        call.request,
        offered,
        call.features.missing_server_tools,
        warnings,
    )?;
    if adapt::needed(&request, upstream) {
        let (adapted, restore) = adapt::for_upstream(request.into_owned(), upstream);
        let body = upstream.encode_request_bytes(&adapted, target, warnings)?;
        return Ok(UpstreamRequest { body, restore });
    }
    Ok(UpstreamRequest {
        body: upstream.encode_request_bytes(&request, target, warnings)?,
        restore: Restore::default(),
    })
}

/// Fits a decoded request to the call: its output limit becomes the reserved `output_cap`
/// (every encoder sends it), and built-in tools the plan does not allow are left out (server
/// tools, web search and fetch included, need the plan's `server_tools`).
pub fn fit_to_plan(
    request: &mut ChatRequest,
    output_cap: u64,
    features: UpstreamFeatures,
    warnings: &mut Warnings,
) {
    request.max_output_tokens = Some(output_cap);
    request.tools.retain(|tool| match tool {
        Tool::Server(server) => {
            if !features.server_tools {
                warnings.dropped(format!("tools({})", server.client_type));
            }
            features.server_tools
        }
        Tool::Builtin { kind, raw } => {
            let allowed = match builtin_tool(kind) {
                BuiltinTool::ClientRun => true,
                BuiltinTool::Server => {
                    features.server_tools && (features.files || !tool_names_stored_object(raw))
                }
                BuiltinTool::Mcp => features.mcp,
            };
            if !allowed {
                warnings.dropped(format!("tools({kind})"));
            }
            allowed
        }
        Tool::Function { .. } | Tool::Custom { .. } => true,
    });
}
