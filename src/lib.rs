//! The Techopenclaw gateway: one endpoint through which clients call any configured model in
//! the API dialect they speak (OpenAI Chat Completions, Anthropic Messages, OpenAI Responses).
//!
//! The crate has a pure core, built and tested natively, and an edge layer compiled only for
//! wasm32 that is the only code touching the Workers runtime.
//!
//! Core modules:
//! - [`canonical`]: the one model every format decodes into and encodes from.
//! - [`formats`]: one module per wire format with its request, response and stream codecs.
//! - [`translate`]: adapting requests to an upstream and running streams through the codecs.
//! - [`sse`]: the server-sent-events decoder and encoder.
//! - [`error`]: the error taxonomy and its rendering per format.
//! - [`format`]: the [`format::WireFormat`] enum.
//! - [`estimate`]: token estimates before any tokenizer has run (an upper bound for every script).
//! - [`demo`]: the demo provider, an upstream the gateway plays itself.
//! - [`json_shape`]: the bound on values and nesting a request body may have.
//! - [`resilience`]: upstream health (breakers), route order and retry budgets.
//! - [`request_log`]: the request log's records, filters and exports (stored in D1 by the edge).
//! - [`pricing`]: what a call costs in dollars, exactly, from a model's prices and its usage.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod canonical;
pub mod config;
pub mod demo;
pub mod error;
pub mod estimate;
pub mod format;
pub mod formats;
pub mod json_shape;
pub mod keys;
pub mod metering;
pub mod pricing;
pub mod request_log;
pub mod resilience;
pub mod sse;
pub mod time;
pub mod translate;

#[cfg(test)]
mod robustness_tests;
#[cfg(test)]
pub mod testing;

#[cfg(target_arch = "wasm32")]
mod edge;
