//! Same-format forwarding: the client's own JSON sent on, field by field, through an allowlist.
//!
//! When a client speaks its upstream's format, the gateway forwards the client's body rather
//! than re-encoding it, so vendor details the canonical model does not carry survive
//! byte-exact (thinking blocks, cache breakpoints, ...). Each format's `forward` module says
//! which top-level fields it forwards: those the gateway understands and meters. A field that
//! costs extra or keeps data at the vendor goes only where the plan enables it
//! ([`UpstreamFeatures`](super::UpstreamFeatures)); anything else is left out with a warning.
//!
//! [`RawObject`] keeps each top-level field as the client's raw JSON text (borrowed from the
//! body, never parsed into a tree), so forwarding costs one copy of the body.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::ApiError;
use crate::translate::Warnings;

/// One top-level field: the client's raw JSON, or a value the gateway wrote.
#[derive(Debug)]
enum Field<'a> {
    Raw(&'a RawValue),
    Written(String),
}

impl Field<'_> {
    fn json(&self) -> &str {
        match self {
            Field::Raw(raw) => raw.get(),
            Field::Written(json) => json,
        }
    }
}

/// A JSON object's top-level fields, in the client's order, values unparsed.
#[derive(Debug)]
pub struct RawObject<'a> {
    fields: Vec<(Cow<'a, str>, Field<'a>)>,
}

impl<'a> RawObject<'a> {
    /// Splits `body` into its top-level fields (400 if it is not a JSON object).
    pub fn parse(body: &'a [u8]) -> Result<RawObject<'a>, ApiError> {
        let fields: RawFields<'a> = serde_json::from_slice(body).map_err(|e| {
            ApiError::invalid(format!("The request body is not a JSON object: {e}"))
        })?;
        Ok(RawObject { fields: fields.0 })
    }

    /// The raw JSON of field `name`.
    pub fn raw(&self, name: &str) -> Option<&'a RawValue> {
        self.fields.iter().find_map(|(key, field)| match field {
            Field::Raw(raw) if key == name => Some(*raw),
            _ => None,
        })
    }

    /// Field `name` parsed as `T` (`None` when absent, null or of another shape).
    pub fn get<T: serde::Deserialize<'a>>(&self, name: &str) -> Option<T> {
        self.raw(name)
            .and_then(|raw| serde_json::from_str::<Option<T>>(raw.get()).ok())
            .flatten()
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(key, _)| key == name)
    }

    /// Sets field `name` to `value` (serialized), in place or at the end.
    pub fn set(&mut self, name: &str, value: &impl serde::Serialize) {
        let json = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
        match self.fields.iter_mut().find(|(key, _)| key == name) {
            Some((_, field)) => *field = Field::Written(json),
            None => self
                .fields
                .push((Cow::Owned(name.to_owned()), Field::Written(json))),
        }
    }

    /// Removes field `name`; whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.fields.len();
        self.fields.retain(|(key, _)| key != name);
        self.fields.len() != before
    }

    /// Keeps only the fields `allowed` says yes to; the others are reported as dropped.
    pub fn retain_allowed(&mut self, allowed: impl Fn(&str) -> bool, warnings: &mut Warnings) {
        self.fields.retain(|(key, _)| {
            let keep = allowed(key);
            if !keep {
                warnings.dropped(key.as_ref());
            }
            keep
        });
    }

    /// The object as JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let size: usize = self
            .fields
            .iter()
            .map(|(key, field)| key.len() + field.json().len() + 4)
            .sum();
        let mut out = Vec::with_capacity(size + 2);
        out.push(b'{');
        for (i, (key, field)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // A key the client sent decoded; written back escaped.
            out.extend(serde_json::to_vec(key.as_ref()).unwrap_or_default());
            out.push(b':');
            out.extend_from_slice(field.json().as_bytes());
        }
        out.push(b'}');
        out
    }
}

/// Keeps the items of a raw JSON array that `keep` accepts, reporting the others as
/// `dropped=<field>(<name>)`. `name` says what an item is called (its `type`, usually).
pub fn filter_array<'a>(
    raw: &'a RawValue,
    field: &str,
    name: impl Fn(&'a RawValue) -> String,
    keep: impl Fn(&'a RawValue) -> bool,
    warnings: &mut Warnings,
) -> Option<Vec<&'a RawValue>> {
    let items: Vec<&'a RawValue> = serde_json::from_str(raw.get()).ok()?;
    Some(
        items
            .into_iter()
            .filter(|item| {
                let kept = keep(item);
                if !kept {
                    warnings.dropped(format!("{field}({})", name(item)));
                }
                kept
            })
            .collect(),
    )
}

/// The `type` of a raw JSON object (empty when it has none).
pub fn type_of(raw: &RawValue) -> String {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(default, rename = "type")]
        kind: Option<String>,
    }
    serde_json::from_str::<Typed>(raw.get())
        .ok()
        .and_then(|t| t.kind)
        .unwrap_or_default()
}

/// `RawObject`'s fields, deserialized without parsing their values.
struct RawFields<'a>(Vec<(Cow<'a, str>, Field<'a>)>);

impl<'de> serde::Deserialize<'de> for RawFields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = RawFields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut fields: Vec<(Cow<'de, str>, Field<'de>)> = Vec::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    fields.push((key, Field::Raw(value)));
                }
                // Of duplicate keys the last wins, as when the decoders read the body.
                let mut last: std::collections::HashMap<&str, usize> =
                    std::collections::HashMap::with_capacity(fields.len());
                for (i, (key, _)) in fields.iter().enumerate() {
                    last.insert(key.as_ref(), i);
                }
                if last.len() < fields.len() {
                    let keep: std::collections::HashSet<usize> = last.into_values().collect();
                    let mut i = 0;
                    fields.retain(|_| {
                        i += 1;
                        keep.contains(&(i - 1))
                    });
                }
                Ok(RawFields(fields))
            }
        }
        deserializer
            .deserialize_map(FieldsVisitor)
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_raw_and_in_order() {
        let body = br#"{"model":"m", "messages":[{"a":1.50}], "x\"y":true}"#;
        let mut object = RawObject::parse(body).unwrap();
        assert_eq!(object.raw("messages").unwrap().get(), r#"[{"a":1.50}]"#);
        object.set("model", &"up");
        object.set("max_tokens", &7);
        assert_eq!(
            String::from_utf8(object.to_bytes()).unwrap(),
            r#"{"model":"up","messages":[{"a":1.50}],"x\"y":true,"max_tokens":7}"#
        );
        let mut warnings = Warnings::new();
        object.retain_allowed(|k| k != "x\"y", &mut warnings);
        assert_eq!(warnings.header_value().as_deref(), Some("dropped=x\"y"));
        assert!(RawObject::parse(b"[1]").is_err());
        assert!(RawObject::parse(b"{\"a\":").is_err());
    }

    #[test]
    fn duplicate_keys_keep_the_last() {
        let object = RawObject::parse(br#"{"store":true,"store":false}"#).unwrap();
        assert_eq!(object.get::<bool>("store"), Some(false));
        assert_eq!(object.to_bytes(), br#"{"store":false}"#);
    }
}
