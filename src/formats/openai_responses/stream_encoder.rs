//! `StreamEncoder`: canonical events → Responses SSE for clients (Codex, the OpenAI SDK).
//!
//! | canonical | Responses events |
//! |---|---|
//! | `Start` | `response.created` + `response.in_progress` (skeleton, `output: []`) |
//! | start reasoning | `output_item.added` (reasoning, `summary: []`) |
//! | reasoning delta | first: `reasoning_summary_part.added` (summary 0); `reasoning_summary_text.delta` |
//! | stop reasoning | `reasoning_summary_text.done` + `reasoning_summary_part.done` (if a part was opened) + `output_item.done` (with `encrypted_content`) |
//! | start redacted reasoning | `output_item.added`; its stop: `output_item.done` with the envelope |
//! | start text / refusal | message item `output_item.added` (first part only) + `content_part.added` |
//! | text / refusal delta | `output_text.delta` (`logprobs: []`) / `refusal.delta` |
//! | stop text / refusal | `output_text.done` / `refusal.done` + `content_part.done` (the message stays open) |
//! | start tool call | close the message (`output_item.done`); `output_item.added` (`arguments: ""`) |
//! | arguments delta | `function_call_arguments.delta` / `custom_tool_call_input.delta` |
//! | stop tool call | (`{}` as the only delta of a function call that streamed none) `function_call_arguments.done` / `custom_tool_call_input.done` + `output_item.done` (complete `call_id`, `name`, `arguments`) |
//! | start server tool call | close the open item; `output_item.added` (`web_search_call`, `in_progress`) + `web_search_call.in_progress` |
//! | its input delta / stop | kept / `web_search_call.searching` (the item stays open for its result) |
//! | start server tool result | (`searching` if not yet) `web_search_call.completed` + `output_item.done` with the action: the query and the sources found |
//! | citation | kept with its text part; at the part's stop, one `output_text.annotation.added` each (`url_citation`), before `output_text.done` |
//! | `Finish` | close the message; `response.completed` or `response.incomplete` with every item and the usage |
//! | `Error` | `response.failed` with `error: {code, message}` (alone when it comes before `Start`) |
//! | `KeepAlive` | an SSE comment |
//!
//! Consecutive text and refusal blocks share one message item (one content part each), as in
//! [`super::response_encode`], so the final object equals the non-stream answer. Every event
//! carries `sequence_number` (0, 1, 2, …) and an `event:` line equal to its `type`. Codex
//! dispatches tools from `output_item.done`, so that item is always complete.

use crate::canonical::{
    BlockStart, Citation, Delta, Finish, Opaque, ServerToolCall, ServerToolResult, StreamEvent,
    ToolKind, Usage,
};
use crate::error::ApiError;
use crate::formats::{ResponseContext, StreamEncode, client_id};
use crate::sse::json_text::{JsonText, JsonTextBuilder};
use crate::sse::{write_comment, write_json_event};

use super::echo::{Echo, State};
use super::errors;
use super::namespace::Namespaces;
use super::response_encode::{
    EMPTY_ARGUMENTS, call_item, call_prefix, item_id, message_item, reasoning_item,
};
use super::response_frames::ResponseFrames;
use super::server_tools;
use super::stop_reason;
use super::stream_hot::{self, DeltaTarget};
use super::usage;
use super::wire::{
    AnnotationOut, IncompleteDetailsOut, ItemEventOut, OutputContentOut, OutputItemEventOut,
    OutputItemOut, PartOut, ReasoningItemOut, ResponseErrorOut, ResponseEventOut,
};

