//! Translates a finished (non-streamed) upstream answer for the client.

use super::adapt::Restore;
use super::meter::Meter;
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::ResponseContext;

/// The client's answer body and its metered usage.
///
/// Same-format answers are forwarded byte for byte (decoded only to meter them; an answer the
/// gateway cannot decode is still forwarded, and metered by estimate).
pub fn translate_response(
    client: WireFormat,
    upstream: WireFormat,
    body: &[u8],
    restore: &Restore,
    context: &ResponseContext,
) -> Result<(Vec<u8>, Meter), ApiError> {
    let mut meter = Meter::default();
    if client == upstream {
        if let Ok(response) = upstream.decode_response(body) {
            meter.observe_response(&response);
        }
        return Ok((body.to_vec(), meter));
    }
    let mut response = upstream.decode_response(body)?;
    restore.response(&mut response);
    meter.observe_response(&response);
    let json = client.encode_response(&response, context);
    Ok((serde_json::to_vec(&json).unwrap_or_default(), meter))
}
