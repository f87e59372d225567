//! Gemini's paths and keys, as clients send them.
//!
//! | method | path | endpoint |
//! |---|---|---|
//! | POST | `/{v}/models/{model}:generateContent` | an answer |
//! | POST | `/{v}/models/{model}:streamGenerateContent?alt=sse` | a streamed answer |
//! | POST | `/{v}/models/{model}:countTokens` | a token count |
//! | GET | `/{v}/models`, `/{v}/models/{model}` | the models list, one model |
//!
//! `{v}` is `v1beta` (the SDKs' default), `v1` (the stable API; Python SDK 3 sends it) or
//! `v1alpha`. `GET /v1/models` is shared with the OpenAI and Anthropic formats: Gemini claims it
//! when the request carries `x-goog-api-key`, which Gemini's SDKs always send.
//!
//! `{model}` may be given as `models/{id}` (the resource name), percent-encoded or not.
//!
//! Without `alt=sse`, Google streams a JSON array rather than server-sent events; the gateway
//! streams events only, so such a request is refused with a 400 that says to add `alt=sse`
//! (every Gemini SDK and Gemini CLI send it).
//!
//! Keys: `x-goog-api-key` (SDKs), `?key=` (REST examples), `Authorization: Bearer` or
//! `x-api-key`. Gemini CLI in gateway mode sends an empty `x-goog-api-key` next to the
//! `Authorization` header it was configured with, so an empty value does not count.

use crate::error::ApiError;
use crate::formats::spec::{Endpoint, EndpointKind, Incoming};
use crate::keys;

/// The header Gemini's SDKs send the key in.
pub const API_KEY_HEADER: &str = "x-goog-api-key";

/// API versions served.
const VERSIONS: [&str; 3] = ["/v1beta/", "/v1/", "/v1alpha/"];

/// The endpoint `request` asks for, if it is one of Gemini's.
pub fn endpoint(request: &Incoming) -> Option<Endpoint> {
    let (version, rest) = VERSIONS
        .iter()
        .find_map(|v| request.path.strip_prefix(v).map(|rest| (*v, rest)))?;
    // The models paths of `/v1/` belong to Gemini only for Gemini's clients.
    let shared = version == "/v1/";
    if rest == "models" {
        return (request.method == "GET" && (!shared || request.has_header(API_KEY_HEADER)))
            .then(|| Endpoint::of(EndpointKind::ListModels));
    }
    let tail = rest.strip_prefix("models/")?;
    let tail = percent_decode(tail);
    match tail.rsplit_once(':') {
        Some((model, verb)) => {
            if request.method != "POST" {
                return None;
            }
            let model = model_id(model);
            if model.is_empty() {
                return None;
            }
            let (kind, stream) = match verb {
                "generateContent" => (EndpointKind::Inference, Some(false)),
                "streamGenerateContent" if wants_sse(request.query) => {
                    (EndpointKind::Inference, Some(true))
                }
                "streamGenerateContent" => (
                    EndpointKind::Refused(
                        ApiError::invalid(
                            "streamGenerateContent is served as server-sent events only: add `?alt=sse` to the URL (the Gemini SDKs and Gemini CLI send it).",
                        )
                        .with_param("alt"),
                    ),
                    None,
                ),
                "countTokens" => (EndpointKind::CountTokens, None),
                _ => return None,
            };
            Some(Endpoint {
                kind,
                model: Some(model),
                stream,
            })
        }
        None => {
            let model = model_id(&tail);
            (request.method == "GET"
                && !model.is_empty()
                && (!shared || request.has_header(API_KEY_HEADER)))
            .then(|| Endpoint::of(EndpointKind::GetModel(model)))
        }
    }
}

/// Whether an error for `request` is written in Gemini's shape.
pub fn claims_errors(request: &Incoming) -> bool {
    request.path.starts_with("/v1beta/")
        || request.path.starts_with("/v1alpha/")
        || request.path.starts_with("/v1/models")
            && (request.path.contains(':') || request.has_header(API_KEY_HEADER))
}

/// The key: a non-empty `x-goog-api-key`, else `?key=`, else `Authorization: Bearer` or
/// `x-api-key`.
pub fn presented_key(request: &Incoming) -> Option<String> {
    if let Some(key) = (request.header)(API_KEY_HEADER)
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty())
    {
        return Some(key);
    }
    if let Some(key) = query_param(request.query, "key").filter(|key| !key.is_empty()) {
        return Some(key);
    }
    let authorization = (request.header)("authorization");
    let x_api_key = (request.header)("x-api-key");
    keys::presented_key(authorization.as_deref(), x_api_key.as_deref()).map(str::to_owned)
}

