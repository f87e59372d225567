//! A Chat upstream's SSE stream → canonical [`StreamEvent`]s.
//!
//! Chat chunks are deltas of one message with no block boundaries, and OpenAI-compatible
//! servers bend the format in many ways. This decoder turns them into the canonical grammar
//! (dense block indexes, one open block at a time) and tolerates:
//! - a first chunk of any shape (tool calls with no role, usage only), and Azure's leading
//!   `prompt_filter_results` chunk with neither id nor choices (skipped);
//! - `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter) deltas;
//! - tool-call deltas without `index` (they continue the active call, unless they bring a new
//!   id), with `id`/`name` repeated (the first non-empty value wins) or split across chunks;
//! - parallel tool calls whose deltas interleave: calls open in order of first appearance,
//!   one at a time, once their id and name are known; the open call streams live, later ones
//!   are buffered and emitted when the answer finishes (canonical blocks never overlap). With
//!   OpenAI's sequential calls, the first call streams and the rest arrive at the finish;
//!   a text delta closes the open call;
//! - `finish_reason` in the same chunk as content, usage on any chunk (`choices: []` or not,
//!   Groq's `x_groq.usage`), and no `[DONE]` after the finish reason.
//!
//! `[DONE]` without a finish reason ends the answer as a normal stop. EOF before a finish
//! reason, an `{"error":...}` chunk, an `event: error` frame or unreadable data end it with an
//! `Error`.

use std::collections::HashMap;

use serde_json::Value;

use super::wire::{ChatCompletionChunk, ChoiceDelta, List, Str};
use super::{stop_reason, stream_hot, usage};
use crate::canonical::{BlockStart, Delta, Finish, FinishReason, StreamEvent, ToolKind, Usage};
use crate::error::{ApiError, ErrorKind, from_upstream};
use crate::format::WireFormat;
use crate::formats::StreamDecode;
use crate::sse::SseEvent;

/// Decoder state for one upstream stream.
#[derive(Debug)]
pub struct StreamDecoder {
    phase: Phase,
    /// Index the next canonical block gets: the number of blocks started so far.
    next_index: usize,
    /// The canonical block currently open. At most one is open at a time.
    open: Option<OpenBlock>,
    /// Every tool call seen, in order of first appearance.
    calls: Vec<PendingCall>,
    /// Position in `calls` by upstream index, and by id once known: a fragment finds its call
    /// in constant time, however many calls the answer has.
    positions_by_index: HashMap<u64, usize>,
    positions_by_id: HashMap<String, usize>,
    /// One more than the largest upstream index seen (the index given to an index-less call).
    next_upstream_index: u64,
    /// No call before this position is still pending (states only move forward, so this only
    /// advances).
    first_pending: usize,
    /// Position in `calls` of the call that received the latest delta; deltas without `index`
    /// continue it.
    active_call: Option<usize>,
    /// The upstream's finish reason, once it arrived (`Finishing`).
    finish: Option<Finish>,
    /// Usage figures reported so far (usage chunks are cumulative, the latest wins).
    usage: Usage,
}

/// Where the stream is in its grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing identifying the answer arrived yet; `Start` not emitted.
    Waiting,
    /// `Start` emitted; deltas are decoded.
    Streaming,
    /// A finish reason arrived and every block is closed; only usage is still read, until
    /// `[DONE]` or EOF.
    Finishing,
    /// `Finish` or `Error` emitted; everything else is ignored.
    Done,
}

/// The open canonical block and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OpenBlock {
    index: usize,
    kind: OpenKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenKind {
    Content(ContentKind),
    /// The tool call at this position in `StreamDecoder::calls`.
    Call(usize),
}

/// Blocks that open on their first delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContentKind {
    Text,
    Reasoning,
    Refusal,
}

