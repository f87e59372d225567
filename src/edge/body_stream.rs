//! The client's body for a streamed answer: the upstream body piped through a
//! `TransformStream` whose `transform` runs the Rust translator on each chunk.
//!
//! ```text
//! upstream body ──pipeTo──▶ TransformStream.writable ─(transform: StreamTranslator)─▶ .readable ──▶ client
//! ```
//!
//! - **Pre-commit window.** Before the response is committed, [`UpstreamBody::prime`] reads
//!   chunks until the answer has started or failed, so an upstream that fails at once (an
//!   Anthropic 200 followed by `overloaded_error`) still gets a proper HTTP error status. The
//!   reader is then released and the rest of the body is piped.
//! - **Backpressure and memory.** The pipe moves a chunk only when the client has room for it;
//!   the translator keeps only its own state, however long the stream.
//! - **Failures.** When the upstream body fails mid-way (connection reset), the pipe does not
//!   abort the client's stream; the translator finishes it with the format's in-band error
//!   event, never a silently truncated stream.
//! - **Metering.** Each chunk's usage so far goes to the settlement's [`Reporter`]; the outcome
//!   is reported by `flush` (the upstream body ended) or, if the pipe fails, when it settles.
//!   A client that disconnects is settled by the lease (see `settlement`): workerd then cancels
//!   the invocation's I/O and neither may run.
//! - **Lifetimes.** The JS callbacks and the translator are owned by the `waitUntil` task that
//!   awaits the pipe, and freed when it settles.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ReadableStream, ReadableStreamDefaultReader, StreamPipeOptions, TransformStream,
    TransformStreamDefaultController,
};
use worker::Context;

use super::settlement::{KeptAnswer, Report, Reporter};
use crate::translate::StreamTranslator;

/// Translator state shared by the transform callbacks.
struct PipeState {
    translator: StreamTranslator,
    reporter: Reporter,
    /// The transform's controller, kept from `start` so the stream can still be completed
    /// (with the format's error event) when the upstream body fails mid-way.
    controller: Option<TransformStreamDefaultController>,
    /// Bytes translated during priming, enqueued first.
    pending: Vec<u8>,
    /// `finish` has run (the upstream body ended); it must not run twice.
    finished: bool,
}

impl PipeState {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.translator.push(chunk, out);
        self.reporter.progress(self.translator.meter());
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.finished {
            self.translator.finish(out);
            self.finished = true;
            self.report();
        }
    }

    /// Reports the outcome (once; the reporter ignores later calls).
    fn report(&mut self) {
        if !self.reporter.finished() {
            let answer = self.translator.collected().map(KeptAnswer::Canonical);
            self.reporter.finish(Report {
                meter: self.translator.meter().clone(),
                answer,
            });
        }
    }
}

/// An upstream streamed body, before and after the response is committed.
pub struct UpstreamBody {
    raw: ReadableStream,
    reader: ReadableStreamDefaultReader,
    state: PipeState,
}

fn js_error(context: &str) -> worker::Error {
    worker::Error::RustError(format!("stream plumbing: {context}"))
}

impl UpstreamBody {
    pub fn new(
        raw: ReadableStream,
        translator: StreamTranslator,
        reporter: Reporter,
    ) -> worker::Result<UpstreamBody> {
        let reader: ReadableStreamDefaultReader = raw
            .get_reader()
            .dyn_into()
            .map_err(|_| js_error("no default reader"))?;
        Ok(UpstreamBody {
            raw,
            reader,
            state: PipeState {
                translator,
                reporter,
                controller: None,
                pending: Vec::new(),
                finished: false,
            },
        })
    }

    /// Reads upstream chunks until the answer has started or failed.
    pub async fn prime(&mut self) {
        let state = &mut self.state;
        while !state.translator.started() && !state.translator.ended() && !state.finished {
            let mut out = std::mem::take(&mut state.pending);
            match read_chunk(&self.reader).await {
                Ok(Some(chunk)) => state.push(&chunk, &mut out),
                Ok(None) => state.finish(&mut out),
                Err(e) => {
                    worker::console_warn!("upstream stream failed: {e:?}");
                    state.finish(&mut out);
                }
            }
            state.pending = out;
        }
    }

