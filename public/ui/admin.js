// The operator's dashboard (/admin): keys (search, create with the key shown once and optional
// rules, disable, enable, revoke, change plan; in a key's details, its prepaid balance, spend
// limits and rules), usage and spend across keys and models with the top spenders,
// the request log with filters, and upstream health. Everything goes through the admin API
// with the token entered in the page (kept in this tab only).

import {
  $, el, api, download, barChart, table, copy, daysBetween, showError, clearMessages, tabSecret,
  fmtInt, fmtCompact, fmtUsd, fmtUsdExact, fmtWindow, fmtMs, fmtTime, extraFields, labelOf, describe, latestOnly,
  field, clearFieldErrors, showFieldError, listOf, localToRfc3339, rfc3339ToLocal,
} from "./common.js";

const STORE = "toc.admin";
const messages = $("#messages");
let token = null;
let plans = [];
let keys = [];
let logBefore = null;

function signedIn(on) {
  $("#signin").hidden = on;
  $("#console").hidden = !on;
  $("#nav").hidden = !on;
  $("#forget").hidden = !on;
}

function notify(text) {
  messages.replaceChildren(el("div", { class: "message ok", role: "status" }, text));
}

function failed(error) {
  showError(messages, error);
  if (error.status === 403) {
    tabSecret.forget(STORE);
    signedIn(false);
    $("#token").focus();
  }
}

$("#signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  token = $("#token").value.trim();
  if (await start()) {
    tabSecret.set(STORE, token);
    $("#token").value = "";
    $("#keys-title").setAttribute("tabindex", "-1");
    $("#keys-title").focus();
  }
});

$("#forget").addEventListener("click", () => {
  tabSecret.forget(STORE);
  token = null;
  signedIn(false);
  clearMessages(messages);
  $("#token").focus();
});

async function start() {
  clearMessages(messages);
  try {
    const catalog = await api("/admin/plans", token);
    plans = catalog.data.map((p) => p.id);
    $("#new-plan").replaceChildren(...plans.map((id) => el("option", { value: id }, id)));
    $("#model-ids").replaceChildren(...catalog.models.map((id) => el("option", { value: id })));
    signedIn(true);
    // The keys first: the usage and the log name keys by their names.
    await loadKeys();
    await Promise.all([loadUsage(), loadLog(), loadHealth()]);
    return true;
  } catch (error) {
    failed(error);
    return false;
  }
}

// ------------------------------------------------------------------------------------ keys

// ------------------------------------------------------------------------------------ rules

/** The API's `param` for each rule, and the suffix of its field's id. */
const RULE_FIELDS = { expires_at: "expires", models: "models", allowed_ips: "ips", "metadata.owner": "owner", "metadata.note": "note", metadata: "note" };
const ruleFieldIds = (prefix) => Object.fromEntries(Object.entries(RULE_FIELDS).map(([param, suffix]) => [param, `${prefix}-${suffix}`]));

/** The fields of a key's rules and notes, filled with key `k`'s. */
function ruleFields(prefix, k = {}) {
  return [
    field({ id: `${prefix}-expires`, label: "Expires (your local time)", type: "datetime-local", step: "1", value: rfc3339ToLocal(k.expires_at), hint: "Empty: never. The key stops working at this moment." }),
    field({ id: `${prefix}-models`, label: "Allowed models", value: (k.models ?? []).join(", "), placeholder: "every model of the plan", wide: true, hint: "Model ids or patterns (* = anything), separated by commas. Empty: every model of the plan; a key never gets more than its plan." }),
    field({ id: `${prefix}-ips`, label: "Allowed client IP ranges", value: (k.allowed_ips ?? []).join(", "), placeholder: "any address", wide: true, hint: "CIDR ranges or single addresses, separated by commas (203.0.113.0/24, 2001:db8::/32). Empty: any address." }),
    field({ id: `${prefix}-owner`, label: "Owner", value: k.metadata?.owner ?? "", hint: "For operators only; the key's holder never sees it." }),
    field({ id: `${prefix}-note`, label: "Note", value: k.metadata?.note ?? "", wide: true }),
  ];
}

/** The rules typed in the fields of `prefix`, as the API takes them (null: none). */
function rulesOf(prefix, metadata = {}) {
  const value = (suffix) => $(`#${prefix}-${suffix}`).value.trim();
  const notes = { ...metadata };
  for (const name of ["owner", "note"]) {
    const text = value(name);
    if (text) notes[name] = text;
    else delete notes[name];
  }
  return {
    expires_at: localToRfc3339(value("expires")),
    models: listOf(value("models")),
    allowed_ips: listOf(value("ips")),
    metadata: Object.keys(notes).length ? notes : null,
  };
}