pub struct StreamEncoder {
    /// The client's request context (model name, timestamps, request id).
    context: ResponseContext,
    /// Defaults for echoed request fields the client left out.
    echo: Echo,
    /// Namespace tools the client declared, to restore namespaced calls.
    namespaces: Namespaces,
    /// The `sequence_number` of the next event; each written event takes one.
    sequence: u64,
    /// `resp_…`; empty until the stream started (`response.created` was written).
    response_id: String,
    /// A terminal event was written; everything after is ignored.
    finished: bool,
    /// Items already closed, in `output_index` order; each was sent in `output_item.done`.
    output: Vec<OutputItemOut>,
    /// The item being streamed; its `output_index` is `output.len()`.
    open: Option<OpenItem>,
    /// A tool call item was emitted (for [`Finish::resolved`]).
    saw_tool_calls: bool,
    /// Writes the delta events.
    deltas: stream_hot::DeltaWriter,
    /// Writes the lifecycle events (the response object's echoed fields serialized once).
    frames: ResponseFrames,
}

/// The output item being streamed.
enum OpenItem {
    Reasoning {
        id: String,
        /// The summary text so far (escaped as it grows: it is written whole three times).
        text: JsonTextBuilder,
        /// `reasoning_summary_part.added` (summary 0) was written.
        part_open: bool,
        /// Vendor state, from the `Signature` delta or a redacted block's start.
        opaque: Option<Opaque>,
        /// An Anthropic `redacted_thinking` block (its state is data, not a signature).
        redacted: bool,
    },
    Message {
        id: String,
        /// Finished content parts.
        content: Vec<OutputContentOut>,
        /// The part being streamed; its `content_index` is `content.len()`.
        part: Option<OpenPart>,
    },
    Call {
        id: String,
        call_id: String,
        /// The canonical (flat) name; split back into namespace and name when written.
        name: String,
        kind: ToolKind,
        /// Arguments (or custom input) so far.
        arguments: String,
    },
    /// A `web_search_call`: its call and, once it came, its result.
    Search {
        id: String,
        call: Option<ServerToolCall>,
        result: Option<ServerToolResult>,
        /// `web_search_call.searching` was written.
        searching: bool,
    },
}

struct OpenPart {
    refusal: bool,
    /// The text so far (escaped as it grows: it is written whole four times).
    text: JsonTextBuilder,
    /// The sources the part cites, written as annotations when it ends.
    citations: Vec<Citation>,
}

impl StreamEncoder {
    pub fn new(context: ResponseContext) -> StreamEncoder {
        let echo = Echo::default();
        // Made now, before the answer's buffers: it lives as long as the stream.
        let frames = ResponseFrames::new(&echo.object(
            &context.echo,
            State {
                id: "",
                created_at: context.created_s,
                model: &context.model,
                status: "",
                output: &[],
                usage: None,
                error: None,
                incomplete_details: None,
            },
        ));
        StreamEncoder {
            echo,
            namespaces: Namespaces::from_echo(&context.echo),
            context,
            sequence: 0,
            response_id: String::new(),
            finished: false,
            output: Vec::new(),
            open: None,
            saw_tool_calls: false,
            deltas: stream_hot::DeltaWriter::default(),
            frames,
        }
    }

    fn next_sequence(&mut self) -> u64 {
        let sequence = self.sequence;
        self.sequence += 1;
        sequence
    }

    fn output_index(&self) -> usize {
        self.output.len()
    }

    /// Writes a lifecycle event whose `response` is the current state.
    fn write_response(
        &mut self,
        kind: &'static str,
        status: &'static str,
        usage: Option<&Usage>,
        error: Option<&ResponseErrorOut>,
        incomplete_details: Option<IncompleteDetailsOut>,
        out: &mut Vec<u8>,
    ) {
        let sequence_number = self.next_sequence();
        let response = self.echo.object(
            &self.context.echo,
            State {
                id: &self.response_id,
                created_at: self.context.created_s,
                model: &self.context.model,
                status,
                output: &self.output,
                usage: usage.map(usage::encode),
                error,
                incomplete_details,
            },
        );
        self.frames.write(out, kind, sequence_number, response);
    }

    fn write_item(&mut self, kind: &'static str, item: &OutputItemOut, out: &mut Vec<u8>) {
        let sequence_number = self.next_sequence();
        write_json_event(
            out,
            Some(kind),
            &OutputItemEventOut {
                kind,
                sequence_number,
                output_index: self.output.len(),
                item,
            },
        );
    }

