//! Building responses: JSON bodies, errors in the client's format, common headers.

use serde_json::Value;
use worker::{Headers, Response, ResponseBuilder, Result};

use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::spec::Incoming;

/// Runs `f` on `req` as the formats see an incoming request.
pub fn with_incoming<R>(req: &worker::Request, f: impl FnOnce(&Incoming) -> R) -> R {
    with_incoming_as(req, &req.inner().method(), f)
}

/// [`with_incoming`], as if `req` had been sent with `method`.
pub fn with_incoming_as<R>(
    req: &worker::Request,
    method: &str,
    f: impl FnOnce(&Incoming) -> R,
) -> R {
    let path = req.path();
    let url = req.inner().url();
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let header = |name: &str| req.headers().get(name).ok().flatten();
    f(&Incoming {
        method,
        path: path.trim_end_matches('/'),
        header: &header,
        query,
    })
}

/// A JSON response with `status`.
pub fn json(status: u16, body: &Value) -> Result<Response> {
    let bytes = serde_json::to_vec(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
    json_bytes(status, bytes)
}

/// A response whose body is already-serialized JSON.
pub fn json_bytes(status: u16, bytes: Vec<u8>) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    Ok(ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(bytes))
}

/// An error in the client's format, with `Retry-After` where a retry makes sense and
/// `x-should-retry: false` where it does not (the SDKs obey both).
pub fn error(format: WireFormat, error: &ApiError, request_id: &str) -> Result<Response> {
    let mut response = json(error.status(), &error.to_body(format, request_id))?;
    let headers = response.headers_mut();
    if let Some(seconds) = error.retry_after_s {
        headers.set("retry-after", &seconds.to_string())?;
    } else if error.kind.wants_retry_after() {
        headers.set("retry-after", "1")?;
    }
    if error.kind == crate::error::ErrorKind::QuotaExhausted || error.final_answer {
        headers.set("x-should-retry", "false")?;
    }
    Ok(response)
}

/// Sets several headers at once.
pub fn set_all<'a>(
    response: &mut Response,
    pairs: impl IntoIterator<Item = (&'a str, String)>,
) -> Result<()> {
    let headers = response.headers_mut();
    for (name, value) in pairs {
        headers.set(name, &value)?;
    }
    Ok(())
}

/// A runtime failure inside a handler (a header that could not be set, a binding call that
/// threw): logged for the operator, an internal error for the client.
impl From<worker::Error> for ApiError {
    fn from(error: worker::Error) -> ApiError {
        worker::console_error!("runtime error: {error}");
        ApiError::new(
            crate::error::ErrorKind::Internal,
            "The gateway hit an internal error; retry.",
        )
    }
}