$("#new-policy-fields").replaceChildren(...ruleFields("new"));

$("#create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearFieldErrors(form);
  const rules = Object.fromEntries(Object.entries(rulesOf("new")).filter(([, value]) => value !== null));
  try {
    const created = await api("/admin/keys", token, {
      method: "POST",
      body: { name: $("#new-name").value.trim(), plan: $("#new-plan").value, ...rules },
    });
    $("#created-name").textContent = created.name || created.id;
    $("#created-key").textContent = created.key;
    $("#created").hidden = false;
    $("#created").focus();
    $("#new-name").value = "";
    for (const input of $("#new-policy-fields").querySelectorAll("input")) input.value = "";
    await loadKeys();
  } catch (error) {
    if (Object.keys(rules).length && $("#new-policy").open === false) $("#new-policy").open = true;
    if (!showFieldError({ ...ruleFieldIds("new"), name: "new-name", plan: "new-plan" }, error)) failed(error);
    else clearMessages(messages);
  }
});

$("#copy-created").addEventListener("click", (event) => copy($("#created-key").textContent, event.currentTarget));
$("#dismiss-created").addEventListener("click", () => {
  // The key is never shown again: it leaves the page.
  $("#created-key").textContent = "";
  $("#created").hidden = true;
  $("#new-name").focus();
});

$("#search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadKeys().catch(failed);
});

const keysLoad = latestOnly();
async function loadKeys() {
  const q = encodeURIComponent($("#search").value.trim());
  const status = encodeURIComponent($("#status-filter").value);
  const current = keysLoad();
  const list = await api(`/admin/keys?q=${q}&status=${status}`, token);
  if (!current()) return;
  keys = list.data;
  table($("#key-list"), {
    caption: `${keys.length} key${keys.length === 1 ? "" : "s"}`,
    empty: "No key matches. Create one above.",
    rows: keys,
    columns: [
      { label: "Name", value: (k) => k.name || "(no name)" },
      { label: "Id", value: (k) => el("code", {}, k.id) },
      { label: "Status", value: (k) => el("span", { class: k.status === "active" ? "status-ok" : k.status === "revoked" ? "status-bad" : "status-warn" }, k.status) },
      { label: "Created", value: (k) => fmtTime(k.created_at) },
      { label: "Expires", value: (k) => expiry(k.expires_at) },
      { label: "Plan", value: (k) => planControl(k) },
      { label: "Actions", value: (k) => actions(k) },
    ],
  });
}

function expiry(at) {
  if (!at) return el("span", { class: "muted" }, "never");
  return Date.parse(at) <= Date.now() ? el("span", { class: "status-bad" }, `expired ${fmtTime(at)}`) : fmtTime(at);
}

function planControl(k) {
  const id = `plan-${k.id}`;
  const select = el("select", { id, "aria-label": `Plan of ${k.name || k.id}`, disabled: k.status === "revoked" }, plans.map((p) => el("option", { value: p, selected: p === k.plan }, p)));
  const apply = el("button", { type: "button", disabled: k.status === "revoked", "aria-label": `Apply plan to ${k.name || k.id}` }, "Apply");
  apply.addEventListener("click", () => update(k, { plan: select.value }, `${k.name || k.id} is now on plan ${select.value}.`));
  return el("div", { class: "row-actions" }, select, apply);
}

function actions(k) {
  const who = k.name || k.id;
  const buttons = [el("button", { type: "button", "aria-label": `Details of ${who}`, onclick: () => showKey(k.id) }, "Details")];
  if (k.status === "active") {
    buttons.push(el("button", { type: "button", "aria-label": `Disable ${who}`, onclick: () => update(k, { status: "disabled" }, `${who} is disabled.`) }, "Disable"));
  } else if (k.status === "disabled") {
    buttons.push(el("button", { type: "button", "aria-label": `Enable ${who}`, onclick: () => update(k, { status: "active" }, `${who} is active again.`) }, "Enable"));
  }
  if (k.status !== "revoked") {
    buttons.push(el("button", { type: "button", class: "danger", "aria-label": `Revoke ${who}`, onclick: () => revoke(k) }, "Revoke"));
  }
  return el("div", { class: "row-actions" }, buttons);
}