    fn start(&mut self, upstream_id: &str, out: &mut Vec<u8>) {
        if !self.response_id.is_empty() {
            return;
        }
        self.response_id = client_id("resp_", upstream_id, &self.context);
        self.write_response("response.created", "in_progress", None, None, None, out);
        self.write_response("response.in_progress", "in_progress", None, None, None, out);
    }

    fn block_start(&mut self, block: &BlockStart, out: &mut Vec<u8>) {
        self.start("", out);
        match block {
            BlockStart::Text | BlockStart::Refusal => {
                let refusal = matches!(block, BlockStart::Refusal);
                self.open_part(refusal, out);
            }
            BlockStart::Reasoning => self.open_reasoning(None, out),
            BlockStart::RedactedReasoning(opaque) => self.open_reasoning(Some(opaque.clone()), out),
            BlockStart::ServerToolCall { id, kind } => {
                let call = ServerToolCall {
                    id: id.clone(),
                    kind: *kind,
                    input: String::new(),
                };
                self.open_search(Some(call), out);
            }
            BlockStart::ServerToolResult(result) => {
                let answers_open = matches!(
                    &self.open,
                    Some(OpenItem::Search { call: Some(call), result: None, .. })
                        if call.id == result.call_id
                );
                if !answers_open {
                    self.open_search(None, out);
                }
                if let Some(OpenItem::Search { result: slot, .. }) = &mut self.open {
                    *slot = Some((**result).clone());
                }
                self.close_item(out);
            }
            BlockStart::ToolCall { id, name, kind } => {
                self.close_item(out);
                self.saw_tool_calls = true;
                let item = item_id(call_prefix(*kind), &self.response_id, self.output_index());
                let added = call_item(
                    item.clone(),
                    "in_progress",
                    id,
                    name,
                    *kind,
                    String::new(),
                    &self.namespaces,
                );
                self.write_item("response.output_item.added", &added, out);
                self.open = Some(OpenItem::Call {
                    id: item,
                    call_id: id.clone(),
                    name: name.clone(),
                    kind: *kind,
                    arguments: String::new(),
                });
            }
        }
    }

    /// Opens a `web_search_call` item (for a result that came without its call, `call` is
    /// `None`).
    fn open_search(&mut self, call: Option<ServerToolCall>, out: &mut Vec<u8>) {
        self.close_item(out);
        let id = item_id("ws", &self.response_id, self.output_index());
        let added =
            OutputItemOut::WebSearchCall(server_tools::search_item(id.clone(), None, None, false));
        self.write_item("response.output_item.added", &added, out);
        self.write_search_event("response.web_search_call.in_progress", &id, out);
        self.open = Some(OpenItem::Search {
            id,
            call,
            result: None,
            searching: false,
        });
    }

    /// One of the `response.web_search_call.*` progress events.
    fn write_search_event(&mut self, kind: &'static str, item_id: &str, out: &mut Vec<u8>) {
        let sequence_number = self.next_sequence();
        write_json_event(
            out,
            Some(kind),
            &ItemEventOut {
                kind,
                sequence_number,
                item_id,
                output_index: self.output.len(),
                ..ItemEventOut::default()
            },
        );
    }

    /// Opens a reasoning item; a redacted block brings its state along.
    fn open_reasoning(&mut self, opaque: Option<Opaque>, out: &mut Vec<u8>) {
        self.close_item(out);
        let id = item_id("rs", &self.response_id, self.output_index());
        let added =
            OutputItemOut::Reasoning(reasoning_item(id.clone(), JsonText::default(), None, false));
        self.write_item("response.output_item.added", &added, out);
        self.open = Some(OpenItem::Reasoning {
            id,
            text: JsonTextBuilder::default(),
            part_open: false,
            redacted: opaque.is_some(),
            opaque,
        });
    }

