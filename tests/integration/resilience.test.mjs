// Fault injection: upstreams that refuse connections, hang, stall, fail inside a 200 stream, rate
// limit, overload or run out of credit, each behind one route and behind two (the faulty one
// first, a healthy one second), in every client format. Each test asserts what the client gets
// (status, body shape, Retry-After, the stream's own error event) and counts the attempts each
// upstream saw: a failover shows as one more request at the healthy upstream, an open breaker
// as none at the faulty one.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";

import { startWorker, ADMIN_TOKEN } from "../support/worker.mjs";
import { startFaultUpstream, closedPort, RETRY_AFTER_S, REFUSED_KEY } from "../support/fault-upstream.mjs";

const CLIENTS = ["chat", "anthropic", "responses"];
const FORMAT = { chat: "openai-chat", anthropic: "anthropic", responses: "openai-responses" };
const ENDPOINT = { chat: "/v1/chat/completions", anthropic: "/v1/messages", responses: "/v1/responses" };
/** The upstream format each client is paired with (translated), and itself (forwarded). */
const TRANSLATED = { chat: "anthropic", anthropic: "responses", responses: "chat" };
/** Timeouts short enough for a test, per provider. */
const TIMEOUTS = { timeout_ms: 150, first_event_timeout_ms: 200, idle_timeout_ms: 200, answer_timeout_ms: 400 };
const MAX_ATTEMPTS = 3;
const BENCH_MS = 900_000;

/**
 * What one faulty upstream does to a streamed call, alone and with a healthy fallback.
 * alone: { status, attempts, retryAfter?: "any" | string, inBand?: true }
 * fallback: { faultyAttempts, healthyAttempts, inBand?: true }
 * openAfter: a second call alone costs the faulty upstream nothing (its breaker is open)
 */
const STREAM_FAULTS = {
  // A refused connection never reaches the mock: its attempts cannot be counted (null).
  refuse: { alone: { status: 503, attempts: null, retryAfter: "any" }, fallback: { faultyAttempts: null, healthyAttempts: 1 }, openAfter: true },
  reset: { alone: { status: 503, attempts: MAX_ATTEMPTS, retryAfter: "any" }, fallback: { faultyAttempts: 1, healthyAttempts: 1 }, openAfter: true },
  hang_headers: { alone: { status: 503, attempts: MAX_ATTEMPTS, retryAfter: "any" }, fallback: { faultyAttempts: 1, healthyAttempts: 1 }, openAfter: true },
  silent_after_headers: { alone: { status: 504, attempts: 1 }, fallback: { faultyAttempts: 1, healthyAttempts: 1 }, openAfter: false },
  error_first: { alone: { status: 503, attempts: MAX_ATTEMPTS, retryAfter: "any" }, fallback: { faultyAttempts: 1, healthyAttempts: 1 }, openAfter: true },
  empty: { alone: { status: 503, attempts: MAX_ATTEMPTS, retryAfter: "any" }, fallback: { faultyAttempts: 1, healthyAttempts: 1 }, openAfter: true },
  rate_limited: { alone: { status: 429, attempts: 1, retryAfter: String(RETRY_AFTER_S) }, fallback: { faultyAttempts: 1, healthyAttempts: 1 }, openAfter: true },
  overloaded: { alone: { status: 503, attempts: MAX_ATTEMPTS, retryAfter: "any" }, fallback: { faultyAttempts: 1, healthyAttempts: 1 }, openAfter: true },
  no_credit: { alone: { status: 503, attempts: 1, retryAfter: "any" }, fallback: { faultyAttempts: 1, healthyAttempts: 1 }, openAfter: true },
  stall_mid: { alone: { status: 200, attempts: 1, inBand: true }, fallback: { faultyAttempts: 1, healthyAttempts: 0, inBand: true }, openAfter: false },
  no_terminal: { alone: { status: 200, attempts: 1, inBand: true }, fallback: { faultyAttempts: 1, healthyAttempts: 0, inBand: true }, openAfter: false },
};
/** Faults tested with the client's own format upstream too (the forwarded stream). */
const SAME_FORMAT_TOO = ["error_first", "empty", "silent_after_headers", "stall_mid"];

/** Non-streamed calls: a whole answer that timed out is never asked for again. */
const WHOLE_FAULTS = {
  hang_headers: { alone: { status: 504, attempts: 1 }, fallback: { status: 504, faultyAttempts: 1, healthyAttempts: 0 } },
  overloaded: { alone: { status: 503, attempts: MAX_ATTEMPTS, retryAfter: "any" }, fallback: { status: 200, faultyAttempts: 1, healthyAttempts: 1 } },
  rate_limited: { alone: { status: 429, attempts: 1, retryAfter: String(RETRY_AFTER_S) }, fallback: { status: 200, faultyAttempts: 1, healthyAttempts: 1 } },
  no_credit: { alone: { status: 503, attempts: 1, retryAfter: "any" }, fallback: { status: 200, faultyAttempts: 1, healthyAttempts: 1 } },
};

