//! Translation between a client's format and an upstream's, through the canonical model.
//!
//! - [`betas`] decides which Anthropic beta flags reach an upstream, and what others mean there.
//! - [`compaction`] compacts a conversation with the model itself (Codex's remote compaction).
//! - [`adapt`] fits a canonical request to an upstream's limits and maps answers back.
//! - [`request`] builds the upstream body (passthrough or adapted and encoded).
//! - [`server_tools`] refuses or leaves out web search and fetch an upstream does not run.
//! - [`response`] translates a finished upstream answer.
//! - [`stream`] translates an upstream SSE body chunk by chunk.
//! - [`meter`] observes what an answer cost.
//! - [`model_rewrite`] names the public model in forwarded answers.
//! - [`session`] identifies a conversation across turns, for prompt caches and sticky keys.
//! - [`warnings`] collects what could not be carried.

pub mod adapt;
pub mod betas;
pub mod compaction;
pub mod meter;
pub mod model_rewrite;
pub mod request;
pub mod response;
pub mod server_tools;
pub mod session;
pub mod stream;
pub mod warnings;

#[cfg(test)]
mod pair_tests;
#[cfg(test)]
pub(crate) mod recorded_clients;

pub use adapt::Restore;
pub use meter::{Billed, Meter};
pub use request::{UpstreamRequest, upstream_request};
pub use response::translate_response;
pub use stream::StreamTranslator;
pub use warnings::{WARNINGS_HEADER, Warnings};
