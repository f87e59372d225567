//! The client's body for a streamed answer: upstream bodies pumped, one attempt after another,
//! through the Rust translator into a native identity stream that is the client's body.
//!
//! ```text
//! attempt 1 body ──read──┐   (js_pump: one JS loop per attempt,
//! attempt 2 body ──read──┴─▶  one call into the translator per chunk) ──write──▶ IdentityTransformStream ──▶ client
//! ```
//!
//! - **Commit.** Nothing reaches the client before the answer's first content (the translator
//!   holds it). An attempt that fails before then (an error event, a stream that closes empty,
//!   no first event within `first_event_timeout_ms`, a silence of `idle_timeout_ms`) is
//!   abandoned and the next upstream is piped into the same client stream, so the client never
//!   sees a failure another upstream could answer. The handler returns the response once an
//!   upstream has started its answer (its start event), or after `commit_ms` (keep-alives then
//!   cover the wait); if everything fails before that, the client gets a real HTTP error
//!   status instead.
//! - **Native forwarding** (a provider's `native_forwarding`). A same-format answer whose
//!   bytes need no rewriting is, once committed, forwarded by workerd itself: the pump hands the rest of the upstream body over
//!   (`js_pump::toc_forward`) and the translator only meters a copy, read in batches every
//!   [`OBSERVE_PACE_MS`]. An answer the meter sees end in error is stopped there (the upstream
//!   is aborted), so nothing flows to the client unmetered.
//! - **Backpressure and memory.** The pump reads the next chunk only when the client's side has
//!   room (past a 64 KiB buffer); the translator keeps only its own state, however long the
//!   stream.
//! - **Silence.** While nothing goes to the client, it gets the format's keep-alive every
//!   `keep_alive_ms`. Writing it is also how a client that went away is noticed (workerd
//!   cancels the body on the next write). After the answer started, a silence of the
//!   upstream's `idle_timeout_ms` ends the stream with the format's error event and aborts the
//!   upstream at once.
//! - **Charges.** An abandoned attempt that the upstream had taken on (it stalled after its
//!   headers) is charged its input before the next is tried, if the key's window has room;
//!   one that failed with an error of its own is charged nothing. However the stream ends, the
//!   last attempt's usage is reported to the settlement.
//! - **Lifetimes.** The translator callback, the translator and the attempts are owned by the
//!   `waitUntil` task that drives the pumps, and freed when it ends.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::mpsc;
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::ReadableStream;
use worker::{Context, Delay};

use super::js_pump::{self, Pumped};

use super::settlement::{KeptAnswer, Report, Reporter};
use super::upstream::{Answer, Attempts};
use crate::config::Timeouts;
use crate::error::{ApiError, ErrorKind};
use crate::formats::ResponseContext;
use crate::resilience::{Failure, outcome};
use crate::translate::{Restore, StreamTranslator};

/// Bytes the client's side may hold before the pump waits for the client to read.
const CLIENT_BUFFER_BYTES: f64 = 64.0 * 1024.0;

/// A natively forwarded answer is read for the meter at most this often (each read takes all
/// that arrived meanwhile; the end of the answer is read at once).
const OBSERVE_PACE_MS: f64 = 20.0;

/// When the handler stops waiting, and how silences are filled.
#[derive(Debug, Clone, Copy)]
pub struct StreamTimers {
    /// The longest the handler waits for the answer to start before committing the response.
    pub commit_ms: u64,
    /// A keep-alive goes out after this long without anything for the client.
    pub keep_alive_ms: u64,
}

/// What the handler hears from the task.
enum Signal {
    /// An upstream started its answer (its start event): the response goes out unless the
    /// attempt fails within [`START_GRACE_MS`].
    Started,
    /// The answer's first content arrived (or it ended, or the client went away): return
    /// the stream.
    Committed,
    /// Every upstream failed before the answer started.
    Failed(ApiError),
}

/// How long after an upstream's start event the response waits for its first content before
/// going out: providers that fail right after starting (a Responses `response.created` then
/// `response.failed`) do so within milliseconds, and then the client still gets an HTTP status.
const START_GRACE_MS: u64 = 500;

