//! An answer's parts, as Gemini writes them, into canonical blocks: one reader for streams and
//! whole answers, so both give the same blocks.
//!
//! | part | blocks |
//! |---|---|
//! | `text`, `thought: true` | reasoning deltas (consecutive thought parts form one block) |
//! | `text` | text deltas (consecutive text parts form one block) |
//! | `functionCall` | a tool call, complete: start, one arguments delta, stop |
//! | `thoughtSignature` on a thought part | the signature of that reasoning block, which it closes |
//! | `thoughtSignature` on a text part | a signature-only reasoning block after the text block (a stream may put it on any of the block's parts) |
//! | `thoughtSignature` on a call | a signature-only reasoning block before the call |
//! | anything else (`executableCode`, `inlineData`, ...) | nothing |
//!
//! Signatures carry their slot (see [`super::signature`]), so they return to the same kind of
//! part whatever order other formats put the reasoning in. Calls without an `id` get a
//! deterministic one.

use serde_json::Value;

use super::signature::{Slot, native, synthetic_call_id};
use super::wire::read;
use crate::canonical::{BlockStart, Delta, StreamEvent, ToolKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text(usize),
    Reasoning(usize),
}

/// Reading state across the parts of one answer (all chunks of a stream).
#[derive(Debug, Default)]
pub struct PartsReader {
    open: Option<Open>,
    next_index: usize,
    /// Calls seen so far (the ordinal of a synthesized id).
    calls: usize,
    /// The answer's `responseId`, the scope of synthesized ids.
    scope: String,
    /// Signatures found on the open text block's parts, emitted when it closes.
    text_signatures: Vec<String>,
}

impl PartsReader {
    pub fn new() -> PartsReader {
        PartsReader::default()
    }

    /// Sets the answer's id (from the first chunk that has one).
    pub fn set_scope(&mut self, response_id: &str) {
        if self.scope.is_empty() {
            response_id.clone_into(&mut self.scope);
        }
    }

    /// Whether a tool call was read.
    pub fn saw_calls(&self) -> bool {
        self.calls > 0
    }

    fn take_index(&mut self) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        index
    }

    /// Closes the open block (a text block's signatures follow it).
    pub fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(Open::Text(index) | Open::Reasoning(index)) = self.open.take() {
            out.push(StreamEvent::BlockStop { index });
        }
        for signature in std::mem::take(&mut self.text_signatures) {
            self.signature_block(Slot::Text, &signature, out);
        }
    }

    fn open_text(&mut self, out: &mut Vec<StreamEvent>) -> usize {
        if let Some(Open::Text(index)) = self.open {
            return index;
        }
        self.close(out);
        let index = self.take_index();
        out.push(StreamEvent::BlockStart {
            index,
            block: BlockStart::Text,
        });
        self.open = Some(Open::Text(index));
        index
    }

    fn open_reasoning(&mut self, out: &mut Vec<StreamEvent>) -> usize {
        if let Some(Open::Reasoning(index)) = self.open {
            return index;
        }
        self.close(out);
        let index = self.take_index();
        out.push(StreamEvent::BlockStart {
            index,
            block: BlockStart::Reasoning,
        });
        self.open = Some(Open::Reasoning(index));
        index
    }

    /// A reasoning block holding only a signature, on its own.
    fn signature_block(&mut self, slot: Slot, signature: &str, out: &mut Vec<StreamEvent>) {
        if self.open.is_some() {
            self.close(out);
        }
        let index = self.take_index();
        out.push(StreamEvent::BlockStart {
            index,
            block: BlockStart::Reasoning,
        });
        out.push(StreamEvent::BlockDelta {
            index,
            delta: Delta::Signature(native(slot, signature)),
        });
        out.push(StreamEvent::BlockStop { index });
    }

    /// Reads one part.
    pub fn read(&mut self, part: read::Part, out: &mut Vec<StreamEvent>) {
        let signature = part.thought_signature.filter(|s| !s.is_empty());
        if let Some(call) = part.function_call {
            self.close(out);
            if let Some(signature) = &signature {
                self.signature_block(Slot::Call, signature, out);
            }
            let arguments = match call.args {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(args) => args.to_string(),
            };
            let id = match call.id.filter(|id| !id.is_empty()) {
                Some(id) => id,
                None => synthetic_call_id(&self.scope, self.calls, &call.name, &arguments),
            };
            self.calls += 1;
            let index = self.take_index();
            out.push(StreamEvent::BlockStart {
                index,
                block: BlockStart::ToolCall {
                    id,
                    name: call.name,
                    kind: ToolKind::Function,
                },
            });
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::ToolArguments(arguments),
            });
            out.push(StreamEvent::BlockStop { index });
            return;
        }
        let Some(text) = part.text else {
            // A part the canonical model does not carry; its signature still comes back.
            if let Some(signature) = &signature {
                self.signature_block(Slot::Text, signature, out);
            }
            return;
        };
        if part.thought == Some(true) {
            if text.is_empty() && signature.is_none() {
                return;
            }
            let index = self.open_reasoning(out);
            if !text.is_empty() {
                out.push(StreamEvent::BlockDelta {
                    index,
                    delta: Delta::Reasoning(text),
                });
            }
            if let Some(signature) = signature {
                out.push(StreamEvent::BlockDelta {
                    index,
                    delta: Delta::Signature(native(Slot::Thought, &signature)),
                });
                self.close(out);
            }
            return;
        }
        if !text.is_empty() {
            let index = self.open_text(out);
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::Text(text),
            });
        }
        if let Some(signature) = signature {
            if matches!(self.open, Some(Open::Text(_))) {
                self.text_signatures.push(signature);
            } else {
                self.signature_block(Slot::Text, &signature, out);
            }
        }
    }
}