/// One upstream tool call.
#[derive(Debug)]
struct PendingCall {
    /// First non-empty id seen; empty until then.
    id: String,
    /// First non-empty name seen; empty until then.
    name: String,
    kind: ToolKind,
    /// Argument text received before the call's block opened.
    buffer: String,
    state: CallState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    /// Not started: waiting for its id and name, or for another call's block to close.
    Pending,
    /// Its block is the open block; fragments stream straight through.
    Open,
    /// Its block was closed. A fragment arriving now has nowhere to go and is dropped.
    Closed,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        StreamDecoder::new()
    }
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder {
            phase: Phase::Waiting,
            next_index: 0,
            open: None,
            calls: Vec::new(),
            positions_by_index: HashMap::new(),
            positions_by_id: HashMap::new(),
            next_upstream_index: 0,
            first_pending: 0,
            active_call: None,
            finish: None,
            usage: Usage::default(),
        }
    }

    fn fail(&mut self, error: ApiError, out: &mut Vec<StreamEvent>) {
        out.push(StreamEvent::Error(error));
        self.phase = Phase::Done;
    }

    fn on_chunk(&mut self, chunk: ChatCompletionChunk<'_>, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Waiting {
            if chunk.id.is_empty() && chunk.choices.is_empty() && chunk.usage.is_none() {
                return;
            }
            out.push(StreamEvent::Start {
                id: chunk.id.into_owned(),
                model: chunk.model.into_owned(),
                usage: Usage::default(),
            });
            self.phase = Phase::Streaming;
        }
        if let Some(Some(reported)) = &chunk.usage {
            self.usage.merge(&usage::decode(reported));
        }
        if let Some(reported) = chunk.x_groq.as_ref().and_then(|x| x.usage.as_ref()) {
            self.usage.merge(&usage::decode(reported));
        }
        if self.phase != Phase::Streaming {
            return;
        }
        for choice in chunk.choices.into_vec() {
            if choice.index != 0 {
                continue;
            }
            self.on_delta(choice.delta, out);
            if let Some(reason) = choice.finish_reason.as_deref()
                && !reason.is_empty()
            {
                self.on_finish_reason(
                    stop_reason::decode(reason, choice.stop_reason.as_ref()),
                    out,
                );
                break;
            }
        }
    }

    fn on_delta(&mut self, delta: ChoiceDelta<'_>, out: &mut Vec<StreamEvent>) {
        if let Some(text) = delta.reasoning_content.or(delta.reasoning)
            && !text.is_empty()
        {
            let index = self.ensure_open(ContentKind::Reasoning, out);
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::Reasoning(text.into_owned()),
            });
        }
        if let Some(text) = delta.content
            && !text.is_empty()
        {
            let index = self.ensure_open(ContentKind::Text, out);
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::Text(text.into_owned()),
            });
        }
        if let Some(text) = delta.refusal
            && !text.is_empty()
        {
            let index = self.ensure_open(ContentKind::Refusal, out);
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::Refusal(text.into_owned()),
            });
        }
        for call in delta.tool_calls.map(List::into_vec).into_iter().flatten() {
            let custom = call.kind.as_deref() == Some("custom") || call.custom.is_some();
            let (name, fragment) = match (call.function, call.custom) {
                (_, Some(custom)) => (custom.name, custom.input),
                (Some(function), None) => (function.name, function.arguments),
                (None, None) => (None, None),
            };
            self.on_tool_call(call.index, call.id, name, fragment, custom, out);
        }
        if let Some(function) = delta.function_call {
            self.on_tool_call(Some(0), None, function.name, function.arguments, false, out);
        }
    }

    /// Makes a block of `kind` the open one (closing another first); returns its index.
    fn ensure_open(&mut self, kind: ContentKind, out: &mut Vec<StreamEvent>) -> usize {
        let kind_open = OpenKind::Content(kind);
        if let Some(open) = self.open
            && open.kind == kind_open
        {
            return open.index;
        }
        let block = match kind {
            ContentKind::Text => BlockStart::Text,
            ContentKind::Reasoning => BlockStart::Reasoning,
            ContentKind::Refusal => BlockStart::Refusal,
        };
        self.close_open(out);
        let index = self.next_index;
        self.next_index += 1;
        out.push(StreamEvent::BlockStart { index, block });
        self.open = Some(OpenBlock {
            index,
            kind: kind_open,
        });
        index
    }

    fn close_open(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(open) = self.open.take() {
            out.push(StreamEvent::BlockStop { index: open.index });
            if let OpenKind::Call(position) = open.kind
                && let Some(call) = self.calls.get_mut(position)
            {
                call.state = CallState::Closed;
            }
        }
    }

    fn call_is_open(&self) -> bool {
        matches!(
            self.open,
            Some(OpenBlock {
                kind: OpenKind::Call(_),
                ..
            })
        )
    }

    fn on_tool_call(
        &mut self,
        upstream_index: Option<u64>,
        id: Option<Str<'_>>,
        name: Option<Str<'_>>,
        fragment: Option<Str<'_>>,
        custom: bool,
        out: &mut Vec<StreamEvent>,
    ) {
        let position = self.call_position(upstream_index, id.as_deref());
        self.active_call = Some(position);
        let open_index = self.open.map(|open| open.index);
        // Calls start in order of first appearance, one at a time.
        let may_start = !self.call_is_open() && self.first_pending_position() >= position;
        let Some(call) = self.calls.get_mut(position) else {
            return;
        };
        if call.id.is_empty()
            && let Some(id) = id.filter(|id| !id.is_empty())
        {
            call.id = id.into_owned();
            self.positions_by_id
                .entry(call.id.clone())
                .or_insert(position);
        }
        if call.name.is_empty()
            && let Some(name) = name
        {
            call.name = name.into_owned();
        }
        let fragment = fragment.filter(|f| !f.is_empty());
        match call.state {
            CallState::Open => {
                if let (Some(fragment), Some(index)) = (fragment, open_index) {
                    out.push(StreamEvent::BlockDelta {
                        index,
                        delta: Delta::ToolArguments(fragment.into_owned()),
                    });
                }
            }
            CallState::Pending => {
                if custom {
                    call.kind = ToolKind::Custom;
                }
                if let Some(fragment) = fragment {
                    call.buffer.push_str(&fragment);
                }
                if !call.id.is_empty() && !call.name.is_empty() && may_start {
                    self.start_call(position, out);
                }
            }
            CallState::Closed => {}
        }
    }

    /// Position in `calls` of the call a delta addresses, adding a call when it is new.
    ///
    /// A delta without `index` addresses the call with its id if it brings a known one, the
    /// active call if it brings no id (or the active call has none yet: id and name split
    /// across chunks), and a new call otherwise.
    fn call_position(&mut self, upstream_index: Option<u64>, id: Option<&str>) -> usize {
        let upstream_index = match upstream_index {
            Some(index) => index,
            None => {
                let id = id.filter(|id| !id.is_empty());
                if let Some(id) = id
                    && let Some(&position) = self.positions_by_id.get(id)
                {
                    return position;
                }
                if let Some(active) = self.active_call
                    && self
                        .calls
                        .get(active)
                        .is_some_and(|call| id.is_none() || call.id.is_empty())
                {
                    return active;
                }
                self.next_upstream_index
            }
        };
        if let Some(&position) = self.positions_by_index.get(&upstream_index) {
            return position;
        }
        self.next_upstream_index = self
            .next_upstream_index
            .max(upstream_index.saturating_add(1));
        self.positions_by_index
            .insert(upstream_index, self.calls.len());
        self.calls.push(PendingCall {
            id: String::new(),
            name: String::new(),
            kind: ToolKind::Function,
            buffer: String::new(),
            state: CallState::Pending,
        });
        self.calls.len() - 1
    }

    /// The first position whose call is still pending (`calls.len()` when none is).
    fn first_pending_position(&mut self) -> usize {
        while self
            .calls
            .get(self.first_pending)
            .is_some_and(|call| call.state != CallState::Pending)
        {
            self.first_pending += 1;
        }
        self.first_pending
    }

    /// Opens the block of the pending call at `position` and flushes its buffered arguments.
    fn start_call(&mut self, position: usize, out: &mut Vec<StreamEvent>) {
        self.close_open(out);
        let index = self.next_index;
        let Some(call) = self.calls.get_mut(position) else {
            return;
        };
        self.next_index += 1;
        if call.id.is_empty() {
            call.id = format!("call_{position}");
            self.positions_by_id
                .entry(call.id.clone())
                .or_insert(position);
        }
        out.push(StreamEvent::BlockStart {
            index,
            block: BlockStart::ToolCall {
                id: call.id.clone(),
                name: call.name.clone(),
                kind: call.kind,
            },
        });
        call.state = CallState::Open;
        if !call.buffer.is_empty() {
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::ToolArguments(std::mem::take(&mut call.buffer)),
            });
        }
        self.open = Some(OpenBlock {
            index,
            kind: OpenKind::Call(position),
        });
    }

    /// Closes the open block and emits every call still pending, in order. A call that never
    /// got a name cannot be dispatched by any client and is left out.
    fn on_finish_reason(&mut self, finish: Finish, out: &mut Vec<StreamEvent>) {
        self.close_open(out);
        for position in 0..self.calls.len() {
            let ready = self
                .calls
                .get(position)
                .is_some_and(|call| call.state == CallState::Pending && !call.name.is_empty());
            if ready {
                self.start_call(position, out);
                self.close_open(out);
            }
        }
        self.finish = Some(finish);
        self.phase = Phase::Finishing;
    }

    fn emit_finish(&mut self, out: &mut Vec<StreamEvent>) {
        let finish = self
            .finish
            .take()
            .unwrap_or_else(|| Finish::new(FinishReason::EndTurn));
        out.push(StreamEvent::Finish {
            finish,
            usage: self.usage,
        });
        self.phase = Phase::Done;
    }

    fn on_done(&mut self, out: &mut Vec<StreamEvent>) {
        match self.phase {
            Phase::Waiting => self.fail(
                ApiError::new(
                    ErrorKind::UpstreamFailed,
                    "the upstream ended the stream without an answer",
                ),
                out,
            ),
            Phase::Streaming => {
                self.on_finish_reason(Finish::new(FinishReason::EndTurn), out);
                self.emit_finish(out);
            }
            Phase::Finishing => self.emit_finish(out),
            Phase::Done => {}
        }
    }
}