async function update(k, change, done) {
  try {
    await api(`/admin/keys/${encodeURIComponent(k.id)}`, token, { method: "PATCH", body: change });
    notify(done);
    await loadKeys();
  } catch (error) {
    failed(error);
  }
}

/** Asks before an action that cannot be undone; resolves true when confirmed. */
function confirmed(title, text, ok) {
  const dialog = $("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = ok;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

async function revoke(k) {
  const who = k.name || k.id;
  if (!(await confirmed("Revoke this key?", `${who} stops working at once, for good. Its holder needs a new key to continue.`, "Revoke"))) return;
  try {
    await api(`/admin/keys/${encodeURIComponent(k.id)}`, token, { method: "DELETE" });
    notify(`${who} is revoked.`);
    await loadKeys();
  } catch (error) {
    failed(error);
  }
}

/** The fields of a key record this page lays out itself; others are listed as they come. */
const KNOWN_KEY = ["id", "name", "plan", "status", "created_at", "usage", "expires_at", "models", "allowed_ips", "metadata"];
const KNOWN_KEY_USAGE = ["plan", "unit", "limits", "window", "minute", "in_flight", "in_flight_usd", "balance", "spend"];

/** A number of dollars typed in `id`, or null when empty (with the reason shown when invalid). */
function dollarsIn(id, { required = false } = {}) {
  const text = $(`#${id}`).value.trim();
  if (!text) {
    if (required) throw Object.assign(new Error("Enter an amount in dollars, such as 5 or 2.50."), { param: id, local: true });
    return null;
  }
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw Object.assign(new Error("Enter a positive number of dollars, such as 5 or 2.50."), { param: id, local: true });
  return value;
}

async function showKey(id, { focus = null } = {}) {
  const panel = $("#key-detail");
  try {
    const k = await api(`/admin/keys/${encodeURIComponent(id)}`, token);
    const who = k.name || k.id;
    const u = k.usage;
    const rows = [
      ["Name", k.name || "(no name)"],
      ["Id", k.id],
      ["Plan", k.plan],
      ["Status", k.status],
      ["Created", fmtTime(k.created_at)],
      ["Expires", expiry(k.expires_at)],
    ];
    if (u?.window) {
      const w = u.window;
      const l = u.limits ?? {};
      if (u.unit === "usd") {
        rows.push(["Window", `${fmtUsdExact(w.used_usd)} of ${fmtUsdExact(l.window_usd)} ${fmtWindow(l.window)} spent, ${fmtUsdExact(w.remaining_usd)} left; resets ${fmtTime(w.resets_at)}`]);
        rows.push(["This minute", `${fmtInt(u.minute?.requests)} requests, ${fmtUsdExact(u.minute?.usd)}; ${fmtInt(u.in_flight)} in flight (${fmtUsdExact(u.in_flight_usd)} held)`]);
      } else {
        rows.push(["Window", `${fmtInt(w.used_tokens)} used (${fmtUsdExact(w.used_usd)}), ${fmtInt(w.remaining_tokens)} left, resets ${fmtTime(w.resets_at)}`]);
        rows.push(["This minute", `${fmtInt(u.minute?.requests)} requests, ${fmtInt(u.minute?.tokens)} tokens; ${fmtInt(u.in_flight)} in flight`]);
      }
      for (const [name, value] of extraFields(u, KNOWN_KEY_USAGE)) rows.push([labelOf(name), describe(value)]);
    }
    for (const [name, value] of extraFields(k, KNOWN_KEY)) {
      rows.push([labelOf(name), /_at$/.test(name) ? fmtTime(value) : describe(value)]);
    }
    const logButton = el("button", { type: "button" }, "Show its calls in the log");
    logButton.addEventListener("click", () => {
      $("#log-key").value = k.id;
      loadLog().catch(failed);
      $("#log-title").setAttribute("tabindex", "-1");
      $("#log-title").focus();
    });
    const revoked = k.status === "revoked";
    panel.replaceChildren(
      el("h3", { style: "margin-top:0" }, `Key ${who}`),
      el("dl", { class: "facts" }, rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])),
      u && !revoked ? balanceBlock(k) : null,
      u && !revoked ? limitsBlock(k) : null,
      revoked ? null : rulesBlock(k),
      el("div", { class: "detail-block" }, logButton),
    );
    panel.hidden = false;
    const target = focus && document.getElementById(focus);
    (target ?? panel).focus();
  } catch (error) {
    failed(error);
  }
}

