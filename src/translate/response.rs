//! Translates a finished (non-streamed) upstream answer for the client.

use super::adapt::Restore;
use super::meter::Meter;
use super::model_rewrite::ModelRewrite;
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::ResponseContext;

/// The client's answer body (or why there is none), and what the answer cost.
///
/// Same-format answers are forwarded byte for byte but for the model id, which names the
/// client's model. An answer the gateway cannot decode is still forwarded to a same-format
/// client, and refused (502) for another format; either way the upstream produced it, so its
/// size is metered as output.
pub fn translate_response(
    client: WireFormat,
    upstream: WireFormat,
    body: &[u8],
    restore: &Restore,
    context: &ResponseContext,
) -> (Result<Vec<u8>, ApiError>, Meter) {
    let mut meter = Meter::default();
    let decoded = upstream.decode_response(body);
    match &decoded {
        Ok(response) => meter.observe_response(response),
        Err(_) => meter.observe_unreadable(body),
    }
    // A compaction is an answer in another shape: always re-encoded.
    if client == upstream && context.compaction.is_none() {
        let mut forwarded = Vec::with_capacity(body.len());
        match decoded.as_ref().ok().and_then(|response| {
            ModelRewrite::new(
                client.spec().answer_model_field(),
                &response.model,
                &context.model,
            )
        }) {
            Some(rewrite) => rewrite.apply(body, &mut forwarded),
            None => forwarded.extend_from_slice(body),
        }
        return (Ok(forwarded), meter);
    }
    let result = decoded.map(|mut response| {
        restore.response(&mut response);
        let json = client.encode_response(&response, context);
        serde_json::to_vec(&json).unwrap_or_default()
    });
    (result, meter)
}
