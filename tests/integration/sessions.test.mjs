// Long agent sessions through every upstream: a 20-turn Claude Code session and a 20-turn Codex
// session replayed through each upstream format, against a mock that caches prefixes the way
// each vendor does (tests/support/prompt-cache.mjs). From the second turn on, at least 90% of
// every turn's input must be reported as cache reads, with each format's inclusion rules, and
// the key's meter must charge what the upstream reported.
//
// The sessions are built from the recorded requests in tests/fixtures/clients/ (Claude Code
// 2.1.197 and Codex 0.169.0: their system prompts, tools, headers and cache markers as sent);
// the turns after the recorded ones are constructed in the same shape: a tool call and its
// result per turn, Claude Code's marker moved to the last block each turn as it does, and its
// attribution block's `cch` changed every turn as versions before 2.1.181 did.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { startGateway, MODELS } from "../support/gateway.mjs";
import { FORMATS } from "../support/mock-upstream.mjs";

const TURNS = 20;
const MIN_HIT_RATIO = 0.9;

const fixture = (name) => JSON.parse(readFileSync(new URL(`../fixtures/clients/${name}`, import.meta.url), "utf8"));
const CLAUDE_CODE = fixture("claude-code-2.1.197-turn1.json");
const CODEX = fixture("codex-0.169.0-turn1.json");

/** A tool result of a realistic size (a file read, a command's output). */
const toolOutput = (turn) => `output of step ${turn}\n` + `line ${turn}: fn handler_${turn}() { /* ... */ }\n`.repeat(12);

let gw;
let key;

before(async () => {
  gw = await startGateway({
    mockOptions: { promptCache: true },
    config: { extraModels: [{ id: "m-anthropic-unmarked", provider: "p-anthropic", upstream: "claude-up-unmarked", auto_cache: false }] },
  });
  key = await gw.createKey();
});
after(async () => {
  await gw?.close();
});

/** Claude Code's request for turn `turn` (0-based) of a session on `model`. */
function claudeCodeTurn(model, turn, history) {
  const body = structuredClone(CLAUDE_CODE.body);
  body.model = model;
  body.stream = false;
  body.system[0].text = `x-anthropic-billing-header: cc_version=2.1.197.3e1; cc_entrypoint=cli; cch=${(turn * 7919).toString(16)};`;
  const messages = [...body.messages, ...history].map((m) => ({
    role: m.role,
    content: (typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content).map(({ cache_control: _c, ...block }) => block),
  }));
  const last = messages.at(-1).content;
  last[last.length - 1] = { ...last.at(-1), cache_control: { type: "ephemeral" } };
  body.messages = messages;
  return body;
}

/** Codex's request for turn `turn` of a session on `model`. */
function codexTurn(model, history) {
  const body = structuredClone(CODEX.body);
  body.model = model;
  body.stream = false;
  body.input = [...body.input, ...history];
  return body;
}

/** { total, read, write } input tokens as the client's answer reports them. */
function reported(client, json) {
  const u = json.usage;
  if (client === "anthropic") {
    const total = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
    return { total, read: u.cache_read_input_tokens, write: u.cache_creation_input_tokens, output: u.output_tokens };
  }
  return { total: u.input_tokens, read: u.input_tokens_details.cached_tokens, write: u.input_tokens_details.cache_write_tokens ?? 0, output: u.output_tokens };
}

