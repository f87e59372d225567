// Server tools across formats with the official SDKs: a Responses client's `web_search` run by an
// Anthropic upstream and an Anthropic client's `web_search_20250305` run by a Responses upstream,
// streamed and not (the call, its results and the citations in the client's own shapes, the
// search counted in the client's usage and in the request log, priced per call); a search on a
// model whose upstream runs none refused with a 400 naming the tool, or left out with a warning
// on a plan that says so; a search on a plan that does not allow server tools left out with a
// warning.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";

import { startGateway, gatewayConfig, MODELS, UPSTREAM_MODELS, DEFAULT_PLANS } from "../support/gateway.mjs";
import { SCENARIOS } from "../support/mock-upstream.mjs";

const SEARCH = SCENARIOS.web_search;
const QUERY = SEARCH.search.query;
const URLS = SEARCH.search.results.map((r) => r.url);
const FULL_TEXT = SEARCH.segments.map((s) => s.text).join("");
const CITED = SEARCH.segments[1].text;
const CITED_START = [...SEARCH.segments[0].text].length;
const USER = "What is the weather in Paris? [scenario:web_search]";
/** A model on the Anthropic provider whose config says its route runs no server tool. */
const NO_SEARCH_MODEL = "m-anthropic-nosearch";
/** $10 per thousand searches, nothing per token: a call's cost is its searches. */
const SEARCH_PRICES = [{ taken: "2026-11-30", input: 0, output: 0, web_search: 10 }];
const ONE_SEARCH_USD = "0.01";

let gw;
/** Plan `search`: server tools allowed, a missing one refused (the default). */
let key;
let keyId;
/** Plan `search-drop`: server tools allowed, a missing one left out with a warning. */
let dropKey;
/** Plan `test`: no server tools. */
let plainKey;

