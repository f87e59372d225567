//! Canonical [`StreamEvent`]s → the SSE stream a Chat client reads.
//!
//! The OpenAI SDK accumulators concatenate strings and add numbers across chunks, so the
//! encoder writes `role` once (in the first chunk), a tool call's `id`, `type` and name only in
//! its first delta, and numbers tool calls 0, 1, 2… in order of appearance (not by canonical
//! block index). Every chunk carries `"usage": null` and the usage chunk (`choices: []`) comes
//! last, before `[DONE]`, only when the client asked for `include_usage`. Chat has one string
//! per kind (content, reasoning, refusal): a second block of a kind that already wrote text
//! starts with a blank line, as the non-stream answer joins blocks. Signatures and redacted
//! reasoning have no carrier in Chat and are dropped. An error is one `{"error": ...}` chunk,
//! after which nothing is written (no `[DONE]`).

use std::borrow::Cow;

use super::response::BLOCK_SEPARATOR;
use super::stream_hot::ChunkHead;
use super::wire::{
    ChatCompletionChunk, ChoiceDelta, ChoiceDeltaCustom, ChoiceDeltaFunction, ChoiceDeltaToolCall,
    ChunkChoice, ErrorChunk, List,
};
use super::{stop_reason, usage};
use crate::canonical::{BlockStart, Delta, Finish, StreamEvent, ToolKind, Usage};
use crate::error::ApiError;
use crate::formats::{ResponseContext, StreamEncode, client_id};
use crate::sse::{write_comment, write_event, write_json_event};

/// Encoder state for one client stream.
#[derive(Debug)]
pub struct StreamEncoder {
    context: ResponseContext,
    /// The client-facing completion id, the same on every chunk. Set at `Start`.
    id: String,
    phase: Phase,
    /// How the open canonical block is written; `None` between blocks.
    open: Option<Open>,
    /// Tool calls announced so far, which is the next call's `tool_calls[].index`.
    tool_calls: usize,
    /// Per content kind, whether an earlier block of that kind wrote text.
    wrote: Wrote,
    /// The bytes every chunk starts with, once the id is known (see `stream_hot`).
    head: Option<ChunkHead>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing written yet.
    Fresh,
    /// The role chunk is written; content follows.
    Streaming,
    /// The terminator or the error chunk is written; every later event is ignored.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContentKind {
    Text,
    Reasoning,
    Refusal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// A text, reasoning or refusal block. `separate`: its first text must be preceded by
    /// [`BLOCK_SEPARATOR`] because an earlier block of its kind wrote text.
    Content { kind: ContentKind, separate: bool },
    /// A tool call, written at `tool_index` in `tool_calls`.
    Call { tool_index: usize, kind: ToolKind },
    /// A block Chat cannot carry (redacted reasoning).
    Dropped,
}

#[derive(Debug, Clone, Copy, Default)]
struct Wrote {
    text: bool,
    reasoning: bool,
    refusal: bool,
}

impl Wrote {
    fn get(&self, kind: ContentKind) -> bool {
        match kind {
            ContentKind::Text => self.text,
            ContentKind::Reasoning => self.reasoning,
            ContentKind::Refusal => self.refusal,
        }
    }

    fn set(&mut self, kind: ContentKind) {
        *self.get_mut(kind) = true;
    }

    fn get_mut(&mut self, kind: ContentKind) -> &mut bool {
        match kind {
            ContentKind::Text => &mut self.text,
            ContentKind::Reasoning => &mut self.reasoning,
            ContentKind::Refusal => &mut self.refusal,
        }
    }
}

impl StreamEncoder {
    pub fn new(context: ResponseContext) -> StreamEncoder {
        StreamEncoder {
            context,
            id: String::new(),
            phase: Phase::Fresh,
            open: None,
            tool_calls: 0,
            wrote: Wrote::default(),
            head: None,
        }
    }