    /// Opens a text or refusal part, in the open message item or a new one.
    fn open_part(&mut self, refusal: bool, out: &mut Vec<u8>) {
        if !matches!(self.open, Some(OpenItem::Message { .. })) {
            self.close_item(out);
            let id = item_id("msg", &self.response_id, self.output_index());
            let added = OutputItemOut::Message(message_item(id.clone(), "in_progress", Vec::new()));
            self.write_item("response.output_item.added", &added, out);
            self.open = Some(OpenItem::Message {
                id,
                content: Vec::new(),
                part: None,
            });
        }
        let sequence_number = self.next_sequence();
        let output_index = self.output_index();
        let Some(OpenItem::Message { id, content, part }) = &mut self.open else {
            return;
        };
        let empty = JsonText::default();
        write_json_event(
            out,
            Some("response.content_part.added"),
            &ItemEventOut {
                kind: "response.content_part.added",
                sequence_number,
                item_id: id,
                output_index,
                content_index: Some(content.len()),
                part: Some(if refusal {
                    PartOut::Refusal { refusal: &empty }
                } else {
                    PartOut::OutputText {
                        text: &empty,
                        annotations: &[],
                    }
                }),
                ..ItemEventOut::default()
            },
        );
        *part = Some(OpenPart {
            refusal,
            text: JsonTextBuilder::default(),
            citations: Vec::new(),
        });
    }

    /// A delta for the open block; one for a block of another kind breaks the canonical
    /// grammar and is not written.
    fn delta(&mut self, delta: &Delta, out: &mut Vec<u8>) {
        match delta {
            Delta::Text(fragment) => self.part_delta(fragment, false, out),
            Delta::Refusal(fragment) => self.part_delta(fragment, true, out),
            Delta::Reasoning(fragment) => self.reasoning_delta(fragment, out),
            Delta::Signature(signature) => {
                if let Some(OpenItem::Reasoning { opaque, .. }) = &mut self.open {
                    *opaque = Some(signature.clone());
                }
            }
            Delta::ToolArguments(fragment) => match &mut self.open {
                Some(OpenItem::Search {
                    call: Some(call), ..
                }) => call.input.push_str(fragment),
                _ => self.arguments_delta(fragment, out),
            },
            Delta::Citation(citation) => {
                if let Some(OpenItem::Message {
                    part: Some(part), ..
                }) = &mut self.open
                    && !part.refusal
                {
                    part.citations.push((**citation).clone());
                }
            }
        }
    }

    fn part_delta(&mut self, fragment: &str, refusal: bool, out: &mut Vec<u8>) {
        let output_index = self.output_index();
        let Some(OpenItem::Message {
            id,
            content,
            part: Some(part),
        }) = &mut self.open
        else {
            return;
        };
        if fragment.is_empty() || part.refusal != refusal {
            return;
        }
        let escaped = part.text.push_str(fragment);
        let kind = if refusal {
            "response.refusal.delta"
        } else {
            "response.output_text.delta"
        };
        let sequence_number = self.sequence;
        self.sequence += 1;
        let target = DeltaTarget {
            sequence_number,
            item_id: id,
            output_index,
            content_index: Some(content.len()),
            summary_index: None,
        };
        self.deltas
            .write_escaped(out, kind, target, escaped, !refusal);
    }

    fn reasoning_delta(&mut self, fragment: &str, out: &mut Vec<u8>) {
        let output_index = self.output_index();
        let Some(OpenItem::Reasoning {
            id,
            text,
            part_open,
            ..
        }) = &mut self.open
        else {
            return;
        };
        if fragment.is_empty() {
            return;
        }
        if !*part_open {
            *part_open = true;
            let sequence_number = self.sequence;
            self.sequence += 1;
            write_json_event(
                out,
                Some("response.reasoning_summary_part.added"),
                &ItemEventOut {
                    kind: "response.reasoning_summary_part.added",
                    sequence_number,
                    item_id: id,
                    output_index,
                    summary_index: Some(0),
                    part: Some(PartOut::SummaryText {
                        text: &JsonText::default(),
                    }),
                    ..ItemEventOut::default()
                },
            );
        }
        let escaped = text.push_str(fragment);
        let sequence_number = self.sequence;
        self.sequence += 1;
        let target = DeltaTarget {
            sequence_number,
            item_id: id,
            output_index,
            content_index: None,
            summary_index: Some(0),
        };
        let kind = "response.reasoning_summary_text.delta";
        self.deltas.write_escaped(out, kind, target, escaped, false);
    }

