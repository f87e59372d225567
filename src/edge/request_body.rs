//! Reading a client's request body within the gateway's size limit.
//!
//! The body is read as a stream with a running count: a client that sends more than the
//! limit (with or without a `Content-Length`, chunked or not) is answered 413 as soon as it
//! passes it, and the gateway never holds more than the limit of it in memory.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStream, ReadableStreamDefaultReader};
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
    let Some(stream) = req.inner().body() else {
        return Ok(Vec::new());
    };
    let unreadable =
        |_| ApiError::invalid("The request body could not be read (the connection failed).");
    let reader: ReadableStreamDefaultReader = stream
        .get_reader()
        .dyn_into()
        .map_err(|_| ApiError::invalid("The request body could not be read."))?;
    // With a declared length the body is read into one buffer of that size; without one
    // (chunked), chunks are kept as they come and joined once at the end, so the body is never
    // copied by a growing buffer (which would briefly hold it twice and a half).
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut total: u64 = 0;
    let capacity = declared.unwrap_or(0).min(limit);
    let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    loop {
        let result = JsFuture::from(reader.read()).await.map_err(unreadable)?;
        let done = Reflect::get(&result, &JsValue::from_str("done"))
            .map_err(unreadable)?
            .as_bool()
            .unwrap_or(true);
        if done {
            if !chunks.is_empty() {
                body = chunks.concat();
            }
            return Ok(body);
        }
        let value = Reflect::get(&result, &JsValue::from_str("value")).map_err(unreadable)?;
        let Some(chunk) = value.dyn_ref::<Uint8Array>() else {
            continue;
        };
        total = total.saturating_add(u64::from(chunk.length()));
        if total > limit {
            let _ = reader.cancel();
            return Err(too_large());
        }
        if declared.is_some() && total <= capacity {
            let start = body.len();
            body.resize(start + chunk.length() as usize, 0);
            if let Some(tail) = body.get_mut(start..) {
                chunk.copy_to(tail);
            }
        } else {
            if !body.is_empty() {
                chunks.push(std::mem::take(&mut body));
            }
            chunks.push(chunk.to_vec());
        }
    }
}

/// Reads and drops what is left of a request body that no handler read (a call refused before
/// its body mattered), up to `limit` bytes.
///
/// With the Worker's static assets, requests reach the Worker through the assets router; when
/// a response leaves while the client's body is still unread, the router resets the client's
/// connection instead of answering (`wrangler dev` shows it as a failed fetch where a 401 was
/// due). A body some handler has started reading (its stream is locked) is left alone, and so
/// is the rest of one larger than `limit` (that connection may be reset: the body was refused).
pub async fn drain_unread(stream: ReadableStream, limit: u64) {
    if stream.locked() {
        return;
    }
    let Ok(reader) = stream
        .get_reader()
        .dyn_into::<ReadableStreamDefaultReader>()
    else {
        return;
    };
    let mut total: u64 = 0;
    loop {
        let Ok(result) = JsFuture::from(reader.read()).await else {
            return;
        };
        let done = Reflect::get(&result, &JsValue::from_str("done"))
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            return;
        }
        let length = Reflect::get(&result, &JsValue::from_str("value"))
            .ok()
            .and_then(|v| v.dyn_ref::<Uint8Array>().map(Uint8Array::length))
            .unwrap_or(0);
        total = total.saturating_add(u64::from(length));
        if total > limit {
            let _ = reader.cancel();
            return;
        }
    }
}
