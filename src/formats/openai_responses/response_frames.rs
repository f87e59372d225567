//! The lifecycle events of one stream (`response.created`, `response.in_progress`,
//! `response.completed`, ...), each carrying the whole response object, written with the parts
//! of that object that never change within the stream serialized once.
//!
//! The response object echoes the request's fields (Codex's `tools` alone are tens of
//! kilobytes) and the stream writes it at least three times; only the status, error,
//! incomplete details, output and usage differ from one to the next. [`ResponseFrames`] keeps
//! the JSON of the rest (id, creation time, model and the echoed fields) and writes, byte for
//! byte, what serde writes for [`ResponseEventOut`] (the tests hold the two to each other).

use serde::Serialize;

use crate::sse::json::{write_str, write_u64};
use crate::sse::write_json_event;

use super::wire::{ResponseEventOut, ResponseObject};

/// Writes the lifecycle events of one stream, whose response objects all echo the same
/// request fields, model and creation time (one stream's context and defaults): those are
/// serialized once, when the stream's encoder is made.
#[derive(Debug)]
pub struct ResponseFrames {
    /// `None` if serde could not write them: every event then goes through serde.
    cached: Option<Cached>,
}

/// The constant JSON of the response object, in the pieces between the varying members, all
/// in one buffer.
#[derive(Debug)]
struct Cached {
    buffer: Vec<u8>,
    /// Where each piece ends (see [`PIECES`]).
    ends: [usize; PIECES],
}

/// The pieces: `,"object":…,"created_at":…,"status":` (after the id);
/// `,"instructions":…,"max_output_tokens":…,"model":…,"output":`;
/// `,"parallel_tool_calls":…` up to `,"truncation":…,"usage":`; `,"user":…,"metadata":…}}`.
const PIECES: usize = 4;
const AFTER_ID: usize = 0;
const BEFORE_OUTPUT: usize = 1;
const BEFORE_USAGE: usize = 2;
const TAIL: usize = 3;

/// Appends `value` as serde_json writes it.
fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, value)
}

/// Appends `,"<name>":<value>`.
fn member<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    name: &str,
    value: &T,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    json(out, value)
}

impl Cached {
    /// The constant members of `r`, in the order of [`ResponseObject`]'s fields.
    fn new(r: &ResponseObject<'_>) -> Result<Cached, serde_json::Error> {
        let mut b = Vec::new();
        let mut ends = [0; PIECES];
        member(&mut b, "object", r.object)?;
        member(&mut b, "created_at", &r.created_at)?;
        b.extend_from_slice(b",\"status\":");
        ends[AFTER_ID] = b.len();

        member(&mut b, "instructions", r.instructions)?;
        member(&mut b, "max_output_tokens", r.max_output_tokens)?;
        member(&mut b, "model", r.model)?;
        b.extend_from_slice(b",\"output\":");
        ends[BEFORE_OUTPUT] = b.len();

        member(&mut b, "parallel_tool_calls", r.parallel_tool_calls)?;
        member(&mut b, "previous_response_id", r.previous_response_id)?;
        if let Some(value) = r.prompt_cache_key {
            member(&mut b, "prompt_cache_key", value)?;
        }
        member(&mut b, "reasoning", r.reasoning)?;
        if let Some(value) = r.safety_identifier {
            member(&mut b, "safety_identifier", value)?;
        }
        if let Some(value) = r.service_tier {
            member(&mut b, "service_tier", value)?;
        }
        member(&mut b, "store", r.store)?;
        member(&mut b, "temperature", r.temperature)?;
        member(&mut b, "text", r.text)?;
        member(&mut b, "tool_choice", r.tool_choice)?;
        member(&mut b, "tools", r.tools)?;
        member(&mut b, "top_p", r.top_p)?;
        member(&mut b, "truncation", r.truncation)?;
        b.extend_from_slice(b",\"usage\":");
        ends[BEFORE_USAGE] = b.len();

        member(&mut b, "user", r.user)?;
        member(&mut b, "metadata", r.metadata)?;
        b.extend_from_slice(b"}}");
        ends[TAIL] = b.len();
        Ok(Cached { buffer: b, ends })
    }

    /// Piece `index` (see [`PIECES`]).
    fn piece(&self, index: usize) -> &[u8] {
        let start = match index.checked_sub(1) {
            Some(before) => self.ends.get(before).copied().unwrap_or_default(),
            None => 0,
        };
        let end = self.ends.get(index).copied().unwrap_or_default();
        self.buffer.get(start..end).unwrap_or_default()
    }

