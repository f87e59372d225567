//! What a call costs: the input estimate admission reserves, and the charge once the answer is
//! in (or cut short).
//!
//! The upstream's own usage figures are used whenever it reported them. Where it did not (a
//! stream cut before its usage came, an answer the gateway cannot read, an upstream that never
//! reports usage), the charge is a conservative figure: the input estimate plus an upper-bound
//! estimate of the output that arrived. Both estimates come from [`crate::estimate`], whose
//! bound holds for ordinary text in any script.
//!
//! Server tool calls (web searches and fetches, which vendors price per call) are counted
//! beside the tokens in [`Billed`], the same way: the upstream's own count once the answer is
//! final, else at least the calls the answer showed. They change no token charge.

use crate::canonical::{
    Block, BlockStart, ChatRequest, ChatResponse, Delta, MediaSource, Message, Part,
    ServerToolCounts, StreamEvent, Tool, Usage,
};
use crate::estimate::text_tokens;

/// Tokens of overhead per message (role markers and separators).
const TOKENS_PER_MESSAGE: u64 = 8;
/// Overhead of a request that defines tools (the vendors' tool-use preambles).
const TOOLS_OVERHEAD_TOKENS: u64 = 600;
/// An image: larger than any vendor's count for one image at the sizes they accept.
const IMAGE_TOKENS: u64 = 6_400;
/// A document the gateway cannot measure (by URL or file id).
const UNMEASURED_DOCUMENT_TOKENS: u64 = 32_000;

/// The most the prompt of `request` can count, for the reservation and for charges the
/// upstream never reported: an upper bound for text in any script, images at more than any
/// vendor charges, PDFs at one token per byte (a page of dense text costs about that).
/// Callers cap it at the model's context window, past which the upstream refuses (and charges
/// nothing).
pub fn estimate_input_tokens(request: &ChatRequest) -> u64 {
    let messages = request.messages.len() as u64 + u64::from(!request.system.is_empty());
    let system = sum(request.system.iter().map(|s| text_tokens(s)));
    let content = sum(request.messages.iter().map(message_tokens));
    let tools = sum(request.tools.iter().map(tool_tokens));
    let tools_overhead = if request.tools.is_empty() {
        0
    } else {
        TOOLS_OVERHEAD_TOKENS
    };
    system
        .saturating_add(content)
        .saturating_add(tools)
        .saturating_add(tools_overhead)
        .saturating_add(messages.saturating_mul(TOKENS_PER_MESSAGE))
}

fn sum(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0, u64::saturating_add)
}

fn message_tokens(message: &Message) -> u64 {
    sum(message.parts.iter().map(part_tokens))
}

fn part_tokens(part: &Part) -> u64 {
    match part {
        Part::Text(text) | Part::Refusal(text) => text_tokens(text),
        Part::Image(_) => IMAGE_TOKENS,
        Part::Document(document) => match &document.source {
            // Plain-text documents carry their text as it is.
            MediaSource::Base64 { media_type, data } if media_type.starts_with("text/") => {
                text_tokens(data)
            }
            // Base64 is 4 characters per 3 bytes.
            MediaSource::Base64 { data, .. } => (data.len() as u64).saturating_mul(3) / 4,
            MediaSource::Url(_) | MediaSource::FileId(_) => UNMEASURED_DOCUMENT_TOKENS,
        },
        Part::ToolCall(call) => {
            text_tokens(&call.name).saturating_add(text_tokens(&call.arguments))
        }
        Part::ToolResult(result) => sum(result.content.iter().map(part_tokens)),
        Part::Reasoning(reasoning) => {
            // Replayed reasoning state counts as input at some vendors; its size bounds it.
            let opaque = reasoning.opaque.as_ref().map_or(0, |o| o.data.len() as u64);
            text_tokens(&reasoning.text).saturating_add(opaque)
        }
        // Replayed search results are input at the vendor that takes them back.
        Part::ServerTool(record) => text_tokens(&record.raw.to_string()),
    }
}

fn tool_tokens(tool: &Tool) -> u64 {
    match tool {
        Tool::Function {
            name,
            description,
            parameters,
            ..
        } => text_tokens(name)
            .saturating_add(description.as_deref().map_or(0, text_tokens))
            .saturating_add(text_tokens(&parameters.to_string())),
        Tool::Custom {
            name,
            description,
            format,
        } => text_tokens(name)
            .saturating_add(description.as_deref().map_or(0, text_tokens))
            .saturating_add(format.as_ref().map_or(0, |f| text_tokens(&f.to_string()))),
        Tool::Server(tool) => text_tokens(&tool.raw.to_string()),
        Tool::Builtin { raw, .. } => text_tokens(&raw.to_string()),
    }
}

/// Usage observed on a stream or a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meter {
    /// Usage the upstream reported (merged as it arrives).
    pub usage: Usage,
    /// Upper-bound estimate of the output that arrived (text, reasoning, tool arguments).
    pub output_estimate_tokens: u64,
    /// The answer reached its end (`Finish`): `usage` is final.
    pub finished: bool,
    /// Server tool calls the answer showed (its `server_tool_use` blocks, `web_search_call`
    /// items, ...), for an answer cut before the upstream reported its count.
    pub server_tools_seen: ServerToolCounts,
}

