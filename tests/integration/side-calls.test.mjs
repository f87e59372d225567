// What agent clients send besides their main turns, and the headers they carry: anthropic-beta
// flags per upstream (allowlist, a 400 naming flags retried once without them, flags that change
// the meaning of a request reported for other vendors), model aliases for Claude Code's
// background calls, Codex's WebSocket attempt, and images inside tool results.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";

import { startGateway, gatewayConfig, MODELS } from "../support/gateway.mjs";

const ACCEPTED = ["claude-code-20250219", "interleaved-thinking-2025-05-14"];
const CLAUDE_CODE_BETAS = "claude-code-20250219,interleaved-thinking-2025-05-14,context-1m-2025-08-07,prompt-caching-scope-2026-01-05,oauth-2025-04-20";
// A 1x1 PNG.
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

let gw;
let key;

before(async () => {
  gw = await startGateway({
    mockOptions: { acceptedBetas: ACCEPTED },
    config: (mock) => ({
      ...gatewayConfig(mock, { extraModels: [{ id: "claude-haiku-4-5", provider: "p-chat", upstream: "small-up", display_name: "Small" }] }),
      aliases: [
        { id: "claude-haiku-4-5-20251001", model: "claude-haiku-4-5" },
        { id: "claude-haiku-4-5-*", model: "claude-haiku-4-5" },
        { id: "claude-3-5-haiku-*", model: "claude-haiku-4-5" },
      ],
    }),
  });
  key = (await gw.createKey()).key;
});
after(async () => {
  await gw?.close();
});

const anthropicHeaders = (betas) => ({ "x-api-key": key, "anthropic-version": "2023-06-01", ...(betas ? { "anthropic-beta": betas } : {}) });

function message(model, extra = {}) {
  return { model, max_tokens: 64, messages: [{ role: "user", content: "Say hi" }], ...extra };
}

describe("anthropic-beta", () => {
  test("an Anthropic upstream gets the allowed flags; a 400 naming some is retried once without them, and they are not sent again", async () => {
    const before = gw.mock.requests.length;
    const res = await gw.request("POST", "/v1/messages?beta=true", { body: message(MODELS.anthropic), headers: anthropicHeaders(CLAUDE_CODE_BETAS) });
    assert.equal(res.status, 200, res.text);
    const sent = gw.mock.requests.slice(before).map((r) => r.headers["anthropic-beta"]);
    // oauth is not on the default allowlist; the mock account refuses context-1m and the caching scope.
    assert.deepEqual(sent, [
      "claude-code-20250219,interleaved-thinking-2025-05-14,context-1m-2025-08-07,prompt-caching-scope-2026-01-05",
      "claude-code-20250219,interleaved-thinking-2025-05-14",
    ]);
    const warnings = res.headers.get("x-toc-warnings") ?? "";
    for (const beta of ["oauth-2025-04-20", "context-1m-2025-08-07", "prompt-caching-scope-2026-01-05"]) {
      assert.ok(warnings.includes(`anthropic-beta(${beta})`), `${beta} reported dropped: ${warnings}`);
    }
    // The isolate remembers what the provider refused: one attempt from now on.
    const again = gw.mock.requests.length;
    const second = await gw.request("POST", "/v1/messages", { body: message(MODELS.anthropic), headers: anthropicHeaders(CLAUDE_CODE_BETAS) });
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(gw.mock.requests.slice(again).map((r) => r.headers["anthropic-beta"]), ["claude-code-20250219,interleaved-thinking-2025-05-14"]);
  });

  test("another vendor gets no flags; those that change the request's meaning are reported", async () => {
    const res = await gw.request("POST", "/v1/messages", { body: message(MODELS.responses), headers: anthropicHeaders(CLAUDE_CODE_BETAS) });
    assert.equal(res.status, 200, res.text);
    assert.equal(gw.mock.last().headers["anthropic-beta"], undefined);
    const warnings = res.headers.get("x-toc-warnings") ?? "";
    assert.match(warnings, /converted=[^;]*anthropic-beta\(interleaved-thinking-2025-05-14->native\)/);
    assert.match(warnings, /dropped=[^;]*anthropic-beta\(context-1m-2025-08-07\)/);
    assert.ok(!warnings.includes("claude-code-20250219"), warnings);
    const chat = await gw.request("POST", "/v1/messages", { body: message(MODELS.chat), headers: anthropicHeaders(CLAUDE_CODE_BETAS) });
    assert.match(chat.headers.get("x-toc-warnings") ?? "", /dropped=[^;]*anthropic-beta\(interleaved-thinking-2025-05-14\)/);
  });
});

