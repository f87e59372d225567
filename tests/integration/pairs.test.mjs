// Every client format × every upstream format, non-streaming and streaming, through the official
// SDKs: the client sees the exact text, stop reason and usage (after the cross-format usage
// rules), and the upstream receives a faithful translation (system placement, roles, max-tokens
// field, sampling, stop sequences, streaming usage, auth headers, upstream model id).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startGateway, MODELS, UPSTREAM_MODELS } from "../support/gateway.mjs";
import { BASE_PATHS, DEFAULT_API_KEY, FORMATS, expectedUsage, scenarioText } from "../support/mock-upstream.mjs";
import {
  CLIENTS,
  SYSTEM,
  STOP,
  MAX_TOKENS,
  TEMPERATURE,
  TOP_P,
  END_STOP,
  ID_PREFIX,
  buildRequest,
  call,
  expectedTurns,
  upstreamConversation,
} from "../support/clients.mjs";

let gw;
let key;

before(async () => {
  gw = await startGateway();
  key = (await gw.createKey()).key;
});
after(async () => {
  await gw?.close();
});

const UPSTREAM_PATH = { chat: "/chat/completions", anthropic: "/messages", responses: "/responses" };

/** What a Gemini upstream must have received for one pair. */
function checkGeminiUpstream(seen, { client, stream, form }) {
  // The model and streaming are in the URL, the key in x-goog-api-key.
  const method = stream ? "streamGenerateContent" : "generateContent";
  assert.equal(seen.path, `${BASE_PATHS.gemini}/models/${UPSTREAM_MODELS.gemini}:${method}`);
  assert.equal(seen.query, stream ? "?alt=sse" : "");
  assert.equal(seen.headers["x-goog-api-key"], DEFAULT_API_KEY);
  assert.equal(seen.headers.authorization, undefined, "no Bearer header to Google");
  const body = seen.body;
  assert.equal(body.model, undefined);
  assert.equal(body.stream, undefined);
  const conversation = upstreamConversation("gemini", body);
  assert.equal(conversation.system, SYSTEM);
  assert.equal(conversation.systemPlacement, "systemInstruction");
  assert.deepEqual(conversation.turns, expectedTurns(client, form));
  const config = body.generationConfig;
  assert.equal(config.maxOutputTokens, MAX_TOKENS);
  assert.equal(config.temperature, TEMPERATURE);
  assert.equal(config.topP, TOP_P, "Gemini takes temperature and topP together");
  if (client === "responses") assert.equal(config.stopSequences, undefined);
  else assert.deepEqual(config.stopSequences, [STOP]);
}

