//! Web search and web fetch in the Messages format (see `canonical::server_tools`).
//!
//! | Anthropic | canonical |
//! |---|---|
//! | tool `web_search_<date>` / `web_fetch_<date>` | [`Tool::Server`] (`max_uses`, domains, `user_location`) |
//! | `server_tool_use` `{id, name, input}` | [`ServerToolCall`] (`input` as JSON text) |
//! | `web_search_tool_result` `content: [web_search_result…]` or its error | [`ServerToolResult`] with hits (`encrypted_content` as Anthropic state) or the error code |
//! | `web_fetch_tool_result` | [`ServerToolResult`] with the page |
//! | text `citations` `web_search_result_location` | [`Citation`] on the whole block (`encrypted_index` as Anthropic state) |
//! | the same blocks in an assistant turn of history | [`ServerToolRecord`]s, replayed only to Anthropic |
//!
//! Anthropic clients get another vendor's searches in these shapes: call ids get the
//! `srvtoolu_` prefix, and `encrypted_content` / `encrypted_index` (which the SDK types require)
//! a gateway envelope, so such blocks, sent back, are recognised and never reach Anthropic.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::wire::{read, write};
use crate::canonical::reasoning::is_envelope;
use crate::canonical::{
    Citation, FetchedPage, Opaque, Part, SearchHit, ServerTool, ServerToolCall, ServerToolKind,
    ServerToolOutcome, ServerToolRecord, ServerToolResult, Vendor,
};
use crate::translate::Warnings;
use crate::translate::adapt::fit_identifier;
use crate::translate::server_tools::report_unmapped;

/// The settings of a web search or fetch tool the gateway reads; the others (`cache_control`,
/// `allowed_callers`, `citations`, ...) stay in the client's object.
pub const KNOWN_SETTINGS: [&str; 5] = [
    "name",
    "max_uses",
    "allowed_domains",
    "blocked_domains",
    "user_location",
];

/// The tool types the gateway writes for another format's search or fetch.
const WEB_SEARCH_TYPE: &str = "web_search_20250305";
const WEB_FETCH_TYPE: &str = "web_fetch_20250910";
/// The prefix of Anthropic's server tool call ids.
const CALL_ID_PREFIX: &str = "srvtoolu_";
/// Longest id clients get (as for tool-use ids).
const CALL_ID_CHARS: usize = 128;

/// The server tool an Anthropic tool type is: a name and an eight-digit date
/// (`web_search_20250305`, `web_fetch_20260309`).
pub fn kind_of_type(kind: &str) -> Option<ServerToolKind> {
    let (name, date) = kind.rsplit_once('_')?;
    let dated = date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit());
    if dated {
        ServerToolKind::from_name(name)
    } else {
        None
    }
}

/// A server tool as sent to Anthropic: an Anthropic client's own object as it is, anyone
/// else's in the oldest version every Claude model takes. Settings without an Anthropic field
/// are reported.
pub fn encode_tool<'a>(tool: &'a ServerTool, warnings: &mut Warnings) -> Cow<'a, Value> {
    if kind_of_type(&tool.client_type) == Some(tool.kind) {
        return Cow::Borrowed(&tool.raw);
    }
    report_unmapped(tool, warnings);
    let mut object = Map::new();
    let kind = match tool.kind {
        ServerToolKind::WebSearch => WEB_SEARCH_TYPE,
        ServerToolKind::WebFetch => WEB_FETCH_TYPE,
    };
    object.insert("type".into(), json!(kind));
    object.insert("name".into(), json!(tool.kind.name()));
    if let Some(max_uses) = tool.max_uses {
        object.insert("max_uses".into(), json!(max_uses));
    }
    // Anthropic refuses both lists at once: the allowed ones are the stricter.
    if !tool.allowed_domains.is_empty() {
        object.insert("allowed_domains".into(), json!(tool.allowed_domains));
        if !tool.blocked_domains.is_empty() {
            warnings.dropped(format!("tools({}).blocked_domains", tool.client_type));
        }
    } else if !tool.blocked_domains.is_empty() {
        object.insert("blocked_domains".into(), json!(tool.blocked_domains));
    }
    if let Some(location) = tool.user_location.as_ref().filter(|l| !l.is_empty()) {
        if tool.kind == ServerToolKind::WebSearch {
            object.insert("user_location".into(), location.approximate_json());
        } else {
            warnings.dropped(format!("tools({}).user_location", tool.client_type));
        }
    }
    Cow::Owned(Value::Object(object))
}

