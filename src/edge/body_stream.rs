//! The client's body for a streamed answer: the upstream body piped through a
//! `TransformStream` whose `transform` runs the Rust translator on each chunk.
//!
//! ```text
//! upstream body ──pipeTo──▶ TransformStream.writable ─(transform: StreamTranslator)─▶ .readable ──▶ client
//! ```
//!
//! - **Commit.** The pipe starts at once; the response is committed when the answer has
//!   started (or failed, or `commit_ms` passed), so an upstream that fails at once (an
//!   Anthropic 200 followed by `overloaded_error`) still gets a proper HTTP error status. The
//!   readable side buffers a few chunks meanwhile.
//! - **Backpressure and memory.** Past that buffer the pipe moves a chunk only when the client
//!   has room for it; the translator keeps only its own state, however long the stream.
//! - **Silence.** While the upstream sends nothing, the client gets the format's keep-alive
//!   every `keep_alive_ms`. Writing it is also how a client that went away is noticed (workerd
//!   cancels the body on the next write). After `idle_ms` of silence the stream is ended with
//!   the format's error event and the upstream call aborted.
//! - **Endings.** However the pipe settles (upstream done, upstream failed, client gone, idle),
//!   the translator is finished (a stream that did not reach its terminal event gets the
//!   format's in-band error event, never a silent truncation) and the outcome reported to the
//!   settlement: the upstream's usage, or what arrived when the stream was cut.
//! - **Lifetimes.** The JS callbacks and the translator are owned by the `waitUntil` task that
//!   awaits the pipe, and freed when it settles.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{Either, select};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, QueuingStrategy, ReadableStream, StreamPipeOptions, TransformStream,
    TransformStreamDefaultController,
};
use worker::{Context, Delay};

use super::settlement::{KeptAnswer, Report, Reporter};
use crate::error::{ApiError, ErrorKind};
use crate::translate::StreamTranslator;

/// Chunks the client's side may hold before it reads (the commit window's buffer).
const READABLE_BUFFER_CHUNKS: f64 = 16.0;

/// When the stream's silences are filled and ended.
#[derive(Debug, Clone, Copy)]
pub struct StreamTimers {
    /// The longest the handler waits for the answer to start before committing the response.
    pub commit_ms: u64,
    /// A keep-alive goes out after this long without anything for the client.
    pub keep_alive_ms: u64,
    /// The stream is ended after this long without anything from the upstream.
    pub idle_ms: u64,
}

/// Translator state shared by the transform callbacks and the task.
struct PipeState {
    translator: StreamTranslator,
    reporter: Reporter,
    controller: Option<TransformStreamDefaultController>,
    /// `finish` has run; it must not run twice.
    finished: bool,
    /// When something last came from the upstream, and when the client was last sent bytes.
    upstream_ms: u64,
    client_ms: u64,
    /// Told once the answer has started or ended (the commit can happen).
    started: Option<oneshot::Sender<()>>,
    /// The client cancelled the body (went away).
    client_gone: bool,
}

impl PipeState {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.translator.push(chunk, out);
        self.reporter.progress(self.translator.meter());
        self.upstream_ms = now_ms();
        self.tell_if_started();
    }

    fn tell_if_started(&mut self) {
        if (self.translator.started() || self.translator.ended())
            && let Some(started) = self.started.take()
        {
            let _ = started.send(());
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        if let Some(controller) = &self.controller {
            enqueue(controller, bytes);
            if !bytes.is_empty() {
                self.client_ms = now_ms();
            }
        }
    }

    /// Ends the translation (once) and reports the outcome.
    fn finish(&mut self, error: Option<ApiError>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut tail = Vec::new();
        match error {
            Some(error) => self.translator.abort(error, &mut tail),
            None => self.translator.finish(&mut tail),
        }
        self.send(&tail);
        if let Some(controller) = self.controller.take() {
            controller.terminate();
        }
        self.tell_if_started();
        self.report();
    }

    /// Reports the outcome (once; the reporter ignores later calls). An upstream that failed
    /// before the answer started took nothing on.
    fn report(&mut self) {
        if self.reporter.finished() {
            return;
        }
        // A client gone before the answer started still leaves an upstream that took the
        // call on.
        let refused = self.translator.early_error().is_some() && !self.client_gone;
        let answer = self.translator.collected().map(KeptAnswer::Canonical);
        self.reporter.finish(Report {
            meter: self.translator.meter().clone(),
            refused,
            answer,
        });
    }
}

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

fn js_error(context: &str) -> ApiError {
    worker::console_error!("stream plumbing: {context}");
    ApiError::new(
        ErrorKind::Internal,
        "The gateway hit an internal error; retry.",
    )
}

