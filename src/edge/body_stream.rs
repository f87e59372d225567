//! The client's response body for a streamed answer: a pull-based stream that reads one
//! upstream chunk at a time and yields its translation.
//!
//! `Response::from_stream` builds a ReadableStream with high-water mark 0, so an upstream chunk
//! is read only when the client is ready for more: backpressure reaches the upstream, and
//! memory per stream stays at one chunk plus the translator's state, however long the answer.
//! When the client disconnects, the runtime cancels the body, the [`Pump`] is dropped (which
//! cancels the upstream read) and its `Drop` reports what was generated, so the partial answer
//! is billed.

use futures_channel::oneshot;
use futures_util::{Stream, StreamExt};
use worker::ByteStream;

use crate::canonical::ChatResponse;
use crate::translate::{Meter, StreamTranslator};

/// What a finished or cancelled stream reports: its meter, and the whole answer if the
/// translator was collecting and the stream finished cleanly.
pub struct StreamReport {
    pub meter: Meter,
    pub response: Option<ChatResponse>,
}

/// One streamed answer in progress.
pub struct Pump {
    upstream: ByteStream,
    translator: StreamTranslator,
    /// Translated bytes read before the response was committed, sent first.
    pending: Vec<u8>,
    /// The upstream body has ended and the translator has been finished.
    done: bool,
    /// Receives the meter once, when the pump is dropped (finished or cancelled).
    report: Option<oneshot::Sender<StreamReport>>,
}

impl Drop for Pump {
    fn drop(&mut self) {
        if let Some(report) = self.report.take() {
            let _ = report.send(StreamReport {
                meter: self.translator.meter().clone(),
                response: self.translator.collected(),
            });
        }
    }
}

impl Pump {
    pub fn new(
        upstream: ByteStream,
        translator: StreamTranslator,
        report: oneshot::Sender<StreamReport>,
    ) -> Pump {
        Pump {
            upstream,
            translator,
            pending: Vec::new(),
            done: false,
            report: Some(report),
        }
    }

    /// Reads upstream chunks until the answer has started or failed (the pre-commit window:
    /// until then the gateway can still answer with an HTTP error instead of a stream).
    pub async fn prime(&mut self) {
        while !self.translator.started() && !self.translator.ended() && !self.done {
            self.step().await;
        }
    }

    pub fn translator(&self) -> &StreamTranslator {
        &self.translator
    }

    /// Reads and translates one upstream chunk into `pending`.
    async fn step(&mut self) {
        match self.upstream.next().await {
            Some(Ok(chunk)) => self.translator.push(&chunk, &mut self.pending),
            Some(Err(e)) => {
                worker::console_warn!("upstream stream failed: {e}");
                self.translator.finish(&mut self.pending);
                self.done = true;
            }
            None => {
                self.translator.finish(&mut self.pending);
                self.done = true;
            }
        }
    }

    /// The client body.
    pub fn into_stream(self) -> impl Stream<Item = worker::Result<Vec<u8>>> {
        futures_util::stream::unfold(self, |mut pump| async move {
            loop {
                if !pump.pending.is_empty() {
                    let out = std::mem::take(&mut pump.pending);
                    return Some((Ok(out), pump));
                }
                if pump.done {
                    return None;
                }
                pump.step().await;
            }
        })
    }
}
