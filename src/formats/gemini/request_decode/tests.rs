//! Tests of the Gemini request decoder.
