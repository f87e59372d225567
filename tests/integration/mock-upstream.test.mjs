// The mock upstream, checked with the official SDKs pointed straight at it (no gateway): if the
// SDKs' own parsers and stream accumulators accept it, it speaks the real formats.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI, ApiError as GeminiApiError } from "@google/genai";

import {
  startMockUpstream,
  SCENARIOS,
  scenarioText,
  ERROR_MESSAGES,
  RETRY_AFTER_S,
  DEFAULT_API_KEY,
  COUNTED_INPUT_TOKENS,
  GEMINI_SIGNATURE,
} from "../support/mock-upstream.mjs";
import { outputText } from "../support/gateway.mjs";

let mock;
let chat; // OpenAI client on the Chat prefix
let responses; // OpenAI client on the Responses prefix
let anthropic;
let gemini; // @google/genai on the Gemini prefix (it adds /v1beta itself)

before(async () => {
  mock = await startMockUpstream({ longEvents: 100, longIntervalMs: 10 });
  chat = new OpenAI({ apiKey: DEFAULT_API_KEY, baseURL: mock.baseUrl("chat"), maxRetries: 0 });
  responses = new OpenAI({ apiKey: DEFAULT_API_KEY, baseURL: mock.baseUrl("responses"), maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: DEFAULT_API_KEY, baseURL: `${mock.url}/anthropic`, maxRetries: 0 });
  gemini = new GoogleGenAI({ apiKey: DEFAULT_API_KEY, httpOptions: { baseUrl: `${mock.url}/gemini` } });
});
after(async () => {
  await mock?.close();
});
beforeEach(() => mock.reset());

const say = (scenario) => `Please answer. [scenario:${scenario}]`;
const chatArgs = (scenario, extra = {}) => ({ model: "gpt-mock", messages: [{ role: "user", content: say(scenario) }], ...extra });
const anthropicArgs = (scenario, extra = {}) => ({ model: "claude-mock", max_tokens: 1024, messages: [{ role: "user", content: say(scenario) }], ...extra });
const responsesArgs = (scenario, extra = {}) => ({ model: "gpt-mock", input: say(scenario), ...extra });

// ------------------------------------------------------------------------------------------ Chat

test("chat: create answers the text scenario with cached usage", async () => {
  const completion = await chat.chat.completions.create(chatArgs("text"));
  assert.equal(completion.object, "chat.completion");
  assert.equal(completion.model, "gpt-mock");
  assert.equal(completion.choices[0].message.content, scenarioText("text"));
  assert.equal(completion.choices[0].finish_reason, "stop");
  assert.equal(completion.usage.prompt_tokens, 1500);
  assert.equal(completion.usage.completion_tokens, 12);
  assert.equal(completion.usage.total_tokens, 1512);
  assert.equal(completion.usage.prompt_tokens_details.cached_tokens, 1024);
  const seen = mock.last();
  assert.equal(seen.path, "/chat/v1/chat/completions");
  assert.equal(seen.headers.authorization, `Bearer ${DEFAULT_API_KEY}`);
  assert.equal(seen.scenario, "text");
  assert.equal(seen.stream, false);
});

test("chat: stream with include_usage folds into the final completion; usage chunk last", async () => {
  const stream = chat.chat.completions.stream(chatArgs("text", { stream_options: { include_usage: true } }));
  const chunks = [];
  stream.on("chunk", (c) => chunks.push(c));
  const final = await stream.finalChatCompletion();
  assert.equal(final.choices[0].message.content, scenarioText("text"));
  assert.equal(final.choices[0].message.role, "assistant");
  assert.equal(final.choices[0].finish_reason, "stop");
  assert.equal(final.usage.prompt_tokens, 1500);
  assert.equal(final.usage.prompt_tokens_details.cached_tokens, 1024);
  const lastChunk = chunks.at(-1);
  assert.deepEqual(lastChunk.choices, []);
  assert.equal(lastChunk.usage.total_tokens, 1512);
  for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
});

test("chat: stream without include_usage has no usage chunk", async () => {
  const stream = chat.chat.completions.stream(chatArgs("text"));
  const chunks = [];
  stream.on("chunk", (c) => chunks.push(c));
  const final = await stream.finalChatCompletion();
  assert.equal(final.choices[0].message.content, scenarioText("text"));
  assert.equal(final.usage, undefined);
  assert.ok(chunks.every((c) => c.choices.length === 1 && !("usage" in c)));
});

