//! After admission, one `waitUntil` task per call keeps the key's object informed and settles
//! the call.
//!
//! While the call runs, the task sends checkpoints (each renews the call's lease):
//! - as soon as the upstream reports the input, so a lapse charges the real input rather than
//!   the estimate;
//! - whenever the output that arrived reaches three quarters of the output credit, raising the
//!   credit to four times the output (the lapse charges the credit, so it stays ahead of what
//!   the call has received; a few checkpoints per call, whatever its length);
//! - every third of `gateway.request_lease` otherwise, so a live call's lease never runs out.
//!
//! When the call reports how it ended, the task settles it with the upstream's figures (or the
//! conservative estimate, see `translate::meter`), retrying until the object confirms:
//! settling is idempotent. Registrations and settlements of one key travel in batches when
//! several are due at once (`meter_batch`). For Responses clients it then stores the turn.
//!
//! If the worker dies first (evicted, crashed, `waitUntil` cut short), no report comes and the
//! lease runs out: the object charges the reported input (or the estimate) plus the credit.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::{mpsc, oneshot};
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use serde_json::Value;
use worker::{Delay, Env};

use super::allowance;
use super::inference::admission::AllowanceUse;
use super::meter_batch::{self, Message};
use super::meter_client::{CheckpointBody, MeterClient, RegisterBody, Registered, SettleBody};
use super::request_log::{self, SharedFacts};
use super::responses_state::{self, Conversation};
use crate::canonical::ChatResponse;
use crate::format::WireFormat;
use crate::formats::ResponseContext;
use crate::metering::cost::charge;
use crate::metering::{INITIAL_OUTPUT_CREDIT_TOKENS, Progress};
use crate::pricing::{PriceRow, Tokens};
use crate::translate::{Billed, Meter};

/// Waits between settlement attempts; after the last, the lease settles the call.
const SETTLE_RETRY_MS: [u64; 5] = [0, 250, 1_000, 3_000, 8_000];
/// How long the first attempt of a settlement nobody waits on may wait for a batch to ride in
/// (`meter_batch`): calls of a busy key then cost its object one request each (the next
/// call's registration carries the previous call's settlement) instead of two. Until it
/// lands the object holds the call's reservation, which only overstates what is in use.
const SETTLE_LINGER_MS: u64 = 25;

/// The answer to keep as a stored Responses turn.
pub enum KeptAnswer {
    /// A streamed answer, folded; encoded in the client's format when stored.
    Canonical(ChatResponse),
    /// A non-streamed answer as the client received it.
    Client(Value),
}

/// How a call ended.
pub struct Report {
    pub meter: Meter,
    /// The upstream never took the call on (it refused it, or was never reached): nothing is
    /// charged.
    pub refused: bool,
    pub answer: Option<KeptAnswer>,
}

impl Report {
    /// A call no upstream took on: its reservation is given back.
    pub fn refused() -> Report {
        Report {
            meter: Meter::default(),
            refused: true,
            answer: None,
        }
    }

    /// A call an upstream took on but that produced nothing readable (a non-streamed answer
    /// that timed out): charged its input.
    pub fn accepted() -> Report {
        Report {
            meter: Meter::default(),
            refused: false,
            answer: None,
        }
    }
}

/// A conversation turn to store once the answer is complete, in the client's format.
pub struct Keep {
    pub format: WireFormat,
    pub conversation: Conversation,
    pub context: ResponseContext,
    pub ttl_ms: u64,
}

/// How a call's cost is computed when it settles: at the prices of the route that served it.
pub struct Pricing {
    /// Each route that may serve the call: its provider id and its price row in force at
    /// admission (`None`: no price).
    pub routes: Vec<(String, Option<PriceRow>)>,
    /// The plan's multiplier, in parts per million.
    pub multiplier_ppm: u64,
}

impl Pricing {
    /// What `tokens` cost at the serving route's prices, the multiplier applied. Served by an
    /// unknown route (the request log, which follows the route, is off), the routes' prices
    /// must agree; otherwise `None`, and the meter charges the worst case it reserved at.
    fn cost(&self, served_by: Option<&str>, tokens: &Tokens) -> Option<u64> {
        let row = match served_by {
            Some(provider) => self
                .routes
                .iter()
                .find(|(id, _)| id == provider)
                .and_then(|(_, row)| row.as_ref()),
            None => {
                let first = self.routes.first().and_then(|(_, row)| row.as_ref())?;
                self.routes
                    .iter()
                    .all(|(_, row)| row.as_ref() == Some(first))
                    .then_some(first)
            }
        }?;
        Some(charge(row, tokens, self.multiplier_ppm))
    }
}

