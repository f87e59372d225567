// Per-key policy: expiry, a model allowlist that narrows the plan, allowed client IP ranges and
// metadata, set through the admin API and enforced on every keyed endpoint, each refusal in
// the client's own error shape (raw over every endpoint, and through the official SDKs).
//
// The client address is `CF-Connecting-IP`. Locally (workerd through Miniflare, as under
// `wrangler dev`) it is the socket's peer, 127.0.0.1, unless the request carries the header
// itself, which these tests do to play callers from elsewhere.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { ApiError as GeminiApiError } from "@google/genai";

import { startGateway, MODELS, DEFAULT_PLANS } from "../support/gateway.mjs";

const PLANS = [
  ...DEFAULT_PLANS,
  { ...DEFAULT_PLANS[0], id: "no-gemini", models: [MODELS.chat, MODELS.anthropic, MODELS.responses] },
];

let gw;

before(async () => {
  gw = await startGateway({ config: { plans: PLANS } });
});
after(async () => {
  await gw?.close();
});

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function createKey(body) {
  const res = await gw.admin("POST", "/admin/keys", { body: { plan: "test", name: "policy", ...body } });
  assert.equal(res.status, 201, res.text);
  return res.json;
}

// ------------------------------------------------------------------------------------------ endpoints

const HISTORY = [
  { type: "message", role: "user", content: [{ type: "input_text", text: "Fix the failing test" }] },
  { type: "message", role: "assistant", content: [{ type: "output_text", text: "Fixed it." }] },
];

/**
 * Every keyed endpoint. `shape`: the error shape it answers in (openai, anthropic, gemini);
 * `model`: the path and body for a model (endpoints that name one); `list`: it lists models;
 * `passes`: the status of a call the policy lets through (stored turns: 404, no such turn for
 * this key, which is only said after the key was accepted).
 */