// ---- history

/// The block types of server tool calls and results in an assistant turn.
pub fn is_history_block(kind: &str) -> bool {
    matches!(
        kind,
        "server_tool_use" | "web_search_tool_result" | "web_fetch_tool_result"
    )
}

/// A past server tool block as a record: Anthropic's own, or (when it carries a gateway
/// envelope) one the gateway made from another vendor's search. `None` for other server tools
/// (code execution, ...), which the gateway does not carry.
pub fn record(kind: &str, block: Value) -> Option<Part> {
    let (tool, vendor) = match kind {
        "server_tool_use" => {
            let name = block.get("name").and_then(Value::as_str)?;
            (ServerToolKind::from_name(name)?, Vendor::Anthropic)
        }
        "web_search_tool_result" => (ServerToolKind::WebSearch, sealed_by(&block)),
        "web_fetch_tool_result" => (ServerToolKind::WebFetch, Vendor::Anthropic),
        _ => return None,
    };
    Some(Part::ServerTool(ServerToolRecord {
        vendor,
        kind: tool,
        raw: block,
    }))
}

/// Whose state a search result block's `encrypted_content` holds: an envelope's vendor (the
/// gateway's when it cannot be read), else Anthropic's.
fn sealed_by(block: &Value) -> Vendor {
    let first = block
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|hit| hit.get("encrypted_content").and_then(Value::as_str));
    match first {
        Some(data) if is_envelope(data) => {
            Opaque::from_client(data, None).map_or(Vendor::Gateway, |(opaque, _)| opaque.vendor)
        }
        Some(_) | None => Vendor::Anthropic,
    }
}

