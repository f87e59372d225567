// The reseller's promise, tried the way an adversarial key holder (and a bad network) would:
// every admitted call is charged at least what the upstream billed for it, no key goes beyond
// its plan or reaches another key's data, and no request can take the Worker down.
//
// Each test asserts the invariant against the ledger upstream (what a real provider would
// bill), not the mechanism: charged ≥ billed; committed ≤ the window; nothing forwarded that is
// not metered; another key's ids refused and never sent upstream.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Miniflare } from "miniflare";

import { startWorker, ADMIN_TOKEN } from "../support/worker.mjs";
import { wranglerBindings } from "../support/gateway.mjs";
import { ACCOUNT_SECRETS, HUGE_ID, LONG_DELTAS, SILENCE_MS, baseUrl, startLedgerUpstream } from "../support/ledger-upstream.mjs";

const FORMATS = { chat: "openai-chat", anthropic: "anthropic", responses: "openai-responses" };
const BEHAVIOURS = ["answer", "long", "silent", "pause", "hold", "unreadable", "after_end", "huge_id", "uncapped", "account_error"];
const ENDPOINT = { chat: "/v1/chat/completions", anthropic: "/v1/messages", responses: "/v1/responses" };
const UPSTREAM_KEY = "sk-ledger";
const roomy = { rpm: 100000, tpm: 1e12, concurrency: 1000, window: "5h", window_tokens: 1e12 };

function config(ledgerUrl) {
  const mock = { url: ledgerUrl };
  return {
    // Short leases and keep-alives, so lapses and disconnects settle within a test's patience.
    gateway: { request_lease: "1s", keep_alive: "200ms", abandon_after: "30s" },
    // This suite makes the same upstreams misbehave on purpose, again and again: breakers
    // would (rightly) skip them, so they are off here (the resilience suite tests them).
    providers: [
      ...Object.entries(FORMATS).map(([f, format]) => ({ id: `l-${f}`, format, base_url: baseUrl(mock, f), keys: ["UP_KEY"], breaker: { enabled: false } })),
      // Streams' headers must come within 300 ms; whole answers have the default (minutes).
      { id: "l-chat-fast-headers", format: "openai-chat", base_url: baseUrl(mock, "chat"), keys: ["UP_KEY"], timeout_ms: 300, breaker: { enabled: false } },
      // A whole answer must come within 300 ms; two keys, so a retry would show.
      { id: "l-chat-short-answer", format: "openai-chat", base_url: baseUrl(mock, "chat"), keys: ["UP_KEY", "UP_KEY_2"], answer_timeout_ms: 300, breaker: { enabled: false } },
      // The first key of the pool is refused by the upstream.
      { id: "l-anthropic-pool", format: "anthropic", base_url: baseUrl(mock, "anthropic"), keys: ["BAD_KEY", "UP_KEY"] },
      // Same-format streams are forwarded by the runtime once started; the gateway meters a copy.
      { id: "l-anthropic-native", format: "anthropic", base_url: baseUrl(mock, "anthropic"), keys: ["UP_KEY"], native_forwarding: true, breaker: { enabled: false } },
      // The same, with a provider silence of 400 ms taken as a stall.
      { id: "l-anthropic-native-idle", format: "anthropic", base_url: baseUrl(mock, "anthropic"), keys: ["UP_KEY"], native_forwarding: true, idle_timeout_ms: 400, breaker: { enabled: false } },
      { id: "l-responses-native", format: "openai-responses", base_url: baseUrl(mock, "responses"), keys: ["UP_KEY"], native_forwarding: true, breaker: { enabled: false } },
    ],
    models: [
      ...Object.keys(FORMATS).flatMap((f) => BEHAVIOURS.map((b) => ({ id: `${f}-${b}`, provider: `l-${f}`, upstream: b }))),
      { id: "chat-hold-fast-headers", provider: "l-chat-fast-headers", upstream: "hold" },
      { id: "chat-hold-short-answer", provider: "l-chat-short-answer", upstream: "hold" },
      { id: "anthropic-pool", provider: "l-anthropic-pool", upstream: "answer" },
      ...BEHAVIOURS.map((b) => ({ id: `anthropic-native-${b}`, provider: "l-anthropic-native", upstream: b })),
      { id: "anthropic-native-idle-pause", provider: "l-anthropic-native-idle", upstream: "pause" },
      // Served under its upstream id: Responses events name the model to the end.
      { id: "answer", provider: "l-responses-native", upstream: "answer" },
    ],
    plans: [
      { id: "roomy", ...roomy },
      // A window ten uncapped calls would blow through many times over.
      { id: "tight", ...roomy, window_tokens: 20000 },
      { id: "short-window", ...roomy, window: "2s" },
      { id: "rpm2", ...roomy, rpm: 2 },
    ],
  };
}