const ENDPOINTS = [
  { name: "chat", shape: "openai", method: "POST", model: (m) => ["/v1/chat/completions", { model: m, messages: [{ role: "user", content: "hi" }] }] },
  { name: "chat stream", shape: "openai", method: "POST", model: (m) => ["/v1/chat/completions", { model: m, stream: true, messages: [{ role: "user", content: "hi" }] }] },
  { name: "messages", shape: "anthropic", method: "POST", model: (m) => ["/v1/messages", { model: m, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }] },
  { name: "messages stream", shape: "anthropic", method: "POST", model: (m) => ["/v1/messages", { model: m, max_tokens: 16, stream: true, messages: [{ role: "user", content: "hi" }] }] },
  { name: "messages count_tokens", shape: "anthropic", method: "POST", model: (m) => ["/v1/messages/count_tokens", { model: m, messages: [{ role: "user", content: "hi" }] }] },
  { name: "responses", shape: "openai", method: "POST", model: (m) => ["/v1/responses", { model: m, input: "hi" }] },
  { name: "responses stream", shape: "openai", method: "POST", model: (m) => ["/v1/responses", { model: m, input: "hi", stream: true }] },
  { name: "responses compact", shape: "openai", method: "POST", model: (m) => ["/v1/responses/compact", { model: m, input: HISTORY }] },
  { name: "gemini generateContent", shape: "gemini", method: "POST", model: (m) => [`/v1beta/models/${m}:generateContent`, { contents: [{ role: "user", parts: [{ text: "hi" }] }] }] },
  { name: "gemini streamGenerateContent", shape: "gemini", method: "POST", model: (m) => [`/v1beta/models/${m}:streamGenerateContent?alt=sse`, { contents: [{ role: "user", parts: [{ text: "hi" }] }] }] },
  { name: "gemini countTokens", shape: "gemini", method: "POST", model: (m) => [`/v1beta/models/${m}:countTokens`, { contents: [{ role: "user", parts: [{ text: "hi" }] }] }] },
  { name: "openai model", shape: "openai", method: "GET", model: (m) => [`/v1/models/${m}`], get: true },
  { name: "anthropic model", shape: "anthropic", method: "GET", model: (m) => [`/v1/models/${m}`], get: true },
  { name: "gemini model", shape: "gemini", method: "GET", model: (m) => [`/v1beta/models/${m}`], get: true },
  { name: "openai models", shape: "openai", method: "GET", path: "/v1/models", list: (json) => json.data.map((m) => m.id) },
  { name: "anthropic models", shape: "anthropic", method: "GET", path: "/v1/models", list: (json) => json.data.map((m) => m.id) },
  { name: "gemini models", shape: "gemini", method: "GET", path: "/v1beta/models", list: (json) => json.models.map((m) => m.name.replace(/^models\//, "")) },
  { name: "stored response", shape: "openai", method: "GET", path: "/v1/responses/resp_doesnotexist", passes: 404 },
  { name: "delete stored response", shape: "openai", method: "DELETE", path: "/v1/responses/resp_doesnotexist", passes: 404 },
  { name: "usage", shape: "openai", method: "GET", path: "/v1/usage" },
  { name: "usage log", shape: "openai", method: "GET", path: "/v1/usage/log" },
  { name: "usage log csv", shape: "openai", method: "GET", path: "/v1/usage/log.csv" },
  { name: "usage report", shape: "openai", method: "GET", path: "/v1/usage/report" },
  { name: "usage report csv", shape: "openai", method: "GET", path: "/v1/usage/report.csv" },
];

/** Calls `endpoint` with `key` (for a model, when it names one) from `ip` (none: Miniflare's). */
function call(endpoint, key, { model = MODELS.chat, ip } = {}) {
  const [path, body] = endpoint.model ? endpoint.model(model) : [endpoint.path];
  const headers = endpoint.shape === "gemini" ? { "x-goog-api-key": key } : { authorization: `Bearer ${key}` };
  if (endpoint.shape === "anthropic") headers["anthropic-version"] = "2023-06-01";
  if (ip !== undefined) headers["cf-connecting-ip"] = ip;
  return gw.request(endpoint.method, path, { body, headers });
}

const GOOGLE_STATUS = { 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND" };
const ANTHROPIC_TYPE = { 401: "authentication_error", 403: "permission_error", 404: "not_found_error" };
const OPENAI_TYPE = { 401: "authentication_error", 403: "permission_error", 404: "not_found_error" };

/** Checks a raw error answer: status, the endpoint's shape, x-request-id, and the message. */
function assertError(endpoint, res, status, { message, code } = {}) {
  const where = `${endpoint.name}: ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, where);
  const requestId = res.headers.get("x-request-id");
  assert.match(requestId ?? "", /\S/, where);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/, where);
  let text;
  if (endpoint.shape === "gemini") {
    assert.deepEqual(Object.keys(res.json.error).sort(), ["code", "details", "message", "status"], where);
    assert.equal(res.json.error.code, status, where);
    assert.equal(res.json.error.status, GOOGLE_STATUS[status], where);
    text = res.json.error.message;
  } else if (endpoint.shape === "anthropic") {
    assert.equal(res.json.type, "error", where);
    assert.deepEqual(Object.keys(res.json.error).sort(), ["message", "type"], where);
    assert.equal(res.json.error.type, ANTHROPIC_TYPE[status], where);
    assert.equal(res.json.request_id, requestId, where);
    text = res.json.error.message;
  } else {
    assert.deepEqual(Object.keys(res.json.error).sort(), ["code", "message", "param", "type"], where);
    assert.equal(res.json.error.type, OPENAI_TYPE[status], where);
    if (code !== undefined) assert.equal(res.json.error.code, code, where);
    text = res.json.error.message;
  }
  if (message instanceof RegExp) assert.match(text, message, where);
  else if (message) assert.ok(text.includes(message), `${where}\n${JSON.stringify(text)} lacks ${JSON.stringify(message)}`);
}

async function assertPasses(endpoint, res) {
  assert.equal(res.status, endpoint.passes ?? 200, `${endpoint.name}: ${res.text.slice(0, 300)}`);
  if (endpoint.passes === 404) assert.match(res.text, /No response with id/, endpoint.name);
}

// ------------------------------------------------------------------------------------------ admin API

test("admin: policy fields are set at creation, shown by create, list and get, and never the key", async () => {
  const expires = new Date(Date.now() + 3600_000).toISOString();
  const created = await createKey({
    name: "erin",
    expires_at: expires,
    models: ["m-a*", MODELS.chat, MODELS.chat],
    allowed_ips: ["203.0.113.0/24", "2001:DB8::/32", "198.51.100.7"],
    metadata: { owner: "erin@example.com", note: "trial\nuntil June" },
  });
  assert.deepEqual(Object.keys(created).sort(), ["allowed_ips", "created_at", "expires_at", "id", "key", "metadata", "models", "name", "plan", "status"]);
  assert.match(created.expires_at, RFC3339);
  assert.equal(created.expires_at, expires.replace(/\.\d+Z$/, "Z"), "UTC, to the second");
  assert.deepEqual(created.models, ["m-a*", MODELS.chat], "duplicates dropped");
  assert.deepEqual(created.allowed_ips, ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"], "canonical CIDR");
  assert.deepEqual(created.metadata, { note: "trial\nuntil June", owner: "erin@example.com" });

  const plain = await createKey({ name: "frank" });
  assert.deepEqual([plain.expires_at, plain.models, plain.allowed_ips, plain.metadata], [null, null, null, {}]);

  const list = await gw.admin("GET", "/admin/keys");
  assert.ok(!list.text.includes(created.key) && !list.text.includes(plain.key));
  const listed = list.json.data.find((k) => k.id === created.id);
  const { key: _, ...shown } = created;
  assert.deepEqual(listed, shown);
  const one = await gw.admin("GET", `/admin/keys/${created.id}`);
  for (const field of ["expires_at", "models", "allowed_ips", "metadata"]) assert.deepEqual(one.json[field], created[field], field);

  const byOwner = await gw.admin("GET", "/admin/keys?q=ERIN@example");
  assert.deepEqual(byOwner.json.data.map((k) => k.id), [created.id], "search reads metadata too");
});

test("admin: invalid policy fields are 400 naming the field, and nothing is created or changed", async () => {
  const cases = [
    [{ expires_at: "tomorrow" }, "expires_at", /RFC 3339/],
    [{ expires_at: "2020-01-01T00:00:00Z" }, "expires_at", /already passed/],
    [{ expires_at: 1893456000 }, "expires_at", /invalid type/],
    [{ models: [] }, "models", /empty allowlist/],
    [{ models: ["m-chat", "gpt-*"] }, "models[1]", /only narrow/],
    [{ models: ["m chat"] }, "models[0]", /printable ASCII/],
    [{ allowed_ips: ["10.0.0.1/8"] }, "allowed_ips[0]", /did you mean 10\.0\.0\.0\/8/],
    [{ allowed_ips: ["203.0.113.0/24", "2001:db8::/129"] }, "allowed_ips[1]", /prefix/],
    [{ allowed_ips: ["localhost"] }, "allowed_ips[0]", /not an IPv4 or IPv6/],
    [{ allowed_ips: [] }, "allowed_ips", /refuse every call/],
    [{ allowed_ips: Array.from({ length: 33 }, (_, i) => `10.0.${i}.0/24`) }, "allowed_ips", /at most 32/],
    [{ metadata: { "bad name": "x" } }, "metadata", /name/],
    [{ metadata: { note: "x".repeat(1025) } }, "metadata.note", /1024 bytes/],
    [{ metadata: { note: "bell\u0007" } }, "metadata.note", /control characters/],
    [{ metadata: { owner: 7 } }, "metadata.owner", /invalid type/],
    [{ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, "metadata", /at most 16/],
    [{ models: [MODELS.gemini], plan: "no-gemini" }, "models[0]", /only narrow/],
  ];
  const before = (await gw.admin("GET", "/admin/keys")).json.data.length;
  for (const [fields, param, message] of cases) {
    const res = await gw.admin("POST", "/admin/keys", { body: { plan: "test", name: "bad", ...fields } });
    assert.equal(res.status, 400, `${JSON.stringify(fields).slice(0, 80)}: ${res.text}`);
    assert.equal(res.json.error.type, "invalid_request_error");
    assert.equal(res.json.error.param, param, res.text);
    assert.match(res.json.error.message, message);
  }
  assert.equal((await gw.admin("GET", "/admin/keys")).json.data.length, before, "no key was created");

  const { id } = await createKey({ name: "gina", models: [MODELS.chat], metadata: { owner: "gina" } });
  for (const [fields, param] of cases) {
    if (fields.plan) continue;
    const res = await gw.admin("PATCH", `/admin/keys/${id}`, { body: fields });
    assert.equal(res.status, 400, JSON.stringify(fields).slice(0, 80));
    assert.equal(res.json.error.param, param);
  }
  const stray = await gw.admin("PATCH", `/admin/keys/${id}`, { body: { owner: "x" } });
  assert.equal(stray.status, 400, "unknown fields are refused");
  const unchanged = await gw.admin("GET", `/admin/keys/${id}`);
  assert.deepEqual([unchanged.json.models, unchanged.json.metadata, unchanged.json.expires_at], [[MODELS.chat], { owner: "gina" }, null]);
});

test("admin: PATCH sets, keeps (field left out) and clears (null) each field; a plan change re-checks the allowlist", async () => {
  const { id } = await createKey({ name: "hal", models: [MODELS.gemini], metadata: { owner: "hal" } });
  const expires = new Date(Date.now() + 7200_000).toISOString().replace(/\.\d+Z$/, "Z");
  const set = await gw.admin("PATCH", `/admin/keys/${id}`, { body: { expires_at: expires, allowed_ips: ["192.0.2.0/24"] } });
  assert.equal(set.status, 200, set.text);
  assert.deepEqual([set.json.expires_at, set.json.allowed_ips, set.json.models, set.json.metadata], [expires, ["192.0.2.0/24"], [MODELS.gemini], { owner: "hal" }]);

  const toNoGemini = await gw.admin("PATCH", `/admin/keys/${id}`, { body: { plan: "no-gemini" } });
  assert.equal(toNoGemini.status, 400, "the allowlist would name nothing of the new plan");
  assert.equal(toNoGemini.json.error.param, "models[0]");
  const moved = await gw.admin("PATCH", `/admin/keys/${id}`, { body: { plan: "no-gemini", models: [MODELS.chat] } });
  assert.equal(moved.status, 200, moved.text);
  assert.deepEqual([moved.json.plan, moved.json.models], ["no-gemini", [MODELS.chat]]);

  const renamed = await gw.admin("PATCH", `/admin/keys/${id}`, { body: { name: "hal-2" } });
  assert.deepEqual([renamed.json.expires_at, renamed.json.allowed_ips, renamed.json.models, renamed.json.metadata], [expires, ["192.0.2.0/24"], [MODELS.chat], { owner: "hal" }], "left out: kept");

  const cleared = await gw.admin("PATCH", `/admin/keys/${id}`, { body: { expires_at: null, allowed_ips: null, models: null, metadata: null } });
  assert.equal(cleared.status, 200);
  assert.deepEqual([cleared.json.expires_at, cleared.json.allowed_ips, cleared.json.models, cleared.json.metadata], [null, null, null, {}]);
  const shown = await gw.admin("GET", `/admin/keys/${id}`);
  assert.deepEqual([shown.json.expires_at, shown.json.allowed_ips, shown.json.models, shown.json.metadata], [null, null, null, {}]);
});

test("admin: a key with long notes and many rules (over KV's 1 KiB list metadata) is stored and listed whole", async () => {
  const metadata = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`field${i}`, `${i}:`.padEnd(1000, "x")]));
  const allowed_ips = Array.from({ length: 32 }, (_, i) => `10.${i}.0.0/16`);
  const created = await createKey({ name: "big", metadata, allowed_ips });
  const listed = (await gw.admin("GET", "/admin/keys")).json.data.find((k) => k.id === created.id);
  assert.deepEqual(listed.metadata, metadata);
  assert.deepEqual(listed.allowed_ips, allowed_ips);
  const res = await call(ENDPOINTS[0], created.key, { ip: "10.31.2.3" });
  assert.equal(res.status, 200, res.text);
});

// ------------------------------------------------------------------------------------------ expiry

test("an expired key is 401 on every keyed endpoint, saying when it expired, in each format's shape", async () => {
  // Long enough for one call to every endpoint first.
  const expiresAt = new Date(Date.now() + 5000).toISOString();
  const { key, expires_at } = await createKey({ name: "expiring", expires_at: expiresAt });
  // Before: every endpoint works (and the record is now cached in the isolate).
  for (const endpoint of ENDPOINTS) await assertPasses(endpoint, await call(endpoint, key));
  const wait = Date.parse(expires_at) - Date.now() + 50;
  if (wait > 0) await sleep(wait);
  for (const endpoint of ENDPOINTS) {
    const res = await call(endpoint, key);
    assertError(endpoint, res, 401, { message: `This API key expired at ${expires_at}`, code: "key_expired" });
  }
});

test("extending an expired key with PATCH brings it back on the next request", async () => {
  const { id, key, expires_at } = await createKey({ name: "renew", expires_at: new Date(Date.now() + 1500).toISOString() });
  await sleep(Date.parse(expires_at) - Date.now() + 50);
  assert.equal((await call(ENDPOINTS[0], key)).status, 401);
  const later = new Date(Date.now() + 3600_000).toISOString();
  const patched = await gw.admin("PATCH", `/admin/keys/${id}`, { body: { expires_at: later } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal((await call(ENDPOINTS[0], key)).status, 200);
});

// ------------------------------------------------------------------------------------------ client IP ranges

test("a call from outside the key's ranges is 403 on every keyed endpoint, naming the rules; inside them it passes", async () => {
  const { key } = await createKey({ name: "office", allowed_ips: ["203.0.113.0/24", "2001:db8::/32"] });
  for (const endpoint of ENDPOINTS) {
    const outside = await call(endpoint, key, { ip: "198.51.100.9" });
    assertError(endpoint, outside, 403, {
      message: "only accepts calls from 203.0.113.0/24, 2001:db8::/32 (its `allowed_ips`); this call came from 198.51.100.9",
      code: "ip_not_allowed",
    });
    const outsideV6 = await call(endpoint, key, { ip: "2001:db9::1" });
    assertError(endpoint, outsideV6, 403, { message: "this call came from 2001:db9::1" });
    // Miniflare's own address for a local caller (127.0.0.1) is outside too.
    const local = await call(endpoint, key);
    assertError(endpoint, local, 403, { message: "this call came from 127.0.0.1" });
    for (const ip of ["203.0.113.200", "2001:db8:1::5", "::ffff:203.0.113.7"]) {
      await assertPasses(endpoint, await call(endpoint, key, { ip }));
    }
  }
});

test("an unreadable client address fails closed for a key with ranges, and does not matter to one without", async () => {
  const { key: ranged } = await createKey({ name: "ranged", allowed_ips: ["203.0.113.0/24"] });
  const { key: open } = await createKey({ name: "open" });
  for (const ip of ["not-an-address", "203.0.113.5, 10.0.0.1"]) {
    assertError(ENDPOINTS[0], await call(ENDPOINTS[0], ranged, { ip }), 403, { message: "could not tell this call's address" });
    const passed = await call(ENDPOINTS[0], open, { ip });
    assert.equal(passed.status, 200, passed.text);
  }
});

test("changing the ranges with PATCH applies to the next request", async () => {
  const { id, key } = await createKey({ name: "moving" });
  assert.equal((await call(ENDPOINTS[0], key, { ip: "192.0.2.1" })).status, 200, "warm: the key is cached");
  await gw.admin("PATCH", `/admin/keys/${id}`, { body: { allowed_ips: ["198.51.100.0/24"] } });
  assert.equal((await call(ENDPOINTS[0], key, { ip: "192.0.2.1" })).status, 403);
  assert.equal((await call(ENDPOINTS[0], key, { ip: "198.51.100.1" })).status, 200);
  await gw.admin("PATCH", `/admin/keys/${id}`, { body: { allowed_ips: null } });
  assert.equal((await call(ENDPOINTS[0], key, { ip: "192.0.2.1" })).status, 200);
});

// ------------------------------------------------------------------------------------------ model allowlist

test("the key's allowlist narrows every model endpoint: 403 naming it for calls, hidden from listings", async () => {
  const { key } = await createKey({ name: "narrow", models: ["m-a*", MODELS.responses] });
  const allowed = [MODELS.anthropic, MODELS.responses];
  const refused = [MODELS.chat, MODELS.gemini];
  for (const endpoint of ENDPOINTS) {
    if (endpoint.model && !endpoint.get) {
      for (const model of allowed) await assertPasses(endpoint, await call(endpoint, key, { model }));
      for (const model of refused) {
        const res = await call(endpoint, key, { model });
        assertError(endpoint, res, 403, {
          message: `Your key is limited to the models \`m-a*\`, \`${MODELS.responses}\` (its \`models\` allowlist), which do not include \`${model}\``,
          code: "model_not_allowed",
        });
        if (endpoint.shape === "openai") assert.equal(res.json.error.param, "model");
      }
    } else if (endpoint.get) {
      // One model by id: what the plan's restriction answers there too (404, not listed).
      for (const model of allowed) await assertPasses(endpoint, await call(endpoint, key, { model }));
      for (const model of refused) assertError(endpoint, await call(endpoint, key, { model }), 404, { message: "your plan or key does not include it" });
    } else if (endpoint.list) {
      const res = await call(endpoint, key);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(endpoint.list(res.json).filter((id) => Object.values(MODELS).includes(id)).sort(), allowed.sort(), endpoint.name);
    } else {
      await assertPasses(endpoint, await call(endpoint, key));
    }
  }
  const usage = await call(ENDPOINTS.find((e) => e.name === "usage"), key);
  assert.deepEqual(usage.json.policy, { expires_at: null, models: ["m-a*", MODELS.responses], allowed_ips: null });
});