before(async () => {
  const plans = [
    ...DEFAULT_PLANS,
    { ...DEFAULT_PLANS[0], id: "search", upstream_features: ["server_tools"] },
    { ...DEFAULT_PLANS[0], id: "search-drop", upstream_features: ["server_tools"], server_tools_missing: "drop" },
  ];
  gw = await startGateway({
    config: (mock) => {
      const base = gatewayConfig(mock, {
        plans,
        extraModels: [{ id: NO_SEARCH_MODEL, provider: "p-anthropic", upstream: UPSTREAM_MODELS.anthropic, default_max_tokens: 1024, server_tools: [] }],
      });
      for (const model of base.models) if (model.id === MODELS.anthropic || model.id === MODELS.responses) model.prices = SEARCH_PRICES;
      return base;
    },
  });
  const created = await gw.createKey("search", "search");
  key = created.key;
  keyId = created.id;
  dropKey = (await gw.createKey("search-drop", "search-drop")).key;
  plainKey = (await gw.createKey("test", "plain")).key;
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

/** Waits until the log holds `count` rows for the `search` key, newest first. */
async function logRows(count) {
  for (let i = 0; i < 200; i++) {
    const res = await gw.admin("GET", `/admin/log?key=${keyId}&limit=1000`);
    assert.equal(res.status, 200, res.text);
    if (res.json.data.length >= count) return res.json.data;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the log did not reach ${count} rows`);
}

/** What a Responses answer shows of a search and its citations. */
function responsesSearch(response) {
  const calls = response.output.filter((item) => item.type === "web_search_call");
  const parts = response.output.filter((item) => item.type === "message").flatMap((item) => item.content);
  const text = parts.map((part) => part.text).join("");
  const annotations = [];
  for (const part of parts) for (const a of part.annotations ?? []) annotations.push({ ...a, quoted: [...part.text].slice(a.start_index, a.end_index).join("") });
  return { calls, text, annotations };
}

/** What an Anthropic message shows of a search and its citations. */
function anthropicSearch(message) {
  const uses = message.content.filter((b) => b.type === "server_tool_use");
  const results = message.content.filter((b) => b.type === "web_search_tool_result");
  const texts = message.content.filter((b) => b.type === "text");
  return {
    uses,
    results,
    text: texts.map((b) => b.text).join(""),
    citations: texts.flatMap((b) => (b.citations ?? []).map((c) => ({ ...c, block: b.text }))),
  };
}

describe("a Responses client's web_search on an Anthropic upstream", () => {
  for (const stream of [false, true]) {
    test(stream ? "streamed" : "not streamed", async () => {
      const openai = gw.openaiClient(key);
      const request = { model: MODELS.anthropic, input: USER, tools: [{ type: "web_search" }] };
      const [response, seen] = await upstreamCalls(() =>
        stream ? openai.responses.stream(request).finalResponse() : openai.responses.create(request),
      );
      assert.equal(seen.length, 1);
      assert.equal(seen[0].format, "anthropic");
      // (The gateway's own cache breakpoint may sit on the last tool.)
      assert.deepEqual(
        seen[0].body.tools.map(({ cache_control: _breakpoint, ...tool }) => tool),
        [{ type: "web_search_20250305", name: "web_search" }],
      );

      const { calls, text, annotations } = responsesSearch(response);
      assert.equal(response.status, "completed");
      assert.equal(calls.length, 1);
      assert.equal(calls[0].status, "completed");
      assert.equal(calls[0].action.type, "search");
      assert.equal(calls[0].action.query, QUERY);
      assert.deepEqual(calls[0].action.sources.map((s) => s.url), URLS);
      assert.equal(text, FULL_TEXT);
      assert.deepEqual(
        annotations.map((a) => [a.type, a.url, a.title, a.quoted]),
        [["url_citation", URLS[0], SEARCH.search.results[0].title, CITED]],
      );
      // The search comes before the text that cites it.
      const kinds = response.output.map((item) => item.type);
      assert.ok(kinds.indexOf("web_search_call") < kinds.indexOf("message"), kinds.join());
    });
  }
});

describe("an Anthropic client's web_search on a Responses upstream", () => {
  for (const stream of [false, true]) {
    test(stream ? "streamed" : "not streamed", async () => {
      const anthropic = gw.anthropicClient(key);
      const request = {
        model: MODELS.responses,
        max_tokens: 512,
        messages: [{ role: "user", content: USER }],
        tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 3, allowed_domains: ["weather.example", "news.example"] }],
      };
      const [message, seen] = await upstreamCalls(() =>
        stream ? anthropic.messages.stream(request).finalMessage() : anthropic.messages.create(request),
      );
      assert.equal(seen.length, 1);
      assert.equal(seen[0].format, "responses");
      assert.deepEqual(seen[0].body.tools, [{ type: "web_search", filters: { allowed_domains: ["weather.example", "news.example"] } }]);
      assert.equal(seen[0].body.max_tool_calls, 3);
      assert.ok(seen[0].body.include.includes("web_search_call.action.sources"), JSON.stringify(seen[0].body.include));

      const { uses, results, text, citations } = anthropicSearch(message);
      assert.equal(message.stop_reason, "end_turn");
      assert.equal(uses.length, 1);
      assert.equal(uses[0].name, "web_search");
      assert.deepEqual(uses[0].input, { query: QUERY });
      assert.match(uses[0].id, /^srvtoolu_/);
      assert.equal(results.length, 1);
      assert.equal(results[0].tool_use_id, uses[0].id);
      assert.deepEqual(results[0].content.map((r) => [r.type, r.url]), URLS.map((url) => ["web_search_result", url]));
      for (const r of results[0].content) assert.ok(typeof r.title === "string" && typeof r.encrypted_content === "string", JSON.stringify(r));
      assert.equal(text, FULL_TEXT);
      assert.deepEqual(
        citations.map((c) => [c.type, c.url, c.cited_text]),
        [["web_search_result_location", URLS[0], CITED]],
      );
      assert.deepEqual(message.usage.server_tool_use, { web_search_requests: 1, web_fetch_requests: 0 });
      // The call order: the search, its results, then the text.
      const kinds = message.content.map((b) => b.type);
      assert.deepEqual(kinds.slice(0, 2), ["server_tool_use", "web_search_tool_result"]);
    });
  }
});

test("the translated answer's search result goes back in history to Anthropic without the gateway's stand-ins", async () => {
  const anthropic = gw.anthropicClient(key);
  const tools = [{ type: "web_search_20250305", name: "web_search" }];
  const first = await anthropic.messages.create({ model: MODELS.responses, max_tokens: 256, messages: [{ role: "user", content: USER }], tools });
  // The conversation continues on an Anthropic model: the search the Responses upstream ran
  // carries no Anthropic state, so it is left out and the text stays.
  const [res, seen] = await upstreamCalls(() =>
    gw.request("POST", "/v1/messages", {
      headers: { "x-api-key": key, "anthropic-version": "2023-06-01" },
      body: {
        model: MODELS.anthropic,
        max_tokens: 256,
        tools,
        messages: [
          { role: "user", content: USER },
          { role: "assistant", content: first.content },
          { role: "user", content: "thanks" },
        ],
      },
    }),
  );
  assert.equal(res.status, 200, res.text);
  const replayed = seen[0].body.messages[1].content;
  assert.ok(replayed.every((b) => b.type === "text"), JSON.stringify(replayed));
  assert.equal(replayed.map((b) => b.text).join(""), FULL_TEXT);
  assert.match(res.headers.get("x-toc-warnings") ?? "", /history\(web_search\)/);
});

test("searches are counted in the request log and priced per call", async () => {
  // The `search` key so far: five calls that searched once (the four translations and the
  // first history turn) and one that did not (the follow-up turn), all on priced models.
  const rows = await logRows(6);
  const searchInput = SEARCH.usage.input;
  const searched = rows.filter((r) => r.input_tokens === searchInput);
  const others = rows.filter((r) => r.input_tokens !== searchInput);
  assert.equal(searched.length, 5, JSON.stringify(rows));
  for (const row of searched) {
    assert.equal(row.web_search_calls, 1, JSON.stringify(row));
    assert.equal(row.cost_usd, ONE_SEARCH_USD, JSON.stringify(row));
  }
  assert.equal(others.length, 1, JSON.stringify(rows));
  assert.equal(others[0].web_search_calls, 0);
  assert.equal(others[0].cost_usd, "0");
});

describe("a search on a model whose upstream runs none", () => {
  const anthropicBody = (model) => ({
    model,
    max_tokens: 256,
    messages: [{ role: "user", content: USER }],
    tools: [{ type: "web_search_20250305", name: "web_search" }],
  });
  const post = (k, body) => gw.request("POST", "/v1/messages", { headers: { "x-api-key": k, "anthropic-version": "2023-06-01" }, body });

  test("is a 400 naming the tool (Chat upstream, Anthropic and Responses clients), and nothing is sent", async () => {
    const [res, seen] = await upstreamCalls(() => post(key, anthropicBody(MODELS.chat)));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.type, "error");
    assert.equal(res.json.error.type, "invalid_request_error");
    assert.match(res.json.error.message, /`web_search_20250305`/);
    assert.equal(seen.length, 0);

    const [responses, seenToo] = await upstreamCalls(() =>
      gw.request("POST", "/v1/responses", {
        headers: { authorization: `Bearer ${key}` },
        body: { model: MODELS.chat, input: USER, tools: [{ type: "web_search_preview" }] },
      }),
    );
    assert.equal(responses.status, 400, responses.text);
    assert.match(responses.json.error.message, /`web_search_preview`/);
    assert.equal(responses.json.error.param, "tools");
    assert.equal(seenToo.length, 0);
  });

  test("is a 400 on an Anthropic route whose model config says it has no search, even same-format", async () => {
    const [res, seen] = await upstreamCalls(() => post(key, anthropicBody(NO_SEARCH_MODEL)));
    assert.equal(res.status, 400, res.text);
    assert.match(res.json.error.message, /`web_search_20250305`/);
    assert.equal(seen.length, 0);
  });

  for (const stream of [false, true]) {
    test(`is left out with a warning on a plan that says drop (${stream ? "streamed" : "not streamed"})`, async () => {
      const [res, seen] = await upstreamCalls(() => post(dropKey, { ...anthropicBody(MODELS.chat), stream }));
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get("x-toc-warnings") ?? "", /dropped=[^;]*tools\(web_search_20250305\)/);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].format, "chat");
      assert.equal(seen[0].body.tools, undefined);
      assert.ok(res.text.includes("sunny in Paris"), res.text);
      assert.ok(!res.text.includes("server_tool_use"), res.text);
    });
  }

  test("same-format on the drop plan: the client's body goes out without the tool", async () => {
    const [res, seen] = await upstreamCalls(() => post(dropKey, anthropicBody(NO_SEARCH_MODEL)));
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get("x-toc-warnings") ?? "", /tools\(web_search_20250305\)/);
    assert.equal(seen[0].body.tools, undefined);
    assert.ok(!res.json.content.some((b) => b.type === "server_tool_use"));
  });
});

test("a plan without server tools leaves the search out and says so", async () => {
  const [res, seen] = await upstreamCalls(() =>
    gw.request("POST", "/v1/responses", {
      headers: { authorization: `Bearer ${plainKey}` },
      body: { model: MODELS.anthropic, input: USER, tools: [{ type: "web_search" }] },
    }),
  );
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers.get("x-toc-warnings") ?? "", /tools\(web_search\)/);
  assert.equal(seen[0].body.tools, undefined);
  assert.ok(!res.json.output.some((item) => item.type === "web_search_call"));
});
