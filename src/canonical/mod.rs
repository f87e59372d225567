//! The canonical model: one representation of an LLM conversation that every wire format
//! decodes into and encodes from.
//!
//! Data flow for one call through the gateway:
//!
//! ```text
//! client JSON ──decode──▶ ChatRequest ──adapt──▶ ChatRequest ──encode──▶ upstream JSON
//! upstream JSON ──decode──▶ ChatResponse ──restore──▶ ChatResponse ──encode──▶ client JSON
//! upstream SSE ──decode──▶ StreamEvent* ──restore──▶ StreamEvent* ──encode──▶ client SSE
//! ```
//!
//! - [`request`] holds what a client asks for ([`ChatRequest`]).
//! - [`response`] holds a finished answer ([`ChatResponse`]).
//! - [`stream`] holds the incremental form of an answer ([`StreamEvent`]) and its invariants.
//! - [`accumulate`] folds a stream into a response, so both paths share one semantics.
//! - [`server_tools`] holds web search and fetch: tools, calls, results, citations.
//! - [`usage`], [`finish`] and [`reasoning`] hold the cross-format tables.

pub mod accumulate;
pub mod finish;
pub mod reasoning;
pub mod request;
pub mod response;
pub mod server_tools;
pub mod stream;
pub mod usage;

pub use accumulate::Accumulator;
pub use finish::{Finish, FinishReason};
pub use reasoning::{Effort, Opaque, Thinking, Vendor};
pub use request::{
    ChatRequest, ClientOptions, Document, FileRef, Media, MediaSource, Message, Part,
    ReasoningPart, ResponseFormat, Role, Tool, ToolCall, ToolChoice, ToolKind, ToolResult,
};
pub use response::{Block, ChatResponse};
pub use server_tools::{
    Citation, FetchedPage, SearchHit, ServerTool, ServerToolCall, ServerToolCounts, ServerToolKind,
    ServerToolOutcome, ServerToolRecord, ServerToolResult, UserLocation,
};
pub use stream::{BlockStart, Delta, StreamEvent};
pub use usage::Usage;