/// Gives a call record the vendor of the result that answers it, so a call whose result the
/// gateway made is never replayed to Anthropic without it.
pub fn pair_records(parts: &mut [Part]) {
    let foreign: Vec<String> = parts
        .iter()
        .filter_map(|part| match part {
            Part::ServerTool(record) if record.vendor != Vendor::Anthropic => record
                .raw
                .get("tool_use_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        })
        .collect();
    if foreign.is_empty() {
        return;
    }
    for part in parts {
        if let Part::ServerTool(record) = part
            && record.raw.get("type").and_then(Value::as_str) == Some("server_tool_use")
            && record
                .raw
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| foreign.iter().any(|f| f == id))
        {
            record.vendor = Vendor::Gateway;
        }
    }
}

// ---- answers from Anthropic

/// A `server_tool_use` block; `None` for server tools the gateway does not carry.
pub fn call(id: String, name: &str, input: &Value) -> Option<ServerToolCall> {
    Some(ServerToolCall {
        id,
        kind: ServerToolKind::from_name(name)?,
        input: match input {
            Value::Object(map) if map.is_empty() => String::new(),
            Value::Null => String::new(),
            input => input.to_string(),
        },
    })
}

/// A `web_search_tool_result` (`kind` search) or `web_fetch_tool_result` (`kind` fetch).
pub fn result(kind: ServerToolKind, call_id: String, content: &Value) -> ServerToolResult {
    let outcome = match (kind, content) {
        (_, Value::Object(map)) if map.contains_key("error_code") => ServerToolOutcome::Error(
            map.get("error_code")
                .and_then(Value::as_str)
                .unwrap_or("unavailable")
                .to_owned(),
        ),
        (ServerToolKind::WebSearch, Value::Array(hits)) => {
            ServerToolOutcome::Hits(hits.iter().filter_map(hit).collect())
        }
        (ServerToolKind::WebFetch, Value::Object(map)) => ServerToolOutcome::Page(FetchedPage {
            url: text_field(map, "url").unwrap_or_default(),
            retrieved_at: text_field(map, "retrieved_at"),
            document: map.get("content").cloned(),
        }),
        _ => ServerToolOutcome::Error("unavailable".to_owned()),
    };
    ServerToolResult {
        call_id,
        kind,
        outcome,
    }
}

fn text_field(map: &Map<String, Value>, field: &str) -> Option<String> {
    map.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn hit(value: &Value) -> Option<SearchHit> {
    let map = value.as_object()?;
    Some(SearchHit {
        url: text_field(map, "url")?,
        title: text_field(map, "title"),
        page_age: text_field(map, "page_age"),
        opaque: text_field(map, "encrypted_content")
            .filter(|data| !data.is_empty())
            .map(|data| Opaque {
                vendor: Vendor::Anthropic,
                data,
            }),
    })
}

/// A text block's citation; `None` for citations that point at no URL (documents).
pub fn citation(citation: read::TextCitation) -> Option<Citation> {
    match citation {
        read::TextCitation::WebSearchResultLocation {
            url,
            title,
            cited_text,
            encrypted_index,
        } => Some(Citation {
            url,
            title,
            cited_text,
            span: None,
            opaque: encrypted_index
                .filter(|data| !data.is_empty())
                .map(|data| Opaque {
                    vendor: Vendor::Anthropic,
                    data,
                }),
        }),
        read::TextCitation::Other => None,
    }
}

// ---- answers to Anthropic clients

/// The id an Anthropic client sees for a server tool call (and its result's `tool_use_id`).
pub fn client_call_id(id: &str) -> String {
    if id.starts_with(CALL_ID_PREFIX) {
        fit_identifier(id, CALL_ID_CHARS)
    } else {
        let room = CALL_ID_CHARS.saturating_sub(CALL_ID_PREFIX.len());
        format!("{CALL_ID_PREFIX}{}", fit_identifier(id, room))
    }
}

/// A call as a `server_tool_use` block (`input` an object, as clients parse it).
pub fn call_block(id: &str, kind: ServerToolKind, input: &str) -> write::ContentBlock<'static> {
    write::ContentBlock::ServerToolUse {
        id: client_call_id(id),
        name: kind.name(),
        input: match serde_json::from_str::<Value>(input) {
            Ok(value @ Value::Object(_)) => value,
            _ => Value::Object(Map::new()),
        },
    }
}

/// A result as a `web_search_tool_result` or `web_fetch_tool_result` block.
pub fn result_block(result: &ServerToolResult) -> write::ContentBlock<'_> {
    let tool_use_id = client_call_id(&result.call_id);
    match (&result.outcome, result.kind) {
        (ServerToolOutcome::Hits(hits), _) => write::ContentBlock::WebSearchToolResult {
            tool_use_id,
            content: write::WebSearchContent::Results(hits.iter().map(search_result).collect()),
        },
        (ServerToolOutcome::Error(code), ServerToolKind::WebSearch) => {
            write::ContentBlock::WebSearchToolResult {
                tool_use_id,
                content: write::WebSearchContent::Error(write::ToolResultError {
                    kind: "web_search_tool_result_error",
                    error_code: code,
                }),
            }
        }
        (ServerToolOutcome::Error(code), ServerToolKind::WebFetch) => {
            write::ContentBlock::WebFetchToolResult {
                tool_use_id,
                content: json!({"type": "web_fetch_tool_result_error", "error_code": code}),
            }
        }
        (ServerToolOutcome::Page(page), _) => {
            let mut content = Map::new();
            content.insert("type".into(), json!("web_fetch_result"));
            content.insert("url".into(), json!(page.url));
            if let Some(at) = &page.retrieved_at {
                content.insert("retrieved_at".into(), json!(at));
            }
            if let Some(document) = &page.document {
                content.insert("content".into(), document.clone());
            }
            write::ContentBlock::WebFetchToolResult {
                tool_use_id,
                content: Value::Object(content),
            }
        }
    }
}

fn search_result(hit: &SearchHit) -> write::WebSearchResult<'_> {
    write::WebSearchResult {
        url: &hit.url,
        // Responses reports bare URLs; the SDK types want a title.
        title: hit.title.as_deref().unwrap_or(&hit.url),
        encrypted_content: sealed(hit.opaque.as_ref()),
        page_age: hit.page_age.as_deref(),
    }
}

/// Anthropic's own state as it is; anything else a gateway envelope (never sent upstream).
fn sealed(opaque: Option<&Opaque>) -> String {
    let gateway = Opaque {
        vendor: Vendor::Gateway,
        data: String::new(),
    };
    opaque
        .filter(|opaque| opaque.vendor == Vendor::Anthropic)
        .unwrap_or(&gateway)
        .to_client(Some(Vendor::Anthropic), None)
}