    /// The event's `data`, from `{` to the object's end.
    fn write_data(
        &self,
        out: &mut Vec<u8>,
        kind: &str,
        sequence_number: u64,
        response: &ResponseObject<'_>,
    ) -> Result<(), serde_json::Error> {
        out.extend_from_slice(b"{\"type\":");
        write_str(out, kind);
        out.extend_from_slice(b",\"sequence_number\":");
        write_u64(out, sequence_number);
        out.extend_from_slice(b",\"response\":{\"id\":");
        write_str(out, response.id);
        out.extend_from_slice(self.piece(AFTER_ID));
        write_str(out, response.status);
        member(out, "error", &response.error)?;
        member(out, "incomplete_details", &response.incomplete_details)?;
        out.extend_from_slice(self.piece(BEFORE_OUTPUT));
        json(out, response.output)?;
        out.extend_from_slice(self.piece(BEFORE_USAGE));
        json(out, &response.usage)?;
        out.extend_from_slice(self.piece(TAIL));
        Ok(())
    }
}

impl ResponseFrames {
    /// The writer for a stream whose response objects echo what `constant` echoes, with its
    /// model and creation time (its other members are not read).
    pub fn new(constant: &ResponseObject<'_>) -> ResponseFrames {
        ResponseFrames {
            cached: Cached::new(constant).ok(),
        }
    }

    /// Writes the `kind` event (`response.created`, ...) for `response`, as
    /// `write_json_event` writes its [`ResponseEventOut`].
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        kind: &'static str,
        sequence_number: u64,
        response: ResponseObject<'_>,
    ) {
        let start = out.len();
        if let Some(cached) = &self.cached {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(kind.as_bytes());
            out.extend_from_slice(b"\ndata: ");
            if cached
                .write_data(out, kind, sequence_number, &response)
                .is_ok()
            {
                out.extend_from_slice(b"\n\n");
                return;
            }
            out.truncate(start);
        }
        // Only a value serde cannot write gets here: serde then decides what is written.
        write_json_event(
            out,
            Some(kind),
            &ResponseEventOut {
                kind,
                sequence_number,
                response,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::super::echo::{Echo, State};
    use super::super::wire::{IncompleteDetailsOut, ResponseErrorOut};
    use super::*;
    use crate::canonical::Usage;
    use crate::formats::openai_responses::usage;

    fn echoes() -> Vec<Map<String, Value>> {
        let full = json!({
            "instructions": "Be \"brief\"\n\u{e9}",
            "max_output_tokens": 1000,
            "parallel_tool_calls": false,
            "previous_response_id": "resp_1",
            "prompt_cache_key": "k\\1",
            "reasoning": {"effort": "high", "summary": "auto"},
            "safety_identifier": "user-1",
            "service_tier": "priority",
            "store": true,
            "temperature": 0.7,
            "text": {"format": {"type": "json_schema", "strict": true}},
            "tool_choice": {"type": "function", "name": "f"},
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
            "top_p": 0.9,
            "truncation": "auto",
            "user": "u</script>",
            "metadata": {"a": "b"},
        });
        let full = full.as_object().unwrap().clone();
        let mut partial = full.clone();
        partial.remove("prompt_cache_key");
        partial.remove("service_tier");
        partial.remove("tools");
        vec![Map::new(), full, partial]
    }

    /// Through a stream's worth of objects (ids that need escaping too), the frames are what
    /// serde writes for the same events.
    #[test]
    fn writes_what_serde_writes() {
        let defaults = Echo::default();
        let error = ResponseErrorOut {
            code: "server_error",
            message: "it \"broke\"".to_owned(),
        };
        let usage_out = usage::encode(&Usage {
            input_tokens: Some(12),
            output_tokens: Some(7),
            ..Usage::default()
        });
        for echo in echoes() {
            let state = |step: usize, id| State {
                id,
                created_at: 1_730_000_000,
                model: "gpt-\u{e9}",
                status: ["in_progress", "completed", "incomplete", "failed"][step],
                output: &[],
                usage: (step % 2 == 1).then_some(usage_out),
                error: (step == 3).then_some(&error),
                incomplete_details: (step == 2).then_some(IncompleteDetailsOut {
                    reason: "max_output_tokens",
                }),
            };
            let frames = ResponseFrames::new(&defaults.object(&echo, state(0, "")));
            for (step, id) in ["resp_a", "resp_a", "resp_\"b", "resp_\"b"]
                .into_iter()
                .enumerate()
            {
                let state = state(step, id);
                let kind = "response.created";
                let mut fast = Vec::new();
                frames.write(&mut fast, kind, step as u64, defaults.object(&echo, state));
                let mut slow = Vec::new();
                write_json_event(
                    &mut slow,
                    Some(kind),
                    &ResponseEventOut {
                        kind,
                        sequence_number: step as u64,
                        response: defaults.object(&echo, state),
                    },
                );
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    String::from_utf8(slow).unwrap()
                );
            }
        }
    }
}
