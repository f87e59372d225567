// Credits, end to end: plans in dollars (window, multiplier, calendar windows in a time zone),
// prepaid balances and per-key spend limits, enforced by the per-key Durable Object in workerd.
// The mock upstream reports every usage kind (uncached input, cache reads, 5-minute and 1-hour
// cache writes, output, web searches); the expected charge of each call is computed here, in
// exact integer picodollars, from that usage and the configured prices.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startWorker } from "../support/worker.mjs";

const PICO = 10n ** 12n;
// $ per million tokens → picodollars per token is × 10⁶.
const PRICE = { input: 3, cached_input: 0.3, cache_write_5m: 3.75, cache_write_1h: 6, output: 15, web_search: 10 };
// What each call reports: 10 uncached, 10 read, 5 + 5 written, 5 out (the client asks for 5).
const USAGE = {
  input_tokens: 10,
  cache_read_input_tokens: 10,
  cache_creation_input_tokens: 10,
  cache_creation: { ephemeral_5m_input_tokens: 5, ephemeral_1h_input_tokens: 5 },
  output_tokens: 5,
};
// 10×3 + 10×0.3 + 5×3.75 + 5×6 + 5×15 = 156.75 µ$ per call.
const CALL_PICO = 10n * 3_000_000n + 10n * 300_000n + 5n * 3_750_000n + 5n * 6_000_000n + 5n * 15_000_000n;
const SEARCH_PICO = 10_000_000_000n; // $10 per thousand searches

/** Exact picodollars of a decimal dollar string ("0.00015675"). */
function pico(dollars) {
  const [whole, fraction = ""] = String(dollars).split(".");
  return BigInt(whole) * PICO + BigInt(fraction.padEnd(12, "0"));
}

/** An Anthropic upstream reporting USAGE (plus web searches for the model "search"). */
async function startUpstream() {
  const state = { requests: 0 };
  const server = http.createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw);
    state.requests++;
    const usage = body.model === "search" ? { ...USAGE, server_tool_use: { web_search_requests: 2 } } : USAGE;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({
      id: `msg_${state.requests}`, type: "message", role: "assistant", model: body.model,
      content: [{ type: "text", text: "ok" }], stop_reason: "end_turn", stop_sequence: null, usage,
    }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, state, close: () => new Promise((r) => server.close(r)) };
}

const tokens = { rpm: 100000, tpm: 1e12, concurrency: 1000, window: "5h", window_tokens: 1e12 };
const dollars = { rpm: 100000, concurrency: 1000, unit: "usd" };

let upstream;
let gateway;

before(async () => {
  upstream = await startUpstream();
  gateway = await startWorker({
    config: {
      gateway: { request_lease: "2s" },
      providers: [{ id: "up", format: "anthropic", base_url: `${upstream.url}/v1`, keys: ["UP_KEY"] }],
      models: [
        { id: "m-cost", provider: "up", upstream: "plain", prices: [PRICE] },
        { id: "m-search", provider: "up", upstream: "search", prices: [PRICE] },
        { id: "m-free", provider: "up", upstream: "plain" },
      ],
      plans: [
        { id: "tokens", ...tokens },
        { id: "usd", ...dollars, window: "1h", window_usd: 0.005, multiplier: 1.5, models: ["m-cost", "m-search"] },
        { id: "usd-roomy", ...dollars, window: "1h", window_usd: 1000, models: ["m-cost", "m-search"] },
        { id: "monthly", ...dollars, window: "monthly", time_zone: "Asia/Tokyo", window_usd: 10, models: ["m-cost"] },
        { id: "daily-ny", ...tokens, time_zone: "America/New_York" },
      ],
    },
    bindings: { UP_KEY: "sk-up" },
  });
});
after(async () => {
  await gateway?.dispose();
  await upstream?.close();
});

const prompt = [{ role: "user", content: "hello ".repeat(40) }];

