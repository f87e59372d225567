//! Every upstream answer in the golden fixtures, through every client format, streamed and not:
//! the client's own decoder must read back from the translated stream exactly the answer it
//! reads from the translated non-streamed response. A stream that ends in an error (mid-stream
//! error, EOF without terminal event) must reach the client as that format's in-band error,
//! never as a finished answer.

use std::fs;

use serde_json::Value;

use super::{Restore, StreamTranslator, translate_response};
use crate::canonical::{Block, ChatResponse};
use crate::format::WireFormat;
use crate::testing::{accumulate, context, decode_chunks};

fn fixture_dir(format: WireFormat) -> &'static str {
    match format {
        WireFormat::OpenAiChat => "openai_chat",
        WireFormat::AnthropicMessages => "anthropic_messages",
        WireFormat::OpenAiResponses => "openai_responses",
        WireFormat::Gemini => "gemini",
    }
}

/// Upstream stream fixtures (`<name>.sse`, not encoder goldens), with their non-stream twin.
fn upstream_fixtures(format: WireFormat) -> Vec<(String, Vec<u8>, Option<Vec<u8>>)> {
    let dir = format!(
        "{}/tests/fixtures/{}",
        env!("CARGO_MANIFEST_DIR"),
        fixture_dir(format)
    );
    let mut found: Vec<(String, Vec<u8>, Option<Vec<u8>>)> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.strip_suffix(".sse")?.to_owned();
            if name.starts_with("encoded_") || name.starts_with("client_") {
                return None;
            }
            let sse = fs::read(&path).ok()?;
            let json = fs::read(path.with_extension("json")).ok();
            Some((name, sse, json))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Tool arguments compared as JSON values (streams keep the upstream's spacing).
fn normalized(mut response: ChatResponse) -> ChatResponse {
    for block in &mut response.blocks {
        let json = match block {
            Block::ToolCall(call) => &mut call.arguments,
            Block::ServerToolCall(call) => &mut call.input,
            _ => continue,
        };
        if let Ok(value) = serde_json::from_str::<Value>(json) {
            *json = value.to_string();
        }
    }
    response
}

fn translate_stream(client: WireFormat, upstream: WireFormat, sse: &[u8], chunk: usize) -> Vec<u8> {
    // As in production: same-format streams are forwarded (the test context asks for usage).
    let passthrough = client == upstream;
    let mut translator = StreamTranslator::new(
        client,
        upstream,
        passthrough,
        Restore::default(),
        context("public-model"),
    );
    let mut out = Vec::new();
    for piece in sse.chunks(chunk.max(1)) {
        translator.push(piece, &mut out);
    }
    translator.finish(&mut out);
    // No other upstream to try: an answer that never started shows its error.
    translator.release(&mut out);
    out
}

#[test]
fn every_upstream_answer_reads_the_same_streamed_and_not_in_every_client_format() {
    let mut checked = 0;
    for upstream in WireFormat::ALL {
        for (name, sse, json) in upstream_fixtures(upstream) {
            for client in WireFormat::ALL {
                let label = format!(
                    "{} <- {}:{name}",
                    client.config_name(),
                    upstream.config_name()
                );
                let whole = translate_stream(client, upstream, &sse, sse.len());
                for chunk in [1, 7, 64] {
                    assert_eq!(
                        translate_stream(client, upstream, &sse, chunk),
                        whole,
                        "{label}: chunking by {chunk} changes the output"
                    );
                }
                let streamed = accumulate(&decode_chunks(client, &[&whole]));
                let non_streamed = json.as_ref().map(|json| {
                    translate_response(
                        client,
                        upstream,
                        json,
                        &Restore::default(),
                        &context("public-model"),
                    )
                    .0
                    .and_then(|bytes| client.decode_response(&bytes))
                });
                match (streamed, non_streamed) {
                    (Ok(streamed), Some(Ok(non_streamed))) => {
                        assert_eq!(normalized(streamed), normalized(non_streamed), "{label}");
                    }
                    (Err(stream_error), Some(Err(response_error))) => {
                        assert_eq!(
                            stream_error.kind, response_error.kind,
                            "{label}: error kinds"
                        );
                    }
                    (Err(_), None) => {} // EOF without a terminal event: an error, as it must be
                    (streamed, non_streamed) => {
                        panic!("{label}: stream {streamed:?} but response {non_streamed:?}")
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 80, "only {checked} pair runs");
}
