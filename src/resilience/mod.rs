//! What the gateway learns about its upstreams and how it chooses the next one to try, decided
//! in pure code (the edge supplies the clock, the randomness and the network).
//!
//! ```text
//! routes ──route_order──▶ candidates (route × key) ──HealthBook::check──▶ try / skip
//!                                                        ▲
//! attempt result ──outcome::classify──▶ Failure ─────────┘ (HealthBook::record)
//! ```
//!
//! - [`outcome`]: what an upstream's answer says about its health (the provider is down, this
//!   key is rate limited, refused, or out of credit).
//! - [`circuit`]: one upstream's breaker: closed, open for a cooldown, half-open with one probe.
//! - [`book`]: every breaker of an isolate, per provider and per key, and their report.
//! - [`retry_after`]: when an upstream says it can be tried again (`Retry-After` and the
//!   vendors' rate-limit reset headers).
//! - [`route_order`]: the order of routes (as configured, or spread by weight) and of keys.
//! - [`budget`]: how many attempts a request may make, until when, and the jittered wait
//!   before trying an upstream that already failed it.

pub mod book;
pub mod budget;
pub mod circuit;
pub mod outcome;
pub mod retry_after;
pub mod route_order;

pub use book::{Admission, HealthBook, UpstreamId};
pub use circuit::CircuitPolicy;
pub use outcome::Failure;
