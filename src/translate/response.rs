//! Translates a finished (non-streamed) upstream answer for the client.

use super::adapt::Restore;
use super::meter::Meter;
use super::model_rewrite::ModelRewrite;
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::ResponseContext;

/// The client's answer body and its metered usage.
///
/// Same-format answers are forwarded byte for byte but for the model id, which names the
/// client's model (decoded only to meter them; an answer the gateway cannot decode is still
/// forwarded, and metered by estimate).
pub fn translate_response(
    client: WireFormat,
    upstream: WireFormat,
    body: &[u8],
    restore: &Restore,
    context: &ResponseContext,
) -> Result<(Vec<u8>, Meter), ApiError> {
    let mut meter = Meter::default();
    if client == upstream {
        let mut forwarded = Vec::with_capacity(body.len());
        match upstream.decode_response(body) {
            Ok(response) => {
                meter.observe_response(&response);
                match ModelRewrite::new(&response.model, &context.model) {
                    Some(mut rewrite) => {
                        rewrite.push(body, &mut forwarded);
                        rewrite.finish(&mut forwarded);
                    }
                    None => forwarded.extend_from_slice(body),
                }
            }
            Err(_) => forwarded.extend_from_slice(body),
        }
        return Ok((forwarded, meter));
    }
    let mut response = upstream.decode_response(body)?;
    restore.response(&mut response);
    meter.observe_response(&response);
    let json = client.encode_response(&response, context);
    Ok((serde_json::to_vec(&json).unwrap_or_default(), meter))
}
