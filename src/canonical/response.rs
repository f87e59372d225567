//! A finished answer in canonical form.

use super::finish::Finish;
use super::request::{ReasoningPart, ToolCall};
use super::server_tools::{Citation, ServerToolCall, ServerToolResult};
use super::stream::{BlockStart, Delta, StreamEvent};
use super::usage::Usage;

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The upstream's response id.
    pub id: String,
    /// The model that answered, as the upstream named it.
    pub model: String,
    /// Output in order; the position of a block is its stream index.
    pub blocks: Vec<Block>,
    /// The sources text blocks cite, each with the index of its block, in order.
    pub citations: Vec<(usize, Citation)>,
    pub finish: Finish,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text(String),
    Refusal(String),
    Reasoning(ReasoningPart),
    ToolCall(ToolCall),
    /// A call the vendor ran itself (web search): not the client's to run.
    ServerToolCall(ServerToolCall),
    ServerToolResult(ServerToolResult),
}

impl ChatResponse {
    /// Whether the answer contains tool calls (for [`Finish::resolved`]).
    pub fn has_tool_calls(&self) -> bool {
        self.blocks.iter().any(|b| matches!(b, Block::ToolCall(_)))
    }

    /// The citations of text block `index`.
    pub fn citations_of(&self, index: usize) -> impl Iterator<Item = &Citation> {
        self.citations
            .iter()
            .filter(move |(block, _)| *block == index)
            .map(|(_, citation)| citation)
    }

    /// The stream that would have produced this response, one delta per block (a text
    /// block's citations after its text).
    pub fn to_events(&self) -> Vec<StreamEvent> {
        let mut events = vec![StreamEvent::Start {
            id: self.id.clone(),
            model: self.model.clone(),
            usage: Usage {
                input_tokens: self.usage.input_tokens,
                cache_read_tokens: self.usage.cache_read_tokens,
                cache_write_tokens: self.usage.cache_write_tokens,
                ..Usage::default()
            },
        }];
        for (index, block) in self.blocks.iter().enumerate() {
            let (start, deltas) = match block {
                Block::Text(text) => {
                    let mut deltas = vec![Delta::Text(text.clone())];
                    deltas.extend(
                        self.citations_of(index)
                            .map(|citation| Delta::Citation(Box::new(citation.clone()))),
                    );
                    (BlockStart::Text, deltas)
                }
                Block::Refusal(text) => (BlockStart::Refusal, vec![Delta::Refusal(text.clone())]),
                Block::Reasoning(part) if part.redacted => match &part.opaque {
                    Some(opaque) => (BlockStart::RedactedReasoning(opaque.clone()), vec![]),
                    None => continue,
                },
                Block::Reasoning(part) => {
                    let mut deltas = Vec::new();
                    if !part.text.is_empty() {
                        deltas.push(Delta::Reasoning(part.text.clone()));
                    }
                    if let Some(opaque) = &part.opaque {
                        deltas.push(Delta::Signature(opaque.clone()));
                    }
                    (BlockStart::Reasoning, deltas)
                }
                Block::ToolCall(call) => (
                    BlockStart::ToolCall {
                        id: call.id.clone(),
                        name: call.name.clone(),
                        kind: call.kind,
                    },
                    if call.arguments.is_empty() {
                        vec![]
                    } else {
                        vec![Delta::ToolArguments(call.arguments.clone())]
                    },
                ),
                Block::ServerToolCall(call) => (
                    BlockStart::ServerToolCall {
                        id: call.id.clone(),
                        kind: call.kind,
                    },
                    if call.input.is_empty() {
                        vec![]
                    } else {
                        vec![Delta::ToolArguments(call.input.clone())]
                    },
                ),
                Block::ServerToolResult(result) => (
                    BlockStart::ServerToolResult(Box::new(result.clone())),
                    vec![],
                ),
            };
            events.push(StreamEvent::BlockStart {
                index,
                block: start,
            });
            events.extend(
                deltas
                    .into_iter()
                    .map(|delta| StreamEvent::BlockDelta { index, delta }),
            );
            events.push(StreamEvent::BlockStop { index });
        }
        events.push(StreamEvent::Finish {
            finish: self.finish.clone(),
            usage: self.usage,
        });
        events
    }
}
