// Allowances with a far-away meter: every call to a key's Durable Object is delayed 100 ms
// (TOC_DO_DELAY_MS, a test knob), as for a key holder on another continent. A key far from its
// limits must not pay that round trip on each call, and every limit must still hold exactly
// while isolates admit calls from the slices their keys' meters set aside.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "../support/worker.mjs";
import { SLOW_MS, USAGE, startUsageUpstream } from "../support/usage-upstream.mjs";

const DELAY_MS = 100;
const roomy = { rpm: 100000, tpm: 1e12, concurrency: 1000, window: "5h", window_tokens: 1e12 };

let upstream;
let gateway;

before(async () => {
  upstream = await startUsageUpstream();
  gateway = await startWorker({
    config: {
      gateway: { request_lease: "2s" },
      providers: [{ id: "up", format: "anthropic", base_url: `${upstream.url}/v1`, keys: ["UP_KEY"] }],
      models: [
        { id: "m-fast", provider: "up", upstream: "fast" },
        { id: "m-slow", provider: "up", upstream: "slow" },
      ],
      plans: [
        { id: "roomy", ...roomy },
        { id: "rpm20", ...roomy, rpm: 20 },
        { id: "conc3", ...roomy, concurrency: 3 },
        { id: "window", ...roomy, window: "1h", window_tokens: 3000 },
        { id: "rpm300", ...roomy, rpm: 300 },
        { id: "conc12", ...roomy, concurrency: 12 },
      ],
    },
    bindings: { UP_KEY: "sk-up", TOC_DO_DELAY_MS: String(DELAY_MS) },
  });
});
after(async () => {
  await gateway?.dispose();
  await upstream?.close();
});

