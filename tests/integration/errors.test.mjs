// The error table (README, "Limits, quota and errors") in each client format: status, body
// shape, the SDK's error class, x-request-id, Retry-After where the table asks for it; and
// upstream failures mapped to the gateway's statuses with their meaning kept.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { ApiError as GeminiApiError } from "@google/genai";

import { startGateway, MODELS, DEFAULT_PLANS, FORMAT_NAMES, UPSTREAM_SECRET } from "../support/gateway.mjs";
import { FORMATS, ERROR_MESSAGES, RETRY_AFTER_S } from "../support/mock-upstream.mjs";
import { CLIENTS } from "../support/clients.mjs";

const MAX_BODY_BYTES = 4096;
const TIMEOUT_MS = 300;
/** Models whose provider gives up waiting for headers after TIMEOUT_MS. */
const TIMEOUT_MODELS = { chat: "m-chat-timeout", anthropic: "m-anthropic-timeout", responses: "m-responses-timeout", gemini: "m-gemini-timeout" };

let gw;
let key;
let chatOnlyKey;

before(async () => {
  gw = await startGateway({
    config: (mock) => {
      const base = {
        gateway: { max_body_bytes: MAX_BODY_BYTES },
        plans: [...DEFAULT_PLANS, { ...DEFAULT_PLANS[0], id: "chat-only", models: [MODELS.chat] }],
      };
      // Each test reads one failure's mapping: breakers, which would skip an upstream after
      // the previous test's failures, are off (the resilience suite tests them).
      const breaker = { enabled: false };
      return {
        ...base,
        providers: FORMATS.flatMap((f) => [
          { id: `p-${f}`, format: FORMAT_NAMES[f], base_url: mock.baseUrl(f), keys: [UPSTREAM_SECRET], breaker },
          { id: `p-${f}-timeout`, format: FORMAT_NAMES[f], base_url: mock.baseUrl(f), keys: [UPSTREAM_SECRET], timeout_ms: TIMEOUT_MS, answer_timeout_ms: TIMEOUT_MS, breaker },
        ]),
        models: FORMATS.flatMap((f) => [
          { id: MODELS[f], provider: `p-${f}`, upstream: `up-${f}` },
          { id: TIMEOUT_MODELS[f], provider: `p-${f}-timeout`, upstream: `up-${f}` },
        ]),
      };
    },
  });
  key = (await gw.createKey()).key;
  chatOnlyKey = (await gw.createKey("chat-only")).key;
});
after(async () => {
  await gw?.close();
});

const ENDPOINT = { chat: "/v1/chat/completions", anthropic: "/v1/messages", responses: "/v1/responses" };

/** The path a raw request of `client` format goes to (Gemini names the model in it). */
function endpoint(client, model) {
  return client === "gemini" ? `/v1beta/models/${model}:generateContent` : ENDPOINT[client];
}

/** A minimal valid body in `client` format, as sent on the wire. */
function rest(client, model, text = "hi") {
  return client === "gemini" ? { contents: [{ role: "user", parts: [{ text }] }] } : minimal(client, model, text);
}

/** A minimal valid request in `client` format (for Gemini, what `ai.models.*` takes). */
function minimal(client, model, text = "hi", extra = {}) {
  if (client === "gemini") return { model, contents: text, ...extra };
  if (client === "responses") return { model, input: text, ...extra };
  if (client === "anthropic") return { model, max_tokens: 64, messages: [{ role: "user", content: text }], ...extra };
  return { model, messages: [{ role: "user", content: text }], ...extra };
}

/** Sends `body` with the client's SDK; resolves with the error it raised. */
async function sdkError(client, body, { apiKey = key, stream = false } = {}) {
  // The Gemini SDK's errors carry no headers: its fetch keeps the last response's.
  let geminiHeaders = null;
  try {
    if (client === "gemini") {
      const ai = gw.geminiClient(apiKey, {
        httpOptions: {
          fetch: async (url, init) => {
            const response = await fetch(url, init);
            geminiHeaders = response.headers;
            return response;
          },
        },
      });
      if (stream) {
        for await (const _ of await ai.models.generateContentStream(body));
      } else {
        await ai.models.generateContent(body);
      }
    } else if (client === "anthropic") {
      const anthropic = gw.anthropicClient(apiKey);
      if (stream) await anthropic.messages.stream(body).finalMessage();
      else await anthropic.messages.create(body);
    } else {
      const openai = gw.openaiClient(apiKey);
      const api = client === "chat" ? openai.chat.completions : openai.responses;
      if (stream) {
        const s = await api.create({ ...body, stream: true });
        for await (const _ of s);
      } else {
        await api.create(body);
      }
    }
  } catch (e) {
    if (client === "gemini") e.headers = geminiHeaders;
    return e;
  }
  assert.fail("the call succeeded");
}

