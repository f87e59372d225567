// The key holder's dashboard (/dashboard): plan, window and minute limits with a live
// countdown, spend and tokens per day and per model, the last requests, and setup snippets for
// the tools, all from the key pasted in the page (kept in this tab only).

import {
  $, el, api, download, barChart, table, copy, daysBetween, showError, clearMessages, tabSecret,
  fmtInt, fmtCompact, fmtUsd, fmtUsdExact, fmtWindow, fmtMs, fmtTime, fmtCountdown, extraFields, labelOf, describe, latestOnly,
} from "./common.js";

const STORE = "toc.key";
const messages = $("#messages");
let key = null;
let resetAt = null;
let ticking = null;

/** The fields of GET /v1/usage this page lays out itself; any other is shown as it comes. */
const KNOWN_USAGE = ["plan", "unit", "limits", "window", "minute", "in_flight", "in_flight_usd", "balance", "spend", "policy"];

function signedIn(on) {
  $("#signin").hidden = on;
  $("#dashboard").hidden = !on;
  $("#nav").hidden = !on;
  $("#forget").hidden = !on;
}

$("#signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = $("#key").value.trim();
  if (!value.startsWith("toc-")) {
    showError(messages, new Error("That is not a gateway key: keys start with toc-."));
    $("#key").focus();
    return;
  }
  key = value;
  if (await load()) {
    tabSecret.set(STORE, key);
    $("#key").value = "";
    $("#quota-title").setAttribute("tabindex", "-1");
    $("#quota-title").focus();
  } else {
    key = null;
  }
});

$("#forget").addEventListener("click", () => {
  tabSecret.forget(STORE);
  key = null;
  clearInterval(ticking);
  signedIn(false);
  clearMessages(messages);
  $("#key").focus();
});

$("#range").addEventListener("change", () => loadSpend().catch((e) => showError(messages, e)));
$("#refresh").addEventListener("click", () => load());
$("#export-log").addEventListener("click", () =>
  download("/v1/usage/log.csv", key, "requests.csv").catch((e) => showError(messages, e)),
);
$("#export-usage").addEventListener("click", () =>
  download(`/v1/usage/report.csv?${rangeQuery()}`, key, "usage.csv").catch((e) => showError(messages, e)),
);
$("#model").addEventListener("change", () => renderSnippets());

function rangeQuery() {
  const days = Number($("#range").value);
  const from = new Date(Date.now() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  return `from=${from}`;
}

/** Loads everything; false (with the reason shown) when the key is refused. */
async function load() {
  clearMessages(messages);
  try {
    const usage = await api("/v1/usage", key);
    signedIn(true);
    renderQuota(usage);
    await Promise.all([loadSpend(), loadLog(), loadModels()]);
    return true;
  } catch (error) {
    showError(messages, error.status === 401 ? new Error(`${error.message}`) : error);
    if (error.status === 401 || error.status === 403) {
      tabSecret.forget(STORE);
      signedIn(false);
    }
    return false;
  }
}

function card(label, value, sub) {
  return el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value), sub ? el("div", { class: "sub" }, sub) : null);
}

