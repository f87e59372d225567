//! Stream translation throughput for every pair of client format and upstream format, in bytes
//! of upstream SSE per second.
//!
//! Each upstream stream is a realistic answer (reasoning, 400 text deltas of a few words, two
//! tool calls with argument fragments) written by that format's own stream encoder, then fed
//! to the gateway's `StreamTranslator` in chunks of one SSE event, as upstreams send them.
//!
//! Run: `cargo bench --bench stream_translation` (or `npm run bench`).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gateway::canonical::{
    BlockStart, Delta, Finish, FinishReason, Opaque, StreamEvent, ToolKind, Usage, Vendor,
};
use gateway::format::WireFormat;
use gateway::formats::ResponseContext;
use gateway::translate::{Restore, StreamTranslator};

fn answer() -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::Start {
        id: "msg_bench".into(),
        model: "bench-model".into(),
        usage: Usage {
            input_tokens: Some(1_200),
            ..Usage::default()
        },
    }];
    let mut index = 0;
    let mut block = |events: &mut Vec<StreamEvent>, start: BlockStart, deltas: Vec<Delta>| {
        events.push(StreamEvent::BlockStart {
            index,
            block: start,
        });
        for delta in deltas {
            events.push(StreamEvent::BlockDelta { index, delta });
        }
        events.push(StreamEvent::BlockStop { index });
        index += 1;
    };
    block(
        &mut events,
        BlockStart::Reasoning,
        (0..50)
            .map(|i| Delta::Reasoning(format!("step {i} of the plan, ")))
            .chain([Delta::Signature(Opaque {
                vendor: Vendor::Anthropic,
                data: "EqQBCgIYAhIM".repeat(8),
            })])
            .collect(),
    );
    block(
        &mut events,
        BlockStart::Text,
        (0..400)
            .map(|i| Delta::Text(format!("word{i} and some more ")))
            .collect(),
    );
    for call in 0..2 {
        block(
            &mut events,
            BlockStart::ToolCall {
                id: format!("call_{call}"),
                name: "read_file".into(),
                kind: ToolKind::Function,
            },
            ["{\"path\":", " \"src/", "main.rs\"", ", \"line\": 42}"]
                .iter()
                .map(|f| Delta::ToolArguments((*f).to_owned()))
                .collect(),
        );
    }
    events.push(StreamEvent::Finish {
        finish: Finish::new(FinishReason::ToolUse),
        usage: Usage {
            input_tokens: Some(1_200),
            output_tokens: Some(900),
            ..Usage::default()
        },
    });
    events
}

fn context() -> ResponseContext {
    ResponseContext {
        model: "bench-model".into(),
        created_s: 1_730_000_000,
        request_id: "req_bench".into(),
        include_usage: true,
        echo: serde_json::Map::new(),
        compaction: None,
    }
}

/// The upstream body in `format`, split into one chunk per SSE event.
fn upstream_chunks(format: WireFormat) -> Vec<Vec<u8>> {
    let mut encoder = format.stream_encoder(context());
    answer()
        .iter()
        .map(|event| {
            let mut out = Vec::new();
            encoder.push(event, &mut out);
            out
        })
        .filter(|chunk| !chunk.is_empty())
        .collect()
}

fn name(format: WireFormat) -> &'static str {
    format.config_name()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("stream_translation");
    for upstream in WireFormat::ALL {
        let chunks = upstream_chunks(upstream);
        let bytes: usize = chunks.iter().map(Vec::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        for client in WireFormat::ALL {
            let id = BenchmarkId::new(format!("{}<-{}", name(client), name(upstream)), bytes);
            group.bench_with_input(id, &chunks, |b, chunks| {
                b.iter(|| {
                    let mut translator = StreamTranslator::new(
                        client,
                        upstream,
                        false,
                        Restore::default(),
                        context(),
                    );
                    let mut out = Vec::with_capacity(256);
                    let mut written = 0;
                    for chunk in chunks {
                        translator.push(chunk, &mut out);
                        written += out.len();
                        out.clear();
                    }
                    translator.finish(&mut out);
                    written + out.len()
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
