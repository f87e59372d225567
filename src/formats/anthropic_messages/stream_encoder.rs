//! `StreamEncoder`: canonical [`StreamEvent`]s as the SSE stream an Anthropic client (Claude
//! Code, the SDKs' `MessageStream`) accepts.
//!
//! What those clients enforce (wire-formats §3.4): every frame has an `event:` line; nothing
//! but `ping` before `message_start`; one `message_start`; block indexes 0, 1, 2… in start
//! order, one open block at a time; `tool_use` starts with `"input":{}` and its arguments come
//! only as `input_json_delta`; a thinking block always gets a `signature_delta` just before its
//! stop; the message ends with `message_delta` then `message_stop`, or with `error`.
//!
//! Searches another vendor ran come as Anthropic's own: a `server_tool_use` whose input streams
//! as `input_json_delta`, a `web_search_tool_result` whole in its start, and `citations_delta`s
//! on the text that cites them (see `server_tools`).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::response::client_signature;
use super::stream_hot::{self, HotDelta};
use super::wire::write::{
    ContentBlock, ContentBlockDelta, ErrorObject, Message, MessageDelta, MessageStreamEvent,
};
use super::{server_tools, stop_reason, usage};
use crate::canonical::{BlockStart, Delta, Finish, Opaque, StreamEvent, ToolKind, Usage, Vendor};
use crate::error::ApiError;
use crate::formats::{ResponseContext, StreamEncode, client_id};
use crate::sse::write_json_event;
use crate::translate::adapt::fit_identifier;

/// Longest tool-use id Anthropic clients accept.
const TOOL_USE_ID_CHARS: usize = 128;

/// The client block being written.
#[derive(Debug)]
struct OpenBlock {
    /// The canonical index its deltas and stop address.
    canonical_index: usize,
    /// The index the client sees.
    index: usize,
    kind: OpenKind,
}

#[derive(Debug)]
enum OpenKind {
    /// A text block (text or refusal): takes text and refusal deltas.
    Text,
    /// A thinking block. `text` is the thinking written so far and `signature` the latest
    /// vendor state; both make the `signature_delta` written before the stop.
    Thinking {
        text: String,
        signature: Option<Opaque>,
    },
    /// A `tool_use` block: takes argument fragments. A freeform (custom-tool) call, which only
    /// reaches an Anthropic client when nothing wrapped it upstream, is sent as
    /// `{"input": "<raw text>"}`, escaped fragment by fragment; `opened` says whether the
    /// `{"input":"` prefix was written.
    ToolUse { freeform: bool, opened: bool },
    /// A redacted block or a server tool result, complete at its start: takes no deltas.
    Sealed,
    /// A `server_tool_use` block: takes its input's fragments.
    ServerToolUse,
}

/// Stream state. Per-event work is [`StreamEncoder::push`] on this state alone.
#[derive(Debug)]
pub struct StreamEncoder {
    context: ResponseContext,
    /// The client message id; set when `message_start` is written.
    id: String,
    /// `message_start` was written.
    started: bool,
    /// `message_stop` or `error` was written; everything after is ignored.
    done: bool,
    open: Option<OpenBlock>,
    /// The index the next client block gets (dense, 0-based).
    next_index: usize,
    /// Usage known at `Start` (input figures), merged under the final usage.
    start_usage: Usage,
    /// A `tool_use` block was written, so the stop reason is `tool_use`.
    emitted_tool_calls: bool,
}

impl StreamEncoder {
    pub fn new(context: ResponseContext) -> StreamEncoder {
        StreamEncoder {
            context,
            id: String::new(),
            started: false,
            done: false,
            open: None,
            next_index: 0,
            start_usage: Usage::default(),
            emitted_tool_calls: false,
        }
    }

    fn write(out: &mut Vec<u8>, event: &MessageStreamEvent<'_>) {
        write_json_event(out, Some(event.name()), event);
    }

    fn start(&mut self, upstream_id: &str, usage: &Usage, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.id = client_id("msg_", upstream_id, &self.context);
        self.start_usage = *usage;
        let message = Message {
            id: &self.id,
            role: "assistant",
            model: &self.context.model,
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: usage::encode(&Usage {
                output_tokens: None,
                reasoning_tokens: None,
                ..*usage
            }),
        };
        Self::write(out, &MessageStreamEvent::MessageStart { message });
    }