    fn arguments_delta(&mut self, fragment: &str, out: &mut Vec<u8>) {
        let output_index = self.output_index();
        let Some(OpenItem::Call {
            id,
            kind,
            arguments,
            ..
        }) = &mut self.open
        else {
            return;
        };
        if fragment.is_empty() {
            return;
        }
        arguments.push_str(fragment);
        let event = match kind {
            ToolKind::Function => "response.function_call_arguments.delta",
            ToolKind::Custom => "response.custom_tool_call_input.delta",
        };
        let sequence_number = self.sequence;
        self.sequence += 1;
        let target = DeltaTarget {
            sequence_number,
            item_id: id,
            output_index,
            content_index: None,
            summary_index: None,
        };
        self.deltas.write(out, event, target, fragment, false);
    }

    fn block_stop(&mut self, out: &mut Vec<u8>) {
        match &mut self.open {
            Some(OpenItem::Message { .. }) => self.close_part(out),
            Some(OpenItem::Reasoning { .. } | OpenItem::Call { .. }) => self.close_item(out),
            // The call is made: the item waits for its result (or the next block).
            Some(OpenItem::Search { id, searching, .. }) if !*searching => {
                *searching = true;
                let id = id.clone();
                self.write_search_event("response.web_search_call.searching", &id, out);
            }
            Some(OpenItem::Search { .. }) | None => {}
        }
    }

    /// Ends the streaming text or refusal part; the message item stays open.
    fn close_part(&mut self, out: &mut Vec<u8>) {
        let output_index = self.output_index();
        let Some(OpenItem::Message { id, content, part }) = &mut self.open else {
            return;
        };
        let Some(part) = part.take() else {
            return;
        };
        let content_index = content.len();
        // The text's length in characters (the span of a citation without one) is counted only
        // for a part that cites: counting is a pass over the whole text.
        let chars = if part.citations.is_empty() {
            0
        } else {
            part.text.as_str().chars().count()
        };
        let annotations: Vec<AnnotationOut> = part
            .citations
            .iter()
            .map(|citation| server_tools::annotation(citation, chars))
            .collect();
        for (annotation_index, annotation) in annotations.iter().enumerate() {
            write_json_event(
                out,
                Some("response.output_text.annotation.added"),
                &ItemEventOut {
                    kind: "response.output_text.annotation.added",
                    sequence_number: self.sequence,
                    item_id: id,
                    output_index,
                    content_index: Some(content_index),
                    annotation_index: Some(annotation_index),
                    annotation: Some(annotation),
                    ..ItemEventOut::default()
                },
            );
            self.sequence += 1;
        }
        let (done_kind, finished) = if part.refusal {
            (
                "response.refusal.done",
                OutputContentOut::Refusal {
                    refusal: part.text.finish(),
                },
            )
        } else {
            (
                "response.output_text.done",
                OutputContentOut::OutputText {
                    text: part.text.finish(),
                    annotations,
                },
            )
        };
        let (text, part_out) = match &finished {
            OutputContentOut::OutputText { text, annotations } => {
                (text, PartOut::OutputText { text, annotations })
            }
            OutputContentOut::Refusal { refusal } => (refusal, PartOut::Refusal { refusal }),
        };
        let refusal = matches!(finished, OutputContentOut::Refusal { .. });
        write_json_event(
            out,
            Some(done_kind),
            &ItemEventOut {
                kind: done_kind,
                sequence_number: self.sequence,
                item_id: id,
                output_index,
                content_index: Some(content_index),
                text: (!refusal).then_some(text),
                refusal: refusal.then_some(text),
                logprobs: (!refusal).then_some([]),
                ..ItemEventOut::default()
            },
        );
        write_json_event(
            out,
            Some("response.content_part.done"),
            &ItemEventOut {
                kind: "response.content_part.done",
                sequence_number: self.sequence + 1,
                item_id: id,
                output_index,
                content_index: Some(content_index),
                part: Some(part_out),
                ..ItemEventOut::default()
            },
        );
        self.sequence += 2;
        content.push(finished);
    }

