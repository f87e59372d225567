//! Namespace tools: flattened for the canonical model, restored for Responses clients.
//!
//! Codex groups tools in `{"type":"namespace","name":"web_run","tools":[{"type":"function",
//! "name":"run",...}]}` and expects calls back as `{"type":"function_call","namespace":"web_run",
//! "name":"run",...}` (it dispatches on the pair). No other format has namespaces, so the
//! request decoder flattens each nested tool into one canonical tool named
//!
//! ```text
//! flat = namespace + "__" + name      (namespace + name when the namespace already ends in "__",
//!                                      as Codex's MCP namespaces `mcp__server__` do)
//! ```
//!
//! and history calls carrying a `namespace` get the same flat name, so calls and tools match.
//! The answer is mapped back statelessly: the client encoders rebuild the flat → (namespace,
//! name) table from the request's own `tools`, which the decoder copies into `client.echo`.
//! A flat name that is not in the table (an ordinary tool) is left as it is.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The canonical name of tool `name` in namespace `namespace`.
pub fn flat_name(namespace: &str, name: &str) -> String {
    if namespace.ends_with("__") {
        format!("{namespace}{name}")
    } else {
        format!("{namespace}__{name}")
    }
}

/// The canonical name of a call that may carry a namespace.
pub fn call_name(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) if !namespace.is_empty() => flat_name(namespace, name),
        _ => name.to_owned(),
    }
}

/// Flat name → (namespace, nested name), rebuilt from the client's `tools`.
#[derive(Debug, Default, Clone)]
pub struct Namespaces {
    by_flat: HashMap<String, (String, String)>,
}

impl Namespaces {
    /// Reads the namespace tools out of the echoed request fields.
    pub fn from_echo(echo: &Map<String, Value>) -> Namespaces {
        let mut by_flat = HashMap::new();
        let tools = echo.get("tools").and_then(Value::as_array);
        for tool in tools.into_iter().flatten() {
            if tool.get("type").and_then(Value::as_str) != Some("namespace") {
                continue;
            }
            let Some(namespace) = tool.get("name").and_then(Value::as_str) else {
                continue;
            };
            let nested = tool.get("tools").and_then(Value::as_array);
            for name in nested
                .into_iter()
                .flatten()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
            {
                by_flat.insert(
                    flat_name(namespace, name),
                    (namespace.to_owned(), name.to_owned()),
                );
            }
        }
        Namespaces { by_flat }
    }

    /// `(namespace, name)` for a canonical tool name.
    pub fn split<'a>(&'a self, flat: &'a str) -> (Option<&'a str>, &'a str) {
        match self.by_flat.get(flat) {
            Some((namespace, name)) => (Some(namespace.as_str()), name.as_str()),
            None => (None, flat),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flatten_and_restore() {
        assert_eq!(flat_name("web_run", "run"), "web_run__run");
        assert_eq!(flat_name("mcp__github__", "search"), "mcp__github__search");
        assert_eq!(call_name(None, "shell"), "shell");
        assert_eq!(call_name(Some(""), "shell"), "shell");
        assert_eq!(call_name(Some("web_run"), "run"), "web_run__run");

        let echo = json!({"tools": [
            {"type": "function", "name": "shell"},
            {"type": "namespace", "name": "web_run", "description": "d", "tools": [
                {"type": "function", "name": "run"},
                {"type": "custom", "name": "patch"}
            ]},
            {"type": "namespace", "name": "mcp__github__", "tools": [{"type": "function", "name": "search"}]}
        ]});
        let namespaces = Namespaces::from_echo(echo.as_object().unwrap());
        assert_eq!(namespaces.split("web_run__run"), (Some("web_run"), "run"));
        assert_eq!(
            namespaces.split("web_run__patch"),
            (Some("web_run"), "patch")
        );
        assert_eq!(
            namespaces.split("mcp__github__search"),
            (Some("mcp__github__"), "search")
        );
        assert_eq!(namespaces.split("shell"), (None, "shell"));
        assert_eq!(namespaces.split("web_run__other"), (None, "web_run__other"));
    }
}