    fn start_block(&mut self, canonical_index: usize, block: &BlockStart, out: &mut Vec<u8>) {
        if !self.started {
            self.start("", &Usage::default(), out);
        }
        self.close_block(out);
        let index = self.next_index;
        self.next_index += 1;
        let (content_block, kind) = match block {
            BlockStart::Text | BlockStart::Refusal => (
                ContentBlock::Text {
                    text: "",
                    citations: Vec::new(),
                },
                OpenKind::Text,
            ),
            BlockStart::ServerToolCall { id, kind } => (
                server_tools::call_block(id, *kind, ""),
                OpenKind::ServerToolUse,
            ),
            BlockStart::ServerToolResult(result) => {
                (server_tools::result_block(result), OpenKind::Sealed)
            }
            BlockStart::Reasoning => (
                ContentBlock::Thinking {
                    thinking: "",
                    signature: Cow::Borrowed(""),
                },
                OpenKind::Thinking {
                    text: String::new(),
                    signature: None,
                },
            ),
            BlockStart::RedactedReasoning(opaque) if opaque.vendor == Vendor::Anthropic => (
                ContentBlock::RedactedThinking { data: &opaque.data },
                OpenKind::Sealed,
            ),
            BlockStart::RedactedReasoning(opaque) => {
                // Another vendor's hidden reasoning: a signature-only thinking block.
                let empty = ContentBlock::Thinking {
                    thinking: "",
                    signature: Cow::Borrowed(""),
                };
                Self::write(
                    out,
                    &MessageStreamEvent::ContentBlockStart {
                        index,
                        content_block: empty,
                    },
                );
                let signature = opaque.to_client(Some(Vendor::Anthropic), None);
                Self::write(
                    out,
                    &MessageStreamEvent::ContentBlockDelta {
                        index,
                        delta: ContentBlockDelta::SignatureDelta {
                            signature: &signature,
                        },
                    },
                );
                self.open = Some(OpenBlock {
                    canonical_index,
                    index,
                    kind: OpenKind::Sealed,
                });
                return;
            }
            BlockStart::ToolCall { id, name, kind } => {
                self.emitted_tool_calls = true;
                (
                    ContentBlock::ToolUse {
                        id: Cow::Owned(fit_identifier(id, TOOL_USE_ID_CHARS)),
                        name,
                        input: Value::Object(Map::new()),
                    },
                    OpenKind::ToolUse {
                        freeform: *kind == ToolKind::Custom,
                        opened: false,
                    },
                )
            }
        };
        Self::write(
            out,
            &MessageStreamEvent::ContentBlockStart {
                index,
                content_block,
            },
        );
        self.open = Some(OpenBlock {
            canonical_index,
            index,
            kind,
        });
    }

    fn delta(&mut self, canonical_index: usize, delta: &Delta, out: &mut Vec<u8>) {
        let Some(open) = self
            .open
            .as_mut()
            .filter(|open| open.canonical_index == canonical_index)
        else {
            return;
        };
        let index = open.index;
        let delta = match (&mut open.kind, delta) {
            (OpenKind::Text, Delta::Text(text) | Delta::Refusal(text)) => {
                ContentBlockDelta::TextDelta { text }
            }
            (OpenKind::Text, Delta::Citation(citation)) => ContentBlockDelta::CitationsDelta {
                citation: server_tools::client_citation(citation),
            },
            (OpenKind::ServerToolUse, Delta::ToolArguments(fragment)) => {
                ContentBlockDelta::InputJsonDelta {
                    partial_json: fragment,
                }
            }
            (OpenKind::Thinking { text, .. }, Delta::Reasoning(more)) => {
                text.push_str(more);
                ContentBlockDelta::ThinkingDelta { thinking: more }
            }
            (OpenKind::Thinking { signature, .. }, Delta::Signature(opaque)) => {
                *signature = Some(opaque.clone());
                return;
            }
            (
                OpenKind::ToolUse {
                    freeform: false, ..
                },
                Delta::ToolArguments(fragment),
            ) => ContentBlockDelta::InputJsonDelta {
                partial_json: fragment,
            },
            (
                OpenKind::ToolUse {
                    freeform: true,
                    opened,
                },
                Delta::ToolArguments(fragment),
            ) => {
                if fragment.is_empty() {
                    return;
                }
                let escaped = serde_json::to_string(fragment).unwrap_or_default();
                let inner = escaped
                    .get(1..escaped.len().saturating_sub(1))
                    .unwrap_or_default();
                let prefix = if *opened { "" } else { "{\"input\":\"" };
                *opened = true;
                let partial_json = format!("{prefix}{inner}");
                Self::write(
                    out,
                    &MessageStreamEvent::ContentBlockDelta {
                        index,
                        delta: ContentBlockDelta::InputJsonDelta {
                            partial_json: &partial_json,
                        },
                    },
                );
                return;
            }
            // A delta that does not fit the open block.
            _ => return,
        };
        if matches!(
            delta,
            ContentBlockDelta::TextDelta { text: "" }
                | ContentBlockDelta::ThinkingDelta { thinking: "" }
                | ContentBlockDelta::InputJsonDelta { partial_json: "" }
        ) {
            return;
        }
        // The hot deltas skip serde (same bytes, see `stream_hot`).
        match delta {
            ContentBlockDelta::TextDelta { text } => {
                stream_hot::write_delta(out, index, HotDelta::Text, text);
            }
            ContentBlockDelta::ThinkingDelta { thinking } => {
                stream_hot::write_delta(out, index, HotDelta::Thinking, thinking);
            }
            ContentBlockDelta::InputJsonDelta { partial_json } => {
                stream_hot::write_delta(out, index, HotDelta::InputJson, partial_json);
            }
            delta => Self::write(out, &MessageStreamEvent::ContentBlockDelta { index, delta }),
        }
    }

