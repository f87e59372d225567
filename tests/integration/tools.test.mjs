// Tool loops, reasoning round trips and images through every client format × upstream format,
// with the official SDKs: what the client sees (calls, ids, arguments, stop reasons, thinking
// and its opaque state) and what each upstream receives in its own format (calls and results
// paired by id in the order the vendor requires, reasoning replayed only to its own vendor,
// images in the upstream's shape).

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";

import { startGateway, MODELS, UPSTREAM_MODELS, ANTHROPIC_DEFAULT_MAX_TOKENS, DEFAULT_PLANS } from "../support/gateway.mjs";
import { FORMATS, GEMINI_SIGNATURE, SCENARIOS, scenarioText } from "../support/mock-upstream.mjs";
import {
  CLIENTS,
  END_STOP,
  TOOL_DEFS,
  IMAGE_URL,
  PNG_BASE64,
  call,
  clientToolCalls,
  imagePart,
  imageRequest,
  namedToolChoice,
  toolChoiceField,
  toolResultTurn,
  toolsFor,
  upstreamImages,
  upstreamToolExchange,
  upstreamTools,
} from "../support/clients.mjs";

// The default models are not reasoning models (`reasoning` unset), so the gateway drops
// reasoning controls for them; the reasoning round trips run on twins of them (same provider,
// same upstream model) with `reasoning: true`.
const THINK = { chat: "m-chat-think", anthropic: "m-anthropic-think", responses: "m-responses-think", gemini: "m-gemini-think" };
const THINK_MODELS = [
  { id: THINK.chat, provider: "p-chat", upstream: UPSTREAM_MODELS.chat, reasoning: true },
  { id: THINK.anthropic, provider: "p-anthropic", upstream: UPSTREAM_MODELS.anthropic, reasoning: true, default_max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS },
  { id: THINK.responses, provider: "p-responses", upstream: UPSTREAM_MODELS.responses, reasoning: true },
  { id: THINK.gemini, provider: "p-gemini", upstream: UPSTREAM_MODELS.gemini, reasoning: true },
];

let gw;
let key;
/** A key whose plan may name files stored at the vendor (`upstream_features = ["files"]`). */
let filesKey;

before(async () => {
  const plans = [...DEFAULT_PLANS, { ...DEFAULT_PLANS[0], id: "files", upstream_features: ["files"] }];
  gw = await startGateway({ config: { extraModels: THINK_MODELS, plans } });
  key = (await gw.createKey()).key;
  filesKey = (await gw.createKey("files")).key;
});
after(async () => {
  await gw?.close();
});

/** Runs `fn` and returns [its result, the upstream requests made meanwhile]. */
async function upstreamCalls(fn) {
  const from = gw.mock.requests.length;
  const result = await fn();
  return [result, gw.mock.requests.slice(from)];
}

/** Runs `fn`, which must make exactly one upstream request of `format`; returns [result, request]. */
async function oneCall(format, fn) {
  const [result, seen] = await upstreamCalls(fn);
  assert.equal(seen.length, 1, `exactly one upstream request (got ${seen.length})`);
  assert.equal(seen[0].format, format, "the upstream of the model's format");
  return [result, seen[0]];
}

const TOOL_USER = "What is the weather and the time in Paris? [scenario:tools]";
const THANKS = "[scenario:text] thanks";
const WEATHER_RESULT = '{"temp_c":18,"sky":"clear"}';
const TIME_RESULT = '{"time":"14:05"}';
const RESULTS = [{ content: WEATHER_RESULT }, { content: TIME_RESULT }];

/** The mock's calls, as { name, input } in order. */
const MOCK_CALLS = SCENARIOS.tools.tools.map((t) => ({ name: t.name, input: JSON.parse(t.fragments.join("")) }));
/** The ids the mock gives its calls, per upstream format (every one valid in every format). */
const MOCK_IDS = {
  chat: SCENARIOS.tools.tools.map((t) => t.callId),
  anthropic: SCENARIOS.tools.tools.map((t) => t.toolUseId),
  responses: SCENARIOS.tools.tools.map((t) => t.callId),
  gemini: ["mockweather01", "mocktime02"],
};
const TOOL_STOP = { chat: "tool_calls", anthropic: "tool_use", responses: "completed", gemini: "STOP" };
const THINKING_TEXT = SCENARIOS.thinking.thinking.join("");

/** A first tool turn in `client` format: the tools declared, one user question. */
function toolRequest(client, model, { user = TOOL_USER, extra = {} } = {}) {
  const tools = toolsFor(client);
  if (client === "gemini") return { model, contents: user, config: { systemInstruction: "Use tools.", tools, ...extra } };
  if (client === "chat") return { model, messages: [{ role: "system", content: "Use tools." }, { role: "user", content: user }], tools, ...extra };
  if (client === "anthropic") return { model, max_tokens: 1024, system: "Use tools.", messages: [{ role: "user", content: user }], tools, ...extra };
  return { model, instructions: "Use tools.", input: user, tools, ...extra };
}

