//! The client's response, built from the upstream's: a stream piped through the translator
//! (failing over while it has shown nothing), or a whole answer translated at once. Both
//! report the outcome to the settlement and what they learned to the upstream's breaker.

use std::time::Duration;

use futures_util::future::{Either, select};
use serde_json::Value;
use worker::{Context, Delay, Headers, Response, ResponseBuilder};

use super::Step;
use crate::edge::body_stream::{self, StreamPlan, StreamTimers};
use crate::edge::request_log::{self, SharedFacts};
use crate::edge::settlement::{KeptAnswer, Report, Reporter};
use crate::edge::upstream::{Answer as UpstreamAnswer, Attempts};
use crate::error::{ApiError, ErrorKind};
use crate::formats::ResponseContext;
use crate::resilience::Failure;
use crate::translate::{WARNINGS_HEADER, Warnings, translate_response};

/// What the answer needs to know about the call.
pub struct Answer<'a> {
    pub context: ResponseContext,
    pub limit_headers: &'a [(&'static str, String)],
    pub warnings: &'a Warnings,
    pub timers: StreamTimers,
    /// The call's facts for the request log.
    pub facts: Option<SharedFacts>,
}

impl Answer<'_> {
    /// The client's response. Errors before the answer is committed are reported to
    /// `reporter` and returned for the pipeline to render.
    pub async fn respond(
        self,
        ctx: &Context,
        mut attempts: Attempts,
        upstream: UpstreamAnswer,
        mut reporter: Reporter,
    ) -> Step<Response> {
        let mut warnings = self.warnings.clone();
        warnings.merge(&upstream.warnings);
        request_log::set_warnings(self.facts.as_ref(), &warnings);
        let headers = headers(self.limit_headers, &warnings)?;
        if attempts.request().stream {
            let plan = StreamPlan {
                context: self.context,
                timers: self.timers,
            };
            let body = body_stream::stream(ctx, attempts, upstream, reporter, plan)
                .await
                .inspect_err(|error| request_log::failed(self.facts.as_ref(), error))?;
            headers.set("content-type", "text/event-stream; charset=utf-8")?;
            headers.set("cache-control", "no-cache")?;
            headers.set("x-accel-buffering", "no")?;
            Ok(ResponseBuilder::new()
                .with_status(200)
                .with_headers(headers)
                .stream(body))
        } else {
            // Past the headers the upstream has taken the call on: whatever happens now, the
            // answer is charged (a dropped reporter reports a cut answer), and never asked for
            // again, so the request is let go.
            attempts.drop_body();
            whole(
                &mut attempts,
                upstream,
                &mut reporter,
                &self.context,
                headers,
            )
            .await
            .inspect_err(|error| request_log::failed(self.facts.as_ref(), error))
        }
    }
}

fn headers(limit_headers: &[(&'static str, String)], warnings: &Warnings) -> Step<Headers> {
    let headers = Headers::new();
    for (name, value) in limit_headers {
        headers.set(name, value)?;
    }
    if let Some(value) = warnings.header_value() {
        headers.set(WARNINGS_HEADER, &value)?;
    }
    Ok(headers)
}

async fn whole(
    attempts: &mut Attempts,
    upstream: UpstreamAnswer,
    reporter: &mut Reporter,
    context: &ResponseContext,
    headers: Headers,
) -> Step<Response> {
    let left_ms = upstream
        .deadline_ms
        .saturating_sub(worker::Date::now().as_millis());
    let reading = crate::edge::js_pump::read_all(upstream.response.body());
    let waiting = Delay::from(Duration::from_millis(left_ms));
    let upstream_body = match select(Box::pin(reading), Box::pin(waiting)).await {
        Either::Left((Ok(bytes), _)) => bytes,
        Either::Left((Err(e), _)) => {
            reporter.finish(Report::accepted());
            let error = ApiError::new(
                ErrorKind::UpstreamFailed,
                format!("the upstream's answer could not be read: {e}"),
            );
            attempts.failed(
                &upstream.tried,
                error.clone(),
                Some(Failure::Unavailable),
                None,
            );
            return Err(error);
        }
        Either::Right(_) => {
            upstream.abort.abort();
            reporter.finish(Report::accepted());
            let error = ApiError::new(
                ErrorKind::Timeout,
                "the upstream's answer did not arrive in time",
            );
            attempts.failed(
                &upstream.tried,
                error.clone(),
                Some(Failure::Unavailable),
                None,
            );
            return Err(error);
        }
    };
    let (translated, meter) = translate_response(
        attempts.client(),
        upstream.format,
        &upstream_body,
        &upstream.restore,
        context,
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
    attempts.succeeded(&upstream.tried);
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
