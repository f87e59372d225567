//! The hot Responses stream events (text, refusal, reasoning summary and argument deltas),
//! read and written without serde's typed machinery (see [`crate::sse::json`]).
//!
//! [`read_delta`] reads delta events in the compact shape OpenAI writes (its members in its
//! order, no whitespace, its optional `logprobs` and `obfuscation`) for the decoder, which
//! handles them as it handles the `StreamEventWire` serde builds (the tests compare the two);
//! for anything else it gives up and the decoder parses the event in full.
//! [`write_delta`] writes the frame serde writes for the encoder's delta events.

use std::borrow::Cow;

#[cfg(test)]
use super::wire::StreamEventWire;
use crate::sse::json::{Reader, write_str, write_str_body, write_u64};

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

/// One event's `data`, if it is a hot delta event in OpenAI's compact shape: the event
/// [`read_delta`] reads, as serde would build it (the tests hold the two to each other).
#[cfg(test)]
pub fn read(data: &str) -> Option<StreamEventWire> {
    let hot = read_delta(data)?;
    Some(StreamEventWire {
        kind: hot.kind.to_owned(),
        output_index: Some(hot.output_index),
        content_index: hot.content_index,
        summary_index: hot.summary_index,
        delta: Some(hot.delta.into_owned()),
        ..StreamEventWire::default()
    })
}

/// What a hot delta event holds, for a decoder that needs nothing else: its type (one of
/// the hot kinds), its indexes and its delta.
pub struct HotDelta<'a> {
    pub kind: &'static str,
    pub output_index: u64,
    pub content_index: Option<u64>,
    pub summary_index: Option<u64>,
    pub delta: Cow<'a, str>,
}

