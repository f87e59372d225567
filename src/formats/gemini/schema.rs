//! Tool and answer schemas between Gemini and JSON Schema.
//!
//! Gemini clients describe parameters either in JSON Schema (`parametersJsonSchema`,
//! `responseJsonSchema`) or in Google's OpenAPI-style `Schema` (`parameters`,
//! `responseSchema`: upper-case `type`, `nullable`, `propertyOrdering`). The canonical model
//! holds JSON Schema, so [`from_google`] converts the latter.
//!
//! Google also takes its own upper-case type names inside JSON Schema, and Gemini CLI relies on
//! that: its structured-output side calls (the model router's classifier, ...) send
//! `responseJsonSchema` with `"type": "OBJECT"`. Other vendors refuse such a schema, so
//! [`lowercase_types`] writes those names as JSON Schema spells them.
//!
//! Gemini upstreams take JSON Schema but only a subset of its keywords; [`for_gemini`] keeps
//! that subset (`const` becomes a one-value `enum`), so a schema written for another vendor
//! (with `$schema`, `additionalProperties: false`, `strict`, `pattern`, ...) is not refused.

use serde_json::{Map, Value, json};

/// JSON Schema keywords Gemini's `parametersJsonSchema` takes.
const GEMINI_KEYWORDS: [&str; 19] = [
    "$id",
    "$defs",
    "$ref",
    "$anchor",
    "type",
    "format",
    "title",
    "description",
    "enum",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "anyOf",
    "oneOf",
    "properties",
    "additionalProperties",
];

