//! Web search in the Responses format (see `canonical::server_tools`).
//!
//! | Responses | canonical |
//! |---|---|
//! | tool `web_search` (`web_search_preview`, dated versions) | [`Tool::Server`]: `filters.allowed_domains`, `user_location` |
//! | one `web_search_call` item | a [`ServerToolCall`] (`action.query` as `{"query": …}`, or the page an `open_page` / `find_in_page` action read) and its [`ServerToolResult`] (`action.sources` as hits; a `failed` call as an error) |
//! | `url_citation` annotations of an `output_text` part | [`Citation`]s with their character span |
//! | past `web_search_call` items in `input` | [`ServerToolRecord`]s, replayed only to Responses upstreams |
//!
//! Responses has no search counter in its usage: the answer's `web_search_call` items are
//! counted instead. Its sources are bare URLs, so hits have no title (Anthropic clients get the
//! URL as the title); upstream requests ask for the sources with
//! `include: ["web_search_call.action.sources"]`.

use serde_json::{Map, Value, json};

use super::wire::{Annotation, AnnotationOut, WebSearchCallOut};
use crate::canonical::{
    Citation, SearchHit, ServerTool, ServerToolCall, ServerToolKind, ServerToolOutcome,
    ServerToolResult,
};
use crate::translate::Warnings;
use crate::translate::server_tools::report_unmapped;

/// What upstream requests with a web search ask to get back: the pages each search found.
pub const SOURCES: &str = "web_search_call.action.sources";

/// Anthropic's `cited_text` is at most this long; a span of the answer stands in for it.
const CITED_TEXT_CHARS: usize = 150;

/// Whether a Responses tool type is a web search: `web_search`, `web_search_preview` and their
/// dated versions (`web_search_2025_08_26`, `web_search_preview_2025_03_11`). Anthropic's
/// `web_search_20250305` is not one.
pub fn is_search_type(kind: &str) -> bool {
    let Some(rest) = kind.strip_prefix("web_search") else {
        return false;
    };
    let rest = rest.strip_prefix("_preview").unwrap_or(rest);
    match rest.strip_prefix('_') {
        None => rest.is_empty(),
        Some(date) => is_dashed_date(date),
    }
}

/// `YYYY_MM_DD`.
fn is_dashed_date(date: &str) -> bool {
    let mut fields = date.split('_');
    let widths = [4, 2, 2];
    widths.iter().all(|width| {
        fields
            .next()
            .is_some_and(|field| field.len() == *width && field.bytes().all(|b| b.is_ascii_digit()))
    }) && fields.next().is_none()
}

/// The settings of a Responses web search the gateway reads.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchParams {
    pub filters: Option<Filters>,
    pub user_location: Option<Location>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    pub allowed_domains: Option<Vec<String>>,
}

/// `{"type": "approximate", "city", "region", "country", "timezone"}` (flat).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Location {
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub timezone: Option<String>,
}

/// A web search tool with its settings read.
pub fn decode_tool(kind: String, raw: Value, params: SearchParams) -> ServerTool {
    let mut tool = ServerTool::new(ServerToolKind::WebSearch, kind, raw);
    tool.unmapped = ServerTool::unmapped_fields(&tool.raw, &["filters", "user_location"]);
    tool.allowed_domains = params
        .filters
        .and_then(|filters| filters.allowed_domains)
        .unwrap_or_default();
    tool.user_location = params
        .user_location
        .map(|place| crate::canonical::UserLocation {
            city: place.city,
            region: place.region,
            country: place.country,
            timezone: place.timezone,
        });
    tool
}

