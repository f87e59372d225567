//! The upstream body for one route.

use super::adapt::{self, Restore};
use super::warnings::Warnings;
use crate::canonical::{ChatRequest, Tool};
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::{BuiltinTool, UpstreamFeatures, UpstreamTarget, builtin_tool};

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

/// Builds the body to send upstream. `target.max_output_tokens` is the output cap the call
/// reserved: whatever the client asked for, the upstream is sent exactly that.
///
/// When the client already speaks the upstream's format, its own body is forwarded through the
/// format's allowlist (`formats::forward`): vendor fields the canonical model does not carry
/// survive and Anthropic thinking blocks stay byte-exact. Otherwise the canonical request is
/// adapted to the upstream's limits and encoded.
pub fn upstream_request(
    call: ClientCall<'_>,
    upstream: WireFormat,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> Result<UpstreamRequest, ApiError> {
    if call.format == upstream
        && let Some(body) = call.forwardable_body
    {
        return Ok(UpstreamRequest {
            body: upstream.forward_request(body, target, call.features, warnings)?,
            restore: Restore::default(),
        });
    }
    let mut request = call.request.clone();
    request.max_output_tokens = Some(target.output_cap());
    request.tools.retain(|tool| match tool {
        Tool::Builtin { kind, .. } => {
            let allowed = match builtin_tool(kind) {
                BuiltinTool::ClientRun => true,
                BuiltinTool::Server => call.features.server_tools,
                BuiltinTool::Mcp => call.features.mcp,
            };
            if !allowed {
                warnings.dropped(format!("tools({kind})"));
            }
            allowed
        }
        Tool::Function { .. } | Tool::Custom { .. } => true,
    });
    let (adapted, restore) = adapt::for_upstream(request, upstream);
    let body = upstream.encode_request(&adapted, target, warnings)?;
    Ok(UpstreamRequest {
        body: serde_json::to_vec(&body).unwrap_or_default(),
        restore,
    })
}