/** Runs a change from the details of key `k`: on success says `done`, shows the key again (focus back on `again`) and the list. */
async function change(k, form, fields, run, done, again) {
  clearFieldErrors(form);
  try {
    await run();
    notify(done);
    await showKey(k.id, { focus: again });
    await loadKeys();
  } catch (error) {
    if (error.local) {
      showFieldError({ [error.param]: error.param }, error);
    } else if (showFieldError(fields, error)) {
      clearMessages(messages);
    } else {
      failed(error);
    }
  }
}

function balanceBlock(k) {
  const who = k.name || k.id;
  const balance = k.usage.balance;
  const form = el(
    "form",
    { class: "inline", id: "balance-form" },
    field({ id: "balance-amount", label: "Amount (USD)", type: "text", inputmode: "decimal", placeholder: "5.00" }),
    el("button", { type: "submit", class: "primary", id: "balance-add" }, "Add to balance"),
    el("button", { type: "button", id: "balance-take" }, "Take off"),
    balance ? el("button", { type: "button", class: "danger", id: "balance-remove" }, "Remove balance") : null,
  );
  const fields = { add_usd: "balance-amount" };
  const post = (body) => api(`/admin/keys/${encodeURIComponent(k.id)}/balance`, token, { method: "POST", body });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    change(k, form, fields, async () => post({ add_usd: dollarsIn("balance-amount", { required: true }) }), `Added to the balance of ${who}.`, "balance-amount");
  });
  form.querySelector("#balance-take").addEventListener("click", () =>
    change(k, form, fields, async () => post({ add_usd: -dollarsIn("balance-amount", { required: true }) }), `Taken off the balance of ${who}.`, "balance-amount"),
  );
  form.querySelector("#balance-remove")?.addEventListener("click", async () => {
    if (!(await confirmed("Remove this balance?", `${who} no longer pays from a prepaid balance: the ${fmtUsdExact(balance.remaining_usd)} left is dropped, and its plan alone limits it.`, "Remove balance"))) return;
    change(k, form, fields, () => post({ remove: true }), `${who} has no prepaid balance any more.`, "balance-amount");
  });
  return el(
    "div",
    { class: "detail-block" },
    el("h4", {}, "Prepaid balance"),
    el(
      "p",
      { id: "detail-balance" },
      balance
        ? `${fmtUsdExact(balance.remaining_usd)} left (${fmtUsdExact(balance.added_usd)} added, ${fmtUsdExact(balance.spent_usd)} spent). It never resets; calls need both the plan's window and the balance.`
        : "None: the key pays by its plan alone. Adding an amount starts a balance, which every call then also needs.",
    ),
    form,
  );
}

function limitsBlock(k) {
  const who = k.name || k.id;
  const spend = k.usage.spend ?? {};
  const status = (period, noun) => {
    const s = spend[period];
    if (!s) return "–";
    return s.limit_usd
      ? `${fmtUsdExact(s.spent_usd)} of ${fmtUsdExact(s.limit_usd)} spent ${noun}, ${fmtUsdExact(s.remaining_usd)} left; resets ${fmtTime(s.resets_at)}`
      : `no limit; ${fmtUsdExact(s.spent_usd)} spent ${noun}`;
  };
  const form = el(
    "form",
    { class: "inline", id: "limits-form" },
    field({ id: "limit-daily", label: "Daily limit (USD)", type: "text", inputmode: "decimal", placeholder: "no limit", value: spend.daily?.limit_usd ?? "", hint: "Empty: no limit." }),
    field({ id: "limit-monthly", label: "Monthly limit (USD)", type: "text", inputmode: "decimal", placeholder: "no limit", value: spend.monthly?.limit_usd ?? "", hint: "Empty: no limit." }),
    el("button", { type: "submit", class: "primary" }, "Save limits"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    change(
      k,
      form,
      { "spend_limit.daily_usd": "limit-daily", "spend_limit.monthly_usd": "limit-monthly" },
      async () => {
        const body = { spend_limit: { daily_usd: dollarsIn("limit-daily"), monthly_usd: dollarsIn("limit-monthly") } };
        await api(`/admin/keys/${encodeURIComponent(k.id)}`, token, { method: "PATCH", body });
      },
      `Spend limits of ${who} saved.`,
      "limit-daily",
    );
  });
  return el(
    "div",
    { class: "detail-block" },
    el("h4", {}, "Spend limits"),
    el("dl", { class: "facts" }, el("dt", {}, "Today"), el("dd", { id: "detail-spend-daily" }, status("daily", "today")), el("dt", {}, "This month"), el("dd", { id: "detail-spend-monthly" }, status("monthly", "this month"))),
    el("p", { class: "hint" }, "Days and months of the plan's time zone. Spend counts even without a limit, so a limit set mid-month counts the month so far."),
    form,
  );
}