/// Translator state shared by the translator callback and the task.
struct PipeState {
    translator: StreamTranslator,
    reporter: Reporter,
    /// The writer of the client's stream; `None` once it is closed, and while the upstream's
    /// body is forwarded natively.
    writer: Option<JsValue>,
    /// The current attempt's abort (stops its upstream).
    abort: web_sys::AbortController,
    /// The current attempt's provider allows native forwarding.
    native_forwarding: bool,
    /// `finish` has run; it must not run twice.
    finished: bool,
    /// When the current attempt began, when its upstream last sent bytes, and when the client
    /// was last sent bytes.
    attempt_ms: u64,
    upstream_ms: u64,
    client_ms: u64,
    /// Tells the handler how the answer is going, until it has committed or failed.
    started: Option<mpsc::UnboundedSender<Signal>>,
    /// The client cancelled the body (went away).
    client_gone: bool,
}

impl PipeState {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.translator.push(chunk, out);
        self.reporter.progress(self.translator.meter());
        self.upstream_ms = now_ms();
        self.signal_progress();
    }

    /// A copy of a natively forwarded chunk: metered, nothing written (`scratch` holds what
    /// the translator would add, which the upstream's own bytes already gave the client).
    fn observe(&mut self, chunk: &[u8], scratch: &mut Vec<u8>) {
        scratch.clear();
        self.translator.push(chunk, scratch);
        self.reporter.progress(self.translator.meter());
        self.upstream_ms = now_ms();
        self.client_ms = self.upstream_ms;
        if self.translator.ended() && !self.translator.meter().finished {
            // An error (the upstream's, or a frame the meter cannot read): nothing after it may
            // reach the client unmetered.
            self.abort.abort();
        }
    }

    fn signal_progress(&mut self) {
        if self.translator.committed() {
            self.tell(Signal::Committed);
        } else if self.translator.started() && self.translator.early_error().is_none() {
            self.tell(Signal::Started);
        }
    }

    fn tell(&mut self, started: Signal) {
        let last = !matches!(started, Signal::Started);
        if let Some(sender) = &self.started {
            let _ = sender.unbounded_send(started);
        }
        if last {
            self.started = None;
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(writer) = &self.writer {
            js_pump::toc_write(writer, &Uint8Array::from(bytes));
            self.client_ms = now_ms();
        }
    }

    /// A new attempt's translator takes over.
    fn begin_attempt(&mut self, translator: StreamTranslator, answer: &Answer) {
        self.translator = translator;
        self.abort = answer.abort.clone();
        self.native_forwarding = answer.native_forwarding;
        self.attempt_ms = now_ms();
        self.upstream_ms = self.attempt_ms;
    }

    /// The attempt's body ended: lets the translator see the end (what it adds is held if the
    /// answer never started).
    fn end_of_body(&mut self) {
        let mut tail = Vec::new();
        self.translator.finish(&mut tail);
        self.send(&tail);
        self.reporter.progress(self.translator.meter());
    }

    /// Ends the client's stream (once): with `error` as the format's error event if given,
    /// and reports the outcome; `refused` when no upstream took the call on (nothing is
    /// charged beyond abandoned attempts already charged).
    fn finish(&mut self, error: Option<ApiError>, refused: bool) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut tail = Vec::new();
        match error {
            Some(error) => self.translator.abort(error, &mut tail),
            None => self.translator.release(&mut tail),
        }
        self.send(&tail);
        if let Some(writer) = self.writer.take() {
            js_pump::toc_close(&writer);
        }
        self.tell(Signal::Committed);
        if !self.reporter.finished() {
            let answer = self.translator.collected().map(KeptAnswer::Canonical);
            self.reporter.finish(Report {
                meter: self.translator.meter().clone(),
                refused,
                answer,
            });
        }
    }
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn js_error(context: &str) -> ApiError {
    worker::console_error!("stream plumbing: {context}");
    ApiError::new(
        ErrorKind::Internal,
        "The gateway hit an internal error; retry.",
    )
}

/// How the client's stream is built from each attempt.
pub struct StreamPlan {
    pub context: ResponseContext,
    pub timers: StreamTimers,
}

impl StreamPlan {
    fn translator(
        &self,
        attempts: &Attempts,
        answer: &mut Answer,
        collect: bool,
    ) -> StreamTranslator {
        let client = attempts.client();
        let passthrough =
            answer.format == client && client.spec().forwards_stream(attempts.request());
        let restore = std::mem::take(&mut answer.restore);
        let translator = StreamTranslator::new(
            client,
            answer.format,
            passthrough,
            restore,
            self.context.clone(),
        );
        if collect {
            translator.collect()
        } else {
            translator
        }
    }

    /// A translator that only writes the client's error event (no upstream left).
    fn error_writer(&self, attempts: &Attempts) -> StreamTranslator {
        let client = attempts.client();
        StreamTranslator::new(
            client,
            client,
            false,
            Restore::default(),
            self.context.clone(),
        )
    }
}

