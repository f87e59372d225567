//! A demo provider's attempt: the answer [`crate::demo`] makes, as the `Response` a fetch would
//! have returned, so everything after the attempt (translation, metering, logging) runs as for
//! a vendor's answer.

use worker::{Headers, Response, ResponseBuilder};

use super::send::SendError;
use crate::error::ApiError;
use crate::format::WireFormat;

/// The Worker variable that lets the demo provider stand in for models whose providers have no
/// key set (`npm run dev` sets it; a deployment does not, unless its operator does).
pub const DEMO_VARIABLE: &str = "DEMO";

pub fn respond(
    format: WireFormat,
    body: &[u8],
    stream: bool,
    upstream_model: &str,
    request_id: &str,
) -> Result<Response, SendError> {
    let now_s = worker::Date::now().as_millis() / 1000;
    let answer = crate::demo::answer(format, body, stream, upstream_model, request_id, now_s);
    if answer.status != 200 {
        return Err(SendError::request(ApiError::invalid(
            "the demo provider could not read the request",
        )));
    }
    let headers = Headers::new();
    headers
        .set("content-type", answer.content_type)
        .map_err(|_| SendError::internal("demo headers"))?;
    let fixed = ResponseBuilder::new()
        .with_status(200)
        .with_headers(headers)
        .fixed(answer.body);
    // Through the runtime's own Response, so the body is a stream, as a fetched answer's is
    // (the stream pump reads only stream bodies).
    let raw: web_sys::Response = fixed.into();
    Ok(Response::from(raw))
}