function rulesBlock(k) {
  const who = k.name || k.id;
  const form = el("form", { id: "rules-form" }, el("div", { class: "inline-fields" }, ruleFields("edit", k)), el("button", { type: "submit", class: "primary" }, "Save rules"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    change(
      k,
      form,
      ruleFieldIds("edit"),
      () => api(`/admin/keys/${encodeURIComponent(k.id)}`, token, { method: "PATCH", body: rulesOf("edit", k.metadata ?? {}) }),
      `Rules of ${who} saved.`,
      "edit-expires",
    );
  });
  return el(
    "div",
    { class: "detail-block" },
    el("h4", {}, "Rules and notes"),
    el("p", { class: "hint" }, "A change reaches every location within about 90 seconds; to stop a key at once, disable it."),
    form,
  );
}

// ------------------------------------------------------------------------------------ usage

$("#usage-range").addEventListener("change", () => loadUsage().catch(failed));
$("#export-usage").addEventListener("click", () => download(`/admin/usage.csv?${rangeQuery()}`, token, "usage.csv").catch(failed));

function rangeQuery() {
  const days = Number($("#usage-range").value);
  const from = new Date(Date.now() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  return `from=${from}`;
}

function card(label, value, sub) {
  return el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value), sub ? el("div", { class: "sub" }, sub) : null);
}

function keyName(id) {
  const k = keys.find((x) => x.id === id);
  return k?.name ? `${k.name} (${id})` : id;
}

const usageLoad = latestOnly();
async function loadUsage() {
  const current = usageLoad();
  const report = await api(`/admin/usage?${rangeQuery()}&limit=10`, token);
  if (!current()) return;
  const t = report.total;
  $("#usage-cards").replaceChildren(
    card("Spend", fmtUsd(t.cost_usd), t.unpriced ? `${fmtInt(t.unpriced)} call${t.unpriced === 1 ? "" : "s"} of unpriced models not included` : `${report.from} to ${report.to}`),
    card("Requests", fmtInt(t.requests), `${fmtInt(t.errors)} not ok`),
    card("Input tokens", fmtCompact(t.input_tokens), `${fmtCompact(t.cache_read_tokens)} read from cache`),
    card("Output tokens", fmtCompact(t.output_tokens), `${fmtCompact(t.reasoning_tokens)} reasoning`),
  );
  const byDay = new Map(report.days.map((d) => [d.day, d]));
  const days = daysBetween(report.from, report.to).map((day) => byDay.get(day) ?? { day, cost_usd: "0", input_tokens: 0, output_tokens: 0 });
  const usd = (v) => fmtUsd(String(v));
  barChart($("#chart-spend-day"), { title: "Spend per day (USD)", items: days.map((d) => ({ label: d.day, value: Number(d.cost_usd) })), format: usd });
  barChart($("#chart-tokens-day"), { title: "Tokens per day", colour: "bar2", items: days.map((d) => ({ label: d.day, value: d.input_tokens + d.output_tokens })) });
  barChart($("#chart-spend-model"), { title: "Spend per model (USD)", horizontal: true, format: usd, items: report.models.map((m) => ({ label: m.model, value: Number(m.cost_usd) })) });
  barChart($("#chart-spend-key"), { title: "Spend per key, top 10 (USD)", horizontal: true, format: usd, colour: "bar2", items: report.top_keys.map((k) => ({ label: keyName(k.key_id), short: keys.find((x) => x.id === k.key_id)?.name || k.key_id, value: Number(k.cost_usd) })) });
  table($("#top-keys"), {
    caption: "Keys by spend over the period",
    empty: "No calls in this period.",
    rows: report.top_keys,
    columns: [
      { label: "Key", value: (k) => keyName(k.key_id) },
      { label: "Spend", num: true, value: (k) => fmtUsd(k.cost_usd) },
      { label: "Requests", num: true, value: (k) => fmtInt(k.requests) },
      { label: "Not ok", num: true, value: (k) => fmtInt(k.errors) },
      { label: "Input tokens", num: true, value: (k) => fmtInt(k.input_tokens) },
      { label: "Output tokens", num: true, value: (k) => fmtInt(k.output_tokens) },
    ],
  });
}

