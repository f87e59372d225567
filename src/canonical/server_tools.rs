//! Tools the vendor runs inside the call (web search and web fetch): how a request asks for
//! them, how an answer reports their calls, results and the citations they back, and how they
//! sit in a conversation's history.
//!
//! | vendor | search | fetch | citations |
//! |---|---|---|---|
//! | Anthropic | `web_search_*` tool; `server_tool_use` + `web_search_tool_result` blocks | `web_fetch_*`; `web_fetch_tool_result` | `citations` on text blocks (`web_search_result_location`) |
//! | OpenAI Responses | `web_search` (`web_search_preview`) tool; one `web_search_call` item | none | `url_citation` annotations with character offsets |
//! | Gemini | `googleSearch` tool; `groundingMetadata` (queries, chunks) | none that maps (`urlContext` returns no page) | `groundingSupports` segments |
//!
//! Answers carry them as [`ServerToolCall`] and [`ServerToolResult`] blocks and [`Citation`]s
//! on text blocks, which every client format renders its own way. History is another matter:
//! a vendor takes back only what it made itself (Anthropic checks `encrypted_content`), so past
//! calls and results travel as [`ServerToolRecord`]s that only their own vendor's upstreams get.

use serde_json::Value;

use super::reasoning::{Opaque, Vendor};

/// What a server tool does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerToolKind {
    /// Searches the web and returns pages (titles and URLs) the answer can cite.
    WebSearch,
    /// Fetches a page named in the conversation.
    WebFetch,
}

impl ServerToolKind {
    pub const ALL: [ServerToolKind; 2] = [ServerToolKind::WebSearch, ServerToolKind::WebFetch];

    /// The name the gateway's config, warnings and errors use (also Anthropic's tool name).
    pub fn name(self) -> &'static str {
        match self {
            ServerToolKind::WebSearch => "web_search",
            ServerToolKind::WebFetch => "web_fetch",
        }
    }

    pub fn from_name(name: &str) -> Option<ServerToolKind> {
        ServerToolKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// A server tool a request offers the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTool {
    pub kind: ServerToolKind,
    /// The tool's `type` as the client sent it (`web_search_20250305`, `web_search_preview`,
    /// `googleSearch`): an upstream of the client's own format takes the client's object.
    pub client_type: String,
    /// The client's whole tool object.
    pub raw: Value,
    /// The most calls of this tool in one answer (Anthropic `max_uses`).
    pub max_uses: Option<u64>,
    /// Only pages from these domains (bare domains, no scheme).
    pub allowed_domains: Vec<String>,
    /// Never pages from these domains.
    pub blocked_domains: Vec<String>,
    /// Where the user is, to localise results.
    pub user_location: Option<UserLocation>,
    /// Settings the client set that no other format has (Responses `search_context_size`,
    /// Anthropic `allowed_callers`, ...): an upstream of another format gets the tool without
    /// them, and the answer says so.
    pub unmapped: Vec<String>,
}

impl ServerTool {
    /// A tool of `kind` with nothing but the client's object.
    pub fn new(kind: ServerToolKind, client_type: impl Into<String>, raw: Value) -> ServerTool {
        ServerTool {
            kind,
            client_type: client_type.into(),
            raw,
            max_uses: None,
            allowed_domains: Vec::new(),
            blocked_domains: Vec::new(),
            user_location: None,
            unmapped: Vec::new(),
        }
    }

    /// The names of `raw`'s fields other than `type` and `known` (the settings a format's
    /// decoder reads into the canonical fields).
    pub fn unmapped_fields(raw: &Value, known: &[&str]) -> Vec<String> {
        raw.as_object()
            .into_iter()
            .flat_map(|object| object.keys())
            .filter(|key| *key != "type" && !known.contains(&key.as_str()))
            .cloned()
            .collect()
    }
}

/// An approximate user location (every vendor's shape has these four fields).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserLocation {
    pub city: Option<String>,
    pub region: Option<String>,
    /// Two-letter ISO country code.
    pub country: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
}

