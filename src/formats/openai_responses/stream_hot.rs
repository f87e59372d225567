//! The hot Responses stream events (text, refusal, reasoning summary and argument deltas),
//! read and written without serde's typed machinery (see [`crate::sse::json`]).
//!
//! [`read`] builds the same [`StreamEventWire`] serde would, for delta events in the compact
//! shape OpenAI writes (its members in its order, no whitespace, its optional `logprobs` and
//! `obfuscation`); for anything else it gives up and the decoder parses the event in full.
//! [`write_delta`] writes the frame serde writes for the encoder's delta events.

use super::wire::StreamEventWire;
use crate::sse::json::{Reader, write_str, write_u64};

/// The delta events read here.
const HOT_KINDS: [&str; 5] = [
    "response.output_text.delta",
    "response.refusal.delta",
    "response.reasoning_summary_text.delta",
    "response.function_call_arguments.delta",
    "response.custom_tool_call_input.delta",
];

/// Reads `,"<name>":<integer>` if it comes next.
fn optional_u64(reader: &mut Reader<'_>, member: &str) -> Option<Option<u64>> {
    if reader.literal(member) {
        reader.u64().map(Some)
    } else {
        Some(None)
    }
}

/// One event's `data`, if it is a hot delta event in OpenAI's compact shape.
pub fn read(data: &str) -> Option<StreamEventWire> {
    let mut reader = Reader::new(data);
    reader.literal(r#"{"type":"#).then_some(())?;
    let kind = reader.string()?;
    if !HOT_KINDS.contains(&kind.as_ref()) {
        return None;
    }
    reader.literal(r#","sequence_number":"#).then_some(())?;
    reader.u64()?;
    reader.literal(r#","item_id":"#).then_some(())?;
    reader.string()?;
    reader.literal(r#","output_index":"#).then_some(())?;
    let output_index = reader.u64()?;
    let content_index = optional_u64(&mut reader, r#","content_index":"#)?;
    let summary_index = optional_u64(&mut reader, r#","summary_index":"#)?;
    reader.literal(r#","delta":"#).then_some(())?;
    let delta = reader.string()?;
    reader.literal(r#","logprobs":[]"#);
    if reader.literal(r#","obfuscation":"#) {
        reader.string()?;
    }
    reader.literal("}").then_some(())?;
    reader.end()?;
    Some(StreamEventWire {
        kind: kind.into_owned(),
        output_index: Some(output_index),
        content_index,
        summary_index,
        delta: Some(delta.into_owned()),
        ..StreamEventWire::default()
    })
}

/// Where a delta goes: its item, and its part (`content_index`) or summary
/// (`summary_index`).
#[derive(Debug, Clone, Copy)]
pub struct DeltaTarget<'a> {
    pub sequence_number: u64,
    pub item_id: &'a str,
    pub output_index: usize,
    pub content_index: Option<usize>,
    pub summary_index: Option<usize>,
}

/// Writes a delta event (`kind` is one of the constant event types, which need no escaping),
/// byte for byte as serde writes it; `logprobs` adds the empty `logprobs` of text deltas.
pub fn write_delta(
    out: &mut Vec<u8>,
    kind: &'static str,
    target: DeltaTarget<'_>,
    delta: &str,
    logprobs: bool,
) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: {\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"sequence_number\":");
    write_u64(out, target.sequence_number);
    out.extend_from_slice(b",\"item_id\":");
    write_str(out, target.item_id);
    out.extend_from_slice(b",\"output_index\":");
    write_u64(out, target.output_index as u64);
    if let Some(index) = target.content_index {
        out.extend_from_slice(b",\"content_index\":");
        write_u64(out, index as u64);
    }
    if let Some(index) = target.summary_index {
        out.extend_from_slice(b",\"summary_index\":");
        write_u64(out, index as u64);
    }
    out.extend_from_slice(b",\"delta\":");
    write_str(out, delta);
    if logprobs {
        out.extend_from_slice(b",\"logprobs\":[]");
    }
    out.extend_from_slice(b"}\n\n");
}

#[cfg(test)]
mod tests {
    use super::super::wire::ItemEventOut;
    use super::*;

    const TRICKY: &[&str] = &[
        "",
        "plain",
        "quote \" backslash \\ slash /",
        "\n\r\t\u{1}\u{7f}",
        "h\u{e9}llo \u{1f600}",
    ];

    fn full(data: &str) -> String {
        format!("{:?}", serde_json::from_str::<StreamEventWire>(data).ok())
    }

    fn fast(data: &str) -> Option<String> {
        read(data).map(|event| format!("{:?}", Some(event)))
    }

    fn frames(out: Vec<u8>) -> Vec<String> {
        String::from_utf8(out)
            .unwrap()
            .split("\n\n")
            .filter_map(|frame| frame.lines().nth(1)?.strip_prefix("data: "))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn reads_what_the_full_parse_reads_or_gives_up() {
        let mut inputs: Vec<String> = [
            r#"{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"hi","logprobs":[],"obfuscation":"abc"}"#,
            r#"{"type":"response.reasoning_summary_text.delta","sequence_number":5,"item_id":"rs_1","output_index":0,"summary_index":2,"delta":"a\"b\\c\u00e9\ud83d\ude00"}"#,
            r#"{"type":"response.function_call_arguments.delta","sequence_number":9,"item_id":"fc_1","output_index":3,"delta":"{\"a\":"}"#,
            r#"{"type":"response.refusal.delta","sequence_number":9,"item_id":"m","output_index":3,"content_index":1,"delta":"no"}"#,
            // Given up on: other events and shapes.
            r#"{"type":"response.output_text.done","sequence_number":5,"item_id":"msg_1","output_index":1,"content_index":0,"text":"hi"}"#,
            r#"{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":1,"content_index":0,"delta":null}"#,
            r#"{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"x","logprobs":[{"token":"x"}]}"#,
            r#"{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"x","delta":"y"}"#,
            r#"{"type":"response.output_text.delta", "sequence_number":5,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"x"}"#,
        ]
        .map(str::to_owned)
        .into();
        for text in TRICKY {
            let target = DeltaTarget {
                sequence_number: 12,
                item_id: "msg_\"x",
                output_index: 2,
                content_index: Some(1),
                summary_index: None,
            };
            let mut out = Vec::new();
            write_delta(&mut out, "response.output_text.delta", target, text, true);
            inputs.extend(frames(out));
        }
        let mut read_fast = 0;
        for data in &inputs {
            if let Some(fast) = fast(data) {
                read_fast += 1;
                assert_eq!(fast, full(data), "{data}");
            }
        }
        assert_eq!(read_fast, 4 + TRICKY.len());
    }

    #[test]
    fn writes_what_serde_writes() {
        for text in TRICKY {
            for (kind, content_index, summary_index, logprobs) in [
                ("response.output_text.delta", Some(3), None, true),
                ("response.refusal.delta", Some(0), None, false),
                (
                    "response.reasoning_summary_text.delta",
                    None,
                    Some(0),
                    false,
                ),
                ("response.function_call_arguments.delta", None, None, false),
            ] {
                let target = DeltaTarget {
                    sequence_number: 1_234,
                    item_id: "msg_\u{e9}\\1",
                    output_index: 7,
                    content_index,
                    summary_index,
                };
                let mut out = Vec::new();
                write_delta(&mut out, kind, target, text, logprobs);
                let mut expected = Vec::new();
                crate::sse::write_json_event(
                    &mut expected,
                    Some(kind),
                    &ItemEventOut {
                        kind,
                        sequence_number: 1_234,
                        item_id: "msg_\u{e9}\\1",
                        output_index: 7,
                        content_index,
                        summary_index,
                        delta: Some(text),
                        logprobs: logprobs.then_some([]),
                        ..ItemEventOut::default()
                    },
                );
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }
}
