//! Text kept in its JSON form, for text a stream writes several times.
//!
//! An answer's text goes out as many small deltas and then, whole, in each of the closing
//! events that repeat it (some formats repeat it four times: the part's end, the item's, the
//! answer's). Escaping the whole text through `serde_json` for each of those was a large share
//! of translating a stream.
//! [`JsonTextBuilder`] escapes each fragment once, as it comes (with [`write_str_body`], byte
//! for byte as `serde_json` escapes), and [`JsonText`] serializes as that JSON, copied.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::json::write_str_body;

/// Text that grows fragment by fragment, escaped as it grows.
#[derive(Debug, Default)]
pub struct JsonTextBuilder {
    text: String,
    /// `text` as a JSON string, without its closing quote (empty before the first fragment).
    json: Vec<u8>,
}

impl JsonTextBuilder {
    /// Appends `fragment`; returns it escaped (as [`write_str_body`] writes it), for a
    /// writer that sends it on its own too.
    pub fn push_str(&mut self, fragment: &str) -> &[u8] {
        if self.json.is_empty() {
            self.json.push(b'"');
        }
        self.text.push_str(fragment);
        let start = self.json.len();
        write_str_body(&mut self.json, fragment);
        self.json.get(start..).unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The text, done growing.
    pub fn finish(self) -> JsonText {
        let JsonTextBuilder { text, mut json } = self;
        if json.is_empty() {
            json.push(b'"');
        }
        json.push(b'"');
        // Escaped text is always a valid JSON string: the checks only keep this free of
        // `unwrap` (and fall back to serializing the text through serde).
        let raw = String::from_utf8(json)
            .ok()
            .and_then(|json| RawValue::from_string(json).ok());
        JsonText { text, raw }
    }
}

/// Text that serializes as a JSON string it holds ready.
#[derive(Debug, Clone, Default)]
pub struct JsonText {
    text: String,
    /// `text` as a JSON string; `None` serializes `text` through serde.
    raw: Option<Box<RawValue>>,
}

impl JsonText {
    /// `text`, escaped now.
    pub fn new(text: &str) -> JsonText {
        let mut builder = JsonTextBuilder::default();
        builder.push_str(text);
        builder.finish()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &JsonText) -> bool {
        self.text == other.text
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.raw {
            Some(raw) => raw.serialize(serializer),
            None => self.text.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::json::TRICKY_STRINGS;

    #[derive(Serialize)]
    struct Holder<'a, T> {
        a: &'a T,
        b: u8,
    }

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(&Holder { a: value, b: 1 }).unwrap()
    }

    fn expected_text(text: &str) -> String {
        serde_json::to_string(text).unwrap()
    }

    #[test]
    fn serializes_as_serde_serializes_the_text_at_any_split() {
        for text in TRICKY_STRINGS.iter().copied().chain(["", "plain"]) {
            let expected = json(&text);
            assert_eq!(json(&JsonText::new(text)), expected, "{text:?}");
            for (at, _) in text.char_indices().skip(1) {
                let (a, b) = text.split_at(at);
                let mut builder = JsonTextBuilder::default();
                let mut escaped = builder.push_str(a).to_vec();
                escaped.extend_from_slice(builder.push_str(b));
                assert_eq!(
                    format!("\"{}\"", String::from_utf8(escaped).unwrap()),
                    expected_text(text)
                );
                assert_eq!(builder.as_str(), text);
                let finished = builder.finish();
                assert!(finished.raw.is_some(), "{text:?}");
                assert_eq!(json(&finished), expected, "{text:?} split at {at}");
            }
        }
        assert_eq!(json(&JsonTextBuilder::default().finish()), json(&""));
        assert_eq!(json(&JsonText::default()), json(&""));
    }

    #[test]
    fn into_a_value_it_is_the_string() {
        let text = JsonText::new("a \"quoted\"\n\u{1f600}");
        assert_eq!(
            serde_json::to_value(&text).unwrap(),
            serde_json::Value::String("a \"quoted\"\n\u{1f600}".into())
        );
    }
}