let ledger;
let gateway;
const bindings = { UP_KEY: UPSTREAM_KEY, UP_KEY_2: UPSTREAM_KEY, BAD_KEY: "sk-wrong" };

before(async () => {
  ledger = await startLedgerUpstream({ keys: [UPSTREAM_KEY] });
  gateway = await startWorker({ config: config(ledger.url), bindings });
});
after(async () => {
  await gateway?.dispose();
  await ledger?.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A request body in `client` format for `model`. */
function body(client, model, { stream = false, text = "Please answer in a few words.", extra = {} } = {}) {
  if (client === "anthropic") return { model, max_tokens: 4096, stream, messages: [{ role: "user", content: text }], ...extra };
  if (client === "responses") return { model, stream, input: text, ...extra };
  return { model, stream, messages: [{ role: "user", content: text }], ...extra };
}

function send(key, client, json, init = {}) {
  return gateway.fetch(ENDPOINT[client], {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "anthropic-version": "2023-06-01", "content-type": "application/json", ...(init.headers ?? {}) },
    body: typeof json === "string" ? json : JSON.stringify(json),
    signal: init.signal,
  });
}

/** Reads a stream until `enough(text)` says so; returns what was read. */
async function readUntil(res, enough) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!enough(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return { reader, text };
}

/** Waits until the key has nothing in flight; returns its usage document. */
async function settled(gw, key, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const usage = await gw.usage(key);
    if (usage.in_flight === 0) return usage;
    if (Date.now() > deadline) throw new Error(`still in flight after ${timeoutMs} ms: ${JSON.stringify(usage)}`);
    await sleep(25);
  }
}

function charged(usage) {
  return usage.window.used_tokens;
}

// ------------------------------------------------------------------------------------------ 1, 2: disconnects

/**
 * Client format → upstream format (→ the model prefix, if not the upstream's): both same-format
 * pairs forward bytes, the third translates, the fourth is forwarded natively by the runtime.
 */
const DISCONNECT_PAIRS = [
  ["chat", "chat"],
  ["anthropic", "anthropic"],
  ["responses", "chat"],
  ["anthropic", "anthropic", "anthropic-native"],
];

describe("a client that disconnects is charged at least what the upstream billed, soon", () => {
  const points = [
    { name: "mid-stream", behaviour: "long", enough: (t) => (t.match(/ tok/g) ?? []).length >= 20 },
    { name: "before the first delta, during a silence", behaviour: "silent", enough: (t) => t.length > 0 },
    { name: "during a silence after some deltas", behaviour: "pause", enough: (t) => (t.match(/ tok/g) ?? []).length >= 3 },
  ];
  for (const [client, upstream, prefix = upstream] of DISCONNECT_PAIRS) {
    // Forwarded natively, a client that leaves during a silence is noticed when the upstream
    // next sends (or by the request's signal, which local workerd never fires): not soon.
    const native = prefix !== upstream;
    for (const point of native ? points.slice(0, 1) : points) {
      test(`${client} client ← ${prefix} upstream, ${point.name}`, async (t) => {
        const { key } = await gateway.createKey("roomy");
        const model = `${prefix}-${point.behaviour}`;
        const before = ledger.ledger.length;
        const controller = new AbortController();
        const res = await send(key, client, body(client, model, { stream: true }), { signal: controller.signal });
        assert.equal(res.status, 200);
        await readUntil(res, point.enough);
        const abortedAt = Date.now();
        controller.abort();
        const entry = await ledger.ended((e) => ledger.ledger.indexOf(e) >= before && e.model === point.behaviour && e.format === upstream && e.aborted, 5000);
        const usage = await settled(gateway, key);
        const settledMs = Date.now() - abortedAt;
        t.diagnostic(`upstream billed ${ledger.billed(entry)} (input ${entry.input}, output ${entry.output}); charged ${charged(usage)}; settled ${settledMs} ms after the disconnect`);
        assert.ok(entry.output < LONG_DELTAS, "the upstream was stopped early");
        assert.ok(charged(usage) >= ledger.billed(entry), `charged ${charged(usage)} ≥ billed ${ledger.billed(entry)}`);
        assert.ok(settledMs < 5000, `settled ${settledMs} ms after the disconnect`);
      });
    }
  }
});