async function usageOf(ownKey) {
  const res = await gw.request("GET", "/v1/usage", { headers: { authorization: `Bearer ${ownKey}` } });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** Runs a session; returns the per-turn figures the client saw and the mock measured. */
async function runSession(client, upstream, ownKey, { model = MODELS[upstream], count = TURNS } = {}) {
  const history = [];
  const turns = [];
  for (let turn = 0; turn < count; turn++) {
    const body = client === "anthropic" ? claudeCodeTurn(model, turn, history) : codexTurn(model, history);
    const headers =
      client === "anthropic"
        ? { "x-api-key": ownKey, "anthropic-version": "2023-06-01", "anthropic-beta": CLAUDE_CODE.headers["anthropic-beta"] }
        : { authorization: `Bearer ${ownKey}`, session_id: CODEX.body.prompt_cache_key };
    const path = client === "anthropic" ? "/v1/messages?beta=true" : "/v1/responses";
    const before = gw.mock.requests.length;
    const res = await gw.request("POST", path, { body, headers });
    assert.equal(res.status, 200, `${client}→${upstream} turn ${turn + 1}: ${res.text.slice(0, 400)}`);
    const upstreamRecord = gw.mock.requests.slice(before).find((r) => r.format === upstream && r.cache);
    assert.ok(upstreamRecord, `${client}→${upstream} turn ${turn + 1}: the upstream was called`);
    turns.push({ client: reported(client, res.json), upstream: upstreamRecord.cache, body: upstreamRecord.body });
    // The next turn: the model called a tool, and here is its result.
    const callId = `call_${upstream}_${turn}`;
    if (client === "anthropic") {
      history.push({ role: "assistant", content: [{ type: "text", text: "Running the next step." }, { type: "tool_use", id: `toolu_${turn}`, name: "Bash", input: { command: `cargo test step_${turn}` } }] });
      history.push({ role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_${turn}`, content: toolOutput(turn) }] });
    } else {
      history.push({ type: "function_call", call_id: callId, name: "exec_command", arguments: JSON.stringify({ cmd: `cargo test step_${turn}` }) });
      history.push({ type: "function_call_output", call_id: callId, output: toolOutput(turn) });
    }
  }
  return turns;
}

for (const client of ["anthropic", "responses"]) {
  const name = client === "anthropic" ? "Claude Code" : "Codex";
  describe(`a ${TURNS}-turn ${name} session`, () => {
    for (const upstream of FORMATS) {
      test(`through a ${upstream} upstream reads at least ${MIN_HIT_RATIO * 100}% of its input from the cache from turn 2 on`, async (t) => {
        const own = await gw.createKey();
        const turns = await runSession(client, upstream, own.key);
        let charged = 0;
        const ratios = turns.slice(1).map((turn) => turn.client.read / turn.client.total);
        t.diagnostic(`cache reads from turn 2 on: ${(Math.min(...ratios) * 100).toFixed(1)}% at least, of ${turns.at(-1).client.total} input tokens at turn ${TURNS}`);
        for (const [i, turn] of turns.entries()) {
          const where = `${client}→${upstream} turn ${i + 1}`;
          // What the upstream reported reaches the client with its format's inclusion rules.
          assert.equal(turn.client.total, turn.upstream.input, `${where}: total input`);
          assert.equal(turn.client.read, turn.upstream.cacheRead, `${where}: cache reads`);
          if (upstream === "anthropic") assert.equal(turn.client.write, turn.upstream.cacheWrite, `${where}: cache writes`);
          if (i > 0) {
            const ratio = turn.client.read / turn.client.total;
            assert.ok(ratio >= MIN_HIT_RATIO, `${where}: ${turn.client.read} of ${turn.client.total} input tokens read from the cache (${(ratio * 100).toFixed(1)}%)`);
          }
          charged += turn.client.total + turn.client.output;
        }
        // Nothing that busts a cache reaches a vendor it means nothing to.
        for (const turn of turns) {
          const sent = JSON.stringify(turn.body);
          if (upstream !== "anthropic") assert.ok(!sent.includes("x-anthropic-billing-header"), `${client}→${upstream}: attribution block sent`);
          if (upstream === "anthropic") assert.ok((sent.match(/"cache_control"/g) ?? []).length <= 4, "at most four breakpoints");
          if (upstream === "chat" || upstream === "responses") assert.match(turn.body.prompt_cache_key ?? "", /^.{1,64}$/, "a prompt_cache_key");
        }
        if (client === "responses" && (upstream === "chat" || upstream === "responses")) {
          assert.equal(turns[0].body.prompt_cache_key, CODEX.body.prompt_cache_key, "Codex's own prompt_cache_key reaches OpenAI unchanged");
        }
        if (client === "anthropic" && (upstream === "chat" || upstream === "responses")) {
          const keys = new Set(turns.map((t) => t.body.prompt_cache_key));
          assert.equal(keys.size, 1, "one prompt_cache_key for the whole conversation");
        }
        // The key's meter charged what the upstream reported (cache reads and writes inside the input).
        const usage = await waitForUsage(own.key, charged);
        assert.equal(usage, charged);
      });
    }
  });
}

/** The tokens the key's meter charged, once every call has settled (settlement runs after the answer). */
async function waitForUsage(ownKey, expected) {
  let used = null;
  for (let i = 0; i < 50; i++) {
    const usage = await usageOf(ownKey);
    used = usage.window.used_tokens;
    if (used === expected && usage.in_flight === 0) return used;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return used;
}

test("with auto_cache off, a Codex session through Anthropic gets no breakpoints and reads nothing from the cache", async () => {
  const own = await gw.createKey();
  const turns = await runSession("responses", "anthropic", own.key, { model: "m-anthropic-unmarked", count: 3 });
  for (const turn of turns) {
    assert.ok(!JSON.stringify(turn.body).includes("cache_control"), "no marker sent");
    assert.equal(turn.client.read, 0);
    assert.equal(turn.client.total, turn.upstream.input);
  }
});