test("a key never widens its plan: the plan's refusal stands for models the key names", async () => {
  // On a plan without m-gemini, a glob naming it too is allowed (it matches plan models) but
  // m-gemini stays refused, by the plan, and unlisted.
  const { key } = await createKey({ name: "glob", plan: "no-gemini", models: ["m-*"] });
  const chat = ENDPOINTS[0];
  const res = await call(chat, key, { model: MODELS.gemini });
  assertError(chat, res, 403, { message: "Your plan `no-gemini` does not include the model `m-gemini`" });
  assert.equal((await call(chat, key, { model: MODELS.chat })).status, 200);
  const list = await call(ENDPOINTS.find((e) => e.name === "openai models"), key);
  assert.ok(!list.json.data.some((m) => m.id === MODELS.gemini));
  // Both refusals are the same status and type.
  const { key: narrow } = await createKey({ name: "narrow2", plan: "no-gemini", models: [MODELS.chat] });
  const byKey = await call(chat, narrow, { model: MODELS.anthropic });
  assert.equal(byKey.status, res.status);
  assert.equal(byKey.json.error.type, res.json.error.type);
});

test("changing the allowlist with PATCH applies to the next request", async () => {
  const { id, key } = await createKey({ name: "switch" });
  const chat = ENDPOINTS[0];
  assert.equal((await call(chat, key, { model: MODELS.chat })).status, 200);
  await gw.admin("PATCH", `/admin/keys/${id}`, { body: { models: [MODELS.anthropic] } });
  assert.equal((await call(chat, key, { model: MODELS.chat })).status, 403);
  assert.equal((await call(chat, key, { model: MODELS.anthropic })).status, 200);
});