    /// Writes the role chunk if it was not written yet (content before `Start` is tolerated,
    /// under the gateway's request id).
    fn start(&mut self, upstream_id: &str, out: &mut Vec<u8>) {
        if self.phase != Phase::Fresh {
            return;
        }
        self.id = client_id("chatcmpl-", upstream_id, &self.context);
        self.head = Some(ChunkHead::new(
            &self.id,
            self.context.created_s,
            &self.context.model,
            self.context.include_usage,
        ));
        self.phase = Phase::Streaming;
        self.write_delta(
            ChoiceDelta {
                role: Some(Cow::Borrowed("assistant")),
                content: Some(Cow::Borrowed("")),
                ..ChoiceDelta::default()
            },
            None,
            out,
        );
    }

    fn write_delta(
        &self,
        delta: ChoiceDelta<'_>,
        finish_reason: Option<&'static str>,
        out: &mut Vec<u8>,
    ) {
        let choice = ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason: finish_reason.map(Cow::Borrowed),
            stop_reason: None,
        };
        self.write_chunk(std::slice::from_ref(&choice), None, out);
    }

    fn write_chunk(&self, choices: &[ChunkChoice<'_>], usage: Option<&Usage>, out: &mut Vec<u8>) {
        let chunk = ChatCompletionChunk {
            id: Cow::Borrowed(&self.id),
            object: Cow::Borrowed("chat.completion.chunk"),
            created: self.context.created_s,
            model: Cow::Borrowed(&self.context.model),
            choices: List::Borrowed(choices),
            usage: self.context.include_usage.then(|| usage.map(usage::encode)),
            error: None,
            x_groq: None,
        };
        write_json_event(out, None, &chunk);
    }

    fn on_block_start(&mut self, block: &BlockStart, out: &mut Vec<u8>) {
        let wrote = self.wrote;
        let content = |kind| Open::Content {
            kind,
            separate: wrote.get(kind),
        };
        self.open = Some(match block {
            BlockStart::Text => content(ContentKind::Text),
            BlockStart::Reasoning => content(ContentKind::Reasoning),
            BlockStart::Refusal => content(ContentKind::Refusal),
            // Chat has no place for another vendor's hidden reasoning or for searches the
            // vendor ran (their findings are in the text).
            BlockStart::RedactedReasoning(_)
            | BlockStart::ServerToolCall { .. }
            | BlockStart::ServerToolResult(_) => Open::Dropped,
            BlockStart::ToolCall { id, name, kind } => {
                let tool_index = self.tool_calls;
                self.tool_calls += 1;
                let (type_name, function, custom) = match kind {
                    ToolKind::Function => (
                        "function",
                        Some(ChoiceDeltaFunction {
                            name: Some(Cow::Borrowed(name)),
                            arguments: Some(Cow::Borrowed("")),
                        }),
                        None,
                    ),
                    ToolKind::Custom => (
                        "custom",
                        None,
                        Some(ChoiceDeltaCustom {
                            name: Some(Cow::Borrowed(name)),
                            input: Some(Cow::Borrowed("")),
                        }),
                    ),
                };
                let call = ChoiceDeltaToolCall {
                    index: Some(tool_index as u64),
                    id: Some(Cow::Borrowed(id)),
                    kind: Some(Cow::Borrowed(type_name)),
                    function,
                    custom,
                };
                self.write_tool_call(call, out);
                Open::Call {
                    tool_index,
                    kind: *kind,
                }
            }
        });
    }

    fn write_tool_call(&self, call: ChoiceDeltaToolCall<'_>, out: &mut Vec<u8>) {
        self.write_delta(
            ChoiceDelta {
                tool_calls: Some(List::Borrowed(std::slice::from_ref(&call))),
                ..ChoiceDelta::default()
            },
            None,
            out,
        );
    }

    fn write_content(&mut self, kind: ContentKind, text: &str, out: &mut Vec<u8>) {
        if text.is_empty() {
            return;
        }
        if let Some(Open::Content {
            kind: open_kind,
            separate,
        }) = &mut self.open
            && *open_kind == kind
            && *separate
        {
            *separate = false;
            self.write_text(kind, BLOCK_SEPARATOR, out);
        }
        self.wrote.set(kind);
        self.write_text(kind, text, out);
    }

    /// A chunk of one content string: the hot path, written without serde.
    fn write_text(&self, kind: ContentKind, text: &str, out: &mut Vec<u8>) {
        let member = match kind {
            ContentKind::Text => "content",
            ContentKind::Reasoning => "reasoning_content",
            ContentKind::Refusal => "refusal",
        };
        match &self.head {
            Some(head) => head.write_content(out, member, text),
            None => self.write_delta(content_delta(kind, text), None, out),
        }
    }

    fn write_arguments(&self, fragment: &str, out: &mut Vec<u8>) {
        let Some(Open::Call { tool_index, kind }) = self.open else {
            return;
        };
        if fragment.is_empty() {
            return;
        }
        if let (ToolKind::Function, Some(head)) = (kind, &self.head) {
            head.write_arguments(out, tool_index, fragment);
            return;
        }
        let fragment = Some(Cow::Borrowed(fragment));
        let (function, custom) = match kind {
            ToolKind::Function => (
                Some(ChoiceDeltaFunction {
                    name: None,
                    arguments: fragment,
                }),
                None,
            ),
            ToolKind::Custom => (
                None,
                Some(ChoiceDeltaCustom {
                    name: None,
                    input: fragment,
                }),
            ),
        };
        self.write_tool_call(
            ChoiceDeltaToolCall {
                index: Some(tool_index as u64),
                id: None,
                kind: None,
                function,
                custom,
            },
            out,
        );
    }

    fn on_finish(&mut self, finish: &Finish, usage: &Usage, out: &mut Vec<u8>) {
        let reason = stop_reason::encode(finish.resolved(self.tool_calls > 0));
        self.write_delta(ChoiceDelta::default(), Some(reason), out);
        if self.context.include_usage {
            self.write_chunk(&[], Some(usage), out);
        }
        write_event(out, None, "[DONE]");
        self.phase = Phase::Done;
    }
}