/** The client saw exactly the mock's two calls, with ids from `upstream`, shaped for `client`. */
function checkClientCalls(client, upstream, answer) {
  const calls = clientToolCalls(client, answer.raw);
  assert.deepEqual(
    calls.map((c) => ({ id: c.id, name: c.name, input: c.input })),
    MOCK_CALLS.map((c, i) => ({ id: MOCK_IDS[upstream][i], ...c })),
    "two calls, upstream ids, exact arguments",
  );
  if (client === "chat") {
    assert.deepEqual(calls.map((c) => c.type), ["function", "function"]);
  } else if (client === "gemini") {
    // Whole calls, arguments as objects.
    for (const c of calls) assert.equal(typeof c.input, "object");
  } else if (client === "anthropic") {
    for (const c of calls) assert.match(c.id, /^[a-zA-Z0-9_-]+$/);
    // Arguments arrive as objects, not JSON strings.
    for (const b of answer.raw.content.filter((x) => x.type === "tool_use")) assert.equal(typeof b.input, "object");
  } else {
    for (const c of calls) {
      assert.match(c.itemId, /^fc_/, "function_call item ids start with fc_");
      assert.notEqual(c.itemId, c.id);
      assert.equal(c.status, "completed");
    }
  }
  return calls;
}

// ------------------------------------------------------------------------------------------
// 1. A tool loop through every pair

for (const client of CLIENTS) {
  for (const upstream of FORMATS) {
    for (const stream of [false, true]) {
      test(`tool loop: ${client} client → ${upstream} upstream, ${stream ? "streaming" : "non-streaming"}`, async () => {
        const first = toolRequest(client, MODELS[upstream]);
        const [a1, seen1] = await oneCall(upstream, () => call(gw, key, client, first, { stream }));
        assert.equal(seen1.scenario, "tools");
        assert.deepEqual(upstreamTools(upstream, seen1.body), TOOL_DEFS, "the tools in the upstream's shape");
        if (upstream === "chat" || upstream === "responses") for (const t of seen1.body.tools) assert.equal(t.type, "function");
        if (upstream === "responses" && client !== "responses") {
          for (const t of seen1.body.tools) assert.equal(t.strict, false, "Responses function tools say strict explicitly");
        }

        assert.equal(a1.text, scenarioText("tools"), "the sentence before the calls");
        assert.equal(a1.stop, TOOL_STOP[client]);
        if (!stream) assert.equal(a1.headers.get("x-toc-warnings"), null, "nothing lost");
        const calls = checkClientCalls(client, upstream, a1);

        // Turn 2: the history back as the client sends it, the results, then a user text.
        const second = toolResultTurn(client, first, a1.raw, RESULTS, THANKS);
        const [a2, seen2] = await oneCall(upstream, () => call(gw, key, client, second, { stream }));
        assert.equal(a2.text, scenarioText("text"));
        assert.equal(a2.stop, END_STOP[client]);
        assert.equal(seen2.scenario, "text");
        if (!stream) assert.equal(a2.headers.get("x-toc-warnings"), null, "nothing lost");

        const exchange = upstreamToolExchange(upstream, seen2.body);
        assert.deepEqual(exchange.before, [{ role: "user", text: TOOL_USER }]);
        assert.deepEqual(exchange.assistant, ["text", "call", "call"], "the assistant turn: its text, then both calls");
        assert.equal(exchange.assistantText, scenarioText("tools"));
        assert.deepEqual(
          exchange.calls,
          calls.map((c) => ({ id: c.id, name: c.name, input: c.input })),
          "the calls under the ids the client saw",
        );
        assert.deepEqual(exchange.results, [
          { id: calls[0].id, content: WEATHER_RESULT, isError: false },
          { id: calls[1].id, content: TIME_RESULT, isError: false },
        ]);
        assert.equal(exchange.after, THANKS);
        assert.deepEqual(exchange.trailing, []);
        assert.deepEqual(upstreamTools(upstream, seen2.body), TOOL_DEFS, "the tools are declared again");
      });
    }
  }
}

