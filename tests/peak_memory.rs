#![allow(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Peak heap while the gateway takes a large request in and writes the upstream's body, the way
//! the request path does it, measured with a counting allocator (this test binary's own): the
//! promise is that a body is never held more than twice at once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use gateway::format::WireFormat;
use gateway::formats::{MaxTokensParam, UpstreamFeatures, UpstreamTarget};
use gateway::translate::Warnings;
use gateway::translate::request::{ClientCall, fit_to_plan, upstream_request};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Measurements run one at a time (the counters are global).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MB: usize = 1024 * 1024;

fn body(format: WireFormat) -> Vec<u8> {
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(10 * MB / 45);
    let json = match format {
        WireFormat::OpenAiChat => {
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": text}]})
        }
        WireFormat::AnthropicMessages => {
            serde_json::json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": text}]})
        }
        WireFormat::OpenAiResponses => serde_json::json!({"model": "m", "input": text}),
        WireFormat::Gemini => {
            serde_json::json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
        }
    };
    serde_json::to_vec(&json).unwrap()
}

fn target() -> UpstreamTarget {
    UpstreamTarget {
        model: "up".into(),
        stream: false,
        max_tokens_param: MaxTokensParam::MaxCompletionTokens,
        default_max_tokens: 1000,
        max_output_tokens: Some(1000),
        reasoning: false,
        cache_breakpoints: true,
        server_tools: None,
    }
}

/// The request path for `raw` (already read): decode, then forward or translate, dropping what
/// it no longer needs as `inference::run` does. Returns the peak heap in multiples of the body.
fn path(client: WireFormat, upstream: WireFormat, raw: Vec<u8>) -> f64 {
    let size = raw.len();
    let base = CURRENT.load(Ordering::SeqCst) - size;
    PEAK.store(CURRENT.load(Ordering::SeqCst), Ordering::SeqCst);
    let mut warnings = Warnings::new();
    let mut request = client.decode_request(&raw, &mut warnings).unwrap();
    fit_to_plan(
        &mut request,
        1000,
        UpstreamFeatures::default(),
        &mut warnings,
    );
    let forwarded = client == upstream;
    let raw = if forwarded {
        request.messages = Vec::new();
        Some(raw)
    } else {
        drop(raw);
        None
    };
    let call = ClientCall {
        format: client,
        forwardable_body: raw.as_deref(),
        request: &request,
        features: UpstreamFeatures::default(),
    };
    let sent = upstream_request(call, upstream, &target(), &mut warnings).unwrap();
    assert!(sent.body.len() > size / 2, "the prompt went upstream");
    drop((sent, raw, request));
    (PEAK.load(Ordering::SeqCst) - base) as f64 / size as f64
}

#[test]
fn a_10_mb_request_is_never_held_more_than_twice() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    for client in WireFormat::ALL {
        for upstream in WireFormat::ALL {
            let peak = path(client, upstream, body(client));
            println!("{client:?} → {upstream:?}: peak {peak:.2}× the body");
            assert!(peak < 2.1, "{client:?} → {upstream:?}: {peak:.2}× the body");
        }
    }
}
