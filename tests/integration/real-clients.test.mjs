// The real Claude Code, Codex and Gemini CLIs, unchanged, through the gateway to a model of
// another format: each must run a full tool turn (call, local execution, result, answer).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startWorker } from "../support/worker.mjs";
import { cli, claude, codex, gemini } from "../support/cli.mjs";
import { FINAL_TEXT, startAgentUpstream } from "../support/agent-upstream.mjs";

/** Preloaded into Gemini CLI: refuses and logs every connection off the loopback. */
const loopbackOnly = path.resolve("tests/support/loopback-only.cjs");

const workdir = fs.mkdtempSync(path.join(os.tmpdir(), "toc-agent-"));
const file = path.join(workdir, "main.rs");
fs.writeFileSync(file, "fn main() {}\n");

let upstream;
let gateway;
let key;

before(async () => {
  upstream = await startAgentUpstream(file);
  const provider = (id, format, prefix) => ({ id, format, base_url: `${upstream.url}/${prefix}/v1`, keys: ["UP_KEY"] });
  gateway = await startWorker({
    config: {
      providers: [provider("chat", "openai-chat", "chat"), provider("anthropic", "anthropic", "anthropic"), provider("responses", "openai-responses", "responses")],
      models: [
        { id: "m-chat", provider: "chat", upstream: "agent-chat" },
        { id: "m-anthropic", provider: "anthropic", upstream: "agent-anthropic" },
        { id: "m-responses", provider: "responses", upstream: "agent-responses" },
        // The models Gemini CLI 0.61 picks on its own (no -m): its router's classifier, and the
        // flash model it routes a simple prompt to.
        { id: "gemini-3.5-flash-lite", provider: "anthropic", upstream: "agent-router" },
        { id: "gemini-3.8-flash", provider: "chat", upstream: "agent-flash" },
      ],
      plans: [{ id: "dev", rpm: 1000, tpm: 1e9, concurrency: 50, window: "5h", window_tokens: 1e12 }],
    },
    bindings: { UP_KEY: "sk-up" },
  });
  key = (await gateway.createKey("dev")).key;
});

after(async () => {
  await gateway?.dispose();
  await upstream?.close();
  fs.rmSync(workdir, { recursive: true, force: true });
});

/** The requests the upstream got for one model, and the tool result the second one carried. */
function conversation(upstreamModel) {
  const calls = upstream.requests.filter((r) => r.body.model === upstreamModel);
  return { calls, text: JSON.stringify(calls.at(-1)?.body ?? {}) };
}

for (const model of ["m-chat", "m-responses"]) {
  test(`Claude Code runs a Read tool turn on ${model} (foreign upstream)`, async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "toc-claude-home-"));
    const { stdout } = await cli(claude, ["-p", "Read main.rs and say what it does", "--model", model, "--allowedTools", "Read"], {
      cwd: workdir,
      timeout: 90_000,
      env: { PATH: process.env.PATH, HOME: home, ANTHROPIC_BASE_URL: gateway.url, ANTHROPIC_AUTH_TOKEN: key, DISABLE_TELEMETRY: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" },
    });
    assert.match(stdout, new RegExp(FINAL_TEXT.replace(".", "\\.")));
    const { calls, text } = conversation(`agent-${model.slice(2)}`);
    assert.ok(calls.length >= 2, `${calls.length} upstream calls`);
    assert.ok(text.includes("fn main() {}"), "the tool result reached the upstream");
    fs.rmSync(home, { recursive: true, force: true });
  });
}

for (const [model, resultShape] of [["m-anthropic", '"tool_result"'], ["m-chat", '"role":"tool"']]) {
  test(`Codex runs an exec_command tool turn on ${model} (foreign upstream)`, async () => {
    const codexHome = fs.mkdtempSync(path.join(os.tmpdir(), "toc-codex-home-"));
    fs.writeFileSync(
      path.join(codexHome, "config.toml"),
      [
        `model = "${model}"`,
        'model_provider = "toc"',
        "[model_providers.toc]",
        'name = "toc"',
        `base_url = "${gateway.url}/v1"`,
        'env_key = "TOC_API_KEY"',
        'wire_api = "responses"',
      ].join("\n"),
    );
    const { stdout } = await cli(codex, ["exec", "--skip-git-repo-check", "-s", "read-only", "Read main.rs and say what it does"], {
      cwd: workdir,
      timeout: 90_000,
      env: { PATH: process.env.PATH, HOME: codexHome, CODEX_HOME: codexHome, TOC_API_KEY: key },
    });
    assert.match(stdout, new RegExp(FINAL_TEXT.replace(".", "\\.")));
    const { calls, text } = conversation(`agent-${model.slice(2)}`);
    assert.ok(calls.length >= 2, `${calls.length} upstream calls`);
    assert.ok(text.includes("fn main() {}"), "the command's output reached the upstream");
    assert.ok(text.includes(resultShape), `as the upstream's own tool-result shape (${resultShape})`);
    fs.rmSync(codexHome, { recursive: true, force: true });
  });
}

