//! The upstream request body for one route.

use serde_json::{Value, json};

use super::adapt::{self, Restore};
use super::warnings::Warnings;
use crate::canonical::ChatRequest;
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::UpstreamTarget;

/// An upstream body and how to read its answer back.
#[derive(Debug)]
pub struct UpstreamRequest {
    pub body: Vec<u8>,
    pub restore: Restore,
}

/// Builds the body to send upstream.
///
/// When the client already speaks the upstream's format (and `allow_passthrough`), the client's
/// own JSON is forwarded with
/// only the model id replaced (and, for Chat streams, usage requested), so vendor fields the
/// canonical model does not carry survive and Anthropic thinking blocks stay byte-exact.
/// Otherwise the canonical request is adapted to the upstream's limits and encoded.
pub fn upstream_request(
    client: WireFormat,
    allow_passthrough: bool,
    upstream: WireFormat,
    client_json: &Value,
    request: &ChatRequest,
    target: &UpstreamTarget,
    warnings: &mut Warnings,
) -> Result<UpstreamRequest, ApiError> {
    if client == upstream && allow_passthrough {
        let mut body = client_json.clone();
        if let Some(object) = body.as_object_mut() {
            object.insert("model".into(), Value::String(target.model.clone()));
            if upstream == WireFormat::OpenAiChat && target.stream {
                let options = object.entry("stream_options").or_insert_with(|| json!({}));
                if let Some(options) = options.as_object_mut() {
                    options.insert("include_usage".into(), Value::Bool(true));
                }
            }
        }
        return Ok(UpstreamRequest {
            body: serde_json::to_vec(&body).unwrap_or_default(),
            restore: Restore::default(),
        });
    }
    let (adapted, restore) = adapt::for_upstream(request.clone(), upstream);
    let body = upstream.encode_request(&adapted, target, warnings)?;
    Ok(UpstreamRequest {
        body: serde_json::to_vec(&body).unwrap_or_default(),
        restore,
    })
}
