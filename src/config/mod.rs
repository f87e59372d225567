//! Gateway configuration: providers, models and plans.
//!
//! The bundled `config/gateway.toml` is used unless the `GATEWAY_CONFIG` variable holds a JSON
//! document of the same shape, which then replaces it whole. Either is parsed and validated once
//! per isolate; every problem is reported with the entry and field it concerns, e.g.
//! `models[3] ("gpt-x").provider: no provider has id "opneai"`.
//!
//! - [`schema`]: the file's shape as operators write it.
//! - [`duration`], [`glob`]: the small languages inside it.
//! - [`resilience`]: providers' timeouts and breakers, and the retry allowance.
//! - `prices`: models' prices, as exact [`crate::pricing::Prices`].

pub mod duration;
pub mod glob;
mod prices;
pub mod resilience;
pub mod schema;

use std::fmt;

use crate::canonical::ServerToolKind;
use crate::format::WireFormat;
use crate::formats::{MaxTokensParam, MissingServerTools, ServerTools, UpstreamFeatures};
use crate::metering::calendar::{Period, Zone};
use crate::metering::cost::{PPM, Unit};
use crate::pricing::{PER_MTOK, parse_rate};
use crate::resilience::CircuitPolicy;
use crate::resilience::budget::RetryPolicy;
use duration::parse_duration_ms;
use glob::glob_match;
pub use resilience::Timeouts;
use schema::{RawAlias, RawConfig, RawModel, RawPlan, RawProvider};

/// The configuration bundled with the Worker.
pub const BUNDLED_TOML: &str = include_str!("../../config/gateway.toml");

const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;
const DEFAULT_RESPONSES_TTL_MS: u64 = 30 * 86_400_000;
const DEFAULT_REQUEST_LEASE_MS: u64 = 30_000;
const DEFAULT_ABANDON_AFTER_MS: u64 = 5 * 60_000;
const DEFAULT_KEEP_ALIVE_MS: u64 = 15_000;
const DEFAULT_MAX_TOKENS: u64 = 8_192;
const DEFAULT_MAX_JSON_VALUES: u64 = 250_000;
const DEFAULT_MAX_JSON_DEPTH: u64 = 64;
const DEFAULT_MIN_OUTPUT_TOKENS: u64 = 1_024;

/// `anthropic-beta` values passed on to Anthropic providers unless the provider lists its own:
/// betas that change no price and reach no object stored at the vendor. Left out on purpose:
/// `oauth-*` (subscription auth), `files-api-*`, `code-execution-*`, `mcp-*`, `web-fetch-*`,
/// `web-search-*`, `advanced-tool-use-*`, `advisor-tool-*` (server tools, containers and files)
/// and `fast-mode-*` (a price multiplier).
pub const DEFAULT_ANTHROPIC_BETAS: [&str; 17] = [
    "claude-code-20250219",
    "interleaved-thinking-2025-05-14",
    "context-management-2025-06-27",
    "effort-2025-11-24",
    "extended-cache-ttl-2025-04-11",
    "fine-grained-tool-streaming-2025-05-14",
    "token-efficient-tools-2025-02-19",
    "token-efficient-tools-2026-03-28",
    "structured-outputs-2025-11-13",
    "structured-outputs-2025-12-15",
    "mid-conversation-system-2026-04-07",
    "thinking-token-count-2026-05-13",
    "redact-thinking-2026-02-12",
    "output-128k-2025-02-19",
    "context-1m-2025-08-07",
    "prompt-caching-scope-2026-01-05",
    "prompt-caching-2024-07-31",
];

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub gateway: GatewaySettings,
    pub providers: Vec<Provider>,
    pub models: Vec<Model>,
    pub plans: Vec<Plan>,
    /// Other names of configured models, in config order (the first that matches wins).
    pub aliases: Vec<Alias>,
    pub log: LogSettings,
}

/// The request log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub enabled: bool,
    /// How long a call's row is kept.
    pub retention_ms: u64,
    /// How long per-day rollups are kept.
    pub rollup_retention_ms: u64,
}

/// Another name (or a glob of names) for a configured model.
#[derive(Debug, Clone)]
pub struct Alias {
    /// An id or a glob (`*`).
    pub id: String,
    /// The configured model id that serves it.
    pub model: String,
}

impl Alias {
    /// Whether the alias is one id (a glob cannot be listed).
    pub fn is_exact(&self) -> bool {
        !self.id.contains('*')
    }
}