describe("a runtime killed mid-stream", () => {
  test("is charged at least what the upstream billed once its lease runs out, after a restart on the same state", async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "toc-kill-"));
    let first = await startWorker({ config: config(ledger.url), bindings, persistDir: dir });
    let second;
    try {
      const { key, id } = await first.createKey("roomy");
      const res = await first.fetch(ENDPOINT.chat, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body("chat", "chat-long", { stream: true })),
      });
      assert.equal(res.status, 200);
      await readUntil(res, (text) => (text.match(/ tok/g) ?? []).length >= 20);
      await first.dispose(); // workerd dies with the call in flight
      first = null;
      const entry = await ledger.ended((e) => e.model === "long" && e.format === "chat" && e.aborted && e.input > 0, 5000);
      second = await startWorker({ config: config(ledger.url), bindings, persistDir: dir });
      // Nothing asks the key's object anything: its alarm charges the call when the 1 s lease
      // runs out. The operator's usage history (which never settles anything itself) shows it.
      let history;
      for (let i = 0; i < 60; i++) {
        await sleep(100);
        history = (await second.admin("GET", `/admin/keys/${id}/usage`)).body;
        if (history.days?.[0]?.models?.["chat-long"]) break;
      }
      const day = history.days?.[0]?.models?.["chat-long"];
      assert.ok(day, `charged by the alarm: ${JSON.stringify(history)}`);
      t.diagnostic(`upstream billed ${ledger.billed(entry)}; the lease charged ${day.total_tokens}`);
      assert.ok(day.total_tokens >= ledger.billed(entry), `charged ${day.total_tokens} ≥ billed ${ledger.billed(entry)}`);
      const usage = await settled(second, key);
      assert.equal(charged(usage), day.total_tokens);
    } finally {
      await first?.dispose();
      await second?.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------------------------------------ 3, 4, 5: usage always asked for, unreadable answers, timeouts

describe("the charge is the upstream's own figure, or a conservative one", () => {
  test('"stream_options": null on a Chat stream: usage is asked for anyway and charged exactly', async () => {
    const { key } = await gateway.createKey("roomy");
    for (const options of [null, { include_usage: false }]) {
      const before = ledger.ledger.length;
      const res = await send(key, "chat", body("chat", "chat-answer", { stream: true, extra: { stream_options: options } }));
      const text = await res.text();
      assert.equal(res.status, 200);
      const entry = ledger.ledger[before];
      assert.equal(entry.includeUsage, true, "the upstream was asked for usage");
      if (options?.include_usage === false) assert.ok(!text.includes('"usage"'), "a client that did not ask gets no usage chunk");
    }
    const usage = await settled(gateway, key);
    const entries = ledger.ledger.slice(-2);
    assert.equal(charged(usage), entries.reduce((sum, e) => sum + ledger.billed(e), 0), "charged exactly the upstream's usage");
  });

  for (const [client, stream, prefix = client] of [["chat", false], ["responses", true], ["anthropic", true], ["anthropic", true, "anthropic-native"]]) {
    test(`an answer the gateway cannot read (${prefix}, ${stream ? "streamed" : "not streamed"}) is charged at least what the upstream billed`, async () => {
      const { key } = await gateway.createKey("roomy");
      const before = ledger.ledger.length;
      const res = await send(key, client, body(client, `${prefix}-unreadable`, { stream }));
      await res.text();
      const entry = await ledger.ended((e) => ledger.ledger.indexOf(e) >= before && e.model === "unreadable" && e.format === client && e.stream === stream);
      const usage = await settled(gateway, key);
      assert.ok(charged(usage) >= ledger.billed(entry), `charged ${charged(usage)} ≥ billed ${ledger.billed(entry)}`);
    });
  }

  for (const client of ["chat", "anthropic", "responses"]) {
    test(`${client}: content after the terminal event never reaches the client`, async () => {
      const { key } = await gateway.createKey("roomy");
      const res = await send(key, client, body(client, `${client}-after_end`, { stream: true }));
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.ok(!text.includes("extra"), "nothing the meter did not see");
      const entry = await ledger.ended((e) => e.model === "after_end" && e.format === client);
      const usage = await settled(gateway, key);
      assert.equal(charged(usage), ledger.billed(entry));
    });
  }

  test("responses, forwarded natively: charged exactly, and the turn is stored as the client got it", async () => {
    const { key } = await gateway.createKey("roomy");
    const before = ledger.ledger.length;
    const res = await send(key, "responses", body("responses", "answer", { stream: true }));
    const text = await res.text();
    assert.equal(res.status, 200);
    const events = text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)));
    const streamed = events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("");
    const completed = events.find((e) => e.type === "response.completed");
    assert.ok(completed && streamed.length > 0, text.slice(-300));
    const entry = await ledger.ended((e) => ledger.ledger.indexOf(e) >= before && e.model === "answer" && e.format === "responses");
    const usage = await settled(gateway, key);
    assert.equal(charged(usage), ledger.billed(entry));
    const stored = await gateway.fetch(`/v1/responses/${completed.response.id}`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(stored.status, 200);
    const turn = await stored.json();
    const storedText = turn.output.flatMap((item) => item.content ?? []).map((part) => part.text ?? "").join("");
    assert.equal(storedText, streamed);
  });

  test("anthropic, forwarded natively: a provider that stalls mid-answer is stopped, the answer never reads as complete, charged at least what it billed", async () => {
    const { key } = await gateway.createKey("roomy");
    const before = ledger.ledger.length;
    const res = await send(key, "anthropic", body("anthropic", "anthropic-native-idle-pause", { stream: true }));
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.match(text, /"text_delta"/);
    // The runtime ends the client's connection (the pipe cannot be stopped without it): no
    // error event of the gateway's, and no message_stop either.
    assert.ok(!text.includes("message_stop"), text.slice(-300));
    const entry = await ledger.ended((e) => ledger.ledger.indexOf(e) >= before && e.model === "pause" && e.format === "anthropic");
    assert.ok(entry.aborted, "the provider was stopped");
    const usage = await settled(gateway, key);
    assert.ok(charged(usage) >= ledger.billed(entry), `charged ${charged(usage)} ≥ billed ${ledger.billed(entry)}`);
  });

  test("anthropic, forwarded natively: the client gets the upstream's bytes, charged exactly", async () => {
    const { key } = await gateway.createKey("roomy");
    const before = ledger.ledger.length;
    const res = await send(key, "anthropic", body("anthropic", "anthropic-native-long", { stream: true }));
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.ok(text.trimEnd().endsWith('data: {"type":"message_stop"}'), text.slice(-200));
    assert.equal((text.match(/"text_delta"/g) ?? []).length, LONG_DELTAS);
    assert.match(text, /"model":"anthropic-native-long"/, "message_start names the client's model");
    const entry = await ledger.ended((e) => ledger.ledger.indexOf(e) >= before && e.model === "long" && e.format === "anthropic");
    const usage = await settled(gateway, key);
    assert.equal(charged(usage), ledger.billed(entry));
  });

  test("a whole answer slower than the stream header timeout is waited for, once", async () => {
    const { key } = await gateway.createKey("roomy");
    const before = ledger.ledger.length;
    const res = await send(key, "chat", body("chat", "chat-hold-fast-headers"));
    assert.equal(res.status, 200);
    await res.json();
    assert.equal(ledger.ledger.length - before, 1, "one upstream request");
    const usage = await settled(gateway, key);
    assert.equal(charged(usage), ledger.billed(ledger.ledger[before]));
  });

  test("a whole answer that times out is a 504, never sent again, and charged its input", async () => {
    const { key } = await gateway.createKey("roomy");
    const before = ledger.ledger.length;
    const res = await send(key, "chat", body("chat", "chat-hold-short-answer"));
    assert.equal(res.status, 504);
    assert.equal((await res.json()).error.code, "timeout");
    await sleep(1500);
    assert.equal(ledger.ledger.length - before, 1, "not retried on the pool's other key");
    const entry = ledger.ledger[before];
    const usage = await settled(gateway, key);
    assert.ok(charged(usage) >= entry.input, `charged ${charged(usage)} ≥ the input ${entry.input}`);
  });
});

