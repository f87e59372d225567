//! Canonical blocks as the parts a Gemini client reads: one writer for streams and whole
//! answers.
//!
//! | block | parts |
//! |---|---|
//! | text, refusal | `{"text"}`, one per delta |
//! | reasoning | `{"text", "thought": true}`, one per delta |
//! | tool call | one `functionCall` with its whole `args`, when the call is complete (Gemini clients never see partial calls) |
//!
//! Reasoning state goes where Gemini itself puts it (see [`super::signature`]): Gemini's own
//! signatures back on their slot (the thought or text part just written, else a part of their
//! own); another vendor's state, enveloped, on the next `functionCall` or text part, so that
//! clients which drop thought parts from their history (Gemini CLI does) still send it back.
//! State with no part after it ends the answer on an empty text part that carries it.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::signature::{Slot, to_client};
use super::wire::write::{FunctionCall, Part};
use crate::canonical::{BlockStart, Delta, Opaque, StreamEvent, ToolKind};

#[derive(Debug)]
enum Open {
    Text,
    Reasoning {
        text: String,
        signature: Option<Opaque>,
    },
    Call {
        id: String,
        name: String,
        kind: ToolKind,
        arguments: String,
    },
    /// Redacted reasoning: complete at its start.
    Sealed,
}

/// Writing state across the blocks of one answer.
#[derive(Debug, Default)]
pub struct ClientParts {
    /// The open block and its canonical index.
    open: Option<(usize, Open)>,
    /// Signatures waiting for the next call or text part.
    pending: Vec<String>,
    /// A tool call was written.
    wrote_calls: bool,
}

impl ClientParts {
    pub fn new() -> ClientParts {
        ClientParts::default()
    }

    pub fn wrote_calls(&self) -> bool {
        self.wrote_calls
    }

    /// Adds the parts `event` makes to `out`. The last part of `out` may still be changed by
    /// the next event (a signature joins the part it belongs to), so a stream holds it back.
    pub fn push(&mut self, event: &StreamEvent, out: &mut Vec<Part<'static>>) {
        match event {
            StreamEvent::BlockStart { index, block } => {
                self.close(out);
                let open = match block {
                    BlockStart::Text | BlockStart::Refusal => Open::Text,
                    BlockStart::Reasoning => Open::Reasoning {
                        text: String::new(),
                        signature: None,
                    },
                    BlockStart::RedactedReasoning(opaque) => {
                        self.place(opaque, "", true, false, out);
                        Open::Sealed
                    }
                    BlockStart::ToolCall { id, name, kind } => Open::Call {
                        id: id.clone(),
                        name: name.clone(),
                        kind: *kind,
                        arguments: String::new(),
                    },
                    // Searches the vendor ran are not parts (see `grounding`).
                    BlockStart::ServerToolCall { .. } | BlockStart::ServerToolResult(_) => {
                        Open::Sealed
                    }
                };
                self.open = Some((*index, open));
            }
            StreamEvent::BlockDelta { index, delta } => {
                let Some((open_index, open)) = &mut self.open else {
                    return;
                };
                if open_index != index {
                    return;
                }
                match (open, delta) {
                    (Open::Text, Delta::Text(text) | Delta::Refusal(text)) if !text.is_empty() => {
                        let mut part = Part::text(text.clone());
                        self.attach_pending(&mut part, out);
                        out.push(part);
                    }
                    (Open::Reasoning { text, .. }, Delta::Reasoning(more)) if !more.is_empty() => {
                        text.push_str(more);
                        out.push(Part::thought(more.clone()));
                    }
                    (Open::Reasoning { signature, .. }, Delta::Signature(opaque)) => {
                        *signature = Some(opaque.clone());
                    }
                    (Open::Call { arguments, .. }, Delta::ToolArguments(fragment)) => {
                        arguments.push_str(fragment);
                    }
                    _ => {}
                }
            }
            StreamEvent::BlockStop { index } => {
                if self.open.as_ref().is_some_and(|(open, _)| open == index) {
                    self.close(out);
                }
            }
            StreamEvent::Start { .. }
            | StreamEvent::KeepAlive
            | StreamEvent::Finish { .. }
            | StreamEvent::Error(_) => {}
        }
    }

