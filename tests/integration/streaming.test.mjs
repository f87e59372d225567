// Streaming behaviour through the gateway: events are forwarded as they arrive, Chat's usage
// chunk follows include_usage, and upstream failures become errors the client's SDK raises,
// never a silently truncated success.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { ApiError as GeminiApiError } from "@google/genai";

import { startGateway, MODELS, parseSse } from "../support/gateway.mjs";
import { FORMATS, SCENARIOS, scenarioText, ERROR_MESSAGES } from "../support/mock-upstream.mjs";
import { CLIENTS, buildRequest, geminiRest } from "../support/clients.mjs";

const HOLD_MS = 1000;

let gw;
let key;

before(async () => {
  gw = await startGateway({ mockOptions: { slowHoldMs: HOLD_MS, longEvents: 400, longIntervalMs: 10 } });
  key = (await gw.createKey()).key;
});
after(async () => {
  await gw?.close();
});

const ENDPOINT = { chat: "/v1/chat/completions", anthropic: "/v1/messages", responses: "/v1/responses" };

/** The path and body of a raw streaming request in `client` format. */
function streamingRequest(client, upstream, scenario, extra = {}) {
  const request = buildRequest(client, { model: MODELS[upstream], scenario });
  if (client === "gemini") return geminiRest(request, "streamGenerateContent");
  return { path: ENDPOINT[client], body: { ...request, stream: true, ...extra } };
}

/** A raw streaming call: { status, headers, frames, text }. */
async function rawStream(client, upstream, scenario, extra = {}) {
  const { path, body } = streamingRequest(client, upstream, scenario, extra);
  const res = await gw.request("POST", path, {
    body,
    headers: { authorization: `Bearer ${key}`, "anthropic-version": "2023-06-01" },
  });
  return { ...res, frames: parseSse(res.text) };
}

/**
 * Streams with the client's SDK helper; resolves with { firstDeltaAt, endedAt, text } (times
 * relative to the start) or rejects with the SDK's error.
 */
async function sdkStream(client, upstream, scenario) {
  const request = buildRequest(client, { model: MODELS[upstream], scenario });
  const started = Date.now();
  let firstDeltaAt = null;
  let text = "";
  const onDelta = (delta) => {
    firstDeltaAt ??= Date.now() - started;
    text += delta;
  };
  let final;
  if (client === "gemini") {
    const chunks = [];
    for await (const chunk of await gw.geminiClient(key).models.generateContentStream(request)) {
      chunks.push(chunk);
      const delta = (chunk.candidates?.[0]?.content?.parts ?? []).filter((p) => typeof p.text === "string" && !p.thought).map((p) => p.text).join("");
      if (delta) onDelta(delta);
    }
    final = chunks.at(-1);
    if (!final?.candidates?.[0]?.finishReason) throw new Error("the Gemini stream ended without a finishReason");
  } else if (client === "chat") {
    const stream = gw.openaiClient(key).chat.completions.stream({ ...request, stream_options: { include_usage: true } });
    stream.on("content", (delta) => onDelta(delta));
    final = await stream.finalChatCompletion();
  } else if (client === "anthropic") {
    const stream = gw.anthropicClient(key).messages.stream(request);
    stream.on("text", (delta) => onDelta(delta));
    final = await stream.finalMessage();
  } else {
    const stream = gw.openaiClient(key).responses.stream(request);
    stream.on("response.output_text.delta", (e) => onDelta(e.delta));
    final = await stream.finalResponse();
  }
  return { firstDeltaAt, endedAt: Date.now() - started, text, final };
}

// ------------------------------------------------------------------------------------------ (a) incremental delivery