/**
 * Runs Gemini CLI headless (`-p`, JSON output) as a user pointed at the gateway would, in a HOME
 * of its own. `GOOGLE_GEMINI_BASE_URL` alone makes 0.61 pick its "gateway" auth type, which its
 * own headless check then refuses ("Invalid auth method selected."), so the settings name the
 * API-key auth type: the key goes out as `x-goog-api-key` to the base URL. Usage statistics are
 * off (they go to Google otherwise); every other connection off the loopback is refused and
 * recorded. Returns the parsed output and the hosts it tried to reach.
 */
async function runGemini(args) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "toc-gemini-home-"));
  fs.mkdirSync(path.join(home, ".gemini"));
  fs.writeFileSync(
    path.join(home, ".gemini", "settings.json"),
    JSON.stringify({
      security: { auth: { selectedType: "gemini-api-key" } },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
      ide: { enabled: false },
    }),
  );
  const offLoopback = path.join(home, "off-loopback.log");
  try {
    const { stdout } = await cli(process.execPath, [gemini, "-o", "json", "--approval-mode", "yolo", "--skip-trust", ...args], {
      cwd: workdir,
      timeout: 90_000,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        TMPDIR: home, // where it writes its error reports
        GOOGLE_GEMINI_BASE_URL: gateway.url,
        GEMINI_API_KEY: key,
        NODE_OPTIONS: `--require ${loopbackOnly}`,
        TOC_OFF_LOOPBACK_LOG: offLoopback,
      },
    });
    const tried = fs.existsSync(offLoopback) ? fs.readFileSync(offLoopback, "utf8").trim().split("\n") : [];
    return { output: JSON.parse(stdout), tried };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

for (const [model, resultShape] of [["m-anthropic", '"tool_result"'], ["m-responses", '"function_call_output"'], ["m-chat", '"role":"tool"']]) {
  test(`Gemini CLI runs a read_file tool turn on ${model} (foreign upstream)`, async () => {
    const seen = upstream.requests.length;
    const { output, tried } = await runGemini(["-p", "Read main.rs and say what it does", "-m", model]);
    assert.equal(output.response, FINAL_TEXT);
    assert.deepEqual(tried, [], "Gemini CLI tried to reach nothing but the gateway");
    const tool = output.stats.tools.byName.read_file;
    assert.equal(tool?.success, 1, `read_file ran once, locally, and succeeded: ${JSON.stringify(output.stats.tools)}`);
    // Both answers' usage, as the gateway translated it back into Gemini's usageMetadata.
    assert.equal(output.stats.models[model].tokens.prompt, 200);
    assert.equal(output.stats.models[model].tokens.candidates, 40);

    const calls = upstream.requests.slice(seen);
    assert.deepEqual(calls.map((c) => c.body.model), [`agent-${model.slice(2)}`, `agent-${model.slice(2)}`], "no side calls");
    const offered = JSON.stringify(calls[0].body.tools);
    assert.ok(offered.includes('"read_file"') && offered.includes('"file_path"'), "Gemini CLI's read_file was offered upstream");
    const text = JSON.stringify(calls[1].body);
    assert.ok(text.includes("fn main() {}"), "the file's content reached the upstream");
    assert.ok(text.includes(resultShape), `as the upstream's own tool-result shape (${resultShape})`);
  });
}

test("Gemini CLI's model router classifies through the gateway, then the routed model runs the tool turn", async () => {
  const seen = upstream.requests.length;
  const { output, tried } = await runGemini(["-p", "Read main.rs and say what it does"]);
  assert.equal(output.response, FINAL_TEXT);
  assert.deepEqual(tried, []);
  const router = output.stats.models["gemini-3.5-flash-lite"];
  assert.deepEqual([router?.api.totalRequests, router?.api.totalErrors], [1, 0], JSON.stringify(output.stats.models));
  assert.equal(output.stats.models["gemini-3.8-flash"]?.api.totalRequests, 2, "the classifier's score routed the turn to flash");
  assert.equal(output.stats.tools.byName.read_file?.success, 1);

  const calls = upstream.requests.slice(seen);
  assert.deepEqual(calls.map((c) => c.body.model), ["agent-router", "agent-flash", "agent-flash"]);
  // The router sends its schema as responseJsonSchema with Google's type names ("OBJECT"),
  // which Anthropic refuses: the gateway spells them as JSON Schema does.
  const schema = calls[0].body.output_config?.format?.schema;
  assert.equal(schema?.type, "object", JSON.stringify(calls[0].body.output_config));
  assert.equal(schema.properties.complexity_score.type, "integer");
  assert.ok(JSON.stringify(calls[2].body).includes("fn main() {}"), "the file's content reached the routed model");
});