test("chat: two parallel tool calls stream with argument fragments", async () => {
  const final = await chat.chat.completions.stream(chatArgs("tools")).finalChatCompletion();
  const choice = final.choices[0];
  assert.equal(choice.finish_reason, "tool_calls");
  assert.equal(choice.message.content, scenarioText("tools"));
  assert.deepEqual(
    choice.message.tool_calls.map((t) => [t.id, t.type, t.function.name, JSON.parse(t.function.arguments)]),
    [
      ["call_mockWeather01", "function", "get_weather", { city: "Paris", unit: "celsius" }],
      ["call_mockTime02", "function", "get_time", { timezone: "Europe/Paris" }],
    ],
  );
  const created = await chat.chat.completions.create(chatArgs("tools"));
  assert.deepEqual(created.choices[0].message.tool_calls, choice.message.tool_calls);
});

test("chat: thinking arrives as reasoning_content; reasoning tokens reported", async () => {
  const stream = chat.chat.completions.stream(chatArgs("thinking", { stream_options: { include_usage: true } }));
  const reasoning = [];
  stream.on("chunk", (c) => reasoning.push(c.choices[0]?.delta.reasoning_content ?? ""));
  const final = await stream.finalChatCompletion();
  assert.equal(reasoning.join(""), SCENARIOS.thinking.thinking.join(""));
  // openai-node's accumulator assigns unknown delta fields instead of concatenating them, so
  // only the last reasoning fragment survives in the final message (SDK quirk).
  assert.equal(final.choices[0].message.reasoning_content, SCENARIOS.thinking.thinking.at(-1));
  const created = await chat.chat.completions.create(chatArgs("thinking"));
  assert.equal(created.choices[0].message.reasoning_content, SCENARIOS.thinking.thinking.join(""));
  assert.equal(final.choices[0].message.content, scenarioText("thinking"));
  assert.equal(final.usage.completion_tokens_details.reasoning_tokens, 64);
});

test("chat: max_tokens is finish_reason length; refusal fills `refusal`", async () => {
  const cut = await chat.chat.completions.stream(chatArgs("max_tokens")).finalChatCompletion();
  assert.equal(cut.choices[0].finish_reason, "length");
  assert.equal(cut.choices[0].message.content, scenarioText("max_tokens"));
  const refused = await chat.chat.completions.stream(chatArgs("refusal")).finalChatCompletion();
  assert.equal(refused.choices[0].message.refusal, SCENARIOS.refusal.refusal.join(""));
  assert.equal(refused.choices[0].message.content, null);
  const refusedCreated = await chat.chat.completions.create(chatArgs("refusal"));
  assert.equal(refusedCreated.choices[0].message.refusal, SCENARIOS.refusal.refusal.join(""));
});

test("chat: mid-stream error raises APIError; EOF without [DONE] and finish raises", async () => {
  await assert.rejects(chat.chat.completions.stream(chatArgs("midstream_error")).finalChatCompletion(), (e) => {
    assert.ok(e instanceof OpenAI.APIError, String(e));
    assert.equal(e.message, ERROR_MESSAGES.server.chat);
    return true;
  });
  await assert.rejects(chat.chat.completions.stream(chatArgs("eof")).finalChatCompletion(), /missing finish_reason/);
  await assert.rejects(chat.chat.completions.stream(chatArgs("early_error")).finalChatCompletion(), OpenAI.APIError);
});

test("chat: HTTP errors in the vendor's shape", async () => {
  await assert.rejects(chat.chat.completions.create(chatArgs("error_400")), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.code, "context_length_exceeded");
    assert.equal(e.param, "messages");
    assert.equal(e.error.message, ERROR_MESSAGES.overflow.chat);
    return true;
  });
  await assert.rejects(chat.chat.completions.create(chatArgs("error_429")), (e) => {
    assert.ok(e instanceof OpenAI.RateLimitError);
    assert.equal(e.headers.get("retry-after"), String(RETRY_AFTER_S));
    assert.equal(e.code, "rate_limit_exceeded");
    return true;
  });
  await assert.rejects(chat.chat.completions.create(chatArgs("error_500")), OpenAI.InternalServerError);
  await assert.rejects(chat.chat.completions.create(chatArgs("error_503")), (e) => e instanceof OpenAI.InternalServerError && e.status === 503);
  const wrong = new OpenAI({ apiKey: "sk-wrong", baseURL: mock.baseUrl("chat"), maxRetries: 0 });
  await assert.rejects(wrong.chat.completions.create(chatArgs("text")), (e) => e instanceof OpenAI.AuthenticationError && e.code === "invalid_api_key");
  await assert.rejects(chat.chat.completions.create({ model: "gpt-mock" }), (e) => e instanceof OpenAI.BadRequestError && e.param === "messages");
});