    /// Ends the open item (any streaming part first) and adds it to the output.
    fn close_item(&mut self, out: &mut Vec<u8>) {
        if matches!(self.open, Some(OpenItem::Message { part: Some(_), .. })) {
            self.close_part(out);
        }
        let Some(open) = self.open.take() else {
            return;
        };
        let output_index = self.output_index();
        let item = match open {
            OpenItem::Reasoning {
                id,
                text,
                part_open,
                opaque,
                redacted,
            } => {
                let text = text.finish();
                if part_open {
                    let sequence_number = self.next_sequence();
                    write_json_event(
                        out,
                        Some("response.reasoning_summary_text.done"),
                        &ItemEventOut {
                            kind: "response.reasoning_summary_text.done",
                            sequence_number,
                            item_id: &id,
                            output_index,
                            summary_index: Some(0),
                            text: Some(&text),
                            ..ItemEventOut::default()
                        },
                    );
                    let sequence_number = self.next_sequence();
                    write_json_event(
                        out,
                        Some("response.reasoning_summary_part.done"),
                        &ItemEventOut {
                            kind: "response.reasoning_summary_part.done",
                            sequence_number,
                            item_id: &id,
                            output_index,
                            summary_index: Some(0),
                            part: Some(PartOut::SummaryText { text: &text }),
                            ..ItemEventOut::default()
                        },
                    );
                }
                let item: ReasoningItemOut = reasoning_item(id, text, opaque.as_ref(), redacted);
                OutputItemOut::Reasoning(item)
            }
            OpenItem::Message { id, content, .. } => {
                OutputItemOut::Message(message_item(id, "completed", content))
            }
            OpenItem::Search {
                id,
                call,
                result,
                searching,
            } => {
                if !searching {
                    self.write_search_event("response.web_search_call.searching", &id, out);
                }
                self.write_search_event("response.web_search_call.completed", &id, out);
                OutputItemOut::WebSearchCall(server_tools::search_item(
                    id,
                    call.as_ref(),
                    result.as_ref(),
                    true,
                ))
            }
            OpenItem::Call {
                id,
                call_id,
                name,
                kind,
                mut arguments,
            } => {
                if kind == ToolKind::Function && arguments.is_empty() {
                    // Clients parse arguments as JSON; stream the `{}` the item will carry.
                    arguments.push_str(EMPTY_ARGUMENTS);
                    let sequence_number = self.next_sequence();
                    write_json_event(
                        out,
                        Some("response.function_call_arguments.delta"),
                        &ItemEventOut {
                            kind: "response.function_call_arguments.delta",
                            sequence_number,
                            item_id: &id,
                            output_index,
                            delta: Some(EMPTY_ARGUMENTS),
                            ..ItemEventOut::default()
                        },
                    );
                }
                let item = call_item(
                    id,
                    "completed",
                    &call_id,
                    &name,
                    kind,
                    arguments,
                    &self.namespaces,
                );
                let sequence_number = self.next_sequence();
                match &item {
                    OutputItemOut::FunctionCall(call) => write_json_event(
                        out,
                        Some("response.function_call_arguments.done"),
                        &ItemEventOut {
                            kind: "response.function_call_arguments.done",
                            sequence_number,
                            item_id: &call.id,
                            output_index,
                            name: Some(&call.name),
                            arguments: Some(&call.arguments),
                            ..ItemEventOut::default()
                        },
                    ),
                    OutputItemOut::CustomToolCall(call) => write_json_event(
                        out,
                        Some("response.custom_tool_call_input.done"),
                        &ItemEventOut {
                            kind: "response.custom_tool_call_input.done",
                            sequence_number,
                            item_id: &call.id,
                            output_index,
                            input: Some(&call.input),
                            ..ItemEventOut::default()
                        },
                    ),
                    OutputItemOut::Reasoning(_)
                    | OutputItemOut::Message(_)
                    | OutputItemOut::WebSearchCall(_) => {}
                }
                item
            }
        };
        self.write_item("response.output_item.done", &item, out);
        self.output.push(item);
    }

