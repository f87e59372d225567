//! `StreamDecoder`: an Anthropic upstream's SSE events as canonical [`StreamEvent`]s.
//!
//! Events are dispatched on the JSON `type` (some proxies drop the `event:` line). Blocks are
//! renumbered densely: blocks of server tools other than web search and fetch are dropped, so
//! upstream indexes may have gaps. A `server_tool_use` streams its input like a `tool_use`; a
//! search or fetch result comes whole in its `content_block_start`; `citations_delta`s become
//! citations of the open text block.
//! `message_stop` is the only way to a `Finish`; an `error` event or an unreadable one ends the
//! stream with `Error`, and so does the body ending first.

use std::borrow::Cow;

use serde_json::Value;

use super::response::{anthropic_opaque, tool_arguments};
use super::stream_hot::{self, HotDelta, HotEvent};
use super::wire::read::{self, ContentBlock, ContentBlockDelta, MessageStreamEvent};
use super::{server_tools, stop_reason, usage};
use crate::canonical::{BlockStart, Delta, Opaque, ServerToolKind, StreamEvent, ToolKind, Usage};
use crate::error::{ApiError, ErrorKind, from_upstream};
use crate::format::WireFormat;
use crate::formats::StreamDecode;
use crate::formats::spare::SpareStrings;
use crate::sse::SseEvent;

/// Where the upstream stream is in its grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing emitted yet.
    AwaitingStart,
    /// `Start` emitted, no terminal event yet.
    Streaming,
    /// `Finish` or `Error` emitted; every later event is ignored.
    Done,
}

/// The upstream block being read.
#[derive(Debug)]
struct OpenBlock {
    /// The upstream's `index`, which its deltas and stop address.
    upstream_index: u64,
    state: BlockState,
}

#[derive(Debug)]
enum BlockState {
    /// Another server tool's block, or an unknown one: nothing of it is forwarded.
    Dropped,
    Text {
        index: usize,
    },
    Thinking {
        index: usize,
        /// The latest `signature_delta` (or the start's signature), sent just before the stop.
        signature: Option<Opaque>,
    },
    Redacted {
        index: usize,
    },
    ToolUse {
        index: usize,
        /// The start's `input` when it was a non-empty object (some proxies pre-fill it and
        /// send no deltas); emitted at the stop if no `input_json_delta` came.
        prefilled: Option<Value>,
        /// At least one non-empty `input_json_delta` was forwarded.
        streamed: bool,
        /// A `server_tool_use` (the vendor runs it): an empty input stays empty.
        server: bool,
    },
    /// A search or fetch result, complete at its start.
    ServerResult {
        index: usize,
    },
}

