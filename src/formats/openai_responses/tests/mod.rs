//! Fixture, encoder, round-trip and request codec tests of the Responses codecs.

mod checker;
mod encoder;
mod fixtures;
mod request_decode;
mod request_encode;
mod stream_decoder;
