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
//! - **Backpressure and memory.** The pipe moves one chunk at a time as the client reads; the
//!   translator keeps only its own state, however long the stream.
//! - **Disconnects.** A client that goes away cancels the readable side; the pipe then cancels
//!   the upstream body (and `request.signal` aborts the upstream fetch). Either way the pipe's
//!   promise settles and the meter is reported, so the partial answer is billed.
//! - **Lifetimes.** The JS callbacks and the translator live in a `waitUntil` future that
//!   awaits the pipe; they are freed when it settles, so nothing leaks per request.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ReadableStream, ReadableStreamDefaultReader, TransformStream, TransformStreamDefaultController,
};
use worker::Context;

use crate::canonical::ChatResponse;
use crate::translate::{Meter, StreamTranslator};

/// What a finished or cancelled stream reports: its meter, and the whole answer if the
/// translator was collecting and the stream finished cleanly.
pub struct StreamReport {
    pub meter: Meter,
    pub response: Option<ChatResponse>,
}

/// Translator state shared by the transform callbacks.
struct PipeState {
    translator: StreamTranslator,
    /// Bytes translated during priming, enqueued first.
    pending: Vec<u8>,
    /// `finish` has run (the upstream body ended); it must not run twice.
    finished: bool,
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
    pub fn new(raw: ReadableStream, translator: StreamTranslator) -> worker::Result<UpstreamBody> {
        let reader: ReadableStreamDefaultReader = raw
            .get_reader()
            .dyn_into()
            .map_err(|_| js_error("no default reader"))?;
        Ok(UpstreamBody {
            raw,
            reader,
            state: PipeState {
                translator,
                pending: Vec::new(),
                finished: false,
            },
        })
    }

    /// Reads upstream chunks until the answer has started or failed.
    pub async fn prime(&mut self) {
        let state = &mut self.state;
        while !state.translator.started() && !state.translator.ended() && !state.finished {
            match read_chunk(&self.reader).await {
                Ok(Some(chunk)) => state.translator.push(&chunk, &mut state.pending),
                Ok(None) => {
                    state.translator.finish(&mut state.pending);
                    state.finished = true;
                }
                Err(e) => {
                    worker::console_warn!("upstream stream failed: {e:?}");
                    state.translator.finish(&mut state.pending);
                    state.finished = true;
                }
            }
        }
    }

    pub fn translator(&self) -> &StreamTranslator {
        &self.state.translator
    }

    /// Gives up on the body (the gateway answers with an error instead).
    pub fn cancel(self) -> Meter {
        let _ = self.reader.cancel();
        self.state.translator.meter().clone()
    }

    /// Commits: the client's body. `report` receives the meter once the pipe settles.
    pub fn into_client_body(
        self,
        ctx: &Context,
        report: oneshot::Sender<StreamReport>,
    ) -> worker::Result<ReadableStream> {
        self.reader.release_lock();
        let shared = Rc::new(RefCell::new(Some(self.state)));

        let start_state = Rc::clone(&shared);
        let start = Closure::<dyn FnMut(TransformStreamDefaultController)>::new(
            move |controller: TransformStreamDefaultController| {
                if let Some(state) = start_state.borrow_mut().as_mut() {
                    let pending = std::mem::take(&mut state.pending);
                    enqueue(&controller, &pending);
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
                if let Some(state) = transform_state.borrow_mut().as_mut()
                    && !state.finished
                {
                    state.translator.push(&chunk.to_vec(), &mut out);
                    enqueue(&controller, &out);
                    out.clear();
                }
            },
        );
        let flush_state = Rc::clone(&shared);
        let flush = Closure::<dyn FnMut(TransformStreamDefaultController)>::new(
            move |controller: TransformStreamDefaultController| {
                if let Some(state) = flush_state.borrow_mut().as_mut()
                    && !state.finished
                {
                    let mut tail = Vec::new();
                    state.translator.finish(&mut tail);
                    state.finished = true;
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
        let piped = self.raw.pipe_to(&pipe.writable());
        ctx.wait_until(async move {
            // Settles when the upstream body ends, fails, or the client cancels.
            let _ = JsFuture::from(piped).await;
            drop((start, transform, flush));
            if let Some(mut state) = shared.borrow_mut().take() {
                let _ = report.send(StreamReport {
                    meter: state.translator.meter().clone(),
                    response: state.translator.collected(),
                });
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
