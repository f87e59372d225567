//! The JavaScript half of a streamed answer's pump: one small async loop per upstream attempt
//! that reads the upstream body, hands each chunk to Rust synchronously, and writes what Rust
//! returns to the client's stream; and whole bodies read in one native call.
//!
//! Why the loop is JavaScript: in workerd, everything per chunk that crosses the JS/wasm
//! boundary as a promise is expensive. A `TransformStream` with a transform callback cost
//! about 100 µs of CPU per chunk (measured: 21 ms per 200-event stream, against 3 ms for a bare
//! pass-through), and a Rust loop awaiting each `read()` allocates two closures per promise.
//! Here each chunk costs one `read()` in JS and one plain call into wasm; the client's side is
//! a native `IdentityTransformStream`, whose body workerd sends without running JS.
//!
//! Reading each chunk in JS still costs several times what workerd's own piping costs (about
//! 45 µs per chunk here, against a pass-through's 12, and upstreams' HTTP chunks arrive as two
//! reads per SSE event). So a forwarded answer that needs no rewriting, once committed, is
//! handed over ([`toc_forward`]): the upstream body is teed, one branch piped natively into the
//! client's stream, and the other read for the meter at most every `paceMs`, so each read takes
//! whatever arrived meanwhile (a tee buffers for its slower branch) and the meter's cost follows
//! the answer's duration rather than its number of events.

use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function toc_output_stream(highWaterMark) {
  return new IdentityTransformStream({ highWaterMark });
}

// Resolves 0 when the upstream body ended, 1 when reading it failed (or it was cancelled),
// 2 when the client's side can no longer be written (the client went away), 3 when `push`
// returned an array: its bytes (if any) are the last written here, the rest of the body is to
// be forwarded natively (`toc_forward`).
export async function toc_pump(reader, writer, push) {
  // Bytes without a line break end no SSE event, so they wait here for the next chunk rather
  // than cost a call into wasm (an upstream's HTTP chunk often arrives as two reads, the first
  // a few dozen bytes of its event).
  let partial = null;
  for (;;) {
    // An errored client side (the client went away, seen at the last write) has no size.
    if (writer.desiredSize === null) return 2;
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      return 1;
    }
    if (chunk.done) {
      if (partial !== null) {
        // No line break: it ends no event, so the translator returns no bytes to write.
        push(partial);
      }
      return 0;
    }
    let bytes = chunk.value;
    if (partial !== null) {
      const joined = new Uint8Array(partial.length + bytes.length);
      joined.set(partial);
      joined.set(bytes, partial.length);
      bytes = joined;
      partial = null;
    }
    if (bytes.length < PARTIAL_MAX && bytes.indexOf(10) === -1 && bytes.indexOf(13) === -1) {
      partial = bytes;
      continue;
    }
    const out = push(bytes);
    if (Array.isArray(out)) {
      try {
        // Written before the writer is released, so nothing overtakes it.
        if (out.length > 0) await writer.write(out[0]);
      } catch (e) {
        return 2;
      }
      return 3;
    }
    if (out !== undefined) {
      toc_write(writer, out);
      if (!(writer.desiredSize > 0)) {
        try {
          await writer.ready;
        } catch (e) {
          return 2;
        }
      }
    }
  }
}

const PARTIAL_MAX = 16384;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Forwards the rest of `body` (read so far by `reader`) into `writable` natively, and passes a
// copy to `observe` in batches, at most one read per `paceMs` while the pipe runs. If the pipe
// fails (the client went away, or the upstream did), what the upstream already sent is read
// (the client may have had it) before the upstream is stopped (`abort`). Resolves
// [code, writer] once both are done: the codes of `toc_pump`, and a new writer of `writable`
// (null if it cannot be written) for what follows.
export async function toc_forward(reader, body, writer, writable, observe, paceMs, abort) {
  reader.releaseLock();
  writer.releaseLock();
  const [client, meter] = body.tee();
  let piping = true;
  // (workerd errors `writable` when the pipe fails whatever `preventAbort` says; the end
  // below finds out with a fresh writer.)
  const piped = client
    .pipeTo(writable, { preventClose: true, preventAbort: true })
    .then(() => 0, () => 1)
    .finally(() => {
      piping = false;
    });
  const observer = meter.getReader({ mode: "byob" });
  let buffer = new Uint8Array(65536);
  let failed = false;
  let stopped = false;
  for (;;) {
    if (piping) await Promise.race([sleep(paceMs), piped]);
    const read = observer.read(buffer);
    if (!piping && !stopped && (await piped) !== 0) {
      // Nothing more within 5 ms: what the tee held is read, the upstream can stop.
      const idle = await Promise.race([read.then(() => false, () => false), sleep(5).then(() => true)]);
      if (idle) {
        stopped = true;
        abort.abort();
      }
    }
    let chunk;
    try {
      chunk = await read;
    } catch (e) {
      failed = true;
      break;
    }
    if (chunk.done) break;
    observe(chunk.value);
    buffer = new Uint8Array(chunk.value.buffer);
  }
  const pipeCode = await piped;
  let next = null;
  try {
    next = writable.getWriter();
  } catch (e) {}
  if (next === null || next.desiredSize === null) return [2, next];
  return [failed || pipeCode !== 0 ? 1 : 0, next];
}