/// Starts piping `first` (and, if it fails before its answer starts, the next upstreams) into
/// the client's stream; returns the client's body once the answer has started or `commit_ms`
/// passed, or the error to answer with when every upstream failed before that.
pub async fn stream(
    ctx: &Context,
    mut attempts: Attempts,
    mut first: Answer,
    reporter: Reporter,
    plan: StreamPlan,
) -> Result<ReadableStream, ApiError> {
    let collect = reporter.keeps_answer();
    let translator = plan.translator(&attempts, &mut first, collect);
    let (started_tx, mut started_rx) = mpsc::unbounded();
    let output = js_pump::toc_output_stream(CLIENT_BUFFER_BYTES);
    let writer: JsValue = output
        .writable()
        .get_writer()
        .map_err(|_| js_error("the client's stream has no writer"))?
        .into();
    let shared = Rc::new(RefCell::new(PipeState {
        translator,
        reporter,
        writer: Some(writer.clone()),
        abort: first.abort.clone(),
        native_forwarding: first.native_forwarding,
        finished: false,
        attempt_ms: now_ms(),
        upstream_ms: now_ms(),
        client_ms: now_ms(),
        started: Some(started_tx),
        client_gone: false,
    }));
    let callbacks = Callbacks {
        translate: translate_callback(&shared),
        observe: observe_callback(&shared),
        writable: output.writable().into(),
    };
    let commit_ms = plan.timers.commit_ms;
    let task_state = Rc::clone(&shared);
    ctx.wait_until(async move {
        drive(
            &mut attempts,
            first,
            &task_state,
            &writer,
            &callbacks,
            &plan,
            collect,
        )
        .await;
        drop(callbacks);
    });
    // The response goes out when the answer's first content arrives, shortly after an
    // upstream started it, or after `commit_ms`; a failure of every upstream before then is an
    // HTTP error. Later failures before the first content are still failed over, behind
    // keep-alives.
    let deadline_ms = now_ms().saturating_add(commit_ms);
    let mut until_ms = deadline_ms;
    loop {
        let waiting = Delay::from(Duration::from_millis(until_ms.saturating_sub(now_ms())));
        match select(started_rx.next(), Box::pin(waiting)).await {
            Either::Left((Some(Signal::Failed(error)), _)) => return Err(error),
            Either::Left((Some(Signal::Started), _)) => {
                until_ms = until_ms.min(now_ms().saturating_add(START_GRACE_MS));
            }
            Either::Left((Some(Signal::Committed) | None, _)) | Either::Right(_) => {
                return Ok(output.readable());
            }
        }
    }
}

/// How one attempt's pipe ended.
enum Watched {
    /// The upstream body ended or failed.
    Ended,
    /// The upstream stalled: no first event, or a silence too long.
    Stalled(ApiError),
    /// The client went away.
    ClientGone,
}

