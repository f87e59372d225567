// Load benchmark of the built Worker under workerd (the Miniflare API, no wrangler proxy).
//
// Measures, against an instant local mock upstream:
//   - the latency a client sees for a small non-streamed call, with metering on (one KV read,
//     cached, plus one Durable Object admission and a settlement in waitUntil) and with
//     metering off (METERING=off, benchmark-only), and straight to the mock for reference;
//   - the time to stream a 200-event answer through the gateway, translated and passed through.
//
// Run: `npm run bench:load` (after `npm run build`). Prints a Markdown table.
import http from "node:http";
import { Miniflare } from "miniflare";

const REQUESTS = Number(process.env.REQUESTS ?? 400);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const STREAM_EVENTS = 200;

const chatAnswer = JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion", created: 1730000000, model: "bench",
  choices: [{ index: 0, message: { role: "assistant", content: "ok", refusal: null }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 1, total_tokens: 13 },
});

function chatStream(res) {
  res.writeHead(200, { "content-type": "text/event-stream" });
  const chunk = (delta, finish = null) => `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1730000000, model: "bench", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null })}\n\n`;
  let out = chunk({ role: "assistant", content: "" });
  for (let i = 0; i < STREAM_EVENTS - 3; i++) out += chunk({ content: `word${i} ` });
  out += chunk({}, "stop");
  out += `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1730000000, model: "bench", choices: [], usage: { prompt_tokens: 12, completion_tokens: 197, total_tokens: 209 } })}\n\n`;
  out += "data: [DONE]\n\n";
  res.end(out);
}

const upstream = http.createServer(async (req, res) => {
  let body = "";
  for await (const c of req) body += c;
  const parsed = JSON.parse(body);
  if (parsed.stream) return chatStream(res);
  res.writeHead(200, { "content-type": "application/json" });
  res.end(chatAnswer);
});
await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
const mockUrl = `http://127.0.0.1:${upstream.address().port}`;

const config = {
  providers: [{ id: "mock", format: "openai-chat", base_url: `${mockUrl}/v1`, keys: ["MOCK_KEY"] }],
  models: [{ id: "bench", provider: "mock", upstream: "bench" }],
  plans: [{ id: "bench", rpm: 1000000, tpm: 1000000000, concurrency: 1000, window: "5h", window_tokens: 1000000000000 }],
};

async function gateway(metering) {
  const mf = new Miniflare({
    modules: true, scriptPath: "build/index.js",
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-20", compatibilityFlags: ["enable_request_signal"],
    kvNamespaces: ["KEYS"],
    durableObjects: { KEY_METER: { className: "KeyMeter", useSQLite: true }, RESPONSES: { className: "ResponseStore", useSQLite: true } },
    bindings: { ADMIN_TOKEN: "adm-bench", MOCK_KEY: "sk-bench", GATEWAY_CONFIG: JSON.stringify(config), METERING: metering ? "on" : "off" },
  });
  const base = await mf.ready;
  const created = await (await fetch(new URL("/admin/keys", base), { method: "POST", headers: { authorization: "Bearer adm-bench" }, body: JSON.stringify({ plan: "bench" }) })).json();
  return { mf, base, key: created.key };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(label, url, init, requests = REQUESTS) {
  const times = [];
  let next = 0;
  async function worker() {
    while (next < requests) {
      next++;
      const t0 = performance.now();
      const res = await fetch(url, init());
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
      times.push(performance.now() - t0);
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wall = performance.now() - t0;
  times.sort((a, b) => a - b);
  return { label, p50: percentile(times, 50), p99: percentile(times, 99), rps: (requests / wall) * 1000 };
}

const chatBody = (stream) => JSON.stringify({ model: "bench", stream, messages: [{ role: "user", content: "hi" }] });
const anthropicBody = (stream) => JSON.stringify({ model: "bench", max_tokens: 50, stream, messages: [{ role: "user", content: "hi" }] });

const results = [];
const warm = async (url, init) => { for (let i = 0; i < 30; i++) await (await fetch(url, init())).arrayBuffer(); };

const direct = () => ({ method: "POST", headers: { "content-type": "application/json" }, body: chatBody(false) });
await warm(`${mockUrl}/v1/chat/completions`, direct);
results.push(await run("mock upstream directly (no gateway)", `${mockUrl}/v1/chat/completions`, direct));

for (const metering of [false, true]) {
  const { mf, base, key } = await gateway(metering);
  const tag = metering ? "metering on" : "metering off";
  const chat = (stream) => () => ({ method: "POST", headers: { authorization: `Bearer ${key}` }, body: chatBody(stream) });
  const anth = (stream) => () => ({ method: "POST", headers: { "x-api-key": key, "anthropic-version": "2023-06-01" }, body: anthropicBody(stream) });
  await warm(new URL("/v1/chat/completions", base), chat(false));
  results.push(await run(`chat → chat, non-stream, ${tag}`, new URL("/v1/chat/completions", base), chat(false)));
  results.push(await run(`anthropic → chat, non-stream, ${tag}`, new URL("/v1/messages", base), anth(false)));
  results.push(await run(`chat → chat, ${STREAM_EVENTS}-event stream, ${tag}`, new URL("/v1/chat/completions", base), chat(true), REQUESTS / 4));
  results.push(await run(`anthropic → chat, ${STREAM_EVENTS}-event stream, ${tag}`, new URL("/v1/messages", base), anth(true), REQUESTS / 4));
  await mf.dispose();
}
upstream.close();

console.log(`\n${REQUESTS} requests per row (streams: ${REQUESTS / 4}), ${CONCURRENCY} at a time, Node ${process.version}\n`);
console.log("| case | p50 ms | p99 ms | req/s |\n|---|---|---|---|");
for (const r of results) console.log(`| ${r.label} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.rps.toFixed(0)} |`);
