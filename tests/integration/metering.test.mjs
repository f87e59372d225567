// Metering, end to end: plans, quota windows, rate limits and concurrency enforced by the
// per-key Durable Object, in workerd with its real SQLite storage.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startWorker } from "../support/worker.mjs";
import { LONG_DELTAS, USAGE, startUsageUpstream } from "../support/usage-upstream.mjs";

const roomy = { rpm: 100000, tpm: 1e12, concurrency: 1000, window: "5h", window_tokens: 1e12 };

function configFor(upstreamUrl) {
  return {
    // Short leases so an abandoned call is settled within a test's patience.
    gateway: { request_lease: "1s", abandon_after: "1s" },
    providers: [{ id: "up", format: "anthropic", base_url: `${upstreamUrl}/v1`, keys: ["UP_KEY"] }],
    models: [
      { id: "m-fast", provider: "up", upstream: "fast" },
      { id: "m-slow", provider: "up", upstream: "slow" },
      { id: "m-long", provider: "up", upstream: "long" },
    ],
    plans: [
      { id: "roomy", ...roomy },
      { id: "rpm20", ...roomy, rpm: 20 },
      { id: "conc3", ...roomy, concurrency: 3 },
      { id: "quota", ...roomy, window: "1h", window_tokens: 100 },
      { id: "fast-only", ...roomy, models: ["m-fast"] },
      { id: "slow-only", ...roomy, models: ["m-slow"] },
    ],
  };
}

const messages = [{ role: "user", content: "hi" }];
const anthropicBody = (model, extra = {}) => JSON.stringify({ model, max_tokens: 5, messages, ...extra });

let upstream;
let gateway;

before(async () => {
  upstream = await startUsageUpstream();
  gateway = await startWorker({ config: configFor(upstream.url), bindings: { UP_KEY: "sk-up" } });
});
after(async () => {
  await gateway?.dispose();
  await upstream?.close();
});

function call(key, model = "m-fast", extra = {}) {
  return gateway.fetch("/v1/messages", {
    method: "POST",
    headers: { "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: anthropicBody(model, extra),
  });
}

describe("rate limits", () => {
  test("rpm = 20: of 60 requests fired at once exactly 20 succeed and 40 get 429 with Retry-After", async () => {
    const { key } = await gateway.createKey("rpm20");
    const responses = await Promise.all(Array.from({ length: 60 }, () => call(key)));
    const bodies = await Promise.all(responses.map((r) => r.json()));
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    assert.equal(ok.length, 20);
    assert.equal(limited.length, 40);
    for (const r of limited) {
      const retry = Number(r.headers.get("retry-after"));
      assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `retry-after ${retry}`);
      assert.equal(r.headers.get("x-ratelimit-limit-requests"), "20");
      assert.equal(r.headers.get("x-ratelimit-remaining-requests"), "0");
      assert.equal(r.headers.get("anthropic-ratelimit-requests-remaining"), "0");
    }
    const refusal = bodies[responses.indexOf(limited[0])];
    assert.equal(refusal.type, "error");
    assert.equal(refusal.error.type, "rate_limit_error");
    assert.match(refusal.error.message, /allows 20 requests per minute/);
    const usage = await gateway.settled(key);
    assert.equal(usage.minute.requests, 20);
  });

  test("concurrency = 3 with a slow upstream: exactly 3 run at once", async () => {
    const { key } = await gateway.createKey("conc3");
    const before = upstream.state.maxInFlight;
    upstream.state.maxInFlight = 0;
    const responses = await Promise.all(Array.from({ length: 10 }, () => call(key, "m-slow")));
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
    assert.equal(upstream.state.maxInFlight, 3);
    const refused = responses.find((r) => r.status === 429);
    assert.match((await refused.json()).error.message, /allows 3 requests at once/);
    upstream.state.maxInFlight = Math.max(before, upstream.state.maxInFlight);
    // Once they finish, the slots are free again.
    const usage = await gateway.settled(key);
    assert.equal(usage.in_flight, 0);
    assert.equal((await call(key, "m-slow")).status, 200);
  });
});

