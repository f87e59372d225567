//! Registrations and settlements go to a key's object in batches: one request carries every
//! message this isolate queued for the key while its previous batch was on its way (a group
//! commit), so a key under concurrent load costs its object a request per round trip instead
//! of two per call. A message to a key with no batch on its way goes out at once, alone, unless
//! its sender lets it linger: a settlement that nothing waits on (see `settlement`) may wait a
//! few milliseconds for the next message that must go now (the next call's registration), and
//! rides with it, so a key's calls one after another cost the object one request each rather
//! than two.
//!
//! A request's code never awaits another request's future (workerd ties every promise to the
//! request that made it, and would cancel, or refuse, work resumed from another's): the caller
//! whose message starts a batch sends it and files every answer in this isolate's state; the
//! others look for theirs on their own timer.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use worker::{Delay, Env};

use super::meter_client::{MeterClient, RegisterBody, SettleBody};

/// How often a message carried by another caller's batch looks for its answer: first after
/// this long, then twice as long each time up to 8 times as long (an object far away answers
/// in a round trip, and each look is a timer and a wake-up of this request).
const POLL_MS: u64 = 5;
const POLL_DOUBLINGS: u32 = 3;
/// Messages one batch carries at most: a bound on the object's time per request (a few ms),
/// and on a key's messages per round trip from one isolate (a far object answers one batch
/// per round trip: at 64, a busy isolate 100 ms away could not register and settle more than
/// 320 calls a second).
const MAX_BATCH: usize = 256;
/// Answers nobody collected (their caller is gone) are dropped after this long.
const ANSWER_KEEP_MS: u64 = 60_000;
/// A caller that has no answer after this long gives up (its caller's retries, or the call's
/// lease, take over), and a batch on its way this long is taken as lost (its sender's request
/// ended before the answer came).
const GIVE_UP_MS: u64 = 15_000;
/// Batches one caller sends in a row while messages keep arriving (then the next waiting
/// caller takes over: nobody's own work waits on an endless stream of others').
const MAX_ROUNDS: u32 = 4;
/// Keys whose outbox is kept (a bound on memory).
const MAX_KEYS: usize = 10_000;

/// One message to a key's object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message {
    /// A call admitted from an allowance (answer: `{"ok": snapshot}` or `{"refused": why}`).
    Register(RegisterBody),
    /// A call's final charge (answer: `{}`).
    Settle(SettleBody),
}

/// A message waiting for a batch.
struct Queued {
    id: u64,
    message: Message,
    /// When it must be sent, whether or not another message comes to carry it.
    due_ms: u64,
}

#[derive(Default)]
struct Outbox {
    queued: Vec<Queued>,
    /// When the batch of this key now on its way was sent.
    sending_since: Option<u64>,
    /// Answers filed for their callers, with when they were filed.
    answers: HashMap<u64, (Result<Box<RawValue>, String>, u64)>,
}

thread_local! {
    static OUTBOXES: RefCell<HashMap<String, Outbox>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
}

