// Stateful Responses on any model (previous_response_id, store, GET/DELETE /v1/responses/{id})
// and POST /v1/messages/count_tokens on every model.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startWorker } from "../support/worker.mjs";
import { COUNTED_TOKENS, FINAL_TEXT, startAgentUpstream } from "../support/agent-upstream.mjs";

let upstream;
let gateway;
let openai;
let anthropic;

const execTool = {
  type: "function",
  name: "exec_command",
  description: "Runs a shell command.",
  parameters: { type: "object", properties: { cmd: { type: "string" } }, required: ["cmd"] },
  strict: false,
};

before(async () => {
  upstream = await startAgentUpstream("/work/main.rs");
  const provider = (id, format) => ({ id, format, base_url: `${upstream.url}/${id}/v1`, keys: ["UP_KEY"] });
  gateway = await startWorker({
    config: {
      providers: [provider("anthropic", "anthropic"), provider("chat", "openai-chat"), provider("responses", "openai-responses")],
      models: [
        { id: "m-anthropic", provider: "anthropic", upstream: "agent-anthropic" },
        { id: "m-chat", provider: "chat", upstream: "agent-chat" },
        { id: "m-responses", provider: "responses", upstream: "agent-responses" },
      ],
      plans: [{ id: "dev", rpm: 1000, tpm: 1e9, concurrency: 50, window: "5h", window_tokens: 1e12 }],
    },
    bindings: { UP_KEY: "sk-up" },
  });
  const { key } = await gateway.createKey("dev");
  openai = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 });
});

after(async () => {
  await gateway?.dispose();
  await upstream?.close();
});

/** Waits until the turn stored after a response (in waitUntil) can be read back. */
async function stored(id) {
  for (let i = 0; i < 100; i++) {
    const found = await openai.responses.retrieve(id).then((r) => r, () => null);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`response ${id} was never stored`);
}

describe("previous_response_id on models of every format", () => {
  for (const [model, stream] of [["m-anthropic", false], ["m-chat", true], ["m-responses", true]]) {
    test(`a tool loop chained by previous_response_id on ${model}${stream ? ", streamed" : ""}`, async () => {
      const first = stream
        ? await openai.responses.stream({ model, input: "Show me main.rs", tools: [execTool] }).finalResponse()
        : await openai.responses.create({ model, input: "Show me main.rs", tools: [execTool] });
      const call = first.output.find((item) => item.type === "function_call");
      assert.ok(call, "the first turn asks for the tool");
      assert.equal(call.name, "exec_command");
      assert.deepEqual(JSON.parse(call.arguments), { cmd: "cat main.rs" });
      await stored(first.id);

      const before = upstream.requests.length;
      const second = await openai.responses.create({
        model,
        previous_response_id: first.id,
        tools: [execTool],
        input: [{ type: "function_call_output", call_id: call.call_id, output: "fn main() {}" }],
      });
      assert.equal(second.output_text, FINAL_TEXT);
      // The upstream got the whole conversation, rebuilt by the gateway.
      const sent = JSON.stringify(upstream.requests.slice(before).at(-1).body);
      assert.ok(sent.includes("Show me main.rs"), "first user turn");
      assert.ok(sent.includes("cat main.rs"), "the tool call");
      assert.ok(sent.includes("fn main() {}"), "the tool output");
      assert.ok(!sent.includes("previous_response_id"), "no id the upstream could not resolve");

      const fetched = await stored(second.id);
      assert.equal(fetched.id, second.id);
      assert.deepEqual(fetched.output, second.output);
    });
  }

  test("an unknown previous_response_id is a 400 for a foreign model", async () => {
    const error = await openai.responses
      .create({ model: "m-anthropic", previous_response_id: "resp_nope", input: "hi" })
      .then(() => null, (e) => e);
    assert.equal(error.status, 400);
    assert.equal(error.code, "previous_response_not_found");
    assert.equal(error.param, "previous_response_id");
  });

  test("store: false keeps nothing; DELETE removes a stored turn", async () => {
    const unstored = await openai.responses.create({ model: "m-chat", input: "hi", store: false });
    await new Promise((r) => setTimeout(r, 200));
    const missing = await openai.responses.retrieve(unstored.id).then(() => null, (e) => e);
    assert.equal(missing.status, 404);

    const kept = await openai.responses.create({ model: "m-chat", input: "hi again" });
    await stored(kept.id);
    const deleted = await gateway.fetch(`/v1/responses/${kept.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${openai.apiKey}` },
    });
    assert.equal(deleted.status, 200);
    assert.deepEqual(await deleted.json(), { id: kept.id, object: "response", deleted: true });
    const gone = await openai.responses.retrieve(kept.id).then(() => null, (e) => e);
    assert.equal(gone.status, 404);
  });

  test("stored turns belong to their key", async () => {
    const kept = await openai.responses.create({ model: "m-chat", input: "mine" });
    await stored(kept.id);
    const { key } = await gateway.createKey("dev");
    const other = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const error = await other.responses.retrieve(kept.id).then(() => null, (e) => e);
    assert.equal(error.status, 404);
  });
});

describe("count_tokens", () => {
  test("exact for a model served by Anthropic", async () => {
    const before = upstream.requests.length;
    const { data, response } = await anthropic.messages
      .countTokens({ model: "m-anthropic", messages: [{ role: "user", content: "Hello there" }] })
      .withResponse();
    assert.deepEqual(data, { input_tokens: COUNTED_TOKENS });
    assert.equal(response.headers.get("x-toc-token-count"), "exact");
    const sent = upstream.requests.slice(before).at(-1);
    assert.equal(sent.path, "/anthropic/v1/messages/count_tokens");
    assert.equal(sent.body.model, "agent-anthropic");
    assert.equal(sent.headers["x-api-key"], "sk-up");
  });

  test("a documented estimate for other models", async () => {
    const { data, response } = await anthropic.messages
      .countTokens({
        model: "m-chat",
        system: "Be brief.",
        messages: [{ role: "user", content: "0123456789abcdef" }],
      })
      .withResponse();
    // The estimate is an upper bound (what admission reserves): "Be brief." and the 16
    // characters of digits and letters (a digit can be a token of its own) cost 18, and each
    // of the 2 messages (the system prompt counts as one) 8 more for its framing.
    assert.deepEqual(data, { input_tokens: 34 });
    assert.equal(response.headers.get("x-toc-token-count"), "estimate");
  });
});
