// The gateway under test: the built Worker (build/index.js + build/index_bg.wasm, from
// `sh scripts/build.sh`) in workerd through Miniflare, wired to the mock upstream.
//
//   const gw = await startGateway();                  // its own mock, the default config
//   const key = (await gw.createKey()).key;           // plan "test": generous limits, every model
//   const openai = gw.openaiClient(key);              // baseURL <gateway>/v1, maxRetries 0
//   const gemini = gw.geminiClient(key);              // baseUrl <gateway> (SDK adds /v1beta)
//   await openai.chat.completions.create({ model: MODELS.anthropic, ... });
//   gw.mock.last().body                               // what the upstream received
//   await gw.close();
//
// Per-file overrides: `startGateway({ config: { plans, gateway, provider, extraProviders,
// extraModels } })` (merged into the default config, see gatewayConfig), or `config: (mock) =>
// wholeConfigObject`; `bindings` adds or replaces Worker bindings (a value of `undefined` removes
// one); `persistDir` keeps KV and Durable Object state across restarts; `mock` shares a mock
// between gateways (then `close()` leaves it running).

import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";

import { startMockUpstream, DEFAULT_API_KEY, FORMATS } from "./mock-upstream.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The TOML tables named `name` (`[name]` or `[[name]]`), each as its `key = value` lines. */
function tomlTables(toml, name) {
  const tables = [];
  let current = null;
  for (const line of toml.split("\n")) {
    const header = line.match(/^\s*\[\[?([^\]]+)\]\]?\s*$/);
    if (header) {
      current = header[1].trim() === name ? {} : null;
      if (current) tables.push(current);
      continue;
    }
    const pair = current && line.match(/^\s*([A-Za-z_]+)\s*=\s*(.+?)\s*$/);
    if (pair) current[pair[1]] = pair[2].replace(/^"(.*)"$/, "$1");
  }
  return tables;
}

/**
 * The bindings wrangler.toml declares (KV namespaces, Durable Object classes, the request log's
 * D1 database and queue, the static assets), so the harness follows the Worker's bindings
 * (KEYS, KEY_METER, RESPONSES, LOG_DB, REQUEST_LOG, ...) without being edited. The queue's
 * batches are delivered after `queueBatchTimeout` seconds (wrangler.toml's 5 s would slow
 * tests down).
 */
export function wranglerBindings({ queueBatchTimeout = 0.05 } = {}) {
  const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const kvNamespaces = tomlTables(toml, "kv_namespaces").map((t) => t.binding);
  const sqlite = new Set([...toml.matchAll(/new_sqlite_classes\s*=\s*\[([^\]]*)\]/g)].flatMap((m) => [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1])));
  const durableObjects = {};
  for (const m of toml.matchAll(/name\s*=\s*"([^"]+)"\s*,\s*class_name\s*=\s*"([^"]+)"/g)) {
    durableObjects[m[1]] = { className: m[2], useSQLite: sqlite.has(m[2]) };
  }
  const d1Databases = Object.fromEntries(tomlTables(toml, "d1_databases").map((t) => [t.binding, t.database_id]));
  const queueProducers = Object.fromEntries(tomlTables(toml, "queues.producers").map((t) => [t.binding, { queueName: t.queue }]));
  const queueConsumers = Object.fromEntries(
    tomlTables(toml, "queues.consumers").map((t) => [t.queue, { maxBatchSize: Number(t.max_batch_size ?? 100), maxBatchTimeout: queueBatchTimeout }]),
  );
  const [assetTable] = tomlTables(toml, "assets");
  const assets = assetTable
    ? {
        directory: path.join(ROOT, assetTable.directory),
        routerConfig: { has_user_worker: true },
        assetConfig: { html_handling: assetTable.html_handling, not_found_handling: assetTable.not_found_handling },
      }
    : undefined;
  return { kvNamespaces, durableObjects, d1Databases, queueProducers, queueConsumers, assets };
}

/** Applies migrations/*.sql to every D1 database of `mf` (what `wrangler d1 migrations apply` does). */
export async function applyMigrations(mf) {
  const dir = path.join(ROOT, "migrations");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  for (const binding of Object.keys(wranglerBindings().d1Databases)) {
    const db = await mf.getD1Database(binding);
    for (const file of files) {
      const sql = readFileSync(path.join(dir, file), "utf8").replace(/--[^\n]*/g, "");
      const statements = sql.split(";").map((s) => s.trim()).filter(Boolean);
      await db.batch(statements.map((s) => db.prepare(s)));
    }
  }
}

