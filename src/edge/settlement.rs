//! After admission, one `waitUntil` task per request settles it with the key's Durable Object.
//!
//! While the call runs, the task renews the request's lease every third of
//! `gateway.request_lease` with a checkpoint of the usage so far. When the call reports its
//! outcome (answer complete, stream ended or failed), the task settles it with the upstream's
//! figures and, for Responses clients, stores the turn.
//!
//! A call can also end without reporting: when a client disconnects, workerd cancels the
//! invocation's pending I/O, so the stream never sees its own end. The task notices that the
//! answer stopped progressing, stops renewing after `gateway.abandon_after`, and the object
//! settles the request at its last checkpoint once the lease runs out. A final report arriving
//! later still corrects it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{Either, select};
use serde_json::Value;
use worker::{Delay, Env};

use super::meter_client::{MeterClient, SettleBody};
use super::responses_state::{self, Conversation};
use crate::canonical::ChatResponse;
use crate::format::WireFormat;
use crate::formats::ResponseContext;
use crate::translate::{Billed, Meter};

/// The answer to keep as a stored Responses turn.
pub enum KeptAnswer {
    /// A streamed answer, folded; encoded as a Responses object when stored.
    Canonical(ChatResponse),
    /// A non-streamed answer as the client received it.
    Client(Value),
}

/// How a call ended.
pub struct Report {
    pub meter: Meter,
    pub answer: Option<KeptAnswer>,
}

impl Report {
    /// A call that failed before producing anything: its reservation is given back.
    pub fn nothing() -> Report {
        Report {
            meter: Meter::default(),
            answer: None,
        }
    }
}

/// A Responses turn to store once the answer is complete.
pub struct Keep {
    pub conversation: Conversation,
    pub context: ResponseContext,
    pub ttl_ms: u64,
}

/// Everything the settlement task needs.
pub struct Settlement {
    pub env: Env,
    pub key_id: String,
    pub request_id: String,
    pub metering: bool,
    pub estimated_input_tokens: u64,
    pub lease_ms: u64,
    pub abandon_after_ms: u64,
    pub keep: Option<Keep>,
}

/// The call's side of a settlement: where it reports progress and its outcome.
pub struct Reporter {
    progress: Rc<RefCell<Meter>>,
    outcome: Option<oneshot::Sender<Report>>,
    /// The answer is to be kept (a stored Responses turn).
    keeps_answer: bool,
}

impl Reporter {
    /// Records the usage so far (cheap: a small copy per upstream chunk).
    pub fn progress(&self, meter: &Meter) {
        if let Ok(mut progress) = self.progress.try_borrow_mut() {
            progress.clone_from(meter);
        }
    }

    /// Reports how the call ended; later reports are ignored.
    pub fn finish(&mut self, report: Report) {
        if let Some(outcome) = self.outcome.take() {
            let _ = outcome.send(report);
        }
    }

    pub fn finished(&self) -> bool {
        self.outcome.is_none()
    }

    /// Whether the call should collect its answer for [`Report::answer`].
    pub fn keeps_answer(&self) -> bool {
        self.keeps_answer
    }
}

impl Settlement {
    /// Whether anything needs doing after the call.
    pub fn needed(&self) -> bool {
        self.metering || self.keep.is_some()
    }

    /// Starts the task; the call reports through the returned [`Reporter`].
    pub fn start(self, ctx: &worker::Context) -> Reporter {
        let progress = Rc::new(RefCell::new(Meter::default()));
        let (outcome, reported) = oneshot::channel();
        let keeps_answer = self.keep.is_some();
        if self.needed() {
            let watched = Rc::clone(&progress);
            ctx.wait_until(async move { self.run(watched, reported).await });
        }
        Reporter {
            progress,
            outcome: Some(outcome),
            keeps_answer,
        }
    }

    async fn run(self, progress: Rc<RefCell<Meter>>, mut reported: oneshot::Receiver<Report>) {
        let heartbeat = Duration::from_millis((self.lease_ms / 3).max(50));
        let mut last_seen = Meter::default();
        let mut last_change_ms = worker::Date::now().as_millis();
        loop {
            match select(&mut reported, Box::pin(Delay::from(heartbeat))).await {
                Either::Left((report, _)) => {
                    let report = report.unwrap_or_else(|_| Report {
                        meter: progress.borrow().clone(),
                        answer: None,
                    });
                    self.finish(report).await;
                    return;
                }
                Either::Right(_) => {
                    let meter = progress.borrow().clone();
                    let now_ms = worker::Date::now().as_millis();
                    if meter != last_seen {
                        last_seen = meter.clone();
                        last_change_ms = now_ms;
                    } else if now_ms.saturating_sub(last_change_ms) >= self.abandon_after_ms {
                        // Abandoned: stop renewing; the lease settles it at the last checkpoint.
                        return;
                    }
                    if self.metering {
                        self.send(true, meter.billed(self.estimated_input_tokens))
                            .await;
                    }
                }
            }
        }
    }

    async fn finish(&self, report: Report) {
        if self.metering {
            self.send(false, bill(&report.meter, self.estimated_input_tokens))
                .await;
        }
        if let (Some(keep), Some(answer)) = (&self.keep, report.answer) {
            let json = match answer {
                KeptAnswer::Canonical(response) => {
                    WireFormat::OpenAiResponses.encode_response(&response, &keep.context)
                }
                KeptAnswer::Client(json) => json,
            };
            let stored = responses_state::store_turn(
                &self.env,
                &self.key_id,
                &keep.conversation,
                json,
                keep.ttl_ms,
            )
            .await;
            if let Err(e) = stored {
                worker::console_error!("could not store response {}: {e}", self.request_id);
            }
        }
    }

    /// A checkpoint (`progress`) or the final settlement.
    async fn send(&self, progress: bool, billed: Billed) {
        let body = SettleBody {
            id: self.request_id.clone(),
            input_tokens: billed.input_tokens,
            output_tokens: billed.output_tokens,
        };
        let result = match MeterClient::for_key(&self.env, &self.key_id) {
            Ok(meter) if progress => meter.checkpoint(&body).await,
            Ok(meter) => meter.settle(&body).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            worker::console_error!("settlement of {} failed: {e}", self.request_id);
        }
    }
}

/// A call that produced nothing is free; anything else pays input plus output.
fn bill(meter: &Meter, estimated_input_tokens: u64) -> Billed {
    if meter.finished || meter.produced_output {
        meter.billed(estimated_input_tokens)
    } else {
        Billed::default()
    }
}
