// Soak test of the built Worker under workerd (the Miniflare API): mixed traffic for
// SOAK_MINUTES (default 10) in the three client formats, streamed and not, on a model with two
// routes whose first one flaps (it answers, then is overloaded, fails inside its 200 stream,
// hangs before headers, resets connections, in turn), side by side with a control model whose
// only route is always healthy.
//
// Reports: the client-visible error rate (goal: 0 while one route is up), the latency the
// flapping adds (p50 and p99, soak minus control, same run), the slots still held once the
// traffic stops (goal: 0), and the charge against what the upstream billed.
//
// Run: `npm run build && npm run soak` (SOAK_MINUTES=1 for a quick look). Not part of `npm test`.
import { startWorker } from "../tests/support/worker.mjs";
import { startFaultUpstream } from "../tests/support/fault-upstream.mjs";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 8);
/** How long the flapping route stays in each state. */
const PHASE_MS = Number(process.env.SOAK_PHASE_MS ?? 15_000);
const PHASES = ["ok", "overloaded", "ok", "error_first", "ok", "hang_headers", "ok", "reset"];

const CLIENTS = ["chat", "anthropic", "responses"];
const FORMAT = { chat: "openai-chat", anthropic: "anthropic", responses: "openai-responses" };
const ENDPOINT = { chat: "/v1/chat/completions", anthropic: "/v1/messages", responses: "/v1/responses" };
const UPSTREAM = { chat: "anthropic", anthropic: "responses", responses: "chat" };

const mock = await startFaultUpstream();

const timeouts = { timeout_ms: 2_000, first_event_timeout_ms: 3_000, idle_timeout_ms: 10_000, answer_timeout_ms: 10_000 };
const providers = [];
const models = [];
for (const format of Object.values(UPSTREAM)) {
  providers.push({ id: `flap-${format}`, format: FORMAT[format], base_url: `${mock.url}/dyn/${format}/flap-${format}`, keys: ["UP"], ...timeouts });
  providers.push({ id: `backup-${format}`, format: FORMAT[format], base_url: mock.baseUrl("ok", format, `backup-${format}`), keys: ["UP"], ...timeouts });
  providers.push({ id: `control-${format}`, format: FORMAT[format], base_url: mock.baseUrl("ok", format, `control-${format}`), keys: ["UP"], ...timeouts });
  models.push({ id: `soak-${format}`, provider: `flap-${format}`, upstream: "m" });
  models.push({ id: `soak-${format}`, provider: `backup-${format}`, upstream: "m" });
  models.push({ id: `control-${format}`, provider: `control-${format}`, upstream: "m" });
}
const gw = await startWorker({
  config: {
    gateway: { keep_alive: "1s" },
    providers,
    models,
    plans: [{ id: "soak", rpm: 1e9, tpm: 1e15, concurrency: 10_000, window: "5h", window_tokens: 1e15 }],
  },
  bindings: { UP: "sk-soak" },
});
const { key } = await gw.createKey("soak");

function body(client, model, stream) {
  const text = "Say ok three times.";
  if (client === "responses") return { model, input: text, stream };
  if (client === "anthropic") return { model, max_tokens: 64, messages: [{ role: "user", content: text }], stream };
  return { model, messages: [{ role: "user", content: text }], stream, ...(stream ? { stream_options: { include_usage: true } } : {}) };
}

/** One call; resolves with { ok, ms }. A stream is ok if it ends with its terminal event. */
async function call(client, model, stream) {
  const started = performance.now();
  try {
    const res = await gw.fetch(ENDPOINT[client], {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body(client, model, stream)),
    });
    const text = await res.text();
    const end = { chat: "data: [DONE]", anthropic: "event: message_stop", responses: "event: response.completed" }[client];
    const ok = res.status === 200 && (!stream || text.includes(end));
    return { ok, ms: performance.now() - started, status: res.status };
  } catch (e) {
    return { ok: false, ms: performance.now() - started, status: String(e) };
  }
}

const results = { soak: [], control: [] };
const failures = new Map();
const deadline = Date.now() + MINUTES * 60_000;
let phaseIndex = 0;
const flapper = setInterval(() => {
  phaseIndex = (phaseIndex + 1) % PHASES.length;
  mock.setDynamic(PHASES[phaseIndex]);
}, PHASE_MS);

let n = 0;
async function worker() {
  while (Date.now() < deadline) {
    const i = n++;
    const client = CLIENTS[i % 3];
    const stream = i % 2 === 0;
    const kind = i % 4 < 2 ? "soak" : "control";
    const result = await call(client, `${kind}-${UPSTREAM[client]}`, stream);
    results[kind].push(result);
    if (!result.ok) failures.set(`${kind} ${result.status}`, (failures.get(`${kind} ${result.status}`) ?? 0) + 1);
  }
}
console.error(`soak: ${MINUTES} min, ${CONCURRENCY} at once, the first route cycling ${PHASES.join(" → ")} every ${PHASE_MS / 1000} s`);
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
clearInterval(flapper);

// Slots still held once the traffic stopped (every call has returned; settlements may lag).
let usage;
for (let i = 0; i < 100; i++) {
  usage = await gw.usage(key);
  if (usage.in_flight === 0) break;
  await new Promise((r) => setTimeout(r, 100));
}
const billed = mock.requests.reduce((sum, r) => sum + mock.billed(r), 0);

const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
const row = (kind) => {
  const list = results[kind];
  const errors = list.filter((r) => !r.ok).length;
  const ms = list.map((r) => r.ms);
  return { kind, calls: list.length, errors, rate: errors / Math.max(1, list.length), p50: pct(ms, 50), p99: pct(ms, 99) };
};
const soak = row("soak");
const control = row("control");
const attemptsAtFlap = mock.requests.filter((r) => r.tag?.startsWith("flap-")).length;
const attemptsAtBackup = mock.requests.filter((r) => r.tag?.startsWith("backup-")).length;

console.log(`\n| ${MINUTES} min, ${CONCURRENCY} concurrent | calls | client-visible errors | p50 | p99 |`);
console.log("|---|---|---|---|---|");
for (const r of [control, soak]) {
  console.log(`| ${r.kind === "soak" ? "two routes, the first flapping" : "control (one healthy route)"} | ${r.calls} | ${r.errors} (${(r.rate * 100).toFixed(3)}%) | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms |`);
}
console.log(`\nadded by the flapping route: p50 ${(soak.p50 - control.p50).toFixed(1)} ms, p99 ${(soak.p99 - control.p99).toFixed(1)} ms`);
console.log(`attempts: ${attemptsAtFlap} at the flapping route, ${attemptsAtBackup} at its backup`);
console.log(`slots held after the run: ${usage.in_flight}`);
console.log(`charged ${usage.window.used_tokens} tokens; the upstream billed ${billed} (${usage.window.used_tokens >= billed ? "charged ≥ billed" : "UNDER-CHARGED"})`);
if (failures.size) console.log(`failures: ${JSON.stringify(Object.fromEntries(failures))}`);
await gw.dispose();
await mock.close();
