//! Robustness of the core against hostile input, run by `cargo test` (with overflow checks on,
//! as in every test build):
//!
//! - **Mutation fuzzing.** Recorded client requests, upstream answers and upstream streams of
//!   every format are mutated (byte flips, truncations, splices, huge and negative numbers,
//!   deep nesting, repeated segments) and run through every codec, every translation pair,
//!   same-format forwarding, the estimators and the meter. Nothing may panic or overflow.
//!   Deterministic seeds; `TOC_FUZZ_ITERATIONS` raises the count (default 300 per corpus).
//! - **Linear time.** Inputs an attacker can grow (many items, many tool calls, one byte per
//!   chunk, long ids, many unknown parts) are timed at size n and 4n: quadratic work would take
//!   16 times as long, linear about 4; the test fails above 8.

use std::time::{Duration, Instant};

use crate::canonical::ChatRequest;
use crate::format::WireFormat;
use crate::formats::{MaxTokensParam, UpstreamFeatures, UpstreamTarget};
use crate::metering::{AdmitRequest, Charged, Limits, Meter, Progress};
use crate::testing::{context, fixture};
use crate::translate::meter::estimate_input_tokens;
use crate::translate::request::{ClientCall, upstream_request};
use crate::translate::{Restore, StreamTranslator, Warnings, translate_response};

/// xorshift64*: deterministic and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn iterations() -> usize {
    std::env::var("TOC_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// Values that break careless arithmetic and parsers.
const NASTY: [&str; 14] = [
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "-9223372036854775808",
    "1e308",
    "-1e308",
    "0.0000001",
    "null",
    "\"\"",
    "[]",
    "{}",
    "\"\\ud800\"",
    "true",
    "\"\\u0000\"",
];

/// One mutation of `input`, picked by `rng`.
fn mutate(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(out.len() + 1);
        match rng.below(9) {
            0 => out.truncate(at),
            1 => {
                if let Some(byte) = out.get_mut(at) {
                    *byte ^= 1 << rng.below(8);
                }
            }
            2 => {
                let value = NASTY[rng.below(NASTY.len())];
                // Replace the number (or token) starting at the next digit, if any.
                if let Some(start) = out.iter().skip(at).position(u8::is_ascii_digit) {
                    let start = at + start;
                    let end = out
                        .iter()
                        .skip(start)
                        .position(|b| !b.is_ascii_digit())
                        .map_or(out.len(), |n| start + n);
                    out.splice(start..end, value.bytes());
                }
            }
            3 => {
                let len = rng.below(64).min(out.len().saturating_sub(at));
                let segment: Vec<u8> = out[at..at + len].to_vec();
                for _ in 0..rng.below(50) {
                    out.splice(at..at, segment.iter().copied());
                }
            }
            4 => {
                let from = rng.below(other.len() + 1);
                let len = rng.below(256).min(other.len() - from);
                out.splice(at..at, other[from..from + len].iter().copied());
            }
            5 => {
                let depth = rng.below(200);
                let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
                out.splice(at..at, nested.bytes());
            }
            6 => {
                out.splice(at..at, "\u{1F600}\u{0301}\u{FEFF}".bytes());
            }
            7 => {
                out.splice(at..at, b"\r\n\r\ndata: {\"x\":".iter().copied());
            }
            _ => {
                out.splice(at..at, b"\"model\":\"".iter().copied());
            }
        }
    }
    out
}

fn target(stream: bool, reasoning: bool) -> UpstreamTarget {
    UpstreamTarget {
        model: "upstream-model".into(),
        stream,
        max_tokens_param: MaxTokensParam::MaxCompletionTokens,
        default_max_tokens: 4096,
        max_output_tokens: Some(4096),
        reasoning,
        cache_breakpoints: false,
        server_tools: None,
    }
}

const REQUESTS: [(WireFormat, &str); 4] = [
    (
        WireFormat::AnthropicMessages,
        "clients/claude-code-2.1.197-turn1.json",
    ),
    (
        WireFormat::AnthropicMessages,
        "clients/claude-code-2.1.197-turn2-tool-result.json",
    ),
    (
        WireFormat::OpenAiResponses,
        "clients/codex-0.169.0-turn1.json",
    ),
    (
        WireFormat::OpenAiResponses,
        "clients/codex-0.169.0-turn2-tool-output.json",
    ),
];