fn with_outbox<T>(key_id: &str, f: impl FnOnce(&mut Outbox) -> T) -> T {
    OUTBOXES.with(|outboxes| {
        let mut outboxes = outboxes.borrow_mut();
        if outboxes.len() >= MAX_KEYS && !outboxes.contains_key(key_id) {
            outboxes.retain(|_, o| {
                o.sending_since.is_some() || !o.queued.is_empty() || !o.answers.is_empty()
            });
        }
        // Looked up before inserting: the key is only copied for a new outbox.
        if !outboxes.contains_key(key_id) {
            outboxes.insert(key_id.to_owned(), Outbox::default());
        }
        match outboxes.get_mut(key_id) {
            Some(outbox) => f(outbox),
            None => f(&mut Outbox::default()),
        }
    })
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Sends `message` to the key's object (in a batch with whatever else is queued for it) and
/// returns the object's answer to it. With `linger_ms` above zero the message waits that long
/// for a message that must go at once, unless a batch leaves before.
pub async fn send(
    env: &Env,
    key_id: &str,
    message: Message,
    linger_ms: u64,
) -> worker::Result<Box<RawValue>> {
    let id = NEXT_ID.with(|next| {
        let id = next.get();
        next.set(id.wrapping_add(1));
        id
    });
    let enqueued_ms = now_ms();
    let due_ms = enqueued_ms.saturating_add(linger_ms);
    with_outbox(key_id, |outbox| {
        outbox.queued.push(Queued {
            id,
            message,
            due_ms,
        })
    });
    let mut own: Option<Result<Box<RawValue>, String>> = None;
    let mut rounds = 0;
    let mut polls = 0;
    loop {
        let now = now_ms();
        if own.is_none() {
            own = with_outbox(key_id, |outbox| outbox.answers.remove(&id)).map(|(a, _)| a);
        }
        if let Some(answer) = own.take_if(|_| {
            // Answered: this caller still carries what queued up meanwhile, for a few rounds.
            rounds >= MAX_ROUNDS || with_outbox(key_id, |outbox| outbox.queued.is_empty())
        }) {
            return answer.map_err(worker::Error::RustError);
        }
        if own.is_none() && now.saturating_sub(enqueued_ms) >= GIVE_UP_MS {
            with_outbox(key_id, |outbox| {
                outbox.queued.retain(|queued| queued.id != id)
            });
            return Err(worker::Error::RustError(
                "no answer from the meter in time".into(),
            ));
        }
        let batch = with_outbox(key_id, |outbox| {
            let busy = outbox
                .sending_since
                .is_some_and(|since| now.saturating_sub(since) < GIVE_UP_MS);
            // Lingering messages go with the first one due (their own time included).
            if busy || !outbox.queued.iter().any(|queued| queued.due_ms <= now) {
                return None;
            }
            outbox.sending_since = Some(now);
            let take = outbox.queued.len().min(MAX_BATCH);
            Some(outbox.queued.drain(..take).collect::<Vec<_>>())
        });
        match batch {
            Some(batch) => {
                rounds += 1;
                let answers = send_batch(env, key_id, &batch).await;
                let filed_ms = now_ms();
                with_outbox(key_id, |outbox| {
                    outbox.sending_since = None;
                    outbox
                        .answers
                        .retain(|_, (_, at)| filed_ms.saturating_sub(*at) < ANSWER_KEEP_MS);
                    for (queued, answer) in batch.iter().zip(answers) {
                        outbox.answers.insert(queued.id, (answer, filed_ms));
                    }
                });
            }
            None if own.is_some() => {
                // Another caller is sending: what is queued goes with its next batch.
                if let Some(answer) = own.take() {
                    return answer.map_err(worker::Error::RustError);
                }
            }
            None => {
                // Still lingering: wake when it is due (a batch that carries it meanwhile
                // leaves its answer here). Otherwise another caller's batch is on its way.
                let wait_ms = match due_ms.saturating_sub(now) {
                    0 => {
                        polls += 1;
                        POLL_MS << (polls - 1).min(POLL_DOUBLINGS)
                    }
                    left => left,
                };
                Delay::from(Duration::from_millis(wait_ms)).await
            }
        }
    }
}

/// One request for `batch`; an answer per message, in order (the request's failure is every
/// message's).
async fn send_batch(
    env: &Env,
    key_id: &str,
    batch: &[Queued],
) -> Vec<Result<Box<RawValue>, String>> {
    let messages: Vec<&Message> = batch.iter().map(|queued| &queued.message).collect();
    let answered = match MeterClient::for_key(env, key_id) {
        Ok(meter) => meter.batch(&messages).await,
        Err(e) => Err(e),
    };
    match answered {
        Ok(answers) if answers.len() == batch.len() => answers
            .into_iter()
            .map(|answer| match failure(&answer) {
                Some(error) => Err(error),
                None => Ok(answer),
            })
            .collect(),
        Ok(answers) => {
            let error = format!(
                "the meter answered {} of {} messages",
                answers.len(),
                batch.len()
            );
            batch.iter().map(|_| Err(error.clone())).collect()
        }
        Err(e) => {
            let error = e.to_string();
            batch.iter().map(|_| Err(error.clone())).collect()
        }
    }
}

/// The object's `{"error": why}` for a message it could not decide.
fn failure(answer: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Failed {
        #[serde(default)]
        error: Option<String>,
    }
    serde_json::from_str::<Failed>(answer.get())
        .ok()
        .and_then(|failed| failed.error)
}