// ------------------------------------------------------------------------------------------ the official SDKs

const SDK_RULES = [
  { rule: "expired", status: 401, message: /This API key expired at \d{4}-/, openai: OpenAI.AuthenticationError, anthropic: Anthropic.AuthenticationError, anthropicType: "authentication_error", code: "key_expired" },
  { rule: "ip", status: 403, message: /only accepts calls from 203\.0\.113\.0\/24 \(its `allowed_ips`\)/, openai: OpenAI.PermissionDeniedError, anthropic: Anthropic.PermissionDeniedError, anthropicType: "permission_error", code: "ip_not_allowed" },
  { rule: "model", status: 403, message: /limited to the models `m-anthropic` \(its `models` allowlist\), which do not include `m-chat`/, openai: OpenAI.PermissionDeniedError, anthropic: Anthropic.PermissionDeniedError, anthropicType: "permission_error", code: "model_not_allowed" },
];

/** Sends one call (streamed or not) with `client`'s SDK from `ip`; resolves with the error. */
async function sdkError(client, key, { ip, stream }) {
  const headers = { "cf-connecting-ip": ip };
  const model = MODELS.chat;
  try {
    if (client === "gemini") {
      const ai = gw.geminiClient(key, { httpOptions: { headers } });
      const body = { model, contents: "hi" };
      if (stream) for await (const _ of await ai.models.generateContentStream(body));
      else await ai.models.generateContent(body);
    } else if (client === "anthropic") {
      const anthropic = gw.anthropicClient(key, { defaultHeaders: headers });
      const body = { model, max_tokens: 16, messages: [{ role: "user", content: "hi" }] };
      if (stream) await anthropic.messages.stream(body).finalMessage();
      else await anthropic.messages.create(body);
    } else {
      const openai = gw.openaiClient(key, { defaultHeaders: headers });
      const api = client === "chat" ? openai.chat.completions : openai.responses;
      const body = client === "chat" ? { model, messages: [{ role: "user", content: "hi" }] } : { model, input: "hi" };
      if (stream) for await (const _ of await api.create({ ...body, stream: true }));
      else await api.create(body);
    }
  } catch (e) {
    return e;
  }
  assert.fail(`${client}: the call succeeded`);
}