// Call ids Anthropic cannot take (`functions.get_weather:0`, `call|mockTime02`, as some
// OpenAI-compatible upstreams make them): an Anthropic client gets valid ids, and the next turn
// pairs every result with its call upstream.
const ODD_IDS = SCENARIOS.tools_odd_ids.tools.map((t) => t.callId);
for (const upstream of ["chat", "responses"]) {
  for (const stream of [false, true]) {
    test(`odd call ids: anthropic client → ${upstream} upstream, ${stream ? "streaming" : "non-streaming"}`, async () => {
      const first = toolRequest("anthropic", MODELS[upstream], { user: "Weather and time? [scenario:tools_odd_ids]" });
      const a1 = await call(gw, key, "anthropic", first, { stream });
      const calls = clientToolCalls("anthropic", a1.raw);
      assert.deepEqual(calls.map((c) => ({ name: c.name, input: c.input })), MOCK_CALLS);
      for (const c of calls) assert.match(c.id, /^[a-zA-Z0-9_-]+$/, `a valid Anthropic id (got ${c.id})`);
      assert.notEqual(calls[0].id, calls[1].id, "distinct ids");
      const second = toolResultTurn("anthropic", first, a1.raw, RESULTS, THANKS);
      const [a2, seen] = await oneCall(upstream, () => call(gw, key, "anthropic", second, { stream }));
      assert.equal(a2.text, scenarioText("text"));
      const exchange = upstreamToolExchange(upstream, seen.body);
      assert.deepEqual(exchange.calls.map((c) => ({ name: c.name, input: c.input })), MOCK_CALLS);
      assert.deepEqual(exchange.results.map((r) => r.id), exchange.calls.map((c) => c.id), "results paired with their calls");
      assert.deepEqual(exchange.results.map((r) => r.content), [WEATHER_RESULT, TIME_RESULT]);
    });
  }
}
// The same ids in an OpenAI client's history, when the conversation moves to an Anthropic model.
for (const client of ["chat", "responses"]) {
  test(`odd call ids: ${client} client history → anthropic upstream`, async () => {
    const first = toolRequest(client, MODELS[client], { user: "Weather and time? [scenario:tools_odd_ids]" });
    const a1 = await call(gw, key, client, first);
    assert.deepEqual(clientToolCalls(client, a1.raw).map((c) => c.id), ODD_IDS, "same-format answers keep the upstream's ids");
    const second = toolResultTurn(client, { ...first, model: MODELS.anthropic }, a1.raw, RESULTS, THANKS);
    const [a2, seen] = await oneCall("anthropic", () => call(gw, key, client, second));
    assert.equal(a2.text, scenarioText("text"));
    // Valid ids (checked by upstreamToolExchange), distinct, and each result with its call.
    const exchange = upstreamToolExchange("anthropic", seen.body);
    assert.deepEqual(exchange.calls.map((c) => ({ name: c.name, input: c.input })), MOCK_CALLS);
    assert.notEqual(exchange.calls[0].id, exchange.calls[1].id);
    assert.deepEqual(exchange.results, [
      { id: exchange.calls[0].id, content: WEATHER_RESULT, isError: false },
      { id: exchange.calls[1].id, content: TIME_RESULT, isError: false },
    ]);
  });
}

// An Anthropic tool_result with is_error reaches each upstream recognisably: Anthropic keeps the
// flag; OpenAI formats have no flag, so the text must say it is an error.
for (const upstream of FORMATS) {
  test(`tool error: anthropic client → ${upstream} upstream, is_error:true stays recognisable`, async () => {
    const first = toolRequest("anthropic", MODELS[upstream]);
    const a1 = await call(gw, key, "anthropic", first);
    const calls = clientToolCalls("anthropic", a1.raw);
    const second = toolResultTurn("anthropic", first, a1.raw, [{ content: "city not found", isError: true }, { content: TIME_RESULT }], THANKS);
    const [a2, seen] = await oneCall(upstream, () => call(gw, key, "anthropic", second));
    assert.equal(a2.text, scenarioText("text"));
    const exchange = upstreamToolExchange(upstream, seen.body);
    const [err, ok] = exchange.results;
    assert.equal(err.id, calls[0].id);
    assert.deepEqual(ok, { id: calls[1].id, content: TIME_RESULT, isError: false });
    if (upstream === "anthropic" || upstream === "gemini") {
      // Both have an error flag (Gemini: `response: {"error": ...}`).
      assert.deepEqual(err, { id: calls[0].id, content: "city not found", isError: true });
    } else {
      assert.match(err.content, /^Error\b/i, `the ${upstream} upstream is told the result is an error (got ${JSON.stringify(err.content)})`);
      assert.ok(err.content.includes("city not found"), "the error text itself");
    }
  });
}

// tool_choice naming one tool, from each client format, to each upstream in its own shape.
for (const client of CLIENTS) {
  for (const upstream of FORMATS) {
    test(`named tool_choice: ${client} client → ${upstream} upstream`, async () => {
      const request = toolRequest(client, MODELS[upstream], { extra: { [toolChoiceField(client)]: namedToolChoice(client, "get_time") } });
      const [answer, seen] = await oneCall(upstream, () => call(gw, key, client, request));
      assert.deepEqual(seen.body[toolChoiceField(upstream)], namedToolChoice(upstream, "get_time"));
      assert.deepEqual(upstreamTools(upstream, seen.body), TOOL_DEFS);
      // The mock answers both calls anyway: the client still sees a tool stop.
      assert.equal(answer.stop, TOOL_STOP[client]);
    });
  }
}

// ------------------------------------------------------------------------------------------
// 2. Reasoning round trips through a foreign upstream and back

const ANTHROPIC_THINKING = { type: "enabled", budget_tokens: 1024 };

/** A first Anthropic turn with thinking and tools. */
function anthropicThinkingRequest(model, user = "Weather and time? [scenario:thinking_tools]") {
  return toolRequest("anthropic", model, { user, extra: { max_tokens: 2048, thinking: ANTHROPIC_THINKING } });
}

/** A first Responses turn with reasoning (summaries, encrypted content, stateless) and tools. */
function responsesReasoningRequest(model, user = "Weather and time? [scenario:thinking_tools]") {
  return toolRequest("responses", model, {
    user,
    extra: { reasoning: { effort: "medium", summary: "auto" }, include: ["reasoning.encrypted_content"], store: false },
  });
}