/** What the upstream must have received for one pair. */
function checkUpstream(seen, { client, upstream, stream, form }) {
  if (upstream === "gemini") return checkGeminiUpstream(seen, { client, stream, form });
  assert.equal(seen.path, `${BASE_PATHS[upstream]}${UPSTREAM_PATH[upstream]}`);
  // Auth as the vendor wants it.
  if (upstream === "anthropic") {
    assert.equal(seen.headers["x-api-key"], DEFAULT_API_KEY);
    assert.equal(seen.headers["anthropic-version"], "2023-06-01");
    assert.equal(seen.headers.authorization, undefined, "no Bearer header to Anthropic");
  } else {
    assert.equal(seen.headers.authorization, `Bearer ${DEFAULT_API_KEY}`);
    assert.equal(seen.headers["x-api-key"], undefined, "no x-api-key to OpenAI");
  }
  const body = seen.body;
  assert.equal(body.model, UPSTREAM_MODELS[upstream], "the upstream's own model id");
  // Streaming, and usage asked for in Chat streams.
  if (stream) {
    assert.equal(body.stream, true);
    if (upstream === "chat") assert.equal(body.stream_options?.include_usage, true, "include_usage always asked upstream");
  } else {
    assert.notEqual(body.stream, true);
  }
  // The conversation, with the system prompt where the upstream format puts it.
  const conversation = upstreamConversation(upstream, body);
  assert.equal(conversation.system, SYSTEM);
  const placement = {
    chat: `messages[0].role=${client === "chat" && form === "parts" ? "developer" : "system"}`,
    anthropic: "system",
    responses: "instructions",
  }[upstream];
  assert.equal(conversation.systemPlacement, placement);
  assert.deepEqual(conversation.turns, expectedTurns(client, form));
  // The output limit under the upstream's field name.
  if (upstream === "chat") {
    assert.equal(body.max_completion_tokens, MAX_TOKENS, "Chat upstreams get max_completion_tokens (the provider's default max_tokens_param)");
    assert.equal(body.max_tokens, undefined);
  } else if (upstream === "anthropic") {
    assert.equal(body.max_tokens, MAX_TOKENS);
  } else {
    assert.equal(body.max_output_tokens, MAX_TOKENS);
    assert.equal(body.max_tokens, undefined);
  }
  // Sampling. Anthropic takes temperature or top_p, not both: a translated request keeps
  // temperature and drops top_p; the client's own Anthropic request is forwarded as sent.
  assert.equal(body.temperature, TEMPERATURE);
  if (upstream === "anthropic" && client !== "anthropic") assert.equal(body.top_p, undefined);
  else assert.equal(body.top_p, TOP_P);
  // Stop sequences (Responses clients have none; Responses upstreams take none).
  if (client === "responses" || upstream === "responses") {
    assert.equal(body.stop, undefined);
    assert.equal(body.stop_sequences, undefined);
  } else if (upstream === "chat") {
    assert.deepEqual([].concat(body.stop), [STOP]);
  } else {
    assert.deepEqual(body.stop_sequences, [STOP]);
  }
}

/** The x-toc-warnings header a pair must carry (null: none). */
function expectedWarnings(client, upstream) {
  if (upstream === "anthropic" && client !== "anthropic") return "dropped=top_p";
  if (upstream === "responses" && client !== "responses") return "dropped=stop";
  return null;
}

for (const client of CLIENTS) {
  for (const upstream of FORMATS) {
    for (const stream of [false, true]) {
      for (const form of ["string", "parts"]) {
        const name = `${client} client → ${upstream} upstream, ${stream ? "streaming" : "non-streaming"}, ${form} form`;
        test(name, async () => {
          const request = buildRequest(client, { model: MODELS[upstream], form });
          const answer = await call(gw, key, client, request, { stream, upstream });
          const seen = gw.mock.last((r) => r.format === upstream);
          assert.ok(seen, "the upstream was called");
          assert.equal(seen.scenario, "text");

          assert.equal(answer.text, scenarioText("text"));
          assert.equal(answer.stop, END_STOP[client]);
          assert.deepEqual(answer.usage, expectedUsage(client, upstream, "text"));
          assert.ok(answer.id.length > ID_PREFIX[client].length && answer.id.startsWith(ID_PREFIX[client]), `id ${answer.id}`);
          if (!stream) {
            assert.match(answer.headers.get("x-request-id") ?? "", /\S/);
            assert.equal(answer.headers.get("x-toc-warnings"), expectedWarnings(client, upstream));
          }
          checkUpstream(seen, { client, upstream, stream, form });
          assert.equal(answer.model, MODELS[upstream], "answers name the public model id, not the upstream's");
        });
      }
    }
  }
}

// Stop reasons other than a natural end, one answer shape per upstream, seen by every client.
const STOP_CASES = {
  max_tokens: { chat: "length", anthropic: "max_tokens", responses: "incomplete:max_output_tokens", gemini: "MAX_TOKENS" },
};
for (const client of CLIENTS) {
  for (const upstream of FORMATS) {
    test(`${client} client → ${upstream} upstream: a truncated answer keeps its stop reason (streaming and not)`, async () => {
      const request = buildRequest(client, { model: MODELS[upstream], scenario: "max_tokens" });
      for (const stream of [false, true]) {
        const answer = await call(gw, key, client, request, { stream, upstream });
        assert.equal(answer.text, scenarioText("max_tokens"), `stream=${stream}`);
        assert.equal(answer.stop, STOP_CASES.max_tokens[client], `stream=${stream}`);
        assert.deepEqual(answer.usage, expectedUsage(client, upstream, "max_tokens"), `stream=${stream}`);
      }
    });
  }
}

