//! The config file's shape, as written by operators (`config/gateway.toml`, or the same shape
//! as JSON in `GATEWAY_CONFIG`). Unknown fields are errors, so a typo is reported, not ignored.

use serde::Deserialize;

use super::resilience::RawBreaker;

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
    #[serde(default)]
    pub aliases: Vec<RawAlias>,
    #[serde(default)]
    pub log: RawLog,
}

/// Another name for a configured model: the ids clients pick on their own (Claude Code's
/// background calls name a dated Haiku) served by a model the operator chose.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlias {
    /// The id clients send, or a glob of ids (`*` matches any run of characters).
    pub id: String,
    /// The configured model id that serves it.
    pub model: String,
}

/// The request log (D1); every field has a default.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// Whether calls are logged (default true; needs the LOG_DB and REQUEST_LOG bindings).
    pub enabled: Option<bool>,
    /// How long each call's row is kept (default "30d").
    pub retention: Option<String>,
    /// How long the per-day rollups are kept (default "400d").
    pub rollup_retention: Option<String>,
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
    /// A streamed answer whose upstream sends nothing (or whose client reads nothing) for
    /// this long is ended with the format's error event and settled (default "10m").
    pub abandon_after: Option<String>,
    /// How long a streamed answer may stay silent before the client gets the format's
    /// keep-alive (default "15s"); writing it is also how a client that went away is noticed.
    pub keep_alive: Option<String>,
    /// Most JSON values (objects, arrays, strings, numbers, ...) a request body may hold
    /// (default 250000): bounds the memory a body takes once parsed.
    pub max_json_values: Option<u64>,
    /// Deepest nesting of arrays and objects a request body may have (default 64).
    pub max_json_depth: Option<u64>,
    /// Upstream attempts per request, over every route and key (default 4).
    pub max_attempts: Option<u32>,
    /// No upstream attempt starts later than this after the request arrived (default "90s").
    pub attempt_window: Option<String>,
    /// Isolates admit calls from allowances their keys' meters grant them (default true).
    pub allowances: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub id: String,
    pub format: String,
    /// Not needed for a demo provider.
    #[serde(default)]
    pub base_url: String,
    /// The Worker answers itself, in `format`, without calling anyone (see `crate::demo`).
    pub demo: Option<bool>,
    /// Names of Worker secrets (or vars) holding upstream keys; several form a pool.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Chat providers: `max_completion_tokens` (default) or `max_tokens`.
    pub max_tokens_param: Option<String>,
    /// Time to wait for a streamed answer's response headers, in milliseconds (default 30000).
    pub timeout_ms: Option<u64>,
    /// Time from a stream's headers to its first event, in milliseconds (default 60000).
    pub first_event_timeout_ms: Option<u64>,
    /// The longest silence between a stream's events, in milliseconds (default: the
    /// gateway's `abandon_after`).
    pub idle_timeout_ms: Option<u64>,
    /// Time allowed for a whole non-streamed answer, in milliseconds (default 600000).
    pub answer_timeout_ms: Option<u64>,
    /// When the provider and its keys are skipped after failures.
    pub breaker: Option<RawBreaker>,
    /// Anthropic providers: the `anthropic-beta` values passed on from Anthropic clients
    /// (default: the betas that change no price and reach no stored object). Others are
    /// dropped with a warning.
    pub anthropic_betas: Option<Vec<String>>,
    /// Once a same-format Anthropic or Responses streamed answer has started, the runtime
    /// forwards the provider's bytes itself and the gateway only meters a copy (default false):
    /// about half the CPU, but the provider's own error events and any bytes after its terminal
    /// event reach the client as the provider wrote them, and a provider failing mid-answer
    /// cuts the client's stream without the gateway's error event.
    pub native_forwarding: Option<bool>,
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
    /// US dollars per million input tokens (shorthand for one `prices` row without cache or
    /// tool prices; not with `prices`).
    pub input_price: Option<f64>,
    /// US dollars per million output tokens (with `input_price`).
    pub output_price: Option<f64>,
    /// Whether the gateway places prompt cache breakpoints in requests it translates for
    /// this model, where the vendor caches only what is marked (Anthropic): the tools, the
    /// system prompt and the conversation so far (default true).
    pub auto_cache: Option<bool>,
    /// The model's prices, one row per date they changed (see [`RawPrice`]).
    pub prices: Option<Vec<RawPrice>>,
    /// Entries of one id with a weight share its traffic in proportion (the others are
    /// fallbacks, in order); without weights entries are tried in order.
    pub weight: Option<u32>,
    /// The server tools (`web_search`, `web_fetch`) the upstream runs, when they differ from
    /// its format's (Anthropic: both; Responses and Gemini: `web_search`; Chat: none), e.g.
    /// `[]` for an Anthropic route on Bedrock.
    pub server_tools: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlan {
    pub id: String,
    pub rpm: u64,
    /// Tokens per minute (plans in tokens).
    pub tpm: Option<u64>,
    pub concurrency: u64,
    /// A rolling duration (`"5h"`), or a calendar period: `"daily"`, `"weekly"`, `"monthly"`.
    pub window: String,
    /// The window's quota in tokens (plans in tokens).
    pub window_tokens: Option<u64>,
    /// What the window and the per-minute limit count: `"tokens"` (default) or `"usd"`.
    pub unit: Option<String>,
    /// The window's quota in US dollars (plans in `usd`).
    pub window_usd: Option<f64>,
    /// US dollars per minute (plans in `usd`; no per-minute limit when absent).
    pub usd_per_minute: Option<f64>,
    /// What every charge in dollars is multiplied by (resale margin; default 1).
    pub multiplier: Option<f64>,
    /// The time zone of calendar windows and of keys' daily and monthly spend limits: an IANA
    /// name the gateway knows or a fixed offset (`"UTC+05:30"`); default UTC.
    pub time_zone: Option<String>,
    pub models: Option<Vec<String>>,
    /// When what is left of the window or the minute cannot cover a call's whole output
    /// limit, the call runs with a lower limit if at least this much is left for the answer,
    /// and is refused otherwise (default 1024).
    pub min_output_tokens: Option<u64>,
    /// Upstream features that cost extra or keep data at the vendor, off unless listed:
    /// `service_tier`, `server_tools`, `mcp`, `store`, `files`.
    pub upstream_features: Option<Vec<String>>,
    /// A web search or fetch tool on a model whose upstream runs none: `"refuse"` (400, the
    /// default) or `"drop"` (left out, with a warning).
    pub server_tools_missing: Option<String>,
}

