//! The incremental form of an answer: a flat sequence of tagged events.
//!
//! Every stream decoder produces, and every stream encoder may rely on, this grammar:
//!
//! ```text
//! Start · ( BlockStart(i) · BlockDelta(i)* · BlockStop(i) | KeepAlive )* · Finish
//! Error may replace any suffix and is terminal.
//! ```
//!
//! - `Start` comes exactly once, first, with the response id and model (Anthropic
//!   `message_start` and Responses `response.created` need both before any content) and the
//!   best usage known so far (Anthropic reports input tokens up front).
//! - Block indexes are dense, 0-based, in start order, and blocks never overlap: a block is
//!   stopped before the next starts. Decoders of formats that interleave (parallel Chat tool
//!   calls) buffer to keep this true.
//! - A tool call's id, name and kind come once, in its `BlockStart`; its arguments come only
//!   through `ToolArguments` deltas. So do a server tool call's id, kind and input.
//! - A server tool result is complete at its `BlockStart` and takes no deltas.
//! - `Citation` deltas go to text blocks only.
//! - `Finish` comes once, after every block is stopped, with the complete usage (input figures
//!   from `Start` included).
//! - An upstream that ends without its terminal event yields `Error`, never a fake `Finish`.

use super::finish::Finish;
use super::reasoning::Opaque;
use super::request::ToolKind;
use super::server_tools::{Citation, ServerToolKind, ServerToolResult};
use super::usage::Usage;
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Start {
        id: String,
        model: String,
        usage: Usage,
    },
    BlockStart {
        index: usize,
        block: BlockStart,
    },
    BlockDelta {
        index: usize,
        delta: Delta,
    },
    BlockStop {
        index: usize,
    },
    /// A keep-alive from the upstream; encoders forward it in their own form.
    KeepAlive,
    Finish {
        finish: Finish,
        usage: Usage,
    },
    Error(ApiError),
}

/// The kind of a block, with what must be known when it opens.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockStart {
    Text,
    Refusal,
    /// Thinking text follows as `Reasoning` deltas; its vendor state as one `Signature` delta.
    Reasoning,
    /// Anthropic `redacted_thinking`: complete at start, no deltas.
    RedactedReasoning(Opaque),
    ToolCall {
        id: String,
        name: String,
        kind: ToolKind,
    },
    /// A call the vendor runs itself; its input follows as `ToolArguments` deltas.
    ServerToolCall {
        id: String,
        kind: ServerToolKind,
    },
    /// What a server tool call returned: complete at start, no deltas.
    ServerToolResult(Box<ServerToolResult>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    Refusal(String),
    Reasoning(String),
    /// Vendor state for the open reasoning block, sent once, just before its stop.
    Signature(Opaque),
    /// A fragment of a tool call's arguments (JSON text, or raw input for custom tools), or
    /// of a server tool call's input.
    ToolArguments(String),
    /// A source the open text block cites.
    Citation(Box<Citation>),
}