// ------------------------------------------------------------------------------------------ 6, 14: limits

describe("no key goes beyond its plan", () => {
  test("10 concurrent uncapped calls: each upstream gets an explicit cap, and the window is never overshot", async () => {
    const { key } = await gateway.createKey("tight");
    const before = ledger.ledger.length;
    const responses = await Promise.all(Array.from({ length: 10 }, () => send(key, "chat", body("chat", "chat-uncapped"))));
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.text()));
    const usage = await settled(gateway, key);
    const entries = ledger.ledger.slice(before);
    assert.ok(statuses.includes(402), `some are refused: ${statuses}`);
    assert.equal(entries.length, statuses.filter((s) => s === 200).length, "only admitted calls reach the upstream");
    for (const entry of entries) assert.ok(Number.isInteger(entry.maxTokens) && entry.maxTokens > 0, `an explicit cap: ${entry.maxTokens}`);
    const billed = entries.reduce((sum, e) => sum + ledger.billed(e), 0);
    assert.equal(charged(usage), billed, "charged what the upstream billed");
    assert.ok(charged(usage) <= 20000, `charged ${charged(usage)} ≤ the window of 20000`);
  });

  test("near the end of the window the cap is lowered to fit, and said so", async () => {
    const { key } = await gateway.createKey("tight");
    // An 8192-token call leaves 20000 - its charge; then calls whose default cap no longer fits.
    let clamped;
    for (let i = 0; i < 4 && !clamped; i++) {
      const res = await send(key, "chat", body("chat", "chat-uncapped"));
      await res.text();
      const warning = res.headers.get("x-toc-warnings") ?? "";
      if (res.status === 200 && warning.includes("quota")) clamped = { res, warning, entry: ledger.ledger.at(-1) };
      await settled(gateway, key);
    }
    assert.ok(clamped, "a call ran with a lowered cap");
    assert.match(clamped.warning, /clamped=max_completion_tokens\(8192->\d+,quota\)/);
    assert.ok(clamped.entry.maxTokens < 8192 && clamped.entry.maxTokens >= 1024, `cap ${clamped.entry.maxTokens}`);
    const usage = await settled(gateway, key);
    assert.ok(charged(usage) <= 20000);
  });

  test("a call in flight when its window ends is charged to the next window", async () => {
    const { key } = await gateway.createKey("short-window");
    const res = await send(key, "chat", body("chat", "chat-long", { stream: true }));
    await res.text(); // 200 deltas, 20 ms apart: the 2 s window ends meanwhile
    const entry = await ledger.ended((e) => e.model === "long" && e.done && !e.aborted);
    const usage = await settled(gateway, key);
    assert.equal(charged(usage), ledger.billed(entry), "the charge is in the window in force now");
  });

  test("a client-chosen output limit near 2^64 cannot wrap the counters", async () => {
    const { key } = await gateway.createKey("tight");
    const raw = (max) => `{"model":"anthropic-uncapped","max_tokens":${max},"messages":[{"role":"user","content":"hi"}]}`;
    // The limit is lowered to what the window holds; nothing wraps to a small number.
    const res = await send(key, "anthropic", raw("18446744073709551615"));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("x-toc-warnings") ?? "", /clamped=max_tokens\(18446744073709551615->\d+,quota\)/);
    await res.json();
    const entry = ledger.ledger.at(-1);
    assert.ok(entry.maxTokens <= 20000, `the upstream was sent ${entry.maxTokens}`);
    const usage = await settled(gateway, key);
    assert.equal(charged(usage), ledger.billed(entry));
    assert.ok(charged(usage) <= 20000);
    // The window is now (nearly) full: the next such call is refused, not admitted by a wrap.
    const next = await send(key, "anthropic", raw("18446744073709551615"));
    assert.equal(next.status, 402);
    assert.ok((await gateway.usage(key)).window.used_tokens <= 20000);
  });
});