describe("reasoning round trips", () => {
  for (const stream of [false, true]) {
    const mode = stream ? "streaming" : "non-streaming";

    test(`anthropic client (thinking + tools) → responses upstream and back, ${mode}`, async () => {
      const first = anthropicThinkingRequest(THINK.responses);
      const [a1, seen1] = await oneCall("responses", () => call(gw, key, "anthropic", first, { stream }));
      assert.equal(seen1.scenario, "thinking_tools");
      assert.equal(seen1.body.reasoning?.effort, "low", "budget 1024 → effort low");
      assert.equal(seen1.body.reasoning?.summary, "auto", "summaries asked for: they become the thinking text");
      assert.ok(seen1.body.include?.includes("reasoning.encrypted_content"), "encrypted reasoning asked for");
      assert.equal(seen1.body.store, false, "stateless");

      const blocks = a1.raw.content;
      assert.deepEqual(blocks.map((b) => b.type), ["thinking", "tool_use", "tool_use"]);
      assert.equal(blocks[0].thinking, THINKING_TEXT, "the summary is the thinking text");
      assert.ok(blocks[0].signature.startsWith("toc1."), `the signature is the gateway's envelope (got ${blocks[0].signature})`);
      assert.ok(!blocks[0].signature.includes(SCENARIOS.thinking.encrypted), "the blob is wrapped, not shown as is");
      assert.equal(a1.stop, "tool_use");
      checkClientCalls("anthropic", "responses", a1);

      // Turn 2: the assistant content replayed unchanged (thinking first), then the results.
      const second = toolResultTurn("anthropic", first, a1.raw, RESULTS, THANKS);
      const [a2, seen2] = await oneCall("responses", () => call(gw, key, "anthropic", second, { stream }));
      assert.equal(a2.text, scenarioText("text"));
      const exchange = upstreamToolExchange("responses", seen2.body);
      assert.deepEqual(exchange.assistant, ["reasoning", "call", "call"], "the reasoning item before the function_call items");
      const reasoning = seen2.body.input.find((i) => i.type === "reasoning");
      assert.equal(reasoning.encrypted_content, SCENARIOS.thinking.encrypted, "the mock's own blob, unwrapped");
      assert.ok(Array.isArray(reasoning.summary), "a reasoning item has a summary array");
      assert.ok(!seen2.rawBody.includes("toc1."), "no envelope reaches the upstream");
      assert.deepEqual(exchange.results.map((r) => r.id), MOCK_IDS.responses);
      assert.equal(seen2.body.reasoning?.effort, "low", "reasoning still on");
      if (!stream) assert.equal(a2.headers.get("x-toc-warnings"), null, "nothing dropped");
    });

    test(`responses client (reasoning + tools, store:false) → anthropic upstream and back, ${mode}`, async () => {
      const first = responsesReasoningRequest(THINK.anthropic);
      const [a1, seen1] = await oneCall("anthropic", () => call(gw, key, "responses", first, { stream }));
      assert.equal(seen1.scenario, "thinking_tools");
      assert.deepEqual(seen1.body.thinking, { type: "enabled", budget_tokens: 8192 }, "effort medium → budget 8192");
      assert.ok(seen1.body.max_tokens > 8192, "max_tokens above the budget");

      const output = a1.raw.output;
      assert.deepEqual(output.map((o) => o.type), ["reasoning", "function_call", "function_call"]);
      assert.deepEqual(output[0].summary, [{ type: "summary_text", text: THINKING_TEXT }]);
      assert.ok(output[0].encrypted_content?.startsWith("toc1."), `encrypted_content is the gateway's envelope (got ${output[0].encrypted_content})`);
      assert.ok(!output[0].encrypted_content.includes(SCENARIOS.thinking.signature));
      assert.equal(a1.stop, "completed");
      checkClientCalls("responses", "anthropic", a1);

      // Turn 2: the output items replayed as input, then the outputs and a user text.
      const second = toolResultTurn("responses", first, a1.raw, RESULTS, THANKS);
      const [a2, seen2] = await oneCall("anthropic", () => call(gw, key, "responses", second, { stream }));
      assert.equal(a2.text, scenarioText("text"));
      const exchange = upstreamToolExchange("anthropic", seen2.body);
      assert.deepEqual(exchange.assistant, ["reasoning", "call", "call"], "the assistant turn starts with its thinking");
      const assistant = seen2.body.messages.find((m) => m.role === "assistant");
      assert.deepEqual(assistant.content[0], { type: "thinking", thinking: THINKING_TEXT, signature: SCENARIOS.thinking.signature }, "the mock's exact block");
      assert.deepEqual(exchange.results.map((r) => r.id), MOCK_IDS.anthropic);
      assert.deepEqual(seen2.body.thinking, { type: "enabled", budget_tokens: 8192 }, "thinking still on");
      assert.ok(!seen2.rawBody.includes("toc1."), "no envelope reaches the upstream");
      // With no limit from the client, the reservation makes room for the 8192 budget and an
      // answer (the model's default of 4096 would not); nothing dropped, clamped or disabled.
      assert.equal(seen2.body.max_tokens, 8192 + 1024);
      if (!stream) assert.equal(a2.headers.get("x-toc-warnings"), null);
    });
  }

  // ---- Gemini thought signatures

  /** A first Gemini-client turn with thoughts shown and tools. */
  function geminiThinkingRequest(model) {
    return toolRequest("gemini", model, {
      user: "Weather and time? [scenario:thinking_tools]",
      extra: { maxOutputTokens: 4096, thinkingConfig: { thinkingBudget: 2048, includeThoughts: true } },
    });
  }

  for (const stream of [false, true]) {
  const mode = stream ? "streaming" : "non-streaming";

  test(`anthropic client (thinking + tools) → gemini upstream and back: the signature returns to the first call, ${mode}`, async () => {
    const first = anthropicThinkingRequest(THINK.gemini);
    const [a1, seen1] = await oneCall("gemini", () => call(gw, key, "anthropic", first, { stream }));
    assert.equal(seen1.scenario, "thinking_tools");
    assert.equal(seen1.body.generationConfig.thinkingConfig.includeThoughts, true, "thinking shown");
    const blocks = a1.raw.content;
    assert.deepEqual(blocks.map((b) => b.type), ["thinking", "thinking", "tool_use", "tool_use"], "the thoughts, then the call's signature, then the calls");
    assert.equal(blocks[0].thinking, THINKING_TEXT);
    assert.ok(blocks[1].signature.startsWith("toc1."), "Gemini's signature in the gateway's envelope");
    assert.ok(!JSON.stringify(blocks).includes(GEMINI_SIGNATURE), "not shown as is");
    checkClientCalls("anthropic", "gemini", a1);

    const second = toolResultTurn("anthropic", first, a1.raw, RESULTS, THANKS);
    const [a2, seen2] = await oneCall("gemini", () => call(gw, key, "anthropic", second, { stream }));
    assert.equal(a2.text, scenarioText("text"));
    const exchange = upstreamToolExchange("gemini", seen2.body);
    assert.deepEqual(exchange.calls.map((c) => c.id), MOCK_IDS.gemini, "Gemini's own call ids back");
    const model = seen2.body.contents.find((c) => c.role === "model");
    const calls = model.parts.filter((p) => p.functionCall);
    assert.equal(calls[0].thoughtSignature, GEMINI_SIGNATURE, "the signature exactly, on the first call");
    assert.equal(calls[1].thoughtSignature, undefined, "and on no other call");
    assert.ok(!seen2.rawBody.includes("toc1."), "no envelope reaches Google");
  });

  test(`gemini client (thoughts + tools) → anthropic upstream and back: Anthropic gets its thinking block, ${mode}`, async () => {
    const first = geminiThinkingRequest(THINK.anthropic);
    const [a1, seen1] = await oneCall("anthropic", () => call(gw, key, "gemini", first, { stream }));
    assert.deepEqual(seen1.body.thinking, { type: "enabled", budget_tokens: 2048 });
    const parts = a1.raw.candidates[0].content.parts;
    assert.equal(parts.filter((p) => p.thought).map((p) => p.text).join(""), THINKING_TEXT, "the thinking as thought parts");
    const calls = parts.filter((p) => p.functionCall);
    assert.equal(calls.length, 2);
    assert.ok(calls[0].thoughtSignature?.startsWith("toc1."), "Anthropic's signature rides on the first call, enveloped");
    assert.equal(calls[1].thoughtSignature, undefined);
    assert.equal(a1.stop, "STOP");

    // Turn 2 as Gemini CLI sends it: thought parts left out of the history.
    const withoutThoughts = { ...a1.raw, candidates: [{ ...a1.raw.candidates[0], content: { role: "model", parts: parts.filter((p) => !p.thought) } }] };
    const second = toolResultTurn("gemini", first, withoutThoughts, RESULTS, THANKS);
    const [a2, seen2] = await oneCall("anthropic", () => call(gw, key, "gemini", second, { stream }));
    assert.equal(a2.text, scenarioText("text"));
    const exchange = upstreamToolExchange("anthropic", seen2.body);
    assert.deepEqual(exchange.assistant, ["reasoning", "call", "call"], "the assistant turn starts with its thinking");
    const assistant = seen2.body.messages.find((m) => m.role === "assistant");
    assert.deepEqual(assistant.content[0], { type: "thinking", thinking: THINKING_TEXT, signature: SCENARIOS.thinking.signature }, "the mock's exact block");
    assert.deepEqual(seen2.body.thinking, { type: "enabled", budget_tokens: 2048 }, "thinking still on");
    assert.deepEqual(exchange.results.map((r) => r.id), MOCK_IDS.anthropic);
  });

  test(`responses client (reasoning + tools) → gemini upstream and back, ${mode}`, async () => {
    const first = responsesReasoningRequest(THINK.gemini);
    const [a1, seen1] = await oneCall("gemini", () => call(gw, key, "responses", first, { stream }));
    assert.equal(seen1.body.generationConfig.thinkingConfig.thinkingLevel, "MEDIUM", "effort medium → level MEDIUM");
    const output = a1.raw.output;
    assert.deepEqual(output.map((o) => o.type), ["reasoning", "reasoning", "function_call", "function_call"]);
    assert.ok(output[1].encrypted_content.startsWith("toc1."));
    const second = toolResultTurn("responses", first, a1.raw, RESULTS, THANKS);
    const [a2, seen2] = await oneCall("gemini", () => call(gw, key, "responses", second, { stream }));
    assert.equal(a2.text, scenarioText("text"));
    const calls = seen2.body.contents.find((c) => c.role === "model").parts.filter((p) => p.functionCall);
    assert.equal(calls[0].thoughtSignature, GEMINI_SIGNATURE);
    assert.deepEqual(calls.map((c) => c.functionCall.id), MOCK_IDS.gemini);
  });
  }

  test("chat client → gemini upstream, an agent loop (results, no new user text): Google's placeholder signs the current turn", async () => {
    const first = toolRequest("chat", MODELS.gemini);
    const a1 = await call(gw, key, "chat", first);
    const second = toolResultTurn("chat", first, a1.raw, RESULTS, "unused");
    second.messages.pop();
    // The mock refuses, as Gemini 3 does, a current-turn call without a signature.
    const [a2, seen] = await oneCall("gemini", () => call(gw, key, "chat", second));
    assert.equal(seen.status, 200);
    assert.equal(typeof a2.text, "string");
    const model = seen.body.contents.find((c) => c.role === "model");
    const calls = model.parts.filter((p) => p.functionCall);
    assert.equal(calls[0].thoughtSignature, "skip_thought_signature_validator");
    assert.equal(calls[1].thoughtSignature, undefined);
  });

  test("gemini calls without ids (Gemini 2.5) reach other clients with ids, and come back without", async () => {
    for (const client of ["anthropic", "chat"]) {
      const first = toolRequest(client, MODELS.gemini, { user: "Weather and time? [scenario:tools_odd_ids]" });
      const a1 = await call(gw, key, client, first);
      const calls = clientToolCalls(client, a1.raw);
      assert.equal(calls.length, 2);
      for (const c of calls) assert.match(c.id, /^[a-zA-Z0-9_-]{1,40}$/, `a valid id for every format (got ${c.id})`);
      assert.notEqual(calls[0].id, calls[1].id);
      const second = toolResultTurn(client, first, a1.raw, RESULTS, THANKS);
      const [a2, seen] = await oneCall("gemini", () => call(gw, key, client, second));
      assert.equal(a2.text, scenarioText("text"));
      const exchange = upstreamToolExchange("gemini", seen.body);
      assert.deepEqual(exchange.calls.map((c) => c.id), [undefined, undefined], `${client}: Gemini never knew these ids`);
      assert.deepEqual(exchange.results.map((r) => r.content), [WEATHER_RESULT, TIME_RESULT], `${client}: results in call order, by name`);
    }
  });

  test("chat client with reasoning_effort on an anthropic upstream gets reasoning_content", async () => {
    const request = { model: THINK.anthropic, reasoning_effort: "low", messages: [{ role: "user", content: "Hi [scenario:thinking]" }] };
    const [answer, seen] = await oneCall("anthropic", () => call(gw, key, "chat", request));
    assert.deepEqual(seen.body.thinking, { type: "enabled", budget_tokens: 1024 });
    assert.equal(answer.raw.choices[0].message.reasoning_content, THINKING_TEXT);
    assert.equal(answer.text, scenarioText("thinking"));

    // Streaming: reasoning_content deltas (openai-node keeps only the last one in its final
    // message, so they are read from the chunks).
    const openai = gw.openaiClient(key);
    const s = openai.chat.completions.stream({ ...request, stream_options: { include_usage: true } });
    const deltas = [];
    s.on("chunk", (c) => deltas.push(c.choices[0]?.delta?.reasoning_content ?? ""));
    const final = await s.finalChatCompletion();
    assert.equal(deltas.join(""), THINKING_TEXT);
    assert.equal(final.choices[0].message.content, scenarioText("thinking"));
  });

  test("on a model that is not a reasoning model, reasoning_effort is dropped with a warning", async () => {
    const request = { model: MODELS.anthropic, reasoning_effort: "low", messages: [{ role: "user", content: "Hi [scenario:thinking]" }] };
    const [answer, seen] = await oneCall("anthropic", () => call(gw, key, "chat", request));
    assert.equal(seen.body.thinking, undefined);
    assert.equal(answer.headers.get("x-toc-warnings"), "dropped=thinking");
    assert.equal(answer.raw.choices[0].message.reasoning_content, undefined);
  });

  // ---- Blobs that must not reach an upstream

  /** An Anthropic-client first turn on `model`; returns the request and answer. */
  async function anthropicTurn1(model) {
    const first = anthropicThinkingRequest(model);
    const a1 = await call(gw, key, "anthropic", first);
    assert.equal(a1.raw.content[0].type, "thinking");
    return { first, a1 };
  }

  /** The same answer with the thinking block's signature replaced. */
  function withSignature(raw, signature) {
    return { ...raw, content: raw.content.map((b) => (b.type === "thinking" ? { ...b, signature } : b)) };
  }

  test("anthropic client → responses upstream: a native Anthropic signature is not replayed to OpenAI", async () => {
    // The turn came from an Anthropic model (signature not an envelope); the conversation moves
    // to a Responses model.
    const { first, a1 } = await anthropicTurn1(THINK.anthropic);
    assert.equal(a1.raw.content[0].signature, SCENARIOS.thinking.signature, "same-format answers keep the vendor signature");
    const second = toolResultTurn("anthropic", { ...first, model: THINK.responses }, a1.raw, RESULTS, THANKS);
    const [a2, seen] = await oneCall("responses", () => call(gw, key, "anthropic", second));
    assert.equal(a2.text, scenarioText("text"));
    assert.ok(!seen.body.input.some((i) => i.type === "reasoning"), "no reasoning item");
    assert.ok(!seen.rawBody.includes(SCENARIOS.thinking.signature), "the Anthropic signature stays away from OpenAI");
    assert.deepEqual(upstreamToolExchange("responses", seen.body).assistant, ["call", "call"]);
    assert.match(a2.headers.get("x-toc-warnings") ?? "", /dropped=[^;]*reasoning/, "the warning says reasoning was dropped");
  });

  test("anthropic client → responses upstream: a tampered envelope is dropped", async () => {
    const { first, a1 } = await anthropicTurn1(THINK.responses);
    const signature = a1.raw.content[0].signature;
    for (const bad of [`${signature.slice(0, -6)}!!!!!!`, "toc1.bm90IGpzb24", `toc1.${Buffer.from(JSON.stringify({ v: "openai" })).toString("base64url")}`]) {
      const second = toolResultTurn("anthropic", first, withSignature(a1.raw, bad), RESULTS, THANKS);
      const [a2, seen] = await oneCall("responses", () => call(gw, key, "anthropic", second));
      assert.equal(a2.text, scenarioText("text"), bad);
      assert.ok(!seen.body.input.some((i) => i.type === "reasoning"), `no reasoning item (${bad})`);
      assert.ok(!seen.rawBody.includes("toc1."), `no envelope upstream (${bad})`);
      assert.match(a2.headers.get("x-toc-warnings") ?? "", /dropped=[^;]*reasoning/, bad);
    }
  });

  // A turn answered by a Responses model (signature = envelope of OpenAI encrypted content),
  // then the conversation moves to an Anthropic model; the client's own Anthropic body would be
  // forwarded as is, but these signatures mean nothing to Anthropic.
  for (const [what, pick] of [
    ["an envelope of OpenAI reasoning", (signature) => signature],
    ["a broken envelope", () => "toc1.bm90IGpzb24"],
  ]) {
    test(`anthropic client → anthropic upstream: ${what} never reaches Anthropic; thinking is disabled`, async () => {
      const { first, a1 } = await anthropicTurn1(THINK.responses);
      const signature = pick(a1.raw.content[0].signature);
      assert.ok(signature.startsWith("toc1."));
      const second = toolResultTurn("anthropic", { ...first, model: THINK.anthropic }, withSignature(a1.raw, signature), RESULTS, THANKS);
      const [a2, seen] = await oneCall("anthropic", () => call(gw, key, "anthropic", second));
      assert.equal(a2.text, scenarioText("text"));
      assert.ok(!seen.rawBody.includes("toc1."), `no envelope reaches Anthropic (sent ${signature})`);
      assert.ok(!seen.rawBody.includes(SCENARIOS.thinking.encrypted), "no OpenAI blob reaches Anthropic");
      const exchange = upstreamToolExchange("anthropic", seen.body);
      assert.deepEqual(exchange.assistant, ["call", "call"], "the unusable thinking block is dropped");
      assert.ok(!["enabled", "adaptive"].includes(seen.body.thinking?.type), "thinking cannot be honoured without a signed block, so it is off");
      assert.match(a2.headers.get("x-toc-warnings") ?? "", /disabled=thinking\(no-valid-signature\)/, "the warning says thinking was disabled");
    });
  }

  test("responses client → anthropic upstream: native OpenAI encrypted content and broken envelopes are dropped; thinking is disabled", async () => {
    // A turn answered by a Responses model (native encrypted_content), then the conversation
    // moves to an Anthropic model.
    const first = responsesReasoningRequest(THINK.responses);
    const a1 = await call(gw, key, "responses", first);
    assert.equal(a1.raw.output[0].encrypted_content, SCENARIOS.thinking.encrypted, "same-format answers keep the vendor blob");
    for (const encrypted of [SCENARIOS.thinking.encrypted, "toc1.bm90IGpzb24"]) {
      const raw = { ...a1.raw, output: a1.raw.output.map((o) => (o.type === "reasoning" ? { ...o, encrypted_content: encrypted } : o)) };
      const second = toolResultTurn("responses", { ...first, model: THINK.anthropic }, raw, RESULTS, THANKS);
      const [a2, seen] = await oneCall("anthropic", () => call(gw, key, "responses", second));
      assert.equal(a2.text, scenarioText("text"), encrypted);
      assert.ok(!seen.rawBody.includes(encrypted), `the blob stays away from Anthropic (${encrypted})`);
      const exchange = upstreamToolExchange("anthropic", seen.body);
      assert.deepEqual(exchange.assistant, ["call", "call"], "no thinking block");
      assert.equal(seen.body.thinking, undefined, "thinking off");
      assert.match(a2.headers.get("x-toc-warnings") ?? "", /disabled=thinking\(no-valid-signature\)/);
    }
  });

  test("responses client → responses upstream: an Anthropic envelope never reaches OpenAI", async () => {
    // A turn answered by an Anthropic model (encrypted_content = envelope of the signature),
    // then the conversation moves to a Responses model.
    const first = responsesReasoningRequest(THINK.anthropic);
    const a1 = await call(gw, key, "responses", first);
    const envelope = a1.raw.output[0].encrypted_content;
    assert.ok(envelope.startsWith("toc1."));
    const second = toolResultTurn("responses", { ...first, model: THINK.responses }, a1.raw, RESULTS, THANKS);
    const [a2, seen] = await oneCall("responses", () => call(gw, key, "responses", second));
    assert.equal(a2.text, scenarioText("text"));
    assert.ok(!seen.rawBody.includes("toc1."), "no envelope reaches OpenAI");
    assert.ok(!seen.rawBody.includes(SCENARIOS.thinking.signature), "no Anthropic signature reaches OpenAI");
    assert.deepEqual(upstreamToolExchange("responses", seen.body).assistant, ["call", "call"]);
    assert.match(a2.headers.get("x-toc-warnings") ?? "", /dropped=[^;]*reasoning/);
  });
});