/// A citation as a text block's `web_search_result_location`.
pub fn client_citation(citation: &Citation) -> write::TextCitation<'_> {
    write::TextCitation {
        url: &citation.url,
        title: citation.title.as_deref(),
        encrypted_index: sealed(citation.opaque.as_ref()),
        cited_text: citation.cited_text.as_deref().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::UserLocation;

    #[test]
    fn dated_types_are_server_tools_and_nothing_else_is() {
        assert_eq!(
            kind_of_type("web_search_20250305"),
            Some(ServerToolKind::WebSearch)
        );
        assert_eq!(
            kind_of_type("web_fetch_20260309"),
            Some(ServerToolKind::WebFetch)
        );
        for other in [
            "web_search",
            "web_search_preview",
            "code_execution_20250825",
            "web_search_2025",
        ] {
            assert_eq!(kind_of_type(other), None, "{other}");
        }
    }

    #[test]
    fn another_formats_search_becomes_the_oldest_dated_tool() {
        let mut tool = ServerTool::new(
            ServerToolKind::WebSearch,
            "web_search",
            json!({"type": "web_search"}),
        );
        tool.allowed_domains = vec!["example.com".into()];
        tool.blocked_domains = vec!["spam.example".into()];
        tool.user_location = Some(UserLocation {
            country: Some("FR".into()),
            city: Some("Paris".into()),
            ..UserLocation::default()
        });
        let mut warnings = Warnings::new();
        assert_eq!(
            encode_tool(&tool, &mut warnings).into_owned(),
            json!({"type": "web_search_20250305", "name": "web_search",
                   "allowed_domains": ["example.com"],
                   "user_location": {"type": "approximate", "city": "Paris", "country": "FR"}})
        );
        assert_eq!(
            warnings.header_value().as_deref(),
            Some("dropped=tools(web_search).blocked_domains")
        );
        let own = ServerTool::new(
            ServerToolKind::WebSearch,
            "web_search_20260209",
            json!({"type": "web_search_20260209", "name": "web_search", "allowed_callers": ["direct"]}),
        );
        assert!(matches!(
            encode_tool(&own, &mut Warnings::new()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn client_ids_carry_anthropics_prefix_once() {
        assert_eq!(client_call_id("srvtoolu_01A"), "srvtoolu_01A");
        assert_eq!(client_call_id("ws_68ab"), "srvtoolu_ws_68ab");
    }

    #[test]
    fn results_and_errors_read_both_ways() {
        let hits = result(
            ServerToolKind::WebSearch,
            "srvtoolu_1".into(),
            &json!([{"type": "web_search_result", "url": "https://a.example", "title": "A",
                     "encrypted_content": "Eq1", "page_age": null}]),
        );
        let ServerToolOutcome::Hits(found) = &hits.outcome else {
            panic!("{hits:?}")
        };
        assert_eq!(found[0].opaque.as_ref().unwrap().data, "Eq1");
        let block = serde_json::to_value(result_block(&hits)).unwrap();
        assert_eq!(block["content"][0]["encrypted_content"], "Eq1");
        assert_eq!(block["tool_use_id"], "srvtoolu_1");

        let error = result(
            ServerToolKind::WebSearch,
            "ws_1".into(),
            &json!({"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}),
        );
        assert_eq!(
            error.outcome,
            ServerToolOutcome::Error("max_uses_exceeded".into())
        );
        assert_eq!(
            serde_json::to_value(result_block(&error)).unwrap(),
            json!({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_ws_1",
                   "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}})
        );
    }

    #[test]
    fn records_the_gateway_made_are_recognised_with_their_calls() {
        let foreign_hit = Opaque {
            vendor: Vendor::Gateway,
            data: String::new(),
        }
        .to_client(Some(Vendor::Anthropic), None);
        let mut parts: Vec<Part> = [
            ("server_tool_use", json!({"type": "server_tool_use", "id": "srvtoolu_ws_1", "name": "web_search", "input": {}})),
            ("web_search_tool_result", json!({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_ws_1",
                "content": [{"type": "web_search_result", "url": "u", "title": "t", "encrypted_content": foreign_hit}]})),
            ("server_tool_use", json!({"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {}})),
            ("web_search_tool_result", json!({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01",
                "content": [{"type": "web_search_result", "url": "u", "title": "t", "encrypted_content": "Eq"}]})),
        ]
        .into_iter()
        .filter_map(|(kind, block)| record(kind, block))
        .collect();
        pair_records(&mut parts);
        let vendors: Vec<Vendor> = parts
            .iter()
            .map(|part| match part {
                Part::ServerTool(record) => record.vendor,
                _ => panic!(),
            })
            .collect();
        assert_eq!(
            vendors,
            [
                Vendor::Gateway,
                Vendor::Gateway,
                Vendor::Anthropic,
                Vendor::Anthropic
            ]
        );
        assert!(record("server_tool_use", json!({"name": "code_execution"})).is_none());
    }
}