test("each rule's refusal is the right error class and body through every official SDK, streamed or not", async () => {
  const expired = await createKey({ name: "sdk-expired", expires_at: new Date(Date.now() + 1500).toISOString() });
  const ranged = await createKey({ name: "sdk-ip", allowed_ips: ["203.0.113.0/24"] });
  const narrow = await createKey({ name: "sdk-model", models: [MODELS.anthropic] });
  await sleep(Date.parse(expired.expires_at) - Date.now() + 50);
  const keys = { expired: expired.key, ip: ranged.key, model: narrow.key };
  for (const rule of SDK_RULES) {
    for (const client of ["chat", "responses", "anthropic", "gemini"]) {
      for (const stream of [false, true]) {
        const where = `${rule.rule} / ${client}${stream ? " stream" : ""}`;
        const ip = rule.rule === "ip" ? "198.51.100.9" : "203.0.113.1";
        const e = await sdkError(client, keys[rule.rule], { ip, stream });
        assert.equal(e.status, rule.status, `${where}: ${e.message}`);
        if (client === "gemini") {
          assert.ok(e instanceof GeminiApiError, where);
          const body = JSON.parse(e.message);
          assert.equal(body.error.code, rule.status, where);
          assert.equal(body.error.status, GOOGLE_STATUS[rule.status], where);
          assert.match(body.error.message, rule.message, where);
        } else if (client === "anthropic") {
          assert.ok(e instanceof rule.anthropic, `${where}: ${e.constructor.name}`);
          assert.equal(e.error.error.type, rule.anthropicType, where);
          assert.match(e.error.error.message, rule.message, where);
        } else {
          assert.ok(e instanceof rule.openai, `${where}: ${e.constructor.name}`);
          assert.equal(e.error.code, rule.code, where);
          assert.match(e.error.message, rule.message, where);
        }
      }
    }
  }
});

