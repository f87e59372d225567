// Shared pieces of the two dashboards: calling the gateway, formatting, tables, SVG charts,
// copying and downloading. Plain ES modules, no framework and no dependency: the pages are
// small, and everything here works offline from the Worker's own static assets.

/** `document.querySelector`. */
export const $ = (selector, root = document) => root.querySelector(selector);

/** An element: `el("td", { class: "num" }, "12")`. Attributes starting with `on` are listeners. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An error the gateway answered with (its message is written for people). */
export class ApiError extends Error {
  constructor(status, message, param = null) {
    super(message);
    this.status = status;
    // The request field at fault (`allowed_ips[1]`, `spend_limit.daily_usd`), when the API names one.
    this.param = param;
  }
}

/** Calls the gateway with `token` as the bearer; resolves with the JSON body. */
export async function api(path, token, { method = "GET", body } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "The gateway could not be reached. Check your connection and retry.");
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const message = json?.error?.message ?? `The gateway answered ${res.status}.`;
    throw new ApiError(res.status, message, json?.error?.param ?? null);
  }
  return json;
}

/** Downloads `path` (a CSV export) with the bearer token, as `filename`. */
export async function download(path, token, filename) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) {
    let message = `The export failed (${res.status}).`;
    try {
      message = (await res.json()).error.message;
    } catch {
      /* keep the generic message */
    }
    throw new ApiError(res.status, message);
  }
  const url = URL.createObjectURL(await res.blob());
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const integer = new Intl.NumberFormat("en-US");
/** 1234567 → "1,234,567". */
export const fmtInt = (n) => (n === null || n === undefined ? "–" : integer.format(n));