describe("model aliases", () => {
  test("Claude Code's background Haiku call is served by the model an alias names, and the answer names the client's id", async () => {
    for (const id of ["claude-haiku-4-5-20251001", "claude-3-5-haiku-20241022", "claude-haiku-4-5[1m]"]) {
      const res = await gw.request("POST", "/v1/messages", { body: message(id), headers: anthropicHeaders() });
      assert.equal(res.status, 200, `${id}: ${res.text}`);
      assert.equal(res.json.model, id);
      assert.equal(gw.mock.last().body.model, "small-up", `${id} reached the aliased model's upstream`);
    }
    const stream = await gw.request("POST", "/v1/messages", { body: message("claude-haiku-4-5-20251001", { stream: true }), headers: anthropicHeaders() });
    assert.equal(stream.status, 200);
    assert.match(stream.text, /"model":"claude-haiku-4-5-20251001"/);
  });

  test("exact aliases are listed in /v1/models, globs resolve by id, unknown ids stay 404", async () => {
    const list = await gw.request("GET", "/v1/models?limit=1000", { headers: anthropicHeaders() });
    assert.equal(list.status, 200);
    const ids = list.json.data.map((m) => m.id);
    assert.ok(ids.includes("claude-haiku-4-5-20251001"), ids.join(","));
    assert.ok(!ids.some((id) => id.includes("*")), "globs are not listed");
    const one = await gw.request("GET", "/v1/models/claude-3-5-haiku-20241022", { headers: anthropicHeaders() });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.id, "claude-3-5-haiku-20241022");
    const unknown = await gw.request("POST", "/v1/messages", { body: message("gpt-nothing"), headers: anthropicHeaders() });
    assert.equal(unknown.status, 404);
  });

  test("count_tokens answers for an alias", async () => {
    const res = await gw.request("POST", "/v1/messages/count_tokens?beta=true", {
      body: { model: "claude-haiku-4-5-20251001", messages: [{ role: "user", content: "hi" }] },
      headers: anthropicHeaders(),
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json.input_tokens > 0);
  });
});

test("a WebSocket upgrade on /v1/responses gets 426, which sends Codex to HTTP at once", async () => {
  // fetch() will not send Upgrade headers; a raw handshake as Codex's client sends it.
  const { status, body } = await new Promise((resolve, reject) => {
    const req = http.get(`${gw.url}/v1/responses`, {
      headers: { authorization: `Bearer ${key}`, upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "openai-beta": "responses_websockets=2026-02-06" },
    });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("upgrade", () => reject(new Error("the gateway accepted a WebSocket")));
    req.on("error", reject);
  });
  assert.equal(status, 426, body);
  assert.equal(JSON.parse(body).error.code, "websocket_not_supported");
  // A plain GET of the path is still a 405.
  const get = await gw.fetch("/v1/responses", { headers: { authorization: `Bearer ${key}` } });
  assert.equal(get.status, 405);
});

test("an image inside a tool result reaches a Chat upstream in a user turn after the tool message, and the client is told", async () => {
  const body = {
    model: MODELS.chat,
    max_tokens: 64,
    tools: [{ name: "Read", description: "Read a file", input_schema: { type: "object", properties: { file_path: { type: "string" } } } }],
    messages: [
      { role: "user", content: "What is in shot.png?" },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "Read", input: { file_path: "shot.png" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: PNG } }] }] },
    ],
  };
  const res = await gw.request("POST", "/v1/messages", { body, headers: anthropicHeaders() });
  assert.equal(res.status, 200, res.text);
  const sent = gw.mock.last().body.messages;
  const tool = sent.findIndex((m) => m.role === "tool");
  assert.ok(tool > 0, JSON.stringify(sent));
  const after = sent[tool + 1];
  assert.equal(after.role, "user");
  assert.ok(after.content.some((p) => p.type === "image_url" && p.image_url.url.startsWith("data:image/png;base64,")));
  assert.match(res.headers.get("x-toc-warnings") ?? "", /tool_result_images->user_message/);
});


describe("Codex remote compaction (POST /v1/responses/compact)", () => {
  const history = [
    { type: "message", role: "developer", content: [{ type: "input_text", text: "You are Codex." }] },
    { type: "message", role: "user", content: [{ type: "input_text", text: "Fix the failing test" }] },
    { type: "function_call", call_id: "call_1", name: "exec_command", arguments: '{"cmd":"cargo test"}' },
    { type: "function_call_output", call_id: "call_1", output: "1 failed" },
    { type: "message", role: "assistant", content: [{ type: "output_text", text: "Fixed it." }] },
  ];
  const tools = [{ type: "function", name: "exec_command", parameters: { type: "object", properties: { cmd: { type: "string" } } } }];

  for (const upstream of ["chat", "anthropic", "responses", "gemini"]) {
    test(`works on a ${upstream} model: one compaction item the next turn expands into the summary`, async () => {
      const headers = { authorization: `Bearer ${key}` };
      const res = await gw.request("POST", "/v1/responses/compact", { body: { model: MODELS[upstream], input: history, tools, instructions: "Be careful." }, headers });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.object, "response.compaction");
      const items = res.json.output;
      assert.equal(items.filter((i) => i.type === "compaction").length, 1, "exactly one compaction item");
      assert.equal(items.at(-1).type, "compaction");
      assert.deepEqual(items.slice(0, -1).map((i) => [i.role, i.content[0].text]), [["user", "Fix the failing test"]]);
      assert.ok(res.json.usage.input_tokens > 0);
      const asked = JSON.stringify(gw.mock.last().body);
      assert.match(asked, /Write a summary of this conversation/, "the model was asked for the summary");
      // The compacted history in the next turn: the summary reaches the model as user text.
      const next = await gw.request("POST", "/v1/responses", {
        body: { model: MODELS[upstream], input: [...items, { type: "message", role: "user", content: [{ type: "input_text", text: "Continue" }] }], store: false },
        headers,
      });
      assert.equal(next.status, 200, next.text);
      const sent = JSON.stringify(gw.mock.last().body);
      assert.match(sent, /Summary of the conversation so far \(compacted\)/);
      assert.ok(sent.includes("Hello from the mock upstream."), "the summary is the model's answer");
      assert.ok(!sent.includes("toc1."), "the envelope never reaches a vendor");
    });
  }
});