export function toc_write(writer, bytes) {
  writer.write(bytes).catch(() => {});
}

export function toc_close(writer) {
  writer.close().catch(() => {});
}

export function toc_cancel(reader) {
  reader.cancel().catch(() => {});
}

// A whole body in one native read (worker's `bytes()` awaits every chunk from Rust).
export function toc_read_all(stream) {
  return new Response(stream).arrayBuffer();
}
"#)]
extern "C" {
    /// A native identity stream buffering up to `high_water_mark` bytes before writes wait.
    pub fn toc_output_stream(high_water_mark: f64) -> web_sys::TransformStream;
    /// Pumps `reader` through `push` (a `(Uint8Array) => Uint8Array | undefined`) into
    /// `writer`; see the codes above.
    pub fn toc_pump(reader: &JsValue, writer: &JsValue, push: &Function) -> Promise;
    /// Writes without waiting (a failed write means the client went away, which the pump or
    /// the request's signal reports).
    /// Forwards the rest of the upstream body natively, `observe` (a `(Uint8Array) => void`)
    /// seeing a copy; resolves `[code, writer]` (see above).
    #[allow(clippy::too_many_arguments)]
    pub fn toc_forward(
        reader: &JsValue,
        body: &JsValue,
        writer: &JsValue,
        writable: &JsValue,
        observe: &Function,
        pace_ms: f64,
        abort: &web_sys::AbortController,
    ) -> Promise;
    pub fn toc_write(writer: &JsValue, bytes: &Uint8Array);
    pub fn toc_close(writer: &JsValue);
    pub fn toc_cancel(reader: &JsValue);
    fn toc_read_all(stream: &JsValue) -> Promise;
}

/// A whole request body (a small, trusted one: a Durable Object's call), read natively.
pub async fn read_request(req: &worker::Request) -> worker::Result<Vec<u8>> {
    let Some(stream) = req.inner().body() else {
        return Ok(Vec::new());
    };
    let buffer = wasm_bindgen_futures::JsFuture::from(toc_read_all(stream.as_ref()))
        .await
        .map_err(worker::Error::from)?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// A whole response body (no body: empty), read natively in one piece.
pub async fn read_all(body: &worker::ResponseBody) -> worker::Result<Vec<u8>> {
    match body {
        worker::ResponseBody::Empty => Ok(Vec::new()),
        worker::ResponseBody::Body(bytes) => Ok(bytes.clone()),
        worker::ResponseBody::Stream(stream) => {
            let buffer = wasm_bindgen_futures::JsFuture::from(toc_read_all(stream.as_ref()))
                .await
                .map_err(worker::Error::from)?;
            Ok(Uint8Array::new(&buffer).to_vec())
        }
    }
}

/// The code [`toc_pump`] resolved with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pumped {
    /// The upstream body ended.
    Ended,
    /// Reading the upstream body failed (or it was cancelled).
    ReadFailed,
    /// The client's side can no longer be written.
    ClientGone,
    /// The rest of the body is to be forwarded natively.
    Forward,
}

impl Pumped {
    pub fn from_code(code: &JsValue) -> Pumped {
        match code.as_f64().map(|c| c as i32) {
            Some(0) => Pumped::Ended,
            Some(2) => Pumped::ClientGone,
            Some(3) => Pumped::Forward,
            _ => Pumped::ReadFailed,
        }
    }
}