fn content_delta(kind: ContentKind, text: &str) -> ChoiceDelta<'_> {
    let text = Some(Cow::Borrowed(text));
    match kind {
        ContentKind::Text => ChoiceDelta {
            content: text,
            ..ChoiceDelta::default()
        },
        ContentKind::Reasoning => ChoiceDelta {
            reasoning_content: text,
            ..ChoiceDelta::default()
        },
        ContentKind::Refusal => ChoiceDelta {
            refusal: text,
            ..ChoiceDelta::default()
        },
    }
}

/// The in-band error chunk: `data: {"error": {...}}`.
pub fn write_error(error: &ApiError, out: &mut Vec<u8>) {
    write_json_event(
        out,
        None,
        &ErrorChunk {
            error: crate::formats::openai_common::error_object(error),
        },
    );
}

impl StreamEncode for StreamEncoder {
    fn push(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if self.phase == Phase::Done {
            return;
        }
        match event {
            StreamEvent::Start { id, .. } => self.start(id, out),
            StreamEvent::BlockStart { block, .. } => {
                self.start("", out);
                self.on_block_start(block, out);
            }
            StreamEvent::BlockDelta { delta, .. } => {
                self.start("", out);
                match delta {
                    Delta::Text(text) => self.write_content(ContentKind::Text, text, out),
                    Delta::Reasoning(text) => self.write_content(ContentKind::Reasoning, text, out),
                    Delta::Refusal(text) => self.write_content(ContentKind::Refusal, text, out),
                    Delta::ToolArguments(fragment) => self.write_arguments(fragment, out),
                    Delta::Signature(_) | Delta::Citation(_) => {}
                }
            }
            StreamEvent::BlockStop { .. } => self.open = None,
            StreamEvent::KeepAlive => write_comment(out, "keep-alive"),
            StreamEvent::Finish { finish, usage } => {
                self.start("", out);
                self.on_finish(finish, usage, out);
            }
            StreamEvent::Error(error) => {
                write_error(error, out);
                self.phase = Phase::Done;
            }
        }
    }
}
