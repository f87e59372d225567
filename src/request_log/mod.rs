//! The request log: one record of metadata per call (never prompt or answer text), and its
//! rollups per key, model and day. The edge writes records through a Queue into D1
//! (`src/edge/request_log.rs`); this module is the part that needs no runtime:
//!
//! - [`record`]: the record, built from how a call ended, with its cost;
//! - [`query`]: the filters the APIs take, as SQL with bound parameters;
//! - [`csv`]: the CSV export.
//!
//! The tables are in `migrations/0001_request_log.sql`: `requests` (one row per call, kept
//! `log.retention`) and `rollups` (per UTC day, key and model, kept `log.rollup_retention`).

pub mod csv;
pub mod query;
pub mod record;

pub use record::{CallEnd, LogRecord};