    pub fn translator(&self) -> &StreamTranslator {
        &self.state.translator
    }

    /// Gives up on the body (the gateway answers with an error instead) and reports.
    pub fn cancel(mut self) {
        let _ = self.reader.cancel();
        self.state.report();
    }

    /// Commits: the client's body.
    pub fn into_client_body(self, ctx: &Context) -> worker::Result<ReadableStream> {
        self.reader.release_lock();
        let shared = Rc::new(RefCell::new(self.state));

        let start_state = Rc::clone(&shared);
        let start = Closure::<dyn FnMut(TransformStreamDefaultController)>::new(
            move |controller: TransformStreamDefaultController| {
                if let Ok(mut state) = start_state.try_borrow_mut() {
                    let pending = std::mem::take(&mut state.pending);
                    enqueue(&controller, &pending);
                    state.controller = Some(controller);
                }
            },
        );
        let transform_state = Rc::clone(&shared);
        let mut out = Vec::new();
        let transform = Closure::<dyn FnMut(JsValue, TransformStreamDefaultController)>::new(
            move |chunk: JsValue, controller: TransformStreamDefaultController| {
                let Some(chunk) = chunk.dyn_ref::<Uint8Array>() else {
                    return;
                };
                if let Ok(mut state) = transform_state.try_borrow_mut()
                    && !state.finished
                {
                    state.push(&chunk.to_vec(), &mut out);
                    enqueue(&controller, &out);
                    out.clear();
                }
            },
        );
        let flush_state = Rc::clone(&shared);
        let flush = Closure::<dyn FnMut(TransformStreamDefaultController)>::new(
            move |controller: TransformStreamDefaultController| {
                if let Ok(mut state) = flush_state.try_borrow_mut() {
                    let mut tail = Vec::new();
                    state.finish(&mut tail);
                    enqueue(&controller, &tail);
                }
            },
        );

        let transformer = Object::new();
        for (name, callback) in [
            ("start", start.as_ref()),
            ("transform", transform.as_ref()),
            ("flush", flush.as_ref()),
        ] {
            Reflect::set(&transformer, &JsValue::from_str(name), callback)
                .map_err(|_| js_error("transformer"))?;
        }
        let pipe = TransformStream::new_with_transformer(&transformer)
            .map_err(|_| js_error("TransformStream"))?;
        // preventAbort: when the upstream body fails, the client's stream is not errored (workerd
        // would end it as if complete); the translator finishes it with the format's error event.
        let options = StreamPipeOptions::new();
        options.set_prevent_abort(true);
        let piped = self.raw.pipe_to_with_options(&pipe.writable(), &options);
        ctx.wait_until(async move {
            // Settles when the upstream body ends or fails, or the client cancels.
            let outcome = JsFuture::from(piped).await;
            drop((start, transform, flush));
            if let Ok(mut state) = shared.try_borrow_mut() {
                if outcome.is_err() && !state.finished {
                    let mut tail = Vec::new();
                    state.finish(&mut tail);
                    if let Some(controller) = state.controller.take() {
                        enqueue(&controller, &tail);
                        controller.terminate();
                    }
                }
                state.report();
            }
        });
        Ok(pipe.readable())
    }
}

fn enqueue(controller: &TransformStreamDefaultController, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    // Fails only when the client has gone away; the pipe then winds down by itself.
    let _ = controller.enqueue_with_chunk(&Uint8Array::from(bytes));
}

/// The next chunk, `None` at the end of the body.
async fn read_chunk(reader: &ReadableStreamDefaultReader) -> Result<Option<Vec<u8>>, JsValue> {
    let result = JsFuture::from(reader.read()).await?;
    let done = Reflect::get(&result, &JsValue::from_str("done"))?
        .as_bool()
        .unwrap_or(true);
    if done {
        return Ok(None);
    }
    let value = Reflect::get(&result, &JsValue::from_str("value"))?;
    Ok(Some(
        value
            .dyn_ref::<Uint8Array>()
            .map(Uint8Array::to_vec)
            .unwrap_or_default(),
    ))
}
