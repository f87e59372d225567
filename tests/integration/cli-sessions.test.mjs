// The real Claude Code and Codex CLIs (pinned in tests/clients) run multi-turn sessions through
// the gateway to models of another format, in one working directory and one HOME per CLI, each
// turn a new process continuing the last session:
//
// - Claude Code on a Responses upstream: it reads a PNG with its Read tool (the image goes to the
//   upstream inside the tool's output), searches the web (its WebSearch tool asks the model again
//   with Anthropic's `web_search_20250305` server tool, which the upstream runs as its own
//   `web_search`), and hands a task to its Explore sub-agent, which calls a Haiku id Claude Code
//   picks itself: an `[[aliases]]` glob maps it to a model on a Chat upstream.
// - Codex on an Anthropic upstream: a prompt with the PNG attached (`-i`), then, resumed, a web
//   search (its Responses `web_search` tool, which the upstream runs as `web_search_20250305`).
//
// Each search is counted in the request log.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { startWorker } from "../support/worker.mjs";
import { cli, claude, codex } from "../support/cli.mjs";
import { EXPLORE_ANSWER, EXPLORE_REPORT, IMAGE_ANSWER, PICTURE, SEARCH, SEARCH_ANSWER, SEARCH_TEXT, startCliUpstream } from "../support/cli-upstream.mjs";

/** A `size`×`size` PNG of one RGB colour. */
function png(size, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, "ascii");
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.from([0, ...Array.from({ length: size }, () => [r, g, b]).flat()]);
  const pixels = zlib.deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", pixels), chunk("IEND", Buffer.alloc(0))]);
}

const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
const workdir = tmp("toc-cli-session-");
const picture = png(8, [220, 20, 20]);
fs.writeFileSync(path.join(workdir, PICTURE), picture);
const PICTURE_B64 = picture.toString("base64");
/** The Haiku id Claude Code 2.1 gives its Explore sub-agent. */
const CLAUDE_HAIKU = "claude-haiku-4-5-20251001";

let upstream;
let gateway;
let key;
let keyId;

before(async () => {
  upstream = await startCliUpstream(workdir);
  const provider = (id, format) => ({ id, format, base_url: `${upstream.url}/${id}/v1`, keys: ["UP_KEY"] });
  gateway = await startWorker({
    config: {
      providers: [provider("chat", "openai-chat"), provider("anthropic", "anthropic"), provider("responses", "openai-responses")],
      models: [
        { id: "m-responses", provider: "responses", upstream: "cli-responses" },
        { id: "m-anthropic", provider: "anthropic", upstream: "cli-anthropic", default_max_tokens: 4096 },
        { id: "m-small", provider: "chat", upstream: "cli-small" },
      ],
      aliases: [{ id: "claude-haiku-*", model: "m-small" }],
      plans: [{ id: "dev", rpm: 1000, tpm: 1e9, concurrency: 50, window: "5h", window_tokens: 1e12, upstream_features: ["server_tools"] }],
    },
    bindings: { UP_KEY: "sk-up" },
  });
  const created = await gateway.createKey("dev");
  key = created.key;
  keyId = created.id;
});

after(async () => {
  await gateway?.dispose();
  await upstream?.close();
  fs.rmSync(workdir, { recursive: true, force: true });
});

/** Runs `fn`; returns [its result, the upstream requests made meanwhile]. */
async function during(fn) {
  const from = upstream.requests.length;
  const result = await fn();
  return [result, upstream.requests.slice(from)];
}