// Anthropic reports which stop sequence matched; Chat cannot, so it is a plain stop.
for (const client of ["chat", "anthropic"]) {
  test(`${client} client → anthropic upstream: a matched stop sequence`, async () => {
    const request = buildRequest(client, { model: MODELS.anthropic, scenario: "stop_sequence" });
    for (const stream of [false, true]) {
      const answer = await call(gw, key, client, request, { stream });
      assert.equal(answer.text, scenarioText("stop_sequence"));
      if (client === "anthropic") {
        assert.equal(answer.stop, "stop_sequence");
        assert.equal(answer.raw.stop_sequence, STOP);
      } else {
        assert.equal(answer.stop, "stop");
      }
    }
  });
}

test("Anthropic client without max_tokens is refused; OpenAI clients without a limit get the model's default_max_tokens upstream", async () => {
  const anthropic = gw.anthropicClient(key);
  await assert.rejects(
    anthropic.messages.create({ model: MODELS.chat, messages: [{ role: "user", content: "hi" }] }),
    (e) => e.status === 400 && e.error.error.type === "invalid_request_error",
  );
  const openai = gw.openaiClient(key);
  await openai.chat.completions.create({ model: MODELS.anthropic, messages: [{ role: "user", content: "hi" }] });
  assert.equal(gw.mock.last().body.max_tokens, 4096);
  await openai.responses.create({ model: MODELS.anthropic, input: "hi" });
  assert.equal(gw.mock.last().body.max_tokens, 4096);
});

test("gemini clients: v1beta and v1 paths, the key in x-goog-api-key, ?key= or Bearer, models/ names", async () => {
  const body = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };
  for (const [path, headers] of [
    [`/v1beta/models/${MODELS.chat}:generateContent`, { "x-goog-api-key": key }],
    [`/v1/models/models/${MODELS.chat}:generateContent`, { "x-goog-api-key": key }],
    [`/v1beta/models/${MODELS.chat}:generateContent?key=${key}`, {}],
    // Gemini CLI in gateway mode: an empty x-goog-api-key, the key in its own Authorization header.
    [`/v1beta/models/${MODELS.chat}%3AgenerateContent`, { "x-goog-api-key": "", authorization: `Bearer ${key}` }],
  ]) {
    const res = await gw.request("POST", path, { body, headers });
    assert.equal(res.status, 200, `${path}: ${res.text}`);
    assert.equal(res.json.candidates[0].content.parts[0].text, scenarioText("text"), path);
    assert.equal(res.json.modelVersion, MODELS.chat);
  }
  const viaV1beta = gw.geminiClient(key, { httpOptions: { apiVersion: "v1beta" } });
  const answer = await viaV1beta.models.generateContent({ model: MODELS.anthropic, contents: "hi" });
  assert.equal(answer.text, scenarioText("text"));
});

test("gemini clients: streamGenerateContent without alt=sse is a 400 that says to add it", async () => {
  gw.mock.reset();
  const res = await gw.request("POST", `/v1beta/models/${MODELS.chat}:streamGenerateContent`, {
    body: { contents: [{ parts: [{ text: "hi" }] }] },
    headers: { "x-goog-api-key": key },
  });
  assert.equal(res.status, 400);
  assert.equal(res.json.error.status, "INVALID_ARGUMENT");
  assert.match(res.json.error.message, /alt=sse/);
  assert.equal(gw.mock.requests.length, 0);
  const sse = await gw.request("POST", `/v1beta/models/${MODELS.chat}:streamGenerateContent?alt=sse`, {
    body: { contents: [{ parts: [{ text: "hi" }] }] },
    headers: { "x-goog-api-key": key },
  });
  assert.equal(sse.status, 200);
  assert.match(sse.headers.get("content-type"), /^text\/event-stream/);
  assert.ok(sse.text.endsWith("\r\n\r\n"));
});