/// The suffix Claude Code adds to a model id to ask for a 1M context window (`[1m]`); some of
/// its paths send it on verbatim.
const LONG_CONTEXT_SUFFIX: &str = "[1m]";

#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub max_body_bytes: u64,
    pub max_json_values: u64,
    pub max_json_depth: u64,
    pub responses_ttl_ms: u64,
    pub request_lease_ms: u64,
    /// The default of providers' `idle_timeout_ms`.
    pub abandon_after_ms: u64,
    /// A streamed answer silent for this long gets the client format's keep-alive.
    pub keep_alive_ms: u64,
    /// How many upstream attempts a request may make, and until when.
    pub retry: RetryPolicy,
    /// Isolates admit calls from slices of capacity their keys' meters set aside (see
    /// `metering::allowance`), instead of asking the meter for each call.
    pub allowances: bool,
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub format: WireFormat,
    /// Without a trailing slash.
    pub base_url: String,
    pub keys: Vec<String>,
    pub max_tokens_param: MaxTokensParam,
    pub timeouts: Timeouts,
    /// When the provider, or one of its keys, is skipped after failures.
    pub breaker: CircuitPolicy,
    /// `anthropic-beta` values passed on from Anthropic clients.
    pub anthropic_betas: Vec<String>,
    /// A demo provider: the Worker answers itself in `format` (see `crate::demo`).
    pub demo: bool,
    /// Same-format streams from this provider are forwarded by the runtime once their answer
    /// started (see `edge::body_stream`): the operator trusts its framing.
    pub native_forwarding: bool,
}

impl Provider {
    /// The URL of an answer from this provider for `model`.
    pub fn endpoint(&self, model: &str, stream: bool) -> String {
        self.format
            .spec()
            .upstream_url(&self.base_url, model, stream)
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    pub id: String,
    /// Index into [`Config::providers`].
    pub provider: usize,
    pub upstream: String,
    pub display_name: String,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub default_max_tokens: u64,
    pub reasoning: bool,
    /// What the model costs (empty when the operator gave no prices).
    pub prices: crate::pricing::Prices,
    /// The entry's share of its id's traffic (see `resilience::route_order`).
    pub weight: Option<u32>,
    /// The gateway marks prompt cache breakpoints in requests it translates for this model.
    pub auto_cache: bool,
    /// The server tools its upstream runs, when the config says (else its format's).
    pub server_tools: Option<ServerTools>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub rpm: u64,
    /// The per-minute limit, in the plan's unit (tokens, or picodollars for a plan in USD).
    pub tpm: u64,
    pub concurrency: u64,
    /// A rolling window's length (for a calendar window, its nominal length: a day, a week,
    /// 31 days).
    pub window_ms: u64,
    /// The window as the operator wrote it (`"5h"`, `"monthly"`), for display.
    pub window: String,
    /// The window's quota, in the plan's unit.
    pub window_tokens: u64,
    /// What the window and the per-minute limit count.
    pub unit: Unit,
    /// Calendar windows: the period (rolling windows: `None`).
    pub calendar: Option<Period>,
    /// The zone of calendar windows and spend limits.
    pub zone: Zone,
    /// Charges in dollars are multiplied by this, in parts per million.
    pub multiplier_ppm: u64,
    /// Model ids or globs; `["*"]` when the operator gave none.
    pub models: Vec<String>,
    /// The smallest output limit a call is run with when the window or minute cannot cover
    /// the whole limit it asked for.
    pub min_output_tokens: u64,
    pub features: UpstreamFeatures,
}

impl Plan {
    pub fn allows(&self, model_id: &str) -> bool {
        self.models
            .iter()
            .any(|pattern| glob_match(pattern, model_id))
    }
}

/// One problem in a config, located by entry and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `providers[0] ("openai")`, `plans[2]`, or the parser's path.
    pub entry: String,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.entry, self.message)
        } else {
            write!(f, "{}.{}: {}", self.entry, self.field, self.message)
        }
    }
}

/// Every problem found in a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

