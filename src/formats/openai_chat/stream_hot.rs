//! The hot Chat stream chunks (one text, reasoning or refusal delta, or one tool call's
//! argument fragment), read and written without serde's typed machinery (see
//! [`crate::sse::json`]).
//!
//! [`read`] builds the same [`ChatCompletionChunk`] serde would, for chunks in the compact
//! shape OpenAI writes (its members in its order, no whitespace, the optional members it adds
//! where it adds them); for anything else it gives up and the decoder parses the chunk in
//! full. The writers write the bytes serde writes for the encoder's chunks: [`ChunkHead`] is
//! what every chunk of a stream starts with, written once.

use std::borrow::Cow;

use super::wire::{ChatCompletionChunk, ChoiceDelta, ChoiceDeltaFunction, ChoiceDeltaToolCall};
use super::wire::{ChunkChoice, List};
use crate::sse::json::{Reader, write_str, write_u64};

/// Reads `,"<name>":"<string>"` if it comes next.
fn optional_string(reader: &mut Reader<'_>, member: &str) -> Option<()> {
    if reader.literal(member) {
        reader.string()?;
    }
    Some(())
}

/// The delta of a hot chunk: one string member, or one argument fragment.
fn read_delta<'a>(reader: &mut Reader<'a>) -> Option<ChoiceDelta<'a>> {
    let mut delta = ChoiceDelta::default();
    if reader.literal(r#""content":"#) {
        delta.content = Some(reader.string()?);
    } else if reader.literal(r#""reasoning_content":"#) {
        delta.reasoning_content = Some(reader.string()?);
    } else if reader.literal(r#""reasoning":"#) {
        delta.reasoning = Some(reader.string()?);
    } else if reader.literal(r#""refusal":"#) {
        delta.refusal = Some(reader.string()?);
    } else if reader.literal(r#""tool_calls":[{"index":"#) {
        let index = reader.u64()?;
        reader
            .literal(r#","function":{"arguments":"#)
            .then_some(())?;
        let arguments = reader.string()?;
        reader.literal("}}]").then_some(())?;
        delta.tool_calls = Some(List::Owned(vec![ChoiceDeltaToolCall {
            index: Some(index),
            function: Some(ChoiceDeltaFunction {
                name: None,
                arguments: Some(arguments),
            }),
            ..ChoiceDeltaToolCall::default()
        }]));
    } else {
        return None;
    }
    reader.literal("}").then_some(delta)
}

/// One chunk's `data`, if it is a hot chunk in OpenAI's compact shape.
pub fn read(data: &str) -> Option<ChatCompletionChunk<'_>> {
    let chunk = read_parts(data)?;
    Some(ChatCompletionChunk {
        id: chunk.id,
        model: chunk.model,
        choices: List::Owned(vec![ChunkChoice {
            index: 0,
            delta: chunk.delta,
            ..ChunkChoice::default()
        }]),
        ..ChatCompletionChunk::default()
    })
}

/// What a hot chunk holds: its id, its model and the delta of its one choice (index 0, no
/// finish reason); no usage.
pub struct HotChunk<'a> {
    pub id: Cow<'a, str>,
    pub model: Cow<'a, str>,
    pub delta: ChoiceDelta<'a>,
}