// ------------------------------------------------------------------------------------------ Anthropic

test("anthropic: create answers text with usage excluding cache reads and writes", async () => {
  const message = await anthropic.messages.create(anthropicArgs("text", { system: "Be brief." }));
  assert.equal(message.type, "message");
  assert.equal(message.model, "claude-mock");
  assert.deepEqual(message.content, [{ type: "text", text: scenarioText("text") }]);
  assert.equal(message.stop_reason, "end_turn");
  assert.equal(message.usage.input_tokens, 1500 - 1024 - 16);
  assert.equal(message.usage.cache_read_input_tokens, 1024);
  assert.equal(message.usage.cache_creation_input_tokens, 16);
  assert.equal(message.usage.output_tokens, 12);
  const seen = mock.last();
  assert.equal(seen.path, "/anthropic/v1/messages");
  // @anthropic-ai/sdk 1.14 sends its API key as a Bearer token and its own API version.
  assert.equal(seen.headers.authorization, `Bearer ${DEFAULT_API_KEY}`);
  assert.equal(seen.headers["anthropic-version"], "2026-10-21");
});

test("anthropic: stream().finalMessage() accumulates text and cumulative usage", async () => {
  const stream = anthropic.messages.stream(anthropicArgs("text"));
  const events = [];
  stream.on("streamEvent", (e) => events.push(e.type));
  const message = await stream.finalMessage();
  assert.equal(message.content[0].text, scenarioText("text"));
  assert.equal(message.stop_reason, "end_turn");
  assert.equal(message.usage.output_tokens, 12);
  assert.equal(message.usage.input_tokens, 460);
  assert.equal(message.usage.cache_read_input_tokens, 1024);
  assert.deepEqual(events.slice(0, 2), ["message_start", "content_block_start"]);
  assert.deepEqual(events.slice(-2), ["message_delta", "message_stop"]);
});

test("anthropic: tools stream as input_json_delta fragments; thinking carries a signature", async () => {
  const tools = await anthropic.messages.stream(anthropicArgs("tools")).finalMessage();
  assert.equal(tools.stop_reason, "tool_use");
  assert.deepEqual(tools.content, [
    { type: "text", text: scenarioText("tools") },
    { type: "tool_use", id: "toolu_01MockWeather", name: "get_weather", input: { city: "Paris", unit: "celsius" } },
    { type: "tool_use", id: "toolu_01MockTime", name: "get_time", input: { timezone: "Europe/Paris" } },
  ]);
  const created = await anthropic.messages.create(anthropicArgs("tools"));
  assert.deepEqual(created.content, tools.content);

  const thinkingArgs = anthropicArgs("thinking", { max_tokens: 4096, thinking: { type: "enabled", budget_tokens: 2048 } });
  const thought = await anthropic.messages.stream(thinkingArgs).finalMessage();
  assert.deepEqual(thought.content, [
    { type: "thinking", thinking: SCENARIOS.thinking.thinking.join(""), signature: SCENARIOS.thinking.signature },
    { type: "text", text: scenarioText("thinking") },
  ]);
  const plain = await anthropic.messages.create(anthropicArgs("thinking"));
  assert.deepEqual(plain.content, [{ type: "text", text: scenarioText("thinking") }], "no thinking unless asked");
});

test("anthropic: max_tokens, refusal and stop_sequence stop reasons", async () => {
  const cut = await anthropic.messages.stream(anthropicArgs("max_tokens")).finalMessage();
  assert.equal(cut.stop_reason, "max_tokens");
  const refused = await anthropic.messages.create(anthropicArgs("refusal"));
  assert.equal(refused.stop_reason, "refusal");
  const stopped = await anthropic.messages.stream(anthropicArgs("stop_sequence", { stop_sequences: ["4,", "5,"] })).finalMessage();
  assert.equal(stopped.stop_reason, "stop_sequence");
  assert.equal(stopped.stop_sequence, "4,");
});