/// What one call is charged: tokens, and the server tool calls the vendor bills per call (a
/// count for the price list to price; [`Billed::total`] is tokens only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Billed {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub web_search_calls: u64,
    pub web_fetch_calls: u64,
}

impl Billed {
    /// The tokens charged.
    pub fn total(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

impl Meter {
    pub fn observe(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Start { usage, .. } => self.usage.merge(usage),
            StreamEvent::BlockStart {
                block: BlockStart::ServerToolCall { kind, .. },
                ..
            } => self.server_tools_seen.add(*kind),
            StreamEvent::BlockDelta { delta, .. } => {
                let tokens = match delta {
                    Delta::Text(t)
                    | Delta::Refusal(t)
                    | Delta::Reasoning(t)
                    | Delta::ToolArguments(t) => text_tokens(t),
                    // A citation's text and address are not billed (Anthropic says so).
                    Delta::Signature(_) | Delta::Citation(_) => 0,
                };
                self.output_estimate_tokens = self.output_estimate_tokens.saturating_add(tokens);
            }
            StreamEvent::Finish { usage, .. } => {
                self.usage.merge(usage);
                self.finished = true;
            }
            StreamEvent::BlockStart { .. }
            | StreamEvent::BlockStop { .. }
            | StreamEvent::KeepAlive
            | StreamEvent::Error(_) => {}
        }
    }

    pub fn observe_response(&mut self, response: &ChatResponse) {
        self.usage.merge(&response.usage);
        self.finished = true;
        self.output_estimate_tokens = sum(response.blocks.iter().map(|block| match block {
            Block::Text(t) | Block::Refusal(t) => text_tokens(t),
            Block::Reasoning(r) => text_tokens(&r.text),
            Block::ToolCall(c) => text_tokens(&c.arguments),
            Block::ServerToolCall(c) => text_tokens(&c.input),
            Block::ServerToolResult(_) => 0,
        }));
        for block in &response.blocks {
            if let Block::ServerToolCall(call) = block {
                self.server_tools_seen.add(call.kind);
            }
        }
    }

    /// An answer the gateway could not read: `body` bounds what it holds.
    pub fn observe_unreadable(&mut self, body: &[u8]) {
        self.output_estimate_tokens = self
            .output_estimate_tokens
            .saturating_add(text_tokens(&String::from_utf8_lossy(body)));
    }

    /// The output so far: the upstream's figure once final, else the larger of what it
    /// reported and the estimate of what arrived.
    pub fn output_tokens(&self) -> u64 {
        match self.usage.output_tokens {
            Some(reported) if self.finished => reported,
            Some(reported) => reported.max(self.output_estimate_tokens),
            None => self.output_estimate_tokens,
        }
    }

    /// What the call is charged, with `input_estimate_tokens` standing in for an input the
    /// upstream never reported.
    pub fn billed(&self, input_estimate_tokens: u64) -> Billed {
        Billed {
            input_tokens: self.usage.input_tokens.unwrap_or(input_estimate_tokens),
            output_tokens: self.output_tokens(),
            web_search_calls: self.calls(
                self.usage.web_search_calls,
                self.server_tools_seen.web_search,
            ),
            web_fetch_calls: self
                .calls(self.usage.web_fetch_calls, self.server_tools_seen.web_fetch),
        }
    }

    /// Server tool calls of one kind: the upstream's count once the answer is final (it may
    /// bill one call shown as several searches, or none for a failed one), else at least those
    /// the answer showed.
    fn calls(&self, reported: Option<u64>, seen: u64) -> u64 {
        match reported {
            Some(reported) if self.finished => reported,
            Some(reported) => reported.max(seen),
            None => seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{BlockStart, Finish, FinishReason};

    #[test]
    fn final_usage_wins_and_cut_streams_are_charged_at_least_what_arrived() {
        let mut meter = Meter::default();
        meter.observe(&StreamEvent::Start {
            id: "m".into(),
            model: "x".into(),
            usage: Usage {
                input_tokens: Some(100),
                output_tokens: Some(1),
                ..Usage::default()
            },
        });
        meter.observe(&StreamEvent::BlockStart {
            index: 0,
            block: BlockStart::Text,
        });
        meter.observe(&StreamEvent::BlockDelta {
            index: 0,
            delta: Delta::Text("0123456789".into()),
        });
        let cut = meter.billed(7);
        assert_eq!(
            cut.input_tokens, 100,
            "the reported input, not the estimate"
        );
        assert_eq!(cut.output_tokens, text_tokens("0123456789"));
        meter.observe(&StreamEvent::Finish {
            finish: Finish::new(FinishReason::EndTurn),
            usage: Usage {
                input_tokens: Some(100),
                output_tokens: Some(2),
                ..Usage::default()
            },
        });
        assert_eq!(
            meter.billed(7).output_tokens,
            2,
            "the final figure is exact"
        );
        assert_eq!(Meter::default().billed(7).total(), 7);
    }
}
