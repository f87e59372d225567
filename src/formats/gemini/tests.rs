//! Tests of the Gemini response side.