/// Runs the attempts until one answers completely (or the answer fails after it started, or
/// nothing is left), then finishes the client's stream and reports the outcome.
async fn drive(
    attempts: &mut Attempts,
    mut answer: Answer,
    state: &Rc<RefCell<PipeState>>,
    writer: &JsValue,
    callbacks: &Callbacks,
    plan: &StreamPlan,
    collect: bool,
) {
    loop {
        let watched = pump_attempt(attempts, &answer, state, writer, callbacks, plan.timers).await;
        let (error, failure, abandoned_tokens, stalled) = {
            let Ok(mut s) = state.try_borrow_mut() else {
                return;
            };
            let committed = s.translator.committed();
            match watched {
                Watched::ClientGone => {
                    s.finish(None, false);
                    return;
                }
                Watched::Stalled(error) if committed => {
                    // Mid-answer: the error event ends it, the slot is released now.
                    attempts.failed(
                        &answer.tried,
                        error.clone(),
                        Some(Failure::Unavailable),
                        None,
                    );
                    s.finish(Some(error), false);
                    return;
                }
                Watched::Stalled(error) => {
                    // The upstream took the call on and may bill its input.
                    let meter = s.translator.meter();
                    let tokens = meter
                        .usage
                        .input_tokens
                        .unwrap_or_else(|| s.reporter.input_estimate_tokens());
                    (error, Some(Failure::Unavailable), tokens, true)
                }
                Watched::Ended => match s.translator.early_error().cloned() {
                    None => {
                        if s.translator.meter().finished {
                            attempts.succeeded(&answer.tried);
                        } else {
                            // Cut after the answer started: the client got the error event.
                            let error = ApiError::new(
                                ErrorKind::UpstreamFailed,
                                "the upstream's stream was cut",
                            );
                            attempts.failed(&answer.tried, error, Some(Failure::Unavailable), None);
                        }
                        s.finish(None, false);
                        return;
                    }
                    // The upstream failed before the answer started: it took nothing on.
                    Some(error) => {
                        let failure = outcome::of_error_kind(error.kind);
                        (error, failure, 0, false)
                    }
                },
            }
        };
        worker::console_warn!(
            "{}: upstream failed before its answer started: {}",
            attempts.request_id(),
            error.message
        );
        if stalled {
            attempts.abandoned(&answer.tried, error.clone());
        } else {
            attempts.failed(&answer.tried, error.clone(), failure, None);
        }
        if failure.is_none() {
            // The request itself is at fault: every upstream would refuse it.
            give_up(state, plan, attempts, error, true);
            return;
        }
        if !attempts.charge_abandoned(abandoned_tokens).await {
            // No room left to pay for another attempt: the stalled one is the call's outcome.
            if let Ok(mut s) = state.try_borrow_mut() {
                s.tell(Signal::Failed(error.clone()));
                s.finish(Some(error), false);
            }
            return;
        }
        match attempts.next().await {
            Ok(mut next) => {
                let translator = plan.translator(attempts, &mut next, collect);
                if let Ok(mut s) = state.try_borrow_mut() {
                    s.begin_attempt(translator, &next);
                }
                answer = next;
            }
            Err(failed) => {
                // The abandoned attempts were charged as they were abandoned; this one took
                // nothing on unless it timed out after being accepted.
                give_up(state, plan, attempts, failed.error, !failed.accepted);
                return;
            }
        }
    }
}

/// Nothing more can be tried: the client gets `error` (an HTTP status if the response was not
/// returned yet, else the format's error event).
fn give_up(
    state: &Rc<RefCell<PipeState>>,
    plan: &StreamPlan,
    attempts: &Attempts,
    error: ApiError,
    refused: bool,
) {
    let Ok(mut s) = state.try_borrow_mut() else {
        return;
    };
    s.tell(Signal::Failed(error.clone()));
    s.translator = plan.error_writer(attempts);
    s.finish(Some(error), refused);
}

/// The translator as the pump calls it: one chunk in, the client's bytes (if any) out; or, to
/// hand the rest of the body over to native forwarding, an array holding the last bytes.
type Translate = Closure<dyn FnMut(Uint8Array) -> JsValue>;

/// The meter's side of a natively forwarded body: a copy of each batch of chunks.
type Observe = Closure<dyn FnMut(Uint8Array)>;

/// What the pumps call back, and where a natively forwarded body goes.
struct Callbacks {
    translate: Translate,
    observe: Observe,
    /// The client's stream's writable side.
    writable: JsValue,
}

fn observe_callback(shared: &Rc<RefCell<PipeState>>) -> Observe {
    let state = Rc::clone(shared);
    let mut input = Vec::new();
    let mut scratch = Vec::new();
    Closure::new(move |chunk: Uint8Array| {
        let Ok(mut state) = state.try_borrow_mut() else {
            return;
        };
        if state.finished {
            return;
        }
        input.resize(chunk.length() as usize, 0);
        chunk.copy_to(&mut input);
        state.observe(&input, &mut scratch);
    })
}

fn translate_callback(shared: &Rc<RefCell<PipeState>>) -> Translate {
    let state = Rc::clone(shared);
    let mut input = Vec::new();
    let mut out = Vec::new();
    Closure::new(move |chunk: Uint8Array| {
        let Ok(mut state) = state.try_borrow_mut() else {
            return JsValue::UNDEFINED;
        };
        if state.finished {
            return JsValue::UNDEFINED;
        }
        input.resize(chunk.length() as usize, 0);
        chunk.copy_to(&mut input);
        out.clear();
        state.push(&input, &mut out);
        if state.native_forwarding && state.translator.can_forward_natively() {
            state.translator.forward_natively();
            // The pump releases the writer to the native pipe; it is handed back at the end.
            state.writer = None;
            let last = js_sys::Array::new();
            if !out.is_empty() {
                last.push(&Uint8Array::from(out.as_slice()));
            }
            return last.into();
        }
        if out.is_empty() {
            JsValue::UNDEFINED
        } else {
            state.client_ms = now_ms();
            Uint8Array::from(out.as_slice()).into()
        }
    })
}