/// Everything the settlement task needs.
pub struct Settlement {
    pub env: Env,
    pub key_id: String,
    pub request_id: String,
    pub metering: bool,
    /// The input estimate admission reserved (an upper bound).
    pub input_estimate_tokens: u64,
    /// The output cap the call was granted.
    pub output_cap_tokens: u64,
    pub lease_ms: u64,
    pub keep: Option<Keep>,
    /// The allowance the call runs under, if any.
    pub allowance: Option<AllowanceUse>,
    /// Stops the call (its registration was refused: the key was revoked or disabled
    /// meanwhile, or its meter cannot be reached).
    pub stop: web_sys::AbortController,
    /// The call's facts for the request log (`None`: not logged).
    pub log: Option<SharedFacts>,
    /// How its cost is computed.
    pub pricing: Pricing,
}

/// A call admitted from an allowance, being registered with the key's object: the task sends
/// it first thing (it starts as soon as the call has gone out upstream: a microtask later).
type Registration = Pin<Box<dyn Future<Output = worker::Result<Registered>>>>;

/// What the call has reported so far, shared with the task.
struct Shared {
    meter: Meter,
    /// A checkpoint is due once the output reaches this (three quarters of the credit sent).
    checkpoint_at_output_tokens: u64,
    /// The upstream's input figure has been checkpointed.
    input_sent: bool,
}

/// The call's side of a settlement: where it reports progress and its outcome.
pub struct Reporter {
    shared: Rc<RefCell<Shared>>,
    nudge: Option<mpsc::UnboundedSender<()>>,
    outcome: Option<oneshot::Sender<Report>>,
    /// The answer is to be kept (a stored Responses turn).
    keeps_answer: bool,
    /// The input estimate admission reserved.
    input_estimate_tokens: u64,
    /// The call's facts for the request log.
    log: Option<SharedFacts>,
}