// ------------------------------------------------------------------------------------------ privacy

test("a key holder sees its own policy in /v1/usage and never the operator's metadata or other keys' rules", async () => {
  const a = await createKey({ name: "a", allowed_ips: ["203.0.113.0/24"], metadata: { owner: "secret-owner-a", note: "internal note" } });
  const b = await createKey({ name: "b", models: [MODELS.chat], metadata: { owner: "secret-owner-b" } });
  const usage = ENDPOINTS.find((e) => e.name === "usage");
  const ua = await call(usage, a.key, { ip: "203.0.113.1" });
  assert.equal(ua.status, 200, ua.text);
  assert.deepEqual(ua.json.policy, { expires_at: null, models: null, allowed_ips: ["203.0.113.0/24"] });
  const ub = await call(usage, b.key);
  assert.deepEqual(ub.json.policy, { expires_at: null, models: [MODELS.chat], allowed_ips: null });
  for (const res of [ua, ub]) {
    assert.ok(!res.text.includes("secret-owner") && !res.text.includes("internal note"), "no metadata");
  }
  assert.ok(!ub.text.includes("203.0.113.0/24"), "not a's rules");
  const refused = await call(ENDPOINTS[0], a.key, { ip: "198.51.100.1" });
  assert.ok(!refused.text.includes("secret-owner"), "refusals carry no metadata");
});