/** Google's `status` per HTTP status, as the gateway renders its errors. */
const GOOGLE_STATUS = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 402: "RESOURCE_EXHAUSTED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED" };

/** The Google error body an `@google/genai` ApiError carries (its message is the body). */
function geminiBody(e) {
  return JSON.parse(e.message);
}

const OPENAI_CLASSES = { 400: OpenAI.BadRequestError, 401: OpenAI.AuthenticationError, 403: OpenAI.PermissionDeniedError, 404: OpenAI.NotFoundError, 429: OpenAI.RateLimitError };
const ANTHROPIC_CLASSES = { 400: Anthropic.BadRequestError, 401: Anthropic.AuthenticationError, 403: Anthropic.PermissionDeniedError, 404: Anthropic.NotFoundError, 429: Anthropic.RateLimitError };

/**
 * Checks an SDK error against one row of the table. `expected`: { status, openai: { type, code,
 * param? }, anthropic: type, message?: RegExp | string (contained) }.
 */
function checkSdkError(client, e, expected) {
  assert.equal(e.status, expected.status, `status (${e.message})`);
  const requestId = e.headers?.get("x-request-id");
  assert.match(requestId ?? "", /\S/, "x-request-id");
  if (client === "gemini") {
    assert.ok(e instanceof GeminiApiError, `${e.constructor.name} is not ApiError`);
    const body = geminiBody(e);
    assert.deepEqual(Object.keys(body), ["error"]);
    assert.deepEqual(Object.keys(body.error).sort(), ["code", "details", "message", "status"]);
    assert.equal(body.error.code, expected.status);
    assert.equal(body.error.status, GOOGLE_STATUS[expected.status]);
    const info = body.error.details.find((d) => d["@type"] === "type.googleapis.com/google.rpc.ErrorInfo");
    assert.equal(info.metadata.request_id, requestId, "ErrorInfo request_id = x-request-id");
    const param = expected.openai?.param;
    if (param) {
      const violations = body.error.details.find((d) => d["@type"] === "type.googleapis.com/google.rpc.BadRequest");
      assert.equal(violations?.fieldViolations[0].field, param);
    }
    if (e.headers.get("retry-after")) {
      const retry = body.error.details.find((d) => d["@type"] === "type.googleapis.com/google.rpc.RetryInfo");
      assert.equal(retry?.retryDelay, `${e.headers.get("retry-after")}s`, "RetryInfo says what Retry-After says");
    }
    checkMessage(body.error.message, expected.message);
    return;
  }
  if (client === "anthropic") {
    const cls = ANTHROPIC_CLASSES[expected.status] ?? (expected.status >= 500 ? Anthropic.InternalServerError : Anthropic.APIError);
    assert.ok(e instanceof cls, `${e.constructor.name} is not ${cls.name}`);
    assert.equal(e.error.type, "error");
    assert.deepEqual(Object.keys(e.error.error).sort(), ["message", "type"]);
    assert.equal(e.error.error.type, expected.anthropic);
    assert.equal(e.error.request_id, requestId, "body request_id = x-request-id");
    checkMessage(e.error.error.message, expected.message);
  } else {
    const cls = OPENAI_CLASSES[expected.status] ?? (expected.status >= 500 ? OpenAI.InternalServerError : OpenAI.APIError);
    assert.ok(e instanceof cls, `${e.constructor.name} is not ${cls.name}`);
    assert.deepEqual(Object.keys(e.error).sort(), ["code", "message", "param", "type"]);
    assert.equal(e.error.type, expected.openai.type);
    assert.equal(e.error.code, expected.openai.code);
    if ("param" in expected.openai) assert.equal(e.error.param, expected.openai.param);
    checkMessage(e.error.message, expected.message);
  }
}