const CASES = [];
for (const [fault, expected] of Object.entries(STREAM_FAULTS)) {
  for (const client of CLIENTS) {
    const upstreams = SAME_FORMAT_TOO.includes(fault) ? [TRANSLATED[client], client] : [TRANSLATED[client]];
    for (const upstream of upstreams) CASES.push({ fault, client, upstream, stream: true, expected });
  }
}
for (const [fault, expected] of Object.entries(WHOLE_FAULTS)) {
  for (const client of CLIENTS) CASES.push({ fault, client, upstream: TRANSLATED[client], stream: false, expected });
}

const tag = (role, c) => `${role}-${c.fault}-${c.client}-${c.upstream}-${c.stream ? "s" : "w"}`;

let mock;
let gw;
let key;

function config(refusedBaseUrl) {
  const providers = [];
  const models = [];
  const provider = (id, fault, format, extra = {}) => ({
    id,
    format: FORMAT[format],
    base_url: fault === "refuse" ? `${refusedBaseUrl}/${format}` : mock.baseUrl(fault, format, id),
    keys: ["UP_KEY"],
    ...TIMEOUTS,
    ...extra,
  });
  for (const c of CASES) {
    providers.push(provider(tag("alone", c), c.fault, c.upstream));
    providers.push(provider(tag("faulty", c), c.fault, c.upstream));
    providers.push(provider(tag("healthy", c), "ok", c.upstream));
    models.push({ id: tag("alone", c), provider: tag("alone", c), upstream: "up" });
    models.push({ id: tag("two", c), provider: tag("faulty", c), upstream: "up" });
    models.push({ id: tag("two", c), provider: tag("healthy", c), upstream: "up" });
  }
  // Spread by weight: three quarters to one, a quarter to the other.
  providers.push(provider("weighted-a", "ok", "chat"), provider("weighted-b", "ok", "chat"));
  models.push({ id: "weighted", provider: "weighted-a", upstream: "up", weight: 3 });
  models.push({ id: "weighted", provider: "weighted-b", upstream: "up", weight: 1 });
  // A pool whose first key the upstream refuses, and a pool of two good keys.
  providers.push(provider("pool-refused", "ok", "anthropic", { keys: ["REFUSED", "UP_KEY"] }));
  models.push({ id: "pool-refused", provider: "pool-refused", upstream: "up" });
  providers.push(provider("pool-two", "ok", "chat", { keys: ["UP_KEY", "UP_KEY_2"] }));
  models.push({ id: "pool-two", provider: "pool-two", upstream: "up" });
  return {
    gateway: { keep_alive: "100ms", request_lease: "2s", max_attempts: MAX_ATTEMPTS, attempt_window: "20s" },
    providers,
    models,
    plans: [{ id: "roomy", rpm: 100000, tpm: 1e12, concurrency: 1000, window: "5h", window_tokens: 1e12 }],
  };
}

before(async () => {
  mock = await startFaultUpstream();
  const refused = `http://127.0.0.1:${await closedPort()}`;
  gw = await startWorker({
    config: config(refused),
    bindings: { UP_KEY: "sk-good", UP_KEY_2: "sk-good-2", REFUSED: REFUSED_KEY },
  });
  key = (await gw.createKey("roomy")).key;
});
after(async () => {
  await gw?.dispose();
  await mock?.close();
});

/** Calls are separate conversations unless they name one: the gateway keeps a conversation on one upstream key. */
let conversations = 0;

function body(client, model, stream, conversation = ++conversations) {
  const text = `Say ok three times. (conversation ${conversation})`;
  if (client === "responses") return { model, input: text, stream };
  if (client === "anthropic") return { model, max_tokens: 64, messages: [{ role: "user", content: text }], stream };
  return { model, messages: [{ role: "user", content: text }], stream };
}