// ------------------------------------------------------------------------------------------
// 3. Images

const DATA = { base64: { media_type: "image/png", data: PNG_BASE64 } };

for (const client of CLIENTS) {
  for (const upstream of FORMATS) {
    test(`images: ${client} client → ${upstream} upstream, base64 and URL`, async () => {
      const request = imageRequest(client, MODELS[upstream], "What is in these? [scenario:text]", [
        imagePart(client, { base64: PNG_BASE64 }),
        imagePart(client, { url: IMAGE_URL }),
      ]);
      const [answer, seen] = await oneCall(upstream, () => call(gw, key, client, request));
      assert.equal(answer.text, scenarioText("text"));
      assert.equal(seen.scenario, "text");
      const images = upstreamImages(upstream, seen.body);
      assert.deepEqual(images.map(({ raw, ...view }) => view), [DATA, { url: IMAGE_URL }]);
      if (upstream === "gemini") {
        assert.deepEqual(images.map((i) => Object.keys(i.raw)), [["inlineData"], ["fileData"]]);
      } else {
        const shape = { chat: "image_url", anthropic: "image", responses: "input_image" }[upstream];
        assert.deepEqual(images.map((i) => i.raw.type), [shape, shape]);
      }
    });
  }
}

// A file id only means something to the vendor that issued it.
const FILE_ID_CASES = [
  { client: "anthropic", fileId: "file_011CNha8iCJcU1wXNR6q4V8w", foreign: ["chat", "responses", "gemini"] },
  { client: "responses", fileId: "file-6F2ksmvXxt4VdoqmHRw6kL", foreign: ["chat", "anthropic", "gemini"] },
  { client: "gemini", fileId: "https://generativelanguage.googleapis.com/v1beta/files/abc123xyz", foreign: ["chat", "anthropic", "responses"] },
];