    fn finish(&mut self, finish: &Finish, usage: &Usage, out: &mut Vec<u8>) {
        self.start("", out);
        self.close_item(out);
        let (status, reason) = stop_reason::encode_status(finish, self.saw_tool_calls);
        let kind = match status {
            "completed" => "response.completed",
            _ => "response.incomplete",
        };
        self.write_response(
            kind,
            status,
            Some(usage),
            None,
            reason.map(|reason| IncompleteDetailsOut { reason }),
            out,
        );
        self.finished = true;
    }

    fn fail(&mut self, error: &ApiError, out: &mut Vec<u8>) {
        if self.response_id.is_empty() {
            self.response_id = client_id("resp_", "", &self.context);
        }
        let error = failure(error);
        // The OpenAI SDK raises only on an `error` event; Codex acts on `response.failed`.
        let sequence_number = self.next_sequence();
        write_error_event(out, sequence_number, &error);
        self.write_response("response.failed", "failed", None, Some(&error), None, out);
        self.finished = true;
    }
}

/// The stream-level `error` event (`{"type":"error","code","message","param"}`).
fn write_error_event(out: &mut Vec<u8>, sequence_number: u64, failure: &ResponseErrorOut) {
    write_json_event(
        out,
        Some("error"),
        &serde_json::json!({
            "type": "error",
            "sequence_number": sequence_number,
            "code": failure.code,
            "message": failure.message,
            "param": null,
        }),
    );
}

/// `response.error` for an [`ApiError`].
fn failure(error: &ApiError) -> ResponseErrorOut {
    ResponseErrorOut {
        code: errors::encode_code(error.kind),
        message: errors::encode_message(error),
    }
}

impl StreamEncode for StreamEncoder {
    fn push(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        match event {
            StreamEvent::Start { id, .. } => self.start(id, out),
            StreamEvent::BlockStart { block, .. } => self.block_start(block, out),
            StreamEvent::BlockDelta { delta, .. } => self.delta(delta, out),
            StreamEvent::BlockStop { .. } => self.block_stop(out),
            StreamEvent::KeepAlive => write_comment(out, "keep-alive"),
            StreamEvent::Finish { finish, usage } => self.finish(finish, usage, out),
            StreamEvent::Error(error) => self.fail(error, out),
        }
    }
}

/// The `error` and `response.failed` events for a stream forwarded untranslated and cut short;
/// `events_seen` is the first one's `sequence_number`, `upstream_id` the stream's response id.
pub fn stream_error_frame(
    error: &ApiError,
    context: &ResponseContext,
    events_seen: u64,
    upstream_id: &str,
) -> Vec<u8> {
    let echo = Echo::default();
    let id = client_id("resp_", upstream_id, context);
    let failure = failure(error);
    let mut out = Vec::new();
    write_error_event(&mut out, events_seen, &failure);
    write_json_event(
        &mut out,
        Some("response.failed"),
        &ResponseEventOut {
            kind: "response.failed",
            sequence_number: events_seen + 1,
            response: echo.object(
                &context.echo,
                State {
                    id: &id,
                    created_at: context.created_s,
                    model: &context.model,
                    status: "failed",
                    output: &[],
                    usage: None,
                    error: Some(&failure),
                    incomplete_details: None,
                },
            ),
        },
    );
    out
}