async function call(client, model, stream, conversation) {
  const res = await gw.fetch(ENDPOINT[client], {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body(client, model, stream, conversation)),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

/** The error body has the client format's shape and says nothing the upstream said. */
function checkErrorBody(client, response) {
  assert.match(response.headers.get("x-request-id") ?? "", /\S/, "x-request-id");
  const json = JSON.parse(response.text);
  if (client === "anthropic") {
    assert.equal(json.type, "error");
    assert.deepEqual(Object.keys(json.error).sort(), ["message", "type"]);
    assert.equal(json.request_id, response.headers.get("x-request-id"));
  } else {
    assert.deepEqual(Object.keys(json.error).sort(), ["code", "message", "param", "type"]);
  }
  const message = client === "anthropic" ? json.error.message : json.error.message;
  for (const words of ["credit balance", "exceeded your current quota", "Rate limit reached", "sk-"]) {
    assert.ok(!message.includes(words), `the client reads the upstream's words: ${message}`);
  }
  const type = client === "anthropic" ? json.error.type : json.error.type;
  const expectedType = {
    429: { anthropic: "rate_limit_error", openai: "rate_limit_error" },
    503: { anthropic: "overloaded_error", openai: "server_error" },
    504: { anthropic: "timeout_error", openai: "server_error" },
  }[response.status];
  if (expectedType) assert.equal(type, client === "anthropic" ? expectedType.anthropic : expectedType.openai, message);
}

function checkRetryAfter(response, expected) {
  const value = response.headers.get("retry-after");
  if (expected === undefined) return;
  if (expected === "any") assert.match(value ?? "", /^[1-9]\d*$/, `Retry-After ${value}`);
  else assert.equal(value, expected);
}

/** A 200 stream that carries the answer's first words, then the client format's error event. */
function checkInBandError(client, response) {
  assert.match(response.text, / ok/, "the text so far reaches the client");
  const marker = { chat: /^data: \{"error"/m, anthropic: /^event: error$/m, responses: /^event: (response\.failed|error)$/m }[client];
  assert.match(response.text, marker, `no ${client} error event in ${response.text.slice(-300)}`);
}

/** A successful answer in the client's format. */
function checkAnswer(client, response, stream) {
  assert.equal(response.status, 200, response.text.slice(0, 300));
  assert.match(response.text, / ok/);
  if (stream) {
    const end = { chat: /data: \[DONE\]/, anthropic: /event: message_stop/, responses: /event: response\.completed/ }[client];
    assert.match(response.text, end);
    const failure = { chat: /^data: \{"error"/m, anthropic: /^event: error$/m, responses: /^event: (response\.failed|error)$/m }[client];
    assert.doesNotMatch(response.text, failure);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits for the mock to have recorded every request (a refused one never reaches it). */
async function seenSettled(providerTag) {
  await sleep(50);
  return mock.seen(providerTag).length;
}

describe("an upstream fault, alone and with a healthy fallback", () => {
  for (const c of CASES) {
    const label = `${c.stream ? "streamed" : "whole"} ${c.fault}: ${c.client} client ← ${c.upstream} upstream`;
    test(label, async () => {
      const { alone, fallback } = c.expected;
      // One route: what the client is told, and how many attempts it cost.
      const first = await call(c.client, tag("alone", c), c.stream);
      assert.equal(first.status, alone.status, first.text.slice(0, 400));
      if (alone.inBand) checkInBandError(c.client, first);
      else {
        checkErrorBody(c.client, first);
        checkRetryAfter(first, alone.retryAfter);
      }
      if (alone.attempts !== null) assert.equal(await seenSettled(tag("alone", c)), alone.attempts, "attempts at the upstream");
      if (c.expected.openAfter) {
        // Its breaker is open now: the next call costs it nothing, and says when to retry.
        const again = await call(c.client, tag("alone", c), c.stream);
        assert.equal(again.status, alone.status === 429 ? 429 : 503, again.text.slice(0, 300));
        checkRetryAfter(again, "any");
        checkErrorBody(c.client, again);
        if (alone.attempts !== null) assert.equal(await seenSettled(tag("alone", c)), alone.attempts, "an open breaker costs no attempt");
      }

      // Two routes: the healthy one answers unless the answer had already started.
      const second = await call(c.client, tag("two", c), c.stream);
      const expectedStatus = fallback.status ?? 200;
      if (fallback.inBand) {
        assert.equal(second.status, 200);
        checkInBandError(c.client, second);
      } else if (expectedStatus === 200) {
        checkAnswer(c.client, second, c.stream);
      } else {
        assert.equal(second.status, expectedStatus, second.text.slice(0, 300));
        checkErrorBody(c.client, second);
      }
      if (fallback.faultyAttempts !== null) assert.equal(await seenSettled(tag("faulty", c)), fallback.faultyAttempts, "attempts at the faulty upstream");
      assert.equal(await seenSettled(tag("healthy", c)), fallback.healthyAttempts, "attempts at the healthy upstream");
    });
  }
});

describe("what failing over costs the key", () => {
  test("a stream abandoned after its upstream took it on is charged its input on top of the answer", async () => {
    const { key: own } = await gw.createKey("roomy");
    const c = CASES.find((x) => x.fault === "silent_after_headers" && x.client === "chat" && x.upstream === "chat");
    const res = await gw.fetch(ENDPOINT.chat, {
      method: "POST",
      headers: { authorization: `Bearer ${own}`, "content-type": "application/json" },
      body: JSON.stringify(body("chat", tag("two", c), true)),
    });
    const text = await res.text();
    checkAnswer("chat", { status: res.status, text }, true);
    const usage = await gw.settled(own);
    const stalled = mock.seen(tag("faulty", c)).at(-1);
    const answered = mock.seen(tag("healthy", c)).at(-1);
    assert.ok(stalled.aborted, "the stalled upstream was aborted");
    const billed = stalled.input + answered.input + answered.output;
    assert.ok(usage.window.used_tokens >= billed, `charged ${usage.window.used_tokens} ≥ billed ${billed}`);
  });

  test("an upstream that failed with an error of its own costs nothing extra", async () => {
    const { key: own } = await gw.createKey("roomy");
    const c = CASES.find((x) => x.fault === "error_first" && x.client === "anthropic" && x.upstream === "anthropic");
    const res = await gw.fetch(ENDPOINT.anthropic, {
      method: "POST",
      headers: { authorization: `Bearer ${own}`, "content-type": "application/json" },
      body: JSON.stringify(body("anthropic", tag("two", c), true)),
    });
    checkAnswer("anthropic", { status: res.status, text: await res.text() }, true);
    const usage = await gw.settled(own);
    const answered = mock.seen(tag("healthy", c)).at(-1);
    assert.equal(usage.window.used_tokens, answered.input + answered.output);
  });

  test("a stall after the answer started ends the stream and frees the slot at once", async () => {
    const { key: own } = await gw.createKey("roomy");
    const c = CASES.find((x) => x.fault === "stall_mid" && x.client === "responses");
    const started = Date.now();
    const res = await gw.fetch(ENDPOINT.responses, {
      method: "POST",
      headers: { authorization: `Bearer ${own}`, "content-type": "application/json" },
      body: JSON.stringify(body("responses", tag("alone", c), true)),
    });
    checkInBandError("responses", { text: await res.text() });
    const usage = await gw.settled(own);
    assert.equal(usage.in_flight, 0);
    assert.ok(Date.now() - started < 5000, "ended by the idle timeout, not minutes later");
  });
});

describe("routing", () => {
  test("weighted routes share the traffic in proportion", async () => {
    const before = { a: mock.seen("weighted-a").length, b: mock.seen("weighted-b").length };
    for (let i = 0; i < 80; i++) {
      const res = await call("chat", "weighted", false);
      assert.equal(res.status, 200);
    }
    const a = mock.seen("weighted-a").length - before.a;
    const b = mock.seen("weighted-b").length - before.b;
    assert.equal(a + b, 80);
    // Expected 60 / 20; 45..75 is nearly four standard deviations either side.
    assert.ok(a >= 45 && a <= 75, `weight 3 got ${a} of 80, weight 1 got ${b}`);
  });

  test("a pool's keys share the traffic", async () => {
    for (let i = 0; i < 20; i++) assert.equal((await call("chat", "pool-two", false)).status, 200);
    const keys = new Set(mock.seen("pool-two").map((r) => r.key));
    assert.deepEqual([...keys].sort(), ["sk-good", "sk-good-2"]);
  });

  test("a conversation stays on one key of a pool, turn after turn", async () => {
    const before = mock.seen("pool-two").length;
    for (let i = 0; i < 12; i++) assert.equal((await call("chat", "pool-two", false, "sticky")).status, 200);
    const keys = new Set(mock.seen("pool-two").slice(before).map((r) => r.key));
    assert.equal(keys.size, 1, `one key for the whole conversation, got ${[...keys]}`);
  });

  test("a refused key in a pool is benched after its first refusal and reported to the operator", async () => {
    for (let i = 0; i < 12; i++) {
      const res = await call("anthropic", "pool-refused", i % 2 === 0);
      assert.equal(res.status, 200, res.text.slice(0, 300));
    }
    const refused = mock.seen("pool-refused").filter((r) => r.key === REFUSED_KEY);
    assert.equal(refused.length, 1, "the refused key was tried once, then skipped");
    const health = await gw.fetch("/health/ready", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const report = await health.json();
    const benched = report.upstreams.find((u) => u.provider === "pool-refused" && u.key === "REFUSED");
    assert.equal(benched?.state, "benched", JSON.stringify(report.upstreams.filter((u) => u.provider === "pool-refused")));
    assert.equal(benched.reason, "key_refused");
    assert.ok(benched.reopens_in_s > BENCH_MS / 1000 - 60);
    assert.ok(!JSON.stringify(report).includes(REFUSED_KEY), "the secret's value is never shown");
    // Anyone else sees only whether the gateway is ready.
    const anonymous = await (await gw.fetch("/health/ready")).json();
    assert.deepEqual(Object.keys(anonymous), ["status"]);
  });
});