const FOREIGN = { chat: "anthropic", anthropic: "responses", responses: "gemini", gemini: "chat" };
for (const client of CLIENTS) {
  for (const upstream of new Set([FOREIGN[client], client])) {
    test(`incremental: ${client} client ← ${upstream} upstream gets the first delta before the upstream's ${HOLD_MS} ms hold ends`, async () => {
      const result = await sdkStream(client, upstream, "slow");
      const seen = gw.mock.last((r) => r.scenario === "slow");
      assert.equal(result.text, scenarioText("slow"));
      assert.ok(result.firstDeltaAt !== null, "a delta arrived");
      assert.ok(result.firstDeltaAt < HOLD_MS - 400, `first delta after ${result.firstDeltaAt} ms (hold ${HOLD_MS} ms)`);
      assert.ok(result.endedAt >= HOLD_MS, `whole answer after ${result.endedAt} ms`);
      // The mock was still holding the rest when the client had the first delta.
      assert.ok(seen.endedAt - seen.startedAt >= HOLD_MS, "the mock held");
    });
  }
}

// ------------------------------------------------------------------------------------------ (b) include_usage

for (const upstream of FORMATS) {
  test(`Chat include_usage (← ${upstream}): usage chunk only when asked, upstream always asked`, async () => {
    const openai = gw.openaiClient(key);
    const request = buildRequest("chat", { model: MODELS[upstream] });
    const collect = async (extra) => {
      const chunks = [];
      const stream = await openai.chat.completions.create({ ...request, ...extra, stream: true });
      for await (const chunk of stream) chunks.push(chunk);
      return chunks;
    };

    // Chat upstreams are asked for usage; Anthropic and Responses streams always carry it.
    const upstreamAsked = () => {
      const seen = gw.mock.last();
      const body = seen.body;
      // Gemini streams by its URL, and always reports usage.
      if (upstream === "gemini") assert.match(seen.path + seen.query, /:streamGenerateContent\?alt=sse$/);
      else assert.equal(body.stream, true);
      if (upstream === "chat") assert.equal(body.stream_options?.include_usage, true, "usage is asked upstream");
      else assert.equal(body.stream_options, undefined);
    };
    const asked = await collect({ stream_options: { include_usage: true } });
    upstreamAsked();
    const usageChunk = asked.at(-1);
    assert.deepEqual(usageChunk.choices, []);
    assert.equal(usageChunk.usage.prompt_tokens, SCENARIOS.text.usage.input);
    assert.equal(usageChunk.usage.completion_tokens, SCENARIOS.text.usage.output);
    assert.equal(usageChunk.usage.total_tokens, SCENARIOS.text.usage.input + SCENARIOS.text.usage.output);
    for (const chunk of asked.slice(0, -1)) {
      assert.equal(chunk.usage, null, "every chunk before the usage chunk carries usage: null");
      assert.equal(chunk.choices.length, 1);
    }
    assert.equal(asked.filter((c) => c.choices[0]?.finish_reason).length, 1);

    const notAsked = await collect({});
    upstreamAsked();
    assert.ok(notAsked.length > 2);
    for (const chunk of notAsked) {
      assert.equal(chunk.choices.length, 1, "no choices:[] chunk");
      assert.ok(chunk.usage === undefined || chunk.usage === null, "no usage figures");
    }
    assert.equal(notAsked.map((c) => c.choices[0].delta.content ?? "").join(""), scenarioText("text"));
    assert.equal(notAsked.at(-1).choices[0].finish_reason, "stop");

    const explicitlyNot = await collect({ stream_options: { include_usage: false } });
    upstreamAsked();
    assert.ok(explicitlyNot.every((c) => c.choices.length === 1 && !c.usage));
  });
}

test("streamed answers carry SSE headers, x-request-id and x-toc-warnings", async () => {
  const raw = await rawStream("chat", "responses", "text");
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get("content-type") ?? "", /^text\/event-stream/);
  assert.equal(raw.headers.get("cache-control"), "no-cache");
  assert.match(raw.headers.get("x-request-id") ?? "", /\S/);
  assert.equal(raw.headers.get("x-toc-warnings"), "dropped=stop", "Responses upstreams take no stop sequences");
  assert.equal(raw.frames.at(-1).data, "[DONE]");
  const anthropic = await rawStream("anthropic", "chat", "text");
  assert.equal(anthropic.frames[0].event, "message_start");
  assert.equal(anthropic.frames.at(-1).event, "message_stop");
  assert.ok(anthropic.frames.every((f) => f.event !== null), "every Anthropic frame has an event: line");
  const responses = await rawStream("responses", "anthropic", "text");
  assert.deepEqual(responses.frames.slice(0, 2).map((f) => f.data.type), ["response.created", "response.in_progress"]);
  assert.equal(responses.frames.at(-1).data.type, "response.completed");
  const seqs = responses.frames.map((f) => f.data.sequence_number);
  assert.deepEqual(seqs, seqs.map((_, i) => i), "sequence_number counts from 0 without gaps");
});

