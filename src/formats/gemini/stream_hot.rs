//! The hot Gemini stream chunks (one text or thought part), read and written without serde's
//! typed machinery (see [`crate::sse::json`]).
//!
//! [`read`] builds the same [`GenerateContentResponse`] serde would, for chunks in the compact
//! shape the gateway's own encoder writes; for anything else (Google's own spacing included)
//! it gives up and the decoder parses the chunk in full. [`write_text_chunk`] writes the chunk
//! serde writes for one text part with no finish reason and no usage.

use std::borrow::Cow;

use super::wire::read::{Candidate, Content, GenerateContentResponse, Part};
use super::wire::write;
use crate::sse::json::{Reader, write_str};

/// One chunk's `data`, if it is a hot chunk in the compact shape.
pub fn read(data: &str) -> Option<GenerateContentResponse> {
    let chunk = read_fields(data)?;
    let part = Part {
        text: Some(chunk.text.into_owned()),
        thought: chunk.thought,
        ..Part::default()
    };
    Some(GenerateContentResponse {
        candidates: Some(vec![Candidate {
            content: Some(Content {
                role: Some("model".to_owned()),
                parts: Some(vec![part]),
            }),
            ..Candidate::default()
        }]),
        model_version: Some(chunk.model_version.into_owned()),
        response_id: Some(chunk.response_id.into_owned()),
        ..GenerateContentResponse::default()
    })
}

/// What a hot chunk holds, borrowed from its `data` where it has no escapes.
pub struct TextChunk<'a> {
    pub text: Cow<'a, str>,
    pub thought: Option<bool>,
    pub model_version: Cow<'a, str>,
    pub response_id: Cow<'a, str>,
}

/// One chunk's `data`, if it is a hot chunk in the compact shape, without building the
/// response (a stream past its first chunk needs only the part).
pub fn read_fields(data: &str) -> Option<TextChunk<'_>> {
    let mut reader = Reader::new(data);
    reader
        .literal(r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"#)
        .then_some(())?;
    let text = reader.string()?;
    let thought = if reader.literal(r#","thought":"#) {
        Some(reader.bool()?)
    } else {
        None
    };
    reader
        .literal(r#"}]},"index":0}],"modelVersion":"#)
        .then_some(())?;
    let model_version = reader.string()?;
    reader.literal(r#","responseId":"#).then_some(())?;
    let response_id = reader.string()?;
    reader.literal("}").then_some(())?;
    reader.end()?;
    Some(TextChunk {
        text,
        thought,
        model_version,
        response_id,
    })
}

/// The text of `part` if it is a text (or thought) part and nothing else.
pub fn plain_text<'p>(part: &'p write::Part<'_>) -> Option<(&'p Cow<'p, str>, Option<bool>)> {
    let write::Part {
        text: Some(text),
        thought,
        inline_data: None,
        file_data: None,
        function_call: None,
        function_response: None,
        thought_signature: None,
    } = part
    else {
        return None;
    };
    Some((text, *thought))
}

/// Writes the chunk of one text part (no finish reason, no usage), byte for byte as serde
/// writes it.
#[cfg(test)]
pub fn write_text_chunk(
    out: &mut Vec<u8>,
    text: &str,
    thought: Option<bool>,
    model_version: &str,
    response_id: &str,
) {
    write_text_chunk_ending(
        out,
        text,
        thought,
        &text_chunk_end(model_version, response_id),
    );
}

/// What follows the part in every text chunk of a stream: its model and id. A stream writes
/// it once and copies it into each chunk.
pub fn text_chunk_end(model_version: &str, response_id: &str) -> Vec<u8> {
    let mut end = b"}]},\"index\":0}],\"modelVersion\":".to_vec();
    write_str(&mut end, model_version);
    end.extend_from_slice(b",\"responseId\":");
    write_str(&mut end, response_id);
    end.extend_from_slice(b"}\r\n\r\n");
    end
}

/// [`write_text_chunk`] with its [`text_chunk_end`] written before.
pub fn write_text_chunk_ending(out: &mut Vec<u8>, text: &str, thought: Option<bool>, end: &[u8]) {
    out.extend_from_slice(
        b"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":",
    );
    write_str(out, text);
    match thought {
        Some(true) => out.extend_from_slice(b",\"thought\":true"),
        Some(false) => out.extend_from_slice(b",\"thought\":false"),
        None => {}
    }
    out.extend_from_slice(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRICKY: &[&str] = crate::sse::json::TRICKY_STRINGS;

    fn full(data: &str) -> String {
        format!(
            "{:?}",
            serde_json::from_str::<GenerateContentResponse>(data).ok()
        )
    }

    fn fast(data: &str) -> Option<String> {
        read(data).map(|chunk| format!("{:?}", Some(chunk)))
    }

    fn serde_chunk(text: &str, thought: Option<bool>) -> String {
        let chunk = write::GenerateContentResponse {
            candidates: vec![write::Candidate {
                content: write::CandidateContent {
                    role: "model",
                    parts: vec![write::Part {
                        text: Some(Cow::Borrowed(text)),
                        thought,
                        ..write::Part::default()
                    }],
                },
                finish_reason: None,
                index: 0,
            }],
            usage_metadata: None,
            model_version: "m\"odel",
            response_id: "r\\1",
        };
        format!("data: {}\r\n\r\n", serde_json::to_string(&chunk).unwrap())
    }

    #[test]
    fn writes_what_serde_writes() {
        for text in TRICKY {
            for thought in [None, Some(true), Some(false)] {
                let mut out = Vec::new();
                write_text_chunk(&mut out, text, thought, "m\"odel", "r\\1");
                assert_eq!(String::from_utf8(out).unwrap(), serde_chunk(text, thought));
            }
        }
    }

    #[test]
    fn reads_what_the_full_parse_reads_or_gives_up() {
        let mut inputs: Vec<String> = [
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"a\"b\\c\u00e9\ud83d\ude00","thought":true}]},"index":0}],"modelVersion":"m","responseId":"r"}"#,
            // Given up on: other shapes.
            r#"{"candidates": [{"content": {"parts": [{"text": "Hi"}],"role": "model"},"index": 0}],"modelVersion": "m","responseId": "r"}"#,
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"x","thoughtSignature":"s"}]},"index":0}],"modelVersion":"m","responseId":"r"}"#,
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"x"}]},"finishReason":"STOP","index":0}],"modelVersion":"m","responseId":"r"}"#,
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"x","thought":null}]},"index":0}],"modelVersion":"m","responseId":"r"}"#,
        ]
        .map(str::to_owned)
        .into();
        for text in TRICKY {
            for thought in [None, Some(true), Some(false)] {
                let frame = serde_chunk(text, thought);
                let data = frame.strip_prefix("data: ").unwrap().trim_end();
                inputs.push(data.to_owned());
            }
        }
        let mut read_fast = 0;
        for data in &inputs {
            if let Some(fast) = fast(data) {
                read_fast += 1;
                assert_eq!(fast, full(data), "{data}");
            }
        }
        assert_eq!(read_fast, 1 + 3 * TRICKY.len());
    }
}