impl StreamDecode for StreamDecoder {
    fn push(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Done {
            return;
        }
        let data = event.data.trim();
        if data == "[DONE]" {
            self.on_done(out);
            return;
        }
        if event.event.as_deref() == Some("error") {
            let parsed: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            let error = parsed.get("error").unwrap_or(&parsed);
            self.fail(stream_error(data, error), out);
            return;
        }
        // Once the answer started, a hot chunk is one delta of choice 0 and nothing else
        // that `on_chunk` reads (no usage, no finish reason): it goes straight to `on_delta`.
        if self.phase == Phase::Streaming
            && let Some(hot) = stream_hot::read_parts(data)
        {
            self.on_delta(hot.delta, out);
            return;
        }
        // The hot chunks are read without serde when their shape allows (see `stream_hot`).
        let parsed = stream_hot::read(data)
            .map(Ok)
            .unwrap_or_else(|| serde_json::from_str::<ChatCompletionChunk<'_>>(data));
        match parsed {
            Ok(chunk) => match &chunk.error {
                Some(error) => {
                    let error = stream_error(data, error);
                    self.fail(error, out);
                }
                None => self.on_chunk(chunk, out),
            },
            Err(error) => self.fail(
                ApiError::new(
                    ErrorKind::UpstreamFailed,
                    format!("the upstream sent an unreadable stream chunk: {error}"),
                ),
                out,
            ),
        }
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        match self.phase {
            Phase::Finishing => self.emit_finish(out),
            Phase::Waiting | Phase::Streaming => self.fail(
                ApiError::new(
                    ErrorKind::UpstreamFailed,
                    "the upstream stream ended before the answer was complete",
                ),
                out,
            ),
            Phase::Done => {}
        }
    }
}

/// An in-band upstream error. It comes with HTTP 200, so the status it would have had is read
/// from the error itself (a numeric `code`, or the type/code names OpenAI-compatible servers
/// use), defaulting to 500.
fn stream_error(data: &str, error: &Value) -> ApiError {
    from_upstream(WireFormat::OpenAiChat, error_status(error), data.as_bytes())
}

fn error_status(error: &Value) -> u16 {
    if let Some(code) = error.get("code").and_then(Value::as_u64)
        && (400..600).contains(&code)
    {
        return u16::try_from(code).unwrap_or(500);
    }
    let names = ["code", "type"].map(|key| error.get(key).and_then(Value::as_str).unwrap_or(""));
    for name in names {
        let status = match name {
            "context_length_exceeded" | "invalid_request_error" | "invalid_prompt" => 400,
            "authentication_error" | "invalid_api_key" => 401,
            "permission_error" => 403,
            "not_found_error" | "model_not_found" => 404,
            "rate_limit_exceeded" | "rate_limit_error" | "insufficient_quota" => 429,
            "overloaded" | "overloaded_error" | "server_overloaded" | "service_unavailable" => 503,
            "timeout" | "timeout_error" => 504,
            _ => continue,
        };
        return status;
    }
    500
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hot chunks past the first go straight to `on_delta`: the events are those of the full
    /// parse read by `on_chunk`.
    #[test]
    fn hot_chunks_decode_as_the_full_parse() {
        let chunk = |delta: &str| {
            format!(
                r#"{{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{{{delta}}},"logprobs":null,"finish_reason":null}}],"usage":null}}"#
            )
        };
        let data = [
            chunk(r#""role":"assistant","content":"""#),
            chunk(r#""reasoning_content":"think ""#),
            chunk(r#""reasoning":"more \"x\"\n""#),
            chunk(r#""content":"Hello \u00e9 \ud83d\ude00""#),
            chunk(r#""content":"""#),
            chunk(r#""refusal":"no""#),
            r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}"#.to_owned(),
            chunk(r#""tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]"#),
            chunk(r#""tool_calls":[{"index":0,"function":{"arguments":"1}"}}]"#),
            r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}"#.to_owned(),
            chunk(r#""content":"late""#),
            r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}"#.to_owned(),
        ];
        let (mut fast, mut full) = (StreamDecoder::new(), StreamDecoder::new());
        let (mut fast_events, mut full_events) = (Vec::new(), Vec::new());
        for data in &data {
            let event = SseEvent {
                event: None,
                data: data.clone(),
            };
            fast.push(&event, &mut fast_events);
            let chunk: ChatCompletionChunk<'_> = serde_json::from_str(data).unwrap();
            full.on_chunk(chunk, &mut full_events);
        }
        fast.finish(&mut fast_events);
        full.finish(&mut full_events);
        assert_eq!(fast_events, full_events);
        assert!(fast_events.len() > 10, "{fast_events:?}");
    }
}
