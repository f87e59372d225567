// Starts the built Worker (build/index.js) in workerd through the Miniflare API, with real
// local KV and SQLite-backed Durable Objects (the bindings wrangler.toml declares), on a config
// of the caller's own and with its own upstream; `gateway.mjs` is the same for the shared
// multi-format mock and its default config.
import { Log, LogLevel, Miniflare } from "miniflare";
import { applyMigrations, wranglerBindings } from "./gateway.mjs";

export const ADMIN_TOKEN = "adm-test-token";

/**
 * @param {object} options
 * @param {object} options.config   GATEWAY_CONFIG (replaces the bundled config)
 * @param {object} [options.bindings] extra vars/secrets
 * @param {string} [options.persistDir] keep KV and Durable Object state here (restart tests)
 */
export async function startWorker({ config, bindings = {}, persistDir } = {}) {
  const mf = new Miniflare({
    modules: true,
    scriptPath: "build/index.js",
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["enable_request_signal"],
    ...wranglerBindings(),
    kvPersist: persistDir ? `${persistDir}/kv` : false,
    durableObjectsPersist: persistDir ? `${persistDir}/do` : false,
    d1Persist: persistDir ? `${persistDir}/d1` : false,
    // TOC_WORKER_LOG=1 shows the Worker's console output.
    log: process.env.TOC_WORKER_LOG ? new Log(LogLevel.DEBUG) : undefined,
    bindings: { ADMIN_TOKEN, GATEWAY_CONFIG: JSON.stringify(config), ...bindings },
  });
  const url = (await mf.ready).href.replace(/\/$/, "");
  await applyMigrations(mf);
  return {
    url,
    mf,
    /** fetch a gateway path */
    fetch: (path, init) => fetch(url + path, init),
    /** an admin call; returns { status, body } */
    async admin(method, path, body) {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
    /** creates a key on `plan`; returns the admin answer (with `key`) */
    async createKey(plan, name = "test") {
      const { status, body } = await this.admin("POST", "/admin/keys", { plan, name });
      if (status !== 201) throw new Error(`createKey: ${status} ${JSON.stringify(body)}`);
      return body;
    },
    /** GET /v1/usage for a key */
    async usage(key) {
      const res = await fetch(url + "/v1/usage", { headers: { "x-api-key": key } });
      return res.json();
    },
    /** waits until every request of `key` has been settled */
    async settled(key) {
      for (let i = 0; i < 200; i++) {
        const usage = await this.usage(key);
        if (usage.in_flight === 0) return usage;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error("requests still in flight after 5 s");
    },
    dispose: () => mf.dispose(),
  };
}