export const ADMIN_TOKEN = "adm-test";
export const UPSTREAM_SECRET = "MOCK_KEY";

/** Public model id per upstream format. */
export const MODELS = { chat: "m-chat", anthropic: "m-anthropic", responses: "m-responses", gemini: "m-gemini" };
/** The id each model has upstream (what the mock must receive). */
export const UPSTREAM_MODELS = { chat: "gpt-up-chat", anthropic: "claude-up-anthropic", responses: "gpt-up-responses", gemini: "gemini-up-gemini" };
/** `default_max_tokens` of m-anthropic: sent upstream when an OpenAI client gives no limit. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;
/** Config `format` names. */
export const FORMAT_NAMES = { chat: "openai-chat", anthropic: "anthropic", responses: "openai-responses", gemini: "gemini" };

/** Limits no functional test reaches. */
export const DEFAULT_PLANS = [
  { id: "test", rpm: 100000, tpm: 1000000000, concurrency: 1000, window: "5h", window_tokens: 1000000000000, models: ["*"] },
];
export const DEFAULT_PLAN = "test";

/**
 * The default config: one provider per upstream format on the mock (`p-chat`, `p-anthropic`,
 * `p-responses`), one model each (MODELS), and DEFAULT_PLANS.
 *
 * overrides: plans (replace), gateway (merged), provider (merged into every default provider),
 * extraProviders / extraModels (appended).
 *
 * The default providers' breakers are off: suites built on this config make one mock upstream
 * fail in many ways, test after test, and each test reads what one failure does. The
 * resilience suite turns them on.
 */
export function gatewayConfig(mock, overrides = {}) {
  const providers = FORMATS.map((f) => ({
    id: `p-${f}`,
    format: FORMAT_NAMES[f],
    base_url: mock.baseUrl(f),
    keys: [UPSTREAM_SECRET],
    breaker: { enabled: false },
    ...(overrides.provider ?? {}),
  }));
  const models = [
    { id: MODELS.chat, provider: "p-chat", upstream: UPSTREAM_MODELS.chat, display_name: "Mock Chat" },
    {
      id: MODELS.anthropic,
      provider: "p-anthropic",
      upstream: UPSTREAM_MODELS.anthropic,
      display_name: "Mock Anthropic",
      default_max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
    },
    { id: MODELS.responses, provider: "p-responses", upstream: UPSTREAM_MODELS.responses, display_name: "Mock Responses" },
    { id: MODELS.gemini, provider: "p-gemini", upstream: UPSTREAM_MODELS.gemini, display_name: "Mock Gemini" },
  ];
  return {
    gateway: { ...(overrides.gateway ?? {}) },
    providers: [...providers, ...(overrides.extraProviders ?? [])],
    models: [...models, ...(overrides.extraModels ?? [])],
    plans: overrides.plans ?? DEFAULT_PLANS,
  };
}

/**
 * Starts a gateway. options: mock (an existing mock upstream), mockOptions (for the one started
 * here), config (overrides object, or a function of the mock returning the whole config, or a
 * string used verbatim as GATEWAY_CONFIG), bindings, persistDir.
 */