impl Config {
    pub fn from_toml(text: &str) -> Result<Config, ConfigErrors> {
        let deserializer = toml::Deserializer::parse(text).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                entry: "config".into(),
                field: String::new(),
                message: format!("not valid TOML: {}", e.message()),
            }])
        })?;
        let raw: RawConfig =
            serde_path_to_error::deserialize(deserializer).map_err(|e| parse_error(&e))?;
        validate(raw)
    }

    pub fn from_json(text: &str) -> Result<Config, ConfigErrors> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let raw: RawConfig =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|e| parse_error(&e))?;
        validate(raw)
    }

    /// The bundled config, or `GATEWAY_CONFIG` when given.
    pub fn load(gateway_config_json: Option<&str>) -> Result<Config, ConfigErrors> {
        match gateway_config_json.map(str::trim).filter(|s| !s.is_empty()) {
            Some(json) => Config::from_json(json),
            None => Config::from_toml(BUNDLED_TOML),
        }
    }

    /// The model entries serving `model_id`, in failover order (several `[[models]]` entries
    /// with one id form a failover list).
    pub fn routes<'a, 'm>(&'a self, model_id: &'m str) -> impl Iterator<Item = Route<'a>> + 'm
    where
        'a: 'm,
    {
        self.models
            .iter()
            .filter(move |m| m.id == model_id)
            .filter_map(|model| {
                self.providers
                    .get(model.provider)
                    .map(|provider| Route { model, provider })
            })
    }

    /// The configured model id that serves `requested`: itself, itself without Claude Code's
    /// `[1m]` suffix, or the model of the first alias matching it.
    pub fn resolve_model<'a>(&'a self, requested: &'a str) -> Option<&'a str> {
        let bare = requested
            .strip_suffix(LONG_CONTEXT_SUFFIX)
            .unwrap_or(requested);
        [requested, bare]
            .into_iter()
            .find(|id| self.routes(id).next().is_some())
            .or_else(|| {
                self.aliases
                    .iter()
                    .find(|alias| glob_match(&alias.id, requested) || glob_match(&alias.id, bare))
                    .map(|alias| alias.model.as_str())
            })
    }

    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    /// Public model entries, one per id, in config order.
    pub fn public_models(&self) -> Vec<&Model> {
        let mut seen: Vec<&Model> = Vec::new();
        for model in &self.models {
            if !seen.iter().any(|m| m.id == model.id) {
                seen.push(model);
            }
        }
        seen
    }

    /// Names of every secret the providers refer to.
    pub fn key_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for name in self.providers.iter().flat_map(|p| p.keys.iter()) {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        names
    }
}

/// A model entry with its provider.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    pub model: &'a Model,
    pub provider: &'a Provider,
}

fn parse_error<E: fmt::Display>(error: &serde_path_to_error::Error<E>) -> ConfigErrors {
    let path = error.path().to_string();
    let (entry, field) = match path.rsplit_once('.') {
        Some((entry, field)) => (entry.to_owned(), field.to_owned()),
        None if path == "." => ("config".to_owned(), String::new()),
        None => (path, String::new()),
    };
    ConfigErrors(vec![ConfigError {
        entry,
        field,
        message: error.inner().to_string(),
    }])
}

/// Collects problems for one entry.
pub(crate) struct Checker {
    errors: Vec<ConfigError>,
}

impl Checker {
    pub(crate) fn error(&mut self, entry: &str, field: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            entry: entry.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        });
    }
}

fn entry_name(kind: &str, index: usize, id: &str) -> String {
    if id.is_empty() {
        format!("{kind}[{index}]")
    } else {
        format!("{kind}[{index}] ({id:?})")
    }
}

fn validate(raw: RawConfig) -> Result<Config, ConfigErrors> {
    let mut check = Checker { errors: Vec::new() };
    let gateway = validate_gateway(&raw, &mut check);
    let log = validate_log(&raw, &mut check);
    let providers: Vec<Provider> = raw
        .providers
        .iter()
        .enumerate()
        .filter_map(|(i, p)| validate_provider(i, p, &raw.providers, &gateway, &mut check))
        .collect();
    let models: Vec<Model> = raw
        .models
        .iter()
        .enumerate()
        .filter_map(|(i, m)| validate_model(i, m, &raw.models, &providers, &mut check))
        .collect();
    let plans: Vec<Plan> = raw
        .plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| validate_plan(i, p, &raw.plans, &models, &mut check))
        .collect();
    if raw.providers.is_empty() {
        check.error("providers", "", "at least one provider is required");
    }
    if raw.models.is_empty() {
        check.error("models", "", "at least one model is required");
    }
    if raw.plans.is_empty() {
        check.error("plans", "", "at least one plan is required");
    }
    let aliases: Vec<Alias> = raw
        .aliases
        .iter()
        .enumerate()
        .filter_map(|(i, a)| validate_alias(i, a, &models, &mut check))
        .collect();
    if check.errors.is_empty() {
        Ok(Config {
            gateway,
            providers,
            models,
            plans,
            aliases,
            log,
        })
    } else {
        Err(ConfigErrors(check.errors))
    }
}