/** The error's message does not quote `words` (the upstream's, about the operator's account). */
function assertNotQuoted(client, e, words) {
  const message = client === "gemini" ? geminiBody(e).error.message : client === "anthropic" ? e.error.error.message : e.error.message;
  assert.ok(!message.includes(words), `${JSON.stringify(message)} quotes the upstream`);
}

function checkMessage(message, expected) {
  assert.equal(typeof message, "string");
  assert.ok(message.length > 0);
  if (expected instanceof RegExp) assert.match(message, expected);
  else if (typeof expected === "string") assert.ok(message.includes(expected), `${JSON.stringify(message)} should contain ${JSON.stringify(expected)}`);
}

// ------------------------------------------------------------------------------------------ requests the gateway refuses

for (const client of CLIENTS) {
  test(`${client}: malformed JSON is 400 invalid_request_error`, async () => {
    gw.mock.reset();
    const res = await gw.request("POST", endpoint(client, MODELS.chat), { body: '{"model": "m-chat", "messages": [', headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 400);
    assert.match(res.headers.get("x-request-id") ?? "", /\S/);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    if (client === "anthropic") {
      assert.equal(res.json.type, "error");
      assert.deepEqual(Object.keys(res.json.error).sort(), ["message", "type"]);
      assert.equal(res.json.error.type, "invalid_request_error");
      assert.equal(res.json.request_id, res.headers.get("x-request-id"));
    } else if (client === "gemini") {
      assert.deepEqual(Object.keys(res.json), ["error"]);
      assert.deepEqual(Object.keys(res.json.error).sort(), ["code", "details", "message", "status"]);
      assert.deepEqual([res.json.error.code, res.json.error.status], [400, "INVALID_ARGUMENT"]);
    } else {
      assert.deepEqual(Object.keys(res.json), ["error"]);
      assert.deepEqual(Object.keys(res.json.error).sort(), ["code", "message", "param", "type"]);
      assert.equal(res.json.error.type, "invalid_request_error");
    }
    assert.match(client === "anthropic" ? res.json.error.message : res.json.error.message, /JSON/);
    assert.equal(gw.mock.requests.length, 0, "nothing reached the upstream");
  });
}

const INVALID = {
  chat: [
    ["messages of the wrong type", { model: MODELS.chat, messages: "hi" }, "messages"],
    ["temperature of the wrong type", { model: MODELS.chat, messages: [{ role: "user", content: "hi" }], temperature: "hot" }, "temperature"],
    ["missing model", { messages: [{ role: "user", content: "hi" }] }, "model"],
    ["missing messages", { model: MODELS.chat }, "messages"],
  ],
  responses: [
    ["input of the wrong type", { model: MODELS.chat, input: 5 }, "input"],
    ["temperature of the wrong type", { model: MODELS.chat, input: "hi", temperature: "hot" }, "temperature"],
    ["missing model", { input: "hi" }, "model"],
  ],
  anthropic: [
    ["max_tokens of the wrong type", { model: MODELS.chat, max_tokens: "10", messages: [{ role: "user", content: "hi" }] }, "max_tokens"],
    ["temperature of the wrong type", { model: MODELS.chat, max_tokens: 10, temperature: "hot", messages: [{ role: "user", content: "hi" }] }, "temperature"],
    ["missing model", { max_tokens: 10, messages: [{ role: "user", content: "hi" }] }, "model"],
    ["missing messages", { model: MODELS.chat, max_tokens: 10 }, "messages"],
    ["missing max_tokens", { model: MODELS.chat, messages: [{ role: "user", content: "hi" }] }, "max_tokens"],
  ],
  gemini: [
    ["more than one candidate", { model: MODELS.chat, contents: "hi", config: { candidateCount: 2 } }, "generationConfig.candidateCount"],
    ["temperature of the wrong type", { model: MODELS.chat, contents: "hi", config: { temperature: "hot" } }, "generationConfig.temperature"],
    ["a role Gemini does not have", { model: MODELS.chat, contents: [{ role: "system", parts: [{ text: "hi" }] }] }, "contents[0].role"],
    ["both a thinking budget and a level", { model: MODELS.chat, contents: "hi", config: { thinkingConfig: { thinkingBudget: 1024, thinkingLevel: "LOW" } } }, "generationConfig.thinkingConfig"],
  ],
};
for (const client of CLIENTS) {
  for (const [label, body, field] of INVALID[client]) {
    test(`${client}: ${label} is 400 naming \`${field}\``, async () => {
      gw.mock.reset();
      const e = await sdkError(client, body);
      checkSdkError(client, e, {
        status: 400,
        openai: { type: "invalid_request_error", code: null, param: field },
        anthropic: "invalid_request_error",
        message: field,
      });
      assert.equal(gw.mock.requests.length, 0, "nothing reached the upstream");
    });
  }
}

for (const client of CLIENTS) {
  test(`${client}: an unknown model is 404 model_not_found`, async () => {
    const e = await sdkError(client, minimal(client, "no-such-model"));
    checkSdkError(client, e, { status: 404, openai: { type: "not_found_error", code: "model_not_found", param: "model" }, anthropic: "not_found_error", message: "no-such-model" });
  });

  test(`${client}: a model outside the key's plan is 403`, async () => {
    const e = await sdkError(client, minimal(client, MODELS.anthropic), { apiKey: chatOnlyKey });
    checkSdkError(client, e, { status: 403, openai: { type: "permission_error", code: null, param: "model" }, anthropic: "permission_error", message: MODELS.anthropic });
    // The same key may call the plan's model.
    const ok = await gw.request("POST", endpoint(client, MODELS.chat), { body: rest(client, MODELS.chat), headers: { authorization: `Bearer ${chatOnlyKey}` } });
    assert.equal(ok.status, 200);
  });

  test(`${client}: a body over max_body_bytes is 413`, async () => {
    gw.mock.reset();
    const e = await sdkError(client, minimal(client, MODELS.chat, "x".repeat(MAX_BODY_BYTES + 100)));
    checkSdkError(client, e, { status: 413, openai: { type: "invalid_request_error", code: "request_too_large" }, anthropic: "request_too_large", message: String(MAX_BODY_BYTES) });
    assert.equal(gw.mock.requests.length, 0);
    // Just under the limit passes.
    const body = rest(client, MODELS.chat, "");
    const pad = MAX_BODY_BYTES - JSON.stringify(body).length;
    const fits = await gw.request("POST", endpoint(client, MODELS.chat), { body: rest(client, MODELS.chat, "y".repeat(pad)), headers: { authorization: `Bearer ${key}` } });
    assert.equal(fits.status, 200, fits.text);
  });

  test(`${client}: a missing or unknown key is 401`, async () => {
    const missing = await gw.request("POST", endpoint(client, MODELS.chat), { body: rest(client, MODELS.chat) });
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get("x-request-id") ?? "", /\S/);
    if (client === "anthropic") assert.equal(missing.json.error.type, "authentication_error");
    else if (client === "gemini") assert.deepEqual([missing.json.error.status, missing.json.error.details[0].reason], ["UNAUTHENTICATED", "API_KEY_INVALID"]);
    else assert.deepEqual([missing.json.error.type, missing.json.error.code], ["authentication_error", "invalid_api_key"]);
    const unknown = await sdkError(client, minimal(client, MODELS.chat), { apiKey: `toc-${"A1b2C3d4E5".repeat(5)}` });
    checkSdkError(client, unknown, { status: 401, openai: { type: "authentication_error", code: "invalid_api_key" }, anthropic: "authentication_error" });
    const malformedKey = await sdkError(client, minimal(client, MODELS.chat), { apiKey: "sk-not-a-gateway-key" });
    checkSdkError(client, malformedKey, { status: 401, openai: { type: "authentication_error", code: "invalid_api_key" }, anthropic: "authentication_error" });
  });
}