/** The error body of an SDK error (the Gemini SDK keeps it as its message). */
function errorBody(client, e) {
  return client === "gemini" ? JSON.parse(e.message) : e.error;
}
for (const { client, fileId, foreign } of FILE_ID_CASES) {
  for (const upstream of foreign) {
    test(`images: a ${client} file_id image to a ${upstream} upstream is a 400 in the client's format`, async () => {
      const request = imageRequest(client, MODELS[upstream], "What is this? [scenario:text]", [imagePart(client, { fileId })]);
      const [, seen] = await upstreamCalls(() =>
        assert.rejects(call(gw, key, client, request), (e) => {
          assert.equal(e.status, 400, String(e));
          if (client === "anthropic") {
            assert.equal(e.error?.type, "error");
            assert.equal(e.error?.error?.type, "invalid_request_error");
          } else if (client === "gemini") {
            const body = errorBody(client, e);
            assert.equal(body.error.status, "INVALID_ARGUMENT");
            const violation = body.error.details.find((d) => d.fieldViolations);
            assert.equal(violation.fieldViolations[0].field, "contents[0].parts[1].fileData", "the field the client sent");
          } else {
            assert.equal(e.error?.type, "invalid_request_error");
            assert.equal(e.error?.param, "input[0].content[1]", "param names the field the client sent");
          }
          return true;
        }),
      );
      assert.equal(seen.length, 0, "the upstream is not called");
    });
  }
  test(`images: a ${client} file_id image to its own vendor's upstream is refused unless the plan allows stored files`, async () => {
    const request = imageRequest(client, MODELS[client], "What is this? [scenario:text]", [imagePart(client, { fileId })]);
    // A stored file belongs to the operator's vendor account, not to the key: any key could
    // name another's.
    const [, refused] = await upstreamCalls(() =>
      assert.rejects(call(gw, key, client, request), (e) => {
        assert.equal(e.status, 400, String(e));
        const message = { anthropic: e.error?.error?.message, gemini: client === "gemini" ? errorBody(client, e).error.message : null }[client] ?? e.error?.message;
        assert.match(message, /stored at the model's vendor/);
        return true;
      }),
    );
    assert.equal(refused.length, 0, "the upstream is not called");
    const [answer, seen] = await oneCall(client, () => call(gw, filesKey, client, request));
    assert.equal(answer.text, scenarioText("text"));
    assert.deepEqual(upstreamImages(client, seen.body).map((i) => i.raw), [imagePart(client, { fileId })]);
  });
}