// ------------------------------------------------------------------------------------------ 7: forwarding only what is metered

describe("same-format forwarding carries only what the gateway meters", () => {
  test("Chat: priority tiers, stored completions, web search and extra choices stay out", async () => {
    const { key } = await gateway.createKey("roomy");
    const res = await send(key, "chat", body("chat", "chat-answer", {
      extra: { service_tier: "priority", store: true, metadata: { a: "b" }, web_search_options: {}, n: 1, tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }] },
    }));
    assert.equal(res.status, 200);
    const sent = ledger.ledger.at(-1).body;
    for (const field of ["service_tier", "store", "metadata", "web_search_options", "n"]) assert.equal(sent[field], undefined, field);
    assert.equal(sent.tools.length, 1);
    const warnings = res.headers.get("x-toc-warnings") ?? "";
    for (const field of ["service_tier", "store", "metadata", "web_search_options"]) assert.match(warnings, new RegExp(`dropped=.*\\b${field}\\b`), field);
  });

  test("Anthropic: server tools, MCP, containers, fast mode and unlisted betas stay out", async () => {
    const { key } = await gateway.createKey("roomy");
    const res = await send(key, "anthropic", body("anthropic", "anthropic-answer", {
      extra: { speed: "fast", container: "cntr_1", mcp_servers: [{ type: "url", url: "https://x", name: "x" }], tools: [{ name: "Bash", input_schema: { type: "object" } }, { type: "web_search_20250305", name: "web_search" }] },
    }), { headers: { "anthropic-beta": "claude-code-20250219, files-api-2025-04-14,mcp-client-2025-04-04,fast-mode-2026-02-01" } });
    assert.equal(res.status, 200);
    const entry = ledger.ledger.at(-1);
    for (const field of ["speed", "container", "mcp_servers"]) assert.equal(entry.body[field], undefined, field);
    assert.deepEqual(entry.body.tools.map((t) => t.name), ["Bash"]);
    assert.equal(entry.headers["anthropic-beta"], "claude-code-20250219");
    const warnings = res.headers.get("x-toc-warnings") ?? "";
    assert.match(warnings, /tools\(web_search_20250305\)/);
    assert.match(warnings, /anthropic-beta\(files-api-2025-04-14\)/);
  });

  test("Responses: turns are never stored upstream, and built-in tools stay out", async () => {
    const { key } = await gateway.createKey("roomy");
    const res = await send(key, "responses", body("responses", "responses-answer", {
      extra: { tools: [{ type: "function", name: "f", parameters: { type: "object" } }, { type: "web_search" }, { type: "file_search", vector_store_ids: ["vs_1"] }], service_tier: "priority" },
    }));
    assert.equal(res.status, 200);
    const entry = ledger.ledger.at(-1);
    assert.equal(entry.store, false, "store: false is forced");
    assert.deepEqual(entry.body.tools.map((t) => t.type), ["function"]);
    assert.equal(entry.body.service_tier, undefined);
  });
});

