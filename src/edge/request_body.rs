//! Reading a client's request body within the gateway's size limit.

use worker::Request;

use crate::error::{ApiError, ErrorKind};

/// Reads the request body, refusing more than `limit` bytes with 413.
pub async fn read_body(req: &mut Request, limit: u64) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorKind::RequestTooLarge,
            format!("The request body is larger than this gateway's limit of {limit} bytes."),
        )
    };
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let body = req
        .bytes()
        .await
        .map_err(|e| ApiError::invalid(format!("The request body could not be read: {e}")))?;
    if body.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(body)
}