/// [`read`] without building the chunk, for a decoder that needs only the delta.
pub fn read_parts(data: &str) -> Option<HotChunk<'_>> {
    let mut reader = Reader::new(data);
    reader.literal(r#"{"id":"#).then_some(())?;
    let id = reader.string()?;
    reader
        .literal(r#","object":"chat.completion.chunk","created":"#)
        .then_some(())?;
    reader.u64()?;
    reader.literal(r#","model":"#).then_some(())?;
    let model = reader.string()?;
    optional_string(&mut reader, r#","service_tier":"#)?;
    optional_string(&mut reader, r#","system_fingerprint":"#)?;
    reader
        .literal(r#","choices":[{"index":0,"delta":{"#)
        .then_some(())?;
    let delta = read_delta(&mut reader)?;
    reader
        .literal(r#","logprobs":null,"finish_reason":null}]"#)
        .then_some(())?;
    // `"usage":null` reads as no usage, as serde reads it.
    reader.literal(r#","usage":null"#);
    optional_string(&mut reader, r#","obfuscation":"#)?;
    reader.literal("}").then_some(())?;
    reader.end()?;
    Some(HotChunk { id, model, delta })
}

/// The bytes every chunk of one stream starts with (through `"delta":{`), and those that end
/// a chunk with no finish reason.
#[derive(Debug)]
pub struct ChunkHead {
    head: Vec<u8>,
    tail: &'static [u8],
}

impl ChunkHead {
    pub fn new(id: &str, created: u64, model: &str, include_usage: bool) -> ChunkHead {
        let mut head = b"data: {\"id\":".to_vec();
        write_str(&mut head, id);
        head.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        write_u64(&mut head, created);
        head.extend_from_slice(b",\"model\":");
        write_str(&mut head, model);
        head.extend_from_slice(b",\"choices\":[{\"index\":0,\"delta\":{");
        let tail: &[u8] = if include_usage {
            b"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
        } else {
            b"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
        };
        ChunkHead { head, tail }
    }

    /// A chunk whose delta is the one string member `member` (`content`, `refusal`...).
    pub fn write_content(&self, out: &mut Vec<u8>, member: &str, text: &str) {
        out.extend_from_slice(&self.head);
        out.push(b'"');
        out.extend_from_slice(member.as_bytes());
        out.extend_from_slice(b"\":");
        write_str(out, text);
        out.extend_from_slice(self.tail);
    }

    /// A chunk whose delta is one fragment of the arguments of the function call at
    /// `tool_index`.
    pub fn write_arguments(&self, out: &mut Vec<u8>, tool_index: usize, fragment: &str) {
        out.extend_from_slice(&self.head);
        out.extend_from_slice(b"\"tool_calls\":[{\"index\":");
        write_u64(out, tool_index as u64);
        out.extend_from_slice(b",\"function\":{\"arguments\":");
        write_str(out, fragment);
        out.extend_from_slice(b"}}]");
        out.extend_from_slice(self.tail);
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    const TRICKY: &[&str] = crate::sse::json::TRICKY_STRINGS;

    fn full(data: &str) -> String {
        format!(
            "{:?}",
            serde_json::from_str::<ChatCompletionChunk<'_>>(data).ok()
        )
    }

    fn fast(data: &str) -> Option<String> {
        // Serde's strings are owned; the reader's borrowed where it can: compare contents.
        read(data).map(|chunk| format!("{:?}", Some(chunk)).replace("Borrowed(", "Owned("))
    }

    fn normalized(debug: String) -> String {
        debug.replace("Borrowed(", "Owned(")
    }

    #[test]
    fn reads_what_the_full_parse_reads_or_gives_up() {
        let head =
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","#;
        let choice = |delta: &str| {
            format!(
                r#""choices":[{{"index":0,"delta":{{{delta}}},"logprobs":null,"finish_reason":null}}]"#
            )
        };
        let mut inputs = vec![
            format!("{head}{}}}", choice(r#""content":"hi""#)),
            format!("{head}{},\"usage\":null}}", choice(r#""reasoning_content":"a\"b\\c\u00e9\ud83d\ude00""#)),
            format!("{head}{}}}", choice(r#""reasoning":"think""#)),
            format!("{head}{}}}", choice(r#""refusal":"no""#)),
            format!("{head}{}}}", choice(r#""tool_calls":[{"index":2,"function":{"arguments":"{\"a\":"}}]"#)),
            format!(r#"{{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","service_tier":"default","system_fingerprint":"fp_1",{},"usage":null,"obfuscation":"xyz"}}"#, choice(r#""content":"x""#)),
            // Given up on: other shapes.
            format!("{head}{}}}", choice(r#""role":"assistant","content":"""#)),
            format!("{head}{}}}", choice(r#""content":null"#)),
            format!("{head}{}}}", choice(r#""content":"x","refusal":"y""#)),
            format!("{head}{}}}", choice(r#""tool_calls":[{"index":0,"id":"c","function":{"arguments":""}}]"#)),
            format!("{head}{},\"usage\":{{\"prompt_tokens\":1}}}}", choice(r#""content":"x""#)),
            format!("{head} {}}}", choice(r#""content":"x""#)),
            format!("{head}{}}} x", choice(r#""content":"x""#)),
            r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":1,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]}"#.to_owned(),
            r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":"stop"}]}"#.to_owned(),
        ];
        for text in TRICKY {
            let chunk = ChunkHead::new("chatcmpl-\"1", 1_730_000_000, "m\\odel", true);
            let mut out = Vec::new();
            chunk.write_content(&mut out, "content", text);
            chunk.write_arguments(&mut out, 3, text);
            for frame in String::from_utf8(out).unwrap().split("\n\n") {
                if let Some(data) = frame.strip_prefix("data: ") {
                    inputs.push(data.to_owned());
                }
            }
        }
        let mut read_fast = 0;
        for data in &inputs {
            if let Some(fast) = fast(data) {
                read_fast += 1;
                assert_eq!(fast, normalized(full(data)), "{data}");
            }
        }
        assert_eq!(read_fast, 6 + 2 * TRICKY.len());
    }

    #[test]
    fn writes_what_serde_writes() {
        for include_usage in [true, false] {
            let head = ChunkHead::new(
                "chatcmpl-\u{e9}\"",
                1_730_000_000,
                "m/o\\del",
                include_usage,
            );
            for text in TRICKY {
                let serde_chunk = |delta: ChoiceDelta<'_>| {
                    let choice = ChunkChoice {
                        index: 0,
                        delta,
                        ..ChunkChoice::default()
                    };
                    let chunk = ChatCompletionChunk {
                        id: Cow::Borrowed("chatcmpl-\u{e9}\""),
                        object: Cow::Borrowed("chat.completion.chunk"),
                        created: 1_730_000_000,
                        model: Cow::Borrowed("m/o\\del"),
                        choices: List::Borrowed(std::slice::from_ref(&choice)),
                        usage: include_usage.then_some(None),
                        ..ChatCompletionChunk::default()
                    };
                    let mut out = Vec::new();
                    crate::sse::write_json_event(&mut out, None, &chunk);
                    String::from_utf8(out).unwrap()
                };
                let mut out = Vec::new();
                head.write_content(&mut out, "reasoning_content", text);
                let expected = serde_chunk(ChoiceDelta {
                    reasoning_content: Some(Cow::Borrowed(text)),
                    ..ChoiceDelta::default()
                });
                assert_eq!(String::from_utf8(out).unwrap(), expected);
                let call = ChoiceDeltaToolCall {
                    index: Some(4),
                    function: Some(ChoiceDeltaFunction {
                        name: None,
                        arguments: Some(Cow::Borrowed(text)),
                    }),
                    ..ChoiceDeltaToolCall::default()
                };
                let expected = serde_chunk(ChoiceDelta {
                    tool_calls: Some(List::Borrowed(std::slice::from_ref(&call))),
                    ..ChoiceDelta::default()
                });
                let mut out = Vec::new();
                head.write_arguments(&mut out, 4, text);
                assert_eq!(String::from_utf8(out).unwrap(), expected);
            }
        }
    }
}
