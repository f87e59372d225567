// Peak memory of a 10 MB request: the built Worker under workerd (Miniflare API), a fresh
// isolate per case, one request, then the isolate's Wasm memory as the Worker reports it
// (`x-toc-wasm-memory-bytes`, only with TOC_DEBUG_MEMORY=1). Wasm memory only grows, so the
// figure after the request is its high-water mark.
//
// Cases: a 10 MB prompt forwarded to an upstream of the client's format, the same translated
// to another format, a 10 MB body of small numbers in an ignored field (refused before
// parsing), and a 12 MB chunked body (refused at 10 MB).
//
// Run: `npm run build && node bench/memory.mjs`. Prints a Markdown table.
import http from "node:http";
import { Miniflare } from "miniflare";

const MB = 1024 * 1024;
const upstream = http.createServer(async (req, res) => {
  for await (const _ of req);
  const chat = req.url.includes("/chat/");
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(chat
    ? { id: "c", object: "chat.completion", created: 1, model: "up", choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }
    : { id: "msg_1", type: "message", role: "assistant", model: "up", content: [{ type: "text", text: "ok" }], stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } }));
});
await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
const mock = `http://127.0.0.1:${upstream.address().port}`;

const config = {
  providers: [
    { id: "chat", format: "openai-chat", base_url: `${mock}/chat`, keys: ["K"] },
    { id: "anthropic", format: "anthropic", base_url: `${mock}/anthropic`, keys: ["K"] },
  ],
  models: [
    { id: "m-chat", provider: "chat", upstream: "up" },
    { id: "m-anthropic", provider: "anthropic", upstream: "up" },
  ],
  plans: [{ id: "p", rpm: 1e6, tpm: 1e12, concurrency: 1000, window: "5h", window_tokens: 1e13 }],
};

async function fresh() {
  const mf = new Miniflare({
    modules: true, scriptPath: "build/index.js",
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-20", compatibilityFlags: ["enable_request_signal"],
    kvNamespaces: ["KEYS"],
    durableObjects: { KEY_METER: { className: "KeyMeter", useSQLite: true }, RESPONSES: { className: "ResponseStore", useSQLite: true } },
    bindings: { ADMIN_TOKEN: "adm", K: "sk", GATEWAY_CONFIG: JSON.stringify(config), TOC_DEBUG_MEMORY: "1" },
  });
  const url = (await mf.ready).href.replace(/\/$/, "");
  const created = await fetch(`${url}/admin/keys`, { method: "POST", headers: { authorization: "Bearer adm" }, body: JSON.stringify({ plan: "p", name: "m" }) });
  const { key } = await created.json();
  const idle = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  await idle.text();
  return { mf, url, key, baseline: Number(idle.headers.get("x-toc-wasm-memory-bytes")) };
}

const text = "The quick brown fox jumps over the lazy dog. ".repeat(Math.floor((10 * MB - 1000) / 45));
const cases = [
  ["10 MB Chat prompt, forwarded to a Chat upstream", "/v1/chat/completions", () => JSON.stringify({ model: "m-chat", messages: [{ role: "user", content: text }] })],
  ["10 MB Chat prompt, translated for an Anthropic upstream", "/v1/chat/completions", () => JSON.stringify({ model: "m-anthropic", messages: [{ role: "user", content: text }] })],
  ["10 MB Anthropic prompt, forwarded to an Anthropic upstream", "/v1/messages", () => JSON.stringify({ model: "m-anthropic", max_tokens: 100, messages: [{ role: "user", content: text }] })],
  ["10 MB of small numbers in an ignored field (refused)", "/v1/chat/completions", () => `{"model":"m-chat","messages":[{"role":"user","content":"hi"}],"junk":[${"1,".repeat(5 * MB - 100)}1]}`],
  ["12 MB chunked body (refused at 10 MB)", "/v1/chat/completions", () => {
    const piece = new TextEncoder().encode("a".repeat(MB));
    let sent = 0;
    return new ReadableStream({ pull(c) { if (sent++ >= 12) c.close(); else c.enqueue(piece); } });
  }],
];

console.log("| request | status | Wasm memory before | after (peak) | growth |");
console.log("|---|---|---|---|---|");
for (const [name, path, makeBody] of cases) {
  const { mf, url, key, baseline } = await fresh();
  try {
    const body = makeBody();
    const res = await fetch(url + path, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body,
      ...(typeof body === "string" ? {} : { duplex: "half" }),
    });
    await res.text();
    const after = Number(res.headers.get("x-toc-wasm-memory-bytes"));
    const mb = (n) => `${(n / MB).toFixed(1)} MB`;
    console.log(`| ${name} | ${res.status} | ${mb(baseline)} | ${mb(after)} | ${mb(after - baseline)} |`);
  } finally {
    await mf.dispose();
  }
}
upstream.close();
