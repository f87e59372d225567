// Load benchmark of the built Worker under workerd (the Miniflare API, no wrangler proxy),
// side by side with the floor: a JavaScript Worker that only passes requests and bodies
// through, on the same runtime, against the same mock upstream, in the same run.
//
// The mock upstream writes every SSE event as its own chunk (TCP_NODELAY, one write per event,
// a turn of the event loop between writes), as providers do while they generate: a mock that
// writes a whole stream at once would let the Worker see one chunk and hide the per-chunk cost.
// STREAM_EVENT_GAP_MS adds a pause between events.
//
// Prints one table: added latency of a non-streamed call (concurrency 1), throughput at
// concurrency 32, workerd CPU per non-streamed call at both, added time and workerd CPU of a 200-event stream (a Chat client that asks for
// no usage, so the gateway re-encodes; one that asks for usage, so its bytes are forwarded
// through the translator; an Anthropic stream forwarded frame by frame, and on a provider with
// `native_forwarding`; an Anthropic client on the Chat upstream), streams per second at
// concurrency 8. Ratios are gateway /
// floor; absolute numbers on a shared 2-core machine are noise, ratios in one run are not.
//
// Run: `npm run build && npm run bench:load`. Env: REQUESTS (default 600), STREAMS (200),
// STREAM_EVENTS (200), STREAM_EVENT_GAP_MS (0), METERING (on), DO_DELAY_MS (0: the simulated
// round trip to the key's Durable Object, see `TOC_DO_DELAY_MS`).
import http from "node:http";
import fs from "node:fs";
import { execFileSync } from "node:child_process";
import { Miniflare } from "miniflare";

const REQUESTS = Number(process.env.REQUESTS ?? 600);
const STREAMS = Number(process.env.STREAMS ?? 200);
const STREAM_EVENTS = Number(process.env.STREAM_EVENTS ?? 200);
const EVENT_GAP_MS = Number(process.env.STREAM_EVENT_GAP_MS ?? 0);
const METERING = (process.env.METERING ?? "on") !== "off";
const DO_DELAY_MS = Number(process.env.DO_DELAY_MS ?? 0);

// ------------------------------------------------------------------------------ mock upstream

// The mock names the model it was asked for, as providers do (so a model served under its own
// id needs no rewrite, which native forwarding requires of Chat streams).
const answer = (model) => JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion", created: 1730000000, model,
  choices: [{ index: 0, message: { role: "assistant", content: "ok", refusal: null }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 1, total_tokens: 13 },
});
const chunk = (delta, finish = null, usage = null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1730000000, model: "MODEL", choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage })}\n\n`;
const EVENTS = [
  chunk({ role: "assistant", content: "" }),
  ...Array.from({ length: STREAM_EVENTS - 3 }, (_, i) => chunk({ content: `word${i} ` })),
  chunk({}, "stop"),
  chunk(null, null, { prompt_tokens: 12, completion_tokens: STREAM_EVENTS - 3, total_tokens: STREAM_EVENTS + 9 }),
  "data: [DONE]\n\n",
];
// The same answer as an Anthropic stream (for `/v1/messages`), as many events.
const anthropicEvent = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const ANTHROPIC_EVENTS = [
  anthropicEvent("message_start", { message: { id: "msg_bench", type: "message", role: "assistant", model: "MODEL", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } } }),
  anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
  ...Array.from({ length: STREAM_EVENTS - 5 }, (_, i) => anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: `word${i} ` } })),
  anthropicEvent("content_block_stop", { index: 0 }),
  anthropicEvent("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: STREAM_EVENTS - 5 } }),
  anthropicEvent("message_stop", {}),
];
const tick = () => new Promise((r) => (EVENT_GAP_MS ? setTimeout(r, EVENT_GAP_MS) : setImmediate(r)));

const upstream = http.createServer(async (req, res) => {
  let body = "";
  for await (const c of req) body += c;
  const request = JSON.parse(body);
  const model = JSON.stringify(String(request.model)).slice(1, -1);
  if (!request.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(answer(request.model));
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.flushHeaders();
  for (const event of req.url.endsWith("/messages") ? ANTHROPIC_EVENTS : EVENTS) {
    if (res.destroyed) return;
    res.write(event.replace("MODEL", model));
    await tick();
  }
  res.end();
});
upstream.on("connection", (socket) => socket.setNoDelay(true));
await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
const mockUrl = `http://127.0.0.1:${upstream.address().port}`;

// ------------------------------------------------------------------------------ workers