function call(key, model = "m-fast", maxTokens = 5) {
  return gateway.fetch("/v1/messages", {
    method: "POST",
    headers: { "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify({ model, max_tokens: maxTokens, messages: [{ role: "user", content: "hi" }] }),
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** The key's usage once `done(usage)` holds (registrations and settlements reach the meter
 * 100 ms late), or the last one seen after 10 s. */
async function usageWhen(key, done) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const usage = await gateway.usage(key);
    if (done(usage) || Date.now() > deadline) return usage;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("with the key's meter 100 ms away", () => {
  test("a key far from its limits does not wait for its meter on each call", async () => {
    const { key } = await gateway.createKey("roomy");
    // The first call asks the meter (and brings back a slice); the next ones are admitted here.
    const first = performance.now();
    assert.equal((await call(key)).status, 200);
    const firstMs = performance.now() - first;
    assert.ok(firstMs >= DELAY_MS, `the first call asked the meter (${firstMs.toFixed(0)} ms)`);
    const times = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      const res = await call(key);
      await res.text();
      assert.equal(res.status, 200);
      times.push(performance.now() - t0);
    }
    // Each call that asked would take at least DELAY_MS; most must not have asked.
    assert.ok(median(times) < DELAY_MS / 2, `median ${median(times).toFixed(1)} ms`);
    // And every one of them was registered and charged, exactly.
    const charged = 16 * (USAGE.input_tokens + USAGE.output_tokens);
    const usage = await usageWhen(key, (u) => u.window.used_tokens >= charged && u.in_flight === 0);
    assert.equal(usage.minute.requests, 16);
    assert.equal(usage.window.used_tokens, charged);
  });

  test("rpm = 20: of 60 requests fired at once exactly 20 succeed", async () => {
    const { key } = await gateway.createKey("rpm20");
    const responses = await Promise.all(Array.from({ length: 60 }, () => call(key)));
    await Promise.all(responses.map((r) => r.text()));
    const ok = responses.filter((r) => r.status === 200).length;
    const limited = responses.filter((r) => r.status === 429).length;
    assert.deepEqual([ok, limited], [20, 40]);
    const usage = await gateway.settled(key);
    assert.equal(usage.minute.requests, 20);
  });

  test("rpm = 20 in waves: never more than 20 in the minute, whatever the slices", async () => {
    const { key } = await gateway.createKey("rpm20");
    let ok = 0;
    for (let wave = 0; wave < 6; wave++) {
      const responses = await Promise.all(Array.from({ length: 7 }, () => call(key)));
      await Promise.all(responses.map((r) => r.text()));
      ok += responses.filter((r) => r.status === 200).length;
    }
    assert.equal(ok, 20);
    const usage = await gateway.settled(key);
    assert.equal(usage.minute.requests, 20);
  });

  test("concurrency = 3 with a slow upstream: exactly 3 run at once", async () => {
    const { key } = await gateway.createKey("conc3");
    upstream.state.maxInFlight = 0;
    // A first call far from the limit may bring a slice; then a burst.
    assert.equal((await call(key)).status, 200);
    const responses = await Promise.all(Array.from({ length: 10 }, () => call(key, "m-slow")));
    await Promise.all(responses.map((r) => r.text()));
    assert.equal(responses.filter((r) => r.status === 200).length, 3);
    assert.equal(upstream.state.maxInFlight, 3);
    const usage = await gateway.settled(key);
    assert.equal(usage.in_flight, 0);
  });

  test("a window raced by many calls at once is never overshot", async () => {
    const { key } = await gateway.createKey("window");
    // Each call may cost up to its prompt estimate plus 100 tokens of answer; the upstream
    // always charges 15.
    for (let wave = 0; wave < 4; wave++) {
      const responses = await Promise.all(Array.from({ length: 25 }, () => call(key, "m-fast", 100)));
      await Promise.all(responses.map((r) => r.text()));
    }
    const usage = await gateway.settled(key);
    assert.ok(usage.window.used_tokens <= 3000, `used ${usage.window.used_tokens} of 3000`);
    assert.ok(usage.window.used_tokens > 0);
    assert.equal(usage.window.used_tokens % (USAGE.input_tokens + USAGE.output_tokens), 0);
  });

  /** `total` calls, `concurrency` at a time, one after another in each lane: the statuses. */
  async function sustained(key, total, concurrency, model = "m-fast") {
    const statuses = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          next++;
          const res = await call(key, model);
          await res.text();
          statuses.push(res.status);
        }
      }),
    );
    return statuses;
  }

  test("rpm = 300 under sustained load: slices grow and are topped up, and exactly 300 pass", async () => {
    const { key } = await gateway.createKey("rpm300");
    const statuses = await sustained(key, 450, 16);
    const ok = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    assert.deepEqual([ok, limited], [300, 150]);
    const charged = 300 * (USAGE.input_tokens + USAGE.output_tokens);
    const usage = await usageWhen(key, (u) => u.window.used_tokens >= charged && u.in_flight === 0);
    assert.equal(usage.minute.requests, 300);
    assert.equal(usage.window.used_tokens, charged);
  });

  test("concurrency = 12 under sustained load from 30 lanes: never more than 12 at once", async () => {
    const { key } = await gateway.createKey("conc12");
    upstream.state.maxInFlight = 0;
    // Warmed by fast calls (the isolate's slice grows and is topped up), then a flood of slow
    // ones. The meter hears of a call's end a round trip late, so near the limit it may refuse
    // a call a little early; it must never let a 13th run.
    const statuses = [...(await sustained(key, 40, 4)), ...(await sustained(key, 90, 30, "m-slow"))];
    const ok = statuses.filter((s) => s === 200).length;
    assert.ok(upstream.state.maxInFlight <= 12, `${upstream.state.maxInFlight} at once`);
    assert.ok(statuses.every((s) => s === 200 || s === 429), statuses.join(","));
    assert.ok(ok >= 40, `${ok} passed`);
    // Registrations reach the meter 100 ms late: wait for all of them, then every call that
    // passed is counted and charged exactly once.
    const charged = ok * (USAGE.input_tokens + USAGE.output_tokens);
    const usage = await usageWhen(key, (u) => u.window.used_tokens >= charged && u.in_flight === 0);
    assert.equal(usage.minute.requests, ok);
    assert.equal(usage.window.used_tokens, charged);
  });

  test("a slow call admitted from a slice holds its slot until it ends", async () => {
    const { key } = await gateway.createKey("conc3");
    await (await call(key)).text();
    const started = performance.now();
    const slow = call(key, "m-slow");
    await new Promise((r) => setTimeout(r, SLOW_MS / 3));
    const usage = await gateway.usage(key);
    assert.equal(usage.in_flight, 1);
    assert.equal((await slow).status, 200);
    assert.ok(performance.now() - started >= SLOW_MS);
  });
});