const DEFAULT_LOG_RETENTION_MS: u64 = 30 * 86_400_000;
const DEFAULT_ROLLUP_RETENTION_MS: u64 = 400 * 86_400_000;

fn validate_log(raw: &RawConfig, check: &mut Checker) -> LogSettings {
    let mut duration = |field: &str, value: &Option<String>, default: u64| match value {
        None => default,
        Some(text) => match parse_duration_ms(text) {
            Some(ms) if ms >= 86_400_000 => ms,
            _ => {
                check.error(
                    "log",
                    field,
                    format!("{text:?} is not a duration of at least a day, like \"30d\""),
                );
                default
            }
        },
    };
    LogSettings {
        enabled: raw.log.enabled.unwrap_or(true),
        retention_ms: duration("retention", &raw.log.retention, DEFAULT_LOG_RETENTION_MS),
        rollup_retention_ms: duration(
            "rollup_retention",
            &raw.log.rollup_retention,
            DEFAULT_ROLLUP_RETENTION_MS,
        ),
    }
}

fn validate_gateway(raw: &RawConfig, check: &mut Checker) -> GatewaySettings {
    let mut duration = |field: &str, value: &Option<String>, default: u64| match value {
        None => default,
        Some(text) => parse_duration_ms(text).unwrap_or_else(|| {
            check.error(
                "gateway",
                field,
                format!("{text:?} is not a duration like \"30d\""),
            );
            default
        }),
    };
    let responses_ttl_ms = duration(
        "responses_ttl",
        &raw.gateway.responses_ttl,
        DEFAULT_RESPONSES_TTL_MS,
    );
    let request_lease_ms = duration(
        "request_lease",
        &raw.gateway.request_lease,
        DEFAULT_REQUEST_LEASE_MS,
    );
    let abandon_after_ms = duration(
        "abandon_after",
        &raw.gateway.abandon_after,
        DEFAULT_ABANDON_AFTER_MS,
    );
    let keep_alive_ms = duration("keep_alive", &raw.gateway.keep_alive, DEFAULT_KEEP_ALIVE_MS);
    let max_body_bytes = raw.gateway.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    let max_json_values = raw
        .gateway
        .max_json_values
        .unwrap_or(DEFAULT_MAX_JSON_VALUES);
    let max_json_depth = raw.gateway.max_json_depth.unwrap_or(DEFAULT_MAX_JSON_DEPTH);
    for (field, value) in [
        ("max_body_bytes", max_body_bytes),
        ("max_json_values", max_json_values),
        ("max_json_depth", max_json_depth),
    ] {
        if value == 0 {
            check.error("gateway", field, "must be greater than 0");
        }
    }
    // serde_json refuses deeper documents itself; a larger setting would not be honoured.
    if max_json_depth > 120 {
        check.error("gateway", "max_json_depth", "must be at most 120");
    }
    let retry = resilience::retry(
        raw.gateway.max_attempts,
        raw.gateway.attempt_window.as_deref(),
        check,
    );
    GatewaySettings {
        max_body_bytes,
        max_json_values,
        max_json_depth,
        responses_ttl_ms,
        request_lease_ms,
        abandon_after_ms,
        keep_alive_ms,
        retry,
        allowances: raw.gateway.allowances.unwrap_or(true),
    }
}