/** 1234567 → "1.23M" (for axis labels and cards). */
export function fmtCompact(n) {
  if (n === null || n === undefined) return "–";
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}K`;
  return integer.format(n);
}

/** An exact dollar string from the API ("0.001665") for people: "$0.0017" or "$12.35". */
export function fmtUsd(text) {
  if (text === null || text === undefined) return "–";
  const value = Number(text);
  if (value === 0) return "$0.00";
  if (Math.abs(value) < 0.01) return `$${value.toPrecision(2)}`;
  return `$${value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/**
 * An exact dollar string from the API ("4.996975", "5") shown exactly, for budgets and
 * balances: "$4.996975", "$5.00", "-$0.25", "$1,250.50".
 */
export function fmtUsdExact(text) {
  if (text === null || text === undefined) return "–";
  const raw = String(text);
  const negative = raw.startsWith("-");
  const [whole, fraction = ""] = (negative ? raw.slice(1) : raw).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}$${grouped}.${fraction.padEnd(2, "0")}`;
}

/** A window's name for people: "daily" → "per day (calendar)", "5h" → "every 5h (rolling)". */
export function fmtWindow(window) {
  const calendar = { daily: "day", weekly: "week", monthly: "month" }[window];
  if (calendar) return `per calendar ${calendar}`;
  return window ? `every ${window} (rolling)` : "";
}

/** Milliseconds as "850 ms" or "2.4 s". */
export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A time as "2026-11-30 14:05:09 UTC". */
export function fmtTime(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "–";
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** Seconds left as "4 h 59 min 03 s". */
export function fmtCountdown(seconds) {
  if (seconds <= 0) return "now";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  const parts = [];
  if (h) parts.push(`${h} h`);
  if (h || m) parts.push(`${m} min`);
  parts.push(`${String(s).padStart(2, "0")} s`);
  return parts.join(" ");
}

/** Shows `message` (an Error or text) in the page's alert region. */
export function showError(region, error) {
  region.replaceChildren(el("div", { class: "message error", role: "alert" }, error?.message ?? String(error)));
}

export function clearMessages(region) {
  region.replaceChildren();
}

/** Copies `text`; the button says so for a moment (and screen readers hear it). */
export async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Without the clipboard API (plain http on another host): a hidden textarea.
    const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  button.setAttribute("aria-live", "polite");
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}

/**
 * A table: `columns` are { label, value: (row) => text or Node, num?: true }. Replaces
 * `container`'s content.
 */
export function table(container, { caption, columns, rows, empty = "Nothing yet." }) {
  if (!rows.length) {
    container.replaceChildren(el("p", { class: "muted" }, empty));
    return;
  }
  const head = el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.num ? "num" : undefined }, c.label)));
  const body = rows.map((row) =>
    el("tr", {}, columns.map((c) => el("td", { class: c.num ? "num" : undefined }, c.value(row)))),
  );
  container.replaceChildren(
    // A box that scrolls sideways on narrow screens: focusable, so the keyboard can scroll it.
    el(
      "div",
      { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption ?? "Table" },
      el("table", {}, caption ? el("caption", {}, caption) : null, el("thead", {}, head), el("tbody", {}, body)),
    ),
  );
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) if (child) node.append(child);
  return node;
}

/**
 * A bar chart of `items` ({ label, value, short? }) as SVG, vertical (days) or horizontal
 * (models, keys: `short` is drawn, `label` named), with an accessible name and the same data
 * as a table for screen readers.
 */
export function barChart(container, { title, items, format = fmtCompact, horizontal = false, colour = "bar" }) {
  const figure = el("figure", { class: "chart" }, el("figcaption", {}, title));
  if (!items.length) {
    figure.append(el("p", { class: "muted" }, "No calls in this range."));
    container.replaceChildren(figure);
    return;
  }
  const max = Math.max(...items.map((i) => i.value), 0) || 1;
  const summary = items.map((i) => `${i.label}: ${format(i.value)}`).join("; ");
  let chart;
  if (horizontal) {
    const rowHeight = 24;
    const width = 360;
    const labelWidth = 150;
    const height = items.length * rowHeight + 8;
    chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}. ${summary}` });
    items.forEach((item, i) => {
      const y = 4 + i * rowHeight;
      const w = Math.max(1, ((width - labelWidth - 64) * item.value) / max);
      const text = item.short ?? item.label;
      const label = text.length > 20 ? `${text.slice(0, 19)}…` : text;
      chart.append(
        svg("text", { x: labelWidth - 6, y: y + 16, "text-anchor": "end" }, document.createTextNode(label)),
        svg("rect", { class: colour, x: labelWidth, y: y + 3, width: w, height: rowHeight - 8, rx: 2 }, svg("title", {}, document.createTextNode(`${item.label}: ${format(item.value)}`))),
        svg("text", { x: labelWidth + w + 6, y: y + 16 }, document.createTextNode(format(item.value))),
      );
    });
  } else {
    const width = 400;
    const height = 170;
    const bottom = 24;
    const left = 60;
    const barWidth = Math.max(2, (width - left - 8) / items.length - 2);
    chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}. ${summary}` });
    chart.append(svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width, y2: height - bottom }));
    chart.append(svg("text", { x: left - 4, y: 12, "text-anchor": "end" }, document.createTextNode(format(max))));
    chart.append(svg("text", { x: left - 4, y: height - bottom, "text-anchor": "end" }, document.createTextNode(format(0))));
    items.forEach((item, i) => {
      const h = ((height - bottom - 8) * item.value) / max;
      const x = left + 4 + i * (barWidth + 2);
      chart.append(
        svg("rect", { class: colour, x, y: height - bottom - h, width: barWidth, height: Math.max(h, item.value > 0 ? 1 : 0) }, svg("title", {}, document.createTextNode(`${item.label}: ${format(item.value)}`))),
      );
    });
    const first = items[0].label;
    const last = items[items.length - 1].label;
    chart.append(svg("text", { x: left + 4, y: height - 6 }, document.createTextNode(first)));
    if (items.length > 1) chart.append(svg("text", { x: width - 2, y: height - 6, "text-anchor": "end" }, document.createTextNode(last)));
  }
  figure.append(chart);
  // The same figures as a table, for screen readers (inside a 1-pixel box: a table itself
  // grows to its content whatever its width).
  const data = el(
    "div",
    { class: "visually-hidden" },
    el(
      "table",
      {},
      el("caption", {}, title),
      el("tbody", {}, items.map((i) => el("tr", {}, el("th", { scope: "row" }, i.label), el("td", {}, format(i.value))))),
    ),
  );
  figure.append(data);
  container.replaceChildren(figure);
}

/** Every day from `from` to `to` (YYYY-MM-DD), so days without calls show as zero. */
export function daysBetween(from, to) {
  const days = [];
  for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
    days.push(d.toISOString().slice(0, 10));
  }
  return days;
}

/**
 * For loads that can overlap (a filter changed while the previous answer is on its way):
 * `const current = next();` before the request, `if (!current()) return;` after it, so only
 * the latest answer is shown.
 */
export function latestOnly() {
  let latest = 0;
  return () => {
    const mine = ++latest;
    return () => mine === latest;
  };
}

/** A stored secret, kept only in this tab (sessionStorage): gone when the tab closes. */
export const tabSecret = {
  get: (name) => sessionStorage.getItem(name),
  set: (name, value) => sessionStorage.setItem(name, value),
  forget: (name) => sessionStorage.removeItem(name),
};

/** Fields of `record` not in `known`, for data the API may carry later (balance, policy, ...). */
export function extraFields(record, known) {
  return Object.entries(record ?? {}).filter(([name, value]) => !known.includes(name) && value !== null && value !== undefined);
}

/** A human label for a field name: "spend_limit_usd" → "Spend limit usd". */
export function labelOf(name) {
  const text = name.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A value of unknown shape as short text. */
export function describe(value) {
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * A labelled form field: `{ id, label, type, value, hint, placeholder, ...attrs }`, with room for
 * the API's message about it below (`#<id>-error`, announced, tied to the field by
 * aria-describedby).
 */