const FLOOR = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.UPSTREAM + url.pathname, { method: request.method, headers: { "content-type": "application/json" }, body: request.body });
  },
};`;

/** workerd processes alive now (Miniflare runs one per instance). */
function workerdPids() {
  const out = execFileSync("ps", ["-eo", "pid=,comm="]).toString();
  return new Set(out.split("\n").filter((l) => /workerd/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0])));
}
/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

async function start(options) {
  const before = workerdPids();
  const mf = new Miniflare({ modules: true, compatibilityDate: "2026-04-20", compatibilityFlags: ["enable_request_signal"], ...options });
  const base = (await mf.ready).href.replace(/\/$/, "");
  const pid = [...workerdPids()].find((p) => !before.has(p));
  return { mf, base, pid };
}

async function floor() {
  const w = await start({ script: FLOOR, bindings: { UPSTREAM: `${mockUrl}/v1` } });
  return { ...w, headers: {} };
}

async function gateway() {
  const config = {
    providers: [
      { id: "mock", format: "openai-chat", base_url: `${mockUrl}/v1`, keys: ["MOCK_KEY"] },
      { id: "mock-anthropic", format: "anthropic", base_url: `${mockUrl}/v1`, keys: ["MOCK_KEY"] },
      { id: "mock-anthropic-native", format: "anthropic", base_url: `${mockUrl}/v1`, keys: ["MOCK_KEY"], native_forwarding: true },
    ],
    models: [
      { id: "bench", provider: "mock", upstream: "bench" },
      { id: "bench-anthropic", provider: "mock-anthropic", upstream: "bench-anthropic" },
      { id: "bench-native", provider: "mock-anthropic-native", upstream: "bench-native" },
    ],
    plans: [{ id: "bench", rpm: 1e9, tpm: 1e15, concurrency: 100000, window: "5h", window_tokens: 1e15 }],
  };
  const w = await start({
    scriptPath: "build/index.js",
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    kvNamespaces: ["KEYS"],
    durableObjects: { KEY_METER: { className: "KeyMeter", useSQLite: true }, RESPONSES: { className: "ResponseStore", useSQLite: true } },
    bindings: {
      ADMIN_TOKEN: "adm-bench", MOCK_KEY: "sk-bench", GATEWAY_CONFIG: JSON.stringify(config),
      METERING: METERING ? "on" : "off", TOC_DO_DELAY_MS: String(DO_DELAY_MS),
    },
  });
  const created = await (await fetch(`${w.base}/admin/keys`, { method: "POST", headers: { authorization: "Bearer adm-bench" }, body: JSON.stringify({ plan: "bench" }) })).json();
  return { ...w, headers: { authorization: `Bearer ${created.key}`, "x-api-key": created.key } };
}

// ------------------------------------------------------------------------------ measuring

const chatBody = (stream, { model = "bench", usage = false } = {}) =>
  JSON.stringify({ model, stream, ...(usage ? { stream_options: { include_usage: true } } : {}), messages: [{ role: "user", content: "hi" }] });
const anthropicBody = (stream, model = "bench") => JSON.stringify({ model, max_tokens: 50, stream, messages: [{ role: "user", content: "hi" }] });

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** `requests` calls, `concurrency` at a time; p50 of the whole call (body read), and calls/s. */
async function run(url, init, requests, concurrency) {
  const times = [];
  let next = 0;
  async function worker() {
    while (next < requests) {
      next++;
      const t0 = performance.now();
      const res = await fetch(url, init());
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
      times.push(performance.now() - t0);
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = performance.now() - t0;
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), perSecond: (requests / wall) * 1000 };
}

async function measure(target, label) {
  const post = (path, body) => [`${target.base}${path}`, () => ({ method: "POST", headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...target.headers }, body })];
  const chatWhole = post("/v1/chat/completions", chatBody(false));
  const chatStream = post("/v1/chat/completions", chatBody(true));
  const usageStream = post("/v1/chat/completions", chatBody(true, { usage: true }));
  const anthropicStream = post("/v1/messages", anthropicBody(true));
  const anthropicSame = post("/v1/messages", anthropicBody(true, "bench-anthropic"));
  const anthropicNative = post("/v1/messages", anthropicBody(true, "bench-native"));
  await run(...chatWhole, 50, 1);
  await run(...chatStream, 10, 1);
  /** `run`, with the workerd CPU per call (the key's object included: it shares the process). */
  const costed = async (request, requests, concurrency) => {
    const cpu0 = cpuSeconds(target.pid);
    const timed = await run(...request, requests, concurrency);
    return { ...timed, cpu: ((cpuSeconds(target.pid) - cpu0) / requests) * 1000 };
  };
  const whole1 = await costed(chatWhole, REQUESTS / 2, 1);
  // Warmed at the concurrency it is measured at, as under sustained traffic: the isolate's
  // allowance grows to its traffic (with the object 100 ms away that takes about a second of
  // calls asking it one by one).
  await run(...chatWhole, REQUESTS, 32);
  const whole32 = await costed(chatWhole, REQUESTS, 32);
  /** p50 of `STREAMS / 2` streams one at a time, and workerd CPU per stream. */
  const streams = (request) => costed(request, STREAMS / 2, 1);
  const stream1 = await streams(chatStream);
  const stream8 = await run(...chatStream, STREAMS, 8);
  // The floor passes `/v1/messages` to the mock too: an Anthropic stream of as many events.
  await run(...anthropicSame, 10, 1);
  const anthropic1 = await streams(anthropicSame);
  if (label === "floor") return { whole1, whole32, stream1, stream8, anthropic1 };
  await run(...anthropicNative, 10, 1);
  const forwarded = await streams(usageStream);
  const native = await streams(anthropicNative);
  const translated = await streams(anthropicStream);
  return { whole1, whole32, stream1, stream8, anthropic1, forwarded, native, translated };
}

const direct = {
  whole1: await (async () => {
    const init = () => ({ method: "POST", headers: { "content-type": "application/json" }, body: chatBody(false) });
    await run(`${mockUrl}/v1/chat/completions`, init, 50, 1);
    return run(`${mockUrl}/v1/chat/completions`, init, REQUESTS / 2, 1);
  })(),
  stream1: await run(`${mockUrl}/v1/chat/completions`, () => ({ method: "POST", headers: { "content-type": "application/json" }, body: chatBody(true) }), STREAMS / 2, 1),
  anthropic1: await run(`${mockUrl}/v1/messages`, () => ({ method: "POST", headers: { "content-type": "application/json" }, body: anthropicBody(true, "bench-anthropic") }), STREAMS / 2, 1),
};

const floorWorker = await floor();
const floorFigures = await measure(floorWorker, "floor");
await floorWorker.mf.dispose();
const gatewayWorker = await gateway();
const gatewayFigures = await measure(gatewayWorker, "gateway");
await gatewayWorker.mf.dispose();
upstream.close();

const ms = (v) => `${v.toFixed(2)} ms`;
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
const added = (figures) => figures.p50 - direct.stream1.p50;
const addedAnthropic = (figures) => figures.p50 - direct.anthropic1.p50;
const n = STREAM_EVENTS;
const rows = [
  ["non-stream Chat call, added latency at concurrency 1 (p50)", floorFigures.whole1.p50 - direct.whole1.p50, gatewayFigures.whole1.p50 - direct.whole1.p50, ms],
  ["workerd CPU per non-stream call, concurrency 1", floorFigures.whole1.cpu, gatewayFigures.whole1.cpu, ms],
  ["non-stream throughput at concurrency 32", floorFigures.whole32.perSecond, gatewayFigures.whole32.perSecond, (v) => `${v.toFixed(0)} req/s`],
  ["workerd CPU per non-stream call, concurrency 32", floorFigures.whole32.cpu, gatewayFigures.whole32.cpu, ms],
  [`${n}-event Chat stream, no usage asked (re-encoded), added full time (p50)`, added(floorFigures.stream1), added(gatewayFigures.stream1), ms],
  [`workerd CPU per ${n}-event stream, re-encoded`, floorFigures.stream1.cpu, gatewayFigures.stream1.cpu, ms],
  [`workerd CPU per ${n}-event stream, usage asked (bytes forwarded)`, floorFigures.stream1.cpu, gatewayFigures.forwarded.cpu, ms],
  [`${n}-event Anthropic stream, same format, frame by frame, added (p50)`, addedAnthropic(floorFigures.anthropic1), addedAnthropic(gatewayFigures.anthropic1), ms],
  [`workerd CPU per ${n}-event Anthropic stream, frame by frame`, floorFigures.anthropic1.cpu, gatewayFigures.anthropic1.cpu, ms],
  [`${n}-event Anthropic stream forwarded natively (\`native_forwarding\`), added (p50)`, addedAnthropic(floorFigures.anthropic1), addedAnthropic(gatewayFigures.native), ms],
  [`workerd CPU per ${n}-event Anthropic stream forwarded natively`, floorFigures.anthropic1.cpu, gatewayFigures.native.cpu, ms],
  ["streams/s at concurrency 8 (re-encoded)", floorFigures.stream8.perSecond, gatewayFigures.stream8.perSecond, (v) => v.toFixed(0)],
  [`Anthropic client ← Chat upstream, ${n}-event stream, added (p50)`, added(floorFigures.stream1), added(gatewayFigures.translated), ms],
  [`workerd CPU per ${n}-event stream, Anthropic client ← Chat upstream`, floorFigures.stream1.cpu, gatewayFigures.translated.cpu, ms],
];
console.log(`\nmock upstream: one write per event${EVENT_GAP_MS ? `, ${EVENT_GAP_MS} ms apart` : ""}; metering ${METERING ? "on" : "off"}${DO_DELAY_MS ? `; Durable Object calls delayed ${DO_DELAY_MS} ms` : ""}; Node ${process.version}`);
console.log(`direct to the mock: non-stream p50 ${ms(direct.whole1.p50)}, ${STREAM_EVENTS}-event stream p50 ${ms(direct.stream1.p50)}\n`);
console.log("| | floor (JS pass-through in workerd) | gateway | ratio |\n|---|---|---|---|");
for (const [label, floorValue, gatewayValue, format] of rows) {
  console.log(`| ${label} | ${format(floorValue)} | ${format(gatewayValue)} | ${ratio(gatewayValue, floorValue)} |`);
}