/// [`read`] without building the event.
pub fn read_delta(data: &str) -> Option<HotDelta<'_>> {
    let mut reader = Reader::new(data);
    reader.literal(r#"{"type":"#).then_some(())?;
    let kind = reader.string()?;
    let kind = HOT_KINDS.into_iter().find(|hot| *hot == kind)?;
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
    Some(HotDelta {
        kind,
        output_index,
        content_index,
        summary_index,
        delta,
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
/// The reference for [`DeltaWriter`], which the encoder uses.
#[cfg(test)]
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

/// A delta's event type, item id, `output_index`, `content_index` and `summary_index`.
type WrittenFor = (&'static str, String, usize, Option<usize>, Option<usize>);

/// [`write_delta`] for a stream: the bytes before the sequence number and those between it
/// and the delta stay the same from one delta of a part to the next, so they are written once
/// per part and copied into each event.
#[derive(Debug, Default)]
pub struct DeltaWriter {
    /// What `head` and `middle` were written for (`None` before the first delta).
    written_for: Option<WrittenFor>,
    /// `event: <kind>\ndata: {"type":"<kind>","sequence_number":`
    head: Vec<u8>,
    /// `,"item_id":…,"output_index":…[,"content_index":…][,"summary_index":…],"delta":"`
    middle: Vec<u8>,
}

impl DeltaWriter {
    /// Writes what [`write_delta`] writes.
    pub fn write(
        &mut self,
        out: &mut Vec<u8>,
        kind: &'static str,
        target: DeltaTarget<'_>,
        delta: &str,
        logprobs: bool,
    ) {
        self.write_with(out, kind, target, logprobs, |out| {
            write_str_body(out, delta)
        });
    }

    /// [`DeltaWriter::write`] for a delta already escaped (the body of its JSON string, as
    /// [`write_str_body`] writes it): text the encoder keeps escaped is escaped once.
    pub fn write_escaped(
        &mut self,
        out: &mut Vec<u8>,
        kind: &'static str,
        target: DeltaTarget<'_>,
        escaped: &[u8],
        logprobs: bool,
    ) {
        self.write_with(out, kind, target, logprobs, |out| {
            out.extend_from_slice(escaped);
        });
    }

    /// Writes a delta event, `body` writing the delta's escaped text.
    fn write_with(
        &mut self,
        out: &mut Vec<u8>,
        kind: &'static str,
        target: DeltaTarget<'_>,
        logprobs: bool,
        body: impl FnOnce(&mut Vec<u8>),
    ) {
        let same = self.written_for.as_ref().is_some_and(
            |(written_kind, item_id, output_index, content_index, summary_index)| {
                // The kinds are constants: the same one is nearly always the same pointer.
                (std::ptr::eq(*written_kind, kind) || *written_kind == kind)
                    && item_id == target.item_id
                    && *output_index == target.output_index
                    && *content_index == target.content_index
                    && *summary_index == target.summary_index
            },
        );
        if !same {
            self.prepare(kind, target);
        }
        out.extend_from_slice(&self.head);
        write_u64(out, target.sequence_number);
        out.extend_from_slice(&self.middle);
        body(out);
        out.extend_from_slice(if logprobs {
            b"\",\"logprobs\":[]}\n\n"
        } else {
            b"\"}\n\n"
        });
    }

    fn prepare(&mut self, kind: &'static str, target: DeltaTarget<'_>) {
        let (head, middle) = (&mut self.head, &mut self.middle);
        head.clear();
        head.extend_from_slice(b"event: ");
        head.extend_from_slice(kind.as_bytes());
        head.extend_from_slice(b"\ndata: {\"type\":\"");
        head.extend_from_slice(kind.as_bytes());
        head.extend_from_slice(b"\",\"sequence_number\":");
        middle.clear();
        middle.extend_from_slice(b",\"item_id\":");
        write_str(middle, target.item_id);
        middle.extend_from_slice(b",\"output_index\":");
        write_u64(middle, target.output_index as u64);
        if let Some(index) = target.content_index {
            middle.extend_from_slice(b",\"content_index\":");
            write_u64(middle, index as u64);
        }
        if let Some(index) = target.summary_index {
            middle.extend_from_slice(b",\"summary_index\":");
            write_u64(middle, index as u64);
        }
        middle.extend_from_slice(b",\"delta\":\"");
        self.written_for = Some((
            kind,
            target.item_id.to_owned(),
            target.output_index,
            target.content_index,
            target.summary_index,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::ItemEventOut;
    use super::*;

    const TRICKY: &[&str] = crate::sse::json::TRICKY_STRINGS;

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

    /// One writer through a stream of deltas to changing targets writes what `write_delta`
    /// writes for each.
    #[test]
    fn delta_writer_writes_what_write_delta_writes() {
        let mut writer = DeltaWriter::default();
        let kinds = [
            "response.output_text.delta",
            "response.reasoning_summary_text.delta",
            "response.function_call_arguments.delta",
        ];
        for step in 0..200_u64 {
            let kind = kinds[(step / 7 % 3) as usize];
            let item_id = if step % 11 < 6 { "msg_\"1" } else { "rs_2" };
            let target = DeltaTarget {
                sequence_number: step * 37,
                item_id,
                output_index: (step / 13 % 3) as usize,
                content_index: (step % 5 != 0).then_some((step / 17 % 2) as usize),
                summary_index: (step % 3 == 0).then_some(0),
            };
            let text = TRICKY[step as usize % TRICKY.len()];
            let logprobs = step % 2 == 0;
            let (mut fast, mut plain) = (Vec::new(), Vec::new());
            writer.write(&mut fast, kind, target, text, logprobs);
            write_delta(&mut plain, kind, target, text, logprobs);
            assert_eq!(fast, plain, "step {step}");
            let mut escaped = Vec::new();
            write_str_body(&mut escaped, text);
            let mut from_escaped = Vec::new();
            writer.write_escaped(&mut from_escaped, kind, target, &escaped, logprobs);
            assert_eq!(from_escaped, plain, "step {step}, escaped");
        }
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