/// Stream state. Per-event work is [`StreamDecoder::push`] on this state alone.
#[derive(Debug)]
pub struct StreamDecoder {
    phase: Phase,
    /// The open block; Anthropic never interleaves blocks, so there is at most one.
    open: Option<OpenBlock>,
    /// The canonical index of the next forwarded block (dense, 0-based).
    next_index: usize,
    /// Upstream usage merged over `message_start` and every `message_delta`.
    usage: read::Usage,
    /// From the latest `message_delta`.
    stop_reason: Option<String>,
    stop_sequence: Option<String>,
    /// Buffers of written deltas, for the text of the next ones.
    spare: SpareStrings,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        StreamDecoder::new()
    }
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder {
            phase: Phase::AwaitingStart,
            open: None,
            next_index: 0,
            usage: read::Usage::default(),
            stop_reason: None,
            stop_sequence: None,
            spare: SpareStrings::default(),
        }
    }

    fn fail(&mut self, error: ApiError, out: &mut Vec<StreamEvent>) {
        self.phase = Phase::Done;
        out.push(StreamEvent::Error(error));
    }

    /// Emits `Start` if the upstream skipped `message_start`, so the grammar holds.
    fn ensure_started(&mut self, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::AwaitingStart {
            self.phase = Phase::Streaming;
            out.push(StreamEvent::Start {
                id: String::new(),
                model: String::new(),
                usage: Usage::default(),
            });
        }
    }

    fn start_message(&mut self, message: read::Message, out: &mut Vec<StreamEvent>) {
        if self.phase != Phase::AwaitingStart {
            return;
        }
        self.phase = Phase::Streaming;
        usage::merge(&mut self.usage, &message.usage);
        let known = usage::decode(&self.usage);
        out.push(StreamEvent::Start {
            id: message.id,
            model: message.model,
            usage: Usage {
                output_tokens: None,
                reasoning_tokens: None,
                ..known
            },
        });
    }

    fn take_index(&mut self) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        index
    }

    fn start_block(
        &mut self,
        upstream_index: u64,
        block: ContentBlock,
        out: &mut Vec<StreamEvent>,
    ) {
        self.ensure_started(out);
        self.close_block(out);
        let state = match block {
            ContentBlock::Text { text, citations } => {
                let index = self.take_index();
                out.push(StreamEvent::BlockStart {
                    index,
                    block: BlockStart::Text,
                });
                if !text.is_empty() {
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: Delta::Text(text),
                    });
                }
                for citation in citations
                    .into_iter()
                    .flatten()
                    .filter_map(server_tools::citation)
                {
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: Delta::Citation(Box::new(citation)),
                    });
                }
                BlockState::Text { index }
            }
            ContentBlock::Thinking {
                thinking,
                signature,
            } => {
                let index = self.take_index();
                out.push(StreamEvent::BlockStart {
                    index,
                    block: BlockStart::Reasoning,
                });
                if !thinking.is_empty() {
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: Delta::Reasoning(thinking),
                    });
                }
                BlockState::Thinking {
                    index,
                    signature: anthropic_opaque(signature),
                }
            }
            ContentBlock::RedactedThinking { data } => match anthropic_opaque(data) {
                Some(opaque) => {
                    let index = self.take_index();
                    out.push(StreamEvent::BlockStart {
                        index,
                        block: BlockStart::RedactedReasoning(opaque),
                    });
                    BlockState::Redacted { index }
                }
                None => BlockState::Dropped,
            },
            ContentBlock::ToolUse { id, name, input } => {
                let index = self.take_index();
                out.push(StreamEvent::BlockStart {
                    index,
                    block: BlockStart::ToolCall {
                        id,
                        name,
                        kind: ToolKind::Function,
                    },
                });
                let prefilled = match input {
                    Value::Object(map) if !map.is_empty() => Some(Value::Object(map)),
                    _ => None,
                };
                BlockState::ToolUse {
                    index,
                    prefilled,
                    streamed: false,
                    server: false,
                }
            }
            ContentBlock::ServerToolUse { id, name, input } => {
                match server_tools::call(id, &name, &input) {
                    Some(call) => {
                        let index = self.take_index();
                        out.push(StreamEvent::BlockStart {
                            index,
                            block: BlockStart::ServerToolCall {
                                id: call.id,
                                kind: call.kind,
                            },
                        });
                        BlockState::ToolUse {
                            index,
                            prefilled: (!call.input.is_empty()).then_some(input),
                            streamed: false,
                            server: true,
                        }
                    }
                    None => BlockState::Dropped,
                }
            }
            ContentBlock::WebSearchToolResult {
                tool_use_id,
                content,
            } => self.start_result(ServerToolKind::WebSearch, tool_use_id, &content, out),
            ContentBlock::WebFetchToolResult {
                tool_use_id,
                content,
            } => self.start_result(ServerToolKind::WebFetch, tool_use_id, &content, out),
            ContentBlock::Other => BlockState::Dropped,
        };
        self.open = Some(OpenBlock {
            upstream_index,
            state,
        });
    }

    fn start_result(
        &mut self,
        kind: ServerToolKind,
        call_id: String,
        content: &Value,
        out: &mut Vec<StreamEvent>,
    ) -> BlockState {
        let index = self.take_index();
        let result = server_tools::result(kind, call_id, content);
        out.push(StreamEvent::BlockStart {
            index,
            block: BlockStart::ServerToolResult(Box::new(result)),
        });
        BlockState::ServerResult { index }
    }

    fn delta(&mut self, upstream_index: u64, delta: ContentBlockDelta, out: &mut Vec<StreamEvent>) {
        let (kind, value) = match delta {
            ContentBlockDelta::TextDelta { text } => (HotDelta::Text, text),
            ContentBlockDelta::ThinkingDelta { thinking } => (HotDelta::Thinking, thinking),
            ContentBlockDelta::InputJsonDelta { partial_json } => {
                (HotDelta::InputJson, partial_json)
            }
            ContentBlockDelta::SignatureDelta { signature: data } => {
                if let Some(OpenBlock {
                    state: BlockState::Thinking { signature, .. },
                    ..
                }) = self.open_block(upstream_index)
                    && let Some(opaque) = anthropic_opaque(data)
                {
                    *signature = Some(opaque);
                }
                return;
            }
            ContentBlockDelta::CitationsDelta { citation } => {
                if let Some(OpenBlock {
                    state: BlockState::Text { index },
                    ..
                }) = self.open_block(upstream_index)
                    && let Some(citation) = server_tools::citation(citation)
                {
                    out.push(StreamEvent::BlockDelta {
                        index: *index,
                        delta: Delta::Citation(Box::new(citation)),
                    });
                }
                return;
            }
            // Unknown deltas.
            ContentBlockDelta::Other => return,
        };
        self.fragment(upstream_index, kind, Cow::Owned(value), out);
    }

    /// The open block, if `upstream_index` addresses it.
    fn open_block(&mut self, upstream_index: u64) -> Option<&mut OpenBlock> {
        self.open
            .as_mut()
            .filter(|open| open.upstream_index == upstream_index)
    }

    /// A text, thinking or input JSON fragment. Empty fragments, and fragments that do not fit
    /// the block, are dropped.
    fn fragment(
        &mut self,
        upstream_index: u64,
        kind: HotDelta,
        value: Cow<'_, str>,
        out: &mut Vec<StreamEvent>,
    ) {
        if value.is_empty() {
            return;
        }
        let Some(open) = self.open_block(upstream_index) else {
            return;
        };
        let index = match (&mut open.state, kind) {
            (BlockState::Text { index }, HotDelta::Text)
            | (BlockState::Thinking { index, .. }, HotDelta::Thinking) => *index,
            (
                BlockState::ToolUse {
                    index, streamed, ..
                },
                HotDelta::InputJson,
            ) => {
                *streamed = true;
                *index
            }
            _ => return,
        };
        let value = self.spare.own(value);
        let delta = match kind {
            HotDelta::Text => Delta::Text(value),
            HotDelta::Thinking => Delta::Reasoning(value),
            HotDelta::InputJson => Delta::ToolArguments(value),
        };
        out.push(StreamEvent::BlockDelta { index, delta });
    }

    /// Closes the open block: a thinking block's signature and a tool call's arguments if none
    /// streamed go just before its stop.
    fn close_block(&mut self, out: &mut Vec<StreamEvent>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let index = match open.state {
            BlockState::Dropped => return,
            BlockState::Text { index }
            | BlockState::Redacted { index }
            | BlockState::ServerResult { index } => index,
            BlockState::Thinking { index, signature } => {
                if let Some(opaque) = signature {
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: Delta::Signature(opaque),
                    });
                }
                index
            }
            BlockState::ToolUse {
                index,
                prefilled,
                streamed,
                server,
            } => {
                if !streamed && (!server || prefilled.is_some()) {
                    let arguments = tool_arguments(&prefilled.unwrap_or(Value::Null));
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: Delta::ToolArguments(arguments),
                    });
                }
                index
            }
        };
        out.push(StreamEvent::BlockStop { index });
    }

    fn stop_block(&mut self, upstream_index: u64, out: &mut Vec<StreamEvent>) {
        if self
            .open
            .as_ref()
            .is_some_and(|open| open.upstream_index == upstream_index)
        {
            self.close_block(out);
        }
    }

    fn finish_message(&mut self, out: &mut Vec<StreamEvent>) {
        self.ensure_started(out);
        self.close_block(out);
        self.phase = Phase::Done;
        out.push(StreamEvent::Finish {
            finish: stop_reason::decode(self.stop_reason.take(), self.stop_sequence.take()),
            usage: usage::decode(&self.usage),
        });
    }
}

