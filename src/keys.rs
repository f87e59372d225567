//! API keys: their format, generation, hashing and the record stored beside the hash.
//!
//! A key is `toc-` followed by 48 base62 characters drawn uniformly from the platform CSPRNG
//! (≈285 bits). Only its SHA-256 is stored; the plaintext is shown once, at creation.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::policy::{KeyPolicy, Metadata};

pub const KEY_PREFIX: &str = "toc-";
const KEY_RANDOM_CHARS: usize = 48;
const ID_RANDOM_CHARS: usize = 20;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Lifecycle of a key. Only `Active` keys may call the API; `Revoked` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Disabled,
    Revoked,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Disabled => "disabled",
            KeyStatus::Revoked => "revoked",
        }
    }
}

/// What KV holds for a key (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub status: KeyStatus,
    /// RFC 3339.
    pub created_at: String,
    /// SHA-256 of the key, hex.
    pub hash: String,
    /// Expiry, model allowlist and client IP ranges (absent in records older than policies).
    #[serde(default, skip_serializing_if = "KeyPolicy::is_empty")]
    pub policy: KeyPolicy,
    /// The operator's notes on the key (owner, note, ...), never shown to its holder.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

/// `count` base62 characters from `fill`, a source of uniformly random bytes. Bytes ≥ 248 are
/// rejected so every character is equally likely.
pub fn random_base62(count: usize, fill: &mut dyn FnMut(&mut [u8])) -> String {
    let mut out = String::with_capacity(count);
    let mut buffer = [0u8; 64];
    while out.len() < count {
        fill(&mut buffer);
        for byte in buffer {
            if byte < 248
                && out.len() < count
                && let Some(&c) = BASE62.get(usize::from(byte % 62))
            {
                out.push(char::from(c));
            }
        }
    }
    out
}

/// A new API key.
pub fn generate_key(fill: &mut dyn FnMut(&mut [u8])) -> String {
    format!("{KEY_PREFIX}{}", random_base62(KEY_RANDOM_CHARS, fill))
}

/// A new key id (`key_` + 20 base62), safe to show and log.
pub fn generate_id(fill: &mut dyn FnMut(&mut [u8])) -> String {
    format!("key_{}", random_base62(ID_RANDOM_CHARS, fill))
}

/// SHA-256 of a key, lowercase hex.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `candidate` has the shape of a gateway key (checked before any lookup).
pub fn is_well_formed(candidate: &str) -> bool {
    candidate.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() >= 40 && rest.len() <= 128 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>`.
pub fn presented_key<'a>(
    authorization: Option<&'a str>,
    x_api_key: Option<&'a str>,
) -> Option<&'a str> {
    let bearer = authorization.and_then(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    bearer
        .or(x_api_key.map(str::trim))
        .filter(|key| !key.is_empty())
}

/// Compares two secrets in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let (a_hash, b_hash) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    bool::from(a_hash.as_slice().ct_eq(b_hash.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter_rng() -> impl FnMut(&mut [u8]) {
        let mut n: u8 = 0;
        move |buf: &mut [u8]| {
            for b in buf {
                *b = n;
                n = n.wrapping_add(37);
            }
        }
    }

    #[test]
    fn keys_have_the_documented_shape() {
        let mut rng = counter_rng();
        let key = generate_key(&mut rng);
        assert!(key.starts_with("toc-"));
        assert_eq!(key.len(), 4 + 48);
        assert!(is_well_formed(&key));
        let id = generate_id(&mut rng);
        assert!(id.starts_with("key_") && id.len() == 24);
        assert!(!is_well_formed("toc-short"));
        assert!(!is_well_formed(
            "sk-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        ));
    }

    #[test]
    fn rejection_sampling_skips_high_bytes() {
        let rng = |buf: &mut [u8]| buf.fill(250);
        let mut calls = 0;
        let mut limited = |buf: &mut [u8]| {
            calls += 1;
            if calls < 3 { rng(buf) } else { buf.fill(61) }
        };
        assert_eq!(random_base62(3, &mut limited), "zzz");
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn both_auth_headers_are_accepted() {
        assert_eq!(presented_key(Some("Bearer toc-x"), None), Some("toc-x"));
        assert_eq!(presented_key(Some("bearer  toc-x "), None), Some("toc-x"));
        assert_eq!(presented_key(None, Some("toc-y")), Some("toc-y"));
        assert_eq!(
            presented_key(Some("Basic abc"), Some("toc-y")),
            Some("toc-y")
        );
        assert_eq!(presented_key(None, Some("  ")), None);
        assert_eq!(presented_key(None, None), None);
    }

    #[test]
    fn records_from_before_policies_load_with_no_rules() {
        let old = r#"{"id":"key_1","name":"n","plan":"p","status":"active","created_at":"2026-01-01T00:00:00Z","hash":"ab"}"#;
        let record: KeyRecord = serde_json::from_str(old).unwrap();
        assert!(record.policy.is_empty() && record.metadata.is_empty());
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            old,
            "written back unchanged"
        );
    }

    #[test]
    fn secrets_compare() {
        assert!(secrets_equal("s3cret", "s3cret"));
        assert!(!secrets_equal("s3cret", "s3creT"));
        assert!(!secrets_equal("s3cret", ""));
    }
}
