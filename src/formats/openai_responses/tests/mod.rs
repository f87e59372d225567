//! Fixture, encoder and round-trip tests of the Responses codecs.

mod checker;
mod encoder;
mod fixtures;