/// Pipes `raw` through `translator` and waits until the answer has started (or failed). Returns
/// the client's body, or the error to answer with when the upstream failed before its answer
/// started (the call then counts as refused).
pub async fn stream(
    ctx: &Context,
    raw: ReadableStream,
    translator: StreamTranslator,
    reporter: Reporter,
    abort: AbortController,
    timers: StreamTimers,
) -> Result<ReadableStream, ApiError> {
    let (started_tx, started_rx) = oneshot::channel();
    let shared = Rc::new(RefCell::new(PipeState {
        translator,
        reporter,
        controller: None,
        finished: false,
        upstream_ms: now_ms(),
        client_ms: now_ms(),
        started: Some(started_tx),
        client_gone: false,
    }));

    let start_state = Rc::clone(&shared);
    let start = Closure::<dyn FnMut(TransformStreamDefaultController)>::new(
        move |controller: TransformStreamDefaultController| {
            if let Ok(mut state) = start_state.try_borrow_mut() {
                state.controller = Some(controller);
            }
        },
    );
    let transform_state = Rc::clone(&shared);
    let mut out = Vec::new();
    let transform = Closure::<dyn FnMut(JsValue, TransformStreamDefaultController)>::new(
        move |chunk: JsValue, _controller: TransformStreamDefaultController| {
            let Some(chunk) = chunk.dyn_ref::<Uint8Array>() else {
                return;
            };
            if let Ok(mut state) = transform_state.try_borrow_mut()
                && !state.finished
            {
                state.push(&chunk.to_vec(), &mut out);
                state.send(&out);
                out.clear();
            }
        },
    );
    let flush_state = Rc::clone(&shared);
    let flush = Closure::<dyn FnMut(TransformStreamDefaultController)>::new(
        move |_controller: TransformStreamDefaultController| {
            if let Ok(mut state) = flush_state.try_borrow_mut() {
                state.finish(None);
            }
        },
    );

    let cancel_state = Rc::clone(&shared);
    let cancel = Closure::<dyn FnMut(JsValue)>::new(move |_reason: JsValue| {
        if let Ok(mut state) = cancel_state.try_borrow_mut() {
            state.client_gone = true;
        }
    });

    let transformer = Object::new();
    for (name, callback) in [
        ("start", start.as_ref()),
        ("transform", transform.as_ref()),
        ("flush", flush.as_ref()),
        ("cancel", cancel.as_ref()),
    ] {
        Reflect::set(&transformer, &JsValue::from_str(name), callback)
            .map_err(|_| js_error("transformer"))?;
    }
    let writable_strategy = QueuingStrategy::new();
    writable_strategy.set_high_water_mark(1.0);
    let readable_strategy = QueuingStrategy::new();
    readable_strategy.set_high_water_mark(READABLE_BUFFER_CHUNKS);
    let pipe = TransformStream::new_with_transformer_and_writable_strategy_and_readable_strategy(
        &transformer,
        &writable_strategy,
        &readable_strategy,
    )
    .map_err(|_| js_error("TransformStream"))?;
    // preventAbort: when the upstream body fails, the client's stream is not errored (workerd
    // would end it as if complete); the translator finishes it with the format's error event.
    let options = StreamPipeOptions::new();
    options.set_prevent_abort(true);
    options.set_signal(&abort.signal());
    let piped = raw.pipe_to_with_options(&pipe.writable(), &options);

    let probe = Rc::clone(&shared);
    let task_state = Rc::clone(&shared);
    let task_abort = abort.clone();
    ctx.wait_until(async move {
        let mut piped = JsFuture::from(piped);
        let tick_ms = timers.keep_alive_ms.min(timers.idle_ms).max(50);
        let mut settled = false;
        loop {
            let tick = Delay::from(Duration::from_millis(tick_ms));
            match select(&mut piped, Box::pin(tick)).await {
                Either::Left(_) => {
                    settled = true;
                    break;
                }
                Either::Right(_) => {
                    let Ok(mut state) = task_state.try_borrow_mut() else {
                        continue;
                    };
                    if state.finished {
                        break;
                    }
                    let now = now_ms();
                    if now.saturating_sub(state.upstream_ms) >= timers.idle_ms {
                        task_abort.abort();
                        state.finish(Some(ApiError::new(
                            ErrorKind::Timeout,
                            format!(
                                "The upstream sent nothing for {} s; the stream was ended.",
                                timers.idle_ms / 1000
                            ),
                        )));
                        break;
                    }
                    if now.saturating_sub(state.client_ms) >= timers.keep_alive_ms {
                        let mut ping = Vec::new();
                        state.translator.keep_alive(&mut ping);
                        state.send(&ping);
                    }
                }
            }
        }
        // Settled when the upstream body ended or failed, the client went away, or the stream
        // idled out: however it ended, it is finished and reported here.
        if !settled {
            let _ = piped.await;
        }
        drop((start, transform, flush, cancel));
        if let Ok(mut state) = shared.try_borrow_mut() {
            state.finish(None);
        }
    });

    let waiting = Delay::from(Duration::from_millis(timers.commit_ms));
    let _ = select(started_rx, Box::pin(waiting)).await;
    let early = probe
        .try_borrow()
        .ok()
        .and_then(|state| state.translator.early_error().cloned());
    if let Some(error) = early {
        // The upstream failed before its answer started: the client gets a real HTTP error;
        // the pipe winds down and reports the call as refused.
        abort.abort();
        return Err(error);
    }
    Ok(pipe.readable())
}

fn enqueue(controller: &TransformStreamDefaultController, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    // Fails only when the client has gone away; the pipe then winds down by itself.
    let _ = controller.enqueue_with_chunk(&Uint8Array::from(bytes));
}
