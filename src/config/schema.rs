//! The config file's shape, as written by operators (`config/gateway.toml`, or the same shape
//! as JSON in `GATEWAY_CONFIG`). Unknown fields are errors, so a typo is reported, not ignored.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub gateway: RawGateway,
    #[serde(default)]
    pub providers: Vec<RawProvider>,
    #[serde(default)]
    pub models: Vec<RawModel>,
    #[serde(default)]
    pub plans: Vec<RawPlan>,
}

/// Gateway-wide settings; every field has a default.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    /// Largest accepted request body in bytes (default 10 MB).
    pub max_body_bytes: Option<u64>,
    /// How long stored Responses conversations are kept (default "30d").
    pub responses_ttl: Option<String>,
    /// How long an in-flight request stays admitted without its worker reporting; past it,
    /// the request is settled at its last reported usage (default "30s"; the worker reports
    /// every third of it).
    pub request_lease: Option<String>,
    /// A request whose answer made no progress for this long stops being reported, so its
    /// lease runs out: how an abandoned call (client gone, invocation cancelled) ends up
    /// settled (default "10m").
    pub abandon_after: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub id: String,
    pub format: String,
    pub base_url: String,
    /// Names of Worker secrets (or vars) holding upstream keys; several form a pool.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Chat providers: `max_completion_tokens` (default) or `max_tokens`.
    pub max_tokens_param: Option<String>,
    /// Time to wait for the upstream's response headers, in milliseconds (default 60000).
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub id: String,
    pub provider: String,
    pub upstream: String,
    pub display_name: Option<String>,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    /// Output limit sent when the client gives none and the upstream requires one.
    pub default_max_tokens: Option<u64>,
    /// Whether the model takes reasoning controls (effort, thinking budgets).
    pub reasoning: Option<bool>,
    /// US dollars per million input tokens.
    pub input_price: Option<f64>,
    /// US dollars per million output tokens.
    pub output_price: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlan {
    pub id: String,
    pub rpm: u64,
    pub tpm: u64,
    pub concurrency: u64,
    pub window: String,
    pub window_tokens: u64,
    pub models: Option<Vec<String>>,
}