/** The request log's rows for the test key that `keep` selects, once there are at least `count`. */
async function logRows(count, keep = () => true) {
  for (let i = 0; i < 200; i++) {
    const { status, body } = await gateway.admin("GET", `/admin/log?key=${keyId}&limit=1000`);
    assert.equal(status, 200, JSON.stringify(body));
    const rows = body.data.filter(keep);
    if (rows.length >= count) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the log did not reach ${count} rows`);
}

test("Claude Code: a three-turn session on a Responses model with an image read, a web search and a Haiku sub-agent", async () => {
  const home = tmp("toc-claude-home-");
  const env = { PATH: process.env.PATH, HOME: home, ANTHROPIC_BASE_URL: gateway.url, ANTHROPIC_AUTH_TOKEN: key, DISABLE_TELEMETRY: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" };
  const claudeTurn = (args) => during(() => cli(claude, ["-p", ...args, "--model", "m-responses"], { cwd: workdir, env }));
  const sessionStart = upstream.requests.length;
  try {
    // Turn 1: the Read tool on a PNG.
    const [one, seen1] = await claudeTurn([`Describe ${PICTURE}`, "--allowedTools", "Read"]);
    assert.equal(one.stdout.trim(), IMAGE_ANSWER);
    assert.deepEqual(seen1.map((r) => [r.format, r.body.model]), [["responses", "cli-responses"], ["responses", "cli-responses"]]);
    assert.deepEqual(seen1[0].answer.tool, { name: "Read", input: { file_path: path.join(workdir, PICTURE) } });
    const output = seen1[1].body.input.find((i) => i.type === "function_call_output");
    assert.ok(Array.isArray(output.output), JSON.stringify(output));
    const image = output.output.find((p) => p.type === "input_image");
    assert.equal(image?.image_url, `data:image/png;base64,${PICTURE_B64}`, "the picture, byte for byte, as a Responses input_image in the tool's output");

    // Turn 2: WebSearch. Claude Code asks the model again with the server tool only.
    const [two, seen2] = await claudeTurn(["--continue", "Search the web for the weather in Paris", "--allowedTools", "WebSearch"]);
    assert.equal(two.stdout.trim(), SEARCH_ANSWER);
    assert.deepEqual(seen2.map((r) => r.body.model), ["cli-responses", "cli-responses", "cli-responses"]);
    assert.deepEqual(seen2[0].answer.tool, { name: "WebSearch", input: { query: SEARCH.query } });
    const side = seen2[1];
    assert.equal(side.answer.search, true);
    assert.deepEqual(side.body.tools, [{ type: "web_search" }], "Anthropic's web_search_20250305 as the Responses web_search tool");
    assert.match(JSON.stringify(side.body.input), /Perform a web search for the query: weather in Paris today/);
    const searched = JSON.stringify(seen2[2].body.input.filter((i) => i.type === "function_call_output"));
    assert.ok(searched.includes(SEARCH_TEXT), `the cited text came back as WebSearch's result: ${searched}`);
    assert.ok(searched.includes(SEARCH.results[0].url), "with the search's links");
    // The session's history: turn 1 went up again (its Read call and the answer after it).
    const history2 = JSON.stringify(seen2[0].body.input);
    assert.ok(history2.includes(`Describe ${PICTURE}`) && history2.includes(IMAGE_ANSWER) && history2.includes('"name":"Read"'), history2.slice(0, 2000));

    // Turn 3: the Explore sub-agent, on the Haiku id Claude Code picks, through the alias.
    const [three, seen3] = await claudeTurn(["--continue", "Explore this directory with the Explore agent", "--allowedTools", "Agent"]);
    assert.equal(three.stdout.trim(), EXPLORE_ANSWER);
    assert.deepEqual(seen3.map((r) => [r.format, r.body.model]), [["responses", "cli-responses"], ["chat", "cli-small"], ["responses", "cli-responses"]]);
    assert.deepEqual(seen3[0].answer.tool?.name, "Agent");
    assert.equal(seen3[1].answer.text, EXPLORE_REPORT);
    assert.match(JSON.stringify(seen3[1].body.messages.at(-1)), /List the files in the working directory/);
    assert.ok(JSON.stringify(seen3[2].body.input).includes(EXPLORE_REPORT), "the sub-agent's report came back to the main model");
    const history3 = JSON.stringify(seen3[0].body.input);
    assert.ok(history3.includes(IMAGE_ANSWER) && history3.includes(SEARCH_ANSWER), "turns 1 and 2 in the history");

    // Claude Code's own transcript: the sub-agent's answer came back under the Haiku id it asked for.
    const transcripts = fs.readdirSync(path.join(home, ".claude", "projects"), { recursive: true }).filter((f) => f.endsWith(".jsonl"));
    const entries = transcripts.flatMap((f) =>
      fs.readFileSync(path.join(home, ".claude", "projects", f), "utf8").trim().split("\n").map((line) => JSON.parse(line)),
    );
    const haikuReplies = entries.filter((e) => e.type === "assistant" && e.message?.model === CLAUDE_HAIKU);
    assert.deepEqual(haikuReplies.map((e) => e.message.content.map((b) => b.text).join("")), [EXPLORE_REPORT]);

    // The request log: every call the upstream saw (seven in the turns above; Claude Code may
    // add one of its own after a turn), the Haiku one on the alias's model, the search counted
    // once.
    await gateway.settled(key);
    const calls = upstream.requests.length - sessionStart;
    assert.ok(calls >= 7, `${calls} upstream calls`);
    const rows = await logRows(calls);
    assert.equal(rows.length, calls, JSON.stringify(rows, null, 1));
    const byModel = (model) => rows.filter((r) => r.model === model).map((r) => [r.client_format, r.upstream_model, r.web_search_calls]);
    assert.deepEqual(byModel("m-small"), [["anthropic", "cli-small", 0]]);
    assert.deepEqual(byModel("m-responses").sort(), [...Array(calls - 2).fill(["anthropic", "cli-responses", 0]), ["anthropic", "cli-responses", 1]]);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test("Codex: a two-turn session on an Anthropic model with an attached image and a web search", async () => {
  const codexHome = tmp("toc-codex-home-");
  fs.writeFileSync(
    path.join(codexHome, "config.toml"),
    [
      'model = "m-anthropic"',
      'model_provider = "toc"',
      'web_search = "live"',
      "[model_providers.toc]",
      'name = "toc"',
      `base_url = "${gateway.url}/v1"`,
      'env_key = "TOC_API_KEY"',
      'wire_api = "responses"',
    ].join("\n"),
  );
  const env = { PATH: process.env.PATH, HOME: codexHome, CODEX_HOME: codexHome, TOC_API_KEY: key };
  const codexTurn = (args) => during(() => cli(codex, ["exec", ...args], { cwd: workdir, env }));
  try {
    const [one, seen1] = await codexTurn(["--skip-git-repo-check", "-s", "read-only", `Describe the attached ${PICTURE}`, "-i", PICTURE]);
    assert.match(one.stdout, new RegExp(IMAGE_ANSWER.replace(".", "\\.")));
    assert.deepEqual(seen1.map((r) => [r.format, r.body.model]), [["anthropic", "cli-anthropic"]]);
    const images = seen1[0].body.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((b) => b.type === "image");
    assert.deepEqual(images.map((b) => b.source), [{ type: "base64", media_type: "image/png", data: PICTURE_B64 }], "the attached picture as an Anthropic image block");
    const tools1 = seen1[0].body.tools.filter((t) => t.type?.startsWith("web_search"));
    assert.deepEqual(tools1.map(({ cache_control: _breakpoint, ...t }) => t), [{ type: "web_search_20250305", name: "web_search" }]);

    const [two, seen2] = await codexTurn(["resume", "--last", "--skip-git-repo-check", "Search the web for the weather in Paris"]);
    assert.match(two.stdout, new RegExp(SEARCH_TEXT));
    assert.deepEqual(seen2.map((r) => [r.format, r.body.model]), [["anthropic", "cli-anthropic"]]);
    assert.equal(seen2[0].answer.search, true);
    const history = JSON.stringify(seen2[0].body.messages);
    assert.ok(history.includes(PICTURE_B64) && history.includes(IMAGE_ANSWER), "turn 1 (the picture and the answer) in the history");

    const rows = await logRows(2, (r) => r.model === "m-anthropic");
    assert.deepEqual(rows.map((r) => [r.client_format, r.upstream_model, r.web_search_calls]).sort(), [["openai-responses", "cli-anthropic", 0], ["openai-responses", "cli-anthropic", 1]]);
  } finally {
    fs.rmSync(codexHome, { recursive: true, force: true });
  }
});