export async function startGateway(options = {}) {
  const ownMock = !options.mock;
  const mock = options.mock ?? (await startMockUpstream(options.mockOptions));
  let config;
  if (typeof options.config === "function") config = options.config(mock);
  else if (typeof options.config === "string") config = options.config;
  else config = gatewayConfig(mock, options.config ?? {});
  const bindings = {
    ADMIN_TOKEN,
    GATEWAY_CONFIG: typeof config === "string" ? config : JSON.stringify(config),
    [UPSTREAM_SECRET]: DEFAULT_API_KEY,
    ...(options.bindings ?? {}),
  };
  for (const [name, value] of Object.entries(bindings)) if (value === undefined) delete bindings[name];
  const persist = options.persistDir
    ? {
        kvPersist: path.join(options.persistDir, "kv"),
        durableObjectsPersist: path.join(options.persistDir, "do"),
        d1Persist: path.join(options.persistDir, "d1"),
      }
    : { kvPersist: false, durableObjectsPersist: false, d1Persist: false };
  const mf = new Miniflare({
    modules: true,
    scriptPath: path.join(ROOT, "build/index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["enable_request_signal"],
    ...wranglerBindings(),
    bindings,
    ...persist,
  });
  const ready = await mf.ready;
  await applyMigrations(mf);
  const url = ready.href.replace(/\/$/, "");
  return new Gateway(mf, url, mock, ownMock, config);
}

class Gateway {
  constructor(mf, url, mock, ownMock, config) {
    this.mf = mf;
    this.url = url;
    this.mock = mock;
    this.ownMock = ownMock;
    this.config = config;
  }

  /** fetch() against the gateway. */
  fetch(pathname, init = {}) {
    return fetch(`${this.url}${pathname}`, init);
  }

  /**
   * A JSON call: body objects are serialized (strings sent as they are). Returns
   * { status, headers, text, json } (json null when the body is not JSON).
   */
  async request(method, pathname, { body, headers = {} } = {}) {
    const init = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
      if (!Object.keys(init.headers).some((h) => h.toLowerCase() === "content-type")) init.headers["content-type"] = "application/json";
    }
    const res = await this.fetch(pathname, init);
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /** An admin call with the admin token (pass `token: null` to send none). */
  admin(method, pathname, { body, token = ADMIN_TOKEN, headers = {} } = {}) {
    const auth = token === null ? {} : { authorization: `Bearer ${token}` };
    return this.request(method, pathname, { body, headers: { ...auth, ...headers } });
  }

  /** Creates a key; resolves with the 201 body ({ id, key, name, plan, status, created_at }). */
  async createKey(plan = DEFAULT_PLAN, name = "itest") {
    const res = await this.admin("POST", "/admin/keys", { body: { plan, name } });
    if (res.status !== 201) throw new Error(`createKey(${plan}): ${res.status} ${res.text}`);
    return res.json;
  }

  /** An OpenAI SDK client on the gateway (both Chat and Responses). */
  openaiClient(key, opts = {}) {
    return new OpenAI({ apiKey: key, baseURL: `${this.url}/v1`, maxRetries: 0, ...opts });
  }

  /**
   * An Anthropic SDK client on the gateway. @anthropic-ai/sdk 1.14 sends its key as
   * `Authorization: Bearer`; `{ header: "x-api-key" }` sends it as `x-api-key` instead, with
   * `anthropic-version: 2023-06-01`, as older SDKs and Claude Code do.
   */
  anthropicClient(key, { header = "bearer", ...opts } = {}) {
    if (header === "x-api-key") {
      return new Anthropic({
        apiKey: key,
        baseURL: this.url,
        maxRetries: 0,
        ...opts,
        defaultHeaders: { authorization: null, "x-api-key": key, "anthropic-version": "2023-06-01", ...(opts.defaultHeaders ?? {}) },
      });
    }
    return new Anthropic({ apiKey: key, baseURL: this.url, maxRetries: 0, ...opts });
  }

  /**
   * A `@google/genai` client on the gateway (`<gateway>/v1beta/models/...`, the key in
   * `x-goog-api-key`; the SDK retries nothing unless asked).
   */
  geminiClient(key, opts = {}) {
    return new GoogleGenAI({ apiKey: key, ...opts, httpOptions: { baseUrl: this.url, ...(opts.httpOptions ?? {}) } });
  }

  async close() {
    await this.mf.dispose();
    if (this.ownMock) await this.mock.close();
  }
}

// ------------------------------------------------------------------------------------------ helpers

/** The text of a Responses object (`output_text` is only set by some SDK paths). */
export function outputText(response) {
  return response.output
    .filter((o) => o.type === "message")
    .flatMap((o) => o.content)
    .filter((c) => c.type === "output_text")
    .map((c) => c.text)
    .join("");
}

/** Splits an SSE body into { event, data } frames (data parsed as JSON when it is JSON). */
export function parseSse(text) {
  const frames = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (!block.trim()) continue;
    let event = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (!data.length && event === null) continue;
    const raw = data.join("\n");
    let parsed = raw;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = raw;
    }
    frames.push({ event, data: parsed });
  }
  return frames;
}