// ------------------------------------------------------------------------------------------ 8, 10: every keyed endpoint

describe("every keyed endpoint answers to the key's object", () => {
  test("count_tokens counts as a request (rpm), and uses the provider's key pool", async () => {
    const { key } = await gateway.createKey("rpm2");
    const count = () =>
      gateway.fetch("/v1/messages/count_tokens", {
        method: "POST",
        headers: { "x-api-key": key, "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: "anthropic-pool", messages: [{ role: "user", content: "hi" }] }),
      });
    const before = ledger.counts.length;
    const first = await count();
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-toc-token-count"), "exact", "the pool's good key answered");
    assert.deepEqual(await first.json(), { input_tokens: 7 });
    assert.ok(ledger.counts.slice(before).some((c) => c.key === UPSTREAM_KEY));
    assert.equal((await count()).status, 200);
    const third = await count();
    assert.equal(third.status, 429);
    assert.match(third.headers.get("retry-after") ?? "", /^\d+$/);
  });

  test("after a revoke, every keyed endpoint answers 401 on the very next request", async () => {
    const { key, id } = await gateway.createKey("roomy");
    const stored = await (await send(key, "responses", body("responses", "responses-answer"))).json();
    const auth = { authorization: `Bearer ${key}` };
    const calls = [
      () => send(key, "chat", body("chat", "chat-answer")),
      () => send(key, "anthropic", body("anthropic", "anthropic-answer")),
      () => send(key, "responses", body("responses", "responses-answer")),
      () => gateway.fetch("/v1/messages/count_tokens", { method: "POST", headers: { ...auth, "anthropic-version": "2023-06-01" }, body: JSON.stringify({ model: "anthropic-answer", messages: [{ role: "user", content: "hi" }] }) }),
      () => gateway.fetch("/v1/models", { headers: auth }),
      () => gateway.fetch("/v1/models/chat-answer", { headers: auth }),
      () => gateway.fetch("/v1/usage", { headers: auth }),
      () => gateway.fetch(`/v1/responses/${stored.id}`, { headers: auth }),
      () => gateway.fetch(`/v1/responses/${stored.id}`, { method: "DELETE", headers: auth }),
    ];
    // Each endpoint has read the key (the isolate caches the KV record for 30 s).
    for (const call of calls.slice(0, -1)) assert.equal((await call()).status, 200);
    assert.equal((await gateway.admin("DELETE", `/admin/keys/${id}`)).status, 200);
    for (const [i, call] of calls.entries()) {
      const res = await call();
      assert.equal(res.status, 401, `endpoint ${i}`);
      await res.text();
    }
  });
});

// ------------------------------------------------------------------------------------------ 9, 11: isolation and the operator's secrets

describe("no key reaches another key's data or the operator's account", () => {
  test("another key's response id is refused, and never sent upstream", async () => {
    const owner = (await gateway.createKey("roomy")).key;
    const other = (await gateway.createKey("roomy")).key;
    for (const model of ["responses-answer", "chat-answer"]) {
      const stored = await (await send(owner, "responses", body("responses", model))).json();
      assert.match(stored.id, /^resp_/);
      const before = ledger.ledger.length;
      const res = await send(other, "responses", body("responses", model, { extra: { previous_response_id: stored.id } }));
      assert.equal(res.status, 400, model);
      const error = (await res.json()).error;
      assert.equal(error.code, "previous_response_not_found");
      assert.equal(ledger.ledger.length, before, "nothing reached the upstream");
      assert.equal((await gateway.fetch(`/v1/responses/${stored.id}`, { headers: { authorization: `Bearer ${other}` } })).status, 404);
      // The owner continues its own conversation.
      assert.equal((await send(owner, "responses", body("responses", model, { extra: { previous_response_id: stored.id } }))).status, 200);
    }
  });

  for (const client of ["chat", "anthropic", "responses"]) {
    test(`${client}: an upstream refusing the operator's account is a 502 that names none of it`, async () => {
      const { key } = await gateway.createKey("roomy");
      const res = await send(key, client, body(client, `${client}-account_error`));
      assert.equal(res.status, 502);
      const text = await res.text();
      for (const secret of ACCOUNT_SECRETS) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    });
  }
});

// ------------------------------------------------------------------------------------------ 12, 13, 16: taking the Worker down

describe("no request takes the Worker down", () => {
  test("a 12 MB chunked body is a 413 as soon as it passes the limit, while another key's stream completes", async () => {
    const streamer = (await gateway.createKey("roomy")).key;
    const attacker = (await gateway.createKey("roomy")).key;
    const streaming = send(streamer, "anthropic", body("anthropic", "anthropic-long", { stream: true })).then(async (res) => ({ status: res.status, text: await res.text() }));
    const chunk = new TextEncoder().encode(`{"model":"chat-answer","messages":[{"role":"user","content":"${"a".repeat(1 << 20)}`);
    let sent = 0;
    const upload = new ReadableStream({
      pull(controller) {
        if (sent >= 12) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const big = await gateway.fetch(ENDPOINT.chat, { method: "POST", headers: { authorization: `Bearer ${attacker}` }, body: upload, duplex: "half" });
    assert.equal(big.status, 413);
    assert.equal((await big.json()).error.code, "request_too_large");
    assert.ok(sent <= 12);
    const other = await streaming;
    assert.equal(other.status, 200);
    assert.match(other.text, /message_stop/, "the concurrent stream completed");
  });

  test("count_tokens has the same size limit", async () => {
    const { key } = await gateway.createKey("roomy");
    const body = JSON.stringify({ model: "anthropic-answer", messages: [{ role: "user", content: "a".repeat(11 << 20) }] });
    // The gateway answers 413 from the declared length without reading the body; a client
    // still uploading may then see the connection close under it ("fetch failed") before it
    // reads the answer. That is the client's race, not an answer: try again.
    let res;
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await gateway.fetch("/v1/messages/count_tokens", {
          method: "POST",
          headers: { "x-api-key": key, "anthropic-version": "2023-06-01" },
          body,
        });
      } catch (error) {
        if (attempt >= 5 || !/fetch failed/.test(String(error))) throw error;
      }
    }
    assert.equal(res.status, 413);
  });

  test("a body of many small values, or nested deep, is refused before it is parsed", async () => {
    const { key } = await gateway.createKey("roomy");
    const junk = `[${"1,".repeat(300000)}1]`;
    const many = await send(key, "chat", `{"model":"chat-answer","messages":[{"role":"user","content":"hi"}],"junk":${junk}}`);
    assert.equal(many.status, 413);
    assert.match((await many.json()).error.message, /JSON values/);
    const deep = await send(key, "chat", `{"model":"chat-answer","messages":[{"role":"user","content":"hi"}],"junk":${"[".repeat(125)}${"]".repeat(125)}}`);
    assert.equal(deep.status, 400);
    assert.match((await deep.json()).error.message, /levels deep/);
    // And the Worker still answers.
    assert.equal((await send(key, "chat", body("chat", "chat-answer"))).status, 200);
  });

  test("an 8 KiB upstream response id is not repeated in every translated event", async () => {
    const { key } = await gateway.createKey("roomy");
    const res = await send(key, "anthropic", body("anthropic", "responses-huge_id", { stream: true }));
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.ok(!text.includes(HUGE_ID.slice(0, 200)), "the huge id is not echoed");
    assert.ok(text.length < 20000, `the client's stream is ${text.length} bytes`);
  });

  test("a key meter that cannot be reached is a 503 with Retry-After, never an unmetered call", async () => {
    const { kvNamespaces, durableObjects } = wranglerBindings();
    delete durableObjects.KEY_METER;
    const mf = new Miniflare({
      modules: true,
      scriptPath: "build/index.js",
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
      compatibilityDate: "2026-04-20",
      compatibilityFlags: ["enable_request_signal"],
      kvNamespaces,
      durableObjects,
      kvPersist: false,
      durableObjectsPersist: false,
      bindings: { ADMIN_TOKEN, GATEWAY_CONFIG: JSON.stringify(config(ledger.url)), ...bindings },
    });
    try {
      const url = (await mf.ready).href.replace(/\/$/, "");
      // The key exists in KV (the admin API needs the meter, so the record is written directly).
      const kv = await mf.getKVNamespace("KEYS");
      const key = `toc-${"A".repeat(48)}`;
      const { createHash } = await import("node:crypto");
      const hash = createHash("sha256").update(key).digest("hex");
      await kv.put(`hash:${hash}`, JSON.stringify({ id: "key_meterless", name: "x", plan: "roomy", status: "active", created_at: "2026-01-01T00:00:00Z", hash }));
      const before = ledger.ledger.length;
      const res = await fetch(url + ENDPOINT.chat, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify(body("chat", "chat-answer")) });
      assert.equal(res.status, 503);
      assert.match(res.headers.get("retry-after") ?? "", /^\d+$/);
      assert.equal(ledger.ledger.length, before, "no call went out unmetered");
      const usage = await fetch(url + "/v1/usage", { headers: { authorization: `Bearer ${key}` } });
      assert.equal(usage.status, 503);
    } finally {
      await mf.dispose();
    }
  });
});