export function field({ id, label, hint, wide = false, ...attrs }) {
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const input = el("input", {
    id,
    name: id,
    autocomplete: "off",
    spellcheck: "false",
    class: wide ? "wide" : undefined,
    "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
    ...attrs,
  });
  return el(
    "div",
    { class: "field" },
    el("label", { for: id }, label),
    input,
    hint ? el("span", { class: "field-hint", id: hintId }, hint) : null,
    el("span", { class: "field-error", id: errorId, role: "alert", hidden: true }),
  );
}

/** Clears the messages `field` shows under the fields inside `root`. */
export function clearFieldErrors(root) {
  for (const message of root.querySelectorAll(".field-error")) {
    message.textContent = "";
    message.hidden = true;
  }
  for (const input of root.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/**
 * Shows an API error next to the field its `param` names: `fields` maps a param (`expires_at`,
 * `metadata.note`) or its first part (`allowed_ips` for `allowed_ips[1]`) to a field id. Focuses
 * that field; false (nothing shown) when no field matches.
 */
export function showFieldError(fields, error) {
  const param = error?.param;
  if (!param) return false;
  const id = fields[param] ?? fields[param.split(/[.[]/)[0]];
  const input = id && document.getElementById(id);
  const message = id && document.getElementById(`${id}-error`);
  if (!input || !message) return false;
  message.textContent = error.message;
  message.hidden = false;
  input.setAttribute("aria-invalid", "true");
  input.focus();
  return true;
}

/** A list typed as text ("a, b c") as its items; null when empty. */
export function listOf(text) {
  const items = String(text ?? "").split(/[\s,]+/).filter(Boolean);
  return items.length ? items : null;
}

/** A `datetime-local` value (the browser's local time) as RFC 3339 UTC; null when empty. */
export function localToRfc3339(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString().replace(/\.000Z$/, "Z");
}

/** An RFC 3339 time as a `datetime-local` value in the browser's local time ("" for none). */
export function rfc3339ToLocal(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