// ------------------------------------------------------------------------------------------ (c) and (d): failures mid-stream

/** The last frame of a client stream is that format's error event. */
function assertEndsInError(client, frames, label) {
  const data = frames.filter((f) => f.data !== "[DONE]");
  const last = data.at(-1);
  assert.ok(last, `${label}: frames`);
  if (client === "chat") {
    assert.equal(typeof last.data.error?.message, "string", `${label}: last chunk is an error chunk`);
    assert.equal(last.data.error.type, "server_error", label);
    assert.ok(!frames.some((f) => f.data?.choices?.[0]?.finish_reason), `${label}: no finish_reason`);
  } else if (client === "anthropic") {
    assert.equal(last.event, "error", `${label}: last event is error`);
    assert.equal(last.data.type, "error");
    assert.ok(!frames.some((f) => f.event === "message_stop"), `${label}: no message_stop`);
  } else if (client === "gemini") {
    // Both Gemini SDKs raise on a `data: {"error": {"code": <4xx|5xx>, ...}}` event.
    assert.ok(Number.isInteger(last.data.error?.code) && last.data.error.code >= 400, `${label}: last event is an error`);
    assert.equal(typeof last.data.error.status, "string");
    assert.ok(!frames.some((f) => f.data?.candidates?.[0]?.finishReason), `${label}: no finishReason`);
  } else {
    assert.equal(last.data.type, "response.failed", `${label}: last event is response.failed`);
    assert.equal(last.data.response.status, "failed");
    assert.equal(typeof last.data.response.error.message, "string");
    assert.equal(last.data.response.id, frames[0].data.response.id, `${label}: response.failed names the streamed response`);
    const seqs = data.map((f) => f.data.sequence_number);
    assert.deepEqual(seqs, seqs.map((_, i) => i), `${label}: sequence numbers stay dense`);
    assert.ok(!frames.some((f) => f.data?.type === "response.completed"), `${label}: no response.completed`);
  }
}

/** The partial text a client stream carried before it failed. */
function partialText(client, frames) {
  if (client === "gemini") {
    return frames.flatMap((f) => f.data?.candidates?.[0]?.content?.parts ?? []).filter((p) => typeof p.text === "string" && !p.thought).map((p) => p.text).join("");
  }
  if (client === "chat") return frames.map((f) => f.data?.choices?.[0]?.delta?.content ?? "").join("");
  if (client === "anthropic") return frames.filter((f) => f.data?.delta?.type === "text_delta").map((f) => f.data.delta.text).join("");
  return frames.filter((f) => f.data?.type === "response.output_text.delta").map((f) => f.data.delta).join("");
}

/** The SDK's error class for in-band stream errors. */
function isSdkStreamError(client, error) {
  if (client === "gemini") return error instanceof GeminiApiError;
  if (client === "anthropic") return error instanceof Anthropic.APIError || error instanceof Anthropic.AnthropicError;
  return error instanceof OpenAI.OpenAIError || error?.type === "error";
}

// Mid-stream failures are the operator's: the client is told what happened, not the vendor's words.
const MIDSTREAM_MESSAGE = { chat: /could not serve this model/, anthropic: /The upstream provider is overloaded/, responses: /could not serve this model/, gemini: /could not serve this model/ };

