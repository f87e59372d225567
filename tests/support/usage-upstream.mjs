// A minimal Anthropic Messages upstream for metering tests: every answer reports the same
// usage, and the upstream model id picks the timing:
//   "fast" answers at once; "slow" holds the answer SLOW_MS; "long" streams LONG_DELTAS text
//   deltas 20 ms apart (for disconnects).
// It counts requests in flight (and the most at once) and notes streams the client abandoned.
import http from "node:http";

export const USAGE = { input_tokens: 10, output_tokens: 5 };
export const SLOW_MS = 600;
export const LONG_DELTAS = 200;
export const LONG_DELTA_TEXT = "0123456789abcdef"; // 16 bytes = 4 estimated tokens

const sse = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startUsageUpstream() {
  const state = { inFlight: 0, maxInFlight: 0, requests: 0, aborted: 0, longDeltasSent: 0 };
  const server = http.createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw);
    state.requests++;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    res.on("close", () => {
      state.inFlight--;
      if (!res.writableEnded) state.aborted++;
    });
    if (body.model === "slow") await sleep(SLOW_MS);
    const message = { id: `msg_${state.requests}`, type: "message", role: "assistant", model: body.model };
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ...message, content: [{ type: "text", text: "ok" }], stop_reason: "end_turn", stop_sequence: null, usage: USAGE }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(sse("message_start", { message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: USAGE.input_tokens, output_tokens: 1 } } }));
    res.write(sse("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
    const deltas = body.model === "long" ? LONG_DELTAS : 1;
    for (let i = 0; i < deltas && !res.destroyed; i++) {
      res.write(sse("content_block_delta", { index: 0, delta: { type: "text_delta", text: LONG_DELTA_TEXT } }));
      if (body.model === "long") {
        state.longDeltasSent++;
        await sleep(20);
      }
    }
    if (res.destroyed) return;
    res.write(sse("content_block_stop", { index: 0 }));
    res.write(sse("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: body.model === "long" ? LONG_DELTAS * 4 : USAGE.output_tokens } }));
    res.end(sse("message_stop", {}));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    close: () => new Promise((r) => server.close(r)),
  };
}
