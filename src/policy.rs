//! Per-key policy: rules an operator sets on one key, on top of its plan, and the key's
//! free-form metadata.
//!
//! - `expires_at`: the key stops working at this moment (RFC 3339, kept in UTC to the second,
//!   rounded down). A call after it gets a 401 saying when the key expired.
//! - `models`: model ids or globs (`*` matches any run of characters) the key may use. It only
//!   narrows the plan: a call needs a model both the plan and the key allow, so a key can never
//!   widen its plan. A call for another model gets the plan's refusal, a 403.
//! - `allowed_ips`: IPv4 and IPv6 ranges in CIDR notation (a bare address is one host) the
//!   caller's address must fall in. An IPv4 rule also matches the IPv4-mapped IPv6 form of its
//!   addresses (`::ffff:a.b.c.d`) and the other way round. A call from elsewhere, or whose
//!   address the gateway cannot tell, gets a 403 naming the rules.
//! - metadata: up to [`MAX_METADATA_ENTRIES`] string entries (`owner`, `note`, ...) for the
//!   operator; never enforced and never shown to the key's holder.
//!
//! Everything here is pure: the admin API validates with the `validate_*` functions (which
//! return the canonical form to store), and authentication checks with [`KeyPolicy`]'s
//! methods, whose [`Refusal`]s become errors in the client's format.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::config::glob::glob_match;
use crate::error::{ApiError, ErrorKind};
use crate::time::{parse_rfc3339, rfc3339};

/// Most patterns in a key's `models`.
pub const MAX_MODEL_PATTERNS: usize = 64;
/// Longest model pattern, in bytes.
pub const MAX_MODEL_PATTERN_BYTES: usize = 128;
/// Most ranges in a key's `allowed_ips`.
pub const MAX_IP_RULES: usize = 32;
/// Most metadata entries on a key.
pub const MAX_METADATA_ENTRIES: usize = 16;
/// Longest metadata name, in bytes (`[A-Za-z0-9_.-]`).
pub const MAX_METADATA_NAME_BYTES: usize = 64;
/// Longest metadata value, in bytes of UTF-8.
pub const MAX_METADATA_VALUE_BYTES: usize = 1024;

/// The operator's free-form notes on a key, by name.
pub type Metadata = BTreeMap<String, String>;

/// The rules a key carries beyond its plan. Every field is optional, so records written
/// before policies existed load as "no rules".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPolicy {
    /// RFC 3339 UTC, seconds precision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Model ids or globs; `None` is every model of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Canonical CIDR ranges (`203.0.113.0/24`, `2001:db8::/32`); `None` is any address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_ips: Option<Vec<String>>,
}

