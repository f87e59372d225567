//! The hot Anthropic stream events (`content_block_delta` and `content_block_stop`), read and
//! written without serde's typed machinery (see [`crate::sse::json`]).
//!
//! [`read`] reads events in the exact compact shape Anthropic writes, borrowing a delta's text
//! from the event when it has no escapes; for anything else it gives up and the decoder parses
//! the event in full. What it reads is what [`MessageStreamEvent::from_raw`] makes of the
//! [`RawEvent`] serde would fill (the tests hold the two to each other). [`write_delta`] writes
//! the frame serde would write for a `content_block_delta` event of text, thinking or JSON
//! input.

use std::borrow::Cow;

#[cfg(test)]
use super::wire::read::{ContentBlockDelta, MessageStreamEvent};
use crate::sse::json::{Reader, write_str, write_u64};

/// A hot event, as [`read`] reads it.
#[derive(Debug)]
pub enum HotEvent<'a> {
    /// A `content_block_delta` of text, thinking or JSON input.
    Delta {
        index: u64,
        kind: HotDelta,
        value: Cow<'a, str>,
    },
    /// A `content_block_stop`.
    Stop { index: u64 },
}

#[cfg(test)]
impl HotEvent<'_> {
    /// The event the full parse builds.
    fn into_event(self) -> MessageStreamEvent {
        match self {
            HotEvent::Stop { index } => MessageStreamEvent::ContentBlockStop { index },
            HotEvent::Delta { index, kind, value } => {
                let value = value.into_owned();
                let delta = match kind {
                    HotDelta::Text => ContentBlockDelta::TextDelta { text: value },
                    HotDelta::Thinking => ContentBlockDelta::ThinkingDelta { thinking: value },
                    HotDelta::InputJson => ContentBlockDelta::InputJsonDelta {
                        partial_json: value,
                    },
                };
                MessageStreamEvent::ContentBlockDelta { index, delta }
            }
        }
    }
}

/// One event's `data`, if it is a hot event in the compact shape Anthropic writes (members
/// in its order, no whitespace); `None` for anything else.
pub fn read(data: &str) -> Option<HotEvent<'_>> {
    let mut reader = Reader::new(data);
    // Deltas first: nearly every event is one.
    if !reader.literal(r#"{"type":"content_block_delta","index":"#) {
        if !reader.literal(r#"{"type":"content_block_stop","index":"#) {
            return None;
        }
        let index = reader.u64()?;
        reader.literal("}").then_some(())?;
        reader.end()?;
        return Some(HotEvent::Stop { index });
    }
    let index = reader.u64()?;
    let kind = if reader.literal(r#","delta":{"type":"text_delta","text":"#) {
        HotDelta::Text
    } else if reader.literal(r#","delta":{"type":"thinking_delta","thinking":"#) {
        HotDelta::Thinking
    } else if reader.literal(r#","delta":{"type":"input_json_delta","partial_json":"#) {
        HotDelta::InputJson
    } else {
        return None;
    };
    let value = reader.string()?;
    reader.literal("}}").then_some(())?;
    reader.end()?;
    Some(HotEvent::Delta { index, kind, value })
}

/// The kinds of `content_block_delta` [`write_delta`] writes: the delta's `type` and the
/// member that holds its string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HotDelta {
    Text,
    Thinking,
    InputJson,
}

/// Writes a `content_block_delta` frame, byte for byte as serde writes it.
pub fn write_delta(out: &mut Vec<u8>, index: usize, kind: HotDelta, value: &str) {
    // The delta's `type` and the member that holds its string, in one piece.
    let delta_head: &[u8] = match kind {
        HotDelta::Text => b",\"delta\":{\"type\":\"text_delta\",\"text\":",
        HotDelta::Thinking => b",\"delta\":{\"type\":\"thinking_delta\",\"thinking\":",
        HotDelta::InputJson => b",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":",
    };
    out.extend_from_slice(
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":",
    );
    write_u64(out, index as u64);
    out.extend_from_slice(delta_head);
    write_str(out, value);
    out.extend_from_slice(b"}}\n\n");
}

#[cfg(test)]
mod tests {
    use super::super::wire::read::MessageStreamEvent;
    use super::super::wire::write;
    use super::*;
    use crate::sse::write_json_event;

    const TRICKY: &[&str] = crate::sse::json::TRICKY_STRINGS;

    fn full(data: &str) -> String {
        format!("{:?}", MessageStreamEvent::parse(data).map_err(|_| ()))
    }

    fn fast(data: &str) -> Option<String> {
        read(data).map(|event| format!("{:?}", Ok::<_, ()>(event.into_event())))
    }

    #[test]
    fn reads_what_the_full_parse_reads_or_gives_up() {
        let mut inputs = vec![
            r#"{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"hi"}}"#.to_owned(),
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"a\"b\\c\u00e9\ud83d\ude00"}}"#.to_owned(),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#.to_owned(),
            r#"{"type":"content_block_stop","index":2}"#.to_owned(),
            r#"{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"hi"}}  "#.to_owned(),
            // Given up on: other orders, whitespace, extra members, duplicates, nulls, floats,
            // other events.
            r#"{"index":3,"delta":{"text":"hi","type":"text_delta"},"type":"content_block_delta"}"#.to_owned(),
            r#" { "type" : "content_block_delta" , "index" : 0 , "delta" : { "type" : "thinking_delta" , "thinking" : "x" } } "#.to_owned(),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{"},"extra":null}"#.to_owned(),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"signature_delta","signature":"EqQB"}}"#.to_owned(),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","thinking":"x"}}"#.to_owned(),
            r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"no index"}}"#.to_owned(),
            r#"{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"x"}}"#.to_owned(),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"x"},"index":2}"#.to_owned(),
            r#"{"type":"content_block_delta","index":1,"index":2,"delta":{"type":"text_delta","text":"x"}}"#.to_owned(),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"x","text":"y"}}"#.to_owned(),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":null}}"#.to_owned(),
            r#"{"type":"content_block_delta","index":1.0,"delta":{"type":"text_delta","text":"x"}}"#.to_owned(),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"x"},"x":{"y":1}}"#.to_owned(),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"x"}} trailing"#.to_owned(),
            r#"{"type":"ping"}"#.to_owned(),
            r#"{"type":"message_stop"}"#.to_owned(),
        ];
        for text in TRICKY {
            let mut out = Vec::new();
            write_delta(&mut out, 5, HotDelta::Text, text);
            let frame = String::from_utf8(out).unwrap();
            let data = frame
                .lines()
                .nth(1)
                .unwrap()
                .strip_prefix("data: ")
                .unwrap();
            inputs.push(data.to_owned());
        }
        let mut read_fast = 0;
        for data in &inputs {
            if let Some(fast) = fast(data) {
                read_fast += 1;
                assert_eq!(fast, full(data), "{data}");
            }
        }
        assert_eq!(read_fast, 5 + TRICKY.len());
    }

    #[test]
    fn writes_what_serde_writes() {
        for text in TRICKY {
            for (kind, delta) in [
                (HotDelta::Text, write::ContentBlockDelta::TextDelta { text }),
                (
                    HotDelta::Thinking,
                    write::ContentBlockDelta::ThinkingDelta { thinking: text },
                ),
                (
                    HotDelta::InputJson,
                    write::ContentBlockDelta::InputJsonDelta { partial_json: text },
                ),
            ] {
                let event = write::MessageStreamEvent::ContentBlockDelta { index: 12, delta };
                let mut expected = Vec::new();
                write_json_event(&mut expected, Some(event.name()), &event);
                let mut out = Vec::new();
                write_delta(&mut out, 12, kind, text);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }
}