// ------------------------------------------------------------------------------------ log

function logQuery() {
  const params = new URLSearchParams();
  for (const [name, id] of [["key", "#log-key"], ["model", "#log-model"], ["outcome", "#log-outcome"], ["from", "#log-from"], ["to", "#log-to"]]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

$("#log-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadLog().catch(failed);
});
$("#log-older").addEventListener("click", () => loadLog(logBefore).catch(failed));
$("#export-log").addEventListener("click", () => download(`/admin/log.csv?${logQuery()}`, token, "request-log.csv").catch(failed));

const logLoad = latestOnly();
async function loadLog(before = null) {
  const params = logQuery();
  const filters = [...params].map(([name, value]) => `${name} ${value}`).join(", ");
  params.set("limit", "50");
  if (before) params.set("before", String(before));
  // Only the latest load is shown: an earlier one answering late must not replace it.
  const current = logLoad();
  const page = await api(`/admin/log?${params}`, token);
  if (!current()) return;
  logBefore = page.next_before;
  $("#log-older").hidden = !logBefore;
  table($("#log-table"), {
    caption: `${before ? "Older calls" : "Calls, newest first"}${filters ? ` (${filters})` : ""}`,
    empty: "No calls match.",
    rows: page.data,
    columns: [
      { label: "Time", value: (r) => fmtTime(r.ts_ms) },
      { label: "Key", value: (r) => keyName(r.key_id) },
      { label: "Model", value: (r) => r.model },
      { label: "Upstream", value: (r) => (r.provider ? `${r.provider} / ${r.upstream_model}` : "–") },
      { label: "API", value: (r) => `${r.client_format}${r.stream ? " (stream)" : ""}` },
      { label: "Result", value: (r) => el("span", { class: r.outcome === "ok" ? "status-ok" : "status-bad" }, r.outcome === "ok" ? `${r.status} ok` : `${r.status} ${r.outcome}`) },
      { label: "Input", num: true, value: (r) => fmtInt(r.input_tokens) },
      { label: "Cached", num: true, value: (r) => fmtInt(r.cache_read_tokens) },
      { label: "Output", num: true, value: (r) => fmtInt(r.output_tokens) },
      { label: "Cost", num: true, value: (r) => fmtUsd(r.cost_usd) },
      { label: "Latency", num: true, value: (r) => fmtMs(r.latency_ms) },
      { label: "First token", num: true, value: (r) => fmtMs(r.ttft_ms) },
      { label: "Warnings", value: (r) => r.warnings ?? "" },
    ],
  });
}

// ------------------------------------------------------------------------------------ health

$("#health-refresh").addEventListener("click", () => loadHealth().catch(failed));

async function loadHealth() {
  const res = await fetch("/health/ready", { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  const problems = body.problems ?? [];
  const upstreams = body.upstreams ?? [];
  const status = el("p", {}, "Gateway: ", el("strong", { class: body.status === "ready" ? "status-ok" : "status-bad" }, body.status));
  const list = problems.length
    ? el("ul", {}, problems.map((p) => el("li", {}, p)))
    : el("p", { class: "muted" }, "No configuration problems.");
  const holder = el("div");
  table(holder, {
    caption: "Upstreams this isolate has called, with their breakers",
    empty: "No breaker has an outcome yet: this isolate has had no answer from an upstream, or breakers are off in the config.",
    rows: upstreams,
    columns: [
      { label: "Provider", value: (u) => u.provider },
      { label: "Key", value: (u) => u.key ?? "(provider)" },
      { label: "State", value: (u) => el("span", { class: u.state === "closed" ? "status-ok" : "status-bad" }, u.state) },
      { label: "Reason", value: (u) => u.reason ?? "" },
      { label: "Reopens in", num: true, value: (u) => (u.reopens_in_s === undefined || u.reopens_in_s === null ? "–" : `${u.reopens_in_s} s`) },
      { label: "Recent failures", num: true, value: (u) => `${fmtInt(u.recent_failures)} / ${fmtInt(u.recent_outcomes)}` },
      { label: "Last failure", value: (u) => u.last_failure ?? "" },
    ],
  });
  $("#health-body").replaceChildren(status, el("h3", {}, "Problems"), list, el("h3", {}, "Upstreams"), holder);
}

token = tabSecret.get(STORE);
if (token) start();
else signedIn(false);