// ------------------------------------------------------------------------------------------ upstream failures

const OVERLOADED_SCENARIO = { chat: "error_503", anthropic: "error_529", responses: "error_503", gemini: "error_503" };

for (const client of CLIENTS) {
  for (const upstream of FORMATS) {
    test(`${client} client ← ${upstream} upstream: upstream 500 is 502, overloaded is 503 with Retry-After, 429 keeps Retry-After, none with the vendor's words`, async () => {
      const model = MODELS[upstream];
      const failed = await sdkError(client, minimal(client, model, "[scenario:error_500]"));
      checkSdkError(client, failed, { status: 502, openai: { type: "server_error", code: "upstream_error" }, anthropic: "api_error", message: /could not serve this model for the gateway \(HTTP 500\)/ });
      assertNotQuoted(client, failed, ERROR_MESSAGES.server[upstream]);

      const overloaded = await sdkError(client, minimal(client, model, `[scenario:${OVERLOADED_SCENARIO[upstream]}]`));
      checkSdkError(client, overloaded, { status: 503, openai: { type: "server_error", code: "overloaded" }, anthropic: "overloaded_error", message: /The upstream provider is overloaded/ });
      assert.match(overloaded.headers.get("retry-after") ?? "", /^[1-9]\d*$/, "503 carries Retry-After");
      assertNotQuoted(client, overloaded, ERROR_MESSAGES.overloaded[upstream]);

      // The upstream's rate-limit message names the operator's organisation and its limits.
      const limited = await sdkError(client, minimal(client, model, "[scenario:error_429]"));
      checkSdkError(client, limited, { status: 429, openai: { type: "rate_limit_error", code: "rate_limit_exceeded" }, anthropic: "rate_limit_error", message: /rate limiting the gateway/ });
      assert.equal(limited.headers.get("retry-after"), String(RETRY_AFTER_S), "the upstream's Retry-After is kept");
      assertNotQuoted(client, limited, "org-mock");
      assertNotQuoted(client, limited, "30000");
    });

    test(`${client} client ← ${upstream} upstream: a context overflow keeps its meaning`, async () => {
      const e = await sdkError(client, minimal(client, MODELS[upstream], "[scenario:error_400]"));
      if (client === "anthropic") {
        checkSdkError(client, e, { status: 400, anthropic: "invalid_request_error", message: /^prompt is too long/ });
        assert.ok(e.error.error.message.includes(ERROR_MESSAGES.overflow[upstream]), e.error.error.message);
      } else if (client === "gemini") {
        // Google's words for an overflow, with the upstream's own after them.
        checkSdkError(client, e, { status: 400, message: /^The input token count/ });
        assert.ok(geminiBody(e).error.message.includes(ERROR_MESSAGES.overflow[upstream]), e.message);
        assert.equal(geminiBody(e).error.details[0].reason, "CONTEXT_LENGTH_EXCEEDED");
      } else {
        checkSdkError(client, e, { status: 400, openai: { type: "invalid_request_error", code: "context_length_exceeded" }, message: ERROR_MESSAGES.overflow[upstream] });
      }
    });
  }

  test(`${client}: an upstream that never sends headers is 504 after timeout_ms, and the upstream call is aborted`, async () => {
    const upstream = { chat: "anthropic", anthropic: "responses", responses: "gemini", gemini: "chat" }[client];
    gw.mock.reset();
    const started = Date.now();
    const e = await sdkError(client, minimal(client, TIMEOUT_MODELS[upstream], "[scenario:hang_headers]"));
    const elapsed = Date.now() - started;
    checkSdkError(client, e, { status: 504, openai: { type: "server_error", code: "timeout" }, anthropic: "timeout_error" });
    assert.ok(elapsed >= TIMEOUT_MS && elapsed < TIMEOUT_MS + 2000, `answered after ${elapsed} ms`);
    const seen = await gw.mock.waitFor((r) => r.scenario === "hang_headers" && r.endedAt !== null, 3000);
    assert.equal(seen.aborted, true);
  });

  test(`${client}: upstream errors on a streaming request are HTTP errors before the stream`, async () => {
    const upstream = { chat: "responses", anthropic: "gemini", responses: "anthropic", gemini: "chat" }[client];
    const e = await sdkError(client, minimal(client, MODELS[upstream], "[scenario:error_500]"), { stream: true });
    checkSdkError(client, e, { status: 502, openai: { type: "server_error", code: "upstream_error" }, anthropic: "api_error", message: /could not serve this model/ });
    const limited = await sdkError(client, minimal(client, MODELS[upstream], "[scenario:error_429]"), { stream: true });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), String(RETRY_AFTER_S));
  });
}

test("unknown paths and wrong methods answer in the OpenAI shape with x-request-id", async () => {
  const unknown = await gw.request("GET", "/v1/nothing-here", { headers: { authorization: `Bearer ${key}` } });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.type, "not_found_error");
  assert.match(unknown.headers.get("x-request-id") ?? "", /\S/);
  const wrongMethod = await gw.request("GET", "/v1/chat/completions", { headers: { authorization: `Bearer ${key}` } });
  assert.equal(wrongMethod.status, 405);
  assert.match(wrongMethod.headers.get("x-request-id") ?? "", /\S/);
});