/// A model's prices from one date on: US dollars per million tokens, and per thousand calls for
/// server tools. An unset cache price is the input price.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrice {
    /// `YYYY-MM-DD` (UTC): the row applies from this day until the next row's (default: from
    /// the beginning).
    pub from: Option<String>,
    /// `YYYY-MM-DD`: when these prices were read from the vendor's list.
    pub taken: Option<String>,
    pub input: f64,
    /// Input read from the vendor's cache.
    pub cached_input: Option<f64>,
    /// Input written to the cache for five minutes (Anthropic's default; OpenAI's only kind).
    pub cache_write_5m: Option<f64>,
    /// Input written to the cache for an hour.
    pub cache_write_1h: Option<f64>,
    /// Output, reasoning included.
    pub output: f64,
    /// US dollars per thousand web searches.
    pub web_search: Option<f64>,
    /// US dollars per thousand web fetches.
    pub web_fetch: Option<f64>,
    /// Rates for a call whose prompt is above a threshold (priced whole at them).
    pub long_context: Option<RawLongContext>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLongContext {
    /// A prompt (cache included) of more than this many tokens.
    pub above_input_tokens: u64,
    pub input: f64,
    pub cached_input: Option<f64>,
    pub cache_write_5m: Option<f64>,
    pub cache_write_1h: Option<f64>,
    pub output: f64,
}