/// A server tool as sent to OpenAI: a Responses client's own object as it is, another
/// format's search as `web_search`. `None` for what OpenAI has no tool for (a fetch).
/// Settings without a Responses field are reported.
pub fn encode_tool(tool: &ServerTool, warnings: &mut Warnings) -> Option<Value> {
    if tool.kind != ServerToolKind::WebSearch {
        return None;
    }
    if is_search_type(&tool.client_type) {
        return Some(tool.raw.clone());
    }
    report_unmapped(tool, warnings);
    let mut object = Map::new();
    object.insert("type".into(), json!("web_search"));
    if !tool.allowed_domains.is_empty() {
        object.insert(
            "filters".into(),
            json!({ "allowed_domains": tool.allowed_domains }),
        );
    }
    if !tool.blocked_domains.is_empty() {
        warnings.dropped(format!("tools({}).blocked_domains", tool.client_type));
    }
    if let Some(location) = tool.user_location.as_ref().filter(|l| !l.is_empty()) {
        object.insert("user_location".into(), location.approximate_json());
    }
    Some(Value::Object(object))
}

// ---- answers from OpenAI

/// A `web_search_call` item as a call and its result.
pub fn call_and_result(
    id: String,
    status: Option<&str>,
    action: Option<&Value>,
) -> (ServerToolCall, ServerToolResult) {
    let input = action.map(call_input).unwrap_or_default();
    let outcome = match status {
        Some("failed") => ServerToolOutcome::Error("unavailable".to_owned()),
        _ => ServerToolOutcome::Hits(action.map(sources).unwrap_or_default()),
    };
    let result = ServerToolResult {
        call_id: id.clone(),
        kind: ServerToolKind::WebSearch,
        outcome,
    };
    let call = ServerToolCall {
        id,
        kind: ServerToolKind::WebSearch,
        input,
    };
    (call, result)
}

/// The call's input: what was searched (`{"query": …}`, Anthropic's shape), or the page an
/// `open_page` / `find_in_page` action read (`{"url": …, "pattern"?: …}`).
fn call_input(action: &Value) -> String {
    let text = |field: &str| action.get(field).and_then(Value::as_str);
    let query = text("query").or_else(|| {
        action
            .get("queries")
            .and_then(Value::as_array)
            .and_then(|queries| queries.first())
            .and_then(Value::as_str)
    });
    let mut input = Map::new();
    match (query, text("url")) {
        (Some(query), _) => {
            input.insert("query".into(), json!(query));
        }
        (None, Some(url)) => {
            input.insert("url".into(), json!(url));
            if let Some(pattern) = text("pattern") {
                input.insert("pattern".into(), json!(pattern));
            }
        }
        (None, None) => return String::new(),
    }
    Value::Object(input).to_string()
}

fn sources(action: &Value) -> Vec<SearchHit> {
    action
        .get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|source| source.get("url").and_then(Value::as_str))
        .map(|url| SearchHit {
            url: url.to_owned(),
            title: None,
            page_age: None,
            opaque: None,
        })
        .collect()
}

/// A `url_citation` of `text` (the part's text so far) as a citation of its span; `None` for
/// other annotations.
pub fn citation(annotation: Annotation, text: &str) -> Option<Citation> {
    let Annotation::UrlCitation {
        start_index,
        end_index,
        url,
        title,
    } = annotation
    else {
        return None;
    };
    let end = end_index.max(start_index);
    let cited: String = text
        .chars()
        .skip(start_index)
        .take((end - start_index).min(CITED_TEXT_CHARS))
        .collect();
    Some(Citation {
        url,
        title,
        cited_text: (!cited.is_empty()).then_some(cited),
        span: Some((start_index, end)),
        opaque: None,
    })
}

// ---- answers to Responses clients

/// A `web_search_call` item: `in_progress` without an action while the call streams, then
/// `completed` (or `failed`) with what was searched and the pages found.
pub fn search_item(
    id: String,
    call: Option<&ServerToolCall>,
    result: Option<&ServerToolResult>,
    done: bool,
) -> WebSearchCallOut {
    let status = match result.map(|r| &r.outcome) {
        Some(ServerToolOutcome::Error(_)) => "failed",
        _ if done => "completed",
        _ => "in_progress",
    };
    WebSearchCallOut {
        id,
        kind: "web_search_call",
        status,
        action: done.then(|| action(call, result)),
    }
}

