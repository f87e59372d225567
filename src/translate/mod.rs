//! Translation between a client's format and an upstream's, through the canonical model.
//!
//! - [`adapt`] fits a canonical request to an upstream's limits and maps answers back.
//! - [`warnings`] collects what could not be carried.

pub mod adapt;
pub mod warnings;

pub use adapt::Restore;
pub use warnings::{WARNINGS_HEADER, Warnings};