fn validate_provider(
    index: usize,
    raw: &RawProvider,
    all: &[RawProvider],
    gateway: &GatewaySettings,
    check: &mut Checker,
) -> Option<Provider> {
    let entry = entry_name("providers", index, &raw.id);
    let before = check.errors.len();
    if raw.id.trim().is_empty() {
        check.error(&entry, "id", "must not be empty");
    } else if all.iter().take(index).any(|p| p.id == raw.id) {
        check.error(&entry, "id", "another provider has this id");
    }
    let format = WireFormat::from_config_name(&raw.format);
    if format.is_none() {
        let names: Vec<String> = WireFormat::ALL
            .iter()
            .map(|format| format!("{:?}", format.config_name()))
            .collect();
        check.error(
            &entry,
            "format",
            format!("{:?} is not one of {}", raw.format, names.join(", ")),
        );
    }
    let demo = raw.demo.unwrap_or(false);
    let base_url = raw.base_url.trim_end_matches('/').to_owned();
    if demo {
        if !raw.keys.is_empty() {
            check.error(
                &entry,
                "keys",
                "a demo provider calls no one and takes no key",
            );
        }
    } else if let Err(problem) = check_base_url(&base_url) {
        check.error(&entry, "base_url", problem);
    }
    for (i, key) in raw.keys.iter().enumerate() {
        if key.trim().is_empty() {
            check.error(&entry, &format!("keys[{i}]"), "must name a secret");
        }
    }
    let max_tokens_param = match raw.max_tokens_param.as_deref() {
        None | Some("max_completion_tokens") => MaxTokensParam::MaxCompletionTokens,
        Some("max_tokens") => MaxTokensParam::MaxTokens,
        Some(other) => {
            check.error(
                &entry,
                "max_tokens_param",
                format!("{other:?} is not \"max_completion_tokens\" or \"max_tokens\""),
            );
            MaxTokensParam::MaxCompletionTokens
        }
    };
    let timeouts = resilience::timeouts(
        &resilience::RawTimeouts {
            timeout_ms: raw.timeout_ms,
            first_event_timeout_ms: raw.first_event_timeout_ms,
            idle_timeout_ms: raw.idle_timeout_ms,
            answer_timeout_ms: raw.answer_timeout_ms,
        },
        gateway.abandon_after_ms,
        &entry,
        check,
    );
    let breaker = resilience::breaker(raw.breaker.as_ref(), &entry, check);
    let format = format?;
    let anthropic_betas = raw.anthropic_betas.clone().unwrap_or_else(|| {
        DEFAULT_ANTHROPIC_BETAS
            .iter()
            .map(|beta| (*beta).to_owned())
            .collect()
    });
    (check.errors.len() == before).then(|| Provider {
        id: raw.id.clone(),
        format,
        base_url,
        keys: raw.keys.clone(),
        max_tokens_param,
        timeouts,
        breaker,
        anthropic_betas,
        demo,
        native_forwarding: raw.native_forwarding.unwrap_or(false),
    })
}

/// A provider's base URL must be `https://`, or `http://` on the loopback interface (a local
/// mock or proxy): anything else would send the provider's keys in clear text.
fn check_base_url(base_url: &str) -> Result<(), &'static str> {
    if base_url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = base_url.strip_prefix("http://") else {
        return Err("must start with https:// (or http:// for a loopback address)");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry credentials in the URL");
    }
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host.strip_prefix("127.").is_some_and(|tail| {
            tail.split('.').count() == 3 && tail.split('.').all(|n| n.parse::<u8>().is_ok())
        });
    if loopback {
        Ok(())
    } else {
        Err(
            "http:// is only allowed for loopback addresses (localhost, 127.x.x.x, [::1]); use https://",
        )
    }
}

fn validate_model(
    index: usize,
    raw: &RawModel,
    all: &[RawModel],
    providers: &[Provider],
    check: &mut Checker,
) -> Option<Model> {
    let entry = entry_name("models", index, &raw.id);
    let before = check.errors.len();
    if raw.id.trim().is_empty() {
        check.error(&entry, "id", "must not be empty");
    } else if all
        .iter()
        .take(index)
        .any(|m| m.id == raw.id && m.provider == raw.provider)
    {
        check.error(
            &entry,
            "id",
            "another entry serves this id with the same provider",
        );
    }
    let provider = providers.iter().position(|p| p.id == raw.provider);
    if provider.is_none() {
        check.error(
            &entry,
            "provider",
            format!("no valid provider has id {:?}", raw.provider),
        );
    }
    if raw.upstream.trim().is_empty() {
        check.error(&entry, "upstream", "must not be empty");
    }
    for (field, value) in [
        ("context_window", raw.context_window),
        ("max_output_tokens", raw.max_output_tokens),
        ("default_max_tokens", raw.default_max_tokens),
    ] {
        if value == Some(0) {
            check.error(&entry, field, "must be greater than 0");
        }
    }
    let prices = prices::prices(raw, &entry, check);
    let server_tools = raw.server_tools.as_ref().map(|names| {
        let mut kinds = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            match ServerToolKind::from_name(name) {
                Some(kind) => kinds.push(kind),
                None => check.error(
                    &entry,
                    &format!("server_tools[{i}]"),
                    format!("{name:?} is not one of \"web_search\", \"web_fetch\""),
                ),
            }
        }
        ServerTools::of(&kinds)
    });
    let provider = provider?;
    let default_max_tokens = raw.default_max_tokens.unwrap_or_else(|| {
        raw.max_output_tokens
            .unwrap_or(DEFAULT_MAX_TOKENS)
            .min(DEFAULT_MAX_TOKENS)
    });
    (check.errors.len() == before).then(|| Model {
        id: raw.id.clone(),
        provider,
        upstream: raw.upstream.clone(),
        display_name: raw.display_name.clone().unwrap_or_else(|| raw.id.clone()),
        context_window: raw.context_window,
        max_output_tokens: raw.max_output_tokens,
        default_max_tokens,
        reasoning: raw.reasoning.unwrap_or(false),
        prices,
        weight: raw.weight,
        auto_cache: raw.auto_cache.unwrap_or(true),
        server_tools,
    })
}