/// Why a key's policy refused a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The key's `expires_at` has passed.
    Expired { at: String },
    /// The key has IP rules and the call's address is not in any of them.
    IpNotAllowed { ip: IpAddr, rules: Vec<String> },
    /// The key has IP rules and the call's address is unknown.
    NoClientIp { rules: Vec<String> },
    /// The model is not in the key's allowlist.
    ModelNotAllowed { model: String, rules: Vec<String> },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Expired { at } => write!(
                f,
                "This API key expired at {at} (its `expires_at`). Ask your gateway operator to extend it or for a new key."
            ),
            Refusal::IpNotAllowed { ip, rules } => write!(
                f,
                "This API key only accepts calls from {} (its `allowed_ips`); this call came from {ip}. Call from an allowed network or ask your gateway operator to add yours.",
                rules.join(", ")
            ),
            Refusal::NoClientIp { rules } => write!(
                f,
                "This API key only accepts calls from {} (its `allowed_ips`), and the gateway could not tell this call's address (no CF-Connecting-IP header).",
                rules.join(", ")
            ),
            Refusal::ModelNotAllowed { model, rules } => write!(
                f,
                "Your key is limited to the models {} (its `models` allowlist), which do not include `{model}`; GET /v1/models lists the models your key can use.",
                quoted(rules)
            ),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        let message = refusal.to_string();
        match refusal {
            Refusal::Expired { .. } => {
                ApiError::new(ErrorKind::Authentication, message).with_code("key_expired")
            }
            Refusal::IpNotAllowed { .. } | Refusal::NoClientIp { .. } => {
                ApiError::new(ErrorKind::PermissionDenied, message).with_code("ip_not_allowed")
            }
            Refusal::ModelNotAllowed { .. } => ApiError::new(ErrorKind::PermissionDenied, message)
                .with_code("model_not_allowed")
                .with_param("model"),
        }
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl KeyPolicy {
    pub fn is_empty(&self) -> bool {
        self == &KeyPolicy::default()
    }

    /// Refuses a key whose `expires_at` is at or before `now_ms`. A stored time that does
    /// not parse (only a hand-edited record could hold one) counts as expired.
    pub fn check_expiry(&self, now_ms: u64) -> Result<(), Refusal> {
        let Some(at) = &self.expires_at else {
            return Ok(());
        };
        match parse_rfc3339(at) {
            Some(at_ms) if now_ms < at_ms => Ok(()),
            _ => Err(Refusal::Expired { at: at.clone() }),
        }
    }

    /// Refuses a call from outside the key's `allowed_ips`. `client_ip` is the
    /// `CF-Connecting-IP` header as received: absent or unreadable, a key with rules is refused
    /// (it fails closed), a key without rules is not concerned.
    pub fn check_client_ip(&self, client_ip: Option<&str>) -> Result<(), Refusal> {
        let Some(rules) = &self.allowed_ips else {
            return Ok(());
        };
        let Some(ip) = client_ip.and_then(|text| text.trim().parse::<IpAddr>().ok()) else {
            return Err(Refusal::NoClientIp {
                rules: rules.clone(),
            });
        };
        // Stored rules were validated; one that no longer parses matches nothing.
        let allowed = rules
            .iter()
            .filter_map(|rule| IpRule::parse(rule).ok())
            .any(|rule| rule.contains(ip));
        if allowed {
            Ok(())
        } else {
            Err(Refusal::IpNotAllowed {
                ip,
                rules: rules.clone(),
            })
        }
    }

    /// Whether the key's allowlist (if any) lets it use `model` (a served model id). The plan
    /// must allow it too; this never widens it.
    pub fn allows_model(&self, model: &str) -> bool {
        self.models
            .as_ref()
            .is_none_or(|patterns| patterns.iter().any(|pattern| glob_match(pattern, model)))
    }

    /// [`KeyPolicy::allows_model`] as a refusal naming the allowlist.
    pub fn check_model(&self, model: &str) -> Result<(), Refusal> {
        match &self.models {
            Some(patterns) if !self.allows_model(model) => Err(Refusal::ModelNotAllowed {
                model: model.to_owned(),
                rules: patterns.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// A policy field the admin API refused, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPolicy {
    /// The body's field (`allowed_ips[2]`, `metadata.owner`).
    pub field: String,
    pub message: String,
}

impl InvalidPolicy {
    fn new(field: impl Into<String>, message: impl Into<String>) -> InvalidPolicy {
        InvalidPolicy {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for InvalidPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for InvalidPolicy {}

impl From<InvalidPolicy> for ApiError {
    fn from(error: InvalidPolicy) -> ApiError {
        ApiError::invalid(error.to_string()).with_param(error.field)
    }
}

/// The `expires_at` to store for `text`: UTC, to the second (rounded down). It must be in the
/// future.
pub fn validate_expires_at(text: &str, now_ms: u64) -> Result<String, InvalidPolicy> {
    let Some(ms) = parse_rfc3339(text) else {
        return Err(InvalidPolicy::new(
            "expires_at",
            format!(
                "`{}` is not an RFC 3339 time such as 2026-12-31T23:59:59Z",
                excerpt(text)
            ),
        ));
    };
    let at_ms = ms - ms % 1000;
    if at_ms <= now_ms {
        return Err(InvalidPolicy::new(
            "expires_at",
            format!(
                "{} has already passed (it is now {}); to stop a key at once, disable or revoke it",
                rfc3339(at_ms),
                rfc3339(now_ms)
            ),
        ));
    }
    Ok(rfc3339(at_ms))
}

/// The `models` allowlist to store: non-empty, each pattern printable ASCII without spaces or
/// quotes, duplicates dropped. `plan_has_match` says whether a pattern matches at least one
/// model the key's plan allows; a pattern that matches none is refused (it is a typo, or names
/// a model the plan lacks, which a key cannot add).
pub fn validate_models(
    patterns: &[String],
    plan_has_match: impl Fn(&str) -> bool,
) -> Result<Vec<String>, InvalidPolicy> {
    if patterns.is_empty() {
        return Err(InvalidPolicy::new(
            "models",
            "an empty allowlist would allow nothing; send null (or leave it out) to allow every model of the plan, or disable the key",
        ));
    }
    if patterns.len() > MAX_MODEL_PATTERNS {
        return Err(InvalidPolicy::new(
            "models",
            format!("at most {MAX_MODEL_PATTERNS} patterns"),
        ));
    }
    let mut kept: Vec<String> = Vec::with_capacity(patterns.len());
    for (i, pattern) in patterns.iter().enumerate() {
        let field = format!("models[{i}]");
        let pattern = pattern.trim();
        if pattern.is_empty() || pattern.len() > MAX_MODEL_PATTERN_BYTES {
            return Err(InvalidPolicy::new(
                field,
                format!("a model pattern has 1 to {MAX_MODEL_PATTERN_BYTES} characters"),
            ));
        }
        if !pattern
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'`' | b'\\'))
        {
            return Err(InvalidPolicy::new(
                field,
                format!(
                    "`{}` may hold only printable ASCII without spaces, quotes or backslashes (a model id, `*` for any run of characters)",
                    excerpt(pattern)
                ),
            ));
        }
        if !plan_has_match(pattern) {
            return Err(InvalidPolicy::new(
                field,
                format!(
                    "`{pattern}` matches no model of the key's plan; a key's allowlist can only narrow its plan"
                ),
            ));
        }
        if !kept.iter().any(|k| k == pattern) {
            kept.push(pattern.to_owned());
        }
    }
    Ok(kept)
}

/// The `allowed_ips` to store: each rule canonical (`network/prefix`), duplicates dropped.
pub fn validate_ip_rules(rules: &[String]) -> Result<Vec<String>, InvalidPolicy> {
    if rules.is_empty() {
        return Err(InvalidPolicy::new(
            "allowed_ips",
            "an empty list would refuse every call; send null (or leave it out) to allow any address, or disable the key",
        ));
    }
    if rules.len() > MAX_IP_RULES {
        return Err(InvalidPolicy::new(
            "allowed_ips",
            format!("at most {MAX_IP_RULES} ranges"),
        ));
    }
    let mut kept: Vec<String> = Vec::with_capacity(rules.len());
    for (i, text) in rules.iter().enumerate() {
        let rule = IpRule::parse(text)
            .map_err(|reason| InvalidPolicy::new(format!("allowed_ips[{i}]"), reason))?
            .to_string();
        if !kept.contains(&rule) {
            kept.push(rule);
        }
    }
    Ok(kept)
}

/// Metadata to store: names of `[A-Za-z0-9_.-]`, values without control characters other than
/// newlines and tabs, within the size bounds.
pub fn validate_metadata(metadata: &Metadata) -> Result<Metadata, InvalidPolicy> {
    if metadata.len() > MAX_METADATA_ENTRIES {
        return Err(InvalidPolicy::new(
            "metadata",
            format!("at most {MAX_METADATA_ENTRIES} entries"),
        ));
    }
    for (name, value) in metadata {
        if name.is_empty()
            || name.len() > MAX_METADATA_NAME_BYTES
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(InvalidPolicy::new(
                "metadata",
                format!(
                    "the name `{}` must have 1 to {MAX_METADATA_NAME_BYTES} characters of A-Z, a-z, 0-9, `_`, `.` and `-`",
                    excerpt(name)
                ),
            ));
        }
        let field = format!("metadata.{name}");
        if value.len() > MAX_METADATA_VALUE_BYTES {
            return Err(InvalidPolicy::new(
                field,
                format!("at most {MAX_METADATA_VALUE_BYTES} bytes"),
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        {
            return Err(InvalidPolicy::new(
                field,
                "control characters other than newline and tab are not allowed",
            ));
        }
    }
    Ok(metadata.clone())
}

/// At most 40 characters of untrusted input, for a message.
fn excerpt(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(40)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

/// An address range: a network and its prefix length, with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpRule {
    V4 { network: Ipv4Addr, prefix: u8 },
    V6 { network: Ipv6Addr, prefix: u8 },
}

impl IpRule {
    /// Parses `a.b.c.d/n`, `x:y::z/n` or a bare address (one host). The reason is for the
    /// operator.
    pub fn parse(text: &str) -> Result<IpRule, String> {
        let shown = excerpt(text);
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| {
            format!("`{shown}` is not an IPv4 or IPv6 address or CIDR range (such as 203.0.113.0/24 or 2001:db8::/32)")
        })?;
        let max = match address {
            IpAddr::V4(_) => 32u8,
            IpAddr::V6(_) => 128u8,
        };
        let prefix = match prefix {
            None => max,
            Some(digits) => {
                let parsed = (!digits.is_empty()
                    && digits.len() <= 3
                    && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse::<u8>().ok())
                .flatten()
                .filter(|n| *n <= max);
                parsed.ok_or_else(|| {
                    format!(
                        "`{shown}`: the prefix length after `/` must be a number from 0 to {max}"
                    )
                })?
            }
        };
        let rule = match address {
            IpAddr::V4(ip) => IpRule::V4 {
                network: Ipv4Addr::from(u32::from(ip) & mask_v4(prefix)),
                prefix,
            },
            IpAddr::V6(ip) => IpRule::V6 {
                network: Ipv6Addr::from(u128::from(ip) & mask_v6(prefix)),
                prefix,
            },
        };
        if rule.network() != address {
            return Err(format!(
                "`{shown}` has host bits set after the prefix; did you mean {rule}?"
            ));
        }
        Ok(rule)
    }

    fn network(&self) -> IpAddr {
        match self {
            IpRule::V4 { network, .. } => IpAddr::V4(*network),
            IpRule::V6 { network, .. } => IpAddr::V6(*network),
        }
    }

    /// Whether `ip` is in the range. IPv4 and IPv4-mapped IPv6 addresses are the same host.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (IpRule::V4 { network, prefix }, IpAddr::V4(ip)) => in_v4(*network, *prefix, ip),
            (IpRule::V4 { network, prefix }, IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| in_v4(*network, *prefix, ip)),
            (IpRule::V6 { network, prefix }, IpAddr::V6(ip)) => in_v6(*network, *prefix, ip),
            (IpRule::V6 { network, prefix }, IpAddr::V4(ip)) => {
                in_v6(*network, *prefix, ip.to_ipv6_mapped())
            }
        }
    }
}

impl fmt::Display for IpRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpRule::V4 { network, prefix } => write!(f, "{network}/{prefix}"),
            IpRule::V6 { network, prefix } => write!(f, "{network}/{prefix}"),
        }
    }
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0)
}

fn in_v4(network: Ipv4Addr, prefix: u8, ip: Ipv4Addr) -> bool {
    u32::from(ip) & mask_v4(prefix) == u32::from(network)
}

fn in_v6(network: Ipv6Addr, prefix: u8, ip: Ipv6Addr) -> bool {
    u128::from(ip) & mask_v6(prefix) == u128::from(network)
}

#[cfg(test)]
mod tests;
