//! What an answer cost, observed from its canonical events.
//!
//! The upstream's own usage figures are used whenever it reported them. A stream cut short
//! (client disconnect, upstream failure) is billed for its input and for the output generated so
//! far; where the upstream had not reported that yet, it is estimated at 4 bytes per token.

use crate::canonical::{Block, ChatRequest, ChatResponse, Delta, StreamEvent, Usage};

/// Bytes per token for estimates (a common rule of thumb for English text and code).
pub const BYTES_PER_TOKEN: u64 = 4;

/// Tokens of overhead per message (role markers and separators) in the estimate.
const TOKENS_PER_MESSAGE: u64 = 3;

/// Prompt tokens before an upstream has counted them: ⌈prompt bytes / 4⌉ plus 3 per message
/// (images count as about 1,600 tokens each). Used for reservations, for bills of streams cut
/// before the upstream reported usage, and by `count_tokens` for non-Anthropic models.
pub fn estimate_input_tokens(request: &ChatRequest) -> u64 {
    let messages = request.messages.len() as u64 + u64::from(!request.system.is_empty());
    (request.prompt_chars() as u64)
        .div_ceil(BYTES_PER_TOKEN)
        .saturating_add(messages.saturating_mul(TOKENS_PER_MESSAGE))
}

/// Usage observed on a stream or a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meter {
    /// Usage the upstream reported (merged as it arrives).
    pub usage: Usage,
    /// Bytes of generated output seen (text, reasoning, tool arguments).
    pub output_bytes: u64,
    /// The stream reached `Finish`: `usage` is final.
    pub finished: bool,
    /// Any content was generated (a failure after this point still costs output).
    pub produced_output: bool,
}

/// Tokens to bill for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Billed {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Billed {
    pub fn total(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

impl Meter {
    pub fn observe(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Start { usage, .. } => self.usage.merge(usage),
            StreamEvent::BlockDelta { delta, .. } => {
                let bytes = match delta {
                    Delta::Text(t)
                    | Delta::Refusal(t)
                    | Delta::Reasoning(t)
                    | Delta::ToolArguments(t) => t.len(),
                    Delta::Signature(_) => 0,
                };
                self.output_bytes = self.output_bytes.saturating_add(bytes as u64);
                self.produced_output = true;
            }
            StreamEvent::BlockStart { .. } => self.produced_output = true,
            StreamEvent::Finish { usage, .. } => {
                self.usage.merge(usage);
                self.finished = true;
            }
            StreamEvent::BlockStop { .. } | StreamEvent::KeepAlive | StreamEvent::Error(_) => {}
        }
    }

    pub fn observe_response(&mut self, response: &ChatResponse) {
        self.usage.merge(&response.usage);
        self.finished = true;
        self.produced_output = !response.blocks.is_empty();
        self.output_bytes = response
            .blocks
            .iter()
            .map(|b| match b {
                Block::Text(t) | Block::Refusal(t) => t.len(),
                Block::Reasoning(r) => r.text.len(),
                Block::ToolCall(c) => c.arguments.len(),
            } as u64)
            .sum();
    }

    /// Tokens to bill, with `estimated_input_tokens` standing in for an input count the
    /// upstream never reported.
    pub fn billed(&self, estimated_input_tokens: u64) -> Billed {
        let estimated_output = self.output_bytes.div_ceil(BYTES_PER_TOKEN);
        let output_tokens = match self.usage.output_tokens {
            Some(reported) if self.finished => reported,
            Some(reported) => reported.max(estimated_output),
            None => estimated_output,
        };
        Billed {
            input_tokens: self.usage.input_tokens.unwrap_or(estimated_input_tokens),
            output_tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{BlockStart, Finish, FinishReason};

    #[test]
    fn final_usage_wins_and_cut_streams_are_estimated() {
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
        assert_eq!(
            meter.billed(7),
            Billed {
                input_tokens: 100,
                output_tokens: 3
            }
        );
        meter.observe(&StreamEvent::Finish {
            finish: Finish::new(FinishReason::EndTurn),
            usage: Usage {
                input_tokens: Some(100),
                output_tokens: Some(2),
                ..Usage::default()
            },
        });
        assert_eq!(meter.billed(7).output_tokens, 2);
        assert_eq!(Meter::default().billed(7).total(), 7);
    }
}
