//! `StreamDecoder`: a Responses upstream's SSE → canonical events.
//!
//! | Responses event | canonical |
//! |---|---|
//! | `response.created` | `Start` (id, model; usage comes at the end) |
//! | `output_item.added` function_call / custom_tool_call | `BlockStart::ToolCall` (`call_id`, flat name) |
//! | `function_call_arguments.delta` / `custom_tool_call_input.delta` | `ToolArguments` |
//! | `output_item.done` call | the full arguments if none streamed; `BlockStop` |
//! | `content_part.added` / first `output_text.delta` / `refusal.delta` | a text (refusal) block per content part |
//! | `output_text.delta` / `refusal.delta` | `Text` / `Refusal` |
//! | `content_part.done` | `BlockStop` |
//! | `output_item.done` message whose text never streamed | one block per part, whole |
//! | `reasoning_summary_part.added` / `reasoning_summary_text.delta` / `reasoning_text.delta` | one reasoning block per item; later parts after a blank line |
//! | `output_item.done` reasoning | the block if none opened yet; `Signature` (OpenAI `encrypted_content`, from `done`); `BlockStop` |
//! | `output_item.added` web_search_call | `BlockStart::ServerToolCall` |
//! | `output_item.done` web_search_call | its input (the query), `BlockStop`; then the result whole (`BlockStart::ServerToolResult`, `BlockStop`) |
//! | `output_text.annotation.added` url_citation (or, when none came, the annotations of `content_part.done`) | `Citation` of the open text block |
//! | other built-in tool call items | dropped |
//! | `response.completed` / `response.incomplete` | `Finish` (see [`stop_reason`]) with the usage, and the number of web searches |
//! | `response.failed` / `error` | `Error` (see [`errors`]) |
//! | end of body without a terminal event | `Error` |
//!
//! A block is stopped before the next one starts, so canonical indexes are dense and blocks
//! never overlap. Unknown events and unparsable frames are ignored; after `Finish` or `Error`
//! everything is.

use std::collections::HashMap;

use serde_json::Value;

use crate::canonical::{
    BlockStart, Citation, Delta, Opaque, ServerToolKind, StreamEvent, ToolKind, Usage, Vendor,
};
use crate::error::{ApiError, ErrorKind};
use crate::formats::StreamDecode;
use crate::sse::SseEvent;

use super::errors;
use super::namespace;
use super::response_decode::{reasoning_part, reasoning_text, usage_or_empty};
use super::server_tools;
use super::stop_reason::{self, Terminal};
use super::stream_hot;
use super::wire::{
    Annotation, OutputContent, OutputItem, ResponseError, ResponseHeader, StreamEventWire,
};

#[derive(Debug, Default)]
pub struct StreamDecoder {
    /// `Start` was emitted.
    started: bool,
    /// `Finish` or `Error` was emitted; everything after is ignored.
    done: bool,
    /// The canonical index of the next block.
    next_index: usize,
    /// The open canonical block, if any (at most one: blocks never overlap).
    open: Option<OpenBlock>,
    /// What is known of each upstream output item, by `output_index`.
    items: HashMap<u64, ItemState>,
    /// A tool call block was emitted (a `completed` turn then reports tool use).
    saw_tool_calls: bool,
    /// `web_search_call` items seen (the answer's search count).
    searches: u64,
    /// The open text part's text, kept once the answer has searched (its citations quote
    /// it); empty otherwise.
    part_text: String,
    /// Citations the open text part got from `annotation.added` events.
    part_citations: usize,
}

/// The open canonical block and the upstream item it comes from.
#[derive(Debug, Clone, Copy)]
struct OpenBlock {
    index: usize,
    output_index: u64,
    kind: OpenKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenKind {
    /// A message content part (`content_index`).
    Text(u64),
    Refusal(u64),
    Reasoning,
    /// A tool call; `arguments_seen` once any argument delta was emitted.
    Call {
        arguments_seen: bool,
    },
    /// A web search OpenAI runs; its input comes with the item's `done`.
    Search,
}

/// One upstream output item.
#[derive(Debug, Default)]
struct ItemState {
    /// A canonical block was opened for this item.
    emitted: bool,
    /// Reasoning: the summary (or raw text) part streaming now; a new one starts after "\n\n".
    part: Option<u64>,
    /// Reasoning: summary parts were seen, so raw `reasoning_text` deltas are ignored (the
    /// non-stream text is the summary when there is one).
    summary_seen: bool,
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder::default()
    }