/// How a pump (or a native forward) settled; a forward also hands the client's writer back.
fn pump_settled(state: &Rc<RefCell<PipeState>>, settled: Result<JsValue, JsValue>) -> Pumped {
    let Ok(code) = settled else {
        return Pumped::ReadFailed;
    };
    if !js_sys::Array::is_array(&code) {
        return Pumped::from_code(&code);
    }
    let result = js_sys::Array::from(&code);
    let writer = result.get(1);
    if let Ok(mut s) = state.try_borrow_mut()
        && !writer.is_null()
        && !writer.is_undefined()
    {
        s.writer = Some(writer);
    }
    Pumped::from_code(&result.get(0))
}

/// Pumps one attempt's body into the client's stream and watches it: keep-alives, the first
/// event and idle timeouts, the client going away.
async fn pump_attempt(
    attempts: &mut Attempts,
    answer: &Answer,
    state: &Rc<RefCell<PipeState>>,
    writer: &JsValue,
    callbacks: &Callbacks,
    timers: StreamTimers,
) -> Watched {
    let raw = match answer.response.body() {
        worker::ResponseBody::Stream(raw) => raw.clone(),
        _ => return Watched::Ended,
    };
    let reader: JsValue = raw.get_reader().into();
    let mut pumped = JsFuture::from(js_pump::toc_pump(
        &reader,
        writer,
        callbacks.translate.as_ref().unchecked_ref(),
    ));
    let Timeouts {
        first_event_ms,
        idle_ms,
        ..
    } = answer.timeouts;
    let tick_ms = timers
        .keep_alive_ms
        .min(first_event_ms)
        .min(idle_ms)
        .clamp(50, 1_000);
    let watched = loop {
        let tick = Delay::from(Duration::from_millis(tick_ms));
        match select(&mut pumped, Box::pin(tick)).await {
            // The pump has settled: it must not be awaited again.
            Either::Left((settled, _)) => {
                let code = pump_settled(state, settled);
                if code == Pumped::Forward {
                    pumped = JsFuture::from(js_pump::toc_forward(
                        &reader,
                        raw.as_ref(),
                        writer,
                        &callbacks.writable,
                        callbacks.observe.as_ref().unchecked_ref(),
                        OBSERVE_PACE_MS,
                        &answer.abort,
                    ));
                    continue;
                }
                let pumped = code;
                let Ok(mut s) = state.try_borrow_mut() else {
                    return Watched::Ended;
                };
                // A client that went away also cuts the upstream's body: that is not the
                // upstream failing. (The request's signal may fire before the write fails.)
                if pumped == Pumped::ClientGone || s.client_gone || attempts.client_gone() {
                    s.client_gone = true;
                    answer.abort.abort();
                    return Watched::ClientGone;
                }
                s.end_of_body();
                return Watched::Ended;
            }
            Either::Right(_) => {
                let Ok(mut s) = state.try_borrow_mut() else {
                    continue;
                };
                if s.client_gone || attempts.client_gone() {
                    break Watched::ClientGone;
                }
                if s.translator.committed() {
                    // Nothing more will be sent upstream: the request is let go.
                    attempts.drop_body();
                }
                let now = now_ms();
                if !s.translator.heard_from() && now.saturating_sub(s.attempt_ms) >= first_event_ms
                {
                    break Watched::Stalled(ApiError::new(
                        ErrorKind::Timeout,
                        format!(
                            "The upstream sent no event within {} s.",
                            first_event_ms.div_ceil(1000)
                        ),
                    ));
                }
                if s.translator.heard_from() && now.saturating_sub(s.upstream_ms) >= idle_ms {
                    break Watched::Stalled(ApiError::new(
                        ErrorKind::Timeout,
                        format!(
                            "The upstream sent nothing for {} s; the stream was ended.",
                            idle_ms.div_ceil(1000)
                        ),
                    ));
                }
                if now.saturating_sub(s.client_ms) >= timers.keep_alive_ms {
                    let mut ping = Vec::new();
                    s.translator.keep_alive(&mut ping);
                    s.send(&ping);
                }
            }
        }
    };
    // Stalled or abandoned: stop the upstream, and let the pump settle before anything else
    // writes to the client's stream.
    js_pump::toc_cancel(&reader);
    answer.abort.abort();
    // A native forward hands the client's writer back as it settles.
    pump_settled(state, pumped.await);
    watched
}
