//! The client's response, built from the upstream's: a stream piped through the translator, or
//! a whole answer translated at once. Both report the outcome to the settlement.

use serde_json::Value;
use worker::{Context, Headers, Response, ResponseBuilder};

use super::Step;
use crate::canonical::ChatRequest;
use crate::edge::body_stream::UpstreamBody;
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
            match self.whole(upstream, &mut reporter, headers).await {
                Ok(response) => Ok(response),
                Err(error) => {
                    reporter.finish(Report::nothing());
                    Err(error)
                }
            }
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
        // A Chat client that did not ask for usage must not get the usage chunk the gateway
        // asked the upstream for, so that pair is re-encoded rather than forwarded.
        let passthrough = upstream_format == client
            && (client != WireFormat::OpenAiChat || self.request.client.include_usage);
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
                reporter.finish(Report::nothing());
                return Err(ApiError::new(
                    ErrorKind::UpstreamFailed,
                    "the upstream answered without a body",
                ));
            }
        };
        let mut body = UpstreamBody::new(raw, translator, reporter)?;
        body.prime().await;
        if let Some(error) = body.translator().early_error().cloned() {
            body.cancel();
            return Err(error);
        }
        headers.set("content-type", "text/event-stream; charset=utf-8")?;
        headers.set("cache-control", "no-cache")?;
        headers.set("x-accel-buffering", "no")?;
        Ok(ResponseBuilder::new()
            .with_status(200)
            .with_headers(headers)
            .stream(body.into_client_body(ctx)?))
    }

    async fn whole(
        self,
        mut upstream: UpstreamAnswer<'_>,
        reporter: &mut Reporter,
        headers: Headers,
    ) -> Step<Response> {
        let upstream_format = upstream.route.provider.format;
        let upstream_body = upstream.response.bytes().await.map_err(|e| {
            ApiError::new(
                ErrorKind::UpstreamFailed,
                format!("the upstream's answer could not be read: {e}"),
            )
        })?;
        let (bytes, meter) = translate_response(
            self.client,
            upstream_format,
            &upstream_body,
            &upstream.restore,
            &self.context,
        )?;
        let answer = if reporter.keeps_answer() {
            serde_json::from_slice::<Value>(&bytes)
                .ok()
                .map(KeptAnswer::Client)
        } else {
            None
        };
        reporter.finish(Report { meter, answer });
        headers.set("content-type", "application/json")?;
        Ok(ResponseBuilder::new()
            .with_status(200)
            .with_headers(headers)
            .fixed(bytes))
    }
}