    /// For a text or reasoning delta of the open block when no signature waits for a part
    /// (nearly every event of a stream): the text and `thought` flag of the one plain part
    /// [`ClientParts::push`] would add, after the bookkeeping it would do. The caller writes
    /// the part without building it; any other event gives `None` and goes through `push`.
    pub fn plain_delta<'e>(&mut self, event: &'e StreamEvent) -> Option<(&'e str, Option<bool>)> {
        let StreamEvent::BlockDelta { index, delta } = event else {
            return None;
        };
        let Some((open_index, open)) = &mut self.open else {
            return None;
        };
        if open_index != index {
            return None;
        }
        match (open, delta) {
            (Open::Text, Delta::Text(text) | Delta::Refusal(text))
                if !text.is_empty() && self.pending.is_empty() =>
            {
                Some((text, None))
            }
            (Open::Reasoning { text, .. }, Delta::Reasoning(more)) if !more.is_empty() => {
                text.push_str(more);
                Some((more, Some(true)))
            }
            _ => None,
        }
    }

    /// Ends the answer: the open block is closed and state still waiting gets a part.
    pub fn finish(&mut self, out: &mut Vec<Part<'static>>) {
        self.close(out);
        for signature in self.pending.drain(..) {
            out.push(signature_part(signature, false));
        }
    }

    fn close(&mut self, out: &mut Vec<Part<'static>>) {
        let Some((_, open)) = self.open.take() else {
            return;
        };
        match open {
            Open::Text | Open::Sealed => {}
            Open::Reasoning { text, signature } => {
                if let Some(opaque) = signature {
                    let wrote_text = !text.is_empty();
                    self.place(&opaque, &text, false, wrote_text, out);
                }
            }
            Open::Call {
                id,
                name,
                kind,
                arguments,
            } => {
                let args = match kind {
                    ToolKind::Function => object_args(&arguments),
                    // Freeform input: the shape tools of this kind take elsewhere.
                    ToolKind::Custom => json!({ "input": arguments }),
                };
                let mut part = Part {
                    function_call: Some(FunctionCall {
                        id: Some(Cow::Owned(id)),
                        name: Cow::Owned(name),
                        args,
                    }),
                    ..Part::default()
                };
                self.attach_pending(&mut part, out);
                out.push(part);
                self.wrote_calls = true;
            }
        }
    }

    /// Puts reasoning state where it belongs. `after_thought`: the block wrote thought parts,
    /// the last of which is still in `out`.
    fn place(
        &mut self,
        opaque: &Opaque,
        text: &str,
        redacted: bool,
        after_thought: bool,
        out: &mut Vec<Part<'static>>,
    ) {
        let (signature, slot) = to_client(opaque, text, redacted);
        match slot {
            Some(Slot::Thought) => match out.last_mut() {
                Some(last)
                    if after_thought
                        && last.thought == Some(true)
                        && last.thought_signature.is_none() =>
                {
                    last.thought_signature = Some(Cow::Owned(signature));
                }
                _ => out.push(signature_part(signature, true)),
            },
            Some(Slot::Text) => match out.last_mut() {
                Some(last) if last.is_answer_text() && last.thought_signature.is_none() => {
                    last.thought_signature = Some(Cow::Owned(signature));
                }
                _ => out.push(signature_part(signature, false)),
            },
            Some(Slot::Call) | None => self.pending.push(signature),
        }
    }

    /// Gives `part` the first waiting signature; any others get parts of their own before it.
    fn attach_pending(&mut self, part: &mut Part<'static>, out: &mut Vec<Part<'static>>) {
        let mut pending = self.pending.drain(..);
        if let Some(first) = pending.next() {
            part.thought_signature = Some(Cow::Owned(first));
        }
        for other in pending {
            out.push(signature_part(other, false));
        }
    }
}

/// An empty text (or thought) part carrying only a signature, as Gemini ends answers.
fn signature_part(signature: String, thought: bool) -> Part<'static> {
    Part {
        text: Some(Cow::Borrowed("")),
        thought: thought.then_some(true),
        thought_signature: Some(Cow::Owned(signature)),
        ..Part::default()
    }
}

/// A call's arguments as the `args` object a Gemini client reads (`{}` when they are not one).
pub fn object_args(arguments: &str) -> Value {
    match serde_json::from_str(arguments) {
        Ok(Value::Object(map)) => Value::Object(map),
        _ => Value::Object(Map::new()),
    }
}
