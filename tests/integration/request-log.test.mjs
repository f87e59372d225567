// The request log and its rollups (Queue → D1) against the key's meter after a mixed run, the
// reports and CSV exports of both APIs, and the demo provider in every client format.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startGateway, gatewayConfig, MODELS, ADMIN_TOKEN } from "../support/gateway.mjs";
import { startMockUpstream } from "../support/mock-upstream.mjs";

// Prices on the mock models, so costs can be checked to the picodollar.
const PRICES = {
  [MODELS.chat]: { input: 2.0, cached_input: 0.5, output: 8.0 },
  [MODELS.anthropic]: { input: 3.0, cached_input: 0.3, cache_write_5m: 3.75, cache_write_1h: 6.0, output: 15.0 },
  [MODELS.responses]: { input: 1.75, cached_input: 0.175, output: 14.0 },
};
const DEMO_MODEL = "demo-model";

let mock;
let gw;

before(async () => {
  mock = await startMockUpstream();
  gw = await startGateway({
    mock,
    config: (m) => {
      const base = gatewayConfig(m);
      for (const model of base.models) if (PRICES[model.id]) model.prices = [{ taken: "2026-11-30", ...PRICES[model.id] }];
      base.providers.push({ id: "demo", format: "openai-responses", demo: true });
      base.models.push({ id: DEMO_MODEL, provider: "demo", upstream: "demo-up", prices: [{ input: 1, output: 2 }] });
      // A model whose provider's secret is not set: the demo stands in for it only when DEMO=on.
      base.providers.push({ id: "unkeyed", format: "anthropic", base_url: m.baseUrl("anthropic"), keys: ["NOT_SET_KEY"] });
      base.models.push({ id: "unkeyed-model", provider: "unkeyed", upstream: "claude-x" });
      return base;
    },
  });
});
after(async () => {
  await gw?.close();
  await mock?.close();
});


