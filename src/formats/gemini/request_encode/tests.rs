//! Tests of the Gemini request encoder.