fn action(call: Option<&ServerToolCall>, result: Option<&ServerToolResult>) -> Value {
    let input: Value = call
        .and_then(|call| serde_json::from_str(&call.input).ok())
        .unwrap_or(Value::Null);
    let text = |field: &str| input.get(field).and_then(Value::as_str);
    // A fetch (Anthropic's) reads one page, as an `open_page` action does.
    let page = match result.map(|r| &r.outcome) {
        Some(ServerToolOutcome::Page(page)) => Some(page.url.as_str()),
        _ => None,
    };
    let mut action = Map::new();
    match (text("query"), text("url").or(page)) {
        (None, Some(url)) => {
            action.insert("type".into(), json!("open_page"));
            action.insert("url".into(), json!(url));
            if let Some(pattern) = text("pattern") {
                action.insert("type".into(), json!("find_in_page"));
                action.insert("pattern".into(), json!(pattern));
            }
        }
        (query, _) => {
            action.insert("type".into(), json!("search"));
            action.insert("query".into(), json!(query.unwrap_or_default()));
            if let Some(ServerToolOutcome::Hits(hits)) = result.map(|r| &r.outcome) {
                let sources: Vec<Value> = hits
                    .iter()
                    .map(|hit| json!({"type": "url", "url": hit.url}))
                    .collect();
                action.insert("sources".into(), Value::Array(sources));
            }
        }
    }
    Value::Object(action)
}

/// A citation of a part whose text is `chars` characters long, as a `url_citation`: its span,
/// or the whole part when it cites the whole block.
pub fn annotation(citation: &Citation, chars: usize) -> AnnotationOut {
    let (start_index, end_index) = citation.span.unwrap_or((0, chars));
    AnnotationOut {
        start_index,
        end_index,
        url: citation.url.clone(),
        title: citation
            .title
            .clone()
            .unwrap_or_else(|| citation.url.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_types_are_told_from_other_tools() {
        for kind in [
            "web_search",
            "web_search_preview",
            "web_search_preview_2025_03_11",
            "web_search_2025_08_26",
        ] {
            assert!(is_search_type(kind), "{kind}");
        }
        for kind in [
            "file_search",
            "web_search_20250305",
            "web_search_20250305x",
            "websearch",
            "web_search_preview_2025_03",
            "web_searchx",
        ] {
            assert!(!is_search_type(kind), "{kind}");
        }
    }

    #[test]
    fn items_read_as_calls_with_results_and_back() {
        let action = json!({"type": "search", "query": "weather NYC",
            "sources": [{"type": "url", "url": "https://weather.example/nyc"}]});
        let (call, result) = call_and_result("ws_1".into(), Some("completed"), Some(&action));
        assert_eq!(call.input, r#"{"query":"weather NYC"}"#);
        let item = search_item("ws_x".into(), Some(&call), Some(&result), true);
        assert_eq!(item.status, "completed");
        assert_eq!(
            item.action,
            Some(json!({"type": "search", "query": "weather NYC",
                "sources": [{"type": "url", "url": "https://weather.example/nyc"}]}))
        );
        let open = json!({"type": "open_page", "url": "https://a.example"});
        let (call, result) = call_and_result("ws_2".into(), Some("completed"), Some(&open));
        assert_eq!(call.input, r#"{"url":"https://a.example"}"#);
        assert_eq!(
            search_item("ws_y".into(), Some(&call), Some(&result), true).action,
            Some(open)
        );
        let (_, failed) = call_and_result("ws_3".into(), Some("failed"), None);
        assert_eq!(
            search_item("ws_z".into(), None, Some(&failed), true).status,
            "failed"
        );
    }

    #[test]
    fn citations_keep_their_span_and_quote_it() {
        let text = "Il fait 24°C à New York.";
        let citation = citation(
            Annotation::UrlCitation {
                start_index: 8,
                end_index: 12,
                url: "https://w.example".into(),
                title: None,
            },
            text,
        )
        .unwrap();
        assert_eq!(citation.cited_text.as_deref(), Some("24°C"));
        assert_eq!(citation.span, Some((8, 12)));
        let out = annotation(&citation, text.chars().count());
        assert_eq!((out.start_index, out.end_index), (8, 12));
        assert_eq!(out.title, "https://w.example");
    }
}