/// A model id as a client or the config names it: without the `models/` of the resource
/// name (SDKs sometimes double it).
pub fn model_id(name: &str) -> String {
    let mut id = name.trim();
    while let Some(rest) = id.strip_prefix("models/") {
        id = rest;
    }
    id.to_owned()
}

fn wants_sse(query: &str) -> bool {
    query_param(query, "alt").is_some_and(|alt| alt.eq_ignore_ascii_case("sse"))
}

/// The value of `name` in a query string, percent-decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(&value.replace('+', " ")))
    })
}

/// `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Some(decoded) = std::str::from_utf8(hex)
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(decoded);
            i += 3;
            continue;
        }
        out.push(byte);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming<'a>(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        header: &'a dyn Fn(&str) -> Option<String>,
    ) -> Incoming<'a> {
        Incoming {
            method,
            path,
            header,
            query,
        }
    }

    #[test]
    fn paths_name_the_model_and_streaming() {
        let none = |_: &str| None;
        let route = |method, path, query| endpoint(&incoming(method, path, query, &none));
        assert_eq!(
            route(
                "POST",
                "/v1beta/models/gemini-2.5-flash:generateContent",
                ""
            ),
            Some(Endpoint {
                kind: EndpointKind::Inference,
                model: Some("gemini-2.5-flash".into()),
                stream: Some(false),
            })
        );
        assert_eq!(
            route(
                "POST",
                "/v1/models/models/gemini-3-flash%3AstreamGenerateContent",
                "alt=sse"
            ),
            Some(Endpoint {
                kind: EndpointKind::Inference,
                model: Some("gemini-3-flash".into()),
                stream: Some(true),
            })
        );
        let refused = route("POST", "/v1beta/models/m:streamGenerateContent", "");
        assert!(
            matches!(refused, Some(Endpoint { kind: EndpointKind::Refused(ref e), .. }) if e.message.contains("alt=sse")),
            "{refused:?}"
        );
        assert_eq!(
            route("POST", "/v1beta/models/m:countTokens", "key=x").map(|e| (e.kind, e.model)),
            Some((EndpointKind::CountTokens, Some("m".into())))
        );
        assert_eq!(
            route("GET", "/v1beta/models", "").map(|e| e.kind),
            Some(EndpointKind::ListModels)
        );
        assert_eq!(
            route("GET", "/v1beta/models/models/gemini-2.5-pro", "").map(|e| e.kind),
            Some(EndpointKind::GetModel("gemini-2.5-pro".into()))
        );
        assert_eq!(route("GET", "/v1beta/models/m:generateContent", ""), None);
        assert_eq!(route("POST", "/v1beta/models/m:embedContent", ""), None);
        assert_eq!(route("POST", "/v1beta/models/:generateContent", ""), None);
        // The shared OpenAI paths stay OpenAI's without Gemini's header.
        assert_eq!(route("GET", "/v1/models", ""), None);
        assert_eq!(route("GET", "/v1/models/gpt-5", ""), None);
        let gemini = |name: &str| (name == API_KEY_HEADER).then(|| "toc-x".to_owned());
        assert_eq!(
            endpoint(&incoming("GET", "/v1/models", "", &gemini)).map(|e| e.kind),
            Some(EndpointKind::ListModels)
        );
    }

    #[test]
    fn keys_come_from_the_header_the_query_or_bearer() {
        let goog = |name: &str| (name == API_KEY_HEADER).then(|| " toc-a ".to_owned());
        assert_eq!(
            presented_key(&incoming("POST", "/", "", &goog)).as_deref(),
            Some("toc-a")
        );
        let none = |_: &str| None;
        assert_eq!(
            presented_key(&incoming("POST", "/", "alt=sse&key=toc-%62", &none)).as_deref(),
            Some("toc-b")
        );
        // Gemini CLI in gateway mode: an empty x-goog-api-key and its own Authorization.
        let cli = |name: &str| match name {
            API_KEY_HEADER => Some(String::new()),
            "authorization" => Some("Bearer toc-c".to_owned()),
            _ => None,
        };
        assert_eq!(
            presented_key(&incoming("POST", "/", "", &cli)).as_deref(),
            Some("toc-c")
        );
        assert_eq!(presented_key(&incoming("POST", "/", "", &none)), None);
    }
}