function renderQuota(usage) {
  const limits = usage.limits ?? {};
  const window = usage.window ?? {};
  const dollars = usage.unit === "usd";
  const perMinute = dollars
    ? card("Spend this minute", `${fmtUsdExact(usage.minute?.usd)} / ${limits.usd_per_minute ? fmtUsdExact(limits.usd_per_minute) : "no limit"}`)
    : card("Tokens this minute", `${fmtCompact(usage.minute?.tokens)} / ${fmtCompact(limits.tpm)}`);
  $("#quota-cards").replaceChildren(
    card(
      "Plan",
      usage.plan,
      dollars
        ? `${fmtUsdExact(limits.window_usd)} ${fmtWindow(limits.window)}, charged in dollars`
        : limits.window ? `${fmtCompact(limits.window_tokens)} tokens ${fmtWindow(limits.window)}` : null,
    ),
    card("Requests this minute", `${fmtInt(usage.minute?.requests)} / ${fmtInt(limits.rpm)}`),
    perMinute,
    card("Calls in flight", `${fmtInt(usage.in_flight)} / ${fmtInt(limits.concurrency)}`, usage.in_flight ? `up to ${fmtUsdExact(usage.in_flight_usd)} held for them` : null),
  );
  // The window: in dollars for a plan charged in dollars, in tokens otherwise.
  let used;
  let limit;
  let share;
  const bar = $("#window-bar");
  if (dollars) {
    used = window.used_usd ?? "0";
    limit = limits.window_usd ?? "0";
    share = Number(limit) ? Math.min(1, Number(used) / Number(limit)) : 0;
    bar.setAttribute("aria-valuemax", String(Number(limit)));
    bar.setAttribute("aria-valuenow", String(Number(used)));
    bar.setAttribute("aria-valuetext", `${fmtUsdExact(used)} of ${fmtUsdExact(limit)} spent`);
    $("#window-text").textContent = `${fmtUsdExact(window.remaining_usd)} left`;
    $("#window-label").textContent = `${fmtUsdExact(used)} of ${fmtUsdExact(limit)} spent (${(share * 100).toFixed(1)}%) since ${fmtTime(window.started_at)}`;
  } else {
    used = window.used_tokens ?? 0;
    limit = limits.window_tokens ?? 0;
    share = limit ? Math.min(1, used / limit) : 0;
    bar.setAttribute("aria-valuemax", String(limit));
    bar.setAttribute("aria-valuenow", String(used));
    bar.setAttribute("aria-valuetext", `${fmtInt(used)} of ${fmtInt(limit)} tokens used`);
    $("#window-text").textContent = `${fmtInt(window.remaining_tokens)} tokens left`;
    const cost = window.used_usd && Number(window.used_usd) ? `, costing ${fmtUsdExact(window.used_usd)}` : "";
    $("#window-label").textContent = `${fmtInt(used)} of ${fmtInt(limit)} tokens used (${(share * 100).toFixed(1)}%) since ${fmtTime(window.started_at)}${cost}`;
  }
  bar.className = `progress${share > 0.9 ? " bad" : share > 0.7 ? " warn" : ""}`;
  bar.firstElementChild.style.width = `${(share * 100).toFixed(1)}%`;
  resetAt = Date.parse(window.resets_at);
  $("#reset-at").textContent = `(at ${fmtTime(window.resets_at)})`;
  renderCredits(usage);
  renderPolicy(usage.policy);
  // Whatever else the usage carries, as it comes.
  const extras = extraFields(usage, KNOWN_USAGE);
  $("#account").replaceChildren(
    ...extras.map(([name, value]) =>
      card(labelOf(name), /usd|balance|spend/.test(name) && typeof value !== "object" ? fmtUsd(value) : /_at$/.test(name) ? fmtTime(value) : describe(value)),
    ),
  );
  $("#account").hidden = !extras.length;
  clearInterval(ticking);
  tick();
  ticking = setInterval(tick, 1000);
}

/** A countdown to `at` kept live by `tick`. */
function countdown(at) {
  return el("strong", { "data-until": at }, fmtCountdown(Math.max(0, Math.round((Date.parse(at) - Date.now()) / 1000))));
}

/** The prepaid balance and the daily and monthly spend limits. */
function renderCredits(usage) {
  const balance = usage.balance;
  const cards = [
    balance
      ? card("Prepaid balance", el("span", { id: "balance-remaining" }, `${fmtUsdExact(balance.remaining_usd)} left`), `${fmtUsdExact(balance.added_usd)} added, ${fmtUsdExact(balance.spent_usd)} spent; it does not reset: your operator tops it up`)
      : card("Prepaid balance", el("span", { id: "balance-remaining" }, "None"), "Your key pays by its plan alone"),
  ];
  for (const [period, title, noun] of [["daily", "Daily spend limit", "today"], ["monthly", "Monthly spend limit", "this month"]]) {
    const spend = usage.spend?.[period];
    if (!spend) continue;
    const id = `spend-${period}`;
    if (spend.limit_usd) {
      cards.push(
        card(
          title,
          el("span", { id: `${id}-remaining` }, `${fmtUsdExact(spend.remaining_usd)} left`),
          el("span", {}, el("span", { id: `${id}-text` }, `${fmtUsdExact(spend.spent_usd)} of ${fmtUsdExact(spend.limit_usd)} spent ${noun}`), "; resets in ", countdown(spend.resets_at), " ", el("span", { id: `${id}-reset` }, `(at ${fmtTime(spend.resets_at)})`)),
        ),
      );
    } else {
      cards.push(card(title, el("span", { id: `${id}-remaining` }, "No limit"), el("span", { id: `${id}-text` }, `${fmtUsdExact(spend.spent_usd)} spent ${noun}`)));
    }
  }
  $("#credits").replaceChildren(...cards);
}