/// The recorded client requests' bodies, plus a Chat request of every shape.
fn request_corpus() -> Vec<(WireFormat, Vec<u8>)> {
    let mut corpus: Vec<(WireFormat, Vec<u8>)> = REQUESTS
        .iter()
        .map(|(format, path)| {
            let recorded: serde_json::Value = serde_json::from_str(&fixture(path)).unwrap();
            (*format, serde_json::to_vec(&recorded["body"]).unwrap())
        })
        .collect();
    let chat = serde_json::json!({
        "model": "m", "stream": true, "max_tokens": 100, "temperature": 0.5,
        "stream_options": {"include_usage": true},
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "42"}
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}],
        "reasoning_effort": "low"
    });
    corpus.push((WireFormat::OpenAiChat, serde_json::to_vec(&chat).unwrap()));
    corpus.push((
        WireFormat::Gemini,
        fixture("gemini/client_request_cli.json").into_bytes(),
    ));
    corpus
}

/// Every fixture of upstream answers (`.json`) or streams (`.sse`) of each format.
fn upstream_corpus(extension: &str) -> Vec<(WireFormat, Vec<u8>)> {
    let mut corpus = Vec::new();
    for (format, dir) in [
        (WireFormat::OpenAiChat, "openai_chat"),
        (WireFormat::AnthropicMessages, "anthropic_messages"),
        (WireFormat::OpenAiResponses, "openai_responses"),
        (WireFormat::Gemini, "gemini"),
    ] {
        let path = format!("{}/tests/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<_> = std::fs::read_dir(&path)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|name| name.ends_with(extension) && !name.starts_with("client_"))
            .collect();
        names.sort();
        for name in names {
            corpus.push((format, fixture(&format!("{dir}/{name}")).into_bytes()));
        }
    }
    corpus
}

fn exercise_request(format: WireFormat, body: &[u8]) {
    let _ = crate::json_shape::check(
        body,
        crate::json_shape::JsonLimits {
            max_values: 250_000,
            max_depth: 64,
        },
    );
    let mut warnings = Warnings::new();
    let Ok(request) = format.decode_request(body, &mut warnings) else {
        return;
    };
    let _ = estimate_input_tokens(&request);
    let _ = warnings.header_value();
    for upstream in WireFormat::ALL {
        for forwardable in [true, false] {
            let call = ClientCall {
                format,
                forwardable_body: forwardable.then_some(body),
                request: &request,
                features: UpstreamFeatures::default(),
            };
            let mut warnings = Warnings::new();
            let _ = upstream_request(call, upstream, &target(request.stream, true), &mut warnings);
        }
    }
}

#[test]
fn mutated_requests_never_panic_in_any_codec_or_translation() {
    let corpus = request_corpus();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (format, body) in &corpus {
        exercise_request(*format, body);
        // The recorded requests are large (a Claude Code turn is ~100 KB): fewer rounds, each
        // decoded as its own format and as a random other one.
        for _ in 0..iterations() / 6 {
            let (_, other) = &corpus[rng.below(corpus.len())];
            let mutated = mutate(body, other, &mut rng);
            exercise_request(*format, &mutated);
            exercise_request(WireFormat::ALL[rng.below(WireFormat::ALL.len())], &mutated);
        }
    }
}

#[test]
fn mutated_answers_never_panic_in_any_pair() {
    let corpus = upstream_corpus(".json");
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for (upstream, body) in &corpus {
        for _ in 0..iterations() {
            let (_, other) = &corpus[rng.below(corpus.len())];
            let mutated = mutate(body, other, &mut rng);
            for client in WireFormat::ALL {
                let (_, meter) = translate_response(
                    client,
                    *upstream,
                    &mutated,
                    &Restore::default(),
                    &context("public"),
                );
                let _ = meter.billed(u64::MAX);
            }
        }
    }
}

#[test]
fn mutated_streams_never_panic_in_any_pair_at_any_chunking() {
    let corpus = upstream_corpus(".sse");
    let mut rng = Rng(0x94D0_49BB_1331_11EB);
    for (upstream, body) in &corpus {
        for _ in 0..iterations() / 3 {
            let (_, other) = &corpus[rng.below(corpus.len())];
            let mutated = mutate(body, other, &mut rng);
            for client in WireFormat::ALL {
                for passthrough in [client == *upstream, false] {
                    let mut translator = StreamTranslator::new(
                        client,
                        *upstream,
                        passthrough,
                        Restore::default(),
                        context("public"),
                    )
                    .collect();
                    let mut out = Vec::new();
                    let mut rest = mutated.as_slice();
                    while !rest.is_empty() {
                        let (chunk, tail) = rest.split_at(rng.below(rest.len()).max(1));
                        translator.push(chunk, &mut out);
                        rest = tail;
                    }
                    translator.finish(&mut out);
                    translator.release(&mut out);
                    let _ = translator.collected();
                    let _ = translator.meter().billed(u64::MAX);
                }
            }
        }
    }
}

#[test]
fn the_meter_saturates_on_any_figures() {
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    let pick = |rng: &mut Rng| match rng.below(4) {
        0 => u64::MAX,
        1 => u64::MAX - rng.below(10) as u64,
        2 => rng.next(),
        _ => rng.below(1000) as u64,
    };
    for _ in 0..iterations() * 10 {
        let limits = Limits {
            rpm: pick(&mut rng),
            tpm: pick(&mut rng),
            concurrency: pick(&mut rng),
            window_ms: pick(&mut rng),
            window_tokens: pick(&mut rng),
            unit: crate::metering::cost::Unit::Tokens,
            calendar: None,
            zone: crate::metering::calendar::Zone::UTC,
        };
        let mut meter = Meter::new("p");
        let mut now = pick(&mut rng) / 2;
        for step in 0..20 {
            now = now.saturating_add(rng.below(100_000) as u64);
            let id = format!("c{}", rng.below(5));
            match rng.below(4) {
                0 => {
                    let request = AdmitRequest {
                        id,
                        model: "m".into(),
                        input_tokens: pick(&mut rng),
                        output_tokens: pick(&mut rng),
                        min_output_tokens: pick(&mut rng),
                        instant: rng.below(5) == 0,
                        tariff: (rng.below(2) == 0).then(|| crate::metering::cost::Tariff {
                            input: pick(&mut rng),
                            output: pick(&mut rng),
                            multiplier_ppm: pick(&mut rng),
                        }),
                    };
                    let (decision, _) =
                        meter.admit(&request, &limits, true, now, pick(&mut rng), "d");
                    assert!(
                        decision.snapshot.window_committed_tokens
                            >= decision.snapshot.window_used_tokens,
                        "step {step}"
                    );
                }
                1 => {
                    let progress = Progress {
                        input_tokens: Some(pick(&mut rng)),
                        output_tokens: pick(&mut rng),
                        credit_output_tokens: pick(&mut rng),
                    };
                    meter.checkpoint(&id, progress, &limits, now, pick(&mut rng), "d");
                }
                2 => {
                    let charged = Charged {
                        input_tokens: pick(&mut rng),
                        output_tokens: pick(&mut rng),
                        cost: pick(&mut rng),
                    };
                    meter.settle(&id, charged, &limits, now, "d");
                }
                _ => {
                    let _ = meter.observe(&limits, now, "d");
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------ linear time

/// The fastest of three runs of `work` (the machine may be busy).
fn best_of_three(mut work: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .min()
        .unwrap()
}

/// Times `run(n)` and `run(4n)`, growing `n` until the small run takes at least 5 ms (so
/// the ratio is not noise), and fails if the large one takes more than 8 times as long.
fn assert_linear(name: &str, mut n: usize, run: impl Fn(usize)) {
    let mut small = best_of_three(|| run(n));
    while small < Duration::from_millis(5) && n < 1 << 24 {
        n *= 2;
        small = best_of_three(|| run(n));
    }
    let large = best_of_three(|| run(4 * n));
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
    assert!(
        ratio < 8.0,
        "{name}: {n} took {small:?}, {} took {large:?} (×{ratio:.1}: super-linear)",
        4 * n
    );
}

#[test]
fn responses_requests_decode_in_linear_time() {
    // Assistant text and calls interleaved, then every output: the shape that made the decoder
    // search each turn for every item.
    assert_linear("responses items", 500, |n| {
        let mut items = Vec::with_capacity(3 * n);
        for i in 0..n {
            items.push(serde_json::json!({"type": "function_call", "call_id": format!("c{i}"), "name": "f", "arguments": "{}"}));
            items.push(serde_json::json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "t"}]}));
        }
        for i in 0..n {
            items.push(serde_json::json!({"type": "function_call_output", "call_id": format!("c{i}"), "output": "r"}));
        }
        let body = serde_json::to_vec(&serde_json::json!({"model": "m", "input": items})).unwrap();
        let _ = WireFormat::OpenAiResponses.decode_request(&body, &mut Warnings::new());
    });
}

#[test]
fn chat_tool_call_fragments_decode_in_linear_time() {
    assert_linear("chat tool calls", 200, |n| {
        let mut sse = String::new();
        sse.push_str("data: {\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n");
        for i in 0..n {
            sse.push_str(&format!("data: {{\"id\":\"x\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":{i},\"id\":\"call_{i}\",\"type\":\"function\",\"function\":{{\"name\":\"f\",\"arguments\":\"{{\"}}}}]}}}}]}}\n\n"));
        }
        for i in 0..n {
            sse.push_str(&format!("data: {{\"id\":\"x\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":{i},\"function\":{{\"arguments\":\"}}\"}}}}]}}}}]}}\n\n"));
        }
        sse.push_str("data: [DONE]\n\n");
        let mut translator = StreamTranslator::new(
            WireFormat::AnthropicMessages,
            WireFormat::OpenAiChat,
            false,
            Restore::default(),
            context("p"),
        );
        let mut out = Vec::new();
        translator.push(sse.as_bytes(), &mut out);
        translator.finish(&mut out);
        translator.release(&mut out);
    });
}

#[test]
fn forwarded_streams_fed_a_byte_at_a_time_cost_linear_time() {
    let text = fixture("openai_chat/text.sse");
    assert_linear("passthrough byte by byte", 4, |n| {
        let body = text.repeat(n);
        let mut translator = StreamTranslator::new(
            WireFormat::OpenAiChat,
            WireFormat::OpenAiChat,
            true,
            Restore::default(),
            context("public-model-with-a-long-name"),
        );
        let mut out = Vec::new();
        for byte in body.as_bytes().chunks(1) {
            translator.push(byte, &mut out);
        }
        translator.finish(&mut out);
        translator.release(&mut out);
    });
}

#[test]
fn translated_streams_do_not_repeat_a_long_upstream_id() {
    let id = "x".repeat(8192);
    let mut sse = format!(
        "data: {{\"id\":\"{id}\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\"}}}}]}}\n\n"
    );
    for _ in 0..200 {
        sse.push_str(&format!("data: {{\"id\":\"{id}\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"hi\"}}}}]}}\n\n"));
    }
    sse.push_str("data: [DONE]\n\n");
    for client in [
        WireFormat::AnthropicMessages,
        WireFormat::OpenAiResponses,
        WireFormat::OpenAiChat,
    ] {
        let mut translator = StreamTranslator::new(
            client,
            WireFormat::OpenAiChat,
            false,
            Restore::default(),
            context("p"),
        );
        let mut out = Vec::new();
        translator.push(sse.as_bytes(), &mut out);
        translator.finish(&mut out);
        translator.release(&mut out);
        assert!(
            out.len() < sse.len() / 10,
            "{client:?}: {} bytes out of {} in",
            out.len(),
            sse.len()
        );
    }
}

#[test]
fn many_unknown_parts_and_long_texts_cost_linear_time() {
    assert_linear("unknown parts", 1000, |n| {
        let parts: Vec<serde_json::Value> = (0..n)
            .map(|i| serde_json::json!({"type": format!("mystery_{i}"), "x": 1}))
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({
            "model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": parts}]
        }))
        .unwrap();
        let mut warnings = Warnings::new();
        let _ = WireFormat::AnthropicMessages.decode_request(&body, &mut warnings);
        let _ = warnings.header_value();
    });
    assert_linear("estimate", 1 << 14, |n| {
        let request = ChatRequest {
            system: vec!["word ".repeat(n)],
            ..ChatRequest::default()
        };
        let _ = estimate_input_tokens(&request);
    });
}
