//! Fixture and round-trip tests.