impl UserLocation {
    pub fn is_empty(&self) -> bool {
        *self == UserLocation::default()
    }

    /// `{"type": "approximate", city, region, country, timezone}` with the fields it has: the
    /// shape Anthropic and OpenAI both take.
    pub fn approximate_json(&self) -> serde_json::Value {
        let mut place = serde_json::Map::new();
        place.insert("type".into(), "approximate".into());
        for (field, value) in [
            ("city", &self.city),
            ("region", &self.region),
            ("country", &self.country),
            ("timezone", &self.timezone),
        ] {
            if let Some(value) = value {
                place.insert(field.into(), value.as_str().into());
            }
        }
        serde_json::Value::Object(place)
    }
}

/// A past server tool call or result in an assistant turn, as the vendor that ran it wrote it
/// (an Anthropic `server_tool_use` or `web_search_tool_result` block, a Responses
/// `web_search_call` item). Only an upstream of that vendor's format takes it back; the others
/// get the turn without it (its text already says what was found).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerToolRecord {
    /// Who can replay it; [`Vendor::Gateway`] for records the gateway made for a client from
    /// another vendor's answer (never sent upstream).
    pub vendor: Vendor,
    pub kind: ServerToolKind,
    /// The block or item, as the client sent it.
    pub raw: Value,
}

/// A server tool call in an answer. Its input arrives like a tool call's arguments (JSON text,
/// `{"query": …}` for a search, `{"url": …}` for a fetch), in `ToolArguments` deltas.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerToolCall {
    pub id: String,
    pub kind: ServerToolKind,
    pub input: String,
}

/// What a server tool call returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerToolResult {
    /// The id of the call it answers.
    pub call_id: String,
    pub kind: ServerToolKind,
    pub outcome: ServerToolOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServerToolOutcome {
    /// The pages a search found, in the vendor's order.
    Hits(Vec<SearchHit>),
    /// A fetched page.
    Page(FetchedPage),
    /// The vendor's error code (`max_uses_exceeded`, `too_many_requests`, `unavailable`, ...):
    /// the call ran and failed, inside a successful answer.
    Error(String),
}

/// One page a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub url: String,
    /// Not every vendor reports one (Responses sources are bare URLs).
    pub title: Option<String>,
    /// How old the page is, as the vendor says it (`"2 hours ago"`).
    pub page_age: Option<String>,
    /// The vendor's sealed copy of the page (Anthropic `encrypted_content`).
    pub opaque: Option<Opaque>,
}

/// A fetched page (Anthropic `web_fetch_result`).
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedPage {
    pub url: String,
    pub retrieved_at: Option<String>,
    /// The page as the vendor's document block (text or a base64 PDF), for clients of its
    /// format; other clients get the URL.
    pub document: Option<Value>,
}

/// A source an answer's text cites.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    pub url: String,
    pub title: Option<String>,
    /// The passage cited (at most a few sentences), when known.
    pub cited_text: Option<String>,
    /// The cited span of the text block, as character offsets `[start, end)`; `None` when the
    /// citation backs the whole block (Anthropic's blocks are cut at citation boundaries).
    pub span: Option<(usize, usize)>,
    /// The vendor's sealed pointer into the source (Anthropic `encrypted_index`).
    pub opaque: Option<Opaque>,
}

/// Server tool calls an answer reported or showed, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerToolCounts {
    pub web_search: u64,
    pub web_fetch: u64,
}

impl ServerToolCounts {
    pub fn add(&mut self, kind: ServerToolKind) {
        let count = match kind {
            ServerToolKind::WebSearch => &mut self.web_search,
            ServerToolKind::WebFetch => &mut self.web_fetch,
        };
        *count = count.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_one_name_each_way() {
        for kind in ServerToolKind::ALL {
            assert_eq!(ServerToolKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(ServerToolKind::from_name("code_execution"), None);
    }
}