function call(key, model = "m-cost") {
  return gateway.fetch("/v1/messages", {
    method: "POST",
    headers: { "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify({ model, max_tokens: 5, messages: prompt }),
  });
}

describe("plans in dollars", () => {
  test("many concurrent calls never pass the dollar window, and it is charged exactly the sum of their costs (multiplier 1.5)", async () => {
    const { key } = await gateway.createKey("usd");
    const responses = await Promise.all(Array.from({ length: 40 }, () => call(key)));
    const ok = responses.filter((r) => r.status === 200).length;
    const refused = responses.filter((r) => r.status === 402);
    assert.equal(ok + refused.length, 40, responses.map((r) => r.status).join(","));
    assert.ok(ok >= 1 && refused.length >= 1, `${ok} admitted, ${refused.length} refused`);
    const body = await refused[0].json();
    assert.equal(body.error.type, "billing_error");
    assert.match(body.error.message, /quota of \$0\.005 per 1h window has \$[\d.]+ left/);
    assert.match(body.error.message, /resets at \d{4}-\d\d-\d\dT/);
    const usage = await gateway.settled(key);
    assert.equal(usage.unit, "usd");
    assert.equal(usage.limits.window_usd, "0.005");
    // ⌈156.75 µ$ × 1.5⌉ per call, exactly, and never more than the window.
    const perCall = (CALL_PICO * 3n + 1n) / 2n;
    assert.equal(pico(usage.window.used_usd), perCall * BigInt(ok));
    assert.ok(pico(usage.window.used_usd) <= pico("0.005"));
    assert.equal(refused[0].headers.get("x-quota-limit-usd"), "0.005");
  });

  test("every usage kind is charged at its price: cache reads, both cache writes, output and server tool calls", async () => {
    const { key } = await gateway.createKey("usd-roomy");
    assert.equal((await call(key)).status, 200);
    assert.equal((await call(key, "m-search")).status, 200);
    const usage = await gateway.settled(key);
    assert.equal(pico(usage.window.used_usd), 2n * CALL_PICO + 2n * SEARCH_PICO);
    assert.equal(usage.window.used_usd, "0.0203135");
  });

  test("a calendar window reports its reset at the next month's start in its zone", async () => {
    const { key } = await gateway.createKey("monthly");
    assert.equal((await call(key)).status, 200);
    const usage = await gateway.settled(key);
    // The first day of next month, 00:00 in Tokyo (UTC+9, no summer time).
    const tokyo = new Date(Date.now() + 9 * 3600_000);
    const next = Date.UTC(tokyo.getUTCFullYear(), tokyo.getUTCMonth() + 1, 1) - 9 * 3600_000;
    const start = Date.UTC(tokyo.getUTCFullYear(), tokyo.getUTCMonth(), 1) - 9 * 3600_000;
    assert.equal(usage.window.resets_at, new Date(next).toISOString().replace(".000Z", "Z"));
    assert.equal(usage.window.started_at, new Date(start).toISOString().replace(".000Z", "Z"));
    assert.equal(pico(usage.window.used_usd), CALL_PICO);
  });

  test("a plan in dollars that includes an unpriced model is refused by config validation", async () => {
    await assert.rejects(
      startWorker({
        config: {
          providers: [{ id: "up", format: "anthropic", base_url: `${upstream.url}/v1`, keys: ["UP_KEY"] }],
          models: [{ id: "m-free", provider: "up", upstream: "plain" }],
          plans: [{ id: "usd", ...dollars, window: "1h", window_usd: 1 }],
        },
        bindings: { UP_KEY: "sk-up" },
      }).then(async (gw) => {
        const { status, body } = await gw.admin("GET", "/admin/plans");
        await gw.dispose();
        throw new Error(`${status} ${JSON.stringify(body)}`);
      }),
      /no price/,
    );
  });
});

describe("prepaid balance", () => {
  test("calls are charged to the balance until it cannot cover one; the 402 names the balance and how to top it up; a top-up lets calls through", async () => {
    const created = await gateway.createKey("tokens");
    const { key, id } = created;
    const topUp = await gateway.admin("POST", `/admin/keys/${id}/balance`, { add_usd: 0.001 });
    assert.equal(topUp.status, 200, JSON.stringify(topUp.body));
    assert.equal(topUp.body.balance.remaining_usd, "0.001");
    let ok = 0;
    let refusal;
    for (let i = 0; i < 20 && !refusal; i++) {
      const res = await call(key);
      if (res.status === 200) ok++;
      else refusal = res;
      await gateway.settled(key);
    }
    assert.ok(refusal, "the balance ran out");
    assert.ok(ok >= 1, `${ok} calls before`);
    assert.equal(refusal.status, 402);
    const body = await refusal.json();
    assert.equal(body.error.type, "billing_error");
    assert.match(body.error.message, /prepaid balance has \$[\d.]+ left/);
    assert.match(body.error.message, new RegExp(`top it up \\(POST /admin/keys/${id}/balance`));
    assert.equal(refusal.headers.get("retry-after"), null, "a balance does not reset by waiting");
    const usage = await gateway.usage(key);
    assert.equal(pico(usage.balance.spent_usd), CALL_PICO * BigInt(ok));
    assert.equal(pico(usage.balance.remaining_usd), pico("0.001") - CALL_PICO * BigInt(ok));
    assert.equal(refusal.headers.get("x-balance-remaining-usd"), usage.balance.remaining_usd);

    await gateway.admin("POST", `/admin/keys/${id}/balance`, { add_usd: 5 });
    assert.equal((await call(key)).status, 200);
    const after = await gateway.settled(key);
    assert.equal(pico(after.balance.spent_usd), CALL_PICO * BigInt(ok + 1));
    // The admin view shows the same figures.
    const shown = await gateway.admin("GET", `/admin/keys/${id}`);
    assert.equal(shown.body.usage.balance.spent_usd, after.balance.spent_usd);
  });

  test("concurrent calls never overdraw the balance", async () => {
    const { key, id } = await gateway.createKey("tokens");
    await gateway.admin("POST", `/admin/keys/${id}/balance`, { add_usd: 0.003 });
    const responses = await Promise.all(Array.from({ length: 30 }, () => call(key)));
    const ok = responses.filter((r) => r.status === 200).length;
    assert.ok(ok >= 1 && ok < 30, `${ok} admitted`);
    const usage = await gateway.settled(key);
    assert.equal(pico(usage.balance.spent_usd), CALL_PICO * BigInt(ok));
    assert.ok(pico(usage.balance.spent_usd) <= pico("0.003"));
  });

  test("a key with a balance cannot call an unpriced model: the refusal says why", async () => {
    const { key, id } = await gateway.createKey("tokens");
    await gateway.admin("POST", `/admin/keys/${id}/balance`, { add_usd: 1 });
    const res = await call(key, "m-free");
    assert.equal(res.status, 403);
    assert.match((await res.json()).error.message, /`m-free` has no price/);
  });

  test("each client format renders the balance 402 in its own shape", async () => {
    const { key, id } = await gateway.createKey("tokens");
    await gateway.admin("POST", `/admin/keys/${id}/balance`, { add_usd: 0.000001 });
    const json = { "content-type": "application/json" };
    const sends = {
      chat: () => gateway.fetch("/v1/chat/completions", { method: "POST", headers: { ...json, authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "m-cost", max_tokens: 5, messages: prompt }) }),
      responses: () => gateway.fetch("/v1/responses", { method: "POST", headers: { ...json, authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "m-cost", max_output_tokens: 16, input: "hello" }) }),
      messages: () => call(key),
      gemini: () => gateway.fetch("/v1beta/models/m-cost:generateContent", { method: "POST", headers: { ...json, "x-goog-api-key": key }, body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hello" }] }], generationConfig: { maxOutputTokens: 5 } }) }),
    };
    for (const [format, send] of Object.entries(sends)) {
      const res = await send();
      assert.equal(res.status, 402, format);
      const body = await res.json();
      const message = { chat: body.error?.message, responses: body.error?.message, messages: body.error?.message, gemini: body.error?.message }[format];
      assert.match(message, /prepaid balance/, format);
      if (format === "messages") assert.equal(body.error.type, "billing_error");
      else if (format === "gemini") assert.equal(body.error.status, "RESOURCE_EXHAUSTED");
      else assert.equal(body.error.type, "insufficient_quota", format);
    }
  });
});

describe("spend limits", () => {
  test("a daily spend limit refuses what would pass it, names it and its reset at midnight in the plan's zone; removing it lets calls through", async () => {
    const { key, id } = await gateway.createKey("daily-ny");
    const set = await gateway.admin("PATCH", `/admin/keys/${id}`, { spend_limit: { daily_usd: 0.001 } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    let ok = 0;
    let refusal;
    for (let i = 0; i < 20 && !refusal; i++) {
      const res = await call(key);
      if (res.status === 200) ok++;
      else refusal = res;
      await gateway.settled(key);
    }
    assert.ok(refusal && ok >= 1, `${ok} calls before the limit`);
    assert.equal(refusal.status, 402);
    const message = (await refusal.json()).error.message;
    assert.match(message, /daily spend limit of \$0\.001 is reached/);
    const usage = await gateway.usage(key);
    assert.equal(pico(usage.spend.daily.spent_usd), CALL_PICO * BigInt(ok));
    assert.equal(usage.spend.daily.limit_usd, "0.001");
    // Midnight in New York is 04:00 or 05:00 UTC.
    assert.match(usage.spend.daily.resets_at, /T0[45]:00:00Z$/);
    assert.ok(message.includes(`resets at ${usage.spend.daily.resets_at}`), message);
    const retry = Number(refusal.headers.get("retry-after"));
    assert.ok(retry >= 1 && retry <= 86_400, `retry-after ${retry}`);

    // A monthly limit is reported too; a null removes the daily one.
    await gateway.admin("PATCH", `/admin/keys/${id}`, { spend_limit: { daily_usd: null, monthly_usd: 100 } });
    assert.equal((await call(key)).status, 200);
    const after = await gateway.settled(key);
    assert.equal(after.spend.daily.limit_usd, null);
    assert.equal(after.spend.monthly.limit_usd, "100");
    assert.equal(pico(after.spend.monthly.spent_usd), CALL_PICO * BigInt(ok + 1));
  });

  test("a monthly spend limit holds under concurrency", async () => {
    const { key, id } = await gateway.createKey("tokens");
    await gateway.admin("PATCH", `/admin/keys/${id}`, { spend_limit: { monthly_usd: 0.002 } });
    const responses = await Promise.all(Array.from({ length: 30 }, () => call(key)));
    const ok = responses.filter((r) => r.status === 200).length;
    const refused = responses.find((r) => r.status === 402);
    assert.ok(refused && ok >= 1, `${ok} admitted`);
    assert.match((await refused.json()).error.message, /monthly spend limit of \$0\.002/);
    const usage = await gateway.settled(key);
    assert.equal(pico(usage.spend.monthly.spent_usd), CALL_PICO * BigInt(ok));
    assert.ok(pico(usage.spend.monthly.spent_usd) <= pico("0.002"));
  });

  test("invalid limits and balances are refused with the field named", async () => {
    const { id } = await gateway.createKey("tokens");
    const negative = await gateway.admin("PATCH", `/admin/keys/${id}`, { spend_limit: { daily_usd: -1 } });
    assert.equal(negative.status, 400);
    assert.equal(negative.body.error.param, "spend_limit.daily_usd");
    const empty = await gateway.admin("POST", `/admin/keys/${id}/balance`, {});
    assert.equal(empty.status, 400);
  });
});