/// A Google `Schema` as JSON Schema.
pub fn from_google(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::with_capacity(map.len());
    let nullable = map.get("nullable").and_then(Value::as_bool) == Some(true);
    for (key, value) in map {
        match key.as_str() {
            "nullable" | "propertyOrdering" => {}
            "type" => {
                let kind = value
                    .as_str()
                    .map_or_else(|| value.clone(), |t| json!(t.to_ascii_lowercase()));
                out.insert(
                    key.clone(),
                    if nullable {
                        json!([kind, "null"])
                    } else {
                        kind
                    },
                );
            }
            "properties" => {
                out.insert(key.clone(), map_values(value, from_google));
            }
            "items" => {
                out.insert(key.clone(), from_google(value));
            }
            "anyOf" | "oneOf" | "allOf" => {
                out.insert(key.clone(), array_values(value, from_google));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// JSON Schema's type names, which Google's upper-case ones (`OBJECT`, `STRING`, ...) map to.
const JSON_TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// A JSON Schema from a Gemini client with every `type` name in JSON Schema's spelling
/// (`"OBJECT"` becomes `"object"`), in the schema and all its subschemas. Values (`enum`,
/// `const`, `default`, ...) and unknown type names are left as they are.
pub fn lowercase_types(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::with_capacity(map.len());
    for (key, value) in map {
        let value = match key.as_str() {
            "type" => match value {
                Value::String(name) => Value::String(json_type_name(name)),
                Value::Array(names) => Value::Array(
                    names
                        .iter()
                        .map(|name| match name {
                            Value::String(name) => Value::String(json_type_name(name)),
                            other => other.clone(),
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                map_values(value, lowercase_types)
            }
            "items"
            | "additionalItems"
            | "additionalProperties"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "contains"
            | "propertyNames"
            | "not"
            | "if"
            | "then"
            | "else" => match value {
                Value::Array(_) => array_values(value, lowercase_types),
                other => lowercase_types(other),
            },
            "prefixItems" | "anyOf" | "oneOf" | "allOf" => array_values(value, lowercase_types),
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

/// `name` in JSON Schema's spelling if it is a type name in any case, else unchanged.
fn json_type_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if JSON_TYPES.contains(&lower.as_str()) {
        lower
    } else {
        name.to_owned()
    }
}

/// A JSON Schema reduced to what Gemini takes.
pub fn for_gemini(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return json!({"type": "object", "properties": {}});
    };
    clean(map)
}

fn clean(map: &Map<String, Value>) -> Value {
    let mut out = Map::with_capacity(map.len());
    for (key, value) in map {
        match key.as_str() {
            "properties" | "$defs" => {
                out.insert(key.clone(), map_values(value, clean_value));
            }
            "items" => {
                out.insert(key.clone(), clean_value(value));
            }
            "additionalProperties" if value.is_object() => {
                out.insert(key.clone(), clean_value(value));
            }
            "prefixItems" | "anyOf" | "oneOf" => {
                out.insert(key.clone(), array_values(value, clean_value));
            }
            "const" if !map.contains_key("enum") => {
                out.insert("enum".to_owned(), json!([value]));
            }
            "required" | "propertyOrdering" => {
                out.insert(key.clone(), value.clone());
            }
            other if GEMINI_KEYWORDS.contains(&other) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}

fn clean_value(value: &Value) -> Value {
    match value {
        Value::Object(map) => clean(map),
        other => other.clone(),
    }
}

fn map_values(value: &Value, f: fn(&Value) -> Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), f(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn array_values(value: &Value, f: fn(&Value) -> Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(f).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_schemas_become_json_schema() {
        let google = json!({
            "type": "OBJECT",
            "properties": {
                "city": {"type": "STRING", "description": "City"},
                "days": {"type": "INTEGER", "nullable": true},
                "tags": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["a", "b"]}}
            },
            "required": ["city"],
            "propertyOrdering": ["city", "days", "tags"]
        });
        assert_eq!(
            from_google(&google),
            json!({
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City"},
                    "days": {"type": ["integer", "null"]},
                    "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}
                },
                "required": ["city"]
            })
        );
    }

    #[test]
    fn upper_case_type_names_in_json_schema_are_spelled_as_json_schema_does() {
        // The schema Gemini CLI 0.61's model router sends as `responseJsonSchema`, with a few
        // more places a type can sit.
        let schema = json!({
            "type": "OBJECT",
            "properties": {
                "complexity_reasoning": {"type": "STRING", "description": "Brief explanation."},
                "complexity_score": {"type": "INTEGER"},
                "type": {"type": "String", "enum": ["OBJECT"], "default": {"type": "ARRAY"}},
                "tags": {"type": ["ARRAY", "NULL"], "items": {"type": "STRING"}},
                "either": {"anyOf": [{"type": "NUMBER"}, {"type": "BOOLEAN"}]},
                "map": {"type": "OBJECT", "additionalProperties": {"type": "STRING"}},
                "odd": {"type": "DECIMAL"}
            },
            "$defs": {"id": {"type": "INTEGER"}},
            "required": ["complexity_reasoning", "complexity_score"]
        });
        assert_eq!(
            lowercase_types(&schema),
            json!({
                "type": "object",
                "properties": {
                    "complexity_reasoning": {"type": "string", "description": "Brief explanation."},
                    "complexity_score": {"type": "integer"},
                    "type": {"type": "string", "enum": ["OBJECT"], "default": {"type": "ARRAY"}},
                    "tags": {"type": ["array", "null"], "items": {"type": "string"}},
                    "either": {"anyOf": [{"type": "number"}, {"type": "boolean"}]},
                    "map": {"type": "object", "additionalProperties": {"type": "string"}},
                    "odd": {"type": "DECIMAL"}
                },
                "$defs": {"id": {"type": "integer"}},
                "required": ["complexity_reasoning", "complexity_score"]
            })
        );
        // A schema already in JSON Schema's spelling is unchanged.
        let plain = json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}}});
        assert_eq!(lowercase_types(&plain), plain);
        assert_eq!(lowercase_types(&json!(true)), json!(true));
    }

    #[test]
    fn schemas_keep_only_what_gemini_takes() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "strict": true,
            "properties": {
                "path": {"type": "string", "pattern": "^/", "minLength": 1},
                "mode": {"const": "fast"},
                "opts": {"type": "object", "additionalProperties": {"type": "string", "default": "x"}},
                "properties": {"type": "string"}
            },
            "required": ["path"]
        });
        assert_eq!(
            for_gemini(&schema),
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "path": {"type": "string"},
                    "mode": {"enum": ["fast"]},
                    "opts": {"type": "object", "additionalProperties": {"type": "string"}},
                    "properties": {"type": "string"}
                },
                "required": ["path"]
            })
        );
        assert_eq!(
            for_gemini(&json!(true)),
            json!({"type": "object", "properties": {}})
        );
    }
}