/** The key's own rules: expiry, allowed models, allowed client addresses. */
function renderPolicy(policy) {
  if (!policy) {
    $("#policy-block").hidden = true;
    return;
  }
  $("#policy-block").hidden = false;
  const expires = policy.expires_at
    ? card("Expires", el("span", { id: "policy-expires" }, fmtTime(policy.expires_at)), el("span", {}, "in ", countdown(policy.expires_at), "; after that the key stops working"))
    : card("Expires", el("span", { id: "policy-expires" }, "Never"), "No expiry is set on this key");
  const models = card(
    "Models this key may use",
    el("span", { id: "policy-models" }, policy.models ? policy.models.join(", ") : "Every model of the plan"),
    policy.models ? "Ids or patterns (* = anything), within your plan's models" : null,
  );
  models.querySelector(".value").classList.add("small");
  const ips = card("Client addresses", el("span", { id: "policy-ips" }, policy.allowed_ips ? policy.allowed_ips.join(", ") : "Any"), policy.allowed_ips ? "Calls from elsewhere are refused" : null);
  ips.querySelector(".value").classList.add("small");
  $("#policy").replaceChildren(expires, models, ips);
}

function tick() {
  for (const node of document.querySelectorAll("[data-until]")) {
    node.textContent = fmtCountdown(Math.max(0, Math.round((Date.parse(node.dataset.until) - Date.now()) / 1000)));
  }
  if (!resetAt) return;
  const seconds = Math.max(0, Math.round((resetAt - Date.now()) / 1000));
  $("#countdown").textContent = fmtCountdown(seconds);
  if (seconds === 0) {
    clearInterval(ticking);
    // The window has ended: the next figures come from the key's meter.
    setTimeout(() => api("/v1/usage", key).then(renderQuota).catch(() => {}), 1500);
  }
}

const spendLoad = latestOnly();
async function loadSpend() {
  const current = spendLoad();
  const report = await api(`/v1/usage/report?${rangeQuery()}`, key);
  if (!current()) return;
  const byDay = new Map(report.days.map((d) => [d.day, d]));
  const days = daysBetween(report.from, report.to).map((day) => byDay.get(day) ?? { day, cost_usd: "0", input_tokens: 0, output_tokens: 0, requests: 0 });
  const t = report.total;
  $("#spend-cards").replaceChildren(
    card("Spend", fmtUsd(t.cost_usd), t.unpriced ? `${fmtInt(t.unpriced)} call${t.unpriced === 1 ? "" : "s"} of unpriced models not included` : `${report.from} to ${report.to}`),
    card("Requests", fmtInt(t.requests), `${fmtInt(t.errors)} not ok`),
    card("Input tokens", fmtCompact(t.input_tokens), `${fmtCompact(t.cache_read_tokens)} read from cache`),
    card("Output tokens", fmtCompact(t.output_tokens), `${fmtCompact(t.reasoning_tokens)} reasoning`),
  );
  barChart($("#chart-spend-day"), { title: "Spend per day (USD)", items: days.map((d) => ({ label: d.day, value: Number(d.cost_usd) })), format: (v) => fmtUsd(String(v)) });
  barChart($("#chart-tokens-day"), { title: "Tokens per day", items: days.map((d) => ({ label: d.day, value: d.input_tokens + d.output_tokens })), colour: "bar2" });
  barChart($("#chart-spend-model"), { title: "Spend per model (USD)", horizontal: true, items: report.models.map((m) => ({ label: m.model, value: Number(m.cost_usd) })), format: (v) => fmtUsd(String(v)) });
  barChart($("#chart-tokens-model"), { title: "Tokens per model", horizontal: true, colour: "bar2", items: report.models.map((m) => ({ label: m.model, value: m.input_tokens + m.output_tokens })) });
}

