//! The Worker's side of the per-key Durable Object: typed calls over its fetch interface.
//!
//! | call | path | body → answer |
//! |---|---|---|
//! | admit | `POST /admit` | [`AdmitBody`] → [`Decision`] |
//! | settle | `POST /settle` | [`SettleBody`] (the final charge) → `{}` |
//! | register | `POST /register` | [`RegisterBody`] (a call admitted from an allowance) → [`Registered`] |
//! | checkpoint | `POST /checkpoint` | [`CheckpointBody`] (progress, renewing the lease) → `{}` |
//! | batch | `POST /batch` | `[{"register": RegisterBody} \| {"settle": SettleBody}, ...]` → each one's answer, or `{"error": why}` (see `meter_batch`) |
//! | identity | `POST /identity` | [`IdentityBody`] → [`Identity`] |
//! | credits | `POST /credits` | [`CreditsBody`] (balance top-up, spend limits) → `Credits` |
//! | usage | `GET /usage` | → [`UsageBody`] |
//! | history | `GET /history` | → [`History`] |

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{Env, Method, Result};

use super::object_call::Namespace;

use crate::keys::KeyStatus;
use crate::metering::allowance::{Isolate, TopUp, TopUpAsk};
use crate::metering::credits::Credits;
use crate::metering::{AdmitRequest, Decision, Progress, Refusal, Snapshot};

pub const DO_BINDING: &str = "KEY_METER";

#[derive(Debug, Serialize, Deserialize)]
pub struct AdmitBody {
    pub request: AdmitRequest,
    /// The plan KV knows, used only if the object has never been told the key's plan.
    pub plan_hint: String,
    /// The asking isolate and its allowance (see `metering::allowance`).
    #[serde(default)]
    pub isolate: Option<Isolate>,
}

/// A call an isolate admitted from its allowance.
#[derive(Debug, Serialize, Deserialize)]
pub struct RegisterBody {
    pub allowance: String,
    pub request: AdmitRequest,
    pub admitted_ms: u64,
    /// The isolate asks for the allowance to be topped up before it runs out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_up: Option<TopUpAsk>,
}

/// What the object answers a registration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Registered {
    Ok(Box<Snapshot>),
    /// Registered, and the allowance topped up as asked.
    Renewed {
        snapshot: Box<Snapshot>,
        top_up: TopUp,
    },
    Refused(Refusal),
}

/// A call's final charge. Settling twice is harmless: the second changes nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettleBody {
    pub id: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The call's cost in picodollars at its serving route's prices, the plan's multiplier
    /// applied (`None`: unknown; the meter charges the worst case it reserved at).
    #[serde(default)]
    pub cost_pico: Option<u64>,
}

/// An admin change to a key's balance or spend limits (absent fields stay as they are).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CreditsBody {
    /// The key's plan, as its record says (an object that has not seen a call yet knows none:
    /// calendar periods are those of the plan's zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Picodollars to add to the balance (negative: to take off); creates the balance.
    #[serde(default)]
    pub add_balance_pico: Option<i64>,
    /// The key no longer pays from a balance.
    #[serde(default)]
    pub remove_balance: bool,
    /// `Some(None)` (sent as `null`) removes the limit; absent, it stays.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub daily_limit_pico: Option<Option<u64>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub monthly_limit_pico: Option<Option<u64>>,
}

/// A field that is present, possibly `null` (absent fields take the default, `None`).
pub fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(deserializer).map(Some)
}

/// A call's progress so far.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointBody {
    pub id: String,
    pub progress: Progress,
}

/// Tokens to add to a call in flight for an upstream attempt abandoned after the upstream took
/// it on.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExtendBody {
    pub id: String,
    pub tokens: u64,
}

/// An admin change; absent fields stay as they are.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct IdentityBody {
    pub status: Option<KeyStatus>,
    pub plan: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Identity {
    pub status: KeyStatus,
    pub plan: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UsageBody {
    pub status: KeyStatus,
    pub snapshot: Snapshot,
}

/// Settled tokens per model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModelUsage {
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub requests: u64,
    #[serde(default)]
    pub cost_pico: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowUsage {
    pub start_ms: u64,
    pub end_ms: u64,
    pub used_tokens: u64,
    #[serde(default)]
    pub used_cost_pico: u64,
    pub models: Vec<ModelUsage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DayUsage {
    pub day: String,
    pub models: Vec<ModelUsage>,
}

/// Usage history, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct History {
    pub windows: Vec<WindowUsage>,
    pub days: Vec<DayUsage>,
}

/// A handle on one key's object.
pub struct MeterClient {
    namespace: Namespace,
    key_id: String,
    /// A delay before every call (`TOC_DO_DELAY_MS`): benchmarks and tests simulate a meter
    /// on another continent with it.
    delay_ms: u64,
}

impl MeterClient {
    pub fn for_key(env: &Env, key_id: &str) -> Result<MeterClient> {
        Ok(MeterClient {
            namespace: Namespace::of(env, DO_BINDING)?,
            key_id: key_id.to_owned(),
            delay_ms: super::state::meter_delay_ms(env),
        })
    }

    pub async fn admit(&self, body: &AdmitBody) -> Result<Decision> {
        self.call(Method::Post, "admit", Some(body)).await
    }

    /// Reports the usage so far of a request in flight, renewing its lease.
    pub async fn checkpoint(&self, body: &CheckpointBody) -> Result<()> {
        let _: serde_json::Value = self.call(Method::Post, "checkpoint", Some(body)).await?;
        Ok(())
    }

    /// Registrations and settlements in one request: an answer per message, in order.
    /// Each answer stays raw JSON, parsed by its sender into what it expects.
    pub async fn batch<M: Serialize>(
        &self,
        messages: &[M],
    ) -> Result<Vec<Box<serde_json::value::RawValue>>> {
        self.call(Method::Post, "batch", Some(&messages)).await
    }

    /// Adds an abandoned attempt's tokens to a call in flight; `Ok(false)` when the window or
    /// the minute has no room for them (the call must not try another upstream).
    pub async fn extend(&self, body: &ExtendBody) -> Result<bool> {
        let answer: serde_json::Value = self.call(Method::Post, "extend", Some(body)).await?;
        Ok(answer.get("extended").and_then(serde_json::Value::as_bool) == Some(true))
    }

    /// Changes the key's balance or spend limits; answers its credits.
    pub async fn set_credits(&self, body: &CreditsBody) -> Result<Credits> {
        self.call(Method::Post, "credits", Some(body)).await
    }

    pub async fn set_identity(&self, body: &IdentityBody) -> Result<Identity> {
        self.call(Method::Post, "identity", Some(body)).await
    }

    pub async fn usage(&self, plan_hint: &str) -> Result<UsageBody> {
        self.call(
            Method::Post,
            "usage",
            Some(&IdentityBody {
                status: None,
                plan: Some(plan_hint.to_owned()),
            }),
        )
        .await
    }

    pub async fn history(&self) -> Result<History> {
        self.call::<(), _>(Method::Get, "history", None).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let json = body
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        if self.delay_ms > 0 {
            worker::Delay::from(std::time::Duration::from_millis(self.delay_ms)).await;
        }
        let answer = self
            .namespace
            .call(
                &self.key_id,
                method.as_ref(),
                &format!("https://meter/{path}"),
                json.as_deref(),
            )
            .await?;
        if answer.status != 200 {
            return Err(worker::Error::RustError(format!(
                "meter {path} answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            )));
        }
        serde_json::from_slice(&answer.body).map_err(|e| worker::Error::RustError(e.to_string()))
    }
}