impl StreamDecode for StreamDecoder {
    fn push(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Done {
            return;
        }
        // The hot events are read without serde when their shape allows (see `stream_hot`),
        // a delta's text borrowed from the event.
        match stream_hot::read(&event.data) {
            Some(HotEvent::Delta { index, kind, value }) => {
                return self.fragment(index, kind, value, out);
            }
            Some(HotEvent::Stop { index }) => return self.stop_block(index, out),
            None => {}
        }
        let parsed = match MessageStreamEvent::parse(&event.data) {
            Ok(parsed) => parsed,
            Err(e) => {
                let error = ApiError::new(
                    ErrorKind::UpstreamFailed,
                    format!("the upstream sent an unreadable stream event: {e}"),
                );
                self.fail(error, out);
                return;
            }
        };
        match parsed {
            MessageStreamEvent::MessageStart { message } => self.start_message(message, out),
            MessageStreamEvent::ContentBlockStart {
                index,
                content_block,
            } => self.start_block(index, content_block, out),
            MessageStreamEvent::ContentBlockDelta { index, delta } => self.delta(index, delta, out),
            MessageStreamEvent::ContentBlockStop { index } => self.stop_block(index, out),
            MessageStreamEvent::MessageDelta { delta, usage } => {
                self.ensure_started(out);
                usage::merge(&mut self.usage, &usage);
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                    self.stop_sequence = delta.stop_sequence;
                }
            }
            MessageStreamEvent::MessageStop => self.finish_message(out),
            MessageStreamEvent::Ping => {
                if self.phase == Phase::Streaming {
                    out.push(StreamEvent::KeepAlive);
                }
            }
            MessageStreamEvent::Error => {
                let error =
                    from_upstream(WireFormat::AnthropicMessages, 200, event.data.as_bytes());
                self.fail(error, out);
            }
            MessageStreamEvent::Unknown => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if self.phase != Phase::Done {
            let error = ApiError::new(
                ErrorKind::UpstreamFailed,
                "the upstream stream ended before message_stop: the answer is incomplete",
            );
            self.fail(error, out);
        }
    }

    fn recycle(&mut self, event: &mut StreamEvent) {
        self.spare.keep(event);
    }
}