fn validate_alias(
    index: usize,
    raw: &RawAlias,
    models: &[Model],
    check: &mut Checker,
) -> Option<Alias> {
    let entry = entry_name("aliases", index, &raw.id);
    let before = check.errors.len();
    if raw.id.trim().is_empty() {
        check.error(&entry, "id", "must not be empty");
    } else if !raw.id.contains('*') && models.iter().any(|m| m.id == raw.id) {
        check.error(&entry, "id", "a model has this id; an alias cannot hide it");
    }
    if !models.iter().any(|m| m.id == raw.model) {
        check.error(
            &entry,
            "model",
            format!("no valid model has id {:?}", raw.model),
        );
    }
    (check.errors.len() == before).then(|| Alias {
        id: raw.id.clone(),
        model: raw.model.clone(),
    })
}

fn validate_plan(
    index: usize,
    raw: &RawPlan,
    all: &[RawPlan],
    models_configured: &[Model],
    check: &mut Checker,
) -> Option<Plan> {
    let entry = entry_name("plans", index, &raw.id);
    let before = check.errors.len();
    if raw.id.trim().is_empty() {
        check.error(&entry, "id", "must not be empty");
    } else if all.iter().take(index).any(|p| p.id == raw.id) {
        check.error(&entry, "id", "another plan has this id");
    }
    for (field, value) in [("rpm", raw.rpm), ("concurrency", raw.concurrency)] {
        if value == 0 {
            check.error(&entry, field, "must be greater than 0");
        }
    }
    let unit = match raw.unit.as_deref().map(str::trim) {
        None | Some("tokens") => Unit::Tokens,
        Some("usd") => Unit::Usd,
        Some(other) => {
            check.error(
                &entry,
                "unit",
                format!("{other:?} is not \"tokens\" or \"usd\""),
            );
            Unit::Tokens
        }
    };
    let usd = |check: &mut Checker, field: &str, value: f64| -> u64 {
        match parse_rate(value, crate::pricing::PICO_PER_USD) {
            Some(pico) if pico > 0 => pico,
            _ => {
                check.error(
                    &entry,
                    field,
                    "must be a positive number of dollars with at most 12 decimals",
                );
                0
            }
        }
    };
    let (tpm, window_tokens) = match unit {
        Unit::Tokens => {
            let mut required = |field: &str, value: Option<u64>| match value {
                Some(0) => {
                    check.error(&entry, field, "must be greater than 0");
                    0
                }
                Some(v) => v,
                None => {
                    check.error(&entry, field, "is required for a plan in tokens");
                    0
                }
            };
            let tpm = required("tpm", raw.tpm);
            let window = required("window_tokens", raw.window_tokens);
            for (field, given) in [
                ("window_usd", raw.window_usd.is_some()),
                ("usd_per_minute", raw.usd_per_minute.is_some()),
            ] {
                if given {
                    check.error(&entry, field, "is for plans with `unit = \"usd\"`");
                }
            }
            (tpm, window)
        }
        Unit::Usd => {
            let window = match raw.window_usd {
                Some(value) => usd(check, "window_usd", value),
                None => {
                    check.error(&entry, "window_usd", "is required for a plan in usd");
                    0
                }
            };
            let per_minute = raw
                .usd_per_minute
                .map_or(u64::MAX, |value| usd(check, "usd_per_minute", value));
            for (field, given) in [
                ("tpm", raw.tpm.is_some()),
                ("window_tokens", raw.window_tokens.is_some()),
            ] {
                if given {
                    check.error(
                        &entry,
                        field,
                        "is for plans in tokens; a plan in usd has `window_usd` and `usd_per_minute`",
                    );
                }
            }
            (per_minute, window)
        }
    };
    let multiplier_ppm = match raw.multiplier {
        None => PPM,
        Some(value) => match parse_rate(value, PER_MTOK) {
            Some(ppm) if ppm > 0 => ppm,
            _ => {
                check.error(
                    &entry,
                    "multiplier",
                    "must be a positive number with at most 6 decimals",
                );
                PPM
            }
        },
    };
    let zone = match &raw.time_zone {
        None => Zone::UTC,
        Some(name) => Zone::parse(name).unwrap_or_else(|| {
            check.error(
                &entry,
                "time_zone",
                format!(
                    "{name:?} is not a time zone this gateway knows (an IANA name such as \"Europe/Paris\", or an offset such as \"UTC+05:30\")"
                ),
            );
            Zone::UTC
        }),
    };
    let calendar = Period::parse(&raw.window);
    let window_ms = match calendar {
        Some(Period::Day) => Some(86_400_000),
        Some(Period::Week) => Some(7 * 86_400_000),
        Some(Period::Month) => Some(31 * 86_400_000),
        None => parse_duration_ms(&raw.window),
    };
    if window_ms.is_none() {
        check.error(
            &entry,
            "window",
            format!(
                "{:?} is not a duration like \"5h\" or \"1h30m\", or \"daily\", \"weekly\", \"monthly\"",
                raw.window
            ),
        );
    }
    let models = raw.models.clone().unwrap_or_else(|| vec!["*".to_owned()]);
    for (i, pattern) in models.iter().enumerate() {
        if pattern.trim().is_empty() {
            check.error(&entry, &format!("models[{i}]"), "must not be empty");
        }
    }
    // A plan in dollars must be able to price every call it admits.
    if unit == Unit::Usd {
        let unpriced = models_configured
            .iter()
            .find(|m| m.prices.is_empty() && models.iter().any(|p| glob_match(p, &m.id)));
        if let Some(model) = unpriced {
            check.error(
                &entry,
                "models",
                format!(
                    "includes model {:?}, which has no price: a plan in usd can only include priced models",
                    model.id
                ),
            );
        }
    }
    let min_output_tokens = raw.min_output_tokens.unwrap_or(DEFAULT_MIN_OUTPUT_TOKENS);
    if min_output_tokens == 0 {
        check.error(&entry, "min_output_tokens", "must be greater than 0");
    }
    let mut features = UpstreamFeatures::default();
    for (i, name) in raw.upstream_features.iter().flatten().enumerate() {
        if !features.enable(name) {
            check.error(
                &entry,
                &format!("upstream_features[{i}]"),
                format!(
                    "{name:?} is not one of \"service_tier\", \"server_tools\", \"mcp\", \"store\", \"files\""
                ),
            );
        }
    }
    if let Some(policy) = &raw.server_tools_missing {
        match MissingServerTools::parse(policy) {
            Some(policy) => features.missing_server_tools = policy,
            None => check.error(
                &entry,
                "server_tools_missing",
                format!("{policy:?} is not one of \"refuse\", \"drop\""),
            ),
        }
    }
    let window_ms = window_ms?;
    (check.errors.len() == before).then(|| Plan {
        id: raw.id.clone(),
        rpm: raw.rpm,
        tpm,
        concurrency: raw.concurrency,
        window_ms,
        window: raw.window.clone(),
        window_tokens,
        unit,
        calendar,
        zone,
        multiplier_ppm,
        models,
        min_output_tokens,
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_config_is_valid_and_realistic() {
        let config = Config::load(None).unwrap();
        for id in ["gpt-5.3", "gpt-5.3-codex"] {
            assert!(config.routes(id).next().is_some(), "{id}");
        }
        let formats: Vec<WireFormat> = config.providers.iter().map(|p| p.format).collect();
        assert!(formats.contains(&WireFormat::AnthropicMessages));
        assert!(formats.contains(&WireFormat::OpenAiChat));
        assert!(formats.contains(&WireFormat::OpenAiResponses));
        for plan in ["free", "pro", "max"] {
            assert!(config.plan(plan).is_some(), "{plan}");
        }
    }

    #[test]
    fn json_replaces_the_file_whole() {
        let json = r#"{
            "providers": [{"id": "mock", "format": "anthropic", "base_url": "http://127.0.0.1:9/v1/", "keys": ["MOCK_KEY"]}],
            "models": [{"id": "m", "provider": "mock", "upstream": "claude-x"}],
            "plans": [{"id": "p", "rpm": 1, "tpm": 1, "concurrency": 1, "window": "1h", "window_tokens": 10, "models": ["m*"]}]
        }"#;
        let config = Config::from_json(json).unwrap();
        assert_eq!(
            config.providers[0].endpoint("claude-x", false),
            "http://127.0.0.1:9/v1/messages"
        );
        assert_eq!(config.models.len(), 1);
        assert_eq!(config.plan("p").unwrap().window_ms, 3_600_000);
        assert!(config.plan("p").unwrap().allows("m"));
        assert!(!config.plan("p").unwrap().allows("x"));
    }

    #[test]
    fn every_problem_names_entry_and_field() {
        let json = r#"{
            "providers": [{"id": "a", "format": "grpc", "base_url": "ftp://x", "keys": []}],
            "models": [{"id": "m", "provider": "nope", "upstream": ""}],
            "plans": [{"id": "p", "rpm": 0, "tpm": 1, "concurrency": 1, "window": "5 hours", "window_tokens": 1}]
        }"#;
        let errors = Config::from_json(json).unwrap_err().to_string();
        for expected in [
            r#"providers[0] ("a").format: "grpc" is not one of"#,
            r#"providers[0] ("a").base_url: must start with"#,
            r#"models[0] ("m").provider: no valid provider has id "nope""#,
            r#"models[0] ("m").upstream: must not be empty"#,
            r#"plans[0] ("p").rpm: must be greater than 0"#,
            r#"plans[0] ("p").window: "5 hours" is not a duration"#,
        ] {
            assert!(
                errors.contains(expected),
                "missing {expected:?} in {errors}"
            );
        }
    }

    #[test]
    fn aliases_resolve_to_configured_models() {
        let json = r#"{
            "providers": [{"id": "mock", "format": "anthropic", "base_url": "http://127.0.0.1:9/v1"}],
            "models": [{"id": "small", "provider": "mock", "upstream": "x"}, {"id": "big", "provider": "mock", "upstream": "y"}],
            "plans": [{"id": "p", "rpm": 1, "tpm": 1, "concurrency": 1, "window": "1h", "window_tokens": 10}],
            "aliases": [{"id": "claude-3-5-haiku-*", "model": "small"}, {"id": "claude-haiku-4-5-20251001", "model": "small"},
                        {"id": "claude-*", "model": "big"}]
        }"#;
        let config = Config::from_json(json).unwrap();
        assert_eq!(config.resolve_model("big"), Some("big"));
        assert_eq!(config.resolve_model("big[1m]"), Some("big"));
        assert_eq!(
            config.resolve_model("claude-3-5-haiku-20241022"),
            Some("small")
        );
        assert_eq!(
            config.resolve_model("claude-haiku-4-5-20251001"),
            Some("small")
        );
        assert_eq!(config.resolve_model("claude-sonnet-4-6[1m]"), Some("big"));
        assert_eq!(config.resolve_model("gpt-5"), None);
        assert!(config.aliases[1].is_exact() && !config.aliases[0].is_exact());
        let bad = json
            .replace(r#""model": "big"}]"#, r#""model": "nope"}]"#)
            .replace(r#""id": "claude-haiku-4-5-20251001""#, r#""id": "small""#);
        let errors = Config::from_json(&bad).unwrap_err().to_string();
        assert!(
            errors.contains(r#"aliases[2] ("claude-*").model: no valid model has id "nope""#),
            "{errors}"
        );
        assert!(
            errors.contains(r#"aliases[1] ("small").id: a model has this id"#),
            "{errors}"
        );
    }

    #[test]
    fn type_errors_and_typos_name_the_field() {
        let wrong_type = r#"{"plans": [{"id": "p", "rpm": "many"}]}"#;
        let error = Config::from_json(wrong_type).unwrap_err();
        assert_eq!(error.0[0].entry, "plans[0]");
        assert_eq!(error.0[0].field, "rpm");
        let typo = r#"{"providers": [{"id": "a", "fromat": "anthropic"}]}"#;
        let error = Config::from_json(typo).unwrap_err().to_string();
        assert!(error.contains("unknown field `fromat`"), "{error}");
        let toml_error = Config::from_toml("[[plans]]\nid = 5")
            .unwrap_err()
            .to_string();
        assert!(toml_error.contains("plans[0].id"), "{toml_error}");
    }
}
