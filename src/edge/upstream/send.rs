//! One upstream attempt: the request with the format's authentication, sent with a deadline
//! for its response headers, and a failed answer read as the client's error and as what it
//! says about the upstream's health.

use std::time::Duration;

use futures_util::future::{Either, select};
use wasm_bindgen::JsValue;
use worker::{AbortSignal, Delay, Fetch, Headers, Method, Request, RequestInit, Response};

use crate::error::{self, ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::resilience::{Failure, outcome};

/// Why an attempt got no answer to use.
pub struct SendError {
    pub error: ApiError,
    /// What it says about the upstream (`None`: the request itself is at fault, and would fail
    /// anywhere).
    pub failure: Option<Failure>,
    /// How long the upstream asked to be left alone.
    pub retry_after_ms: Option<u64>,
    /// The upstream may have taken the request on and be producing an answer nobody will read
    /// (a non-streamed answer that timed out): never sent again, and charged its input.
    pub accepted: bool,
    /// The client went away: nothing more is tried.
    pub client_gone: bool,
    /// Beta flags the upstream refused by name (the attempt may be made again without them).
    pub rejected_betas: Vec<String>,
}

impl SendError {
    /// The request cannot be sent to this upstream as it is: the client's to fix.
    pub fn request(error: ApiError) -> SendError {
        SendError {
            error,
            failure: None,
            retry_after_ms: None,
            accepted: false,
            client_gone: false,
            rejected_betas: Vec::new(),
        }
    }

    /// A fault of the gateway's own.
    pub fn internal(context: &str) -> SendError {
        worker::console_error!("upstream call: {context}");
        SendError::request(ApiError::new(
            ErrorKind::Internal,
            "The gateway hit an internal error; retry.",
        ))
    }

    fn unavailable(error: ApiError) -> SendError {
        SendError {
            error,
            failure: Some(Failure::Unavailable),
            retry_after_ms: None,
            accepted: false,
            client_gone: false,
            rejected_betas: Vec::new(),
        }
    }
}

/// One attempt's request.
#[derive(Clone, Copy)]
pub struct Outgoing<'a> {
    pub format: WireFormat,
    pub url: &'a str,
    pub key: Option<&'a str>,
    pub body: &'a [u8],
    pub betas: Option<&'a str>,
    pub stream: bool,
    /// How long to wait for the response headers (for a non-streamed answer: for the whole
    /// answer, whose headers come with it).
    pub wait_ms: u64,
    /// Fires when the client goes away, or the gateway gives up on the call.
    pub signals: &'a [&'a web_sys::AbortSignal],
    pub client_signal: &'a web_sys::AbortSignal,
    /// Names the provider and model in logs and messages.
    pub provider_id: &'a str,
    pub model_id: &'a str,
    pub upstream_model: &'a str,
    pub request_id: &'a str,
}

/// Sends the attempt; a 2xx answer's response (body unread), or why there is none.
pub async fn send(outgoing: &Outgoing<'_>) -> Result<Response, SendError> {
    let request = build_request(
        outgoing.format,
        outgoing.url,
        outgoing.key,
        outgoing.body,
        outgoing.betas,
        outgoing.stream,
    )
    .map_err(|e| {
        // A secret that is not a valid header value (a stray newline): that key is broken.
        worker::console_error!(
            "{}: provider {:?}: could not build the upstream request (check its key secrets): {e}",
            outgoing.request_id,
            outgoing.provider_id
        );
        SendError {
            failure: Some(Failure::KeyRefused),
            ..SendError::unavailable(ApiError::new(
                ErrorKind::UpstreamFailed,
                "a provider for this model is misconfigured",
            ))
        }
    })?;
    let timeout = web_sys::AbortController::new().map_err(|_| {
        SendError::unavailable(ApiError::new(
            ErrorKind::Internal,
            "AbortController unavailable",
        ))
    })?;
    let signals = js_sys::Array::new();
    for signal in outgoing.signals {
        signals.push(signal);
    }
    signals.push(&timeout.signal());
    let signal = AbortSignal::from(web_sys::AbortSignal::any(&signals));
    let fetch = Fetch::Request(request);
    let sending = fetch.send_with_signal(&signal);
    let waiting = Delay::from(Duration::from_millis(outgoing.wait_ms));
    let response = match select(Box::pin(sending), Box::pin(waiting)).await {
        Either::Left((Ok(response), _)) => response,
        Either::Left((Err(e), _)) => {
            if outgoing.client_signal.aborted() {
                return Err(client_gone());
            }
            worker::console_warn!(
                "{}: upstream {:?} unreachable: {e}",
                outgoing.request_id,
                outgoing.provider_id
            );
            return Err(SendError::unavailable(ApiError::new(
                ErrorKind::UpstreamFailed,
                format!("could not reach the upstream for {}", outgoing.model_id),
            )));
        }
        Either::Right(_) => {
            timeout.abort();
            worker::console_warn!(
                "{}: upstream {:?} sent no headers within {} ms",
                outgoing.request_id,
                outgoing.provider_id,
                outgoing.wait_ms
            );
            let error = ApiError::new(
                ErrorKind::Timeout,
                format!(
                    "the upstream for {} did not answer within {} s",
                    outgoing.model_id,
                    outgoing.wait_ms.div_ceil(1000)
                ),
            );
            return Err(SendError {
                // A whole answer may be being generated: it is never asked for again.
                accepted: !outgoing.stream,
                ..SendError::unavailable(error)
            });
        }
    };
    let status = response.status_code();
    if (200..300).contains(&status) {
        return Ok(response);
    }
    let bytes = crate::edge::js_pump::read_all(response.body())
        .await
        .unwrap_or_default();
    let spec = outgoing.format.spec();
    let mut error = error::from_upstream(outgoing.format, status, &bytes);
    error.message = error
        .message
        .replace(outgoing.upstream_model, outgoing.model_id);
    let headers = response.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let retry_after_ms = spec.retry_after_ms(&header, worker::Date::now().as_millis());
    if let Some(ms) = retry_after_ms {
        error.retry_after_s = Some(ms.div_ceil(1000));
    }
    worker::console_warn!(
        "{}: upstream {:?} answered {status}: {}",
        outgoing.request_id,
        outgoing.provider_id,
        error::log_excerpt(&bytes)
    );
    let failure = outcome::classify(status, spec.credit_exhausted(status, &bytes));
    let rejected_betas = outgoing
        .betas
        .map(|sent| spec.rejected_betas(status, &bytes, sent))
        .unwrap_or_default();
    Err(SendError {
        error,
        failure,
        retry_after_ms,
        accepted: false,
        client_gone: false,
        rejected_betas,
    })
}

fn client_gone() -> SendError {
    SendError {
        error: ApiError::new(ErrorKind::UpstreamFailed, "the client went away"),
        failure: None,
        retry_after_ms: None,
        accepted: false,
        client_gone: true,
        rejected_betas: Vec::new(),
    }
}

/// An upstream request with the format's authentication.
pub fn build_request(
    format: WireFormat,
    url: &str,
    key: Option<&str>,
    body: &[u8],
    betas: Option<&str>,
    stream: bool,
) -> worker::Result<Request> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    for (name, value) in format.spec().upstream_headers(key, betas) {
        headers.set(name, &value)?;
    }
    if stream {
        headers.set("accept", "text/event-stream")?;
    }
    let body = js_sys::Uint8Array::from(body);
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from(body)));
    Request::new_with_init(url, &init)
}
