//! The client's response body for a streamed answer: a pull-based stream that reads one
//! upstream chunk at a time and yields its translation.
//!
//! `Response::from_stream` builds a ReadableStream with high-water mark 0, so an upstream chunk
//! is read only when the client is ready for more: backpressure reaches the upstream, and
//! memory per stream stays at one chunk plus the translator's state, however long the answer.
//!
//! After each chunk the pump records the usage so far with its [`Reporter`], and it reports
//! the outcome as soon as the upstream body ends (or, if the runtime cancels the body, when it
//! is dropped). A client that disconnects mid-stream is handled by the settlement's lease: see
//! `settlement`.

use futures_util::{Stream, StreamExt};
use worker::ByteStream;

use super::settlement::{KeptAnswer, Report, Reporter};
use crate::translate::StreamTranslator;

/// One streamed answer in progress.
pub struct Pump {
    upstream: ByteStream,
    translator: StreamTranslator,
    /// Translated bytes not yet handed to the client.
    pending: Vec<u8>,
    /// The upstream body has ended and the translator has been finished.
    done: bool,
    reporter: Reporter,
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.report();
    }
}

impl Pump {
    pub fn new(upstream: ByteStream, translator: StreamTranslator, reporter: Reporter) -> Pump {
        Pump {
            upstream,
            translator,
            pending: Vec::new(),
            done: false,
            reporter,
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

    fn report(&mut self) {
        if self.reporter.finished() {
            return;
        }
        let answer = self.translator.collected().map(KeptAnswer::Canonical);
        self.reporter.finish(Report {
            meter: self.translator.meter().clone(),
            answer,
        });
    }

    /// Reads and translates one upstream chunk into `pending`.
    async fn step(&mut self) {
        match self.upstream.next().await {
            Some(Ok(chunk)) => {
                self.translator.push(&chunk, &mut self.pending);
                self.reporter.progress(self.translator.meter());
            }
            Some(Err(e)) => {
                worker::console_warn!("upstream stream failed: {e}");
                self.end();
            }
            None => self.end(),
        }
    }

    fn end(&mut self) {
        self.translator.finish(&mut self.pending);
        self.done = true;
        self.report();
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