/** Waits until the log holds `count` rows for `key` (the queue delivers in batches). */
async function logOf(keyId, count) {
  for (let i = 0; i < 200; i++) {
    const res = await gw.admin("GET", `/admin/log?key=${keyId}&limit=1000`);
    assert.equal(res.status, 200, res.text);
    if (res.json.data.length >= count) return res.json.data;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the log did not reach ${count} rows for ${keyId}`);
}

/** The key's usage once nothing is in flight. */
async function settled(key) {
  for (let i = 0; i < 200; i++) {
    const res = await gw.request("GET", "/v1/usage", { headers: { "x-api-key": key } });
    if (res.json.in_flight === 0) return res.json;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("calls still in flight");
}

/** Exact picodollars of `tokens` × `$/MTok` (BigInt). */
function pico(tokens, dollarsPerMTok) {
  return BigInt(tokens) * BigInt(Math.round(dollarsPerMTok * 1e6));
}

function picoOf(usd) {
  if (usd === null) return null;
  const [whole, fraction = ""] = usd.split(".");
  return BigInt(whole) * 10n ** 12n + BigInt(fraction.padEnd(12, "0"));
}

test("log: after a mixed run, every call's row and the rollups equal what the key's meter settled", async () => {
  const created = await gw.createKey("test", "mixed");
  const key = created.key;
  const openai = gw.openaiClient(key);
  const anthropic = gw.anthropicClient(key);
  const gemini = gw.geminiClient(key);
  const secret = "PROMPT-MARKER-7b1f";
  // Nine calls: four formats, streamed and not, an upstream failure, a cut stream, the demo.
  await openai.chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: `hi ${secret}` }] });
  const stream = await openai.chat.completions.create({ model: MODELS.anthropic, stream: true, messages: [{ role: "user", content: "hi" }] });
  for await (const _ of stream);
  await anthropic.messages.create({ model: MODELS.anthropic, max_tokens: 256, messages: [{ role: "user", content: "hi" }] });
  await anthropic.messages.create({ model: MODELS.responses, max_tokens: 256, messages: [{ role: "user", content: "[scenario:thinking] hi" }] });
  await openai.responses.create({ model: MODELS.responses, input: "hi" });
  await gemini.models.generateContent({ model: MODELS.chat, contents: "hi" });
  await assert.rejects(openai.chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: "[scenario:error_500] hi" }] }));
  const cut = await openai.chat.completions.create({ model: MODELS.anthropic, stream: true, messages: [{ role: "user", content: "[scenario:midstream_error] hi" }] });
  await assert.rejects(async () => {
    for await (const _ of cut);
  });
  await openai.chat.completions.create({ model: DEMO_MODEL, messages: [{ role: "user", content: "hi" }] });
  const usage = await settled(key);

  const rows = await logOf(created.id, 9);
  assert.equal(rows.length, 9);
  assert.ok(!JSON.stringify(rows).includes(secret), "no prompt text in the log");
  assert.ok(!JSON.stringify(rows).includes("mock upstream"), "no answer text in the log");
  for (const row of rows) {
    assert.equal(row.key_id, created.id);
    assert.match(row.id, /^req_/);
    assert.ok(row.latency_ms >= 0);
  }
  // Calls by outcome.
  const failed = rows.filter((r) => r.outcome !== "ok");
  assert.deepEqual(failed.map((r) => [r.status, r.outcome]).sort(), [[200, "incomplete"], [502, "upstream_error"]]);
  const streamed = rows.find((r) => r.stream && r.outcome === "ok");
  assert.ok(streamed.ttft_ms !== null && streamed.ttft_ms <= streamed.latency_ms, "streams record their first content");
  assert.deepEqual(new Set(rows.map((r) => r.client_format)), new Set(["openai-chat", "anthropic", "openai-responses", "gemini"]));
  const demo = rows.find((r) => r.model === DEMO_MODEL);
  assert.equal(demo.provider, "demo");
  assert.equal(demo.upstream_model, "demo-up");
  assert.ok(demo.output_tokens > 0 && !demo.estimated);
  // The first call: the mock's text usage (1,500 in, 1,024 of them cached, 12 out) and its cost.
  const first = rows.at(-1);
  assert.equal(first.model, MODELS.chat);
  assert.deepEqual([first.input_tokens, first.cache_read_tokens, first.output_tokens], [1500, 1024, 12]);
  assert.equal(picoOf(first.cost_usd), pico(476, 2.0) + pico(1024, 0.5) + pico(12, 8.0));

  // The log's tokens are what the meter charged: per model per day, and in the window.
  const history = await gw.admin("GET", `/admin/keys/${created.id}/usage`);
  const metered = history.json.days.at(0).models;
  const byModel = {};
  for (const row of rows) {
    const m = (byModel[row.model] ??= { input_tokens: 0, output_tokens: 0 });
    m.input_tokens += row.input_tokens;
    m.output_tokens += row.output_tokens;
  }
  for (const [model, figures] of Object.entries(metered)) {
    assert.equal(byModel[model]?.input_tokens ?? 0, figures.input_tokens, `${model} input`);
    assert.equal(byModel[model]?.output_tokens ?? 0, figures.output_tokens, `${model} output`);
  }
  const total = rows.reduce((sum, r) => sum + r.input_tokens + r.output_tokens, 0);
  assert.equal(total, usage.window.used_tokens);

  // The rollups add the rows up exactly, costs included.
  const report = await gw.admin("GET", `/admin/usage?key=${created.id}`);
  assert.equal(report.status, 200);
  assert.equal(report.json.total.requests, 9);
  assert.equal(report.json.total.errors, 2);
  assert.equal(report.json.total.input_tokens + report.json.total.output_tokens, total);
  const costSum = rows.reduce((sum, r) => sum + (picoOf(r.cost_usd) ?? 0n), 0n);
  assert.equal(picoOf(report.json.total.cost_usd), costSum);
  assert.equal(report.json.total.unpriced, rows.filter((r) => r.cost_usd === null).length);
  for (const m of report.json.models) {
    const mine = rows.filter((r) => r.model === m.model);
    assert.equal(m.requests, mine.length, m.model);
    assert.equal(m.input_tokens, mine.reduce((s, r) => s + r.input_tokens, 0), m.model);
    assert.equal(picoOf(m.cost_usd), mine.reduce((s, r) => s + (picoOf(r.cost_usd) ?? 0n), 0n), m.model);
  }
  assert.equal(report.json.days.length, 1);
  assert.equal(report.json.top_keys.find((k) => k.key_id === created.id).requests, 9);
});

test("log: a record delivered twice is written and rolled up once", async () => {
  const created = await gw.createKey("test", "twice");
  const openai = gw.openaiClient(created.key);
  await openai.chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: "hi" }] });
  const [row] = await logOf(created.id, 1);
  const before = (await gw.admin("GET", `/admin/usage?key=${created.id}`)).json.total;
  const queue = await gw.mf.getQueueProducer("REQUEST_LOG");
  const record = {
    id: row.id, ts_ms: row.ts_ms, key_id: row.key_id, model: row.model, provider: row.provider, upstream_model: row.upstream_model,
    client_format: row.client_format, stream: row.stream, status: row.status, outcome: row.outcome,
    input_tokens: 999999, cache_read_tokens: 0, cache_write_tokens: 0, output_tokens: 1, reasoning_tokens: 0, web_search_calls: 0,
    estimated: false, cost_pico: 5, latency_ms: 1, ttft_ms: null, warnings: null,
  };
  await queue.send(JSON.stringify(record));
  await queue.send(JSON.stringify(record));
  await new Promise((r) => setTimeout(r, 500));
  const afterTotal = (await gw.admin("GET", `/admin/usage?key=${created.id}`)).json.total;
  assert.deepEqual(afterTotal, before);
  const rows = await logOf(created.id, 1);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].input_tokens, row.input_tokens);
});

test("log: filters, pages and CSV exports for the operator", async () => {
  const a = await gw.createKey("test", "filter-a");
  const b = await gw.createKey("test", "filter-b");
  await gw.openaiClient(a.key).chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: "hi" }] });
  await gw.openaiClient(a.key).chat.completions.create({ model: MODELS.responses, messages: [{ role: "user", content: "hi" }] });
  await assert.rejects(gw.openaiClient(b.key).chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: "[scenario:error_500]" }] }));
  await logOf(a.id, 2);
  await logOf(b.id, 1);

  const byModel = await gw.admin("GET", `/admin/log?key=${a.id}&model=${MODELS.responses}`);
  assert.deepEqual(byModel.json.data.map((r) => r.model), [MODELS.responses]);
  const errors = await gw.admin("GET", `/admin/log?outcome=error&key=${b.id}`);
  assert.deepEqual(errors.json.data.map((r) => r.outcome), ["upstream_error"]);
  const page1 = await gw.admin("GET", `/admin/log?key=${a.id}&limit=1`);
  assert.equal(page1.json.data.length, 1);
  assert.ok(page1.json.next_before);
  const page2 = await gw.admin("GET", `/admin/log?key=${a.id}&limit=1&before=${page1.json.next_before}`);
  assert.equal(page2.json.data.length, 1);
  assert.notEqual(page2.json.data[0].id, page1.json.data[0].id);
  const future = await gw.admin("GET", `/admin/log?key=${a.id}&from=2999-01-01`);
  assert.deepEqual(future.json.data, []);
  for (const bad of ["limit=0", "from=soon", "outcome=a%27b"]) {
    const res = await gw.admin("GET", `/admin/log?${bad}`);
    assert.equal(res.status, 400, bad);
    assert.equal(res.json.error.type, "invalid_request_error");
  }

  const csv = await gw.fetch(`/admin/log.csv?key=${a.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get("content-type"), /^text\/csv/);
  assert.match(csv.headers.get("content-disposition"), /attachment; filename="request-log.csv"/);
  const lines = (await csv.text()).trim().split("\r\n");
  assert.equal(lines[0].split(",")[0], "time");
  assert.equal(lines.length, 3);
  const usageCsv = await gw.fetch(`/admin/usage.csv?key=${a.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const usageLines = (await usageCsv.text()).trim().split("\r\n");
  assert.match(usageLines[0], /^day,key_id,model,requests,errors,/);
  assert.equal(usageLines.length, 3, "one row per day, key and model");

  // Reports are the operator's: no token, no report.
  for (const path of ["/admin/log", "/admin/log.csv", "/admin/usage", "/admin/usage.csv"]) {
    const res = await gw.admin("GET", path, { token: null });
    assert.equal(res.status, 403, path);
  }
  const search = await gw.admin("GET", "/admin/keys?q=FILTER-A");
  assert.deepEqual(search.json.data.map((k) => k.id), [a.id]);
  const none = await gw.admin("GET", "/admin/keys?q=filter&status=revoked");
  assert.deepEqual(none.json.data, []);
});

test("log: a key holder reads only their own calls and usage, as JSON or CSV", async () => {
  const mine = await gw.createKey("test", "holder");
  const other = await gw.createKey("test", "holder-other");
  await gw.openaiClient(mine.key).chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: "hi" }] });
  await gw.openaiClient(other.key).chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: "hi" }] });
  await logOf(mine.id, 1);
  await logOf(other.id, 1);
  const auth = { authorization: `Bearer ${mine.key}` };
  // `key=` is ignored for a key holder: they only ever see their own.
  const log = await gw.request("GET", `/v1/usage/log?key=${other.id}`, { headers: auth });
  assert.equal(log.status, 200);
  assert.deepEqual(log.json.data.map((r) => r.key_id), [mine.id]);
  const report = await gw.request("GET", "/v1/usage/report", { headers: auth });
  assert.equal(report.json.total.requests, 1);
  assert.equal(report.json.top_keys, undefined);
  assert.equal(report.json.models[0].model, MODELS.chat);
  const csv = await gw.fetch("/v1/usage/log.csv", { headers: auth });
  assert.equal(csv.status, 200);
  assert.equal((await csv.text()).trim().split("\r\n").length, 2);
  const reportCsv = await gw.fetch("/v1/usage/report.csv", { headers: { "x-api-key": mine.key } });
  assert.equal((await reportCsv.text()).trim().split("\r\n").length, 2);
  for (const path of ["/v1/usage/log", "/v1/usage/report.csv"]) {
    assert.equal((await gw.request("GET", path)).status, 401, path);
  }
  assert.equal((await gw.request("GET", "/v1/usage/nothing", { headers: auth })).status, 404);
  assert.equal((await gw.request("POST", "/v1/usage/log", { headers: auth, body: {} })).status, 405);
  // A revoked key reads nothing (the key's object decides, whatever KV's cache says).
  await gw.admin("DELETE", `/admin/keys/${mine.id}`);
  assert.equal((await gw.request("GET", "/v1/usage/log", { headers: auth })).status, 401);
});

test("demo: the demo provider answers every client format, streamed and not, with real usage", async () => {
  const { key } = await gw.createKey("test", "demo");
  const openai = gw.openaiClient(key);
  const anthropic = gw.anthropicClient(key);
  const gemini = gw.geminiClient(key);
  const texts = [];
  const chat = await openai.chat.completions.create({ model: DEMO_MODEL, messages: [{ role: "user", content: "Tell me about Rust" }] });
  texts.push(chat.choices[0].message.content);
  assert.ok(chat.usage.prompt_tokens > 0 && chat.usage.completion_tokens > 0);
  let streamed = "";
  for await (const chunk of await openai.chat.completions.create({ model: DEMO_MODEL, stream: true, messages: [{ role: "user", content: "Tell me about Rust" }] })) {
    streamed += chunk.choices[0]?.delta?.content ?? "";
  }
  texts.push(streamed);
  const message = await anthropic.messages.create({ model: DEMO_MODEL, max_tokens: 512, messages: [{ role: "user", content: "Tell me about Rust" }] });
  texts.push(message.content[0].text);
  assert.ok(message.usage.output_tokens > 0);
  const anthropicStream = anthropic.messages.stream({ model: DEMO_MODEL, max_tokens: 512, messages: [{ role: "user", content: "Tell me about Rust" }] });
  texts.push((await anthropicStream.finalMessage()).content[0].text);
  const response = await openai.responses.create({ model: DEMO_MODEL, input: "Tell me about Rust" });
  texts.push(response.output_text);
  const geminiAnswer = await gemini.models.generateContent({ model: DEMO_MODEL, contents: "Tell me about Rust" });
  texts.push(geminiAnswer.text);
  assert.ok(geminiAnswer.usageMetadata.candidatesTokenCount > 0);
  let geminiStreamed = "";
  for await (const chunk of await gemini.models.generateContentStream({ model: DEMO_MODEL, contents: "Tell me about Rust" })) geminiStreamed += chunk.text ?? "";
  texts.push(geminiStreamed);
  for (const text of texts) {
    assert.match(text, /^\[Demo\] /);
    assert.match(text, /“Tell me about Rust”/);
  }
  assert.equal(new Set(texts).size, 1, "every format carries the same answer");
});

test("demo: it stands in for unkeyed models only when DEMO is on", async () => {
  const { key } = await gw.createKey("test", "unkeyed");
  const off = await gw.request("POST", "/v1/chat/completions", {
    headers: { authorization: `Bearer ${key}` },
    body: { model: "unkeyed-model", messages: [{ role: "user", content: "hi" }] },
  });
  assert.equal(off.status, 503);
  assert.match(off.json.error.message, /not configured with a key/);

  const demoGw = await startGateway({ mock, config: JSON.stringify(gw.config), bindings: { DEMO: "on" } });
  try {
    const created = await demoGw.createKey("test", "demo-on");
    const on = await demoGw.request("POST", "/v1/chat/completions", {
      headers: { authorization: `Bearer ${created.key}` },
      body: { model: "unkeyed-model", messages: [{ role: "user", content: "hi" }] },
    });
    assert.equal(on.status, 200);
    assert.match(on.json.choices[0].message.content, /^\[Demo\]/);
    // Never in place of a keyed upstream, even a failing one.
    const failing = await demoGw.request("POST", "/v1/chat/completions", {
      headers: { authorization: `Bearer ${created.key}` },
      body: { model: MODELS.chat, messages: [{ role: "user", content: "[scenario:error_500]" }] },
    });
    assert.equal(failing.status, 502);
  } finally {
    await demoGw.close();
  }
});