impl Reporter {
    /// Records the usage so far (cheap: a small copy per upstream chunk), and wakes the task
    /// when a checkpoint is due.
    pub fn progress(&self, meter: &Meter) {
        request_log::content_seen(self.log.as_ref(), meter);
        let Ok(mut shared) = self.shared.try_borrow_mut() else {
            return;
        };
        shared.meter.clone_from(meter);
        // The input figure is worth a checkpoint while the answer runs (a lapse then charges it
        // rather than the estimate); at the end the settlement follows at once.
        let input_due = !shared.input_sent && meter.usage.input_tokens.is_some() && !meter.finished;
        let credit_due = meter.output_tokens() >= shared.checkpoint_at_output_tokens;
        if (input_due || credit_due)
            && let Some(nudge) = &self.nudge
        {
            let _ = nudge.unbounded_send(());
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

    /// What an attempt whose upstream reported no input is assumed to have used.
    pub fn input_estimate_tokens(&self) -> u64 {
        self.input_estimate_tokens
    }
}

impl Drop for Reporter {
    /// A call dropped without a report (a panic, a path that forgot) is settled as it stands:
    /// a cut answer, charged what arrived.
    fn drop(&mut self) {
        if let Some(outcome) = self.outcome.take() {
            let meter = self
                .shared
                .try_borrow()
                .map(|shared| shared.meter.clone())
                .unwrap_or_default();
            let _ = outcome.send(Report {
                meter,
                refused: false,
                answer: None,
            });
        }
    }
}

impl Settlement {
    /// Whether anything needs doing after the call.
    fn needed(&self) -> bool {
        self.metering || self.keep.is_some() || self.log.is_some()
    }

    /// The credit admission granted, before any checkpoint.
    fn initial_credit(&self) -> u64 {
        INITIAL_OUTPUT_CREDIT_TOKENS.min(self.output_cap_tokens)
    }

    /// The registration of a call admitted from an allowance, for the task to send and await.
    fn registration(&self) -> Option<Registration> {
        let allowance = self.allowance.as_ref()?;
        let request = allowance.register.clone()?;
        let body = RegisterBody {
            allowance: allowance.id.clone(),
            request,
            admitted_ms: allowance.admitted_ms,
            top_up: allowance.top_up.clone(),
        };
        let env = self.env.clone();
        let key_id = self.key_id.clone();
        Some(Box::pin(async move {
            let answer = meter_batch::send(&env, &key_id, Message::Register(body), 0).await?;
            serde_json::from_str(answer.get()).map_err(|e| worker::Error::RustError(e.to_string()))
        }))
    }

    /// Awaits the registration; a call whose registration is refused (or cannot be made) is
    /// stopped: it is not metered, so it must not run.
    async fn registered(&self, registration: Registration) -> bool {
        let Some(allowance) = &self.allowance else {
            return true;
        };
        let tokens = allowance.units;
        let outcome = registration.await;
        let (snapshot, top_up) = match &outcome {
            Ok(Registered::Ok(snapshot)) => (Some(&**snapshot), None),
            Ok(Registered::Renewed { snapshot, top_up }) => (Some(&**snapshot), Some(top_up)),
            _ => (None, None),
        };
        let answer = allowance::Registration {
            snapshot,
            asked_top_up: allowance.top_up.is_some(),
            top_up,
        };
        let now_ms = worker::Date::now().as_millis();
        allowance::registered(&self.key_id, &allowance.id, tokens, &answer, now_ms);
        match outcome {
            Ok(Registered::Ok(_) | Registered::Renewed { .. }) => true,
            Ok(Registered::Refused(refusal)) => {
                worker::console_warn!(
                    "{}: registration refused ({refusal:?}); the call is stopped",
                    self.request_id
                );
                self.stop.abort();
                false
            }
            Err(e) => {
                worker::console_error!(
                    "{}: registration failed ({e}); the call is stopped",
                    self.request_id
                );
                self.stop.abort();
                false
            }
        }
    }

    /// Starts the task; the call reports through the returned [`Reporter`].
    pub fn start(self, ctx: &worker::Context) -> Reporter {
        let shared = Rc::new(RefCell::new(Shared {
            meter: Meter::default(),
            checkpoint_at_output_tokens: if self.initial_credit() >= self.output_cap_tokens {
                u64::MAX
            } else {
                threshold(self.initial_credit())
            },
            input_sent: false,
        }));
        let (outcome, reported) = oneshot::channel();
        let (nudge, nudged) = mpsc::unbounded();
        let keeps_answer = self.keep.is_some();
        let metering = self.metering;
        let input_estimate_tokens = self.input_estimate_tokens;
        let log = self.log.clone();
        if self.needed() {
            let watched = Rc::clone(&shared);
            let registration = self.registration();
            ctx.wait_until(async move { self.run(watched, reported, nudged, registration).await });
        }
        Reporter {
            shared,
            nudge: metering.then_some(nudge),
            outcome: Some(outcome),
            keeps_answer,
            input_estimate_tokens,
            log,
        }
    }

    async fn run(
        self,
        shared: Rc<RefCell<Shared>>,
        mut reported: oneshot::Receiver<Report>,
        mut nudged: mpsc::UnboundedReceiver<()>,
        registration: Option<Registration>,
    ) {
        let heartbeat_ms = (self.lease_ms / 3).max(50);
        let mut credit = self.initial_credit();
        if let Some(registration) = registration
            && !self.registered(registration).await
        {
            // Never metered: nothing to checkpoint or settle; the call winds down.
            let _ = reported.await;
            self.end_allowance();
            return;
        }
        loop {
            let wake = select(
                nudged.next(),
                Box::pin(Delay::from(Duration::from_millis(heartbeat_ms))),
            );
            match select(&mut reported, wake).await {
                Either::Left((report, _)) => {
                    let report = report.unwrap_or_else(|_| Report::accepted());
                    let ended_ms = worker::Date::now().as_millis();
                    self.finish(report, ended_ms).await;
                    return;
                }
                Either::Right(_) => {
                    if self.metering {
                        credit = self.checkpoint(&shared, credit).await;
                    }
                }
            }
        }
    }

    /// Sends the progress so far, raising the credit if the output is near it; returns the
    /// credit sent.
    async fn checkpoint(&self, shared: &Rc<RefCell<Shared>>, credit: u64) -> u64 {
        let (progress, credit) = {
            let Ok(mut shared) = shared.try_borrow_mut() else {
                return credit;
            };
            let billed = shared.meter.billed(self.input_estimate_tokens);
            let output = billed.output_tokens;
            let credit = if output >= threshold(credit) {
                // Four times ahead (at least a whole initial credit more): a few checkpoints
                // per answer, however long, each a round trip to the key's object.
                output
                    .saturating_mul(4)
                    .max(output.saturating_add(INITIAL_OUTPUT_CREDIT_TOKENS))
                    .min(self.output_cap_tokens)
                    .max(output)
            } else {
                credit
            };
            // A credit at the call's output cap covers anything the upstream can still send (it
            // was sent that cap; only the gateway's upper-bound estimate can pass it): no more
            // credit checkpoints, or a long answer would make one per chunk.
            shared.checkpoint_at_output_tokens = if credit >= self.output_cap_tokens {
                u64::MAX
            } else {
                threshold(credit).max(output.saturating_add(1))
            };
            shared.input_sent |= shared.meter.usage.input_tokens.is_some();
            let progress = Progress {
                input_tokens: shared.meter.usage.input_tokens,
                output_tokens: output,
                credit_output_tokens: credit,
            };
            (progress, credit)
        };
        let body = CheckpointBody {
            id: self.request_id.clone(),
            progress,
        };
        let sent = match MeterClient::for_key(&self.env, &self.key_id) {
            Ok(meter) => meter.checkpoint(&body).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            worker::console_warn!("{}: checkpoint failed: {e}", self.request_id);
        }
        credit
    }

    /// The call no longer holds its allowance's slot.
    fn end_allowance(&self) {
        if let Some(allowance) = &self.allowance {
            allowance::ended(&self.key_id, &allowance.id);
        }
    }

    async fn finish(&self, report: Report, ended_ms: u64) {
        self.end_allowance();
        let billed = if report.refused {
            Billed::default()
        } else {
            report.meter.billed(self.input_estimate_tokens)
        };
        if self.metering {
            let tokens = Tokens::charged(billed, &report.meter.usage);
            let served_by = request_log::served_provider(self.log.as_ref());
            let cost = if report.refused {
                Some(0)
            } else {
                self.pricing.cost(served_by.as_deref(), &tokens)
            };
            self.settle(billed, cost).await;
        }
        // The request log's one hook: the outcome is final and charged.
        if let Some(facts) = &self.log {
            let ended = request_log::Ended {
                key_id: &self.key_id,
                request_id: &self.request_id,
                meter: &report.meter,
                refused: report.refused,
                billed,
                ended_ms,
            };
            request_log::record(&self.env, facts, ended).await;
        }
        if let (Some(keep), Some(answer)) = (&self.keep, report.answer) {
            let json = match answer {
                KeptAnswer::Canonical(response) => {
                    keep.format.encode_response(&response, &keep.context)
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
                worker::console_error!("{}: could not store the response: {e}", self.request_id);
            }
        }
    }

    /// The final charge, retried until the object confirms it.
    async fn settle(&self, billed: Billed, cost_pico: Option<u64>) {
        let body = SettleBody {
            id: self.request_id.clone(),
            input_tokens: billed.input_tokens,
            output_tokens: billed.output_tokens,
            cost_pico,
        };
        // A call admitted from an allowance is far from the key's limits, so nothing waits on
        // its settlement; a stored Responses turn waits on it (it is stored after), and so may
        // a per-call admission near a limit.
        let linger_ms = if self.allowance.is_some() && self.keep.is_none() {
            SETTLE_LINGER_MS
        } else {
            0
        };
        for (attempt, wait_ms) in SETTLE_RETRY_MS.into_iter().enumerate() {
            if wait_ms > 0 {
                Delay::from(Duration::from_millis(wait_ms)).await;
            }
            let message = Message::Settle(body.clone());
            let linger_ms = if attempt == 0 { linger_ms } else { 0 };
            let result = meter_batch::send(&self.env, &self.key_id, message, linger_ms).await;
            match result {
                Ok(_) => return,
                Err(e) => worker::console_warn!("{}: settlement failed: {e}", self.request_id),
            }
        }
        worker::console_error!(
            "{}: settlement of {} input + {} output tokens not confirmed; the lease will charge the call",
            self.request_id,
            billed.input_tokens,
            billed.output_tokens
        );
    }
}

/// Where a credit is raised: at three quarters of it.
fn threshold(credit: u64) -> u64 {
    credit.saturating_mul(3) / 4
}