for (const client of CLIENTS) {
  for (const upstream of FORMATS) {
    test(`mid-stream upstream error: ${client} client ← ${upstream} upstream gets the text so far, then an error its SDK raises`, async () => {
      const raw = await rawStream(client, upstream, "midstream_error");
      assert.equal(raw.status, 200);
      assert.equal(partialText(client, raw.frames), scenarioText("midstream_error"));
      assertEndsInError(client, raw.frames, "raw");
      const last = raw.frames.filter((f) => f.data !== "[DONE]").at(-1).data;
      const message = client === "responses" ? last.response.error.message : last.error.message;
      assert.match(message, MIDSTREAM_MESSAGE[upstream]);

      await assert.rejects(sdkStream(client, upstream, "midstream_error"), (e) => {
        assert.ok(isSdkStreamError(client, e), `SDK error: ${e?.constructor?.name} ${JSON.stringify(e)}`);
        return true;
      });
    });

    for (const scenario of ["eof", "reset"]) {
      test(`upstream ${scenario === "eof" ? "EOF" : "connection reset"} without a terminal event: ${client} client ← ${upstream} upstream gets an error, never a success`, async () => {
        const raw = await rawStream(client, upstream, scenario);
        assert.equal(raw.status, 200);
        assert.equal(partialText(client, raw.frames), scenarioText(scenario));
        assertEndsInError(client, raw.frames, "raw");
        await assert.rejects(sdkStream(client, upstream, scenario), (e) => {
          assert.ok(isSdkStreamError(client, e), `SDK error: ${e?.constructor?.name} ${e?.message}`);
          return true;
        });
      });
    }
  }
}

// ------------------------------------------------------------------------------------------ (e) error before the first event

for (const client of CLIENTS) {
  test(`Anthropic answering 200 then an overloaded error event first: ${client} client gets HTTP 503`, async () => {
    const raw = await rawStream(client, "anthropic", "early_error");
    assert.equal(raw.status, 503);
    assert.match(raw.headers.get("content-type") ?? "", /application\/json/);
    assert.match(raw.headers.get("retry-after") ?? "", /^\d+$/);
    assert.match(raw.headers.get("x-request-id") ?? "", /\S/);
    if (client === "anthropic") {
      assert.equal(raw.json.type, "error");
      assert.equal(raw.json.error.type, "overloaded_error");
      assert.match(raw.json.error.message, /The upstream provider is overloaded/);
    } else if (client === "gemini") {
      assert.deepEqual([raw.json.error.code, raw.json.error.status], [503, "UNAVAILABLE"]);
      assert.match(raw.json.error.message, /The upstream provider is overloaded/);
    } else {
      assert.equal(raw.json.error.type, "server_error");
      assert.equal(raw.json.error.code, "overloaded");
    }
    await assert.rejects(sdkStream(client, "anthropic", "early_error"), (e) => {
      assert.equal(e.status, 503);
      const classes = { anthropic: Anthropic.InternalServerError, gemini: GeminiApiError };
      assert.ok(e instanceof (classes[client] ?? OpenAI.InternalServerError));
      return true;
    });
  });
}

for (const client of CLIENTS) {
  for (const upstream of ["chat", "responses", "gemini"]) {
    test(`an OpenAI or Gemini upstream whose stream fails before anything else: ${client} client ← ${upstream} gets a real HTTP error`, async () => {
      const raw = await rawStream(client, upstream, "early_error");
      assert.ok(raw.status >= 500 && raw.status <= 503, `status ${raw.status}`);
      assert.notEqual(raw.json, null, "a JSON error body, not a stream");
      if (client === "anthropic") assert.equal(raw.json.type, "error");
      else if (client === "gemini") assert.equal(raw.json.error.code, raw.status);
      else assert.equal(raw.json.error.type, "server_error");
    });
  }
}

// ------------------------------------------------------------------------------------------ disconnects

for (const client of CLIENTS) {
  test(`a ${client} client that disconnects mid-stream aborts the upstream call`, async () => {
    const upstream = FOREIGN[client];
    const controller = new AbortController();
    const { path, body } = streamingRequest(client, upstream, "long");
    const res = await gw.fetch(path, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    let received = 0;
    while (received < 5) {
      const { value, done } = await reader.read();
      assert.equal(done, false);
      received += new TextDecoder().decode(value).split("tick ").length - 1;
    }
    controller.abort();
    const seen = await gw.mock.waitFor((r) => r.scenario === "long" && r.format === upstream && r.endedAt !== null, 3000);
    assert.equal(seen.aborted, true, "the upstream request was aborted");
    assert.ok(seen.endedAt - seen.startedAt < 400 * 10, "long before the upstream would have finished");
  });
}