describe("quota window", () => {
  test("stops with 402 once settled usage reaches window_tokens; recorded usage is the upstream's", async () => {
    const { key, id } = await gateway.createKey("quota");
    const perRequest = USAGE.input_tokens + USAGE.output_tokens; // 15
    let successes = 0;
    let refusal;
    for (let i = 0; i < 20; i++) {
      const res = await call(key);
      if (res.status === 402) {
        refusal = res;
        break;
      }
      assert.equal(res.status, 200);
      successes++;
      await gateway.settled(key);
    }
    // Admission counts this call's reservation too: after 6 × 15 = 90, the 10 tokens left
    // cannot cover a 7th call's prompt estimate plus its 5 tokens of answer, so the window is
    // never overshot (the old rule admitted a 7th and ended at 105 of 100).
    assert.equal(successes, 6);
    const usage = await gateway.usage(key);
    assert.equal(usage.window.used_tokens, successes * perRequest);
    assert.equal(usage.window.remaining_tokens, 10);
    assert.ok(refusal, "a 402 came");
    const body = await refusal.json();
    assert.equal(body.error.type, "billing_error");
    assert.match(body.error.message, new RegExp(`resets at ${usage.window.resets_at}`));
    assert.match(body.error.message, /has 10 tokens left/);
    assert.match(body.error.message, /upgrade your plan/);
    assert.equal(refusal.headers.get("x-quota-limit-tokens"), "100");
    assert.equal(refusal.headers.get("x-quota-remaining-tokens"), "10");
    assert.equal(refusal.headers.get("x-quota-reset"), usage.window.resets_at);
    // The operator sees the same figures per model.
    const history = await gateway.admin("GET", `/admin/keys/${id}/usage`);
    assert.equal(history.status, 200);
    assert.deepEqual(history.body.windows[0].models["m-fast"], {
      input_tokens: successes * USAGE.input_tokens,
      output_tokens: successes * USAGE.output_tokens,
      total_tokens: successes * perRequest,
      requests: successes,
      cost_usd: "0", // the model has no price
    });
    assert.equal(history.body.days[0].models["m-fast"].requests, successes);
  });

  test("streams are billed with the upstream's final usage", async () => {
    const { key } = await gateway.createKey("roomy");
    const res = await call(key, "m-fast", { stream: true });
    assert.equal(res.status, 200);
    await res.text();
    const usage = await gateway.settled(key);
    assert.equal(usage.window.used_tokens, USAGE.input_tokens + USAGE.output_tokens);
  });
});

describe("disconnects", () => {
  test("a client that aborts a long stream halfway is billed its partial output, and the upstream sees the abort", async () => {
    const { key } = await gateway.createKey("roomy");
    const abortedBefore = upstream.state.aborted;
    const controller = new AbortController();
    const res = await gateway.fetch("/v1/messages", {
      method: "POST",
      signal: controller.signal,
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: anthropicBody("m-long", { stream: true }),
    });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    let received = 0;
    while (received < 4000) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
    }
    controller.abort();
    const usage = await gateway.settled(key);
    for (let i = 0; i < 100 && upstream.state.aborted === abortedBefore; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(upstream.state.aborted, abortedBefore + 1, "upstream saw the abort");
    const fullOutput = LONG_DELTAS * 4;
    const billedOutput = usage.window.used_tokens - USAGE.input_tokens;
    assert.ok(billedOutput > 0, `billed output ${billedOutput}`);
    assert.ok(billedOutput < fullOutput, `billed output ${billedOutput} < ${fullOutput}`);
  });
});

describe("key lifecycle", () => {
  test("disabling, re-enabling, re-planning and revoking apply to the very next request", async () => {
    const { key, id } = await gateway.createKey("roomy");
    assert.equal((await call(key)).status, 200); // the record is now cached in the isolate
    assert.equal((await gateway.admin("PATCH", `/admin/keys/${id}`, { status: "disabled" })).status, 200);
    const disabled = await call(key);
    assert.equal(disabled.status, 401);
    assert.match((await disabled.json()).error.message, /disabled/);
    await gateway.admin("PATCH", `/admin/keys/${id}`, { status: "active" });
    assert.equal((await call(key)).status, 200);
    await gateway.admin("PATCH", `/admin/keys/${id}`, { plan: "slow-only" });
    const notAllowed = await call(key, "m-fast");
    assert.equal(notAllowed.status, 403);
    assert.equal((await notAllowed.json()).error.type, "permission_error");
    assert.equal((await gateway.admin("GET", `/admin/keys/${id}`)).body.plan, "slow-only");
    assert.equal((await gateway.admin("DELETE", `/admin/keys/${id}`)).body.status, "revoked");
    const revoked = await call(key, "m-slow");
    assert.equal(revoked.status, 401);
    assert.match((await revoked.json()).error.message, /revoked/);
    const reactivate = await gateway.admin("PATCH", `/admin/keys/${id}`, { status: "active" });
    assert.equal(reactivate.status, 400);
  });
});

