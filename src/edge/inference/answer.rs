//! The client's response, built from the upstream's: a stream piped through the translator, or
//! a whole answer translated at once. Both report the outcome to the settlement.

use std::time::Duration;

use futures_util::future::{Either, select};
use serde_json::Value;
use worker::{Context, Delay, Headers, Response, ResponseBuilder};

use super::Step;
use crate::canonical::ChatRequest;
use crate::edge::body_stream::{self, StreamTimers};
use crate::edge::settlement::{KeptAnswer, Report, Reporter};
use crate::edge::upstream::Answer as UpstreamAnswer;
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;
use crate::formats::ResponseContext;
use crate::translate::{StreamTranslator, WARNINGS_HEADER, Warnings, translate_response};

/// What the answer needs to know about the call.
pub struct Answer<'a> {
    pub client: WireFormat,
    pub request: &'a ChatRequest,
    pub context: ResponseContext,
    pub limit_headers: &'a [(&'static str, String)],
    pub warnings: &'a Warnings,
    /// Aborts the upstream call (also wired into its fetch).
    pub abort: web_sys::AbortController,
    pub timers: StreamTimers,
}

impl Answer<'_> {
    /// The client's response. Errors before the answer is committed are reported to
    /// `reporter` as producing nothing and returned for the pipeline to render.
    pub async fn respond(
        self,
        ctx: &Context,
        upstream: UpstreamAnswer<'_>,
        mut reporter: Reporter,
    ) -> Step<Response> {
        let headers = self.headers()?;
        if self.request.stream {
            self.stream(ctx, upstream, reporter, headers).await
        } else {
            // Past the headers the upstream has taken the call on: whatever happens now, the
            // answer is charged (a dropped reporter reports a cut answer).
            self.whole(upstream, &mut reporter, headers).await
        }
    }

    fn headers(&self) -> Step<Headers> {
        let headers = Headers::new();
        for (name, value) in self.limit_headers {
            headers.set(name, value)?;
        }
        if let Some(value) = self.warnings.header_value() {
            headers.set(WARNINGS_HEADER, &value)?;
        }
        Ok(headers)
    }

    async fn stream(
        self,
        ctx: &Context,
        upstream: UpstreamAnswer<'_>,
        mut reporter: Reporter,
        headers: Headers,
    ) -> Step<Response> {
        let client = self.client;
        let upstream_format = upstream.route.provider.format;
        let passthrough = upstream_format == client && client.spec().forwards_stream(self.request);
        let mut translator = StreamTranslator::new(
            client,
            upstream_format,
            passthrough,
            upstream.restore,
            self.context,
        );
        if reporter.keeps_answer() {
            translator = translator.collect();
        }
        let raw = match upstream.response.body() {
            worker::ResponseBody::Stream(raw) => raw.clone(),
            _ => {
                reporter.finish(Report::refused());
                return Err(ApiError::new(
                    ErrorKind::UpstreamFailed,
                    "the upstream answered without a body",
                ));
            }
        };
        let body =
            body_stream::stream(ctx, raw, translator, reporter, self.abort, self.timers).await?;
        headers.set("content-type", "text/event-stream; charset=utf-8")?;
        headers.set("cache-control", "no-cache")?;
        headers.set("x-accel-buffering", "no")?;
        Ok(ResponseBuilder::new()
            .with_status(200)
            .with_headers(headers)
            .stream(body))
    }

    async fn whole(
        self,
        mut upstream: UpstreamAnswer<'_>,
        reporter: &mut Reporter,
        headers: Headers,
    ) -> Step<Response> {
        let upstream_format = upstream.route.provider.format;
        let left_ms = upstream
            .deadline_ms
            .saturating_sub(worker::Date::now().as_millis());
        let reading = upstream.response.bytes();
        let waiting = Delay::from(Duration::from_millis(left_ms));
        let upstream_body = match select(Box::pin(reading), Box::pin(waiting)).await {
            Either::Left((Ok(bytes), _)) => bytes,
            Either::Left((Err(e), _)) => {
                reporter.finish(Report::accepted());
                return Err(ApiError::new(
                    ErrorKind::UpstreamFailed,
                    format!("the upstream's answer could not be read: {e}"),
                ));
            }
            Either::Right(_) => {
                self.abort.abort();
                reporter.finish(Report::accepted());
                return Err(ApiError::new(
                    ErrorKind::Timeout,
                    "the upstream's answer did not arrive in time",
                ));
            }
        };
        let (translated, meter) = translate_response(
            self.client,
            upstream_format,
            &upstream_body,
            &upstream.restore,
            &self.context,
        );
        let bytes = match translated {
            Ok(bytes) => bytes,
            Err(error) => {
                reporter.finish(Report {
                    meter,
                    refused: false,
                    answer: None,
                });
                return Err(error);
            }
        };
        let answer = if reporter.keeps_answer() {
            serde_json::from_slice::<Value>(&bytes)
                .ok()
                .map(KeptAnswer::Client)
        } else {
            None
        };
        reporter.finish(Report {
            meter,
            refused: false,
            answer,
        });
        headers.set("content-type", "application/json")?;
        Ok(ResponseBuilder::new()
            .with_status(200)
            .with_headers(headers)
            .fixed(bytes))
    }
}