    fn ensure_started(&mut self, response: Option<&ResponseHeader>, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(StreamEvent::Start {
            id: response.map(|r| r.id.clone()).unwrap_or_default(),
            model: response.map(|r| r.model.clone()).unwrap_or_default(),
            usage: Usage::default(),
        });
    }

    fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(open) = self.open.take() {
            out.push(StreamEvent::BlockStop { index: open.index });
        }
    }

    fn open_block(
        &mut self,
        output_index: u64,
        kind: OpenKind,
        block: BlockStart,
        out: &mut Vec<StreamEvent>,
    ) {
        self.ensure_started(None, out);
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.items.entry(output_index).or_default().emitted = true;
        self.open = Some(OpenBlock {
            index,
            output_index,
            kind,
        });
        out.push(StreamEvent::BlockStart { index, block });
    }

    fn delta(&self, delta: Delta, out: &mut Vec<StreamEvent>) {
        if let Some(open) = self.open {
            out.push(StreamEvent::BlockDelta {
                index: open.index,
                delta,
            });
        }
    }

    /// The open block, when it belongs to item `output_index`.
    fn open_for(&self, output_index: u64) -> Option<OpenBlock> {
        self.open.filter(|open| open.output_index == output_index)
    }

    /// Makes a text or refusal block for content part `content_index` of item `output_index`
    /// the open one.
    fn text_part(
        &mut self,
        output_index: u64,
        content_index: u64,
        refusal: bool,
        out: &mut Vec<StreamEvent>,
    ) {
        let kind = if refusal {
            OpenKind::Refusal(content_index)
        } else {
            OpenKind::Text(content_index)
        };
        if self
            .open_for(output_index)
            .is_some_and(|open| open.kind == kind)
        {
            return;
        }
        let block = if refusal {
            BlockStart::Refusal
        } else {
            BlockStart::Text
        };
        self.open_block(output_index, kind, block, out);
        self.part_text.clear();
        self.part_citations = 0;
    }

    /// A citation of the open text part `content_index` of item `output_index`.
    fn cite(
        &mut self,
        output_index: u64,
        content_index: u64,
        annotation: Annotation,
        out: &mut Vec<StreamEvent>,
    ) {
        let open = self
            .open_for(output_index)
            .is_some_and(|open| open.kind == OpenKind::Text(content_index));
        if !open {
            return;
        }
        if let Some(citation) = server_tools::citation(annotation, &self.part_text) {
            self.part_citations += 1;
            self.delta(Delta::Citation(Box::new(citation)), out);
        }
    }

    /// A `web_search_call` item is done: its query closes the call, and its result follows
    /// whole. A call whose `added` was missed is emitted whole.
    fn search_done(
        &mut self,
        output_index: u64,
        (id, status, action): (String, Option<String>, Option<Value>),
        out: &mut Vec<StreamEvent>,
    ) {
        let open = self
            .open_for(output_index)
            .is_some_and(|open| open.kind == OpenKind::Search);
        let emitted = self.items.get(&output_index).is_some_and(|i| i.emitted);
        if emitted && !open {
            return;
        }
        let (call, result) = server_tools::call_and_result(id, status.as_deref(), action.as_ref());
        if !open {
            self.searches += 1;
            self.open_block(
                output_index,
                OpenKind::Search,
                BlockStart::ServerToolCall {
                    id: call.id,
                    kind: call.kind,
                },
                out,
            );
        }
        if !call.input.is_empty() {
            self.delta(Delta::ToolArguments(call.input), out);
        }
        self.close(out);
        self.open_block(
            output_index,
            OpenKind::Search,
            BlockStart::ServerToolResult(Box::new(result)),
            out,
        );
        self.close(out);
    }

    /// Makes the reasoning block of item `output_index` the open one, at part `part` (a
    /// summary index, or a raw-text content index); a new part starts after a blank line.
    fn reasoning_part(&mut self, output_index: u64, part: u64, out: &mut Vec<StreamEvent>) {
        let open = self
            .open_for(output_index)
            .is_some_and(|open| open.kind == OpenKind::Reasoning);
        if !open {
            self.open_block(
                output_index,
                OpenKind::Reasoning,
                BlockStart::Reasoning,
                out,
            );
            self.items.entry(output_index).or_default().part = Some(part);
            return;
        }
        let item = self.items.entry(output_index).or_default();
        if item.part != Some(part) {
            let separate = item.part.is_some();
            item.part = Some(part);
            if separate {
                self.delta(Delta::Reasoning("\n\n".to_owned()), out);
            }
        }
    }

    fn item_added(&mut self, output_index: u64, item: OutputItem, out: &mut Vec<StreamEvent>) {
        let (id, name, namespace, kind) = match item {
            OutputItem::FunctionCall {
                call_id,
                name,
                namespace,
                ..
            } => (call_id, name, namespace, ToolKind::Function),
            OutputItem::CustomToolCall {
                call_id,
                name,
                namespace,
                ..
            } => (call_id, name, namespace, ToolKind::Custom),
            OutputItem::WebSearchCall { id, .. } => {
                self.searches += 1;
                self.open_block(
                    output_index,
                    OpenKind::Search,
                    BlockStart::ServerToolCall {
                        id,
                        kind: ServerToolKind::WebSearch,
                    },
                    out,
                );
                return;
            }
            OutputItem::Message { .. } | OutputItem::Reasoning { .. } | OutputItem::Other => {
                self.items.entry(output_index).or_default();
                return;
            }
        };
        self.saw_tool_calls = true;
        let name = namespace::call_name(namespace.as_deref(), &name);
        self.open_block(
            output_index,
            OpenKind::Call {
                arguments_seen: false,
            },
            BlockStart::ToolCall { id, name, kind },
            out,
        );
    }

    fn item_done(&mut self, output_index: u64, item: OutputItem, out: &mut Vec<StreamEvent>) {
        let open = self.open_for(output_index);
        let emitted = self.items.get(&output_index).is_some_and(|i| i.emitted);
        match item {
            OutputItem::Message { content } => {
                if emitted {
                    if open.is_some() {
                        self.close(out);
                    }
                    return;
                }
                for (content_index, part) in (0u64..).zip(content) {
                    let (refusal, delta, annotations) = match part {
                        OutputContent::OutputText { text, annotations } => {
                            (false, Delta::Text(text), annotations)
                        }
                        OutputContent::Refusal { refusal } => {
                            (true, Delta::Refusal(refusal), Vec::new())
                        }
                        OutputContent::Other => continue,
                    };
                    self.text_part(output_index, content_index, refusal, out);
                    let citations: Vec<Citation> = match &delta {
                        Delta::Text(text) => annotations
                            .into_iter()
                            .filter_map(|a| server_tools::citation(a, text))
                            .collect(),
                        _ => Vec::new(),
                    };
                    if !matches!(&delta, Delta::Text(t) | Delta::Refusal(t) if t.is_empty()) {
                        self.delta(delta, out);
                    }
                    for citation in citations {
                        self.delta(Delta::Citation(Box::new(citation)), out);
                    }
                    self.close(out);
                }
            }
            OutputItem::Reasoning {
                summary,
                content,
                encrypted_content,
            } => {
                let opaque = encrypted_content
                    .filter(|blob| !blob.is_empty())
                    .map(|data| Opaque {
                        vendor: Vendor::OpenAi,
                        data,
                    });
                if open.is_some_and(|o| o.kind == OpenKind::Reasoning) {
                    if let Some(opaque) = opaque {
                        self.delta(Delta::Signature(opaque), out);
                    }
                    self.close(out);
                    return;
                }
                if emitted {
                    return;
                }
                let text = reasoning_text(
                    summary.iter().map(|s| s.text.as_str()),
                    content.iter().map(|c| c.text.as_str()),
                );
                let Some(part) = reasoning_part(text, opaque.map(|o| o.data)) else {
                    return;
                };
                self.open_block(
                    output_index,
                    OpenKind::Reasoning,
                    BlockStart::Reasoning,
                    out,
                );
                if !part.text.is_empty() {
                    self.delta(Delta::Reasoning(part.text), out);
                }
                if let Some(opaque) = part.opaque {
                    self.delta(Delta::Signature(opaque), out);
                }
                self.close(out);
            }
            OutputItem::FunctionCall {
                call_id,
                name,
                arguments,
                namespace,
            } => self.call_done(
                output_index,
                open,
                emitted,
                (call_id, name, namespace),
                arguments,
                ToolKind::Function,
                out,
            ),
            OutputItem::CustomToolCall {
                call_id,
                name,
                input,
                namespace,
            } => self.call_done(
                output_index,
                open,
                emitted,
                (call_id, name, namespace),
                input,
                ToolKind::Custom,
                out,
            ),
            OutputItem::WebSearchCall { id, status, action } => {
                self.search_done(output_index, (id, status, action), out)
            }
            OutputItem::Other => {}
        }
    }

    /// A call item is done: the full arguments if none streamed, then the stop. A call whose
    /// `added` was missed is emitted whole.
    #[allow(clippy::too_many_arguments)]
    fn call_done(
        &mut self,
        output_index: u64,
        open: Option<OpenBlock>,
        emitted: bool,
        (call_id, name, namespace): (String, String, Option<String>),
        arguments: String,
        kind: ToolKind,
        out: &mut Vec<StreamEvent>,
    ) {
        let arguments_seen = match open.map(|o| o.kind) {
            Some(OpenKind::Call { arguments_seen }) => arguments_seen,
            _ if emitted => return,
            _ => {
                self.saw_tool_calls = true;
                let name = namespace::call_name(namespace.as_deref(), &name);
                self.open_block(
                    output_index,
                    OpenKind::Call {
                        arguments_seen: false,
                    },
                    BlockStart::ToolCall {
                        id: call_id,
                        name,
                        kind,
                    },
                    out,
                );
                false
            }
        };
        if !arguments_seen && !arguments.is_empty() {
            self.delta(Delta::ToolArguments(arguments), out);
        }
        self.close(out);
    }

    fn arguments(&mut self, output_index: u64, fragment: String, out: &mut Vec<StreamEvent>) {
        let Some(open) = self.open_for(output_index) else {
            return;
        };
        if !matches!(open.kind, OpenKind::Call { .. }) || fragment.is_empty() {
            return;
        }
        self.open = Some(OpenBlock {
            kind: OpenKind::Call {
                arguments_seen: true,
            },
            ..open
        });
        self.delta(Delta::ToolArguments(fragment), out);
    }

    fn terminal(
        &mut self,
        terminal: Terminal<'_>,
        response: Option<&ResponseHeader>,
        out: &mut Vec<StreamEvent>,
    ) {
        self.ensure_started(response, out);
        self.close(out);
        let mut usage = usage_or_empty(response.and_then(|r| r.usage.as_ref()));
        usage.web_search_calls = (self.searches > 0).then_some(self.searches);
        out.push(StreamEvent::Finish {
            finish: stop_reason::decode_finish(terminal, self.saw_tool_calls),
            usage,
        });
        self.done = true;
    }

    fn fail(&mut self, error: ApiError, out: &mut Vec<StreamEvent>) {
        out.push(StreamEvent::Error(error));
        self.done = true;
    }

    /// The delta events (and `reasoning_summary_part.added`), from a full parse or read hot.
    fn delta_event(
        &mut self,
        kind: &str,
        output_index: u64,
        content_index: Option<u64>,
        summary_index: Option<u64>,
        delta: Option<String>,
        out: &mut Vec<StreamEvent>,
    ) {
        match kind {
            "response.output_text.delta" | "response.refusal.delta" => {
                let refusal = kind == "response.refusal.delta";
                self.text_part(output_index, content_index.unwrap_or(0), refusal, out);
                match delta {
                    Some(delta) if !delta.is_empty() => {
                        if self.searches > 0 && !refusal {
                            self.part_text.push_str(&delta);
                        }
                        self.delta(
                            if refusal {
                                Delta::Refusal(delta)
                            } else {
                                Delta::Text(delta)
                            },
                            out,
                        )
                    }
                    _ => {}
                }
            }
            "response.reasoning_summary_part.added" | "response.reasoning_summary_text.delta" => {
                self.items.entry(output_index).or_default().summary_seen = true;
                self.reasoning_part(output_index, summary_index.unwrap_or(0), out);
                match delta {
                    Some(delta) if !delta.is_empty() => self.delta(Delta::Reasoning(delta), out),
                    _ => {}
                }
            }
            "response.reasoning_text.delta" => {
                if self
                    .items
                    .get(&output_index)
                    .is_some_and(|item| item.summary_seen)
                {
                    return;
                }
                self.reasoning_part(output_index, content_index.unwrap_or(0), out);
                match delta {
                    Some(delta) if !delta.is_empty() => self.delta(Delta::Reasoning(delta), out),
                    _ => {}
                }
            }
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                if let Some(delta) = delta {
                    self.arguments(output_index, delta, out);
                }
            }
            _ => {}
        }
    }

    fn event(&mut self, event: StreamEventWire, out: &mut Vec<StreamEvent>) {
        let output_index = event.output_index.unwrap_or(0);
        match event.kind.as_str() {
            "response.created" | "response.in_progress" => {
                self.ensure_started(event.response.as_ref(), out)
            }
            "response.output_item.added" => {
                if let Some(item) = event.item {
                    self.item_added(output_index, item, out);
                }
            }
            "response.output_item.done" => {
                if let Some(item) = event.item {
                    self.item_done(output_index, item, out);
                }
            }
            "response.content_part.added" => {
                let content_index = event.content_index.unwrap_or(0);
                match event.part {
                    Some(OutputContent::OutputText { .. }) => {
                        self.text_part(output_index, content_index, false, out)
                    }
                    Some(OutputContent::Refusal { .. }) => {
                        self.text_part(output_index, content_index, true, out)
                    }
                    Some(OutputContent::Other) | None => {}
                }
            }
            "response.content_part.done" => {
                let content_index = event.content_index.unwrap_or(0);
                if self.open_for(output_index).is_some_and(|o| {
                    matches!(o.kind, OpenKind::Text(c) | OpenKind::Refusal(c) if c == content_index)
                }) {
                    // Annotations no `annotation.added` event announced.
                    if self.part_citations == 0
                        && let Some(OutputContent::OutputText { annotations, .. }) = event.part
                    {
                        for annotation in annotations {
                            self.cite(output_index, content_index, annotation, out);
                        }
                    }
                    self.close(out);
                }
            }
            "response.output_text.annotation.added" => {
                if let Some(annotation) = event.annotation {
                    self.cite(
                        output_index,
                        event.content_index.unwrap_or(0),
                        annotation,
                        out,
                    );
                }
            }
            "response.output_text.delta"
            | "response.refusal.delta"
            | "response.reasoning_summary_part.added"
            | "response.reasoning_summary_text.delta"
            | "response.reasoning_text.delta"
            | "response.function_call_arguments.delta"
            | "response.custom_tool_call_input.delta" => self.delta_event(
                &event.kind,
                output_index,
                event.content_index,
                event.summary_index,
                event.delta,
                out,
            ),
            "response.completed" => {
                self.terminal(Terminal::Completed, event.response.as_ref(), out)
            }
            "response.incomplete" => {
                let reason = event
                    .response
                    .as_ref()
                    .and_then(|r| r.incomplete_details.as_ref())
                    .and_then(|d| d.reason.clone());
                self.terminal(
                    Terminal::Incomplete(reason.as_deref()),
                    event.response.as_ref(),
                    out,
                );
            }
            "response.failed" => {
                let error = event.response.and_then(|r| r.error).unwrap_or_default();
                self.fail(errors::decode(&error), out);
            }
            "error" => {
                let nested = event.error.unwrap_or_default();
                let error = ResponseError {
                    code: event.code.or(nested.code),
                    message: event.message.or(nested.message),
                    kind: nested.kind,
                    param: nested.param,
                };
                self.fail(errors::decode(&error), out);
            }
            _ => {}
        }
    }
}

impl StreamDecode for StreamDecoder {
    fn push(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        // The hot deltas are read without serde when their shape allows (see `stream_hot`),
        // straight into what `event` does with them.
        if let Some(hot) = stream_hot::read_delta(&event.data) {
            self.delta_event(
                hot.kind,
                hot.output_index,
                hot.content_index,
                hot.summary_index,
                Some(hot.delta.into_owned()),
                out,
            );
            return;
        }
        let parsed = serde_json::from_str::<StreamEventWire>(&event.data);
        let Ok(event) = parsed else {
            return;
        };
        self.event(event, out);
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        self.fail(
            ApiError::new(
                ErrorKind::UpstreamFailed,
                "the upstream stream ended before response.completed",
            ),
            out,
        );
    }
}