test("anthropic: error event mid-stream and first, and EOF, all raise", async () => {
  await assert.rejects(anthropic.messages.stream(anthropicArgs("midstream_error")).finalMessage(), (e) => {
    assert.ok(e instanceof Anthropic.APIError, String(e));
    assert.equal(e.error.error.type, "overloaded_error");
    return true;
  });
  await assert.rejects(anthropic.messages.stream(anthropicArgs("early_error")).finalMessage(), Anthropic.APIError);
  await assert.rejects(anthropic.messages.stream(anthropicArgs("eof")).finalMessage(), /stream ended without producing a Message/);
});

test("anthropic: HTTP errors in the vendor's shape; auth like the vendor", async () => {
  await assert.rejects(anthropic.messages.create(anthropicArgs("error_400")), (e) => {
    assert.ok(e instanceof Anthropic.BadRequestError);
    assert.equal(e.error.error.type, "invalid_request_error");
    assert.equal(e.error.error.message, ERROR_MESSAGES.overflow.anthropic);
    return true;
  });
  await assert.rejects(anthropic.messages.create(anthropicArgs("error_429")), (e) => e instanceof Anthropic.RateLimitError && e.headers.get("retry-after") === "7");
  await assert.rejects(anthropic.messages.create(anthropicArgs("error_529")), (e) => e.status === 529 && e.error.error.type === "overloaded_error");
  await assert.rejects(anthropic.messages.create(anthropicArgs("error_500")), Anthropic.InternalServerError);
  const wrong = new Anthropic({ apiKey: "sk-wrong", baseURL: `${mock.url}/anthropic`, maxRetries: 0 });
  await assert.rejects(wrong.messages.create(anthropicArgs("text")), (e) => e instanceof Anthropic.AuthenticationError && e.error.error.type === "authentication_error");
  const noVersion = await fetch(`${mock.url}/anthropic/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": DEFAULT_API_KEY, "content-type": "application/json" },
    body: JSON.stringify(anthropicArgs("text")),
  });
  assert.equal(noVersion.status, 400);
  assert.deepEqual((await noVersion.json()).error, { type: "invalid_request_error", message: "anthropic-version: header is required" });
  const viaHeader = await fetch(`${mock.url}/anthropic/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": DEFAULT_API_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify(anthropicArgs("text")),
  });
  assert.equal(viaHeader.status, 200);
  assert.equal((await viaHeader.json()).content[0].text, scenarioText("text"));
  const wrongHeader = await fetch(`${mock.url}/anthropic/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": "sk-wrong", "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify(anthropicArgs("text")),
  });
  assert.equal(wrongHeader.status, 401);
  assert.deepEqual((await wrongHeader.json()).error, { type: "authentication_error", message: "invalid x-api-key" });
  await assert.rejects(
    anthropic.messages.create({ model: "claude-mock", messages: [{ role: "user", content: "hi" }] }),
    (e) => e instanceof Anthropic.BadRequestError && e.error.error.message === "max_tokens: Field required",
  );
  const counted = await anthropic.messages.countTokens({ model: "claude-mock", messages: [{ role: "user", content: "hi" }] });
  assert.equal(counted.input_tokens, COUNTED_INPUT_TOKENS);
});

// ------------------------------------------------------------------------------------------ Responses

test("responses: create answers text with the request config echoed", async () => {
  const response = await responses.responses.create(responsesArgs("text", { instructions: "Be brief.", max_output_tokens: 64 }));
  assert.equal(response.object, "response");
  assert.equal(response.status, "completed");
  assert.equal(response.output_text, scenarioText("text"));
  assert.equal(response.instructions, "Be brief.");
  assert.equal(response.max_output_tokens, 64);
  assert.equal(response.usage.input_tokens, 1500);
  assert.equal(response.usage.input_tokens_details.cached_tokens, 1024);
  assert.equal(response.usage.total_tokens, 1512);
  assert.equal(mock.last().headers.authorization, `Bearer ${DEFAULT_API_KEY}`);
});

test("responses: stream().finalResponse() accumulates text; sequence numbers are dense", async () => {
  const stream = responses.responses.stream(responsesArgs("text"));
  const seqs = [];
  const types = [];
  stream.on("event", (e) => {
    seqs.push(e.sequence_number);
    types.push(e.type);
  });
  const final = await stream.finalResponse();
  assert.equal(final.status, "completed");
  // finalResponse() has no `output_text` unless the request is parseable (SDK quirk).
  assert.equal(final.output_text, undefined);
  assert.equal(outputText(final), scenarioText("text"));
  assert.equal(final.usage.output_tokens, 12);
  assert.deepEqual(seqs, seqs.map((_, i) => i));
  assert.deepEqual(types.slice(0, 2), ["response.created", "response.in_progress"]);
  assert.equal(types.at(-1), "response.completed");
});

test("responses: tools, reasoning with summary and encrypted content", async () => {
  const final = await responses.responses.stream(responsesArgs("tools")).finalResponse();
  const calls = final.output.filter((o) => o.type === "function_call");
  assert.deepEqual(
    calls.map((c) => [c.call_id, c.name, JSON.parse(c.arguments)]),
    [
      ["call_mockWeather01", "get_weather", { city: "Paris", unit: "celsius" }],
      ["call_mockTime02", "get_time", { timezone: "Europe/Paris" }],
    ],
  );
  assert.equal(outputText(final), scenarioText("tools"));

  const args = responsesArgs("thinking", { reasoning: { effort: "low", summary: "auto" }, include: ["reasoning.encrypted_content"], store: false });
  const thought = await responses.responses.stream(args).finalResponse();
  const reasoning = thought.output.find((o) => o.type === "reasoning");
  assert.deepEqual(reasoning.summary, [{ type: "summary_text", text: SCENARIOS.thinking.thinking.join("") }]);
  assert.equal(reasoning.encrypted_content, SCENARIOS.thinking.encrypted);
  assert.equal(outputText(thought), scenarioText("thinking"));
  assert.equal(thought.usage.output_tokens_details.reasoning_tokens, 64);
  const bare = await responses.responses.create(responsesArgs("thinking"));
  assert.deepEqual(bare.output[0].summary, []);
  assert.equal(bare.output[0].encrypted_content, undefined);
});

test("responses: max_tokens is incomplete; refusal is a refusal part", async () => {
  const cut = await responses.responses.create(responsesArgs("max_tokens"));
  assert.equal(cut.status, "incomplete");
  assert.deepEqual(cut.incomplete_details, { reason: "max_output_tokens" });
  const events = [];
  const stream = responses.responses.stream(responsesArgs("max_tokens"));
  stream.on("event", (e) => events.push(e.type));
  await stream.finalResponse();
  assert.equal(events.at(-1), "response.incomplete");
  const refused = await responses.responses.create(responsesArgs("refusal"));
  assert.deepEqual(refused.output[0].content, [{ type: "refusal", refusal: SCENARIOS.refusal.refusal.join("") }]);
});

test("responses: mid-stream error event raises; EOF does not (SDK quirk, recorded here)", async () => {
  await assert.rejects(responses.responses.stream(responsesArgs("midstream_error")).finalResponse(), (e) => {
    // The SDK emits the raw `error` event object as the stream's error.
    assert.equal(e.type, "error");
    assert.equal(e.code, "server_error");
    return true;
  });
  // openai-node's ResponseStream finalizes whatever snapshot it has when the body ends: an EOF
  // without response.completed gives an `in_progress` response instead of an error.
  const eof = await responses.responses.stream(responsesArgs("eof")).finalResponse();
  assert.equal(eof.status, "in_progress");
});

test("responses: HTTP errors in the vendor's shape", async () => {
  await assert.rejects(responses.responses.create(responsesArgs("error_400")), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.code, "context_length_exceeded");
    assert.equal(e.error.message, ERROR_MESSAGES.overflow.responses);
    return true;
  });
  await assert.rejects(responses.responses.create(responsesArgs("error_429")), OpenAI.RateLimitError);
  await assert.rejects(responses.responses.create({ model: "gpt-mock", input: "x", stop: ["a"] }), (e) => e instanceof OpenAI.BadRequestError && e.param === "stop");
});

// ------------------------------------------------------------------------------------------ timing and aborts

// ------------------------------------------------------------------------------------------ Gemini

const geminiArgs = (scenario, config = {}) => ({ model: "gemini-mock", contents: say(scenario), config });

test("gemini: generateContent answers text with usage; the model is in the URL, the key in x-goog-api-key", async () => {
  const response = await gemini.models.generateContent(geminiArgs("text"));
  assert.equal(response.text, scenarioText("text"));
  assert.equal(response.candidates[0].finishReason, "STOP");
  assert.equal(response.modelVersion, "gemini-mock");
  assert.deepEqual(
    { prompt: response.usageMetadata.promptTokenCount, cached: response.usageMetadata.cachedContentTokenCount, candidates: response.usageMetadata.candidatesTokenCount, total: response.usageMetadata.totalTokenCount },
    { prompt: 1500, cached: 1024, candidates: 12, total: 1512 },
  );
  const seen = mock.last();
  assert.equal(seen.path, "/gemini/v1/models/gemini-mock:generateContent", "@google/genai 3 calls v1");
  assert.equal(seen.headers["x-goog-api-key"], DEFAULT_API_KEY);
  assert.equal(seen.model, "gemini-mock");
  assert.equal(seen.stream, false);
});

test("gemini: streamGenerateContent is data-only SSE ending events in \\r\\n\\r\\n; the SDK reads every chunk", async () => {
  const chunks = [];
  for await (const chunk of await gemini.models.generateContentStream(geminiArgs("text"))) chunks.push(chunk);
  assert.equal(chunks.map((c) => c.text ?? "").join(""), scenarioText("text"));
  assert.equal(chunks.at(-1).candidates[0].finishReason, "STOP");
  assert.equal(chunks.at(-1).usageMetadata.totalTokenCount, 1512);
  const seen = mock.last();
  assert.equal(seen.query, "?alt=sse");
  const raw = await fetch(`${mock.url}/gemini/v1beta/models/gemini-mock:streamGenerateContent?alt=sse`, {
    method: "POST",
    headers: { "x-goog-api-key": DEFAULT_API_KEY, "content-type": "application/json" },
    body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: say("text") }] }] }),
  });
  const text = await raw.text();
  assert.ok(text.startsWith("data: {"), text);
  assert.ok(text.endsWith("}\r\n\r\n"));
  assert.ok(!text.includes("event:") && !text.includes("[DONE]"));
});

test("gemini: thoughts when asked, whole function calls with ids, the signature on the first call", async () => {
  const response = await gemini.models.generateContent(geminiArgs("thinking_tools", { thinkingConfig: { includeThoughts: true } }));
  const parts = response.candidates[0].content.parts;
  assert.equal(parts.filter((p) => p.thought).map((p) => p.text).join(""), SCENARIOS.thinking.thinking.join(""));
  const calls = parts.filter((p) => p.functionCall);
  assert.deepEqual(calls.map((p) => [p.functionCall.id, p.functionCall.name]), [["mockweather01", "get_weather"], ["mocktime02", "get_time"]]);
  assert.equal(calls[0].thoughtSignature, GEMINI_SIGNATURE);
  assert.equal(calls[1].thoughtSignature, undefined);
  assert.deepEqual(response.functionCalls.map((c) => c.args), [{ city: "Paris", unit: "celsius" }, { timezone: "Europe/Paris" }]);
  assert.equal(response.usageMetadata.thoughtsTokenCount, 64);
  const noIds = await gemini.models.generateContent(geminiArgs("tools_odd_ids"));
  assert.deepEqual(noIds.functionCalls.map((c) => c.id), [undefined, undefined], "Gemini 2.5 style: no ids");
});

test("gemini: like Gemini 3, a current-turn call without its signature is refused", async () => {
  const contents = [
    { role: "user", parts: [{ text: "Weather?" }] },
    { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }] },
    { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { output: "18C" } } }] },
  ];
  await assert.rejects(gemini.models.generateContent({ model: "gemini-mock", contents }), (e) => e instanceof GeminiApiError && e.status === 400 && /thought_signature/.test(e.message));
  contents[1].parts[0].thoughtSignature = "skip_thought_signature_validator";
  const ok = await gemini.models.generateContent({ model: "gemini-mock", contents });
  assert.equal(ok.text, scenarioText("text"));
});

test("gemini: stop reasons, a mid-stream error the SDK raises, countTokens", async () => {
  const truncated = await gemini.models.generateContent(geminiArgs("max_tokens"));
  assert.equal(truncated.candidates[0].finishReason, "MAX_TOKENS");
  await assert.rejects(
    (async () => {
      for await (const _ of await gemini.models.generateContentStream(geminiArgs("midstream_error")));
    })(),
    (e) => e instanceof GeminiApiError && e.status === 500,
  );
  const counted = await gemini.models.countTokens({ model: "gemini-mock", contents: "hi" });
  assert.equal(counted.totalTokens, COUNTED_INPUT_TOKENS);
});

test("gemini: HTTP errors in Google's shape; auth like Google", async () => {
  for (const [scenario, status, google] of [["error_400", 400, "INVALID_ARGUMENT"], ["error_429", 429, "RESOURCE_EXHAUSTED"], ["error_503", 503, "UNAVAILABLE"]]) {
    await assert.rejects(gemini.models.generateContent(geminiArgs(scenario)), (e) => {
      assert.ok(e instanceof GeminiApiError);
      assert.equal(e.status, status);
      const body = JSON.parse(e.message);
      assert.equal(body.error.status, google);
      assert.equal(body.error.code, status);
      return true;
    });
  }
  const limited = await gemini.models.generateContent(geminiArgs("error_429")).catch((e) => JSON.parse(e.message));
  assert.equal(limited.error.details.find((d) => d.retryDelay).retryDelay, `${RETRY_AFTER_S}s`);
  assert.ok(limited.error.message.includes(ERROR_MESSAGES.rateLimit.gemini));
  const wrongKey = new GoogleGenAI({ apiKey: "nope", httpOptions: { baseUrl: `${mock.url}/gemini` } });
  await assert.rejects(wrongKey.models.generateContent(geminiArgs("text")), (e) => e.status === 400 && /API_KEY_INVALID/.test(e.message));
  const noKey = await fetch(`${mock.url}/gemini/v1beta/models/gemini-mock:generateContent`, { method: "POST", body: "{}" });
  assert.equal(noKey.status, 403);
  const noSse = await fetch(`${mock.url}/gemini/v1beta/models/gemini-mock:streamGenerateContent?key=${DEFAULT_API_KEY}`, { method: "POST", body: JSON.stringify({ contents: [{ parts: [{ text: "hi" }] }] }) });
  assert.equal(noSse.status, 400, "the gateway must always ask for alt=sse");
});

test("slow: the first delta arrives before the hold ends", async () => {
  const started = Date.now();
  let firstAt = null;
  const stream = anthropic.messages.stream(anthropicArgs("slow"));
  stream.on("text", () => {
    firstAt ??= Date.now();
  });
  const message = await stream.finalMessage();
  const total = Date.now() - started;
  assert.equal(message.content[0].text, scenarioText("slow"));
  assert.ok(firstAt - started < 500, `first delta after ${firstAt - started} ms`);
  assert.ok(total >= 1000, `total ${total} ms`);
});

test("hang_headers: a client timeout aborts, and the mock records it", async () => {
  const impatient = new OpenAI({ apiKey: DEFAULT_API_KEY, baseURL: mock.baseUrl("chat"), maxRetries: 0, timeout: 200 });
  await assert.rejects(impatient.chat.completions.create(chatArgs("hang_headers")), OpenAI.APIConnectionTimeoutError);
  const seen = await mock.waitFor((r) => r.scenario === "hang_headers" && r.endedAt !== null);
  assert.equal(seen.aborted, true);
  assert.equal(mock.inFlight, 0);
});

test("long: a client that stops reading is recorded as aborted; maxInFlight counts", async () => {
  const stream = await anthropic.messages.create({ ...anthropicArgs("long"), stream: true });
  let n = 0;
  for await (const event of stream) {
    if (event.type === "content_block_delta" && ++n === 5) break;
  }
  const seen = await mock.waitFor((r) => r.scenario === "long" && r.endedAt !== null);
  assert.equal(seen.aborted, true);
  const both = await Promise.all([
    chat.chat.completions.create(chatArgs("slow")),
    chat.chat.completions.create(chatArgs("slow")),
  ]);
  assert.equal(both.length, 2);
  assert.ok(mock.maxInFlight >= 2);
});

test("reset: a destroyed connection is an error for the SDK, not an abort by the client", async () => {
  await assert.rejects(anthropic.messages.stream(anthropicArgs("reset")).finalMessage());
  const seen = mock.last();
  assert.equal(seen.aborted, false);
  assert.equal(seen.destroyedByMock, true);
});