    /// Closes the open block; a thinking block gets its `signature_delta` first.
    fn close_block(&mut self, out: &mut Vec<u8>) {
        let Some(open) = self.open.take() else {
            return;
        };
        if let OpenKind::ToolUse {
            freeform: true,
            opened,
        } = open.kind
        {
            let partial_json = if opened { "\"}" } else { "{\"input\":\"\"}" };
            Self::write(
                out,
                &MessageStreamEvent::ContentBlockDelta {
                    index: open.index,
                    delta: ContentBlockDelta::InputJsonDelta { partial_json },
                },
            );
        }
        if let OpenKind::Thinking { text, signature } = &open.kind {
            let signature = client_signature(signature.as_ref(), text);
            Self::write(
                out,
                &MessageStreamEvent::ContentBlockDelta {
                    index: open.index,
                    delta: ContentBlockDelta::SignatureDelta {
                        signature: &signature,
                    },
                },
            );
        }
        Self::write(
            out,
            &MessageStreamEvent::ContentBlockStop { index: open.index },
        );
    }

    fn finish(&mut self, finish: &Finish, final_usage: &Usage, out: &mut Vec<u8>) {
        if !self.started {
            self.start("", &Usage::default(), out);
        }
        self.close_block(out);
        let mut usage = self.start_usage;
        usage.merge(final_usage);
        let (stop_reason, stop_sequence) = stop_reason::for_client(finish, self.emitted_tool_calls);
        Self::write(
            out,
            &MessageStreamEvent::MessageDelta {
                delta: MessageDelta {
                    stop_reason,
                    stop_sequence,
                },
                usage: usage::encode(&usage),
            },
        );
        Self::write(out, &MessageStreamEvent::MessageStop);
        self.done = true;
    }
}

impl StreamEncode for StreamEncoder {
    fn push(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match event {
            StreamEvent::Start { id, usage, .. } => self.start(id, usage, out),
            StreamEvent::BlockStart { index, block } => self.start_block(*index, block, out),
            StreamEvent::BlockDelta { index, delta } => self.delta(*index, delta, out),
            StreamEvent::BlockStop { index } => {
                if self
                    .open
                    .as_ref()
                    .is_some_and(|open| open.canonical_index == *index)
                {
                    self.close_block(out);
                }
            }
            StreamEvent::KeepAlive => Self::write(out, &MessageStreamEvent::Ping),
            StreamEvent::Finish { finish, usage } => self.finish(finish, usage, out),
            StreamEvent::Error(error) => {
                write_error(error, out);
                self.done = true;
            }
        }
    }
}

/// The in-band `error` event.
pub fn write_error(error: &ApiError, out: &mut Vec<u8>) {
    let message = super::errors::client_message(error);
    let event = MessageStreamEvent::Error {
        error: ErrorObject {
            kind: super::errors::error_type(error.kind),
            message: &message,
        },
    };
    write_json_event(out, Some(event.name()), &event);
}
