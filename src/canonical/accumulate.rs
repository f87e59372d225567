//! Folds a canonical stream into a [`ChatResponse`].
//!
//! Used wherever a stream has to become one answer (tests that compare streaming with
//! non-streaming translation, a stored Responses turn), so both paths share one semantics.

use super::finish::Finish;
use super::request::{ReasoningPart, ToolCall};
use super::response::{Block, ChatResponse};
use super::server_tools::{Citation, ServerToolCall};
use super::stream::{BlockStart, Delta, StreamEvent};
use super::usage::Usage;
use crate::error::{ApiError, ErrorKind};

/// Stream fold state. Blocks are addressed by their stream index, which is their position.
#[derive(Debug, Default)]
pub struct Accumulator {
    id: String,
    model: String,
    blocks: Vec<Block>,
    citations: Vec<(usize, Citation)>,
    usage: Usage,
    finish: Option<Finish>,
    error: Option<ApiError>,
}

impl Accumulator {
    pub fn new() -> Accumulator {
        Accumulator::default()
    }

    pub fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Start { id, model, usage } => {
                self.id = id.clone();
                self.model = model.clone();
                self.usage.merge(usage);
            }
            StreamEvent::BlockStart { block, .. } => self.blocks.push(match block {
                BlockStart::Text => Block::Text(String::new()),
                BlockStart::Refusal => Block::Refusal(String::new()),
                BlockStart::Reasoning => Block::Reasoning(ReasoningPart::default()),
                BlockStart::RedactedReasoning(opaque) => Block::Reasoning(ReasoningPart {
                    text: String::new(),
                    opaque: Some(opaque.clone()),
                    redacted: true,
                }),
                BlockStart::ToolCall { id, name, kind } => Block::ToolCall(ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                    kind: *kind,
                }),
                BlockStart::ServerToolCall { id, kind } => Block::ServerToolCall(ServerToolCall {
                    id: id.clone(),
                    kind: *kind,
                    input: String::new(),
                }),
                BlockStart::ServerToolResult(result) => Block::ServerToolResult((**result).clone()),
            }),
            StreamEvent::BlockDelta {
                index,
                delta: Delta::Citation(citation),
            } => {
                if matches!(self.blocks.get(*index), Some(Block::Text(_))) {
                    self.citations.push((*index, (**citation).clone()));
                }
            }
            StreamEvent::BlockDelta { index, delta } => {
                if let Some(block) = self.blocks.get_mut(*index) {
                    apply_delta(block, delta);
                }
            }
            StreamEvent::BlockStop { .. } | StreamEvent::KeepAlive => {}
            StreamEvent::Finish { finish, usage } => {
                self.usage.merge(usage);
                self.finish = Some(finish.clone());
            }
            StreamEvent::Error(error) => self.error = Some(error.clone()),
        }
    }

    /// The answer, or the error that ended the stream (also when it ended without `Finish`).
    pub fn finish(self) -> Result<ChatResponse, ApiError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let Some(finish) = self.finish else {
            return Err(ApiError::new(
                ErrorKind::UpstreamFailed,
                "the upstream stream ended before the answer was complete",
            ));
        };
        Ok(ChatResponse {
            id: self.id,
            model: self.model,
            blocks: self.blocks,
            citations: self.citations,
            finish,
            usage: self.usage,
        })
    }
}

fn apply_delta(block: &mut Block, delta: &Delta) {
    match (block, delta) {
        (Block::Text(text), Delta::Text(more)) => text.push_str(more),
        (Block::Refusal(text), Delta::Refusal(more)) => text.push_str(more),
        (Block::Reasoning(part), Delta::Reasoning(more)) => part.text.push_str(more),
        (Block::Reasoning(part), Delta::Signature(opaque)) => part.opaque = Some(opaque.clone()),
        (Block::ToolCall(call), Delta::ToolArguments(more)) => call.arguments.push_str(more),
        (Block::ServerToolCall(call), Delta::ToolArguments(more)) => call.input.push_str(more),
        _ => {}
    }
}