describe("refusals in every client format, through the official SDKs", () => {
  test("429 and 402 surface as the SDKs' own errors with both header dialects", async () => {
    const rpmKey = (await gateway.createKey("rpm20")).key;
    for (let i = 0; i < 20; i++) assert.equal((await call(rpmKey)).status, 200);
    const quotaKey = (await gateway.createKey("quota")).key;
    for (let i = 0; i < 6; i++) {
      assert.equal((await call(quotaKey)).status, 200);
      await gateway.settled(quotaKey);
    }
    const openai = (key) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const anthropic = (key) => new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 });
    const clients = {
      chat: (key) => openai(key).chat.completions.create({ model: "m-fast", messages }),
      responses: (key) => openai(key).responses.create({ model: "m-fast", input: "hi" }),
      messages: (key) => anthropic(key).messages.create({ model: "m-fast", max_tokens: 5, messages }),
    };
    for (const [format, send] of Object.entries(clients)) {
      const limited = await send(rpmKey).then(() => null, (e) => e);
      assert.ok(limited, `${format}: 429 raised`);
      assert.equal(limited.status, 429, format);
      assert.equal(limited.constructor.name, "RateLimitError", format);
      assert.ok(Number(limited.headers.get("retry-after")) >= 1, format);
      assert.equal(limited.headers.get("x-ratelimit-limit-requests"), "20", format);
      assert.equal(limited.headers.get("anthropic-ratelimit-requests-limit"), "20", format);
      assert.ok(limited.headers.get("x-quota-reset"), format);

      const exhausted = await send(quotaKey).then(() => null, (e) => e);
      assert.ok(exhausted, `${format}: 402 raised`);
      assert.equal(exhausted.status, 402, format);
      assert.equal(exhausted.headers.get("x-quota-remaining-tokens"), "10", format);
      if (format === "messages") {
        assert.equal(exhausted.error.error.type, "billing_error");
        assert.equal(limited.error.error.type, "rate_limit_error");
      } else {
        assert.equal(exhausted.type, "insufficient_quota", format);
        assert.equal(exhausted.code, "quota_exhausted", format);
        assert.equal(limited.code, "rate_limit_exceeded", format);
      }
      assert.match(exhausted.message, /upgrade your plan/, format);
    }
  });

  test("every keyed response carries the limit headers", async () => {
    const { key } = await gateway.createKey("roomy");
    const auth = { authorization: `Bearer ${key}` };
    const keyed = [
      await call(key),
      await gateway.fetch("/v1/usage", { headers: auth }),
      await gateway.fetch("/v1/models", { headers: auth }),
      await gateway.fetch("/v1/models/m-fast", { headers: auth }),
      await gateway.fetch("/v1/messages/count_tokens", { method: "POST", headers: auth, body: JSON.stringify({ model: "m-fast", messages }) }),
      await gateway.fetch("/v1/responses/resp_unknown", { headers: auth }),
    ];
    for (const res of keyed) {
      for (const name of [
        "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
        "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset",
        "x-quota-limit-tokens", "x-quota-remaining-tokens", "x-quota-reset", "x-request-id",
      ]) {
        assert.ok(res.headers.get(name), `${name} on ${res.url}`);
      }
    }
  });
});

describe("persistence", () => {
  test("counters survive a restart of the runtime with the same state directory", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "toc-persist-"));
    const config = configFor(upstream.url);
    let first = await startWorker({ config, bindings: { UP_KEY: "sk-up" }, persistDir: dir });
    const { key } = await first.createKey("roomy");
    const send = (g) =>
      g.fetch("/v1/messages", { method: "POST", headers: { "x-api-key": key }, body: anthropicBody("m-fast") });
    for (let i = 0; i < 3; i++) assert.equal((await send(first)).status, 200);
    const before = await first.settled(key);
    await first.dispose();
    const second = await startWorker({ config, bindings: { UP_KEY: "sk-up" }, persistDir: dir });
    try {
      const after = await second.usage(key);
      assert.equal(after.window.used_tokens, 3 * (USAGE.input_tokens + USAGE.output_tokens));
      assert.equal(after.window.started_at, before.window.started_at);
      assert.equal(after.minute.requests, 3);
      assert.equal((await send(second)).status, 200);
    } finally {
      await second.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