async function loadLog() {
  const log = await api("/v1/usage/log?limit=20", key);
  table($("#log"), {
    caption: "Your 20 most recent calls, newest first",
    empty: "No calls yet. The setup examples below make your first one.",
    rows: log.data,
    columns: [
      { label: "Time", value: (r) => fmtTime(r.ts_ms) },
      { label: "Model", value: (r) => r.model },
      { label: "API", value: (r) => r.client_format },
      { label: "Result", value: (r) => el("span", { class: r.outcome === "ok" ? "status-ok" : "status-bad" }, r.outcome === "ok" ? `${r.status} ok` : `${r.status} ${r.outcome}`) },
      { label: "Input", num: true, value: (r) => fmtInt(r.input_tokens) },
      { label: "Output", num: true, value: (r) => fmtInt(r.output_tokens) },
      { label: "Cost", num: true, value: (r) => fmtUsd(r.cost_usd) },
      { label: "Latency", num: true, value: (r) => fmtMs(r.latency_ms) },
    ],
  });
}

let models = [];
async function loadModels() {
  const list = await api("/v1/models", key);
  models = (list.data ?? []).map((m) => m.id);
  const select = $("#model");
  const current = select.value;
  select.replaceChildren(...models.map((id) => el("option", { value: id }, id)));
  if (models.includes(current)) select.value = current;
  renderSnippets();
}

function renderSnippets() {
  const base = location.origin;
  const model = $("#model").value || models[0] || "MODEL";
  const masked = key ? `${key.slice(0, 8)}…${key.slice(-4)}` : "toc-…";
  const snippets = [
    { title: "Your key, in your shell", shown: `export TOC_API_KEY=${masked}`, copied: `export TOC_API_KEY=${key}` },
    { title: "Claude Code", shown: `export ANTHROPIC_BASE_URL=${base}\nexport ANTHROPIC_AUTH_TOKEN="$TOC_API_KEY"\nclaude --model ${model}` },
    {
      title: "Codex (~/.codex/config.toml)",
      shown: `model = "${model}"\nmodel_provider = "techopenclaw"\n\n[model_providers.techopenclaw]\nname = "Techopenclaw"\nbase_url = "${base}/v1"\nenv_key = "TOC_API_KEY"\nwire_api = "responses"`,
    },
    {
      title: "OpenAI SDK (JavaScript)",
      shown: `import OpenAI from "openai";\nconst client = new OpenAI({ baseURL: "${base}/v1", apiKey: process.env.TOC_API_KEY });\nconst answer = await client.chat.completions.create({\n  model: "${model}",\n  messages: [{ role: "user", content: "Hello" }],\n});\nconsole.log(answer.choices[0].message.content);`,
    },
    {
      title: "OpenAI SDK (Python)",
      shown: `import os\nfrom openai import OpenAI\nclient = OpenAI(base_url="${base}/v1", api_key=os.environ["TOC_API_KEY"])\nanswer = client.responses.create(model="${model}", input="Hello")\nprint(answer.output_text)`,
    },
    {
      title: "Anthropic SDK (JavaScript)",
      shown: `import Anthropic from "@anthropic-ai/sdk";\nconst client = new Anthropic({ baseURL: "${base}", apiKey: process.env.TOC_API_KEY });\nconst message = await client.messages.create({\n  model: "${model}", max_tokens: 1024,\n  messages: [{ role: "user", content: "Hello" }],\n});\nconsole.log(message.content[0].text);`,
    },
    {
      title: "Google Gen AI SDK (JavaScript)",
      shown: `import { GoogleGenAI } from "@google/genai";\nconst ai = new GoogleGenAI({ apiKey: process.env.TOC_API_KEY, httpOptions: { baseUrl: "${base}" } });\nconst answer = await ai.models.generateContent({ model: "${model}", contents: "Hello" });\nconsole.log(answer.text);`,
    },
    {
      title: "curl",
      shown: `curl ${base}/v1/chat/completions \\\n  -H "Authorization: Bearer $TOC_API_KEY" -H "content-type: application/json" \\\n  -d '{"model":"${model}","messages":[{"role":"user","content":"Hello"}]}'`,
    },
  ];
  $("#snippets").replaceChildren(
    ...snippets.map((s, i) => {
      const id = `snippet-${i}`;
      const button = el("button", { type: "button", "aria-describedby": `${id}-title` }, "Copy");
      button.addEventListener("click", () => copy(s.copied ?? s.shown, button));
      return el(
        "div",
        {},
        el("div", { class: "snippet-head" }, el("h3", { id: `${id}-title` }, s.title), button),
        el("pre", { class: "snippet", id, tabindex: "0", "aria-labelledby": `${id}-title` }, s.shown),
      );
    }),
  );
}

// A key already given in this tab opens the dashboard at once.
key = tabSecret.get(STORE);
if (key) load();
else signedIn(false);
